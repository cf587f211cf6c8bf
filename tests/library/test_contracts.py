"""The contracts beyond "same answer on the example": the distance rule at both ends of
the float range, fork, Ctrl-C, pickling and copying, identity, private vertices,
subclasses, and one style of error message. Each test names the finding it guards."""

import copy
import math
import multiprocessing
import pickle
import queue
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import poly_match
from conftest import NATIVE_SEARCHES, each_polygon_type

V = poly_match.VERSIONS
SQUARE_X = np.array([0.0, 1.0, 1.0, 0.0])
SQUARE_Y = np.array([0.0, 0.0, 1.0, 1.0])


def square_around_origin(rung):
    """A 2 x 2 square whose center is exactly (0, 0) on every rung."""
    return rung.Polygon(x=np.array([-1.0, 1.0, 1.0, -1.0]), y=np.array([-1.0, -1.0, 1.0, 1.0]))


# --- 3. One distance rule, exact at both ends of the float range --------------------


def points_around_origin(max_dist):
    """(point, whether its distance to the origin is strictly less than max_dist)."""
    if math.isinf(max_dist):
        return [((0.0, 0.0), True), ((1e308, 0.0), True), ((-1e300, 1e300), True)]
    inside = math.nextafter(max_dist, 0.0)
    outside = math.nextafter(max_dist, math.inf)
    return [
        ((0.0, 0.0), True),
        ((inside, 0.0), True),
        ((0.0, -inside), True),
        ((max_dist, 0.0), False),
        ((0.0, max_dist), False),
        ((-outside, 0.0), False),
        ((outside, outside), False),
    ]


def diagonal_points(scale):
    """A 3-4-5 triangle scaled by a power of two: on, inside and outside a radius 5 * scale."""
    return 5.0 * scale, [
        ((3.0 * scale, 4.0 * scale), False),
        ((3.0 * scale, 4.0 * scale * (1 - 2.0**-40)), True),
        ((-3.0 * scale, 4.0 * scale * (1 + 2.0**-40)), False),
    ]


DISTANCE_CASES = [(r, points_around_origin(r)) for r in (5e-324, 1e-200, 1e-160, 1e150, 1e200)]
DISTANCE_CASES += [(math.inf, points_around_origin(math.inf))]
DISTANCE_CASES += [diagonal_points(2.0**-540), diagonal_points(2.0**600), diagonal_points(1.0)]


@pytest.mark.parametrize(
    ("max_dist", "cases"), DISTANCE_CASES, ids=[f"{r:g}" for r, _ in DISTANCE_CASES]
)
def test_distance_rule_at_both_ends_of_the_float_range(rung, max_dist, cases):
    polygon = square_around_origin(rung)
    points = np.array([point for point, _ in cases])
    result = rung.main([polygon], points, max_dist)
    matched = [tuple(point) for point, _ in result]
    assert matched == [point for point, close in cases if close]


@pytest.mark.parametrize(
    ("max_dist", "cases"), DISTANCE_CASES, ids=[f"{r:g}" for r, _ in DISTANCE_CASES]
)
def test_distance_rule_of_the_array_api(max_dist, cases):
    points = np.array([point for point, _ in cases])
    best = poly_match.match_points(np.zeros((1, 2)), np.array([4.0]), points, max_dist)
    assert best.tolist() == [0 if close else -1 for _, close in cases]


@pytest.mark.parametrize("name", NATIVE_SEARCHES)
@pytest.mark.parametrize(
    ("max_dist", "cases"), DISTANCE_CASES, ids=[f"{r:g}" for r, _ in DISTANCE_CASES]
)
def test_distance_rule_of_find_close_polygons(name, max_dist, cases):
    rung = V[name]
    polygon = square_around_origin(rung)
    for point, close in cases:
        found = rung.find_close_polygons([polygon], np.array(point), max_dist)
        assert found == ([polygon] if close else []), point


