"""The scaling sweep: every rung, the array API and the peers (``poly_match.peers``) timed
on ever larger workloads, ``tox -e scale`` (or ``tox -e bench -- --scale``).

    python -m poly_match.scaling [--quick] [--sizes 1000x100,10000x1000] [--budget 10]

Workloads keep the example's density (1000 polygons per 100 x 100) and grow from the
default 1,000 polygons x 100 points to 100,000 x 100,000, a decade of work (polygons x
points) per step. Each (approach, size) runs in a fresh process, so that its peak memory
is its own: the inputs are built, one warm-up call on a single point pays for imports,
JIT compilation and thread pools, the kernel's peak-RSS mark is reset, and then the calls
are timed. "Peak memory" is how far the resident set rose above the inputs during the
calls. An approach whose time, projected from its previous size as if it grew with the
work, exceeds the budget is skipped at that size and every larger one.

Every answer is compared with the array API's at the same size (the tests compare both
with the oracle); picks that differ only where rounding decides (areas within 1e-9,
distances within 1e-12 of max_dist) are counted as ties, anything else as a disagreement.

Writes ``scaling.json``, ``scaling.md`` and the log-log plot ``scaling.png`` into --out.
"""

import argparse
import ctypes
import gc
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import poly_match

from . import environment, example, peers, report
from .v1 import MAX_DIST

ARRAY_API = "array API"
SIZES = (
    (1_000, 100),
    (1_000, 1_000),
    (10_000, 1_000),
    (10_000, 10_000),
    (100_000, 10_000),
    (100_000, 100_000),
)
QUICK_SIZES = SIZES[:3]
INDEX_RUNG = "v7_grid_parallel"
# Mismatches within these are decided by rounding (see tests/oracle.py for the reasoning).
AREA_RTOL, DISTANCE_RTOL = 1e-9, 1e-12


def defaults(quick: bool) -> tuple[tuple[tuple[int, int], ...], float, float]:
    """Sizes, budget (seconds per call) and seconds of calls per cell; quick is CI's form."""
    return (QUICK_SIZES, 1.0, 0.3) if quick else (SIZES, 10.0, 2.0)


def approaches() -> list[str]:
    return [*poly_match.RUNG_NAMES, ARRAY_API, *peers.PEERS]


def kind(approach: str) -> str:
    if approach in poly_match.RUNG_NAMES:
        return "rung"
    return "array API" if approach == ARRAY_API else "peer"


