"""The GitHub workflow against the repository, by .ci/workflow_rules.py: the real workflow
has no problem, and a copy broken in each way that only a run on GitHub would show (or a
run that would pass while testing less) has the problem that names its job and the fix.
Each breakage is made on a deep copy of the workflow, or on a copy of the repository's
CI files in tmp_path; the last tests check choices of this workflow that no rule covers."""

import copy
import datetime
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = yaml.safe_load((REPO / ".github/workflows/ci.yml").read_text())
JOBS = WORKFLOW["jobs"]
TODAY = datetime.date.today()
# A day after macos-14's retirement (2026-11-02 in .ci/runner-labels.toml).
AFTER_MACOS_14 = datetime.date(2026, 12, 5)


def load_rules():
    """.ci/workflow_rules.py as a module, without writing a __pycache__ into .ci/."""
    spec = importlib.util.spec_from_file_location("workflow_rules", REPO / ".ci/workflow_rules.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    writes = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = writes
    return module


rules = load_rules()


@pytest.fixture
def workflow():
    """A copy of the workflow to break."""
    return copy.deepcopy(WORKFLOW)


def problems(workflow=None, repo=REPO, today=AFTER_MACOS_14):
    return rules.problems(repo, workflow, today)


def reported(found, *fragments):
    """The problem naming every fragment; fails listing them all when there is none."""
    hits = [problem for problem in found if all(f in problem for f in fragments)]
    assert hits, f"no problem names {fragments}; the problems:\n" + "\n".join(found)
    return hits[0]


def step(workflow, job, *, uses=None, run=None, name=None):
    """The first step of a job that uses an action, calls a script, or downloads a name."""
    for candidate in workflow["jobs"][job]["steps"]:
        named = name is None or name in str(candidate.get("with", {}).get("name", ""))
        if uses and candidate.get("uses", "").startswith(f"{uses}@") and named:
            return candidate
        if run and candidate.get("run", "").split()[:1] == [run]:
            return candidate
    raise LookupError(f"job {job} has no step {uses or run} {name or ''}")


def edit(path: Path, old: str, new: str):
    text = path.read_text()
    assert old in text, f"{path}: {old!r} is not there to change"
    path.write_text(text.replace(old, new))


# ---------------------------------------------------------------------------------------
# The real workflow


def test_the_workflow_has_no_problems():
    assert rules.problems(REPO, None, TODAY) == []


def test_the_command_line_prints_each_problem_and_fails(tmp_path, workflow):
    del workflow["jobs"]["msrv"]["timeout-minutes"]
    broken = tmp_path / "ci.yml"
    broken.write_text(yaml.safe_dump(workflow))
    result = subprocess.run(
        [sys.executable, str(REPO / ".ci/workflow_rules.py"), "--workflow", str(broken)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("job msrv has no timeout-minutes") for line in lines)


def test_a_label_that_retires_later_is_a_warning_not_a_problem(tmp_path, workflow):
    workflow["jobs"]["lint"]["runs-on"] = "macos-14"
    report = rules.check(REPO, workflow, datetime.date(2026, 10, 1))
    assert "job lint: macos-14 retires on 2026-11-02: move to macos-15" in report.warnings
    assert not [p for p in report.problems if "macos-14" in p]
    broken = tmp_path / "ci.yml"
    broken.write_text(yaml.safe_dump(workflow))
    command = [sys.executable, str(REPO / ".ci/workflow_rules.py"), "--workflow", str(broken)]
    printed = subprocess.run([*command, "--today", "2026-10-01"], capture_output=True, text=True)
    assert "warning: job lint: macos-14 retires on 2026-11-02" in printed.stdout


# ---------------------------------------------------------------------------------------
# Each breakage and its problem


@pytest.mark.parametrize(
    "command",
    ["cargo test --locked", "pip install tox", ".ci/rust && .ci/mutants", ".ci/rust\n.ci/lint"],
)
def test_a_run_step_that_is_not_one_script_call(workflow, command):
    step(workflow, "rust", run=".ci/rust")["run"] = command
    first = command.splitlines()[0]
    reported(problems(workflow), "job rust, step", f"(`{first}`)", "exactly one call of a .ci/")


@pytest.mark.parametrize(
    ("job", "script", "call"),
    [
        ("bench", ".ci/bench", ".ci/bench --quick"),
        ("bench", ".ci/compare-base", ".ci/compare-base --quick $BASE_SHA"),
        ("bench", ".ci/compare-base", ".ci/compare-base"),
        ("pages", ".ci/history-publish", ".ci/history-publish --force"),
    ],
)
def test_a_call_that_does_not_match_the_scripts_usage(workflow, job, script, call):
    step(workflow, job, run=script)["run"] = call
    reported(problems(workflow), f"job {job}, step", f"`{call}` does not match the usage")


def test_a_call_within_the_usage_passes(workflow):
    """.ci/tooling [pytest args]: any words."""
    step(workflow, "tooling", run=".ci/tooling")["run"] = ".ci/tooling -x -k report"
    assert not [p for p in problems(workflow) if "does not match the usage" in p]


def test_a_script_without_a_usage_line(repo):
    edit(repo / ".ci/lint", "#   .ci/lint\n", "")
    reported(problems(repo=repo), "job lint, step", ".ci/lint declares no usage")


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("ci-needs: full-history", "ci-needs: full-histroy", "full-histroy is not a need"),
        ("#   .ci/compare-base BASE_REF", "#   .ci/compare-base [BASE_REF", "a [ without its ]"),
    ],
)
def test_a_header_the_rules_cannot_read(repo, old, new, problem):
    edit(repo / ".ci/compare-base", old, new)
    reported(problems(repo=repo), ".ci/compare-base: ", problem)


