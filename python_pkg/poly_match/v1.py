"""Baseline: pure Python over numpy, one polygon and one point at a time (the original's v1)."""

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import checks, example
from .example import MAX_DIST

# 2^-500 ..= 2^500: squares of distances this size are normal floats, so a comparison
# through a sum of squares (numpy's norm, the Rust rungs' squared distances) is exact
# for a max_dist in this range (rust_crate/src/geometry.rs, MaxDist, has the argument).
SQUARES_NORMAL_FROM, SQUARES_NORMAL_TO = 2.0**-500, 2.0**500


class HasArea(Protocol):
    """What ``select_best_polygon`` needs of a polygon: every rung's ``Polygon`` has it."""

    def area(self) -> float: ...


PolygonT = TypeVar("PolygonT", bound=HasArea)
# A rung's answer: each matched point (a row of the points) with its best polygon.
Matches = list[tuple[NDArray[np.float64], PolygonT]]


# eq=False: polygons compare (and hash) by identity, as the Rust rungs' polygons do.
@dataclass(eq=False)
class Polygon:
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    _area: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.x, self.y = checks.vertices(self.x, self.y)
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below
            checks.check_geometry(self.center, self.area())

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        checks.check_subclass(cls, Polygon)

    @cached_property
    def center(self) -> NDArray[np.float64]:
        return np.array([self.x, self.y]).mean(axis=1)

    def area(self) -> float:
        if self._area is None:
            self._area = 0.5 * np.abs(
                np.dot(self.x, np.roll(self.y, 1)) - np.dot(self.y, np.roll(self.x, 1))
            )
        return self._area


generate_one_polygon = partial(example.generate_one_polygon, Polygon)
generate_example = partial(example.generate_example, Polygon)


def find_close_polygons(
    polygon_subset: list[Polygon], point: NDArray[np.float64], max_dist: float
) -> list[Polygon]:
    close_polygons = []
    for poly in polygon_subset:
        if np.linalg.norm(poly.center - point) < max_dist:
            close_polygons.append(poly)

    return close_polygons


def find_close_polygons_by_hypot(
    polygon_subset: list[Polygon], point: NDArray[np.float64], max_dist: float
) -> list[Polygon]:
    """``find_close_polygons`` for a ``max_dist`` whose square under- or overflows, where
    ``norm``'s sum of squares does too: ``hypot`` scales, so it is exact at any size."""
    return [poly for poly in polygon_subset if math.hypot(*(poly.center - point)) < max_dist]


def squares_are_normal(max_dist: float) -> bool:
    """Whether "closer than ``max_dist``" may be decided through squared distances."""
    return SQUARES_NORMAL_FROM <= max_dist <= SQUARES_NORMAL_TO


def select_best_polygon(
    polygon_sets: Iterable[tuple[NDArray[np.float64], Sequence[PolygonT]]],
) -> Matches[PolygonT]:
    """Each ``(point, close_polygons)`` as ``(point, the smallest one)``; the first on ties."""
    best_polygons = []
    for point, polygons in polygon_sets:
        best_polygon = polygons[0]

        for poly in polygons:
            if poly.area() < best_polygon.area():
                best_polygon = poly

        best_polygons.append((point, best_polygon))

    return best_polygons


def main(
    polygons: list[Polygon], points: ArrayLike, max_dist: float = MAX_DIST
) -> Matches[Polygon]:
    checks.check_polygons(polygons)
    max_dist = checks.check_max_dist(max_dist)
    # Chosen once per call, so the loop is the original's: norm wherever it is exact.
    search = find_close_polygons if squares_are_normal(max_dist) else find_close_polygons_by_hypot
    return match_each_point(search, polygons, points, max_dist)


def match_each_point(
    find_close_polygons: Callable[[list[PolygonT], NDArray[np.float64], float], list[PolygonT]],
    polygons: list[PolygonT],
    points: ArrayLike,
    max_dist: float,
) -> Matches[PolygonT]:
    """v1's main loop, with the search passed in: v2 to v4 swap in a Rust one."""
    max_dist = checks.check_max_dist(max_dist)
    polygon_sets = []
    for point in checks.as_points(points):
        close_polygons = find_close_polygons(polygons, point, max_dist)

        if len(close_polygons) == 0:
            continue

        polygon_sets.append((point, close_polygons))

    return select_best_polygon(polygon_sets)
