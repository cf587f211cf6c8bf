"""Files named in the repository's configuration and CI scripts exist: a comment that
points a reader at a file that was renamed or never written sends them nowhere."""

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Paths under the repository's own folders, with a file extension, or a .ci/ script.
NAMED = re.compile(
    r"(?<![\w./-])((?:tests|docs|\.ci|\.github|\.cargo|rust_crate|python_pkg|ladder-bench"
    r"|ladder_hooks)/[\w./-]*\w)"
)


def configuration_files():
    tracked = [
        ".gitattributes",
        "tox.ini",
        "pyproject.toml",
        "rust-toolchain.toml",
        ".ci",
        ".github",
    ]
    listed = subprocess.run(
        ["git", "ls-files", "-z", *tracked], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    return [REPO / name for name in listed.split("\0") if name]


def test_every_file_named_in_configuration_and_ci_exists():
    missing = []
    for path in configuration_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for named in NAMED.findall(line):
                named = named.rstrip(".")
                if any(ch in named for ch in "*{}$<>") or named.endswith("/"):
                    continue  # a pattern or a placeholder, not a file
                if not (REPO / named).exists():
                    missing.append(f"{path.relative_to(REPO)}:{number}: {named}")
    assert missing == []
