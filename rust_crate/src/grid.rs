//! A uniform grid over the candidates' centers, for matching many points: each query
//! searches only the cells around its point. Beside it, in `grid/`: its layouts and a
//! dense grid's lists, per cell, of the candidates within reach. Many points are
//! answered in the order of their cells, on the process's own threads (`thread_pool`).
//!
//! The answers are the brute force's ([`Candidates::best_match`]), v1's rule: among the
//! polygons whose center is strictly closer than `max_dist`, the one with the smallest
//! area, the first in input order on ties.

use std::cmp::Ordering;

use rayon::prelude::*;

use crate::candidates::Candidates;
use crate::geometry::{with_closeness, Closeness, MaxDist, Point};
use crate::thread_pool::thread_pool;

mod layout;
mod neighbourhoods;
#[cfg(test)]
mod tests;

pub use layout::GridLayout;
use neighbourhoods::Neighbourhoods;

/// One candidate as the grid stores it: what the distance test and the tie-break read,
/// side by side.
#[derive(Clone, Copy, Debug)]
struct Entry {
    center: Point,
    area: f64,
    /// The candidate's position in the input.
    index: usize,
}

/// `value.floor() as i64`, without the call to libm's `floor` that x86-64's baseline
/// instruction set needs (SSE4.1 has a rounding instruction, the baseline has not).
fn floor_to_i64(value: f64) -> i64 {
    let truncated = value as i64;
    if (truncated as f64) > value {
        truncated.saturating_sub(1)
    } else {
        truncated
    }
}

/// The smallest and largest coordinates of finite `centers` (infinite bounds for none).
fn bounds(centers: &[Point]) -> (Point, Point) {
    // Four independent running bounds per axis, so the comparisons do not wait on each
    // other: one chain through all the centers took four times as long.
    let mut lo = [f64::INFINITY; 8];
    let mut hi = [f64::NEG_INFINITY; 8];
    let mut chunks = centers.chunks_exact(4);
    for chunk in &mut chunks {
        for (k, c) in chunk.iter().enumerate() {
            lo[2 * k] = if c.x < lo[2 * k] { c.x } else { lo[2 * k] };
            lo[2 * k + 1] = if c.y < lo[2 * k + 1] {
                c.y
            } else {
                lo[2 * k + 1]
            };
            hi[2 * k] = if c.x > hi[2 * k] { c.x } else { hi[2 * k] };
            hi[2 * k + 1] = if c.y > hi[2 * k + 1] {
                c.y
            } else {
                hi[2 * k + 1]
            };
        }
    }
    for c in chunks.remainder() {
        lo[0] = lo[0].min(c.x);
        lo[1] = lo[1].min(c.y);
        hi[0] = hi[0].max(c.x);
        hi[1] = hi[1].max(c.y);
    }
    let fold = |values: [f64; 8], pick: fn(f64, f64) -> f64| {
        let x = (1..4).fold(values[0], |v, k| pick(v, values[2 * k]));
        let y = (1..4).fold(values[1], |v, k| pick(v, values[2 * k + 1]));
        Point::new(x, y)
    };
    (fold(lo, f64::min), fold(hi, f64::max))
}

/// 2^64 / golden ratio, the multiplier of Fibonacci hashing: consecutive rows land far
/// apart in the top bits of the product.
const FIBONACCI: u64 = 0x9E37_79B9_7F4A_7C15;

/// Where a row of cells starts among the buckets.
#[derive(Clone, Copy, Debug)]
enum RowOffsets {
    /// `row * columns`: the centers' whole grid fits in the buckets, one cell per bucket.
    Dense { columns: u64 },
    /// A multiplicative (Fibonacci) hash of the row, `bits` wide: a sparse grid, for an
    /// extent (a far outlier, a tiny `max_dist`) with far more cells than candidates.
    Hashed { bits: u32 },
}

