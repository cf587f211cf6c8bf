"""py-spy flamegraphs of every rung: ``py-spy record --native`` on the harness's child
(``python -m ladder_bench.harness``) calling the rung for S seconds.

The child builds the workload and warms up first, then says it is ready, and only then
does py-spy attach to it (``--pid``) for S whole seconds: the graph is of the measured
calls, not of interpreter start-up and imports. Where py-spy may not attach (permission
denied), it runs the child itself instead, from the start, and the output says so.
Either way at least MEASURED_SHARE of the samples must be inside the harness's calls,
and at least MIN_SAMPLES samples: a recording short of either is redone longer, and a
rung still short fails.

``--native`` names the Rust frames because the release profile keeps debug info. Each
rung is recorded once, as folded stacks, which ``frames.clean`` demangles and tidies;
from those cleaned stacks come ``<rung>.folded``, ``<rung>.speedscope.json`` and
``<rung>.svg``, an icicle graph drawn by inferno (the root at the top, each function's
callees below it).
"""

import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import frames, harness, tools

MIN_SAMPLES = 200
MEASURED_SHARE = 0.9
# The child calls for this much longer than py-spy records: py-spy takes a moment to
# start and attach, and must not find the calls over before its seconds are.
ATTACH_MARGIN_SECONDS = 1
TITLE_CHARACTERS = 80
MEASURED_FRAME = harness.run_calls.__qualname__
PERMISSION_DENIED = re.compile(r"permission denied|operation not permitted", re.IGNORECASE)


@dataclass(frozen=True)
class Recording:
    folded: str  # cleaned folded stacks
    samples: int
    share: float  # of the samples inside the harness's measured calls
    attached: bool  # False: py-spy could not attach and ran the child from the start

    def describe(self) -> str:
        text = f"{self.samples} samples, {self.share:.0%} in the measured calls"
        if not self.attached:
            text += " (py-spy could not attach, so it recorded the child from its start)"
        return text


@dataclass(frozen=True)
class Profile:
    rung: str
    files: dict[str, Path]  # "flamegraph", "speedscope", "folded" -> file
    recording: Recording


def record(
    workspace: Path, config_path: Path, rung: str, summary: str, out_dir: Path, seconds, rate
) -> Profile:
    """Record ``rung`` once, and write its cleaned folded stacks, speedscope profile and
    flamegraph into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    recording = _record(workspace, sys.executable, config_path, rung, seconds, rate)
    files = {
        "folded": out_dir / f"{rung}.folded",
        "speedscope": out_dir / f"{rung}.speedscope.json",
        "flamegraph": out_dir / f"{rung}.svg",
    }
    files["folded"].write_text(recording.folded)
    files["speedscope"].write_text(json.dumps(folded_to_speedscope(recording.folded, rung)))
    _, flamegraph = tools.inferno(workspace)
    with files["flamegraph"].open("w") as svg:
        # --inverted: an icicle graph, whose root stays in sight at the top of the page's
        # frame however deep the stacks; --deterministic: a function keeps its colour.
        subprocess.run(
            [flamegraph, "--inverted", "--deterministic",
             "--title", title(rung, summary, recording.samples),
             "--subtitle", f"{recording.share:.0%} of the samples in the measured calls"],
            input=recording.folded, stdout=svg, text=True, check=True,
        )  # fmt: skip
    return Profile(rung, files, recording)


def record_folded(workspace: Path, python: str, config_path: Path, rung: str, seconds, rate):
    """Cleaned folded stacks of ``rung`` run by ``python`` (another commit's virtualenv,
    say), without line numbers: the frames of two commits must match where the code did
    not change."""
    return _record(workspace, python, config_path, rung, seconds, rate, "--nolineno")


def title(rung: str, summary: str, samples: int) -> str:
    """The flamegraph's title: the rung, what it changed (cut short with an ellipsis to
    fit in TITLE_CHARACTERS) and the sample count."""
    head, tail = f"{rung}: ", f" ({samples} samples)"
    room = TITLE_CHARACTERS - len(head) - len(tail)
    if len(summary) > room:
        summary = summary[: room - 1].rstrip() + "…"
    return f"{head}{summary}{tail}"


def measured_share(folded: str) -> float:
    """The share of the samples whose stack is inside the harness's call loop."""
    inside = total = 0
    for stack, count in frames.stacks(folded):
        total += count
        if frames.holds(stack, MEASURED_FRAME):
            inside += count
    return inside / total if total else 0.0


