"""The pipeline on this repository's ladder, in its smallest mode (conftest.smoke_profiles),
and the pieces it is made of."""

import html
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from importlib import resources
from importlib.metadata import version

import jsonschema
import pytest

import poly_match
from conftest import SMOKE_RUNGS
from ladder_bench import flamegraph, profiling, report


def test_timings_json_follows_the_schema(smoke_profiles):
    timings = json.loads((smoke_profiles / "timings.json").read_text())
    schema = json.loads(resources.files("ladder_bench").joinpath("timings.schema.json").read_text())
    jsonschema.validate(timings, schema)
    assert [row["rung"] for row in timings["rungs"]] == list(SMOKE_RUNGS)
    assert timings["baseline"] == "v1"
    assert timings["environment"]["OPENBLAS_NUM_THREADS"] in ("1", "unset")
    # The smoke run is --quick: the quick size, as this repository's pyproject.toml says.
    assert timings["size"] == {"n_polygons": 200, "n_points": 20}
    build = timings["environment"]["build"]
    assert build["distribution"] == "poly-match"
    assert build["version"] == version("poly-match")
    assert build["imported_from"] == poly_match.__file__


def test_markdown_table_has_a_row_per_rung(smoke_profiles):
    table = (smoke_profiles / "timings.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| rung | what changed | median per call")
    body = rows[1:]
    assert [row.split("|")[1].strip() for row in body] == list(SMOKE_RUNGS)
    for row, name in zip(body, SMOKE_RUNGS, strict=True):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[1] == poly_match.description(poly_match.VERSIONS[name])
        assert re.fullmatch(r"[\d.,]+ (ms|µs|s)", cells[2])
        assert float(cells[2].split()[0].replace(",", "")) > 0
        assert re.fullmatch(r"[\d.,]+ (ms|µs|ns|s) \([\d.]+%\)", cells[3])
        assert cells[4] == "n/a"  # v1 was not timed in the smoke run


class Links(HTMLParser):
    """Every file the page refers to (anchors within the page and data: URLs are not)."""

    def __init__(self):
        super().__init__()
        self.targets = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in ("href", "data", "src"):
            if attributes.get(name) and not attributes[name].startswith(("#", "data:")):
                self.targets.append(attributes[name])


def test_every_file_the_index_links_to_exists(smoke_profiles):
    links = Links()
    links.feed((smoke_profiles / "index.html").read_text())
    local = [t for t in links.targets if not re.match(r"[a-z]+://", t)]
    assert len(set(local)) == 3 * len(SMOKE_RUNGS)  # flamegraph, speedscope, folded per rung
    for target in local:
        assert (smoke_profiles / target).is_file(), target
    assert not [t for t in links.targets if t.startswith("http")], "the page must work offline"


def test_pyclass_flamegraph_names_the_rust_search(smoke_profiles):
    folded = (smoke_profiles / "flamegraphs" / "v3_riir_polygon.folded").read_text()
    rust_frames = re.findall(r"poly_match_rs::[\w:]*find_close_polygons\w*", folded)
    assert rust_frames, "py-spy --native did not name the Rust find_close_polygons"
    svg = (smoke_profiles / "flamegraphs" / "v3_riir_polygon.svg").read_text()
    assert "poly_match_rs::geometry::find_close_polygons" in svg


def test_no_mangled_rust_symbol_is_left_in_any_profile(smoke_profiles):
    mangled = re.compile(r"\$LT\$|\$u20\$|::h[0-9a-f]{16}|_RNv")
    files = [
        path
        for pattern in ("*.svg", "*.folded", "*.speedscope.json")
        for path in smoke_profiles.rglob(pattern)
    ]
    assert len(files) >= 3 * len(SMOKE_RUNGS)
    for path in files:
        found = mangled.search(path.read_text())
        assert found is None, f"{path.name}: {found.group()!r}"


def test_flamegraph_titles_are_short(smoke_profiles):
    for rung in SMOKE_RUNGS:
        svg = (smoke_profiles / "flamegraphs" / f"{rung}.svg").read_text()
        title = html.unescape(re.search(r'<text id="title"[^>]*>([^<]*)</text>', svg).group(1))
        assert title.startswith(f"{rung}: ")
        assert len(title) <= flamegraph.TITLE_CHARACTERS, title


def test_the_share_counts_the_samples_under_the_harness_call_loop():
    folded = (
        "main (h.py:1);run_calls (ladder_bench/harness.py:81);main (poly_match/v1.py:9) 7\n"
        "main (h.py:1);prepare (ladder_bench/harness.py:60) 2\n"
        "main (h.py:1);run_calls_later (x.py:2) 1\n"
    )
    assert profiling.measured_share(folded) == 0.7


