"""asv's benchmarks: every rung pyproject.toml declares, from ``ladder_bench.asv_suite``."""

from pathlib import Path

from ladder_bench import asv_suite

globals().update(asv_suite.benchmarks(Path(__file__).resolve().parents[1] / "pyproject.toml"))