impl RowOffsets {
    fn of(self, row: i64) -> u64 {
        match self {
            Self::Dense { columns } => (row as u64).wrapping_mul(columns),
            Self::Hashed { bits } => (row as u64).wrapping_mul(FIBONACCI) >> (64 - bits),
        }
    }
}

/// A grid over the candidates' centers with cells about `max_dist` wide (or a fraction of
/// it, see [`GridLayout`]) whatever their extent, in memory proportional to the number of
/// candidates: every center closer than `max_dist` to a point lies within `c` cells of the
/// point's on both axes.
///
/// Cell `(column, row)` goes to bucket `(row_offset(row) + column) mod T`, `T` a power of
/// two, so the cells `column - c ..= column + c` of one row are consecutive buckets: one
/// contiguous slice of the candidates, sorted by bucket (two slices where it wraps around).
/// `row_offset` is `row * columns` when the centers' grid fits in `T` buckets (no two cells
/// share one), a hash otherwise. Cells that share a bucket only add candidates that the
/// distance test rejects: correctness never depends on the hash.
#[derive(Debug)]
pub struct Grid {
    max_dist: f64,
    closeness: MaxDist,
    layout: GridLayout,
    origin: Point,
    cell: f64,
    /// `1 / cell`: a cell's coordinates take a multiplication, not a division (whose
    /// latency was half the time of building a small grid).
    per_cell: f64,
    /// The largest column and row holding a center (the smallest are 0): a point further
    /// than `c` cells outside matches nothing.
    last_cell: (i64, i64),
    rows: RowOffsets,
    /// Hashed grids only (a dense one's bounds do this): the smallest and largest column
    /// holding a center, per row slot (rows sharing a slot share the range). A query
    /// skips its rows with no center within reach, which makes points in empty space
    /// cheap however far the extent reaches.
    row_columns: Vec<(i64, i64)>,
    /// One bit per row slot, set where a row within reach (`c` rows) holds a center: one
    /// bit answers what `2 c + 1` empty `row_columns` ranges would, in 1/128 of the
    /// memory, so it stays in the nearest cache.
    rows_in_reach: Vec<u64>,
    /// `row_columns.len() - 1`.
    row_mask: u64,
    /// `T - 1`.
    mask: u64,
    /// Bucket `b` holds `entries[starts[b]..starts[b + 1]]`.
    starts: Vec<usize>,
    /// [`GridLayout::neighbourhood_lists`], where built.
    neighbourhoods: Option<Neighbourhoods>,
    /// The candidates by bucket, each bucket's by area then input index.
    entries: Vec<Entry>,
}

impl Grid {
    /// Below this `max_dist` (2^-958, about 4e-289) the cell width would be computed near
    /// the subnormals, where rounding is absolute rather than relative and the argument in
    /// `cell_width` fails: one cell holds everything instead.
    const SMALLEST_MAX_DIST: f64 = 4.1045368012983762e-289;

    pub fn new(candidates: &Candidates, max_dist: f64) -> Self {
        Self::with_layout(candidates, max_dist, GridLayout::DEFAULT)
    }

