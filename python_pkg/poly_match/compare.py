"""Compare two commits on this machine, in one run: ``tox -e compare -- BASE [HEAD]``.

    python -m poly_match.compare BASE [HEAD] [--rungs ...] [--quick] [--rounds 7]
        [--instructions-only] [--no-flamegraphs] [--gate-walltime 20]

Builds each commit's release wheel into its own virtualenv (``target/compare/``, inside
the repository), then, for every rung the two have in common:

1. counts instructions per call under callgrind on both sides (``poly_match.instructions``):
   reproducible to a fraction of a percent, so this is the gate. The command exits 1 when
   a rung grew by more than its threshold (``[tool.poly-match.instruction-gate]`` in
   pyproject.toml: 1% unless a rung says otherwise);
2. times both sides in alternating rounds (base, head, head, base, ...), so that
   drifting machine load hits both alike. Shown, and a gate only with --gate-walltime;
3. records both sides with py-spy and writes a differential flamegraph per rung with
   inferno (installed into ``target/tools`` on first use): ``profiles/diff/<rung>.svg``,
   the head's profile coloured by change (red: a larger share of the samples than in
   the base, blue: a smaller one).

HEAD defaults to the working tree, uncommitted changes included. Writes
``profiles/compare.md`` and ``profiles/compare.json``.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import instructions, profiling, timings
from .report import write_index

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

DEFAULT_INSTRUCTION_THRESHOLD_PERCENT = 1.0

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


def build(
    workspace: Path, scratch: Path, label: str, ref: str | None, cargo_features: str = ""
) -> Side:
    """A virtualenv with ``ref``'s release wheel (the working tree when ``ref`` is None),
    built with ``cargo_features`` on top of pyproject.toml's."""
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
    build_args = []
    if cargo_features:
        # --features on the command line replaces pyproject.toml's list: repeat it.
        maturin = tomllib.loads((source / "pyproject.toml").read_text())["tool"]["maturin"]
        features = ",".join([*maturin.get("features", []), cargo_features])
        build_args = ["--config-settings", f"build-args=--features {features}"]
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *build_args, str(source)],
        check=True, env=env,
    )  # fmt: skip
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


@dataclass(frozen=True)
class InstructionChange:
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


def gate_thresholds(workspace: Path) -> tuple[float, dict[str, float]]:
    """The instruction gate's default threshold and per-rung ones, from pyproject.toml."""
    config = tomllib.loads((workspace / "pyproject.toml").read_text())
    gate = config.get("tool", {}).get("poly-match", {}).get("instruction-gate", {})
    default = float(gate.get("threshold-percent", DEFAULT_INSTRUCTION_THRESHOLD_PERCENT))
    return default, {rung: float(p) for rung, p in gate.get("rungs", {}).items()}


