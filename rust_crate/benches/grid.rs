//! The grid's layouts, and what one far outlier center costs it (issue 15).
//!
//!     cargo bench -p poly_match_rs --bench grid
//!     cargo bench -p poly_match_rs --bench grid -- outlier   # one group
//!
//! Only queries are timed: the grid is built once per input, outside the timed loop. The
//! layout sweep queries on one thread, the outlier group through `best_matches` (threads).

mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use poly_match_rs::matching::{Grid, GridLayout};

/// Every layout the sweep compares.
fn layouts() -> impl Iterator<Item = GridLayout> {
    (1..=3).flat_map(|cells_per_max_dist| {
        [1, 2, 4, 8]
            .into_iter()
            .flat_map(move |buckets_per_candidate| {
                [false, true].map(|early_exit| GridLayout {
                    cells_per_max_dist,
                    buckets_per_candidate,
                    early_exit,
                })
            })
    })
}

fn name(layout: GridLayout) -> String {
    format!(
        "cell max_dist/{}, {} buckets per candidate, {}",
        layout.cells_per_max_dist,
        layout.buckets_per_candidate,
        if layout.early_exit {
            "early exit"
        } else {
            "plain scan"
        }
    )
}

fn layout_sweep(c: &mut Criterion) {
    let mut group = c.benchmark_group("grid layout");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for (polygons, points) in [(1_000, 100), (100_000, 10_000)] {
        let (candidates, points) = common::scaled_example(polygons, points);
        let input = format!("{polygons} polygons x {} points", points.len());
        group.throughput(Throughput::Elements(points.len() as u64));
        for layout in layouts() {
            let grid = Grid::with_layout(&candidates, common::MAX_DIST, layout);
            // One thread: rayon's scheduling on a noisy 2-core machine would blur the
            // differences between layouts.
            group.bench_function(BenchmarkId::new(&input, name(layout)), |b| {
                b.iter(|| {
                    points
                        .iter()
                        .map(|&p| grid.best_match(p))
                        .collect::<Vec<_>>()
                })
            });
        }
    }
    group.finish();
}

fn outlier(c: &mut Criterion) {
    let mut group = c.benchmark_group("grid outlier");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for size in [30_000, 100_000] {
        let (candidates, points) = common::scaled_example(size, size);
        let input = format!("{size} polygons x {size} points");
        group.throughput(Throughput::Elements(points.len() as u64));
        for (what, candidates) in [
            ("without outlier", candidates.clone()),
            (
                "with one far outlier",
                common::with_far_outlier(&candidates),
            ),
        ] {
            let grid = Grid::new(&candidates, common::MAX_DIST);
            group.bench_function(BenchmarkId::new(&input, what), |b| {
                b.iter(|| grid.best_matches(&points))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, layout_sweep, outlier);
criterion_main!(benches);
