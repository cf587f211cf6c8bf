//! poly_match_rs: match 2-D points to the smallest polygon whose center is nearby.
//!
//! The core is pure Rust, in four modules, and everything callers use is re-exported
//! here:
//!
//! - `geometry`: [`Point`], [`Polygon`] (its center and area, checked when built,
//!   [`GeometryError`] otherwise) and [`find_close_polygons`], the polygons closer
//!   than `max_dist` to one point; the one distance rule every search follows.
//! - `candidates`: [`Candidates`], the polygons reduced to centers and areas, with the
//!   brute-force best match (v1's rule: the smallest area among the close ones, the
//!   first on ties); [`MatchError`] for centers and areas that do not fit together.
//! - `grid`: [`Grid`], a uniform grid over the candidates that gives the brute force's
//!   answers looking only at the cells around a point, laid out as [`GridLayout`] says
//!   (with its per-cell lists and the cell order in which it answers many points).
//! - `thread_pool`: the process's own pool of threads, built again after a `fork`,
//!   that the grid spreads many points over.
//!
//! Cargo features: `python` compiles the PyO3 bindings (the `python` module, one
//! submodule per rung of the ladder), which maturin enables; without it nothing here
//! links to Python. `sqrt-distance` adds `find_close_polygons_sqrt`, the search with a
//! square root per polygon that the v3 rung keeps and the benches compare against;
//! `python` enables it.

mod candidates;
mod geometry;
mod grid;
mod thread_pool;

#[cfg(feature = "python")]
mod python;

pub use candidates::{Candidates, MatchError};
#[cfg(feature = "sqrt-distance")]
pub use geometry::find_close_polygons_sqrt;
pub use geometry::{find_close_polygons, GeometryError, Point, Polygon};
pub use grid::{Grid, GridLayout};
