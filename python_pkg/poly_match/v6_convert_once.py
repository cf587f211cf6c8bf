"""All in Rust: polygons become centers and areas once per call, and Rust picks each best one."""

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

match_points = _rs.v6.match_points


def main(polygons, points, max_dist=MAX_DIST):
    return match_points(polygons, example.as_points(points), max_dist)
