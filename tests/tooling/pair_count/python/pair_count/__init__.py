"""Count the pairs of 2-D points closer than r: v1 Python loops, v2 numpy, v3 Rust, v4
Rust on every core. Each rung is ``count_pairs(points, r) -> int``."""
