//! Matching points to their best polygon entirely in Rust: the polygons are reduced
//! to centers and areas once, then searched by brute force or through a uniform grid.
//!
//! "Best" is v1's rule: among the polygons whose center is strictly closer than
//! `max_dist`, the one with the smallest area, the first in input order on ties.

use std::sync::{Arc, Mutex, PoisonError};

use rayon::prelude::*;

use crate::geometry::{with_closeness, Closeness, MaxDist, Point, Polygon};

/// Why candidates could not be built from raw parts.
#[derive(Clone, Debug, PartialEq)]
pub enum MatchError {
    LengthMismatch { centers: usize, areas: usize },
    NonFinite { what: &'static str, index: usize },
}

impl std::fmt::Display for MatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::LengthMismatch { centers, areas } => write!(
                f,
                "centers and areas must describe the same polygons, got {centers} centers and {areas} areas"
            ),
            Self::NonFinite { what, index } => {
                write!(f, "{what}[{index}] is not finite (NaN or infinity)")
            }
        }
    }
}

impl std::error::Error for MatchError {}

/// What matching needs of each polygon, in input order: its center and its area.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidates {
    centers: Vec<Point>,
    areas: Vec<f64>,
}

impl Candidates {
    pub fn from_polygons<P: AsRef<Polygon>>(polygons: &[P]) -> Self {
        // One pass: each polygon is read once, wherever it lives in memory.
        let (centers, areas) = polygons
            .iter()
            .map(|p| (p.as_ref().center(), p.as_ref().area()))
            .unzip();
        Self { centers, areas }
    }

    pub fn from_parts(centers: Vec<Point>, areas: Vec<f64>) -> Result<Self, MatchError> {
        if centers.len() != areas.len() {
            return Err(MatchError::LengthMismatch {
                centers: centers.len(),
                areas: areas.len(),
            });
        }
        if let Some(index) = centers
            .iter()
            .position(|c| !(c.x.is_finite() && c.y.is_finite()))
        {
            return Err(MatchError::NonFinite {
                what: "centers",
                index,
            });
        }
        if let Some(index) = areas.iter().position(|a| !a.is_finite()) {
            return Err(MatchError::NonFinite {
                what: "areas",
                index,
            });
        }
        Ok(Self { centers, areas })
    }

    pub fn len(&self) -> usize {
        self.centers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.centers.is_empty()
    }

    pub fn centers(&self) -> &[Point] {
        &self.centers
    }

    pub fn areas(&self) -> &[f64] {
        &self.areas
    }

    /// The best polygon for `point`, by looking at every polygon.
    pub fn best_match(&self, point: Point, max_dist: f64) -> Option<usize> {
        with_closeness!(MaxDist::new(max_dist), |closeness| self
            .best_match_by(point, closeness))
    }

    /// The best polygon for every point, the comparison chosen once for all of them.
    pub fn best_matches(&self, points: &[Point], max_dist: f64) -> Vec<Option<usize>> {
        with_closeness!(MaxDist::new(max_dist), |closeness| points
            .iter()
            .map(|&p| self.best_match_by(p, closeness))
            .collect())
    }

    fn best_match_by(&self, point: Point, closeness: impl Closeness) -> Option<usize> {
        // Zipped rather than indexed: no bounds checks in the loop that does all the work.
        let mut best: Option<(f64, usize)> = None;
        for (i, (&center, &area)) in self.centers.iter().zip(&self.areas).enumerate() {
            if closeness.is_close(center, point)
                && best.is_none_or(|(best_area, _)| area < best_area)
            {
                best = Some((area, i));
            }
        }
        best.map(|(_, i)| i)
    }
}

/// A uniform grid over the candidates' centers, with cells at least `max_dist` wide, so
/// every center closer than `max_dist` to a point lies in the point's cell or one of its
/// eight neighbours.
///
/// The grid keeps its own copy of the candidates sorted by cell, row after row, so the
/// three cells of one grid row are one contiguous slice: a query scans three slices of
/// plain data instead of chasing an index per candidate.
#[derive(Debug)]
pub struct Grid {
    max_dist: f64,
    closeness: MaxDist,
    origin: Point,
    cell: f64,
    columns: usize,
    rows: usize,
    /// Cell `c` holds the sorted candidates `starts[c]..starts[c + 1]`.
    starts: Vec<usize>,
    centers: Vec<Point>,
    areas: Vec<f64>,
    /// Each sorted candidate's position in the input.
    indices: Vec<usize>,
}

