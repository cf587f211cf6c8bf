"""Flamegraphs of every rung: py-spy, or Linux perf where the rung's work runs on threads
py-spy cannot see.

Each recording is of the harness's child (``python -m ladder_bench.harness``) calling the
rung for S seconds. The child builds the workload and warms up first, then says it is
ready, and only then does the profiler attach to it (``--pid``) for S whole seconds: the
graph is of the measured calls, not of interpreter start-up and imports. Where py-spy
may not attach (permission denied), it runs the child itself instead, from the start,
and the output says so.

Which profiler, decided by measurement (``--profiler auto``, the default): py-spy
``--native --threads`` records first, while the CPU time of each of the child's threads
is read from ``/proc/<pid>/task/*/stat`` before and after. py-spy samples only threads
that hold a Python thread state; where the threads it did not sample (rayon's, OpenMP's,
``std::thread``'s) used more than UNSEEN_SHARE of the process's CPU, the rung is recorded
again with perf (``ladder_bench.perf``), which samples every thread: their stacks hang
under ``<rung> [worker threads]``. Where perf is missing or refused, the py-spy graph
stays, with a note saying how much it misses and how to enable perf. ``--profiler
py-spy`` or ``perf`` makes every rung use one.

The share each graph states is of the samples inside the rung's own call (the harness's
``prepare.<locals>.<lambda>``), not the harness's timing loop around it; with perf, every
worker thread's samples count as inside (the harness has no threads of its own), and on
Python before 3.13, where perf cannot name Python frames, the main thread's are left out:
the share is then a lower bound. A recording with fewer than MIN_SAMPLES samples (or,
from py-spy, under MEASURED_SHARE of them in the timing loop) is redone longer; one still
short, a profiler that fails, or a rung whose harness child fails, gets a note under its
graph and in the output instead of ending the run.

``--native`` names the Rust frames because the release profile keeps debug info. Each
recording is cleaned (``frames.clean``: demangled, paths made relative) and written as
``<rung>.folded``, every frame kept; ``<rung>.svg`` (an icicle graph drawn by inferno:
the root at the top, each function's callees below it) and ``<rung>.speedscope.json``
show the rung's call only, one box per function, native code tagged with its library
(``ladder_bench.flamegraph``).
"""

import contextlib
import html
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import cli, config, flamegraph, frames, harness, perf, tools

MIN_SAMPLES = 200
MEASURED_SHARE = 0.9
# Above this share of the process's CPU on threads py-spy cannot see, its graph would
# miss too much of the rung: perf records it instead.
UNSEEN_SHARE = 0.2
# The child calls for this much longer than the profiler records: the profiler takes a
# moment to start and attach, and must not find the calls over before its seconds are.
ATTACH_MARGIN_SECONDS = 1
# How long a child may take to finish after its recording (to print its reply and exit).
FINISH_SECONDS = 60
RETRY_FACTORS = (2, 4)  # a short recording is redone this many times longer, in turn
MEASURED_FRAME = harness.run_calls.__qualname__  # the harness's timing loop
CALL_FRAME = "prepare.<locals>.<lambda>"  # the rung's call, as harness.prepare makes it
PROFILERS = config.PROFILERS
PERMISSION_DENIED = re.compile(r"permission denied|operation not permitted", re.IGNORECASE)
FIX = "raise --profile-seconds or --profile-rate"


class ProfilingError(RuntimeError):
    """A rung that could not be recorded at all, said in one line."""


def add_options(parser) -> None:
    """``ladder-bench bench``'s profiling options."""
    parser.add_argument(
        "--profile-seconds",
        type=cli.positive_int,
        metavar="S",
        help="whole seconds per flamegraph recording (default 2 with --quick, else 4)",
    )
    parser.add_argument(
        "--profile-rate",
        type=cli.positive_int,
        metavar="HZ",
        help="samples per second (default 200 with --quick, else 100)",
    )
    parser.add_argument(
        "--profiler",
        choices=PROFILERS,
        help="py-spy, or perf, for every rung; auto: py-spy, and perf where threads py-spy "
        f"cannot see use over {UNSEEN_SHARE:.0%}% of the CPU (default: a rung's own "
        "`profiler` key, else auto)",
    )


