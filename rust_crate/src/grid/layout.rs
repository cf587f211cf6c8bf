//! How a grid lays out its cells and scans them.

/// How a [`Grid`](super::Grid) lays out its cells and scans them.
/// [`Grid::new`](super::Grid::new) takes [`GridLayout::DEFAULT`]; the benches
/// (`benches/grid.rs`) sweep the others.
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
