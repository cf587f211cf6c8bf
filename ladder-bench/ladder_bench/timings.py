"""The timing table: pytest-benchmark's results per rung, their speedups over the
baseline rung, and the regression check between two runs.

The table's first line says what was timed: the machine, the workload size, and the build
of the package (and a warning when it may not be the checkout). A rung whose answer
differed from the reference's, timed anyway (``--allow-disagreement``), is marked.

``ladder-bench timings compare OLD.json NEW.json [--threshold 10] [--fail-on-regression]``
compares two ``timings.json`` files. Results from different machines or CI jobs differ by
tens of percent on the same code, so it says when the two environments differ; to
compare two commits, time both in one run on one machine with ``ladder-bench compare BASE``.
"""

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from . import cli, environment
from .units import REGRESSION_THRESHOLD_PERCENT, duration, size_label

SCHEMA_VERSION = 3
STATS = ("median", "iqr", "q1", "q3", "min", "max", "mean", "stddev")
DISAGREES = "⚠ disagrees"  # the mark of a rung timed although its answer differed


def from_benchmark_json(
    raw: dict,
    order: list[str],
    baseline,
    env: dict,
    settings: dict,
    size: dict | None = None,
    agreements: dict | None = None,
) -> dict:
    """``timings.json``'s content from pytest-benchmark's ``--benchmark-json`` output,
    rows in ladder ``order``, speedups relative to the ``baseline`` rung (if it was timed);
    ``size`` is the workload timed, ``agreements`` how each rung's answer compared with
    the reference's (``preflight.Checked.agreements``)."""
    agreements = agreements or {}
    by_rung = {}
    for benchmark in raw["benchmarks"]:
        stats, info, name = benchmark["stats"], benchmark.get("extra_info", {}), _rung(benchmark)
        by_rung[name] = {
            "rung": name,
            "description": info.get("description", benchmark.get("fullname", "")),
            **{f"{key}_ms": stats[key] * 1e3 for key in STATS},
            "rounds": stats["rounds"],
            "iterations": stats["iterations"],
        }
        if name in agreements:
            by_rung[name]["agreement"] = agreements[name]
            by_rung[name]["disagrees"] = agreements[name]["different"] > 0
    rungs = [by_rung[name] for name in order if name in by_rung]
    base = by_rung.get(baseline)
    for row in rungs:
        row["speedup"] = base["median_ms"] / row["median_ms"] if base else None
    return {
        "schema_version": SCHEMA_VERSION,
        "baseline": baseline,
        "size": size,
        "environment": env,
        "settings": settings,
        "rungs": rungs,
        "raw": raw,
    }


def _rung(benchmark: dict) -> str:
    """The rung a pytest-benchmark entry times: ladder-bench names it in ``extra_info``;
    anyone else's JSON has only the test's parameter or name."""
    named = benchmark.get("extra_info", {}).get("rung")
    return named or benchmark.get("param") or benchmark["name"]


class BaselineError(ValueError):
    """A file that cannot be read as earlier timings; the message says why."""


