"""asv benchmarks for every rung a ladder declares (``tox -e history``; docs/history.md).

A project's asv benchmark folder holds one module that calls ``benchmarks``::

    globals().update(asv_suite.benchmarks(Path(__file__).parents[1] / "pyproject.toml"))

which gives asv one class per rung, named after it (characters a Python name cannot hold,
such as the dot of ``Index.match``, become ``_``: asv splits benchmark names on dots),
with three benchmarks:

- ``time_call``: one call on the default workload, timed by asv;
- ``track_peak_memory``: the MiB one call adds to the resident set at its peak (the
  harness's ``peak_extra_mib``, on the default workload);
- ``track_instructions``: instructions per call under callgrind
  (``ladder_bench.instructions``), on the quick workload. Deterministic, so its history
  is flat wherever the code did not change.

The rungs are read from the configuration asv runs from (the checkout), and the library
is the commit's: an older commit is measured on today's ladder, and a rung it lacks is
skipped (asv shows no point), not failed.
"""

import re
import sys
from pathlib import Path

from . import config, harness, instructions

# Before the workloads import numpy, which reads the BLAS thread count once.
harness.set_bench_environ()

# Valgrind runs every rung two or three times from interpreter start-up; at the quick
# size all of them take a few minutes on two cores, and never near this.
INSTRUCTIONS_TIMEOUT_SECONDS = 1800


class RungBenchmarks:
    """One rung's benchmarks; ``benchmarks`` makes a subclass per rung."""

    ladder: config.Config
    rung: config.Rung

    def setup_cache(self) -> dict[str, float]:
        """Instructions per call of every rung this commit has, counted once per commit
        for all of them (asv shares this cache between every class that inherits it)."""
        rows = instructions.count(
            sys.executable, self.ladder.path, self.ladder.names, None, self.ladder.quick_size
        )
        return {row["rung"]: row["instructions_per_call"] for row in rows}

    setup_cache.timeout = INSTRUCTIONS_TIMEOUT_SECONDS

    def setup(self, _instructions: dict[str, float]) -> None:
        try:
            self.call, _ = harness.prepare(self.ladder, self.rung)
        except (ImportError, AttributeError) as error:
            # asv skips the benchmark: this commit's library has no such rung.
            raise NotImplementedError(f"{self.rung.name}: not in this commit ({error})") from None

    def time_call(self, _instructions: dict[str, float]) -> None:
        self.call()

    def track_peak_memory(self, _instructions: dict[str, float]) -> float:
        measured = harness.measure(self.ladder, self.rung, {"memory": True, "calls": 1})
        return measured["peak_extra_mib"]

    track_peak_memory.unit = "MiB"

    def track_instructions(self, instructions_per_call: dict[str, float]) -> float:
        return instructions_per_call[self.rung.name]

    track_instructions.unit = "instructions"


def benchmarks(config_path: Path) -> dict[str, type]:
    """A ``RungBenchmarks`` subclass per rung of ``config_path``, by rung name made a
    Python name."""
    ladder = config.load(config_path)
    classes = {}
    for rung in ladder.rungs:
        name = re.sub(r"\W", "_", rung.name)
        classes[name] = type(name, (RungBenchmarks,), {"ladder": ladder, "rung": rung})
    return classes
