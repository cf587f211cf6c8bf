"""What a measurement ran on: the block saved with every timing table.

Timings from different machines differ by tens of percent on the same code, so every
result carries its environment, and comparisons say when two environments differ.
"""

import datetime
import importlib.metadata
import json
import os
import platform
import re
import subprocess
from pathlib import Path

# The fields that change timings; a comparison across differing values is suspect.
COMPARABLE_FIELDS = ("cpu", "cores", "os", "python", "numpy", "rustc")


def describe(workspace: Path, distribution: str | None = None) -> dict[str, object]:
    """The environment of this process, the build facts found in ``workspace`` (a git
    checkout, maybe a cargo workspace), and the installed ``distribution`` measured."""
    import numpy

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "numpy": numpy.__version__,
        "rustc": _command_output(["rustc", "--version"]),
        "pyo3": _locked_crate_version(workspace, "pyo3"),
        "rust-numpy": _locked_crate_version(workspace, "numpy"),
        "distribution": _distribution(distribution),
        "git_commit": _git_commit(workspace),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
    }


def section(env: dict) -> dict:
    """The report section that shows ``env``."""
    return {"id": "environment", "title": "Environment", "order": 90,
            "blocks": [{"pre": json.dumps(env, indent=2)}]}  # fmt: skip


def differences(old: dict, new: dict) -> list[str]:
    """The timing-relevant fields whose values differ, as readable lines (a field one
    side did not record, as pytest-benchmark's JSON does not record numpy, differs too:
    nothing says it was the same)."""
    return [
        f"{field}: {old.get(field) or 'not recorded'} -> {new.get(field) or 'not recorded'}"
        for field in COMPARABLE_FIELDS
        if old.get(field) != new.get(field)
    ]


def _cpu_model() -> str:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return match.group(1).strip() if match else platform.machine()


def _command_output(command: list[str], cwd: Path | None = None) -> str:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, check=True, cwd=cwd)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return completed.stdout.strip()


def _locked_crate_version(workspace: Path, crate: str) -> str:
    try:
        lock = (workspace / "Cargo.lock").read_text()
    except OSError:
        return "unknown"
    match = re.search(rf'name = "{re.escape(crate)}"\nversion = "([^"]+)"', lock)
    return match.group(1) if match else "unknown"


def _distribution(name: str | None) -> str:
    """``name version``, and what built its wheel (maturin, say), from its WHEEL file."""
    if name is None:
        return "none declared"
    try:
        found = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return f"{name} (not installed)"
    wheel = found.read_text("WHEEL") or ""
    generator = re.search(r"^Generator:\s*(.+)$", wheel, re.MULTILINE)
    return f"{name} {found.version}" + (f", built by {generator[1].strip()}" if generator else "")


def _git_commit(workspace: Path) -> str:
    commit = _command_output(["git", "rev-parse", "HEAD"], cwd=workspace)
    if commit == "unknown":
        return commit
    dirty = _command_output(["git", "status", "--porcelain", "--untracked-files=no"], cwd=workspace)
    return f"{commit}-dirty" if dirty else commit
