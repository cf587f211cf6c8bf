"""The tool's own folder in the user's repository, ``.ladder-bench/``, for what it keeps
between runs (the builds ``compare`` makes, the history's files): one place, which git
ignores through its own ``.gitignore``, so a repository needs no entry for it, and which
is safe to delete at any time.
"""

from pathlib import Path

FOLDER = ".ladder-bench"
GITIGNORE = "# ladder-bench's scratch files: safe to delete (ladder_bench/scratch.py)\n*\n"


def folder(workspace: Path, purpose: str, what: str) -> Path:
    """``WORKSPACE/.ladder-bench/<purpose>/``, made if it is not there yet, and then said
    in one line: ``what`` it holds, and that it is safe to delete."""
    root = Path(workspace) / FOLDER
    path = root / purpose
    created = not path.is_dir()
    path.mkdir(parents=True, exist_ok=True)
    # Written whenever it is missing, not only with the folder: a folder made some other
    # way is ignored too.
    gitignore = root / ".gitignore"
    if not gitignore.is_file():
        gitignore.write_text(GITIGNORE)
    if created:
        print(f"ladder-bench: {what} go into {path} (git ignores it; safe to delete)", flush=True)
    return path
