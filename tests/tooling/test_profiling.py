"""Flamegraph recording (ladder_bench.profiling, ladder_bench.perf): which profiler a rung
gets, perf's stacks read and grafted, the share stated, and every way a recording can
fail ending as a note rather than an exception.

The perf fixtures in perf_script/ are real ``perf script --fields tid,ip,sym,dso`` output
(four samples each, picked from a recording of this ladder's rungs): on CPython 3.11,
where perf names no Python frames, and on 3.13 with ``-X perf_jit``, where it does. The
expected stacks below are read off those files by eye, not computed by the code tested.
"""

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from conftest import ROOT
from ladder_bench import flamegraph, frames, harness, perf, profiling, tools

FIXTURES = Path(__file__).with_name("perf_script")
CONFIG = ROOT / "pyproject.toml"
# The grid query in the core: what the rayon threads of the array API spend their time in.
WORKER_FUNCTION = "poly_match_rs::grid::Grid::best_match_by"
# The same function in the recorded perf output of perf_script/, made when it lived in
# the core's former matching module.
RECORDED_WORKER_FUNCTION = "poly_match_rs::matching::Grid::best_match_by"
# Enough points for the core to hand them to its thread pool (MIN_POINTS_FOR_THREADS).
THREADED = {"n_polygons": 1000, "n_points": 10000}


def fixture(name: str) -> list[perf.Sample]:
    return perf.parse((FIXTURES / name).read_text())


def folded_stacks(folded: str) -> dict[str, int]:
    return {";".join(stack): count for stack, count in frames.stacks(folded)}


def test_perf_script_is_read_sample_by_sample_with_its_thread():
    samples = fixture("v7_grid_parallel.cpython311.txt")
    # Four-digit thread ids: perf right-aligns them, so their lines start with a space.
    assert Counter(sample.thread for sample in samples) == {5731: 2, 5732: 1, 5733: 1}
    worker = next(s for s in samples if s.thread == 5733)
    assert worker.frames[0] == ("clone3", "/usr/lib/x86_64-linux-gnu/libc.so.6")
    assert worker.frames[-1][0] == RECORDED_WORKER_FUNCTION
    # An inlined frame has the library of the function it was inlined into.
    libraries = dict(worker.frames)
    assert libraries["rayon_core::join::join_context"].endswith(
        "poly_match/_rs.cpython-311-x86_64-linux-gnu.so"
    )
    assert "inlined" not in libraries.values()


def test_before_python_313_worker_threads_hang_under_the_rung_at_the_root():
    samples = fixture("v7_grid_parallel.cpython311.txt")
    folded = perf.fold(samples, 5731, "v7_grid_parallel", profiling.CALL_FRAME)
    stacks = folded_stacks(folded.folded)
    roots = Counter(stack.split(";")[0] for stack in stacks for _ in range(stacks[stack]))
    assert roots == {"_start": 2, "v7_grid_parallel [worker threads]": 2}
    assert any(
        stack.startswith("v7_grid_parallel [worker threads];clone3;start_thread;")
        and stack.endswith(f";{RECORDED_WORKER_FUNCTION}")
        for stack in stacks
    )
    assert not folded.named
    # Only the worker threads' samples can be placed inside the call: a lower bound.
    assert (folded.samples, folded.main, folded.main_in_call) == (4, 2, 0)
    assert folded.call_share == 0.5


def test_with_named_python_frames_worker_threads_hang_under_the_rungs_call():
    samples = fixture("match_points.cpython313.txt")
    folded = perf.fold(samples, 5782, "match_points", profiling.CALL_FRAME)
    harness_py = "/work/main/ladder-bench/ladder_bench/harness.py"
    call = (
        "_run_module_as_main (<frozen runpy>);_run_code (<frozen runpy>);"
        f"<module> ({harness_py});main ({harness_py});measure ({harness_py});"
        f"run_calls ({harness_py});prepare.<locals>.<lambda> ({harness_py})"
    )
    stacks = folded_stacks(folded.folded)
    assert sum(stacks.values()) == 4
    for stack, _count in stacks.items():
        assert stack.startswith(call), stack
        # The interpreter's machinery between Python frames is gone; what the call ran
        # (the interpreter calling into the extension) is kept.
        between = stack[: stack.index(harness_py)]
        assert "py_trampoline_evaluator" not in between
        assert "Py_RunMain" not in stack
    workers = {s: c for s, c in stacks.items() if "[worker threads]" in s}
    assert sum(workers.values()) == 2
    assert all(s.startswith(f"{call};match_points [worker threads];clone3;") for s in workers)
    # Kernel frames keep their names.
    assert any(
        s.endswith(
            ";entry_SYSCALL_64_after_hwframe;do_syscall_64;__x64_sys_sched_yield;do_sched_yield"
        )
        for s in workers
    )
    main = [s for s in stacks if s not in workers]
    assert all(
        s.startswith(f"{call};_PyEval_EvalFrameDefault;cfunction_vectorcall_FASTCALL_KEYWORDS;")
        for s in main
    )
    assert folded.named
    assert (folded.samples, folded.main, folded.main_in_call, folded.call_share) == (4, 2, 2, 1.0)


