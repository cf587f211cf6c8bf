//! v2, the naive translation: the original's Python `find_close_polygons`, line for
//! line in Rust. It still asks Python for every polygon's `center` attribute.

use pyo3::prelude::*;

use super::convert;

#[pyfunction]
fn find_close_polygons<'py>(
    polygons: &Bound<'py, PyAny>,
    point: &Bound<'py, PyAny>,
    max_dist: &Bound<'py, PyAny>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let polygons: Vec<Bound<'py, PyAny>> = convert::polygons::<PyAny, _>(polygons)?;
    let point = convert::point(point, "point")?;
    let max_dist = convert::max_dist(max_dist)?;
    let mut close_polygons = Vec::new();
    for (i, polygon) in polygons.into_iter().enumerate() {
        let center = convert::polygon_center(&polygon, i)?;
        if center.distance(point) < max_dist {
            close_polygons.push(polygon);
        }
    }
    Ok(close_polygons)
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(find_close_polygons, module)?)
}