@each_polygon_type
@pytest.mark.parametrize(
    ("x", "y", "what"),
    [
        ([0.0, 1e200, 1e200, 0.0], [0.0, 0.0, 1e200, 1e200], "area"),
        ([1.7e308, 1.7e308, 1.7e308], [0.0, 1.0, 0.0], "center"),
    ],
)
def test_polygons_whose_geometry_overflows_are_rejected(polygon_type, x, y, what):
    # 8. Before: accepted, with an infinite area (or center) that the rungs then ranked
    # differently (v1.6 picked the NaN polygon).
    with pytest.raises(ValueError, match=f"polygon's {what} overflows"):
        polygon_type(x=np.array(x), y=np.array(y))


# --- 4. fork ---------------------------------------------------------------------------


def large_call(name):
    """A call with enough points (>= 2048) for the grid to use its threads."""
    rung = V.get(name, V["v4_avoid_allocs"])
    polygons, points = rung.generate_example(n_polygons=2000, n_points=5000)
    if name in ("array API", "Index.match"):
        centers = np.array([p.center for p in polygons])
        areas = np.array([p.area() for p in polygons])
        if name == "Index.match":
            index = poly_match.Index(centers, areas, 10.0)
            return lambda: index.match(points).tolist()
        return lambda: poly_match.match_points(centers, areas, points, 10.0).tolist()
    return lambda: [tuple(point) for point, _ in V[name].match_points(polygons, points, 10.0)]


def _answer_in_child(call, answers):
    answers.put(call())


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform"
)
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
@pytest.mark.parametrize(
    "name", ["v7_grid_parallel", "v8_lean_boundary", "array API", "Index.match"]
)
def test_a_forked_child_can_match_after_the_parent_used_its_threads(name):
    # Before: the child inherited the thread pool's bookkeeping but none of its
    # threads, and waited for them forever.
    call = large_call(name)
    expected = call()  # starts this process's threads
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    child = context.Process(target=_answer_in_child, args=(call, answers))
    child.start()
    try:
        answer = answers.get(timeout=60)  # before join: the child exits once it is read
    except queue.Empty:
        pytest.fail("the forked child hung in its first large call")
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
            child.join()
    assert answer == expected


# --- 5. Ctrl-C and exceptions from Python code -------------------------------------------

INTERRUPTED_CALL = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    import numpy as np
    import poly_match

    # A process started in the background by a shell inherits SIGINT ignored, and Python
    # then installs no handler: install the one an interactive user has.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    name = sys.argv[1]
    n = 50_000
    rng = np.random.default_rng(1)
    centers, points = rng.random((n, 2)) * 100, rng.random((n, 2)) * 100
    areas = rng.random(n) + 1
    # The grids (array API, v7, v8) answer a radius wider than the data at once (the smallest
    # area comes first) but keep one cell for a max_dist below 4e-289
    # (Grid::SMALLEST_MAX_DIST in the core): every center visited per point, none close.
    if name == "array API":
        call = lambda: poly_match.match_points(centers, areas, points, 1e-300)
    elif name == "Index.match":
        call = lambda: poly_match.Index(centers, areas, 1e-300).match(points)
    else:
        rung = poly_match.VERSIONS[name]
        polygons = [
            rung.Polygon(x=np.array([0.0, 1, 1]) + cx, y=np.array([0.0, 0, 1]) + cy)
            for cx, cy in centers
        ]
        if name == "v5_find_all_in_rust":
            call = lambda: rung.find_all_close_polygons(polygons, points, 1e-9)
        elif name in ("v7_grid_parallel", "v8_lean_boundary"):
            call = lambda: rung.match_points(polygons, points, 1e-300)
        else:
            call = lambda: rung.match_points(polygons, points, 1e6)

    sent = []
    def interrupt():
        time.sleep(0.3)
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)
    threading.Thread(target=interrupt).start()
    started = time.perf_counter()
    try:
        call()
        print("finished", time.perf_counter() - started)
    except KeyboardInterrupt:
        print("interrupted", time.perf_counter() - sent[0])
    small = poly_match.match_points(centers[:10], areas[:10], points[:10], 1e6)
    print("next call", len(small))
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to oneself is POSIX")
@pytest.mark.parametrize(
    "name",
    [
        "array API",
        "Index.match",
        "v8_lean_boundary",
        "v7_grid_parallel",
        "v6_convert_once",
        "v5_find_all_in_rust",
    ],
)
def test_ctrl_c_interrupts_a_long_native_call(name):
    # Before: KeyboardInterrupt came only when the call returned, seconds later.
    completed = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_CALL, name], capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    outcome, seconds = completed.stdout.splitlines()[0].split()
    assert outcome == "interrupted", f"the call ran to its end ({seconds} s)"
    assert float(seconds) < 0.5, f"KeyboardInterrupt came {float(seconds):.3f} s after SIGINT"
    assert completed.stdout.splitlines()[1] == "next call 10"


