//! Instruction counts of the pure-Rust core under callgrind, with gungraun: the
//! reproducible twin of the criterion benches (same workload, `common`).
//!
//!     cargo install gungraun-runner --version <the gungraun version in Cargo.lock>
//!     cargo bench -p poly_match_rs --features instruction-benches --bench instructions
//!
//! The setup functions build the inputs outside the counted region: only the call is counted.

mod common;

use std::hint::black_box;

use gungraun::{library_benchmark, library_benchmark_group, main};
use poly_match_rs::{find_close_polygons, Candidates, Grid, GridLayout, Point, Polygon};

fn owned() -> (Vec<Polygon>, Vec<Point>) {
    common::example(6)
}

/// The same polygons, borrowed: leaked so the references outlive the setup function,
/// which keeps building the `Vec<&Polygon>` out of the counted call.
fn borrowed() -> (Vec<&'static Polygon>, Vec<Point>) {
    let (polygons, points) = common::example(6);
    let polygons: &'static [Polygon] = Box::leak(polygons.into_boxed_slice());
    (polygons.iter().collect(), points)
}

fn template() -> Polygon {
    common::template_polygon(10)
}

/// Every point of the example against all its polygons, as the Python rungs call it.
fn all_points<P: AsRef<Polygon>>(polygons: &[P], points: &[Point]) -> usize {
    points
        .iter()
        .map(|&point| find_close_polygons(polygons, point, common::MAX_DIST).len())
        .sum()
}

#[library_benchmark]
#[bench::owned(setup = owned)]
fn find_close_polygons_owned((polygons, points): (Vec<Polygon>, Vec<Point>)) -> usize {
    black_box(all_points(black_box(&polygons), black_box(&points)))
}

#[library_benchmark]
#[bench::borrowed(setup = borrowed)]
fn find_close_polygons_borrowed((polygons, points): (Vec<&'static Polygon>, Vec<Point>)) -> usize {
    black_box(all_points(black_box(&polygons), black_box(&points)))
}

#[library_benchmark]
#[bench::ten_vertices(setup = template)]
fn center(polygon: Polygon) -> Point {
    black_box(black_box(&polygon).center())
}

#[library_benchmark]
#[bench::ten_vertices(setup = template)]
fn area(polygon: Polygon) -> f64 {
    black_box(black_box(&polygon).area())
}

/// The example's grid, built outside the counted call.
fn grid() -> (Grid, Vec<Point>) {
    let (polygons, points) = common::example(6);
    let candidates = Candidates::from_polygons(&polygons);
    (Grid::new(&candidates, common::MAX_DIST), points)
}

/// The example's grid as `Index` builds it, with a list per cell.
fn index_grid() -> (Grid, Vec<Point>) {
    let (polygons, points) = common::example(6);
    let candidates = Candidates::from_polygons(&polygons);
    let grid = Grid::with_layout(&candidates, common::MAX_DIST, GridLayout::MANY_QUERIES);
    (grid, points)
}

/// The same with one more center at (1e12, 1e12): a sparse (hashed) grid.
fn grid_with_far_outlier() -> (Grid, Vec<Point>) {
    let (polygons, points) = common::example(6);
    let candidates = common::with_far_outlier(&Candidates::from_polygons(&polygons));
    (Grid::new(&candidates, common::MAX_DIST), points)
}

// Every point of the example through the grid (100 points: one thread, no rayon).
#[library_benchmark]
#[bench::example(setup = grid)]
#[bench::index(setup = index_grid)]
#[bench::with_far_outlier(setup = grid_with_far_outlier)]
fn grid_query((grid, points): (Grid, Vec<Point>)) -> Vec<Option<usize>> {
    black_box(black_box(&grid).best_matches(black_box(&points)))
}

library_benchmark_group!(
    name = geometry;
    benchmarks = find_close_polygons_owned, find_close_polygons_borrowed, center, area
);

library_benchmark_group!(
    name = matching;
    benchmarks = grid_query
);

main!(library_benchmark_groups = geometry, matching);
