"""The scripts of .ci/ on their own: line ends, the release check, the gate, the pins."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / ".ci/requirements.txt"


def tracked(*patterns):
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", *patterns], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    return [name for name in listed.split("\0") if name]


def test_shell_scripts_are_lf_and_stay_lf_on_windows():
    """A CRLF copy (Git for Windows' default core.autocrlf) fails at `bash\\r`."""
    scripts = tracked(".ci/*", "*.sh")
    assert ".ci/run" in scripts
    attributes = subprocess.run(
        ["git", "check-attr", "eol", "--", *scripts],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for script in scripts:
        assert b"\r" not in (REPO / script).read_bytes(), f"{script} has CR line ends"
        assert f"{script}: eol: lf" in attributes, f"{script} is not marked eol=lf"


def test_scripts_are_executable_in_the_index():
    """The workflow calls them as `.ci/x`: without the bit a Linux runner cannot."""
    staged = subprocess.run(
        ["git", "ls-files", "-s", "--", ".ci/*"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in staged.splitlines():
        mode, _, _, path = line.split(maxsplit=3)
        if (REPO / path).read_bytes().startswith(b"#!"):
            assert mode == "100755", f"{path} is not executable: git update-index --chmod=+x"


@pytest.fixture
def version_repo(tmp_path):
    """A copy of the script and the two manifests it reads, Cargo.toml at 1.2.0."""
    (tmp_path / ".ci").mkdir()
    (tmp_path / "rust_crate").mkdir()
    shutil.copy(REPO / ".ci/release-version", tmp_path / ".ci")
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    cargo = (REPO / "rust_crate/Cargo.toml").read_text()
    cargo = re.sub(r'(?m)^version = ".*"$', 'version = "1.2.0"', cargo, count=1)
    (tmp_path / "rust_crate/Cargo.toml").write_text(cargo)

    def run(*args, env_ref=""):
        return subprocess.run(
            [sys.executable, str(tmp_path / ".ci/release-version"), *args],
            capture_output=True,
            text=True,
            env={**os.environ, "GITHUB_REF": env_ref},
        )

    return tmp_path, run


def test_release_tag_must_be_the_cargo_version(version_repo):
    _, run = version_repo
    assert run("refs/tags/v1.2.0").returncode == 0
    assert run("v1.2.0").returncode == 0
    assert run(env_ref="refs/tags/v1.2.0").returncode == 0
    wrong = run("refs/tags/v1.3.0")
    assert wrong.returncode != 0
    assert "v1.3.0" in wrong.stderr
    assert "1.2.0" in wrong.stderr
    assert run(env_ref="refs/tags/v0.1.0").returncode != 0


def test_release_version_ignores_what_is_not_a_release_tag(version_repo):
    _, run = version_repo
    for ref in ("refs/heads/main", "refs/heads/v2-branch", "refs/pull/7/merge", ""):
        assert run(ref).returncode == 0, ref


def test_release_version_checks_the_files_to_upload(version_repo, tmp_path):
    _, run = version_repo
    dist = tmp_path / "dist"
    dist.mkdir()
    assert run("v1.2.0", str(dist)).returncode != 0, "an empty dist passed"
    (dist / "poly_match-1.2.0-cp313-cp313-win_amd64.whl").touch()
    (dist / "poly_match-1.2.0.tar.gz").touch()
    assert run("v1.2.0", str(dist)).returncode == 0
    (dist / "poly_match-0.1.0-cp310-cp310-manylinux_2_17_x86_64.whl").touch()
    stale = run("v1.2.0", str(dist))
    assert stale.returncode != 0
    assert "poly_match-0.1.0-cp310" in stale.stderr


@pytest.mark.parametrize(
    ("results", "green"),
    [
        (["success", "success"], True),
        (["success", "failure"], False),
        (["success", "skipped"], False),
        (["cancelled", "success"], False),
        ([], False),
    ],
)
def test_all_green_passes_only_when_every_job_succeeded(results, green):
    needs = {f"job{k}": {"result": result} for k, result in enumerate(results)}
    gate = subprocess.run(
        [sys.executable, str(REPO / ".ci/all-green")],
        env={**os.environ, "NEEDS_JSON": json.dumps(needs)},
        capture_output=True,
    )
    assert (gate.returncode == 0) == green


def pinned():
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{line}: every tool is pinned with =="
            pins[name.lower()] = version
    return pins


def test_every_pip_install_of_ci_uses_the_pins():
    """A tool installed at whatever version is newest can turn CI red with no change here."""
    pins = pinned()
    for script in sorted(p for p in (REPO / ".ci").iterdir() if p.is_file()):
        for line in script.read_text().replace("\\\n", " ").splitlines():
            if not re.search(r"\bpip install\b", line) or line.lstrip().startswith("#"):
                continue
            if "poly-match" in line or "--group" in line:
                continue  # the wheel under test and the library's test dependencies
            assert "requirements.txt" in line, f"{script.name}: unpinned: {line.strip()}"
            # The words up to the command's end (`; then`, `||`, `&&`, a pipe, `)`, `2>&1`).
            words = re.split(r"[;|&)]|\s\d*>", line.split("requirements.txt", 1)[1])[0].split()
            for name in (w for w in words if not w.startswith(("-", "\\", '"'))):
                assert name.lower() in pins, f"{script.name}: {name} has no pin"


def test_tox_lint_uses_the_pins():
    tox = (REPO / "tox.ini").read_text()
    lint = tox.split("[testenv:lint]", 1)[1].split("\n[", 1)[0]
    assert "-c {toxinidir}/.ci/requirements.txt" in lint
    for name in ("ruff", "import-linter"):
        assert name in pinned()


def test_pinned_prints_the_pinned_version(tmp_path):
    output = tmp_path / "output"
    result = subprocess.run(
        [str(REPO / ".ci/pinned"), "maturin"],
        capture_output=True,
        text=True,
        env={**os.environ, "GITHUB_OUTPUT": str(output)},
        check=True,
    )
    assert result.stdout.strip() == pinned()["maturin"]
    assert output.read_text() == f"maturin={pinned()['maturin']}\n"
    assert subprocess.run([str(REPO / ".ci/pinned"), "no-such-tool"]).returncode != 0


def test_dependabot_updates_the_pins():
    import yaml

    config = yaml.safe_load((REPO / ".github/dependabot.yml").read_text())
    pip = [u for u in config["updates"] if u["package-ecosystem"] == "pip"]
    assert any("/.ci" in u.get("directories", [u.get("directory")]) for u in pip)


def test_each_equivalent_mutant_is_excluded_with_its_reason():
    """.cargo/mutants.toml: every file of the pure-Rust core and nothing of the PyO3 layer,
    and a comment saying why before each exclusion, which names a file, line and column
    (so `.ci/mutants` notices when the code moves)."""
    tomllib = pytest.importorskip("tomllib")
    text = (REPO / ".cargo/mutants.toml").read_text()
    examined = {
        path.relative_to(REPO)
        for glob in tomllib.loads(text)["examine_globs"]
        for path in REPO.glob(glob)
    }
    core = {
        path.relative_to(REPO)
        for path in (REPO / "rust_crate/src").rglob("*.rs")
        if "python" not in path.parts and path.name != "lib.rs"
    }
    assert examined == core
    lines = text.splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("    '")]
    assert rules
    for index in rules:
        assert lines[index - 1].strip().startswith("#"), lines[index]
        assert re.match(r"^    '[a-z_]+\\\.rs:\d+:(\d+|\(\d+(\|\d+)*\)): replace ", lines[index])
