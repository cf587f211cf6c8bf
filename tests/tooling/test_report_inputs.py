"""Every input a command takes is checked before any work starts, and a bad one fails
with one line naming it; the baselines it accepts; the page's contents and speedup spread."""

import argparse
import json
import re
import subprocess
import sys
import time

import pytest

from conftest import ROOT, SMOKE_RUNGS
from ladder_bench import cli, report, timings

PIPELINE = [sys.executable, "-m", "ladder_bench.pipeline", "--workspace", str(ROOT)]
COMPARE = [sys.executable, "-m", "ladder_bench.compare", "--workspace", str(ROOT)]
# What criterion writes into target/criterion/<bench>/new/estimates.json.
CRITERION_ESTIMATES = {
    "mean": {
        "confidence_interval": {"confidence_level": 0.95, "lower_bound": 1.0, "upper_bound": 2.0},
        "point_estimate": 1.5,
        "standard_error": 0.1,
    },
    "median": {
        "confidence_interval": {"confidence_level": 0.95, "lower_bound": 1.0, "upper_bound": 2.0},
        "point_estimate": 1.4,
        "standard_error": 0.1,
    },
}


def fails_in_one_line(command: list[str], *expected: str) -> str:
    """Run ``command``: it must exit 2 within 5 s with one line on stderr holding every
    ``expected`` text, and nothing on stdout (no work started)."""
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - started
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert elapsed < 5, f"took {elapsed:.1f}s to refuse its input"
    assert completed.stdout == ""
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def test_a_criterion_file_as_baseline_is_refused_at_once(tmp_path):
    wrong = tmp_path / "estimates.json"
    wrong.write_text(json.dumps(CRITERION_ESTIMATES))
    fails_in_one_line(
        [*PIPELINE, "--compare", str(wrong)],
        "--compare",
        str(wrong),
        "neither a ladder-bench timings.json nor pytest-benchmark JSON",
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "No such file"),
        ("{not json", "is not JSON"),
        ("[1, 2]", "neither"),
        ('{"rungs": []}', "not a non-empty list"),
        ('{"rungs": [{"rung": "v1", "median_ms": "fast"}]}', "no positive median"),
        ('{"benchmarks": [{"name": "test_x", "stats": {"median": -1}}]}', "no positive median"),
        ('{"rungs": [{"rung": "not_a_rung", "median_ms": 1.0}]}', "none of the rungs"),
    ],
)
def test_a_bad_baseline_is_refused_at_once(tmp_path, content, expected):
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content)
    fails_in_one_line([*PIPELINE, "--compare", str(path)], "--compare", expected)


@pytest.mark.parametrize("threshold", ["-5", "0", "nan", "inf", "ten"])
def test_a_threshold_must_be_a_finite_positive_percentage(threshold):
    fails_in_one_line([*PIPELINE, "--threshold", threshold], "--threshold", threshold)


def test_an_unknown_commit_fails_with_gits_reason():
    line = fails_in_one_line([*COMPARE, "no-such-ref-anywhere"], "no-such-ref-anywhere")
    assert "fatal:" in line  # git's own words, not swallowed


def test_commits_and_ranges_git_knows_are_taken(tmp_path):
    """In a repository of its own with three commits: CI checks this one out at depth 1,
    where HEAD~2 does not exist."""

    def git(*args):
        command = ["git", "-C", str(tmp_path), *args]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()

    git("init", "--quiet")
    for n in range(3):
        author = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
        git(*author, "commit", "--quiet", "--allow-empty", "-m", f"commit {n}")
    assert cli.commit(tmp_path, "HEAD") == git("rev-parse", "HEAD")
    assert cli.commit_range(tmp_path, "HEAD^!") == "HEAD^!"
    assert cli.commit_range(tmp_path, "HEAD~2..HEAD") == "HEAD~2..HEAD"
    with pytest.raises(argparse.ArgumentTypeError, match="HEAD~3"):
        cli.commit_range(tmp_path, "HEAD~3..HEAD")


