"""``summary.md``: a run's verdict in a few lines, for a pull request's comment.

    ladder-bench summary [--out profiles] [--workspace .] [--config pyproject.toml]

Reads what the other commands left in the output folder and writes ``summary.md`` there:
the headline (the workload, the baseline, the fastest rung and its speedup, whether the
machine was quiet enough to trust wall-clock times), the rungs whose time or instruction
count changed beyond noise between base and head (``ladder-bench compare``), the
instruction gate's verdict, and where the artifacts and the differential flamegraphs
are. A file that is missing is one line saying so, not an error: the summary also
describes a run that failed halfway.

On GitHub Actions (``GITHUB_SERVER_URL``, ``GITHUB_REPOSITORY`` and ``GITHUB_RUN_ID``
set) it links to the run's artifacts. Its first line is a hidden marker,
``<!-- ladder-bench-summary -->``, by which a workflow finds the comment it posted
before and updates it instead of adding another.
"""

import functools
import json
import os
import statistics
import sys
from pathlib import Path

from . import cli, config, display
from .timings import EN_DASH, speedup_text

MARKER = "<!-- ladder-bench-summary -->"
# Rows of the changed-rungs table shown before "and N more": the comment stays short.
MAX_ROWS = 8
NOISY_REASONS_SHOWN = 2


def _read_json(path: Path):
    """The file's JSON, or None when it is missing or not JSON (said by the caller)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------------------------------
# The headline: timings.json (and the timings section's headline, when it has one)


def headline(out: Path) -> list[str]:
    timings = _read_json(out / "timings.json")
    if not isinstance(timings, dict) or not timings.get("rungs"):
        return [
            f"**No timings**: {out.name}/timings.json is missing or unreadable "
            "(the bench step failed before writing it; see the job's log)."
        ]
    manifest = _read_json(out / "sections" / "timings.json") or {}
    given = manifest.get("headline") if isinstance(manifest, dict) else None
    if (
        isinstance(given, dict)
        and all(isinstance(given.get(key), dict) for key in ("baseline", "fastest"))
        and given["fastest"].get("speedup")
    ):
        lines = [_speedup_line(given)]
    else:
        lines = [_speedup_line_of(timings)]
    return [*lines, "", noise_line(timings.get("noise"))]


def _speedup_line(headline: dict) -> str:
    """From the timings section's headline, whose values are already formatted."""
    baseline, fastest = headline["baseline"], headline["fastest"]
    spread = f" ({fastest['speedup_range']})" if fastest.get("speedup_range") else ""
    size_name = f" ({headline['size_name']})" if headline.get("size_name") else ""
    return (
        f"**{headline['workload']}**{size_name}: "
        f"**{fastest['rung']}** is **{fastest['speedup']}** faster than {baseline['rung']}"
        f"{spread}, {fastest['median']} against {baseline['median']} per call."
    )


def _speedup_line_of(timings: dict) -> str:
    rows = timings["rungs"]
    baseline = next((r for r in rows if r["rung"] == timings.get("baseline")), None)
    fastest = max(rows, key=lambda row: row.get("speedup") or 0)
    size = display.size_label(timings.get("size"))
    size_name = (timings.get("settings") or {}).get("size_key")
    size_name = f" ({size_name})" if size_name else ""
    if baseline is None or not fastest.get("speedup"):
        return f"**{size}**{size_name}: no speedups (timings.json names no baseline)."
    spread = ""
    if fastest.get("speedup_low") and fastest.get("speedup_high"):
        low, high = (speedup_text(fastest[key]) for key in ("speedup_low", "speedup_high"))
        spread = f" ({low}{EN_DASH}{high})"
    return (
        f"**{size}**{size_name}: **{fastest['rung']}** is "
        f"**{speedup_text(fastest['speedup'])}** faster than {baseline['rung']}{spread}, "
        f"{display.duration(fastest['median_ms'] / 1e3)} against "
        f"{display.duration(baseline['median_ms'] / 1e3)} per call."
    )


def noise_line(noise: dict | None) -> str:
    if not isinstance(noise, dict) or "verdict" not in noise:
        return "Noise: not assessed (timings.json has no `noise` verdict)."
    if noise.get("trustworthy", noise["verdict"] == "quiet"):
        return f"Noise: **{noise['verdict']}**: the wall-clock times can be trusted."
    reasons = noise.get("reasons") or []
    shown = "; ".join(reasons[:NOISY_REASONS_SHOWN])
    more = len(reasons) - NOISY_REASONS_SHOWN
    shown += f"; {more} more" if more > 0 else ""
    advice = f" {noise['advice']}" if noise.get("advice") else ""
    return (
        f"Noise: **{noise['verdict']}**, so wall-clock differences are not reliable"
        f"{f' ({shown})' if shown else ''}.{advice}"
    )


# ---------------------------------------------------------------------------------------
# Base vs head: compare.json


def quartiles(values: list[float]) -> tuple[float, float, float] | None:
    if len(values) < 2:
        return None
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def walltime_change(base: list[float], head: list[float]) -> float | None:
    """The median's change in percent when the two sides' interquartile ranges do not
    overlap (a change beyond the rounds' noise), else None."""
    b, h = quartiles(base), quartiles(head)
    if b is None or h is None or (h[0] <= b[2] and b[0] <= h[2]):
        return None
    return 100 * (h[1] / b[1] - 1)


