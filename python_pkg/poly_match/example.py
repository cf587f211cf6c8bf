"""The example workload behind every rung's ``generate_example``, and its radius
``MAX_DIST``, every rung's default ``max_dist``.

With the defaults it is the original's example, draw for draw: ``RandomState(6)``,
100 points on a shuffled integer grid, 1000 copies of one quarter-circle polygon
at random integer offsets in a 100 x 100 square, matched within 10. Other sizes keep
the original's density (1000 polygons per 100 x 100) unless ``extent`` says otherwise.
``far_outliers`` moves the last polygons far away, to stretch the polygons' bounding box
as a stray record would.
"""

import math
from collections.abc import Callable
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

PolygonT = TypeVar("PolygonT")
# A polygon class, or any factory called as ``polygon_type(x=..., y=...)``.
PolygonType = Callable[..., PolygonT]

MAX_DIST = 10.0
DEFAULT_POLYGONS = 1000
DEFAULT_POINTS = 100
DEFAULT_SEED = 6
DEFAULT_EXTENT = 100.0
# Where ``far_outliers`` polygons go: far outside any extent, yet 1e12 plus the template's
# coordinates still keeps finite centers and areas.
FAR_OFFSET = 1e12


def generate_one_polygon(polygon_type: PolygonType[PolygonT]) -> PolygonT:
    """The original's template polygon: a quarter circle sampled every 0.1 along x."""
    x = np.arange(0.0, 1.0, 0.1)
    y = np.sqrt(1.0 - x**2)
    return polygon_type(x=x, y=y)


def generate_example(
    polygon_type: PolygonType[PolygonT],
    n_polygons: int = DEFAULT_POLYGONS,
    n_points: int = DEFAULT_POINTS,
    seed: int = DEFAULT_SEED,
    extent: float | None = None,
    far_outliers: int = 0,
) -> tuple[list[PolygonT], NDArray[np.float64]]:
    """``n_polygons`` polygons of ``polygon_type`` and an (n_points, 2) float64 array of points.

    Points lie on a grid of ``n_points`` steps across ``[0, extent)`` in x and y, each
    axis shuffled; polygons are the template shifted by random integers in ``[0, extent)``,
    except the last ``far_outliers``, shifted by ``(FAR_OFFSET, FAR_OFFSET)``. Their random
    offsets are still drawn, so every other polygon and every point stay as without them.
    ``seed`` seeds the random draws.
    """
    if n_polygons < 0 or n_points < 0:
        raise ValueError(f"sizes must be non-negative, got {n_polygons=} and {n_points=}")
    if not (isinstance(far_outliers, int | np.integer) and 0 <= far_outliers <= n_polygons):
        raise ValueError(
            f"far_outliers must be an integer from 0 to n_polygons ({n_polygons}),"
            f" got {far_outliers!r}"
        )
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

    template_x, template_y = generate_one_polygon(lambda x, y: (x, y))
    offset_bound = round(extent)
    offsets: list[tuple[float, float]] = [
        (rng.randint(0, offset_bound), rng.randint(0, offset_bound)) for _ in range(n_polygons)
    ]
    offsets[n_polygons - far_outliers :] = [(FAR_OFFSET, FAR_OFFSET)] * far_outliers
    polygons = [polygon_type(x=template_x + dx, y=template_y + dy) for dx, dy in offsets]
    return polygons, points
