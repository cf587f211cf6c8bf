"""The main job, ``ladder-bench bench`` (or ``ladder-bench`` alone): check the ladder, time
every declared rung, profile every rung, run the project's criterion benches, and write
it all into ``profiles/``.

    ladder-bench [--quick] [--rungs v1,v2] [--scale] [--instructions] [--allow-disagreement]
        [--compare OLD/timings.json [--threshold 10] [--fail-on-regression]] [--strict]

Before anything is measured, one child process checks the ladder (``ladder_bench.preflight``):
every hook imports, every workload builds at the quick size, and every rung answers as the
reference rung does; a mistake ends the run at once with one line naming the rung, the key
and the fix (exit status 2). With ``--allow-disagreement`` a rung whose answer differs is
timed anyway and marked in the table. The rungs are timed on the quick size under
``--quick``, else on the default size; the table, ``timings.json`` and the page say which,
and which build of the package was timed (with a warning when it may not be the checkout).
Whether the run can be trusted is judged from its spreads and from the machine, sampled
just before and after the timing phase (``ladder_bench.noise``): a noisy run says so in
the table, ``timings.json`` and the page, and with ``--strict`` exits with status 1.

Writes ``timings.json`` (raw results and environment), ``timings.md`` (the table, also
printed at the end), ``speedup.svg``, ``flamegraphs/<rung>.svg|.speedscope.json|.folded``,
``layers.json|.md|.svg`` (where each rung's time goes), ``criterion.md|.json``, with
``--instructions`` ``instructions.json|.md``, with ``--scale`` ``scaling.json|.md|.png``,
with ``--compare`` ``regressions.md``, and ``index.html`` (open this first), drawn from
the sections in ``sections/``.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.etree import ElementTree

from . import (
    cli,
    config,
    criterion,
    environment,
    instructions,
    layers,
    noise,
    preflight,
    profiling,
    report,
    scaling,
    timings,
    tools,
)
from .display import size_label
from .harness import bench_environ

BENCH_MODULE = Path(__file__).with_name("bench_rungs.py")


class Mode:
    """How long each phase spends: ``quick`` for CI (under 3 minutes after the build), and
    the profiling options (``profiling.add_options``) where given."""

    def __init__(self, quick: bool, options: argparse.Namespace | None = None):
        self.quick = quick
        # pytest-benchmark calibrates iterations per round itself; these bound the rounds.
        self.benchmark_options = (
            ["--benchmark-min-rounds=5", "--benchmark-max-time=0.25"]
            if quick
            else ["--benchmark-min-rounds=15", "--benchmark-max-time=2.0"]
        )
        # Samples per second and whole seconds per recording (py-spy takes no fractions):
        # at least 200 samples either way.
        self.profile_rate, self.profile_seconds = (200, 2) if quick else (100, 4)
        self.profiler = None  # each rung's own choice, else auto
        if options is not None:
            self.profile_rate = options.profile_rate or self.profile_rate
            self.profile_seconds = options.profile_seconds or self.profile_seconds
            self.profiler = options.profiler


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = cli.ArgumentParser(prog="ladder-bench bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds, shorter profiles")
    parser.add_argument("--rungs", help="comma-separated (default: every declared rung)")
    parser.add_argument("--out", type=Path, default=Path("profiles"), help="output folder")
    config.add_options(parser)
    parser.add_argument("--no-profiles", action="store_true", help="skip the flamegraphs")
    profiling.add_options(parser)
    parser.add_argument("--no-criterion", action="store_true", help="skip cargo bench")
    parser.add_argument(
        "--scale", action="store_true", help="also run the scaling sweep (quick with --quick)"
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count instructions per call under callgrind (quick size with --quick)",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        help="an earlier timings.json (or "
        "pytest-benchmark's --benchmark-json file) to check against",
    )
    parser.add_argument(
        preflight.ALLOW_OPTION,
        action="store_true",
        help="time a rung whose answer differs from the reference's anyway, marked as such",
    )
    timings.add_regression_options(parser)
    timings.add_strict_option(parser, "the timings are")
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
            parser.error(
                f"--compare: {args.compare} times none of the rungs timed now "
                f"(it has {', '.join(old_rungs[:5])})"
            )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    ladder, rungs, mode = args.ladder, args.selected, Mode(args.quick, args)
    criterion_on = bool(ladder.criterion_package) and not args.no_criterion
    phases = 4 - args.no_profiles + criterion_on + args.scale + args.instructions
    announce = _announcer(phases)
    report.begin_run(args.workspace)

    announce(f"checking {len(rungs)} rungs at the quick size ({size_label(ladder.quick_size)})")
    try:
        checked = preflight.run(
            ladder,
            rungs,
            allow_disagreement=args.allow_disagreement,
            resolve_only=[*ladder.peers, *ladder.sweep_rungs] if args.scale else [],
        )
    except preflight.PreflightError as error:
        print(f"ladder-bench bench: {error}", file=sys.stderr)
        return 2
    rungs = checked.described(rungs)  # no import of the library in this process
    for line in checked.disagreements.values():
        print(f"   timed anyway ({preflight.ALLOW_OPTION}): {line.partition('; ')[0]}")
    env = environment.describe(args.workspace, ladder.distribution, build=checked.build)
    if env["build"]["warning"]:
        print(f"ladder-bench bench: warning: {env['build']['warning']}", file=sys.stderr)

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("timings", "layers", "flamegraphs", "criterion", "regressions", "environment"):
        report.withdraw(out, stale)
    size = ladder.quick_size if mode.quick else ladder.default_size
    size_name = "quick-size" if mode.quick else "default-size"
    announce(f"timing {len(rungs)} rungs with pytest-benchmark, {size_label(size)} ({size_name})")
    settings = {
        "quick": mode.quick,
        "benchmark_options": mode.benchmark_options,
        "size_key": size_name,
        "allow_disagreement": args.allow_disagreement,
    }
    before = noise.sample()
    try:
        raw = run_benchmarks(ladder, rungs, mode, size)
    except MeasureError as error:
        print(f"ladder-bench bench: {error}", file=sys.stderr)
        return 1
    machine = (before, noise.sample())
    order = [rung.name for rung in rungs]
    result = timings.from_benchmark_json(
        raw, order, ladder.baseline, env, settings, size, checked.agreements, machine
    )
    if not result["noise"]["trustworthy"]:
        print(
            f"ladder-bench bench: warning: the timings are noisy: "
            f"{'; '.join(result['noise']['reasons'])}",
            file=sys.stderr,
        )
    report.publish(out, timings.write(out, result))
    report.publish(out, environment.section(env))

    if not args.no_profiles:
        announce(f"profiling {len(rungs)} rungs (py-spy; perf where native threads work)")
        profile_all(ladder, rungs, out, mode, args.workspace)
    if criterion_on:
        announce("criterion benches of the Rust core (cargo bench)")
        criterion.run(args.workspace, quick=mode.quick, package=ladder.criterion_package)
        results = criterion.collect(args.workspace / "target" / "criterion")
        report.publish(out, criterion.write(out, results))
    if args.instructions:
        announce("instructions per call under callgrind")
        instructions.run(out, args.workspace, ladder, rungs, None, size, result)
    if args.scale:
        announce("the scaling sweep")
        scaling.run(out, args.workspace, ladder, scaling.Settings.defaults(ladder, mode.quick))

    announce("the report")
    return finish(args, out, result)


def finish(args: argparse.Namespace, out: Path, result: dict) -> int:
    """Print the table and the regression check; the exit status (1 on a regression with
    ``--fail-on-regression``, on a noisy run with ``--strict``)."""
    comparison = None
    if args.old_timings is not None:
        comparison = timings.compare(args.old_timings, result, args.threshold)
        (out / "regressions.md").write_text(comparison.to_markdown())
        report.publish(
            out,
            {
                "id": "regressions",
                "title": "Regression check",
                "order": 50,
                "blocks": [{"markdown": "regressions.md"}],
            },
        )
    index = report.render(out)
    print(f"\n{timings.to_markdown(result)}")
    if comparison is not None:
        print(comparison.to_markdown())
    print(f"Wrote {out}; open {index} first.")
    strict = noise.strict_failure(result["noise"]) if args.strict else None
    if strict:
        print(f"ladder-bench bench: {strict}", file=sys.stderr)
        return 1
    return 1 if comparison is not None and comparison.regressions and args.fail_on_regression else 0


def _announcer(phases: int):
    started, phase = time.perf_counter(), iter(range(1, phases + 1))

    def announce(text: str) -> None:
        elapsed = time.perf_counter() - started
        print(f"\n== [{next(phase)}/{phases}] {text} ({elapsed:.0f}s)", flush=True)

    return announce


def profile_all(ladder: config.Config, rungs: list, out: Path, mode: Mode, workspace: Path) -> None:
    """A flamegraph of every rung, on the workload its timings were of. A rung that cannot
    be recorded well gets a note instead, here and on the page; the run goes on."""
    profiles = []
    descriptions = {rung.name: rung.summary() for rung in rungs}
    size = ladder.quick_size if mode.quick else ladder.default_size
    flamegraphs = out / "flamegraphs"
    try:
        # Found (or installed) first: cargo's messages must not split a rung's progress line.
        tools.inferno(workspace)
        recorder = profiling.Recorder(
            workspace, mode.profile_seconds, mode.profile_rate, mode.profiler or "auto"
        )
    except tools.Missing as error:
        recorder, missing = None, f"no flamegraphs: {error}"
    for rung in rungs:
        print(f"   {rung.name}: recording", end="", flush=True)
        if recorder is None:
            profile = profiling.unrecorded(rung.name, flamegraphs, missing)
        else:
            choice = mode.profiler or rung.profiler  # the command line's, else the rung's
            try:
                profile = recorder.profile(
                    ladder.path, rung.name, descriptions[rung.name], flamegraphs, size, choice
                )
            except Exception as error:  # a fault of this tool's: the timings stand anyway
                note = f"profiling failed: {type(error).__name__}: {error}"
                profile = profiling.unrecorded(rung.name, flamegraphs, note)
        described = profile.recording.describe() if profile.recording else "no flamegraph"
        print(f", {described}", flush=True)
        for note in profile.notes:
            print(f"      note: {note}", flush=True)
        profiles.append(profile)
    workload = f"{size_label(size)} ({'quick-size' if mode.quick else 'default-size'})"
    report.publish(out, profiling.section(out, profiles, descriptions, workload))
    report.publish(out, layers.section(out, profiles, ladder.layers))


class MeasureError(Exception):
    """Timing failed; the message is one line naming the rung and the cause."""


def run_benchmarks(ladder: config.Config, rungs: list, mode: Mode, size: dict | None = None):
    """pytest-benchmark on the harness's benchmark module, in a child process, on the
    workload of ``size`` (default: the default size). A rung that fails is a
    ``MeasureError`` naming it and pytest's cause (its report, above, has the rest)."""
    with tempfile.TemporaryDirectory() as scratch:
        raw_path, report_path = Path(scratch) / "benchmark.json", Path(scratch) / "junit.xml"
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(BENCH_MODULE),
            "-v",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            scratch,
            "-o",
            "addopts=",
            "--benchmark-only",
            "--benchmark-warmup=on",
            "--benchmark-sort=name",
            "--tb=short",
            "--benchmark-columns=median,iqr,min,max,rounds,iterations",
            f"--benchmark-json={raw_path}",
            f"--junitxml={report_path}",
            *mode.benchmark_options,
        ]
        child_env = {
            **bench_environ(),
            "LADDER_BENCH_CONFIG": str(ladder.path),
            "LADDER_BENCH_RUNGS": ",".join(rung.name for rung in rungs),
            "LADDER_BENCH_SIZE": json.dumps(size),
        }
        completed = subprocess.run(command, env=child_env, cwd=scratch)
        if completed.returncode != 0 or not raw_path.is_file():
            raise MeasureError(_pytest_failure(report_path, completed.returncode))
        return json.loads(raw_path.read_text())


def _pytest_failure(report_path: Path, status: int) -> str:
    """One line from pytest's JUnit report: the first rung that failed, and why."""
    try:
        root = ElementTree.parse(report_path).getroot()
    except (OSError, ElementTree.ParseError):
        return f"pytest-benchmark exited with status {status} before reporting a rung"
    for case in root.iter("testcase"):
        for outcome in ("failure", "error"):
            found = case.find(outcome)
            if found is not None:
                rung = re.search(r"\[(.*)\]$", case.get("name", ""))
                name = f"rung {rung[1]!r}" if rung else f"pytest's {case.get('name')}"
                cause = " ".join((found.get("message") or found.text or "").split())[:300]
                return (
                    f"{name} failed while being timed: {cause}; pytest's report above has "
                    "the traceback"
                )
    return f"pytest-benchmark exited with status {status}; its report above says why"


if __name__ == "__main__":
    sys.exit(main())
