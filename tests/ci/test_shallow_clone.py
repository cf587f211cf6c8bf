""".ci/run in a shallow clone (git clone --depth 1, what actions/checkout gives): the jobs
that check out one commit run; those that read the history are refused in one line,
before any job starts."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HISTORY_JOBS = ("bench", "release", "pages")  # fetch-depth: 0 in the workflow


@pytest.fixture(scope="module")
def shallow(tmp_path_factory):
    """A depth-1 clone of this commit, with the runner of the working tree (the code under
    test) in place of the committed one."""
    clone = tmp_path_factory.mktemp("shallow") / "poly-match"
    subprocess.run(
        ["git", "clone", "--quiet", "--depth", "1", f"file://{REPO}", str(clone)], check=True
    )
    shutil.copy2(REPO / ".ci/runner.py", clone / ".ci/runner.py")
    return clone


def run(clone: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(clone / ".ci/runner.py"), *args],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_clone_is_shallow(shallow):
    shallow_flag = subprocess.run(
        ["git", "rev-parse", "--is-shallow-repository"],
        cwd=shallow,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shallow_flag.stdout.strip() == "true"


def test_the_plan_of_a_shallow_clone_is_listed(shallow):
    listed = run(shallow, "--list")
    assert listed.returncode == 0, listed.stderr
    assert "lint" in listed.stdout
    assert "Traceback" not in listed.stderr


@pytest.mark.parametrize("job", HISTORY_JOBS)
def test_a_job_that_reads_the_history_is_refused_in_one_line(shallow, tmp_path, job):
    refused = run(shallow, "--work", str(tmp_path / "work"), job)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    # The last line, after the workflow rules' verdict: the refusal, whole.
    *_, refusal = refused.stderr.strip().splitlines()
    assert refusal.startswith(".ci/run: this clone is shallow"), refused.stderr
    assert job in refusal.split(" read the history")[0]
    assert "git fetch --unshallow" in refusal
    assert not (tmp_path / "work").exists()  # refused before any job's folder was made
