"""What a recording's flamegraph and speedscope file show: the rung's call, one box per
function, each named briefly. ``<rung>.folded`` keeps the recording as it was cleaned
(every frame, the harness's too, with its line); this is applied on the way to the
pictures only.

- **Rooted at the rung's call.** A stack is shown from the frame under the harness's
  call of the rung (``prepare.<locals>.<lambda>``) on; stacks without it are the
  harness's timing loop and are left out (the subtitle counts them). perf's worker
  threads, hung from the root where perf cannot name Python frames, are shown from their
  ``<rung> [worker threads]`` frame on; samples in the call's own frame (passing the
  arguments on) as CALLING; the main thread's stacks of such a recording,
  which cannot be placed inside or outside the call, hang under MAIN_THREAD.
- **One box per function.** The line goes from a frame's name into its box's hover text
  (``lines: poly_match/v1.py:53 40%, :55 12%``, each line's share of the box).
  Python frames keep their file in the name (``main (poly_match/v1.py)``); frames of
  compiled code with debug info (Rust, C) drop it, as their names are paths already.
- **Libraries as short tags.** Native code is named by its library's tag, not its path:
  ``array_subtract [numpy]``, ``malloc [libc]``, and ``[libc]`` for code of libc with
  no symbol (``library_tag``).
- **Unplaced code explained.** ``[unknown]`` (an address in no library) is shown as
  UNKNOWN_SHOWN, with UNKNOWN_HOVER in its hover text: py-spy's native unwinder, which
  misreads some Rust frames' return addresses, stopped there (perf's DWARF unwinding of
  the same build goes on), so the frames between are missing.

The SVG is inferno's, then edited as XML (``with_details``): the hover texts, the root's
name, and a style that shows the Search button at full strength.
"""

import re
import subprocess
import xml.etree.ElementTree as ElementTree
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from . import frames

SVG = "http://www.w3.org/2000/svg"
INFERNO = "http://github.com/jonhoo/inferno"
for _prefix, _uri in (("", SVG), ("xlink", "http://www.w3.org/1999/xlink"), ("fg", INFERNO)):
    ElementTree.register_namespace(_prefix, _uri)  # inferno's script reads "fg:w" by name

MAIN_THREAD = "[main thread: the call and the timing loop]"
ROOT = "the rung's call"
# The samples in the harness's call itself (the lambda passing the arguments on).
CALLING = "[the harness's call of the rung]"
UNKNOWN = "[unknown]"  # frames.clean's name for an address in no library
UNKNOWN_SHOWN = "[unknown: stack lost here]"
UNKNOWN_HOVER = (
    "an address in no library: the profiler's unwinder misread a return address here and "
    "lost the stack, so the calls between the frame above and the frames below, such as "
    "the extension's entry point and pyo3's wrapper, are missing; perf's DWARF unwinding, "
    "--profiler perf, shows them"
)
# The title's room on inferno's 1200-pixel-wide page, in its 17-pixel font.
TITLE_CHARACTERS = 100
# Most line numbers listed in a box's hover text; the rest are counted.
HOVER_LINES = 6
# inferno draws Search at 10% opacity until hovered: shown at full strength here.
STYLE = "#search { opacity: 1; text-decoration: underline; }"

# Library file names (without folder) and their tags, the first match wins; an extension
# module (``pkg/_mod.cpython-311-x86_64-linux-gnu.so``, ``.abi3.so``, ``.pyd``) is tagged
# with its top-level package, any other library with its name without version or hash.
LIBRARY_TAGS = (
    (re.compile(r"libc[.-].*|libpthread[.-].*"), "libc"),
    (re.compile(r"libm[.-].*"), "libm"),
    (re.compile(r"libpython\d.*|python\d*(\.\d+)*"), "python"),
    (re.compile(r"ld-linux.*|ld\.so.*"), "ld.so"),
    (re.compile(r"libgcc_s[.-].*"), "libgcc"),
    (re.compile(r"libstdc\+\+[.-].*"), "libstdc++"),
    (re.compile(r"kernel\.kallsyms.*"), "kernel"),
)
EXTENSION_MODULE = re.compile(r"[^/]+\.(cpython-[^/]*\.so|abi3\.so|cp\d+[^/]*\.pyd|pyd)")
LIBRARY_FILE = re.compile(r"(?P<name>[^/]+?)(-[0-9a-f]{8})?(-[\d.]+)?\.(so|dylib|dll)(\.[\d.]+)?")
PYTHON_FILE = re.compile(r"<.*>|.*\.(py|pyw|pyx)")
TITLE = re.compile(r"(?P<name>.*) \((?P<count>[\d,]+) samples?, (?P<share>[\d.]+)%\)", re.DOTALL)


def library_tag(library: str) -> str:
    """The short tag of a library, given its path or file name (see LIBRARY_TAGS)."""
    library = library.strip("[]")
    name = library.rpartition("/")[2]
    if EXTENSION_MODULE.fullmatch(name):
        return library.split("/")[0].split(".")[0]
    for pattern, tag in LIBRARY_TAGS:
        if pattern.fullmatch(name):
            return tag
    if file := LIBRARY_FILE.fullmatch(name):
        return file["name"]
    return name


