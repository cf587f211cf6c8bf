"""A lean boundary: polygons read in one pass, centers made once, points returned as rows."""

from functools import partial

import numpy as np

from . import _rs, example
from .v1 import MAX_DIST

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


def main(polygons, points, max_dist=MAX_DIST):
    # A float64 array goes straight to Rust, which checks it (shape, finiteness) once;
    # anything else numpy turns into one (the seed's list of arrays, integers) first.
    if not (isinstance(points, np.ndarray) and points.dtype == np.float64 and points.ndim == 2):
        points = example.as_points(points)
    return match_points(polygons, points, max_dist)
