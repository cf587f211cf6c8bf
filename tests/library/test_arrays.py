"""The array API, ``poly_match.match_points`` and ``poly_match.Index``, against the oracle
and bad input; the index's reuse, threads and pickling."""

import copy
import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import poly_match
from conftest import as_arrays, as_pairs, assert_matches_oracle
from poly_match.example import MAX_DIST

v1 = poly_match.VERSIONS["v1"]


def via_index(centers, areas, points, max_dist):
    return poly_match.Index(centers, areas, max_dist).match(points)


# The one-shot form and the index, which must answer alike.
FORMS = {"match_points": lambda: poly_match.match_points, "Index.match": lambda: via_index}


@pytest.mark.parametrize(
    ("n_polygons", "n_points", "seed", "extent", "max_dist"),
    [
        (1000, 100, 6, None, MAX_DIST),  # the default example
        (40, 60, 1, 200.0, 10.0),  # sparse: many points match nothing
        (0, 10, 2, 100.0, 10.0),  # no polygons
        (3000, 5000, 3, None, 3.0),  # enough points to go parallel
        (500, 200, 4, None, 0.0),  # nothing is closer than 0
        (200, 50, 5, None, 1e300),  # every polygon is close
    ],
)
@pytest.mark.parametrize("form", FORMS)
def test_matches_oracle(form, n_polygons, n_points, seed, extent, max_dist):
    polygons, points = v1.generate_example(n_polygons, n_points, seed, extent)
    centers, areas = as_arrays(polygons)
    indices = FORMS[form]()(centers, areas, points, max_dist)
    assert indices.dtype == np.int64
    assert indices.shape == (n_points,)
    assert_matches_oracle(as_pairs(indices, polygons, points), polygons, points, max_dist)


def test_agrees_with_v7_on_the_default_example():
    v7 = poly_match.VERSIONS["v7_grid_parallel"]
    polygons, points = v7.generate_example()
    centers = np.array([p.center for p in polygons])
    areas = np.array([p.area() for p in polygons])
    position = {id(p): k for k, p in enumerate(polygons)}
    from_main = [position[id(polygon)] for _, polygon in v7.main(polygons, points)]
    assert list(poly_match.match_points(centers, areas, points, MAX_DIST)) == from_main


CENTERS = np.array([[0.0, 0.0], [5.0, 5.0]])
AREAS = np.array([1.0, 2.0])
POINTS = np.array([[0.0, 1.0]])


@pytest.mark.parametrize(
    ("centers", "areas", "points", "max_dist", "error", "pattern"),
    [
        (CENTERS, AREAS[:1], POINTS, 10.0, ValueError, "2 centers and 1 areas"),
        (np.zeros((2, 3)), AREAS, POINTS, 10.0, ValueError, r"centers must have shape \(N, 2\)"),
        (CENTERS[0], AREAS, POINTS, 10.0, ValueError, "centers must be a 2-D array"),
        (
            CENTERS.astype(np.int64),
            AREAS,
            POINTS,
            10.0,
            TypeError,
            "centers must have dtype float64",
        ),
        (
            CENTERS,
            AREAS.astype(np.float32),
            POINTS,
            10.0,
            TypeError,
            "areas must have dtype float64",
        ),
        (CENTERS, [1.0, 2.0], POINTS, 10.0, TypeError, "areas must be a numpy.ndarray"),
        (CENTERS, np.array([1.0, np.nan]), POINTS, 10.0, ValueError, r"areas\[1\] is not finite"),
        (
            np.array([[0.0, np.inf], [1.0, 1.0]]),
            AREAS,
            POINTS,
            10.0,
            ValueError,
            "centers.* finite",
        ),
        (CENTERS, AREAS, np.array([[np.nan, 0.0]]), 10.0, ValueError, "points.* finite"),
        (CENTERS, AREAS, POINTS, -1.0, ValueError, "max_dist must be a non-negative number"),
    ],
)
@pytest.mark.parametrize("form", FORMS)
def test_bad_input(form, centers, areas, points, max_dist, error, pattern):
    with pytest.raises(error, match=pattern):
        FORMS[form]()(centers, areas, points, max_dist)


