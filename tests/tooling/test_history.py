"""ladder-bench history: the asv files it generates, the checks before asv starts, its
output when asv fails, the benchmarks of every declared rung, the offline site, and the
whole command on a project with no asv file of its own. The site in a browser is
test_history_browser.py's; this repository's own history, tox -e history's."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ladder_bench import asv_project, asv_suite, history

SECOND = Path(__file__).with_name("second_ladder")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def suite(tmp_path):
    """The second ladder's benchmarks, its "vectorized" rung pointing at nothing (as an old
    commit's library lacks a newer rung)."""
    (tmp_path / "pyproject.toml").write_text(
        (SECOND / "pyproject.toml")
        .read_text()
        .replace("path_length.py:vectorized", "path_length.py:no_such_function")
        .replace("path_length.py", str(SECOND / "path_length.py"))
    )
    return asv_suite.benchmarks(tmp_path / "pyproject.toml")


def test_one_class_per_rung_named_after_it_with_three_benchmarks(suite):
    assert list(suite) == ["loop", "vectorized"]
    loop = suite["loop"]
    assert loop.__name__ == "loop"
    assert loop.track_instructions.unit == "instructions"
    assert loop.track_peak_memory.unit == "MiB"
    assert loop.setup_cache.timeout >= 1200


def test_a_rung_measures_and_reports_the_cached_instruction_count(suite):
    loop = suite["loop"]()
    counts = {"loop": 1234.5}
    loop.setup(counts)
    loop.time_call(counts)
    assert loop.track_peak_memory(counts) >= 0
    assert loop.track_instructions(counts) == 1234.5


def test_a_rung_the_library_lacks_is_skipped(suite):
    with pytest.raises(NotImplementedError, match="vectorized: not in this commit"):
        suite["vectorized"]().setup({})


CDN_PAGE = """<html><head>
<script src="https://code.jquery.com/jquery-3.3.1.min.js" integrity="sha256-x" crossorigin="anonymous" onerror="js_load_failure()"></script>
<script src="https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.min.js" onerror="js_load_failure()"></script>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css" crossorigin="anonymous">
<script src="asv.js"></script>
</head><body><a href="https://github.com/airspeed-velocity/asv/">asv</a></body></html>
"""  # noqa: E501


def published(site: Path, page: str) -> Path:
    """A site as asv publishes it, as far as ``offline`` reads it."""
    (site / "index.html").write_text(page)
    return site


def test_the_site_loads_its_scripts_and_style_sheet_from_vendored_copies(tmp_path):
    history.offline(published(tmp_path, CDN_PAGE))
    page = (tmp_path / "index.html").read_text()
    assert '<script src="vendor/jquery-3.3.1.min.js" onerror="js_load_failure()">' in page
    assert '<script src="vendor/jquery.flot-0.8.3.min.js"' in page
    assert '<link rel="stylesheet" href="vendor/bootstrap-3.1.0.min.css">' in page
    assert '<script src="asv.js">' in page
    assert '<a href="https://github.com/airspeed-velocity/asv/">' in page  # a link, not a load
    for name in history.VENDORED.values():
        assert (tmp_path / "vendor" / name).is_file()


def test_the_plugin_that_starts_charts_at_zero_loads_right_after_flot(tmp_path):
    history.offline(published(tmp_path, CDN_PAGE))
    page = (tmp_path / "index.html").read_text()
    flot = '<script src="vendor/jquery.flot-0.8.3.min.js" onerror="js_load_failure()"></script>'
    assert re.search(re.escape(flot) + r'\s*<script src="y-axis-from-zero.js"></script>\n', page)
    assert page.count("</script>") == CDN_PAGE.count("</script>") + 1  # whole tags, no stray
    assert (tmp_path / "y-axis-from-zero.js").read_text().startswith("/* A flot plugin")


