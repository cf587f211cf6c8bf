"""This ladder's v1 timed beside the original's, in one process, on the original's example:
``python -m ladder_hooks.beside_original PATH`` with ``PATH`` a checkout of
https://github.com/ohadravid/poly-match (its ``poly_match_v1.py`` is imported from there,
never copied here).

Both build the original's example (1000 polygons, 100 points, ``RandomState(6)``), must
pick the same polygon for every point, and are then timed in interleaved rounds: one
round times each a fixed number of calls, so the machine's slow and quiet moments fall
on both. It prints each one's median per call with the spread (min..max over the rounds)
and the ratio of the medians, and exits 1 when the answers differ.

numpy's BLAS threads are pinned to one when numpy is not yet imported: the original's
``np.linalg.norm`` calls BLAS's dot, whose idle threads otherwise spin on the second
core between calls and slow whatever runs next.
"""

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType

ROUNDS = 9
CALLS_PER_ROUND = 5


def load_original(checkout: Path) -> ModuleType:
    """The original's ``poly_match_v1`` module, from its checkout."""
    source = checkout / "poly_match_v1.py"
    if not source.is_file():
        raise SystemExit(
            f"beside_original: {source} does not exist: give the path of a checkout of"
            " https://github.com/ohadravid/poly-match"
        )
    spec = importlib.util.spec_from_file_location("original_poly_match_v1", source)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ladder_hooks.beside_original", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("checkout", type=Path, help="a checkout of the original repository")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--calls", type=int, default=CALLS_PER_ROUND, help="calls per round")
    args = parser.parse_args(argv)
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import numpy as np

    from ladder_hooks.ladder import pairs_to_indices
    from poly_match import v1

    original = load_original(args.checkout)

    workloads = {
        "the original's v1": (original.main, *original.generate_example()),
        "this v1": (v1.main, *v1.generate_example()),
    }
    original_answer, this_answer = (
        pairs_to_indices(main(polygons, points), polygons, points)
        for main, polygons, points in workloads.values()
    )
    if not np.array_equal(original_answer, this_answer):
        print("beside_original: the two v1s chose different polygons", file=sys.stderr)
        return 1

    times: dict[str, list[float]] = {name: [] for name in workloads}
    for _ in range(args.rounds):
        for name, (main, polygons, points) in workloads.items():
            start = time.perf_counter()
            for _ in range(args.calls):
                main(polygons, points)
            times[name].append((time.perf_counter() - start) / args.calls)
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:18} {median * 1e3:8.2f} ms per call"
            f" ({min(values) * 1e3:.2f}..{max(values) * 1e3:.2f} over {args.rounds} rounds)"
        )
    theirs, ours = (statistics.median(values) for values in times.values())
    print(f"this v1 takes {ours / theirs:.3f} times the original's time (ratio of medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
