"""Every rung's ``main`` on the default example, timed with pytest-benchmark.

Disabled by default (``--benchmark-disable`` in pyproject.toml), so in the test run each
runs once, as a plain test; ``tox -e bench`` enables them. POLY_MATCH_RUNGS (a comma-
separated list of rung names) narrows the set, for the pipeline's quick smoke test.
"""

import os

import pytest

import poly_match

RUNGS = [
    name
    for name in os.environ.get("POLY_MATCH_RUNGS", ",".join(poly_match.RUNG_NAMES)).split(",")
    if name
]


@pytest.mark.parametrize("name", RUNGS)
def test_main(benchmark, name):
    rung = poly_match.VERSIONS[name]
    polygons, points = rung.generate_example()
    benchmark.group = "main on the default example"
    benchmark.extra_info["rung"] = name
    benchmark.extra_info["description"] = poly_match.description(rung)
    result = benchmark(rung.main, polygons, points)
    assert len(result) == len(points)  # every point of the example has a polygon in range
