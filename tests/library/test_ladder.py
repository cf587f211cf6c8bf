"""Every rung of the ladder gives the oracle's answer, and the original's known answers."""

from types import ModuleType

import numpy as np
import pytest

import oracle
import poly_match
from conftest import assert_matches_oracle
from poly_match.example import MAX_DIST

# Seeded workloads of different shapes: (n_polygons, n_points, seed, extent).
WORKLOADS = {
    "sparse, many points match nothing": (40, 60, 1, 200.0),
    "no polygons": (0, 10, 2, 100.0),
    "a single point": (300, 1, 3, 50.0),
    "no points": (100, 0, 4, None),
    "dense": (2000, 30, 5, 60.0),
    "the original's density, another seed": (1000, 100, 7, None),
}


def test_registry_lists_every_rung_in_ladder_order():
    assert list(poly_match.VERSIONS) == list(poly_match.RUNG_NAMES)
    for name, rung in poly_match.VERSIONS.items():
        assert isinstance(rung, ModuleType)
        assert rung.__name__ == f"poly_match.{name}"
        assert poly_match.description(rung), f"{name} has no one-line description"
        for public_name in ("Polygon", "generate_example", "generate_one_polygon", "main"):
            assert hasattr(rung, public_name), f"{name} lacks {public_name}"


def test_default_example_matches_oracle(rung):
    polygons, points = rung.generate_example()
    assert_matches_oracle(rung.main(polygons, points), polygons, points, max_dist=MAX_DIST)


@pytest.mark.parametrize("workload", WORKLOADS)
def test_seeded_workloads_match_oracle(rung, workload):
    n_polygons, n_points, seed, extent = WORKLOADS[workload]
    polygons, points = rung.generate_example(n_polygons, n_points, seed, extent)
    assert_matches_oracle(rung.main(polygons, points), polygons, points, max_dist=MAX_DIST)


def test_sparse_workload_has_unmatched_points():
    # Guards the workload above: it must really exercise "no polygon in range".
    n_polygons, n_points, seed, extent = WORKLOADS["sparse, many points match nothing"]
    polygons, points = poly_match.VERSIONS["v1"].generate_example(
        n_polygons, n_points, seed, extent
    )
    matched = len(oracle.matches(polygons, points, MAX_DIST))
    assert 0 < matched < n_points


def test_far_outliers_move_only_the_last_polygons():
    v1 = poly_match.VERSIONS["v1"]
    polygons, points = v1.generate_example(200, 50, 3)
    moved, moved_points = v1.generate_example(200, 50, 3, far_outliers=2)
    np.testing.assert_array_equal(moved_points, points)
    for before, after in zip(polygons[:-2], moved[:-2], strict=True):
        np.testing.assert_array_equal(after.x, before.x)
        np.testing.assert_array_equal(after.y, before.y)
    for polygon in moved[-2:]:
        assert min(oracle.center(polygon)) > 1e11


def test_a_far_outlier_changes_no_match(rung):
    # The outlier stretches the polygons' bounding box a hundred billion times (the grid
    # before the hashed one widened its cells to fit), yet it is close to no point: the
    # answer is the oracle's.
    polygons, points = rung.generate_example(300, 100, 5, far_outliers=1)
    assert_matches_oracle(rung.main(polygons, points), polygons, points, max_dist=MAX_DIST)


@pytest.mark.parametrize("far_outliers", [-1, 301, 1.0, "1", None])
def test_far_outliers_must_be_a_count_of_polygons(far_outliers):
    with pytest.raises(ValueError, match=r"far_outliers must be an integer from 0 to n_polygons"):
        poly_match.VERSIONS["v1"].generate_example(300, 10, far_outliers=far_outliers)


