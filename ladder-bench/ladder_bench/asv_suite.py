"""asv benchmarks for every rung a ladder declares (``ladder-bench history``; docs/history.md).

The benchmark folder ``ladder-bench history`` generates (``asv_project``) holds one
module that calls ``benchmarks``::

    globals().update(asv_suite.benchmarks("/path/to/pyproject.toml"))

which gives asv one class per rung, named after it (characters a Python name cannot hold,
such as the dot of ``Index.match``, become ``_``: asv splits benchmark names on dots),
with three benchmarks:

- ``time_call``: one call on the default workload, timed by asv as the timing table
  times it: the workload built and called once before any timing, then each sample one
  warm call on it, with the garbage collector on and the answer dropped on return, for up
  to ``TIME_SAMPLES`` samples or about ``TIME_SECONDS`` (whichever ends first, at least
  ``MIN_TIME_SAMPLES``), in each of asv's rounds;
- ``track_peak_memory``: the MiB one call adds to the resident set at its peak (the
  harness's ``peak_extra_mib``, on the default workload);
- ``track_instructions``: instructions per call under callgrind
  (``ladder_bench.instructions``), on the quick workload. Deterministic, so its history
  is flat wherever the code did not change.

The rungs are read from the workspace's configuration (the checkout), and the library is
the commit's: an older commit is measured on today's ladder, and a rung it lacks is
skipped (asv shows no point), not failed. A rung named by module (``package.module:f``)
is the commit's build; one named by file (``hooks.py:f``) is the checkout's file.
"""

import gc
import os
import re
import shutil
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from . import config, harness, instructions

# Before the workloads import numpy, which reads the BLAS thread count once.
harness.set_bench_environ()

# Valgrind runs every rung two or three times from interpreter start-up; at the quick
# size all of them take a few minutes on two cores, and never near this.
INSTRUCTIONS_TIMEOUT_SECONDS = 1800
# Each rung's call on its workload, made by the first setup in this process, by
# configuration and rung.
PREPARED: dict[tuple[Path, str], Callable[[], object]] = {}
# time_call's samples in each of asv's rounds (processes): asv's default stops at five,
# a median of five single calls that one busy moment moves. Slow rungs stop at the
# minimum, fast ones at the maximum.
MIN_TIME_SAMPLES, TIME_SAMPLES, TIME_SECONDS = 10, 2000, 1.0


Benchmark = TypeVar("Benchmark", bound=Callable[..., object])


def asv_settings(**settings: object) -> Callable[[Benchmark], Benchmark]:
    """A benchmark's settings (``timeout``, ``number``, ``unit``...), which asv reads as
    its function's attributes."""

    def set_on(function: Benchmark) -> Benchmark:
        vars(function).update(settings)
        return function

    return set_on


class RungBenchmarks:
    """One rung's benchmarks; ``benchmarks`` makes a subclass per rung."""

    ladder: config.Config
    rung: config.Rung

    @asv_settings(timeout=INSTRUCTIONS_TIMEOUT_SECONDS)
    def setup_cache(self) -> dict[str, float]:
        """Instructions per call of every rung this commit has, counted once per commit
        for all of them (asv shares this cache between every class that inherits it), two
        at a time. A rung that fails to count is left out (its track_instructions fails)
        rather than costing the others theirs; empty without valgrind."""
        if shutil.which("valgrind") is None:
            return {}

        def one(rung: str) -> float | None:
            try:
                return instructions.per_call(
                    sys.executable, self.ladder.path, rung, None, self.ladder.quick_size
                )["instructions_per_call"]
            except instructions.RungMissing:
                return None
            except Exception as error:  # the rung's own error: its time_call shows it whole
                reason = str(error).partition("\n")[0]
                print(f"{rung}: instructions not counted: {reason}", file=sys.stderr)
                return None

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            counts = dict(zip(self.ladder.names, pool.map(one, self.ladder.names), strict=True))
        return {rung: count for rung, count in counts.items() if count is not None}

    def setup(self, _instructions: dict[str, float]) -> None:
        # asv re-runs setup before every timed call, one call per sample, whatever the
        # benchmark's `number`: a workload built here each time would make every timed
        # call the first on fresh objects (caches cold, nothing made yet), as no user
        # calls it. One workload per benchmark process, called once before any timing,
        # as the timing table's and the harness's.
        key = (self.ladder.path, self.rung.name)
        if key not in PREPARED:
            try:
                call, _ = harness.prepare(self.ladder, self.rung)
            except (ImportError, AttributeError) as error:
                # asv skips the benchmark: this commit's library has no such rung.
                message = f"{self.rung.name}: not in this commit ({error})"
                raise NotImplementedError(message) from None
            call()  # warm-up: imports, thread pools, caches
            PREPARED[key] = call
        self.call = PREPARED[key]

    # Each sample one call: their median is the table's median.
    @asv_settings(number=1, repeat=(MIN_TIME_SAMPLES, TIME_SAMPLES, TIME_SECONDS))
    def time_call(self, _instructions: dict[str, float]) -> None:
        # asv's timer turns the garbage collector off while it times; the table's
        # (pytest-benchmark) and the harness's calls run with it on, as a user's do, and
        # the collections a call's objects cause are part of its cost.
        gc.enable()
        self.call()  # the answer is dropped on return, inside the timing, as the table's

    @asv_settings(unit="MiB")
    def track_peak_memory(self, _instructions: dict[str, float]) -> float:
        measured = harness.measure(self.ladder, self.rung, {"memory": True, "calls": 1})
        return measured["peak_extra_mib"]

    @asv_settings(unit="instructions")
    def track_instructions(self, instructions_per_call: dict[str, float]) -> float:
        if self.rung.name not in instructions_per_call:
            message = "not counted (no valgrind, or the rung failed: see its time_call)"
            raise RuntimeError(f"{self.rung.name}: {message}")
        return instructions_per_call[self.rung.name]


def benchmarks(config_path: Path) -> dict[str, type]:
    """A ``RungBenchmarks`` subclass per rung of ``config_path``, by rung name made a
    Python name."""
    ladder = config.load(config_path)
    classes = {}
    for rung in ladder.rungs:
        name = re.sub(r"\W", "_", rung.name)
        classes[name] = type(name, (RungBenchmarks,), {"ladder": ladder, "rung": rung})
    return classes
