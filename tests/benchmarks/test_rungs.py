"""Every rung's ``main`` on the default example, timed with pytest-benchmark.

Disabled by default (``--benchmark-disable`` in pyproject.toml), so in the test run each
runs once, as a plain test; ``tox -e bench`` enables them. POLY_MATCH_RUNGS (a comma-
separated list of rung names) narrows the set, for the pipeline's quick smoke test.
"""

import os

import pytest

import poly_match

ARRAY_API = "match_points"  # the array API's row in the timing table
RUNGS = [
    name
    for name in os.environ.get("POLY_MATCH_RUNGS", ",".join(poly_match.RUNG_NAMES)).split(",")
    if name
]


@pytest.mark.parametrize("name", [name for name in RUNGS if name != ARRAY_API])
def test_main(benchmark, name):
    rung = poly_match.VERSIONS[name]
    polygons, points = rung.generate_example()
    benchmark.group = "main on the default example"
    benchmark.extra_info["rung"] = name
    benchmark.extra_info["description"] = poly_match.description(rung)
    result = benchmark(rung.main, polygons, points)
    assert len(result) == len(points)  # every point of the example has a polygon in range


@pytest.mark.skipif(
    ARRAY_API not in RUNGS and "POLY_MATCH_RUNGS" in os.environ, reason="not asked for"
)
def test_match_points_array_api(benchmark):
    """The array API on the default example's centers and areas: indices, no objects."""
    import numpy as np

    polygons, points = poly_match.VERSIONS["v1"].generate_example()
    centers = np.array([polygon.center for polygon in polygons])
    areas = np.array([polygon.area() for polygon in polygons])
    benchmark.group = "main on the default example"
    benchmark.extra_info["rung"] = ARRAY_API
    benchmark.extra_info["description"] = (
        "The array API: centers, areas and points in, indices out."
    )
    indices = benchmark(poly_match.match_points, centers, areas, points, 10.0)
    assert (indices >= 0).all()
