"""The example workload behind every rung's ``generate_example``, and the input checks
the Python rungs share (the Rust rungs check theirs in ``rust_crate/src/python/convert.rs``,
with the same messages).

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
MIN_VERTICES = 3


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
    """``points`` as an (N, 2) float64 array: a float64 array passes through, the seed's
    list of 1-D arrays is stacked, other real dtypes are converted. Anything else is a
    TypeError or ValueError, as is NaN or infinity."""
    if np.asarray(points).dtype.kind not in "fiu":
        raise TypeError(f"points must be real numbers, got dtype {np.asarray(points).dtype}")
    array = np.asarray(points, dtype=np.float64)
    if array.size == 0:
        return array.reshape(0, 2)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("points must be finite (no NaN or infinity)")
    return array


def check_vertices(x: object, y: object) -> None:
    """What makes ``x``, ``y`` a polygon: 1-D float64 arrays of the same length, at least
    three vertices, all finite. Raises TypeError or ValueError naming what is wrong."""
    for name, values in (("x", x), ("y", y)):
        if not isinstance(values, np.ndarray):
            raise TypeError(
                f"{name} must be a numpy.ndarray of float64, got {type(values).__name__}"
            )
        if values.ndim != 1:
            raise ValueError(f"{name} must be a 1-D array, got shape {values.shape}")
        if values.dtype != np.float64:
            raise TypeError(
                f"{name} must have dtype float64, got {values.dtype}"
                " (convert with .astype(numpy.float64))"
            )
    if len(x) != len(y):
        raise ValueError(
            f"x and y must have the same length, got {len(x)} x values and {len(y)} y values"
        )
    if len(x) < MIN_VERTICES:
        raise ValueError(f"a polygon needs at least {MIN_VERTICES} vertices, got {len(x)}")
    for name, values in (("x", x), ("y", y)):
        not_finite = np.flatnonzero(~np.isfinite(values))
        if len(not_finite):
            raise ValueError(f"{name}[{not_finite[0]}] is not finite (NaN or infinity)")


def check_polygons(polygons: object) -> None:
    """``polygons`` is a list of objects with a ``center`` and an ``area()``."""
    if not isinstance(polygons, list | tuple):
        raise TypeError(f"polygons must be a list of polygons, got {type(polygons).__name__}")
    for index, polygon in enumerate(polygons):
        if not (hasattr(polygon, "center") and hasattr(polygon, "area")):
            raise TypeError(
                f"polygons[{index}] must be a polygon with a center, got {type(polygon).__name__}"
            )


def check_max_dist(max_dist: float) -> float:
    """NaN or a negative radius is a caller's mistake, not "no match"."""
    if not max_dist >= 0.0:
        raise ValueError(f"max_dist must be a non-negative number, got {max_dist}")
    return max_dist
