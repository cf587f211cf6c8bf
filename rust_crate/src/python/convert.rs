//! The one place where Python inputs become core values and core errors become
//! Python exceptions: TypeError for a wrong type or dtype, ValueError for a bad
//! shape or value, each naming the argument (and, in a list, the index) and showing
//! numbers as Python's `repr` does. Nothing past this module needs to validate or
//! can panic on user input.

use numpy::{
    dtype, IntoPyArray, Ix1, Ix2, PyArray, PyArray1, PyArray2, PyArrayDescrMethods, PyArrayMethods,
    PyReadonlyArray, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyAttributeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyList, PyTuple, PyType};

use crate::{GeometryError, MatchError, Point, Polygon};

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
    let array = float64_array::<Ix1>(value, name)?;
    // A contiguous array is copied in bulk; ndarray's iterator goes element by element.
    Ok(match array.as_slice() {
        Ok(values) => values.to_vec(),
        Err(_) => array.as_array().iter().copied().collect(),
    })
}

/// A point from a float64 array of shape (2,).
pub fn point(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Point> {
    let array = float64_array::<Ix1>(value, name)?;
    match array.as_slice() {
        Ok(&[x, y]) => finite_point(value.py(), x, y, name),
        // Strided views of length 2 are as good as contiguous ones.
        _ if array.len() == 2 => {
            let view = array.as_array();
            finite_point(value.py(), view[0], view[1], name)
        }
        _ => Err(PyValueError::new_err(format!(
            "{name} must have shape (2,), got shape ({},)",
            array.len()
        ))),
    }
}

/// The `center` attribute of `polygons[index]`, which v2 reads through Python. Only a
/// missing attribute means "not a polygon": any other exception raised while reading
/// it (KeyboardInterrupt, MemoryError, a property's own error) propagates unchanged.
pub fn polygon_center(polygon: &Bound<'_, PyAny>, index: usize) -> PyResult<Point> {
    let py = polygon.py();
    match polygon.getattr(pyo3::intern!(py, "center")) {
        Ok(center) => point(&center, &format!("polygons[{index}].center")),
        Err(error) if error.is_instance_of::<PyAttributeError>(py) => {
            Err(PyTypeError::new_err(format!(
                "polygons[{index}] must be a polygon with a center, got {}",
                type_name(polygon)
            )))
        }
        Err(error) => Err(error),
    }
}

/// `value` as a list of `T`s (as `Bound` or `Py`): a list or tuple whose every item is
/// a `T`, or a TypeError naming the first item that is not.
pub fn polygons<'py, T: pyo3::PyTypeInfo, Item: From<Bound<'py, T>>>(
    value: &Bound<'py, PyAny>,
) -> PyResult<Vec<Item>> {
    if let Ok(list) = value.cast::<PyList>() {
        cast_items(list.iter())
    } else if let Ok(tuple) = value.cast::<PyTuple>() {
        cast_items(tuple.iter())
    } else {
        Err(PyTypeError::new_err(format!(
            "polygons must be a list of polygons, got {}",
            type_name(value)
        )))
    }
}

fn cast_items<'py, T: pyo3::PyTypeInfo, Item: From<Bound<'py, T>>>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
) -> PyResult<Vec<Item>> {
    items
        .enumerate()
        .map(|(index, item)| {
            item.cast_into::<T>().map(Item::from).map_err(|error| {
                let item = error.into_inner();
                PyTypeError::new_err(format!(
                    "polygons[{index}] must be a {}, got {}",
                    qualified_name(&T::type_object(item.py())),
                    type_name(&item)
                ))
            })
        })
        .collect()
}

/// Points from a float64 array of shape (N, 2).
pub fn points(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<Point>> {
    let array = float64_array::<Ix2>(value, name)?;
    let array = array.as_array();
    if array.ncols() != 2 {
        return Err(PyValueError::new_err(format!(
            "{name} must have shape (N, 2), got shape {:?}",
            array.shape()
        )));
    }
    let points: Vec<Point> = match array.as_slice() {
        // C-contiguous, the common case: pairs of a slice, which the compiler copies in
        // bulk, where ndarray's row iterator goes element by element.
        Some(values) => values
            .chunks_exact(2)
            .map(|xy| Point::new(xy[0], xy[1]))
            .collect(),
        None => array
            .rows()
            .into_iter()
            .map(|row| Point::new(row[0], row[1]))
            .collect(),
    };
    // The row's name is formatted for the error only, not once per row.
    if let Some(i) = points
        .iter()
        .position(|p| !(p.x.is_finite() && p.y.is_finite()))
    {
        finite_point(
            value.py(),
            points[i].x,
            points[i].y,
            &format!("{name}[{i}]"),
        )?;
    }
    Ok(points)
}

/// What `__reduce__` returns for a Rust polygon: its type, its vertices as the
/// constructor's arguments, and a subclass's attributes (or None).
pub type Reduced<'py> = (
    Bound<'py, PyType>,
    (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>),
    Option<Bound<'py, PyAny>>,
);

/// Rebuilding `object` from its vertices, for pickle and `copy`.
pub fn reduce<'py>(object: &Bound<'py, PyAny>, polygon: &Polygon) -> PyResult<Reduced<'py>> {
    let py = object.py();
    let vertices = (
        PyArray1::from_slice(py, polygon.x()),
        PyArray1::from_slice(py, polygon.y()),
    );
    // Only instances of Python subclasses have a __dict__.
    let state = match object.getattr(pyo3::intern!(py, "__dict__")) {
        Ok(attributes) if attributes.is_truthy()? => Some(attributes),
        _ => None,
    };
    Ok((object.get_type(), vertices, state))
}

