"""tox builds the wheel with the maturin CI pins, in every packaging env."""

import configparser
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_packaging_env_builds_with_the_pinned_maturin():
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(REPO / "tox.ini")
    assert "PIP_CONSTRAINT = {toxinidir}/.ci/requirements.txt" in tox["pkgenv"]["set_env"]
    packaging_envs = [name for name in tox.sections() if name.startswith("testenv:.pkg")]
    assert packaging_envs
    for name in packaging_envs:
        set_env = tox[name].get("set_env")
        # An env of its own replaces [pkgenv]'s set_env unless it takes it in.
        assert set_env is None or "{[pkgenv]set_env}" in set_env, name
