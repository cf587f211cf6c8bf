"""The scaling sweep's files: ``scaling.json``, the ``scaling.md`` tables and the
log-log plot ``scaling.png`` (where matplotlib is installed)."""

import json
from pathlib import Path

from . import environment
from .display import duration


def split(size: dict, work_keys: list[str] | None) -> tuple[dict, tuple]:
    """``size`` as its work keys (the plain size it is a variant of; every key when
    ``work_keys`` is None) and its other keys, the flags that make it a variant."""
    if work_keys is None:
        return size, ()
    plain = {key: value for key, value in size.items() if key in work_keys}
    return plain, tuple((key, value) for key, value in size.items() if key not in work_keys)


def label(size: dict, work_keys: list[str] | None = None) -> str:
    """The work keys' numbers joined by " x ", then any other key as ``key=value``."""
    plain, flags = split(size, work_keys)
    return ", ".join(
        [" x ".join(f"{v:,}" for v in plain.values()), *(f"{k}={v}" for k, v in flags)]
    )


def is_plain(size: dict, work_keys: list[str] | None) -> bool:
    """Whether ``size`` has only work keys: not a variant of another size."""
    return not split(size, work_keys)[1]


def result(workspace: Path, ladder, settings, rows: list[dict]) -> dict:
    return {
        "environment": environment.describe(workspace, ladder.distribution),
        "baseline": ladder.baseline,
        "settings": {"budget_s": settings.budget, "min_time_s": settings.min_time},
        "work_keys": ladder.work_keys,
        "sizes": settings.sizes,
        "rows": rows,
    }


NO_PLOT = 'scaling.png not drawn: matplotlib cannot be imported (pip install "ladder-bench[scale]")'


def write(out: Path, result: dict) -> dict:
    """The three files (the plot only where matplotlib is installed); the report section."""
    (out / "scaling.json").write_text(json.dumps(result, indent=2))
    (out / "scaling.md").write_text(to_markdown(result))
    blocks = [{"markdown": "scaling.md"}]
    intro = "From `ladder-bench scale` or `ladder-bench bench --scale`"
    if plot(result, out / "scaling.png"):
        blocks.insert(0, {"image": "scaling.png", "alt": "time per call against work, log-log"})
        intro += (
            ": time per call against work, log-log; dashed lines are the peers, hollow "
            "squares the variant sizes."
        )
    else:
        (out / "scaling.png").unlink(missing_ok=True)  # an earlier run's, not this one's
        intro += f". {NO_PLOT}."
    return {
        "id": "scaling",
        "title": "Scaling sweep",
        "order": 40,
        "intro": intro,
        "blocks": blocks,
    }


