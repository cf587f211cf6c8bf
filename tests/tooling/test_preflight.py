"""A user's mistakes are found before anything is measured, each in one line naming the
rung, the key and the fix; answers are compared on every run; the run records which build
it timed and on which workload size.

Each mistake is made in a copy of the second ladder (tests/tooling/second_ladder, pure
Python and numpy) and run through ``ladder-bench bench --quick`` as a user would."""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ladder_bench import config, environment, preflight, timings

SECOND = Path(__file__).resolve().parent / "second_ladder"
# The mistakes must be caught long before this (they take about a second).
MISTAKE_SECONDS = 20


def ladder_copy(tmp_path: Path, pyproject=None, append_code: str = "") -> Path:
    """A copy of the second ladder; ``pyproject(text) -> text`` edits its pyproject.toml,
    ``append_code`` is added to its module."""
    workspace = tmp_path / "ladder"
    shutil.copytree(SECOND, workspace)
    toml = workspace / "pyproject.toml"
    if pyproject is not None:
        edited = pyproject(toml.read_text())
        assert edited != toml.read_text(), "the edit changed nothing"
        toml.write_text(edited)
    if append_code:
        module = workspace / "path_length.py"
        module.write_text(module.read_text() + "\n" + textwrap.dedent(append_code))
    return workspace


def bench(workspace: Path, out: Path, *options: str) -> tuple[subprocess.CompletedProcess, float]:
    command = [
        *(sys.executable, "-m", "ladder_bench", "bench", "--quick", "--no-criterion"),
        *("--no-profiles", "--workspace", str(workspace), "--out", str(out), *options),
    ]
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    return completed, time.perf_counter() - started


def replace(old: str, new: str):
    return lambda text: text.replace(old, new)


RAISING_FACTORY = """
def broken_path(n_vertices: int = 10):
    raise ValueError(f"cannot draw {n_vertices} vertices")
"""
WRONG_ANSWER = """
def too_long(path):
    return vectorized(path) * 1.01
"""
LAST_RUNG = 'workload = "path_length.py:make_path" },\n]'