class Boom(Exception):
    pass


@pytest.mark.parametrize("error", [Boom, MemoryError, KeyboardInterrupt])
def test_exceptions_raised_by_python_code_propagate_unchanged(error):
    # Before: v2 turned any exception raised while reading `center` into a TypeError.
    class Exploding:
        @property
        def center(self):
            raise error("from center")

        def area(self):
            return 1.0

    with pytest.raises(error, match="from center"):
        V["v2_riir"].find_close_polygons([Exploding()], np.zeros(2), 1.0)


# --- 6. Pickling, copying, identity ------------------------------------------------------


@each_polygon_type
@pytest.mark.parametrize(
    "round_trip",
    [lambda p: pickle.loads(pickle.dumps(p)), copy.copy, copy.deepcopy],
    ids=["pickle", "copy", "deepcopy"],
)
def test_polygons_pickle_and_copy(polygon_type, round_trip):
    # Before: cannot pickle 'poly_match._rs.v4.Polygon' object (v3 and v4).
    class Labelled(polygon_type):
        pass

    for original in (polygon_type(x=SQUARE_X, y=SQUARE_Y), Labelled(x=SQUARE_X, y=SQUARE_Y)):
        if type(original) is Labelled:
            original.label = "mine"
            if round_trip is not copy.copy and round_trip is not copy.deepcopy:
                continue  # a class local to this test cannot be pickled by reference
        twin = round_trip(original)
        assert type(twin) is type(original)
        assert twin is not original
        np.testing.assert_array_equal(twin.x, original.x)
        np.testing.assert_array_equal(twin.y, original.y)
        np.testing.assert_array_equal(twin.center, original.center)
        assert twin.area() == original.area()
        assert getattr(twin, "label", None) == getattr(original, "label", None)


def test_pickled_polygons_cross_to_another_process():
    polygons, _ = V["v4_avoid_allocs"].generate_example(n_polygons=50, n_points=20)
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        areas = pool.map(V["v4_avoid_allocs"].Polygon.area, polygons)
    assert areas == [p.area() for p in polygons]


@each_polygon_type
def test_equality_and_hashing_are_identity(polygon_type):
    # Before: v1's dataclass compared arrays, and `==` or `in` raised numpy's "truth value
    # of an array ... is ambiguous".
    polygon = polygon_type(x=SQUARE_X, y=SQUARE_Y)
    same_vertices = polygon_type(x=SQUARE_X, y=SQUARE_Y)
    assert polygon == polygon
    assert polygon != same_vertices
    assert polygon in [same_vertices, polygon]
    assert polygon not in [same_vertices]
    assert len({polygon, same_vertices, polygon}) == 2


# --- 7. Private vertices, subclasses -------------------------------------------------------


@pytest.mark.parametrize("rung_name", poly_match.RUNG_NAMES)
def test_polygons_copy_their_vertices(rung_name):
    # Before: v1, v1.5, v1.6 and v2 kept the caller's arrays, so a caller who reused one
    # buffer for several polygons moved the earlier ones too.
    rung = V[rung_name]
    x, y = SQUARE_X.copy(), SQUARE_Y.copy()
    first = rung.Polygon(x=x, y=y)
    x += 10.0
    second = rung.Polygon(x=x, y=y)
    x[:] = 1e6
    np.testing.assert_array_equal(first.x, SQUARE_X)
    np.testing.assert_array_equal(first.center, [0.5, 0.5])
    np.testing.assert_array_equal(second.center, [10.5, 0.5])
    ((_, best),) = rung.main([second, first], np.array([[0.5, 0.5]]), 1.0)
    assert best is first


