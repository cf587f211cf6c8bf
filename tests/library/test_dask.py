"""``poly_match.match_dask`` on a two-process ``dask.distributed`` cluster: the single-process
answer and the oracle's, whatever the chunks, with the index one shared key of the graph."""

import pickle

import numpy as np
import pytest

import poly_match
from conftest import as_arrays, as_pairs, assert_matches_oracle
from poly_match.example import MAX_DIST

REASON = "match_dask needs the dask extra: pip install poly-match[dask]"
da = pytest.importorskip("dask.array", reason=REASON)
distributed = pytest.importorskip("distributed", reason=REASON)
import dask  # noqa: E402  (after the skip: dask may be missing)
from dask.core import get_dependencies  # noqa: E402


@pytest.fixture(scope="module")
def client():
    """Two worker processes of one thread each: blocks really cross process boundaries."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def workload():
    polygons, points = poly_match.VERSIONS["v1"].generate_example(400, 900, seed=11)
    centers, areas = as_arrays(polygons)
    return polygons, points, poly_match.Index(centers, areas, MAX_DIST)


CHUNKS = {
    "uneven rows": ((100, 1, 450, 349), (2,)),
    "split columns": ((300, 600), (1, 1)),
}


@pytest.mark.parametrize("chunks", CHUNKS.values(), ids=CHUNKS.keys())
def test_matches_the_single_process_answer_and_the_oracle(client, workload, chunks):
    polygons, points, index = workload
    result = poly_match.match_dask(index, da.from_array(points, chunks=chunks))
    assert result.dtype == np.int64
    assert result.chunks == (chunks[0],)
    computed = client.compute(result).result()
    assert computed.dtype == np.int64
    np.testing.assert_array_equal(computed, index.match(points))
    assert_matches_oracle(as_pairs(computed, polygons, points), polygons, points, MAX_DIST)


def test_the_index_is_one_key_that_every_block_depends_on(workload):
    _, points, index = workload
    result = poly_match.match_dask(index, da.from_array(points, chunks=100))
    graph = dict(result.__dask_graph__())
    blocks = result.__dask_keys__()
    assert len(blocks) == 9
    # Each block depends on its own points and on the index: the index is all they share.
    (shared,) = set.intersection(*(get_dependencies(graph, block) for block in blocks))
    np.testing.assert_array_equal(dask.get(graph, shared).match(points), index.match(points))
    index_bytes = len(pickle.dumps(index))
    for block in blocks:
        assert len(pickle.dumps(graph[block])) < index_bytes / 4, "the index is in a block's task"


def test_empty_points(client, workload):
    _, _, index = workload
    result = poly_match.match_dask(index, da.from_array(np.empty((0, 2))))
    assert result.shape == (0,)
    computed = client.compute(result).result()
    assert computed.dtype == np.int64
    assert computed.shape == (0,)


@pytest.mark.parametrize(
    ("points", "error", "pattern"),
    [
        (np.zeros((3, 2)), TypeError, "points must be a dask.array.Array, got numpy.ndarray"),
        ([[0.0, 0.0]], TypeError, "points must be a dask.array.Array, got list"),
        (da.zeros((3, 2), dtype=np.float32), TypeError, "points must have dtype float64"),
        (da.zeros((3, 2), dtype=np.int64), TypeError, "points must have dtype float64"),
        (da.zeros((3, 3)), ValueError, r"points must have shape \(N, 2\), got shape \(3, 3\)"),
        (da.zeros(6), ValueError, r"points must have shape \(N, 2\), got shape \(6,\)"),
    ],
)
def test_bad_points(workload, points, error, pattern):
    with pytest.raises(error, match=pattern):
        poly_match.match_dask(workload[2], points)


def test_the_index_must_be_an_index():
    with pytest.raises(TypeError, match=r"index must be a poly_match\.Index, got tuple"):
        poly_match.match_dask((np.zeros((1, 2)), np.ones(1), 1.0), da.zeros((3, 2)))


def test_the_index_checks_each_block(workload):
    points = np.zeros((10, 2))
    points[7, 1] = np.nan
    result = poly_match.match_dask(workload[2], da.from_array(points, chunks=5))
    with pytest.raises(ValueError, match=r"points.* finite"):
        result.compute(scheduler="sync")
