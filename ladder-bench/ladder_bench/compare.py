"""Compare two commits on this machine, in one run.

    ladder-bench compare BASE [HEAD] [--rungs ...] [--quick] [--rounds 7] [--seconds 0.3]
        [--instructions-only] [--no-flamegraphs] [--gate-walltime 20]

Builds each commit's wheel into its own virtualenv (in ``.ladder-bench/compare/``, inside
the repository; git ignores it, and it is safe to delete), with a copy of this tool
beside it, then, for every rung the two have in common (the rungs are this checkout's
configuration):

1. counts instructions per call under callgrind on both sides (``ladder-bench
   instructions``): reproducible to a fraction of a percent, so this is the gate. The
   command exits 1 when a rung grew by more than its threshold
   (``[tool.ladder-bench.instruction-gate]``: 1% unless a rung says otherwise);
2. times both sides in alternating rounds (base, head, head, base, ...), so that
   drifting machine load hits both alike. Shown, and a gate only with --gate-walltime;
3. records both sides with py-spy, twice each, interleaved, and writes a differential
   flamegraph per rung with inferno (it and rustfilt are installed into ``.tools`` on
   first use): ``diff/<rung>.svg``, the head's profile with only the functions whose
   time per call changed beyond sampling noise coloured (red: more, blue: less), and
   ``diff/<rung>.json``, those functions and their changes.

HEAD defaults to the working tree, uncommitted changes included. Writes ``compare.md``
and ``compare.json`` into --out.
"""

import argparse
import importlib.metadata
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import (
    cli,
    config,
    flamediff,
    harness,
    instructions,
    profiling,
    report,
    scratch,
    timings,
    tools,
)
from .config import REGRESSION_THRESHOLD_PERCENT, tomllib

TOOLING = Path(__file__).resolve().parent  # this package, as installed here
BUILDS = "compare's builds (a checkout, a virtualenv and a cargo target folder per side)"


@dataclass(frozen=True)
class Side:
    label: str
    ref: str | None  # None: the working tree
    python: Path

    def ask(self, ladder: config.Config, rungs: list[str], **request) -> dict:
        """The harness child's reply in this side's virtualenv (cwd there, not the repo)."""
        request = {"config": str(ladder.path), "rungs": rungs, **request}
        return harness.run_child(str(self.python), request, cwd=self.python.parent)


def build(workspace: Path, scratch: Path, label: str, ref: str | None, features: str = "") -> Side:
    """A virtualenv with ``ref``'s wheel (the working tree when ``ref`` is None), built
    with cargo ``features`` on top of pyproject.toml's, and this checkout's tooling."""
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
    if features:
        # --features on the command line replaces pyproject.toml's list: repeat it.
        maturin = tomllib.loads((source / "pyproject.toml").read_text())["tool"]["maturin"]
        features = ",".join([*maturin.get("features", []), features])
        build_args = ["--config-settings", f"build-args=--features {features}"]
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, *build_args, str(source), *core_requirements()], check=True, env=env)
    install_tooling(python)
    return Side(label, ref, python)


def core_requirements() -> list[str]:
    """What this tooling needs without extras (tomli on Python 3.10), as pip arguments."""
    requires = importlib.metadata.requires("ladder-bench") or []
    return [requirement for requirement in requires if "extra ==" not in requirement]


def install_tooling(python: Path) -> None:
    """A copy of this tooling (pure Python) into ``python``'s site-packages: the harness
    child there must be this checkout's, whatever the commit measured."""
    completed = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    target = Path(completed.stdout.strip()) / TOOLING.name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(TOOLING, target, ignore=shutil.ignore_patterns("__pycache__"))


def time_interleaved(ladder, base: Side, head: Side, rungs: list[str], rounds: int, seconds: float):
    """Per side and rung, the mean seconds per call of each round."""
    samples: dict[str, dict[str, list[float]]] = {
        side.label: {rung: [] for rung in rungs} for side in (base, head)
    }
    for round_index in range(rounds):
        for side in (base, head) if round_index % 2 == 0 else (head, base):
            for rung, reply in side.ask(ladder, rungs, calls=3, seconds=seconds).items():
                samples[side.label][rung].append(statistics.fmean(reply["times"]))
        print(f"   round {round_index + 1}/{rounds} done", flush=True)
    return samples


def count_instructions(
    ladder, sides: list[Side], rungs: list[str], size
) -> list[instructions.Change]:
    counted = {}
    for side in sides:
        print(f"   {side.label}:", flush=True)
        rows = instructions.count(str(side.python), ladder.path, rungs, None, size)
        counted[side.label] = {row["rung"]: row["instructions_per_call"] for row in rows}
    return [
        instructions.Change(
            rung,
            counted["base"][rung],
            counted["head"][rung],
            ladder.gate_rungs.get(rung, ladder.gate_threshold_percent),
        )
        for rung in rungs
        if rung in counted["base"] and rung in counted["head"]
    ]


