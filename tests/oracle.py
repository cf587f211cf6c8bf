"""An independent answer to the matching problem, for the tests to compare against.

Plain Python floats only: ``math.fsum`` for means and the shoelace sum, ``math.hypot``
for distances. No numpy arithmetic and no code from ``poly_match``, so a bug in the
package cannot hide by agreeing with itself.
"""

import importlib.util
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


def _load_tolerances():
    """ladder_hooks/tolerances.py, by its path: the rounding slack this oracle shares with
    the timing table's agreement rule, and the reasoning behind it."""
    path = Path(__file__).resolve().parent.parent / "ladder_hooks" / "tolerances.py"
    spec = importlib.util.spec_from_file_location("oracle_tolerances", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_tolerances = _load_tolerances()
AREA_RTOL = _tolerances.AREA_RTOL
DISTANCE_RTOL = _tolerances.DISTANCE_RTOL


def vertices(polygon) -> tuple[list[float], list[float]]:
    return [float(v) for v in polygon.x], [float(v) for v in polygon.y]


def center(polygon) -> tuple[float, float]:
    xs, ys = vertices(polygon)
    return math.fsum(xs) / len(xs), math.fsum(ys) / len(ys)


def area(polygon) -> float:
    xs, ys = vertices(polygon)
    # xs[i - 1] at i = 0 is the last vertex: the polygon closes on itself.
    return 0.5 * abs(math.fsum(xs[i] * ys[i - 1] - ys[i] * xs[i - 1] for i in range(len(xs))))


def shoelace_error(polygon) -> float:
    """A bound on the rounding error of a float shoelace sum, summed in any order:
    n * eps * sum(|terms|) (Higham, Accuracy and Stability, 4.2), doubled for margin."""
    xs, ys = vertices(polygon)
    terms = math.fsum(abs(xs[i] * ys[i - 1]) + abs(ys[i] * xs[i - 1]) for i in range(len(xs)))
    return len(xs) * sys.float_info.epsilon * terms


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
    """The indices among ``close`` whose area is the minimum, up to ``AREA_RTOL`` and the
    rounding error of the two areas compared."""
    areas = {k: area(polygons[k]) for k in close}
    errors = {k: shoelace_error(polygons[k]) for k in close}
    least = min(areas.values())
    worst_error = max(errors.values())
    return [k for k in close if areas[k] <= least * (1 + AREA_RTOL) + errors[k] + worst_error]


def borderline(polygons: Sequence, points, max_dist: float) -> bool:
    """Whether some center lies so near ``max_dist`` from some point that float rounding,
    not geometry, decides whether it is close: such workloads have no single right answer."""
    if max_dist == 0.0:
        return False  # nothing is closer than 0, however it is rounded
    centers = [center(polygon) for polygon in polygons]
    for point in points:
        px, py = float(point[0]), float(point[1])
        for cx, cy in centers:
            slack = DISTANCE_RTOL * (abs(cx) + abs(cy) + abs(px) + abs(py) + max_dist)
            if abs(math.hypot(cx - px, cy - py) - max_dist) <= slack:
                return True
    return False