@each_polygon_type
@pytest.mark.parametrize("member", ["center", "area"])
def test_subclasses_cannot_redefine_the_geometry(polygon_type, member):
    # Before: an overridden center or area was honoured by some rungs and not others.
    with pytest.raises(TypeError, match=f"cannot override {member}"):
        type("Shifted", (polygon_type,), {member: property(lambda self: 0.0)})
    extended = type("Extended", (polygon_type,), {"perimeter": lambda self: 4.0})
    assert extended(x=SQUARE_X, y=SQUARE_Y).perimeter() == 4.0


# --- 8. One message style ---------------------------------------------------------------------


def call_main(rung, max_dist=10.0, points=None, polygons=None):
    if polygons is None:
        polygons = [rung.Polygon(x=SQUARE_X, y=SQUARE_Y)]
    if points is None:
        points = np.array([[0.5, 0.5]])
    return rung.main(polygons, points, max_dist)


@pytest.mark.parametrize(
    ("max_dist", "error", "message"),
    [
        ("10", TypeError, "max_dist must be a number, got str"),
        (None, TypeError, "max_dist must be a number, got NoneType"),
        (np.zeros(3), TypeError, "max_dist must be a number, got numpy.ndarray"),
        (-1e300, ValueError, "max_dist must be a non-negative number, got -1e+300"),
        (float("nan"), ValueError, "max_dist must be a non-negative number, got nan"),
        (-1, ValueError, "max_dist must be a non-negative number, got -1.0"),
    ],
)
def test_max_dist_messages(rung, max_dist, error, message):
    # Before: v1-v4 said "'>=' not supported between instances of 'str' and 'float'", and
    # the Rust rungs printed -1e300 as 301 digits.
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        call_main(rung, max_dist=max_dist)


def test_max_dist_messages_of_the_array_api():
    with pytest.raises(ValueError, match=re.escape("got -1e+300")):
        poly_match.match_points(np.zeros((1, 2)), np.ones(1), np.zeros((1, 2)), -1e300)


def test_points_messages_show_the_row_and_its_values(rung):
    points = np.array([[0.0, 0.0], [np.nan, 1e300]])
    with pytest.raises(ValueError, match=re.escape("points[1] must be finite, got (nan, 1e+300)")):
        call_main(rung, points=points)


FOREIGN = V["v1"].Polygon(x=SQUARE_X, y=SQUARE_Y)


@pytest.mark.parametrize(
    ("name", "expected_type"),
    [
        ("v3_riir_polygon", "poly_match.v3_riir_polygon.Polygon"),
        ("v4_avoid_allocs", "poly_match.v4_avoid_allocs.Polygon"),
        ("v5_find_all_in_rust", "poly_match.v4_avoid_allocs.Polygon"),
        ("v6_convert_once", "poly_match.v4_avoid_allocs.Polygon"),
        ("v7_grid_parallel", "poly_match.v4_avoid_allocs.Polygon"),
        ("v8_lean_boundary", "poly_match.v8_lean_boundary.Polygon"),
    ],
)
def test_a_polygon_of_another_rung_is_named_with_its_index(name, expected_type):
    # Before: "'Polygon' object is not an instance of 'Polygon'", with no index or module.
    rung = V[name]
    polygons = [rung.Polygon(x=SQUARE_X, y=SQUARE_Y)] * 2 + [FOREIGN]
    message = f"polygons[2] must be a {expected_type}, got poly_match.v1.Polygon"
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        call_main(rung, polygons=polygons)


def test_v8_polygon_makes_its_center_once_and_nobody_can_move_it():
    v8 = V["v8_lean_boundary"]
    polygon = v8.Polygon(x=SQUARE_X.copy(), y=SQUARE_Y.copy())
    center = polygon.center
    assert polygon.center is center, "a new array per access is what v8 avoids"
    assert center.tolist() == [float(np.mean(SQUARE_X)), float(np.mean(SQUARE_Y))]
    with pytest.raises(ValueError, match="read-only"):
        center[0] = 100.0