    pub fn with_layout(candidates: &Candidates, max_dist: f64, layout: GridLayout) -> Self {
        let layout = GridLayout {
            cells_per_max_dist: layout.cells_per_max_dist.max(1),
            buckets_per_candidate: layout.buckets_per_candidate.max(1),
            ..layout
        };
        let (min, max) = bounds(&candidates.centers);
        let (origin, extent) = if candidates.is_empty() {
            (Point::new(0.0, 0.0), 0.0)
        } else {
            (min, (max.x - min.x).max(max.y - min.y))
        };
        let mut grid = Self {
            max_dist,
            closeness: MaxDist::new(max_dist),
            layout,
            origin,
            cell: 0.0,
            per_cell: 0.0,
            last_cell: (0, 0),
            rows: RowOffsets::Dense { columns: 1 },
            row_columns: Vec::new(),
            rows_in_reach: Vec::new(),
            row_mask: 0,
            mask: 0,
            starts: Vec::new(),
            neighbourhoods: None,
            entries: Vec::new(),
        };
        grid.cell = Self::cell_width(max_dist, extent, layout.cells_per_max_dist);
        grid.per_cell = 1.0 / grid.cell;
        // Centers are never below the origin: their cells start at (0, 0). And a cell's
        // coordinates only grow with the point's, so the last cell is the largest center's.
        if !candidates.is_empty() {
            grid.last_cell = grid.cell_coordinates(max);
        }
        // Where the centers' grid fits in the buckets allowed, it is laid out whole and
        // needs no more buckets than cells: fewer buckets to count, sum and sort.
        let allowed = (layout.buckets_per_candidate as usize * candidates.len())
            .next_power_of_two()
            .max(2);
        let columns = grid.last_cell.0 as u128 + 1;
        let cells_in_grid = columns * (grid.last_cell.1 as u128 + 1);
        let buckets = if cells_in_grid <= allowed as u128 {
            grid.rows = RowOffsets::Dense {
                columns: columns as u64,
            };
            (cells_in_grid as usize).next_power_of_two().max(2)
        } else {
            grid.rows = RowOffsets::Hashed {
                bits: allowed.trailing_zeros(),
            };
            grid.build_row_tables(&candidates.centers, layout.cells_per_max_dist as usize);
            allowed
        };
        grid.mask = buckets as u64 - 1;

        // A counting sort by bucket, stable, so each bucket's members stay in input order.
        let in_bucket: Vec<usize> = candidates
            .centers
            .iter()
            .map(|&center| {
                let (column, row) = grid.cell_coordinates(center);
                grid.bucket(column, row)
            })
            .collect();
        let mut starts = vec![0usize; buckets + 1];
        for &b in &in_bucket {
            starts[b + 1] += 1;
        }
        for b in 1..starts.len() {
            starts[b] += starts[b - 1];
        }
        let mut next = starts.clone();
        let mut entries = vec![
            Entry {
                center: Point::new(0.0, 0.0),
                area: 0.0,
                index: 0,
            };
            candidates.len()
        ];
        for (index, (&b, (&center, &area))) in in_bucket
            .iter()
            .zip(candidates.centers.iter().zip(&candidates.areas))
            .enumerate()
        {
            entries[next[b]] = Entry {
                center,
                area,
                index,
            };
            next[b] += 1;
        }
        // Then by area, stably (so by input index on ties), comparing as `<` does: -0.0
        // and 0.0 tie. Areas are finite (Candidates checks), so there is always an order.
        for bucket in starts.windows(2) {
            entries[bucket[0]..bucket[1]]
                .sort_by(|a, b| a.area.partial_cmp(&b.area).unwrap_or(Ordering::Equal));
        }
        grid.starts = starts;
        grid.entries = entries;
        if layout.neighbourhood_lists {
            grid.neighbourhoods = Neighbourhoods::build(&grid);
        }
        grid
    }

