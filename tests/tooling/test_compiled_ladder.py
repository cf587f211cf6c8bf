"""ladder-bench end to end on a compiled ladder it has never seen: pair_count
(tests/tooling/pair_count), a small maturin + PyO3 library whose last rung runs on rayon's
threads with the GIL released, as a stranger would set it up: its own git repository (two
commits, the second deliberately slower), ladder-bench installed with the one documented
pip command into a fresh virtualenv, the library built into it, and ladder-bench run by
its path with that virtualenv not on PATH. Then bench, compare, history and scale, and
the usual mistakes, each of which must fail fast with one line and no traceback.
"""

import itertools
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import fresh_install
import numpy as np
import pytest

from ladder_bench import tools

HERE = Path(__file__).resolve().parent
PAIR_COUNT = HERE / "pair_count"
# One cargo target folder for every session's builds of pair_count (target/ is ignored by
# git): the dependencies compile once, later builds are incremental.
CARGO_TARGET = fresh_install.ROOT / "target" / "pair-count"
RUNGS = ["v1", "v2", "v3", "v4"]
# The function rayon's threads spend their time in (src/lib.rs).
WORKER = "count_close_to"
# The second commit's change: the parallel rung counts every row twice, so its work
# (and its instructions per call) double while the serial rung's stay the same.
PARALLEL_MAP = "            .map(|i| count_close_to(&points, i, r2))\n"
PARALLEL_MAP_TWICE = """\
            .map(|i| {
                // Deliberately slower: every row counted twice.
                std::hint::black_box(count_close_to(std::hint::black_box(&points), i, r2));
                count_close_to(&points, i, r2)
            })
"""
MISTAKE_SECONDS = 20


@dataclass(frozen=True)
class Project:
    workspace: Path  # the stranger's repository: HEAD~1, and HEAD the slower commit
    venv: Path
    env: dict  # a user's environment: the virtualenv not on PATH

    @property
    def ladder_bench(self) -> Path:
        return self.venv / "bin" / "ladder-bench"

    def run(self, *args, cwd=None, timeout=600) -> tuple[subprocess.CompletedProcess, float]:
        """``ladder-bench ARGS`` by its path; the completed process and its seconds."""
        started = time.perf_counter()
        completed = subprocess.run(
            [str(self.ladder_bench), *map(str, args)],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=cwd or self.workspace,
            timeout=timeout,
        )
        return completed, time.perf_counter() - started


def git(workspace: Path, *args: str) -> str:
    identity = ["-c", "user.name=A Stranger", "-c", "user.email=stranger@example.com"]
    return fresh_install.run(["git", *identity, *args], cwd=workspace).stdout.strip()


def output(completed: subprocess.CompletedProcess) -> str:
    return f"{completed.stdout}\n{completed.stderr}"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    reason = fresh_install.missing_programs()
    if reason:
        pytest.skip(f"the compiled ladder needs git and cargo: {reason}")
    started = time.perf_counter()
    venv = fresh_install.venv(tmp_path_factory.getbasetemp())
    installed = time.perf_counter()
    workspace = tmp_path_factory.mktemp("stranger") / "pair_count"
    shutil.copytree(PAIR_COUNT, workspace, ignore=shutil.ignore_patterns("__pycache__"))
    git(workspace, "init", "--quiet", "--initial-branch", "main")
    git(workspace, "add", ".")
    git(workspace, "commit", "--quiet", "-m", "pair_count: four rungs")
    lib = workspace / "src" / "lib.rs"
    source = lib.read_text()
    assert source.count(PARALLEL_MAP) == 1, "src/lib.rs changed: update PARALLEL_MAP"
    lib.write_text(source.replace(PARALLEL_MAP, PARALLEL_MAP_TWICE))
    git(workspace, "commit", "--quiet", "-am", "v4: every row counted twice (slower)")
    # The checkout's build, as the user would install it (maturin, through pip), in the
    # shared cargo folder; history's builds use it too (it honours CARGO_TARGET_DIR),
    # compare's have their own.
    env = fresh_install.user_environ(CARGO_TARGET_DIR=str(CARGO_TARGET))
    fresh_install.run([venv / "bin" / "python", "-m", "pip", "install", "-q", workspace], env=env)
    print(
        f"\nfixture: ladder-bench installed in {installed - started:.0f}s, "
        f"pair_count built in {time.perf_counter() - installed:.0f}s"
    )
    # inferno and rustfilt installed once, into this repository's .tools (a user may have
    # them on PATH too): otherwise each fresh copy would cargo-install its own.
    tools.inferno(fresh_install.ROOT), tools.rustfilt(fresh_install.ROOT)
    env["PATH"] = f"{env['PATH']}{os.pathsep}{fresh_install.ROOT / '.tools' / 'bin'}"
    return Project(workspace, venv, env)


