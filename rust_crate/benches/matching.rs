//! Best-polygon matching in the pure-Rust core, named after the rungs and the array API
//! whose Rust work each bench is: brute force (v6), the grid built per call (v7, v8,
//! `match_points`), the grid queried after it was built (`Index.match`), on the
//! default-sized example and on a large one, whose points also come shuffled, as the
//! Python example's do (each query then lands anywhere in the grid: the grid answers
//! them in the order of their cells). The grid's layouts and the far outlier are
//! benches/grid.rs.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use poly_match_rs::{Candidates, Grid, GridLayout};

fn matching(c: &mut Criterion) {
    let mut group = c.benchmark_group("best_match");
    for (polygons, points, shuffled) in [
        (1_000, 100, false),
        (100_000, 10_000, false),
        (100_000, 10_000, true),
    ] {
        let (candidates, mut points) = common::scaled_example(polygons, points);
        if shuffled {
            common::shuffle(&mut points);
        }
        let input = format!(
            "{polygons} polygons x {} points{}",
            points.len(),
            if shuffled { " shuffled" } else { "" }
        );
        group.throughput(Throughput::Elements(points.len() as u64));
        if polygons <= 1_000 {
            group.bench_function(BenchmarkId::new(&input, "v6 brute force"), |b| {
                b.iter(|| black_box(&candidates).best_matches(&points, common::MAX_DIST))
            });
            // v7 and v8 read the centers and areas out of the polygons first.
            let (polygons, _) = common::example(6);
            group.bench_function(BenchmarkId::new(&input, "v8 polygons to grid"), |b| {
                b.iter(|| {
                    let candidates = Candidates::from_polygons(black_box(&polygons));
                    Grid::new(&candidates, common::MAX_DIST).best_matches(&points)
                })
            });
        }
        group.bench_function(
            BenchmarkId::new(&input, "match_points grid per call"),
            |b| {
                b.iter(|| Grid::new(black_box(&candidates), common::MAX_DIST).best_matches(&points))
            },
        );
        let grid = Grid::with_layout(&candidates, common::MAX_DIST, GridLayout::MANY_QUERIES);
        group.bench_function(BenchmarkId::new(&input, "Index.match prebuilt grid"), |b| {
            b.iter(|| black_box(&grid).best_matches(&points))
        });
    }
    group.finish();
}

criterion_group!(benches, matching);
criterion_main!(benches);
