//! The PyO3 layer, `poly_match._rs`: one submodule per Rust rung of the ladder.
//!
//! Every function here is a thin wrapper: convert the Python inputs (in
//! [`convert`]), call the core (the crate's re-exports), convert the outputs.

use pyo3::prelude::*;

mod arrays;
mod convert;
mod interruptible;
mod v2_riir;
mod v3_riir_polygon;
mod v4_avoid_allocs;
mod v5_find_all_in_rust;
mod v6_convert_once;
mod v7_grid_parallel;
mod v8_lean_boundary;

#[pymodule(name = "_rs")]
fn poly_match_rs(module: &Bound<'_, PyModule>) -> PyResult<()> {
    add_rung(module, "v2", v2_riir::register)?;
    add_rung(module, "v3", v3_riir_polygon::register)?;
    add_rung(module, "v4", v4_avoid_allocs::register)?;
    add_rung(module, "v5", v5_find_all_in_rust::register)?;
    add_rung(module, "v6", v6_convert_once::register)?;
    add_rung(module, "v7", v7_grid_parallel::register)?;
    add_rung(module, "v8", v8_lean_boundary::register)?;
    arrays::register(module)?;
    Ok(())
}

fn add_rung(
    parent: &Bound<'_, PyModule>,
    name: &str,
    register: fn(&Bound<'_, PyModule>) -> PyResult<()>,
) -> PyResult<()> {
    let rung = PyModule::new(parent.py(), name)?;
    register(&rung)?;
    parent.add_submodule(&rung)
}
