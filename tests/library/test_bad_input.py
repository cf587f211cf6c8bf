"""Bad input, for every public entry point: a correct answer or a clear exception.

Each row of the tables below is one case and its expected outcome: ``OK`` (the input
is converted as documented and the answer is right) or the exception type and a
pattern its message must match. A Rust panic surfaces as pyo3's PanicException, a
BaseException that matches none of these, so it fails the test; a crash fails the run.
"""

import re

import numpy as np
import pytest

import poly_match
from conftest import NATIVE_SEARCHES, assert_matches_oracle, each_polygon_type

OK = None
SQUARE_X = np.array([0.0, 1.0, 1.0, 0.0])
SQUARE_Y = np.array([0.0, 0.0, 1.0, 1.0])


def read_only(array: np.ndarray) -> np.ndarray:
    array = array.copy()
    array.flags.writeable = False
    return array


def strided(array: np.ndarray) -> np.ndarray:
    """The same values as a non-contiguous view."""
    return np.repeat(array, 2, axis=0)[::2]


# (case, x, y, expected)
VERTICES = [
    ("float64", SQUARE_X, SQUARE_Y, OK),
    ("non-contiguous", strided(SQUARE_X), strided(SQUARE_Y), OK),
    ("read-only", read_only(SQUARE_X), read_only(SQUARE_Y), OK),
    ("int dtype", SQUARE_X.astype(np.int64), SQUARE_Y, (TypeError, "x must have dtype float64")),
    (
        "float32 dtype",
        SQUARE_X,
        SQUARE_Y.astype(np.float32),
        (TypeError, "y must have dtype float64"),
    ),
    ("object dtype", SQUARE_X.astype(object), SQUARE_Y, (TypeError, "x must have dtype float64")),
    ("list", list(SQUARE_X), SQUARE_Y, (TypeError, "x must be a numpy.ndarray")),
    ("2-D", SQUARE_X.reshape(2, 2), SQUARE_Y.reshape(2, 2), (ValueError, "x must be a 1-D array")),
    ("0-D", np.array(1.0), SQUARE_Y, (ValueError, "x must be a 1-D array")),
    (
        "mismatched lengths",
        SQUARE_X,
        SQUARE_Y[:3],
        (ValueError, "x and y must have the same length"),
    ),
    ("two vertices", SQUARE_X[:2], SQUARE_Y[:2], (ValueError, "at least 3 vertices, got 2")),
    ("empty", np.array([]), np.array([]), (ValueError, "at least 3 vertices, got 0")),
    ("NaN", SQUARE_X, np.array([0.0, np.nan, 1.0, 1.0]), (ValueError, r"y\[1\] is not finite")),
    (
        "infinity",
        np.array([0.0, 1.0, np.inf, 0.0]),
        SQUARE_Y,
        (ValueError, r"x\[2\] is not finite"),
    ),
]


def expect(expected, call):
    """Run ``call``; check it raised what ``expected`` says, or return its result."""
    if expected is OK:
        return call()
    error, pattern = expected
    with pytest.raises(error, match=pattern):
        call()
    return None


@each_polygon_type
@pytest.mark.parametrize(
    ("x", "y", "expected"), [row[1:] for row in VERTICES], ids=[row[0] for row in VERTICES]
)
def test_polygon_constructor(polygon_type, x, y, expected):
    polygon = expect(expected, lambda: polygon_type(x=x, y=y))
    if polygon is not None:
        assert polygon.area() == 1.0
        np.testing.assert_array_equal(polygon.center, [0.5, 0.5])
        np.testing.assert_array_equal(polygon.x, SQUARE_X)


