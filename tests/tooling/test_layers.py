"""Where each rung's time goes (ladder_bench.layers): each rule of attribution on stacks
written by hand, the rules on real recordings of this ladder, the layers declared in
``[tool.ladder-bench.layers]`` and refused when wrong, the files and the report section,
and the second ladder recorded for real: its pure-Python rung must come out as the
interpreter's and its numpy rung as numpy's, which is true by construction.

The real recordings in layers_fixtures/ are py-spy's folded stacks of this ladder's v1,
v3_riir_polygon and Index.match at the default size, each cut to its stacks of two samples
or more. The shares they are checked against are counted from the stacks with plain
substring tests, not with the code tested.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ladder_bench import config, frames, layers, pipeline, profiling, tools

ROOT = Path(__file__).resolve().parents[2]
SECOND = Path(__file__).resolve().parent / "second_ladder"
FIXTURES = Path(__file__).with_name("layers_fixtures")

# The frames every sample inside the rung's call starts with (py-spy's, shortened).
CALL = (
    "run_calls (ladder_bench/harness.py:83);prepare.<locals>.<lambda> (ladder_bench/harness.py:70)"
)
RUNG = f"{CALL};main (pkg/rung.py:10)"
NUMPY_SO = "numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so"
LIBPYTHON = "libpython3.11.so.1.0"


def layer_of(stack: str, declared: dict | None = None) -> str:
    return layers.attribute(stack.split(";"), layers.Rules.of(declared))


@pytest.mark.parametrize(
    ("stack", "layer"),
    [
        # Python code running: the interpreter.
        (RUNG, "interpreter"),
        # numpy's compiled code is numpy's even when Python called it, and so is the C
        # library working for it (libm's hypot in a ufunc loop; sprintf's unnamed code).
        (f"{RUNG};array_subtract ({NUMPY_SO})", "numpy"),
        (f"{RUNG};PyUFunc_dd_d ({NUMPY_SO});hypot (libm.so.6)", "numpy"),
        (f"{RUNG};array_item ({NUMPY_SO});sprintf (libc.so.6);[libc.so.6]", "numpy"),
        # numpy's Python wrappers are numpy's too.
        (f"{RUNG};diff (numpy/lib/_function_base_impl.py:1450)", "numpy"),
        # libpython's C code under Python: the interpreter.
        (f"{RUNG};math_hypot (mathmodule.c:2772)", "interpreter"),
        (f"{RUNG};PyLong_FromLong ({LIBPYTHON})", "interpreter"),
        # The allocator owns its time whoever called it: Rust, numpy, libpython.
        (f"{RUNG};mycrate::geometry::area (geometry.rs:3);malloc (libc.so.6)", "allocator"),
        (
            f"{RUNG};mycrate::f (lib.rs:3);alloc::raw_vec::finish_grow (mod.rs:5);"
            "realloc (libc.so.6);[libc.so.6]",
            "allocator",
        ),
        (f"{RUNG};mycrate::f (lib.rs:3);__rustc::__rdl_dealloc (alloc.rs:9)", "allocator"),
        (
            f"{RUNG};array_subtract ({NUMPY_SO});PyDataMem_UserNEW ({NUMPY_SO});malloc (libc.so.6)",
            "allocator",
        ),
        # Python objects made for Rust: libpython's C code beneath pyo3, or beneath the
        # project's Rust directly, is the boundary's; so is numpy's (an array made by
        # rust-numpy).
        (f"{RUNG};pyo3::types::list::PyList::new (list.rs:9);PyList_New ({LIBPYTHON})", "boundary"),
        (f"{RUNG};mycrate::convert::pairs (convert.rs:4);PyTuple_New ({LIBPYTHON})", "boundary"),
        (
            f"{RUNG};numpy::array::PyArray<T,D>::new (array.rs:221);"
            f"PyArray_NewFromDescr_int ({NUMPY_SO})",
            "boundary",
        ),
        # pyo3's and rust-numpy's own code, and the standard library working for them.
        (f"{RUNG};pyo3::impl_::trampoline::trampoline (trampoline.rs:302)", "boundary"),
        (
            f"{RUNG};<T as pyo3::type_object::PyTypeCheck>::type_check (type_object.rs:1)",
            "boundary",
        ),
        (
            f"{RUNG};pyo3::instance::Bound<T>::from_owned_ptr (instance.rs:348);"
            "core::ptr::non_null::NonNull<T>::new (non_null.rs:270)",
            "boundary",
        ),
        (
            f"{RUNG};mycrate::f (lib.rs:1);core::ptr::drop_in_place<pyo3::instance::Bound<"
            "pyo3::types::tuple::PyTuple>> (mod.rs:804)",
            "boundary",
        ),
        # The project's Rust, other crates' (rayon's), and the standard library working
        # for them: the core; memcpy too.
        (f"{RUNG};mycrate::geometry::area (geometry.rs:3)", "core"),
        (
            f"{RUNG};mycrate::f (lib.rs:2);<core::slice::iter::Iter<T> as core::iter::traits::"
            "iterator::Iterator>::next (macros.rs:18);<f64>::sqrt (f64.rs:1)",
            "core",
        ),
        (f"{RUNG};mycrate::f (lib.rs:2);memcpy (libc.so.6)", "core"),
        (f"{RUNG};rayon_core::sleep::Sleep::no_work_found (sleep.rs:1)", "core"),
        # The standard library straight under Python: the extension's frames in between
        # were lost, and the sample cannot be placed.
        (
            f"{RUNG};core::slice::sort::shared::smallsort::insert_tail (smallsort.rs:572)",
            "unattributed",
        ),
        (f"{RUNG};[pkg/_native.cpython-311-x86_64-linux-gnu.so]", "unattributed"),
        ("[unknown]", "unattributed"),
        # Outside the rung's call: the harness.
        ("run_calls (ladder_bench/harness.py:81)", "harness"),
        (
            f"run_calls (ladder_bench/harness.py:81);array_dealloc ({NUMPY_SO});free (libc.so.6)",
            "harness",
        ),
        # perf before Python 3.13: no Python frames to place a sample by. The main thread
        # in the interpreter is the interpreter's (libc's start passes it on); a worker
        # thread's work is its code's.
        ("_start;__libc_start_main;Py_RunMain;_PyEval_EvalFrameDefault", "interpreter"),
        (
            "r [worker threads];clone3;start_thread;std::sys::thread::unix::Thread::new::"
            "thread_start;mycrate::grid::scan",
            "core",
        ),
        (
            "r [worker threads];clone3;start_thread;rayon_core::registry::main_loop;"
            "std::thread::yield_now;__GI_sched_yield;do_syscall_64",
            "core",
        ),
    ],
)
def test_each_sample_counts_to_the_innermost_frame_that_owns_its_time(stack, layer):
    assert layer_of(stack) == layer


def test_a_projects_patterns_come_before_the_defaults():
    stack = f"{RUNG};mycrate::python::convert::points (convert.rs:4)"
    assert layer_of(stack) == "core"
    assert layer_of(stack, {"boundary": ["^mycrate::python::"]}) == "boundary"
    # A crate declared a helper works for its caller.
    stack = f"{RUNG};pyo3::types::list::PyList::new (list.rs:9);mycrate_util::grow (u.rs:1)"
    assert layer_of(stack) == "core"
    assert layer_of(stack, {"helpers": ["^mycrate_util::"]}) == "boundary"


def fixture_stacks(rung: str) -> list[tuple[list[str], int]]:
    return frames.stacks((FIXTURES / f"{rung}.folded").read_text())


def fixture_layers(rung: str) -> layers.RungLayers:
    text = (FIXTURES / f"{rung}.folded").read_text()
    return layers.measure([(rung, text, "py-spy")], layers.Rules.of())[0]


def test_v1_is_numpys_and_the_interpreters_its_every_numpy_sample_numpys():
    stacks = fixture_stacks("v1")
    # v1 runs no Rust: a sample with a numpy frame is numpy's, any other the interpreter's.
    with_numpy = sum(count for stack, count in stacks if any("(numpy/" in f for f in stack))
    total = sum(count for _, count in stacks)
    row = fixture_layers("v1")
    assert row.samples == {"numpy": with_numpy, "interpreter": total - with_numpy}
    assert row.dominant == "numpy"


def test_v3_is_the_boundarys():
    stacks = fixture_stacks("v3_riir_polygon")
    leaf_in_pyo3 = sum(
        count for stack, count in stacks if "pyo3::" in stack[-1] or "numpy::" in stack[-1]
    )
    row = fixture_layers("v3_riir_polygon")
    assert row.samples["boundary"] >= leaf_in_pyo3 > 0
    assert row.dominant == "boundary"
    assert row.share("boundary") > 0.5


def test_index_match_is_the_cores_and_the_harness_is_what_is_outside_the_call():
    stacks = fixture_stacks("Index.match")
    leaf_in_core = sum(c for stack, c in stacks if stack[-1].startswith("poly_match_rs::matching"))
    outside = sum(c for stack, c in stacks if not frames.holds(stack, profiling.CALL_FRAME))
    row = fixture_layers("Index.match")
    assert row.samples["core"] >= leaf_in_core > 0
    assert row.samples["harness"] == outside > 0
    assert row.dominant == "core"


def test_the_files_the_section_and_the_command(tmp_path):
    (tmp_path / "flamegraphs").mkdir()
    for rung in ("v1", "v3_riir_polygon", "Index.match"):
        (tmp_path / "flamegraphs" / f"{rung}.folded").write_text(
            (FIXTURES / f"{rung}.folded").read_text()
        )
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "ladder_bench.layers",
            str(tmp_path),
            "--config",
            str(ROOT / "pyproject.toml"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    saved = json.loads((tmp_path / "layers.json").read_text())
    # In the ladder's order, not the files' (Index.match would sort first).
    assert [row["rung"] for row in saved["rungs"]] == ["v1", "v3_riir_polygon", "Index.match"]
    v1 = saved["rungs"][0]
    assert v1["dominant"] == "numpy"
    assert sum(v1["samples_by_layer"].values()) == v1["samples"]
    assert sum(v1["shares"].values()) == pytest.approx(1, abs=1e-3)
    table = (tmp_path / "layers.md").read_text()
    assert table == completed.stdout
    header, _, *rows = table.splitlines()
    assert header.startswith("| rung | samples | Python interpreter | numpy |")
    assert rows[0].startswith("| v1 | 371 |")
    assert rows[0].endswith("| numpy |")
    svg = (tmp_path / "layers.svg").read_text()
    assert svg.startswith("<svg")
    assert "viewBox=" in svg
    assert "<title>" in svg
    assert "aria-label=" in svg
    assert 'fill="currentColor"' in svg
    manifest = json.loads((tmp_path / "sections" / "layers.json").read_text())
    assert (manifest["id"], manifest["order"]) == ("layers", 15)
    assert {"svg": "layers.svg"} in manifest["blocks"]
    page = (tmp_path / "index.html").read_text()
    assert '<h2 id="layers">' in page
    assert "<svg" in page


def test_a_rung_without_a_recording_is_shown_as_such():
    rows = layers.measure([("a", None, None)], layers.Rules.of())
    assert rows[0].total == 0
    assert rows[0].dominant is None
    assert "| a | 0 |" in layers.to_markdown(rows)
    assert "no profile" in layers.chart(rows)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            'boundry = ["x"]',
            r"\[tool.ladder-bench.layers\]: unknown key 'boundry' \(did you mean 'boundary'\?\); "
            r"rename or remove it in ",
        ),
        (
            'core = "mycrate::"',
            r"\[tool.ladder-bench.layers\] core = 'mycrate::': not a list of frame patterns .*"
            r'e.g. core = \["\^mylib::python::"\]; fix it in ',
        ),
        (
            'boundary = ["(pyo3"]',
            r"\[tool.ladder-bench.layers\] boundary: '\(pyo3' is not a regular expression "
            r"\(missing \), unterminated subpattern at position 0\); fix it in ",
        ),
    ],
)
def test_a_wrong_layers_table_is_refused_in_one_line(tmp_path, table, message):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ladder-bench]\nrungs = [{ name = "a", call = "m:f", workload = "m:w" }]\n'
        f"[tool.ladder-bench.layers]\n{table}\n"
    )
    with pytest.raises(config.ConfigError, match=message) as raised:
        config.load(tmp_path / "pyproject.toml")
    assert "\n" not in str(raised.value)


def test_a_wrong_layers_table_ends_the_bench_before_any_work(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ladder-bench]\nrungs = [{ name = "a", call = "m:f", workload = "m:w" }]\n'
        '[tool.ladder-bench.layers]\ncore = ["[a-"]\n'
    )
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "ladder_bench.pipeline",
            "--workspace",
            str(tmp_path),
            "--out",
            str(tmp_path / "profiles"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1
    assert "[tool.ladder-bench.layers] core: '[a-' is not a regular expression" in completed.stderr
    assert not (tmp_path / "profiles").exists()


def test_a_declared_layers_table_is_loaded(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ladder-bench]\nrungs = [{ name = "a", call = "m:f", workload = "m:w" }]\n'
        '[tool.ladder-bench.layers]\nboundary = ["^mycrate::python::"]\n'
    )
    assert config.load(tmp_path / "pyproject.toml").layers == {"boundary": ["^mycrate::python::"]}


@pytest.fixture(scope="module")
def second_ladder_layers(tmp_path_factory):
    """The second ladder's rungs recorded as ``ladder-bench bench --quick`` records them,
    and their layers as the pipeline writes them."""
    if sys.platform == "darwin":
        pytest.skip("py-spy can only sample other processes as root on macOS")
    out = tmp_path_factory.mktemp("second-layers")
    # As in test_second_ladder: this repository's inferno and rustfilt, found on PATH.
    tools.inferno(ROOT), tools.rustfilt(ROOT)
    path = os.environ["PATH"]
    os.environ["PATH"] = f"{ROOT / '.tools' / 'bin'}{os.pathsep}{path}"
    try:
        ladder = config.load(SECOND / "pyproject.toml")
        pipeline.profile_all(ladder, ladder.rungs, out, pipeline.Mode(quick=True), SECOND)
    finally:
        os.environ["PATH"] = path
    saved = json.loads((out / "layers.json").read_text())
    return {row["rung"]: row for row in saved["rungs"]}


def test_the_second_ladders_python_loop_is_the_interpreters(second_ladder_layers):
    loop = second_ladder_layers["loop"]
    assert loop["samples"] >= profiling.MIN_SAMPLES
    assert loop["dominant"] == "interpreter", loop["shares"]
    # No Rust in it: nothing can be the boundary's or the core's.
    assert loop["samples_by_layer"]["boundary"] == loop["samples_by_layer"]["core"] == 0


def test_the_second_ladders_numpy_rung_is_numpys(second_ladder_layers):
    vectorized = second_ladder_layers["vectorized"]
    assert vectorized["dominant"] == "numpy", vectorized["shares"]
    assert vectorized["shares"]["numpy"] > 0.6
    assert vectorized["samples_by_layer"]["boundary"] == vectorized["samples_by_layer"]["core"] == 0
