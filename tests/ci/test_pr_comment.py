"""The pull request summary and its sticky comment: the pr-comment workflow holds no more
than it needs and never checks out the pull request's code; .ci/pr-comment refuses an
artifact that is not what .ci/pr-summary writes, and updates its own comment instead of
adding one; .ci/pr-summary writes the artifact only for a pull request's number. The
scripts run against a stand-in ``gh`` that answers from canned pull request data and
logs every call."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_workflow import load_rules

REPO = Path(__file__).resolve().parents[2]
CI = yaml.safe_load((REPO / ".github/workflows/ci.yml").read_text())
COMMENT = yaml.safe_load((REPO / ".github/workflows/pr-comment.yml").read_text())
MARKER = "<!-- ladder-bench-summary -->"
HEAD = "c0ffee" + "0" * 34
BOT = "github-actions[bot]"
rules = load_rules()


def comment_steps():
    (job,) = COMMENT["jobs"].values()
    return job["steps"]


# ---------------------------------------------------------------------------------------
# The workflow


def test_it_runs_after_the_ci_workflow_by_its_name():
    on = COMMENT.get("on", COMMENT.get(True))  # YAML 1.1 reads `on` as True
    assert set(on) == {"workflow_run"}
    assert on["workflow_run"]["workflows"] == [CI["name"]]
    assert on["workflow_run"]["types"] == ["completed"]


def test_its_token_can_read_the_artifact_and_comment_nothing_more():
    assert COMMENT["permissions"] == {}
    for job in COMMENT["jobs"].values():
        assert job["permissions"] == {"actions": "read", "pull-requests": "write"}


def test_no_step_checks_out_the_pull_requests_code():
    for step in comment_steps():
        if step.get("uses", "").startswith("actions/checkout@"):
            assert set(step.get("with", {})) == {"persist-credentials"}
    # Nothing else fetches code: the one run: step calls the default branch's script.
    runs = [step["run"] for step in comment_steps() if "run" in step]
    assert [rules.run_call(run)[0] for run in runs] == [".ci/pr-comment"]


def test_it_downloads_what_the_bench_job_uploads_from_the_triggering_run():
    (upload,) = [
        step
        for step in CI["jobs"]["bench"]["steps"]
        if step.get("with", {}).get("name") == "pr-summary"
    ]
    (download,) = [s for s in comment_steps() if s.get("uses", "").startswith("actions/download")]
    assert download["with"]["name"] == upload["with"]["name"]
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    # .ci/pr-summary writes the folder the upload takes.
    assert "target/pr-summary" in (REPO / ".ci/pr-summary").read_text()
    assert upload["with"]["path"].rstrip("/") == "target/pr-summary"


def broken(repo, change):
    path = repo / ".github/workflows/pr-comment.yml"
    workflow = yaml.safe_load(path.read_text())
    change(workflow)
    path.write_text(yaml.safe_dump(workflow))
    return rules.problems(repo, None)


def test_the_rules_find_nothing_in_it():
    assert [p for p in rules.problems(REPO, None) if p.startswith("pr-comment.yml")] == []


@pytest.mark.parametrize(
    "ref",
    ["${{ github.event.workflow_run.head_sha }}", "${{ github.event.workflow_run.head_branch }}"],
)
def test_the_rules_refuse_a_checkout_of_the_pull_requests_head(repo, ref):
    def check_out_head(workflow):
        (job,) = workflow["jobs"].values()
        job["steps"][0]["with"]["ref"] = ref

    found = broken(repo, check_out_head)
    assert any(
        p.startswith("pr-comment.yml: job comment, step 1") and "ref names the pull request" in p
        for p in found
    ), found


def test_the_rules_check_its_pins_and_timeout_too(repo):
    def unpin_and_untime(workflow):
        (job,) = workflow["jobs"].values()
        del job["timeout-minutes"]
        job["steps"][0]["uses"] = "actions/checkout@v7"

    found = broken(repo, unpin_and_untime)
    assert "pr-comment.yml: job comment has no timeout-minutes" in " ".join(found)
    assert any("pr-comment.yml: job comment, step 1" in p and "not pinned" in p for p in found)


# ---------------------------------------------------------------------------------------
# .ci/pr-comment

STAND_IN_GH = """#!{python}
import json, os, subprocess, sys
args = sys.argv[1:]
body = sys.stdin.read() if "-" in args else None
with open(os.environ["GH_LOG"], "a") as log:
    log.write(json.dumps({{"args": args, "input": body}}) + "\\n")
