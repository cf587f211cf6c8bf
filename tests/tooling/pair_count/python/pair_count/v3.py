"""Rust via rust-numpy: the same loops, on the array in place, one thread."""

from pair_count._native import count_pairs_serial


def count_pairs(points, r: float) -> int:
    return count_pairs_serial(points, r)
