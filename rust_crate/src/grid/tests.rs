use super::*;
use crate::candidates::tests::{expected, expected_for_each, square, workload};
use crate::geometry::Polygon;

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

#[test]
fn the_grid_follows_v1s_rule() {
    let (polygons, points) = workload();
    let candidates = Candidates::from_polygons(&polygons);
    for max_dist in [0.0, 0.5, 3.0, 10.0, 50.0, 1e300] {
        let grid = Grid::new(&candidates, max_dist);
        let want = expected_for_each(&polygons, &points, max_dist);
        assert_eq!(
            grid.best_matches(&points),
            want,
            "grid, max_dist {max_dist}"
        );
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
        let in_reach =
            |slot: i64| (slot - reach..=slot + reach).any(|row| want[slot_of(row)].0 != i64::MAX);
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
                        (cells[k].0 - column).abs() <= reach && (cells[k].1 - row).abs() <= reach
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
