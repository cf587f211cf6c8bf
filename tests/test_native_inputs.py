"""The Rust rungs turn bad input into a clear Python exception, never a panic."""

import numpy as np
import pytest

import poly_match

SQUARE_X = np.array([0.0, 1.0, 1.0, 0.0])
SQUARE_Y = np.array([0.0, 0.0, 1.0, 1.0])

NATIVE_POLYGON_RUNGS = ("v3_riir_polygon", "v4_avoid_allocs", "v5_find_all_in_rust")


@pytest.fixture(params=NATIVE_POLYGON_RUNGS)
def polygon_type(request):
    return poly_match.VERSIONS[request.param].Polygon


@pytest.mark.parametrize(
    ("x", "y", "error", "message"),
    [
        (SQUARE_X, SQUARE_Y[:3], ValueError, "same length"),
        (SQUARE_X.reshape(2, 2), SQUARE_Y.reshape(2, 2), ValueError, "x must be a 1-D array"),
        (SQUARE_X, SQUARE_Y.reshape(4, 1), ValueError, "y must be a 1-D array"),
        (list(SQUARE_X), SQUARE_Y, TypeError, "x must be a numpy.ndarray of float64, got list"),
        (SQUARE_X.astype(np.int64), SQUARE_Y, TypeError, "x must have dtype float64, got int64"),
        (SQUARE_X[:2], SQUARE_Y[:2], ValueError, "at least 3 vertices"),
        (SQUARE_X, np.array([0.0, np.nan, 1.0, 1.0]), ValueError, r"y\[1\] is not finite"),
    ],
)
def test_polygon_rejects_bad_vertices(polygon_type, x, y, error, message):
    with pytest.raises(error, match=message):
        polygon_type(x=x, y=y)


def test_polygon_copies_strided_views(polygon_type):
    x = np.repeat(SQUARE_X, 2)[::2]
    polygon = polygon_type(x=x, y=SQUARE_Y)
    np.testing.assert_array_equal(polygon.x, SQUARE_X)


@pytest.mark.parametrize("name", ["v3_riir_polygon", "v4_avoid_allocs", "v5_find_all_in_rust"])
def test_subclass_instances_go_through_the_rust_search(name):
    rung = poly_match.VERSIONS[name]

    class Labelled(rung.Polygon):
        label = "mine"

    polygons = [Labelled(x=SQUARE_X + offset, y=SQUARE_Y) for offset in (0.0, 50.0)]
    assert polygons[0].label == "mine"
    assert polygons[0].area() == 1.0
    ((_, best),) = rung.main(polygons, np.array([[0.0, 0.0]]))
    assert best is polygons[0]