MISTAKES = {
    "a typo in call": (
        replace("path_length.py:vectorized", "path_length.py:vectorised"),
        "",
        [
            "rung 'vectorized'",
            "call = 'path_length.py:vectorised'",
            "no attribute 'vectorised' (did you mean 'vectorized'?)",
            "fix the `call` key",
        ],
    ),
    "a workload factory that raises": (
        replace(LAST_RUNG, 'workload = "path_length.py:broken_path" },\n]'),
        RAISING_FACTORY,
        [
            "rung 'vectorized'",
            "workload = 'path_length.py:broken_path'",
            "ValueError: cannot draw 2000 vertices",
            "quick size (n_vertices=2000)",
            "fix the factory",
        ],
    ),
    "a rung whose answer differs": (
        replace("path_length.py:vectorized", "path_length.py:too_long"),
        WRONG_ANSWER,
        [
            "rung 'vectorized' answers differently from 'loop'",
            "n_vertices=2000",
            "fix the rung",
            "--allow-disagreement",
        ],
    ),
    "a baseline that is no rung": (
        replace('baseline = "loop"', 'baseline = "v0"'),
        "",
        [
            "baseline = 'v0' is not a declared rung",
            "the rungs: loop, vectorized",
            "set baseline to one of them",
        ],
    ),
    "no baseline": (
        replace('baseline = "loop"\n', ""),
        "",
        ["has no baseline", 'add baseline = "loop"', "pyproject.toml"],
    ),
    "an unknown key at the top level": (
        replace("quick-size =", "quick_size ="),
        "",
        [
            "[tool.ladder-bench]: unknown key 'quick_size' (did you mean 'quick-size'?)",
            "rename or remove it",
        ],
    ),
    "an unknown key in a rung": (
        replace(LAST_RUNG, 'workload = "path_length.py:make_path", descripton = "x" },\n]'),
        "",
        [
            "rung 'vectorized': unknown key 'descripton' (did you mean 'description'?)",
            "rename or remove it",
        ],
    ),
    "an unknown key in a nested table": (
        lambda text: text + "\n[tool.ladder-bench.instruction-gate]\nthreshold = 2.0\n",
        "",
        [
            "[tool.ladder-bench.instruction-gate]: unknown key 'threshold' "
            "(did you mean 'threshold-percent'?)"
        ],
    ),
    "a size that is not a table of integers": (
        replace("quick-size = { n_vertices = 2000 }", 'quick-size = { n_vertices = "2k" }'),
        "",
        ["quick-size", "a size is a table of integers", "fix it in"],
    ),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_mistake_fails_at_once_in_one_line(tmp_path, mistake):
    edit, code, expected = MISTAKES[mistake]
    workspace = ladder_copy(tmp_path, edit, code)
    completed, elapsed = bench(workspace, tmp_path / "out")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 2, output
    assert elapsed < MISTAKE_SECONDS, f"took {elapsed:.1f}s"
    assert "Traceback" not in output
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, completed.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    assert "pytest-benchmark" not in output  # nothing was timed
    assert not (tmp_path / "out" / "timings.json").exists()


def test_a_crash_while_importing_a_rung_is_named(tmp_path):
    workspace = ladder_copy(tmp_path, replace("path_length.py:vectorized", "crash.py:run"))
    (workspace / "crash.py").write_text("import ctypes\n\nctypes.string_at(0)\n")
    completed, elapsed = bench(workspace, tmp_path / "out")
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert elapsed < MISTAKE_SECONDS
    (line,) = [line for line in completed.stderr.splitlines() if line.strip()]
    assert "rung 'vectorized': call = 'crash.py:run'" in line
    assert "died (killed by SIGSEGV) while importing it" in line


def test_a_rung_that_fails_while_timed_is_one_line_naming_it(tmp_path):
    """Past the checks (its first call works), a rung that fails in pytest-benchmark's
    child is named with pytest's cause, not a CalledProcessError."""
    workspace = ladder_copy(
        tmp_path,
        replace("path_length.py:vectorized", "path_length.py:works_once"),
        """
        _calls = []

        def works_once(path):
            _calls.append(path)
            if len(_calls) > 1:
                raise RuntimeError("a second call finds its cache stale")
            return vectorized(path)
        """,
    )
    completed, _ = bench(workspace, tmp_path / "out")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "CalledProcessError" not in completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    last = completed.stderr.strip().splitlines()[-1]
    assert last == (
        "ladder-bench bench: rung 'vectorized' failed while being timed: RuntimeError: a "
        "second call finds its cache stale; pytest's report above has the traceback"
    )


@pytest.fixture(scope="module")
def allowed(tmp_path_factory):
    """The wrong-answer ladder run with --allow-disagreement."""
    tmp_path = tmp_path_factory.mktemp("allowed")
    edit, code, _ = MISTAKES["a rung whose answer differs"]
    workspace = ladder_copy(tmp_path, edit, code)
    completed, _ = bench(workspace, tmp_path / "out", "--allow-disagreement")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return tmp_path / "out", completed


def test_allow_disagreement_times_the_rung_and_marks_it(allowed):
    out, completed = allowed
    assert "timed anyway (--allow-disagreement): rung 'vectorized'" in completed.stdout
    result = json.loads((out / "timings.json").read_text())
    rows = {row["rung"]: row for row in result["rungs"]}
    assert rows["vectorized"]["disagrees"] is True
    assert rows["vectorized"]["agreement"] == {
        "reference": "loop",
        "same": 0,
        "ties": 0,
        "different": 1,
    }
    assert "disagrees" not in rows["loop"]  # the reference is not compared with itself
    table = (out / "timings.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| vectorized |"))
    assert re.search(r"x \([\d.,]+\u2013[\d.,]+\) ⚠ disagrees with loop \|$", row), row
    assert "⚠ disagrees with loop" in (out / "index.html").read_text()
    assert "⚠ disagrees" in (out / "speedup.svg").read_text()