def is_library(location: str) -> bool:
    """Whether a frame's location is a library (native code without debug info) rather
    than a source file."""
    name = location.rpartition("/")[2]
    return (
        location == "?"
        or location.startswith("[")
        or bool(EXTENSION_MODULE.fullmatch(name) or LIBRARY_FILE.fullmatch(name))
        or any(pattern.fullmatch(name) for pattern, _ in LIBRARY_TAGS)
    )


def shown_frame(frame: str) -> tuple[str, str | None]:
    """A cleaned frame's name as shown, and its place (``file:line``, or the file) for
    the hover text, or None."""
    function, location = frames.split(frame)
    if location is None:
        if function == UNKNOWN:
            return UNKNOWN_SHOWN, None
        if function.startswith("[") and function.endswith("]"):
            return f"[{library_tag(function[1:-1])}]", None
        return function, None
    if is_library(location):
        return (function if location == "?" else f"{function} [{library_tag(location)}]"), None
    file, _, line = location.rpartition(":")
    if not (file and line.isdigit()):
        file = location
    if PYTHON_FILE.fullmatch(file):
        return f"{function} ({file})", location
    return function, location


def rooted(stack: list[str], call_frame: str, keep_unplaced: bool) -> list[str] | None:
    """The frames of a stack that are shown (see the module's doc), or None."""
    for index, frame in enumerate(stack):
        if frames.split(frame)[0] == call_frame:
            return stack[index + 1 :] or [CALLING]
    for index, frame in enumerate(stack):
        if frame.endswith(f" {frames.WORKER_THREADS}"):
            return stack[index:]
    return [MAIN_THREAD, *stack] if keep_unplaced else None


@dataclass
class Shown:
    """The stacks a recording's pictures show."""

    folded: str  # shown names, ``name;name;... count``
    samples: int  # recorded
    shown: int  # of those, shown
    # Per box (its path of shown names from the root), the samples at each place.
    places: dict[tuple[str, ...], Counter] = field(default_factory=dict)
    boxes: dict[tuple[str, ...], int] = field(default_factory=dict)  # samples per box

    def hover(self, path: tuple[str, ...]) -> str:
        """The extra hover text of a box: its lines' shares, or what it is."""
        if path and path[-1] == UNKNOWN_SHOWN:
            return UNKNOWN_HOVER
        if path and path[-1] == CALLING:
            return "samples in the harness's lambda that calls the rung, outside the rung's frames"
        if path and path[-1] == MAIN_THREAD:
            return (
                "perf names no Python frames before Python 3.13, so these samples of the "
                "main thread cannot be placed inside or outside the rung's call"
            )
        places = self.places.get(path)
        if not places:
            return ""
        total = self.boxes[path]
        listed, last_file = [], None
        for place, count in places.most_common(HOVER_LINES):
            file, _, line = place.rpartition(":")
            if not line.isdigit():
                file, line = place, ""
            text = f":{line}" if file == last_file and line else place
            listed.append(f"{text} {percent(count / total)}")
            last_file = file
        more = len(places) - HOVER_LINES
        return "lines: " + ", ".join(listed) + (f", {more} more" if more > 0 else "")


def percent(share: float) -> str:
    """A share of samples as a whole percent; a share above none never reads 0%, nor one
    short of all 100% (the counts beside it say exactly)."""
    if 0 < share < 0.005:
        return "<1%"
    return ">99%" if 0.995 <= share < 1 else f"{share:.0%}"


def shown(folded: str, call_frame: str, keep_unplaced: bool = False) -> Shown:
    """The stacks of ``folded`` (cleaned) that the pictures show, named as they show them."""
    merged: Counter[str] = Counter()
    places: dict[tuple[str, ...], Counter] = defaultdict(Counter)
    boxes: Counter[tuple[str, ...]] = Counter()
    samples = 0
    for stack, count in frames.stacks(folded):
        samples += count
        kept = rooted(stack, call_frame, keep_unplaced)
        if kept is None:
            continue
        names = []
        for frame in kept:
            name, place = shown_frame(frame)
            names.append(name)
            path = tuple(names)
            boxes[path] += count
            if place is not None:
                places[path][place] += count
        merged[";".join(names)] += count
    return Shown(
        folded="".join(f"{stack} {count}\n" for stack, count in sorted(merged.items())),
        samples=samples,
        shown=sum(merged.values()),
        places=dict(places),
        boxes=dict(boxes),
    )


