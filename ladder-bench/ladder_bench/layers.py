"""Where each rung's time goes: the share of its profile's samples in each layer of a
Rust-accelerated Python package, from the folded stacks ``profiling`` wrote.

    python -m ladder_bench.layers [PROFILES] [--config pyproject.toml]

recomputes ``layers.json``, ``layers.md`` and ``layers.svg`` in PROFILES (default
``profiles``) from its ``flamegraphs/<rung>.folded`` files; ``ladder-bench bench`` writes
them after it records the flamegraphs.

The layers: the Python interpreter, numpy, the Python/Rust boundary (pyo3 and rust-numpy:
converting arguments, making the Python objects returned), the Rust core (the project's
own Rust and the crates it uses), the allocator, the harness (samples outside the rung's
call: the timing loop around it), and what cannot be placed.

Each sample counts to one layer (``attribute``). A sample outside the rung's call (a
stack with Python frames but not the call's, ``profiling.CALL_FRAME``, and not on the
rung's worker threads) is the harness's. Otherwise its frames are read from the
innermost outwards, and the first that owns its time decides:

- the allocator (``malloc``, ``free``, ``realloc``, Rust's shims in front of them, and
  the C library's code they run) owns it, whoever called it;
- Python code, numpy, pyo3 and rust-numpy (a Rust frame naming ``pyo3::``,
  ``pyo3_ffi::`` or ``numpy::``) and any other Rust code (the core) own it, except that
  Python's C code, libpython's (``PyLong_FromLong``, ``PyList_Append``) or numpy's
  (``PyArray_NewFromDescr``), working for a Rust frame is the boundary's: an object
  made, or a reference counted, for Rust;
- numpy's code is numpy's even when Python called it, and libpython's C code called from
  Python is the interpreter's;
- code that works for its caller passes the sample outwards: the C library's (``memcpy``,
  libm's ``hypot``, ``sprintf``), Rust's standard library and generic crates (``core``,
  ``alloc``, ``std``, ``hashbrown``, ``ndarray``), the kernel's, and code with no symbol.

Rust library code whose next owner outwards is a Python frame is ``unattributed``: Python
does not call Rust's standard library, so the profiler lost the extension's frames in
between (py-spy does, around inlined code), and the sample may be the core's or the
boundary's. A stack with no owner at all is ``unattributed`` too (the interpreter's, if
it went through libpython, numpy's if through numpy).

A project adds its own patterns (regular expressions searched in each frame, ``function
(file:line)``) in ``[tool.ladder-bench.layers]``, tried before the defaults;
``docs/layers.md`` says more.
"""

import html
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import cli, config, flamegraph, frames, profiling, report

# The layers, in the order the table and chart show them: (id, name, colour). The colours
# are Okabe and Ito's, told apart by colour-blind readers too.
LAYERS = (
    ("interpreter", "Python interpreter", "#0072B2"),
    ("numpy", "numpy", "#009E73"),
    ("boundary", "Python/Rust boundary", "#E69F00"),
    ("core", "Rust core", "#D55E00"),
    ("allocator", "allocator", "#CC79A7"),
    ("harness", "harness", "#999999"),
    ("unattributed", "unattributed", "#56B4E9"),
)
NAMES = {layer: name for layer, name, _ in LAYERS}
COLOURS = {layer: colour for layer, _, colour in LAYERS}
OWNERS = ("interpreter", "numpy", "boundary", "core", "allocator")
# The kinds of frame that pass a sample outwards: libpython's C code, and other code that
# works for its caller. With the owners, the keys [tool.ladder-bench.layers] takes.
CPYTHON, HELPER = "cpython", "helpers"
assert set(config.LAYER_KEYS) == {*OWNERS, CPYTHON, HELPER}
# Rust's standard library and generic crates, and unnamed code of a library that is not
# the system's or Python's: helpers that Python never calls directly.
NATIVE_HELPER = "native helpers"
PYTHON_C = frozenset(("numpy", CPYTHON))  # Python's C code: the boundary's under Rust
RUST = frozenset(("boundary", "core"))


