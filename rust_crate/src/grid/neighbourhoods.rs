//! A dense grid's lists of the candidates within reach of each cell
//! ([`GridLayout::neighbourhood_lists`](super::GridLayout::neighbourhood_lists)).

use std::cmp::Ordering;

use super::{Entry, Grid, RowOffsets};

/// For every cell of a dense grid and the border of cells within reach around it, the
/// positions in `Grid::entries` of the candidates within reach of the cell, sorted by
/// area, then input index.
#[derive(Debug)]
pub(super) struct Neighbourhoods {
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
    pub(super) fn build(grid: &Grid) -> Option<Self> {
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
    pub(super) fn around(&self, column: i64, row: i64) -> &[u32] {
        let cell = ((row + self.reach) * self.columns + column + self.reach) as usize;
        &self.members[self.starts[cell] as usize..self.starts[cell + 1] as usize]
    }
}
