"""``ladder-bench COMMAND [OPTIONS]``: one entry point, a subcommand per tool.

Each command lives in its own module, whose ``main(argv)`` parses the rest of the line;
this module only picks it. With no command (the first argument an option, or none) it
runs ``bench``, the main job, so ``ladder-bench --quick`` is the whole pipeline.
"""

import contextlib
import ctypes
import importlib
import os
import signal
import sys
import time
from pathlib import Path

from . import cli

# command -> (module, one line for the overview)
COMMANDS = {
    "bench": ("pipeline", "the main job: timings, flamegraphs, criterion, the report"),
    "measure": ("measure", "time one rung by hand"),
    "compare": ("compare", "two commits built and timed interleaved, the instruction gate"),
    "history": ("history", "asv over a range of commits, no asv files needed"),
    "scale": ("scaling", "the scaling sweep over the declared sizes, with the peers"),
    "instructions": ("instructions", "instructions per call under callgrind"),
    "criterion": ("criterion", "cargo bench's results read for regressions (it exits 0 on one)"),
    "timings": ("timings", "the regression check between two timings.json files"),
    "summary": ("summary", "summary.md: the output folder's verdict in a few lines"),
}
DEFAULT = "bench"
# The separate scripts of earlier releases, kept as aliases for one release.
OLD_SCRIPTS = {
    "ladder-measure": "measure",
    "ladder-timings": "timings",
    "ladder-criterion": "criterion",
    "ladder-scale": "scale",
    "ladder-instructions": "instructions",
    "ladder-compare": "compare",
    "ladder-history": "history",
}


def overview() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    return (
        "usage: ladder-bench [COMMAND] [OPTIONS]\n\n"
        "Time, profile, count and compare the ladder declared in pyproject.toml's "
        "[tool.ladder-bench].\n\ncommands:\n" + "\n".join(lines) + "\n\n"
        f"With no command, `{DEFAULT}`. `ladder-bench COMMAND --help` lists a command's options.\n"
    )


def run(command: str, argv: list[str]) -> int:
    _adopt_orphans()
    try:
        module = importlib.import_module(f"ladder_bench.{COMMANDS[command][0]}")
        return module.main(argv)
    except cli.Failure as failure:
        print(f"ladder-bench {command}: {failure}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
        _end_descendants()
        print(f"\nladder-bench {command}: interrupted", file=sys.stderr)
        return 130


# prctl(2): orphaned descendants are re-parented to this process rather than to init.
PR_SET_CHILD_SUBREAPER = 36


def _adopt_orphans() -> None:
    """Become the reaper of this process's descendants (Linux), so that a grandchild whose
    parent died first stays findable here: on Ctrl-C, ``subprocess.run`` kills its own
    child (py-spy, valgrind, cargo) but not that child's children (the measured process,
    rustc). Elsewhere nothing: the terminal's SIGINT reaches the whole process group."""
    if sys.platform != "linux":
        return
    prctl = getattr(ctypes.CDLL(None), "prctl", None)
    if prctl is not None:
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _descendants() -> list[int]:
    """The processes below this one, from /proc (empty where there is none)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in filter(str.isdigit, entries):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # "pid (command) state ppid ...": the command may hold spaces and parentheses.
        state, ppid = stat.rpartition(")")[2].split()[:2]
        if state != "Z":
            children.setdefault(int(ppid), []).append(int(entry))
    found, queue = [], [os.getpid()]
    while queue:
        below = children.get(queue.pop(), [])
        found += below
        queue += below
    return found


def _end_descendants(grace: float = 3.0) -> None:
    """SIGTERM to every process below this one, until none is left; SIGKILL to what is
    still there after ``grace`` seconds. Repeated, because a process that ends hands its
    children to this one. Zombies among this process's children are reaped on the way."""
    deadline = time.monotonic() + grace
    while pids := _descendants():
        kill = signal.SIGTERM if time.monotonic() < deadline else signal.SIGKILL
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, kill)
        time.sleep(0.05)
        _reap()
        if kill == signal.SIGKILL and time.monotonic() > deadline + grace:
            return  # what still stands ignores even SIGKILL (stuck in the kernel)
    _reap()


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):  # raised once no child is left
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["-h"], ["--help"], ["help"]):
        print(overview(), end="")
        return 0
    if not argv or argv[0].startswith("-"):
        return run(DEFAULT, argv)
    if argv[0] not in COMMANDS:
        print(
            f"ladder-bench: no command {argv[0]!r}; the commands are {', '.join(COMMANDS)} "
            "(ladder-bench --help)",
            file=sys.stderr,
        )
        return 2
    return run(argv[0], argv[1:])


def old_script() -> int:
    """An old script name: the same command, and one line saying its new name."""
    name = sys.argv[0].rsplit("/", 1)[-1]
    command = OLD_SCRIPTS.get(name, DEFAULT)
    print(
        f"({name} is now `ladder-bench {command}`; the old name goes in the next release)",
        file=sys.stderr,
    )
    return run(command, sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
