//! The Rust rungs of pair_count: `count_pairs_serial` reads the numpy array in place,
//! holding the GIL; `count_pairs_parallel` copies the points into a Vec it owns, releases
//! the GIL and spreads the rows over rayon's threads.

use numpy::{PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rayon::prelude::*;

/// How many of the points after `points[i]` are closer to it than `sqrt(r2)`.
/// Never inlined, so profiles name it.
#[inline(never)]
fn count_close_to(points: &[[f64; 2]], i: usize, r2: f64) -> u64 {
    let [x, y] = points[i];
    let mut count = 0;
    for &[px, py] in &points[i + 1..] {
        let (dx, dy) = (px - x, py - y);
        count += u64::from(dx * dx + dy * dy < r2);
    }
    count
}

/// The (n, 2) array's rows as points, borrowed: an error unless it is C-contiguous.
fn as_points<'a>(array: &'a PyReadonlyArray2<'_, f64>) -> PyResult<&'a [[f64; 2]]> {
    if array.shape()[1] != 2 {
        return Err(PyValueError::new_err("points must be an (n, 2) array"));
    }
    let flat = array
        .as_slice()
        .map_err(|_| PyValueError::new_err("points must be C-contiguous"))?;
    Ok(flat.as_chunks::<2>().0)
}

/// The pairs closer than `r`, one row after another on this thread.
#[pyfunction]
fn count_pairs_serial(points: PyReadonlyArray2<'_, f64>, r: f64) -> PyResult<u64> {
    let points = as_points(&points)?;
    Ok((0..points.len())
        .map(|i| count_close_to(points, i, r * r))
        .sum())
}

/// The pairs closer than `r`, the rows spread over rayon's threads with the GIL released.
#[pyfunction]
fn count_pairs_parallel(
    py: Python<'_>,
    points: PyReadonlyArray2<'_, f64>,
    r: f64,
) -> PyResult<u64> {
    // Copied, so no borrow of a Python object is held while the GIL is released.
    let points: Vec<[f64; 2]> = as_points(&points)?.to_vec();
    let r2 = r * r;
    Ok(py.detach(|| {
        (0..points.len())
            .into_par_iter()
            .map(|i| count_close_to(&points, i, r2))
            .sum()
    }))
}

#[pymodule(name = "_native")]
fn native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(count_pairs_serial, module)?)?;
    module.add_function(wrap_pyfunction!(count_pairs_parallel, module)?)?;
    Ok(())
}