def test_main_thread_samples_outside_the_call_do_not_count_as_inside_it():
    lines = [
        # the main thread inside the call, in the harness's loop (perf_counter), a worker
        " 100 ",
        "\t  1 work (/lib/libx.so)",
        "\t 85 py::prepare.<locals>.<lambda>:/h/harness.py (/tmp/jitted-100-2.so)",
        "\t 86 py::run_calls:/h/harness.py (/tmp/jitted-100-1.so)",
        "",
        " 100 ",
        "\t  2 time_perf_counter (/usr/lib/libpython3.13.so.1.0)",
        "\t 86 py::run_calls:/h/harness.py (/tmp/jitted-100-1.so)",
        "",
        " 101 ",
        "\t  3 [unknown] (/lib/libx.so)",
        "\t  4 start_thread (/lib/libc.so.6)",
        "",
    ]
    folded = perf.fold(perf.parse("\n".join(lines)), 100, "r", profiling.CALL_FRAME)
    assert folded_stacks(folded.folded) == {
        "run_calls (/h/harness.py);prepare.<locals>.<lambda> (/h/harness.py);work": 1,
        "run_calls (/h/harness.py);time_perf_counter": 1,
        "run_calls (/h/harness.py);prepare.<locals>.<lambda> (/h/harness.py);r [worker threads];"
        "start_thread;[libx.so]": 1,
    }
    assert folded.call_share == pytest.approx(2 / 3)


def test_perf_frames_are_cleaned_like_py_spys():
    samples = fixture("match_points.cpython313.txt")
    folded = perf.fold(samples, 5782, "match_points", profiling.CALL_FRAME)
    cleaned = frames.clean(folded.folded, tools.rustfilt(ROOT), Path("/work/main"))
    assert "prepare.<locals>.<lambda> (ladder-bench/ladder_bench/harness.py);" in cleaned
    assert profiling.share_of(cleaned, profiling.CALL_FRAME) == 1.0


def test_the_rungs_call_is_the_frame_the_harness_makes():
    class Rung:
        def resolve_call(self):
            return lambda: None

    class Config:
        def workload_args(self, rung, size):
            return ()

    call, _ = harness.prepare(Config(), Rung())
    assert call.__qualname__ == profiling.CALL_FRAME


def test_unseen_share_is_the_cpu_of_the_threads_not_sampled():
    before = {1: 100, 2: 10, 3: 0}
    after = {1: 130, 2: 60, 3: 20, 4: 50}  # thread 4 started in between
    assert profiling.unseen_share(before, after, {1}) == pytest.approx(120 / 150)
    assert profiling.unseen_share(before, after, {1, 2, 3, 4}) == 0
    assert profiling.unseen_share(after, after, {1}) is None


