"""Rust, naively: v1's find_close_polygons translated line for line (still reads Python objects)."""

from numpy.typing import ArrayLike

from . import _rs
from .v1 import (
    MAX_DIST,
    Matches,
    Polygon,
    generate_example,
    generate_one_polygon,
    match_each_point,
    select_best_polygon,
)

__all__ = [
    "MAX_DIST",
    "Polygon",
    "find_close_polygons",
    "generate_example",
    "generate_one_polygon",
    "main",
    "select_best_polygon",
]

find_close_polygons = _rs.v2.find_close_polygons


def main(
    polygons: list[Polygon], points: ArrayLike, max_dist: float = MAX_DIST
) -> Matches[Polygon]:
    return match_each_point(find_close_polygons, polygons, points, max_dist)
