"""v6: each point's best polygon in one call, over v4's ``Polygon``: centers and areas read once."""

import numpy as np
from numpy.typing import NDArray

from .v4 import Polygon

def match_points(
    polygons: list[Polygon] | tuple[Polygon, ...], points: NDArray[np.float64], max_dist: float
) -> list[tuple[NDArray[np.float64], Polygon]]: ...