@dataclass(frozen=True)
class Recording:
    folded: str  # cleaned folded stacks
    profiler: str  # "py-spy" or "perf"
    seconds: int
    samples: int
    call_share: float  # of the samples inside the rung's call
    at_least: bool = False  # call_share leaves out samples it cannot place (perf, Python < 3.13)
    measured_share: float | None = None  # in the timing loop (py-spy's, else None)
    attached: bool = True  # False: py-spy could not attach and ran the child from the start
    unseen_share: float | None = None  # of the CPU, on threads py-spy cannot see (None: unread)
    rate: int | None = None  # samples a second asked for (None: not known)

    @property
    def in_call(self) -> int:
        """The samples inside the rung's call (the graph shows these)."""
        return round(self.call_share * self.samples)

    def share_text(self) -> str:
        return f"{'at least ' if self.at_least else ''}{flamegraph.percent(self.call_share)}"

    def _recorded_with(self) -> str:
        return self.profiler + (f" at {self.rate} Hz" if self.rate else "")

    def subtitle(self) -> str:
        """The flamegraph's subtitle: what it shows and what it leaves out."""
        rest = self.samples - self.in_call
        if self.at_least:
            return (
                f"The rung's worker threads: {self.in_call:,} of {self.samples:,} samples "
                f"({self.share_text()}); the main thread's {rest:,} under "
                f"{flamegraph.MAIN_THREAD}. Recorded with {self._recorded_with()}."
            )
        shown = (
            f"Shown: the rung's call, {self.in_call:,} of {self.samples:,} samples "
            f"({flamegraph.percent(self.call_share)})."
        )
        left_out = f" Not shown: {rest:,} in the harness's timing loop." if rest else ""
        return f"{shown}{left_out} Recorded with {self._recorded_with()}."

    def describe(self) -> str:
        profiler = self._recorded_with()
        if self.profiler == "perf" and self.unseen_share is not None:
            profiler += f", as {self.unseen_share:.0%} of the CPU was on threads py-spy cannot see"
        rest = self.samples - self.in_call
        text = (
            f"{self.samples} samples ({profiler}); {self.in_call} of them ({self.share_text()}) "
            "inside the rung's call, which the graph shows"
        )
        if self.at_least:
            text = (
                f"{self.samples} samples ({profiler}); at least {self.in_call} of them "
                f"({flamegraph.percent(self.call_share)}) inside the rung's call: its worker "
                "threads. perf names "
                f"no Python frames before Python 3.13, so the main thread's {rest} are the "
                "rung's call and the harness's loop together, shown under "
                f"`{flamegraph.MAIN_THREAD}`"
            )
        elif rest:
            verb = "is" if rest == 1 else "are"
            text += f"; the other {rest}, in the harness's timing loop around it, {verb} not shown"
        if not self.attached:
            text += " (py-spy could not attach, so it recorded the child from its start)"
        return text

    def shortfall(self) -> str | None:
        """What makes this recording too short to trust, or None."""
        if self.samples < MIN_SAMPLES:
            return f"only {self.samples} samples (at least {MIN_SAMPLES} wanted)"
        if self.measured_share is not None and self.measured_share < MEASURED_SHARE:
            return (
                f"only {self.measured_share:.0%} of the samples in the measured calls "
                f"(at least {MEASURED_SHARE:.0%} wanted)"
            )
        return None


@dataclass(frozen=True)
class Profile:
    rung: str
    files: dict[str, Path]  # "flamegraph", and with a recording "speedscope", "folded"
    recording: Recording | None  # None: nothing could be recorded (the notes say why)
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = [self.recording.describe() if self.recording else "no flamegraph"]
        return "; ".join([*parts, *self.notes])