def _in_library(name: str) -> str:
    """Frames of code in the library ``name`` (a pattern): ``f (…/lib)`` or ``[…/lib]``."""
    return rf"\((?:[^()]*/)?{name}\)$|^\[(?:[^\]]*/)?{name}\]$"


def _functions(names: str) -> str:
    """Frames of the functions ``names`` (patterns, separated by spaces), whatever the file."""
    return rf"^(?:{'|'.join(names.split())})(?: \(|$)"


# The default patterns, searched in each frame ("function (file:line)", "function (file)",
# or the bare function perf names), in this order. A frame none matches is the core's if
# it is Rust (a .rs file, or a path with "::") of a crate not in HELPER_CRATES, a native
# helper if it is Rust of one of those, and a helper otherwise.
ALLOCATOR_FUNCTIONS = (
    r"malloc calloc realloc valloc pvalloc free cfree reallocarray posix_memalign "
    r"aligned_alloc memalign mmap munmap mremap brk sbrk madvise _int_\w+ malloc_consolidate "
    r"tcache_\w+ __libc_\w*(?:alloc|free)\w* __default_morecore "
    r"__rust_(?:alloc|dealloc|realloc|alloc_zeroed) (?:__rustc::)?__r[dg]l_\w+ "
    r"je_\w+ mi_\w+ tc_\w+"
)
C_LIBRARIES = r"(?:libc|libm|libpthread|libdl|librt|libgcc_s|ld-linux[\w.-]*)\.so[\d.]*"
INTERPRETER_FUNCTIONS = r"cfunction_\w+ method_vectorcall\w* slot_tp_\w+ type_call builtin_\w+"
DEFAULT_PATTERNS = (
    # numpy: its files (compiled or Python) and its bundled BLAS; from perf, whose frames
    # carry no file, the prefixes of its C API.
    ("numpy", r"\(numpy(?:\.libs)?/|^\[numpy(?:\.libs)?/"),
    ("numpy", r"^(?:PyArray_|PyUFunc_|PyDataMem_|NpyIter_|npyiter_|npy_)\w*$"),
    ("boundary", r"(?<![\w:])(?:pyo3|pyo3_ffi|numpy)::"),
    # The allocator: C's, Rust's shims in front of it, and the usual replacements.
    ("allocator", _functions(ALLOCATOR_FUNCTIONS)),
    ("allocator", r"^<?(?:alloc::alloc::|std::alloc::System\b|std::sys::alloc::)"),
    # The rest of the C library works for its caller; from perf, its busiest functions.
    ("helpers", _in_library(C_LIBRARIES)),
    ("helpers", r"^\[\[?vdso\]\]?$|^\[(?:unknown|kernel\.kallsyms)\]$"),
    ("helpers", r"^(?:__)?(?:mem(?:cpy|move|set|cmp|chr)|bcmp|str(?:len|cmp|chr))\w*$"),
    ("helpers", r"^__GI_\w+$"),
    # The interpreter's C code: libpython (or a python executable with it linked in), its
    # extension modules, C frames with a source file (CPython's, built with debug info),
    # and from perf, the names of its API.
    ("cpython", _in_library(r"(?:libpython[\d.]*\w*\.so[\d.]*|python[\d.]*)")),
    ("cpython", r"\([^()]*lib-dynload/[^()]*\)$|\([\w/-]+\.c(?::\d+)?\)$"),
    ("cpython", r"^_?Py[A-Z_]\w*$"),
    ("cpython", _functions(INTERPRETER_FUNCTIONS)),
    # Python code: a .py file, a frozen module, or code compiled from a string.
    ("interpreter", r"\([^()]*\.pyw?(?::\d+)?\)$|\(<(?:frozen [^>]+|string)>(?::\d+)?\)$"),
)
# Rust's own libraries and generic crates: their code works for whoever called it.
HELPER_CRATES = frozenset(
    (
        "core",
        "alloc",
        "std",
        "hashbrown",
        "rustc_hash",
        "ahash",
        "foldhash",
        "once_cell",
        "ndarray",
        "matrixmultiply",
        "num_traits",
        "num_integer",
        "num_complex",
        "memchr",
        "smallvec",
        "either",
        "itertools",
        "libm",
        "compiler_builtins",
        "panic_unwind",
    )
)
FIRST_CRATE = re.compile(r"(?<![\w:])([A-Za-z_]\w*)::")
RUST_FILE = re.compile(r"\([^()]*\.rs(?::\d+)?\)$")
UNNAMED = re.compile(r"^\[[^\]]*\]$")  # [libfoo.so]: code in a library, with no symbol