def section(out: Path, profiles: list[Profile], descriptions: dict[str, str]) -> dict:
    """The report section of the flamegraphs."""
    blocks = []
    for profile in profiles:
        svg, speedscope, folded = (
            profile.files[key].relative_to(out).as_posix()
            for key in ("flamegraph", "speedscope", "folded")
        )
        blocks.append({
            "flamegraph": svg,
            "id": profile.rung,
            "heading": f"{profile.rung}: {descriptions.get(profile.rung, '')}",
            "text": f"{profile.recording.describe()}.",
            "samples": profile.recording.samples,
            "measured_share": profile.recording.share,
            "attached": profile.recording.attached,
            "links": [
                {"text": "speedscope profile", "href": speedscope, "class": "speedscope"},
                {"text": "folded stacks", "href": folded, "class": "folded"},
            ],
        })  # fmt: skip
    recorded = (
        "attached once the workload is built and warmed up, so nearly every sample is of "
        "the measured calls (`run_calls`)"
        if all(profile.recording.attached for profile in profiles)
        else "started by py-spy where it could not attach (the note under a graph says so), "
        "so at least "
        f"{MEASURED_SHARE:.0%} rather than nearly every sample is of the measured calls "
        "(`run_calls`)"
    )
    return {
        "id": "flamegraphs",
        "title": "Flamegraphs",
        "order": 60,
        "intro": f"py-spy `--native` on the harness calling each rung, {recorded}. "
        "Icicle graphs drawn by inferno: each box is a function, its width "
        "the share of samples in which it was on the stack; the root is at the top and each "
        "function's callees hang below it. Rust names are demangled and file paths are "
        "relative to the repository or site-packages. Click to zoom, Ctrl-F (or the Search "
        "button) to highlight a function. To explore a speedscope file, drop it on "
        "https://www.speedscope.app (read in your browser, not uploaded).",
        "blocks": blocks,
    }


def _record(workspace, python, config_path, rung, seconds, rate, *options) -> Recording:
    """Record, and record longer if a busy machine left py-spy short of MIN_SAMPLES (it
    samples on a timer: a starved CPU takes fewer samples per second) or if too few of
    the samples were in the measured calls."""
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        raise RuntimeError("py-spy is not installed: pip install py-spy")
    rustfilt = tools.rustfilt(workspace)
    attach = True
    for attempt_seconds in (seconds, 2 * seconds, 4 * seconds):
        request = {"config": str(config_path), "rungs": [rung], "seconds": attempt_seconds}
        with tempfile.TemporaryDirectory() as scratch:
            raw = Path(scratch) / "raw.folded"
            command = [py_spy, "record", "--native", "--format", "raw", "--rate", str(rate),
                       "--output", str(raw), *options]  # fmt: skip
            if attach:
                attach = _attached(command, python, request, rung)
            if not attach:
                _spawned(command, python, request, rung)
            folded = frames.clean(raw.read_text(), rustfilt, workspace)
        recording = Recording(folded, _samples(folded), measured_share(folded), attach)
        if recording.samples >= MIN_SAMPLES and recording.share >= MEASURED_SHARE:
            return recording
    raise RuntimeError(
        f"py-spy took {recording.samples} samples of {rung} in {attempt_seconds} s, "
        f"{recording.share:.1%} of them in the measured calls; at least {MIN_SAMPLES} and "
        f"{MEASURED_SHARE:.0%} are needed: raise --seconds or the rate"
    )


def _attached(command: list[str], python: str, request: dict, rung: str) -> bool:
    """py-spy attached to a ready child for the request's seconds: True, or False if
    the system does not let it attach (nothing recorded then)."""
    seconds = request["seconds"]
    request = {**request, "ready": True, "seconds": seconds + ATTACH_MARGIN_SECONDS}
    child = subprocess.Popen(
        harness.child_command(python, request), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=harness.bench_environ(),
    )  # fmt: skip
    try:
        if child.stdout.readline().strip() != harness.READY:
            raise RuntimeError(f"the harness failed on {rung}:\n{''.join(child.communicate())}")
        completed = subprocess.run(
            [*command, "--pid", str(child.pid), "--duration", str(seconds)],
            capture_output=True, text=True,
        )  # fmt: skip
        if completed.returncode != 0 and PERMISSION_DENIED.search(completed.stderr):
            return False
        _, stderr = child.communicate()
    finally:
        if child.poll() is None:  # attaching was denied (or interrupted): calls of no use
            child.kill()
            child.wait()
    _check(completed, rung)
    if child.returncode != 0:
        raise RuntimeError(f"the harness failed on {rung} while profiled:\n{stderr}")
    return True


def _spawned(command: list[str], python: str, request: dict, rung: str) -> None:
    """py-spy running the child itself, from its start."""
    completed = subprocess.run(
        [*command, "--", *harness.child_command(python, request)],
        capture_output=True, text=True, env=harness.bench_environ(),
    )  # fmt: skip
    _check(completed, rung)


def _check(completed: subprocess.CompletedProcess, rung: str) -> None:
    if completed.returncode != 0:
        raise RuntimeError(f"py-spy failed on {rung}:\n{completed.stdout}{completed.stderr}")


def _samples(folded: str) -> int:
    return sum(count for _, count in frames.stacks(folded))


def folded_to_speedscope(folded: str, name: str) -> dict:
    """Folded stacks (``frame;frame;frame count`` per line) as a speedscope "sampled"
    profile (https://www.speedscope.app/file-format-schema.json)."""
    indices: dict[str, int] = {}
    samples, weights = [], []
    for stack, count in frames.stacks(folded):
        samples.append([indices.setdefault(frame, len(indices)) for frame in stack])
        weights.append(count)
    return {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": [{"name": frame} for frame in indices]},
        "profiles": [
            {
                "type": "sampled",
                "name": name,
                "unit": "none",
                "startValue": 0,
                "endValue": sum(weights),
                "samples": samples,
                "weights": weights,
            }
        ],
        "name": name,
        "exporter": "ladder_bench.profiling",
    }