class Recorder:
    """Records rungs with one set of programs and settings (see the module's doc)."""

    def __init__(
        self,
        workspace: Path,
        seconds: int,
        rate: int,
        profiler: str = "auto",
        python: str = sys.executable,
        options: tuple[str, ...] = (),
        fix: str = FIX,
    ):
        self.workspace, self.seconds, self.rate = workspace, seconds, rate
        self.profiler, self.python, self.options, self.fix = profiler, python, options, fix
        self.py_spy = tools.find("py-spy", workspace)
        self.perf = tools.find("perf", workspace)
        self._perf_problem: list[str | None] = []  # asked once, when first needed
        self.rustfilt = tools.rustfilt(workspace)

    def profile(
        self,
        config_path: Path,
        rung: str,
        summary: str,
        out_dir: Path,
        size: dict | None = None,
        profiler: str | None = None,
    ) -> Profile:
        """Record ``rung`` (on the workload of ``size``, default its default size) and
        write its flamegraph, speedscope profile and folded stacks into ``out_dir``; a
        problem is a note on the Profile, not an exception."""
        out_dir.mkdir(parents=True, exist_ok=True)
        try:
            recording, notes = self.recording(config_path, rung, size, profiler or self.profiler)
        except (ProfilingError, perf.PerfError) as error:
            return unrecorded(rung, out_dir, str(error))
        if recording.samples == 0:
            return unrecorded(rung, out_dir, f"no samples of {rung}", *notes)
        return Profile(
            rung, draw(self.workspace, recording, rung, summary, out_dir), recording, tuple(notes)
        )

    def recording(self, config_path, rung, size, profiler) -> tuple[Recording, list[str]]:
        """The recording to draw and the notes on it."""
        if profiler == "perf":
            return self._enough(
                lambda seconds: self.perf_recording(config_path, rung, size, seconds)
            )
        first = self.py_spy_recording(config_path, rung, size, self.seconds)
        notes = []
        unseen = first.unseen_share
        if unseen is not None and unseen > UNSEEN_SHARE:
            missing = (
                f"{unseen:.0%} of the process's CPU was on threads py-spy cannot see "
                "(native threads: rayon, OpenMP, std::thread), so this graph misses them"
            )
            if profiler == "auto":
                reason = self.perf_problem()
                if reason is None:
                    try:
                        return self._enough(
                            lambda s: self.perf_recording(config_path, rung, size, s, unseen)
                        )
                    except (ProfilingError, perf.PerfError) as error:
                        reason = str(error)
                notes.append(f"{missing}; perf would record them, but {reason}")
            else:
                notes.append(f"{missing}; --profiler auto or perf records them with Linux perf")
        recording, short = self._enough(
            lambda seconds: self.py_spy_recording(config_path, rung, size, seconds), first
        )
        return recording, notes + short

    def perf_problem(self) -> str | None:
        if not self._perf_problem:
            self._perf_problem.append(perf.problem(self.perf))
        return self._perf_problem[0]

    def _enough(self, attempt: Callable[[int], Recording], first: Recording | None = None):
        """A recording long enough (longer and longer), or the longest, with a note."""
        recording = first or attempt(self.seconds)
        for factor in RETRY_FACTORS:
            if recording.shortfall() is None:
                return recording, []
            recording = attempt(self.seconds * factor)
        short = recording.shortfall()
        if short is None:
            return recording, []
        fix = f": {self.fix}" if self.fix else ""
        return recording, [f"{short} in {recording.seconds} s, the longest try{fix}"]

    def py_spy_recording(self, config_path, rung, size, seconds) -> Recording:
        """py-spy ``--native --threads`` on a ready child, and the share of the CPU on the
        threads it did not sample."""
        if self.py_spy is None:
            raise ProfilingError(
                f"py-spy is not installed beside {self.python}, nor on PATH: pip install py-spy"
            )
        request = _request(config_path, rung, size, seconds)
        with tempfile.TemporaryDirectory() as scratch:
            raw = Path(scratch) / "raw.folded"
            command = [
                self.py_spy,
                "record",
                "--native",
                "--threads",
                "--format",
                "raw",
                "--rate",
                str(self.rate),
                "--output",
                str(raw),
                *self.options,
            ]
            attached, unseen = self._py_spy_attached(command, request, rung)
            if not attached:
                completed = subprocess.run(
                    [*command, "--", *harness.child_command(self.python, request)],
                    capture_output=True,
                    text=True,
                    env=harness.bench_environ(),
                )
                _check(completed, "py-spy", rung)
            # No file: py-spy took no samples (a rung on threads it cannot see, say).
            stacks, _ = frames.by_thread(raw.read_text() if raw.is_file() else "")
            folded = frames.clean(stacks, self.rustfilt, self.workspace)
        samples = _samples(folded)
        return Recording(
            folded,
            "py-spy",
            seconds,
            samples,
            share_of(folded, CALL_FRAME),
            measured_share=share_of(folded, MEASURED_FRAME),
            attached=attached,
            unseen_share=unseen,
            rate=self.rate,
        )

    def _py_spy_attached(self, command, request, rung) -> tuple[bool, float | None]:
        """py-spy attached to a ready child: (True, the share of the CPU on threads it
        did not sample), or (False, None) if the system does not let it attach."""
        seconds = request["seconds"]
        with _ready_child(self.python, request, rung) as child:
            before = thread_cpu(child.pid)
            completed = subprocess.run(
                [*command, "--pid", str(child.pid), "--duration", str(seconds)],
                capture_output=True,
                text=True,
            )
            after = thread_cpu(child.pid)
            if completed.returncode != 0 and PERMISSION_DENIED.search(completed.stderr):
                child.kill()  # its calls are of no use now
                return False, None
            _check(completed, "py-spy", rung)
        raw = Path(command[command.index("--output") + 1])
        _, seen = frames.by_thread(raw.read_text()) if raw.is_file() else ("", {})
        # The main thread holds a Python thread state, idle (and so unsampled) or not.
        return True, unseen_share(before, after, {child.pid, *seen})

    def perf_recording(self, config_path, rung, size, seconds, unseen=None) -> Recording:
        """perf on a ready child (named Python frames where this Python can)."""
        if (reason := self.perf_problem()) is not None or self.perf is None:
            raise ProfilingError(reason or "perf is not installed")
        request = _request(config_path, rung, size, seconds)
        jit = perf.jit_option()
        with tempfile.TemporaryDirectory() as scratch:
            data = Path(scratch) / "perf.data"
            with _ready_child(self.python, request, rung, jit) as child:
                perf.record(self.perf, child.pid, seconds, self.rate, data, bool(jit))
            text = perf.script(self.perf, data, child.pid, bool(jit))
        folded = perf.fold(perf.parse(text), child.pid, rung, CALL_FRAME)
        cleaned = frames.clean(folded.folded, self.rustfilt, self.workspace)
        return Recording(
            cleaned,
            "perf",
            seconds,
            folded.samples,
            folded.call_share,
            at_least=not folded.named,
            unseen_share=unseen,
            rate=self.rate,
        )


