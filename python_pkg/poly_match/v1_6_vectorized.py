"""numpy vectorization, a lot: all distances as one matrix, the best polygon by argmin.

The original's version (by @dangrie158) returned the point's index instead of the point
and matched points that have no polygon in range; both are fixed here.
"""

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import checks
from .v1 import MAX_DIST, Matches, Polygon, generate_example, generate_one_polygon

__all__ = [
    "MAX_DIST",
    "Polygon",
    "find_close_polygons",
    "generate_example",
    "generate_one_polygon",
    "main",
]


def find_close_polygons(
    polygon_to_points_dist: NDArray[np.float64], max_dist: float
) -> NDArray[np.bool_]:
    # An M x N matrix: is polygon m's center closer than max_dist to point n?
    return polygon_to_points_dist < max_dist


def select_best_polygon_index(
    polygon_areas: NDArray[np.float64], close_polygon_indices: NDArray[np.bool_]
) -> NDArray[np.intp]:
    # For every point, the index of the smallest close polygon (argmin takes the first on ties).
    area_matrix = polygon_areas[:, np.newaxis].repeat(close_polygon_indices.shape[1], axis=1)
    area_matrix[np.logical_not(close_polygon_indices)] = np.inf
    return np.argmin(area_matrix, axis=0)


def find_dist_to_points(
    centroids: NDArray[np.float64], points: NDArray[np.float64]
) -> NDArray[np.float64]:
    deltas = centroids - points[:, np.newaxis]
    return np.hypot(deltas[..., 0], deltas[..., 1]).T


def main(
    polygons: list[Polygon], points: ArrayLike, max_dist: float = MAX_DIST
) -> Matches[Polygon]:
    checks.check_polygons(polygons)
    max_dist = checks.check_max_dist(max_dist)
    points = checks.as_points(points)
    if not polygons or len(points) == 0:
        return []

    polygon_centers = np.asarray([polygon.center for polygon in polygons])
    polygon_areas = np.asarray([polygon.area() for polygon in polygons])
    polygon_to_points_dist = find_dist_to_points(polygon_centers, points)

    close_polygon_indices = find_close_polygons(polygon_to_points_dist, max_dist)
    best_polygon_indices = select_best_polygon_index(polygon_areas, close_polygon_indices)
    has_close_polygon = close_polygon_indices.any(axis=0)

    return [
        (points[point_idx], polygons[best_polygon_indices[point_idx]])
        for point_idx in np.flatnonzero(has_close_polygon)
    ]
