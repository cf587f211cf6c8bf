"""The array API: ``match_points(centers, areas, points, max_dist)``.

For callers who hold their polygons as arrays and want indices back rather than Python
objects: ``centers`` (M, 2), ``areas`` (M,) and ``points`` (N, 2) float64 arrays in,
an (N,) int64 array out with each point's best polygon index (-1 where no center is
closer than ``max_dist``). "Best" is v1's rule: the smallest area, the first on ties.
It runs v7's grid in parallel with the GIL released.
"""

from . import _rs

__all__ = ["match_points"]

match_points = _rs.match_points
