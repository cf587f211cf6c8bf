"""numpy vectorization, a bit: each polygon's distances to all points in one call."""

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import checks
from .v1 import (
    MAX_DIST,
    Matches,
    Polygon,
    generate_example,
    generate_one_polygon,
    select_best_polygon,
)

__all__ = [
    "MAX_DIST",
    "Polygon",
    "find_close_polygons",
    "generate_example",
    "generate_one_polygon",
    "main",
    "select_best_polygon",
]


def find_close_polygons(
    point_idx: int, polygon_to_points_dist: dict[int, NDArray[np.float64]], max_dist: float
) -> list[int]:
    close_polygons = []
    for poly, points_dist in polygon_to_points_dist.items():
        if points_dist[point_idx] < max_dist:
            close_polygons.append(poly)

    return close_polygons


def find_dist_to_points(polygon: Polygon, points: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.hypot(*(polygon.center - points).T)


def main(
    polygons: list[Polygon], points: ArrayLike, max_dist: float = MAX_DIST
) -> Matches[Polygon]:
    checks.check_polygons(polygons)
    max_dist = checks.check_max_dist(max_dist)
    points = checks.as_points(points)
    polygon_to_points_dist = {}

    for polygon_idx, polygon in enumerate(polygons):
        polygon_to_points_dist[polygon_idx] = find_dist_to_points(polygon, points)

    polygon_sets = []

    for point_idx, point in enumerate(points):
        close_polygons_indices = find_close_polygons(point_idx, polygon_to_points_dist, max_dist)

        if len(close_polygons_indices) == 0:
            continue

        close_polygons = [polygons[idx] for idx in close_polygons_indices]
        polygon_sets.append((point, close_polygons))

    return select_best_polygon(polygon_sets)