@pytest.fixture(scope="module")
def bench(project, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "profiles"
    completed, seconds = project.run("--quick", "--workspace", project.workspace, "--out", out)
    print(f"\nladder-bench --quick: {seconds:.0f}s")
    assert completed.returncode == 0, output(completed)[-6000:]
    assert "Traceback" not in output(completed)
    return out


def table(markdown: str) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of the first markdown table in ``markdown``."""
    lines = itertools.dropwhile(lambda line: not line.startswith("|"), markdown.splitlines())
    rows = itertools.takewhile(lambda line: line.startswith("|"), lines)
    cells = [[cell.strip() for cell in row.strip().strip("|").split("|")] for row in rows]
    return cells[0], cells[2:]


def table_after(markdown: str, heading: str) -> dict[str, dict[str, str]]:
    """The first table after the line starting with ``heading``, as rung -> column -> cell."""
    header, rows = table(markdown[markdown.index(heading) :])
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows}


def share_in(folded: str, function: str) -> tuple[float, int]:
    """The share of the samples whose stack holds ``function``, and the sample count."""
    inside = total = 0
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        total += int(count)
        if any(re.search(rf"\b{function}\b", frame) for frame in stack.split(";")):
            inside += int(count)
    return (inside / total if total else 0.0), total


def test_the_projects_rungs_agree_with_an_independent_count(project):
    """The stranger's ladder is right (so a rung that disagrees is the test's own doing):
    every rung's count equals scipy's k-d tree's."""
    spatial = pytest.importorskip("scipy.spatial")
    n = 1500
    script = (
        "import json; from pair_count import v1, v2, v3, v4, workload\n"
        f"points, r = workload.make_points({n})\n"
        "print(json.dumps({'points': points.tolist(), 'r': r, 'counts': "
        "[m.count_pairs(points, r) for m in (v1, v2, v3, v4)]}))"
    )
    reply = json.loads(
        fresh_install.run([project.venv / "bin" / "python", "-c", script], env=project.env).stdout
    )
    points = np.array(reply["points"])
    expected = len(spatial.cKDTree(points).query_pairs(reply["r"]))
    assert expected > 100  # enough pairs for an off-by-a-few to show
    assert reply["counts"] == [expected] * 4


def test_bench_times_every_rung_with_a_speedup(bench):
    header, rows = table((bench / "timings.md").read_text())
    rung_column = header.index("rung")
    (speedup_column,) = [k for k, name in enumerate(header) if name.startswith("speedup")]
    assert header[speedup_column] == "speedup vs v1"
    assert [row[rung_column] for row in rows] == RUNGS
    # The speedup to three significant figures, then its spread: "427x (419-436)", with an en dash.
    speedups = {row[rung_column]: row[speedup_column].split(" (")[0] for row in rows}
    assert speedups["v1"] == "1.0x"
    for rung in RUNGS[1:]:
        assert re.fullmatch(r"[\d,.]+x", speedups[rung]), speedups
        # numpy and Rust beat Python's loops by far more than noise.
        assert float(speedups[rung].rstrip("x").replace(",", "")) > 3, speedups


def test_the_rayon_rungs_profile_is_mostly_its_worker_function(bench):
    (folded,) = (bench / "flamegraphs").glob("v4*.folded")
    share, samples = share_in(folded.read_text(), WORKER)
    assert samples >= 100, samples
    assert share >= 0.5, f"{share:.0%} of {samples} samples in {WORKER}"
    # The Python-only baseline has no such function: the share is the rung's own.
    (baseline,) = (bench / "flamegraphs").glob("v1*.folded")
    assert share_in(baseline.read_text(), WORKER)[0] == 0