def load_baseline(path: Path) -> dict:
    """Earlier timings to check against, as ``timings.json``'s content: a ``timings.json``
    of ladder-bench, or pytest-benchmark's own ``--benchmark-json`` output. Anything else
    (criterion's estimates, a truncated file) raises ``BaselineError`` saying what it is."""
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise BaselineError(f"cannot read {path}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BaselineError(f"{path} is not JSON ({error})") from None
    if isinstance(data, dict) and "rungs" in data:
        _check_rows(path, data["rungs"], "rungs", lambda row: row.get("median_ms"))
        return data
    if isinstance(data, dict) and "benchmarks" in data:
        _check_rows(path, data["benchmarks"], "benchmarks",
                    lambda row: row.get("stats", {}).get("median"))  # fmt: skip
        try:
            order = [_rung(benchmark) for benchmark in data["benchmarks"]]
            return from_benchmark_json(data, order, None, _pytest_benchmark_environment(data), {})
        except (KeyError, TypeError, AttributeError) as error:
            raise BaselineError(f"{path}: a benchmark lacks pytest-benchmark's {error}") from None
    keys = ", ".join(sorted(data)[:6]) if isinstance(data, dict) else type(data).__name__
    raise BaselineError(
        f"{path} is neither a ladder-bench timings.json nor pytest-benchmark JSON "
        f'(it has {keys or "nothing"}; expected "rungs" or "benchmarks")'
    )


def _check_rows(path: Path, rows, key: str, median) -> None:
    if not isinstance(rows, list) or not rows:
        raise BaselineError(f"{path}: {key!r} is not a non-empty list")
    for row in rows:
        value = median(row) if isinstance(row, dict) else None
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not (number and math.isfinite(value) and value > 0):
            raise BaselineError(f"{path}: an entry of {key!r} has no positive median: {row!r:.80}")


def _pytest_benchmark_environment(raw: dict) -> dict:
    """What pytest-benchmark records of the environment, under timings.json's names."""
    machine, commit = raw.get("machine_info", {}), raw.get("commit_info", {})
    python = " ".join(filter(None, (machine.get("python_implementation"),
                                     machine.get("python_version"))))  # fmt: skip
    commit_id = commit.get("id") and commit["id"] + ("-dirty" if commit.get("dirty") else "")
    return {
        "cpu": machine.get("cpu", {}).get("brand_raw"),
        "cores": machine.get("cpu", {}).get("count"),
        "python": python or None,
        "git_commit": commit_id or None,
        "date": raw.get("datetime"),
    }


def to_markdown(timings: dict) -> str:
    env = timings["environment"]
    rounds = sorted({row["rounds"] for row in timings["rungs"]}) or [0]
    measured_with = [env.get("python")]
    if env.get("numpy") not in (None, "not installed"):
        measured_with.append(f"numpy {env['numpy']}")
    if env.get("rustc") not in (None, "unknown"):
        measured_with.append(env["rustc"])
    if env.get("pyo3") not in (None, "unknown"):
        measured_with.append(f"pyo3 {env['pyo3']}")
    size_key = timings.get("settings", {}).get("size_key")
    lines = [
        f"Measured on {env['cpu']} ({env['cores']} cores), {env['os']}, "
        f"{', '.join(filter(None, measured_with))}; commit {str(env['git_commit'])[:12]}, "
        f"{env['date']}. Workload size: {size_label(timings.get('size'))}"
        f"{f' ({size_key})' if size_key else ''}. Median of "
        f"{rounds[0]}{f'-{rounds[-1]}' if len(rounds) > 1 else ''} rounds each; spread is "
        "the interquartile range.",
        "",
        _build_line(env),
        "",
    ]
    build = env.get("build") or {}
    if build.get("warning"):
        lines += [f"**Warning**: {build['warning']}.", ""]
    lines += [
        "| rung | what changed | median per call | spread: IQR (% of median) "
        f"| speedup vs {timings['baseline']} |",
        "|---|---|---:|---:|---:|",
    ]
    notes = []
    for row in timings["rungs"]:
        speedup = "n/a" if row["speedup"] is None else f"{row['speedup']:,.1f}x"
        if row.get("disagrees"):
            agreement = row["agreement"]
            speedup += f" {DISAGREES} with {agreement['reference']}"
            total = agreement["same"] + agreement["ties"] + agreement["different"]
            counted = f" ({agreement['different']} of {total} differ)" if total > 1 else ""
            notes.append(
                f"{DISAGREES}: **{row['rung']}** answers differently from "
                f"{agreement['reference']} at the quick size{counted}, so its speedup is not "
                "over the same work (timed with --allow-disagreement)."
            )
        relative_iqr = 100 * row["iqr_ms"] / row["median_ms"]
        lines.append(
            f"| {row['rung']} | {row['description']} | {duration(row['median_ms'] / 1e3)} "
            f"| {duration(row['iqr_ms'] / 1e3)} ({relative_iqr:.1f}%) | {speedup} |"
        )
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def _build_line(env: dict) -> str:
    """Which build of the package was timed, in one line."""
    build = env.get("build")
    if not build:
        return f"Package: {env.get('distribution', 'not recorded')}."
    if build.get("distribution") is None:
        return f"Package timed: {build['verdict']}."
    imported = f", imported from `{build['imported_from']}`" if build.get("imported_from") else ""
    return f"Package timed: {env['distribution']}{imported}: {build['verdict']}."


def speedup_chart(timings: dict) -> str:
    """Horizontal bars of each rung's speedup over the baseline on a log scale, inline SVG.
    A bar is the ratio of the medians; its whisker is the ratio's spread, from the
    baseline's first quartile over the rung's third to the baseline's third over the
    rung's first (the ratios of quartiles the two runs' interquartile ranges allow)."""
    rows = [row for row in timings["rungs"] if row["speedup"]]
    if not rows:
        return f"<p>(no speedups: {timings['baseline']} was not timed)</p>"
    base = next(row for row in timings["rungs"] if row["rung"] == timings["baseline"])
    marks = {row["rung"]: f" {DISAGREES}" if row.get("disagrees") else "" for row in rows}
    spreads = [(base["q1_ms"] / row["q3_ms"], base["q3_ms"] / row["q1_ms"]) for row in rows]
    decades = max(1, math.ceil(math.log10(max(max(high for _, high in spreads), 10))))
    label_width, bar_width, row_height = 170, 600, 26
    width, height = label_width + bar_width + 150, row_height * len(rows) + 30

    def x(speedup: float) -> float:
        return label_width + bar_width * max(math.log10(speedup), 0) / decades

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="speedup over {timings["baseline"]}, log scale, with the '
        f'spread of each ratio" font-size="13">'
    ]
    for decade in range(decades + 1):
        gx = x(10**decade)
        parts.append(
            f'<line x1="{gx:.1f}" y1="0" x2="{gx:.1f}" y2="{height - 20}" stroke="#ddd"/>'
            f'<text x="{gx:.1f}" y="{height - 5}" text-anchor="middle">{10**decade:,}x</text>'
        )
    for i, (row, (low, high)) in enumerate(zip(rows, spreads, strict=True)):
        y, speedup, middle = i * row_height, row["speedup"], i * row_height + row_height / 2
        spread = f"{low:,.1f}x to {high:,.1f}x"
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end">{row["rung"]}</text>'
            f'<rect x="{label_width}" y="{y + 4}" width="{max(x(speedup) - label_width, 1):.1f}"'
            f' height="{row_height - 8}" fill="#d2691e"><title>{speedup:,.1f}x (spread '
            f"{spread})</title></rect>"
            f'<path class="spread" d="M{x(low):.1f},{middle:.1f}H{x(high):.1f}'
            f'M{x(low):.1f},{middle - 5:.1f}v10M{x(high):.1f},{middle - 5:.1f}v10" '
            f'stroke="#333" fill="none"><title>spread {spread}</title></path>'
            f'<text x="{max(x(speedup), x(high)) + 6:.1f}" y="{y + 17}">{speedup:,.1f}x'
            f"{marks[row['rung']]}</text>"
        )
    return "".join(parts) + "</svg>"