POINT = np.array([0.5, 0.5])
# (case, point, max_dist, expected) for find_close_polygons of the Rust rungs
POINT_CASES = [
    ("float64", POINT, 10.0, OK),
    ("non-contiguous", strided(POINT), 10.0, OK),
    ("read-only", read_only(POINT), 10.0, OK),
    ("int dtype", np.array([0, 0]), 10.0, (TypeError, "point must have dtype float64")),
    ("float32 dtype", POINT.astype(np.float32), 10.0, (TypeError, "point must have dtype float64")),
    ("object dtype", POINT.astype(object), 10.0, (TypeError, "point must have dtype float64")),
    ("list", [0.5, 0.5], 10.0, (TypeError, "point must be a numpy.ndarray")),
    ("shape (3,)", np.zeros(3), 10.0, (ValueError, r"point must have shape \(2,\)")),
    ("shape (1, 2)", POINT.reshape(1, 2), 10.0, (ValueError, "point must be a 1-D array")),
    ("NaN", np.array([np.nan, 0.0]), 10.0, (ValueError, "point must be finite")),
    ("infinity", np.array([0.0, -np.inf]), 10.0, (ValueError, "point must be finite")),
    ("negative max_dist", POINT, -1.0, (ValueError, "max_dist must be a non-negative number")),
    ("NaN max_dist", POINT, float("nan"), (ValueError, "max_dist must be a non-negative number")),
    ("str max_dist", POINT, "10", (TypeError, "max_dist must be a number, got str")),
    ("zero max_dist", POINT, 0.0, OK),
]


@pytest.mark.parametrize("name", NATIVE_SEARCHES)
@pytest.mark.parametrize(
    ("point", "max_dist", "expected"), [r[1:] for r in POINT_CASES], ids=[r[0] for r in POINT_CASES]
)
def test_find_close_polygons_point_and_max_dist(name, point, max_dist, expected):
    rung = poly_match.VERSIONS[name]
    polygons = [rung.Polygon(x=SQUARE_X + dx, y=SQUARE_Y) for dx in (0.0, 5.0, 50.0)]
    close = expect(expected, lambda: rung.find_close_polygons(polygons, point, max_dist))
    if close is not None:
        assert close == (polygons[:2] if max_dist > 0 else [])


NOT_POLYGONS = [
    ("an int in the list", lambda good: [*good, 3], (TypeError, "polygons|Polygon")),
    ("None in the list", lambda good: [None, *good], (TypeError, "polygons|Polygon")),
    ("a polygon instead of a list", lambda good: good[0], (TypeError, "polygons|Polygon")),
]


@pytest.mark.parametrize("name", NATIVE_SEARCHES)
@pytest.mark.parametrize(
    ("make", "expected"), [r[1:] for r in NOT_POLYGONS], ids=[r[0] for r in NOT_POLYGONS]
)
def test_find_close_polygons_rejects_non_polygons(name, make, expected):
    rung = poly_match.VERSIONS[name]
    polygons = make([rung.Polygon(x=SQUARE_X, y=SQUARE_Y)])
    expect(expected, lambda: rung.find_close_polygons(polygons, POINT, 10.0))


def test_rust_polygon_types_are_not_interchangeable():
    v3, v4 = poly_match.VERSIONS["v3_riir_polygon"], poly_match.VERSIONS["v4_avoid_allocs"]
    message = (
        "polygons[0] must be a poly_match.v4_avoid_allocs.Polygon,"
        " got poly_match.v3_riir_polygon.Polygon"
    )
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        v4.find_close_polygons([v3.Polygon(x=SQUARE_X, y=SQUARE_Y)], POINT, 10.0)


POINTS = np.array([[0.5, 0.5], [100.0, 100.0], [5.0, 0.0]])
# (case, points, max_dist, expected) for main of every rung (and v5's find_all_close_polygons)
POINTS_CASES = [
    ("float64", POINTS, 10.0, OK),
    ("non-contiguous", strided(POINTS), 10.0, OK),
    ("Fortran order", np.asfortranarray(POINTS), 10.0, OK),
    ("read-only", read_only(POINTS), 10.0, OK),
    ("empty", np.empty((0, 2)), 10.0, OK),
    ("shape (N, 3)", np.zeros((3, 3)), 10.0, (ValueError, r"points must have shape \(N, 2\)")),
    ("NaN", np.array([[0.0, 0.0], [np.nan, 1.0]]), 10.0, (ValueError, "points.* finite")),
    ("infinity", np.array([[np.inf, 0.0]]), 10.0, (ValueError, "points.* finite")),
    ("negative max_dist", POINTS, -1.0, (ValueError, "max_dist must be a non-negative number")),
    ("NaN max_dist", POINTS, float("nan"), (ValueError, "max_dist must be a non-negative number")),
]
# Only main converts: documented conversions of the points it accepts.
MAIN_ONLY_CASES = [
    ("int dtype (converted)", POINTS.astype(np.int64), 10.0, OK),
    ("list of 1-D arrays (the original's form)", list(POINTS), 10.0, OK),
    ("empty list", [], 10.0, OK),
    # Before: v8 handed any float64 2-D array to Rust, which refused this one and wrote
    # the shape as [3, 3]; every other rung converts the first and says (3, 3).
    ("empty, shape (0, 3)", np.zeros((0, 3)), 10.0, OK),
    ("shape (N, 3), as numpy writes it", np.zeros((3, 3)), 10.0, (ValueError, r"shape \(3, 3\)")),
    ("strings", np.array([["a", "b"]]), 10.0, (TypeError, "points must be real numbers")),
    ("shape (2,)", np.array([1.0, 2.0]), 10.0, (ValueError, r"points must have shape \(N, 2\)")),
]