    /// The width of a cell: `max_dist / cells_per_max_dist`, plus a margin for rounding.
    ///
    /// A cell index `u = (v - origin) * (1 / cell)` is rounded three times (the
    /// difference, the reciprocal, the product), so it is off by less than `2^-51 |u|`.
    /// A center and a point closer than `max_dist` lie within `span = extent + 2 max_dist`
    /// of the origin, so their indices are off by less than `2^-50 span / cell` between
    /// them. Their exact indices differ by less than
    /// `max_dist / cell = c - c slack / (max_dist + slack)` with
    /// `cell = (max_dist + slack) / c`, i.e. by less than `c - slack / cell`. So with
    /// `slack > 2^-50 span` (with room for the rounding of `cell` itself) the computed
    /// indices differ by less than `c`, and their floors by at most `c`: the center is in
    /// the block searched. (A distance the test computes below `max_dist` is at most an
    /// ulp or two above it in truth: the 4-fold and 2^-16 room cover that too.)
    /// `slack = max(2^-16 max_dist, 2^-48 span)`: cells stay within
    /// 2^-16 of `max_dist / c` until the extent is 2^32 times `max_dist`, and never more
    /// than 2^48 c cells fit across the extent (the indices stay far inside i64). A huge
    /// extent or `max_dist` can make the cell infinite: one cell, every center in it.
    fn cell_width(max_dist: f64, extent: f64, cells_per_max_dist: u32) -> f64 {
        if max_dist.is_nan() || max_dist < Self::SMALLEST_MAX_DIST {
            return f64::INFINITY;
        }
        let span = extent + 2.0 * max_dist;
        let slack = (max_dist / 65536.0).max(span / 281_474_976_710_656.0);
        (max_dist + slack) / f64::from(cells_per_max_dist)
    }

    /// The (column, row) of the cell `p` falls in.
    fn cell_coordinates(&self, p: Point) -> (i64, i64) {
        // `as` saturates (and takes NaN to 0): monotone, and never moves two values
        // further apart, so a center's cell stays within reach of a close point's.
        (
            floor_to_i64((p.x - self.origin.x) * self.per_cell),
            floor_to_i64((p.y - self.origin.y) * self.per_cell),
        )
    }

    /// The per-row tables of a hashed grid: which columns hold centers, and which rows
    /// are within reach of one. (A dense grid's bounds say as much for free.)
    fn build_row_tables(&mut self, centers: &[Point], reach: usize) {
        // A slot per candidate (rows then share slots); at least a word of bits.
        let slots = centers.len().next_power_of_two().max(64);
        self.row_mask = slots as u64 - 1;
        self.row_columns = vec![(i64::MAX, i64::MIN); slots];
        for &center in centers {
            let (column, row) = self.cell_coordinates(center);
            let slot = self.row_slot(row);
            let (first, last) = &mut self.row_columns[slot];
            (*first, *last) = ((*first).min(column), (*last).max(column));
        }
        // Each word's bits gathered in a register, not set center by center: those
        // read-modify-writes of one word were a dependency chain that took a quarter of
        // the build.
        let occupied = |slot: usize| self.row_columns[slot & (slots - 1)].0 != i64::MAX;
        self.rows_in_reach = (0..slots / 64)
            .map(|word| {
                (0..64).fold(0u64, |bits, bit| {
                    let slot = word * 64 + bit + slots;
                    let in_reach = (slot - reach..=slot + reach).any(occupied);
                    bits | u64::from(in_reach) << bit
                })
            })
            .collect();
    }

    fn row_slot(&self, row: i64) -> usize {
        // The row modulo the slots: neighbouring rows are neighbouring bits and ranges, and
        // the rows of any stretch of the plane shorter than the slots share none.
        (row as u64 & self.row_mask) as usize
    }

    fn bucket(&self, column: i64, row: i64) -> usize {
        // Wrapping, then modulo T (which divides 2^64): the same bucket for the same cell
        // however the sum wrapped.
        (self.rows.of(row).wrapping_add(column as u64) & self.mask) as usize
    }

    /// The number of candidates.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `max_dist` the grid was built for.
    pub fn max_dist(&self) -> f64 {
        self.max_dist
    }

    /// The candidates the grid was built from, in input order.
    pub fn candidates(&self) -> Candidates {
        let mut centers = vec![Point::new(0.0, 0.0); self.entries.len()];
        let mut areas = vec![0.0; self.entries.len()];
        for entry in &self.entries {
            centers[entry.index] = entry.center;
            areas[entry.index] = entry.area;
        }
        Candidates { centers, areas }
    }