def example_arrays(n_polygons: int, n_points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The example's polygons as centers and shoelace areas, and its points."""
    centers, areas, _, points = _example_with_area_errors(n_polygons, n_points)
    return centers, areas, points


def _example_with_area_errors(n_polygons: int, n_points: int):
    """Also a bound on each area's rounding error: n * eps * sum(|terms|) (Higham 4.2).
    Far from the origin the terms are large and "equal" areas differ by more than 1e-9."""
    polygons, points = example.generate_example(lambda x, y: (x, y), n_polygons, n_points)
    xs = np.array([x for x, _ in polygons]).reshape(n_polygons, -1)
    ys = np.array([y for _, y in polygons]).reshape(n_polygons, -1)
    centers = np.column_stack([xs.mean(axis=1), ys.mean(axis=1)]).reshape(n_polygons, 2)
    left, right = xs * np.roll(ys, 1, axis=1), ys * np.roll(xs, 1, axis=1)
    areas = 0.5 * np.abs((left - right).sum(axis=1))
    errors = xs.shape[1] * np.finfo(np.float64).eps * (np.abs(left) + np.abs(right)).sum(axis=1)
    return centers, areas, errors, points


def rung_indices(result: list, polygons: list, points: np.ndarray) -> np.ndarray:
    """A rung's ``[(point, polygon)]`` as the array API's answer: matched points come in
    input order, so one pass over the points lines them up."""
    position = {id(polygon): k for k, polygon in enumerate(polygons)}
    best = np.full(len(points), -1, dtype=np.int64)
    rows = points.tolist()
    i = 0
    for point, polygon in result:
        while rows[i] != [point[0], point[1]]:
            i += 1
        best[i] = position[id(polygon)]
        i += 1
    return best


def _memory_kib() -> dict[str, int]:
    status = Path("/proc/self/status").read_text()
    return {key: int(value) for key, value in re.findall(r"(VmHWM|VmRSS):\s+(\d+) kB", status)}


def measure_in_this_process(
    approach: str, n_polygons: int, n_points: int, min_time: float, answer: Path
) -> dict:
    """The child's side: build the inputs, warm up, time the calls, save the answer."""
    if kind(approach) == "rung":
        rung = poly_match.VERSIONS[approach]
        polygons, points = rung.generate_example(n_polygons, n_points)

        def call(some_points):
            return rung.main(polygons, some_points, MAX_DIST)

        def as_indices(result):
            return rung_indices(result, polygons, points)
    else:
        centers, areas, points = example_arrays(n_polygons, n_points)
        match = poly_match.match_points if approach == ARRAY_API else peers.PEERS[approach]

        def call(some_points):
            return match(centers, areas, some_points, MAX_DIST)

        def as_indices(result):
            return result

    call(points[:1])
    # Hand the garbage of building the inputs back to the kernel first, or the calls
    # would reuse those pages unseen; then writing 5 to clear_refs resets VmHWM (the
    # peak) to the current resident set.
    gc.collect()
    ctypes.CDLL(None).malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")
    before = _memory_kib()["VmRSS"]
    times, result = [], None
    while len(times) < 3 or (sum(times) < min_time and len(times) < 200):
        result = None  # the previous answer is not part of this call's peak
        start = time.perf_counter()
        result = call(points)
        times.append(time.perf_counter() - start)
    peak = _memory_kib()["VmHWM"]
    np.save(answer, as_indices(result))
    return {"times": times, "peak_extra_mib": (peak - before) / 1024, "peak_rss_mib": peak / 1024}


def measure(approach: str, n_polygons: int, n_points: int, min_time: float, scratch: Path):
    """One (approach, size) in a fresh process; its summary and its answer."""
    answer = scratch / "answer.npy"
    command = [
        sys.executable, "-m", "poly_match.scaling", "--child", approach,
        "--sizes", f"{n_polygons}x{n_points}", "--min-time", str(min_time),
        "--answer", str(answer),
    ]  # fmt: skip
    child_env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    completed = subprocess.run(command, capture_output=True, text=True, env=child_env)
    if completed.returncode != 0:
        raise RuntimeError(f"{approach} at {n_polygons}x{n_points} failed:\n{completed.stderr}")
    raw = json.loads(completed.stdout.strip().splitlines()[-1])
    times = sorted(raw["times"])
    quartiles = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
    summary = {
        "median_s": statistics.median(times),
        "iqr_s": quartiles[2] - quartiles[0],
        "min_s": times[0],
        "runs": len(times),
        "peak_extra_mib": raw["peak_extra_mib"],
        "peak_rss_mib": raw["peak_rss_mib"],
    }
    return summary, np.load(answer)


def agreement(answer, reference, centers, areas, area_errors, points, max_dist) -> dict:
    """How many picks equal the reference's, differ only by rounding, or really differ."""
    differ = np.flatnonzero(answer != reference)
    ties = 0
    for i in differ:
        picks = [k for k in (answer[i], reference[i]) if k >= 0]
        distances = [math.dist(centers[k], points[i]) for k in picks]
        if len(picks) == 2:
            (low, low_error), (high, high_error) = sorted((areas[k], area_errors[k]) for k in picks)
            close_enough = high <= low * (1 + AREA_RTOL) + 2 * max(low_error, high_error)
            ties += bool(close_enough and max(distances) < max_dist)
        else:  # one found nothing: fine only if the other's pick is on the boundary
            ties += bool(abs(distances[0] - max_dist) <= DISTANCE_RTOL * max_dist)
    same = len(answer) - len(differ)
    return {"same": same, "ties": ties, "different": len(differ) - ties}


def sweep(sizes, names, budget: float, min_time: float, log=print) -> list[dict]:
    """Measure every approach at every size, in size order, skipping what would not fit."""
    rows: list[dict] = []
    last_measured: dict[str, tuple[int, float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for n_polygons, n_points in sizes:
            work = n_polygons * n_points
            log(f"== {n_polygons:,} polygons x {n_points:,} points")
            answers = {}
            for name in names:
                row = {"approach": name, "kind": kind(name), "n_polygons": n_polygons,
                       "n_points": n_points, "work": work}  # fmt: skip
                projected = None
                if name in last_measured:
                    previous_work, previous_median = last_measured[name]
                    projected = previous_median * work / previous_work
                skipped_before = any(
                    r["approach"] == name and r["status"] == "skipped" for r in rows
                )
                if skipped_before or (projected is not None and projected > budget):
                    rows.append({**row, "status": "skipped", "projected_s": projected})
                    log(f"   {name:<20} skipped (projected {_seconds(projected)} > {budget} s)")
                    continue
                summary, answers[name] = measure(
                    name, n_polygons, n_points, min_time, Path(scratch)
                )
                rows.append({**row, "status": "measured", **summary})
                last_measured[name] = (work, summary["median_s"])
                log(
                    f"   {name:<20} {_seconds(summary['median_s']):>10}  "
                    f"peak +{summary['peak_extra_mib']:.1f} MiB  ({summary['runs']} runs)"
                )
            _check_answers(rows, answers, n_polygons, n_points, log)
    return rows


def _check_answers(rows, answers, n_polygons, n_points, log) -> None:
    reference_name = ARRAY_API if ARRAY_API in answers else next(iter(answers), None)
    if reference_name is None:
        return
    centers, areas, area_errors, points = _example_with_area_errors(n_polygons, n_points)
    for row in rows:
        if (
            row["n_polygons"] == n_polygons
            and row["n_points"] == n_points
            and (row["approach"] in answers)
        ):
            row["agreement"] = agreement(
                answers[row["approach"]], answers[reference_name], centers, areas, area_errors,
                points, MAX_DIST,
            )  # fmt: skip
            row["agreement"]["reference"] = reference_name
            if row["agreement"]["different"]:
                log(f"   {row['approach']} DISAGREES with {reference_name}: {row['agreement']}")


def targets(rows: list[dict]) -> list[str]:
    """The issue's targets, as measured in this run (nothing here is a fixed number)."""
    measured = {(r["approach"], r["n_polygons"], r["n_points"]): r for r in rows
                if r["status"] == "measured"}  # fmt: skip
    lines = []
    default = (example.DEFAULT_POLYGONS, example.DEFAULT_POINTS)
    v1 = measured.get(("v1", *default))
    if v1:

        def speedup(name):
            row = measured.get((name, *default))
            return row and v1["median_s"] / row["median_s"]

        same_output = [n for n in poly_match.RUNG_NAMES[1:] if speedup(n)]
        if same_output:
            best = max(same_output, key=speedup)
            lines.append(
                f"- Default example ({default[0]:,} x {default[1]:,}): fastest same-output rung "
                f"`{best}` **{speedup(best):,.0f}x** faster than v1 (target >= 1000x, aim 5000x)."
            )
        if speedup(ARRAY_API):
            lines.append(
                f"- Default example: array API **{speedup(ARRAY_API):,.0f}x** faster than v1 "
                "(target >= 5000x, aim 20000x)."
            )
        for peer in peers.PEERS:
            if speedup(peer):
                lines.append(f"- Default example: {peer} {speedup(peer):,.0f}x faster than v1.")
    sizes_with_index = [(r["n_polygons"], r["n_points"]) for r in rows
                        if r["approach"] == INDEX_RUNG and r["status"] == "measured"]  # fmt: skip
    if sizes_with_index:
        largest = max(sizes_with_index, key=lambda size: size[0] * size[1])
        peer_rows = [measured[(p, *largest)] for p in peers.PEERS if (p, *largest) in measured]
        if peer_rows:
            fastest = min(peer_rows, key=lambda r: r["median_s"])
            least_memory = min(r["peak_extra_mib"] for r in peer_rows)
            for name in (INDEX_RUNG, ARRAY_API):
                row = measured.get((name, *largest))
                if not row:
                    continue
                lines.append(
                    f"- {largest[0]:,} x {largest[1]:,}: `{name}` "
                    f"**{fastest['median_s'] / row['median_s']:,.1f}x** faster than the fastest "
                    f"peer ({fastest['approach']}, {_seconds(fastest['median_s'])}); peak memory "
                    f"+{row['peak_extra_mib']:.1f} MiB vs the peers' lowest +{least_memory:.1f} "
                    "MiB (target: >= 3x faster, aim 20x, with less memory than every peer)."
                )
    return lines


def to_markdown(result: dict) -> str:
    rows = result["rows"]
    sizes = [(s["n_polygons"], s["n_points"]) for s in result["sizes"]]
    header = "| approach | " + " | ".join(f"{m:,} x {n:,}" for m, n in sizes) + " |"
    rule = "|---|" + "---:|" * len(sizes)
    by_key = {(r["approach"], r["n_polygons"], r["n_points"]): r for r in rows}
    names = list(dict.fromkeys(r["approach"] for r in rows))

    def table(cell):
        lines = [header, rule]
        for name in names:
            cells = [cell(by_key.get((name, *size))) for size in sizes]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        return lines

    def time_cell(row):
        if row is None:
            return ""
        if row["status"] == "skipped":
            projected = row.get("projected_s")
            return f"skipped (~{_seconds(projected)})" if projected else "skipped"
        spread = 100 * row["iqr_s"] / row["median_s"] if row["median_s"] else 0.0
        return f"{_seconds(row['median_s'])} ±{spread:.0f}%"

    def memory_cell(row):
        return f"{row['peak_extra_mib']:.1f}" if row and row["status"] == "measured" else ""

    settings = result["settings"]
    agreements = [r["agreement"] for r in rows if "agreement" in r]
    different = sum(a["different"] for a in agreements)
    ties = sum(a["ties"] for a in agreements)
    return "\n".join(
        [
            "# Scaling sweep",
            "",
            f"Commit `{result['environment']['git_commit']}`, {result['environment']['date']}. "
            f"Work = polygons x points at the example's density, max_dist {MAX_DIST}. Median "
            "time per call, ± the interquartile range as a share of the median; skipped: the "
            f"time projected from the previous size exceeded the {settings['budget_s']} s "
            f"budget. Each cell is a fresh process (at least {settings['min_time_s']} s or 3 "
            "calls).",
            "",
            *table(time_cell),
            "",
            "Peak memory above the inputs during the calls (MiB):",
            "",
            *table(memory_cell),
            "",
            "Targets, measured in this run:",
            "",
            *(targets(rows) or ["- (not enough sizes measured to tell)"]),
            "",
            f"Answers compared with the array API's at each size: {different} real "
            f"disagreements, {ties} picks decided by rounding.",
            "",
        ]
    )


def plot(result: dict, path: Path) -> None:
    """Log-log time per call vs work, one line per approach."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    styles = {"rung": "-", "array API": "-", "peer": "--"}
    figure, axes = pyplot.subplots(figsize=(10, 6.5))
    names = list(dict.fromkeys(r["approach"] for r in result["rows"]))
    for name in names:
        points = [(r["work"], r["median_s"]) for r in result["rows"]
                  if r["approach"] == name and r["status"] == "measured"]  # fmt: skip
        if points:
            work, seconds = zip(*points, strict=True)
            axes.plot(work, seconds, styles[kind(name)], marker="o", label=name,
                      linewidth=2.5 if kind(name) != "rung" else 1.5)  # fmt: skip
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("work: polygons x points")
    axes.set_ylabel("median time per call (s)")
    axes.set_title(f"poly-match scaling ({result['environment']['git_commit'][:10]})")
    axes.grid(True, which="major", alpha=0.4)
    axes.legend(fontsize=8, ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def run(out: Path, workspace: Path, sizes, names, budget: float, min_time: float) -> dict:
    """The sweep and its three files."""
    rows = sweep(sizes, names, budget, min_time)
    result = {
        "environment": environment.describe(workspace),
        "settings": {"budget_s": budget, "min_time_s": min_time, "max_dist": MAX_DIST},
        "sizes": [{"n_polygons": m, "n_points": n, "work": m * n} for m, n in sizes],
        "rows": rows,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "scaling.json").write_text(json.dumps(result, indent=2))
    (out / "scaling.md").write_text(to_markdown(result))
    plot(result, out / "scaling.png")
    if (out / "timings.json").exists():  # a page from an earlier tox -e bench: add the sweep
        report.write_index(out)
    return result


def _seconds(value: float | None) -> str:
    if value is None:
        return "?"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.3g} ms"
    return f"{value * 1e6:.3g} µs"


def _sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for item in text.split(","):
        match = re.fullmatch(r"\s*(\d+)x(\d+)\s*", item)
        if not match:
            raise argparse.ArgumentTypeError(f"sizes are POLYGONSxPOINTS, got {item!r}")
        sizes.append((int(match[1]), int(match[2])))
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m poly_match.scaling",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="the three smallest sizes, 1 s budget")
    parser.add_argument("--sizes", type=_sizes, help="POLYGONSxPOINTS,... (default: all six)")
    parser.add_argument("--approaches", help="comma-separated (default: every rung, the array "
                        "API and every peer)")  # fmt: skip
    parser.add_argument("--budget", type=float, help="seconds per call beyond which an approach "
                        "is skipped (default 10, quick 1)")  # fmt: skip
    parser.add_argument("--min-time", type=float, help="seconds of calls per cell (default 2, "
                        "quick 0.3)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("profiles"))
    parser.add_argument("--workspace", type=Path, default=Path())
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--answer", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    default_sizes, default_budget, default_min_time = defaults(args.quick)
    sizes = args.sizes or default_sizes
    min_time = args.min_time if args.min_time is not None else default_min_time
    if args.child:
        (n_polygons, n_points), = sizes  # fmt: skip
        summary = measure_in_this_process(args.child, n_polygons, n_points, min_time, args.answer)
        print(json.dumps(summary))
        return 0

    names = args.approaches.split(",") if args.approaches else approaches()
    unknown = sorted(set(names) - set(approaches()))
    if unknown:
        parser.error(f"unknown approaches {unknown}; known: {', '.join(approaches())}")
    if sys.platform != "linux":
        parser.error("the sweep reads peak memory from /proc: it runs on Linux only")
    budget = args.budget if args.budget is not None else default_budget
    started = time.perf_counter()
    result = run(args.out.resolve(), args.workspace.resolve(), sizes, names, budget, min_time)
    print(f"\n{to_markdown(result)}")
    print(f"Wrote scaling.json, scaling.md and scaling.png into {args.out.resolve()} "
          f"in {time.perf_counter() - started:.0f}s.")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
