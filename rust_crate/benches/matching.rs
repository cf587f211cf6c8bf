//! Best-polygon matching in the pure-Rust core: brute force against the grid, on the
//! default-sized example and on a large one.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use poly_match_rs::matching::Grid;

fn matching(c: &mut Criterion) {
    let mut group = c.benchmark_group("best_match");
    for (polygons, points) in [(1_000, 100), (100_000, 10_000)] {
        let (candidates, points) = common::scaled_example(polygons, points);
        let input = format!("{polygons} polygons x {} points", points.len());
        group.throughput(Throughput::Elements(points.len() as u64));
        if polygons <= 1_000 {
            group.bench_function(BenchmarkId::new(&input, "brute force"), |b| {
                b.iter(|| {
                    points
                        .iter()
                        .map(|&p| candidates.best_match(p, common::MAX_DIST))
                        .collect::<Vec<_>>()
                })
            });
        }
        group.bench_function(BenchmarkId::new(&input, "grid, built per call"), |b| {
            b.iter(|| Grid::new(black_box(&candidates), common::MAX_DIST).best_matches(&points))
        });
        let grid = Grid::new(&candidates, common::MAX_DIST);
        group.bench_function(BenchmarkId::new(&input, "grid query"), |b| {
            b.iter(|| black_box(&grid).best_matches(&points))
        });
    }
    group.finish();
}

criterion_group!(benches, matching);
criterion_main!(benches);
