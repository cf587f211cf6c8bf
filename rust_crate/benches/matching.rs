//! Best-polygon matching in the pure-Rust core: brute force against the grid, on the
//! default-sized example and on a large one.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use poly_match_rs::geometry::Point;
use poly_match_rs::matching::{Candidates, Grid};

fn matching(c: &mut Criterion) {
    let mut group = c.benchmark_group("best_match");
    for (polygons, points) in [(1_000, 100), (100_000, 10_000)] {
        let (candidates, points) = workload(polygons, points);
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

/// The common example's density (1000 polygons per 100 x 100), scaled up.
fn workload(polygons: usize, points: usize) -> (Candidates, Vec<Point>) {
    let (base, base_points) = common::example(6);
    let copies = polygons / base.len();
    let side = (copies as f64).sqrt().ceil() as usize;
    let shifted = (0..copies).flat_map(|k| {
        let (dx, dy) = ((k % side) as f64 * 100.0, (k / side) as f64 * 100.0);
        base.iter()
            .map(move |p| Point::new(p.center().x + dx, p.center().y + dy))
    });
    let centers: Vec<Point> = shifted.collect();
    let areas = (0..centers.len())
        .map(|i| base[i % base.len()].area())
        .collect();
    let point_copies = points / base_points.len();
    let points = (0..point_copies)
        .flat_map(|k| {
            let (dx, dy) = ((k % side) as f64 * 100.0, (k / side) as f64 * 100.0);
            base_points
                .iter()
                .map(move |p| Point::new(p.x + dx, p.y + dy))
        })
        .collect();
    let candidates = Candidates::from_parts(centers, areas).expect("finite centers and areas");
    (candidates, points)
}

criterion_group!(benches, matching);
criterion_main!(benches);
