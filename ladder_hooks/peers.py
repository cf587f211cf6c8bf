"""What a user would reach for instead of this package: scipy's k-d tree, shapely's
STRtree, a numba-jitted brute force and a numba-jitted grid, each behind the array API's
contract.

``match(centers, areas, points, max_dist)`` takes (M, 2), (M,) and (N, 2) float64 arrays
and returns an (N,) int64 array of each point's best polygon: the smallest area among the
centers strictly closer than ``max_dist``, the first on ties, -1 where there is none.

The trees count a distance equal to their radius as close; the ladder does not. So they
get the largest float below ``max_dist`` as radius: for a distance computed exactly,
``d <= nextafter(max_dist, 0)`` is ``d < max_dist``. The numba peers compare squared
distances with ``max_dist`` squared, and ``hypot`` with ``max_dist`` where that square
would underflow or overflow, and with it the squares it is compared with.

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
    lists = [np.asarray(c, dtype=np.int64) for c in close]
    polygon_index = np.concatenate(lists or [np.empty(0, dtype=np.int64)])
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
    squared = 1e-150 <= max_dist <= 1e150
    return _numba_brute_force()(centers, areas, points, max_dist, squared)


@cache
def _numba_brute_force():
    import numba

    @numba.njit(parallel=True)
    def brute_force(centers, areas, points, max_dist, squared):
        max_dist_squared = max_dist * max_dist
        best = np.empty(len(points), dtype=np.int64)
        for i in numba.prange(len(points)):
            best[i] = -1
            best_area = np.inf
            for k in range(len(centers)):
                dx = centers[k, 0] - points[i, 0]
                dy = centers[k, 1] - points[i, 1]
                if squared:
                    close = dx * dx + dy * dy < max_dist_squared
                else:
                    close = np.hypot(dx, dy) < max_dist
                if close and areas[k] < best_area:
                    best_area = areas[k]
                    best[i] = k
        return best

    return brute_force


def numba_grid_match(centers, areas, points, max_dist):
    """A uniform grid of cells of side ``max_dist``, compiled by numba: the centers
    bucketed by cell (a counting sort: cell offsets, then polygon indices by cell), each
    point scanning the 3 x 3 cells around its own, parallel over the points taken in the
    order of their cells (so that neighbouring points find their cells in cache).

    Cells are keyed by their integer coordinates in an open-addressing hash table, so only
    occupied cells cost memory and a center 1e12 away is one more cell, not a grid over
    its bounding box. Centers whose cell coordinates would not fit an int64 (not finite,
    or so far out in units of ``max_dist`` that every center but those at 0 is when
    ``max_dist`` is a subnormal) go to a list every point checks, a brute force for those
    alone; with ``max_dist`` infinite all finite centers share one cell.
    """
    if not max_dist >= 0.0:
        raise ValueError(f"max_dist must be a non-negative number, got {max_dist}")
    centers = np.ascontiguousarray(centers, dtype=np.float64).reshape(-1, 2)
    areas = np.ascontiguousarray(areas, dtype=np.float64)
    points = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 2)
    if max_dist == 0.0 or len(centers) == 0 or len(points) == 0:
        return np.full(len(points), -1, dtype=np.int64)
    # A side a little over max_dist: a center closer than max_dist is then in the 3 x 3
    # cells around the point's, however the divisions that place both round.
    side = max_dist * (1.0 + 2.0**-40)
    squared = 1e-150 <= max_dist <= 1e150
    return _numba_grid()(centers, areas, points, max_dist, side, squared)


@cache
def _numba_grid():
    import numba

    # Cell coordinates kept in the grid; points' are clamped to twice that, past which
    # no kept cell is a neighbour, so no cell coordinate or neighbour overflows.
    limit = 2.0**61

    @numba.njit(inline="always")
    def new_table(n_keys):
        """An open-addressing hash table at most half full: rows (cx, cy, cell number),
        the number -1 where the row is empty."""
        size = 2
        while size < 2 * n_keys:
            size *= 2
        table = np.empty((size, 3), dtype=np.int64)
        table[:, 2] = -1
        return table

    @numba.njit(inline="always")
    def find(table, cx, cy):
        """The row of cell (cx, cy), or the empty row where it would go."""
        mask = len(table) - 1
        # Fibonacci hashing: the top half of a product depends on every bit of the key.
        key = (np.uint64(cx) * np.uint64(0x9E3779B97F4A7C15)) ^ np.uint64(cy)
        hashed = (key * np.uint64(0xC2B2AE3D27D4EB4F)) >> np.uint64(32)
        slot = np.int64(hashed & np.uint64(mask))
        while table[slot, 2] >= 0 and not (table[slot, 0] == cx and table[slot, 1] == cy):
            slot = (slot + 1) & mask
        return slot

    @numba.njit(cache=False)
    def build_grid(centers, areas, side):
        n_centers = len(centers)
        cell_x = np.empty(n_centers, dtype=np.int64)
        cell_y = np.empty(n_centers, dtype=np.int64)
        in_grid = np.zeros(n_centers, dtype=np.bool_)
        n_far = 0
        for k in range(n_centers):
            fx = centers[k, 0] / side
            fy = centers[k, 1] / side
            if abs(fx) < limit and abs(fy) < limit:  # False for NaN and infinities too
                cell_x[k] = np.int64(np.floor(fx))
                cell_y[k] = np.int64(np.floor(fy))
                in_grid[k] = True
            else:
                n_far += 1
        far = np.empty(n_far, dtype=np.int64)
        n_far = 0
        for k in range(n_centers):
            if not in_grid[k]:
                far[n_far] = k
                n_far += 1

        # The cells, numbered as first seen, then renumbered in (cx, cy) order: cells
        # near in space are then mostly near in memory.
        seen = new_table(n_centers)
        seen_number = np.empty(n_centers, dtype=np.int64)
        n_cells = 0
        for k in range(n_centers):
            if in_grid[k]:
                slot = find(seen, cell_x[k], cell_y[k])
                if seen[slot, 2] < 0:
                    seen[slot] = (cell_x[k], cell_y[k], n_cells)
                    n_cells += 1
                seen_number[k] = seen[slot, 2]
        seen_x = np.empty(n_cells, dtype=np.int64)
        seen_y = np.empty(n_cells, dtype=np.int64)
        for row in seen:
            if row[2] >= 0:
                seen_x[row[2]] = row[0]
                seen_y[row[2]] = row[1]
        by_y = np.argsort(seen_y, kind="mergesort")
        by_x_then_y = by_y[np.argsort(seen_x[by_y], kind="mergesort")]
        number = np.empty(n_cells, dtype=np.int64)
        number[by_x_then_y] = np.arange(n_cells)
        cell_of = np.empty(n_centers, dtype=np.int64)
        for k in range(n_centers):
            if in_grid[k]:
                cell_of[k] = number[seen_number[k]]
        # The table the points probe, sized to the cells rather than the centers so that
        # it stays in cache (the example has about ten centers to a cell).
        cells = new_table(n_cells)
        for c in range(n_cells):
            cells[find(cells, seen_x[c], seen_y[c])] = (seen_x[c], seen_y[c], number[c])

        # Counting sort: cell c's polygons are rows start[c]:start[c + 1] of ``members``
        # (x, y, area) and of ``member_index``, in index order.
        start = np.zeros(n_cells + 1, dtype=np.int64)
        for k in range(n_centers):
            if in_grid[k]:
                start[cell_of[k] + 1] += 1
        for c in range(n_cells):
            start[c + 1] += start[c]
        fill = start[:-1].copy()
        members = np.empty((start[n_cells], 3))
        member_index = np.empty(start[n_cells], dtype=np.int64)
        for k in range(n_centers):
            if in_grid[k]:
                j = fill[cell_of[k]]
                fill[cell_of[k]] += 1
                members[j] = (centers[k, 0], centers[k, 1], areas[k])
                member_index[j] = k
        return far, cells, start, members, member_index

    @numba.njit(inline="always")
    def cell_of_point(px, py, side):
        """The point's cell, (0, 0, False) for a NaN point, which is close to nothing."""
        fx = np.floor(px / side)
        fy = np.floor(py / side)
        if not (fx == fx and fy == fy):
            return 0, 0, False
        return (
            np.int64(min(max(fx, -2.0 * limit), 2.0 * limit)),
            np.int64(min(max(fy, -2.0 * limit), 2.0 * limit)),
            True,
        )

    @numba.njit(inline="always")
    def close(dx, dy, max_dist, squared):
        """Strictly closer than ``max_dist``: squared distances where ``max_dist`` squared
        is a normal float, ``hypot`` beyond."""
        if squared:
            return dx * dx + dy * dy < max_dist * max_dist
        return np.hypot(dx, dy) < max_dist

    @numba.njit(inline="always")
    def better(area, k, best_area, best_k):
        """The smaller area, the lower index on ties."""
        return area < best_area or (area == best_area and k < best_k)

    @numba.njit(cache=False)
    def points_by_cell(points, cells, n_cells, side):
        """The points' indices ordered by their cells' numbers (a counting sort), points in
        no cell last: consecutive points then scan the same or adjacent cells, in cache."""
        key = np.empty(len(points), dtype=np.int64)
        count = np.zeros(n_cells + 2, dtype=np.int64)
        for i in range(len(points)):
            cx, cy, valid = cell_of_point(points[i, 0], points[i, 1], side)
            cell = cells[find(cells, cx, cy), 2] if valid else -1
            key[i] = cell if cell >= 0 else n_cells
            count[key[i] + 1] += 1
        for c in range(n_cells + 1):
            count[c + 1] += count[c]
        order = np.empty(len(points), dtype=np.int64)
        for i in range(len(points)):
            order[count[key[i]]] = i
            count[key[i]] += 1
        return order

    @numba.njit(parallel=True, cache=False)
    def grid_match(centers, areas, points, max_dist, side, squared):
        far, cells, start, members, member_index = build_grid(centers, areas, side)
        order = points_by_cell(points, cells, len(start) - 1, side)
        # np.empty, not np.full: in a parallel function np.full is a parallel loop of its
        # own, and each costs a wake-up of the thread pool.
        best = np.empty(len(points), dtype=np.int64)
        for t in numba.prange(len(points)):
            i = order[t]
            px = points[i, 0]
            py = points[i, 1]
            best_k = -1
            best_area = np.inf
            cx, cy, valid = cell_of_point(px, py, side)
            if valid and len(members) > 0:
                for nx in range(cx - 1, cx + 2):
                    for ny in range(cy - 1, cy + 2):
                        cell = cells[find(cells, nx, ny), 2]
                        if cell < 0:
                            continue
                        for j in range(start[cell], start[cell + 1]):
                            dx, dy = members[j, 0] - px, members[j, 1] - py
                            area, k = members[j, 2], member_index[j]
                            if close(dx, dy, max_dist, squared) and better(
                                area, k, best_area, best_k
                            ):
                                best_area, best_k = area, k
            for k in far:
                dx, dy = centers[k, 0] - px, centers[k, 1] - py
                if close(dx, dy, max_dist, squared) and better(areas[k], k, best_area, best_k):
                    best_area, best_k = areas[k], k
            best[i] = best_k
        return best

    return grid_match
