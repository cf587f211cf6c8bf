"""Differential flamegraphs of two commits' folded stacks, drawn by inferno."""

import subprocess
from pathlib import Path


def diff_flamegraph(tools: tuple[str, str], base: Path, head: Path, svg: Path, title: str) -> None:
    """inferno's differential flamegraph of two folded-stack files, cleaned by
    ``frames.clean`` (so the same function has the same frame in both builds: no
    symbol hashes, no addresses)."""
    diff_folded, flamegraph = tools
    # --normalize: the two recordings have different sample counts; compare shares.
    diff = subprocess.run(
        [diff_folded, "--normalize", str(base), str(head)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    svg.parent.mkdir(parents=True, exist_ok=True)
    with svg.open("w") as out:
        subprocess.run(
            [flamegraph, "--title", title, "--subtitle", "red: more of the samples than in "
             "the base, blue: fewer"], input=diff.stdout, stdout=out, text=True, check=True,
        )  # fmt: skip
