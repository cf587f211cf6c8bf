"""``index.html``: one static page drawn from the sections the tools left in the output
folder. It opens from ``file://`` with no network: no CDN, charts are inline SVG or PNG,
and flamegraphs are embedded with ``<object>`` (inferno's SVG runs its zoom and search
script there, not in an ``<img>``).

A tool knows no other tool's files: it writes its own, then ``publish``es a section
manifest, ``sections/<id>.json``, and the page is redrawn from every manifest present::

    {"id": "scaling", "title": "Scaling sweep", "order": 40, "intro": "markdown line",
     "run": {"id": "...", "date": "...", "commit": "..."},   # added by publish
     "environment": {...},          # optional: the page header uses the newest run's
     "blocks": [{"markdown": "scaling.md"}, {"image": "scaling.png", "alt": "..."},
                {"svg": "speedup.svg"}, {"pre": "text"},
                {"flamegraph": "flamegraphs/v1.svg", "heading": "v1: ...", "id": "v1",
                 "text": "...", "links": [{"text": "...", "href": "...", "class": "..."}]}]}

Paths in a manifest are relative to the output folder.

Each manifest carries the run that published it (one command: its start, and the commit
checked out). The page's header names the newest run, and a section from an earlier one
says so where it starts, with that run's date and commit: sections of several runs can
share the page (timings, then a sweep), and nothing passes an old section off as new.
"""

import datetime
import html
import json
import os
import re
from pathlib import Path

from . import environment

