"""Fewer allocations: a frozen pyclass read without borrows, squared distances (no sqrt)."""

from functools import partial

from numpy.typing import ArrayLike

from . import _rs, example
from .v1 import MAX_DIST, Matches, match_each_point, select_best_polygon

__all__ = [
    "MAX_DIST",
    "Polygon",
    "find_close_polygons",
    "generate_example",
    "generate_one_polygon",
    "main",
    "select_best_polygon",
]

Polygon = _rs.v4.Polygon
find_close_polygons = _rs.v4.find_close_polygons
generate_one_polygon = partial(example.generate_one_polygon, Polygon)
generate_example = partial(example.generate_example, Polygon)


def main(
    polygons: list[Polygon], points: ArrayLike, max_dist: float = MAX_DIST
) -> Matches[Polygon]:
    return match_each_point(find_close_polygons, polygons, points, max_dist)