def test_colliding_wheel_artifact_names(workflow):
    step(workflow, "wheels", uses="actions/upload-artifact")["with"]["name"] = (
        "dist-${{ matrix.target }}"
    )
    reported(
        problems(workflow),
        "artifact name dist-x86_64 is uploaded by job wheels [",
        "and by job wheels [",
        "names must be unique",
    )


@pytest.mark.parametrize(
    ("job", "script"),
    [
        ("bench", ".ci/compare-base"),
        ("pages", ".ci/history-publish"),
        ("release", ".ci/tag-on-main"),
    ],
)
def test_a_job_whose_script_needs_the_history_checks_out_one_commit(workflow, job, script):
    del step(workflow, job, uses="actions/checkout")["with"]["fetch-depth"]
    reported(problems(workflow), f"job {job}: {script} needs the full history", "fetch-depth: 0")


def test_the_browser_set_up_dropped_from_the_tooling_script(repo):
    edit(repo / ".ci/tooling", ". .ci/browser\n", "")
    reported(
        problems(repo=repo),
        "job tooling: .ci/tooling runs tox -e tooling",
        "need POLY_MATCH_REQUIRE_BROWSER",
        "source it (`. .ci/browser`)",
    )


def test_a_tox_env_that_does_not_pass_the_set_up_variable(repo):
    edit(repo / "tox.ini", "    POLY_MATCH_*\n", "")
    reported(problems(repo=repo), "env tooling does not pass POLY_MATCH_REQUIRE_BROWSER")


def test_a_mismatched_artifact_name_in_pages(workflow):
    download = step(workflow, "pages", uses="actions/download-artifact")
    download["with"]["name"] = "profile-${{ github.sha }}"
    reported(problems(workflow), "job pages, step", "downloads profile-<github.sha>, which no job")


def test_a_download_from_a_job_not_needed(workflow):
    workflow["jobs"]["test"]["needs"] = []
    reported(problems(workflow), "job test, step", "which no job it needs uploads")


@pytest.mark.parametrize("dropped", ["3.10", "3.12", "3.14"])
def test_a_python_dropped_from_the_test_matrix(workflow, dropped):
    pythons = workflow["jobs"]["test"]["strategy"]["matrix"]["python"]
    pythons.remove(dropped)
    reported(
        problems(workflow),
        f"no Linux x86_64 leg tests CPython {dropped}",
        f"add python {dropped} to the test matrix",
    )


def test_a_python_version_yaml_reads_as_a_number(workflow):
    """`3.10` unquoted is the float 3.1 in YAML, and so for GitHub too."""
    pythons = workflow["jobs"]["test"]["strategy"]["matrix"]["python"]
    pythons[pythons.index("3.10")] = 3.1
    found = problems(workflow)
    reported(found, "no Linux x86_64 leg tests CPython 3.10")
    reported(found, "python=3.1] tests CPython 3.1, for which job wheels builds no wheel")


def test_a_retired_runner_label(workflow):
    workflow["jobs"]["lint"]["runs-on"] = "macos-14"
    reported(problems(workflow), "job lint: macos-14 was retired on 2026-11-02: use macos-15")


def test_an_unknown_runner_label(workflow):
    workflow["jobs"]["lint"]["runs-on"] = "ubuntu-26.04-typo"
    reported(problems(workflow), "job lint: runs-on ubuntu-26.04-typo is not a label of")


def test_a_job_without_timeout_minutes(workflow):
    del workflow["jobs"]["msrv"]["timeout-minutes"]
    reported(problems(workflow), "job msrv has no timeout-minutes")


def test_a_job_missing_from_the_gates_needs(workflow):
    workflow["jobs"]["gate"]["needs"].remove("tooling")
    reported(problems(workflow), "job gate does not need job tooling")


def test_a_gate_that_a_failed_need_would_skip(workflow):
    del workflow["jobs"]["gate"]["if"]
    reported(problems(workflow), "job gate: if: ${{ !cancelled() }}")


def test_a_wheels_leg_with_no_test_leg_on_its_platform(workflow):
    legs = workflow["jobs"]["wheels"]["strategy"]["matrix"]["include"]
    legs.append({"os": "windows-2025", "target": "aarch64"})
    reported(
        problems(workflow),
        "job wheels [os=windows-2025, target=aarch64] builds Windows arm64 wheels",
        "no leg of job test installs and tests",
    )


