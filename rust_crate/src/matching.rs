//! Matching points to their best polygon entirely in Rust: the polygons are reduced
//! to centers and areas once, then searched by brute force or through a uniform grid.
//!
//! "Best" is v1's rule: among the polygons whose center is strictly closer than
//! `max_dist`, the one with the smallest area, the first in input order on ties.

use std::cmp::Ordering;
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

    pub fn centers(&self) -> &[Point] {
        &self.centers
    }

    pub fn areas(&self) -> &[f64] {
        &self.areas
    }

    pub fn len(&self) -> usize {
        self.centers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.centers.is_empty()
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

/// How a [`Grid`] lays out its cells and scans them. [`Grid::new`] takes
/// [`GridLayout::DEFAULT`]; the benches (`benches/grid.rs`) sweep the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridLayout {
    /// Cells are about `max_dist / cells_per_max_dist` wide, so a query searches the
    /// `(2 c + 1) x (2 c + 1)` cells around its own: smaller cells, less area searched.
    pub cells_per_max_dist: u32,
    /// At least this many buckets per candidate (rounded up to a power of two): more
    /// buckets, fewer hash collisions, more memory.
    pub buckets_per_candidate: u32,
    /// Visit the point's own cell first, and stop scanning a cell at the first candidate
    /// that is close or no better than the best so far (each cell is sorted by area, then
    /// input index). Otherwise each row of cells is one plain scan.
    pub early_exit: bool,
    /// Also keep, for every cell of a dense grid, the candidates of all the cells within
    /// reach in one list sorted by area, then input index: a query scans that one list
    /// and stops at its first close candidate. About 4 bytes per candidate per cell
    /// searched (36 for `c = 1`) and a slower build, for the fastest queries: for an
    /// index that answers many queries. A hashed grid (a far outlier, a tiny `max_dist`)
    /// has no such lists and scans its cells.
    pub neighbourhood_lists: bool,
}

impl GridLayout {
    /// What benches/grid.rs measured fastest to build and query once (docs/grid.md).
    pub const DEFAULT: Self = Self {
        cells_per_max_dist: 1,
        buckets_per_candidate: 2,
        early_exit: true,
        neighbourhood_lists: false,
    };

    /// For a grid built once and queried many times, as `Index` is.
    pub const MANY_QUERIES: Self = Self {
        neighbourhood_lists: true,
        ..Self::DEFAULT
    };
}

impl Default for GridLayout {
    fn default() -> Self {
        Self::DEFAULT
    }
}

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

/// For every cell of a dense grid and the border of cells within reach around it, the
/// positions in `Grid::entries` of the candidates within reach of the cell, sorted by
/// area, then input index.
#[derive(Debug)]
struct Neighbourhoods {
    /// How many cells a query reaches on each side of its own (`c`).
    reach: i64,
    /// Cells per row, the border included.
    columns: i64,
    /// Cell `k` (row-major, the border included) has `members[starts[k]..starts[k + 1]]`.
    starts: Vec<u32>,
    members: Vec<u32>,
}

