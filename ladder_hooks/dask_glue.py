"""The scaling sweep's row through dask: ``poly_match.match_dask`` on a ``LocalCluster`` of
two single-threaded worker processes, and each worker's peak memory. Uses only the
library's public names (declared in pyproject.toml under ``sweep-rungs``).

The workload factory starts the cluster (the sweep runs every cell in a fresh process,
so once per cell, untimed) and persists the points on the workers, as a user keeps a
large dataset on the cluster instead of shipping it from the client for every query.
Each timed call then builds the graph, ships the index once and gathers the answer.
"""

import gc
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import dask.array as da
import distributed

import poly_match
from poly_match import example

WORKERS = 2
BLOCKS_PER_WORKER = 4
STATUS = Path("/proc/self/status")
# Writing "5" resets the kernel's peak-RSS mark (VmHWM) of the process that writes it.
CLEAR_REFS = Path("/proc/self/clear_refs")


def _load_ladder():
    """ladder_hooks/ladder.py, the sweep's workload, from beside this file: the tooling loads
    glue by path, so the ``benchmarks`` package need not be importable."""
    spec = importlib.util.spec_from_file_location(
        "poly_match_benchmarks_ladder", Path(__file__).with_name("ladder.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class ClusterJob:
    client: distributed.Client
    index: poly_match.Index
    points: da.Array  # persisted on the workers
    resident_kib: dict[str, int]  # each worker's resident set once the points were in


def cluster_example(
    n_polygons: int = example.DEFAULT_POLYGONS,
    n_points: int = example.DEFAULT_POINTS,
    far_outliers: int = 0,
):
    """The array example on a fresh 2-worker cluster: the index, and the points in
    ``WORKERS * BLOCKS_PER_WORKER`` blocks held by the workers."""
    centers, areas, points, max_dist = _load_ladder().array_example(
        n_polygons, n_points, far_outliers
    )
    cluster = distributed.LocalCluster(
        n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    rows_per_block = max(1, -(-n_points // (WORKERS * BLOCKS_PER_WORKER)))
    on_workers = client.persist(da.from_array(points, chunks=(rows_per_block, 2)))
    distributed.wait(on_workers)
    # Bound methods of builtins pickle by reference: each worker reads its own /proc.
    client.run(gc.collect)
    client.run(CLEAR_REFS.write_text, "5")
    resident = {
        worker: _kib(text, "VmRSS") for worker, text in client.run(STATUS.read_text).items()
    }
    return (ClusterJob(client, poly_match.Index(centers, areas, max_dist), on_workers, resident),)


def match_on_cluster(job: ClusterJob):
    """The call the sweep times: the lazy match, computed on the cluster, gathered."""
    return job.client.compute(poly_match.match_dask(job.index, job.points)).result()


def worker_peak_memory(job: ClusterJob) -> dict:
    """Each worker's peak resident set during the warm-up and timed calls (MiB), and how
    far it rose above the resident set it had once it held its points."""
    peaks = {
        worker: _kib(text, "VmHWM") for worker, text in job.client.run(STATUS.read_text).items()
    }
    numbers = {}
    for number, worker in enumerate(sorted(peaks)):
        numbers[f"worker {number} peak MiB"] = peaks[worker] / 1024
        numbers[f"worker {number} peak above inputs MiB"] = (
            peaks[worker] - job.resident_kib[worker]
        ) / 1024
    return numbers


def _kib(status: str, field: str) -> int:
    """A ``VmHWM:  1234 kB`` line's number, from /proc/<pid>/status."""
    line = next(line for line in status.splitlines() if line.startswith(f"{field}:"))
    return int(line.split()[1])
