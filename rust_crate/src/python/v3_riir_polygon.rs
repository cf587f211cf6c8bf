//! v3, `Polygon` as a Rust pyclass: the geometry lives in Rust, so the search
//! reads each center without calling back into Python, and runs in the core.
//! It still takes a square root per polygon, as the original's v3 does.

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use super::convert;

/// A polygon whose vertices, center and area live in Rust. Subclassable, so
/// Python code can keep extending it.
#[pyclass(subclass, module = "poly_match.v3_riir_polygon")]
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
        convert::reduce(slf, &slf.borrow().polygon)
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

/// A polygon object together with the borrow that lets Rust read its geometry.
struct Borrowed<'a, 'py> {
    object: &'a Bound<'py, Polygon>,
    borrow: PyRef<'py, Polygon>,
}

impl AsRef<crate::Polygon> for Borrowed<'_, '_> {
    fn as_ref(&self) -> &crate::Polygon {
        &self.borrow.polygon
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
    let borrowed = polygons
        .iter()
        .map(|object| {
            let borrow = object.try_borrow()?;
            Ok(Borrowed { object, borrow })
        })
        .collect::<PyResult<Vec<_>>>()?;
    let close = crate::find_close_polygons_sqrt(&borrowed, point, max_dist);
    Ok(close.into_iter().map(|b| b.object.clone()).collect())
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Polygon>()?;
    module.add_function(wrap_pyfunction!(find_close_polygons, module)?)
}