def test_the_quick_timings_use_the_quick_size_and_say_so(tmp_path):
    """The factory logs every size it is called with: under --quick, no call may be at the
    default size, and the size is in the table's first line, timings.json and the page."""
    log = tmp_path / "sizes.log"
    workspace = ladder_copy(
        tmp_path,
        replace("quick-size = { n_vertices = 2000 }", "quick-size = { n_vertices = 321 }"),
        f"""
        _make_path = make_path

        def make_path(n_vertices: int = 20_000, seed: int = 1):
            with open({str(log)!r}, "a") as sizes:
                sizes.write(f"{{n_vertices}}\\n")
            return _make_path(n_vertices, seed)
        """,
    )
    completed, _ = bench(workspace, tmp_path / "out")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert set(log.read_text().split()) == {"321"}
    result = json.loads((tmp_path / "out" / "timings.json").read_text())
    assert result["size"] == {"n_vertices": 321}
    assert result["settings"]["size_key"] == "quick-size"
    # The first line but for a noisy run's warning above it.
    lines = (tmp_path / "out" / "timings.md").read_text().splitlines()
    first = next(line for line in lines if line.startswith("Measured on"))
    assert "Workload size: n_vertices=321 (quick-size)." in first
    assert (
        "Workload size: n_vertices=321 (quick-size)."
        in (tmp_path / "out" / "index.html").read_text()
    )


def test_a_build_not_from_the_checkout_is_recorded_and_warned_about(tmp_path):
    """ladder-bench itself is installed editable from this repository, not from the copy:
    declared as the distribution, it is not the checkout's build."""
    workspace = ladder_copy(
        tmp_path, replace('baseline = "loop"', 'baseline = "loop"\ndistribution = "ladder-bench"')
    )
    completed, _ = bench(workspace, tmp_path / "out")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    # (On a busy machine, the noise verdict's warning too: not this test's subject.)
    warnings = [
        line
        for line in completed.stderr.splitlines()
        if "warning" in line and "the timings are noisy" not in line
    ]
    assert len(warnings) == 1, completed.stderr
    assert "was not built from this checkout" in warnings[0]
    build = json.loads((tmp_path / "out" / "timings.json").read_text())["environment"]["build"]
    installed = Path(config.__file__).resolve().parent
    assert build["imported_from"] == str(installed / "__init__.py")
    assert build["editable"] is True
    assert build["matches_checkout"] is False
    assert f"an editable install of {installed.parent}, not of this checkout" == build["verdict"]
    assert "**Warning**: the timed ladder-bench" in (tmp_path / "out" / "timings.md").read_text()


# What checkout_match makes of an installation, on a checkout made here.


@pytest.fixture
def checkout(tmp_path):
    """A git checkout with a package (Python and a Rust source), and a copy of the package
    "installed" elsewhere with a compiled file, built after the sources."""
    workspace = tmp_path / "checkout"
    package = workspace / "python" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("VERSION = 1\n")
    (package / "fast.py").write_text("def run(): return 1\n")
    (workspace / "src").mkdir()
    (workspace / "src" / "lib.rs").write_text("fn main() {}\n")
    (workspace / "tests").mkdir()
    (workspace / "tests" / "helper.rs").write_text("// not built into the package\n")
    git = ["git", "-C", str(workspace), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "sources"], check=True)
    installed = tmp_path / "site-packages" / "pkg"
    shutil.copytree(package, installed)
    compiled = installed / "_native.cpython-311-x86_64-linux-gnu.so"
    compiled.write_bytes(b"\x7fELF")
    sources = [path for path in workspace.rglob("*") if path.is_file()]
    built = max(path.stat().st_mtime for path in sources) + 10
    os.utime(compiled, (built, built))
    return workspace, installed


