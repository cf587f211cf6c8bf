"""The main job, run by ``tox -e bench``: time every rung, profile every rung, run the
criterion benches of the Rust core, and write it all into ``profiles/``.

    python -m poly_match.pipeline [--quick] [--rungs v1,v5_find_all_in_rust] [--scale]
        [--instructions]
        [--compare OLD/timings.json [--threshold 10] [--fail-on-regression]]

Writes ``timings.json`` (raw results and environment), ``timings.md`` (the table, also
printed at the end), ``flamegraphs/<rung>.svg|.speedscope.json|.folded``,
``criterion.md``, with ``--instructions`` callgrind's ``instructions.json|.md``
(``poly_match.instructions``), with ``--scale`` the scaling sweep's ``scaling.json|.md|.png``
(``poly_match.scaling``), and ``index.html`` (open this first).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import poly_match

from . import criterion, environment, instructions, profiling, report, scaling, timings


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
        # py-spy samples per second and seconds per recording: at least 200 samples either way.
        self.profile_rate, self.profile_seconds = (250, 1.2) if quick else (100, 4.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m poly_match.pipeline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds, shorter profiles")
    parser.add_argument("--rungs", default=",".join(poly_match.RUNG_NAMES), help="comma-separated")
    parser.add_argument("--out", type=Path, default=Path("profiles"), help="output folder")
    parser.add_argument(
        "--workspace", type=Path, default=Path(), help="the repository (for cargo, git, tests)"
    )
    parser.add_argument("--no-profiles", action="store_true", help="skip the py-spy phase")
    parser.add_argument("--no-criterion", action="store_true", help="skip cargo bench")
    parser.add_argument(
        "--scale", action="store_true", help="also run the scaling sweep (quick with --quick)"
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count instructions per call under callgrind (small example with --quick)",
    )
    parser.add_argument("--compare", type=Path, help="an earlier timings.json to check against")
    timings.add_regression_options(parser)
    args = parser.parse_args(argv)

    rungs = [name for name in args.rungs.split(",") if name]
    unknown = sorted(set(rungs) - set(poly_match.RUNG_NAMES))
    if unknown:
        parser.error(f"unknown rungs {unknown}; known: {', '.join(poly_match.RUNG_NAMES)}")
    old_timings = json.loads(args.compare.read_text()) if args.compare else None
    mode = Mode(args.quick)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    phases = 4 - args.no_profiles - args.no_criterion + args.scale + args.instructions
    phase = iter(range(1, phases + 1))

    def announce(text: str) -> None:
        print(
            f"\n== [{next(phase)}/{phases}] {text} ({time.perf_counter() - started:.0f}s)",
            flush=True,
        )

    announce(f"timing {len(rungs)} rungs with pytest-benchmark")
    raw = run_benchmarks(args.workspace, rungs, mode)
    env = environment.describe(args.workspace.resolve())
    settings = {"quick": mode.quick, "benchmark_options": mode.benchmark_options}
    result = timings.from_benchmark_json(raw, env, settings)

    profiles = []
    if not args.no_profiles:
        announce(f"profiling {len(rungs)} rungs with py-spy --native")
        for rung in rungs:
            print(f"   {rung}: recording", end="", flush=True)
            profile = profiling.record(
                rung, out / "flamegraphs", mode.profile_seconds, mode.profile_rate
            )
            print(f", {profile.samples['flamegraph']} samples", flush=True)
            profiles.append(profile)
        result["profiles"] = {
            p.rung: {
                "files": {k: v.relative_to(out).as_posix() for k, v in p.files.items()},
                "samples": p.samples,
            }
            for p in profiles
        }

    # The page shows what is in out/: nothing left over from an earlier run of this job.
    for leftover in ("criterion.md", "criterion.json", "regressions.md"):
        (out / leftover).unlink(missing_ok=True)
    if not args.no_criterion:
        announce("criterion benches of the Rust core (cargo bench)")
        criterion.run(args.workspace.resolve(), quick=mode.quick)
        results = criterion.collect(args.workspace.resolve() / "target" / "criterion")
        (out / "criterion.md").write_text(criterion.to_markdown(results))
        (out / "criterion.json").write_text(json.dumps(results, indent=2))

    if args.instructions:
        announce("instructions per call under callgrind")
        size = instructions.QUICK_SIZE if mode.quick else (1000, 100)
        rungs_and_api = (
            [*rungs, instructions.ARRAY_API] if rungs == list(poly_match.RUNG_NAMES) else rungs
        )
        instructions.run(out, args.workspace.resolve(), rungs_and_api, None, size, result)

    if args.scale:
        announce("the scaling sweep (rungs, array API, peers)")
        sizes, budget, min_time = scaling.defaults(mode.quick)
        scaling.run(out, args.workspace.resolve(), sizes, scaling.approaches(), budget, min_time)

    announce("writing the report")
    (out / "timings.json").write_text(json.dumps(result, indent=2))
    table = timings.to_markdown(result)
    (out / "timings.md").write_text(table)
    comparison = None
    if old_timings is not None:
        comparison = timings.compare(old_timings, result, args.threshold)
        (out / "regressions.md").write_text(comparison.to_markdown())
    index = report.write_index(out)

    print(f"\n{table}")
    if comparison is not None:
        print(comparison.to_markdown())
    print(f"Wrote {out}; open {index} first. Took {time.perf_counter() - started:.0f}s.")
    if comparison is not None and comparison.regressions and args.fail_on_regression:
        return 1
    return 0


def run_benchmarks(workspace: Path, rungs: list[str], mode: Mode) -> dict:
    """pytest-benchmark on tests/benchmarks, in a child process with one BLAS thread."""
    with tempfile.TemporaryDirectory() as scratch:
        raw_path = Path(scratch) / "benchmark.json"
        command = [
            sys.executable, "-m", "pytest", str(workspace / "tests" / "benchmarks"),
            "-v", "-p", "no:cacheprovider", "--benchmark-enable", "--benchmark-only",
            "--benchmark-warmup=on", "--benchmark-sort=name",
            "--benchmark-columns=median,iqr,min,max,rounds,iterations",
            f"--benchmark-json={raw_path}", *mode.benchmark_options,
        ]  # fmt: skip
        child_env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
        if rungs != list(poly_match.RUNG_NAMES):  # a subset: the array API only when asked
            child_env["POLY_MATCH_RUNGS"] = ",".join(rungs)
        subprocess.run(command, check=True, env=child_env)
        return json.loads(raw_path.read_text())


if __name__ == "__main__":
    sys.exit(main())
