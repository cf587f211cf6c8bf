"""What every command line shares: a parser whose errors are one line, and argument
types that refuse a bad value while the arguments are parsed, before any work starts
(a benchmark run that fails on its input after six minutes of measuring wastes them).
"""

import argparse
import math
import subprocess
from pathlib import Path
from typing import NoReturn


class Failure(Exception):
    """A problem the user can fix (a program missing, a build that failed), said in one
    line: ``ladder-bench`` prints the message, without a traceback, and exits 1."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, but an error is the one line that names the problem: the usage
    block argparse prints first buries it, and ``--help`` shows the usage anyway."""

    def __init__(self, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(**kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def positive_number(text: str) -> float:
    """A finite number above zero (a percentage, a duration)."""
    return _finite_number(text, lambda value: value > 0, "above 0")


def non_negative_number(text: str) -> float:
    """A finite number, zero or more."""
    return _finite_number(text, lambda value: value >= 0, "0 or more")


def _finite_number(text: str, in_range, range_text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    if not in_range(value):
        raise argparse.ArgumentTypeError(f"must be {range_text}, got {text}")
    return value


def positive_int(text: str) -> int:
    """A whole number, at least 1 (a count of calls or rounds)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def commit(workspace: Path, name: str) -> str:
    """The full hash of the commit ``name`` (any git revision) names in ``workspace``;
    otherwise git's own reason, as an ``ArgumentTypeError``."""
    return _git(
        workspace,
        name,
        "a commit",
        "rev-parse",
        "--verify",
        "--end-of-options",
        f"{name}^{{commit}}",
    )


def commit_range(workspace: Path, text: str) -> str:
    """``text`` if git can list the commits it names (``A..B``, ``HEAD^!``, a single
    revision); otherwise git's own reason, as an ``ArgumentTypeError``."""
    _git(workspace, text, "a commit range", "rev-list", "--quiet", "--end-of-options", text, "--")
    return text


def _git(workspace: Path, name: str, what: str, *args: str) -> str:
    completed = subprocess.run(["git", *args], cwd=workspace, capture_output=True, text=True)
    if completed.returncode != 0:
        reason = " ".join(completed.stderr.split()) or f"git exited with {completed.returncode}"
        raise argparse.ArgumentTypeError(f"{name!r} is not {what} in {workspace}: {reason}")
    return completed.stdout.strip()