def facts(installed: Path, url: str | None, editable: bool = False) -> dict:
    return {
        "python": "CPython 3.11",
        "executable": "/venv/bin/python",
        "numpy": None,
        "distribution": "pkg",
        "installed": True,
        "version": "1.0",
        "built_by": "maturin",
        "editable": editable,
        "installed_from": url,
        "packages": {"pkg": str(installed / "__init__.py")},
    }


def test_a_wheel_built_in_the_checkout_with_its_files_matches(checkout):
    workspace, installed = checkout
    wheel = (workspace / "dist" / "pkg-1.0-cp311-linux_x86_64.whl").as_uri()
    build = environment.checkout_match(facts(installed, wheel), workspace)
    assert build["matches_checkout"] is True, build
    assert build["warning"] is None
    assert build["verdict"].startswith("a wheel built in this checkout")


def test_an_installed_python_file_unlike_the_checkouts_is_a_warning(checkout):
    workspace, installed = checkout
    (installed / "fast.py").write_text("def run(): return 2\n")
    build = environment.checkout_match(facts(installed, workspace.as_uri()), workspace)
    assert build["matches_checkout"] is False
    assert "1 of its 2 Python files differ" in build["warning"]
    assert "pkg/fast.py" in build["warning"]


def test_a_native_source_newer_than_the_compiled_file_is_a_warning(checkout):
    workspace, installed = checkout
    compiled = next(installed.glob("*.so"))
    newer = compiled.stat().st_mtime + 60
    os.utime(workspace / "tests" / "helper.rs", (newer, newer))  # not built into the package
    build = environment.checkout_match(facts(installed, workspace.as_uri()), workspace)
    assert build["matches_checkout"] is True, build
    os.utime(workspace / "src" / "lib.rs", (newer, newer))
    build = environment.checkout_match(facts(installed, workspace.as_uri()), workspace)
    assert build["matches_checkout"] is False
    assert f"its compiled {compiled.name}" in build["warning"]
    assert "is older than the checkout's src/lib.rs" in build["warning"]


def test_a_package_from_an_index_is_not_the_checkout(checkout):
    workspace, installed = checkout
    build = environment.checkout_match(facts(installed, None), workspace)
    assert build["matches_checkout"] is False
    assert "installed from a package index" in build["verdict"]
    assert "was not built from this checkout" in build["warning"]


def test_an_editable_install_of_the_checkout_matches(checkout):
    workspace, _ = checkout
    package = workspace / "python" / "pkg"
    build = environment.checkout_match(facts(package, workspace.as_uri(), True), workspace)
    assert build["matches_checkout"] is True, build
    assert build["verdict"].startswith("an editable install of this checkout")


def test_no_distribution_declared_says_so():
    build = environment.checkout_match({"python": "CPython", "distribution": None}, Path())
    assert build["matches_checkout"] is None
    assert build["verdict"].startswith("not declared")


def test_without_numpy_the_environment_says_so_and_the_table_leaves_it_out(tmp_path):
    facts = {
        "python": "CPython 3.12.1",
        "executable": sys.executable,
        "numpy": None,
        "distribution": None,
    }
    env = environment.describe(tmp_path, None, build=facts)
    assert env["numpy"] == "not installed"
    result = {"environment": env, "baseline": "a", "size": {"n": 3}, "settings": {}, "rungs": []}
    assert "numpy" not in timings.to_markdown(result).splitlines()[0]


def test_the_checking_modules_import_no_numpy():
    modules = "config, display, environment, harness, preflight, report, timings"
    code = f"import sys\nfrom ladder_bench import {modules}\nprint('numpy' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.stdout.strip() == "False", completed.stderr


# The default agreement: exact, numpy only where the answers are numpy's.


@pytest.mark.parametrize(
    ("answer", "reference", "counts"),
    [
        ([1, 2, 3], [1, 2, 3], (3, 0)),
        ([1, 2, 3], [1, 5, 3], (2, 1)),
        ((1.5,), [1.5], (1, 0)),
        ([1, 2], [1, 2, 3], (0, 1)),  # lengths differ: one answer, different
        (2.0, 2.0, (1, 0)),
        (2.0, 2.0000001, (0, 1)),
        ("abc", "abd", (0, 1)),
        ({"a": 1}, {"a": 1}, (1, 0)),
    ],
)
def test_exact_agreement_without_numpy(answer, reference, counts):
    result = preflight.exact_agreement(answer, reference, {})
    assert (result["same"], result["different"]) == counts
    assert result["ties"] == 0


