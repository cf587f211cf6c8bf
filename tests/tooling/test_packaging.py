"""The wheel is the library: no tooling module ships in poly-match's wheel or sdist. The
tooling installs on its own, with the one pip command its docs give."""

import importlib.metadata
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path, PurePosixPath

import fresh_install
import pytest

from conftest import ROOT

TOOLING = {path.stem for path in (ROOT / "ladder-bench" / "ladder_bench").glob("*.py")}
LIBRARY_FILES = {"__init__", "arrays", "checks", "example"}


def library_modules(paths) -> set[str]:
    """The Python modules under poly_match/ among ``paths``."""
    return {
        PurePosixPath(path).stem
        for path in paths
        if "poly_match" in PurePosixPath(path).parts[:-1] and str(path).endswith(".py")
    }


def test_tooling_and_library_share_no_module_name():
    assert {"harness", "pipeline"} <= TOOLING, "the tooling's modules are not where they were"
    assert not (TOOLING - {"__init__"}) & LIBRARY_FILES


def test_the_installed_wheel_holds_the_library_alone():
    files = importlib.metadata.files("poly-match")
    modules = library_modules(str(f) for f in files)
    assert modules, "the installed wheel lists no poly_match modules"
    assert not modules & (TOOLING - {"__init__"}), f"tooling in the wheel: {modules & TOOLING}"
    assert not [f for f in files if "ladder_bench" in str(f) or "ladder_hooks" in str(f)]
    assert all(m.startswith("v") or m in LIBRARY_FILES for m in modules), sorted(modules)


@pytest.mark.skipif(shutil.which("cargo") is None, reason="maturin sdist needs cargo")
def test_the_sdist_holds_the_library_and_no_tooling(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "maturin", "sdist", "--out", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (sdist,) = tmp_path.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    modules = library_modules(names)
    assert {"v1", "v7_grid_parallel", "arrays"} <= modules
    assert not modules & (TOOLING - {"__init__"}), sorted(modules & TOOLING)
    assert not [n for n in names if "ladder_bench" in n or "/ladder_hooks/" in n], names


def test_dask_is_an_optional_extra_not_a_dependency():
    requirements = importlib.metadata.requires("poly-match") or []
    dask = [r for r in requirements if r.startswith(("dask", "distributed"))]
    assert dask, requirements
    assert all(re.search(r"extra\s*==\s*['\"]dask['\"]", r) for r in dask), dask


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    reason = fresh_install.missing_programs()
    if reason:
        pytest.skip(f"the fresh install needs git and cargo: {reason}")
    return fresh_install.venv(tmp_path_factory.getbasetemp())


def test_the_one_pip_command_installs_a_working_ladder_bench(fresh_venv):
    """``pip install "ladder-bench[...] @ git+URL#subdirectory=ladder-bench"`` (the docs'
    command, from a clone's URL) gives a ``ladder-bench`` that runs by its path, without
    the virtualenv activated, and lists its subcommands."""
    program = fresh_venv / "bin" / "ladder-bench"
    completed = fresh_install.run([program, "--help"], env=fresh_install.user_environ())
    commands = re.findall(r"^  (\w+)  ", completed.stdout, re.MULTILINE)
    assert {"bench", "compare", "history", "scale"} <= set(commands), completed.stdout
    # The installed copy, not this checkout's: the URL was all pip was given.
    located = fresh_install.run(
        [fresh_venv / "bin" / "python", "-c", "import ladder_bench; print(ladder_bench.__file__)"],
        env=fresh_install.user_environ(),
        cwd=fresh_venv,
    )
    assert Path(located.stdout.strip()).is_relative_to(fresh_venv), located.stdout
    # Its extras came along: the programs the commands run sit beside it.
    for program in ("py-spy", "asv"):
        assert (fresh_venv / "bin" / program).is_file(), program