def test_thread_cpu_reads_each_threads_time():
    code = (
        "import threading, time\n"
        "def spin():\n"
        "    end = time.time() + 3\n"
        "    while time.time() < end: pass\n"
        "thread = threading.Thread(target=spin); thread.start()\n"
        "print(threading.get_native_id(), thread.native_id, flush=True); thread.join()\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        main, spinner = map(int, child.stdout.readline().split())
        before = profiling.thread_cpu(child.pid)
        time.sleep(0.5)
        after = profiling.thread_cpu(child.pid)
    finally:
        child.kill()
        child.wait()
    assert main == child.pid
    assert {main, spinner} <= set(after)
    # Spinning all along (on a busy machine, not all of the time), and waiting in join().
    spun, waited = after[spinner] - before[spinner], after[main] - before[main]
    assert spun >= 0.1 * os.sysconf("SC_CLK_TCK")
    assert waited <= spun / 10
    assert profiling.unseen_share(before, after, {main}) > 0.9


class Fake:
    """Recordings made up for the decision: which profiler, and what notes."""

    def __init__(self, unseen, perf_problem=None, samples=400):
        self.unseen, self.problem, self.samples = unseen, perf_problem, samples
        self.calls = []

    def install(self, recorder):
        recorder.py_spy_recording = self.py_spy
        recorder.perf_recording = self.perf
        recorder.perf_problem = lambda: self.problem

    def py_spy(self, config_path, rung, size, seconds):
        self.calls.append(("py-spy", seconds))
        return profiling.Recording(
            "a 1\n",
            "py-spy",
            seconds,
            self.samples,
            1.0,
            measured_share=1.0,
            unseen_share=self.unseen,
        )

    def perf(self, config_path, rung, size, seconds, unseen=None):
        self.calls.append(("perf", seconds))
        return profiling.Recording("a 1\n", "perf", seconds, 400, 0.8, unseen_share=unseen)


@pytest.fixture
def recorder():
    return profiling.Recorder(ROOT, 2, 100)


def test_threads_py_spy_cannot_see_get_perf(recorder):
    fake = Fake(unseen=0.5)
    fake.install(recorder)
    recording, notes = recorder.recording(CONFIG, "r", None, "auto")
    assert (recording.profiler, recording.unseen_share, notes) == ("perf", 0.5, [])
    assert fake.calls == [("py-spy", 2), ("perf", 2)]
    assert "perf, as 50% of the CPU was on threads py-spy cannot see" in recording.describe()


def test_a_rung_on_its_main_thread_keeps_py_spy(recorder):
    fake = Fake(unseen=0.1)
    fake.install(recorder)
    recording, notes = recorder.recording(CONFIG, "r", None, "auto")
    assert (recording.profiler, notes, fake.calls) == ("py-spy", [], [("py-spy", 2)])


def test_without_perf_the_py_spy_graph_stays_with_a_note_saying_what_it_misses(recorder):
    refused = perf.refusal(
        "Error:\nAccess to performance monitoring and observability operations is limited.\n"
    )
    Fake(unseen=0.5, perf_problem=refused).install(recorder)
    recording, notes = recorder.recording(CONFIG, "r", None, "auto")
    assert recording.profiler == "py-spy"
    assert notes == [
        "50% of the process's CPU was on threads py-spy cannot see (native threads: rayon, "
        "OpenMP, std::thread), so this graph misses them; perf would record them, but perf "
        "was refused (Access to performance monitoring and observability operations is "
        "limited.): let it sample your processes: sudo sysctl kernel.perf_event_paranoid=1"
    ]


def test_py_spy_by_choice_still_says_what_it_misses(recorder):
    Fake(unseen=0.5).install(recorder)
    recording, notes = recorder.recording(CONFIG, "r", None, "py-spy")
    assert recording.profiler == "py-spy"
    assert notes[0].endswith("; --profiler auto or perf records them with Linux perf")


def test_a_short_recording_is_redone_longer_then_noted_with_the_options_to_raise(recorder):
    fake = Fake(unseen=0.0, samples=50)
    fake.install(recorder)
    _recording, notes = recorder.recording(CONFIG, "r", None, "auto")
    assert fake.calls == [("py-spy", 2), ("py-spy", 4), ("py-spy", 8)]
    assert notes == [
        "only 50 samples (at least 200 wanted) in 8 s, the longest try: raise "
        "--profile-seconds or --profile-rate"
    ]


def test_perf_missing_or_refused_is_said_with_the_fix(tmp_path):
    assert perf.problem(None) == (
        "perf is not installed: install perf (Debian: apt-get install linux-perf; Ubuntu: "
        "apt-get install linux-tools-common linux-tools-$(uname -r))"
    )
    fake = tmp_path / "perf"
    fake.write_text(
        "#!/bin/sh\necho 'Error:' >&2\n"
        "echo 'No permission to enable cpu-clock event (perf_event_paranoid setting is 3).' >&2\n"
        "exit 255\n"
    )
    fake.chmod(0o755)
    assert perf.problem(str(fake)) == (
        "perf was refused (No permission to enable cpu-clock event (perf_event_paranoid "
        "setting is 3).): let it sample your processes: sudo sysctl "
        "kernel.perf_event_paranoid=1"
    )


def test_a_refused_perf_leaves_a_threaded_rung_its_py_spy_graph_and_a_note(tmp_path, monkeypatch):
    refusing = tmp_path / "bin" / "perf"
    refusing.parent.mkdir()
    refusing.write_text("#!/bin/sh\necho 'Error: perf_event_paranoid is 4' >&2\nexit 1\n")
    refusing.chmod(0o755)
    monkeypatch.setenv("PATH", f"{refusing.parent}{os.pathsep}{os.environ['PATH']}")
    # py-spy sees little of such a rung (its main thread mostly waits): once is enough.
    monkeypatch.setattr(profiling, "RETRY_FACTORS", ())
    recorder = profiling.Recorder(ROOT, 1, 200)
    assert recorder.perf == str(refusing)
    out = tmp_path / "out"
    profile = recorder.profile(CONFIG, "match_points", "The array API.", out, THREADED)
    # py-spy's graph, if it took any samples at all (a few dozen a second of a thread
    # that mostly waits for the others), and notes: too few samples, and why.
    assert profile.recording is None or profile.recording.profiler == "py-spy"
    (note,) = [note for note in profile.notes if "threads py-spy cannot see" in note]
    assert "of the process's CPU was on threads py-spy cannot see" in note
    assert note.endswith(
        "perf was refused (perf_event_paranoid is 4): let it sample your "
        "processes: sudo sysctl kernel.perf_event_paranoid=1"
    )
    block = profiling.section(tmp_path, [profile], {})["blocks"][0]
    assert note in block["text"]
    assert block["notes"] == list(profile.notes)
    assert (out / "match_points.svg").is_file()


def test_a_rung_whose_harness_fails_gets_a_note_not_an_exception(tmp_path):
    recorder = profiling.Recorder(ROOT, 1, 100)
    size = {"n_polygons": -1, "n_points": 10}  # the workload factory refuses it
    profile = recorder.profile(CONFIG, "v1", "", tmp_path, size)
    assert profile.recording is None
    assert profile.notes == (
        "the harness failed on v1: ValueError: sizes must be non-negative, got "
        "n_polygons=-1 and n_points=10",
    )
    assert "No flamegraph of v1:" in (tmp_path / "v1.svg").read_text()
    assert "ValueError: sizes must be non-negative" in (tmp_path / "v1.svg").read_text()
    block = profiling.section(tmp_path, [profile], {})["blocks"][0]
    assert block["links"] == []
    assert block["flamegraph"] == "v1.svg"


def fake_py_spy(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-py-spy"
    script.write_text(f"#!{sys.executable}\nimport sys\n{body}")
    script.chmod(0o755)
    return str(script)


CANNED = """
output = sys.argv[sys.argv.index("--output") + 1]
with open(output, "w") as folded:
    folded.write("main (h.py:1);run_calls (ladder_bench/harness.py:81);"
                 "prepare.<locals>.<lambda> (ladder_bench/harness.py:70);f (v1.py:2) {inside}\\n")
    folded.write("main (h.py:1);prepare (ladder_bench/harness.py:60) {outside}\\n")
"""


def test_where_py_spy_may_not_attach_it_records_from_the_start_and_says_so(tmp_path):
    recorder = profiling.Recorder(ROOT, 1, 100)
    recorder.py_spy = fake_py_spy(
        tmp_path,
        'if "--pid" in sys.argv:\n    sys.exit("Error: Permission Denied")\n'
        + CANNED.format(inside=280, outside=20),
    )
    profile = recorder.profile(CONFIG, "match_points", "The array API.", tmp_path / "out")
    assert not profile.recording.attached
    assert profile.describe() == (
        "300 samples (py-spy at 100 Hz); 280 of them (93%) inside the rung's call, which "
        "the graph shows; the other 20, in the harness's timing loop around it, are not "
        "shown (py-spy could not attach, so it recorded the child from its start)"
    )
    section = profiling.section(tmp_path, [profile], {})
    assert "could not attach" in section["intro"]
    assert section["blocks"][0]["attached"] is False


def test_a_recording_mostly_outside_the_measured_calls_gets_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(profiling, "RETRY_FACTORS", ())
    recorder = profiling.Recorder(ROOT, 1, 100)
    recorder.py_spy = fake_py_spy(tmp_path, CANNED.format(inside=100, outside=200))
    profile = recorder.profile(CONFIG, "match_points", "", tmp_path / "out")
    assert profile.recording.call_share == pytest.approx(1 / 3)
    assert profile.notes == (
        "only 33% of the samples in the measured calls (at least 90% wanted) in 1 s, the "
        "longest try: raise --profile-seconds or --profile-rate",
    )


def test_a_crashing_profiler_is_a_note(tmp_path):
    recorder = profiling.Recorder(ROOT, 1, 100)
    recorder.py_spy = fake_py_spy(tmp_path, 'sys.exit("Error: segmentation fault")\n')
    profile = recorder.profile(CONFIG, "match_points", "", tmp_path / "out")
    assert profile.notes == ("py-spy failed on match_points: Error: segmentation fault",)


def test_programs_are_found_beside_the_interpreter_not_on_path_alone(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    program = venv / "bin" / "some-profiler"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    completed = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "from ladder_bench import tools; print(tools.find('some-profiler'))",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "ladder-bench")},
    )
    # The virtualenv's bin/, not where its python's symbolic link leads.
    assert completed.stdout.strip() == str(program)