@pytest.mark.parametrize(
    ("points", "error", "pattern"),
    [
        (POINTS.astype(np.float32), TypeError, "points must have dtype float64"),
        (POINTS.tolist(), TypeError, "points must be a numpy.ndarray"),
        (np.zeros((1, 3)), ValueError, r"points must have shape \(N, 2\)"),
        (np.array([[0.0, 1.0], [np.nan, 0.0]]), ValueError, r"points\[1\] must be finite"),
    ],
)
def test_an_index_names_bad_points(points, error, pattern):
    index = poly_match.Index(CENTERS, AREAS, 10.0)
    with pytest.raises(error, match=pattern):
        index.match(points)
    assert index.match(POINTS).tolist() == [0], "a bad call leaves the index usable"


def test_one_index_matches_many_point_arrays():
    polygons, points = v1.generate_example(2000, 3000, seed=11)
    centers, areas = as_arrays(polygons)
    index = poly_match.Index(centers, areas, 5.0)
    for part in (points[:1], points[:0], points[7:1500], points[::-3], points):
        assert_matches_oracle(as_pairs(index.match(part), polygons, part), polygons, part, 5.0)


def test_threads_share_one_index():
    polygons, points = v1.generate_example(2000, 4000, seed=12)
    centers, areas = as_arrays(polygons)
    index = poly_match.Index(centers, areas, 4.0)
    parts = np.array_split(points, 16)
    with ThreadPoolExecutor(8) as threads:
        answers = list(threads.map(index.match, parts))
    assert np.concatenate(answers).tolist() == index.match(points).tolist()
    assert_matches_oracle(as_pairs(index.match(points), polygons, points), polygons, points, 4.0)


@pytest.mark.parametrize("duplicate", [lambda i: pickle.loads(pickle.dumps(i)), copy.deepcopy])
def test_an_index_pickles_and_copies(duplicate):
    polygons, points = v1.generate_example(500, 400, seed=13)
    centers, areas = as_arrays(polygons)
    index = poly_match.Index(centers, areas, 7.5)
    twin = duplicate(index)
    assert twin is not index
    assert (len(twin), twin.max_dist) == (500, 7.5)
    assert twin.match(points).tolist() == index.match(points).tolist()
    assert_matches_oracle(as_pairs(twin.match(points), polygons, points), polygons, points, 7.5)


def test_an_index_describes_itself():
    index = poly_match.Index(CENTERS, AREAS, 1e300)
    assert (len(index), index.max_dist) == (2, 1e300)
    assert repr(index) == "<poly_match.Index of 2 polygons, max_dist=1e+300>"
    empty = poly_match.Index(np.zeros((0, 2)), np.zeros(0), 1.0)
    assert len(empty) == 0
    assert empty.match(POINTS).tolist() == [-1]
    assert pickle.loads(pickle.dumps(empty)).match(POINTS).tolist() == [-1]


def test_strided_and_read_only_inputs_work():
    centers = np.repeat(CENTERS, 2, axis=0)[::2]
    areas = AREAS.copy()
    areas.flags.writeable = False
    assert list(poly_match.match_points(centers, areas, np.asfortranarray(POINTS), 10.0)) == [0]


def test_results_do_not_depend_on_the_thread_count():
    # Enough points for the grid to fan out over rayon's threads; one thread must agree.
    import json
    import os
    import subprocess
    import sys

    script = (
        "import json, numpy as np, poly_match\n"
        "p, q = poly_match.VERSIONS['v1'].generate_example(5000, 5000, seed=9)\n"
        "c = np.array([x.center for x in p]); a = np.array([x.area() for x in p])\n"
        "print(json.dumps(poly_match.match_points(c, a, q, 3.0).tolist()))\n"
    )
    answers = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", script],
                env={**os.environ, "RAYON_NUM_THREADS": threads},
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for threads in ("1", "2", "8")
    ]
    assert answers[0] == answers[1] == answers[2]
    assert sum(index >= 0 for index in answers[0]) > 1000


def test_importing_the_library_imports_no_dask():
    # dask is an optional extra: only calling match_dask may import it.
    import subprocess
    import sys

    script = (
        "import sys, poly_match, poly_match.arrays\n"
        "assert callable(poly_match.match_dask) and poly_match.Index is poly_match.arrays.Index\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
