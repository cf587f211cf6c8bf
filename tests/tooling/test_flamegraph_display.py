"""What the flamegraphs and speedscope files show (ladder_bench.flamegraph), drawn by
inferno from recorded stacks.

The .folded fixtures in folded/ are cut from a real recording of this ladder (py-spy
``--native``, cleaned): a few of each rung's stacks inside the rung's call, and every
stack outside it (the harness's timing loop). The SVGs are read back here with their own
small reader (rows by height, callers by sample span), and every expectation is counted
from the fixture's text, not by the code tested.
"""

import json
import re
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

import pytest
from selenium.webdriver.support.wait import WebDriverWait

from conftest import ROOT, console_errors
from ladder_bench import flamegraph, frames, perf, profiling, tools

FOLDED = Path(__file__).with_name("folded")
PERF_SCRIPT = Path(__file__).with_name("perf_script")
SVG = "{http://www.w3.org/2000/svg}"
FG = "{http://github.com/jonhoo/inferno}"
RATE = 200
CALL = "prepare.<locals>.<lambda> (ladder_bench/harness.py:70)"


def counted(text: str) -> list[tuple[str, int]]:
    """A folded file's lines as (stack, count): by hand, not with frames.stacks."""
    return [(line.rsplit(" ", 1)[0], int(line.rsplit(" ", 1)[1])) for line in text.splitlines()]


def boxes(svg: str) -> list[dict]:
    """Every box of an inferno SVG: its name (its hover text up to the sample count), its
    hover text, its row (0: the root) and the names of its callers, root first."""
    root = ElementTree.fromstring(svg)
    found = []
    for group in root.iter(f"{SVG}g"):
        rect, title = group.find(f"{SVG}rect"), group.find(f"{SVG}title").text
        found.append(
            {
                "name": re.match(r"(.*?) \(\d[\d,]* samples", title, re.DOTALL)[1],
                "title": title,
                "y": float(rect.get("y")),
                "x": int(rect.get(f"{FG}x")),
                "w": int(rect.get(f"{FG}w")),
            }
        )
    rows = sorted({box["y"] for box in found})
    for box in found:
        box["row"] = rows.index(box["y"])
    for box in sorted(found, key=lambda box: box["row"]):
        callers = [
            b for b in found if b["row"] == box["row"] - 1 and b["x"] <= box["x"] < b["x"] + b["w"]
        ]
        box["path"] = [*callers[0]["path"], callers[0]["name"]] if callers else []
    return found


def named_by_hand(frame: str) -> str:
    """A frame as the graph names it: a Python frame without its line, a Rust frame (the
    array API is a Rust function) without its file."""
    if python := re.fullmatch(r"(.*) \((.*\.py)(:\d+)?\)", frame):
        return f"{python[1]} ({python[2]})"
    if rust := re.fullmatch(r"(.*) \([^()]*\.rs(:\d+)?\)", frame):
        return rust[1]
    return frame


def recording(rung: str) -> profiling.Recording:
    folded = (FOLDED / f"{rung}.folded").read_text()
    lines = counted(folded)
    samples = sum(count for _, count in lines)
    return profiling.Recording(
        folded, "py-spy", 2, samples, profiling.share_of(folded, profiling.CALL_FRAME), rate=RATE
    )


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """Each fixture drawn as the pipeline draws it: {rung: (files, recording)}."""
    out = tmp_path_factory.mktemp("flamegraphs")
    return {
        rung: (
            profiling.draw(ROOT, recording(rung), rung, "What it changed.", out),
            recording(rung),
        )
        for rung in ("v1", "v5_find_all_in_rust", "match_points")
    }


RUNGS = ("v1", "v5_find_all_in_rust", "match_points")


