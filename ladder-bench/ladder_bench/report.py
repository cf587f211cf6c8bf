"""``index.html``: one static page drawn from the sections the tools left in the output
folder. It opens from ``file://`` with no network: no CDN, charts are inline SVG or PNG,
and flamegraphs are embedded with ``<object>`` (inferno's SVG runs its zoom and search
script there, not in an ``<img>``).

A tool knows no other tool's files: it writes its own, then ``publish``es a section
manifest, ``sections/<id>.json``, and the page is redrawn from every manifest present::

    {"id": "scaling", "title": "Scaling sweep", "order": 40, "intro": "markdown line",
     "workload": "n_polygons=1000, n_points=100",   # optional: said under the title
     "run": {"id": "...", "date": "...", "commit": "..."},   # added by publish
     "environment": {...},          # optional: the page header uses the newest run's
     "headline": {...},             # the timings section's: the page's headline
     "blocks": [{"markdown": "scaling.md"}, {"image": "scaling.png", "alt": "..."},
                {"svg": "speedup.svg"}, {"pre": "text"},
                {"flamegraph": "flamegraphs/v1.svg", "heading": "v1: ...", "id": "v1",
                 "text": "...", "links": [{"text": "...", "href": "...", "class": "...",
                                           "download": true}]}]}

Paths in a manifest are relative to the output folder. A link with ``"download": true``
is saved rather than opened (a speedscope file is for speedscope.app, not the browser).

The page opens with the headline, drawn from the timings section's ``headline`` (what
was measured, the baseline's time, the fastest rung's time and speedup, and a banner when
the noise verdict says the times cannot be trusted), and a one-line list of the sections.
It reads on a phone (tables scroll inside their own box, charts scale), in print, and in
dark mode.

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
from collections.abc import Sequence
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from . import environment

SECTIONS = "sections"
FLAMEGRAPH_WIDTH = 1200  # inferno's default image width, when an SVG does not say
FLAMEGRAPH_HEIGHT = 400

STYLE = """
:root {
  color-scheme: light dark;
  --text: #1b1b1b; --muted: #555; --page: #fff; --line: #ccc; --panel: #f4f4f4;
  --link: #0645ad; --bad: #a50e0e; --bad-page: #fdecea; --warn: #b07d00; --warn-page: #fff3cd;
}
@media (prefers-color-scheme: dark) {
  :root {
    --text: #e6e6e6; --muted: #aaa; --page: #16181b; --line: #464b52; --panel: #23272c;
    --link: #8ab4f8; --bad: #ff8a80; --bad-page: #3b1f1f; --warn: #e0b341; --warn-page: #3a3218;
  }
}
html { background: var(--page); color: var(--text); }
body { font-family: system-ui, sans-serif; line-height: 1.45; margin: 0 auto; max-width: 80em;
       padding: 0.5em 1em 2em; }
a { color: var(--link); }
h1 { font-size: 1.6em; margin: 0.4em 0 0.3em; }
h2 { margin-top: 2em; padding-bottom: 0.15em; border-bottom: 1px solid var(--line); }
p, li, dd, figcaption { overflow-wrap: break-word; }
code { overflow-wrap: anywhere; }
.table-box { overflow-x: auto; margin: 1em 0; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--line); padding: 0.3em 0.6em; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 1em 0; }
/* Charts keep their own light colours: on a dark page they sit on a light panel. */
figure.chart { background: #fff; color: #000; padding: 0.4em; border-radius: 4px;
               width: fit-content; max-width: 100%; box-sizing: border-box; }
figure.chart svg, figure.chart img { display: block; max-width: 100%; height: auto; }
/* inferno's script sizes the graph to its frame, and fails at a width of nothing. */
object.flamegraph { display: block; width: 100%; min-width: 16em; border: 1px solid var(--line); }
pre { background: var(--panel); padding: 1em; overflow-x: auto; }
.regression { color: var(--bad); font-weight: bold; }
.earlier-run { background: var(--warn-page); border-left: 4px solid var(--warn);
               padding: 0.4em 0.8em; }