def record(
    workspace: Path,
    config_path: Path,
    rung: str,
    summary: str,
    out_dir: Path,
    seconds,
    rate,
    profiler: str = "auto",
    size: dict | None = None,
) -> Profile:
    """Record ``rung`` and draw it into ``out_dir`` (``Recorder.profile``)."""
    recorder = Recorder(workspace, seconds, rate, profiler)
    return recorder.profile(config_path, rung, summary, out_dir, size)


def record_sides(
    workspace: Path,
    pythons: dict[str, str],
    config_path: Path,
    rung: str,
    recordings: int,
    seconds: int = 2,
    rate: int = 150,
):
    """For a differential flamegraph: ``recordings`` recordings of ``rung`` with each of
    ``pythons`` (label: interpreter, another commit's virtualenv, say), interleaved
    (a b b a ...), without line numbers (the frames of two commits must match where the
    code did not change). py-spy records, unless a recording finds threads it cannot see
    doing more than UNSEEN_SHARE of the work: then perf records them all again, both
    sides alike. Their cleaned folded stacks by label, and notes (a short recording,
    threads not seen); a ProfilingError if a side could not be recorded."""
    recorders = {
        label: Recorder(workspace, seconds, rate, "auto", python, ("--nolineno",), "")
        for label, python in pythons.items()
    }
    recorded, notes, unseen = _interleaved(recorders, config_path, rung, recordings, "py-spy")
    if unseen is not None:
        reason = next(iter(recorders.values())).perf_problem()
        if reason is None:
            recorded, notes, _ = _interleaved(recorders, config_path, rung, recordings, "perf")
            notes.append(
                f"recorded with perf: {unseen:.0%} of the CPU was on threads py-spy cannot see"
            )
        else:
            notes.append(
                f"{unseen:.0%} of the CPU was on threads py-spy cannot see, which this "
                f"comparison misses (perf would see them, but {reason})"
            )
    return recorded, sorted(set(notes))


