"""Rust and rayon: the rows spread over every core, the GIL released."""

from pair_count._native import count_pairs_parallel


def count_pairs(points, r: float) -> int:
    return count_pairs_parallel(points, r)