@pytest.fixture(scope="module")
def compared(project, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("compare")
    completed, seconds = project.run(
        "compare",
        "HEAD~1",
        "HEAD",
        "--workspace",
        project.workspace,
        "--out",
        out,
        "--quick",
        "--rungs",
        "v3,v4",
        "--rounds",
        "5",
        "--seconds",
        "0.2",
    )
    print(f"\nladder-bench compare: {seconds:.0f}s")
    assert "Traceback" not in output(completed), output(completed)[-6000:]
    return completed, out


def test_compare_flags_the_slower_commits_rung(compared):
    completed, out = compared
    # The gate: the parallel rung does twice the work, the serial one the same.
    assert completed.returncode == 1, output(completed)[-6000:]
    assert re.search(r"gate failed: v4$", completed.stderr, re.IGNORECASE | re.MULTILINE), (
        completed.stderr[-3000:]
    )
    report = (out / "compare.md").read_text()
    gate = table_after(report, "Instructions per call")
    assert set(gate) == {"v3", "v4"}
    assert 95 < float(gate["v4"]["change"].strip("+%")) < 105, gate["v4"]
    assert abs(float(gate["v3"]["change"].strip("+%"))) < 1, gate["v3"]
    # Its time too, well beyond the noise of interleaved rounds.
    walltime = table_after(report, "| rung | before | now |")
    assert float(walltime["v4"]["change"].strip("+%")) > 30, walltime["v4"]


def test_compares_differential_flamegraphs_see_the_rayon_rungs_worker(project, compared):
    """The slower commit's extra time is in rayon's threads: the differential recordings
    of that rung must see them (perf, on both sides), and the serial rung, whose code did
    not change, must show no function grown. Whether the doubled time clears the 0.1%
    family-wise bar depends on how quiet the machine is over a few short rounds, so that
    is not asserted here."""
    completed, out = compared
    assert "v4: note: recorded with perf" in completed.stdout, completed.stdout[-3000:]
    folded = project.workspace / ".ladder-bench" / "compare" / "folded"
    for side in ("base", "head"):
        for recording in folded.glob(f"v4.{side}.*.folded"):
            share, samples = share_in(recording.read_text(), WORKER)
            assert share >= 0.5, f"{recording.name}: {share:.0%} of {samples} in {WORKER}"
    grown_serial = [
        change["function"]
        for change in json.loads((out / "diff" / "v3.json").read_text())["significant"]
        if WORKER in change["function"] and change["change_seconds"] > 0
    ]
    assert not grown_serial, grown_serial


def history_graphs(site: Path, rung: str) -> dict[str, dict[str, float]]:
    """The asv site's charts of ``rung``: benchmark (time_call...) -> {commit: value}."""
    index = json.loads((site / "index.json").read_text())
    commit = {str(revision): sha for revision, sha in index["revision_to_hash"].items()}
    graphs = {}
    for path in site.glob("graphs/**/*.json"):
        found = re.search(rf"(?:^|\.){re.escape(rung)}\.(\w+)$", path.stem)
        if found and "summary" not in path.relative_to(site).parts:
            points = json.loads(path.read_text())
            graphs[found.group(1)] = {
                commit[str(revision)]: value for revision, value in points if value is not None
            }
    return graphs


def test_history_needs_no_asv_files(project, tmp_path):
    tracked = git(project.workspace, "ls-files").splitlines()
    assert not [path for path in tracked if "asv" in path], tracked
    head, before = (git(project.workspace, "rev-parse", ref) for ref in ("HEAD", "HEAD~1"))
    # HEAD~1..HEAD is git's range: HEAD alone. A second run adds HEAD~1 to the results.
    for revisions, measured in (("HEAD~1..HEAD", {head}), ("HEAD~1^!", {head, before})):
        completed, seconds = project.run(
            "history", revisions, "--workspace", project.workspace, "--out", tmp_path
        )
        print(f"\nladder-bench history {revisions}: {seconds:.0f}s")
        assert completed.returncode == 0, output(completed)[-6000:]
        assert "Traceback" not in output(completed)
        for rung in RUNGS:
            graphs = history_graphs(tmp_path / "history", rung)
            assert set(graphs.get("time_call", {})) == measured, (rung, revisions, graphs)
    # Nothing for the user to commit: whatever asv needed stays out of git's way.
    assert git(project.workspace, "status", "--porcelain") == ""
    # Each commit's own build was measured: the slower commit's parallel rung executes
    # twice the instructions (deterministic, unlike its time), the serial rung the same.
    counts = {rung: history_graphs(tmp_path / "history", rung) for rung in ("v3", "v4")}
    if shutil.which("valgrind") is not None:
        v3, v4 = (counts[rung]["track_instructions"] for rung in ("v3", "v4"))
        assert 1.8 < v4[head] / v4[before] < 2.2, v4
        assert 0.99 < v3[head] / v3[before] < 1.01, v3


def test_scale_sweeps_every_rung(project, tmp_path):
    completed, seconds = project.run(
        "scale", "--quick", "--workspace", project.workspace, "--out", tmp_path
    )
    print(f"\nladder-bench scale --quick: {seconds:.0f}s")
    assert completed.returncode == 0, output(completed)[-6000:]
    assert "Traceback" not in output(completed)
    scaling = json.loads((tmp_path / "scaling.json").read_text())
    text = json.dumps(scaling)
    for rung in RUNGS:
        assert f'"{rung}"' in text, rung


def mistake_copy(project: Project, tmp_path: Path) -> Path:
    """A clone of the stranger's repository, at the commit the installed build is of."""
    copy = tmp_path / "pair_count"
    fresh_install.run(["git", "clone", "--quiet", project.workspace, copy])
    return copy


def edit_config(copy: Path, old: str, new: str) -> None:
    pyproject = copy / "pyproject.toml"
    text = pyproject.read_text()
    assert old in text, old
    pyproject.write_text(text.replace(old, new, 1))


def typo_in_a_call(copy: Path) -> None:
    edit_config(copy, '"pair_count.v3:count_pairs"', '"pair_count.v3:count_pair"')


def a_workload_factory_that_raises(copy: Path) -> None:
    (copy / "bench_inputs.py").write_text(
        '"""Points saved by an earlier run."""\n\nimport numpy as np\n\n\n'
        "def load_points(n):\n"
        '    return np.load(f"points-{n}.npy"), 0.05\n'
    )
    edit_config(
        copy,
        'call = "pair_count.v2:count_pairs", workload = "pair_count.workload:make_points"',
        'call = "pair_count.v2:count_pairs", workload = "bench_inputs.py:load_points"',
    )


def a_rung_with_a_different_answer(copy: Path) -> None:
    (copy / "faster.py").write_text(
        '"""Rust on every core, a radius a little wider (a mistake)."""\n\n'
        "from pair_count import v4\n\n\n"
        "def count_pairs(points, r):\n"
        "    return v4.count_pairs(points, r * 1.01)\n"
    )
    edit_config(
        copy,
        "\n]\n",
        '\n    { name = "v5", call = "faster.py:count_pairs", '
        'workload = "pair_count.workload:make_points" },\n]\n',
    )


def a_baseline_that_is_no_rung(copy: Path) -> None:
    edit_config(copy, 'baseline = "v1"', 'baseline = "v0"')


def an_unknown_key_at_the_top(copy: Path) -> None:
    edit_config(copy, "quick-size = ", "quick_size = ")


# (the mistake, words its one line must hold: the rung or key, and the key or value)
MISTAKES = {
    "typo in a call": (typo_in_a_call, ("v3", "call")),
    "raising workload factory": (a_workload_factory_that_raises, ("v2", "workload")),
    "different answer": (a_rung_with_a_different_answer, ("v5", "answer|agree|differ")),
    "baseline not a rung": (a_baseline_that_is_no_rung, ("baseline", "v0")),
    "unknown top-level key": (an_unknown_key_at_the_top, ("quick_size",)),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_mistake_fails_fast_in_one_line(project, tmp_path, mistake):
    make, words = MISTAKES[mistake]
    copy = mistake_copy(project, tmp_path)
    make(copy)
    completed, seconds = project.run(
        "--quick",
        "--workspace",
        copy,
        "--out",
        tmp_path / "profiles",
        cwd=copy,
        timeout=5 * MISTAKE_SECONDS,
    )
    text = output(completed)
    assert completed.returncode != 0, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    assert seconds < MISTAKE_SECONDS, f"{seconds:.0f}s:\n{text[-3000:]}"
    naming = [
        line
        for line in text.splitlines()
        if all(re.search(word, line, re.IGNORECASE) for word in words)
    ]
    assert len(naming) == 1, text[-3000:]
