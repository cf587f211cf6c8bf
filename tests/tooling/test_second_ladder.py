"""The pipeline is not specific to poly_match: its quick form, end to end, on a second
ladder (tests/tooling/second_ladder: a path's length, a Python loop and numpy)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ladder_bench import config, harness, tools

ROOT = Path(__file__).resolve().parents[2]
SECOND = Path(__file__).resolve().parent / "second_ladder"


@pytest.fixture(scope="module")
def second_profiles(tmp_path_factory):
    if sys.platform == "darwin":
        pytest.skip("py-spy can only sample other processes as root on macOS")
    out = tmp_path_factory.mktemp("second")
    command = [
        sys.executable,
        "-m",
        "ladder_bench.pipeline",
        "--quick",
        "--workspace",
        str(SECOND),
        "--out",
        str(out),
    ]
    # The second ladder has no cargo target folder of its own: it finds this repository's
    # inferno and rustfilt on PATH rather than installing a second copy of each.
    tools.inferno(ROOT), tools.rustfilt(ROOT)
    env = {
        **os.environ,
        "PATH": f"{ROOT / '.tools' / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    completed = subprocess.run(command, capture_output=True, text=True, env=env)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return out


def test_its_table_has_both_rungs_and_a_speedup(second_profiles):
    rows = [
        line
        for line in (second_profiles / "timings.md").read_text().splitlines()
        if line.startswith("| ")
    ]
    assert rows[0].endswith("| speedup vs loop |")
    cells = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[1:]]
    assert [row[0] for row in cells] == ["loop", "vectorized"]
    # Descriptions come from the functions' modules when the configuration gives none.
    assert cells[0][1].startswith("A second, tiny ladder")
    # The speedup, then its spread: "21.7x (21.3-22.8)" with an en dash; the baseline's 1.0x.
    assert re.fullmatch(r"1\.0x \([\d.]+\u2013[\d.]+\)", cells[0][4]), cells[0][4]
    spread = re.fullmatch(r"([\d.,]+)x \(([\d.,]+)\u2013([\d.,]+)\)", cells[1][4])
    speedup, low, high = spread.groups()
    speedup, low, high = (float(text.replace(",", "")) for text in (speedup, low, high))
    assert 1 < low <= speedup <= high


def test_its_flamegraphs_show_its_own_functions(second_profiles):
    for rung in ("loop", "vectorized"):
        assert (second_profiles / "flamegraphs" / f"{rung}.svg").is_file()
        folded = (second_profiles / "flamegraphs" / f"{rung}.folded").read_text()
        assert re.search(rf"\b{rung} \(.*path_length\.py", folded), folded[:500]
        assert "poly_match" not in folded


def test_its_index_page_links_its_own_files(second_profiles):
    page = (second_profiles / "index.html").read_text()
    assert re.findall(r'<h2 id="([^"]+)"', page) == [
        "timings",
        "layers",
        "flamegraphs",
        "environment",
    ]
    for target in re.findall(r'(?:href|data)="(?!#|data:)([^"]+)"', page):
        assert (second_profiles / target).is_file(), target
    timings = json.loads((second_profiles / "timings.json").read_text())
    assert timings["environment"]["distribution"] == "not declared"
    assert timings["size"] == {"n_vertices": 2000}  # the quick size: the run was --quick
    assert timings["environment"]["build"]["verdict"].startswith("not declared")


def test_a_declared_rung_the_library_lacks_is_reported_missing_not_crashed(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        (SECOND / "pyproject.toml")
        .read_text()
        .replace("path_length.py:vectorized", "path_length.py:no_such_function")
        .replace("path_length.py", str(SECOND / "path_length.py"))
    )
    ladder = config.load(tmp_path / "pyproject.toml")
    reply = harness.run_child(
        sys.executable,
        {
            "config": str(ladder.path),
            "rungs": ["loop", "vectorized"],
            "calls": 2,
            "size": {"n_vertices": 10},
        },
    )
    assert reply["loop"]["status"] == "ok"
    assert len(reply["loop"]["times"]) == 2
    assert reply["vectorized"]["status"] == "missing"
