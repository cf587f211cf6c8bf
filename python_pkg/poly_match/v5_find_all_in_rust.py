"""The outer loop in Rust: one call matches every point, so polygons cross into Rust once."""

from . import _rs, example
from .v1 import MAX_DIST, select_best_polygon
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


def main(polygons, points, max_dist=MAX_DIST):
    polygon_sets = find_all_close_polygons(polygons, example.as_points(points), max_dist)

    return select_best_polygon(polygon_sets)
