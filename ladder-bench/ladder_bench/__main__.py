"""``ladder-bench COMMAND [OPTIONS]``: one entry point, a subcommand per tool.

Each command lives in its own module, whose ``main(argv)`` parses the rest of the line;
this module only picks it. With no command (the first argument an option, or none) it
runs ``bench``, the main job, so ``ladder-bench --quick`` is the whole pipeline.
"""

import importlib
import sys

# command -> (module, one line for the overview)
COMMANDS = {
    "bench": ("pipeline", "the main job: timings, flamegraphs, criterion, the report"),
    "measure": ("measure", "time one rung by hand"),
    "compare": ("compare", "two commits built and timed interleaved, the instruction gate"),
    "history": ("history", "asv over a range of commits, no asv files needed"),
    "scale": ("scaling", "the scaling sweep over the declared sizes, with the peers"),
    "instructions": ("instructions", "instructions per call under callgrind"),
    "criterion": ("criterion", "summarise criterion's results (cargo bench exits 0 on a regression)"),
    "timings": ("timings", "the regression check between two timings.json files"),
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
    module = importlib.import_module(f"ladder_bench.{COMMANDS[command][0]}")
    try:
        return module.main(argv)
    except KeyboardInterrupt:
        # Children get the same SIGINT from the terminal and end; one line, no traceback.
        print(f"\nladder-bench {command}: interrupted", file=sys.stderr)
        return 130


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
    print(f"({name} is now `ladder-bench {command}`; the old name goes in the next release)",
          file=sys.stderr)
    return run(command, sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