def base_vs_head(out: Path, threshold_of) -> list[str]:
    """The changed rungs and the instruction gate's verdict; ``threshold_of(rung)`` is the
    rung's gate threshold in percent."""
    compared = _read_json(out / "compare.json")
    if not isinstance(compared, dict):
        return [
            "**Base vs head**: no comparison in this run (`ladder-bench compare BASE` "
            "writes it; CI runs it on pull requests)."
        ]
    head = compared.get("head") or "working tree"
    head = head[:12] if head != "working tree" else head
    lines = [f"**Base vs head** ({str(compared.get('base', '?'))[:12]} → {head}):", ""]
    counts = compared.get("instructions") or {}
    base_counts, head_counts = counts.get("base") or {}, counts.get("head") or {}
    samples = compared.get("samples") or {}
    rungs = list(dict.fromkeys([*base_counts, *(samples.get("base") or {})]))
    rows, grew, gated = [], [], 0
    for rung in rungs:
        base_times = (samples.get("base") or {}).get(rung)
        head_times = (samples.get("head") or {}).get(rung)
        wall = walltime_change(base_times, head_times) if base_times and head_times else None
        instructions, threshold = None, threshold_of(rung)
        if base_counts.get(rung) and rung in head_counts:
            gated += 1
            instructions = 100 * (head_counts[rung] / base_counts[rung] - 1)
            if instructions > threshold:
                grew.append(f"{rung} {instructions:+.2f}% (threshold {threshold:g}%)")
        counted_beyond = instructions is not None and abs(instructions) > threshold
        if wall is None and not counted_beyond:
            continue
        medians = ""
        if base_times and head_times:
            base_median, head_median = statistics.median(base_times), statistics.median(head_times)
            medians = f"{display.duration(base_median)} → {display.duration(head_median)}"
        wall_text = f"**{wall:+.1f}%**" if wall is not None else "within noise"
        counted = "not counted" if instructions is None else f"{instructions:+.2f}%"
        counted = f"**{counted}**" if counted_beyond else f"{counted} (within {threshold:g}%)"
        rows.append(f"| {rung} | {medians} | {wall_text} | {counted} |")
    if rows:
        lines += [
            "| rung | median, base → head | wall-clock | instructions per call |",
            "|---|---:|---:|---:|",
            *rows[:MAX_ROWS],
        ]
        if len(rows) > MAX_ROWS:
            lines.append(f"| and {len(rows) - MAX_ROWS} more (compare.md) | | | |")
    else:
        lines.append(
            "No rung changed beyond noise (wall-clock: the rounds' interquartile ranges "
            "overlap; instructions: within each rung's gate threshold)."
        )
    lines.append("")
    if grew:
        lines.append(f"Instruction gate: **failed**: {'; '.join(grew)}.")
    elif gated:
        lines.append(f"Instruction gate: **passed** ({gated} rungs within their thresholds).")
    else:
        lines.append("Instruction gate: not run (compare.json has no instruction counts).")
    return lines


def regressions_line(out: Path) -> list[str]:
    """``regressions.md`` (``bench --compare OLD.json``): how many rungs it flags."""
    try:
        text = (out / "regressions.md").read_text()
    except OSError:
        return []
    flagged = [line for line in text.splitlines() if line.startswith("|") and "REGRESSION" in line]
    return [
        f"Regression check against an earlier timings.json: {len(flagged)} rungs flagged "
        "(regressions.md)."
    ]


# ---------------------------------------------------------------------------------------
# Where the files are


def run_url(environ=os.environ) -> str | None:
    """The GitHub Actions run's page, when this runs in one."""
    parts = [environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    if not all(parts):
        return None
    server, repository, run_id = parts
    return f"{server.rstrip('/')}/{repository}/actions/runs/{run_id}"


def links(out: Path, url: str | None) -> list[str]:
    where = f"[the run's artifacts]({url}#artifacts)" if url else f"`{out}`"
    lines = [f"Files: {where} (`index.html`: the timings, flamegraphs and every table)."]
    diffs = sorted((out / "diff").glob("*.svg")) if (out / "diff").is_dir() else []
    if diffs:
        shown = []
        for svg in diffs:
            summary = _read_json(svg.with_suffix(".json")) or {}
            changed = len(summary.get("significant") or [])
            shown.append(f"`diff/{svg.name}`" + (f" ({changed} changed)" if changed else ""))
        lines.append(
            "Differential flamegraphs (functions changed beyond sampling noise in red or "
            f"blue), in the same place: {', '.join(shown)}."
        )
    return lines


# ---------------------------------------------------------------------------------------


def gate_threshold(ladder: config.Config, rung: str) -> float:
    """The rung's instruction gate threshold in percent, as ``compare`` applied it."""
    return ladder.gate_rungs.get(rung, ladder.gate_threshold_percent)


def to_markdown(out: Path, threshold_of, url: str | None) -> str:
    lines = [MARKER, "### Benchmark summary (ladder-bench)", "", *headline(out), ""]
    lines += [*base_vs_head(out, threshold_of), ""]
    regressions = regressions_line(out)
    lines += [*regressions, ""] if regressions else []
    lines += links(out, url)
    return "\n".join(lines) + "\n"


def write(out: Path, threshold_of, url: str | None) -> str:
    text = to_markdown(out, threshold_of, url)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="ladder-bench summary", description=__doc__)
    config.add_options(parser)
    parser.add_argument("--out", type=Path, default=Path("profiles"), help="output folder")
    args = parser.parse_args(argv)
    threshold_of = None
    if (args.out / "compare.json").exists():  # the gate's thresholds are the ladder's
        ladder, _ = config.from_options(parser, args, None)
        threshold_of = functools.partial(gate_threshold, ladder)
    text = write(args.out, threshold_of, run_url())
    print(text, end="")
    print(f"Wrote {args.out / 'summary.md'}.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