impl Grid {
    /// At most this many cells per candidate: a tiny `max_dist` over a wide extent widens
    /// the cells instead of allocating millions of empty ones.
    const CELLS_PER_CANDIDATE: f64 = 4.0;

    /// Cells are this much wider than `max_dist`. A cell index, `(x - origin) / cell`, is
    /// rounded twice, so a point's and a center's may each be a few ulps of the index off
    /// (under 2^-16 of a cell for any grid below 2^32 cells): with cells exactly `max_dist`
    /// wide, a center closer than `max_dist` could land two cells from the point's, outside
    /// the 3 x 3 searched (tests/grid_vs_brute_force.rs found such cases).
    const CELL_MARGIN: f64 = 1.0 + 1.0 / 65536.0;

    pub fn new(candidates: &Candidates, max_dist: f64) -> Self {
        let mut grid = Self {
            max_dist,
            closeness: MaxDist::new(max_dist),
            origin: Point::new(0.0, 0.0),
            cell: 1.0,
            columns: 0,
            rows: 0,
            starts: vec![0],
            centers: Vec::new(),
            areas: Vec::new(),
            indices: Vec::new(),
        };
        // Nothing is closer than a zero, negative or NaN max_dist: an empty grid answers that.
        if candidates.is_empty() || max_dist.is_nan() || max_dist <= 0.0 {
            return grid;
        }
        let (min, max) = candidates.centers.iter().fold(
            (
                Point::new(f64::INFINITY, f64::INFINITY),
                Point::new(f64::NEG_INFINITY, f64::NEG_INFINITY),
            ),
            |(lo, hi), c| {
                (
                    Point::new(lo.x.min(c.x), lo.y.min(c.y)),
                    Point::new(hi.x.max(c.x), hi.y.max(c.y)),
                )
            },
        );
        let max_cells = Self::CELLS_PER_CANDIDATE * candidates.len() as f64;
        let mut cell = max_dist * Self::CELL_MARGIN;
        while ((max.x - min.x) / cell + 1.0) * ((max.y - min.y) / cell + 1.0) > max_cells {
            cell *= 2.0;
        }
        grid.origin = min;
        grid.cell = cell;
        grid.columns = ((max.x - min.x) / cell) as usize + 1;
        grid.rows = ((max.y - min.y) / cell) as usize + 1;

        // A counting sort by cell, stable, so each cell's members stay in input order.
        let cells: Vec<usize> = candidates
            .centers
            .iter()
            .map(|&c| {
                // Centers are never below the origin: truncation is floor here, and cheaper.
                let column = ((c.x - min.x) / cell) as usize;
                let row = ((c.y - min.y) / cell) as usize;
                row * grid.columns + column
            })
            .collect();
        let mut starts = vec![0usize; grid.columns * grid.rows + 1];
        for &c in &cells {
            starts[c + 1] += 1;
        }
        for c in 1..starts.len() {
            starts[c] += starts[c - 1];
        }
        let mut next = starts.clone();
        let mut order = vec![0; candidates.len()];
        for (i, &c) in cells.iter().enumerate() {
            order[next[c]] = i;
            next[c] += 1;
        }
        grid.centers = order.iter().map(|&i| candidates.centers[i]).collect();
        grid.areas = order.iter().map(|&i| candidates.areas[i]).collect();
        grid.indices = order;
        grid.starts = starts;
        grid
    }

    /// The number of candidates.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// The `max_dist` the grid was built for.
    pub fn max_dist(&self) -> f64 {
        self.max_dist
    }

    /// The candidates back in input order.
    pub fn candidates(&self) -> Candidates {
        let mut centers = vec![Point::new(0.0, 0.0); self.len()];
        let mut areas = vec![0.0; self.len()];
        for ((&index, &center), &area) in self.indices.iter().zip(&self.centers).zip(&self.areas) {
            centers[index] = center;
            areas[index] = area;
        }
        Candidates { centers, areas }
    }

