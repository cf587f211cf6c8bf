"""This project's glue for the measurement tooling (declared in pyproject.toml under
``[tool.ladder-bench]``): the array-form workload, answers in one comparable form, and
the rule for when two answers agree. Uses only the library's public names.

The tooling itself (``ladder-bench``) knows nothing of polygons.
"""

import importlib.util
import math
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import numpy as np

import poly_match
from poly_match import example

MAX_DIST = example.MAX_DIST


def _load_tolerances() -> ModuleType:
    """tolerances.py from beside this file: the tooling loads glue by path, so the
    ``ladder_hooks`` package need not be importable."""
    spec = importlib.util.spec_from_file_location(
        "poly_match_ladder_tolerances", Path(__file__).with_name("tolerances.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Mismatches within these are decided by rounding (tolerances.py has the reasoning).
_tolerances = _load_tolerances()
AREA_RTOL: float = _tolerances.AREA_RTOL
DISTANCE_RTOL: float = _tolerances.DISTANCE_RTOL


def array_example(
    n_polygons: int = example.DEFAULT_POLYGONS,
    n_points: int = example.DEFAULT_POINTS,
    far_outliers: int = 0,
):
    """The example as the array API takes it: centers, shoelace areas, points, max_dist."""
    centers, areas, _, points = _example_with_area_errors(n_polygons, n_points, far_outliers)
    return centers, areas, points, MAX_DIST


def prebuilt_index(
    n_polygons: int = example.DEFAULT_POLYGONS,
    n_points: int = example.DEFAULT_POINTS,
    far_outliers: int = 0,
):
    """The example's polygons as a ``poly_match.Index``, built before the timing, and its
    points: a call of ``Index.match`` is then all that is measured."""
    centers, areas, points, max_dist = array_example(n_polygons, n_points, far_outliers)
    return poly_match.Index(centers, areas, max_dist), points


@lru_cache(maxsize=1)  # the sweep checks every approach's answer at one size in turn
def _example_with_area_errors(n_polygons: int, n_points: int, far_outliers: int = 0):
    """Also a bound on each area's rounding error: n * eps * sum(|terms|) (Higham 4.2).
    Far from the origin the terms are large and "equal" areas differ by more than 1e-9."""
    polygons, points = example.generate_example(
        lambda x, y: (x, y), n_polygons, n_points, far_outliers=far_outliers
    )
    xs = np.array([x for x, _ in polygons]).reshape(n_polygons, -1)
    ys = np.array([y for _, y in polygons]).reshape(n_polygons, -1)
    centers = np.column_stack([xs.mean(axis=1), ys.mean(axis=1)]).reshape(n_polygons, 2)
    left, right = xs * np.roll(ys, 1, axis=1), ys * np.roll(xs, 1, axis=1)
    areas = 0.5 * np.abs((left - right).sum(axis=1))
    errors = xs.shape[1] * np.finfo(np.float64).eps * (np.abs(left) + np.abs(right)).sum(axis=1)
    return centers, areas, errors, points


def pairs_to_indices(result: list, polygons: list, points: np.ndarray) -> np.ndarray:
    """A rung's ``[(point, polygon)]`` as the array API's answer: matched points come in
    input order, so one pass over the points lines them up."""
    position = {id(polygon): k for k, polygon in enumerate(polygons)}
    best = np.full(len(points), -1, dtype=np.int64)
    rows = np.asarray(points).tolist()
    i = 0
    for point, polygon in result:
        while rows[i] != [point[0], point[1]]:
            i += 1
        best[i] = position[id(polygon)]
        i += 1
    return best


def agreement(answer, reference, size: dict) -> dict:
    """How many picks equal the reference's, differ only by rounding, or really differ."""
    centers, areas, area_errors, points = _example_with_area_errors(**size)
    return count_agreement(answer, reference, centers, areas, area_errors, points, MAX_DIST)


def count_agreement(answer, reference, centers, areas, area_errors, points, max_dist) -> dict:
    differ = np.flatnonzero(answer != reference)
    ties = 0
    for i in differ:
        picks = [k for k in (answer[i], reference[i]) if k >= 0]
        distances = [math.dist(centers[k], points[i]) for k in picks]
        if len(picks) == 2:
            (low, low_error), (high, high_error) = sorted((areas[k], area_errors[k]) for k in picks)
            close_enough = high <= low * (1 + AREA_RTOL) + 2 * max(low_error, high_error)
            ties += bool(close_enough and max(distances) < max_dist)
        else:  # one found nothing: fine only if the other's pick is on the boundary
            ties += bool(abs(distances[0] - max_dist) <= DISTANCE_RTOL * max_dist)
    same = len(answer) - len(differ)
    return {"same": same, "ties": ties, "different": len(differ) - ties}