def instruction_table(changes: list[InstructionChange]) -> str:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m poly_match.compare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("base", help="the commit to compare against (any git revision)")
    parser.add_argument("head", nargs="?", help="the commit to check (default: the working tree)")
    parser.add_argument("--rungs", help="comma-separated (default: every rung both sides have)")
    parser.add_argument(
        "--quick", action="store_true", help="count instructions on the small example"
    )
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (default 7)")
    parser.add_argument(
        "--seconds", type=float, default=0.3, help="time per rung per round (default 0.3)"
    )
    parser.add_argument(
        "--instructions-only", action="store_true", help="only the instruction counts and gate"
    )
    parser.add_argument("--no-flamegraphs", action="store_true", help="skip py-spy and inferno")
    parser.add_argument(
        "--gate-walltime", type=float, metavar="PERCENT",
        help="also fail when a rung's median time grew by more than PERCENT",
    )  # fmt: skip
    parser.add_argument(
        "--head-cargo-features", default="", help=argparse.SUPPRESS
    )  # only for the gate's own test: a deliberately slower head
    parser.add_argument("--workspace", type=Path, default=Path(), help="the git repository")
    parser.add_argument("--out", type=Path, default=Path("profiles"), help="output folder")
    args = parser.parse_args(argv)

    workspace = args.workspace.resolve()
    out = args.out.resolve()
    scratch = workspace / "target" / "compare"
    scratch.mkdir(parents=True, exist_ok=True)
    default_threshold, rung_thresholds = gate_thresholds(workspace)
    size = instructions.QUICK_SIZE if args.quick else (1000, 100)
    started = time.perf_counter()
    steps = 2 if args.instructions_only else 4 - args.no_flamegraphs
    step = iter(range(1, steps + 2))

    def announce(text: str) -> None:
        print(f"== [{next(step)}/{steps + 1}] {text} ({time.perf_counter() - started:.0f}s)",
              flush=True)  # fmt: skip

    # The tools first: a missing one should fail now, not after minutes of building.
    instructions.valgrind()
    flamegraphs = not (args.instructions_only or args.no_flamegraphs)
    inferno_tools = inferno(workspace) if flamegraphs else None

    announce("building both commits' release wheels")
    base_ref = _git(workspace, "rev-parse", "--verify", f"{args.base}^{{commit}}")
    head_ref = args.head and _git(workspace, "rev-parse", "--verify", f"{args.head}^{{commit}}")
    try:
        base = build(workspace, scratch, "base", base_ref)
        head = build(workspace, scratch, "head", head_ref, args.head_cargo_features)
        common = [r for r in head.run_worker("rungs") if r in set(base.run_worker("rungs"))]
    finally:
        # The checkouts go; the virtualenvs and the cargo target folder stay, for speed.
        for label in ("base", "head"):
            if (scratch / f"src-{label}").exists():
                _git(workspace, "worktree", "remove", "--force", str(scratch / f"src-{label}"))
    rungs = args.rungs.split(",") if args.rungs else [*common, instructions.ARRAY_API]

    announce(f"instructions per call under callgrind, {size[0]:,} x {size[1]:,}")
    counted = {}
    for side in (base, head):
        print(f"   {side.label}:", flush=True)
        rows = instructions.count(str(side.python), rungs, None, size)
        counted[side.label] = {row["rung"]: row["instructions_per_call"] for row in rows}
    changes = [
        InstructionChange(rung, counted["base"][rung], counted["head"][rung],
                          rung_thresholds.get(rung, default_threshold))
        for rung in rungs if rung in counted["base"] and rung in counted["head"]
    ]  # fmt: skip

    comparison = None
    timed = [r for r in rungs if r in common]
    walltime_threshold = args.gate_walltime
    if walltime_threshold is None:
        walltime_threshold = timings.DEFAULT_THRESHOLD_PERCENT
    if not args.instructions_only:
        announce(f"timing {len(timed)} rungs in {args.rounds} alternating rounds")
        samples = time_interleaved(base, head, timed, args.rounds, args.seconds)
        comparison = timings.Comparison(
            [
                timings.Change(rung, statistics.median(samples["base"][rung]) * 1e3,
                               statistics.median(samples["head"][rung]) * 1e3)
                for rung in timed
            ],
            walltime_threshold,
            environment_differences=[],
        )  # fmt: skip

    diff_links = []
    if flamegraphs:
        announce(f"differential flamegraphs of {len(timed)} rungs (py-spy, inferno)")
        folded = scratch / "folded"
        folded.mkdir(exist_ok=True)
        for rung in timed:
            for side in (base, head):
                profiling.record_folded(
                    str(side.python), rung, folded / f"{rung}.{side.label}.folded", 2.0, 150
                )
            svg = out / "diff" / f"{rung}.svg"
            sides = [folded / f"{rung}.{label}.folded" for label in ("base", "head")]
            diff_flamegraph(inferno_tools, *sides, svg, f"{rung}: head vs base")
            diff_links.append(f"- [{rung}](diff/{rung}.svg)")
            print(f"   {rung}: {svg}", flush=True)

    announce("report")
    header = (
        f"Base {args.base} ({base_ref[:12]}) vs head {args.head or 'working tree'}"
        f"{f' ({head_ref[:12]})' if head_ref else ''}"
        f"{f' built with --features {features}' if (features := args.head_cargo_features) else ''}"
        ", in one run on this machine.\n\n"
    )  # fmt: skip
    parts = [header, instruction_table(changes)]
    if comparison is not None:
        gate_note = "a gate" if args.gate_walltime is not None else "shown, not a gate"
        parts += [
            f"\nWall-clock, median of {args.rounds} interleaved rounds ({gate_note}):\n\n",
            comparison.to_markdown(),
        ]
    if diff_links:
        parts += ["\nDifferential flamegraphs (red grew, blue shrank):\n\n", "\n".join(diff_links)]
    report = "".join(parts) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.md").write_text(report)
    (out / "compare.json").write_text(
        json.dumps(
            {
                "base": base_ref,
                "head": head_ref or "working tree",
                "instructions": counted,
                "instruction_size": size,
                "samples": samples if comparison is not None else None,
            },
            indent=2,
        )
    )
    if (out / "timings.json").exists():  # a page from an earlier tox -e bench: add this
        write_index(out)
    print(f"\n{report}\nTook {time.perf_counter() - started:.0f}s.")
    failed = [c.rung for c in changes if c.grew]
    if comparison is not None and args.gate_walltime is not None:
        failed += [c.rung for c in comparison.regressions]
    if failed:
        print(f"Gate failed: {', '.join(sorted(set(failed)))}", file=sys.stderr)
        return 1
    return 0


def _git(workspace: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", *args], cwd=workspace, capture_output=True, text=True, check=True
    )
    return completed.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