@pytest.mark.parametrize("rung", RUNGS)
def test_the_first_row_under_the_root_is_the_rungs_call(drawn, rung):
    # The frame below the harness's call of the rung, in every line of the fixture that
    # has the call, without its line number; a sample in the call itself has none.
    below = {
        [*stack.split(";"), flamegraph.CALLING][stack.split(";").index(CALL) + 1]
        for stack, _ in counted((FOLDED / f"{rung}.folded").read_text())
        if CALL in stack.split(";")
    }
    expected = {named_by_hand(frame) for frame in below}
    if rung.startswith("v"):
        assert f"main (poly_match/{rung}.py)" in expected
        assert expected <= {f"main (poly_match/{rung}.py)", flamegraph.CALLING}
    else:
        assert "poly_match_rs::matching::Grid::new" in expected
    svg = drawn[rung][0]["flamegraph"].read_text()
    assert {box["name"] for box in boxes(svg) if box["row"] == 1} == expected
    # Nothing of the harness is drawn.
    assert "harness.py" not in svg
    assert "runpy" not in svg


@pytest.mark.parametrize("rung", RUNGS)
def test_native_frames_are_tagged_with_their_library_not_its_path(drawn, rung):
    names = {box["name"] for box in boxes(drawn[rung][0]["flamegraph"].read_text())}
    assert not [name for name in names if re.search(r"\.so\b|cpython-|/lib/", name)]
    expected = {
        "v1": {"array_subtract [numpy]", "array_item [numpy]", "[libc]"},
        "v5_find_all_in_rust": {"poly_match_rs::geometry::find_close_polygons"},
        "match_points": {"poly_match_rs::matching::Grid::with_layout"},
    }[rung]
    assert expected <= names


@pytest.mark.parametrize("rung", RUNGS)
def test_one_box_per_function_and_no_line_numbers_in_names(drawn, rung):
    found = boxes(drawn[rung][0]["flamegraph"].read_text())
    siblings = Counter((tuple(box["path"]), box["name"]) for box in found)
    assert [key for key, count in siblings.items() if count > 1] == []
    assert not [box["name"] for box in found if re.search(r":\d+\)?$", box["name"])]


def test_a_functions_lines_and_their_shares_are_in_its_hover_text(drawn):
    # find_close_polygons, on its one path, by line: counted from the fixture.
    lines: Counter[str] = Counter()
    for stack, count in counted((FOLDED / "v1.folded").read_text()):
        for frame in stack.split(";"):
            if match := re.fullmatch(r"find_close_polygons \(poly_match/v1\.py:(\d+)\)", frame):
                lines[match[1]] += count
    total = sum(lines.values())
    assert len(lines) > 1
    (box,) = [
        b
        for b in boxes(drawn["v1"][0]["flamegraph"].read_text())
        if b["name"] == "find_close_polygons (poly_match/v1.py)"
    ]
    listed = re.search(r"lines: (.*)\)$", box["title"])[1].split(", ")
    shares = {}
    for entry in listed:
        place, share = entry.rsplit(" ", 1)
        shares[place.rpartition(":")[2]] = share
    assert shares == {
        line: "<1%" if count / total < 0.005 else f"{count / total:.0%}"
        for line, count in lines.items()
    }
    assert listed[0].startswith("poly_match/v1.py:")


def test_the_hover_text_keeps_the_name_inferno_reads_from_it(drawn):
    """inferno's script names a box by its hover text without its last parenthesis: what
    is added must stay inside it."""
    for files, _ in drawn.values():
        for box in boxes(files["flamegraph"].read_text()):
            assert re.sub(r"\([^(]*\)$", "", box["title"]).strip() == box["name"], box["title"]


def test_the_stack_py_spy_lost_is_named_and_explained(drawn):
    found = boxes(drawn["v5_find_all_in_rust"][0]["flamegraph"].read_text())
    (lost,) = [box for box in found if box["name"] == flamegraph.UNKNOWN_SHOWN]
    assert lost["path"] == [flamegraph.ROOT, "main (poly_match/v5_find_all_in_rust.py)"]
    assert "lost the stack" in lost["title"]


@pytest.mark.parametrize("rung", RUNGS)
def test_the_share_stated_is_counted_from_the_recording(drawn, rung):
    lines = counted((FOLDED / f"{rung}.folded").read_text())
    total = sum(count for _, count in lines)
    inside = sum(count for stack, count in lines if CALL in stack.split(";"))
    files, recorded = drawn[rung]
    subtitle = ElementTree.fromstring(files["flamegraph"].read_text()).find(
        f".//{SVG}text[@id='subtitle']"
    )
    assert subtitle.text.startswith(
        f"Shown: the rung's call, {inside:,} of {total:,} samples ({inside / total:.0%})."
    )
    rest = total - inside
    assert (f"Not shown: {rest:,} in the harness's timing loop." in subtitle.text) == (rest > 0)
    (root,) = [box for box in boxes(files["flamegraph"].read_text()) if box["row"] == 0]
    assert root["w"] == inside
    assert f"{inside} of them" in recorded.describe()
    block = profiling.section(
        files["flamegraph"].parent, [profiling.Profile(rung, files, recorded)], {}
    )
    assert (
        f"{inside} of them ({inside / total:.0%}) inside the rung's call"
        in block["blocks"][0]["text"]
    )