@dataclass(frozen=True)
class Rules:
    """The patterns frames are classified by: the project's, then the defaults."""

    patterns: tuple[tuple[str, re.Pattern], ...]
    call_frame: str = profiling.CALL_FRAME
    kinds: dict = field(default_factory=dict, compare=False, hash=False)  # frame -> kind

    @classmethod
    def of(cls, declared: dict[str, list[str]] | None = None) -> "Rules":
        """The rules of a ladder's ``[tool.ladder-bench.layers]`` (checked by ``config``)."""
        ordered = [(kind, p) for kind in config.LAYER_KEYS for p in (declared or {}).get(kind, [])]
        return cls(tuple((kind, re.compile(p)) for kind, p in [*ordered, *DEFAULT_PATTERNS]))

    def kind(self, frame: str) -> str:
        """A frame's kind: one of OWNERS, CPYTHON, HELPER or NATIVE_HELPER."""
        found = self.kinds.get(frame)
        if found is None:
            found = self.kinds[frame] = self._kind(frame)
        return found

    def _kind(self, frame: str) -> str:
        for kind, pattern in self.patterns:
            if pattern.search(frame):
                return kind
        if UNNAMED.match(frame):
            return NATIVE_HELPER
        function = frame.partition(" (")[0]
        if RUST_FILE.search(frame) or "::" in function:
            first = FIRST_CRATE.search(function)
            # A method of a primitive (<f64>::sqrt) names no crate: the standard library's.
            return NATIVE_HELPER if first is None or first[1] in HELPER_CRATES else "core"
        return HELPER


def attribute(stack: list[str], rules: Rules) -> str:
    """The layer a sample counts to (see the module's doc); ``stack`` is root first."""
    if not _in_call(stack, rules.call_frame) and any(
        rules.kind(frame) == "interpreter" for frame in stack
    ):
        return "harness"
    passed: set[str] = set()  # the kinds of the frames passed on the way out
    for frame in reversed(stack):
        kind = rules.kind(frame)
        if kind == "allocator":
            return kind
        if kind in ("interpreter", *RUST):
            if kind in RUST and passed & PYTHON_C:
                return "boundary"  # Python's C code working for Rust: a conversion
            if "numpy" in passed:
                return "numpy"
            if kind == "interpreter" and NATIVE_HELPER in passed and CPYTHON not in passed:
                return "unattributed"  # a native extension's code, its frames lost
            return kind
        passed.add(kind)
    if "numpy" in passed:
        return "numpy"
    return "interpreter" if CPYTHON in passed else "unattributed"


def _in_call(stack: list[str], call_frame: str) -> bool:
    return frames.holds(stack, call_frame) or any(
        frame.endswith(f" {frames.WORKER_THREADS}") for frame in stack
    )


def count(folded: str, rules: Rules) -> Counter:
    """Samples per layer of one recording's folded stacks."""
    samples: Counter = Counter()
    for stack, number in frames.stacks(folded):
        samples[attribute(stack, rules)] += number
    return samples