def _interleaved(recorders: dict, config_path: Path, rung: str, recordings: int, profiler: str):
    """``record_sides``' recordings with one profiler: the folded stacks by label, the
    notes, and (py-spy only, which then stops at once) the share of the CPU on threads it
    could not see where that is over UNSEEN_SHARE, else None."""
    recorded: dict[str, list[str]] = {label: [] for label in recorders}
    notes: list[str] = []
    for index in range(recordings):
        order = list(recorders.items())
        for label, recorder in order if index % 2 == 0 else order[::-1]:
            record = recorder.perf_recording if profiler == "perf" else recorder.py_spy_recording
            try:
                recording, short = recorder._enough(
                    lambda s, record=record: record(config_path, rung, None, s)
                )
            except (ProfilingError, perf.PerfError) as error:
                raise ProfilingError(f"{label}: {error}") from None
            if not frames_in_calls(recording.folded):
                raise ProfilingError(f"{label}: no samples in the measured calls")
            if profiler == "py-spy" and (recording.unseen_share or 0) > UNSEEN_SHARE:
                return recorded, notes, recording.unseen_share
            notes += [f"{label}: {note}" for note in short]
            recorded[label].append(recording.folded)
    return recorded, notes, None


def frames_in_calls(folded: str) -> bool:
    """Whether any sample is of the measured calls."""
    return any(
        frames.in_measured_calls(stack, MEASURED_FRAME) for stack, _ in frames.stacks(folded)
    )


def draw(workspace: Path, recording: Recording, rung: str, summary: str, out_dir: Path):
    """Write a recording's folded stacks (as recorded), and its speedscope profile and
    flamegraph (of the rung's call, ``flamegraph.shown``); their paths."""
    files = {
        "folded": out_dir / f"{rung}.folded",
        "speedscope": out_dir / f"{rung}.speedscope.json",
        "flamegraph": out_dir / f"{rung}.svg",
    }
    files["folded"].write_text(recording.folded)
    shown = flamegraph.shown(recording.folded, CALL_FRAME, keep_unplaced=recording.at_least)
    profile = flamegraph.speedscope(shown, f"{rung}: the rung's call", recording.rate)
    files["speedscope"].write_text(json.dumps(profile))
    _, inferno = tools.inferno(workspace)
    flamegraph.draw(
        inferno,
        shown,
        flamegraph.title(rung, summary),
        recording.subtitle(),
        files["flamegraph"],
    )
    return files