impl Neighbourhoods {
    /// The lists of a dense grid; `None` for a hashed grid, or one whose lists would not
    /// fit 32-bit positions.
    fn build(grid: &Grid) -> Option<Self> {
        let RowOffsets::Dense { .. } = grid.rows else {
            return None;
        };
        let reach = i64::from(grid.layout.cells_per_max_dist);
        let side = 2 * reach + 1;
        let columns = grid.last_cell.0 + 1 + 2 * reach;
        let rows = grid.last_cell.1 + 1 + 2 * reach;
        let cells = usize::try_from(columns.checked_mul(rows)?).ok()?;
        let total = grid
            .entries
            .len()
            .checked_mul(usize::try_from(side * side).ok()?)?;
        if u32::try_from(total).is_err() {
            return None;
        }
        // The cell (border included) of each entry, and how many lists it joins per cell.
        let cell_of = |entry: &Entry| {
            let (column, row) = grid.cell_coordinates(entry.center);
            (row + reach) * columns + column + reach
        };
        let around = |cell: i64| {
            (-reach..=reach)
                .flat_map(move |dy| (-reach..=reach).map(move |dx| cell + dy * columns + dx))
        };
        let mut starts = vec![0u32; cells + 1];
        for entry in &grid.entries {
            for cell in around(cell_of(entry)) {
                starts[cell as usize + 1] += 1;
            }
        }
        for k in 1..starts.len() {
            starts[k] += starts[k - 1];
        }
        // Candidates enter the lists in order of (area, input index), so every list is
        // sorted as it fills. Areas compare as `<` does (finite, -0.0 ties with 0.0).
        let mut order: Vec<u32> = (0..grid.entries.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| {
            let (a, b) = (&grid.entries[a as usize], &grid.entries[b as usize]);
            a.area
                .partial_cmp(&b.area)
                .unwrap_or(Ordering::Equal)
                .then(a.index.cmp(&b.index))
        });
        let mut next = starts.clone();
        let mut members = vec![0u32; total];
        for at in order {
            for cell in around(cell_of(&grid.entries[at as usize])) {
                let slot = &mut next[cell as usize];
                members[*slot as usize] = at;
                *slot += 1;
            }
        }
        Some(Self {
            reach,
            columns,
            starts,
            members,
        })
    }

    /// The list of cell `(column, row)`, which must be within reach of the grid.
    fn around(&self, column: i64, row: i64) -> &[u32] {
        let cell = ((row + self.reach) * self.columns + column + self.reach) as usize;
        &self.members[self.starts[cell] as usize..self.starts[cell + 1] as usize]
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

    #[test]
    fn floor_to_i64_is_floor_then_a_saturating_cast() {
        let edges = [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.0,
            -1.0,
            2.5,
            -2.5,
            1e15 + 0.5,
            -1e15 - 0.5,
            9.223372036854776e18,
            -9.223372036854776e18,
            1e300,
            -1e300,
            f64::MAX,
            f64::MIN,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            4503599627370495.5,
            -4503599627370495.5,
        ];
        for value in edges {
            assert_eq!(floor_to_i64(value), value.floor() as i64, "{value:e}");
        }
    }

    /// `bounds` against the obvious fold over the centers: every length up to three
    /// chunks of four and each remainder, so each extreme lands in every one of the
    /// running bounds, with x and y far apart either way round, so a bound that read
    /// the other axis would show.
    #[test]
    fn bounds_are_the_smallest_and_largest_coordinates() {
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 * 100.0 - 50.0
        };
        for len in 0..=13 {
            for (x_offset, y_offset) in [(0.0, 1000.0), (1000.0, 0.0), (-5.0, 5.0)] {
                for _ in 0..20 {
                    let centers: Vec<Point> = (0..len)
                        .map(|_| Point::new(x_offset + next(), y_offset + next()))
                        .collect();
                    let (mut lo, mut hi) = (
                        Point::new(f64::INFINITY, f64::INFINITY),
                        Point::new(f64::NEG_INFINITY, f64::NEG_INFINITY),
                    );
                    for c in &centers {
                        lo = Point::new(lo.x.min(c.x), lo.y.min(c.y));
                        hi = Point::new(hi.x.max(c.x), hi.y.max(c.y));
                    }
                    assert_eq!(bounds(&centers), (lo, hi), "{centers:?}");
                }
            }
        }
    }

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

    /// `expected` for each point.
    fn expected_for_each(
        polygons: &[Polygon],
        points: &[Point],
        max_dist: f64,
    ) -> Vec<Option<usize>> {
        points
            .iter()
            .map(|&p| expected(polygons, p, max_dist))
            .collect()
    }