/// Subclasses may add attributes and methods, but not their own `center` or `area`:
/// the Rust rungs read a polygon's geometry in Rust and would ignore them, the Python
/// rungs would not, and the rungs would disagree.
pub fn check_subclass<T: pyo3::PyTypeInfo>(subclass: &Bound<'_, PyType>) -> PyResult<()> {
    let base = T::type_object(subclass.py());
    for name in ["center", "area"] {
        if !subclass.getattr(name)?.is(&base.getattr(name)?) {
            return Err(PyTypeError::new_err(format!(
                "{} cannot override {name}: every rung computes a polygon's center and \
                 area from its vertices",
                subclass.qualname()?
            )));
        }
    }
    Ok(())
}

/// Points back to Python as one new (N, 2) float64 array: an `Index`'s pickled centers,
/// and the array whose rows (views, which numpy makes faster than N arrays of their own)
/// are the points v8 returns.
pub fn rows<'py>(py: Python<'py>, points: &[Point]) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let flat: Vec<f64> = points.iter().flat_map(|p| [p.x, p.y]).collect();
    // Shaped in Rust: numpy's reshape, a call through Python, cost more than the copy.
    let array = numpy::ndarray::Array2::from_shape_vec((points.len(), 2), flat)
        .map_err(|error| PyValueError::new_err(error.to_string()))?;
    Ok(array.into_pyarray(py))
}

/// A point back to Python, as a float64 array of shape (2,).
pub fn point_to_array(py: Python<'_>, point: Point) -> Bound<'_, PyArray1<f64>> {
    PyArray1::from_slice(py, &[point.x, point.y])
}

/// The search radius: NaN or a negative value is a caller's mistake, not "no match".
/// Extracted here rather than by pyo3 so the error names the argument on every Python.
pub fn max_dist(value: &Bound<'_, PyAny>) -> PyResult<f64> {
    let number: f64 = value.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "max_dist must be a number, got {}",
            type_name(value)
        ))
    })?;
    if number >= 0.0 {
        Ok(number)
    } else {
        Err(PyValueError::new_err(format!(
            "max_dist must be a non-negative number, got {}",
            float_repr(value.py(), number)
        )))
    }
}

fn finite_point(py: Python<'_>, x: f64, y: f64, name: &str) -> PyResult<Point> {
    if x.is_finite() && y.is_finite() {
        Ok(Point::new(x, y))
    } else {
        Err(PyValueError::new_err(format!(
            "{name} must be finite, got ({}, {})",
            float_repr(py, x),
            float_repr(py, y)
        )))
    }
}

/// A float as Python shows it (`-1e+300`, not 301 digits).
pub fn float_repr(py: Python<'_>, value: f64) -> String {
    PyFloat::new(py, value)
        .repr()
        .map_or_else(|_| value.to_string(), |r| r.to_string())
}

/// `module.QualifiedName` of the value's type, or just the name for builtins.
fn type_name(value: &Bound<'_, PyAny>) -> String {
    qualified_name(&value.get_type())
}

fn qualified_name(kind: &Bound<'_, PyType>) -> String {
    kind.fully_qualified_name()
        .map_or_else(|_| "?".to_string(), |name| name.to_string())
}

/// `value` as a read-only float64 numpy array with the dimensionality of `D`, or an
/// error naming the argument and what was wrong with it.
///
/// Any float64 layout is accepted. The array is read in place when rust-numpy can view
/// it safely: native byte order, aligned, and strides that are whole elements (a field
/// of a packed structured array has byte strides like 20, which an element view would
/// silently misread). Anything else is first copied by numpy into a C-contiguous array.
fn float64_array<'py, D: numpy::ndarray::Dimension>(
    value: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<PyReadonlyArray<'py, f64, D>> {
    let Ok(array) = value.cast::<PyUntypedArray>() else {
        return Err(PyTypeError::new_err(format!(
            "{name} must be a numpy.ndarray of float64, got {}",
            type_name(value)
        )));
    };
    let ndim = D::NDIM.unwrap_or(array.ndim());
    if array.ndim() != ndim {
        return Err(PyValueError::new_err(format!(
            "{name} must be a {ndim}-D array, got shape {:?}",
            array.shape()
        )));
    }
    let py = value.py();
    let descr = array.dtype();
    if !(descr.kind() == b'f' && descr.itemsize() == 8) {
        return Err(PyTypeError::new_err(format!(
            "{name} must have dtype float64, got {descr} (convert with .astype(numpy.float64))"
        )));
    }
    // numpy calls empty arrays aligned whatever their pointer, rust-numpy does not: the
    // pointer is checked here.
    let element = std::mem::size_of::<f64>();
    let in_place = value.cast::<PyArray<f64, D>>().ok().filter(|array| {
        descr.is_native_byteorder() != Some(false)
            && (array.data() as usize).is_multiple_of(std::mem::align_of::<f64>())
            && array
                .strides()
                .iter()
                .all(|stride| stride % element as isize == 0)
    });
    let array = match in_place {
        Some(array) => array.clone(),
        None => {
            let order = PyDict::new(py);
            order.set_item("order", "C")?;
            value
                .call_method("astype", (dtype::<f64>(py),), Some(&order))?
                .cast_into::<PyArray<f64, D>>()?
        }
    };
    Ok(array.try_readonly()?)
}