def _table(result: dict, cell) -> list[str]:
    sizes, keys = result["sizes"], result.get("work_keys")
    by_key = {(r["approach"], label(r["size"], keys)): r for r in result["rows"]}
    lines = [
        "| approach | " + " | ".join(label(s, keys) for s in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for name in dict.fromkeys(r["approach"] for r in result["rows"]):
        cells = [cell(by_key.get((name, label(size, keys)))) for size in sizes]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def variant_ratios(result: dict) -> list[str]:
    """Each approach's time on a variant size (one with keys beyond the work keys) over
    its time on the plain size of the same work, where it was measured on both."""
    keys = result.get("work_keys")
    if keys is None:
        return []
    measured = {
        (r["approach"], label(r["size"], keys)): r
        for r in result["rows"]
        if r["status"] == "measured"
    }
    lines = []
    for size in result["sizes"]:
        if is_plain(size, keys):
            continue
        plain, _ = split(size, keys)
        for name in dict.fromkeys(r["approach"] for r in result["rows"]):
            on_variant = measured.get((name, label(size, keys)))
            on_plain = measured.get((name, label(plain, keys)))
            if on_variant and on_plain:
                ratio = on_variant["median_s"] / on_plain["median_s"]
                lines.append(
                    f"| {name} | {label(size, keys)} | {ratio:,.2f}x | "
                    f"{duration(on_variant['median_s'])} | "
                    f"{duration(on_plain['median_s'])} |"
                )
    if not lines:
        return []
    return [
        "Variants: time on the variant over time on the plain size of the same work:",
        "",
        "| approach | variant | ratio | variant's time | plain size's time |",
        "|---|---|---:|---:|---:|",
        *lines,
        "",
    ]


def extra_numbers(result: dict) -> list[str]:
    """What the approaches' ``extra`` hooks reported, one line per measured cell."""
    keys = result.get("work_keys")
    lines = [
        f"- {r['approach']} at {label(r['size'], keys)}: "
        + ", ".join(
            f"{name} {value:,.1f}" if isinstance(value, float) else f"{name} {value}"
            for name, value in r["extra"].items()
        )
        for r in result["rows"]
        if r.get("extra")
    ]
    return ["Reported by the approaches' own hooks:", "", *lines, ""] if lines else []


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
    size, and the fastest rung against the fastest peer at the largest plain size both
    reached."""
    measured = [r for r in result["rows"] if r["status"] == "measured"]
    keys = result.get("work_keys")
    lines = []
    smallest = [r for r in measured if r["size"] == result["sizes"][0]]
    base = next((r for r in smallest if r["approach"] == result["baseline"]), None)
    if base:
        ratios = ", ".join(
            f"{r['approach']} {base['median_s'] / r['median_s']:,.0f}x"
            for r in smallest
            if r is not base
        )
        lines.append(
            f"- {label(result['sizes'][0], keys)}, speedup over {base['approach']}: {ratios}."
        )
    for size in reversed([s for s in result["sizes"] if is_plain(s, keys)]):
        here = [r for r in measured if r["size"] == size]
        rungs, peers = ([r for r in here if r["kind"] == k] for k in ("rung", "peer"))
        if rungs and peers:
            rung = min(rungs, key=lambda r: r["median_s"])
            peer = min(peers, key=lambda r: r["median_s"])
            lines.append(
                f"- {label(size, keys)}: the fastest rung, `{rung['approach']}` "
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
    return "\n".join(
        [
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
            *variant_ratios(result),
            *extra_numbers(result),
            f"Answers compared with the reference's at each size: {different} different, "
            f"{ties} accepted as ties by the agreement hook.",
            "",
        ]
    )


def plot(result: dict, path: Path) -> bool:
    """Log-log time per call vs work, one line per approach (peers dashed), variant sizes
    as hollow squares; False, and nothing drawn, where matplotlib cannot be imported."""
    try:
        import matplotlib
    except ImportError:
        return False

    matplotlib.use("Agg")
    from matplotlib import pyplot

    keys = result.get("work_keys")
    figure, axes = pyplot.subplots(figsize=(10, 6.5))
    for name in dict.fromkeys(r["approach"] for r in result["rows"]):
        rows = [r for r in result["rows"] if r["approach"] == name and r["status"] == "measured"]
        plain = [r for r in rows if is_plain(r["size"], keys)]
        if plain:
            peer = plain[0]["kind"] == "peer"
            (line,) = axes.plot(
                [r["work"] for r in plain],
                [r["median_s"] for r in plain],
                "--" if peer else "-",
                marker="o",
                label=name,
                linewidth=2.5 if peer else 1.5,
            )
        # Variants share their plain size's work: hollow markers, off the line.
        variants = [r for r in rows if r not in plain]
        if variants:
            axes.plot(
                [r["work"] for r in variants],
                [r["median_s"] for r in variants],
                "s",
                markerfacecolor="none",
                color=line.get_color() if plain else None,
                label=None if plain else name,
            )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("work: the product of the size's work keys")
    axes.set_ylabel("median time per call (s)")
    axes.set_title(f"scaling ({result['environment']['git_commit'][:10]})")
    axes.grid(True, which="major", alpha=0.4)
    axes.legend(fontsize=8, ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return True