    /// The best polygon for `point`, looking only at the cells around it.
    pub fn best_match(&self, point: Point) -> Option<usize> {
        with_closeness!(self.closeness, |closeness| self
            .best_match_by(point, closeness))
    }

    fn best_match_by(&self, point: Point, closeness: impl Closeness) -> Option<usize> {
        // Nothing is closer than a zero, negative or NaN max_dist.
        if self.max_dist.is_nan() || self.max_dist <= 0.0 || self.entries.is_empty() {
            return None;
        }
        let reach = i64::from(self.layout.cells_per_max_dist);
        let (column, row) = self.cell_coordinates(point);
        // Also keeps the arithmetic below far from overflow: centers' cells are at most
        // about 2^50 (cell_width).
        if !(-reach..=self.last_cell.0 + reach).contains(&column)
            || !(-reach..=self.last_cell.1 + reach).contains(&row)
        {
            return None;
        }
        if let Some(neighbourhoods) = &self.neighbourhoods {
            // In order of (area, input index): the first close candidate is the best.
            return neighbourhoods
                .around(column, row)
                .iter()
                .map(|&at| &self.entries[at as usize])
                .find(|entry| closeness.is_close(entry.center, point))
                .map(|entry| entry.index);
        }
        let hashed = matches!(self.rows, RowOffsets::Hashed { .. });
        if hashed {
            let slot = self.row_slot(row);
            if self.rows_in_reach[slot / 64] & (1 << (slot % 64)) == 0 {
                return None;
            }
        }
        // The columns within reach that may hold centers in row `r`; empty if none can.
        let columns = |r: i64| {
            let (first, last) = if hashed {
                self.row_columns[self.row_slot(r)]
            } else if (0..=self.last_cell.1).contains(&r) {
                (0, self.last_cell.0)
            } else {
                (i64::MAX, i64::MIN)
            };
            first.max(column - reach)..=last.min(column + reach)
        };
        // The rows within reach, as offsets from the point's row: `2 c + 1` of them, and no
        // slip in the bounds can make the loop run over the ~2^50 rows between far cells.
        let rows = (-reach..=reach).map(|offset| row + offset);
        // (area, input index) of the best so far: the smallest area, then the first.
        let mut best: Option<(f64, usize)> = None;
        if self.layout.early_exit {
            // The point's own cell first: the likeliest to hold a close candidate, whose
            // area then cuts the other cells' scans short.
            if columns(row).contains(&column) {
                self.scan_cell(self.bucket(column, row), point, closeness, &mut best);
            }
            for r in rows {
                let offset = self.rows.of(r);
                for c in columns(r) {
                    if (c, r) != (column, row) {
                        let b = (offset.wrapping_add(c as u64) & self.mask) as usize;
                        self.scan_cell(b, point, closeness, &mut best);
                    }
                }
            }
        } else {
            let buckets = self.starts.len() - 1;
            for r in rows {
                let cells = columns(r);
                if cells.is_empty() {
                    continue;
                }
                let width = cells.clone().count();
                if width >= buckets {
                    // So few buckets that a row of cells covers them all: one scan of
                    // every candidate answers for every row.
                    self.scan(0..self.entries.len(), point, closeness, &mut best);
                    break;
                }
                let first = self.bucket(*cells.start(), r);
                let end = first + width;
                if end <= buckets {
                    self.scan(
                        self.starts[first]..self.starts[end],
                        point,
                        closeness,
                        &mut best,
                    );
                } else {
                    self.scan(
                        self.starts[first]..self.entries.len(),
                        point,
                        closeness,
                        &mut best,
                    );
                    self.scan(0..self.starts[end - buckets], point, closeness, &mut best);
                }
            }
        }
        best.map(|(_, index)| index)
    }

