"""The GitHub workflow checked against what runs locally: GitHub cannot run here, so
each rule that only a run on GitHub would show is read off the workflow's text."""

import configparser
import re
import shlex
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = yaml.safe_load((REPO / ".github/workflows/ci.yml").read_text())
JOBS = WORKFLOW["jobs"]
CI_RUN = (REPO / ".ci/run").read_text()

# The runner labels this workflow uses and the platform each one is (a new label must be
# added here), and maturin-action's targets as the same architecture names.
RUNNER_PLATFORM = {
    "ubuntu-latest": ("linux", "x86_64"),
    "ubuntu-24.04-arm": ("linux", "arm64"),
    "macos-15-intel": ("macos", "x86_64"),
    "macos-14": ("macos", "arm64"),
    "windows-latest": ("windows", "x86_64"),
}
TARGET_ARCH = {"x86_64": "x86_64", "x64": "x86_64", "aarch64": "arm64"}


def run_steps(job):
    return [step["run"] for step in job.get("steps", []) if "run" in step]


def ci_scripts(command):
    """The .ci/ scripts a shell command calls, with their arguments."""
    calls = []
    for line in command.splitlines():
        words = [word.removesuffix(";") for word in shlex.split(line, comments=True)]
        # `if VAR=value .ci/x; then` calls .ci/x too.
        while words and (words[0] in {"if", "!"} or re.match(r"^\w+=", words[0])):
            words.pop(0)
        if words and words[0].startswith(".ci/"):
            calls.append(words)
    return calls


def workflow_calls(script):
    return [
        words
        for job in JOBS.values()
        for command in run_steps(job)
        for words in ci_scripts(command)
        if words[0] == script
    ]


def test_compare_base_gets_the_same_options_on_github_and_in_ci_run():
    """Its options live in .ci/compare-base: both callers pass only the base ref."""
    on_github = workflow_calls(".ci/compare-base")
    local = [words for words in ci_scripts(CI_RUN) if words[0] == ".ci/compare-base"]
    assert on_github
    assert local
    assert [len(words) for words in on_github + local] == [2] * len(on_github + local), (
        "pass options in .ci/compare-base itself, not at one caller"
    )


def runs_in_plain_tox(script):
    """Whether a script only runs tox envs that .ci/run's bare `tox` (env_list) runs."""
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(REPO / "tox.ini")
    env_list = {env.strip() for env in tox["tox"]["env_list"].split(",")}
    envs = re.findall(r"^tox -e ([\w-]+)", (REPO / script).read_text(), re.MULTILINE)
    bare_tox = re.search(r"^tox$", CI_RUN, re.MULTILINE)
    return bool(bare_tox and envs) and set(envs) <= env_list


def test_every_script_a_job_runs_is_run_by_ci_run():
    local = {words[0] for words in ci_scripts(CI_RUN)}
    local |= set(re.findall(r"^\. (\.ci/\S+)", CI_RUN, re.MULTILINE))  # sourced
    for name, job in JOBS.items():
        for command in run_steps(job):
            for words in ci_scripts(command):
                assert words[0] in local or runs_in_plain_tox(words[0]), (
                    f"job {name} runs {words[0]}, .ci/run does not"
                )


def test_docs_ci_table_lists_every_job():
    table = (REPO / "docs/ci.md").read_text()
    documented = set(re.findall(r"^\| `([\w-]+)` \|", table, re.MULTILINE))
    assert documented == set(JOBS)


def test_gate_needs_every_job_and_is_not_red_on_cancel():
    gate = JOBS["gate"]
    assert gate["if"].replace(" ", "") in {"${{!cancelled()}}", "!cancelled()"}
    after_gate = {"gate", "release", "pages"}
    assert set(gate["needs"]) == set(JOBS) - after_gate
    for name in after_gate - {"gate"}:
        assert JOBS[name]["needs"] == ["gate"]


def test_every_shipped_wheel_is_tested_on_its_platform():
    built = {
        (RUNNER_PLATFORM[leg["os"]][0], TARGET_ARCH[leg["target"]])
        for leg in JOBS["wheels"]["strategy"]["matrix"]["include"]
    }
    matrix = JOBS["test"]["strategy"]["matrix"]
    runners = set(matrix["os"]) | {leg["os"] for leg in matrix.get("include", [])}
    tested = {RUNNER_PLATFORM[runner] for runner in runners}
    assert built - tested == set(), "wheels built but never installed and tested"


def test_interpreters_are_installed_only_where_maturin_uses_them():
    (setup_python,) = [
        step
        for step in JOBS["wheels"]["steps"]
        if step.get("uses", "").startswith("actions/setup-python@")
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
        for step in job.get("steps", []):
            name = step.get("with", {}).get("name", "")
            if "sha" in name:
                assert "github.event.pull_request.head.sha || github.sha" in name, name


def test_release_checks_the_tag_before_building_and_before_uploading():
    assert ".ci/release-version" in run_steps(JOBS["lint"])
    release_runs = run_steps(JOBS["release"])
    assert any(words[:1] == [".ci/release-version"] and "dist" in words
               for command in release_runs for words in ci_scripts(command))  # fmt: skip


@pytest.mark.parametrize("job", ["rust", "tooling", "bench"])
def test_crates_io_tools_are_cached_outside_target(job):
    """rust-cache empties target/ of what cargo does not rebuild, tools included."""
    (cache,) = [s for s in JOBS[job]["steps"] if s.get("uses", "").startswith("actions/cache@")]
    assert cache["with"]["path"] == ".tools"
    key = cache["with"]["key"]
    assert "Cargo.lock" in key
    assert "ladder_bench/tools.py" in key
    assert ".ci/tools" in key
    assert ".ci/mutants" in key
    # Each job installs other tools: one shared key would keep only the first job's.
    assert "${{ github.job }}" in key


def test_msrv_job_uses_the_declared_version():
    assert run_steps(JOBS["msrv"]) == [".ci/msrv"]
    assert any(words[0] == ".ci/msrv" for words in ci_scripts(CI_RUN))
