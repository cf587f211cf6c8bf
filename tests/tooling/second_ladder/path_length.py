"""A second, tiny ladder for the tooling's own test: the length of a 2-D path.

Nothing here knows poly_match: it shows that ladder-bench measures whatever a
``[tool.ladder-bench]`` table declares (see pyproject.toml beside this file).
"""

import math
from itertools import pairwise

import numpy as np


def make_path(n_vertices: int = 20_000, seed: int = 1) -> tuple[np.ndarray]:
    """A random walk of ``n_vertices`` points, as an (n, 2) array."""
    return (np.random.default_rng(seed).normal(size=(n_vertices, 2)).cumsum(axis=0),)


def loop(path: np.ndarray) -> float:
    """Pure Python: one segment at a time."""
    total = 0.0
    vertices = path.tolist()
    for (x0, y0), (x1, y1) in pairwise(vertices):
        total += math.hypot(x1 - x0, y1 - y0)
    return total


def vectorized(path: np.ndarray) -> float:
    """numpy: every segment at once, in compiled code."""
    steps = np.diff(path, axis=0)
    return float(np.hypot(steps[:, 0], steps[:, 1]).sum())


def equal_up_to_rounding(answer: float, reference: float, size: dict) -> dict:
    """The agreement hook: lengths summed in another order differ in their last digits."""
    same = math.isclose(answer, reference, rel_tol=1e-9)
    return {"same": int(same), "ties": 0, "different": int(not same)}
