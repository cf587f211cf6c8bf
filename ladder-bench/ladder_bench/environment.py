"""What a measurement ran on: the block saved with every timing table.

Timings from different machines differ by tens of percent on the same code, so every
result carries its environment, and comparisons say when two environments differ.

It also says which build of the measured package was timed, since that is whatever the
measuring interpreter imports, not necessarily the checkout: ``build_facts`` runs in the
interpreter that runs the rungs (the preflight child, or a child of its own) and reports
the distribution's version, the file it is imported from, and how it was installed
(its ``direct_url.json``); ``checkout_match`` then sets that against the workspace. What
can be known, and is checked: whether it was installed from this checkout (an editable
install of it, ``pip install`` of its folder, or a wheel built inside it), whether its
installed Python files are byte for byte the checkout's, and whether its compiled files
are newer than every native source file of the checkout (by modification time: no build
records the commit it was built from).
"""

import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from . import harness

# The fields that change timings; a comparison across differing values is suspect.
COMPARABLE_FIELDS = ("cpu", "cores", "os", "python", "numpy", "rustc")
# Files a compiled extension is built from; changed after the build, it is stale.
NATIVE_SUFFIXES = {".rs", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".pyx", ".pxd", ".f90"}
NATIVE_NAMES = {"Cargo.toml", "Cargo.lock", "build.rs", "CMakeLists.txt", "meson.build"}
# Folders whose sources are not built into the package.
NOT_BUILT = {"tests", "test", "benches", "examples", "docs", "fuzz"}
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib")


def describe(
    workspace: Path, distribution: str | None = None, build: dict | None = None, python=None
) -> dict[str, Any]:
    """The environment of this machine, the build facts found in ``workspace`` (a git
    checkout, maybe a cargo workspace), and the measured interpreter's: its Python, its
    numpy (if it has one) and the installed ``distribution``. ``build`` is what
    ``build_facts`` reported from the child that ran the rungs; without it, ``python``
    (default: this interpreter) is asked in a child of its own."""
    if build is None:
        build = ask_build(python or sys.executable, distribution)
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "os": platform.platform(),
        "python": build["python"],
        "numpy": build.get("numpy") or "not installed",
        "rustc": _command_output(["rustc", "--version"]),
        "pyo3": _locked_crate_version(workspace, "pyo3"),
        "rust-numpy": _locked_crate_version(workspace, "numpy"),
        "distribution": _distribution_line(build),
        "build": checkout_match(build, Path(workspace)),
        "git_commit": git_commit(workspace),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "OPENBLAS_NUM_THREADS": build.get("OPENBLAS_NUM_THREADS", "unset"),
    }


def section(env: dict) -> dict:
    """The report section that shows ``env``."""
    return {
        "id": "environment",
        "title": "Environment",
        "order": 90,
        "blocks": [{"pre": json.dumps(env, indent=2)}],
    }


def differences(old: dict, new: dict) -> list[str]:
    """The timing-relevant fields whose values differ, as readable lines (a field one
    side did not record, as pytest-benchmark's JSON does not record numpy, differs too:
    nothing says it was the same)."""
    return [
        f"{field}: {old.get(field) or 'not recorded'} -> {new.get(field) or 'not recorded'}"
        for field in COMPARABLE_FIELDS
        if old.get(field) != new.get(field)
    ]


def build_facts(distribution: str | None, modules=()) -> dict:
    """In the measured interpreter: its Python, numpy's version if it has numpy (read from
    its metadata: numpy is not imported), and the installed ``distribution``: version,
    what built it, how it was installed, and the file of each of its top-level packages
    (``modules``, the rungs' top-level modules, stand in where its metadata lists none,
    as an editable install's does not)."""
    facts = {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "executable": sys.executable,
        "numpy": _version("numpy"),
        "distribution": distribution,
        # The measured processes' BLAS threads (the harness sets them), not this one's.
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
    }
    if distribution is None:
        return facts
    try:
        found = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return {**facts, "installed": False, "packages": _module_files(modules)}
    direct = json.loads(found.read_text("direct_url.json") or "null") or {}
    generator = re.search(r"^Generator:\s*(.+)$", found.read_text("WHEEL") or "", re.MULTILINE)
    guess = distribution.replace("-", "_").lower()  # the usual module of a distribution
    return {
        **facts,
        "installed": True,
        "version": found.version,
        "built_by": generator[1].strip() if generator else None,
        "editable": bool(direct.get("dir_info", {}).get("editable")),
        "installed_from": direct.get("url"),
        "packages": _module_files(_top_level(found) or modules or [guess]),
    }


