"""Cleaning py-spy's folded stacks (``frame;frame;... count``, each frame
``function (file:line)``, or ``function (file)`` with ``--nolineno``) before anything is
drawn or compared from them; perf's, once ``ladder_bench.perf`` has named their frames
the same way, go through the same cleaning.

py-spy ``--native`` leaves Rust frames in three forms, all turned into the names in the
source by rustfilt (a real demangler, run once per recording on every distinct name):

- legacy symbols that py-spy split on ``::`` without decoding their escapes or dropping
  their hash: ``alloc::raw_vec::RawVecInner$LT$A$GT$::finish_grow::h3888abcd01234567``.
  The mangled symbol is rebuilt from the parts (``_ZN`` + each part length-prefixed +
  ``E``) for rustfilt, which drops the hash (it changes from build to build);
- v0 symbols left whole, ``_RNvCs...``, and legacy ones left whole, ``_ZN...E``,
  handed to rustfilt as they are (a C++ symbol comes back from it unchanged);
- addresses of code with no symbol, ``0x7f25dc04524a (libc.so.6)``: the address differs
  from sample to sample within one function, so such frames become the library's name,
  ``[libc.so.6]`` (``[unknown]`` when py-spy does not know the library either). At the
  root of a stack, below the first named frame, they are the process's entry (libc
  starting the interpreter), which py-spy leaves out when it can name it: they go, or
  those samples would stand beside the others as a second, thinner copy of the tree.

Absolute file paths are made relative to the repository (``poly_match/v1.py``) or to
site-packages (``numpy/...``), as py-spy already does for the modules it can place: a
frame then names the same code on every machine and in every virtualenv.
"""

import re
import subprocess
from collections import Counter
from pathlib import Path

LEGACY_HASH = re.compile(r"::h[0-9a-f]{16}$")
LEGACY_SYMBOL = re.compile(r"_ZN[\w$.]+E")
LEGACY_PART = re.compile(r"[\w$.]+")
V0_SYMBOL = re.compile(r"_R[\w$]+")
ADDRESS = re.compile(r"0x[0-9a-f]+")
# The first frame of each stack py-spy records with --threads: the OS thread id (a
# pthread id in hex where py-spy does not know it) and the Python thread's name.
THREAD_FRAME = re.compile(r"thread \((?P<id>\d+|0x[0-9a-fA-F]+)\)(: .*)?")
INSTALL_FOLDERS = ("/site-packages/", "/dist-packages/")


def stacks(folded: str) -> list[tuple[list[str], int]]:
    """Folded stacks (``frame;frame;... count`` per line) as (frames, count) pairs."""
    parsed = []
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            parsed.append((stack.split(";"), int(count)))
    return parsed


def by_thread(folded: str) -> tuple[str, Counter[int]]:
    """py-spy's ``--threads`` stacks without their first frame (``thread (ID): name``),
    and how many samples each thread had, by OS thread id."""
    threads: Counter[int] = Counter()
    lines = []
    for line in folded.splitlines():
        first, _, rest = line.partition(";")
        thread = THREAD_FRAME.fullmatch(first)
        if thread is None or not rest:
            lines.append(line)
            continue
        if thread["id"].isdigit():
            threads[int(thread["id"])] += int(rest.rpartition(" ")[2])
        lines.append(rest)
    return "".join(f"{line}\n" for line in lines), threads


def holds(stack: list[str], function: str) -> bool:
    """Whether a stack has a frame of ``function`` (its name, whatever its file)."""
    return any(frame.partition(" (")[0] == function for frame in stack)


# The frame perf's recordings hang the rung's other threads under (``<rung> [worker
# threads]``): perf attaches once the calls run, so their samples are of the calls.
WORKER_THREADS = "[worker threads]"


def in_measured_calls(stack: list[str], measured_frame: str) -> bool:
    """Whether a stack is of the measured calls: under ``measured_frame``, or on one of the
    rung's worker threads (placed at the root where perf names no Python frames)."""
    return holds(stack, measured_frame) or any(f.endswith(f" {WORKER_THREADS}") for f in stack)


def clean(folded: str, rustfilt: str, root: Path) -> str:
    """``folded`` with every frame cleaned (see the module's doc) and the stacks that
    became identical merged; ``rustfilt`` is the program, ``root`` the repository."""
    cleaned: Counter[str] = Counter()
    parsed = stacks(folded)
    functions = {split(frame)[0] for frames, _ in parsed for frame in frames}
    symbols = {function: symbol for function in functions if (symbol := mangled(function))}
    demangled = demangle(rustfilt, list(symbols.values()))
    # A symbol rustfilt did not take keeps py-spy's name, escapes and all, to be seen.
    names = {
        function: name
        for (function, symbol), name in zip(symbols.items(), demangled, strict=True)
        if name != symbol
    }
    for frames, count in parsed:
        named = next((i for i, frame in enumerate(frames) if not _is_address(frame)), 0)
        cleaned[";".join(_clean_frame(frame, names, root) for frame in frames[named:])] += count
    return "".join(f"{stack} {count}\n" for stack, count in cleaned.items())


def mangled(function: str) -> str | None:
    """The mangled Rust symbol behind a function name as py-spy prints it, or None if it
    is not a mangled one."""
    if V0_SYMBOL.fullmatch(function) or LEGACY_SYMBOL.fullmatch(function):
        return function
    parts = function.split("::")
    if (
        len(parts) > 1
        and all(LEGACY_PART.fullmatch(part) for part in parts)
        and (LEGACY_HASH.search(function) or "$" in function)
    ):
        return "_ZN" + "".join(f"{len(part)}{part}" for part in parts) + "E"
    return None


def demangle(rustfilt: str, symbols: list[str]) -> list[str]:
    """``symbols`` demangled by rustfilt without their hashes, in one process (it
    reads one name per line); a symbol it does not take comes back as it was."""
    if not symbols:
        return []
    completed = subprocess.run(
        [rustfilt],
        input="".join(f"{symbol}\n" for symbol in symbols),
        capture_output=True,
        text=True,
        check=True,
    )
    # The folded format separates frames with ";", which a Rust array type has: [T; 3].
    return [name.replace(";", ",") for name in completed.stdout.splitlines()]


def split(frame: str) -> tuple[str, str | None]:
    """A frame's function and its location (``file:line``, ``file`` or None)."""
    function, separator, location = frame.rpartition(" (")
    if not separator or not location.endswith(")"):
        return frame, None
    return function, location[:-1]


def _is_address(frame: str) -> bool:
    return ADDRESS.fullmatch(split(frame)[0]) is not None


def _clean_frame(frame: str, names: dict[str, str], root: Path) -> str:
    function, location = split(frame)
    if ADDRESS.fullmatch(function):
        return f"[{location}]" if location and location != "?" else "[unknown]"
    function = names.get(function, function)
    if location is None:
        return function
    return f"{function} ({_relative(location, root)})"


def _relative(location: str, root: Path) -> str:
    """A location's file relative to the repository or to site-packages."""
    if not location.startswith("/"):
        return location
    for folder in INSTALL_FOLDERS:
        if folder in location:
            return location.rpartition(folder)[2]
    root_prefix = f"{root.as_posix().rstrip('/')}/"
    return location.removeprefix(root_prefix)