def unrecorded(rung: str, out_dir: Path, *notes: str) -> Profile:
    """The Profile of a rung that could not be recorded: in place of its flamegraph, a
    picture of the notes (the page keeps a place for every rung)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{rung}.svg"
    lines = [f"No flamegraph of {rung}:", *(line for n in notes for line in _wrapped(n, 110))]
    text = "".join(
        f'<text x="10" y="{24 + 20 * i}">{html.escape(line)}</text>' for i, line in enumerate(lines)
    )
    path.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="{20 * len(lines) + 20}" '
        f'font-family="monospace" font-size="14">{text}</svg>\n'
    )
    return Profile(rung, {"flamegraph": path}, None, notes)


def share_of(folded: str, function: str) -> float:
    """The share of the samples whose stack holds ``function``."""
    inside = total = 0
    for stack, count in frames.stacks(folded):
        total += count
        if frames.holds(stack, function):
            inside += count
    return inside / total if total else 0.0


def measured_share(folded: str) -> float:
    """The share of the samples whose stack is inside the harness's call loop."""
    return share_of(folded, MEASURED_FRAME)


def thread_cpu(pid: int) -> dict[int, int]:
    """The CPU time (user and system, in clock ticks) of each thread of ``pid`` so far;
    empty where there is no /proc."""
    ticks = {}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return {}
    for task in tasks:
        try:  # the name, in parentheses, may hold spaces: the fields are after it
            fields = (task / "stat").read_text().rpartition(")")[2].split()
        except OSError:  # the thread ended
            continue
        ticks[int(task.name)] = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks


def unseen_share(before: dict[int, int], after: dict[int, int], seen: set[int]) -> float | None:
    """The share of the CPU used between two ``thread_cpu`` readings by threads not in
    ``seen``; None if none was used (or there was nothing to read)."""
    used = {thread: ticks - before.get(thread, 0) for thread, ticks in after.items()}
    total = sum(used.values())
    if total <= 0:
        return None
    return sum(ticks for thread, ticks in used.items() if thread not in seen) / total


def section(
    out: Path, profiles: list[Profile], descriptions: dict[str, str], workload: str | None = None
) -> dict:
    """The report section of the flamegraphs; ``workload`` says what the calls worked on."""
    blocks = []
    for profile in profiles:
        recording = profile.recording
        links = [
            {
                "text": text,
                "href": profile.files[key].relative_to(out).as_posix(),
                "class": key,
                # A JSON file for speedscope.app, not to be read in the browser.
                **({"download": True} if key == "speedscope" else {}),
            }
            for key, text in (("speedscope", "speedscope profile"), ("folded", "folded stacks"))
            if key in profile.files
        ]
        blocks.append(
            {
                "flamegraph": profile.files["flamegraph"].relative_to(out).as_posix(),
                "id": profile.rung,
                "heading": f"{profile.rung}: {descriptions.get(profile.rung, '')}",
                "text": f"{profile.describe()}.",
                "profiler": recording.profiler if recording else None,
                "samples": recording.samples if recording else 0,
                "call_share": recording.call_share if recording else None,
                "call_share_is_lower_bound": bool(recording and recording.at_least),
                "measured_share": recording.measured_share if recording else None,
                "unseen_share": recording.unseen_share if recording else None,
                "attached": recording.attached if recording else None,
                "notes": list(profile.notes),
                "links": links,
            }
        )
    return {
        "id": "flamegraphs",
        "title": "Flamegraphs",
        "order": 60,
        **({"workload": workload} if workload else {}),
        "intro": _intro([p.recording for p in profiles if p.recording]),
        "blocks": blocks,
    }


