"""Finding the programs the flamegraphs need: py-spy and perf (recording), and from
crates.io, which pip cannot install, inferno (drawing) and rustfilt (demangling Rust
symbols).

``find`` looks for each beside this interpreter first: pip installs py-spy into a
virtualenv's ``bin/``, which is not on PATH when the tool is run by its path
(``.venv/bin/ladder-bench``); then in the repository's ``.tools/bin``; then on PATH.
inferno and rustfilt, where none of those has them, are installed into ``.tools`` now
with cargo (which building the wheels needs anyway), at a pinned version: a fresh
checkout works, and nothing lands outside it. Not under ``target/``: CI's Rust cache
empties that of everything cargo does not rebuild, so each run would compile them again,
where ``.tools`` can be cached on its own, keyed by these versions. The folder ignores
itself (its ``.gitignore``), so a repository needs no entry for it.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

INFERNO_VERSION = "0.12.8"
RUSTFILT_VERSION = "0.2.2"


class Missing(RuntimeError):
    """A program that is not installed and could not be installed, said in one line."""


def inferno(workspace: Path) -> tuple[str, str]:
    """inferno's diff and flamegraph programs."""
    diff_folded, flamegraph = _cargo_programs(
        workspace, "inferno", INFERNO_VERSION, ("inferno-diff-folded", "inferno-flamegraph")
    )
    return diff_folded, flamegraph


def rustfilt(workspace: Path) -> str:
    """rustfilt, which demangles both of rustc's symbol manglings (legacy and v0)."""
    (program,) = _cargo_programs(workspace, "rustfilt", RUSTFILT_VERSION, ("rustfilt",))
    return program


def find(name: str, workspace: Path | None = None) -> str | None:
    """The program ``name`` beside this interpreter, in ``workspace``'s ``.tools/bin``
    or on PATH (in that order); None if it is in none of them."""
    # Not resolved: a virtualenv's python is a symbolic link out of its bin/, and the
    # programs pip installed are in that bin/, not beside the interpreter it links to.
    folders = [str(Path(sys.executable).parent)]
    if workspace is not None:
        folders.append(str(workspace / ".tools" / "bin"))
    return shutil.which(name, path=os.pathsep.join([*folders, os.environ.get("PATH", "")]))


def _cargo_programs(workspace: Path, crate: str, version: str, names: tuple[str, ...]):
    root = workspace / ".tools"
    found = [find(name, workspace) for name in names]
    if None in found:
        cargo = find("cargo")
        if cargo is None:
            raise Missing(
                f"{crate} is not installed, nor cargo to install it: install Rust "
                f"(https://rustup.rs), or {crate} itself (cargo install {crate})"
            )
        print(f"   {crate} is not installed: cargo install {crate}@{version} into {root}")
        root.mkdir(exist_ok=True)
        (root / ".gitignore").write_text("# cargo install --root here (ladder_bench/tools.py)\n*\n")
        completed = subprocess.run(
            [
                cargo,
                "install",
                "--quiet",
                "--locked",
                "--version",
                version,
                "--root",
                str(root),
                crate,
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        if completed.returncode != 0:
            reason = completed.stderr.strip().splitlines()[-1:] or ["no message"]
            raise Missing(f"cargo install {crate}@{version} failed: {reason[0]}")
        found = [shutil.which(name, path=str(root / "bin")) for name in names]
    return tuple(found)
