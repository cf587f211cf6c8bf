"""Linux perf, for the rungs whose work runs on threads py-spy cannot see.

py-spy samples only the threads that hold a Python thread state: the threads of rayon,
OpenMP or ``std::thread`` in a native extension are invisible to it. perf samples every
thread of the process: ``perf record -e cpu-clock --call-graph dwarf -p PID``, attached
to the harness's child like py-spy. ``cpu-clock`` is a software event, so it works in
virtual machines and on CI runners without hardware counters; DWARF call graphs unwind
code built without frame pointers (Rust's release builds), from its debug info.

Python's own frames: perf sees the interpreter's C functions (``_PyEval_EvalFrameDefault``)
unless the child runs with ``-X perf_jit`` (CPython 3.13 and later), which writes a
"jitdump" that ``perf inject --jit`` turns into a name for each Python function,
``py::run_calls:/path/harness.py``. (3.12's ``-X perf`` names them too, but DWARF
unwinding stops at the first Python frame, leaving stacks cut off at their root.)

``fold`` turns ``perf script``'s text into folded stacks in py-spy's naming
(``function (file)``, unnamed code as ``[library]``), the main thread's as they are and
every other thread's under one frame, ``<rung> [worker threads]``, placed under the
rung's call where the Python frames are named.
"""

import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from . import frames

JIT_VERSION = (3, 13)  # the first CPython with -X perf_jit
PYTHON_FRAME = re.compile(r"py::(?P<function>.+):(?P<file>[^:]+)")
# The interpreter's own code, between two Python frames: libpython, or a python
# executable with the interpreter linked in (Debian's).
INTERPRETER = re.compile(r"libpython\d[\d.]*\S*|python\d?(\.\d+)?")
REFUSED = re.compile(
    r"perf_event_paranoid|permission denied|not permitted|access to performance monitoring",
    re.IGNORECASE,
)
ENABLE = (
    "install perf (Debian: apt-get install linux-perf; Ubuntu: apt-get install "
    "linux-tools-common linux-tools-$(uname -r))"
)
ALLOW = "let it sample your processes: sudo sysctl kernel.perf_event_paranoid=1"


class PerfError(RuntimeError):
    """perf could not record, said in one line."""


@dataclass(frozen=True)
class Sample:
    thread: int
    frames: tuple[tuple[str, str], ...]  # (symbol, library), the root first


@dataclass(frozen=True)
class Folded:
    folded: str
    samples: int
    main: int  # samples of the main thread
    main_in_call: int  # of those, inside the rung's call (0 where Python frames are unnamed)
    named: bool  # whether perf named the Python frames (-X perf_jit)

    @property
    def workers(self) -> int:
        return self.samples - self.main

    @property
    def call_share(self) -> float:
        """The share of the samples inside the rung's call: every worker thread's (the
        harness has none of its own) and the main thread's inside the call."""
        return (self.workers + self.main_in_call) / self.samples if self.samples else 0.0


def jit_option(version: tuple[int, int] = sys.version_info[:2]) -> list[str]:
    """The interpreter options that let perf name Python frames, where it can."""
    return ["-X", "perf_jit"] if version >= JIT_VERSION else []


def problem(perf: str | None) -> str | None:
    """Why perf cannot record here (one line, with the fix), or None if it can: a
    recording of ``true`` is the cheapest way to ask."""
    if perf is None:
        return (
            f"perf is not installed: {ENABLE}" if sys.platform == "linux" else "perf is Linux only"
        )
    options = ["--quiet", "--event", "cpu-clock", "--no-buildid-cache"]
    try:
        with tempfile.TemporaryDirectory() as scratch:
            data = Path(scratch) / "perf.data"
            completed = _perf(perf, data, "record", *options, "--", "true")
    except OSError as error:
        return f"perf could not start: {error}"
    if completed.returncode == 0:
        return None
    return refusal(completed.stderr or completed.stdout)


def refusal(stderr: str) -> str:
    """perf's failure as one line: its reason and, if it was refused, the fix."""
    if REFUSED.search(stderr):
        return f"perf was refused ({_first_line(stderr)}): {ALLOW}"
    return f"perf failed: {_first_line(stderr)}"


def record(perf: str, pid: int, seconds: float, rate: int, data: Path, jit: bool) -> None:
    """Sample every thread of ``pid`` for ``seconds`` into ``data``."""
    options = ["--event", "cpu-clock", "--freq", str(rate), "--call-graph", "dwarf"]
    if jit:  # the jitdump's timestamps are of this clock
        options += ["--clockid", "monotonic"]
    options += ["--no-buildid-cache", "--pid", str(pid)]
    completed = _perf(perf, data, "record", *options, "--", "sleep", str(seconds))
    if completed.returncode != 0 or not data.is_file():
        raise PerfError(
            refusal(f"{completed.stderr}\nperf record exited with {completed.returncode}")
        )


def script(perf: str, data: Path, pid: int, jit: bool) -> str:
    """``perf script``'s text of a recording: for each sample, its thread and its
    frames (leaf first), with Python's named where the child wrote a jitdump."""
    try:
        if jit and Path(f"/tmp/jit-{pid}.dump").is_file():
            injected = data.with_suffix(".jit.data")
            _run(perf, injected, "inject", "--jit", "--input", str(data))
            data = injected
        return _run(perf, data, "script", "--fields", "tid,ip,sym,dso")
    finally:
        # CPython writes its jitdump to /tmp, and perf inject one library per Python
        # function beside it: a thousand files of this process, of no use now.
        for leftover in Path("/tmp").glob(f"jit*-{pid}[.-]*"):
            leftover.unlink(missing_ok=True)


