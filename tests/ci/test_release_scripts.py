"""The release job's own scripts: the tag must be on main, and the GitHub Release carries
every distribution (created once, its files replaced on a re-run)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
AUTHOR = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]


def git(cwd, *args):
    command = ["git", *AUTHOR, "-C", str(cwd), *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def origin(tmp_path):
    """A repository with the script, two commits on main and one on a branch beside it."""
    work = tmp_path / "work"
    (work / ".ci").mkdir(parents=True)
    shutil.copy(REPO / ".ci/tag-on-main", work / ".ci")
    git(work, "init", "--quiet", "--initial-branch", "main")
    git(work, "add", ".")
    git(work, "commit", "--quiet", "-m", "one")
    git(work, "commit", "--quiet", "--allow-empty", "-m", "two")
    git(work, "switch", "--quiet", "-c", "feature")
    git(work, "commit", "--quiet", "--allow-empty", "-m", "three")
    git(work, "switch", "--quiet", "main")
    return work


def checkout(origin, destination, ref, *clone_options):
    """What actions/checkout does for a tag: a clone of ``origin``, ``ref`` checked out."""
    url = f"file://{origin}"
    subprocess.run(["git", "clone", "--quiet", *clone_options, url, str(destination)], check=True)
    git(destination, "checkout", "--quiet", ref)
    return subprocess.run(
        [str(destination / ".ci/tag-on-main")], capture_output=True, text=True, cwd=destination
    )


def test_a_tag_on_main_passes(origin, tmp_path):
    result = checkout(origin, tmp_path / "a", "main~1")
    assert result.returncode == 0, result.stderr
    assert "is on main" in result.stdout


def test_a_tag_beside_main_fails_naming_the_commit(origin, tmp_path):
    result = checkout(origin, tmp_path / "b", "origin/feature")
    assert result.returncode == 1
    assert git(origin, "rev-parse", "--short", "feature") in result.stderr
    assert "not on main" in result.stderr


def test_a_shallow_checkout_is_told_what_to_change(origin, tmp_path):
    result = checkout(origin, tmp_path / "c", "HEAD", "--depth", "1", "--no-local")
    assert result.returncode == 2
    assert "fetch-depth: 0" in result.stderr


@pytest.fixture
def dist(tmp_path):
    folder = tmp_path / "dist"
    folder.mkdir()
    for name in ("poly_match-1.2.0-cp313-cp313-win_amd64.whl", "poly_match-1.2.0.tar.gz"):
        (folder / name).touch()
    return folder


def github_release(dist, tmp_path, *, on_github, release_exists=False):
    """Run the script with a stand-in ``gh`` that logs its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "gh.log"
    view_status = 0 if release_exists else 1
    (bin_dir / "gh").write_text(
        f'#!/usr/bin/env bash\necho "$*" >>"{log}"\n'
        f'if [ "$1 $2" = "release view" ]; then exit {view_status}; fi\n'
    )
    (bin_dir / "gh").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("GITHUB_ACTIONS", None)
    if on_github:
        env["GITHUB_ACTIONS"] = "true"
    command = [str(REPO / ".ci/github-release"), "v1.2.0", str(dist)]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def test_github_release_creates_the_release_with_every_file(dist, tmp_path):
    result, calls = github_release(dist, tmp_path, on_github=True)
    assert result.returncode == 0, result.stderr
    create = [call for call in calls if call.startswith("release create v1.2.0")]
    assert len(create) == 1
    assert "--verify-tag" in create[0]
    for path in dist.iterdir():
        assert str(path) in create[0]


def test_github_release_replaces_the_files_on_a_rerun(dist, tmp_path):
    result, calls = github_release(dist, tmp_path, on_github=True, release_exists=True)
    assert result.returncode == 0, result.stderr
    assert not any(call.startswith("release create") for call in calls)
    (upload,) = [call for call in calls if call.startswith("release upload v1.2.0")]
    assert "--clobber" in upload


def test_github_release_off_github_only_says_what_it_would_do(dist, tmp_path):
    result, calls = github_release(dist, tmp_path, on_github=False)
    assert result.returncode == 0
    assert calls == []
    assert "poly_match-1.2.0.tar.gz" in result.stdout


def test_github_release_refuses_an_empty_folder(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result, calls = github_release(empty, tmp_path, on_github=True)
    assert result.returncode == 1
    assert calls == []
    assert "no distributions" in result.stderr