def test_speedscope_profile_matches_the_folded_stacks(smoke_profiles):
    for rung in SMOKE_RUNGS:
        profile = json.loads(
            (smoke_profiles / "flamegraphs" / f"{rung}.speedscope.json").read_text()
        )
        folded = (smoke_profiles / "flamegraphs" / f"{rung}.folded").read_text()
        # The profile holds what the graph shows: the samples inside the rung's call.
        in_call = sum(
            int(line.rpartition(" ")[2])
            for line in folded.splitlines()
            if "prepare.<locals>.<lambda>" in line
        )
        assert profile["profiles"][0]["unit"] == "seconds"
        # The quick profiles sample at 200 Hz: each sample weighs 1/200 s.
        assert round(sum(profile["profiles"][0]["weights"]) * 200) == in_call > 0


def compare(tmp_path, old, new, *options):
    old_path, new_path = tmp_path / "old.json", tmp_path / "new.json"
    old_path.write_text(json.dumps(old))
    new_path.write_text(json.dumps(new))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ladder_bench.timings",
            "compare",
            str(old_path),
            str(new_path),
            *options,
        ],
        capture_output=True,
        text=True,
    )


@pytest.fixture
def timings(smoke_profiles):
    return json.loads((smoke_profiles / "timings.json").read_text())


def test_regression_check_fails_on_a_2x_slower_result(tmp_path, timings):
    slower = json.loads(json.dumps(timings))
    slower["rungs"][1]["median_ms"] *= 2
    completed = compare(tmp_path, timings, slower, "--fail-on-regression")
    assert completed.returncode == 1, completed.stdout
    assert "REGRESSION" in completed.stdout
    assert "+100.0%" in completed.stdout
    assert "different environments" not in completed.stdout


def test_regression_check_passes_on_an_equal_result(tmp_path, timings):
    completed = compare(tmp_path, timings, timings, "--fail-on-regression")
    assert completed.returncode == 0, completed.stdout
    assert "REGRESSION" not in completed.stdout


def test_regression_check_only_fails_when_asked(tmp_path, timings):
    slower = json.loads(json.dumps(timings))
    slower["rungs"][0]["median_ms"] *= 2
    assert compare(tmp_path, timings, slower).returncode == 0


def test_regression_check_says_when_environments_differ(tmp_path, timings):
    elsewhere = json.loads(json.dumps(timings))
    elsewhere["environment"]["cpu"] = "Some Other CPU"
    completed = compare(tmp_path, timings, elsewhere, "--threshold", "5")
    assert "different environments" in completed.stdout
    assert "Some Other CPU" in completed.stdout


def test_the_index_shows_every_section_present_in_order(tmp_path, smoke_profiles):
    import shutil

    out = tmp_path / "profiles"
    shutil.copytree(smoke_profiles, out)
    (out / "scaling.md").write_text("# Scaling sweep\n\n| approach | 1 x 1 |\n|---|---:|\n")
    (out / "scaling.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (out / "diff").mkdir()
    (out / "diff" / "v3_riir_polygon.svg").write_text("<svg/>")
    (out / "compare.md").write_text("- [v3_riir_polygon](diff/v3_riir_polygon.svg)\n")
    report.publish(
        out,
        {
            "id": "scaling",
            "title": "Scaling",
            "order": 40,
            "blocks": [{"image": "scaling.png"}, {"markdown": "scaling.md"}],
        },
    )
    page = report.publish(
        out,
        {
            "id": "compare",
            "title": "Base vs head",
            "order": 30,
            "blocks": [{"markdown": "compare.md"}],
        },
    ).read_text()
    ids = re.findall(r'<h2 id="([^"]+)"', page)
    assert ids == ["timings", "layers", "compare", "scaling", "flamegraphs", "environment"]
    links = Links()
    links.feed(page)
    assert "scaling.png" in links.targets
    assert "diff/v3_riir_polygon.svg" in links.targets
    for target in links.targets:
        if not re.match(r"[a-z]+://", target):
            assert (out / target).is_file(), target
    report.withdraw(out, "compare")
    assert 'id="compare"' not in report.render(out).read_text()


def test_compare_finds_inferno_in_the_repositorys_tools_folder(tmp_path, monkeypatch):
    """A fresh checkout gets inferno installed into .tools/bin, which is not on
    PATH: the next comparison must find it there instead of installing it again."""
    from ladder_bench.tools import inferno

    bin_dir = tmp_path / ".tools" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("inferno-diff-folded", "inferno-flamegraph"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail(f"ran {a}"))
    assert inferno(tmp_path) == (
        str(bin_dir / "inferno-diff-folded"),
        str(bin_dir / "inferno-flamegraph"),
    )
