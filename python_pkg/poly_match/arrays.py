"""The array API: ``Index(centers, areas, max_dist)`` and ``match_points``.

For callers who hold their polygons as arrays and want indices back rather than Python
objects: ``centers`` (M, 2) and ``areas`` (M,) float64 arrays describe the polygons,
``points`` is an (N, 2) float64 array, and the answer is an (N,) int64 array with each
point's best polygon index (-1 where no center is closer than ``max_dist``). "Best" is
v1's rule: the smallest area, the first on ties.

``Index`` is built once (with the GIL released) and matches any number of point arrays,
from any number of threads at once; it pickles, so it can be shipped to worker
processes. ``match_points(centers, areas, points, max_dist)`` is the one-shot form,
``Index(centers, areas, max_dist).match(points)`` without keeping the index.
"""

from . import _rs

__all__ = ["Index", "match_points"]

Index = _rs.Index
match_points = _rs.match_points
