"""v2: v1's find_close_polygons in Rust, reading each polygon's center from Python."""

from typing import Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

class _HasCenter(Protocol):
    @property
    def center(self) -> NDArray[np.float64]: ...

_PolygonT = TypeVar("_PolygonT", bound=_HasCenter)

def find_close_polygons(
    polygons: list[_PolygonT] | tuple[_PolygonT, ...],
    point: NDArray[np.float64],
    max_dist: float,
) -> list[_PolygonT]: ...
