"""The harness and the configuration every tool reads."""

import json
import subprocess
import sys

import pytest

import poly_match
from conftest import ROOT
from ladder_bench import config, harness

LADDER = config.load(ROOT / "pyproject.toml")


def test_the_configuration_declares_the_librarys_ladder_and_its_array_api():
    assert LADDER.names == [*poly_match.RUNG_NAMES, "match_points", "Index.match"]
    for name in poly_match.RUNG_NAMES:
        assert LADDER.rung(name).summary() == poly_match.description(poly_match.VERSIONS[name])
    assert LADDER.baseline == "v1"
    assert LADDER.reference in LADDER.names


def test_unknown_rungs_are_refused_with_the_known_ones_named():
    with pytest.raises(config.ConfigError, match=r"'v9'.*v1, v1_5_vectorized"):
        LADDER.select("v1,v9")
    with pytest.raises(config.ConfigError, match="only measured by the scaling sweep"):
        LADDER.select("scipy cKDTree")
    assert [r.name for r in LADDER.select("match_points")] == ["match_points"]


def test_a_pyproject_without_the_table_is_a_clear_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    with pytest.raises(config.ConfigError, match=r"no \[tool.ladder-bench\] table"):
        config.load(tmp_path / "pyproject.toml")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('{ name = "a", call = "m:f" }', r"rung 'a': no 'workload' key; add workload = "),
        (
            '{ name = "a", call = "m:f", workload = "m:w", wokrload = "x" }',
            r"rung 'a': unknown key 'wokrload' \(did you mean 'workload'\?\); rename or remove it",
        ),
    ],
)
def test_a_wrong_rung_entry_is_named(tmp_path, entry, message):
    (tmp_path / "pyproject.toml").write_text(f"[tool.ladder-bench]\nrungs = [{entry}]\n")
    with pytest.raises(config.ConfigError, match=message):
        config.load(tmp_path / "pyproject.toml")


def test_the_child_mode_calls_each_rung_and_reports_its_times():
    request = {
        "config": str(LADDER.path),
        "rungs": ["v5_find_all_in_rust", "match_points"],
        "calls": 3,
        "size": {"n_polygons": 50, "n_points": 5},
    }
    reply = harness.run_child(sys.executable, request)
    for name in request["rungs"]:
        assert reply[name]["status"] == "ok"
        assert len(reply[name]["times"]) == 3
        assert all(t > 0 for t in reply[name]["times"])


def test_the_benchmark_environment_is_one_blas_thread():
    assert harness.bench_environ()["OPENBLAS_NUM_THREADS"] == "1"
    deterministic = harness.bench_environ(deterministic=True)
    assert deterministic["PYTHONHASHSEED"] == "0"
    assert deterministic["RAYON_NUM_THREADS"] == "1"


@pytest.mark.parametrize("rung", ["v5_find_all_in_rust", "match_points"])
def test_the_measure_command_times_any_declared_rung(rung):
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "ladder_bench.measure",
            rung,
            "--iterations",
            "3",
            "--config",
            str(ROOT / "pyproject.toml"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"Measuring `{rung}`" in completed.stdout
    assert "per call" in completed.stdout


def test_a_ready_child_says_so_before_its_calls_and_still_replies():
    """The profiler attaches on READY: it must come after the set-up, before the calls."""
    request = {
        "config": str(LADDER.path),
        "rungs": ["match_points"],
        "calls": 2,
        "ready": True,
        "size": {"n_polygons": 50, "n_points": 5},
    }
    completed = subprocess.run(
        harness.child_command(sys.executable, request), capture_output=True, text=True, check=True
    )
    first, *_, last = completed.stdout.splitlines()
    assert first == harness.READY
    assert len(json.loads(last)["match_points"]["times"]) == 2
