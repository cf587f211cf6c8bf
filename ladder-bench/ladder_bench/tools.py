"""The programs from crates.io that the flamegraphs need and pip cannot install: inferno
(drawing) and rustfilt (demangling Rust symbols).

Each is looked for in the repository's ``.tools/bin``, then on PATH, else installed into
``.tools`` now with cargo (which building the wheels needs anyway), at a pinned version: a
fresh checkout works, and nothing lands outside it. Not under ``target/``: CI's Rust cache
empties that of everything cargo does not rebuild, so each run would compile them again,
where ``.tools`` can be cached on its own, keyed by these versions. The folder ignores
itself (its ``.gitignore``), so a repository needs no entry for it.
"""

import os
import shutil
import subprocess
from pathlib import Path

INFERNO_VERSION = "0.12.8"
RUSTFILT_VERSION = "0.2.2"


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


def _cargo_programs(workspace: Path, crate: str, version: str, names: tuple[str, ...]):
    root = workspace / ".tools"
    search = os.pathsep.join([str(root / "bin"), os.environ.get("PATH", "")])
    found = [shutil.which(name, path=search) for name in names]
    if None in found:
        print(f"   {crate} is not installed: cargo install {crate}@{version} into {root}")
        root.mkdir(exist_ok=True)
        (root / ".gitignore").write_text("# cargo install --root here (ladder_bench/tools.py)\n*\n")
        subprocess.run(
            ["cargo", "install", "--quiet", "--locked", "--version", version,
             "--root", str(root), crate],
            check=True,
        )  # fmt: skip
        found = [shutil.which(name, path=str(root / "bin")) for name in names]
    return tuple(found)