    /// The (column, row) of the cell `p` falls in; may lie outside the grid.
    fn cell_coordinates(&self, p: Point) -> (i64, i64) {
        // `as` saturates for huge values, which the clamping in best_match handles.
        (
            ((p.x - self.origin.x) / self.cell).floor() as i64,
            ((p.y - self.origin.y) / self.cell).floor() as i64,
        )
    }

    /// The best polygon for `point`, looking only at the 3 x 3 cells around it.
    pub fn best_match(&self, point: Point) -> Option<usize> {
        with_closeness!(self.closeness, |closeness| self
            .best_match_by(point, closeness))
    }

    fn best_match_by(&self, point: Point, closeness: impl Closeness) -> Option<usize> {
        if self.columns == 0 {
            return None;
        }
        let (column, row) = self.cell_coordinates(point);
        let first_column = column.saturating_sub(1).max(0);
        let last_column = column.saturating_add(1).min(self.columns as i64 - 1);
        let first_row = row.saturating_sub(1).max(0);
        let last_row = row.saturating_add(1).min(self.rows as i64 - 1);
        if first_column > last_column || first_row > last_row {
            return None;
        }
        // (area, input index) of the best so far: the smallest area, then the first.
        let mut best: Option<(f64, usize)> = None;
        for row in first_row as usize..=last_row as usize {
            let cells = row * self.columns + first_column as usize
                ..row * self.columns + last_column as usize + 1;
            let span = self.starts[cells.start]..self.starts[cells.end];
            let nearby = self.centers[span.clone()]
                .iter()
                .zip(&self.areas[span.clone()])
                .zip(&self.indices[span]);
            for ((center, &area), &index) in nearby {
                if closeness.is_close(*center, point)
                    && best.is_none_or(|best| (area, index) < best)
                {
                    best = Some((area, index));
                }
            }
        }
        best.map(|(_, index)| index)
    }

    /// Below this many points, handing work to rayon's threads costs more than it saves
    /// (a query takes well under a microsecond; waking a pool thread takes tens).
    const MIN_POINTS_FOR_THREADS: usize = 2048;

    /// The best polygon for every point, spread over all cores when there are enough points.
    pub fn best_matches(&self, points: &[Point]) -> Vec<Option<usize>> {
        with_closeness!(self.closeness, |closeness| self
            .best_matches_by(points, closeness))
    }

    fn best_matches_by(&self, points: &[Point], closeness: impl Closeness) -> Vec<Option<usize>> {
        if points.len() >= Self::MIN_POINTS_FOR_THREADS {
            if let Some(threads) = thread_pool() {
                return threads.install(|| {
                    points
                        .par_iter()
                        .with_min_len(256)
                        .map(|&p| self.best_match_by(p, closeness))
                        .collect()
                });
            }
        }
        // Few points, or no threads to be had: this thread does it all.
        points
            .iter()
            .map(|&p| self.best_match_by(p, closeness))
            .collect()
    }
}

