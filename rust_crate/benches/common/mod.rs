//! The benches' workload: the same shape as the Python example
//! (`python_pkg/poly_match/example.py`), built in Rust.
//!
//! 1000 copies of the original's quarter-circle polygon at random integer offsets in a
//! 100 x 100 square, and 100 points on a shuffled integer grid. The draws come from a
//! small seeded generator (splitmix64), not numpy's `RandomState`, so the polygons sit
//! elsewhere than in the Python example; the work per call is the same.

#![allow(dead_code)] // each bench binary uses only part of this module

use poly_match_rs::{Candidates, Point, Polygon};

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

/// The original's template: a quarter circle sampled every 0.1 along x.
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

/// The common example's density (1000 polygons per 100 x 100), scaled up.
pub fn scaled_example(polygons: usize, points: usize) -> (Candidates, Vec<Point>) {
    let (base, base_points) = example(6);
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

/// `points` in a seeded random order.
pub fn shuffle(points: &mut [Point]) {
    SplitMix64(7).shuffle(points);
}

/// The same candidates and one more, at (1e12, 1e12): far from everything else.
pub fn with_far_outlier(candidates: &Candidates) -> Candidates {
    let mut centers = candidates.centers().to_vec();
    let mut areas = candidates.areas().to_vec();
    centers.push(Point::new(1e12, 1e12));
    areas.push(1.0);
    Candidates::from_parts(centers, areas).expect("finite centers and areas")
}