    #[test]
    fn brute_force_and_grid_follow_v1s_rule() {
        let (polygons, points) = workload();
        let candidates = Candidates::from_polygons(&polygons);
        for max_dist in [0.0, 0.5, 3.0, 10.0, 50.0, 1e300] {
            let grid = Grid::new(&candidates, max_dist);
            let want = expected_for_each(&polygons, &points, max_dist);
            let brute: Vec<_> = points
                .iter()
                .map(|&p| candidates.best_match(p, max_dist))
                .collect();
            assert_eq!(brute, want, "brute force, max_dist {max_dist}");
            assert_eq!(
                candidates.best_matches(&points, max_dist),
                want,
                "brute force, all points at once, max_dist {max_dist}"
            );
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

    /// The workload's 400 centers in 100 x 100, and one far outlier.
    fn with_outlier(outlier: Point) -> Candidates {
        let (polygons, _) = workload();
        let mut centers: Vec<Point> = polygons.iter().map(Polygon::center).collect();
        let mut areas: Vec<f64> = polygons.iter().map(Polygon::area).collect();
        centers.push(outlier);
        areas.push(1e6);
        Candidates::from_parts(centers, areas).unwrap()
    }

    #[test]
    fn a_far_outlier_keeps_the_cells_max_dist_wide_in_linear_memory() {
        for outlier in [1e12, -1e15, 1e15] {
            let candidates = with_outlier(Point::new(outlier, outlier));
            for cells_per_max_dist in 1..=3 {
                for buckets_per_candidate in [1, 2, 4, 8] {
                    let layout = GridLayout {
                        cells_per_max_dist,
                        buckets_per_candidate,
                        ..GridLayout::DEFAULT
                    };
                    let grid = Grid::with_layout(&candidates, 10.0, layout);
                    let buckets =
                        (buckets_per_candidate as usize * candidates.len()).next_power_of_two();
                    assert_eq!(grid.starts.len(), buckets + 1, "{outlier} {layout:?}");
                    // The slack: 2^-48 of the extent, 2.8e-3 to 7.1 of max_dist 10.
                    let widest = (10.0 + 3e15 / 2f64.powi(48)) / f64::from(cells_per_max_dist);
                    assert!(grid.cell <= widest, "{outlier} {layout:?}: {}", grid.cell);
                    let near = Point::new(outlier + 4.0, outlier - 4.0);
                    assert_eq!(grid.best_match(near), Some(400), "{outlier} {layout:?}");
                    assert_eq!(grid.best_match(Point::new(outlier + 20.0, outlier)), None);
                }
            }
        }
        // Without the outlier, the centers' 11 x 11 cells fit in the buckets: dense.
        let (polygons, _) = workload();
        let grid = Grid::new(&Candidates::from_polygons(&polygons), 10.0);
        assert!(
            matches!(grid.rows, RowOffsets::Dense { columns: 11 }),
            "{:?}",
            grid.rows
        );
        assert!(grid.cell <= 10.0 * (1.0 + 1.0 / 65536.0));
    }

    #[test]
    fn tiny_max_dist_over_a_wide_extent() {
        let candidates = Candidates::from_parts(
            vec![Point::new(0.0, 0.0), Point::new(1e9, 1e9)],
            vec![1.0, 2.0],
        )
        .unwrap();
        let grid = Grid::new(&candidates, 1e-6);
        assert!(grid.starts.len() <= 5);
        assert_eq!(grid.best_match(Point::new(1e9, 1e9)), Some(1));
        assert_eq!(grid.best_match(Point::new(1e9 + 1.0, 1e9)), None);
        assert_eq!(grid.best_match(Point::new(0.0, 5e-7)), Some(0));
    }

    #[test]
    fn the_grid_gives_back_its_candidates_and_max_dist() {
        let (polygons, _) = workload();
        let candidates = with_outlier(Point::new(-3e12, 7.0));
        for max_dist in [10.0, 0.0, f64::NAN, f64::INFINITY, 1e-300] {
            let grid = Grid::new(&candidates, max_dist);
            assert_eq!(grid.candidates(), candidates);
            assert_eq!(grid.max_dist().to_bits(), max_dist.to_bits());
        }
        assert_eq!(
            Grid::new(&Candidates::from_polygons(&polygons[..0]), 1.0).candidates(),
            Candidates::from_polygons(&polygons[..0])
        );
    }

    /// Every layout the benches compare.
    fn every_layout() -> impl Iterator<Item = GridLayout> {
        (1..=3).flat_map(|cells_per_max_dist| {
            [1, 2, 4, 8]
                .into_iter()
                .flat_map(move |buckets_per_candidate| {
                    [(false, false), (true, false), (true, true)].map(
                        |(early_exit, neighbourhood_lists)| GridLayout {
                            cells_per_max_dist,
                            buckets_per_candidate,
                            early_exit,
                            neighbourhood_lists,
                        },
                    )
                })
        })
    }

    #[test]
    fn every_layout_follows_v1s_rule() {
        let (polygons, points) = workload();
        let candidates = Candidates::from_polygons(&polygons);
        for max_dist in [0.5, 3.0, 10.0, 50.0] {
            let want = expected_for_each(&polygons, &points, max_dist);
            for layout in every_layout() {
                let grid = Grid::with_layout(&candidates, max_dist, layout);
                assert_eq!(grid.best_matches(&points), want, "{max_dist} {layout:?}");
            }
        }
    }

    /// 2^exponent, exactly, subnormals included (`powi` loses them).
    fn power_of_two(exponent: i32) -> f64 {
        if exponent >= -1022 {
            f64::from_bits(((exponent + 1023) as u64) << 52)
        } else {
            f64::from_bits(1 << (exponent + 1074))
        }
    }

    /// The rule the whole ladder is built on, at every scale from the subnormals to near
    /// overflow: a center exactly `max_dist` away is not close, one a float nearer is.
    /// The distances are exact (along an axis, or 3-4-5 scaled by a power of two), so the
    /// answers are known without computing any distance.
    #[test]
    fn a_center_exactly_max_dist_away_is_not_close() {
        // Center (0, 0) wherever the points are.
        let polygons = [square(-1.0, -1.0, 2.0)];
        let candidates = Candidates::from_polygons(&polygons);
        for exponent in [
            -1070, -1000, -600, -300, -160, -150, -60, -1, 0, 1, 60, 150, 160, 300, 600, 1000, 1020,
        ] {
            let unit = power_of_two(exponent);
            let five = 5.0 * unit;
            let mut cases = Vec::new();
            for point in [
                Point::new(five, 0.0),
                Point::new(0.0, -five),
                Point::new(-3.0 * unit, 4.0 * unit),
                Point::new(3.0 * unit, -4.0 * unit),
            ] {
                // max_dist a float below the distance, the distance, a float above.
                cases.extend([
                    (point, five.next_down(), false),
                    (point, five, false),
                    (point, five.next_up(), true),
                ]);
            }
            // The point a float inside or outside, max_dist the exact distance.
            cases.extend([
                (Point::new(five.next_down(), 0.0), five, true),
                (Point::new(five.next_up(), 0.0), five, false),
                (Point::new(0.0, -five.next_down()), five, true),
                (Point::new(0.0, -five.next_up()), five, false),
            ]);
            for (point, max_dist, close) in cases {
                let want = close.then_some(0);
                let what = format!("{point:?} max_dist {max_dist:e}");
                assert_eq!(candidates.best_match(point, max_dist), want, "{what}");
                assert_eq!(
                    candidates.best_matches(&[point], max_dist),
                    [want],
                    "{what}"
                );
                for layout in every_layout() {
                    let grid = Grid::with_layout(&candidates, max_dist, layout);
                    assert_eq!(grid.best_match(point), want, "{what} {layout:?}");
                }
            }
        }
    }

    /// Two candidates 100 apart and `max_dist` 10 make a hashed grid with very few
    /// buckets, where one row of cells within reach covers every bucket, some twice.
    #[test]
    fn a_row_of_cells_wider_than_all_the_buckets() {
        let polygons = [square(-1.0, -1.0, 2.0), square(99.5, -0.5, 1.0)];
        let candidates = Candidates::from_polygons(&polygons);
        for layout in every_layout() {
            let grid = Grid::with_layout(&candidates, 10.0, layout);
            assert!(grid.starts.len() <= 17, "{layout:?}: {}", grid.starts.len());
            for x in [-25.0, -9.0, 0.0, 5.0, 50.0, 91.0, 95.0, 100.0, 109.0, 125.0] {
                let point = Point::new(x, 3.0);
                assert_eq!(
                    grid.best_match(point),
                    expected(&polygons, point, 10.0),
                    "{point:?} {layout:?}"
                );
            }
        }
    }

    /// A dense grid gives each cell of the centers' extent a bucket of its own: no query
    /// scans a center it did not ask for.
    #[test]
    fn a_dense_grid_gives_every_cell_its_own_bucket() {
        // 3 x 3 cells (9 buckets needed, 32 allowed), and the workload's 11 x 11.
        let block: Vec<Point> = (0..9)
            .map(|i| Point::new(f64::from(i % 3) * 1.1, f64::from(i / 3) * 1.1))
            .collect();
        let block = Candidates::from_parts(block, vec![1.0; 9]).unwrap();
        let (polygons, _) = workload();
        let scattered = Candidates::from_polygons(&polygons);
        for (candidates, max_dist, cells) in [(&block, 1.0, 9), (&scattered, 10.0, 121)] {
            let grid = Grid::new(candidates, max_dist);
            let (last_column, last_row) = grid.last_cell;
            assert!(
                matches!(grid.rows, RowOffsets::Dense { columns } if columns == last_column as u64 + 1),
                "{:?}",
                grid.rows
            );
            let buckets: std::collections::HashSet<usize> = (0..=last_row)
                .flat_map(|row| (0..=last_column).map(move |column| (column, row)))
                .map(|(column, row)| grid.bucket(column, row))
                .collect();
            assert_eq!(buckets.len(), cells);
        }
    }

    /// A hashed grid spreads consecutive rows over the buckets (Fibonacci hashing), near
    /// the origin and far from it: the cells around a point do not pile into one bucket.
    #[test]
    fn a_hashed_grid_spreads_consecutive_rows() {
        let candidates = with_outlier(Point::new(1e12, 1e12));
        let grid = Grid::new(&candidates, 10.0);
        assert!(
            matches!(grid.rows, RowOffsets::Hashed { bits } if 1 << bits == grid.mask + 1),
            "{:?}",
            grid.rows
        );
        for first in [-3, 0, 7, 99_999_999_990] {
            let offsets: std::collections::HashSet<u64> = (first..first + 16)
                .map(|row| grid.rows.of(row) & grid.mask)
                .collect();
            assert_eq!(offsets.len(), 16, "rows from {first}");
        }
    }

    /// A hashed grid's row tables, against a count made here: per row slot (the row
    /// modulo the number of slots), the first and last column holding a center; per
    /// slot, a bit set where a row within reach holds one.
    #[test]
    fn a_hashed_grids_row_tables_hold_what_its_rows_hold() {
        let candidates = with_outlier(Point::new(3e6, -2e6));
        for cells_per_max_dist in 1..=3 {
            let layout = GridLayout {
                cells_per_max_dist,
                ..GridLayout::DEFAULT
            };
            let grid = Grid::with_layout(&candidates, 10.0, layout);
            assert!(matches!(grid.rows, RowOffsets::Hashed { .. }));
            let slots = grid.row_columns.len();
            assert_eq!(slots, 512);
            let slot_of = |row: i64| row.rem_euclid(slots as i64) as usize;
            let mut want = vec![(i64::MAX, i64::MIN); slots];
            for &center in candidates.centers() {
                let (column, row) = grid.cell_coordinates(center);
                let (first, last) = want[slot_of(row)];
                want[slot_of(row)] = (first.min(column), last.max(column));
            }
            assert_eq!(grid.row_columns, want, "{layout:?}");
            let reach = i64::from(cells_per_max_dist);
            let in_reach = |slot: i64| {
                (slot - reach..=slot + reach).any(|row| want[slot_of(row)].0 != i64::MAX)
            };
            let bits: Vec<u64> = (0..slots as i64 / 64)
                .map(|word| {
                    (0..64)
                        .filter(|bit| in_reach(word * 64 + bit))
                        .map(|bit| 1u64 << bit)
                        .sum()
                })
                .collect();
            assert_eq!(grid.rows_in_reach, bits, "{layout:?}");
        }
    }

    /// The cell width `cell_width`'s comment promises: `(max_dist + slack) / c` with
    /// `slack = max(2^-16 max_dist, 2^-48 span)` and `span = extent + 2 max_dist`, in
    /// both regimes; infinite below `SMALLEST_MAX_DIST` (its edge included in the
    /// finite side) and for NaN or non-positive `max_dist`.
    #[test]
    fn cells_are_max_dist_wide_plus_the_promised_slack() {
        for (max_dist, extent) in [
            (10.0, 0.0),
            (10.0, 100.0),
            (10.0, 1e15),
            (1e-6, 1.0),
            (1e-12, 0.0),
            (1e-12, 1.0),
            (3.0, 2f64.powi(40) * 3.0),
            (Grid::SMALLEST_MAX_DIST, 0.0),
        ] {
            for c in 1..=3 {
                let span = extent + 2.0 * max_dist;
                let slack = (max_dist / 2f64.powi(16)).max(span / 2f64.powi(48));
                assert_eq!(
                    Grid::cell_width(max_dist, extent, c),
                    (max_dist + slack) / f64::from(c),
                    "{max_dist:e} {extent:e} {c}"
                );
            }
        }
        let below_smallest = Grid::SMALLEST_MAX_DIST.next_down();
        for max_dist in [below_smallest, 1e-300, 0.0, -1.0, f64::NAN] {
            assert_eq!(
                Grid::cell_width(max_dist, 1.0, 1),
                f64::INFINITY,
                "{max_dist:e}"
            );
        }
        // A grid measures the extent of its centers on the wider axis (here far beyond
        // 2^32 max_dist, where the extent sets the slack).
        let (polygons, _) = workload();
        let top_right = polygons
            .iter()
            .fold(Point::new(f64::MIN, f64::MIN), |hi, p| {
                Point::new(hi.x.max(p.center().x), hi.y.max(p.center().y))
            });
        for (outlier, extent) in [
            (Point::new(-3e12, 5e7), top_right.x + 3e12),
            (Point::new(5e7, -3e12), top_right.y + 3e12),
        ] {
            let grid = Grid::new(&with_outlier(outlier), 10.0);
            assert_eq!(grid.cell, Grid::cell_width(10.0, extent, 1), "{outlier:?}");
        }
    }

    #[test]
    fn a_layout_of_zeros_counts_as_ones() {
        let (polygons, points) = workload();
        let candidates = Candidates::from_polygons(&polygons);
        let ones = GridLayout {
            cells_per_max_dist: 1,
            buckets_per_candidate: 1,
            ..GridLayout::DEFAULT
        };
        let zeros = GridLayout {
            cells_per_max_dist: 0,
            buckets_per_candidate: 0,
            ..ones
        };
        let grid = Grid::with_layout(&candidates, 3.0, zeros);
        assert_eq!(grid.layout, ones);
        let want = expected_for_each(&polygons, &points, 3.0);
        assert_eq!(grid.best_matches(&points), want);
    }

    /// Enough candidates and points for `best_matches` to answer the points in the order
    /// of their cells, on the threads: the answers still come back in input order. With
    /// as many buckets as points and with more (so that neighbouring buckets share a
    /// key): half the points, and a hashed grid (a far outlier that no point is near).
    #[test]
    fn points_answered_in_cell_order_come_back_in_input_order() {
        let mut state = 99u64;
        let mut next = move |bound: f64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64 * bound).floor()
        };
        let n = 2 * Grid::MIN_CANDIDATES_FOR_CELL_ORDER;
        let mut centers: Vec<Point> = (0..n)
            .map(|_| Point::new(next(300.0) + 0.5, next(300.0) + 0.25))
            .collect();
        // Few distinct areas: most choices are decided by the input index.
        let mut areas: Vec<f64> = (0..n).map(|_| next(4.0)).collect();
        let points: Vec<Point> = (0..2 * Grid::MIN_POINTS_FOR_THREADS)
            .map(|_| Point::new(next(340.0) - 20.0, next(340.0) - 20.0))
            .collect();
        let max_dist = 6.0;
        let want: Vec<Option<usize>> = points
            .iter()
            .map(|&p| {
                (0..n)
                    .filter(|&k| (centers[k].x - p.x).hypot(centers[k].y - p.y) < max_dist)
                    .min_by(|&a, &b| areas[a].total_cmp(&areas[b]).then(a.cmp(&b)))
            })
            .collect();
        assert!(want.iter().any(Option::is_none) && want.iter().any(Option::is_some));
        let candidates = Candidates::from_parts(centers.clone(), areas.clone()).unwrap();
        centers.push(Point::new(1e12, -1e12));
        areas.push(0.0);
        let and_far = Candidates::from_parts(centers, areas).unwrap();
        let half = Grid::MIN_POINTS_FOR_THREADS;
        for (candidates, layout) in [
            (&candidates, GridLayout::DEFAULT),
            (&candidates, GridLayout::MANY_QUERIES),
            (&and_far, GridLayout::DEFAULT),
        ] {
            let grid = Grid::with_layout(candidates, max_dist, layout);
            let hashed = matches!(grid.rows, RowOffsets::Hashed { .. });
            assert_eq!(hashed, candidates.len() > n, "{:?}", grid.rows);
            assert_eq!(
                grid.best_matches(&points),
                want,
                "{layout:?} hashed {hashed}"
            );
            assert_eq!(
                grid.best_matches(&points[..half]),
                want[..half],
                "{layout:?} hashed {hashed}, half the points"
            );
        }
    }

