"""What it costs to hand matched points back to Python, per point, measured here and now:
``python -m ladder_hooks.returned_points`` (docs/v8.md).

v1's API returns ``[(point, polygon)]`` with each point a numpy array of shape (2,). The
candidates, for the 100 points of the default example all matched to one polygon (so the
search costs next to nothing and the difference between two calls is the returning):

- v7: a new (2,) array per point (``PyArray1::from_slice``);
- v8: the rows of one new (N, 2) array, views that share its memory;
- for scale, what numpy and CPython charge for the parts in pure Python: row views of an
  array, tuples of two floats (not v1's API: a tuple is not an array), and the pairs alone.

Each line is the median of 15 repeats of many calls, with the spread (min..max), in
nanoseconds per returned pair.
"""

import statistics
import timeit

import numpy as np

import poly_match

REPEATS = 15
N_POINTS = 100


def per_pair_ns(call, number: int = 2000) -> tuple[float, float, float]:
    totals = timeit.repeat(call, number=number, repeat=REPEATS)
    times = [t / number / N_POINTS * 1e9 for t in totals]
    return statistics.median(times), min(times), max(times)


def main() -> None:
    versions = poly_match.VERSIONS
    v7, v8 = versions["v7_grid_parallel"], versions["v8_lean_boundary"]
    points = v7.generate_example(1, N_POINTS)[1]
    one_v7, one_v8 = v7.generate_example(1, 0)[0], v8.generate_example(1, 0)[0]
    rows = np.ascontiguousarray(points)
    pairs_of = [object()] * N_POINTS
    cases = {
        "v7: a (2,) array per point, the whole call": lambda: v7.match_points(one_v7, points, 1e9),
        "v8: rows of one (N, 2) array, the whole call": lambda: v8.match_points(
            one_v8, points, 1e9
        ),
        "v8, nothing matched (the call without returning)": lambda: v8.match_points(
            one_v8, points, 0.0
        ),
        "numpy: row views, list(array)": lambda: list(rows),
        "numpy: a new (2,) array per point": lambda: [np.array(p) for p in pairs_of],
        "CPython: (x, y) float tuples, array.tolist()": rows.tolist,
        "CPython: the (point, polygon) pairs alone": lambda: list(
            zip(pairs_of, pairs_of, strict=True)
        ),
    }
    print(f"{'':54} median ns/pair (min..max)")
    for name, call in cases.items():
        median, low, high = per_pair_ns(call)
        print(f"{name:54} {median:7.1f}  ({low:.1f}..{high:.1f})")


if __name__ == "__main__":
    main()