def test_a_page_without_flot_from_a_cdn_is_an_error(tmp_path):
    page = CDN_PAGE.replace(
        '<script src="https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.min.js" '
        'onerror="js_load_failure()"></script>\n',
        "",
    )
    assert page != CDN_PAGE
    published(tmp_path, page)
    with pytest.raises(RuntimeError, match="loads no flot from a CDN"):
        history.offline(tmp_path)


def test_a_cdn_script_with_no_vendored_copy_is_an_error(tmp_path):
    published(tmp_path, '<script src="https://cdn.example/new-lib.js"></script>')
    with pytest.raises(
        RuntimeError, match=re.escape("no vendored copy of https://cdn.example/new-lib.js")
    ):
        history.offline(tmp_path)


def test_a_rung_whose_name_is_not_a_python_name_gets_a_class_asv_can_address():
    # asv splits benchmark names on dots: "Index.match" would name a class "Index".
    suite = asv_suite.benchmarks(ROOT / "pyproject.toml")
    assert "Index_match" in suite
    assert suite["Index_match"].rung.name == "Index.match"
    assert all(name.isidentifier() for name in suite)


def test_the_generated_configuration_names_only_the_project(tmp_path, monkeypatch):
    monkeypatch.delenv("CARGO_TARGET_DIR", raising=False)
    scratch = tmp_path / "a scratch folder"
    project = asv_project.Project(repo=tmp_path / "repo", subdir="lib", name="demo")
    conf = asv_project.configuration(scratch, project, ["numpy>=1.24"])
    assert conf["project"] == "demo"
    assert conf["repo"] == str(tmp_path / "repo")
    assert conf["repo_subdir"] == "lib"
    assert conf["environment_type"] == "virtualenv"
    assert conf["pythons"] == [f"{sys.version_info.major}.{sys.version_info.minor}"]
    for key in ("benchmark_dir", "env_dir", "results_dir", "html_dir"):
        assert Path(conf[key]).parent == scratch, key
    (build,) = conf["build_command"]
    assert shlex_format(build, build_cache_dir="CACHE", build_dir="BUILD") == [
        f"CARGO_TARGET_DIR={scratch / 'cargo'}",  # one word, though the path has a space
        *["python", "-m", "pip", "wheel", "--no-deps", "-w", "CACHE", "BUILD"],
    ]
    assert shlex_format(conf["install_command"][-1]) == [
        "python",
        str(scratch / "install_ladder_bench.py"),
    ]
    assert any(
        "{wheel_file}" in command and "numpy>=1.24" in command
        for command in conf["install_command"]
    )
    # Nothing of this repository's: no library, hooks or build backend of its own.
    assert not re.search(r"poly|ladder_hooks|maturin", json.dumps(conf))


def test_a_requirement_survives_asvs_command_parsing():
    # asv splits a command with shlex, then fills {name} fields with str.format.
    quoted = asv_project.quote("tomli>=2; python_version < '3.11'")
    assert shlex_format(quoted) == ["tomli>=2; python_version < '3.11'"]
    assert shlex_format(asv_project.quote("odd{name}")) == ["odd{name}"]


def shlex_format(command: str, **variables: str) -> list[str]:
    """A command as asv reads it: split by shlex, then each part through str.format."""
    return [part.format(**variables) for part in shlex.split(command)]


BENCHMARK_FAILURE = """\
[58.33%] ··· rungs.loop.time_call                                        failed
[58.33%] ···· Traceback (most recent call last):
                File "/venv/lib/python3.11/site-packages/asv/benchmark.py", line 99, in <module>
                  main()
                File "/env/lib/python3.11/site-packages/asv_runner/run.py", line 66, in _run
                  skip = benchmark.do_setup()
                         ^^^^^^^^^^^^^^^^^^^^
                File "/scratch/tool/ladder_bench/harness.py", line 70, in <lambda>
                  return (lambda: function(*args)), args
                File "/env/lib/python3.11/site-packages/path_length.py", line 20, in loop
                  raise ValueError("broken on purpose")
              ValueError: broken on purpose
              asv: benchmark failed (exit status 1)
[83.33%] ··· rungs.vectorized.time_call                                 207±6μs"""
ASV_CRASH = """\
· Discovering benchmarks
Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/asv/main.py", line 38, in main
    result = args.func(args)
asv.util.UserError: No executable found for python 3.11"""


