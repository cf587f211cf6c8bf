//! v8, a lean boundary: v7's matching, with less work where Python meets Rust. Its
//! `Polygon` keeps its center and area inline and its center as a read-only numpy
//! array made at construction, so a call reads each polygon once, in one pass, and
//! builds no geometry; the matched points go back as rows of one numpy array.

use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple, PyType};

use super::{convert, interruptible};
use crate::{Candidates, Grid, Point};

/// A polygon whose vertices, center and area live in Rust, the center also as the
/// read-only array `center` returns every time. Subclassable and immutable, as v4's.
#[pyclass(subclass, frozen, module = "poly_match.v8_lean_boundary")]
pub struct Polygon {
    polygon: crate::Polygon,
    center: Py<PyArray1<f64>>,
}

#[pymethods]
impl Polygon {
    #[new]
    fn new(x: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>) -> PyResult<Self> {
        let polygon = convert::polygon(x, y)?;
        let center = convert::point_to_array(x.py(), polygon.center());
        center.readwrite().make_nonwriteable();
        Ok(Self {
            polygon,
            center: center.unbind(),
        })
    }

    #[getter]
    fn x<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, self.polygon.x())
    }

    #[getter]
    fn y<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, self.polygon.y())
    }

    #[getter]
    fn center<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.center.bind(py).clone()
    }

    fn area(&self) -> f64 {
        self.polygon.area()
    }

    /// Pickling and copying rebuild the polygon from its vertices.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<convert::Reduced<'py>> {
        convert::reduce(slf, &slf.get().polygon)
    }

    #[classmethod]
    #[pyo3(signature = (**_kwargs))]
    fn __init_subclass__(
        subclass: &Bound<'_, PyType>,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        convert::check_subclass::<Self>(subclass)
    }
}

impl AsRef<crate::Polygon> for Bound<'_, Polygon> {
    fn as_ref(&self) -> &crate::Polygon {
        &self.get().polygon
    }
}

#[pyfunction]
fn match_points<'py>(
    py: Python<'py>,
    polygons: &Bound<'py, PyAny>,
    points: &Bound<'py, PyAny>,
    max_dist: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let polygons: Vec<Bound<'py, Polygon>> = convert::polygons::<Polygon, _>(polygons)?;
    let candidates = Candidates::from_polygons(&polygons);
    let points = convert::points(points, "points")?;
    let max_dist = convert::max_dist(max_dist)?;
    let best = interruptible::map_chunks(
        py,
        &points,
        candidates.len(),
        move || Grid::new(&candidates, max_dist),
        |grid, points| grid.best_matches(points),
    )?;
    let (matched, best): (Vec<Point>, Vec<usize>) = points
        .iter()
        .zip(best)
        .filter_map(|(&point, best)| best.map(|i| (point, i)))
        .unzip();
    // The list is built here, each pair straight from a row and a polygon.
    let rows = convert::rows(py, &matched)?;
    let pairs = rows
        .try_iter()?
        .zip(best)
        .map(|(row, i)| PyTuple::new(py, [row?, polygons[i].clone().into_any()]));
    PyList::new(py, pairs.collect::<PyResult<Vec<_>>>()?)
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Polygon>()?;
    module.add_function(wrap_pyfunction!(match_points, module)?)
}