def test_history_refuses_a_range_git_does_not_know_before_asv_runs():
    command = [sys.executable, "-m", "ladder_bench.history", "--workspace", str(ROOT)]
    line = fails_in_one_line([*command, "no-such-ref..HEAD"], "no-such-ref..HEAD")
    assert "fatal:" in line


@pytest.mark.parametrize("option", [["--rounds", "0"], ["--seconds", "-1"]])
def test_compare_refuses_meaningless_counts(option):
    fails_in_one_line([*COMPARE, "HEAD", *option], option[0])


def pytest_benchmark_json(medians_s: dict[str, float]) -> dict:
    """The shape pytest-benchmark's --benchmark-json writes, for tests named test_x[rung]."""
    benchmarks = []
    for rung, median in medians_s.items():
        stats = {key: median for key in ("min", "max", "mean", "median", "q1", "q3")}
        stats |= {"stddev": 0.0, "iqr": 0.0, "rounds": 5, "iterations": 1}
        benchmarks.append(
            {
                "name": f"test_x[{rung}]",
                "fullname": f"t.py::test_x[{rung}]",
                "param": rung,
                "extra_info": {},
                "stats": stats,
            }
        )
    return {
        "machine_info": {
            "python_implementation": "CPython",
            "python_version": "3.11.7",
            "cpu": {"brand_raw": "Some CPU", "count": 2},
        },
        "commit_info": {"id": "0123abc", "dirty": False},
        "datetime": "2026-11-25T00:00:00",
        "benchmarks": benchmarks,
    }


def test_pytest_benchmarks_own_json_is_a_baseline(tmp_path):
    path = tmp_path / "benchmark.json"
    path.write_text(json.dumps(pytest_benchmark_json({"v1": 0.1, "v3_riir_polygon": 0.002})))
    baseline = timings.load_baseline(path)
    assert {row["rung"]: row["median_ms"] for row in baseline["rungs"]} == {
        "v1": pytest.approx(100.0),
        "v3_riir_polygon": pytest.approx(2.0),
    }
    assert baseline["environment"]["cpu"] == "Some CPU"
    assert baseline["environment"]["git_commit"] == "0123abc"


def test_ladder_timings_compares_against_pytest_benchmarks_json(tmp_path):
    old, new = tmp_path / "benchmark.json", tmp_path / "timings.json"
    old.write_text(json.dumps(pytest_benchmark_json({"v1": 0.1, "v3_riir_polygon": 0.002})))
    new.write_text(json.dumps(pytest_benchmark_json({"v1": 0.1, "v3_riir_polygon": 0.004})))
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "ladder_bench.timings",
            "compare",
            str(old),
            str(new),
            "--fail-on-regression",
        ],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert re.search(
        r"\| v3_riir_polygon \| 2\.00 ms \| 4\.00 ms \| \+100\.0% \| REGRESSION", (completed.stdout)
    )
    assert "| v1 | 100 ms | 100 ms | +0.0% |" in completed.stdout


def test_the_speedup_chart_draws_each_ratios_spread():
    def row(rung, median, q1, q3):
        return {"rung": rung, "median_ms": median, "q1_ms": q1, "q3_ms": q3}

    result = {
        "baseline": "v1",
        "rungs": [row("v1", 100.0, 90.0, 110.0), row("v5", 10.0, 9.0, 12.0)],
    }
    for entry in result["rungs"]:
        entry["speedup"] = 100.0 / entry["median_ms"]
    svg = timings.speedup_chart(result)
    # v5: 90 / 12 = 7.5x to 110 / 9 = 12.2x around its 10x; v1: 90 / 110 to 110 / 90.
    assert "<title>spread 7.50x to 12.2x</title>" in svg
    assert "<title>spread 0.818x to 1.22x</title>" in svg
    assert svg.count('class="spread"') == 2


