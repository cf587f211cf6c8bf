"""v8: a ``Polygon`` whose center is made once, and each point's best polygon in one call."""

from typing import Any

import numpy as np
from numpy.typing import NDArray

class Polygon:
    """A polygon whose vertices, center and area live in Rust; subclasses may add
    attributes and methods but not override ``center`` or ``area``."""

    def __init__(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> None: ...
    @property
    def x(self) -> NDArray[np.float64]: ...
    @property
    def y(self) -> NDArray[np.float64]: ...
    @property
    def center(self) -> NDArray[np.float64]: ...
    def area(self) -> float: ...
    def __reduce__(
        self,
    ) -> tuple[type[Polygon], tuple[NDArray[np.float64], NDArray[np.float64]], Any]: ...
    def __init_subclass__(cls, **kwargs: Any) -> None: ...

def match_points(
    polygons: list[Polygon] | tuple[Polygon, ...], points: NDArray[np.float64], max_dist: float
) -> list[tuple[NDArray[np.float64], Polygon]]: ...