@pytest.mark.parametrize("rung", RUNGS)
def test_the_speedscope_profile_is_in_seconds(drawn, rung):
    lines = counted((FOLDED / f"{rung}.folded").read_text())
    inside = sum(count for stack, count in lines if CALL in stack.split(";"))
    files, _ = drawn[rung]
    profile = json.loads(files["speedscope"].read_text())["profiles"][0]
    assert profile["unit"] == "seconds"
    assert sum(profile["weights"]) == pytest.approx(inside / RATE)
    assert profile["endValue"] == pytest.approx(inside / RATE)
    frames_named = json.loads(files["speedscope"].read_text())["shared"]["frames"]
    names = [frame["name"] for frame in frames_named]
    assert not [name for name in names if "harness.py" in name or ".so" in name]
    # The folded file keeps the recording as it was, the harness's frames and all.
    assert files["folded"].read_text() == (FOLDED / f"{rung}.folded").read_text()


def test_the_speedscope_link_is_a_download(drawn):
    files, recorded = drawn["v1"]
    block = profiling.section(
        files["flamegraph"].parent, [profiling.Profile("v1", files, recorded)], {}
    )
    links = {link["class"]: link for link in block["blocks"][0]["links"]}
    assert links["speedscope"]["download"] is True
    assert "download" not in links["folded"]


@pytest.mark.parametrize(
    ("library", "tag"),
    [
        ("numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so", "numpy"),
        ("poly_match/_rs.cpython-313-x86_64-linux-gnu.so", "poly_match"),
        ("mypkg/_native.abi3.so", "mypkg"),
        ("_speedups.cpython-312-darwin.so", "_speedups"),
        ("libc.so.6", "libc"),
        ("/usr/lib/x86_64-linux-gnu/libm.so.6", "libm"),
        ("libpython3.11.so.1.0", "python"),
        ("python3.11", "python"),
        ("ld-linux-x86-64.so.2", "ld.so"),
        ("libstdc++.so.6", "libstdc++"),
        ("numpy.libs/libscipy_openblas64_-ff651d7f.so", "libscipy_openblas64_"),
        ("libfoo-1.2.so", "libfoo"),
        ("[vdso]", "vdso"),
        ("kernel.kallsyms", "kernel"),
    ],
)
def test_library_tags(library, tag):
    assert flamegraph.library_tag(library) == tag


@pytest.mark.parametrize(
    ("frame", "shown", "place"),
    [
        ("main (poly_match/v1.py:76)", "main (poly_match/v1.py)", "poly_match/v1.py:76"),
        ("_run_code (<frozen runpy>:88)", "_run_code (<frozen runpy>)", "<frozen runpy>:88"),
        ("f (poly_match/v1.py)", "f (poly_match/v1.py)", "poly_match/v1.py"),  # --nolineno
        (
            "poly_match_rs::geometry::find_close_polygons (geometry.rs:253)",
            "poly_match_rs::geometry::find_close_polygons",
            "geometry.rs:253",
        ),
        (
            "pyo3::conversion::IntoPyObjectExt::into_bound_py_any (unix.rs)",
            "pyo3::conversion::IntoPyObjectExt::into_bound_py_any",
            "unix.rs",
        ),
        ("math_hypot (mathmodule.c:2780)", "math_hypot", "mathmodule.c:2780"),
        (
            "array_subtract (numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so)",
            "array_subtract [numpy]",
            None,
        ),
        ("malloc (libc.so.6)", "malloc [libc]", None),
        ("[libc.so.6]", "[libc]", None),
        ("[poly_match/_rs.cpython-311-x86_64-linux-gnu.so]", "[poly_match]", None),
        ("[[vdso]]", "[vdso]", None),
        ("[unknown]", flamegraph.UNKNOWN_SHOWN, None),
        ("_PyEval_EvalFrameDefault", "_PyEval_EvalFrameDefault", None),  # perf: no library
        ("match_points [worker threads]", "match_points [worker threads]", None),
    ],
)
def test_each_form_of_frame_is_shown_briefly(frame, shown, place):
    assert flamegraph.shown_frame(frame) == (shown, place)