def test_the_index_has_a_table_of_contents(smoke_profiles):
    """The sections on one line at the top; each flamegraph from its section's own list."""
    page = (smoke_profiles / "index.html").read_text()
    contents = re.search(r'<nav id="contents"[^>]*>(.*?)</nav>', page, re.DOTALL)
    assert contents is not None
    linked = re.findall(r'href="#([^"]+)"', contents.group(1))
    assert linked == re.findall(r'<h2 id="([^"]+)"', page)
    assert "flamegraphs" in linked
    within = re.search(r'<nav class="within" aria-label="Flamegraphs">(.*?)</nav>', page)
    assert re.findall(r'href="#([^"]+)"', within.group(1)) == list(SMOKE_RUNGS)
    assert re.findall(r'<h3 id="([^"]+)"', page) == list(SMOKE_RUNGS)


def test_sections_of_an_earlier_run_say_so_and_the_header_names_the_newest(tmp_path):
    out = tmp_path / "profiles"
    out.mkdir()
    (out / "a.md").write_text("old table\n")
    (out / "b.md").write_text("new table\n")
    earlier = {
        "id": "earlier-run-id",
        "date": "2026-01-02T03:04:05+00:00",
        "commit": "0123456789abcdef0123-dirty",
    }
    report.publish(
        out,
        {"id": "old", "title": "Old", "order": 1, "run": earlier, "blocks": [{"markdown": "a.md"}]},
    )
    newest = report.begin_run(ROOT)
    page = report.publish(
        out, {"id": "new", "title": "New", "order": 2, "blocks": [{"markdown": "b.md"}]}
    ).read_text()
    saved = json.loads((out / "sections" / "new.json").read_text())
    assert saved["run"] == newest  # publish stamps the run
    header = re.search(r"<h1>.*?</header>", page, re.DOTALL).group()
    assert f"Newest run: {newest['date'][:10]}" in header
    assert newest["commit"][:12] in header
    old = page[page.index('<h2 id="old">') : page.index('<h2 id="new">')]
    assert (
        '<p class="earlier-run">⚠ From an earlier run, 2026-01-02 03:04 UTC, commit '
        "0123456789ab with uncommitted changes.</p>"
    ) in old
    assert "earlier run" not in page[page.index('<h2 id="new">') :]
    contents = re.search(r'<nav id="contents"[^>]*>(.*?)</nav>', page, re.DOTALL).group(1)
    assert '<a href="#old">Old</a> (an earlier run)' in contents
    assert '<a href="#new">New</a><' in contents


def test_a_comparison_of_two_workload_sizes_says_so():
    def result(size, median_ms):
        row = {"rung": "a", "median_ms": median_ms}
        return {"environment": {"cpu": "c"}, "size": size, "rungs": [row]}

    comparison = timings.compare(result({"n": 100}, 1.0), result({"n": 1000}, 10.0))
    assert comparison.environment_differences == ["workload size: n=100 -> n=1000"]
    assert "workload size: n=100 -> n=1000" in comparison.to_markdown()
    assert (
        timings.compare(result({"n": 5}, 1.0), result({"n": 5}, 1.0)).environment_differences == []
    )


HEADLINE = {
    "workload": "n_polygons=1000, n_points=100",
    "size_name": "default-size",
    "machine": "AMD EPYC (2 cores)",
    "build": "poly-match 0.1.0, wheel built by maturin 1.16.0 (release)",
    "commit": "e2729d81eac6 with uncommitted changes",
    "baseline": {"rung": "v1", "median": "83.5 ms", "spread": "1.7%"},
    "fastest": {
        "rung": "Index.match",
        "median": "3.93 µs",
        "speedup": "21,200x",
        "speedup_range": "20,900x\N{EN DASH}21,600x",
    },
}


