"""The outer loop in Rust: one call matches every point, so polygons cross into Rust once."""

from numpy.typing import ArrayLike

from . import _rs, checks
from .v1 import MAX_DIST, Matches, select_best_polygon
from .v4_avoid_allocs import Polygon, generate_example, generate_one_polygon

__all__ = [
    "MAX_DIST",
    "Polygon",
    "find_all_close_polygons",
    "generate_example",
    "generate_one_polygon",
    "main",
    "select_best_polygon",
]

find_all_close_polygons = _rs.v5.find_all_close_polygons


def main(
    polygons: list[Polygon], points: ArrayLike, max_dist: float = MAX_DIST
) -> Matches[Polygon]:
    polygon_sets = find_all_close_polygons(polygons, checks.as_points(points), max_dist)

    return select_best_polygon(polygon_sets)