def write(out: Path, timings: dict) -> dict:
    """``timings.json``, ``timings.md`` and ``speedup.svg``; the report section."""
    (out / "timings.json").write_text(json.dumps(timings, indent=2))
    (out / "timings.md").write_text(to_markdown(timings))
    (out / "speedup.svg").write_text(speedup_chart(timings))
    return {
        "id": "timings",
        "title": "Timings",
        "order": 10,
        "intro": "The chart: each bar is the speedup (the ratio of the medians, log scale); "
        "its whisker, the ratio's spread: the baseline's first quartile over the rung's third "
        "to the baseline's third over the rung's first.",
        "environment": timings["environment"],
        "blocks": [{"markdown": "timings.md"}, {"svg": "speedup.svg"}],
    }


@dataclass(frozen=True)
class Change:
    rung: str
    old_ms: float
    new_ms: float

    @property
    def percent(self) -> float:
        return 100 * (self.new_ms / self.old_ms - 1)


@dataclass(frozen=True)
class Comparison:
    changes: list[Change]
    threshold_percent: float
    environment_differences: list[str]

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.percent > self.threshold_percent]

    def to_markdown(self) -> str:
        lines = [
            f"Regression check: a rung is flagged when its median is more than "
            f"{self.threshold_percent:g}% slower than before.",
            "",
        ]
        if self.environment_differences:
            lines += [
                "**The two runs come from different environments**, so differences of tens "
                "of percent are expected on unchanged code. To compare two commits, time "
                "both in one run: `ladder-bench compare BASE`.",
                "",
                *[f"- {line}" for line in self.environment_differences],
                "",
            ]
        lines += ["| rung | before | now | change | |", "|---|---:|---:|---:|---|"]
        for change in self.changes:
            flag = "REGRESSION" if change in self.regressions else ""
            lines.append(
                f"| {change.rung} | {duration(change.old_ms / 1e3)} "
                f"| {duration(change.new_ms / 1e3)} | {change.percent:+.1f}% | {flag} |"
            )
        return "\n".join(lines) + "\n"


def compare(old: dict, new: dict, threshold_percent: float = REGRESSION_THRESHOLD_PERCENT):
    """Each rung timed in both ``old`` and ``new`` (timings.json contents), median vs median."""
    old_medians = {row["rung"]: row["median_ms"] for row in old["rungs"]}
    changes = [
        Change(row["rung"], old_medians[row["rung"]], row["median_ms"])
        for row in new["rungs"]
        if row["rung"] in old_medians
    ]
    differences = environment.differences(old["environment"], new["environment"])
    if old.get("size") != new.get("size"):  # a quick run against a full one, say
        differences.append(f"workload size: {_size_of(old)} -> {_size_of(new)}")
    return Comparison(changes, threshold_percent, differences)


def _size_of(timings: dict) -> str:
    size = timings.get("size")
    return "not recorded" if size is None else size_label(size)


def add_regression_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threshold",
        type=cli.positive_number,
        default=REGRESSION_THRESHOLD_PERCENT,
        help="flag rungs slower by more than this many percent (default %(default)s)",
    )
    parser.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit with status 1 when any rung is flagged",
    )


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="ladder-bench timings", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    compare_parser = commands.add_parser("compare", help="compare two timings.json files")
    compare_parser.add_argument("old", type=Path)
    compare_parser.add_argument("new", type=Path)
    add_regression_options(compare_parser)
    args = parser.parse_args(argv)
    try:
        old, new = load_baseline(args.old), load_baseline(args.new)
    except BaselineError as error:
        parser.error(str(error))
    comparison = compare(old, new, args.threshold)
    print(comparison.to_markdown())
    return 1 if comparison.regressions and args.fail_on_regression else 0


if __name__ == "__main__":
    sys.exit(main())
