"""The entry point as a user meets it: ``ladder-bench COMMAND``, its help, the old script
names, a mistyped command, Ctrl-C, an interpreter without numpy, and the folder the tool
keeps in the user's repository."""

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from ladder_bench import scratch, tools

SECOND = Path(__file__).resolve().parent / "second_ladder"
BIN = Path(sys.executable).parent  # where pip put the scripts beside this interpreter
# What the docs promise, written out here rather than read from the code under test.
COMMANDS = [
    "bench",
    "measure",
    "compare",
    "history",
    "scale",
    "instructions",
    "criterion",
    "timings",
    "summary",
]
OLD_SCRIPTS = {
    "ladder-measure": "measure",
    "ladder-timings": "timings",
    "ladder-criterion": "criterion",
    "ladder-scale": "scale",
    "ladder-instructions": "instructions",
    "ladder-compare": "compare",
    "ladder-history": "history",
}
# This repository's own things, which have no place in the help of a tool for any project.
PROJECT_WORDS = re.compile(
    r"poly_?match|polygon|\bpoints?\b|n_polygons|n_points|match_points|Index\.match|\bv[0-9]_"
    r"|find_all|tox -e|\bpicks\b|the original|ohadravid|\.ci/|ladder_hooks",
    re.IGNORECASE,
)


def script(name: str) -> str:
    path = BIN / name
    assert path.is_file(), f"{path}: ladder-bench is not installed beside {sys.executable}"
    return str(path)


