"""Every declared rung on one workload size, timed with pytest-benchmark.

Not collected by a project's test run: ``ladder-bench`` runs this file with pytest,
``LADDER_BENCH_CONFIG`` naming the configuration, ``LADDER_BENCH_RUNGS`` (comma-
separated) the rungs to time and ``LADDER_BENCH_SIZE`` (JSON) the workload size: the
quick size under ``--quick``, else the default size.
"""

import json
import os
from pathlib import Path

import pytest

from ladder_bench import config, harness

LADDER = config.load(Path(os.environ["LADDER_BENCH_CONFIG"]))
RUNGS = LADDER.select(os.environ.get("LADDER_BENCH_RUNGS"))
SIZE = json.loads(os.environ.get("LADDER_BENCH_SIZE", "null"))  # null: the default size


@pytest.mark.parametrize("rung", RUNGS, ids=[rung.name for rung in RUNGS])
def test_rung(benchmark, rung):
    call, _ = harness.prepare(LADDER, rung, SIZE)
    benchmark.group = "each rung on one workload"
    benchmark.extra_info["rung"] = rung.name
    benchmark.extra_info["description"] = rung.summary()
    benchmark(call)
