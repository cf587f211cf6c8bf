""".ci/publish-results: README.md's results block and docs/results/ from a run's folder,
checked on small folders written here, with the pages they must give written out in full."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / ".ci/publish-results"
BEGIN = "<!-- results: written by .ci/publish-results from profiles/timings.md -->"
END = "<!-- end of results -->"
DATE = "2026-01-02T03:04:05+00:00"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
TABLE = "| rung | median |\n|---|---:|\n| v1 | 1 ms |\n| v2 | 10 µs |"
TIMINGS_MD = (
    f"Measured on a test machine; commit {COMMIT[:12]}, {DATE}.\n\n"
    "Package timed: demo 0.1, imported from `/home/someone/venv/demo/__init__.py`.\n\n"
    f"{TABLE}\n"
)
README = f"# demo\n\nBefore.\n\n{BEGIN}\nold table\n{END}\n\nAfter.\n"


def section(section_id, blocks, run=True, **more):
    manifest = {"id": section_id, "title": section_id.title(), "order": 1, "blocks": blocks}
    if run:
        manifest["run"] = {"id": f"{DATE}-1", "date": DATE, "commit": COMMIT}
    return {**manifest, **more}


def write_profiles(folder, sections):
    (folder / "sections").mkdir(parents=True)
    (folder / "flamegraphs").mkdir()
    (folder / "timings.md").write_text(TIMINGS_MD)
    (folder / "speedup.svg").write_text("<svg>speedup</svg>")
    (folder / "layers.md").write_text("| rung | numpy |\n|---|---:|\n| v1 | 91% |\n")
    (folder / "scaling.md").write_text("# Scaling sweep\n\nCommit x.\n\n| a | b |\n|---|---|\n")
    for rung in ("v1", "v2"):
        (folder / f"flamegraphs/{rung}.svg").write_text(f"<svg>{rung}</svg>")
    for manifest in sections:
        (folder / "sections" / f"{manifest['id']}.json").write_text(json.dumps(manifest))
    return folder


def timings_section(**more):
    headline = {"size_name": "default-size", "commit": COMMIT[:12]}
    return section(
        "timings",
        [{"svg": "speedup.svg"}, {"markdown": "timings.md"}],
        intro="The chart.",
        headline=headline,
        **more,
    )


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo/README.md").write_text(README)
    return tmp_path / "repo"


def run(profiles, repo, *options):
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(profiles), "--repo", str(repo), *options],
        capture_output=True,
        text=True,
    )


def refused(result, *words):
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_the_readme_block_and_the_pages(tmp_path, repo):
    flamegraphs = [
        {
            "flamegraph": "flamegraphs/v1.svg",
            "id": "v1",
            "heading": "v1: slow",
            "text": "9 samples.",
        },
        {"flamegraph": "flamegraphs/v2.svg", "id": "v2", "heading": "v2: fast", "text": "8."},
    ]
    profiles = write_profiles(
        tmp_path / "profiles",
        [
            timings_section(),
            section("layers", [{"markdown": "layers.md"}], workload="n=3"),
            section("flamegraphs", flamegraphs),
            section("environment", [{"pre": "/home/someone"}]),
        ],
    )
    result = run(profiles, repo)
    assert result.returncode == 0, result.stderr

    table = f"Measured on a test machine; commit {COMMIT[:12]}, {DATE}.\n\n{TABLE}"
    assert (repo / "README.md").read_text() == (
        f"# demo\n\nBefore.\n\n{BEGIN}\n{table}\n{END}\n\nAfter.\n"
    )
    results = repo / "docs/results"
    generated = "<!-- written by .ci/publish-results: do not edit; regenerate instead -->"
    run_line = f"From the run of {DATE}, commit `{COMMIT[:12]}` (`tox -e bench`)."
    assert (results / "timings.md").read_text() == (
        f"# Timings\n\n{generated}\n\n{run_line}\n\nThe chart.\n\n"
        f"![speedup](speedup.svg)\n\n{table}\n"
    )
    assert (results / "speedup.svg").read_text() == "<svg>speedup</svg>"
    assert (results / "layers.md").read_text() == (
        f"# Layers\n\n{generated}\n\n{run_line}\n\nWorkload: n=3.\n\n"
        "| rung | numpy |\n|---|---:|\n| v1 | 91% |\n"
    )
    # Only the rungs the manuals read; the environment names the machine's paths.
    assert (results / "flamegraphs/v1.svg").read_text() == "<svg>v1</svg>"
    assert not (results / "flamegraphs/v2.svg").exists()
    assert "v2: fast" not in (results / "flamegraphs.md").read_text()
    assert (
        "## v1: slow\n\n9 samples.\n\n![v1](flamegraphs/v1.svg)"
        in (results / "flamegraphs.md").read_text()
    )
    assert not (results / "environment.md").exists()

    index = (results / "README.md").read_text()
    when = f"{DATE}, commit `{COMMIT[:12]}`"
    assert "| [timings.md](timings.md) | " in index
    assert f"| {when} | `tox -e bench` |" in index
    assert "| instructions.md | " in index
    assert "| not published yet | `tox -e instructions` |" in index
    assert "tox -e bench -- --instructions --scale && .ci/publish-results profiles" in index


def test_a_second_run_replaces_the_block_and_keeps_pages_it_does_not_have(tmp_path, repo):
    first = write_profiles(
        tmp_path / "first",
        [timings_section(), section("scaling", [{"markdown": "scaling.md"}])],
    )
    assert run(first, repo).returncode == 0
    scaling = (repo / "docs/results/scaling.md").read_text()
    assert scaling.count("Scaling sweep") == 0  # the page's title is the manifest's
    assert "Commit x." in scaling

    second = write_profiles(tmp_path / "second", [timings_section()])
    (second / "timings.md").write_text(TIMINGS_MD.replace("10 µs", "20 µs"))
    assert run(second, repo).returncode == 0
    readme = (repo / "README.md").read_text()
    assert readme.count(BEGIN) == 1
    assert readme.count(END) == 1
    assert "| v2 | 20 µs |" in readme
    assert "10 µs" not in readme
    assert (repo / "docs/results/scaling.md").read_text() == scaling
    assert "[scaling.md](scaling.md)" in (repo / "docs/results/README.md").read_text()


def test_a_readme_without_its_markers_is_refused_and_nothing_is_written(tmp_path, repo):
    (repo / "README.md").write_text("# demo\n\nno block\n")
    profiles = write_profiles(tmp_path / "profiles", [timings_section()])
    line = refused(run(profiles, repo), "README.md", BEGIN, END)
    assert line.startswith(".ci/publish-results: ")
    assert (repo / "README.md").read_text() == "# demo\n\nno block\n"
    assert not (repo / "docs").exists()


def test_a_folder_without_timings_is_refused(tmp_path, repo):
    profiles = write_profiles(tmp_path / "profiles", [section("layers", [])])
    refused(run(profiles, repo), "timings", "tox -e bench")
    assert (repo / "README.md").read_text() == README


def test_a_section_that_names_no_run_is_refused(tmp_path, repo):
    profiles = write_profiles(
        tmp_path / "profiles", [timings_section(), section("layers", [], run=False)]
    )
    refused(run(profiles, repo), "sections/layers.json", "run")


def test_a_quick_run_is_refused_unless_asked_for(tmp_path, repo):
    quick = timings_section()
    quick["headline"]["size_name"] = "quick-size"
    profiles = write_profiles(tmp_path / "profiles", [quick])
    refused(run(profiles, repo), "--quick")
    assert run(profiles, repo, "--quick").returncode == 0


def test_a_run_of_uncommitted_changes_is_refused_unless_asked_for(tmp_path, repo):
    dirty = timings_section()
    dirty["run"]["commit"] += "-dirty"
    profiles = write_profiles(tmp_path / "profiles", [dirty])
    refused(run(profiles, repo), "uncommitted", "--dirty")
    assert run(profiles, repo, "--dirty").returncode == 0


def test_a_chart_the_manifest_names_but_the_folder_lacks_is_refused(tmp_path, repo):
    profiles = write_profiles(tmp_path / "profiles", [timings_section()])
    (profiles / "speedup.svg").unlink()
    refused(run(profiles, repo), "speedup.svg", "missing")