@dataclass(frozen=True)
class RungLayers:
    rung: str
    samples: Counter  # per layer; empty when the rung has no recording
    profiler: str | None = None

    @property
    def total(self) -> int:
        return sum(self.samples.values())

    def share(self, layer: str) -> float:
        return self.samples[layer] / self.total if self.total else 0.0

    @property
    def dominant(self) -> str | None:
        """The layer with the most samples; None without any."""
        if not self.total:
            return None
        return max((layer for layer, _, _ in LAYERS), key=lambda layer: self.samples[layer])

    def to_json(self) -> dict:
        return {
            "rung": self.rung,
            "profiler": self.profiler,
            "samples": self.total,
            "samples_by_layer": {layer: self.samples[layer] for layer, _, _ in LAYERS},
            "shares": {layer: round(self.share(layer), 4) for layer, _, _ in LAYERS},
            "dominant": self.dominant,
        }


def measure(rungs: list[tuple[str, str | None, str | None]], rules: Rules) -> list[RungLayers]:
    """Each (rung, folded stacks or None, profiler) as its samples per layer."""
    return [
        RungLayers(rung, count(folded, rules) if folded else Counter(), profiler)
        for rung, folded, profiler in rungs
    ]


def to_json(rows: list[RungLayers]) -> dict:
    return {
        "layers": [{"id": layer, "name": name, "colour": c} for layer, name, c in LAYERS],
        "rungs": [row.to_json() for row in rows],
    }


def _shown(rows: list[RungLayers]) -> list[str]:
    """The layers any rung has samples in (every owning layer and the harness always)."""
    return [
        layer
        for layer, _, _ in LAYERS
        if layer != "unattributed" or any(row.samples[layer] for row in rows)
    ]


def _percent(row: RungLayers, layer: str) -> str:
    return flamegraph.percent(row.share(layer)) if row.samples[layer] else "-"


def to_markdown(rows: list[RungLayers]) -> str:
    """The table: a row per rung, a column per layer (its share of the samples)."""
    shown = _shown(rows)
    lines = [
        "| rung | samples | " + " | ".join(NAMES[layer] for layer in shown) + " | most |",
        "|---|---:|" + "---:|" * len(shown) + "---|",
    ]
    for row in rows:
        if row.dominant is None:
            cells = ["-"] * len(shown) + ["no profile"]
        else:
            cells = [_percent(row, layer) for layer in shown] + [NAMES[row.dominant]]
        lines.append(f"| {row.rung} | {row.total:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def chart(rows: list[RungLayers]) -> str:
    """One stacked horizontal bar per rung: its samples split by layer, inline SVG that
    scales with the page's width; text in the page's colour (dark mode too)."""
    shown = _shown(rows)
    label_width, bar_width, row_height, legend_height = 170, 560, 26, 30
    width = label_width + bar_width + 210
    legend_rows = -(-len(shown) // 4)
    top = legend_height * legend_rows
    height = top + row_height * len(rows) + 24
    description = "share of each rung's profile samples per layer: " + "; ".join(
        f"{row.rung}: mostly {NAMES[row.dominant]} ({row.share(row.dominant):.0%})"
        if row.dominant is not None
        else f"{row.rung}: no profile"
        for row in rows
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" style="max-width: 100%; height: auto" role="img" '
        f'aria-label="{_e(description)}" font-size="13" font-family="system-ui, sans-serif">'
        f"<title>Where each rung's time goes: {_e(description)}</title>"
    ]
    for i, layer in enumerate(shown):
        lx, ly = label_width + (i % 4) * 190, (i // 4) * legend_height + 8
        parts.append(
            f'<rect x="{lx}" y="{ly}" width="14" height="14" fill="{COLOURS[layer]}"/>'
            f'<text x="{lx + 20}" y="{ly + 12}" fill="currentColor">{NAMES[layer]}</text>'
        )
    for tick in range(0, 101, 25):
        tx = label_width + bar_width * tick / 100
        parts.append(
            f'<line x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{height - 20}" '
            f'stroke="currentColor" stroke-opacity="0.25"/>'
            f'<text x="{tx:.1f}" y="{height - 5}" text-anchor="middle" '
            f'fill="currentColor">{tick}%</text>'
        )
    for i, row in enumerate(rows):
        y = top + i * row_height
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end" '
            f'fill="currentColor">{_e(row.rung)}</text>'
        )
        if row.dominant is None:
            parts.append(
                f'<text x="{label_width + 4}" y="{y + 17}" fill="currentColor">no profile</text>'
            )
            continue
        x = float(label_width)
        for layer in shown:
            part = bar_width * row.share(layer)
            if part > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y + 4}" width="{part:.1f}" height="{row_height - 8}" '
                    f'fill="{COLOURS[layer]}"><title>{_e(row.rung)}: {NAMES[layer]} '
                    f"{row.share(layer):.0%} ({row.samples[layer]} of {row.total} samples)"
                    "</title></rect>"
                )
            x += part
        parts.append(
            f'<text x="{label_width + bar_width + 8}" y="{y + 17}" fill="currentColor">'
            f"{NAMES[row.dominant]} {row.share(row.dominant):.0%}</text>"
        )
    return "".join(parts) + "</svg>\n"