def drawn(tmp_path, headline=None, flamegraph_links=()) -> str:
    """The page of a folder holding a timings section (with ``headline``), a chart, and
    a flamegraphs section of one graph 1200 x 300 pixels."""
    out = tmp_path / "profiles"
    (out / "flamegraphs").mkdir(parents=True)
    (out / "timings.md").write_text("| rung | median |\n|---|---:|\n| v1 | 83.5 ms |\n")
    (out / "speedup.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="920" height="342" role="img" '
        'aria-label="speedup over v1"><rect width="10" height="10"/></svg>'
    )
    (out / "flamegraphs" / "v1.svg").write_text(
        '<?xml version="1.0"?><svg version="1.1" width="1200" height="300" '
        'xmlns="http://www.w3.org/2000/svg"></svg>'
    )
    run = {"id": "run", "date": "2026-12-05T07:46:06+00:00", "commit": "e2729d81eac6" + "0" * 28}
    timings = {
        "id": "timings",
        "title": "Timings",
        "order": 10,
        "run": run,
        "blocks": [{"svg": "speedup.svg"}, {"markdown": "timings.md"}],
    }
    if headline is not None:
        timings["headline"] = headline
    flamegraphs = {
        "id": "flamegraphs",
        "title": "Flamegraphs",
        "order": 60,
        "run": run,
        "workload": "n_polygons=1000, n_points=100 (default-size)",
        "blocks": [
            {
                "flamegraph": "flamegraphs/v1.svg",
                "id": "v1",
                "heading": "v1: the baseline",
                "text": "399 samples.",
                "links": list(flamegraph_links),
            }
        ],
    }
    for section in (timings, flamegraphs):
        report.publish(out, section)
    return (out / "index.html").read_text()


def text_of(fragment: str) -> str:
    """The text of an HTML fragment, as a reader would read it out."""
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()
    return re.sub(r" ([.,])", r"\1", text)


def test_the_headline_says_what_was_measured_and_the_speedup(tmp_path):
    page = drawn(tmp_path, HEADLINE)
    header = text_of(re.search(r'<header class="headline">(.*?)</header>', page, re.S).group(1))
    for expected in (
        "Workload n_polygons=1000, n_points=100 (default-size)",
        "Machine AMD EPYC (2 cores)",
        "Build poly-match 0.1.0, wheel built by maturin 1.16.0 (release)",
        "Commit e2729d81eac6 with uncommitted changes, 2026-12-05 07:46 UTC",
        "Baseline: v1 83.5 ms a call, spread 1.7%",
        "Fastest: Index.match 3.93 µs a call",
        "Speedup over v1 21,200x range 20,900x\N{EN DASH}21,600x",
        "Timings Flamegraphs",  # the contents, on one line
    ):
        assert expected in header, expected
    assert 'class="noise-banner"' not in page  # no verdict: no banner
    assert "Newest run" not in header  # the headline's run is the newest: said once
    # The workload where each section starts (the timings' from the headline).
    assert (
        page.count(
            '<p class="workload">Workload: n_polygons=1000, n_points=100 (default-size).</p>'
        )
        == 2
    )


@pytest.mark.parametrize(
    ("noise", "banner"),
    [
        (
            {
                "trustworthy": False,
                "verdict": "noisy",
                "reasons": ["load <3.2> on 2 cores"],
                "advice": "Count instructions: `ladder-bench instructions`.",
            },
            True,
        ),
        ({"verdict": "noisy", "reasons": [], "advice": ""}, True),  # no trustworthy key
        ({"trustworthy": True, "verdict": "quiet", "reasons": [], "advice": ""}, False),
        (None, False),
    ],
)
def test_a_noisy_verdict_puts_a_banner_under_the_figures(tmp_path, noise, banner):
    page = drawn(tmp_path, {**HEADLINE, "noise": noise})
    found = re.search(r'<div class="noise-banner".*?</div>', page, re.S)
    assert (found is not None) == banner
    if noise and noise["reasons"]:
        assert "<li>load &lt;3.2&gt; on 2 cores</li>" in found.group()
        assert "<code>ladder-bench instructions</code>" in found.group()
    if banner:
        assert page.index('class="figures"') < found.start() < page.index('<nav id="contents"')
    # The verdict in a word among the headline's facts: quiet, noisy, or none when not judged.
    fact = re.search(r"<dt>Noise</dt><dd>(.*?)</dd>", page)
    if noise is None:
        assert fact is None
    else:
        assert text_of(fact.group(1)).startswith("noisy" if banner else "quiet"), fact.group(1)


