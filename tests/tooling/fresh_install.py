"""ladder-bench installed the way its docs tell a stranger to: one pip command, from a git
URL (here a local clone of this repository), into a fresh virtualenv that is never
activated. Shared by the tests that need it, built once per session."""

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXTRAS = "bench,scale,history"


def pip_requirement(clone: Path) -> str:
    """The documented command's argument, for a clone at ``clone``."""
    return f"ladder-bench[{EXTRAS}] @ git+{clone.as_uri()}#subdirectory=ladder-bench"


def missing_programs() -> str | None:
    """Why the fresh install cannot be made here (a program it needs is missing), or None."""
    for program in ("git", "cargo"):
        if shutil.which(program) is None:
            return f"{program} is not installed"
    return None


def user_environ(**extra: str) -> dict[str, str]:
    """The environment of a user who did not activate any virtualenv: no virtualenv's
    bin/ on PATH (not the tests' own either, which holds a ladder-bench and a py-spy)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CARGO_TARGET_DIR")
    }
    env["PATH"] = os.pathsep.join(
        entry
        for entry in env.get("PATH", "").split(os.pathsep)
        if entry and not (Path(entry).parent / "pyvenv.cfg").is_file()
    )
    return {**env, **extra}


def run(command: list, **kwargs) -> subprocess.CompletedProcess:
    """``command``, checked, its output in the assertion message when it fails."""
    completed = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, **kwargs
    )
    assert completed.returncode == 0, (
        f"{' '.join(map(str, command))} exited {completed.returncode}:\n"
        f"{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
    )
    return completed


@functools.cache
def venv(base: Path) -> Path:
    """A fresh virtualenv under ``base`` with ladder-bench installed by the one documented
    command from a clone of this repository's HEAD; its folder. Made once per session
    (``base`` is the session's temporary folder)."""
    clone = base / "ladder-bench-clone"
    # Not --depth 1: pip clones the URL with --filter=blob:none, which git's local
    # transport serves from a shallow clone one blob per fetch, minutes for this repository.
    run(["git", "clone", "--quiet", ROOT.as_uri(), clone])
    folder = base / "venv"
    # --upgrade-deps: the pip that comes with Python 3.11 (23.2) refuses a git+file URL
    # (its URL check wants a host, which a local clone's URL has not; git+https is fine).
    run([sys.executable, "-m", "venv", "--upgrade-deps", folder], env=user_environ())
    python = folder / "bin" / "python"
    run([python, "-m", "pip", "install", "--quiet", pip_requirement(clone)], env=user_environ())
    return folder
