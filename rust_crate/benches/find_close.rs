//! `find_close_polygons` in the pure-Rust core: every point of the example against all
//! its polygons, as the Python rungs call it.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use poly_match_rs::{find_close_polygons, find_close_polygons_sqrt, Point, Polygon};

const INPUT: &str = "1000 polygons x 100 points";

/// A polygon inside a caller's own type, as the Python bindings wrap theirs.
struct Labelled {
    _label: usize,
    polygon: Polygon,
}

impl AsRef<Polygon> for Labelled {
    fn as_ref(&self) -> &Polygon {
        &self.polygon
    }
}

fn all_points<P: AsRef<Polygon>>(polygons: &[P], points: &[Point]) -> usize {
    points
        .iter()
        .map(|&point| find_close_polygons(polygons, point, common::MAX_DIST).len())
        .sum()
}

/// The `AsRef<Polygon>` genericity: owned, borrowed, boxed and wrapped polygons.
fn polygon_containers(c: &mut Criterion) {
    let (polygons, points) = common::example(6);
    let borrowed: Vec<&Polygon> = polygons.iter().collect();
    let boxed: Vec<Box<Polygon>> = polygons.iter().cloned().map(Box::new).collect();
    let labelled: Vec<Labelled> = polygons
        .iter()
        .cloned()
        .enumerate()
        .map(|(label, polygon)| Labelled {
            _label: label,
            polygon,
        })
        .collect();

    let mut group = c.benchmark_group("find_close_polygons");
    group.throughput(Throughput::Elements(
        (common::POLYGONS * common::POINTS) as u64,
    ));
    group.bench_function(BenchmarkId::new(INPUT, "owned"), |b| {
        b.iter(|| all_points(black_box(&polygons), black_box(&points)))
    });
    group.bench_function(BenchmarkId::new(INPUT, "borrowed"), |b| {
        b.iter(|| all_points(black_box(&borrowed), black_box(&points)))
    });
    group.bench_function(BenchmarkId::new(INPUT, "boxed"), |b| {
        b.iter(|| all_points(black_box(&boxed), black_box(&points)))
    });
    group.bench_function(BenchmarkId::new(INPUT, "wrapped"), |b| {
        b.iter(|| all_points(black_box(&labelled), black_box(&points)))
    });
    group.finish();
}

/// The original's open question: does skipping the square root matter? (sqrt is the baseline.)
fn distance_test(c: &mut Criterion) {
    let (polygons, points) = common::example(6);
    let mut group = c.benchmark_group("distance_test");
    group.throughput(Throughput::Elements(
        (common::POLYGONS * common::POINTS) as u64,
    ));
    group.bench_function(BenchmarkId::new(INPUT, "sqrt"), |b| {
        b.iter(|| {
            points
                .iter()
                .map(|&p| find_close_polygons_sqrt(black_box(&polygons), p, common::MAX_DIST).len())
                .sum::<usize>()
        })
    });
    group.bench_function(BenchmarkId::new(INPUT, "squared"), |b| {
        b.iter(|| all_points(black_box(&polygons), black_box(&points)))
    });
    group.finish();
}

criterion_group!(benches, polygon_containers, distance_test);
criterion_main!(benches);