def title(rung: str, summary: str) -> str:
    """The flamegraph's title: the rung and what it changed, shortened at a word (with an
    ellipsis) to TITLE_CHARACTERS."""
    text = f"{rung}: {summary}" if summary else rung
    if len(text) <= TITLE_CHARACTERS:
        return text
    cut = text[: TITLE_CHARACTERS - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-") + "…"


def draw(inferno: str, shown: Shown, title_text: str, subtitle: str, svg: Path) -> None:
    """inferno's icicle graph of ``shown``, with the hover texts and style added, into
    ``svg``."""
    # --inverted: an icicle graph, whose root stays in sight at the top of the page's
    # frame however deep the stacks; --deterministic: a function keeps its colour.
    completed = subprocess.run(
        [inferno, "--inverted", "--deterministic", "--title", title_text, "--subtitle", subtitle],
        input=shown.folded,
        capture_output=True,
        text=True,
        check=True,
    )
    svg.write_text(with_details(completed.stdout, shown))


def with_details(svg: str, shown: Shown) -> str:
    """inferno's SVG with each box's hover text extended (``Shown.hover``), the root
    named ROOT, and STYLE added; edited as XML."""
    root = ElementTree.fromstring(svg)
    graph = _find(root, f".//{{{SVG}}}svg[@id='frames']")
    boxes = []  # (y, x, width, group, name), x and width in samples
    for group in graph.findall(f"{{{SVG}}}g"):
        rect = _find(group, f"{{{SVG}}}rect")
        name = _title(group)["name"]
        x, width = (int(rect.attrib[f"{{{INFERNO}}}{key}"]) for key in ("x", "w"))
        boxes.append((float(rect.attrib["y"]), x, width, group, name))
    depths = {y: depth for depth, y in enumerate(sorted({box[0] for box in boxes}))}
    # Each box's path from the root: its parent is the box one row up whose samples
    # hold its own (in inferno's layout, a box lies within its caller's span).
    rows: dict[int, list] = defaultdict(list)
    for y, x, width, group, name in boxes:
        rows[depths[y]].append((x, width, group, name))
    paths: dict[int, list] = {}
    for depth in sorted(rows):
        row = sorted(rows[depth], key=lambda box: box[0])
        above = paths.get(depth - 1, [])
        starts = [x for x, _, _ in above]
        paths[depth] = []
        for x, width, group, name in row:
            if depth == 0:
                path: tuple[str, ...] = ()
            else:
                parent = above[bisect_right(starts, x) - 1]
                path = (*parent[2], name)
            paths[depth].append((x, width, path))
            _extend(group, path, shown)
    style = ElementTree.Element(f"{{{SVG}}}style", {"type": "text/css"})
    style.text = STYLE
    # After inferno's style, so that its rules give way to these.
    root.insert(list(root).index(_find(root, f"{{{SVG}}}style")) + 1, style)
    return '<?xml version="1.0" standalone="no"?>' + ElementTree.tostring(root, "unicode")


def _find(element: ElementTree.Element, path: str) -> ElementTree.Element:
    """The element at ``path`` under ``element``, which inferno's layout always has."""
    found = element.find(path)
    if found is None:
        raise ValueError(f"not a flamegraph as inferno draws it: no {path}")
    return found


def _title(group: ElementTree.Element) -> re.Match[str]:
    """The parts of a box's hover text (TITLE's groups)."""
    text = _find(group, f"{{{SVG}}}title").text or ""
    parts = TITLE.fullmatch(text)
    if parts is None:
        raise ValueError(f"not a box's hover text as inferno writes it: {text!r}")
    return parts


def _extend(group: ElementTree.Element, path: tuple[str, ...], shown: Shown) -> None:
    """A box's hover text extended: inferno's script names a box by its hover text without
    its last parenthesis, ``(N samples, P%)``, so what is added goes inside it."""
    title = _find(group, f"{{{SVG}}}title")
    parts = _title(group)
    if not path:
        hidden = shown.samples - shown.shown
        extra = (
            f"of {shown.samples:,} recorded; the other {hidden:,}, in the harness's timing "
            "loop, are not shown"
            if hidden
            else f"all {shown.samples:,} recorded"
        )
        title.text = f"{ROOT} ({parts['count']} samples, {parts['share']}%; {extra})"
        _find(group, f"{{{SVG}}}text").text = ROOT
        return
    if extra := shown.hover(path):
        title.text = f"{parts['name']} ({parts['count']} samples, {parts['share']}%;\n{extra})"


def speedscope(shown: Shown, name: str, rate: int | None) -> dict:
    """The shown stacks as a speedscope "sampled" profile
    (https://www.speedscope.app/file-format-schema.json), each sample weighing 1/rate
    seconds (unitless counts where the rate is not known)."""
    indices: dict[str, int] = {}
    samples, weights = [], []
    for stack, count in frames.stacks(shown.folded):
        samples.append([indices.setdefault(frame, len(indices)) for frame in stack])
        weights.append(count / rate if rate else count)
    return {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": [{"name": frame} for frame in indices]},
        "profiles": [
            {
                "type": "sampled",
                "name": name,
                "unit": "seconds" if rate else "none",
                "startValue": 0,
                "endValue": sum(weights),
                "samples": samples,
                "weights": weights,
            }
        ],
        "name": name,
        "exporter": "ladder_bench.flamegraph",
    }
