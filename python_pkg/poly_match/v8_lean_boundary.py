"""A lean boundary: polygons read in one pass, centers made once, points returned as rows."""

from functools import partial

import numpy as np
from numpy.typing import ArrayLike

from . import _rs, checks, example
from .v1 import MAX_DIST, Matches

__all__ = [
    "MAX_DIST",
    "Polygon",
    "generate_example",
    "generate_one_polygon",
    "main",
    "match_points",
]

Polygon = _rs.v8.Polygon
match_points = _rs.v8.match_points
generate_one_polygon = partial(example.generate_one_polygon, Polygon)
generate_example = partial(example.generate_example, Polygon)


def main(
    polygons: list[Polygon], points: ArrayLike, max_dist: float = MAX_DIST
) -> Matches[Polygon]:
    # A float64 (N, 2) array goes straight to Rust, which checks its values once, as
    # as_points would; anything else (the original's list of arrays, integers, an empty array
    # of another shape) as_points converts or rejects first, as on every other rung.
    if not (
        isinstance(points, np.ndarray)
        and points.dtype == np.float64
        and points.ndim == 2
        and points.shape[1] == 2
    ):
        points = checks.as_points(points)
    return match_points(polygons, points, max_dist)
