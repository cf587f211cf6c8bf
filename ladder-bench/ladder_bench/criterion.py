"""Run the project's criterion benches (``cargo bench``) and summarise their results.

criterion exits 0 even when a benchmark got slower, so its verdict has to be read from
the files it writes: ``target/criterion/<group>/<function>/<value>/new/estimates.json``
(this run) and ``.../change/estimates.json`` (the change from the previous run, when
there was one).

    ladder-bench criterion [--run] [--quick] [--package NAME] [--markdown profiles/criterion.md]
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from . import cli
from .config import REGRESSION_THRESHOLD_PERCENT
from .display import duration

# criterion's own --quick is too coarse to see a 10% change; shorter, fewer samples is not.
QUICK_ARGS = ["--warm-up-time", "0.5", "--measurement-time", "1", "--sample-size", "20"]
# 100 samples (criterion's default) over a shorter warm-up and measurement than its 3 s
# and 5 s: the benches' confidence intervals stay within a few percent, and the full
# bench run stays within 10 minutes.
FULL_ARGS = ["--warm-up-time", "1", "--measurement-time", "3"]


def run(workspace: Path, quick: bool, package: str | None = None) -> None:
    """``cargo bench`` in ``workspace`` (of one ``package``, or all), its output streamed."""
    if shutil.which("cargo") is None:
        raise cli.Failure("cargo is not installed: see https://rustup.rs")
    command = ["cargo", "bench", "--locked", *(["-p", package] if package else []), "--"]
    command += QUICK_ARGS if quick else FULL_ARGS
    completed = subprocess.run(command, cwd=workspace)
    if completed.returncode != 0:
        raise cli.Failure(
            f"cargo bench failed with status {completed.returncode} (its output is above)"
        )


def collect(criterion_dir: Path) -> list[dict]:
    """Every benchmark criterion measured last, in a stable order."""
    results = []
    for estimates_path in sorted(criterion_dir.glob("**/new/estimates.json")):
        folder = estimates_path.parent
        identity = json.loads((folder / "benchmark.json").read_text())
        estimates = json.loads(estimates_path.read_text())
        result = {
            "group": identity["group_id"],
            "id": "/".join(
                part for part in (identity["function_id"], identity["value_str"]) if part
            ),
            "median_ns": estimates["median"]["point_estimate"],
            "median_ci_ns": _interval(estimates["median"]),
            "mean_ns": estimates["mean"]["point_estimate"],
            "change": None,
        }
        change_path = folder.parent / "change" / "estimates.json"
        if change_path.is_file():
            change = json.loads(change_path.read_text())["median"]
            result["change"] = {
                "median_percent": 100 * change["point_estimate"],
                "ci_percent": [100 * bound for bound in _interval(change)],
            }
        results.append(result)
    return results


def to_markdown(
    results: list[dict], threshold_percent: float = REGRESSION_THRESHOLD_PERCENT
) -> str:
    """The table of ``results``; its change column only when criterion had a previous run
    to compare with (a first run has nothing to say there)."""
    changed = any(result["change"] is not None for result in results)
    lines = [
        "| group | benchmark | median | 95% CI |"
        + (" change vs previous run |" if changed else ""),
        "|---|---|---:|---:|" + ("---:|" if changed else ""),
    ]
    for result in results:
        low, high = result["median_ci_ns"]
        line = (
            f"| {result['group']} | {result['id']} | {duration(result['median_ns'] / 1e9)} "
            f"| {duration(low / 1e9)} - {duration(high / 1e9)} |"
        )
        if changed:
            line += f" {_change(result['change'], threshold_percent)} |"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _change(change: dict | None, threshold_percent: float) -> str:
    if change is None:
        return "new"  # a benchmark added since criterion's previous run
    change_low, change_high = change["ci_percent"]
    text = f"{change['median_percent']:+.1f}% [{change_low:+.1f}%, {change_high:+.1f}%]"
    return text + (" REGRESSION" if change_low > threshold_percent else "")


def _interval(estimate: dict) -> list[float]:
    bounds = estimate["confidence_interval"]
    return [bounds["lower_bound"], bounds["upper_bound"]]


def write(out: Path, results: list[dict]) -> dict:
    """``criterion.md`` and ``criterion.json``; the report section."""
    (out / "criterion.md").write_text(to_markdown(results))
    (out / "criterion.json").write_text(json.dumps(results, indent=2))
    return {
        "id": "criterion",
        "title": "Criterion benches",
        "order": 70,
        "intro": "From `cargo bench`; criterion's own report is in "
        "`target/criterion/report/index.html`.",
        "blocks": [{"markdown": "criterion.md"}],
    }


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="ladder-bench criterion", description=__doc__)
    parser.add_argument("--run", action="store_true", help="run cargo bench first")
    parser.add_argument("--quick", action="store_true", help="with --run: the short CI form")
    parser.add_argument("--workspace", type=Path, default=Path(), help="the cargo workspace")
    parser.add_argument("--package", help="the crate whose benches run (default: all)")
    parser.add_argument("--criterion-dir", type=Path, help="default: WORKSPACE/target/criterion")
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--threshold",
        type=cli.positive_number,
        default=REGRESSION_THRESHOLD_PERCENT,
        help="flag benches slower by more than this many percent (default %(default)s)",
    )
    args = parser.parse_args(argv)

    if args.run:
        run(args.workspace, args.quick, args.package)
    results = collect(args.criterion_dir or args.workspace / "target" / "criterion")
    if not results:
        print("no criterion results found: run `cargo bench` first", file=sys.stderr)
        return 1
    table = to_markdown(results, args.threshold)
    for path, text in ((args.markdown, table), (args.json, json.dumps(results, indent=2))):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