/// The threads of this process. Not rayon's global pool, which does not survive
/// `fork`: a forked child (Python's multiprocessing does that on Linux before 3.14)
/// inherits the pool's bookkeeping but none of its threads, and would wait for them
/// forever. This pool is built again in a process whose id has changed.
fn thread_pool() -> Option<Arc<rayon::ThreadPool>> {
    static POOL: Mutex<Option<(u32, Arc<rayon::ThreadPool>)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((owner, threads)) = pool.as_ref() {
        if *owner == pid {
            return Some(Arc::clone(threads));
        }
    }
    // A parent's pool must not be dropped in the child: joining threads that are not
    // there would hang as well. Its memory is the price of the fork.
    std::mem::forget(pool.take());
    let threads = Arc::new(rayon::ThreadPoolBuilder::new().build().ok()?);
    *pool = Some((pid, Arc::clone(&threads)));
    Some(threads)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: f64, y: f64, side: f64) -> Polygon {
        Polygon::new(
            vec![x, x + side, x + side, x],
            vec![y, y, y + side, y + side],
        )
        .unwrap()
    }

    /// A scattered, deterministic workload with repeated areas (for ties).
    fn workload() -> (Vec<Polygon>, Vec<Point>) {
        let mut state = 12345u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let polygons = (0..400)
            .map(|_| square(next() * 100.0, next() * 100.0, 1.0 + (next() * 4.0).floor()))
            .collect();
        let points = (0..300)
            .map(|_| Point::new(next() * 120.0 - 10.0, next() * 120.0 - 10.0))
            .collect();
        (polygons, points)
    }

    /// v1's rule written the obvious way, over the polygons themselves.
    fn expected(polygons: &[Polygon], point: Point, max_dist: f64) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (i, p) in polygons.iter().enumerate() {
            if p.center().distance(point) < max_dist
                && best.is_none_or(|b| p.area() < polygons[b].area())
            {
                best = Some(i);
            }
        }
        best
    }

    #[test]
    fn brute_force_and_grid_follow_v1s_rule() {
        let (polygons, points) = workload();
        let candidates = Candidates::from_polygons(&polygons);
        for max_dist in [0.0, 0.5, 3.0, 10.0, 50.0, 1e300] {
            let grid = Grid::new(&candidates, max_dist);
            let want: Vec<_> = points
                .iter()
                .map(|&p| expected(&polygons, p, max_dist))
                .collect();
            let brute: Vec<_> = points
                .iter()
                .map(|&p| candidates.best_match(p, max_dist))
                .collect();
            assert_eq!(brute, want, "brute force, max_dist {max_dist}");
            assert_eq!(
                grid.best_matches(&points),
                want,
                "grid, max_dist {max_dist}"
            );
            assert!(want.iter().any(Option::is_some) || max_dist < 1.0);
        }
    }

    #[test]
    fn ties_go_to_the_first_polygon() {
        let polygons = [
            square(5.0, 0.0, 1.0),
            square(0.0, 0.0, 1.0),
            square(9.0, 0.0, 1.0),
        ];
        let candidates = Candidates::from_parts(
            polygons.iter().map(Polygon::center).collect(),
            vec![1.0, 1.0, 1.0],
        )
        .unwrap();
        let point = Point::new(4.0, 0.5);
        assert_eq!(candidates.best_match(point, 10.0), Some(0));
        assert_eq!(Grid::new(&candidates, 10.0).best_match(point), Some(0));
        assert_eq!(Grid::new(&candidates, 0.6).best_match(point), None);
    }

    #[test]
    fn tiny_max_dist_over_a_wide_extent_keeps_the_grid_small() {
        let candidates = Candidates::from_parts(
            vec![Point::new(0.0, 0.0), Point::new(1e9, 1e9)],
            vec![1.0, 2.0],
        )
        .unwrap();
        let grid = Grid::new(&candidates, 1e-6);
        assert!(
            grid.columns * grid.rows <= 8,
            "{} x {}",
            grid.columns,
            grid.rows
        );
        assert_eq!(grid.best_match(Point::new(1e9, 1e9)), Some(1));
        assert_eq!(grid.best_match(Point::new(1e9 + 1.0, 1e9)), None);
    }

    #[test]
    fn far_away_and_extreme_points_match_nothing() {
        let candidates = Candidates::from_polygons(&[square(0.0, 0.0, 1.0)]);
        let grid = Grid::new(&candidates, 10.0);
        for p in [
            Point::new(1e308, -1e308),
            Point::new(-50.0, 0.0),
            Point::new(f64::MAX, 0.0),
        ] {
            assert_eq!(grid.best_match(p), None);
        }
        assert_eq!(
            Grid::new(&candidates, f64::NAN).best_match(Point::new(0.5, 0.5)),
            None
        );
        assert_eq!(candidates.best_match(Point::new(0.5, 0.5), -1.0), None);
    }

    #[test]
    fn bad_parts_are_errors() {
        assert_eq!(
            Candidates::from_parts(vec![Point::new(0.0, 0.0)], vec![]),
            Err(MatchError::LengthMismatch {
                centers: 1,
                areas: 0
            })
        );
        assert_eq!(
            Candidates::from_parts(vec![Point::new(0.0, f64::NAN)], vec![1.0]),
            Err(MatchError::NonFinite {
                what: "centers",
                index: 0
            })
        );
    }
}