def test_without_a_headline_the_header_names_the_newest_run(tmp_path):
    page = drawn(tmp_path)
    header = text_of(re.search(r'<header class="headline">(.*?)</header>', page, re.S).group(1))
    assert header.startswith(
        "Timings and profiles Newest run: 2026-12-05 07:46 UTC, commit "
        "e2729d81eac6. Timings Flamegraphs"
    )


def test_the_page_is_drawn_for_phones_print_and_dark_mode(tmp_path):
    page = drawn(tmp_path, HEADLINE)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "@media (prefers-color-scheme: dark)" in page
    assert "@media print" in page
    assert '<div class="table-box"><table>' in page
    # The chart scales: a viewBox of its own size, and a title for its accessible name.
    assert re.search(
        r'<figure class="chart"><svg viewBox="0 0 920 342" xmlns=[^>]*><title>speedup over '
        r"v1</title><rect",
        page,
    )


def test_a_flamegraph_is_embedded_at_its_own_size_with_a_name(tmp_path):
    links = [
        {
            "text": "speedscope profile",
            "href": "flamegraphs/v1.speedscope.json",
            "class": "speedscope",
            "download": True,
        },
        {"text": "folded stacks", "href": "flamegraphs/v1.folded", "class": "folded"},
    ]
    page = drawn(tmp_path, HEADLINE, links)
    graph = re.search(r'<figure class="flamegraph">.*?</figure>', page, re.S).group()
    assert '<h3 id="v1">v1: the baseline</h3>' in graph  # kept with its graph in print
    assert (
        '<object class="flamegraph" data="flamegraphs/v1.svg" type="image/svg+xml" '
        'width="1200" height="300" aria-label="Flamegraph of v1: the baseline">'
    ) in graph
    assert (
        '<a class="speedscope" href="flamegraphs/v1.speedscope.json" download>'
        "speedscope profile</a>"
    ) in graph
    assert '<a class="folded" href="flamegraphs/v1.folded">folded stacks</a>' in graph


@pytest.mark.parametrize(
    ("root", "size"),
    [
        ('<svg width="1200" height="514" onload="init(evt)">', (1200, 514)),
        ('<svg height="20.4px" width="1000">', (1000, 20)),
        ('<svg width="100%">', (report.FLAMEGRAPH_WIDTH, report.FLAMEGRAPH_HEIGHT)),
        (None, (report.FLAMEGRAPH_WIDTH, report.FLAMEGRAPH_HEIGHT)),  # no file
    ],
)
def test_svg_size_reads_the_root_elements_pixels(tmp_path, root, size):
    path = tmp_path / "graph.svg"
    if root is not None:
        path.write_text(f'<?xml version="1.0"?><!-- width="1" -->{root}<g width="3"/></svg>')
    assert report.svg_size(path) == size


def test_a_chart_with_a_viewbox_and_a_title_is_left_as_it_is():
    chart = '<svg viewBox="0 0 10 10" width="10" height="10" aria-label="x"><title>x</title></svg>'
    assert report.scalable(chart) == chart


# A markdown file as the page shows it: CommonMark with tables, plus the page's touches.
MARKDOWN = """# Changes

Measured on `v1` and **v2**; see [the table](#timings). Not <b>obeyed</b>.

| rung | median | change |
|---|---:|---|
| a \\| b | 1.00 ms | +50.0% REGRESSION |
"""


def test_markdown_becomes_the_pages_html():
    assert report.markdown_to_html(MARKDOWN) == (
        "<h3>Changes</h3>\n"
        "<p>Measured on <code>v1</code> and <strong>v2</strong>; see "
        '<a href="#timings">the table</a>. Not &lt;b&gt;obeyed&lt;/b&gt;.</p>\n'
        '<div class="table-box"><table>\n<thead>\n<tr>\n<th>rung</th>\n'
        '<th style="text-align:right">median</th>\n<th>change</th>\n</tr>\n</thead>\n'
        "<tbody>\n<tr>\n<td>a | b</td>\n"
        '<td class="number">1.00 ms</td>\n'
        '<td>+50.0% <span class="regression">REGRESSION</span></td>\n'
        "</tr>\n</tbody>\n</table>\n</div>"
    )
