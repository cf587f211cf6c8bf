"""Fixtures shared by the CI tests."""

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo(tmp_path):
    """A copy of what the workflow rules read (.ci/, tests/, .github/, tox.ini,
    pyproject.toml, docs/ci.md), to break."""
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache")
    for folder in (".ci", "tests", ".github"):
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=ignore)
    (tmp_path / "docs").mkdir()
    for name in ("tox.ini", "pyproject.toml", "docs/ci.md"):
        shutil.copy2(REPO / name, tmp_path / name)
    return tmp_path
