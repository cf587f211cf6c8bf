//! v4, fewer allocations and less work per polygon: the pyclass is `frozen`, so
//! Rust reads it with no borrow flag and no per-call vector of borrows (the
//! objects themselves go to the core), and the core compares squared distances.
//! The pyclass is v3's with `frozen` added.

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use super::convert;

/// A polygon whose vertices, center and area live in Rust. Subclassable, so
/// Python code can keep extending it; immutable, so Rust reads it without borrowing.
#[pyclass(subclass, frozen, module = "poly_match.v4_avoid_allocs")]
pub struct Polygon {
    polygon: crate::Polygon,
}

#[pymethods]
impl Polygon {
    #[new]
    fn new(x: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>) -> PyResult<Self> {
        let polygon = convert::polygon(x, y)?;
        Ok(Self { polygon })
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
        convert::point_to_array(py, self.polygon.center())
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

/// Frozen and `Sync`, the polygon can be read through a `Py` without the GIL.
impl AsRef<crate::Polygon> for Py<Polygon> {
    fn as_ref(&self) -> &crate::Polygon {
        &self.get().polygon
    }
}

#[pyfunction]
fn find_close_polygons<'py>(
    polygons: &Bound<'py, PyAny>,
    point: &Bound<'py, PyAny>,
    max_dist: &Bound<'py, PyAny>,
) -> PyResult<Vec<Bound<'py, Polygon>>> {
    let polygons: Vec<Bound<'py, Polygon>> = convert::polygons::<Polygon, _>(polygons)?;
    let point = convert::point(point, "point")?;
    let max_dist = convert::max_dist(max_dist)?;
    let close = crate::find_close_polygons(&polygons, point, max_dist);
    Ok(close.into_iter().cloned().collect())
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Polygon>()?;
    module.add_function(wrap_pyfunction!(find_close_polygons, module)?)
}
