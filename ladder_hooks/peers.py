"""What a user would reach for instead of this package: scipy's k-d tree, shapely's
STRtree and a numba-jitted brute force, each behind the array API's contract.

``match(centers, areas, points, max_dist)`` takes (M, 2), (M,) and (N, 2) float64 arrays
and returns an (N,) int64 array of each point's best polygon: the smallest area among the
centers strictly closer than ``max_dist``, the first on ties, -1 where there is none.

The trees count a distance equal to their radius as close; the ladder does not. So they
get the largest float below ``max_dist`` as radius: for a distance computed exactly,
``d <= nextafter(max_dist, 0)`` is ``d < max_dist``.

scipy, shapely and numba are imported on first use: they come with the tooling's
``scale`` extra, not with the library. pyproject.toml declares them as the scaling
sweep's peers.
"""

from functools import cache

import numpy as np


def radius_below(max_dist: float) -> float:
    """The radius that makes an inclusive ``d <= radius`` mean ``d < max_dist``."""
    return float(np.nextafter(max_dist, 0.0)) if max_dist > 0.0 else -1.0


def best_of_pairs(
    point_index: np.ndarray, polygon_index: np.ndarray, areas: np.ndarray, n_points: int
) -> np.ndarray:
    """From (point, close polygon) pairs, each point's smallest polygon, the first on ties."""
    best = np.full(n_points, -1, dtype=np.int64)
    if len(point_index) == 0:
        return best
    # Sorted by point, then area, then polygon index: each point's first pair is its best.
    order = np.lexsort((polygon_index, areas[polygon_index], point_index))
    points_sorted = point_index[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = points_sorted[1:] != points_sorted[:-1]
    best[points_sorted[first]] = polygon_index[order][first]
    return best


def kdtree_match(centers, areas, points, max_dist):
    """scipy.spatial.cKDTree over the centers, ``query_ball_point`` for every point on
    all cores, then the smallest area per point in numpy."""
    from scipy.spatial import cKDTree

    radius = radius_below(max_dist)
    if radius < 0 or len(centers) == 0:
        return np.full(len(points), -1, dtype=np.int64)
    close = cKDTree(centers).query_ball_point(points, radius, workers=-1)
    counts = np.fromiter(map(len, close), dtype=np.int64, count=len(close))
    point_index = np.repeat(np.arange(len(points)), counts)
    polygon_index = np.concatenate([np.asarray(c, dtype=np.int64) for c in close] or [[]])
    return best_of_pairs(point_index, polygon_index.astype(np.int64), areas, len(points))


def strtree_match(centers, areas, points, max_dist):
    """shapely 2's STRtree over the centers as points, queried with ``dwithin`` for all
    points at once, then the smallest area per point in numpy."""
    import shapely

    radius = radius_below(max_dist)
    if radius < 0 or len(centers) == 0:
        return np.full(len(points), -1, dtype=np.int64)
    tree = shapely.STRtree(shapely.points(centers))
    point_index, polygon_index = tree.query(
        shapely.points(points), predicate="dwithin", distance=radius
    )
    return best_of_pairs(point_index, polygon_index, areas, len(points))


def numba_match(centers, areas, points, max_dist):
    """Every point against every center, compiled by numba and parallel over points."""
    if not max_dist >= 0.0:
        raise ValueError(f"max_dist must be a non-negative number, got {max_dist}")
    return _numba_brute_force()(centers, areas, points, max_dist * max_dist)


@cache
def _numba_brute_force():
    import numba

    @numba.njit(parallel=True)
    def brute_force(centers, areas, points, max_dist_squared):
        best = np.full(len(points), -1, dtype=np.int64)
        for i in numba.prange(len(points)):
            best_area = np.inf
            for k in range(len(centers)):
                dx = centers[k, 0] - points[i, 0]
                dy = centers[k, 1] - points[i, 1]
                if dx * dx + dy * dy < max_dist_squared and areas[k] < best_area:
                    best_area = areas[k]
                    best[i] = k
        return best

    return brute_force
