"""numpy: the distances of a block of rows to every later point at once."""

import numpy as np

BLOCK = 256


def count_pairs(points: np.ndarray, r: float) -> int:
    points = np.asarray(points, dtype=np.float64)
    count = 0
    for start in range(0, len(points), BLOCK):
        block = points[start : start + BLOCK]
        later = points[start:]
        dx = later[None, :, 0] - block[:, None, 0]
        dy = later[None, :, 1] - block[:, None, 1]
        close = dx * dx + dy * dy < r * r
        # Row k of the block pairs with the points after it: columns k + 1 onwards.
        count += int(np.triu(close, k=1).sum())
    return count