    /// No points, no answers, from a small grid and from one large enough that many
    /// points would be answered in the order of their cells.
    #[test]
    fn no_points_get_no_answers() {
        let (polygons, _) = workload();
        let small = Candidates::from_polygons(&polygons);
        let n = 2 * Grid::MIN_CANDIDATES_FOR_CELL_ORDER;
        let large = Candidates::from_parts(
            (0..n)
                .map(|i| Point::new((i % 64) as f64 * 3.0, (i / 64) as f64 * 3.0))
                .collect(),
            vec![1.0; n],
        )
        .unwrap();
        for candidates in [&small, &large] {
            for layout in [GridLayout::DEFAULT, GridLayout::MANY_QUERIES] {
                let grid = Grid::with_layout(candidates, 6.0, layout);
                assert_eq!(grid.best_matches(&[]), [], "{} {layout:?}", grid.len());
            }
        }
    }

    /// An index's lists, against lists gathered here: for every cell within reach of the
    /// centers' grid, the input indices of the centers at most `c` cells away on both
    /// axes, by area, then input index. A hashed grid has none (it scans its cells), nor
    /// does a grid of the default layout.
    #[test]
    fn neighbourhood_lists_hold_the_candidates_within_reach_by_area() {
        let (polygons, _) = workload();
        let candidates = Candidates::from_polygons(&polygons);
        let areas = candidates.areas();
        for cells_per_max_dist in 1..=3 {
            let layout = GridLayout {
                cells_per_max_dist,
                ..GridLayout::MANY_QUERIES
            };
            let grid = Grid::with_layout(&candidates, 10.0, layout);
            let lists = grid.neighbourhoods.as_ref().expect("a dense grid's lists");
            let reach = i64::from(cells_per_max_dist);
            let cells: Vec<(i64, i64)> = candidates
                .centers()
                .iter()
                .map(|&center| grid.cell_coordinates(center))
                .collect();
            let (last_column, last_row) = grid.last_cell;
            for row in -reach..=last_row + reach {
                for column in -reach..=last_column + reach {
                    let mut want: Vec<usize> = (0..candidates.len())
                        .filter(|&k| {
                            (cells[k].0 - column).abs() <= reach
                                && (cells[k].1 - row).abs() <= reach
                        })
                        .collect();
                    want.sort_by(|&a, &b| areas[a].total_cmp(&areas[b]).then(a.cmp(&b)));
                    let got: Vec<usize> = lists
                        .around(column, row)
                        .iter()
                        .map(|&at| grid.entries[at as usize].index)
                        .collect();
                    assert_eq!(got, want, "cell ({column}, {row}) {layout:?}");
                }
            }
        }
        let far = with_outlier(Point::new(1e12, 1e12));
        let hashed = Grid::with_layout(&far, 10.0, GridLayout::MANY_QUERIES);
        assert!(matches!(hashed.rows, RowOffsets::Hashed { .. }));
        assert!(hashed.neighbourhoods.is_none());
        assert!(Grid::new(&candidates, 10.0).neighbourhoods.is_none());
    }