def _intro(recordings: list[Recording]) -> str:
    parts = [
        "Each rung is recorded in the harness's child, attached once it has built the "
        "workload and warmed up: with py-spy `--native`, or with Linux perf (`cpu-clock`, "
        "DWARF call graphs) where threads py-spy cannot see (rayon's, OpenMP's) used over "
        f"{UNSEEN_SHARE:.0%} of the CPU; perf puts those threads under `<rung> [worker "
        "threads]`. Each graph shows the samples inside the rung's own call, and its "
        "subtitle and the note under it count them and the ones left out: the harness's "
        "timing loop around the call."
    ]
    if any(not r.attached for r in recordings):
        parts.append(
            "Where py-spy could not attach it started the child itself (the note says so), "
            "so some samples are of the start-up."
        )
    if any(r.at_least for r in recordings):
        parts.append(
            "On this Python (before 3.13) perf shows the main thread's Python code as the "
            "interpreter's C functions (`_PyEval_EvalFrameDefault`), so its share counts "
            "the worker threads only, a lower bound, and the main thread's samples hang "
            f"apart under `{flamegraph.MAIN_THREAD}`."
        )
    parts.append(
        "Icicle graphs drawn by inferno: the top row is the rung's call, each box below is "
        "a function, its width the share of those samples in which it was on the stack, "
        "and each function's callees hang below it. A function is one box whatever its "
        "line; hover over it for its lines' shares. Native code is tagged with its "
        "library (`array_subtract [numpy]`, `malloc [libc]`); Rust names are demangled. "
        f"`{flamegraph.UNKNOWN_SHOWN}` is where py-spy lost the native stack (hover for "
        "more). Click to zoom, Ctrl-F (or Search) to highlight a function. The speedscope "
        "profile (times in seconds) opens in https://www.speedscope.app (drop the file on "
        "it: it is read in your browser, not uploaded)."
    )
    return " ".join(parts)


def _request(config_path: Path, rung: str, size: dict | None, seconds: int) -> dict:
    request = {"config": str(config_path), "rungs": [rung], "seconds": seconds}
    if size is not None:
        request["size"] = size
    return request


@contextlib.contextmanager
def _ready_child(python: str, request: dict, rung: str, options: Sequence[str] = ()):
    """A harness child serving ``request`` (a few seconds longer), once it says it is
    ready; on leaving, it has finished (a ProfilingError if it failed) or been ended."""
    request = {**request, "ready": True, "seconds": request["seconds"] + ATTACH_MARGIN_SECONDS}
    command = harness.child_command(python, request)
    with tempfile.TemporaryDirectory() as scratch:
        # Files, not pipes: a rung that prints would fill a pipe no one reads while the
        # profiler runs, and stop there. The reply lists every call's time: long too.
        stdout, stderr = Path(scratch) / "stdout", Path(scratch) / "stderr"
        with stdout.open("w") as out, stderr.open("w") as err:
            child = subprocess.Popen(
                [command[0], *options, *command[1:]],
                stdout=out,
                stderr=err,
                text=True,
                env=harness.bench_environ(),
                # As the timing and check children: in an empty folder, so the build
                # imported is the installed one, never a package the current folder holds.
                cwd=scratch,
            )
        try:
            while harness.READY not in stdout.read_text().splitlines():
                if child.poll() is not None:
                    raise ProfilingError(
                        f"the harness failed on {rung}: {_last_line(stderr.read_text())}"
                    )
                time.sleep(0.02)
            yield child
            try:
                child.wait(timeout=FINISH_SECONDS)
            except subprocess.TimeoutExpired:
                raise ProfilingError(
                    f"the harness did not finish {rung}'s calls {FINISH_SECONDS} s after "
                    "their time was up"
                ) from None
            if child.returncode not in (0, -9):  # -9: ended here (py-spy could not attach)
                raise ProfilingError(
                    f"the harness failed on {rung} while profiled: {_last_line(stderr.read_text())}"
                )
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()


def _last_line(text: str) -> str:
    """The last line that says something: a traceback's exception."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def _check(completed: subprocess.CompletedProcess, program: str, rung: str) -> None:
    if completed.returncode != 0:
        raise ProfilingError(
            f"{program} failed on {rung}: {_last_line(completed.stderr or completed.stdout)}"
        )


def _samples(folded: str) -> int:
    return sum(count for _, count in frames.stacks(folded))


def _wrapped(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line]
