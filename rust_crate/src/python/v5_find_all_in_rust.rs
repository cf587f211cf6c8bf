//! v5, the outer loop in Rust too: one call matches every point, so the polygon
//! list crosses from Python once per call instead of once per point. Takes v4's
//! `Polygon`.
//!
//! The matching runs with the GIL released: the points are first copied out of
//! numpy (holding a numpy borrow while detached is an open soundness question:
//! <https://github.com/PyO3/rust-numpy/issues/497>), and the polygons are frozen, so
//! `Py::get` reads them without the GIL while this call keeps them alive. The points go
//! in chunks, so Ctrl-C interrupts a long call.

use numpy::PyArray1;
use pyo3::prelude::*;

use super::v4_avoid_allocs::Polygon;
use super::{convert, interruptible};

type PolygonSet<'py> = (Bound<'py, PyArray1<f64>>, Vec<Bound<'py, Polygon>>);

/// For each point with at least one polygon closer than `max_dist`: the point
/// and those polygons, in input order.
#[pyfunction]
fn find_all_close_polygons<'py>(
    py: Python<'py>,
    polygons: &Bound<'py, PyAny>,
    points: &Bound<'py, PyAny>,
    max_dist: &Bound<'py, PyAny>,
) -> PyResult<Vec<PolygonSet<'py>>> {
    let polygons: Vec<Py<Polygon>> = convert::polygons::<Polygon, _>(polygons)?;
    let points = convert::points(points, "points")?;
    let max_dist = convert::max_dist(max_dist)?;
    let matches = interruptible::map_chunks(
        py,
        &points,
        polygons.len(),
        || (),
        |_, points| {
            points
                .iter()
                .map(|&point| {
                    (
                        point,
                        crate::find_close_polygons(&polygons, point, max_dist),
                    )
                })
                .filter(|(_, close)| !close.is_empty())
                .collect()
        },
    )?;
    Ok(matches
        .into_iter()
        .map(|(point, close)| {
            let close = close.into_iter().map(|p| p.bind(py).clone()).collect();
            (convert::point_to_array(py, point), close)
        })
        .collect())
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(find_all_close_polygons, module)?)
}