    /// Enough points for `best_matches` to hand them to the threads.
    #[test]
    fn many_points_are_matched_on_the_threads_as_one_by_one() {
        let (polygons, _) = workload();
        let candidates = Candidates::from_polygons(&polygons);
        let points: Vec<Point> = (0..2 * Grid::MIN_POINTS_FOR_THREADS)
            .map(|i| Point::new((i % 97) as f64 * 1.3 - 10.0, (i % 89) as f64 * 1.4 - 10.0))
            .collect();
        let grid = Grid::new(&candidates, 10.0);
        let want = expected_for_each(&polygons, &points, 10.0);
        assert_eq!(grid.best_matches(&points), want);
    }

    /// One pool per process (a forked child builds its own): not one per call.
    #[test]
    fn the_thread_pool_is_built_once() {
        let first = thread_pool().expect("a thread pool");
        let second = thread_pool().expect("a thread pool");
        assert!(Arc::ptr_eq(&first, &second));
    }

    #[test]
    fn candidates_and_grids_give_back_their_parts() {
        let centers = vec![
            Point::new(1.0, 2.0),
            Point::new(-3.0, 4.5),
            Point::new(0.25, -8.0),
        ];
        let areas = vec![0.5, 7.0, 2.0];
        let candidates = Candidates::from_parts(centers.clone(), areas.clone()).unwrap();
        assert_eq!(
            (candidates.centers(), candidates.areas()),
            (&centers[..], &areas[..])
        );
        assert_eq!((candidates.len(), candidates.is_empty()), (3, false));
        let grid = Grid::new(&candidates, 1.0);
        assert_eq!((grid.len(), grid.is_empty()), (3, false));
        let nothing = Candidates::from_parts(Vec::new(), Vec::new()).unwrap();
        assert_eq!((nothing.len(), nothing.is_empty()), (0, true));
        let grid = Grid::new(&nothing, 1.0);
        assert_eq!((grid.len(), grid.is_empty()), (0, true));
        assert_eq!(grid.best_matches(&[Point::new(0.0, 0.0)]), [None]);
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
    fn the_grid_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Grid>();
    }

    #[test]
    fn error_messages_name_the_argument() {
        let mismatch = MatchError::LengthMismatch {
            centers: 3,
            areas: 2,
        };
        assert_eq!(
            mismatch.to_string(),
            "centers and areas must describe the same polygons, got 3 centers and 2 areas"
        );
        let non_finite = MatchError::NonFinite {
            what: "areas",
            index: 4,
        };
        assert_eq!(
            non_finite.to_string(),
            "areas[4] is not finite (NaN or infinity)"
        );
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
