//! v6, everything in Rust: the polygons become a Rust-owned [`Candidates`] (centers and
//! areas) once per call, and the best polygon for each point is chosen in Rust too, so
//! Python gets the final `[(point, polygon)]` back. Takes v4's `Polygon`; the matching
//! runs with the GIL released and in chunks, as v5's does.

use pyo3::prelude::*;

use super::convert::{self, MatchedPair};
use super::interruptible;
use super::v4_avoid_allocs::Polygon;
use crate::Candidates;

#[pyfunction]
fn match_points<'py>(
    py: Python<'py>,
    polygons: &Bound<'py, PyAny>,
    points: &Bound<'py, PyAny>,
    max_dist: &Bound<'py, PyAny>,
) -> PyResult<Vec<MatchedPair<'py, Polygon>>> {
    let polygons: Vec<Py<Polygon>> = convert::polygons::<Polygon, _>(polygons)?;
    let points = convert::points(points, "points")?;
    let max_dist = convert::max_dist(max_dist)?;
    let best = interruptible::map_chunks(
        py,
        &points,
        polygons.len(),
        || Candidates::from_polygons(&polygons),
        |candidates, points| candidates.best_matches(points, max_dist),
    )?;
    Ok(convert::matched_pairs(py, &points, best, &polygons))
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(match_points, module)?)
}
