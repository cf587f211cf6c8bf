//! The benches' workload: the same shape as the Python example
//! (`python_pkg/poly_match/example.py`), built in Rust.
//!
//! 1000 copies of the seed's quarter-circle polygon at random integer offsets in a
//! 100 x 100 square, and 100 points on a shuffled integer grid. The draws come from a
//! small seeded generator (splitmix64), not numpy's `RandomState`, so the polygons sit
//! elsewhere than in the Python example; the work per call is the same.

#![allow(dead_code)] // each bench binary uses only part of this module

use poly_match_rs::geometry::{Point, Polygon};

pub const POLYGONS: usize = 1000;
pub const POINTS: usize = 100;
pub const MAX_DIST: f64 = 10.0;

/// splitmix64: tiny, seeded, good enough to place polygons.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// An integer in `0..bound`, as f64 (bound is small, so the modulo bias is negligible).
    fn below(&mut self, bound: u64) -> f64 {
        (self.next() % bound) as f64
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// The seed's template: a quarter circle sampled every 0.1 along x.
pub fn template_polygon(vertices: usize) -> Polygon {
    let x: Vec<f64> = (0..vertices).map(|i| i as f64 / vertices as f64).collect();
    let y = x.iter().map(|x| (1.0 - x * x).sqrt()).collect();
    Polygon::new(x, y).expect("the template is a valid polygon")
}

pub fn example(seed: u64) -> (Vec<Polygon>, Vec<Point>) {
    let mut rng = SplitMix64(seed);
    let mut xs: Vec<f64> = (0..POINTS).map(|i| i as f64).collect();
    let mut ys = xs.clone();
    rng.shuffle(&mut xs);
    rng.shuffle(&mut ys);
    let points = xs
        .into_iter()
        .zip(ys)
        .map(|(x, y)| Point::new(x, y))
        .collect();

    let template = template_polygon(10);
    let polygons = (0..POLYGONS)
        .map(|_| {
            let (dx, dy) = (rng.below(100), rng.below(100));
            let x = template.x().iter().map(|x| x + dx).collect();
            let y = template.y().iter().map(|y| y + dy).collect();
            Polygon::new(x, y).expect("a shifted template is a valid polygon")
        })
        .collect();
    (polygons, points)
}
