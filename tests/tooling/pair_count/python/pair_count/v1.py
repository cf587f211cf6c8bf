"""Pure Python: every pair in two nested loops."""


def count_pairs(points, r: float) -> int:
    xs, ys = points[:, 0].tolist(), points[:, 1].tolist()
    r2, count, n = r * r, 0, len(xs)
    for i in range(n):
        x, y = xs[i], ys[i]
        for j in range(i + 1, n):
            dx, dy = xs[j] - x, ys[j] - y
            if dx * dx + dy * dy < r2:
                count += 1
    return count
