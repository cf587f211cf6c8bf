//! The array API: `Index(centers, areas, max_dist)` built once and `index.match(points)`
//! called many times, and `match_points(centers, areas, points, max_dist)`, the one-shot
//! form built on the same code, for callers who have their polygons as arrays and want
//! indices back, not Python objects.
//!
//! The inputs are copied into Rust once (16 bytes per center or point, 8 per area):
//! that copy is what lets the GIL go while the grid is built and searched in parallel
//! (holding numpy borrows while detached is an open soundness question:
//! <https://github.com/PyO3/rust-numpy/issues/497>). The points are matched in chunks,
//! so Ctrl-C interrupts a long call. The output vector becomes the numpy array without
//! a copy.

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::{convert, interruptible};
use crate::{Candidates, Grid, GridLayout, Point};

/// The polygons' centers and areas, indexed for matching points within `max_dist`:
/// built once (with the GIL released), then `match` many times, from any number of
/// threads at once. Pickles, so it can be shipped to worker processes.
#[pyclass(frozen, module = "poly_match")]
pub struct Index {
    grid: Grid,
}

#[pymethods]
impl Index {
    #[new]
    fn new(
        py: Python<'_>,
        centers: &Bound<'_, PyAny>,
        areas: &Bound<'_, PyAny>,
        max_dist: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let (candidates, max_dist) = candidates(centers, areas, max_dist)?;
        let grid = py.detach(|| Grid::with_layout(&candidates, max_dist, GridLayout::MANY_QUERIES));
        Ok(Self { grid })
    }

    /// For each point, the index of its best polygon (-1 where none is closer than
    /// max_dist): the smallest area, the first on ties.
    #[pyo3(name = "match")]
    fn match_<'py>(
        &self,
        py: Python<'py>,
        points: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let points = convert::points(points, "points")?;
        let best = interruptible::map_chunks(
            py,
            &points,
            self.grid.len(),
            || (),
            |_, points| indices(&self.grid, points),
        )?;
        Ok(best.into_pyarray(py))
    }

    /// The max_dist the index was built for.
    #[getter]
    fn max_dist(&self) -> f64 {
        self.grid.max_dist()
    }

    /// The number of polygons.
    fn __len__(&self) -> usize {
        self.grid.len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "<poly_match.Index of {} polygons, max_dist={}>",
            self.grid.len(),
            convert::float_repr(py, self.grid.max_dist())
        )
    }

    /// Pickles as its centers, areas and max_dist, in input order; unpickling builds the
    /// grid again (a fraction of a second for millions of polygons), so a pickle is
    /// 24 bytes per polygon whatever the grid's layout.
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let grid = &slf.get().grid;
        let candidates = grid.candidates();
        let centers = convert::rows(py, candidates.centers())?;
        let areas = candidates.areas().to_vec().into_pyarray(py);
        let arguments = (centers, areas, grid.max_dist()).into_pyobject(py)?;
        Ok((slf.get_type().into_any(), arguments))
    }
}

/// For each point, the index of its best polygon (-1 where none is closer than max_dist).
#[pyfunction]
fn match_points<'py>(
    py: Python<'py>,
    centers: &Bound<'py, PyAny>,
    areas: &Bound<'py, PyAny>,
    points: &Bound<'py, PyAny>,
    max_dist: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let (candidates, max_dist) = candidates(centers, areas, max_dist)?;
    let points = convert::points(points, "points")?;
    // The grid is built in the first chunk's release of the GIL, and the candidates are
    // dropped once it is: the queries' peak memory does not hold both.
    let best = interruptible::map_chunks(
        py,
        &points,
        candidates.len(),
        move || Grid::new(&candidates, max_dist),
        indices,
    )?;
    Ok(best.into_pyarray(py))
}

fn candidates(
    centers: &Bound<'_, PyAny>,
    areas: &Bound<'_, PyAny>,
    max_dist: &Bound<'_, PyAny>,
) -> PyResult<(Candidates, f64)> {
    let candidates = Candidates::from_parts(
        convert::points(centers, "centers")?,
        convert::values(areas, "areas")?,
    )?;
    Ok((candidates, convert::max_dist(max_dist)?))
}

/// Each point's best polygon index, -1 for none: numpy has no optional integers.
fn indices(grid: &Grid, points: &[Point]) -> Vec<i64> {
    grid.best_matches(points)
        .into_iter()
        .map(|best| best.map_or(-1, |i| i as i64))
        .collect()
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Index>()?;
    module.add_function(wrap_pyfunction!(match_points, module)?)
}