@pytest.mark.parametrize(
    ("option", "value"), [("--profile-seconds", "0"), ("--profile-rate", "fast")]
)
def test_profiling_options_are_checked_before_any_work(option, value):
    completed = subprocess.run(
        [sys.executable, "-m", "ladder_bench", "bench", option, value],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1
    assert f"argument {option}:" in completed.stderr


def test_a_rayon_rungs_graph_is_mostly_its_worker_function(tmp_path):
    """The array API's points are matched on rayon's threads, which py-spy cannot see:
    perf records them, and most of the graph is the grid query they run."""
    recorder = profiling.Recorder(ROOT, 2, 200)
    if (problem := recorder.perf_problem()) is not None:
        pytest.skip(problem)
    profile = recorder.profile(CONFIG, "match_points", "The array API.", tmp_path, THREADED)
    recording = profile.recording
    assert recording.profiler == "perf", profile.describe()
    assert recording.unseen_share > profiling.UNSEEN_SHARE
    worker_share = profiling.share_of(recording.folded, WORKER_FUNCTION)
    assert worker_share >= 0.5, profile.describe()
    assert recording.call_share >= worker_share
    svg = (tmp_path / "match_points.svg").read_text()
    assert "match_points [worker threads]" in svg
    # As the SVG holds it: a share over 99% is written ">99%", which XML escapes.
    assert escape(recording.subtitle()) in svg
    speedscope = json.loads((tmp_path / "match_points.speedscope.json").read_text())
    shown = sum(speedscope["profiles"][0]["weights"]) * recording.rate
    # Before Python 3.13 the main thread's samples are shown too, apart (at_least).
    assert shown == pytest.approx(recording.samples if recording.at_least else recording.in_call)


def test_each_pipeline_flamegraph_states_its_share_inside_the_call(smoke_profiles):
    section = json.loads((smoke_profiles / "sections" / "flamegraphs.json").read_text())
    assert section["blocks"]
    for block in section["blocks"]:
        rung = block["id"]
        folded = (smoke_profiles / "flamegraphs" / f"{rung}.folded").read_text()
        # Python-only or single-threaded rungs: py-spy, attached to the ready child.
        assert (block["profiler"], block["notes"]) == ("py-spy", []), rung
        assert block["measured_share"] == profiling.measured_share(folded) >= 0.9, rung
        assert block["call_share"] == profiling.share_of(folded, profiling.CALL_FRAME), rung
        inside = round(block["call_share"] * block["samples"])
        assert (
            f"{inside} of them ({flamegraph.percent(block['call_share'])}) inside the rung's call"
            in (block["text"])
        )
        svg = (smoke_profiles / "flamegraphs" / f"{rung}.svg").read_text()
        assert f"Shown: the rung's call, {inside:,} of {block['samples']:,} samples" in svg