def test_perfs_worker_threads_start_at_the_root_where_python_frames_are_named():
    samples = perf.parse((PERF_SCRIPT / "match_points.cpython313.txt").read_text())
    folded = perf.fold(samples, 5782, "match_points", profiling.CALL_FRAME)
    cleaned = frames.clean(folded.folded, tools.rustfilt(ROOT), Path("/work/main"))
    shown = flamegraph.shown(cleaned, profiling.CALL_FRAME)
    firsts = Counter()
    for stack, count in frames.stacks(shown.folded):
        firsts[stack[0]] += count
    # Two samples of the main thread inside the call, two of the worker threads (read off
    # the fixture: see test_profiling).
    assert firsts == {"_PyEval_EvalFrameDefault": 2, "match_points [worker threads]": 2}


def test_before_python_313_perfs_main_thread_hangs_apart():
    samples = perf.parse((PERF_SCRIPT / "v7_grid_parallel.cpython311.txt").read_text())
    folded = perf.fold(samples, 5731, "v7_grid_parallel", profiling.CALL_FRAME)
    cleaned = frames.clean(folded.folded, tools.rustfilt(ROOT), Path("/work/main"))
    shown = flamegraph.shown(cleaned, profiling.CALL_FRAME, keep_unplaced=True)
    firsts = Counter()
    for stack, count in frames.stacks(shown.folded):
        firsts[stack[0]] += count
    assert firsts == {flamegraph.MAIN_THREAD: 2, "v7_grid_parallel [worker threads]": 2}
    assert flamegraph.shown(cleaned, profiling.CALL_FRAME).shown == 2


def test_a_long_title_ends_at_a_word():
    summary = (
        "A spatial index and all cores: a grid of max_dist-wide cells, points matched in "
        "parallel, and then some more words to make it long."
    )
    title = flamegraph.title("v7_grid_parallel", summary)
    assert len(title) <= flamegraph.TITLE_CHARACTERS
    assert title.endswith("…")
    words = title.removesuffix("…").split()
    assert words == f"v7_grid_parallel: {summary}".split()[: len(words)]
    assert flamegraph.title("v1", "Short.") == "v1: Short."


def test_the_svg_runs_standalone_without_errors_and_shows_search(browser, drawn):
    browser.get(drawn["v5_find_all_in_rust"][0]["flamegraph"].as_uri())
    WebDriverWait(browser, 20).until(
        lambda driver: driver.execute_script("return document.readyState") == "complete"
    )
    state = browser.execute_script(
        """
        const search = document.getElementById('search');
        const boxes = [...document.querySelectorAll('#frames > g')];
        const widest = boxes.filter(g => g.querySelector('rect').getAttribute('fg:w') > 50);
        return {
            opacity: getComputedStyle(search).opacity,
            total: window.total_samples,
            labels: widest.map(g => [g.querySelector('text').textContent,
                                      g.querySelector('title').textContent]),
        };
        """
    )
    assert console_errors(browser) == []
    assert state["opacity"] == "1"
    assert state["total"] > 0
    # inferno's script labels each box from its hover text: the name (cut short with
    # ".." where it does not fit), never the lines added after it.
    assert state["labels"]
    for label, title in state["labels"]:
        name = re.match(r"(.*?) \(\d[\d,]* samples", title, re.DOTALL)[1]
        assert label.strip(". ") in name, (label, title)


@pytest.mark.parametrize(
    ("part", "whole", "shown"),
    [(0, 399, "0%"), (1, 399, "<1%"), (357, 399, "89%"), (398, 399, ">99%"), (399, 399, "100%")],
)
def test_a_share_short_of_all_or_above_none_never_reads_as_all_or_none(part, whole, shown):
    assert flamegraph.percent(part / whole) == shown
