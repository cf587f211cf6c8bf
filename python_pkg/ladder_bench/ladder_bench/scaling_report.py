"""The scaling sweep's files: ``scaling.json``, the ``scaling.md`` tables and the
log-log plot ``scaling.png``."""

import json
from pathlib import Path

from . import environment
from .units import duration


def label(size: dict) -> str:
    return " x ".join(f"{value:,}" for value in size.values())


def result(workspace: Path, ladder, settings, rows: list[dict]) -> dict:
    return {
        "environment": environment.describe(workspace, ladder.distribution),
        "baseline": ladder.baseline,
        "settings": {"budget_s": settings.budget, "min_time_s": settings.min_time},
        "sizes": settings.sizes,
        "rows": rows,
    }


def write(out: Path, result: dict) -> dict:
    """The three files; the report section."""
    (out / "scaling.json").write_text(json.dumps(result, indent=2))
    (out / "scaling.md").write_text(to_markdown(result))
    plot(result, out / "scaling.png")
    return {
        "id": "scaling",
        "title": "Scaling sweep",
        "order": 40,
        "intro": "From `tox -e scale` or `tox -e bench -- --scale`: time per call against work, "
        "log-log; dashed lines are the peers.",
        "blocks": [
            {"image": "scaling.png", "alt": "time per call against work, log-log"},
            {"markdown": "scaling.md"},
        ],
    }


def _table(result: dict, cell) -> list[str]:
    sizes = result["sizes"]
    by_key = {(r["approach"], label(r["size"])): r for r in result["rows"]}
    lines = ["| approach | " + " | ".join(label(s) for s in sizes) + " |",
             "|---|" + "---:|" * len(sizes)]  # fmt: skip
    for name in dict.fromkeys(r["approach"] for r in result["rows"]):
        cells = [cell(by_key.get((name, label(size)))) for size in sizes]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _time_cell(row: dict | None) -> str:
    if row is None:
        return ""
    if row["status"] == "skipped":
        projected = row.get("projected_s")
        return f"skipped (~{duration(projected)})" if projected else "skipped"
    spread = 100 * row["iqr_s"] / row["median_s"] if row["median_s"] else 0.0
    return f"{duration(row['median_s'])} ±{spread:.0f}%"


def _memory_cell(row: dict | None) -> str:
    return f"{row['peak_extra_mib']:.1f}" if row and row["status"] == "measured" else ""


def highlights(result: dict) -> list[str]:
    """Ratios measured in this run: each approach against the baseline at the smallest
    size, and the fastest rung against the fastest peer at the largest size both reached."""
    measured = [r for r in result["rows"] if r["status"] == "measured"]
    lines = []
    smallest = [r for r in measured if r["size"] == result["sizes"][0]]
    base = next((r for r in smallest if r["approach"] == result["baseline"]), None)
    if base:
        ratios = ", ".join(f"{r['approach']} {base['median_s'] / r['median_s']:,.0f}x"
                           for r in smallest if r is not base)  # fmt: skip
        lines.append(f"- {label(result['sizes'][0])}, speedup over {base['approach']}: {ratios}.")
    for size in reversed(result["sizes"]):
        here = [r for r in measured if r["size"] == size]
        rungs, peers = ([r for r in here if r["kind"] == k] for k in ("rung", "peer"))
        if rungs and peers:
            rung = min(rungs, key=lambda r: r["median_s"])
            peer = min(peers, key=lambda r: r["median_s"])
            lines.append(
                f"- {label(size)}: the fastest rung, `{rung['approach']}` "
                f"({duration(rung['median_s'])}, peak +{rung['peak_extra_mib']:.1f} MiB), is "
                f"**{peer['median_s'] / rung['median_s']:,.1f}x** faster than the fastest peer, "
                f"{peer['approach']} ({duration(peer['median_s'])}, "
                f"+{peer['peak_extra_mib']:.1f} MiB)."
            )
            break
    return lines


def to_markdown(result: dict) -> str:
    settings = result["settings"]
    agreements = [r["agreement"] for r in result["rows"] if "agreement" in r]
    different = sum(a["different"] for a in agreements)
    ties = sum(a["ties"] for a in agreements)
    env = result["environment"]
    return "\n".join([
        "# Scaling sweep",
        "",
        f"Commit `{env['git_commit']}`, {env['date']}. Median time per call, ± the "
        "interquartile range as a share of the median; skipped: the time projected from the "
        f"previous size exceeded the {settings['budget_s']} s budget. Each cell is a fresh "
        f"process (at least {settings['min_time_s']} s or 3 calls).",
        "",
        *_table(result, _time_cell),
        "",
        "Peak memory above the inputs during the calls (MiB):",
        "",
        *_table(result, _memory_cell),
        "",
        "Measured in this run:",
        "",
        *(highlights(result) or ["- (not enough sizes measured to tell)"]),
        "",
        f"Answers compared with the reference's at each size: {different} real "
        f"disagreements, {ties} picks decided by rounding.",
        "",
    ])  # fmt: skip


def plot(result: dict, path: Path) -> None:
    """Log-log time per call vs work, one line per approach (peers dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(10, 6.5))
    for name in dict.fromkeys(r["approach"] for r in result["rows"]):
        rows = [r for r in result["rows"] if r["approach"] == name and r["status"] == "measured"]
        if rows:
            peer = rows[0]["kind"] == "peer"
            axes.plot([r["work"] for r in rows], [r["median_s"] for r in rows],
                      "--" if peer else "-", marker="o", label=name,
                      linewidth=2.5 if peer else 1.5)  # fmt: skip
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("work: the product of the size's numbers")
    axes.set_ylabel("median time per call (s)")
    axes.set_title(f"scaling ({result['environment']['git_commit'][:10]})")
    axes.grid(True, which="major", alpha=0.4)
    axes.legend(fontsize=8, ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
