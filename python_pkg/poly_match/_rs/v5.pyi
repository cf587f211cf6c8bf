"""v5: every point's close polygons in one call, over v4's ``Polygon``."""

import numpy as np
from numpy.typing import NDArray

from .v4 import Polygon

def find_all_close_polygons(
    polygons: list[Polygon] | tuple[Polygon, ...], points: NDArray[np.float64], max_dist: float
) -> list[tuple[NDArray[np.float64], list[Polygon]]]: ...
