"""Instructions per call of every rung, counted by valgrind's callgrind: ``tox -e
instructions`` (or ``tox -e bench -- --instructions``).

    python -m poly_match.instructions [--rungs v1,v5_find_all_in_rust] [--calls N]
        [--polygons 1000 --points 100] [--out profiles]

Wall-clock time on a shared machine swings by tens of percent on unchanged code; the
number of instructions a call executes does not, whatever else the machine is doing. It
is blind to cache misses, memory stalls and parallelism, so it complements the timings
(see the README), it does not replace them.

How the calls are isolated: each rung runs twice under callgrind, in fresh interpreters
that do the same thing (start Python, import, build the example, one warm-up call),
except that one of them then calls ``main`` N more times. The difference of the two
totals, divided by N, is the cost of one call: start-up, imports, example generation
and first-call effects are in both runs and cancel. N is chosen so that the calls add up
to about 200 million instructions (see ``per_call``), or set with ``--calls``.
(Callgrind's client requests, the other way to bracket the calls, are C macros that the
measured process would have to execute: Python code cannot, without an extension built
for the purpose; ``--toggle-collect`` needs a native function that brackets exactly the
calls, and Python has none.)

What would make counts vary is fixed here, not left to the user: string hashing
(PYTHONHASHSEED=0), thread counts (OpenBLAS and rayon: 1), and byte-code caching (never
written, so both runs compile or load the same modules).
"""

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import poly_match

from . import environment, report

ARRAY_API = "match_points"
QUICK_SIZE = (200, 20)
TARGET_INSTRUCTIONS = 200_000_000
MAX_CALLS = 1000

# Runs in the measured interpreter, which may be another commit's virtualenv (see
# compare.py): it may only use what every commit's package has, and exits with 3 when
# the rung is not there.
CHILD = """
import sys
import numpy as np
import poly_match
name, calls, n_polygons, n_points = sys.argv[1], *map(int, sys.argv[2:5])
if name == "match_points":
    if not hasattr(poly_match, "match_points"):
        raise SystemExit(3)
    rung = poly_match.VERSIONS["v7_grid_parallel"]
    polygons, points = rung.generate_example(n_polygons, n_points)
    centers = np.array([p.center for p in polygons]).reshape(-1, 2)
    areas = np.array([p.area() for p in polygons])
    def call():
        return poly_match.match_points(centers, areas, points, rung.MAX_DIST)
else:
    if name not in poly_match.RUNG_NAMES:
        raise SystemExit(3)
    rung = poly_match.VERSIONS[name]
    polygons, points = rung.generate_example(n_polygons, n_points)
    def call():
        return rung.main(polygons, points)
call()
for _ in range(calls):
    call()
"""

DETERMINISTIC_ENV = {
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "RAYON_NUM_THREADS": "1",
}


class RungMissing(Exception):
    """The interpreter's poly_match has no such rung (an older commit)."""


def names() -> list[str]:
    return [*poly_match.RUNG_NAMES, ARRAY_API]


def valgrind() -> str:
    found = shutil.which("valgrind")
    if found is None:
        raise RuntimeError("valgrind is not installed: apt-get install valgrind (or . .ci/tools)")
    return found