def diff_flamegraphs(ladder, workspace: Path, sides: list[Side], rungs, samples, out: Path):
    """A differential flamegraph per rung (flamediff: only significant changes coloured)
    from RECORDINGS recordings of each side, interleaved; each rung's summary."""
    _, flamegraph = tools.inferno(workspace)
    folded = scratch.folder(workspace, "compare", BUILDS) / "folded"
    folded.mkdir(exist_ok=True)
    summaries = {}
    for rung in rungs:
        pythons = {side.label: str(side.python) for side in sides}
        try:
            recorded, notes = profiling.record_sides(
                workspace, pythons, ladder.path, rung, flamediff.RECORDINGS
            )
        except profiling.ProfilingError as error:  # the rest of the comparison stands
            print(f"   {rung}: no differential flamegraph: {error}", flush=True)
            continue
        for note in notes:
            print(f"   {rung}: note: {note}", flush=True)
        for label, recordings in recorded.items():
            for index, recording in enumerate(recordings):
                (folded / f"{rung}.{label}.{index}.folded").write_text(recording)
        svg = out / "diff" / f"{rung}.svg"
        times = {label: samples[label][rung] for label in recorded}
        summaries[rung] = flamediff.diff_flamegraph(
            flamegraph,
            recorded["base"],
            recorded["head"],
            times,
            profiling.MEASURED_FRAME,
            svg,
            f"{rung}: head vs base",
        )
        changed = len(summaries[rung]["significant"])
        print(f"   {rung}: {svg}, {changed} functions changed beyond noise", flush=True)
    return summaries


def flamegraph_table(summaries: dict) -> str:
    """compare.md's table of the functions whose time per call changed significantly."""
    rows = [
        "| rung | samples (base, head) | functions tested | changed beyond noise |",
        "|---|---:|---:|---|",
    ]
    for rung, summary in summaries.items():
        changed = [
            f"{c['function'].partition(' (')[0]} {flamediff.signed(c)}"
            for c in summary["significant"][:3]
        ]
        more = len(summary["significant"]) - len(changed)
        shown = "; ".join(changed) + (f"; {more} more" if more > 0 else "") or "none"
        shown = shown.replace("|", "\\|")
        counts = ", ".join(str(sum(summary["samples"][side])) for side in ("base", "head"))
        rows.append(
            f"| [{rung}](diff/{rung}.svg) | {counts} | {summary['functions_tested']} | {shown} |"
        )
    return "\n".join(rows) + "\n"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = cli.ArgumentParser(prog="ladder-bench compare", description=__doc__)
    parser.add_argument("base", help="the commit to compare against (any git revision)")
    parser.add_argument("head", nargs="?", help="the commit to check (default: the working tree)")
    parser.add_argument("--rungs", help="comma-separated (default: every rung both sides have)")
    parser.add_argument("--quick", action="store_true", help="count instructions on the quick size")
    parser.add_argument(
        "--rounds", type=cli.positive_int, default=7, help="alternating rounds (default 7)"
    )
    parser.add_argument(
        "--seconds",
        type=cli.positive_number,
        default=0.3,
        help="time per rung per round (default 0.3)",
    )
    parser.add_argument("--instructions-only", action="store_true", help="only the counts and gate")
    parser.add_argument("--no-flamegraphs", action="store_true", help="skip py-spy and inferno")
    parser.add_argument(
        "--gate-walltime",
        type=cli.positive_number,
        metavar="PERCENT",
        help="also fail when a median grew by more than PERCENT",
    )
    # Only for the gate's own test: a deliberately slower head.
    parser.add_argument("--head-cargo-features", default="", help=argparse.SUPPRESS)
    config.add_options(parser)
    parser.add_argument("--out", type=Path, default=Path("profiles"), help="output folder")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()
    args.ladder, selected = config.from_options(parser, args, args.rungs)
    args.selected = [rung.name for rung in selected]
    args.flamegraphs = not (args.instructions_only or args.no_flamegraphs)
    try:  # before anything is built: a typo must not cost a build first
        args.refs = [
            cli.commit(args.workspace, ref) if ref else None for ref in (args.base, args.head)
        ]
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    ladder, workspace, started = args.ladder, args.workspace, time.perf_counter()
    report.begin_run(workspace)
    steps = 2 if args.instructions_only else 4 - args.no_flamegraphs
    step = iter(range(1, steps + 1))

    def announce(text: str) -> None:
        print(
            f"== [{next(step)}/{steps}] {text} ({time.perf_counter() - started:.0f}s)", flush=True
        )

    # The tools first: a missing one should fail now, not after minutes of building.
    instructions.valgrind()
    if args.flamegraphs:
        tools.inferno(workspace)
        tools.rustfilt(workspace)
    announce("building both commits' wheels")
    refs = args.refs
    sides = build_sides(workspace, refs, args.head_cargo_features)
    replies = [side.ask(ladder, args.selected, check=True) for side in sides]
    rungs = [r for r in args.selected if all(reply[r]["status"] == "ok" for reply in replies)]

    size = ladder.quick_size if args.quick else ladder.default_size
    announce(f"instructions per call under callgrind, {size}")
    changes = count_instructions(ladder, sides, rungs, size)
    comparison, samples, summaries = None, None, {}
    if not args.instructions_only:
        announce(f"timing {len(rungs)} rungs in {args.rounds} alternating rounds")
        base, head = sides
        samples = time_interleaved(ladder, base, head, rungs, args.rounds, args.seconds)
        comparison = walltime_comparison(samples, rungs, args.gate_walltime)
    if args.flamegraphs:
        announce(f"differential flamegraphs of {len(rungs)} rungs (py-spy; perf for threads)")
        summaries = diff_flamegraphs(ladder, workspace, sides, rungs, samples, args.out)
    text = write(args, refs, changes, comparison, samples, summaries, size)
    print(f"\n{text}\nTook {time.perf_counter() - started:.0f}s.")
    failed = [c.rung for c in changes if c.grew]
    if comparison is not None and args.gate_walltime is not None:
        failed += [c.rung for c in comparison.regressions]
    if failed:
        print(f"Gate failed: {', '.join(sorted(set(failed)))}", file=sys.stderr)
        return 1
    return 0


