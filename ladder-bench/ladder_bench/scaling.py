"""The scaling sweep: every rung and every peer the configuration declares, timed on ever
larger workloads (also ``ladder-bench bench --scale``).

    ladder-bench scale [--quick] [--sizes n=1000,m=100;n=10000,m=100] [--budget 10]

The sizes are ``scaling-sizes`` in the configuration; "work" is the product of a size's
``work-keys`` (default: all its numbers). A size with other keys too (flags such as
``far_outliers = 1``) is a variant of the size with the work keys alone: the report sets
each approach's time on the variant against its time on that size. An approach whose
entry lists ``sizes`` runs at those sizes only. Each (approach, size) runs in a fresh
harness child, so that its peak memory is its own: the workload is built, one warm-up
call pays for imports, JIT compilation and thread pools, the kernel's peak-RSS mark is
reset, and then the calls are timed. "Peak memory" is how far the resident set rose
above the inputs during the calls. An approach whose time, projected from its previous
size as if it grew with the work, exceeds the budget is skipped at that size and every
larger one (of the same variant); its ``extra`` hook's numbers, if any, are kept with
its row.

Every answer (made comparable by the rung's ``answer`` hook) is compared with the
``reference`` rung's at the same size, by the configuration's ``agreement`` hook (or
element by element). Writes ``scaling.json``, ``scaling.md`` and, where matplotlib is
installed (``pip install "ladder-bench[scale]"``), the plot ``scaling.png``.
"""

import math
import pickle
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import cli, config, harness, report, scaling_report
from .display import duration, progress
from .preflight import exact_agreement


@dataclass(frozen=True)
class Settings:
    sizes: list[dict]
    budget: float  # seconds per call beyond which an approach is skipped
    min_time: float  # seconds of calls per cell

    @staticmethod
    def defaults(ladder: config.Config, quick: bool) -> "Settings":
        if quick:
            return Settings(ladder.scaling_sizes[: ladder.quick_scaling_sizes], 1.0, 0.3)
        return Settings(ladder.scaling_sizes, 10.0, 2.0)


def work(size: dict, work_keys: list[str] | None = None) -> int:
    return math.prod(scaling_report.split(size, work_keys)[0].values())


def variant(size: dict, work_keys: list[str] | None = None) -> tuple:
    """What makes ``size`` a variant: its keys beyond the work keys (empty for a plain size)."""
    return scaling_report.split(size, work_keys)[1]


def measure(ladder: config.Config, name: str, size: dict, min_time: float, scratch: str):
    """One (approach, size) in a fresh process; its summary and its answer."""
    request = {
        "config": str(ladder.path),
        "rungs": [name],
        "size": size,
        "calls": 3,
        "seconds": min_time,
        "max_calls": 200,
        "memory": True,
        "answer_dir": scratch,
    }
    reply = harness.run_child(sys.executable, request)[name]
    if reply["status"] != "ok":
        raise RuntimeError(f"{name} at {size}: {reply}")
    times = sorted(reply["times"])
    quartiles = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
    summary = {
        "median_s": statistics.median(times),
        "iqr_s": quartiles[2] - quartiles[0],
        "min_s": times[0],
        "runs": len(times),
        "peak_extra_mib": reply["peak_extra_mib"],
        "peak_rss_mib": reply["peak_rss_mib"],
        **({"extra": reply["extra"]} if "extra" in reply else {}),
    }
    return summary, pickle.loads(Path(reply["answer"]).read_bytes())


