"""The workload of every rung: n random points in the unit square and a radius."""

import numpy as np

RADIUS = 0.05


def make_points(n: int = 5000, seed: int = 0) -> tuple[np.ndarray, float]:
    """``n`` points uniform in the unit square, as an (n, 2) array, and the radius."""
    return np.random.default_rng(seed).random((n, 2)), RADIUS
