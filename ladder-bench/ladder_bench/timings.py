"""The timing table: pytest-benchmark's results per rung, their speedups over the
baseline rung, and the regression check between two runs.

The table's first line says what was timed: the machine, the workload size, and the build
of the package (and a warning when it may not be the checkout); above it, a warning when
the run was noisy (``noise``). A speedup prints to three significant figures with its
spread. A rung whose answer differed from the reference's, timed anyway
(``--allow-disagreement``), is marked.

``ladder-bench timings compare OLD.json NEW.json [--threshold 10] [--fail-on-regression]
[--strict]`` compares two ``timings.json`` files. Results from different machines or CI
jobs differ by tens of percent on the same code, so it says when the two environments
differ, and when either run was noisy (``--strict``: exit status 1 then); to compare two
commits, time both in one run on one machine with ``ladder-bench compare BASE``.
"""

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import cli, environment, noise
from .config import REGRESSION_THRESHOLD_PERCENT
from .display import duration, size_label

SCHEMA_VERSION = 4
STATS = ("median", "iqr", "q1", "q3", "min", "max", "mean", "stddev")
DISAGREES = "⚠ disagrees"  # the mark of a rung timed although its answer differed
EN_DASH = "\u2013"  # between the ends of a range: 3,480-3,620 with an en dash


def from_benchmark_json(
    raw: dict,
    order: list[str],
    baseline,
    env: dict,
    settings: dict,
    size: dict | None = None,
    agreements: dict | None = None,
    machine: tuple | None = None,
) -> dict:
    """``timings.json``'s content from pytest-benchmark's ``--benchmark-json`` output,
    rows in ladder ``order``, speedups relative to the ``baseline`` rung (if it was timed)
    with their spread; ``size`` is the workload timed, ``agreements`` how each rung's answer
    compared with the reference's (``preflight.Checked.agreements``), ``machine`` the
    ``noise.sample`` taken before and after the timing phase. Its ``noise`` says whether
    the run can be trusted (from the spreads alone without ``machine``)."""
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
        # The ratios of quartiles the two interquartile ranges allow.
        row["speedup_low"] = base["q1_ms"] / row["q3_ms"] if base and row["q3_ms"] else None
        row["speedup_high"] = base["q3_ms"] / row["q1_ms"] if base and row["q1_ms"] else None
    return {
        "schema_version": SCHEMA_VERSION,
        "baseline": baseline,
        "size": size,
        "environment": env,
        "settings": settings,
        "rungs": rungs,
        "noise": noise.judge(rungs, baseline if base else None, *(machine or ())),
        "raw": raw,
    }


def speedup_text(value: float | None, unit: str = "x") -> str:
    """A speedup to three significant figures: ``21,200x``, ``426x``, ``48.5x``, ``8.50x``;
    the baseline's own, exactly 1, is ``1.0x``."""
    if value is None:
        return "n/a"
    if value == 1:
        return f"1.0{unit}"
    digits = 2 - math.floor(math.log10(value))
    if round(value, digits) >= 10 ** (3 - digits):  # rounded up to the next power of ten
        digits -= 1
    return f"{round(value, digits):,.{max(digits, 0)}f}{unit}"


def speedup_cell(row: dict) -> str:
    """A row's speedup and its spread, ``3,550x (3,480-3,620)`` with an en dash."""
    if row.get("speedup") is None:
        return "n/a"
    if row.get("speedup_low") is None or row.get("speedup_high") is None:
        return speedup_text(row["speedup"])
    low, high = speedup_text(row["speedup_low"], ""), speedup_text(row["speedup_high"], "")
    return f"{speedup_text(row['speedup'])} ({low}{EN_DASH}{high})"


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
        _check_rows(
            path, data["benchmarks"], "benchmarks", lambda row: row.get("stats", {}).get("median")
        )
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
        value = median(row) if isinstance(row, dict) else math.nan
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not (number and math.isfinite(value) and value > 0):
            raise BaselineError(f"{path}: an entry of {key!r} has no positive median: {row!r:.80}")


def _pytest_benchmark_environment(raw: dict) -> dict:
    """What pytest-benchmark records of the environment, under timings.json's names."""
    machine, commit = raw.get("machine_info", {}), raw.get("commit_info", {})
    python = " ".join(
        filter(None, (machine.get("python_implementation"), machine.get("python_version")))
    )
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
    warning = noise.warning(timings.get("noise"))
    lines = [warning, ""] if warning else []
    lines += [
        f"Measured on {env['cpu']} ({env['cores']} cores), {env['os']}, "
        f"{', '.join(filter(None, measured_with))}; commit {str(env['git_commit'])[:12]}, "
        f"{env['date']}. Workload size: {size_label(timings.get('size'))}"
        f"{f' ({size_key})' if size_key else ''}. Median of "
        f"{rounds[0]}{f'-{rounds[-1]}' if len(rounds) > 1 else ''} rounds each; spread is "
        "the interquartile range, and a speedup's, the baseline's first quartile over the "
        "rung's third to its third over the rung's first.",
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
        speedup = speedup_cell(row)
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
        spread = f"{speedup_text(low)} to {speedup_text(high)}"
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end">{row["rung"]}</text>'
            f'<rect x="{label_width}" y="{y + 4}" width="{max(x(speedup) - label_width, 1):.1f}"'
            f' height="{row_height - 8}" fill="#d2691e"><title>{speedup_text(speedup)} '
            f"(spread {spread})</title></rect>"
            f'<path class="spread" d="M{x(low):.1f},{middle:.1f}H{x(high):.1f}'
            f'M{x(low):.1f},{middle - 5:.1f}v10M{x(high):.1f},{middle - 5:.1f}v10" '
            f'stroke="#333" fill="none"><title>spread {spread}</title></path>'
            f'<text x="{max(x(speedup), x(high)) + 6:.1f}" y="{y + 17}">'
            f"{speedup_text(speedup)}{marks[row['rung']]}</text>"
        )
    return "".join(parts) + "</svg>"


