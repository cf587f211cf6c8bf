"""``python -m ladder_hooks.beside_original``: this v1 timed beside a checkout of the
original's. A stand-in checkout takes the original's place here (its example and its
``main``, with one wrong pick where a test wants the answers to differ)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

STAND_IN = """
from poly_match import v1


def generate_example():
    return v1.generate_example()


def main(polygons, points):
    pairs = v1.main(polygons, points)
    if WRONG:
        pairs[3] = (pairs[3][0], polygons[-1])
    return pairs
"""


def beside(checkout: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "ladder_hooks.beside_original", str(checkout), *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def stand_in(tmp_path: Path, wrong: bool) -> Path:
    (tmp_path / "poly_match_v1.py").write_text(f"WRONG = {wrong}\n{STAND_IN}")
    return tmp_path


def test_times_both_and_prints_the_ratio(tmp_path):
    result = beside(stand_in(tmp_path, wrong=False), "--rounds", "2", "--calls", "1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("the original's v1")
    assert "ms per call" in lines[0]
    assert lines[1].startswith("this v1")
    assert "over 2 rounds" in lines[1]
    assert "times the original's time" in lines[2]


def test_different_answers_are_an_error_before_any_timing(tmp_path):
    result = beside(stand_in(tmp_path, wrong=True), "--rounds", "50")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == "beside_original: the two v1s chose different polygons"


def test_a_folder_without_the_original_is_named(tmp_path):
    result = beside(tmp_path)
    assert result.returncode == 1
    assert str(tmp_path / "poly_match_v1.py") in result.stderr
    assert "ohadravid/poly-match" in result.stderr