valued = {{"--method", "--jq", "--input"}}
endpoint = next(a for i, a in enumerate(args[1:], 1)
                if not a.startswith("-") and args[i - 1] not in valued)
if endpoint.endswith("/comments") and "--method" not in args:
    reply = json.loads(os.environ["GH_COMMENTS"])
elif "/pulls/" in endpoint:
    reply = {{"head": {{"sha": os.environ["GH_HEAD"]}}}}
else:
    reply = {{"id": 1}}
if "--jq" in args:
    jq = args[args.index("--jq") + 1]
    sys.stdout.write(subprocess.run(["jq", "-r", jq], input=json.dumps(reply), text=True,
                                    capture_output=True, check=True).stdout)
else:
    print(json.dumps(reply))
"""


@pytest.fixture
def artifact(tmp_path):
    folder = tmp_path / "pr-summary"
    folder.mkdir()
    (folder / "pr-number").write_text("7\n")
    (folder / "summary.md").write_text(f"{MARKER}\n### Benchmark summary\n\nAll fine.\n")
    return folder


def pr_comment(tmp_path, artifact, *, on_github=True, comments=(), pr_head=HEAD, head=HEAD):
    """The script against the stand-in gh; its result and gh's calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "gh").write_text(STAND_IN_GH.format(python=sys.executable))
    (bin_dir / "gh").chmod(0o755)
    log = tmp_path / "gh.log"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GH_LOG": str(log),
        "GH_COMMENTS": json.dumps(list(comments)),
        "GH_HEAD": pr_head,
        "GITHUB_REPOSITORY": "owner/repo",
    }
    env.pop("GITHUB_ACTIONS", None)
    if on_github:
        env["GITHUB_ACTIONS"] = "true"
    command = [str(REPO / ".ci/pr-comment"), str(artifact), head]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


def writes(calls):
    return [call for call in calls if "--method" in call["args"]]


@pytest.mark.parametrize(
    "number",
    ["seven", "7; echo hacked", "$(id)", "7 8", "7\n8", "-7", "0", "07", "1e3", "", "7" * 11],
)
@pytest.mark.parametrize("on_github", [True, False])
def test_a_number_that_is_not_a_pull_requests_is_refused(tmp_path, artifact, number, on_github):
    (artifact / "pr-number").write_text(number)
    result, calls = pr_comment(tmp_path, artifact, on_github=on_github)
    assert result.returncode == 1
    assert "is not a pull request number" in result.stderr or "longer than" in result.stderr
    assert calls == []
    assert "hacked" not in result.stdout + result.stderr


def test_the_first_run_creates_the_comment(tmp_path, artifact):
    result, calls = pr_comment(tmp_path, artifact)
    assert result.returncode == 0, result.stderr
    (post,) = writes(calls)
    assert post["args"][:4] == ["api", "--method", "POST", "repos/owner/repo/issues/7/comments"]
    assert json.loads(post["input"])["body"] == (artifact / "summary.md").read_text()


def test_a_later_run_updates_its_own_comment(tmp_path, artifact):
    comments = [
        {"id": 11, "user": {"login": "someone"}, "body": f"{MARKER}\nquoted by a person"},
        {"id": 12, "user": {"login": BOT}, "body": "another bot comment"},
        {"id": 13, "user": {"login": BOT}, "body": f"{MARKER}\nthe last run's summary"},
    ]
    result, calls = pr_comment(tmp_path, artifact, comments=comments)
    assert result.returncode == 0, result.stderr
    (patch,) = writes(calls)
    assert patch["args"][:4] == ["api", "--method", "PATCH", "repos/owner/repo/issues/comments/13"]
    assert "All fine." in json.loads(patch["input"])["body"]


