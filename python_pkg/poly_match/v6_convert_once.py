"""All in Rust: polygons become centers and areas once per call, and Rust picks each best one."""

from numpy.typing import ArrayLike

from . import _rs, checks
from .v1 import MAX_DIST, Matches
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


def main(
    polygons: list[Polygon], points: ArrayLike, max_dist: float = MAX_DIST
) -> Matches[Polygon]:
    return match_points(polygons, checks.as_points(points), max_dist)
