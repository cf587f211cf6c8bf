"""Memory layouts, for every numpy input of every entry point: read as the values it holds.

A float64 array is accepted whatever its layout: either byte order, any strides (byte
strides that are not a multiple of 8, as a field of a packed structured array has,
negative ones, zero ones of a broadcast view), unaligned, Fortran order, read-only, a
view at an offset into a larger array. The answer must be the one the same entry point
gives on a C-contiguous, aligned, native, writeable copy of the same values (``plain``).

``in_layout(values)`` is the hypothesis strategy: it returns an array holding ``values``
element by element in a generated layout, built in the order numpy users meet them:
a storage (a plain copy, a field of a packed structured array, ``structured_to_unstructured``
of one, an unaligned ``frombuffer``, a strided view into a larger array, a broadcast view
where the values allow one) of the values reversed and transposed as drawn, then the
reversal and transpose undone by views (negative strides, Fortran order), then maybe
marked read-only. Every draw shrinks towards a plain copy, so a failing example names the
argument and the layout that broke it (see its notes).

Polygons are squares, triangles and vertical segments (zero area, constant x, so x can be
broadcast) on a grid of eighths: their centers and areas are exact whatever order a rung
sums in, so layouts cannot change an answer by rounding, only by misreading.
"""

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from numpy.lib import recfunctions

import poly_match
from conftest import NATIVE_SEARCHES, each_polygon_type

V = poly_match.VERSIONS
NATIVE = np.dtype(np.float64)
SWAPPED = NATIVE.newbyteorder("S")
BIG_ENDIAN = np.dtype(">f8")

# Each rung's search over all points, and the polygon type it takes.
MATCHERS = {
    "v5 find_all_close_polygons": (
        V["v5_find_all_in_rust"].find_all_close_polygons,
        V["v5_find_all_in_rust"].Polygon,
    ),
    "v6 match_points": (V["v6_convert_once"].match_points, V["v6_convert_once"].Polygon),
    "v7 match_points": (V["v7_grid_parallel"].match_points, V["v7_grid_parallel"].Polygon),
    "v8 match_points": (V["v8_lean_boundary"].match_points, V["v8_lean_boundary"].Polygon),
}
# The byte orders one example draws from: either both, or only the native one, so that
# an example whose arrays are all native shows what misreads hide behind a rejected one.
BYTE_ORDERS = st.sampled_from([(NATIVE,), (NATIVE, SWAPPED)])
LAYOUT_SETTINGS = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def plain(array) -> np.ndarray:
    """A C-contiguous, aligned, native, writeable copy of ``array``'s values."""
    return np.array(array, dtype=np.float64, order="C", copy=True)


# The extra field beside the float64 one in a packed structured array: every itemsize
# from 1 to 9, so every byte stride and offset modulo 8 comes up.
EXTRA_FIELDS = ["u1", "<i2", "S3", "<i4", "V5", "S6", "V7", "<f8", "S9"]


