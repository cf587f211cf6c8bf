"""The oracle itself against hand-computed answers, so the suite's yardstick is right."""

import math
from types import SimpleNamespace

import oracle


def polygon(x, y):
    return SimpleNamespace(x=x, y=y)


def test_unit_square():
    square = polygon([0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0])
    assert oracle.area(square) == 1.0
    assert oracle.center(square) == (0.5, 0.5)


def test_right_triangle():
    triangle = polygon([0.0, 4.0, 0.0], [0.0, 0.0, 3.0])
    assert oracle.area(triangle) == 6.0
    assert oracle.center(triangle) == (4 / 3, 1.0)


def test_distance_equal_to_max_dist_is_not_close():
    square = polygon([0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0])  # center (0.5, 0.5)
    assert oracle.matches([square], [(3.5, 4.5)], 5.0) == []
    assert oracle.matches([square], [(3.5, 4.5)], math.nextafter(5.0, 6.0)) == [
        oracle.Match(0, (0,))
    ]


def test_smallest_tolerates_rounding_but_not_real_differences():
    small = polygon([0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0])
    big = polygon([0.0, 2.0, 2.0, 0.0], [0.0, 0.0, 2.0, 2.0])
    nearly_small = polygon([0.0, 1.0 + 1e-13, 1.0 + 1e-13, 0.0], [0.0, 0.0, 1.0, 1.0])
    assert oracle.smallest([big, small], [0, 1]) == [1]
    assert oracle.smallest([nearly_small, big, small], [0, 1, 2]) == [0, 2]


def test_degenerate_polygons_tie_within_rounding():
    # All vertices on one line: the area is zero on paper, a few ulps in floats.
    far_line = polygon([1e6, 1e6 + 0.1, 1e6 + 0.3], [1e6, 1e6 + 0.1, 1e6 + 0.3])
    near_line = polygon([0.0, 1.0, 3.0], [0.0, 1.0, 3.0])
    tiny = polygon([0.0, 1e-3, 0.0], [0.0, 0.0, 1e-3])  # area 5e-7
    assert oracle.area(near_line) == 0.0
    assert oracle.area(far_line) < oracle.shoelace_error(far_line)
    assert oracle.smallest([near_line, far_line], [0, 1]) == [0, 1]
    assert oracle.smallest([tiny, near_line], [0, 1]) == [1]


def test_borderline_spots_distances_rounding_decides():
    square = polygon([0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0])  # center (0.5, 0.5)
    assert oracle.borderline([square], [(3.5, 4.5)], 5.0)
    assert not oracle.borderline([square], [(3.5, 4.5)], 5.1)
    assert not oracle.borderline([square], [(0.5, 0.5)], 0.0)
