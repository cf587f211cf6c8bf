"""An independent answer to the matching problem, for the tests to compare against.

Plain Python floats only: ``math.fsum`` for means and the shoelace sum, ``math.hypot``
for distances. No numpy arithmetic and no code from ``poly_match``, so a bug in the
package cannot hide by agreeing with itself.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Rungs compute centers and areas in different orders (numpy's pairwise sums, Rust's
# sequential ones), so areas that are equal on paper differ in the last bits. Any
# polygon within this relative distance of the smallest area is an acceptable "smallest".
AREA_RTOL = 1e-9


def vertices(polygon) -> tuple[list[float], list[float]]:
    return [float(v) for v in polygon.x], [float(v) for v in polygon.y]


def center(polygon) -> tuple[float, float]:
    xs, ys = vertices(polygon)
    return math.fsum(xs) / len(xs), math.fsum(ys) / len(ys)


def area(polygon) -> float:
    xs, ys = vertices(polygon)
    # xs[i - 1] at i = 0 is the last vertex: the polygon closes on itself.
    return 0.5 * abs(math.fsum(xs[i] * ys[i - 1] - ys[i] * xs[i - 1] for i in range(len(xs))))


@dataclass(frozen=True)
class Match:
    point_index: int
    close: tuple[int, ...]  # indices of the polygons closer than max_dist, in input order


def matches(polygons: Sequence, points, max_dist: float) -> list[Match]:
    """Every point with at least one polygon center strictly closer than ``max_dist``."""
    centers = [center(polygon) for polygon in polygons]
    found = []
    for point_index, point in enumerate(points):
        px, py = float(point[0]), float(point[1])
        close = tuple(
            k for k, (cx, cy) in enumerate(centers) if math.hypot(cx - px, cy - py) < max_dist
        )
        if close:
            found.append(Match(point_index, close))
    return found


def smallest(polygons: Sequence, close: Sequence[int]) -> list[int]:
    """The indices among ``close`` whose area is the minimum, up to ``AREA_RTOL``."""
    areas = {k: area(polygons[k]) for k in close}
    least = min(areas.values())
    return [k for k in close if areas[k] <= least * (1 + AREA_RTOL)]