def write(out: Path, timings: dict) -> dict:
    """``timings.json``, ``timings.md`` and ``speedup.svg``; the report section, the chart
    first, with the ``headline`` the report's header shows."""
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
        "headline": headline(timings),
        "blocks": [{"svg": "speedup.svg"}, {"markdown": "timings.md"}],
    }


def headline(timings: dict) -> dict:
    """The run in a few printed values, for the report's header: what was timed where,
    the baseline, the fastest rung, and the noise verdict."""
    env, rows = timings["environment"], timings["rungs"]
    commit = str(env.get("git_commit") or "unknown")
    commit = commit.removesuffix("-dirty")[:12] + (
        " with uncommitted changes" if commit.endswith("-dirty") else ""
    )
    base = next((row for row in rows if row["rung"] == timings["baseline"]), None)
    fastest = min(rows, key=lambda row: row["median_ms"], default=None)
    return {
        "workload": size_label(timings.get("size")),
        "size_name": timings.get("settings", {}).get("size_key"),
        "machine": f"{env.get('cpu')} ({env.get('cores')} cores)",
        "build": _build_headline(env),
        "commit": commit,
        "baseline": base
        and {
            "rung": base["rung"],
            "median": duration(base["median_ms"] / 1e3),
            "spread": f"{100 * base['iqr_ms'] / base['median_ms']:.1f}%",
        },
        "fastest": fastest
        and {
            "rung": fastest["rung"],
            "median": duration(fastest["median_ms"] / 1e3),
            "speedup": _speedup_or_none(fastest.get("speedup")),
            "speedup_range": fastest.get("speedup_low")
            and EN_DASH.join(map(speedup_text, (fastest["speedup_low"], fastest["speedup_high"]))),
        },
        "noise": timings.get("noise"),
    }


def _speedup_or_none(value: float | None) -> str | None:
    return None if value is None else speedup_text(value)


def _build_headline(env: dict) -> str:
    """``poly-match 0.1.0, wheel built by maturin 1.16.0``, or how else it was installed."""
    build = env.get("build") or {}
    if not build.get("distribution"):
        return env.get("distribution") or "not declared"
    if build.get("version") is None:
        return f"{build['distribution']} (not installed)"
    line = f"{build['distribution']} {build['version']}"
    if build.get("editable"):
        return f"{line}, editable install"
    built_by = build.get("built_by")
    return f"{line}, wheel built by {built_by.replace(' (', ' ').rstrip(')')}" if built_by else line


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
    noisy: list[str] = field(default_factory=list)  # a line per noisy run of the two

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
        if self.noisy:
            lines += [
                "**A noisy run is compared**: its medians may be off by tens of percent, "
                "so a change may be the noise's.",
                "",
                *[f"- {line}" for line in self.noisy],
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
    noisy = [
        f"{name}: {'; '.join(verdict['reasons'])}"
        for name, verdict in (("before", noise_of(old)), ("now", noise_of(new)))
        if not verdict["trustworthy"]
    ]
    return Comparison(changes, threshold_percent, differences, noisy)


def noise_of(timings: dict) -> dict:
    """The run's ``noise``; for a file from before it was recorded, judged from its spreads."""
    if timings.get("noise"):
        return timings["noise"]
    return noise.judge(timings["rungs"], timings.get("baseline"))


def _size_of(timings: dict) -> str:
    size = timings.get("size")
    return "not recorded" if size is None else size_label(size)


def add_strict_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--strict",
        action="store_true",
        help=f"exit with status 1 when {what} noisy (busy machine, wide spreads), with one "
        "line saying why",
    )


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
    add_strict_option(compare_parser, "either run was")
    args = parser.parse_args(argv)
    try:
        old, new = load_baseline(args.old), load_baseline(args.new)
    except BaselineError as error:
        parser.error(str(error))
    comparison = compare(old, new, args.threshold)
    print(comparison.to_markdown())
    if args.strict and comparison.noisy:
        print(
            f"ladder-bench timings: --strict: a noisy run is compared: {comparison.noisy[0]}. "
            f"{noise.ADVICE}",
            file=sys.stderr,
        )
        return 1
    return 1 if comparison.regressions and args.fail_on_regression else 0


if __name__ == "__main__":
    sys.exit(main())