def ask_build(python: str, distribution: str | None) -> dict:
    """``build_facts`` of another interpreter, asked in a child run from an empty folder
    (as the measured children are: the current folder must not shadow an installed
    package)."""
    with tempfile.TemporaryDirectory() as scratch:
        command = [str(python), "-m", "ladder_bench.environment", json.dumps(distribution)]
        completed = subprocess.run(
            command, capture_output=True, text=True, cwd=scratch, env=harness.bench_environ()
        )
    if completed.returncode != 0:
        reason = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{python} could not describe its build: {reason}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def checkout_match(facts: dict, workspace: Path) -> dict:
    """Whether the build ``facts`` describe is the checkout in ``workspace``: ``verdict``
    says what is known in one sentence, ``matches_checkout`` is True, False or None (not
    known), and ``warning`` is one line when the timed build may not be the checkout."""
    name, version = facts.get("distribution"), facts.get("version")
    keys = ("distribution", "version", "built_by", "editable", "installed_from")
    build = {key: facts.get(key) for key in keys}
    build["imported_from"] = next(iter((facts.get("packages") or {}).values()), None)
    reinstall = f"reinstall it from the checkout (pip install {workspace})"
    if name is None:
        verdict = "not declared (`distribution` in [tool.ladder-bench] names the package)"
        return {**build, "matches_checkout": None, "verdict": verdict, "warning": None}
    if not facts.get("installed"):
        verdict = (
            f"{name} is not installed in {facts['executable']}; the rungs' modules were "
            f"imported from {build['imported_from'] or 'elsewhere'}"
        )
        warning = (
            f"the declared distribution {name} is not installed in {facts['executable']}, "
            f"so which build was timed is not known; {reinstall}, or fix `distribution`"
        )
        return {**build, "matches_checkout": None, "verdict": verdict, "warning": warning}
    origin, from_checkout = _origin(facts, workspace)
    if not from_checkout:
        warning = f"the timed {name} {version} was not built from this checkout ({origin}); "
        return {
            **build,
            "matches_checkout": False,
            "verdict": origin,
            "warning": warning + reinstall,
        }
    differences, checked = _differences(facts, workspace)
    if differences is None:
        verdict = f"{origin} (not a git checkout: its files were not compared)"
        return {**build, "matches_checkout": None, "verdict": verdict, "warning": None}
    if differences:
        warning = f"the timed {name} {version} may not be this checkout: {differences[0]}; "
        verdict = f"{origin}, but {'; '.join(differences)}"
        return {
            **build,
            "matches_checkout": False,
            "verdict": verdict,
            "warning": warning + reinstall,
        }
    verdict = f"{origin}; {checked}"
    return {**build, "matches_checkout": True, "verdict": verdict, "warning": None}


def _origin(facts: dict, workspace: Path) -> tuple[str, bool]:
    """How the distribution was installed, in words, and whether from ``workspace``."""
    url = facts.get("installed_from")
    if not url:
        return "installed from a package index (it records no direct URL)", False
    parsed = urlparse(url)
    if parsed.scheme != "file":
        return f"installed from {url}", False
    source = Path(unquote(parsed.path))
    inside = _within(source, workspace) or _within(workspace, source)
    if facts.get("editable"):
        if inside:
            return "an editable install of this checkout", True
        return f"an editable install of {source}, not of this checkout", False
    if source.suffix == ".whl":
        if _within(source, workspace):
            return f"a wheel built in this checkout ({source.name})", True
        return f"installed from the wheel {source}", False
    if inside:
        return "installed (not editable) from this checkout's folder", True
    return f"installed from {source}, not from this checkout", False


def _differences(facts: dict, workspace: Path) -> tuple[list[str] | None, str]:
    """What sets the installed files apart from the checkout's (Python files that are not
    byte for byte the checkout's, compiled files older than a native source file; None
    where the workspace is not a git checkout), and what was compared, in words."""
    tracked = _tracked_files(workspace)
    if tracked is None:
        return None, "nothing compared"
    built_from = _built_from(tracked)
    python_files, compiled = [], []
    for origin in [Path(p) for p in (facts.get("packages") or {}).values() if p]:
        top = origin.parent if origin.name.startswith("__init__.") else origin
        for path in top.rglob("*") if top.is_dir() else [top]:
            if "__pycache__" in path.parts or not path.is_file():
                continue
            if path.suffix == ".py":
                python_files.append((path, path.relative_to(top.parent)))
            elif path.name.endswith(COMPILED_SUFFIXES):
                compiled.append(path)
    found = []
    differing = [
        relative.as_posix()
        for path, relative in python_files
        # An installed file inside the workspace is the checkout's own (an editable install).
        if not _within(path, workspace)
        and not _same_as_tracked(path, relative, built_from, workspace)
    ]
    if differing:
        found.append(
            f"{len(differing)} of its {len(python_files)} Python files differ from the "
            f"checkout's or are not in it (the first: {differing[0]})"
        )
    native = [workspace / p for p in built_from if _is_native_source(p)]
    if compiled and native:
        oldest = min(compiled, key=lambda path: path.stat().st_mtime)
        newest = max(native, key=lambda path: path.stat().st_mtime)
        if newest.stat().st_mtime > oldest.stat().st_mtime:
            found.append(
                f"its compiled {oldest.name} ({_mtime(oldest)}) is older than the checkout's "
                f"{newest.relative_to(workspace).as_posix()} ({_mtime(newest)})"
            )
    checked = [f"its Python files ({len(python_files)}) are the checkout's, byte for byte"]
    if compiled and native:
        checked.append(
            f"its compiled files ({len(compiled)}) are newer than every native source file of "
            "the checkout"
        )
    return found, "; ".join(checked)