.headline .measured { display: flex; flex-wrap: wrap; gap: 0.1em 1.5em; margin: 0.3em 0;
                      color: var(--muted); }
.headline .measured dt { display: inline; font-weight: 600; margin-right: 0.4em; }
.headline .measured dd { display: inline; margin: 0; }
.headline .figures { display: flex; flex-wrap: wrap; gap: 0.6em; margin: 0.8em 0; padding: 0; }
.headline .figures div { flex: 1 1 7em; background: var(--panel); border-radius: 6px;
                         padding: 0.5em 0.8em; }
.headline .figures dt { color: var(--muted); }
.headline .figures dd { margin: 0; }
.headline .figures .value { display: block; font-size: 1.6em; font-weight: 700;
                            font-variant-numeric: tabular-nums; white-space: nowrap; }
.noise-banner { background: var(--bad-page); border-left: 6px solid var(--bad);
                padding: 0.5em 1em; margin: 0.8em 0; }
.noise-banner .title { color: var(--bad); font-weight: 700; margin: 0.2em 0; }
.noise-banner ul { margin: 0.3em 0; padding-left: 1.2em; }
.run { color: var(--muted); margin: 0.3em 0; }
nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: 0.2em 1.2em; margin: 0;
         padding: 0; }
nav#contents { border-top: 1px solid var(--line); border-bottom: 1px solid var(--line);
               padding: 0.4em 0; margin: 0.6em 0; }