def shown(output: history.AsvOutput, text: str) -> list[str]:
    return [line for line in map(output.read, text.splitlines()) if line is not None]


def test_a_failing_benchmarks_traceback_keeps_only_the_projects_frames():
    output = history.AsvOutput()
    lines = shown(output, BENCHMARK_FAILURE)
    assert not any(
        "asv_runner" in line or "ladder_bench" in line or "/asv/" in line for line in lines
    )
    assert any("path_length.py" in line for line in lines)
    assert 'raise ValueError("broken on purpose")' in "\n".join(lines)
    assert "ValueError: broken on purpose" in "\n".join(lines)
    assert lines[-1].endswith("207±6μs")  # the traceback ends where its indentation does
    assert output.failed == ["rungs.loop.time_call"]
    assert "1 benchmark failed (rungs.loop.time_call)" in output.summary(Path("/x/asv.conf.json"))


def test_asvs_own_traceback_shows_only_its_last_line():
    output = history.AsvOutput()
    assert shown(output, ASV_CRASH) == [
        "· Discovering benchmarks",
        "asv.util.UserError: No executable found for python 3.11",
    ]
    assert output.summary(Path("/x/asv.conf.json")).startswith(
        "asv.util.UserError: No executable found for python 3.11"
    )


def ladder_bench(*args: str, cwd: Path, env: dict | None = None, timeout: float = 600):
    return subprocess.run(
        [sys.executable, "-m", "ladder_bench", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


GIT = (
    "git",
    "-c",
    "user.name=test",
    "-c",
    "user.email=test@example.invalid",
    "-c",
    "commit.gpgsign=false",
)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The second ladder as a project of its own: a git repository of two commits, with no
    asv file and no build system (pip builds it with its setuptools fallback), its rungs
    named by module, so that each commit's build is what is measured. The second commit's
    loop walks every vertex twice."""
    project = tmp_path_factory.mktemp("path-length")
    pyproject = (SECOND / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(pyproject.replace("path_length.py:", "path_length:"))
    source = (SECOND / "path_length.py").read_text()
    (project / "path_length.py").write_text(source)
    subprocess.run([*GIT, "init", "--quiet"], cwd=project, check=True)
    subprocess.run([*GIT, "add", "--all"], cwd=project, check=True)
    subprocess.run([*GIT, "commit", "--quiet", "--message", "one"], cwd=project, check=True)
    slower = source.replace("vertices = path.tolist()", "vertices = path.tolist() * 2")
    assert slower != source
    (project / "path_length.py").write_text(slower)
    subprocess.run(
        [*GIT, "commit", "--quiet", "--all", "--message", "two"], cwd=project, check=True
    )
    return project


@pytest.fixture(scope="module")
def measured(project, tmp_path_factory):
    """Two runs, HEAD~1 alone and then HEAD~1..HEAD (HEAD alone): the output folder and
    each run's output."""
    out = tmp_path_factory.mktemp("out")
    pip_cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pip"
    # asv files its machine description under ~: a home of the test's own (pip's cache
    # stays the user's).
    env = {
        **os.environ,
        "HOME": str(tmp_path_factory.mktemp("home")),
        "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(pip_cache)),
    }
    runs = []
    for revisions in ("HEAD~1^!", "HEAD~1..HEAD"):
        completed = ladder_bench(
            "history",
            revisions,
            "--workspace",
            str(project),
            "--out",
            str(out),
            "--machine",
            "test",
            "--install",
            "numpy",
            cwd=project,
            env=env,
        )
        assert completed.returncode == 0, completed.stdout + completed.stderr
        runs.append(completed.stdout + completed.stderr)
    return out, runs


def results(project: Path) -> dict[str, dict[str, float | None]]:
    """Per commit hash, asv's result of each benchmark (None: failed or skipped)."""
    folder = project / ".ladder-bench" / "history" / "results" / "test"
    measured = {}
    for path in folder.glob("*-virtualenv-*.json"):
        data = json.loads(path.read_text())
        column = data["result_columns"].index("result")
        measured[data["commit_hash"]] = {
            name: (row[column] or [None])[0] for name, row in data["results"].items()
        }
    return measured


def test_history_measures_each_commits_build_of_a_project_with_no_asv_file(project, measured):
    commits = subprocess.run(
        ["git", "rev-list", "HEAD"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.split()
    one, two = commits[1], commits[0]
    found = results(project)
    assert set(found) == {one, two}  # the second run added its commit to the first's
    for commit in (one, two):
        for rung in ("loop", "vectorized"):
            for benchmark in ("time_call", "track_peak_memory", "track_instructions"):
                value = found[commit][f"rungs.{rung}.{benchmark}"]
                assert value is not None, (commit, rung, benchmark)
                assert value >= 0, (commit, rung, benchmark)
            assert found[commit][f"rungs.{rung}.time_call"] > 0
    # Each commit's own code: the second's loop walks twice the vertices, the numpy rung
    # is the same code in both.
    loop = [found[c]["rungs.loop.track_instructions"] for c in (one, two)]
    assert loop[1] > 1.3 * loop[0]
    vectorized = [found[c]["rungs.vectorized.track_instructions"] for c in (one, two)]
    assert vectorized[1] == pytest.approx(vectorized[0], rel=0.02)
    assert not (project / "asv.conf.json").exists()


def test_history_publishes_the_site_and_links_it(measured):
    out, _ = measured
    assert (out / "history" / "index.html").is_file()
    assert (out / "history" / "vendor" / "jquery-3.3.1.min.js").is_file()
    assert "history/index.html" in (out / "index.html").read_text()


def test_the_scratch_folder_is_announced_once_and_ignored_by_git(project, measured):
    _, (first, second) = measured
    scratch = project / ".ladder-bench" / "history"
    # Said before asv starts, the first time only.
    assert str(scratch) in first.split("$ asv")[0]
    assert str(scratch) not in second.split("$ asv")[0]
    status = subprocess.run(
        ["git", "status", "--porcelain", "--ignored=no"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert status == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("HEAD..HEAD",), "'HEAD..HEAD' names no commits"),
        (("no-such-commit..HEAD",), "'no-such-commit..HEAD' is not a commit range"),
        (("HEAD^!", "--bnech", "x"), "unknown option --bnech"),
        (("HEAD^!", "--config", "missing.toml"), "missing.toml"),
    ],
    ids=["empty range", "unknown commit", "misspelt asv option", "no configuration"],
)
def test_a_mistake_is_one_line_before_asv_starts(project, tmp_path, args, message):
    completed = ladder_bench(
        "history",
        *args,
        "--workspace",
        str(project),
        "--out",
        str(tmp_path),
        cwd=project,
        timeout=30,
    )
    assert completed.returncode == 2
    assert message in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1, completed.stderr
    assert completed.stdout == ""  # nothing started


def test_a_folder_outside_git_is_refused_before_asv_starts(tmp_path):
    shutil.copy(SECOND / "pyproject.toml", tmp_path)
    completed = ladder_bench(
        "history", "HEAD^!", "--workspace", str(tmp_path), cwd=tmp_path, timeout=30
    )
    assert completed.returncode == 2
    assert f"{tmp_path} is not in a git repository" in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1, completed.stderr
    assert not (tmp_path / ".ladder-bench").exists()
