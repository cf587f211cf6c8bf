//! The one place where Python inputs become core values and core errors become
//! Python exceptions: TypeError for a wrong type or dtype, ValueError for a bad
//! shape or value. Nothing past this module needs to validate or can panic on
//! user input.

use numpy::{
    dtype, Ix1, Ix2, PyArray, PyArray1, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::geometry::{GeometryError, Point, Polygon};
use crate::matching::MatchError;

impl From<GeometryError> for PyErr {
    fn from(error: GeometryError) -> Self {
        PyValueError::new_err(error.to_string())
    }
}

impl From<MatchError> for PyErr {
    fn from(error: MatchError) -> Self {
        PyValueError::new_err(error.to_string())
    }
}

/// A matched point (as a float64 array of shape (2,)) and its polygon.
pub type MatchedPair<'py, T> = (Bound<'py, PyArray1<f64>>, Bound<'py, T>);

/// The `[(point, polygon)]` the Python rungs return, from each point's best polygon index.
pub fn matched_pairs<'py, T: pyo3::PyClass>(
    py: Python<'py>,
    points: &[Point],
    best: Vec<Option<usize>>,
    polygons: &[Py<T>],
) -> Vec<MatchedPair<'py, T>> {
    points
        .iter()
        .zip(best)
        .filter_map(|(&point, best)| {
            best.map(|i| (point_to_array(py, point), polygons[i].bind(py).clone()))
        })
        .collect()
}

/// A polygon from its `x` and `y` vertex arrays.
pub fn polygon(x: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>) -> PyResult<Polygon> {
    Ok(Polygon::new(coordinates(x, "x")?, coordinates(y, "y")?)?)
}

/// An owned copy of a 1-D float64 array, strided views included.
pub fn values(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<f64>> {
    coordinates(value, name)
}

fn coordinates(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<f64>> {
    let array = float64_array::<Ix1>(value, name)?.try_readonly()?;
    Ok(array.as_array().iter().copied().collect())
}

/// A point from a float64 array of shape (2,).
pub fn point(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Point> {
    let array = float64_array::<Ix1>(value, name)?.try_readonly()?;
    match array.as_slice() {
        Ok(&[x, y]) => finite_point(x, y, name),
        // Strided views of length 2 are as good as contiguous ones.
        _ if array.len() == 2 => finite_point(array.as_array()[0], array.as_array()[1], name),
        _ => Err(PyValueError::new_err(format!(
            "{name} must have shape (2,), got shape ({},)",
            array.len()
        ))),
    }
}

/// The `center` attribute of `polygons[index]`, which v2 reads through Python.
pub fn polygon_center(polygon: &Bound<'_, PyAny>, index: usize) -> PyResult<Point> {
    let name = format!("polygons[{index}].center");
    match polygon.getattr(pyo3::intern!(polygon.py(), "center")) {
        Ok(center) => point(&center, &name),
        Err(_) => Err(PyTypeError::new_err(format!(
            "polygons[{index}] must be a polygon with a center, got {}",
            polygon.get_type().name()?
        ))),
    }
}

/// Points from a float64 array of shape (N, 2).
pub fn points(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<Point>> {
    let array = float64_array::<Ix2>(value, name)?.try_readonly()?;
    let array = array.as_array();
    if array.ncols() != 2 {
        return Err(PyValueError::new_err(format!(
            "{name} must have shape (N, 2), got shape {:?}",
            array.shape()
        )));
    }
    let points: Vec<Point> = array
        .rows()
        .into_iter()
        .map(|row| Point::new(row[0], row[1]))
        .collect();
    // The row's name is formatted for the error only, not once per row.
    if let Some(i) = points
        .iter()
        .position(|p| !(p.x.is_finite() && p.y.is_finite()))
    {
        finite_point(points[i].x, points[i].y, &format!("{name}[{i}]"))?;
    }
    Ok(points)
}

/// A point back to Python, as a float64 array of shape (2,).
pub fn point_to_array(py: Python<'_>, point: Point) -> Bound<'_, PyArray1<f64>> {
    PyArray1::from_slice(py, &[point.x, point.y])
}

/// The search radius: NaN or a negative value is a caller's mistake, not "no match".
/// Extracted here rather than by pyo3 so the error names the argument on every Python.
pub fn max_dist(value: &Bound<'_, PyAny>) -> PyResult<f64> {
    let value: f64 = value.extract().map_err(|_| {
        let type_name = value
            .get_type()
            .name()
            .map_or_else(|_| "?".to_string(), |name| name.to_string());
        PyTypeError::new_err(format!("max_dist must be a number, got {type_name}"))
    })?;
    if value >= 0.0 {
        Ok(value)
    } else {
        Err(PyValueError::new_err(format!(
            "max_dist must be a non-negative number, got {value}"
        )))
    }
}

fn finite_point(x: f64, y: f64, name: &str) -> PyResult<Point> {
    if x.is_finite() && y.is_finite() {
        Ok(Point::new(x, y))
    } else {
        Err(PyValueError::new_err(format!(
            "{name} must be finite, got ({x}, {y})"
        )))
    }
}

/// `value` as a float64 numpy array with the dimensionality of `D`, or an error
/// naming the argument and what was wrong with it.
fn float64_array<'a, 'py, D: numpy::ndarray::Dimension>(
    value: &'a Bound<'py, PyAny>,
    name: &str,
) -> PyResult<&'a Bound<'py, PyArray<f64, D>>> {
    let Ok(array) = value.cast::<PyUntypedArray>() else {
        return Err(PyTypeError::new_err(format!(
            "{name} must be a numpy.ndarray of float64, got {}",
            value.get_type().name()?
        )));
    };
    let ndim = D::NDIM.unwrap_or(array.ndim());
    if array.ndim() != ndim {
        return Err(PyValueError::new_err(format!(
            "{name} must be a {ndim}-D array, got shape {:?}",
            array.shape()
        )));
    }
    if !array.dtype().is_equiv_to(&dtype::<f64>(value.py())) {
        return Err(PyTypeError::new_err(format!(
            "{name} must have dtype float64, got {} (convert with .astype(numpy.float64))",
            array.dtype()
        )));
    }
    Ok(value.cast::<PyArray<f64, D>>()?)
}