def run(*command, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(list(command), capture_output=True, text=True, timeout=60, **kwargs)


def test_help_lists_every_command():
    completed = run(script("ladder-bench"), "--help")
    assert completed.returncode == 0, completed.stderr
    listed = re.findall(r"^  (\w+)  ", completed.stdout, re.MULTILINE)
    assert listed == COMMANDS, completed.stdout
    assert completed.stderr == ""


def test_python_m_is_the_same_entry_point():
    by_module = run(sys.executable, "-m", "ladder_bench", "--help")
    assert by_module.returncode == 0, by_module.stderr
    assert by_module.stdout == run(script("ladder-bench"), "--help").stdout


def test_an_unknown_command_is_one_line_naming_the_commands():
    completed = run(script("ladder-bench"), "nosuch")
    assert completed.returncode == 2
    assert completed.stdout == ""
    (line,) = completed.stderr.splitlines()
    assert "'nosuch'" in line
    assert all(command in line for command in COMMANDS), line


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help_in_generic_words(command):
    completed = run(script("ladder-bench"), command, "--help")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith(f"usage: ladder-bench {command} "), completed.stdout[:200]
    assert completed.stderr == ""
    found = sorted({match.group(0) for match in PROJECT_WORDS.finditer(completed.stdout)})
    assert not found, f"ladder-bench {command} --help speaks of {found}"


@pytest.mark.parametrize("old", sorted(OLD_SCRIPTS))
def test_an_old_script_name_still_works_and_says_its_new_name(old):
    command = OLD_SCRIPTS[old]
    completed = run(script(old), "--help")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith(f"usage: ladder-bench {command} "), completed.stdout[:200]
    (line,) = completed.stderr.splitlines()
    assert f"{old} is now `ladder-bench {command}`" in line


# A pure-Python ladder: nothing in it, nor in the tool, needs numpy.
PURE_PYTHON_LADDER = {
    "pyproject.toml": """
        [tool.ladder-bench]
        baseline = "loop"
        default-size = { n = 2000 }
        quick-size = { n = 200 }
        scaling-sizes = [{ n = 100 }, { n = 1000 }]
        rungs = [
            { name = "loop", call = "squares.py:loop", workload = "squares.py:make" },
            { name = "listcomp", call = "squares.py:listcomp", workload = "squares.py:make" },
        ]
        """,
    "squares.py": '''
        """Squares of a list of numbers, in pure Python."""


        def make(n):
            return (list(range(n)),)


        def loop(numbers):
            squares = []
            for number in numbers:
                squares.append(number * number)
            return squares


        def listcomp(numbers):
            return [number * number for number in numbers]
        ''',
}


@pytest.fixture
def without_numpy(tmp_path):
    """A workspace with the pure-Python ladder, and an environment in which ``import
    numpy`` fails, in this process's children and theirs alike."""
    hidden = tmp_path / "hide"
    hidden.mkdir()
    (hidden / "numpy.py").write_text('raise ImportError("numpy is hidden for this test")\n')
    workspace = tmp_path / "ladder"
    workspace.mkdir()
    for name, text in PURE_PYTHON_LADDER.items():
        (workspace / name).write_text(textwrap.dedent(text).lstrip())
    env = {**os.environ, "PYTHONPATH": str(hidden)}
    probe = run(sys.executable, "-c", "import numpy", env=env)
    assert probe.returncode != 0, "numpy is not hidden"
    assert "hidden" in probe.stderr
    return workspace, env


def test_every_module_imports_without_numpy(without_numpy):
    _, env = without_numpy
    modules = [
        "__main__",
        "cli",
        "compare",
        "config",
        "criterion",
        "flamegraph",
        "harness",
        "history",
        "instructions",
        "layers",
        "measure",
        "noise",
        "pipeline",
        "preflight",
        "report",
        "scaling",
        "scaling_report",
        "scratch",
        "summary",
        "timings",
    ]
    imports = "; ".join(f"import ladder_bench.{module}" for module in modules)
    completed = run(sys.executable, "-c", imports, env=env)
    assert completed.returncode == 0, completed.stderr


@pytest.mark.parametrize("command", [[], ["bench"], ["compare"], ["scale"], ["measure"]])
def test_help_works_without_numpy(without_numpy, command):
    _, env = without_numpy
    completed = run(script("ladder-bench"), *command, "--help", env=env)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("usage: ladder-bench"), completed.stdout[:200]


def test_bench_measure_and_scale_run_without_numpy(without_numpy, tmp_path):
    workspace, env = without_numpy
    out = tmp_path / "out"
    common = ["--workspace", str(workspace)]
    bench = run(
        script("ladder-bench"),
        "bench",
        "--quick",
        "--no-profiles",
        "--no-criterion",
        *common,
        "--out",
        str(out),
        env=env,
    )
    assert bench.returncode == 0, bench.stdout[-3000:] + bench.stderr[-3000:]
    rows = [line for line in (out / "timings.md").read_text().splitlines() if line[:6] == "| loop"]
    assert len(rows) == 1, (out / "timings.md").read_text()

    measure = run(script("ladder-bench"), "measure", "listcomp", *common, env=env)
    assert measure.returncode == 0, measure.stderr
    assert "Took a median of" in measure.stdout

    if sys.platform != "linux":
        return  # the sweep reads peak memory from /proc
    scale = run(
        script("ladder-bench"),
        "scale",
        "--quick",
        "--min-time",
        "0.05",
        *common,
        "--out",
        str(out),
        env=env,
    )
    assert scale.returncode == 0, scale.stdout[-3000:] + scale.stderr[-3000:]
    # Without numpy there is no matplotlib: no plot, said so, the tables all the same.
    assert "scaling.png not drawn" in scale.stdout
    assert not (out / "scaling.png").exists()
    assert "| listcomp |" in (out / "scaling.md").read_text()


def test_a_scratch_folder_is_said_once_and_ignored_by_git(tmp_path, capsys):
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    (tmp_path / "tracked.txt").write_text("the user's own file\n")

    made = scratch.folder(tmp_path, "builds", "the builds")
    (made / "venv").mkdir()
    (made / "venv" / "big.bin").write_bytes(b"\0" * 100)
    assert made == tmp_path / ".ladder-bench" / "builds"
    (said,) = capsys.readouterr().out.splitlines()
    assert str(made) in said
    assert "the builds" in said
    assert "safe to delete" in said

    assert scratch.folder(tmp_path, "builds", "the builds") == made
    assert capsys.readouterr().out == ""  # only the first time
    # git sees the user's file and nothing of the tool's.
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout.splitlines() == ["?? tracked.txt"]


def _processes_with(marker: str) -> list[str]:
    """The command lines of the live processes whose environment holds ``marker``: the
    process started with it and everything it started, whoever their parent is now."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if marker.encode() in environ and stat.rpartition(")")[2].split()[0] != "Z":
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


def _interrupt(command: list[str], after: float, whole_group: bool, **kwargs):
    """Start ``command`` in a session of its own, send it SIGINT after ``after`` seconds
    (to its whole process group, as a terminal's Ctrl-C does, or to it alone, as a script
    may), and return it when it has ended, with its output, the seconds it took to end,
    and what it left running."""
    marker = f"LADDER_BENCH_TEST_{uuid.uuid4().hex}"
    env = {**kwargs.pop("env", os.environ), marker: "1"}
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
        # A run started in the background by a shell inherits SIGINT ignored, and Python
        # then leaves it ignored: the child gets Ctrl-C's default, as in a terminal.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        **kwargs,
    )
    try:
        time.sleep(after)
        assert child.poll() is None, "it ended before it could be interrupted"
        sent = time.monotonic()
        if whole_group:
            os.killpg(child.pid, signal.SIGINT)
        else:
            child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=30)
        took = time.monotonic() - sent
        time.sleep(0.5)  # a process that is still going keeps going past this
        return child.returncode, stdout, stderr, took, _processes_with(marker)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_ctrl_c_during_bench_is_one_line_and_leaves_nothing_running(tmp_path):
    # Interrupted while it times or profiles, not while cargo installs inferno: this
    # repository's copy is installed first and put on PATH.
    root = SECOND.parents[2]
    tools.inferno(root), tools.rustfilt(root)
    env = {**os.environ, "PATH": f"{root / '.tools' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    workspace = tmp_path / "ladder"
    shutil.copytree(SECOND, workspace, ignore=shutil.ignore_patterns(".tools", "__pycache__"))
    command = [
        sys.executable,
        "-m",
        "ladder_bench",
        "bench",
        "--quick",
        "--no-criterion",
        "--workspace",
        str(workspace),
        "--out",
        str(tmp_path / "out"),
    ]
    status, stdout, stderr, took, left = _interrupt(command, 2.0, whole_group=True, env=env)
    assert status == 130, stdout[-2000:] + stderr[-2000:]
    assert took < 5
    assert "Traceback" not in stderr + stdout
    lines = [line for line in stderr.splitlines() if "interrupted" in line.lower()]
    assert lines == ["ladder-bench bench: interrupted"], stderr[-2000:]
    assert stderr.rstrip().endswith("ladder-bench bench: interrupted")
    assert left == [], left


SPAWNER = """
import subprocess


def nothing():
    return ()


def spawn():
    # A grandchild: the shell is this rung's child, the sleep the shell's.
    subprocess.run(["sh", "-c", "sleep 120; true"])
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_ctrl_c_sent_to_the_tool_alone_still_ends_its_grandchildren(tmp_path):
    # subprocess.run kills its own child on KeyboardInterrupt, not that child's children
    # (py-spy's measured process, cargo's rustc): here a rung's shell and its sleep.
    (tmp_path / "spawner.py").write_text(SPAWNER)
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent("""
        [tool.ladder-bench]
        baseline = "spawns"
        [[tool.ladder-bench.rungs]]
        name = "spawns"
        call = "spawner.py:spawn"
        workload = "spawner.py:nothing"
        description = "starts a process that starts another"
        """)
    )
    command = [script("ladder-bench"), "measure", "spawns", "--workspace", str(tmp_path)]
    status, stdout, stderr, took, left = _interrupt(command, 1.5, whole_group=False)
    assert status == 130, stdout + stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == ["ladder-bench measure: interrupted"], stderr
    assert took < 5
    assert left == [], left
