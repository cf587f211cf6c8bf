//! v7, a spatial index and all cores: v6, with the centers bucketed into a uniform grid
//! (cells `max_dist` wide, so each point looks at 3 x 3 cells instead of every polygon)
//! and the points matched in parallel with rayon, the GIL released (in chunks, as v6's).

use pyo3::prelude::*;

use super::convert::{self, MatchedPair};
use super::interruptible;
use super::v4_avoid_allocs::Polygon;
use crate::{Candidates, Grid};

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
        || Grid::new(&Candidates::from_polygons(&polygons), max_dist),
        |grid, points| grid.best_matches(points),
    )?;
    Ok(convert::matched_pairs(py, &points, best, &polygons))
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(match_points, module)?)
}