def build_sides(workspace: Path, refs: list, head_features: str) -> list[Side]:
    builds = scratch.folder(workspace, "compare", BUILDS)
    try:
        return [
            build(workspace, builds, "base", refs[0]),
            build(workspace, builds, "head", refs[1], head_features),
        ]
    finally:
        # The checkouts go; the virtualenvs and the cargo target folder stay, for speed.
        for label in ("base", "head"):
            if (builds / f"src-{label}").exists():
                _git(workspace, "worktree", "remove", "--force", str(builds / f"src-{label}"))


def walltime_comparison(samples: dict, rungs: list[str], gate: float | None) -> timings.Comparison:
    medians = {
        label: {r: statistics.median(s[r]) * 1e3 for r in rungs} for label, s in samples.items()
    }
    threshold = REGRESSION_THRESHOLD_PERCENT if gate is None else gate
    changes = [timings.Change(r, medians["base"][r], medians["head"][r]) for r in rungs]
    return timings.Comparison(changes, threshold, environment_differences=[])


def write(args, refs, changes, comparison, samples, summaries, size) -> str:
    """compare.md, compare.json and the report section; the markdown."""
    features = args.head_cargo_features
    parts = [
        f"Base {args.base} ({refs[0][:12]}) vs head {args.head or 'working tree'}"
        f"{f' ({refs[1][:12]})' if refs[1] else ''}"
        f"{f' built with --features {features}' if features else ''}, in one run on this "
        "machine.\n\n",
        instructions.gate_table(changes),
    ]
    if comparison is not None:
        gate_note = "a gate" if args.gate_walltime is not None else "shown, not a gate"
        parts += [
            f"\nWall-clock, median of {args.rounds} interleaved rounds ({gate_note}):\n\n",
            comparison.to_markdown(),
        ]
    if summaries:
        parts += [
            f"\nDifferential flamegraphs: the functions whose time per call changed beyond "
            f"sampling noise ({flamediff.FALSE_ALARM_RATE:.1%} family-wise false alarms per "
            "rung; 95% intervals). Only they are coloured, red grew, blue shrank:\n\n",
            flamegraph_table(summaries),
        ]
    text = "".join(parts) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "compare.md").write_text(text)
    counted = {"base": {c.rung: c.base for c in changes}, "head": {c.rung: c.head for c in changes}}
    (args.out / "compare.json").write_text(
        json.dumps(
            {
                "base": refs[0],
                "head": refs[1] or "working tree",
                "instructions": counted,
                "instruction_size": size,
                "samples": samples,
            },
            indent=2,
        )
    )
    report.publish(
        args.out,
        {
            "id": "compare",
            "title": "Base vs head",
            "order": 30,
            "intro": "From `ladder-bench compare BASE [HEAD]`.",
            "blocks": [{"markdown": "compare.md"}],
        },
    )
    return text


def _git(workspace: Path, *args: str) -> str:
    completed = subprocess.run(["git", *args], cwd=workspace, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {completed.stderr.strip()}")
    return completed.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
