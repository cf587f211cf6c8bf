"""Every declared rung on its default workload, timed with pytest-benchmark.

Not collected by a project's test run: ``ladder-bench`` runs this file with pytest,
``LADDER_BENCH_CONFIG`` naming the configuration and ``LADDER_BENCH_RUNGS`` (comma-
separated) the rungs to time.
"""

import os
from pathlib import Path

import pytest

from ladder_bench import config, harness

LADDER = config.load(Path(os.environ["LADDER_BENCH_CONFIG"]))
RUNGS = LADDER.select(os.environ.get("LADDER_BENCH_RUNGS"))


@pytest.mark.parametrize("rung", RUNGS, ids=[rung.name for rung in RUNGS])
def test_rung(benchmark, rung):
    call, _ = harness.prepare(LADDER, rung)
    benchmark.group = "each rung on the default workload"
    benchmark.extra_info["rung"] = rung.name
    benchmark.extra_info["description"] = rung.summary()
    benchmark(call)