def _same_as_tracked(path: Path, relative: Path, tracked: list[str], workspace: Path) -> bool:
    suffix = "/" + relative.as_posix()
    matches = [p for p in tracked if p == relative.as_posix() or p.endswith(suffix)]
    content = path.read_bytes()
    return any((workspace / match).read_bytes() == content for match in matches)


def _tracked_files(workspace: Path) -> list[str] | None:
    """The files git tracks under ``workspace`` (relative to it), present on disk."""
    try:
        command = ["git", "ls-files", "-z"]
        completed = subprocess.run(command, cwd=workspace, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    names = completed.stdout.decode(errors="surrogateescape").split("\0")
    return [name for name in names if name and (workspace / name).is_file()]


def _built_from(tracked: list[str]) -> list[str]:
    """The tracked files that may go into the package: not tests, examples, documentation,
    nor a project of its own (a folder with its own pyproject.toml)."""
    projects = tuple(p.rpartition("/")[0] + "/" for p in tracked if p.endswith("/pyproject.toml"))
    return [
        path
        for path in tracked
        if not NOT_BUILT & set(path.split("/")[:-1]) and not path.startswith(projects)
    ]


def _is_native_source(path: str) -> bool:
    name = path.rpartition("/")[2]
    return name in NATIVE_NAMES or Path(name).suffix in NATIVE_SUFFIXES


def _within(path: Path, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
    except ValueError:
        return False
    return True


def _mtime(path: Path) -> str:
    stamp = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _top_level(found: importlib.metadata.Distribution) -> list[str]:
    """The top-level modules a distribution installs, from its file list."""
    listed = (found.read_text("top_level.txt") or "").split()
    if listed:
        return listed
    names = []
    for file in found.files or []:
        first = file.parts[0]
        if first == ".." or first.endswith((".dist-info", ".data")) or first == "__pycache__":
            continue
        name = first if len(file.parts) > 1 else file.name
        if len(file.parts) > 1 or name.endswith((".py", *COMPILED_SUFFIXES)):
            name = name.partition(".")[0]
            if name.isidentifier() and name not in names:
                names.append(name)
    return names


def _module_files(modules) -> dict[str, str | None]:
    """The file each top-level module is (or would be) imported from here: from the
    module if it was imported, else from its spec, which does not import it."""
    files = {}
    for name in modules:
        module = sys.modules.get(name)
        origin = getattr(module, "__file__", None)
        if origin is None:
            try:
                spec = importlib.util.find_spec(name)
            except (ImportError, ValueError):
                spec = None
            origin = spec.origin if spec is not None else None
        files[name] = origin if origin and origin != "built-in" else None
    return files


def _distribution_line(facts: dict) -> str:
    """``name version``, and what built its wheel (maturin, say)."""
    name = facts.get("distribution")
    if name is None:
        return "not declared"
    if not facts.get("installed"):
        return f"{name} (not installed)"
    built_by = facts.get("built_by")
    return f"{name} {facts['version']}" + (f", built by {built_by}" if built_by else "")


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
        lock = (Path(workspace) / "Cargo.lock").read_text()
    except OSError:
        return "unknown"
    match = re.search(rf'name = "{re.escape(crate)}"\nversion = "([^"]+)"', lock)
    return match.group(1) if match else "unknown"


def git_commit(workspace: Path) -> str:
    """HEAD's hash in ``workspace``, ``-dirty`` when tracked files changed; "unknown"
    outside a git checkout."""
    commit = _command_output(["git", "rev-parse", "HEAD"], cwd=workspace)
    if commit == "unknown":
        return commit
    dirty = _command_output(["git", "status", "--porcelain", "--untracked-files=no"], cwd=workspace)
    return f"{commit}-dirty" if dirty else commit


if __name__ == "__main__":
    # The child of ask_build: one argument, the distribution's name as JSON (or null).
    print(json.dumps(build_facts(json.loads(sys.argv[1]))))
