"""A spatial index and all cores: a grid of max_dist-wide cells, points matched in parallel."""

from . import _rs, example
from .v1 import MAX_DIST
from .v4_avoid_allocs import Polygon, generate_example, generate_one_polygon

__all__ = [
    "MAX_DIST",
    "Polygon",
    "generate_example",
    "generate_one_polygon",
    "main",
    "match_points",
]

match_points = _rs.v7.match_points


def main(polygons, points, max_dist=MAX_DIST):
    return match_points(polygons, example.as_points(points), max_dist)
