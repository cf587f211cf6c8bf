"""The timing table: pytest-benchmark's results per rung, their speedups, and the
regression check between two runs.

``python -m poly_match.timings compare OLD.json NEW.json [--threshold 10]
[--fail-on-regression]`` compares two ``timings.json`` files. Results from different
machines or CI jobs differ by tens of percent on the same code, so it says when the two
environments differ; to compare two commits, time both in one run on one machine with
``python -m poly_match.compare BASE [HEAD]`` (``tox -e compare -- BASE``).
"""

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import poly_match

from . import environment

SCHEMA_VERSION = 1
BASELINE = "v1"
DEFAULT_THRESHOLD_PERCENT = 10.0


def from_benchmark_json(raw: dict, env: dict, settings: dict) -> dict:
    """``timings.json``'s content from pytest-benchmark's ``--benchmark-json`` output."""
    by_rung = {}
    for benchmark in raw["benchmarks"]:
        stats = benchmark["stats"]
        rung = benchmark["extra_info"]["rung"]
        by_rung[rung] = {
            "rung": rung,
            "description": benchmark["extra_info"]["description"],
            **{
                f"{key}_ms": stats[key] * 1e3
                for key in ("median", "iqr", "q1", "q3", "min", "max", "mean", "stddev")
            },
            "rounds": stats["rounds"],
            "iterations": stats["iterations"],
        }
    # The ladder in order, then anything else timed (the array API) by name.
    order = [*poly_match.RUNG_NAMES, *sorted(set(by_rung) - set(poly_match.RUNG_NAMES))]
    rungs = [by_rung[name] for name in order if name in by_rung]
    baseline = by_rung.get(BASELINE)
    for row in rungs:
        row["speedup_vs_v1"] = baseline["median_ms"] / row["median_ms"] if baseline else None
    return {
        "schema_version": SCHEMA_VERSION,
        "environment": env,
        "settings": settings,
        "rungs": rungs,
        "raw": raw,
    }


def to_markdown(timings: dict) -> str:
    env = timings["environment"]
    lines = [
        f"Measured on {env['cpu']} ({env['cores']} cores), {env['os']}, {env['python']}, "
        f"numpy {env['numpy']}, {env['rustc']}, pyo3 {env['pyo3']}; commit "
        f"{str(env['git_commit'])[:12]}, {env['date']}. Median of "
        f"{_rounds_range(timings['rungs'])} rounds each; spread is the interquartile range.",
        "",
        "| rung | what changed | median ms per iteration | spread: IQR ms (% of median) "
        "| speedup vs v1 |",
        "|---|---|---:|---:|---:|",
    ]
    for row in timings["rungs"]:
        speedup = "n/a" if row["speedup_vs_v1"] is None else f"{row['speedup_vs_v1']:,.1f}x"
        relative_iqr = 100 * row["iqr_ms"] / row["median_ms"]
        lines.append(
            f"| {row['rung']} | {row['description']} | {_ms(row['median_ms'])} "
            f"| {_ms(row['iqr_ms'])} ({relative_iqr:.1f}%) | {speedup} |"
        )
    return "\n".join(lines) + "\n"


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
                "both in one run: `tox -e compare -- BASE`.",
                "",
                *[f"- {line}" for line in self.environment_differences],
                "",
            ]
        lines += ["| rung | before ms | now ms | change | |", "|---|---:|---:|---:|---|"]
        for change in self.changes:
            flag = "REGRESSION" if change in self.regressions else ""
            lines.append(
                f"| {change.rung} | {_ms(change.old_ms)} | {_ms(change.new_ms)} "
                f"| {change.percent:+.1f}% | {flag} |"
            )
        return "\n".join(lines) + "\n"


def compare(
    old: dict, new: dict, threshold_percent: float = DEFAULT_THRESHOLD_PERCENT
) -> Comparison:
    """Each rung timed in both ``old`` and ``new`` (timings.json contents), median vs median."""
    old_medians = {row["rung"]: row["median_ms"] for row in old["rungs"]}
    changes = [
        Change(row["rung"], old_medians[row["rung"]], row["median_ms"])
        for row in new["rungs"]
        if row["rung"] in old_medians
    ]
    return Comparison(
        changes,
        threshold_percent,
        environment.differences(old["environment"], new["environment"]),
    )


def _ms(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _rounds_range(rows: list[dict]) -> str:
    rounds = [row["rounds"] for row in rows]
    low, high = min(rounds, default=0), max(rounds, default=0)
    return str(low) if low == high else f"{low}-{high}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m poly_match.timings", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    compare_parser = commands.add_parser("compare", help="compare two timings.json files")
    compare_parser.add_argument("old", type=Path)
    compare_parser.add_argument("new", type=Path)
    add_regression_options(compare_parser)
    args = parser.parse_args(argv)

    old, new = (json.loads(path.read_text()) for path in (args.old, args.new))
    comparison = compare(old, new, args.threshold)
    print(comparison.to_markdown())
    return 1 if comparison.regressions and args.fail_on_regression else 0


def add_regression_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD_PERCENT,
        help="flag rungs slower by more than this many percent (default %(default)s)",
    )
    parser.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit with status 1 when any rung is flagged",
    )


if __name__ == "__main__":
    sys.exit(main())
