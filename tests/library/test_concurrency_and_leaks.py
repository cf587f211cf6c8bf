"""The native rungs under threads and many calls: same answers, GIL released where the
work is long, no leaked memory or references."""

import gc
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
import pytest

import poly_match
from conftest import NATIVE_RUNGS

# The full check is 100,000 calls per rung (POLY_MATCH_LEAK_CALLS=100000); the suite runs fewer.
LEAK_CALLS = int(os.environ.get("POLY_MATCH_LEAK_CALLS", "5000"))
RSS_GROWTH_LIMIT = 5 * 1024 * 1024


def positions(result, polygons):
    """A result as plain values: each matched point and the index of its polygon."""
    index = {id(p): k for k, p in enumerate(polygons)}
    return [(tuple(point), index[id(polygon)]) for point, polygon in result]


@pytest.mark.parametrize("name", NATIVE_RUNGS)
def test_eight_threads_get_the_single_thread_answer(name):
    rung = poly_match.VERSIONS[name]
    polygons, points = rung.generate_example()
    expected = positions(rung.main(polygons, points), polygons)

    stop = threading.Event()

    def mutate_unrelated_arrays():
        scratch = np.zeros((200, 2))
        while not stop.is_set():
            scratch += 1.0
            scratch[::3] = np.random.default_rng().random((67, 2))

    mutator = threading.Thread(target=mutate_unrelated_arrays)
    mutator.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(
                pool.map(lambda _: positions(rung.main(polygons, points), polygons), range(32))
            )
    finally:
        stop.set()
        mutator.join()
    assert all(answer == expected for answer in answers)


@pytest.mark.parametrize(
    ("name", "max_dist"),
    [
        # Nothing matches, so the whole call is the search.
        ("v5_find_all_in_rust", 1e-9),
        ("v6_convert_once", 1e-9),
        # The grid answers a radius wider than the example at once (every polygon is
        # close, the smallest area comes first), but keeps one cell for a max_dist below
        # 4e-289 (Grid::SMALLEST_MAX_DIST in the core): every polygon checked, none close.
        ("v7_grid_parallel", 1e-300),
        ("v8_lean_boundary", 1e-300),
        ("array API", 1e-300),
        ("Index.match", 1e-300),
    ],
)
def test_long_native_calls_release_the_gil(name, max_dist):
    # A Python thread can only run while the main thread's Rust call has let go of the
    # GIL. It stamps the time as it runs; a stamp from the middle of the call proves
    # the GIL was free then. (Counting iterations is not enough: a thread waiting for
    # the GIL gets it as soon as the call returns, before the count can be read.)
    call = long_call(name, max_dist)
    stamps = []
    stop = threading.Event()

    def stamp():
        iteration = 0
        while not stop.is_set():
            iteration += 1
            if iteration % 1000 == 0:
                stamps.append(time.perf_counter())

    stamper = threading.Thread(target=stamp)
    stamper.start()
    time.sleep(0.01)
    start = time.perf_counter()
    try:
        call()
    finally:  # a failing call must not leave the thread running (pytest would wait for it)
        end = time.perf_counter()
        stop.set()
        stamper.join()

    took = end - start
    assert took > 0.02, "the workload is too small to tell"
    middle = [t for t in stamps if start + 0.25 * took < t < end - 0.25 * took]
    assert middle, f"no other thread ran during the middle of a {took:.3f}s call"


def long_call(name, max_dist):
    rung = poly_match.VERSIONS.get(name, poly_match.VERSIONS["v4_avoid_allocs"])
    polygons, points = rung.generate_example(20_000, 5_000)
    if name in ("array API", "Index.match"):
        centers = np.array([p.center for p in polygons])
        areas = np.array([p.area() for p in polygons])
        if name == "Index.match":
            return partial(poly_match.Index(centers, areas, max_dist).match, points)
        return lambda: poly_match.match_points(centers, areas, points, max_dist)
    search = getattr(rung, "match_points", None) or rung.find_all_close_polygons
    return lambda: search(polygons, points, max_dist)


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def native_call(name, polygons, points):
    """The rung's Rust entry point, called with ``points``: all of them or the first."""
    rung = poly_match.VERSIONS[name]
    for all_points in ("match_points", "find_all_close_polygons"):
        if hasattr(rung, all_points):
            return lambda: getattr(rung, all_points)(polygons, points, 10.0)
    return lambda: rung.find_close_polygons(polygons, points[0], 10.0)


def failing_call(name, polygons):
    return native_call(name, polygons, np.array([[np.nan, 0.0]]))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
@pytest.mark.parametrize("name", NATIVE_RUNGS)
def test_many_calls_leak_neither_memory_nor_references(name):
    rung = poly_match.VERSIONS[name]
    polygons, points = rung.generate_example(n_polygons=50, n_points=20, extent=25.0)
    call, fail = native_call(name, polygons, points), failing_call(name, polygons)
    for _ in range(200):  # warm up allocator pools and caches
        call()
    gc.collect()
    references = [sys.getrefcount(p) for p in polygons] + [sys.getrefcount(points)]
    rss_before = rss_bytes()

    for i in range(LEAK_CALLS):
        call()
        if i % 10 == 0:
            with pytest.raises(ValueError, match="finite"):
                fail()
    gc.collect()

    growth = rss_bytes() - rss_before
    assert growth < RSS_GROWTH_LIMIT, (
        f"RSS grew by {growth / 2**20:.1f} MiB over {LEAK_CALLS} calls"
    )
    assert [sys.getrefcount(p) for p in polygons] + [sys.getrefcount(points)] == references


@pytest.mark.parametrize("name", poly_match.RUNG_NAMES)
def test_generator_and_rungs_are_reproducible(name):
    rung = poly_match.VERSIONS[name]
    first_polygons, first_points = rung.generate_example(300, 50, seed=12)
    second_polygons, second_points = rung.generate_example(300, 50, seed=12)
    np.testing.assert_array_equal(first_points, second_points)
    for a, b in zip(first_polygons, second_polygons, strict=True):
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.y, b.y)
    assert positions(rung.main(first_polygons, first_points), first_polygons) == positions(
        rung.main(second_polygons, second_points), second_polygons
    )
    assert positions(rung.main(first_polygons, first_points), first_polygons) == positions(
        rung.main(first_polygons, first_points), first_polygons
    )