def sweep(ladder: config.Config, names: list[str], settings: Settings, log=progress) -> list[dict]:
    """Measure every approach at every size (of its ``sizes``, if it lists them), in size
    order, skipping what would not fit: an approach skipped once, or projected past the
    budget from its last size of the same variant (else of the plain size), in proportion
    to the work."""
    rows: list[dict] = []
    # (approach, variant) -> (work, median) at its last size of that variant
    last: dict[tuple[str, tuple], tuple[int, float]] = {}
    skipped: set[tuple[str, tuple]] = set()  # (approach, variant); () skips every variant
    keys = ladder.work_keys
    with tempfile.TemporaryDirectory() as scratch:
        for size in settings.sizes:
            log(f"== {scaling_report.label(size, keys)}")
            answers = {}
            size_variant = variant(size, keys)
            for name in names:
                approach = ladder.rung(name)
                if approach.sizes is not None and size not in approach.sizes:
                    continue
                amount = work(size, keys)
                row = {"approach": name, "kind": approach.kind, "size": size, "work": amount}
                previous = last.get((name, size_variant)) or last.get((name, ()))
                projected = previous[1] * amount / previous[0] if previous else None
                over_budget = (projected or 0.0) > settings.budget
                if {(name, size_variant), (name, ())} & skipped or over_budget:
                    skipped.add((name, size_variant))
                    rows.append({**row, "status": "skipped", "projected_s": projected})
                    log(f"   {name:<20} skipped (projected {duration(projected)})")
                    continue
                summary, answers[name] = measure(ladder, name, size, settings.min_time, scratch)
                rows.append({**row, "status": "measured", **summary})
                last[(name, size_variant)] = (amount, summary["median_s"])
                median, peak = duration(summary["median_s"]), summary["peak_extra_mib"]
                log(f"   {name:<20} {median:>10}  +{peak:.1f} MiB ({summary['runs']} runs)")
            check_answers(ladder, [r for r in rows if r["size"] == size], answers, size, log)
    return rows


def check_answers(ladder: config.Config, rows: list[dict], answers: dict, size: dict, log) -> None:
    reference = ladder.reference if ladder.reference in answers else next(iter(answers), None)
    if reference is None:
        return
    agree = config.resolve(ladder.agreement, ladder.root) if ladder.agreement else exact_agreement
    for row in rows:
        if row["approach"] in answers:
            row["agreement"] = {
                **agree(answers[row["approach"]], answers[reference], size),
                "reference": reference,
            }
            if row["agreement"]["different"]:
                log(f"   {row['approach']} DISAGREES with {reference}: {row['agreement']}")


def run(out: Path, workspace: Path, ladder: config.Config, settings: Settings, names=None) -> dict:
    """The sweep, its three files and its report section."""
    names = names or [r.name for r in ladder.sweep_approaches]
    rows = sweep(ladder, names, settings)
    result = scaling_report.result(workspace, ladder, settings, rows)
    out.mkdir(parents=True, exist_ok=True)
    report.publish(out, scaling_report.write(out, result))
    return result


def parse_sizes(text: str) -> list[dict]:
    """``key=value,key=value;...``: one size per ``;``-separated item."""
    return [config.parse_size(item) for item in text.split(";") if item.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="ladder-bench scale", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the first sizes, 1 s budget")
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        help="one size per ';', e.g. n=1000;n=10000 (default: scaling-sizes in the configuration)",
    )
    parser.add_argument("--approaches", help="comma-separated (default: every rung and peer)")
    parser.add_argument(
        "--budget",
        type=cli.positive_number,
        help="seconds per call beyond which an approach is skipped (default 10, quick 1)",
    )
    parser.add_argument(
        "--min-time",
        type=cli.positive_number,
        help="seconds of calls per cell (default 2, quick 0.3)",
    )
    parser.add_argument("--out", type=Path, default=Path("profiles"))
    config.add_options(parser)
    args = parser.parse_args(argv)
    ladder, approaches = config.from_options(parser, args, args.approaches, peers=True)
    if sys.platform != "linux":
        parser.error("the sweep reads peak memory from /proc: it runs on Linux only")
    defaults = Settings.defaults(ladder, args.quick)
    settings = Settings(
        args.sizes or defaults.sizes,
        defaults.budget if args.budget is None else args.budget,
        defaults.min_time if args.min_time is None else args.min_time,
    )
    report.begin_run(args.workspace)
    started = time.perf_counter()
    names = [approach.name for approach in approaches]
    result = run(args.out.resolve(), args.workspace, ladder, settings, names)
    print(f"\n{scaling_report.to_markdown(result)}")
    drawn = (args.out / "scaling.png").exists()  # where matplotlib is installed
    files = "scaling.json, scaling.md and scaling.png" if drawn else "scaling.json and scaling.md"
    print(f"Wrote {files} into {args.out.resolve()} in {time.perf_counter() - started:.0f}s.")
    if not drawn:
        print(scaling_report.NO_PLOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
