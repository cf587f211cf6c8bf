"""The instruction counts are reproducible, and the gate built on them fails a slower
build and passes an unchanged one. Slow (valgrind, release builds): ``tox -e perf-gate``."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from ladder_bench import instructions

pytestmark = [
    pytest.mark.valgrind,
    pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed"),
]

WORKSPACE = ROOT
CONFIG = WORKSPACE / "pyproject.toml"
SMALL = {"n_polygons": 200, "n_points": 20}


@pytest.mark.parametrize("rung", ["v5_find_all_in_rust", "match_points"])
def test_two_runs_count_the_same_to_a_tenth_of_a_percent(rung):
    first, second = (
        instructions.per_call(sys.executable, CONFIG, rung, None, SMALL)["instructions_per_call"]
        for _ in range(2)
    )
    assert first > 10_000  # a real call, not the difference of two start-ups' noise
    assert abs(second - first) <= 0.001 * first, (first, second)


def test_more_work_counts_more_instructions():
    # The per-call count must follow the call, not the start-up: 10x the points, more work.
    small = instructions.per_call(sys.executable, CONFIG, "v5_find_all_in_rust", 1, SMALL)
    large = instructions.per_call(
        sys.executable, CONFIG, "v5_find_all_in_rust", 1, {"n_polygons": 200, "n_points": 200}
    )
    assert large["instructions_per_call"] > 5 * small["instructions_per_call"]


RUNGS = ["v5_find_all_in_rust", "v7_grid_parallel"]


def compare(tmp_path: Path, *options: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "ladder_bench.compare",
        "HEAD",
        "HEAD",
        "--quick",
        "--rungs",
        ",".join(RUNGS),
        "--workspace",
        str(WORKSPACE),
        "--out",
        str(tmp_path),
        *options,
    ]
    return subprocess.run(command, capture_output=True, text=True)


def significant(out: Path, rung: str) -> list[dict]:
    return json.loads((out / "diff" / f"{rung}.json").read_text())["significant"]


def test_the_gate_and_the_flamegraphs_see_a_slower_build_and_not_an_unchanged_one(tmp_path):
    # gate-test-slowdown (rust_crate/Cargo.toml) adds work to every distance test.
    slower = compare(tmp_path / "slower", "--head-cargo-features", "gate-test-slowdown")
    assert slower.returncode == 1, slower.stdout + slower.stderr
    table = (tmp_path / "slower" / "compare.md").read_text()
    assert "| v5_find_all_in_rust |" in table
    assert "**GREW**" in table
    assert "Gate failed: v5_find_all_in_rust" in slower.stderr
    # v5's differential flamegraph colours the work added to its distance test (or the
    # functions that call it) and nothing that took less time: with shares instead of
    # times per call, every other function would have looked smaller.
    grew = significant(tmp_path / "slower", "v5_find_all_in_rust")
    distance_test = ("black_box", "distance_squared", "is_close", "find_close_polygons")
    assert any(any(name in c["function"] for name in distance_test) for c in grew), grew
    assert all(change["change_seconds"] > 0 for change in grew), grew

    unchanged = compare(tmp_path / "unchanged")
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    assert "GREW" not in (tmp_path / "unchanged" / "compare.md").read_text()
    for rung in RUNGS:
        assert significant(tmp_path / "unchanged", rung) == [], rung