SECTIONS = "sections"

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
img.figure { max-width: 100%; }
object.flamegraph { width: 100%; height: 40em; border: 1px solid #ccc; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
.regression { color: #b00; font-weight: bold; }
.earlier-run { background: #fff3cd; border-left: 4px solid #e0a800; padding: 0.4em 0.8em; }
nav#contents ul { margin: 0.2em 0; }
"""


_run: dict | None = None  # this process's run, stamped on every section it publishes


def begin_run(workspace: Path | None = None) -> dict:
    """Start this process's run: now, and the commit checked out in ``workspace``."""
    global _run
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    commit = environment.git_commit(workspace or Path.cwd())
    _run = {"id": f"{date}-{os.getpid()}", "date": date, "commit": commit}
    return _run


def current_run() -> dict:
    """This process's run, begun now (in the current folder's checkout) if not yet."""
    return _run or begin_run()


def publish(out_dir: Path, section: dict) -> Path:
    """Save ``section``'s manifest in ``out_dir``, stamped with this process's run unless
    it carries one, and redraw the page; its path."""
    folder = out_dir / SECTIONS
    folder.mkdir(parents=True, exist_ok=True)
    section = {**section, "run": section.get("run") or current_run()}
    (folder / f"{section['id']}.json").write_text(json.dumps(section, indent=2))
    return render(out_dir)


def withdraw(out_dir: Path, section_id: str) -> None:
    """Remove a section an earlier run left (its data is gone or stale)."""
    (out_dir / SECTIONS / f"{section_id}.json").unlink(missing_ok=True)


def render(out_dir: Path) -> Path:
    """Write ``index.html`` from every section manifest in ``out_dir``."""
    sections = sorted(
        (json.loads(path.read_text()) for path in (out_dir / SECTIONS).glob("*.json")),
        key=lambda section: (section.get("order", 50), section["id"]),
    )
    runs = [section["run"] for section in sections if section.get("run")]
    newest = max(runs, key=lambda run: run["date"], default=None)
    current = [s for s in sections if newest and s.get("run", {}).get("id") == newest["id"]]
    env = next((s["environment"] for s in current + sections if s.get("environment")), None)
    header = "<h1>Timings and profiles</h1>"
    if newest:
        header += (
            f"<p>Newest run: {_e(_when(newest['date']))}, commit "
            f"<code>{_e(newest['commit'])}</code>"
            + (f", on {_e(env.get('cpu'))} ({_e(env.get('cores'))} cores)" if env else "")
            + ".</p>"
        )
    body = [
        header,
        _contents(sections, newest),
        *(_section(out_dir, section, newest) for section in sections),
    ]
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        # No favicon: served over HTTP (GitHub Pages), the browser would ask for one and
        # log the 404 as an error.
        '<link rel="icon" href="data:,">'
        f"<title>Timings and profiles</title><style>{STYLE}</style></head>\n"
        "<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
    path = out_dir / "index.html"
    path.write_text(page)
    return path


def _earlier(section: dict, newest: dict | None) -> str | None:
    """The note on a section from an earlier run than ``newest``; None for one of it."""
    run = section.get("run")
    if newest is None or (run and run["id"] == newest["id"]):
        return None
    if not run:
        return "From an earlier run (which one was not recorded)."
    return f"From an earlier run, {_when(run['date'])}, commit {_short(run['commit'])}."


def _when(date: str) -> str:
    """An ISO date as the page shows it: ``2026-12-05 14:03 UTC``."""
    try:
        stamp = datetime.datetime.fromisoformat(date).astimezone(datetime.timezone.utc)
    except (TypeError, ValueError):
        return str(date)
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


def _short(commit: str | None) -> str:
    if not commit or commit == "unknown":
        return "unknown"
    hash_, dirty, _ = commit.partition("-dirty")
    return hash_[:12] + (" with uncommitted changes" if dirty else "")


def _contents(sections: list[dict], newest: dict | None = None) -> str:
    """The table of contents: each section, and each block with its own heading (a
    flamegraph per rung) under it."""
    items = []
    for section in sections:
        blocks = [block for block in section.get("blocks", []) if "id" in block]
        nested = "".join(
            f'<li><a href="#{_e(block["id"])}">{_e(block["heading"])}</a></li>' for block in blocks
        )
        earlier = " (an earlier run)" if _earlier(section, newest) else ""
        items.append(
            f'<li><a href="#{_e(section["id"])}">{_e(section["title"])}</a>{earlier}'
            f"{f'<ul>{nested}</ul>' if nested else ''}</li>"
        )
    return f'<nav id="contents"><h2>Contents</h2><ul>{"".join(items)}</ul></nav>'


def _section(out_dir: Path, section: dict, newest: dict | None = None) -> str:
    parts = [f'<h2 id="{_e(section["id"])}">{_e(section["title"])}</h2>']
    earlier = _earlier(section, newest)
    if earlier:
        parts.append(f'<p class="earlier-run">⚠ {_e(earlier)}</p>')
    if section.get("intro"):
        parts.append(f"<p>{_inline(section['intro'])}</p>")
    parts += [_block(out_dir, block) for block in section.get("blocks", [])]
    return "\n".join(parts)


def _block(out_dir: Path, block: dict) -> str:
    if "markdown" in block:
        return markdown_to_html((out_dir / block["markdown"]).read_text())
    if "svg" in block:
        return (out_dir / block["svg"]).read_text()
    if "image" in block:
        return f'<img class="figure" src="{_e(block["image"])}" alt="{_e(block.get("alt", ""))}">'
    if "pre" in block:
        return f"<pre>{_e(block['pre'])}</pre>"
    if "flamegraph" in block:
        svg = _e(block["flamegraph"])
        links = ", ".join(
            f'<a class="{_e(link["class"])}" href="{_e(link["href"])}">{_e(link["text"])}</a>'
            for link in block.get("links", [])
        )
        return (
            f'<h3 id="{_e(block["id"])}">{_e(block["heading"])}</h3>\n'
            f'<object class="flamegraph" data="{svg}" type="image/svg+xml">'
            f'<a href="{svg}">{svg}</a></object>\n'
            f"<p>{_inline(block.get('text', ''))}{' Also as ' + links + '.' if links else ''}</p>"
        )
    raise ValueError(f"unknown block {sorted(block)}")


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
