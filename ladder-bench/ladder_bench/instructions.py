"""Instructions per call of every rung, counted by valgrind's callgrind (also
``ladder-bench bench --instructions``).

    ladder-bench instructions [--rungs v1,v2] [--calls N] [--quick | --size n=1000]
        [--out profiles]

Wall-clock time on a shared machine swings by tens of percent on unchanged code; the
number of instructions a call executes does not, whatever else the machine is doing. It
is blind to cache misses, memory stalls and parallelism, so it complements the timings,
it does not replace them.

How the calls are isolated: each rung runs twice under callgrind, in fresh harness
children that do the same thing (start Python, import, build the workload, one warm-up
call), except that one of them then calls the rung N more times. The difference of the two
totals, divided by N, is the cost of one call: start-up, imports, example generation
and first-call effects are in both runs and cancel. N is chosen so that the calls add up
to about 200 million instructions (see ``per_call``), or set with ``--calls``.
(Callgrind's client requests, the other way to bracket the calls, are C macros that the
measured process would have to execute: Python code cannot, without an extension built
for the purpose; ``--toggle-collect`` needs a native function that brackets exactly the
calls, and Python has none.)

What would make counts vary is fixed by the harness (``DETERMINISTIC_ENV``), not left
to the user: string hashing, thread counts (OpenBLAS and rayon: 1), and byte-code caching
(never written, so both runs compile or load the same modules).
"""

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
from dataclasses import dataclass
from pathlib import Path

from . import cli, config, environment, harness, report
from .display import progress

TARGET_INSTRUCTIONS = 200_000_000
MAX_CALLS = 1000


class RungMissing(Exception):
    """The interpreter's library has no such rung (an older commit)."""


def valgrind() -> str:
    found = shutil.which("valgrind")
    if found is None:
        raise cli.Failure(
            "valgrind is not installed: install your system's valgrind package "
            "(e.g. apt-get install valgrind)"
        )
    return found


def total_instructions(python: str, config_path: Path, rung: str, calls: int, size) -> int:
    """Instructions callgrind counts in one whole run of a harness child."""
    request = {
        "config": str(config_path),
        "rungs": [rung],
        "size": size,
        "calls": calls,
        "timed": False,
    }
    with tempfile.TemporaryDirectory() as scratch:
        command = [
            valgrind(),
            "--tool=callgrind",
            f"--callgrind-out-file={scratch}/callgrind.out",
            *harness.child_command(python, request),
        ]
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=scratch,
            env=harness.bench_environ(deterministic=True),
        )
    if completed.returncode == harness.MISSING:
        raise RungMissing(rung)
    found = re.search(r"Collected : (\d+)", completed.stderr)
    if completed.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind failed on {rung}:\n{completed.stderr[-3000:]}")
    return int(found.group(1))


def per_call(python: str, config_path: Path, rung: str, calls: int | None, size) -> dict:
    """Instructions of one call of ``rung``: (run with ``calls`` calls - run without) / calls.

    Two runs that do the same differ by a few thousand instructions (addresses differ, and
    with them hashing by identity and allocator paths), so ``calls=None`` makes the
    measured calls add up to about TARGET_INSTRUCTIONS, where that is 0.01% or less: a
    probe run with one call estimates the cost, then the calls needed are made."""
    without = total_instructions(python, config_path, rung, 0, size)
    with_calls = None
    if calls is None:
        probe = total_instructions(python, config_path, rung, 1, size)
        calls = max(1, min(MAX_CALLS, math.ceil(TARGET_INSTRUCTIONS / max(probe - without, 1))))
        if calls == 1:
            with_calls = probe
    if with_calls is None:
        with_calls = total_instructions(python, config_path, rung, calls, size)
    return {
        "rung": rung,
        "instructions_per_call": (with_calls - without) / calls,
        "calls": calls,
        "total_with_calls": with_calls,
        "total_without_calls": without,
    }


def count(python: str, config_path: Path, rungs: list[str], calls, size, log=progress) -> list:
    """Per-call counts of ``rungs`` (those the interpreter's package has), two at a time:
    counts do not depend on what else runs, so both cores can be used."""

    def one(rung: str) -> dict | None:
        try:
            row = per_call(python, config_path, rung, calls, size)
        except RungMissing:
            log(f"   {rung:<20} not in this build")
            return None
        log(f"   {rung:<20} {row['instructions_per_call']:>16,.0f} instructions per call")
        return row

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return [row for row in pool.map(one, rungs) if row is not None]


