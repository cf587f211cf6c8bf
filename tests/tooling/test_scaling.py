"""The scaling sweep's peers (declared in pyproject.toml) against the oracle, this
project's agreement rule, and the sweep itself on tiny sizes."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

import poly_match
from conftest import ROOT, as_arrays, as_pairs, assert_matches_oracle
from ladder_bench import config

v1 = poly_match.VERSIONS["v1"]
LADDER = config.load(ROOT / "pyproject.toml")
count_agreement = config.resolve("ladder_hooks/ladder.py:count_agreement", ROOT)
pairs_to_indices = config.resolve("ladder_hooks/ladder.py:pairs_to_indices", ROOT)


@pytest.fixture(params=[peer.name for peer in LADDER.peers])
def peer(request):
    return LADDER.rung(request.param).resolve_call()


@pytest.mark.parametrize(
    ("n_polygons", "n_points", "seed", "extent", "max_dist"),
    [
        (1000, 100, 6, None, 10.0),  # the default example
        (40, 60, 1, 200.0, 10.0),  # sparse: many points match nothing
        (0, 10, 2, 100.0, 10.0),  # no polygons
        (3000, 500, 3, None, 3.0),
        (500, 200, 4, None, 0.0),  # nothing is closer than 0
        (200, 50, 5, None, 1e300),  # every polygon is close
        (200, 50, 7, None, math.inf),
        (300, 50, 8, None, 5e-324),  # nothing is closer than the smallest subnormal
    ],
)
def test_peers_match_the_oracle(peer, n_polygons, n_points, seed, extent, max_dist):
    polygons, points = v1.generate_example(n_polygons, n_points, seed, extent)
    centers, areas = as_arrays(polygons)
    indices = peer(centers, areas, points, max_dist)
    assert indices.shape == (n_points,)
    assert_matches_oracle(as_pairs(indices, polygons, points), polygons, points, max_dist)


def test_a_center_exactly_max_dist_away_is_not_close(peer):
    # 6-8-10: the distance is exactly 10.0 in floats; the trees would count it at radius 10.
    centers = np.array([[6.0, 8.0], [0.0, 9.0]])
    areas = np.array([1.0, 2.0])
    points = np.array([[0.0, 0.0], [0.0, 20.0]])
    assert peer(centers, areas, points, 10.0).tolist() == [1, -1]


def test_ties_go_to_the_first_polygon(peer):
    centers = np.array([[5.0, 0.0], [0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    areas = np.array([2.0, 1.0, 1.0, 3.0])
    assert peer(centers, areas, np.array([[0.5, 0.0]]), 10.0).tolist() == [1]


@pytest.mark.parametrize("far_outliers", [1, 3])
def test_peers_match_the_oracle_with_far_outliers(peer, far_outliers):
    # The sweep's variant: the last polygons at (1e12, 1e12), a grid's bounding box
    # stretched a hundred billion times.
    polygons, points = v1.generate_example(3000, 400, 9, far_outliers=far_outliers)
    centers, areas = as_arrays(polygons)
    indices = peer(centers, areas, points, 10.0)
    assert_matches_oracle(as_pairs(indices, polygons, points), polygons, points, 10.0)


def test_far_centers_are_found_where_they_are(peer):
    centers = np.array([[0.0, 0.0], [1e12, 1e12], [5.0, 0.0]])
    areas = np.array([1.0, 1.0, 2.0])
    points = np.array([[1e12 + 3.0, 1e12 - 4.5], [3.0, 0.0], [1e12, 0.0]])
    assert peer(centers, areas, points, 10.0).tolist() == [1, 0, -1]


def test_a_subnormal_max_dist_finds_only_centers_on_the_point(peer):
    # 5e-324 squared is 0: a squared-distance test would find nothing at all.
    centers = np.array([[1.0, 2.0], [0.0, 0.0], [1.0, 2.0]])
    areas = np.array([2.0, 1.0, 2.0])
    points = np.array([[1.0, 2.0], [0.0, 0.0], [3.0, 3.0]])
    assert peer(centers, areas, points, 5e-324).tolist() == [0, 1, -1]


def test_ties_go_to_the_first_polygon_whichever_cell_it_is_in(peer):
    # In cells of side 10, the point's 3 x 3 neighbourhood holds polygon 1's cell first
    # and polygon 0's last.
    centers = np.array([[21.0, 21.0], [9.0, 9.0], [15.0, 9.5]])
    assert peer(centers, np.ones(3), np.array([[15.0, 15.0]]), 10.0).tolist() == [0]


# The numba peers' own kernels, also where squares of distances overflow or underflow
# (scipy's k-d tree refuses such coordinates, GEOS's distances overflow).
@pytest.fixture(params=["numba brute force", "numba grid"])
def numba_peer(request):
    return LADDER.rung(request.param).resolve_call()


def test_numba_peers_at_the_ends_of_the_float_range(numba_peer):
    # (1e300, -1e300) is too far out for a grid's cell coordinates; no square fits a float.
    centers = np.array([[0.0, 0.0], [1e300, -1e300], [1e300, -1e300], [np.inf, 0.0], [np.nan, 0.0]])
    areas = np.array([1.0, 1.0, 1.0, 0.5, 0.5])
    points = np.array([[1e300, -1e300], [-1e300, 1e300], [3.0, 0.0], [np.nan, 0.0], [0.0, 5e-324]])
    assert numba_peer(centers, areas, points, 10.0).tolist() == [1, -1, 0, -1, 0]
    assert numba_peer(centers, areas, points, 5e-324).tolist() == [1, -1, -1, -1, -1]
    # Every finite center is closer than infinity, however far; infinity and NaN are not.
    assert numba_peer(centers, areas, points, math.inf).tolist() == [0, 0, 0, -1, 0]


def test_agreement_tells_rounding_ties_from_real_differences():
    centers = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [0.0, 10.0]])
    areas = np.array([1.0, 1.0 + 1e-12, 5.0, 1.0])
    points = np.zeros((1, 2))
    reference = np.array([0])
    counts = count_agreement(np.array([1]), reference, centers, areas, np.zeros(4), points, 10.0)
    assert counts == {"same": 0, "ties": 1, "different": 0}
    counts = count_agreement(np.array([2]), reference, centers, areas, np.zeros(4), points, 10.0)
    assert counts == {"same": 0, "ties": 0, "different": 1}
    # Nothing found vs a center on the boundary: rounding's call. Vs one well inside: wrong.
    assert (
        count_agreement(np.array([-1]), np.array([3]), centers, areas, np.zeros(4), points, 10.0)[
            "ties"
        ]
        == 1
    )
    assert (
        count_agreement(np.array([-1]), reference, centers, areas, np.zeros(4), points, 10.0)[
            "different"
        ]
        == 1
    )


def test_rung_answers_become_indices():
    polygons, points = v1.generate_example(20, 30, seed=3, extent=80.0)
    indices = pairs_to_indices(v1.main(polygons, points), polygons, points)
    assert_matches_oracle(as_pairs(indices, polygons, points), polygons, points, v1.MAX_DIST)
    assert (indices == -1).any()
    assert (indices >= 0).any()


@pytest.mark.skipif(sys.platform != "linux", reason="peak memory is read from /proc")
def test_the_sweep_writes_its_files_and_skips_what_exceeds_the_budget(tmp_path):
    approaches = ["v1", "v7_grid_parallel", "match_points", "scipy cKDTree"]
    command = [
        sys.executable,
        "-m",
        "ladder_bench.scaling",
        "--sizes",
        "n_polygons=200,n_points=20;n_polygons=2000,n_points=200",
        "--approaches",
        ",".join(approaches),
        "--budget",
        "0.05",
        "--min-time",
        "0.01",
        "--out",
        str(tmp_path),
        "--workspace",
        str(ROOT),
    ]
    completed = subprocess.run(command, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result = json.loads((tmp_path / "scaling.json").read_text())
    status = {(r["approach"], r["size"]["n_polygons"]): r["status"] for r in result["rows"]}
    # v1 takes about 10 ms at 200 x 20, so 100 times the work is projected past 0.05 s.
    assert status[("v1", 200)] == "measured"
    assert status[("v1", 2000)] == "skipped"
    assert status[("v7_grid_parallel", 2000)] == "measured"
    for row in result["rows"]:
        if row["status"] == "measured":
            assert row["median_s"] > 0
            assert row["runs"] >= 3
            assert row["peak_rss_mib"] > row["peak_extra_mib"] >= 0
            assert row["agreement"]["different"] == 0, row
            assert row["agreement"]["reference"] == "match_points"
    markdown = (tmp_path / "scaling.md").read_text()
    assert "| v1 | " in markdown
    assert "skipped" in markdown
    assert (tmp_path / "scaling.png").read_bytes().startswith(b"\x89PNG")
    assert 'id="scaling"' in (tmp_path / "index.html").read_text()
