//! v5, the outer loop in Rust too: one call matches every point, so the polygon
//! list crosses from Python once per call instead of once per point. Takes v4's
//! `Polygon`.

use numpy::PyArray1;
use pyo3::prelude::*;

use super::convert;
use super::v4_avoid_allocs::Polygon;
use crate::geometry;

type PolygonSet<'py> = (Bound<'py, PyArray1<f64>>, Vec<Bound<'py, Polygon>>);

/// For each point with at least one polygon closer than `max_dist`: the point
/// and those polygons, in input order.
#[pyfunction]
fn find_all_close_polygons<'py>(
    py: Python<'py>,
    polygons: Vec<Bound<'py, Polygon>>,
    points: &Bound<'py, PyAny>,
    max_dist: f64,
) -> PyResult<Vec<PolygonSet<'py>>> {
    let points = convert::points(points, "points")?;
    let max_dist = convert::max_dist(max_dist)?;
    let mut polygon_sets = Vec::new();
    for point in points {
        let close = geometry::find_close_polygons(&polygons, point, max_dist);
        if !close.is_empty() {
            let close = close.into_iter().cloned().collect();
            polygon_sets.push((convert::point_to_array(py, point), close));
        }
    }
    Ok(polygon_sets)
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(find_all_close_polygons, module)?)
}
