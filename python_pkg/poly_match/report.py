"""``profiles/index.html``: one static page with the timing table, a speedup chart,
every flamegraph and the environment. It opens from ``file://`` with no network: no CDN,
the chart is inline SVG, and the flamegraphs are embedded with ``<object>`` (py-spy's SVG
runs its zoom and search script there, not in an ``<img>``).
"""

import html
import json
import math
import re
from pathlib import Path

from .profiling import Profile

SPEEDSCOPE_HOWTO = (
    "To explore a speedscope file, drop it on https://www.speedscope.app (it is read in "
    "your browser, not uploaded) or run <code>speedscope FILE</code> after "
    "<code>npm install -g speedscope</code>."
)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
img.scaling { max-width: 100%; }
object.flamegraph { width: 100%; height: 40em; border: 1px solid #ccc; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
.regression { color: #b00; font-weight: bold; }
"""


def write_index(out_dir: Path) -> Path:
    """Write ``index.html`` from the files in ``out_dir`` (``timings.json`` and whatever
    else is there: regressions, criterion, scaling); every link in it is relative."""
    timings = json.loads((out_dir / "timings.json").read_text())
    profiles = [
        Profile(rung, {k: out_dir / v for k, v in entry["files"].items()}, entry["samples"])
        for rung, entry in timings.get("profiles", {}).items()
    ]
    comparison_markdown = _read_if_there(out_dir / "regressions.md")
    criterion_markdown = _read_if_there(out_dir / "criterion.md")
    env = timings["environment"]
    sections = [
        f"<h1>poly-match: timings and profiles</h1><p>Commit <code>{_e(env['git_commit'])}</code>"
        f", {_e(env['date'])}, on {_e(env['cpu'])} ({env['cores']} cores).</p>",
        "<h2>Timings</h2>",
        markdown_to_html((out_dir / "timings.md").read_text()),
        "<h2>Speedup over v1 (log scale)</h2>",
        speedup_chart(timings["rungs"]),
    ]
    if (out_dir / "instructions.md").exists():
        sections += [
            '<h2 id="instructions">Instructions per call</h2>',
            "<p>From <code>tox -e instructions</code> or <code>tox -e bench -- --instructions"
            "</code>: reproducible, blind to cache misses and memory stalls (see the README).</p>",
            markdown_to_html((out_dir / "instructions.md").read_text()),
        ]
    if (out_dir / "compare.md").exists():
        sections += [
            '<h2 id="compare">Base vs head</h2>',
            "<p>From <code>tox -e compare -- BASE [HEAD]</code>.</p>",
            markdown_to_html((out_dir / "compare.md").read_text()),
        ]
    if (out_dir / "scaling.md").exists():
        sections += [
            '<h2 id="scaling">Scaling sweep</h2>',
            "<p>From <code>tox -e scale</code> or <code>tox -e bench -- --scale</code>: time per "
            "call against work (polygons x points), log-log; dashed lines are the peers.</p>",
            '<img class="scaling" src="scaling.png" alt="time per call against work, log-log">',
            markdown_to_html((out_dir / "scaling.md").read_text()),
        ]
    if comparison_markdown:
        sections += ["<h2>Regression check</h2>", markdown_to_html(comparison_markdown)]
    if profiles:
        sections += [
            "<h2>Flamegraphs</h2>",
            "<p>py-spy <code>--native</code> on <code>python -m poly_match.measure RUNG</code>. "
            "Each box is a function; its width is the share of samples in which it was on "
            "the stack, callers below callees. Click to zoom, Ctrl-F (or the Search button) "
            "to highlight a function.</p>",
            f"<p>{SPEEDSCOPE_HOWTO}</p>",
        ]
        descriptions = {row["rung"]: row["description"] for row in timings["rungs"]}
        sections += [
            _flamegraph_section(out_dir, p, descriptions.get(p.rung, "")) for p in profiles
        ]
    if criterion_markdown:
        sections += [
            "<h2>Criterion: the pure-Rust core</h2>",
            "<p>From <code>cargo bench</code>; criterion's own report is in "
            "<code>target/criterion/report/index.html</code>.</p>",
            markdown_to_html(criterion_markdown),
        ]
    sections += ["<h2>Environment</h2>", f"<pre>{_e(json.dumps(env, indent=2))}</pre>"]
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>poly-match timings and profiles</title><style>{STYLE}</style></head>\n"
        "<body>\n" + "\n".join(sections) + "\n</body></html>\n"
    )
    path = out_dir / "index.html"
    path.write_text(page)
    return path


def _read_if_there(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def _flamegraph_section(out_dir: Path, profile: Profile, description: str) -> str:
    svg, speedscope, folded = (
        profile.files[key].relative_to(out_dir).as_posix()
        for key in ("flamegraph", "speedscope", "raw")
    )
    return (
        f'<h3 id="{_e(profile.rung)}">{_e(profile.rung)}: {_e(description)}</h3>\n'
        f'<object class="flamegraph" data="{_e(svg)}" type="image/svg+xml">'
        f'<a href="{_e(svg)}">{_e(svg)}</a></object>\n'
        f"<p>{profile.samples['flamegraph']} samples. Also as "
        f'<a class="speedscope" href="{_e(speedscope)}">speedscope profile</a> and '
        f'<a class="folded" href="{_e(folded)}">folded stacks</a>.</p>'
    )


def speedup_chart(rows: list[dict]) -> str:
    """Horizontal bars of each rung's speedup over v1 on a log scale, as inline SVG."""
    rows = [row for row in rows if row["speedup_vs_v1"]]
    if not rows:
        return "<p>(no speedups: v1 was not timed)</p>"
    decades = max(1, math.ceil(math.log10(max(max(r["speedup_vs_v1"] for r in rows), 10))))
    label_width, bar_width, row_height = 170, 600, 26
    width, height = label_width + bar_width + 90, row_height * len(rows) + 30

    def x(speedup: float) -> float:
        return label_width + bar_width * max(math.log10(speedup), 0) / decades

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'role="img" aria-label="speedup over v1, log scale" font-size="13">'
    ]
    for decade in range(decades + 1):
        gx = x(10**decade)
        parts.append(
            f'<line x1="{gx:.1f}" y1="0" x2="{gx:.1f}" y2="{height - 20}" stroke="#ddd"/>'
            f'<text x="{gx:.1f}" y="{height - 5}" text-anchor="middle">{10**decade:,}x</text>'
        )
    for i, row in enumerate(rows):
        y = i * row_height
        speedup = row["speedup_vs_v1"]
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end">{_e(row["rung"])}</text>'
            f'<rect x="{label_width}" y="{y + 4}" width="{max(x(speedup) - label_width, 1):.1f}"'
            f' height="{row_height - 8}" fill="#d2691e"><title>{speedup:,.1f}x</title></rect>'
            f'<text x="{x(speedup) + 6:.1f}" y="{y + 17}">{speedup:,.1f}x</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def markdown_to_html(markdown: str) -> str:
    """The little markdown this package writes: paragraphs, bullet lists and tables."""
    blocks, lines = [], markdown.strip().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|"):
            table = []
            while i < len(lines) and lines[i].startswith("|"):
                table.append(lines[i])
                i += 1
            blocks.append(_table(table))
        elif lines[i].startswith("# "):
            blocks.append(f"<h3>{_inline(lines[i][2:])}</h3>")
            i += 1
        elif lines[i].startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            blocks.append("<ul>" + "".join(items) + "</ul>")
        elif lines[i].strip():
            blocks.append(f"<p>{_inline(lines[i])}</p>")
            i += 1
        else:
            i += 1
    return "\n".join(blocks)


def _table(lines: list[str]) -> str:
    def cells(line: str) -> list[str]:
        return [cell.strip() for cell in line.strip().strip("|").split("|")]

    header, alignments, body = cells(lines[0]), cells(lines[1]), [cells(line) for line in lines[2:]]
    numeric = [a.endswith(":") for a in alignments]
    head = "".join(f"<th>{_inline(h)}</th>" for h in header)
    rows = []
    for row in body:
        tds = "".join(
            f'<td class="number">{_inline(c)}</td>' if is_number else f"<td>{_inline(c)}</td>"
            for c, is_number in zip(row, numeric, strict=False)
        )
        rows.append(f"<tr>{tds}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _inline(text: str) -> str:
    text = _e(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', text)
    return text.replace("REGRESSION", '<span class="regression">REGRESSION</span>')


def _e(value: object) -> str:
    return html.escape(str(value))