def parse(text: str) -> list[Sample]:
    """The samples in ``perf script --fields tid,ip,sym,dso`` output: a line with the
    thread id, then a tab-indented line per frame (``address symbol (library)``, leaf
    first; frames inlined into a function come before it, marked ``(inlined)``), then a
    blank line."""
    samples: list[Sample] = []
    thread: int | None = None
    stack: list[tuple[str, str]] = []
    for line in [*text.splitlines(), ""]:
        if not line.strip():
            if thread is not None:
                samples.append(Sample(thread, tuple(reversed(_with_libraries(stack)))))
            thread, stack = None, []
        elif not line.startswith("\t"):  # the thread id, right-aligned: maybe spaces first
            thread = int(line.split()[0])
        elif thread is not None:
            stack.append(_frame(line))
    return samples


def fold(samples: list[Sample], main_thread: int, rung: str, call_frame: str) -> Folded:
    """Folded stacks of ``samples``: the main thread's, and the other threads' under
    ``<rung> [worker threads]``, which hangs under the rung's call (the commonest path
    of the main thread to ``call_frame``) where Python frames are named, else at the
    root. Frames are named as py-spy names them, for ``frames.clean``."""
    stacks = [(s.thread == main_thread, _named(s.frames)) for s in samples]
    named = any(PYTHON_FRAME.fullmatch(symbol) for _, stack in stacks for symbol, _ in stack)
    main = [[_name(frame) for frame in stack] for is_main, stack in stacks if is_main]
    paths = Counter(
        tuple(stack[: stack.index(frame) + 1])
        for stack in main
        for frame in stack
        if frame.partition(" (")[0] == call_frame
    )
    under = list(paths.most_common(1)[0][0]) if paths else []
    folded: Counter[str] = Counter(";".join(stack) for stack in main)
    for is_main, stack in stacks:
        if not is_main:
            threads = [*under, f"{rung} {frames.WORKER_THREADS}", *(_name(f) for f in stack)]
            folded[";".join(threads)] += 1
    return Folded(
        folded="".join(f"{stack} {count}\n" for stack, count in folded.items()),
        samples=len(samples),
        main=len(main),
        main_in_call=sum(frames.holds(stack, call_frame) for stack in main),
        named=named,
    )


def _perf(perf: str, data: Path, command: str, *arguments: str):
    """``perf COMMAND``, reading (``script``) or writing ``data``, with its cache of the
    libraries it saw (the "build-id cache", ``~/.debug`` by default, where ``perf
    inject`` would leave a copy of every Python function's library) beside ``data``."""
    cache = data.parent / "build-id-cache"
    io = "--input" if command == "script" else "--output"
    return subprocess.run(
        [perf, "--buildid-dir", str(cache), command, io, str(data), *arguments],
        capture_output=True,
        text=True,
    )


def _run(perf: str, data: Path, command: str, *arguments: str) -> str:
    completed = _perf(perf, data, command, *arguments)
    if completed.returncode != 0:
        raise PerfError(f"perf {command} failed: {_first_line(completed.stderr)}")
    return completed.stdout


def _first_line(text: str) -> str:
    """The first line of perf's message that says something: without the "Error:" it
    may start with (alone on a line, or before the reason), and not a progress report
    in brackets ("[ perf record: Woken up 1 times to write data ]")."""
    for line in text.splitlines():
        line = re.sub(r"^(error|warning):\s*", "", line.strip(), flags=re.IGNORECASE)
        if line and not line.startswith("[ perf"):
            return line
    return "no message"


def _frame(line: str) -> tuple[str, str]:
    """(symbol, library) of one frame line; the library "inlined" for inlined frames."""
    _, _, rest = line.strip().partition(" ")
    symbol, separator, library = rest.rpartition(" (")
    if not separator:
        return rest, ""
    return re.sub(r"\+0x[0-9a-f]+$", "", symbol), library.removesuffix(")")


def _with_libraries(stack: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The frames (leaf first) with each inlined one given the library of the function
    it was inlined into, the next frame that is not inlined."""
    library, placed = "", []
    for symbol, frame_library in reversed(stack):
        if frame_library != "inlined":
            library = frame_library
        placed.append((symbol, library))
    return placed[::-1]


def _named(stack: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """A stack (root first) as py-spy would show it, where it has Python frames: from
    the first Python frame on, without the interpreter's frames above the last one (its
    machinery between one Python function and the next). Stacks with no Python frame,
    and what the last Python frame called, are kept whole."""
    python = [i for i, (symbol, _) in enumerate(stack) if PYTHON_FRAME.fullmatch(symbol)]
    if not python:
        return list(stack)
    return [
        frame
        for i, frame in enumerate(stack)
        if i >= python[0] and (i >= python[-1] or i in python or not _is_interpreter(frame[1]))
    ]


def _is_interpreter(library: str) -> bool:
    return INTERPRETER.fullmatch(Path(library).name) is not None


def _name(frame: tuple[str, str]) -> str:
    """A frame in py-spy's naming: ``function (file)`` for Python, the symbol for native
    code, ``[library]`` for native code without a symbol."""
    symbol, library = frame
    if python := PYTHON_FRAME.fullmatch(symbol):
        return f"{python['function']} ({python['file']})"
    if symbol == "[unknown]" or not symbol:
        if library.startswith("["):  # [kernel.kallsyms], [vdso]
            return library
        return f"[{Path(library).name if library and library != 'unknown' else 'unknown'}]"
    # The folded format separates frames with ";", which a Rust array type has: [T; 3].
    return symbol.replace(";", ",")
