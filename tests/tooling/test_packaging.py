"""The wheel is the library: no tooling module ships in poly-match's wheel or sdist."""

import importlib.metadata
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import PurePosixPath

import pytest

from conftest import ROOT

TOOLING = {
    path.stem for path in (ROOT / "python_pkg" / "ladder_bench" / "ladder_bench").glob("*.py")
}
LIBRARY_FILES = {"__init__", "arrays", "example"}


def library_modules(paths) -> set[str]:
    """The Python modules under poly_match/ among ``paths``."""
    return {
        PurePosixPath(path).stem
        for path in paths
        if "poly_match" in PurePosixPath(path).parts[:-1] and str(path).endswith(".py")
    }


def test_tooling_and_library_share_no_module_name():
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
    subprocess.run([sys.executable, "-m", "maturin", "sdist", "--out", str(tmp_path)],
                   cwd=ROOT, check=True, capture_output=True)  # fmt: skip
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