def _fill(draw, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """An array of ``dtype`` over a fresh bytearray full of one drawn byte, so the bytes
    between the values are not zeros (a misread picks up garbage, not 0.0)."""
    byte = draw(st.integers(0, 255))
    count = int(np.prod(shape, dtype=np.int64))
    return np.ndarray(shape, dtype, buffer=bytearray([byte]) * (count * dtype.itemsize))


def _packed(draw, value_dtype, subarray: tuple[int, ...] = ()) -> tuple[np.dtype, str]:
    extra = draw(st.sampled_from(EXTRA_FIELDS))
    value_field = ("p", value_dtype, subarray) if subarray else ("p", value_dtype)
    fields = [value_field, ("flag", extra)]
    if draw(st.booleans()):
        fields.reverse()  # the values at an odd offset into each record
    dtype = np.dtype(fields)  # packed: no padding (align=False)
    return dtype, f"field of packed {dtype.descr}"


def record_field(draw, stored: np.ndarray, dtype: np.dtype):
    """Each value a field of its own record: byte strides itemsize * the record's."""
    rec_dtype, description = _packed(draw, dtype)
    rec = _fill(draw, rec_dtype, stored.shape)
    rec["p"] = stored
    return rec["p"], description


def row_field(draw, stored: np.ndarray, dtype: np.dtype):
    """Each row a subarray field of its record, as ``rec["p"]`` with ``("p", "<f8", (2,))``."""
    rec_dtype, description = _packed(draw, dtype, stored.shape[1:])
    rec = _fill(draw, rec_dtype, stored.shape[:1])
    rec["p"] = stored
    return rec["p"], description


def unstructured(draw, stored: np.ndarray, dtype: np.dtype):
    """``structured_to_unstructured`` of the value fields of a packed record with another
    field after each (the same one, so they are evenly spaced): a view whose strides can
    both be odd."""
    n, width = stored.shape
    gap = draw(st.sampled_from(EXTRA_FIELDS))
    fields = []
    for k in range(width):
        fields.append((f"v{k}", dtype))
        fields.append((f"gap{k}", gap))
    if draw(st.booleans()):
        fields.insert(0, ("head", draw(st.sampled_from(EXTRA_FIELDS))))
    rec = _fill(draw, np.dtype(fields), (n,))
    names = [f"v{k}" for k in range(width)]
    for k, name in enumerate(names):
        rec[name] = stored[:, k]
    array = recfunctions.structured_to_unstructured(rec[names], dtype=dtype, copy=False)
    assert np.shares_memory(array, rec) or array.size == 0, "expected a view, got a copy"
    return array, f"structured_to_unstructured of packed {rec.dtype.descr}"


def unaligned(draw, stored: np.ndarray, dtype: np.dtype):
    """The values at a byte offset of 1 to 7 into a buffer: not aligned for float64."""
    offset = draw(st.integers(1, 7))
    buffer = bytearray(offset + stored.size * dtype.itemsize)
    array = np.frombuffer(buffer, dtype, count=stored.size, offset=offset).reshape(stored.shape)
    array[...] = stored
    return array, f"frombuffer at offset {offset}"


def strided(draw, stored: np.ndarray, dtype: np.dtype):
    """A view into a larger array: every ``step``-th element from ``start`` on each axis."""
    steps = [draw(st.integers(1, 3)) for _ in stored.shape]
    starts = [draw(st.integers(0, 2)) for _ in stored.shape]
    big_shape = tuple(n * s + b + 1 for n, s, b in zip(stored.shape, steps, starts, strict=True))
    big = np.full(big_shape, -12345.678, dtype)
    index = tuple(
        slice(b, b + n * s, s) for n, s, b in zip(stored.shape, steps, starts, strict=True)
    )
    big[index] = stored
    return big[index], f"view [{index}] into shape {big_shape}"


def broadcast(draw, stored: np.ndarray, dtype: np.dtype):
    """np.broadcast_to: stride 0 along one axis the values are constant on, or all axes."""
    axes = _constant_axes(stored)
    axis = draw(st.sampled_from(axes))
    if axis is None:
        source = stored.reshape(-1)[:1].reshape((1,) * stored.ndim)
    else:
        source = stored[(slice(None),) * axis + (slice(0, 1),)]
    array = np.broadcast_to(source.astype(dtype), stored.shape)
    return array, f"broadcast_to along axis {'all' if axis is None else axis}"


def _constant_axes(stored: np.ndarray) -> list[int | None]:
    """The axes a broadcast view could have stride 0 along (None: all of them)."""
    if stored.size == 0:
        return []
    axes: list[int | None] = [
        axis
        for axis in range(stored.ndim)
        if stored.shape[axis] > 1
        and (stored == stored[(slice(None),) * axis + (slice(0, 1),)]).all()
    ]
    if stored.ndim > 1 and (stored == stored.reshape(-1)[0]).all():
        axes.append(None)
    return axes


@st.composite
def in_layout(draw, values, name: str = "array", byte_orders=(NATIVE, SWAPPED)) -> np.ndarray:
    """``values`` (float64) element by element, in a generated memory layout."""
    values = plain(values)
    byte_order = draw(st.sampled_from(byte_orders))
    # Each axis reversed one time in three, so plain Fortran order comes up too.
    flipped = tuple(draw(st.integers(0, 2)) == 2 for _ in range(values.ndim))
    fortran = values.ndim == 2 and draw(st.booleans())
    flip = tuple(slice(None, None, -1) if f else slice(None) for f in flipped)

    # What the storage holds: the values reversed and transposed, undone by views below.
    stored = values[flip]
    if fortran:
        stored = stored.T
    stored = np.ascontiguousarray(stored)

    storages = [("plain", None), ("record field", record_field)]
    if stored.ndim == 2:
        storages.append(("row field", row_field))
    if stored.ndim == 2 and stored.shape[1] > 0:
        storages.append(("unstructured", unstructured))
    storages += [("unaligned", unaligned), ("strided", strided)]
    if _constant_axes(stored):
        storages.append(("broadcast", broadcast))
    kind, build = draw(st.sampled_from(storages))
    if build is None:
        array, description = stored.astype(byte_order), "C-contiguous copy"
    else:
        array, description = build(draw, stored, byte_order)

    if fortran:
        array = array.T
    array = array[flip]
    read_only = array.flags.writeable and draw(st.booleans())
    if read_only:
        array.flags.writeable = False

    note(
        f"{name}: {kind} ({description}); dtype {array.dtype.str}, strides {array.strides}, "
        f"reversed axes {[k for k, f in enumerate(flipped) if f]}, fortran {fortran}, "
        f"aligned {array.flags.aligned}, writeable {array.flags.writeable}"
    )
    # The strategy's own promise: the same values, element by element.
    assert array.shape == values.shape
    np.testing.assert_array_equal(plain(array), values)
    return array


@dataclass(frozen=True)
class Workload:
    shapes: list[tuple[np.ndarray, np.ndarray]]  # (x, y) of each polygon
    points: np.ndarray
    max_dist: float

    @property
    def centers(self) -> np.ndarray:
        return np.array([(x.mean(), y.mean()) for x, y in self.shapes]).reshape(-1, 2)

    @property
    def areas(self) -> np.ndarray:
        # The shoelace formula; exact here (coordinates are multiples of 1/8).
        return np.array([0.5 * abs(x @ np.roll(y, 1) - y @ np.roll(x, 1)) for x, y in self.shapes])


SQUARE = (np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0, 1.0]))
TRIANGLE = (np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0]))
SEGMENT = (np.array([0.0, 0.0, 0.0]), np.array([0.0, 1.0, 2.0]))  # zero area, constant x


