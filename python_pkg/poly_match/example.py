"""The example workload behind every rung's ``generate_example``, and the input checks
the Python rungs share (the Rust rungs check theirs in ``rust_crate/src/python/convert.rs``,
with the same messages: the argument's name, a list's index, numbers as ``repr``).

With the defaults it is the original's example, draw for draw: ``RandomState(6)``,
100 points on a shuffled integer grid, 1000 copies of one quarter-circle polygon
at random integer offsets in a 100 x 100 square. Other sizes keep the original's
density (1000 polygons per 100 x 100) unless ``extent`` says otherwise. ``far_outliers``
moves the last polygons far away, to stretch the polygons' bounding box as a stray
record would.
"""

import contextlib
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
# Where ``far_outliers`` polygons go: far outside any extent, yet 1e12 plus the template's
# coordinates still keeps finite centers and areas.
FAR_OFFSET = 1e12
# 2^-500 ..= 2^500: squares of distances this size are normal floats, so a comparison
# through a sum of squares (numpy's norm, the Rust rungs' squared distances) is exact
# for a max_dist in this range (rust_crate/src/geometry.rs, MaxDist, has the argument).
SQUARES_NORMAL_FROM, SQUARES_NORMAL_TO = 2.0**-500, 2.0**500


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
) -> tuple[list[PolygonT], np.ndarray]:
    """``n_polygons`` polygons of ``polygon_type`` and an (n_points, 2) float64 array of points.

    Points lie on a grid of ``n_points`` steps across ``[0, extent)`` in x and y, each
    axis shuffled; polygons are the template shifted by random integers in ``[0, extent)``,
    except the last ``far_outliers``, shifted by ``(FAR_OFFSET, FAR_OFFSET)``. Their random
    offsets are still drawn, so every other polygon and every point stay as without them.
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

    template = generate_one_polygon(lambda x, y: (x, y))
    offset_bound = round(extent)
    offsets = [
        (rng.randint(0, offset_bound), rng.randint(0, offset_bound)) for _ in range(n_polygons)
    ]
    offsets[n_polygons - far_outliers :] = [(FAR_OFFSET, FAR_OFFSET)] * far_outliers
    polygons = [polygon_type(x=template[0] + dx, y=template[1] + dy) for dx, dy in offsets]
    return polygons, points


def as_points(points: object) -> np.ndarray:
    """``points`` as an (N, 2) float64 array: a float64 array passes through, the original's
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
        row = np.flatnonzero(~np.isfinite(array).all(axis=1))[0]
        x, y = (float(v) for v in array[row])
        raise ValueError(f"points[{row}] must be finite, got ({x!r}, {y!r})")
    return array


def type_name(value: object) -> str:
    """``module.QualifiedName`` of the value's type, just the name for builtins (as the
    Rust rungs name types in their messages)."""
    kind = type(value)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def vertices(x: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    """``x``, ``y`` checked and copied. They must be 1-D float64 arrays (any byte order,
    strides or alignment) of the same length, at least three vertices, all finite;
    anything else is a TypeError or ValueError naming what is wrong. The copies are
    native, contiguous and read-only: a caller who reuses its arrays cannot move the
    polygon, as it cannot move the Rust rungs' polygons, which copy them too."""
    for name, values in (("x", x), ("y", y)):
        if not isinstance(values, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray of float64, got {type_name(values)}")
        if values.ndim != 1:
            raise ValueError(f"{name} must be a 1-D array, got shape {values.shape}")
        if values.dtype.kind != "f" or values.dtype.itemsize != 8:
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
    copies = []
    for name, values in (("x", x), ("y", y)):
        not_finite = np.flatnonzero(~np.isfinite(values))
        if len(not_finite):
            raise ValueError(f"{name}[{not_finite[0]}] is not finite (NaN or infinity)")
        copy = np.array(values, dtype=np.float64)
        copy.flags.writeable = False
        copies.append(copy)
    return copies[0], copies[1]


def check_geometry(center: np.ndarray, area: float) -> None:
    """Finite vertices can still be too large for a finite center or area."""
    for what, value in (("center", center), ("area", area)):
        if not np.isfinite(value).all():
            raise ValueError(
                f"the polygon's {what} overflows to infinity: its vertices are too large"
            )


def check_subclass(subclass: type, base: type) -> None:
    """Subclasses may add attributes and methods, but not their own ``center`` or
    ``area``: the Rust rungs read a polygon's geometry in Rust and would ignore them,
    the Python rungs would not, and the rungs would disagree."""
    for name in ("center", "area"):
        if getattr(subclass, name) is not getattr(base, name):
            raise TypeError(
                f"{subclass.__qualname__} cannot override {name}: every rung computes a"
                " polygon's center and area from its vertices"
            )


def check_polygons(polygons: object) -> None:
    """``polygons`` is a list of objects with a ``center`` and an ``area()``."""
    if not isinstance(polygons, list | tuple):
        raise TypeError(f"polygons must be a list of polygons, got {type_name(polygons)}")
    for index, polygon in enumerate(polygons):
        if not (hasattr(polygon, "center") and hasattr(polygon, "area")):
            raise TypeError(
                f"polygons[{index}] must be a polygon with a center, got {type_name(polygon)}"
            )


def squares_are_normal(max_dist: float) -> bool:
    """Whether "closer than ``max_dist``" may be decided through squared distances."""
    return SQUARES_NORMAL_FROM <= max_dist <= SQUARES_NORMAL_TO


def check_max_dist(max_dist: object) -> float:
    """``max_dist`` as a float. A number is anything with ``__float__`` or ``__index__``,
    as for the Rust rungs; NaN or a negative radius is a caller's mistake, not "no match"."""
    number = None
    if hasattr(type(max_dist), "__float__") or hasattr(type(max_dist), "__index__"):
        with contextlib.suppress(TypeError, ValueError, OverflowError):
            number = float(max_dist)
    if number is None:
        raise TypeError(f"max_dist must be a number, got {type_name(max_dist)}")
    if not number >= 0.0:
        raise ValueError(f"max_dist must be a non-negative number, got {number!r}")
    return number
