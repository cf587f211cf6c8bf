"""Compare two commits on this machine, in one run: ``tox -e compare -- BASE [HEAD]``.

    python -m poly_match.compare BASE [HEAD] [--rounds 7] [--threshold 10]
        [--fail-on-regression]

Timings from separate runs (other machines, other CI jobs, other hours) differ by tens
of percent on unchanged code. This builds each commit's release wheel into its own
virtualenv (``target/compare/``, inside the repository), then times every rung the two
have in common in alternating rounds (base, head, head, base, ...), so that drifting
machine load hits both sides alike. HEAD defaults to the working tree, uncommitted
changes included. Writes ``profiles/compare.md`` and ``profiles/compare.json``.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import timings

# Runs inside each side's virtualenv, so it may only use what every commit's package has.
WORKER = """
import json, sys, time
import poly_match
if sys.argv[1] == "rungs":
    print(json.dumps(list(poly_match.RUNG_NAMES)))
    raise SystemExit
budget = float(sys.argv[1])
seconds_per_call = {}
for name in sys.argv[2:]:
    rung = poly_match.VERSIONS[name]
    polygons, points = rung.generate_example()
    rung.main(polygons, points)  # warm-up: caches, allocator, branch predictors
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < budget:
        rung.main(polygons, points)
        calls += 1
    seconds_per_call[name] = (time.perf_counter() - start) / calls
print(json.dumps(seconds_per_call))
"""


@dataclass(frozen=True)
class Side:
    label: str
    source: Path
    python: Path

    def run_worker(self, *args: str) -> dict | list:
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
        completed = subprocess.run(
            [str(self.python), "-c", WORKER, *args],
            capture_output=True, text=True, check=True, env=env, cwd=self.python.parent,
        )  # fmt: skip
        return json.loads(completed.stdout)


def build(workspace: Path, scratch: Path, label: str, ref: str | None) -> Side:
    """A virtualenv with ``ref``'s release wheel (the working tree when ``ref`` is None)."""
    source = workspace
    if ref is not None:
        source = scratch / f"src-{label}"
        if source.exists():
            _git(workspace, "worktree", "remove", "--force", str(source))
        _git(workspace, "worktree", "add", "--detach", str(source), ref)
    venv = scratch / f"venv-{label}"
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    print(f"   building {label} ({ref or 'working tree'}) into {venv}", flush=True)
    # One cargo target folder for both sides: the dependencies compile once.
    env = {**os.environ, "CARGO_TARGET_DIR": str(scratch / "cargo-target")}
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(source)], check=True, env=env
    )
    return Side(label, source, python)


def time_interleaved(base: Side, head: Side, rungs: list[str], rounds: int, budget: float):
    """Per side and rung, the seconds per call of each round."""
    samples = {side.label: {rung: [] for rung in rungs} for side in (base, head)}
    for round_index in range(rounds):
        order = (base, head) if round_index % 2 == 0 else (head, base)
        for side in order:
            for rung, seconds in side.run_worker(str(budget), *rungs).items():
                samples[side.label][rung].append(seconds)
        print(f"   round {round_index + 1}/{rounds} done", flush=True)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m poly_match.compare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("base", help="the commit to compare against (any git revision)")
    parser.add_argument("head", nargs="?", help="the commit to check (default: the working tree)")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (default 7)")
    parser.add_argument(
        "--seconds", type=float, default=0.3, help="time per rung per round (default 0.3)"
    )
    parser.add_argument("--workspace", type=Path, default=Path(), help="the git repository")
    parser.add_argument("--out", type=Path, default=Path("profiles"), help="output folder")
    timings.add_regression_options(parser)
    args = parser.parse_args(argv)

    workspace = args.workspace.resolve()
    scratch = workspace / "target" / "compare"
    scratch.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print("== [1/3] building both commits' release wheels", flush=True)
    base_ref = _git(workspace, "rev-parse", "--verify", f"{args.base}^{{commit}}")
    head_ref = args.head and _git(workspace, "rev-parse", "--verify", f"{args.head}^{{commit}}")
    try:
        base = build(workspace, scratch, "base", base_ref)
        head = build(workspace, scratch, "head", head_ref)
        rungs = [r for r in head.run_worker("rungs") if r in set(base.run_worker("rungs"))]
        print(f"== [2/3] timing {len(rungs)} rungs in {args.rounds} alternating rounds", flush=True)
        samples = time_interleaved(base, head, rungs, args.rounds, args.seconds)
    finally:
        # The checkouts go; the virtualenvs and the cargo target folder stay, for speed.
        for label in ("base", "head"):
            if (scratch / f"src-{label}").exists():
                _git(workspace, "worktree", "remove", "--force", str(scratch / f"src-{label}"))

    print("== [3/3] report", flush=True)
    changes = [
        timings.Change(
            rung,
            statistics.median(samples["base"][rung]) * 1e3,
            statistics.median(samples["head"][rung]) * 1e3,
        )
        for rung in rungs
    ]
    comparison = timings.Comparison(changes, args.threshold, environment_differences=[])
    header = (
        f"Base {args.base} ({base_ref[:12]}) vs head {args.head or 'working tree'}"
        f"{f' ({head_ref[:12]})' if head_ref else ''}: median of {args.rounds} interleaved "
        "rounds on this machine.\n\n"
    )
    report = header + comparison.to_markdown()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "compare.md").write_text(report)
    (args.out / "compare.json").write_text(
        json.dumps(
            {"base": base_ref, "head": head_ref or "working tree", "samples": samples}, indent=2
        )
    )
    print(f"\n{report}\nTook {time.perf_counter() - started:.0f}s.")
    return 1 if comparison.regressions and args.fail_on_regression else 0


def _git(workspace: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", *args], cwd=workspace, capture_output=True, text=True, check=True
    )
    return completed.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
