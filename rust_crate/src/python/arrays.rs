//! The array API: `match_points(centers, areas, points, max_dist)` for callers who
//! have their polygons as arrays and want indices back, not Python objects.
//!
//! The inputs are copied into Rust once (16 bytes per center or point, 8 per area):
//! that copy is what lets the GIL go while the grid is built and searched in parallel
//! (holding numpy borrows while detached is an open soundness question, rust-numpy
//! issue 497). The points are matched in chunks, so Ctrl-C interrupts a long call. The
//! output vector becomes the numpy array without a copy.

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;

use super::{convert, interruptible};
use crate::matching::{Candidates, Grid};

/// For each point, the index of its best polygon (-1 where none is closer than max_dist).
#[pyfunction]
fn match_points<'py>(
    py: Python<'py>,
    centers: &Bound<'py, PyAny>,
    areas: &Bound<'py, PyAny>,
    points: &Bound<'py, PyAny>,
    max_dist: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let candidates = Candidates::from_parts(
        convert::points(centers, "centers")?,
        convert::values(areas, "areas")?,
    )?;
    let points = convert::points(points, "points")?;
    let max_dist = convert::max_dist(max_dist)?;
    let best = interruptible::map_chunks(
        py,
        &points,
        candidates.len(),
        || Grid::new(&candidates, max_dist),
        |grid, points| {
            grid.best_matches(points)
                .into_iter()
                .map(|b| b.map_or(-1, |i| i as i64))
                .collect()
        },
    )?;
    Ok(best.into_pyarray(py))
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(match_points, module)?)
}