def to_markdown(result: dict, wall_clock: dict | None) -> str:
    """rung | instructions per call | baseline / rung | wall-clock speedup (same run)."""
    rows, baseline = result["rungs"], result["baseline"]
    base = next((r["instructions_per_call"] for r in rows if r["rung"] == baseline), None)
    speedups = {r["rung"]: r["speedup"] for r in wall_clock["rungs"]} if wall_clock else {}
    size = ", ".join(f"{k} {v:,}" for k, v in result["settings"]["size"].items())
    source = (
        f"from the timings of commit `{wall_clock['environment']['git_commit']}` on the "
        "default workload."
        if wall_clock
        else "missing: no timings.json of this commit in the output folder."
    )
    lines = [
        f"Instructions per call on the workload of size {size or 'default'}, counted by "
        f"callgrind (commit `{result['environment']['git_commit']}`); the wall-clock speedup "
        f"is {source}",
        "",
        f"| rung | instructions per call | {baseline} / rung "
        f"| wall-clock speedup over {baseline} |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        ratio = f"{base / row['instructions_per_call']:,.1f}x" if base else ""
        speedup = speedups.get(row["rung"])
        lines.append(
            f"| {row['rung']} | {row['instructions_per_call']:,.0f} | {ratio} | "
            f"{f'{speedup:,.1f}x' if speedup else ''} |"
        )
    return "\n".join(lines) + "\n"


def run(out: Path, workspace: Path, ladder, rungs, calls, size, wall_clock=None) -> dict:
    """Count, then write instructions.json and .md and publish their section;
    ``wall_clock`` is the same run's timings (``timings.json``'s content)."""
    rows = count(sys.executable, ladder.path, [r.name for r in rungs], calls, size)
    result = {
        "environment": environment.describe(workspace, ladder.distribution),
        "baseline": ladder.baseline,
        "settings": {
            "size": size,
            "calls": calls or f"enough for {TARGET_INSTRUCTIONS:,} instructions",
            "valgrind": _valgrind_version(),
            "env": harness.DETERMINISTIC_ENV,
        },
        "rungs": rows,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "instructions.json").write_text(json.dumps(result, indent=2))
    (out / "instructions.md").write_text(to_markdown(result, wall_clock))
    report.publish(
        out,
        {
            "id": "instructions",
            "title": "Instructions per call",
            "order": 20,
            "intro": "From `ladder-bench instructions` or `ladder-bench bench --instructions`: "
            "reproducible, blind to cache misses and memory stalls.",
            "blocks": [{"markdown": "instructions.md"}],
        },
    )
    return result


@dataclass(frozen=True)
class Change:
    """A rung's instructions per call in two builds, against its gate threshold."""

    rung: str
    base: float
    head: float
    threshold_percent: float

    @property
    def percent(self) -> float:
        return 100 * (self.head / self.base - 1)

    @property
    def grew(self) -> bool:
        return self.percent > self.threshold_percent


def gate_table(changes: list[Change]) -> str:
    lines = [
        "Instructions per call (callgrind): the gate. A rung fails when it grew by more "
        "than its threshold.",
        "",
        "| rung | base | head | change | threshold | |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for c in changes:
        verdict = "**GREW**" if c.grew else "ok"
        lines.append(
            f"| {c.rung} | {c.base:,.0f} | {c.head:,.0f} | {c.percent:+.2f}% | "
            f"{c.threshold_percent:g}% | {verdict} |"
        )
    return "\n".join(lines) + "\n"


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
    parser = cli.ArgumentParser(prog="ladder-bench instructions", description=__doc__)
    parser.add_argument("--rungs", help="comma-separated (default: every declared rung)")
    parser.add_argument(
        "--calls",
        type=cli.positive_int,
        help=f"measured calls per rung (default: enough for {TARGET_INSTRUCTIONS:,} "
        f"instructions, at most {MAX_CALLS})",
    )
    parser.add_argument(
        "--size",
        type=config.parse_size,
        help="the workload's size, e.g. n=1000 (default: the configuration's default-size)",
    )
    parser.add_argument("--quick", action="store_true", help="the configuration's quick-size")
    parser.add_argument("--out", type=Path, default=Path("profiles"))
    config.add_options(parser)
    args = parser.parse_args(argv)
    ladder, rungs = config.from_options(parser, args, args.rungs)
    out, workspace = args.out.resolve(), args.workspace
    report.begin_run(workspace)
    size = ladder.quick_size if args.quick else args.size or ladder.default_size
    started = time.perf_counter()
    print(f"== instructions per call under callgrind, {size}", flush=True)
    wall_clock = _timings_of_this_commit(out, workspace)
    result = run(out, workspace, ladder, rungs, args.calls, size, wall_clock)
    print(f"\n{(out / 'instructions.md').read_text()}")
    print(f"Wrote instructions.json and .md into {out} in {time.perf_counter() - started:.0f}s.")
    return 0 if result["rungs"] else 1


if __name__ == "__main__":
    sys.exit(main())
