//! poly_match_rs: match 2-D points to the smallest polygon whose center is nearby.
//!
//! [`geometry`] is the pure-Rust core. The PyO3 bindings (the `python` module)
//! are compiled only with the `python` cargo feature, which maturin enables;
//! without it nothing here links to Python.

pub mod geometry;
pub mod matching;

#[cfg(feature = "python")]
mod python;
