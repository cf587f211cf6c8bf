"""The input checks the Python rungs and the array API share: points, a polygon's
vertices and geometry, a list of polygons, ``max_dist``, and a subclass of ``Polygon``.

Each failure is a TypeError (wrong type or dtype) or a ValueError (bad shape or value)
whose message names the argument, a list's index and the fix, with numbers shown as
``repr`` shows them. The Rust rungs check the same things with the same messages in
``rust_crate/src/python/convert.rs``.
"""

import contextlib

import numpy as np
from numpy.typing import NDArray

MIN_VERTICES = 3


def as_points(points: object) -> NDArray[np.float64]:
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


def vertices(x: object, y: object) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``x``, ``y`` checked and copied. They must be 1-D float64 arrays (any byte order,
    strides or alignment) of the same length, at least three vertices, all finite;
    anything else is a TypeError or ValueError naming what is wrong. The copies are
    native, contiguous and read-only: a caller who reuses its arrays cannot move the
    polygon, as it cannot move the Rust rungs' polygons, which copy them too."""
    arrays = []
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
        arrays.append(values)
    if len(arrays[0]) != len(arrays[1]):
        raise ValueError(
            "x and y must have the same length,"
            f" got {len(arrays[0])} x values and {len(arrays[1])} y values"
        )
    if len(arrays[0]) < MIN_VERTICES:
        raise ValueError(f"a polygon needs at least {MIN_VERTICES} vertices, got {len(arrays[0])}")
    copies = []
    for name, values in zip(("x", "y"), arrays, strict=True):
        not_finite = np.flatnonzero(~np.isfinite(values))
        if len(not_finite):
            raise ValueError(f"{name}[{not_finite[0]}] is not finite (NaN or infinity)")
        copy = np.array(values, dtype=np.float64)
        copy.flags.writeable = False
        copies.append(copy)
    return copies[0], copies[1]


def check_geometry(center: NDArray[np.float64], area: float) -> None:
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


def check_max_dist(max_dist: object) -> float:
    """``max_dist`` as a float. A number is anything with ``__float__`` or ``__index__``,
    as for the Rust rungs; NaN or a negative radius is a caller's mistake, not "no match"."""
    number = None
    if hasattr(type(max_dist), "__float__") or hasattr(type(max_dist), "__index__"):
        with contextlib.suppress(TypeError, ValueError, OverflowError):
            number = float(max_dist)  # type: ignore[arg-type]
    if number is None:
        raise TypeError(f"max_dist must be a number, got {type_name(max_dist)}")
    if not number >= 0.0:
        raise ValueError(f"max_dist must be a non-negative number, got {number!r}")
    return number
