"""The one harness: build a rung's workload, warm up, call it N times.

Every tool goes through it: the pytest-benchmark run (``prepare``), and, in a fresh
process each, the profiler, the instruction counter, the scaling sweep and ``compare``'s
other-virtualenv worker (the child mode)::

    python -m ladder_bench.harness '{"config": "pyproject.toml", "rungs": ["v1"], "calls": 10}'

reads one JSON request and prints one JSON line: per rung its status ("ok", or
"missing" where this interpreter's library lacks it, e.g. an older commit), the seconds
of each call, and on request the peak memory of the calls and the path of the answer;
a rung with an ``extra`` hook also reports what it returns, ``extra(*workload)`` called
after the timed calls (numbers measured elsewhere, such as in worker processes).
With ``"ready": true`` it first prints ``READY`` once set-up and warm-up are done, and
lets any process of the user trace it: the profiler attaches then, and so samples the
measured calls only.

The benchmark environment (one BLAS thread; for instruction counts also a fixed hash
seed, one rayon thread, no byte-code writes) is set here and nowhere else.
"""

import ctypes
import gc
import json
import os
import pickle
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from . import config as config_module

# More BLAS threads only add noise to a single-threaded comparison; OpenBLAS reads this
# when numpy is imported, so it must be in a child's environment from the start.
BENCH_ENV = {"OPENBLAS_NUM_THREADS": "1"}
# What else makes instruction counts vary between two runs of the same code.
DETERMINISTIC_ENV = {
    **BENCH_ENV,
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "RAYON_NUM_THREADS": "1",
}
MISSING = 3  # the child's exit status when none of the rungs asked for exists here
READY = "READY"  # the line a child asked to be "ready" prints before its calls
# prctl(2): who may ptrace this process under Yama's ptrace_scope=1, where by default
# only an ancestor may, and the profiler attaching is its sibling.
PR_SET_PTRACER, PR_SET_PTRACER_ANY = 0x59616D61, ctypes.c_ulong(-1)


def bench_environ(deterministic: bool = False) -> dict[str, str]:
    """The environment of a measured child process."""
    if not deterministic:
        return {**os.environ, **BENCH_ENV}
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return {**inherited, **DETERMINISTIC_ENV}


def set_bench_environ() -> None:
    """For a process that measures itself: before numpy is imported."""
    os.environ.update(BENCH_ENV)


def prepare(config: config_module.Config, rung: config_module.Rung, size: dict | None = None):
    """``rung``'s call on its workload as a function of no arguments, and the workload."""
    function = rung.resolve_call()
    args = config.workload_args(rung, size)
    return (lambda: function(*args)), args


def run_calls(call: Callable[[], object], calls: int, seconds: float = 0.0, max_calls=None):
    """Call at least ``calls`` times and for at least ``seconds`` (at most ``max_calls``);
    the seconds of each call and the last answer."""
    times: list[float] = []
    result: object = None
    start = time.perf_counter()
    while len(times) < calls or (
        time.perf_counter() - start < seconds and (max_calls is None or len(times) < max_calls)
    ):
        before = time.perf_counter()
        # Freeing the previous answer is part of a call's cost, as in the table's timing
        # (pytest-benchmark drops each answer inside its timing), and before the call, so
        # it is not part of this call's memory.
        result = None
        result = call()
        times.append(time.perf_counter() - before)
    return times, result


def _untimed_calls(call: Callable[[], object], calls: int) -> None:
    """Calls and nothing else: what the instruction counter measures."""
    for _ in range(calls):
        call()


def _signal_ready() -> None:
    """Let a profiler attach (where the kernel has no Yama, or no prctl at all, nothing
    restricts it and this does nothing), then say so."""
    prctl = getattr(ctypes.CDLL(None), "prctl", None)
    if prctl is not None:
        prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0)
    print(READY, flush=True)


def _memory_kib() -> dict[str, int]:
    status = Path("/proc/self/status").read_text()
    return {key: int(value) for key, value in re.findall(r"(VmHWM|VmRSS):\s+(\d+) kB", status)}


def _reset_peak_memory() -> int:
    """Hand the garbage of building the inputs back to the kernel, or the calls would reuse
    those pages unseen; then reset VmHWM (the peak) to the resident set, and return it."""
    gc.collect()
    ctypes.CDLL(None).malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")
    return _memory_kib()["VmRSS"]


def measure(config, rung, request: dict) -> dict:
    """One rung, as the child mode's ``request`` asks."""
    try:
        if request.get("check"):  # is it there? (no workload built)
            rung.resolve_call()
            rung.resolve_workload()
            return {"status": "ok"}
        call, args = prepare(config, rung, request.get("size"))
    except (ImportError, AttributeError) as error:
        return {"status": "missing", "error": str(error)}
    if request.get("warmup", True):
        call()  # imports, JIT compilation, thread pools, caches
    result: dict = {"status": "ok"}
    before_kib = _reset_peak_memory() if request.get("memory") else None
    calls = int(request.get("calls", 1))
    if not request.get("timed", True):
        _untimed_calls(call, calls)
        return result
    if request.get("ready"):
        _signal_ready()
    times, answer = run_calls(call, calls, request.get("seconds", 0.0), request.get("max_calls"))
    result["times"] = times
    if before_kib is not None:
        peak_kib = _memory_kib()["VmHWM"]
        result["peak_extra_mib"] = (peak_kib - before_kib) / 1024
        result["peak_rss_mib"] = peak_kib / 1024
    extra = rung.resolve_extra()
    if extra:
        result["extra"] = extra(*args)
    if request.get("answer_dir"):
        canonical = rung.resolve_answer()
        path = Path(request["answer_dir"]) / f"{len(os.listdir(request['answer_dir']))}.pickle"
        path.write_bytes(pickle.dumps(canonical(answer, *args) if canonical else answer))
        result["answer"] = str(path)
    return result


def child_command(python: str, request: dict) -> list[str]:
    """The command line of a child that serves ``request`` (to wrap in py-spy, valgrind)."""
    return [str(python), "-m", "ladder_bench.harness", json.dumps(request)]


def run_child(python: str, request: dict, deterministic: bool = False, cwd=None) -> dict:
    """Run a child with ``python`` and return its reply (``{rung: result}``)."""
    completed = subprocess.run(
        child_command(python, request),
        capture_output=True,
        text=True,
        cwd=cwd,
        env=bench_environ(deterministic),
    )
    if completed.returncode not in (0, MISSING):
        raise RuntimeError(f"the harness failed on {request['rungs']}:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    request = json.loads(argv[0])
    config = config_module.load(Path(request["config"]))
    reply = {name: measure(config, config.rung(name), request) for name in request["rungs"]}
    print(json.dumps(reply))
    return MISSING if all(r["status"] == "missing" for r in reply.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