def test_exact_agreement_on_arrays():
    np = pytest.importorskip("numpy")
    assert preflight.exact_agreement(np.arange(5), np.array([0, 1, 9, 3, 9]))["different"] == 2
    assert preflight.exact_agreement(np.arange(4), np.arange(5))["different"] == 1
    pairs = [np.array([1.0, 2.0]), np.array([3.0, 4.0])]
    same = [np.array([1.0, 2.0]), np.array([3.0, 4.0])]
    assert preflight.exact_agreement(pairs, same)["different"] == 0
    other = [np.array([1.0, 2.0]), np.array([3.0, 4.5])]
    assert preflight.exact_agreement(pairs, other)["different"] > 0
    assert preflight.exact_agreement(np.float64(2.5), 2.5) == {"same": 1, "ties": 0, "different": 0}


# The configuration's own checks, one key at a time.


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            'baseline = "a"\nrungs = [{ name = "a", call = "m:f", workload = "m:w" }]\n'
            'reference = "zz"',
            "reference = 'zz' is not a declared rung or peer",
        ),
        (
            'baseline = "a"\nrungs = [{ name = "a", call = "m.f", workload = "m:w" }]',
            "rung 'a': call = 'm.f' is not 'module:attribute'",
        ),
        (
            'baseline = "a"\nrungs = [{ name = "a", call = "m:f", workload = "m:w" },'
            '{ name = "a", call = "m:g", workload = "m:w" }]',
            "rung 'a' is declared twice",
        ),
        (
            'baseline = "a"\nrungs = [{ name = "a", call = "m:f", workload = "m:w", '
            "sizes = [{ n = 1.5 }] }]",
            "rung 'a' sizes = {'n': 1.5}: a size is a table of integers",
        ),
        (
            'baseline = "a"\nrungs = [{ name = "a", call = "m:f", workload = "m:w" }]\n'
            "quick-scaling-sizes = 0",
            "quick-scaling-sizes = 0: not a whole number of at least 1",
        ),
        (
            'baseline = "a"\nrungs = [{ name = "a", call = "m:f", workload = "m:w" }]\n'
            "[tool.ladder-bench.instruction-gate.rungs]\nb = 2.0",
            "[tool.ladder-bench.instruction-gate.rungs] 'b' is not a declared rung",
        ),
        (
            'baseline = "a"\nrungs = [{ name = "a", call = "m:f", workload = "m:w", '
            'profiler = "perff" }]',
            "rung 'a' profiler = 'perff': not one of auto, py-spy, perf",
        ),
        ("baseline = 3\nrungs = []", "baseline = 3: not a rung's name (a string)"),
        ('baseline = "a"', "declares no rungs"),
    ],
)
def test_the_configuration_refuses_what_it_cannot_use(tmp_path, table, message):
    (tmp_path / "pyproject.toml").write_text(f"[tool.ladder-bench]\n{table}\n")
    with pytest.raises(config.ConfigError) as raised:
        config.load(tmp_path / "pyproject.toml")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
    assert str(tmp_path / "pyproject.toml") in str(raised.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "cannot be read (No such file or directory); run from the project's folder"),
        ("[tool.ladder-bench]\nrungs = [{ name = 'a' ", "is not valid TOML: "),
        ("[project]\nname = 'x'\n", "no [tool.ladder-bench] table; declare the ladder there"),
    ],
)
def test_a_file_that_is_missing_broken_or_without_the_table_says_which(tmp_path, text, message):
    if text is not None:
        (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(config.ConfigError) as raised:
        config.load(tmp_path / "pyproject.toml")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