@pytest.mark.parametrize(
    ("points", "max_dist", "expected"),
    [r[1:] for r in POINTS_CASES + MAIN_ONLY_CASES],
    ids=[r[0] for r in POINTS_CASES + MAIN_ONLY_CASES],
)
def test_main_points_and_max_dist(rung, points, max_dist, expected):
    polygons = [rung.Polygon(x=SQUARE_X + dx, y=SQUARE_Y) for dx in (0.0, 5.0, 50.0)]
    result = expect(expected, lambda: rung.main(polygons, points, max_dist))
    if result is not None:
        reference = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        assert_matches_oracle(result, polygons, reference, max_dist)


@pytest.mark.parametrize(
    ("make", "expected"), [r[1:] for r in NOT_POLYGONS], ids=[r[0] for r in NOT_POLYGONS]
)
def test_main_rejects_non_polygons(rung, make, expected):
    polygons = make([rung.Polygon(x=SQUARE_X, y=SQUARE_Y)])
    expect(expected, lambda: rung.main(polygons, POINTS))


V5_ONLY_CASES = [
    ("int dtype", POINTS.astype(np.int64), 10.0, (TypeError, "points must have dtype float64")),
    ("list", POINTS.tolist(), 10.0, (TypeError, "points must be a numpy.ndarray")),
    ("1-D", np.zeros(2), 10.0, (ValueError, "points must be a 2-D array")),
]


@pytest.mark.parametrize(
    ("points", "max_dist", "expected"),
    [r[1:] for r in POINTS_CASES + V5_ONLY_CASES],
    ids=[r[0] for r in POINTS_CASES + V5_ONLY_CASES],
)
def test_find_all_close_polygons(points, max_dist, expected):
    rung = poly_match.VERSIONS["v5_find_all_in_rust"]
    polygons = [rung.Polygon(x=SQUARE_X + dx, y=SQUARE_Y) for dx in (0.0, 5.0, 50.0)]
    sets = expect(expected, lambda: rung.find_all_close_polygons(polygons, points, max_dist))
    if sets is not None:
        expected_sets = [
            (p, [q for q in polygons if np.hypot(*(q.center - p)) < max_dist]) for p in points
        ]
        expected_sets = [(p, close) for p, close in expected_sets if close]
        assert len(sets) == len(expected_sets)
        for (point, close), (want_point, want_close) in zip(sets, expected_sets, strict=True):
            np.testing.assert_array_equal(point, want_point)
            assert close == want_close


@each_polygon_type
def test_subclasses_work_everywhere(polygon_type):
    class Labelled(polygon_type):
        label = "mine"

    labelled = Labelled(x=SQUARE_X, y=SQUARE_Y)
    assert labelled.label == "mine"
    assert labelled.area() == 1.0
    for rung in poly_match.VERSIONS.values():
        if isinstance(labelled, rung.Polygon):
            polygons = [labelled, Labelled(x=SQUARE_X + 50.0, y=SQUARE_Y)]
            ((_, best),) = rung.main(polygons, np.array([[0.0, 0.0]]))
            assert best is labelled


def test_messages_name_the_argument():
    # One spot check that the messages read well, beyond the patterns above.
    v4 = poly_match.VERSIONS["v4_avoid_allocs"]
    with pytest.raises(TypeError) as error:
        v4.Polygon(x=SQUARE_X.astype(np.float32), y=SQUARE_Y)
    assert str(error.value) == (
        "x must have dtype float64, got float32 (convert with .astype(numpy.float64))"
    )
    assert re.fullmatch(r"max_dist must be a non-negative number, got -1(\.0)?", _message(v4))


def _message(v4) -> str:
    try:
        v4.find_close_polygons([], POINT, -1.0)
    except ValueError as error:
        return str(error)
    raise AssertionError("no error")