@pytest.mark.parametrize("setting", ["overwrite", "if-no-files-found"])
def test_an_upload_without_overwrite_or_if_no_files_found(workflow, setting):
    upload = step(workflow, "bench", uses="actions/upload-artifact", name="criterion-report")
    del upload["with"][setting]
    reported(problems(workflow), "job bench, step", f"add {setting}: ")


@pytest.mark.parametrize("value", [True, "${{ github.event_name != 'pull_request' }}"])
def test_cancel_in_progress_on_pushes(workflow, value):
    workflow["concurrency"]["cancel-in-progress"] = value
    reported(problems(workflow), "the workflow: cancel-in-progress:", "cancels runs on pushes too")


@pytest.mark.parametrize("job", ["pages", "release"])
def test_a_publishing_job_without_the_fork_guard(workflow, job):
    condition = workflow["jobs"][job]["if"]
    workflow["jobs"][job]["if"] = condition.replace("&& github.event.repository.fork == false", "")
    reported(problems(workflow), f"job {job} publishes (", "without a fork guard")


def test_an_unpinned_action(workflow):
    step(workflow, "lint", uses="actions/checkout")["uses"] = "actions/checkout@v4"
    reported(problems(workflow), "job lint, step 1", "actions/checkout@v4 is not pinned")


def test_a_checkout_that_keeps_the_credentials(workflow):
    del step(workflow, "sdist", uses="actions/checkout")["with"]["persist-credentials"]
    reported(problems(workflow), "job sdist, step 1", "add persist-credentials: false")


def test_a_job_missing_from_docs_ci_md(workflow):
    workflow["jobs"]["docs-check"] = copy.deepcopy(workflow["jobs"]["msrv"])
    reported(problems(workflow), "docs/ci.md: job docs-check is not in the job table")


def test_a_job_in_docs_ci_md_the_workflow_does_not_have(workflow):
    del workflow["jobs"]["msrv"]
    workflow["jobs"]["gate"]["needs"].remove("msrv")
    reported(problems(workflow), "docs/ci.md: the job table lists msrv")


def test_a_tox_env_of_env_list_that_no_job_runs(workflow):
    del workflow["jobs"]["test-debug"]
    workflow["jobs"]["gate"]["needs"].remove("test-debug")
    reported(problems(workflow), "tox.ini's env_list has debug, which no job runs")


def test_a_tox_env_that_tox_ini_does_not_define(repo):
    edit(repo / ".ci/test-debug", "tox -e debug ", "tox -e debugging ")
    reported(
        problems(repo=repo), "runs tox -e debugging (through .ci/test-debug)", "does not define"
    )


def test_a_tox_env_named_at_run_time_without_its_declaration(repo):
    edit(repo / ".ci/test-installed-wheel", "#   ci-tox: py{python}", "#")
    reported(problems(repo=repo), ".ci/test-installed-wheel runs `tox -e $env`", "# ci-tox:")


# ---------------------------------------------------------------------------------------
# This workflow's own choices, which no general rule covers


def run_steps(job):
    return [s["run"] for s in job.get("steps", []) if "run" in s]


def test_interpreters_are_installed_only_where_maturin_uses_them():
    (setup_python,) = [
        s for s in JOBS["wheels"]["steps"] if s.get("uses", "").startswith("actions/setup-python@")
    ]
    assert setup_python["if"] == "runner.os == 'Windows'"


def test_maturin_action_builds_with_the_pinned_maturin():
    for name in ("wheels", "sdist"):
        steps = JOBS[name]["steps"]
        (action,) = [s for s in steps if s.get("uses", "").startswith("PyO3/maturin-action@")]
        assert action["with"]["maturin-version"] == "${{ steps.pinned.outputs.maturin }}"
        assert any(s.get("id") == "pinned" and s["run"] == ".ci/pinned maturin" for s in steps)


def test_artifacts_are_named_after_the_commit_a_reader_knows():
    """On a pull request github.sha is the merge commit; the head's SHA is the PR's."""
    for job in JOBS.values():
        for s in job.get("steps", []):
            name = s.get("with", {}).get("name", "")
            if "sha" in name:
                assert "github.event.pull_request.head.sha || github.sha" in name, name


def test_release_checks_the_tag_before_building_and_before_uploading():
    assert ".ci/release-version" in run_steps(JOBS["lint"])
    calls = [rules.run_call(command) for command in run_steps(JOBS["release"])]
    assert any(words[0] == ".ci/release-version" and "dist" in words for words in calls)


@pytest.mark.parametrize("job", ["rust", "tooling", "bench"])
def test_crates_io_tools_are_cached_outside_target(job):
    """rust-cache empties target/ of what cargo does not rebuild, tools included."""
    (cache,) = [s for s in JOBS[job]["steps"] if s.get("uses", "").startswith("actions/cache@")]
    assert cache["with"]["path"] == ".tools"
    key = cache["with"]["key"]
    for locked_by in ("Cargo.lock", "ladder_bench/tools.py", ".ci/tools", ".ci/mutants"):
        assert locked_by in key
    # Each job installs other tools: one shared key would keep only the first job's.
    assert "${{ github.job }}" in key


def test_msrv_job_uses_the_declared_version():
    assert run_steps(JOBS["msrv"]) == [".ci/msrv"]
