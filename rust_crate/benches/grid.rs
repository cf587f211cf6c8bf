//! The grid's layouts, and what one far outlier center costs it.
//!
//!     cargo bench -p poly_match_rs --bench grid
//!     cargo bench -p poly_match_rs --bench grid -- outlier   # one group
//!
//! Only queries are timed: the grid is built once per input, outside the timed loop. The
//! layout sweep queries on one thread, the outlier group through `best_matches` (threads).

mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use poly_match_rs::{Grid, GridLayout};

/// How a query scans: each row of cells in one pass, cell by cell with an early exit, or
/// one list per cell (`GridLayout::MANY_QUERIES`, what `Index` builds).
const SCANS: [(bool, bool); 3] = [(false, false), (true, false), (true, true)];

fn layout(cells_per_max_dist: u32, buckets_per_candidate: u32, scan: (bool, bool)) -> GridLayout {
    GridLayout {
        cells_per_max_dist,
        buckets_per_candidate,
        early_exit: scan.0,
        neighbourhood_lists: scan.1,
    }
}

/// Cell widths and scans. On a dense grid the buckets per candidate change nothing but
/// the size of the bucket table, so they are swept on a sparse one (`buckets`), which has
/// no neighbourhood lists.
fn cell_widths() -> impl Iterator<Item = GridLayout> {
    (1..=3).flat_map(|cells| SCANS.map(|scan| layout(cells, 2, scan)))
}

fn buckets() -> impl Iterator<Item = GridLayout> {
    [1, 2, 4, 8]
        .into_iter()
        .flat_map(|buckets| SCANS[..2].iter().map(move |&scan| layout(1, buckets, scan)))
}

/// Short, or criterion cuts it: "cells max_dist/1, 2 buckets, early exit".
fn name(layout: GridLayout) -> String {
    format!(
        "cells max_dist/{}, {} buckets, {}",
        layout.cells_per_max_dist,
        layout.buckets_per_candidate,
        match (layout.early_exit, layout.neighbourhood_lists) {
            (_, true) => "neighbourhood lists",
            (true, false) => "early exit",
            (false, false) => "plain scan",
        }
    )
}

fn layout_sweep(c: &mut Criterion) {
    let mut group = c.benchmark_group("grid layout");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    let inputs = [
        (1_000, 100, false),
        (100_000, 10_000, false),
        (100_000, 10_000, true),
    ];
    for (polygons, points, outlier) in inputs {
        let (candidates, points) = common::scaled_example(polygons, points);
        let (candidates, layouts): (_, Vec<_>) = if outlier {
            (common::with_far_outlier(&candidates), buckets().collect())
        } else {
            (candidates, cell_widths().collect())
        };
        let input = format!(
            "{polygons}{} x {}",
            if outlier { " + outlier" } else { "" },
            points.len()
        );
        group.throughput(Throughput::Elements(points.len() as u64));
        for layout in layouts {
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