def total_instructions(python: str, rung: str, calls: int, size: tuple[int, int]) -> int:
    """Instructions callgrind counts in one whole run of CHILD."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(DETERMINISTIC_ENV)
    with tempfile.TemporaryDirectory() as scratch:
        command = [
            valgrind(), "--tool=callgrind", f"--callgrind-out-file={scratch}/callgrind.out",
            python, "-c", CHILD, rung, str(calls), str(size[0]), str(size[1]),
        ]  # fmt: skip
        completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=scratch)
    if completed.returncode == 3:
        raise RungMissing(rung)
    found = re.search(r"Collected : (\d+)", completed.stderr)
    if completed.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind failed on {rung}:\n{completed.stderr[-3000:]}")
    return int(found.group(1))


def per_call(python: str, rung: str, calls: int | None, size: tuple[int, int]) -> dict:
    """Instructions of one call of ``rung``: (run with ``calls`` calls - run without) / calls.

    Two runs that do the same differ by a few thousand instructions (addresses differ, and
    with them hashing by identity and allocator paths), so ``calls=None`` makes the
    measured calls add up to about TARGET_INSTRUCTIONS, where that is 0.01% or less: a
    probe run with one call estimates the cost, then the calls needed are made."""
    without = total_instructions(python, rung, 0, size)
    with_calls = None
    if calls is None:
        probe = total_instructions(python, rung, 1, size)
        calls = max(1, min(MAX_CALLS, math.ceil(TARGET_INSTRUCTIONS / max(probe - without, 1))))
        if calls == 1:
            with_calls = probe
    if with_calls is None:
        with_calls = total_instructions(python, rung, calls, size)
    return {
        "rung": rung,
        "instructions_per_call": (with_calls - without) / calls,
        "calls": calls,
        "total_with_calls": with_calls,
        "total_without_calls": without,
    }


def count(python: str, rungs: list[str], calls: int | None, size, log=print) -> list:
    """Per-call counts of ``rungs`` (those the interpreter's package has), two at a time:
    counts do not depend on what else runs, so both cores can be used."""

    def one(rung: str) -> dict | None:
        try:
            row = per_call(python, rung, calls, size)
        except RungMissing:
            log(f"   {rung:<20} not in this build")
            return None
        log(f"   {rung:<20} {row['instructions_per_call']:>16,.0f} instructions per call")
        return row

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return [row for row in pool.map(one, rungs) if row is not None]


def to_markdown(result: dict, wall_clock: dict | None) -> str:
    """rung | instructions per call | v1 / rung | wall-clock speedup (same run)."""
    rows = result["rungs"]
    v1 = next((r["instructions_per_call"] for r in rows if r["rung"] == "v1"), None)
    speedups = {}
    if wall_clock is not None:
        speedups = {r["rung"]: r["speedup_vs_v1"] for r in wall_clock["rungs"]}
    settings = result["settings"]
    lines = [
        f"Instructions per call of `main` on {settings['polygons']:,} polygons x "
        f"{settings['points']:,} points, counted by callgrind (commit "
        f"`{result['environment']['git_commit']}`); the wall-clock speedup is "
        + (
            f"from the timings of commit `{wall_clock['environment']['git_commit']}`"
            + (" on the default example" if settings["polygons"] != 1000 else "")
            + "."
            if wall_clock
            else "missing: no timings.json of this commit in the output folder."
        ),
        "",
        "| rung | instructions per call | v1 / rung | wall-clock speedup over v1 |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        ratio = f"{v1 / row['instructions_per_call']:,.1f}x" if v1 else ""
        speedup = speedups.get(row["rung"])
        lines.append(
            f"| {row['rung']} | {row['instructions_per_call']:,.0f} | {ratio} | "
            f"{f'{speedup:,.1f}x' if speedup else ''} |"
        )
    return "\n".join(lines) + "\n"


def run(out: Path, workspace: Path, rungs, calls: int | None, size, wall_clock=None) -> dict:
    """Count, then write instructions.json and .md; ``wall_clock`` is the same run's
    timings (``timings.json``'s content), for the speedup column."""
    rows = count(sys.executable, rungs, calls, size)
    result = {
        "environment": environment.describe(workspace),
        "settings": {
            "polygons": size[0],
            "points": size[1],
            "calls": calls or f"enough for {TARGET_INSTRUCTIONS:,} instructions",
            "valgrind": _valgrind_version(),
            "env": DETERMINISTIC_ENV,
        },
        "rungs": rows,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "instructions.json").write_text(json.dumps(result, indent=2))
    (out / "instructions.md").write_text(to_markdown(result, wall_clock))
    return result


def _timings_of_this_commit(out: Path, workspace: Path) -> dict | None:
    """``out/timings.json`` if it was measured on the commit checked out now."""
    path = out / "timings.json"
    if not path.exists():
        return None
    timings = json.loads(path.read_text())
    current = environment.describe(workspace)["git_commit"]
    return timings if timings["environment"]["git_commit"] == current else None


def _valgrind_version() -> str:
    completed = subprocess.run(["valgrind", "--version"], capture_output=True, text=True)
    return completed.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m poly_match.instructions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rungs", default=",".join(names()), help="comma-separated")
    parser.add_argument(
        "--calls",
        type=int,
        help=f"measured calls per rung (default: enough for {TARGET_INSTRUCTIONS:,} "
        f"instructions, at most {MAX_CALLS})",
    )
    parser.add_argument("--polygons", type=int, default=1000)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--quick", action="store_true",
                        help=f"the small example, {QUICK_SIZE[0]} x {QUICK_SIZE[1]}")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("profiles"))
    parser.add_argument("--workspace", type=Path, default=Path())
    args = parser.parse_args(argv)
    rungs = [name for name in args.rungs.split(",") if name]
    unknown = sorted(set(rungs) - set(names()))
    if unknown:
        parser.error(f"unknown rungs {unknown}; known: {', '.join(names())}")
    if args.calls is not None and args.calls < 1:
        parser.error("--calls must be at least 1")
    size = QUICK_SIZE if args.quick else (args.polygons, args.points)
    started = time.perf_counter()
    print(f"== instructions per call under callgrind, {size[0]:,} x {size[1]:,}", flush=True)
    out, workspace = args.out.resolve(), args.workspace.resolve()
    wall_clock = _timings_of_this_commit(out, workspace)
    result = run(out, workspace, rungs, args.calls, size, wall_clock)
    if (out / "timings.json").exists():  # a page from an earlier tox -e bench: add the counts
        report.write_index(out)
    print(f"\n{(args.out / 'instructions.md').read_text()}")
    print(f"Wrote instructions.json and .md into {args.out.resolve()} "
          f"in {time.perf_counter() - started:.0f}s.")  # fmt: skip
    return 0 if result["rungs"] else 1


if __name__ == "__main__":
    sys.exit(main())
