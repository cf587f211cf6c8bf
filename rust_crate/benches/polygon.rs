//! One polygon's geometry in the pure-Rust core: building it, its center, its area.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use poly_match_rs::Polygon;

fn polygon(c: &mut Criterion) {
    let mut group = c.benchmark_group("polygon");
    for vertices in [10, 50] {
        let input = format!("{vertices} vertices");
        let template = common::template_polygon(vertices);
        let (x, y) = (template.x().to_vec(), template.y().to_vec());
        group.bench_function(BenchmarkId::new(&input, "new"), |b| {
            b.iter(|| Polygon::new(black_box(x.clone()), black_box(y.clone())))
        });
        group.bench_function(BenchmarkId::new(&input, "center"), |b| {
            b.iter(|| black_box(&template).center())
        });
        group.bench_function(BenchmarkId::new(&input, "area"), |b| {
            b.iter(|| black_box(&template).area())
        });
    }
    group.finish();
}

criterion_group!(benches, polygon);
criterion_main!(benches);