def test_a_comment_with_the_marker_by_someone_else_is_not_touched(tmp_path, artifact):
    comments = [{"id": 11, "user": {"login": "someone"}, "body": f"{MARKER}\nmine"}]
    result, calls = pr_comment(tmp_path, artifact, comments=comments)
    assert result.returncode == 0, result.stderr
    (write,) = writes(calls)
    assert "POST" in write["args"]


def test_an_artifact_naming_a_pull_request_of_another_head_posts_nothing(tmp_path, artifact):
    result, calls = pr_comment(tmp_path, artifact, pr_head="f" * 40)
    assert result.returncode == 0
    assert writes(calls) == []
    assert "nothing posted" in result.stderr


def test_a_summary_without_the_marker_gets_it(tmp_path, artifact):
    (artifact / "summary.md").write_text("### Benchmark summary\n")
    result, calls = pr_comment(tmp_path, artifact)
    assert result.returncode == 0, result.stderr
    (post,) = writes(calls)
    assert json.loads(post["input"])["body"] == f"{MARKER}\n### Benchmark summary\n"


def test_a_summary_too_long_for_a_comment_is_refused(tmp_path, artifact):
    (artifact / "summary.md").write_text(MARKER + "\n" + "x" * 70_000)
    result, calls = pr_comment(tmp_path, artifact)
    assert result.returncode == 1
    assert calls == []


def test_a_missing_file_is_refused(tmp_path, artifact):
    (artifact / "summary.md").unlink()
    result, calls = pr_comment(tmp_path, artifact)
    assert result.returncode == 1
    assert "summary.md is not a file" in result.stderr
    assert calls == []


def test_off_github_it_prints_what_it_would_post(tmp_path, artifact):
    result, calls = pr_comment(tmp_path, artifact, on_github=False)
    assert result.returncode == 0, result.stderr
    assert calls == []
    assert "would post to pull request #7" in result.stdout
    assert "All fine." in result.stdout


# ---------------------------------------------------------------------------------------
# .ci/pr-summary


@pytest.fixture
def checkout(tmp_path):
    """The script and ladder-bench's sources, and a profiles/ folder with timings."""
    work = tmp_path / "work"
    (work / ".ci").mkdir(parents=True)
    shutil.copy2(REPO / ".ci/pr-summary", work / ".ci")
    shutil.copytree(
        REPO / "ladder-bench/ladder_bench",
        work / "ladder-bench/ladder_bench",
        ignore=shutil.ignore_patterns("__pycache__", "asv_vendor"),
    )
    (work / "profiles").mkdir()
    timings = {
        "baseline": "a",
        "size": {"n": 1},
        "rungs": [
            {"rung": "a", "median_ms": 2.0, "speedup": 1.0},
            {"rung": "b", "median_ms": 1.0, "speedup": 2.0},
        ],
    }
    (work / "profiles/timings.json").write_text(json.dumps(timings))
    return work


def pr_summary(checkout, *args):
    page = checkout.parent / "step-summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(page)}
    command = [str(checkout / ".ci/pr-summary"), *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    return result, page


def test_pr_summary_writes_the_artifact_for_a_pull_request(checkout):
    result, page = pr_summary(checkout, "7")
    assert result.returncode == 0, result.stderr
    summary = (checkout / "profiles/summary.md").read_text()
    assert summary.startswith(MARKER)
    assert "**b** is **2.00x** faster than a" in summary
    assert page.read_text() == summary
    assert (checkout / "target/pr-summary/pr-number").read_text() == "7\n"
    assert (checkout / "target/pr-summary/summary.md").read_text() == summary


def test_pr_summary_without_a_number_writes_only_the_page(checkout):
    result, page = pr_summary(checkout, "")
    assert result.returncode == 0, result.stderr
    assert page.read_text().startswith(MARKER)
    assert not (checkout / "target").exists()


def test_pr_summary_refuses_a_number_that_is_not_one(checkout):
    result, page = pr_summary(checkout, "7a")
    assert result.returncode == 2
    assert "PR_NUMBER" in result.stderr
    assert not page.exists()
