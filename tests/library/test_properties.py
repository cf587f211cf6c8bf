"""Random workloads, every rung against the oracle (hypothesis).

Hypothesis draws the shape of a workload (sizes, magnitude, how many polygons are
degenerate or duplicated, max_dist) and a seed; numpy builds the arrays from them,
so examples stay fast and shrink to small, readable cases.
"""

from dataclasses import dataclass

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import oracle
import poly_match
from conftest import assert_matches_oracle


@dataclass(frozen=True)
class Workload:
    n_polygons: int
    n_points: int
    scale: float
    degenerate_share: float
    duplicate_share: float
    max_dist: float
    seed: int

    def vertices(self) -> list[tuple[np.ndarray, np.ndarray]]:
        rng = np.random.default_rng(self.seed)
        shapes = []
        for _ in range(self.n_polygons):
            if shapes and rng.random() < self.duplicate_share:
                # Same vertices, so the same center and area: a duplicate polygon.
                x, y = shapes[rng.integers(len(shapes))]
                shapes.append((x.copy(), y.copy()))
                continue
            n_vertices = int(rng.integers(3, 51))
            cx, cy = rng.uniform(0.0, 100.0, 2)
            if rng.random() < self.degenerate_share:
                # All vertices on one line through the center: zero area.
                t = rng.uniform(-2.0, 2.0, n_vertices)
                dx, dy = rng.uniform(-1.0, 1.0, 2)
                x, y = cx + t * dx, cy + t * dy
            else:
                angles = np.sort(rng.uniform(0.0, 2 * np.pi, n_vertices))
                radii = rng.uniform(0.1, 5.0, n_vertices)
                x, y = cx + radii * np.cos(angles), cy + radii * np.sin(angles)
            shapes.append((x * self.scale, y * self.scale))
        return shapes

    def points(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed + 1)
        return rng.uniform(-10.0, 110.0, (self.n_points, 2)) * self.scale


@st.composite
def workloads(draw) -> Workload:
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3, 1e6]))
    return Workload(
        n_polygons=draw(st.integers(0, 200)),
        n_points=draw(st.integers(0, 200)),
        scale=scale,
        degenerate_share=draw(st.sampled_from([0.0, 0.2, 1.0])),
        duplicate_share=draw(st.sampled_from([0.0, 0.3])),
        max_dist=draw(
            st.one_of(
                st.just(0.0),
                st.just(1e300),
                st.floats(0.0, 40.0).map(lambda d: d * scale),
            )
        ),
        seed=draw(st.integers(0, 2**32 - 2)),
    )


@settings(max_examples=40, deadline=None)
@given(workloads())
def test_every_rung_matches_oracle_on_random_workloads(workload):
    shapes = workload.vertices()
    points = workload.points()
    reference = [poly_match.VERSIONS["v1"].Polygon(x=x, y=y) for x, y in shapes]
    assume(not oracle.borderline(reference, points, workload.max_dist))
    for name, rung in poly_match.VERSIONS.items():
        polygons = [rung.Polygon(x=x, y=y) for x, y in shapes]
        result = rung.main(polygons, points, max_dist=workload.max_dist)
        try:
            assert_matches_oracle(result, polygons, points, workload.max_dist)
        except AssertionError as error:
            raise AssertionError(f"rung {name}: {error}") from error