    /// Scans one bucket, in its order (area, then input index): its first close candidate
    /// is its best, and nothing after one that is no better than `best` can be better.
    fn scan_cell(
        &self,
        bucket: usize,
        point: Point,
        closeness: impl Closeness,
        best: &mut Option<(f64, usize)>,
    ) {
        for entry in &self.entries[self.starts[bucket]..self.starts[bucket + 1]] {
            let key = (entry.area, entry.index);
            if best.is_some_and(|best| key >= best) {
                return;
            }
            if closeness.is_close(entry.center, point) {
                *best = Some(key);
                return;
            }
        }
    }

    /// Scans every candidate of `span`.
    fn scan(
        &self,
        span: std::ops::Range<usize>,
        point: Point,
        closeness: impl Closeness,
        best: &mut Option<(f64, usize)>,
    ) {
        for entry in &self.entries[span] {
            let key = (entry.area, entry.index);
            if closeness.is_close(entry.center, point) && best.is_none_or(|best| key < best) {
                *best = Some(key);
            }
        }
    }

    /// Below this many points, handing work to rayon's threads costs more than it saves
    /// (a query takes well under a microsecond; waking a pool thread takes tens).
    const MIN_POINTS_FOR_THREADS: usize = 2048;

    /// The best polygon for every point, spread over all cores when there are enough points.
    pub fn best_matches(&self, points: &[Point]) -> Vec<Option<usize>> {
        with_closeness!(self.closeness, |closeness| self
            .best_matches_by(points, closeness))
    }

    /// From this many candidates (32 bytes each: twice a core's 32 KiB data cache) points
    /// in input order would each wait on memory for the cells they read (2.4 times as
    /// long at 10,000 candidates and points): they are answered in the order of their
    /// cells instead.
    const MIN_CANDIDATES_FOR_CELL_ORDER: usize = 2048;

    fn best_matches_by(&self, points: &[Point], closeness: impl Closeness) -> Vec<Option<usize>> {
        if self.entries.len() >= Self::MIN_CANDIDATES_FOR_CELL_ORDER
            && points.len() >= Self::MIN_POINTS_FOR_THREADS
            && u32::try_from(points.len()).is_ok()
        {
            self.best_matches_in_cell_order(points, closeness)
        } else {
            self.best_matches_in_order(points, closeness)
        }
    }

    /// The points sorted by the bucket of their cell (a counting sort, so in time linear
    /// in their number), answered in that order and the answers put back in input order:
    /// consecutive queries then read the same few rows of cells from the nearest cache.
    fn best_matches_in_cell_order(
        &self,
        points: &[Point],
        closeness: impl Closeness,
    ) -> Vec<Option<usize>> {
        // Neighbouring buckets share a key where there are more buckets than points, so
        // the counts stay as small as the points.
        let buckets = self.starts.len() - 1;
        let shift = buckets
            .div_ceil(points.len())
            .next_power_of_two()
            .trailing_zeros();
        let keys: Vec<u32> = points
            .iter()
            .map(|&p| {
                let (column, row) = self.cell_coordinates(p);
                (self.bucket(column, row) >> shift) as u32
            })
            .collect();
        let mut starts = vec![0u32; (buckets >> shift) + 2];
        for &key in &keys {
            starts[key as usize + 1] += 1;
        }
        for k in 1..starts.len() {
            starts[k] += starts[k - 1];
        }
        let mut order = vec![0u32; points.len()];
        let mut sorted = vec![Point::new(0.0, 0.0); points.len()];
        for (i, (&key, &point)) in keys.iter().zip(points).enumerate() {
            let slot = &mut starts[key as usize];
            order[*slot as usize] = i as u32;
            sorted[*slot as usize] = point;
            *slot += 1;
        }
        let found = self.best_matches_in_order(&sorted, closeness);
        let mut best = vec![None; points.len()];
        for (&i, found) in order.iter().zip(found) {
            best[i as usize] = found;
        }
        best
    }

    fn best_matches_in_order(
        &self,
        points: &[Point],
        closeness: impl Closeness,
    ) -> Vec<Option<usize>> {
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
