"""The main job, run by ``tox -e bench``: time every declared rung, profile every rung,
run the project's criterion benches, and write it all into ``profiles/``.

    ladder-bench [--quick] [--rungs v1,v5_find_all_in_rust] [--scale] [--instructions]
        [--compare OLD/timings.json [--threshold 10] [--fail-on-regression]]

Writes ``timings.json`` (raw results and environment), ``timings.md`` (the table, also
printed at the end), ``speedup.svg``, ``flamegraphs/<rung>.svg|.speedscope.json|.folded``,
``criterion.md|.json``, with ``--instructions`` ``instructions.json|.md``, with
``--scale`` ``scaling.json|.md|.png``, with ``--compare`` ``regressions.md``, and
``index.html`` (open this first), drawn from the sections in ``sections/``.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import (
    cli,
    config,
    criterion,
    environment,
    instructions,
    profiling,
    report,
    scaling,
    timings,
    tools,
)
from .harness import bench_environ

BENCH_MODULE = Path(__file__).with_name("bench_rungs.py")


class Mode:
    """How long each phase spends: ``quick`` for CI (under 3 minutes after the build)."""

    def __init__(self, quick: bool):
        self.quick = quick
        # pytest-benchmark calibrates iterations per round itself; these bound the rounds.
        self.benchmark_options = (
            ["--benchmark-min-rounds=5", "--benchmark-max-time=0.25"]
            if quick
            else ["--benchmark-min-rounds=15", "--benchmark-max-time=2.0"]
        )
        # py-spy samples per second and whole seconds per recording (py-spy takes no
        # fractions): at least 200 samples either way.
        self.profile_rate, self.profile_seconds = (200, 2) if quick else (100, 4)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = cli.ArgumentParser(prog="ladder-bench bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds, shorter profiles")
    parser.add_argument("--rungs", help="comma-separated (default: every declared rung)")
    parser.add_argument("--out", type=Path, default=Path("profiles"), help="output folder")
    config.add_options(parser)
    parser.add_argument("--no-profiles", action="store_true", help="skip the py-spy phase")
    parser.add_argument("--no-criterion", action="store_true", help="skip cargo bench")
    parser.add_argument(
        "--scale", action="store_true", help="also run the scaling sweep (quick with --quick)"
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count instructions per call under callgrind (quick size with --quick)",
    )
    parser.add_argument("--compare", type=Path, help="an earlier timings.json (or "
                        "pytest-benchmark's --benchmark-json file) to check against")  # fmt: skip
    timings.add_regression_options(parser)
    args = parser.parse_args(argv)
    args.ladder, args.selected = config.from_options(parser, args, args.rungs)
    args.old_timings = None
    if args.compare:  # checked now: a bad file must not cost a whole run first
        try:
            args.old_timings = timings.load_baseline(args.compare)
        except timings.BaselineError as error:
            parser.error(f"--compare: {error}")
        old_rungs = [row["rung"] for row in args.old_timings["rungs"]]
        if not set(old_rungs) & {rung.name for rung in args.selected}:
            parser.error(f"--compare: {args.compare} times none of the rungs timed now "
                         f"(it has {', '.join(old_rungs[:5])})")  # fmt: skip
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    ladder, rungs, mode = args.ladder, args.selected, Mode(args.quick)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("timings", "flamegraphs", "criterion", "regressions", "environment"):
        report.withdraw(out, stale)
    criterion_on = bool(ladder.criterion_package) and not args.no_criterion
    phases = 3 - args.no_profiles + criterion_on + args.scale + args.instructions
    announce = _announcer(phases)

    announce(f"timing {len(rungs)} rungs with pytest-benchmark")
    env = environment.describe(args.workspace, ladder.distribution)
    settings = {"quick": mode.quick, "benchmark_options": mode.benchmark_options}
    raw = run_benchmarks(ladder, rungs, mode)
    order = [rung.name for rung in rungs]
    result = timings.from_benchmark_json(raw, order, ladder.baseline, env, settings)
    report.publish(out, timings.write(out, result))
    report.publish(out, environment.section(env))

    if not args.no_profiles:
        announce(f"profiling {len(rungs)} rungs with py-spy --native")
        profile_all(ladder, rungs, out, mode, args.workspace)
    if criterion_on:
        announce("criterion benches of the Rust core (cargo bench)")
        criterion.run(args.workspace, quick=mode.quick, package=ladder.criterion_package)
        results = criterion.collect(args.workspace / "target" / "criterion")
        report.publish(out, criterion.write(out, results))
    if args.instructions:
        announce("instructions per call under callgrind")
        size = ladder.quick_size if mode.quick else ladder.default_size
        instructions.run(out, args.workspace, ladder, rungs, None, size, result)
    if args.scale:
        announce("the scaling sweep")
        scaling.run(out, args.workspace, ladder, scaling.Settings.defaults(ladder, mode.quick))

    announce("the report")
    return finish(args, out, result)


def finish(args: argparse.Namespace, out: Path, result: dict) -> int:
    """Print the table and the regression check; the exit status."""
    comparison = None
    if args.old_timings is not None:
        comparison = timings.compare(args.old_timings, result, args.threshold)
        (out / "regressions.md").write_text(comparison.to_markdown())
        report.publish(out, {"id": "regressions", "title": "Regression check", "order": 50,
                             "blocks": [{"markdown": "regressions.md"}]})  # fmt: skip
    index = report.render(out)
    print(f"\n{timings.to_markdown(result)}")
    if comparison is not None:
        print(comparison.to_markdown())
    print(f"Wrote {out}; open {index} first.")
    return 1 if comparison is not None and comparison.regressions and args.fail_on_regression else 0


def _announcer(phases: int):
    started, phase = time.perf_counter(), iter(range(1, phases + 1))

    def announce(text: str) -> None:
        elapsed = time.perf_counter() - started
        print(f"\n== [{next(phase)}/{phases}] {text} ({elapsed:.0f}s)", flush=True)

    return announce


def profile_all(ladder: config.Config, rungs: list, out: Path, mode: Mode, workspace: Path) -> None:
    profiles = []
    descriptions = {rung.name: rung.summary() for rung in rungs}
    # Found (or installed) first: cargo's messages must not split a rung's progress line.
    tools.rustfilt(workspace)
    tools.inferno(workspace)
    for rung in rungs:
        print(f"   {rung.name}: recording", end="", flush=True)
        profile = profiling.record(
            workspace, ladder.path, rung.name, descriptions[rung.name],
            out / "flamegraphs", mode.profile_seconds, mode.profile_rate,
        )  # fmt: skip
        print(f", {profile.recording.describe()}", flush=True)
        profiles.append(profile)
    report.publish(out, profiling.section(out, profiles, descriptions))


def run_benchmarks(ladder: config.Config, rungs: list, mode: Mode) -> dict:
    """pytest-benchmark on the harness's benchmark module, in a child process."""
    with tempfile.TemporaryDirectory() as scratch:
        raw_path = Path(scratch) / "benchmark.json"
        command = [
            sys.executable, "-m", "pytest", str(BENCH_MODULE), "-v", "-p", "no:cacheprovider",
            "--rootdir", scratch, "-o", "addopts=", "--benchmark-only",
            "--benchmark-warmup=on", "--benchmark-sort=name",
            "--benchmark-columns=median,iqr,min,max,rounds,iterations",
            f"--benchmark-json={raw_path}", *mode.benchmark_options,
        ]  # fmt: skip
        child_env = {
            **bench_environ(),
            "LADDER_BENCH_CONFIG": str(ladder.path),
            "LADDER_BENCH_RUNGS": ",".join(rung.name for rung in rungs),
        }
        subprocess.run(command, check=True, env=child_env, cwd=scratch)
        return json.loads(raw_path.read_text())


if __name__ == "__main__":
    sys.exit(main())
