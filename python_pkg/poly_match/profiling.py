"""py-spy flamegraphs of every rung: ``py-spy record --native`` on
``python -m poly_match.measure RUNG --seconds S``.

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

FORMATS = {"flamegraph": ".svg", "raw": ".folded"}
MIN_SAMPLES = 200


@dataclass(frozen=True)
class Profile:
    rung: str
    files: dict[str, Path]  # py-spy format -> file
    samples: dict[str, int]  # py-spy format -> samples in that recording


def record(rung: str, out_dir: Path, seconds: float, rate: int) -> Profile:
    """Record ``rung`` in every format into ``out_dir``; fail if a recording has fewer
    than MIN_SAMPLES samples."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files, samples = {}, {}
    for py_spy_format, suffix in FORMATS.items():
        path = out_dir / f"{rung}{suffix}"
        samples[py_spy_format] = _py_spy(sys.executable, rung, py_spy_format, path, seconds, rate)
        files[py_spy_format] = path
    files["speedscope"] = out_dir / f"{rung}.speedscope.json"
    files["speedscope"].write_text(json.dumps(folded_to_speedscope(files["raw"].read_text(), rung)))
    return Profile(rung, files, samples)


def record_folded(python: str, rung: str, path: Path, seconds: float, rate: int) -> int:
    """Folded stacks of ``rung`` run by ``python`` (another commit's virtualenv, say),
    without line numbers: the frames of two commits must match where the code did not
    change. Returns the number of samples."""
    return _py_spy(python, rung, "raw", path, seconds, rate, "--nolineno")


def _py_spy(python, rung, py_spy_format, path, seconds, rate, *options) -> int:
    """Record, and record longer if a busy machine left py-spy short of MIN_SAMPLES
    (it samples on a timer: a starved CPU takes fewer samples per second)."""
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        raise RuntimeError("py-spy is not installed: pip install py-spy")
    for attempt_seconds in (seconds, 2 * seconds, 4 * seconds):
        command = [
            py_spy, "record", "--native", "--rate", str(rate), "--format", py_spy_format,
            "--output", str(path), *options, "--",
            python, "-m", "poly_match.measure", rung,
            "--iterations", "1", "--seconds", str(attempt_seconds),
        ]  # fmt: skip
        completed = subprocess.run(command, capture_output=True, text=True)
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
        "exporter": "poly_match.profiling",
    }