nav.within { margin: 0.6em 0; }
@media (max-width: 32em) {
  body { padding: 0.5em 0.75em 2em; }
  .headline .figures { gap: 0.4em; }
  .headline .figures div { padding: 0.4em 0.5em; font-size: 0.85em; }
  .headline .figures .value { font-size: 1.35em; }
}
@media print {
  html { background: #fff; color: #000; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  a { color: inherit; }
  nav { display: none; }
  h2, h3, .run, .workload { break-after: avoid; }
  figure, tr, .noise-banner, .headline .figures { break-inside: avoid; }
  figure { margin: 0.4em 0; }
  h3 { font-size: 1em; margin: 0.8em 0 0.3em; }
  .table-box, pre { overflow: visible; }
  pre { white-space: pre-wrap; overflow-wrap: anywhere; }
  object.flamegraph { width: 17cm; min-width: 0; border: 0; }
}
html.printing object.flamegraph { width: 17cm; min-width: 0; }
"""
# inferno's graphs draw their frames by script at the width they are shown at, and
# redraw on a resize; paper is narrower than the screen and laying the page out for it
# sends no resize, so each graph is narrowed to the paper's width and redrawn before
# printing (the class above), and redrawn on screen after. A graph from file:// is of
# another origin in some browsers: it cannot be reached, and prints as it is.
PRINT_SCRIPT = """
function redrawFlamegraphs() {
  for (const graph of document.querySelectorAll("object.flamegraph")) {
    graph.getBoundingClientRect();
    try { graph.contentWindow.dispatchEvent(new Event("resize")); } catch (error) {}
  }
}
addEventListener("beforeprint", () => {
  document.documentElement.classList.add("printing");
  redrawFlamegraphs();
});
addEventListener("afterprint", () => {
  document.documentElement.classList.remove("printing");
  redrawFlamegraphs();
});
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
    body = [
        _header(sections, newest),
        *(_section(out_dir, section, newest) for section in sections),
    ]
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        # No favicon: served over HTTP (GitHub Pages), the browser would ask for one and
        # log the 404 as an error.
        '<link rel="icon" href="data:,">'
        f"<title>Timings and profiles</title><style>{STYLE}</style>"
        f"<script>{PRINT_SCRIPT}</script></head>\n"
        "<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
    path = out_dir / "index.html"
    path.write_text(page)
    return path


def _header(sections: list[dict], newest: dict | None) -> str:
    """The title, the headline (from the timings section's), the newest run, and the
    contents on one line."""
    current = [s for s in sections if newest and s.get("run", {}).get("id") == newest["id"]]
    env = next((s["environment"] for s in current + sections if s.get("environment")), None)
    timings = next((s for s in sections if s["id"] == "timings"), {})
    given = timings.get("headline")
    parts = ["<h1>Timings and profiles</h1>"]
    if isinstance(given, dict):
        parts.append(headline(given, timings.get("run")))
        earlier = _earlier(timings, newest)
        if earlier:
            parts.append(f'<p class="earlier-run">⚠ The timings: {_e(earlier)}</p>')
    if newest and not (isinstance(given, dict) and timings.get("run") == newest):
        machine = ""
        if env and not isinstance(given, dict):
            machine = f", on {_e(env.get('cpu'))} ({_e(env.get('cores'))} cores)"
        parts.append(
            f'<p class="run">Newest run: {_e(_when(newest["date"]))}, commit '
            f"<code>{_e(_short(newest['commit']))}</code>{machine}.</p>"
        )
    parts.append(_contents(sections, newest))
    return '<header class="headline">\n' + "\n".join(parts) + "\n</header>"


def headline(given: dict, run: dict | None = None) -> str:
    """What was measured, the baseline's and the fastest rung's times and the speedup,
    and the noise banner, from the timings section's ``headline``; each part only when
    the headline has it."""
    workload = given.get("workload")
    if workload and given.get("size_name"):
        workload = f"{workload} ({given['size_name']})"
    commit = given.get("commit")
    if commit:
        hash_, _, rest = str(commit).partition(" ")
        commit = f"<code>{_e(hash_)}</code>{f' {_e(rest)}' if rest else ''}"
        if run and run.get("date"):
            commit += f", {_e(_when(run['date']))}"
    facts = [
        ("Workload", _e(workload) if workload else None),
        ("Machine", _e(given["machine"]) if given.get("machine") else None),
        ("Build", _e(given["build"]) if given.get("build") else None),
        ("Commit", commit),
        ("Noise", _noise_fact(given.get("noise"))),
    ]
    rows = "".join(f"<div><dt>{name}</dt><dd>{value}</dd></div>" for name, value in facts if value)
    parts = [f'<dl class="measured">{rows}</dl>' if rows else ""]

    baseline, fastest = given.get("baseline") or {}, given.get("fastest") or {}
    figures = []
    if baseline.get("rung"):
        spread = baseline.get("spread")
        note = f"a call, spread {spread}" if spread else "a call"
        figures.append(_figure("Baseline", baseline["rung"], baseline.get("median"), note))
    if fastest.get("rung"):
        figures.append(_figure("Fastest", fastest["rung"], fastest.get("median"), "a call"))
    if fastest.get("speedup") and baseline.get("rung"):
        spread = fastest.get("speedup_range")
        note = f"range {spread}" if spread else ""
        name = f"Speedup over {baseline['rung']}"
        figures.append(_figure(name, None, fastest["speedup"], note))
    if figures:
        parts.append(f'<dl class="figures">{"".join(figures)}</dl>')
    parts.append(noise_banner(given.get("noise")))
    return "\n".join(part for part in parts if part)


def _trustworthy(noise: dict | None) -> bool | None:
    """The noise verdict: True (quiet), False (noisy), or None when the run was not
    judged (no verdict recorded)."""
    if not isinstance(noise, dict) or ("verdict" not in noise and "trustworthy" not in noise):
        return None
    return bool(noise.get("trustworthy", noise.get("verdict") == "quiet"))


def _noise_fact(noise: dict | None) -> str | None:
    """The noise verdict in a word, for the headline's facts (the banner says more)."""
    trustworthy = _trustworthy(noise)
    if trustworthy is None:
        return None
    if trustworthy:
        return "quiet: the spreads and the machine were within the limits"
    return '<a href="#noise">noisy</a>: the times below are not reliable'


def _figure(name: str, what: str | None, value: object, note: str) -> str:
    """One of the headline's figures: ``Fastest: Index.match``, ``3.93 µs``, ``a call``."""
    term = _e(name) + (f": <strong>{_e(what)}</strong>" if what else "")
    shown = f'<span class="value">{_e(value)}</span>' if value else ""
    return f"<div><dt>{term}</dt><dd>{shown}{_e(note)}</dd></div>"


def noise_banner(noise: dict | None) -> str:
    """The banner of a run whose noise verdict says its times cannot be trusted, with
    the reasons and the advice; nothing for a quiet run, or one not assessed."""
    if noise is None or _trustworthy(noise) is not False:
        return ""
    reasons = "".join(f"<li>{_inline(str(reason))}</li>" for reason in noise.get("reasons") or [])
    advice = noise.get("advice")
    return (
        '<div class="noise-banner" id="noise" role="note" aria-label="Noisy measurements">'
        '<p class="title">⚠ Noisy measurements: the wall-clock times and speedups on this '
        "page are not reliable.</p>"
        + (f"<ul>{reasons}</ul>" if reasons else "")
        + (f"<p>{_inline(str(advice))}</p>" if advice else "")
        + "</div>"
    )


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
    """The sections on one line; a section's own graphs are listed where it starts."""
    items = []
    for section in sections:
        graphs = sum("id" in block for block in section.get("blocks", []))
        count = f" ({graphs})" if graphs > 1 else ""
        earlier = " (an earlier run)" if _earlier(section, newest) else ""
        items.append(
            f'<li><a href="#{_e(section["id"])}">{_e(section["title"])}</a>{count}{earlier}</li>'
        )
    return f'<nav id="contents" aria-label="Contents"><ul>{"".join(items)}</ul></nav>'


def _section(out_dir: Path, section: dict, newest: dict | None = None) -> str:
    parts = [f'<h2 id="{_e(section["id"])}">{_e(section["title"])}</h2>']
    earlier = _earlier(section, newest)
    if earlier:
        parts.append(f'<p class="earlier-run">⚠ {_e(earlier)}</p>')
    workload = section.get("workload") or _headline_workload(section)
    if workload:
        parts.append(f'<p class="workload">Workload: {_e(workload)}.</p>')
    if section.get("intro"):
        parts.append(f"<p>{_inline(section['intro'])}</p>")
    headed = [block for block in section.get("blocks", []) if "id" in block]
    if len(headed) > 1:
        links = "".join(f'<li><a href="#{_e(b["id"])}">{_e(b["id"])}</a></li>' for b in headed)
        parts.append(
            f'<nav class="within" aria-label="{_e(section["title"])}"><ul>{links}</ul></nav>'
        )
    parts += [_block(out_dir, block) for block in section.get("blocks", [])]
    return "\n".join(parts)


def _headline_workload(section: dict) -> str | None:
    """The workload a section's headline names (the timings section's)."""
    given = section.get("headline")
    if not isinstance(given, dict) or not given.get("workload"):
        return None
    size_name = given.get("size_name")
    return given["workload"] + (f" ({size_name})" if size_name else "")


def _block(out_dir: Path, block: dict) -> str:
    if "markdown" in block:
        return markdown_to_html((out_dir / block["markdown"]).read_text())
    if "svg" in block:
        return f'<figure class="chart">{scalable((out_dir / block["svg"]).read_text())}</figure>'
    if "image" in block:
        alt = _e(block.get("alt", ""))
        return f'<figure class="chart"><img src="{_e(block["image"])}" alt="{alt}"></figure>'
    if "pre" in block:
        return f"<pre>{_e(block['pre'])}</pre>"
    if "flamegraph" in block:
        return _flamegraph(out_dir, block)
    raise ValueError(f"unknown block {sorted(block)}")


def _flamegraph(out_dir: Path, block: dict) -> str:
    """A flamegraph in a figure with its heading (kept together in print). The object
    gets the graph's own size: the page's CSS then sets its width, and the height stays
    the graph's, so nothing scrolls inside it."""
    svg = _e(block["flamegraph"])
    width, height = svg_size(out_dir / block["flamegraph"])
    links = ", ".join(
        f'<a class="{_e(link.get("class", ""))}" href="{_e(link["href"])}"'
        f"{' download' if link.get('download') else ''}>{_e(link['text'])}</a>"
        for link in block.get("links", [])
    )
    text = _inline(block.get("text", "")) + (f" Also as {links}." if links else "")
    return (
        f'<figure class="flamegraph">\n<h3 id="{_e(block["id"])}">{_e(block["heading"])}</h3>\n'
        f'<object class="flamegraph" data="{svg}" type="image/svg+xml" width="{width}" '
        f'height="{height}" aria-label="{_e("Flamegraph of " + block["heading"])}">'
        f'<a href="{svg}">{svg}</a></object>\n'
        f"<figcaption>{text}</figcaption>\n</figure>"
    )


_SVG_TAG = re.compile(r"<svg\b[^>]*>", re.DOTALL)


def _attribute(tag: str, name: str) -> str | None:
    found = re.search(rf'\s{name}="([^"]*)"', tag)
    return found.group(1) if found else None


def svg_size(path: Path) -> tuple[int, int]:
    """The width and height an SVG file's root element declares, in pixels; inferno's
    default where it declares none (or the file is missing)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as file:
            tag = _SVG_TAG.search(file.read(4096))
    except OSError:
        tag = None

    def pixels(name: str, default: int) -> int:
        value = _attribute(tag.group(), name) if tag else None
        number = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(px)?\s*", value or "")
        return round(float(number.group(1))) if number else default

    return pixels("width", FLAMEGRAPH_WIDTH), pixels("height", FLAMEGRAPH_HEIGHT)


def scalable(svg: str) -> str:
    """An inline SVG chart that scales with the page: a ``viewBox`` from its width and
    height when it has none, and a ``<title>`` (its accessible name, and the tooltip)
    from its ``aria-label`` when it has none."""
    tag = _SVG_TAG.search(svg)
    if tag is None:
        return svg
    root = tag.group()
    width, height = _attribute(root, "width"), _attribute(root, "height")
    new_root = root
    numbers = [re.fullmatch(r"\d+(?:\.\d+)?", value or "") for value in (width, height)]
    if _attribute(root, "viewBox") is None and all(numbers):
        new_root = new_root[:4] + f' viewBox="0 0 {width} {height}"' + new_root[4:]
    label = _attribute(root, "aria-label")
    title = ""
    if label and not svg[tag.end() :].lstrip().startswith("<title"):
        title = f"<title>{label}</title>"  # already escaped, as an attribute's value
    return svg[: tag.start()] + new_root + title + svg[tag.end() :]


class _PageRenderer(RendererHTML):
    """CommonMark's HTML with the page's own touches: a table sits in a box of its own
    (which scrolls sideways where the page is narrower), its right-aligned (numeric)
    cells take the ``number`` class, headings start at ``<h3>`` (the page has the
    ``<h1>``, each section its ``<h2>``), and the word REGRESSION stands out."""

    def table_open(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        return '<div class="table-box">' + self.renderToken(tokens, idx, options, env)

    def table_close(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        return self.renderToken(tokens, idx, options, env) + "</div>"

    def td_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        token = tokens[idx]
        if token.attrGet("style") == "text-align:right":
            token.attrs.pop("style")
            token.attrSet("class", "number")
        return self.renderToken(tokens, idx, options, env)

    def heading_open(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        tokens[idx].tag = _section_heading(tokens[idx].tag)
        return self.renderToken(tokens, idx, options, env)

    heading_close = heading_open

    def text(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return escapeHtml(tokens[idx].content).replace("REGRESSION", _REGRESSION_HTML)


_REGRESSION_HTML = '<span class="regression">REGRESSION</span>'
# CommonMark with GitHub's tables; raw HTML in the markdown is shown as text, not obeyed.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}, renderer_cls=_PageRenderer).enable("table")


def _section_heading(tag: str) -> str:
    """``h1`` as ``h3``, ``h2`` as ``h4`` ...: a markdown file's headings sit inside a section."""
    return f"h{min(int(tag[1:]) + 2, 6)}"


def markdown_to_html(markdown: str) -> str:
    """A markdown file the tools wrote (CommonMark and tables), as the page shows it."""
    return _MARKDOWN.render(markdown).strip()


def _inline(text: str) -> str:
    """One line of markdown (code, emphasis, links) as HTML inside a paragraph or item."""
    return _MARKDOWN.renderInline(text)


def _e(value: object) -> str:
    return html.escape(str(value))
