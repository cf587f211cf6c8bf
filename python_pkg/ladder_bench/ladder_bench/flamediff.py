"""Differential flamegraphs of two commits' folded stacks, drawn by inferno."""

import os
import re
import shutil
import subprocess
from pathlib import Path

# Rust's legacy symbol mangling, as py-spy leaves it in native frames.
RUST_ESCAPES = {
    "$LT$": "<", "$GT$": ">", "$u20$": " ", "$C$": ",", "$u7b$": "{", "$u7d$": "}",
    "$RF$": "&", "$BP$": "*", "$u27$": "'", "$u5b$": "[", "$u5d$": "]", "..": "::",
}  # fmt: skip


def comparable_frames(folded: str) -> str:
    """Folded stacks with each Rust symbol's hash suffix (``::h`` and 16 hex digits, which
    changes from build to build) removed and its escapes decoded: otherwise the same
    function in two commits would be two different frames."""
    folded = re.sub(r"::h[0-9a-f]{16}", "", folded)
    for escape, character in RUST_ESCAPES.items():
        folded = folded.replace(escape, character)
    return folded


def inferno(workspace: Path) -> tuple[str, str]:
    """inferno's diff and flamegraph programs: on PATH or in target/tools/bin, else
    installed there now with cargo (which building the wheels needs anyway), so that
    the comparison works on a fresh checkout and nothing lands outside it."""
    names = ("inferno-diff-folded", "inferno-flamegraph")
    root = workspace / "target" / "tools"
    search = os.pathsep.join([str(root / "bin"), os.environ.get("PATH", "")])
    found = [shutil.which(name, path=search) for name in names]
    if None in found:
        print(f"   inferno is not installed: cargo install inferno into {root}", flush=True)
        subprocess.run(
            ["cargo", "install", "--quiet", "--locked", "--root", str(root), "inferno"],
            check=True,
        )
        found = [shutil.which(name, path=str(root / "bin")) for name in names]
    return found[0], found[1]


def diff_flamegraph(tools: tuple[str, str], base: Path, head: Path, svg: Path, title: str) -> None:
    """inferno's differential flamegraph of two folded-stack files."""
    diff_folded, flamegraph = tools
    for path in (base, head):  # in place: the folded files are compare's own scratch
        path.write_text(comparable_frames(path.read_text()))
    # --normalize: the two recordings have different sample counts; compare shares.
    # --strip-hex: unresolved native frames are addresses, which differ between builds.
    diff = subprocess.run(
        [diff_folded, "--normalize", "--strip-hex", str(base), str(head)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    svg.parent.mkdir(parents=True, exist_ok=True)
    with svg.open("w") as out:
        subprocess.run(
            [flamegraph, "--title", title, "--subtitle", "red: more of the samples than in "
             "the base, blue: fewer"], input=diff.stdout, stdout=out, text=True, check=True,
        )  # fmt: skip
