"""The array API: ``Index(centers, areas, max_dist)``, ``match_points`` and ``match_dask``.

For callers who hold their polygons as arrays and want indices back rather than Python
objects: ``centers`` (M, 2) and ``areas`` (M,) float64 arrays describe the polygons,
``points`` is an (N, 2) float64 array, and the answer is an (N,) int64 array with each
point's best polygon index (-1 where no center is closer than ``max_dist``). "Best" is
v1's rule: the smallest area, the first on ties.

``Index`` is built once (with the GIL released) and matches any number of point arrays,
from any number of threads at once; it pickles, so it can be shipped to worker
processes. ``match_points(centers, areas, points, max_dist)`` is the one-shot form,
``Index(centers, areas, max_dist).match(points)`` without keeping the index.

``match_dask(index, points)`` matches the points of a dask array block by block. It needs
dask (``pip install poly-match[dask]``), imported only when it is called: importing this
module never imports dask.
"""

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from . import _rs
from .checks import type_name

if TYPE_CHECKING:
    import dask.array

__all__ = ["Index", "match_dask", "match_points"]

Index = _rs.Index
match_points = _rs.match_points


def match_dask(index: Index, points: "dask.array.Array") -> "dask.array.Array":
    """Each point's best polygon, for a dask array of points: lazy, block by block.

    ``points`` is a ``dask.array.Array`` of float64 and shape (N, 2), chunked in any
    way (blocks that split the two columns are rechunked into whole rows). The result is
    a lazy (N,) int64 dask array chunked as the points' rows, each block
    ``index.match(block)``. The index is one key of the graph that every block's task
    depends on, so a distributed scheduler ships it to each worker once, not per block.
    """
    import dask
    import dask.array as da

    if not isinstance(index, Index):
        raise TypeError(f"index must be a poly_match.Index, got {type_name(index)}")
    if not isinstance(points, da.Array):
        raise TypeError(f"points must be a dask.array.Array, got {type_name(points)}")
    if points.dtype != np.float64:
        raise TypeError(
            f"points must have dtype float64, got {points.dtype}"
            " (convert with .astype(numpy.float64))"
        )
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got shape {points.shape}")
    shared_index = dask.delayed(index, pure=True)
    return da.map_blocks(
        _match_block,
        points.rechunk({1: 2}),
        shared_index,
        drop_axis=1,
        dtype=np.int64,
        meta=np.empty(0, dtype=np.int64),
    )


def _match_block(block: NDArray[np.float64], index: Index) -> NDArray[np.int64]:
    return index.match(block)
