"""py-spy flamegraphs of every rung: ``py-spy record --native`` on the harness's child
(``python -m ladder_bench.harness``) calling the rung for S seconds.

py-spy runs the measured Python process itself (no shell or tox in between, which it
could not see through without ``--subprocesses``). ``--native`` names the Rust frames
because the release profile keeps debug info. py-spy writes one format per recording,
so each rung is recorded twice: an interactive SVG flamegraph, and folded stacks (one
line per stack, for diffing and other tools), which are also converted to a speedscope
profile.
"""

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import harness

FORMATS = {"flamegraph": ".svg", "raw": ".folded"}
MIN_SAMPLES = 200


@dataclass(frozen=True)
class Profile:
    rung: str
    files: dict[str, Path]  # py-spy format -> file
    samples: dict[str, int]  # py-spy format -> samples in that recording


def record(config_path: Path, rung: str, out_dir: Path, seconds: float, rate: int) -> Profile:
    """Record ``rung`` in every format into ``out_dir``; fail if a recording has fewer
    than MIN_SAMPLES samples."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files, samples = {}, {}
    for py_spy_format, suffix in FORMATS.items():
        path = out_dir / f"{rung}{suffix}"
        samples[py_spy_format] = _py_spy(
            sys.executable, config_path, rung, py_spy_format, path, seconds, rate
        )
        files[py_spy_format] = path
    files["speedscope"] = out_dir / f"{rung}.speedscope.json"
    files["speedscope"].write_text(json.dumps(folded_to_speedscope(files["raw"].read_text(), rung)))
    return Profile(rung, files, samples)


def record_folded(python: str, config_path: Path, rung: str, path: Path, seconds, rate) -> int:
    """Folded stacks of ``rung`` run by ``python`` (another commit's virtualenv, say),
    without line numbers: the frames of two commits must match where the code did not
    change. Returns the number of samples."""
    return _py_spy(python, config_path, rung, "raw", path, seconds, rate, "--nolineno")


def section(out: Path, profiles: list[Profile], descriptions: dict[str, str]) -> dict:
    """The report section of the flamegraphs."""
    blocks = []
    for profile in profiles:
        svg, speedscope, folded = (
            profile.files[key].relative_to(out).as_posix()
            for key in ("flamegraph", "speedscope", "raw")
        )
        blocks.append({
            "flamegraph": svg,
            "id": profile.rung,
            "heading": f"{profile.rung}: {descriptions.get(profile.rung, '')}",
            "text": f"{profile.samples['flamegraph']} samples.",
            "links": [
                {"text": "speedscope profile", "href": speedscope, "class": "speedscope"},
                {"text": "folded stacks", "href": folded, "class": "folded"},
            ],
        })  # fmt: skip
    return {
        "id": "flamegraphs",
        "title": "Flamegraphs",
        "order": 60,
        "intro": "py-spy `--native` on the harness calling each rung. Each box is a function; "
        "its width is the share of samples in which it was on the stack; the root is at the top "
        "and each function's callees hang below it. "
        "Click to zoom, Ctrl-F (or the Search button) to highlight a function. To explore a "
        "speedscope file, drop it on https://www.speedscope.app (read in your browser, not "
        "uploaded).",
        "blocks": blocks,
    }


def _py_spy(python, config_path, rung, py_spy_format, path, seconds, rate, *options) -> int:
    """Record, and record longer if a busy machine left py-spy short of MIN_SAMPLES
    (it samples on a timer: a starved CPU takes fewer samples per second)."""
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        raise RuntimeError("py-spy is not installed: pip install py-spy")
    for attempt_seconds in (seconds, 2 * seconds, 4 * seconds):
        request = {"config": str(config_path), "rungs": [rung], "seconds": attempt_seconds}
        command = [
            py_spy, "record", "--native", "--rate", str(rate), "--format", py_spy_format,
            "--output", str(path), *options, "--", *harness.child_command(python, request),
        ]  # fmt: skip
        completed = subprocess.run(
            command, capture_output=True, text=True, env=harness.bench_environ()
        )
        found = re.search(r"Samples: (\d+)", completed.stdout + completed.stderr)
        if completed.returncode != 0 or found is None:
            raise RuntimeError(
                f"py-spy failed on {rung} ({py_spy_format}):\n{completed.stdout}{completed.stderr}"
            )
        if int(found.group(1)) >= MIN_SAMPLES:
            return int(found.group(1))
    raise RuntimeError(
        f"py-spy took only {found.group(1)} samples of {rung} in {attempt_seconds} s; "
        "raise --seconds or the rate"
    )


def folded_to_speedscope(folded: str, name: str) -> dict:
    """Folded stacks (``frame;frame;frame count`` per line) as a speedscope "sampled"
    profile (https://www.speedscope.app/file-format-schema.json)."""
    frames: dict[str, int] = {}
    samples, weights = [], []
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples.append([frames.setdefault(frame, len(frames)) for frame in stack.split(";")])
        weights.append(int(count))
    return {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": [{"name": frame} for frame in frames]},
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