@st.composite
def workloads(draw, min_polygons: int = 0, max_polygons: int = 30, max_points: int = 50):
    """Up to 30 small polygons at offsets in [0, 20] and up to 50 points around them, so
    that with max_dist in [0.5, 5] most points match something. Sometimes all polygons
    are alike (equal areas, which can be broadcast), or all points equal or on the
    diagonal (which can be broadcast)."""
    n_polygons = draw(st.integers(min_polygons, max_polygons))
    n_points = draw(st.integers(0, max_points))
    max_dist = draw(st.floats(0.5, 5.0))
    alike = draw(st.booleans())
    point_pattern = draw(st.sampled_from(["random", "all equal", "diagonal"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    templates = [SQUARE, TRIANGLE, SEGMENT]
    kind, size = rng.integers(3), rng.integers(1, 17) / 8
    shapes = []
    for _ in range(n_polygons):
        if not alike:
            kind, size = rng.integers(3), rng.integers(1, 17) / 8
        x, y = templates[kind]
        dx, dy = rng.integers(0, 161, 2) / 8
        shapes.append((dx + size * x, dy + size * y))

    points = rng.uniform(-1.0, 22.0, (n_points, 2))
    if point_pattern == "all equal" and n_points:
        points[:] = points[0]
    elif point_pattern == "diagonal":
        points[:, 1] = points[:, 0]
    return Workload(shapes, points, max_dist)


def polygons_in_layouts(draw, polygon_type, workload: Workload, byte_orders):
    """The workload's polygons built from vertex arrays in generated layouts, and the
    same polygons built from plain copies of those arrays."""
    in_layouts, reference = [], []
    for k, (x, y) in enumerate(workload.shapes):
        lx = draw(in_layout(x, f"polygons[{k}].x", byte_orders))
        ly = draw(in_layout(y, f"polygons[{k}].y", byte_orders))
        in_layouts.append(polygon_type(x=lx, y=ly))
        reference.append(polygon_type(x=plain(lx), y=plain(ly)))
    return in_layouts, reference


def indices(found, polygons) -> list[int]:
    """Which of ``polygons`` (by identity) each of ``found`` is; -1 for a stranger."""
    position = {id(polygon): k for k, polygon in enumerate(polygons)}
    return [position.get(id(polygon), -1) for polygon in found]


def pairs(result, polygons) -> list[tuple[list[float], int]]:
    """A ``[(point, polygon)]`` answer as comparable values: point values, polygon index."""
    return [(plain(point).tolist(), *indices([polygon], polygons)) for point, polygon in result]


def assert_same_polygon(polygon, reference):
    np.testing.assert_array_equal(polygon.x, reference.x)
    np.testing.assert_array_equal(polygon.y, reference.y)
    np.testing.assert_array_equal(polygon.center, reference.center)
    assert polygon.area() == reference.area()


# --- Property tests: every entry point, every input in a generated layout. ---


@each_polygon_type
@LAYOUT_SETTINGS
@given(data=st.data())
def test_polygon_reads_vertices_in_any_layout(polygon_type, data):
    ((x, y),) = data.draw(workloads(min_polygons=1, max_polygons=1, max_points=0)).shapes
    orders = data.draw(BYTE_ORDERS)
    lx = data.draw(in_layout(x, "x", orders))
    ly = data.draw(in_layout(y, "y", orders))
    assert_same_polygon(polygon_type(x=lx, y=ly), polygon_type(x=plain(lx), y=plain(ly)))


@pytest.mark.parametrize("name", NATIVE_SEARCHES)
@LAYOUT_SETTINGS
@given(data=st.data())
def test_find_close_polygons_reads_any_layout(name, data):
    rung = V[name]
    workload = data.draw(workloads())
    orders = data.draw(BYTE_ORDERS)
    polygons, reference = polygons_in_layouts(data.draw, rung.Polygon, workload, orders)
    point_values = workload.points[0] if len(workload.points) else np.array([10.0, 10.0])
    point = data.draw(in_layout(point_values, "point", orders))
    found = rung.find_close_polygons(polygons, point, workload.max_dist)
    expected = rung.find_close_polygons(reference, plain(point), workload.max_dist)
    assert indices(found, polygons) == indices(expected, reference)


@pytest.mark.parametrize("matcher", MATCHERS)
@LAYOUT_SETTINGS
@given(data=st.data())
def test_rust_matchers_read_any_layout(matcher, data):
    match, polygon_type = MATCHERS[matcher]
    workload = data.draw(workloads())
    orders = data.draw(BYTE_ORDERS)
    polygons, reference = polygons_in_layouts(data.draw, polygon_type, workload, orders)
    points = data.draw(in_layout(workload.points, "points", orders))
    result = match(polygons, points, workload.max_dist)
    expected = match(reference, plain(points), workload.max_dist)
    if matcher == "v5 find_all_close_polygons":
        # [(point, [close polygons])]: each set as indices.
        result = [(plain(p).tolist(), indices(close, polygons)) for p, close in result]
        expected = [(plain(p).tolist(), indices(close, reference)) for p, close in expected]
        assert result == expected
    else:
        assert pairs(result, polygons) == pairs(expected, reference)


@pytest.mark.parametrize("name", poly_match.RUNG_NAMES)
@LAYOUT_SETTINGS
@given(data=st.data())
def test_main_reads_any_layout(name, data):
    rung = V[name]
    workload = data.draw(workloads())
    orders = data.draw(BYTE_ORDERS)
    polygons, reference = polygons_in_layouts(data.draw, rung.Polygon, workload, orders)
    points = data.draw(in_layout(workload.points, "points", orders))
    result = rung.main(polygons, points, workload.max_dist)
    expected = rung.main(reference, plain(points), workload.max_dist)
    assert pairs(result, polygons) == pairs(expected, reference)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_match_points_reads_any_layout(data):
    workload = data.draw(workloads())
    orders = data.draw(BYTE_ORDERS)
    centers = data.draw(in_layout(workload.centers, "centers", orders))
    areas = data.draw(in_layout(workload.areas, "areas", orders))
    points = data.draw(in_layout(workload.points, "points", orders))
    result = poly_match.match_points(centers, areas, points, workload.max_dist)
    expected = poly_match.match_points(
        plain(centers), plain(areas), plain(points), workload.max_dist
    )
    assert result.dtype == np.int64
    np.testing.assert_array_equal(result, expected)


# --- Regression tests: the layouts found misread or rejected, one by one. ---

PACKED = np.dtype([("p", "<f8", (2,)), ("flag", "<i4")])  # itemsize 20: byte stride 20


def packed_record(points, flags=None) -> np.ndarray:
    rec = np.zeros(len(points), PACKED)
    rec["p"] = points
    if flags is not None:
        rec["flag"] = flags
    return rec


def packed_points(points, flags=None) -> np.ndarray:
    """``points`` as the field ``rec["p"]`` of a packed structured array: strides (20, 8)."""
    return packed_record(points, flags)["p"]


def unstructured_points(points) -> np.ndarray:
    """``points`` as ``structured_to_unstructured(rec[["p"]])``: a view, strides (20, 8)."""
    return recfunctions.structured_to_unstructured(packed_record(points)[["p"]], copy=False)


SQUARE_CENTERS = np.array([[0.5, 0.5], [5.5, 0.5], [10.5, 0.5]])
SQUARE_AREAS = np.array([1.0, 1.0, 1.0])
NEAR_EACH_SQUARE = np.array([[0.5, 0.5], [5.25, 0.375], [100.0, 100.0], [10.25, 0.5]])


@pytest.mark.parametrize(
    "make",
    [packed_points, unstructured_points],
    ids=["rec['p']", "structured_to_unstructured"],
)
def test_match_points_reads_packed_field_points(make):
    points = make(NEAR_EACH_SQUARE)
    assert points.strides == (20, 8)
    result = poly_match.match_points(SQUARE_CENTERS, SQUARE_AREAS, points, 1.0)
    np.testing.assert_array_equal(result, [0, 1, -1, 2])


def test_v7_main_reads_packed_field_points():
    """Misread with byte stride 16 instead of 20, row 2 of these points would be
    (x ~ 5.0, 0.5): its x's high bytes are row 1's flag, 0x40140000 (5.0's high half).
    v7 matched that point, which is not in the input, to the square at (5, 0.5)."""
    v7 = V["v7_grid_parallel"]
    polygons = [v7.Polygon(x=SQUARE[0] + 4.5, y=SQUARE[1])]  # center (5.0, 0.5)
    values = np.array([[50.0, 50.0], [60.0, 60.0], [0.5, 70.0], [80.0, 80.0]])
    points = packed_points(values, flags=[0, 0x40140000, 0, 0])
    result = v7.main(polygons, points, 1.0)
    for point, _ in result:
        assert any(np.array_equal(point, row) for row in values), f"{point} is not an input"
    assert result == []


@each_polygon_type
def test_polygon_reads_packed_field_vertices(polygon_type):
    rec = np.zeros(4, [("x", "<f8"), ("y", "<f8"), ("flag", "u1")])  # byte stride 17
    rec["x"], rec["y"], rec["flag"] = SQUARE[0], SQUARE[1], 0xFF
    polygon = polygon_type(x=rec["x"], y=rec["y"])
    np.testing.assert_array_equal(polygon.x, SQUARE[0])
    np.testing.assert_array_equal(polygon.y, SQUARE[1])
    np.testing.assert_array_equal(polygon.center, [0.5, 0.5])
    assert polygon.area() == 1.0


def unaligned_copy(values, offset: int = 1) -> np.ndarray:
    """``values`` at ``offset`` bytes into a buffer: not aligned for float64."""
    values = plain(values)
    buffer = b"\0" * offset + values.tobytes()
    return np.frombuffer(buffer, np.float64, offset=offset).reshape(values.shape)


# Unaligned input was read through a misaligned &f64: undefined behaviour that read the
# right values in a release build on x86-64, and panicked in a debug build (ndarray's
# "The pointer must be aligned.", a PanicException). tox -e debug runs these.
@pytest.mark.parametrize(
    "polygon_type",
    [V["v3_riir_polygon"].Polygon, V["v4_avoid_allocs"].Polygon],
    ids=["v3_riir_polygon", "v4_avoid_allocs"],
)
@pytest.mark.parametrize("offset", [1, 4, 7])
def test_rust_polygon_reads_unaligned_vertices(polygon_type, offset):
    x, y = unaligned_copy(SQUARE[0], offset), unaligned_copy(SQUARE[1], offset)
    assert not x.flags.aligned
    polygon = polygon_type(x=x, y=y)
    np.testing.assert_array_equal(polygon.x, SQUARE[0])
    np.testing.assert_array_equal(polygon.y, SQUARE[1])
    np.testing.assert_array_equal(polygon.center, [0.5, 0.5])
    assert polygon.area() == 1.0


def test_match_points_reads_unaligned_arrays():
    result = poly_match.match_points(
        unaligned_copy(SQUARE_CENTERS, 3),
        unaligned_copy(SQUARE_AREAS, 5),
        unaligned_copy(NEAR_EACH_SQUARE, 7),
        1.0,
    )
    np.testing.assert_array_equal(result, [0, 1, -1, 2])


def test_empty_unaligned_arrays_are_read_as_empty():
    # numpy calls an empty array aligned whatever its pointer; the debug build found that
    # an unaligned empty array still reached ndarray's alignment assertion.
    empty_points = unaligned_copy(np.empty((0, 2)), 3)
    no_centers = poly_match.match_points(
        unaligned_copy(np.empty((0, 2)), 1), np.ones(0), np.zeros((1, 2)), 1.0
    )
    assert no_centers.tolist() == [-1]
    assert poly_match.match_points(SQUARE_CENTERS, SQUARE_AREAS, empty_points, 1.0).tolist() == []
    polygons = [V["v4_avoid_allocs"].Polygon(x=SQUARE[0], y=SQUARE[1])]
    assert V["v7_grid_parallel"].match_points(polygons, empty_points, 1.0) == []


def big_endian(array) -> np.ndarray:
    return np.asarray(array).astype(BIG_ENDIAN)


@each_polygon_type
def test_polygon_accepts_big_endian(polygon_type):
    polygon = polygon_type(x=big_endian(SQUARE[0]), y=big_endian(SQUARE[1]))
    np.testing.assert_array_equal(polygon.center, [0.5, 0.5])
    assert polygon.area() == 1.0


@pytest.mark.parametrize("name", NATIVE_SEARCHES)
def test_find_close_polygons_accepts_big_endian_point(name):
    rung = V[name]
    polygons = [rung.Polygon(x=SQUARE[0] + dx, y=SQUARE[1]) for dx in (0.0, 5.0, 50.0)]
    close = rung.find_close_polygons(polygons, big_endian([0.5, 0.5]), 10.0)
    assert close == polygons[:2]


@pytest.mark.parametrize("matcher", MATCHERS)
def test_rust_matchers_accept_big_endian_points(matcher):
    match, polygon_type = MATCHERS[matcher]
    polygons = [polygon_type(x=SQUARE[0] + dx, y=SQUARE[1]) for dx in (0, 5, 10)]
    points = big_endian(NEAR_EACH_SQUARE)
    result = match(polygons, points, 1.0)
    assert [plain(point).tolist() for point, _ in result] == [
        NEAR_EACH_SQUARE[k].tolist() for k in (0, 1, 3)
    ]


def test_match_points_accepts_big_endian():
    result = poly_match.match_points(
        big_endian(SQUARE_CENTERS), big_endian(SQUARE_AREAS), big_endian(NEAR_EACH_SQUARE), 1.0
    )
    np.testing.assert_array_equal(result, [0, 1, -1, 2])