def _e(text: str) -> str:
    return html.escape(text)


INTRO = (
    "Each bar splits a rung's profile samples (the stacks of its flamegraph below) by the "
    "layer of code they were in: the Python interpreter, numpy, the Python/Rust boundary "
    "(pyo3 and rust-numpy converting arguments and making the Python objects returned), the "
    "Rust core, the allocator, and the harness's timing loop around the rung's call. A "
    "sample counts to the innermost frame that owns its time: `malloc` is the allocator's "
    "whoever called it; numpy's code is numpy's even when Python called it; libpython's or "
    "numpy's C code working for Rust is the boundary's; the C library, Rust's standard "
    "library and code without a symbol work for their caller. Unattributed: Rust library "
    "code the profiler recorded without the frames that called it."
)


def write(out: Path, rows: list[RungLayers]) -> dict:
    """``layers.json``, ``layers.md`` and ``layers.svg`` in ``out``; the report section."""
    (out / "layers.json").write_text(json.dumps(to_json(rows), indent=2))
    (out / "layers.md").write_text(to_markdown(rows))
    (out / "layers.svg").write_text(chart(rows))
    return {
        "id": "layers",
        "title": "Where each rung's time goes",
        "order": 15,
        "intro": INTRO,
        "blocks": [{"svg": "layers.svg"}, {"markdown": "layers.md"}],
    }


def section(out: Path, profiles: list, declared: dict[str, list[str]] | None = None) -> dict:
    """The layers of each rung's ``profiling.Profile`` (none for a rung not recorded),
    written into ``out`` by ``write``; the report section."""
    recordings = [(p.rung, p.recording) for p in profiles]
    rows = measure(
        [(rung, r.folded if r else None, r.profiler if r else None) for rung, r in recordings],
        Rules.of(declared),
    )
    return write(out, rows)


def from_folder(profiles: Path, names: list[str] | None, rules: Rules) -> list[RungLayers]:
    """The layers of the ``flamegraphs/<rung>.folded`` files in ``profiles``: of the rungs
    ``names`` (in that order), else of every file there, by name."""
    folder = profiles / "flamegraphs"
    if names is None:
        names = sorted(path.name.removesuffix(".folded") for path in folder.glob("*.folded"))
    found = [(name, folder / f"{name}.folded") for name in names]
    return measure(
        [(name, path.read_text() if path.is_file() else None, None) for name, path in found],
        rules,
    )


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="python -m ladder_bench.layers", description=__doc__)
    parser.add_argument(
        "profiles", type=Path, nargs="?", default=Path("profiles"), help="the output folder"
    )
    config.add_options(parser)
    args = parser.parse_args(argv)
    ladder, rungs = config.from_options(parser, args, None)
    folder = args.profiles / "flamegraphs"
    if not any(folder.glob("*.folded")):
        parser.exit(2, f"{parser.prog}: no {folder}/*.folded; run ladder-bench bench first\n")
    present = {path.name.removesuffix(".folded") for path in folder.glob("*.folded")}
    names = [rung.name for rung in rungs if rung.name in present] or None
    rows = from_folder(args.profiles, names, Rules.of(ladder.layers))
    report.publish(args.profiles, write(args.profiles, rows))
    print(to_markdown(rows), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