def polygons_of_clearly_different_areas(polygon_type, n_polygons=300, seed=8):
    """Random triangles to 12-gons, scaled so that no two areas are within rounding."""
    rng = np.random.default_rng(seed)
    polygons = []
    for _ in range(n_polygons):
        n_vertices = rng.integers(3, 13)
        angles = np.sort(rng.uniform(0.0, 2 * np.pi, n_vertices))
        radius = rng.uniform(0.1, 4.0)
        cx, cy = rng.uniform(0.0, 50.0, 2)
        polygons.append(
            polygon_type(x=cx + radius * np.cos(angles), y=cy + radius * np.sin(angles))
        )
    return polygons


def test_clearly_different_areas_pick_exactly_the_oracles_polygon(rung):
    polygons = polygons_of_clearly_different_areas(rung.Polygon)
    points = np.random.default_rng(9).uniform(-5.0, 55.0, (80, 2))
    result = rung.main(polygons, points, max_dist=7.5)
    assert_matches_oracle(result, polygons, points, max_dist=7.5)
    for (_, polygon), match in zip(result, oracle.matches(polygons, points, 7.5), strict=True):
        (smallest,) = oracle.smallest(polygons, match.close)
        assert polygon is polygons[smallest]


def test_points_as_the_originals_list_of_arrays(rung):
    polygons, points = rung.generate_example()
    as_list = [np.array(row) for row in points]
    result = rung.main(polygons, as_list)
    assert_matches_oracle(result, polygons, points, max_dist=MAX_DIST)


def test_rungs_agree_on_the_default_example():
    # Beyond the oracle: the rungs, whose areas all come from the same formula, pick
    # polygons at the same positions as v1.
    answers = {}
    for name, rung in poly_match.VERSIONS.items():
        polygons, points = rung.generate_example()
        position = {id(p): k for k, p in enumerate(polygons)}
        answers[name] = [
            (tuple(point), oracle.area(polygons[position[id(polygon)]]))
            for point, polygon in rung.main(polygons, points)
        ]
    baseline = answers.pop("v1")
    for name, answer in answers.items():
        assert [p for p, _ in answer] == [p for p, _ in baseline], name
        np.testing.assert_allclose(
            [a for _, a in answer], [a for _, a in baseline], rtol=oracle.AREA_RTOL
        )


class TestTheOriginalsKnownAnswers:
    def test_unit_square(self, rung):
        box = rung.Polygon(x=np.array([0.0, 1.0, 1.0, 0.0]), y=np.array([0.0, 0.0, 1.0, 1.0]))
        assert box.area() == pytest.approx(1.0)
        np.testing.assert_allclose(box.center, [0.5, 0.5])

    def test_generated_polygon(self, rung):
        polygon = rung.generate_one_polygon()
        assert polygon.area() == pytest.approx(0.108, abs=0.001)
        np.testing.assert_allclose(polygon.center, [0.45, 0.826], atol=0.001)

    def test_point_0_25_gets_the_polygon_at_9_27(self, rung):
        # Every polygon of the example is the same shape shifted, so the smallest area
        # is a tie broken by rounding: the original's answer, the polygon whose first vertex
        # is (9, 27), is one of the tied polygons (its own test passed with rtol=0.1).
        # Each rung must pick a polygon near (0, 25) whose area equals that polygon's.
        polygons, points = rung.generate_example()
        results = sorted(rung.main(polygons, points), key=lambda match: tuple(match[0]))
        point, polygon = results[0]
        np.testing.assert_array_equal(point, [0.0, 25.0])

        (originals_answer,) = [k for k, p in enumerate(polygons) if (p.x[0], p.y[0]) == (9.0, 27.0)]
        (match,) = [
            m
            for m in oracle.matches(polygons, points, MAX_DIST)
            if tuple(points[m.point_index]) == (0.0, 25.0)
        ]
        assert originals_answer in oracle.smallest(polygons, match.close)
        assert oracle.area(polygon) == pytest.approx(
            oracle.area(polygons[originals_answer]), rel=oracle.AREA_RTOL
        )
