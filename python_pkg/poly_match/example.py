"""The example workload behind every rung's ``generate_example``, and ``as_points``,
the one place every rung's ``main`` normalizes its points.

With the defaults it is the seed's example, draw for draw: ``RandomState(6)``,
100 points on a shuffled integer grid, 1000 copies of one quarter-circle polygon
at random integer offsets in a 100 x 100 square. Other sizes keep the seed's
density (1000 polygons per 100 x 100) unless ``extent`` says otherwise.
"""

import math
from collections.abc import Callable
from typing import TypeVar

import numpy as np

PolygonT = TypeVar("PolygonT")
PolygonType = Callable[..., PolygonT]

DEFAULT_POLYGONS = 1000
DEFAULT_POINTS = 100
DEFAULT_SEED = 6
DEFAULT_EXTENT = 100.0


def generate_one_polygon(polygon_type: PolygonType[PolygonT]) -> PolygonT:
    """The seed's template polygon: a quarter circle sampled every 0.1 along x."""
    x = np.arange(0.0, 1.0, 0.1)
    y = np.sqrt(1.0 - x**2)
    return polygon_type(x=x, y=y)


def generate_example(
    polygon_type: PolygonType[PolygonT],
    n_polygons: int = DEFAULT_POLYGONS,
    n_points: int = DEFAULT_POINTS,
    seed: int = DEFAULT_SEED,
    extent: float | None = None,
) -> tuple[list[PolygonT], np.ndarray]:
    """``n_polygons`` polygons of ``polygon_type`` and an (n_points, 2) float64 array of points.

    Points lie on a grid of ``n_points`` steps across ``[0, extent)`` in x and y, each
    axis shuffled; polygons are the template shifted by random integers in ``[0, extent)``.
    """
    if n_polygons < 0 or n_points < 0:
        raise ValueError(f"sizes must be non-negative, got {n_polygons=} and {n_points=}")
    if extent is None:
        extent = DEFAULT_EXTENT * math.sqrt(max(n_polygons, 1) / DEFAULT_POLYGONS)
    if not extent >= 1.0:
        raise ValueError(f"extent must be at least 1, got {extent}")
    rng = np.random.RandomState(seed)

    step = extent / max(n_points, 1)
    xs = np.arange(n_points) * step
    rng.shuffle(xs)
    ys = np.arange(n_points) * step
    rng.shuffle(ys)
    points = np.column_stack([xs, ys]).reshape(n_points, 2)

    template = generate_one_polygon(lambda x, y: (x, y))
    offset_bound = round(extent)
    polygons = [
        polygon_type(
            x=template[0] + rng.randint(0, offset_bound),
            y=template[1] + rng.randint(0, offset_bound),
        )
        for _ in range(n_polygons)
    ]
    return polygons, points


def as_points(points: object) -> np.ndarray:
    """``points`` as an (N, 2) float64 array: a 2-D array passes through, the seed's
    list of 1-D arrays is stacked. Anything else is a ValueError, as is NaN or infinity."""
    array = np.asarray(points, dtype=np.float64)
    if array.size == 0:
        return array.reshape(0, 2)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("points must be finite (no NaN or infinity)")
    return array
