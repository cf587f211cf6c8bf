"""What asv needs to measure a project's history, generated from the project itself:
``ladder-bench history`` writes it into ``.ladder-bench/history/`` before every run, so a
project keeps no asv file of its own.

- ``asv.conf.json``: the workspace's git repository; one virtualenv of the interpreter
  running this tool (same major.minor, found by its path, so asv needs no other Python
  on PATH); every commit built as pip builds any PEP 517 project (``pip wheel``: maturin,
  setuptools, flit, hatch...; with no build system declared, pip's setuptools fallback)
  and installed with its dependencies, with this ladder-bench beside it;
- ``asv_benchmarks/rungs.py``: one line, ``ladder_bench.asv_suite``'s benchmarks for the
  workspace's configuration;
- ``tool/ladder_bench/``: a copy of the running ladder-bench (pure Python), made each
  run, which each commit's virtualenv imports (a .pth file): every commit is measured by
  the same tool, whether it was installed editable, from a wheel or from git.

asv's environments, builds and results stay in the same folder, so a second run adds its
commits to the first's.
"""

import importlib.metadata
import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import config, scratch

TOOL = Path(__file__).resolve().parent  # the running ladder-bench's package
PURPOSE = "history"
WHAT = "asv's configuration, virtualenvs, builds and results for `ladder-bench history`"
BENCHMARKS = "asv_benchmarks"
# A compiled project's first build compiles all its dependencies (cargo, on two cores:
# minutes); asv's default of ten minutes per command is too short for a large crate.
INSTALL_TIMEOUT_SECONDS = 3600
# The install step of every commit (asv runs it with the commit's virtualenv's python):
# a .pth file that puts the folder holding this tool's copy on that interpreter's path,
# for the benchmarks and for the harness children they start. The copy is refreshed by
# every run, so an environment whose commit asv does not install again (it was already)
# still runs today's tool.
INSTALL_TOOL = '''\
"""Written by ladder-bench history: makes the ladder-bench copy beside this file
importable by the interpreter that runs it (a .pth file in its site-packages)."""
import sysconfig
from pathlib import Path

folder = Path(__file__).resolve().with_name("tool")
site_packages = Path(sysconfig.get_paths()["purelib"])
(site_packages / "ladder_bench_history.pth").write_text(f"{folder}\\n")
'''


@dataclass(frozen=True)
class Project:
    """What the generated files say about the project: where it is and what it is called."""

    repo: Path  # the git repository's top level
    subdir: str  # the workspace within it ("" when they are the same)
    name: str


def git_top_level(workspace: Path) -> Path | None:
    """The top folder of the git repository holding ``workspace``, or None."""
    completed = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=workspace, capture_output=True, text=True
    )
    return Path(completed.stdout.strip()).resolve() if completed.returncode == 0 else None


def project_name(ladder: config.Config, workspace: Path) -> str:
    """``[project].name``, else ``[tool.ladder-bench].distribution``, else the folder's."""
    try:
        table = config.tomllib.loads(ladder.path.read_text()).get("project", {})
    except (OSError, config.tomllib.TOMLDecodeError):
        table = {}
    return table.get("name") or ladder.distribution or workspace.name


def python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def tool_requirements() -> list[str]:
    """What this ladder-bench needs without extras (tomli on Python 3.10), as pip arguments;
    none when it runs from a source tree pip does not know."""
    try:
        requires = importlib.metadata.requires("ladder-bench") or []
    except importlib.metadata.PackageNotFoundError:
        return []
    return [requirement for requirement in requires if "extra ==" not in requirement]


def write(
    workspace: Path, ladder: config.Config, project: Project, requirements: list[str]
) -> Path:
    """The scratch folder's files for ``ladder`` (re-written every run: they follow the
    configuration and this tool); the path of its asv.conf.json. ``requirements``: what
    the rungs' hooks need beyond the project's own dependencies, as pip arguments."""
    folder = scratch.folder(workspace, PURPOSE, WHAT)
    # asv's virtualenv plugin looks for pythonX.Y on PATH (before the interpreter running
    # asv): a folder holding only that name, pointing at this interpreter, put first.
    interpreters = folder / "python"
    interpreters.mkdir(exist_ok=True)
    link = interpreters / f"python{python_version()}"
    link.unlink(missing_ok=True)
    link.symlink_to(sys.executable)

    tool_copy = folder / "tool" / TOOL.name
    shutil.rmtree(tool_copy, ignore_errors=True)
    shutil.copytree(TOOL, tool_copy, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "install_ladder_bench.py").write_text(INSTALL_TOOL)

    benchmarks = folder / BENCHMARKS
    benchmarks.mkdir(exist_ok=True)
    (benchmarks / "__init__.py").write_text("")
    (benchmarks / "rungs.py").write_text(
        f'"""asv\'s benchmarks: every rung of {ladder.path} (written by ladder-bench '
        'history)."""\n\n'
        "from ladder_bench import asv_suite\n\n"
        f"globals().update(asv_suite.benchmarks({str(ladder.path)!r}))\n"
    )

    path = folder / "asv.conf.json"
    path.write_text(json.dumps(configuration(folder, project, requirements), indent=4) + "\n")
    return path


def configuration(folder: Path, project: Project, requirements: list[str]) -> dict:
    """asv.conf.json's content. Paths are absolute: asv resolves relative ones against the
    current directory, not the file's."""
    # Compiled dependencies built once for every commit: asv cleans its checkout (git
    # clean -fdx) before each build, a target folder inside it included. Only cargo reads
    # this; a target folder the user chose is kept.
    cargo_target = ""
    if "CARGO_TARGET_DIR" not in os.environ:
        cargo_target = f"CARGO_TARGET_DIR={quote(str(folder / 'cargo'))} "
    pip = "in-dir={env_dir} python -m pip install --disable-pip-version-check"
    extra = " ".join(quote(r) for r in [*tool_requirements(), *requirements])
    return {
        "version": 1,
        "project": project.name,
        "repo": str(project.repo),
        "repo_subdir": project.subdir,
        "dvcs": "git",
        # The commits reachable from the checkout (first parent), the branch's own included.
        "branches": ["HEAD"],
        "environment_type": "virtualenv",
        "pythons": [python_version()],
        "benchmark_dir": str(folder / BENCHMARKS),
        "env_dir": str(folder / "env"),
        "results_dir": str(folder / "results"),
        "html_dir": str(folder / "html"),
        "install_timeout": INSTALL_TIMEOUT_SECONDS,
        "build_command": [
            f"{cargo_target}python -m pip wheel --no-deps -w {{build_cache_dir}} {{build_dir}}"
        ],
        "install_command": [
            # Forced: a rebuilt commit keeps its version number, and pip would keep the
            # installed build of another commit.
            f"{pip} --force-reinstall --no-deps {{wheel_file}}",
            f"{pip} {{wheel_file}} {extra}".rstrip(),
            f"python {quote(str(folder / 'install_ladder_bench.py'))}",
        ],
        "uninstall_command": ["return-code=any python -m pip uninstall -y {project}"],
    }


def quote(argument: str) -> str:
    """One argument as asv's command parser (shlex, then str.format) reads it back."""
    return shlex.quote(argument.replace("{", "{{").replace("}", "}}"))


def path_with_interpreter(folder: Path) -> dict[str, str]:
    """The environment for asv: PATH led by the folder holding this interpreter's name."""
    path = os.pathsep.join([str(folder / "python"), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path}
