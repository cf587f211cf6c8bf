//! Differential property test of the matching core: `Grid::best_match` and
//! `Grid::best_matches` must answer exactly what the brute force
//! `Candidates::best_match` answers, for every point, and (for a moderate
//! `max_dist`) both must agree with a tiny reference written here.
//!
//! The rule: among the centers strictly closer than `max_dist` to the point, the
//! one with the smallest area, the first in input order on ties. The reference
//! below tests "closer" as `dx * dx + dy * dy < max_dist * max_dist`, which is
//! only trustworthy while `max_dist * max_dist` neither overflows nor underflows:
//! it is compared for `max_dist` in [1e-3, 1e6] (where only points far beyond
//! any center, at 1e300 or infinite, overflow `dx * dx`, and then correctly
//! match nothing). Over `max_dist` from 1e-300 to 1e300 (and 0, negative, NaN,
//! infinite) the grid is compared with the brute force only.
//!
//! The generators go for the grid's weak spots: a common offset of up to 1e15 on
//! every coordinate; centers and points on multiples of `max_dist * 2^j` from the
//! smallest center coordinate (the grid's origin; its cells are `max_dist / c` wide
//! plus a rounding margin of 2^-16 or more), and up to three ulps either side; points
//! exactly `max_dist` from a center along an axis, and a few ulps inside or outside;
//! duplicate centers and tied areas (including 0.0 against -0.0); one far outlier
//! center (1e9 to 1e15 away) that makes the grid sparse (hashed) and its cell indices
//! large; clusters of centers next to such an outlier, where the indices are largest;
//! every `GridLayout` the benches compare.
//!
//! Cases per property: 1024 in a debug build, 4096 in a release build; the
//! `PROPTEST_CASES` environment variable overrides both for a longer hunt.
//! Failures are saved as seeds in `proptest-regressions/grid_vs_brute_force.txt`
//! (committed, as proptest recommends), and replayed before any new case. The
//! last tests in this file pin the counterexamples found, reduced by hand.

use poly_match_rs::{Candidates, Grid, GridLayout, Point};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestCaseError};

/// Up to this many candidates and this many points per case.
const MAX_LEN: usize = 300;

fn cases() -> u32 {
    let default = if cfg!(debug_assertions) { 1024 } else { 4096 };
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------
// Floats
// ---------------------------------------------------------------------------

/// `x` moved by `ulps` floats (up when positive, down when negative).
fn nudge(x: f64, ulps: i8) -> f64 {
    (0..ulps.unsigned_abs()).fold(x, |x, _| if ulps > 0 { x.next_up() } else { x.next_down() })
}

/// A small number of ulps, mostly none.
fn ulps() -> impl Strategy<Value = i8> {
    prop_oneof![3 => Just(0i8), 2 => prop_oneof![Just(-1i8), Just(1i8)], 1 => -3i8..=3]
}

// ---------------------------------------------------------------------------
// What a case is made of
// ---------------------------------------------------------------------------

/// How far the centers reach from the anchor on each axis, in units of `max_dist`:
/// lattice coordinates run over `-2..=spread + 2`. A small spread (or a single row)
/// fits the grid's buckets densely, a wide one makes it hashed; either way the cells
/// stay about `max_dist` wide, where rounding has little room.
#[derive(Clone, Copy, Debug)]
struct Spread {
    x: u16,
    y: u16,
}

impl Spread {
    /// A lattice coordinate for a raw `k`, in `-margin..=spread + margin`.
    fn lattice(spread: u16, margin: u16, k: u16) -> f64 {
        f64::from(k % (spread + 2 * margin + 1)) - f64::from(margin)
    }

    /// A coordinate for a raw `f` in [0, 1), in `[-margin, spread + margin]`.
    fn scattered(spread: u16, margin: u16, f: f64) -> f64 {
        f * f64::from(spread + 2 * margin) - f64::from(margin)
    }
}

/// Where a center goes, relative to the case's anchor (offset) and `max_dist`.
#[derive(Clone, Debug)]
enum CenterSpec {
    /// `anchor + k * max_dist` on each axis (k from the raw `kx`, `ky` and the
    /// spread), then nudged by a few ulps.
    Lattice { kx: u16, ky: u16, ux: i8, uy: i8 },
    /// `anchor + f * max_dist` on each axis, anywhere within the spread.
    Scattered { fx: f64, fy: f64 },
    /// Exactly the same center as an earlier one (index taken modulo).
    Duplicate(usize),
}

/// A center's area.
#[derive(Clone, Debug)]
enum AreaSpec {
    /// One of a handful of values, so that ties are common.
    Few(u8),
    Any(f64),
    /// The same area as another center (index taken modulo).
    SameAs(usize),
}

/// One far outlier center: `anchor + distance * (dx, dy)`, inserted at `position`.
#[derive(Clone, Debug)]
struct Outlier {
    distance: f64,
    dx: i8,
    dy: i8,
    position: usize,
    area: f64,
}

#[derive(Clone, Copy, Debug)]
enum Axis {
    X,
    Y,
}

/// Where a query point goes, once the centers are known.
#[derive(Clone, Debug)]
enum PointSpec {
    /// `min + k * (max_dist * 2^j)` on each axis, `min` being the smallest center
    /// coordinate (the grid's origin): within the rounding margin of a cell boundary
    /// for cells `max_dist * 2^j` wide (k from the raw `kx`, `ky` and the spread).
    /// Then nudged by a few ulps.
    Boundary {
        kx: u16,
        ky: u16,
        j: u8,
        ux: i8,
        uy: i8,
    },
    /// Exactly `max_dist` from a center along one axis, then nudged; the other
    /// coordinate is the center's, or `shift * max_dist` off it.
    AxisEdge {
        center: usize,
        axis: Axis,
        negative: bool,
        ulps: i8,
        shift: f64,
    },
    /// `center + f * max_dist` on each axis.
    NearCenter { center: usize, fx: f64, fy: f64 },
    /// Exactly on a center.
    AtCenter(usize),
    /// `anchor + f * max_dist` on each axis, like a scattered center but reaching
    /// a little further.
    Scattered { fx: f64, fy: f64 },
    /// Anywhere, far away or not finite.
    Wild(f64, f64),
}

#[derive(Clone, Debug)]
struct CaseSpec {
    max_dist: f64,
    anchor: Point,
    spread: Spread,
    centers: Vec<(CenterSpec, AreaSpec)>,
    outlier: Option<Outlier>,
    points: Vec<PointSpec>,
}

/// The concrete candidates and points a `CaseSpec` describes.
#[derive(Debug)]
struct Case {
    max_dist: f64,
    centers: Vec<Point>,
    areas: Vec<f64>,
    points: Vec<Point>,
}

impl CaseSpec {
    fn build(&self) -> Case {
        // Positions are laid out in units of max_dist, or of 1 when max_dist is zero,
        // negative, NaN or infinite (the grid still gets the real max_dist).
        let md = if self.max_dist.is_finite() && self.max_dist > 0.0 {
            self.max_dist
        } else {
            1.0
        };
        let a = self.anchor;
        let Spread { x: sx, y: sy } = self.spread;
        let mut centers: Vec<Point> = Vec::with_capacity(self.centers.len() + 1);
        for (spec, _) in &self.centers {
            let center = match *spec {
                CenterSpec::Lattice { kx, ky, ux, uy } => Point::new(
                    nudge(a.x + Spread::lattice(sx, 2, kx) * md, ux),
                    nudge(a.y + Spread::lattice(sy, 2, ky) * md, uy),
                ),
                CenterSpec::Scattered { fx, fy } => Point::new(
                    a.x + Spread::scattered(sx, 2, fx) * md,
                    a.y + Spread::scattered(sy, 2, fy) * md,
                ),
                CenterSpec::Duplicate(i) if !centers.is_empty() => centers[i % centers.len()],
                CenterSpec::Duplicate(_) => a,
            };
            centers.push(center);
        }
        let mut areas: Vec<f64> = Vec::with_capacity(self.centers.len() + 1);
        for (i, (_, spec)) in self.centers.iter().enumerate() {
            let area = match *spec {
                AreaSpec::Few(k) => [1.0, 2.0, 3.0, 0.0, -0.0][usize::from(k) % 5],
                AreaSpec::Any(area) => area,
                AreaSpec::SameAs(j) if i > 0 => areas[j % i],
                AreaSpec::SameAs(_) => 1.0,
            };
            areas.push(area);
        }
        if let Some(outlier) = &self.outlier {
            let center = Point::new(
                a.x + f64::from(outlier.dx) * outlier.distance,
                a.y + f64::from(outlier.dy) * outlier.distance,
            );
            let position = outlier.position % (centers.len() + 1);
            centers.insert(position, center);
            areas.insert(position, outlier.area);
        }

        let min = centers
            .iter()
            .fold(Point::new(f64::INFINITY, f64::INFINITY), |lo, c| {
                Point::new(lo.x.min(c.x), lo.y.min(c.y))
            });
        let min = if centers.is_empty() { a } else { min };
        let center = |i: usize| {
            if centers.is_empty() {
                a
            } else {
                centers[i % centers.len()]
            }
        };
        let points = self
            .points
            .iter()
            .map(|spec| match *spec {
                PointSpec::Boundary { kx, ky, j, ux, uy } => {
                    let cell = md * 2f64.powi(i32::from(j));
                    Point::new(
                        nudge(min.x + Spread::lattice(sx, 3, kx) * cell, ux),
                        nudge(min.y + Spread::lattice(sy, 3, ky) * cell, uy),
                    )
                }
                PointSpec::AxisEdge {
                    center: i,
                    axis,
                    negative,
                    ulps,
                    shift,
                } => {
                    let c = center(i);
                    let along = |v: f64| nudge(if negative { v - md } else { v + md }, ulps);
                    match axis {
                        Axis::X => Point::new(along(c.x), c.y + shift * md),
                        Axis::Y => Point::new(c.x + shift * md, along(c.y)),
                    }
                }
                PointSpec::NearCenter { center: i, fx, fy } => {
                    let c = center(i);
                    Point::new(c.x + fx * md, c.y + fy * md)
                }
                PointSpec::AtCenter(i) => center(i),
                PointSpec::Scattered { fx, fy } => Point::new(
                    a.x + Spread::scattered(sx, 4, fx) * md,
                    a.y + Spread::scattered(sy, 4, fy) * md,
                ),
                PointSpec::Wild(x, y) => Point::new(x, y),
            })
            .collect();
        Case {
            max_dist: self.max_dist,
            centers,
            areas,
            points,
        }
    }
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// `max_dist` for the comparison with the reference: [1e-3, 1e6].
fn moderate_max_dist() -> impl Strategy<Value = f64> {
    prop_oneof![
        2 => (-3.0f64..=6.0).prop_map(|e| 10f64.powf(e).clamp(1e-3, 1e6)),
        1 => prop::sample::select(vec![
            1e-3, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.1, 3.0, 7.0, 10.0, 100.0 / 3.0, 1e6,
        ]),
    ]
}

/// `max_dist` for grid against brute force: 1e-300 to 1e300, and the edge values.
fn wide_max_dist() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => (-300.0f64..=300.0).prop_map(|e| 10f64.powf(e)),
        2 => moderate_max_dist(),
        2 => prop::sample::select(vec![
            1e-300,
            1e300,
            1e-160, // squares to a subnormal
            1e-170, // squares to zero
            1.5e154, // squares to infinity
            f64::MIN_POSITIVE,
            1e9,
            1e12,
            1e15,
        ]),
        1 => prop::sample::select(vec![0.0, -0.0, -1.0, f64::NAN, f64::INFINITY, 5e-324]),
    ]
}

fn anchor() -> impl Strategy<Value = Point> {
    let coordinate = prop_oneof![
        2 => Just(0.0),
        2 => prop::sample::select(vec![1e15, -1e15, 1e12, -1e12, 1e15 + 0.5, -1e15 - 0.375]),
        3 => -1e15f64..=1e15,
        2 => -1e3f64..=1e3,
        1 => -1.0f64..=1.0,
    ];
    // Mostly one offset on both axes, sometimes a different one on each.
    prop_oneof![
        coordinate.clone().prop_map(|c| Point::new(c, c)),
        (coordinate.clone(), coordinate).prop_map(|(x, y)| Point::new(x, y)),
    ]
}

fn center_spec() -> impl Strategy<Value = CenterSpec> {
    prop_oneof![
        5 => (any::<u16>(), any::<u16>(), ulps(), ulps())
            .prop_map(|(kx, ky, ux, uy)| CenterSpec::Lattice { kx, ky, ux, uy }),
        2 => (0.0f64..1.0, 0.0f64..1.0).prop_map(|(fx, fy)| CenterSpec::Scattered { fx, fy }),
        1 => any::<usize>().prop_map(CenterSpec::Duplicate),
    ]
}

fn area_spec() -> impl Strategy<Value = AreaSpec> {
    prop_oneof![
        3 => any::<u8>().prop_map(AreaSpec::Few),
        2 => (0.0f64..1e6).prop_map(AreaSpec::Any),
        1 => any::<usize>().prop_map(AreaSpec::SameAs),
    ]
}

fn outlier() -> impl Strategy<Value = Outlier> {
    (
        prop::sample::select(vec![1e9, 1e12, 1e15, 3.3e12, 7.7e14]),
        -1i8..=1,
        -1i8..=1,
        any::<usize>(),
        prop_oneof![Just(0.5), Just(1.0), 0.0f64..1e6],
    )
        .prop_map(|(distance, dx, dy, position, area)| Outlier {
            distance,
            dx,
            dy,
            position,
            area,
        })
}

fn point_spec() -> impl Strategy<Value = PointSpec> {
    let wild = prop_oneof![
        4 => -1e16f64..=1e16,
        1 => prop::sample::select(vec![
            0.0,
            1e300,
            -1e300,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ]),
    ];
    prop_oneof![
        4 => (any::<u16>(), any::<u16>(), prop_oneof![3 => Just(0u8), 1 => 0u8..=64], ulps(), ulps())
            .prop_map(|(kx, ky, j, ux, uy)| PointSpec::Boundary { kx, ky, j, ux, uy }),
        4 => (
            any::<usize>(),
            prop_oneof![Just(Axis::X), Just(Axis::Y)],
            any::<bool>(),
            ulps(),
            prop_oneof![3 => Just(0.0), 1 => -1.0f64..1.0],
        )
            .prop_map(|(center, axis, negative, ulps, shift)| PointSpec::AxisEdge {
                center,
                axis,
                negative,
                ulps,
                shift,
            }),
        2 => (any::<usize>(), -1.5f64..1.5, -1.5f64..1.5)
            .prop_map(|(center, fx, fy)| PointSpec::NearCenter { center, fx, fy }),
        1 => any::<usize>().prop_map(PointSpec::AtCenter),
        1 => (0.0f64..1.0, 0.0f64..1.0).prop_map(|(fx, fy)| PointSpec::Scattered { fx, fy }),
        1 => (wild.clone(), wild).prop_map(|(x, y)| PointSpec::Wild(x, y)),
    ]
}

fn spread() -> impl Strategy<Value = Spread> {
    let wide = [0u16, 1, 2, 4, 8, 24];
    prop_oneof![
        // Long and thin: one row (or column) of up to ~200 cells.
        1 => prop::sample::select(vec![24u16, 80, 200]).prop_map(|x| Spread { x, y: 0 }),
        1 => prop::sample::select(vec![24u16, 80, 200]).prop_map(|y| Spread { x: 0, y }),
        3 => (prop::sample::select(wide.to_vec()), prop::sample::select(wide.to_vec()))
            .prop_map(|(x, y)| Spread { x, y }),
    ]
}

fn case_spec(max_dist: impl Strategy<Value = f64>) -> impl Strategy<Value = CaseSpec> {
    // proptest shrinks a tuple's members in order: the points first (while there
    // are many, each step runs a whole case), then the centers, then the rest.
    (
        vec(point_spec(), 0..=MAX_LEN),
        vec((center_spec(), area_spec()), 0..=MAX_LEN),
        option::weighted(0.3, outlier()),
        max_dist,
        anchor(),
        spread(),
    )
        .prop_map(
            |(points, centers, outlier, max_dist, anchor, spread)| CaseSpec {
                max_dist,
                anchor,
                spread,
                centers,
                outlier,
                points,
            },
        )
}

// ---------------------------------------------------------------------------
// The reference and the comparison
// ---------------------------------------------------------------------------

/// The rule written the obvious way, sharing no code with the crate.
fn reference(centers: &[Point], areas: &[f64], point: Point, max_dist: f64) -> Option<usize> {
    let mut best: Option<usize> = None;
    for i in 0..centers.len() {
        let dx = point.x - centers[i].x;
        let dy = point.y - centers[i].y;
        let close = dx * dx + dy * dy < max_dist * max_dist;
        if close && best.is_none_or(|b| areas[i] < areas[b]) {
            best = Some(i);
        }
    }
    best
}

fn describe(case: &Case, answer: Option<usize>) -> String {
    match answer {
        None => "None".to_owned(),
        Some(i) => format!(
            "Some({i}), center {:?} area {:?}",
            case.centers[i], case.areas[i]
        ),
    }
}

/// Two answers that should agree, the point, and every candidate (runs of
/// identical candidates folded into one line).
fn mismatch(case: &Case, point: Point, answers: [(&str, Option<usize>); 2]) -> String {
    let mut text = String::new();
    for (who, answer) in answers {
        text += &format!("\n  {who:<12} {}", describe(case, answer));
    }
    text += &format!(
        "\n  point {point:?}, max_dist {:?}\n  {} candidates:",
        case.max_dist,
        case.centers.len()
    );
    let same = |a: usize, b: usize| {
        case.centers[a] == case.centers[b] && case.areas[a].to_bits() == case.areas[b].to_bits()
    };
    let mut first = 0;
    while first < case.centers.len() {
        let mut last = first;
        while last + 1 < case.centers.len() && same(first, last + 1) {
            last += 1;
        }
        let indices = if last == first {
            format!("{first}")
        } else {
            format!("{first}..={last}")
        };
        text += &format!(
            "\n    {indices}: {:?} area {:?}",
            case.centers[first], case.areas[first]
        );
        first = last + 1;
    }
    text
}

/// Layouts besides the default that benches/grid.rs measures: smaller cells, fewer
/// buckets, the plain scan, the lists per cell of `Index`.
fn other_layouts() -> impl Iterator<Item = GridLayout> {
    [
        (1, 1, false, false),
        (2, 1, true, false),
        (2, 4, false, false),
        (3, 2, true, false),
        (3, 8, false, false),
        (1, 2, true, true),
        (2, 2, true, true),
    ]
    .into_iter()
    .map(
        |(cells_per_max_dist, buckets_per_candidate, early_exit, neighbourhood_lists)| GridLayout {
            cells_per_max_dist,
            buckets_per_candidate,
            early_exit,
            neighbourhood_lists,
        },
    )
}

fn check(case: &Case, with_reference: bool) -> Result<(), TestCaseError> {
    let md = case.max_dist;
    let candidates = Candidates::from_parts(case.centers.clone(), case.areas.clone())
        .expect("the generators make finite centers and areas of equal length");
    let grid = Grid::new(&candidates, md);
    for layout in other_layouts() {
        let answers = Grid::with_layout(&candidates, md, layout).best_matches(&case.points);
        for (&point, got) in case.points.iter().zip(answers) {
            let want = candidates.best_match(point, md);
            prop_assert!(
                got == want,
                "{layout:?} differs from Candidates::best_match:{}",
                mismatch(case, point, [("grid", got), ("brute force", want)])
            );
        }
    }
    let mut brute = Vec::with_capacity(case.points.len());
    for &point in &case.points {
        let want = candidates.best_match(point, md);
        let got = grid.best_match(point);
        prop_assert!(
            got == want,
            "Grid::best_match differs from Candidates::best_match:{}",
            mismatch(case, point, [("grid", got), ("brute force", want)])
        );
        if with_reference {
            let expected = reference(&case.centers, &case.areas, point, md);
            prop_assert!(
                want == expected,
                "Candidates::best_match differs from the reference:{}",
                mismatch(
                    case,
                    point,
                    [("brute force", want), ("reference", expected)]
                )
            );
        }
        brute.push(want);
    }
    prop_assert_eq!(
        &grid.best_matches(&case.points),
        &brute,
        "best_matches differs from best_match point by point"
    );
    // Enough points for best_matches to hand them to rayon's threads.
    if !case.points.is_empty() {
        let many: Vec<Point> = case.points.iter().copied().cycle().take(2100).collect();
        let want: Vec<Option<usize>> = brute.iter().copied().cycle().take(2100).collect();
        prop_assert_eq!(
            grid.best_matches(&many),
            want,
            "best_matches over 2100 points (threaded) differs"
        );
    }
    Ok(())
}

/// A cluster of centers around a point far from the origin (1e12 to 1e15), a few
/// centers near the origin, and points around the cluster's members: the cells near
/// the cluster have the largest indices the grid makes, where rounding is coarsest.
fn far_cluster_case() -> impl Strategy<Value = Case> {
    let member = (-4i8..=4, -4i8..=4, ulps(), ulps(), 0u8..5);
    let point = (
        any::<usize>(),
        -1.5f64..1.5,
        -1.5f64..1.5,
        ulps(),
        any::<bool>(),
    );
    (
        prop::sample::select(vec![1e12, 3.3e12, 1e13, 1e14, 7.7e14, 1e15, 1e15 + 0.5]),
        (-1i8..=1, -1i8..=1),
        prop::sample::select(vec![1e-3, 0.01, 0.1, 0.3, 1.0, 3.0, 10.0]),
        vec(member, 1..=40),
        vec(((0.0f64..100.0, 0.0f64..100.0), 0u8..5), 0..=20),
        vec(point, 1..=100),
    )
        .prop_map(
            |(distance, (dx, dy), max_dist, members, near_origin, points)| {
                let far = Point::new(f64::from(dx) * distance, f64::from(dy) * distance);
                let area = |k: u8| [1.0, 2.0, 3.0, 0.0, -0.0][usize::from(k)];
                let mut centers = Vec::new();
                let mut areas = Vec::new();
                for &((x, y), k) in &near_origin {
                    centers.push(Point::new(x, y));
                    areas.push(area(k));
                }
                let cluster: Vec<Point> = members
                    .iter()
                    .map(|&(kx, ky, ux, uy, _)| {
                        Point::new(
                            nudge(far.x + f64::from(kx) * max_dist * 0.5, ux),
                            nudge(far.y + f64::from(ky) * max_dist * 0.5, uy),
                        )
                    })
                    .collect();
                centers.extend(&cluster);
                areas.extend(members.iter().map(|m| area(m.4)));
                let points = points
                    .iter()
                    .map(|&(i, fx, fy, ulps, on_axis)| {
                        let c = cluster[i % cluster.len()];
                        if on_axis {
                            // Exactly max_dist away along x, then a few ulps either way.
                            Point::new(nudge(c.x + max_dist, ulps), c.y)
                        } else {
                            Point::new(c.x + fx * max_dist, c.y + fy * max_dist)
                        }
                    })
                    .collect();
                Case {
                    max_dist,
                    centers,
                    areas,
                    points,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        // Shrink a failure down to one point and few distinct centers (filler
        // copies of the smallest center stay: fewer candidates make the grid's
        // cells wider); the automatic limit (4 iterations per case) stops long
        // before that. The time limit is in milliseconds.
        max_shrink_iters: 20_000,
        max_shrink_time: 30_000,
        // proptest looks for a lib.rs next to the test to place its regressions file
        // and finds none under tests/: name the file, in the crate's proptest-regressions/.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/grid_vs_brute_force.txt"
        )))),
        ..ProptestConfig::default()
    })]

    /// max_dist in [1e-3, 1e6]: grid, brute force and the reference all agree.
    #[test]
    fn grid_brute_force_and_reference_agree(spec in case_spec(moderate_max_dist())) {
        check(&spec.build(), true)?;
    }

    /// Around a cluster 1e12 to 1e15 from the origin: grid, brute force and the
    /// reference agree.
    #[test]
    fn points_near_a_far_cluster_are_matched_exactly(case in far_cluster_case()) {
        check(&case, true)?;
    }

    /// max_dist from 1e-300 to 1e300 and the edge values: grid and brute force agree.
    #[test]
    fn grid_and_brute_force_agree_for_any_max_dist(spec in case_spec(wide_max_dist())) {
        check(&spec.build(), false)?;
    }
}

// ---------------------------------------------------------------------------
// Counterexamples the properties found, reduced by hand and pinned
// ---------------------------------------------------------------------------

/// Grid, brute force and reference on one point, and the answer worked out by hand.
fn assert_all_answer(centers: &[Point], areas: &[f64], point: Point, max_dist: f64, want: usize) {
    let candidates = Candidates::from_parts(centers.to_vec(), areas.to_vec()).unwrap();
    let grid = Grid::new(&candidates, max_dist);
    assert_eq!(reference(centers, areas, point, max_dist), Some(want));
    assert_eq!(candidates.best_match(point, max_dist), Some(want));
    assert_eq!(grid.best_match(point), Some(want), "Grid::best_match");
    assert_eq!(
        grid.best_matches(&[point]),
        [Some(want)],
        "Grid::best_matches"
    );
}

/// The point (1.0, 0) is 1.0 - 0.9 = 0.09999999999999998 from the center (0.9, 0), closer
/// than max_dist 0.1. The grid's cells are 0.1 wide from x = 0.2, and it puts the center
/// in column floor((0.9 - 0.2) / 0.1) = floor(6.999999999999999) = 6 but the point in
/// column floor((1.0 - 0.2) / 0.1) = floor(8.0) = 8: two columns apart, so its 3 x 3
/// search never looks at the center.
#[test]
fn a_center_closer_than_max_dist_two_columns_away() {
    let centers = [Point::new(0.2, 0.0), Point::new(0.9, 0.0)];
    assert_all_answer(&centers, &[1.0, 1.0], Point::new(1.0, 0.0), 0.1, 1);
}

/// The same along y.
#[test]
fn a_center_closer_than_max_dist_two_rows_away() {
    let centers = [Point::new(0.0, 0.2), Point::new(0.0, 0.9)];
    assert_all_answer(&centers, &[1.0, 1.0], Point::new(0.0, 1.0), 0.1, 1);
}

/// When another center is in reach, the grid does not answer None but the wrong
/// polygon: it misses the smaller one at (0.9, 0) and returns the one at (1.0, 0).
#[test]
fn a_missed_center_makes_the_grid_pick_a_larger_polygon() {
    let centers = [
        Point::new(0.2, 0.0),
        Point::new(0.9, 0.0),
        Point::new(1.0, 0.0),
    ];
    assert_all_answer(&centers, &[5.0, 1.0, 2.0], Point::new(1.0, 0.0), 0.1, 1);
}

/// The property found this with cells max_dist / 3 wide and the margin of the dense grid
/// alone (2^-16 of a cell): the extent is 1e15, so the cell indices near the far centers
/// are about 1e16, and (x - origin) / cell is off by up to 2^-52 * 1e16, about 2 cells,
/// far more than the margin. The point is 0.25 from the centers at 1e15, closer than
/// max_dist 0.3, yet landed more than 3 cells from theirs. The margin now grows with the
/// extent (`Grid::cell_width`).
#[test]
fn a_center_next_to_a_far_outlier_is_found() {
    let centers = [
        Point::new(24.085615636925272, 0.0),
        Point::new(1e15, 0.0),
        Point::new(1e15, 0.0),
    ];
    let point = Point::new(1e15 + 0.25, 0.0);
    assert_all_answer(&centers, &[1.0, 1.0, 1.0], point, 0.3, 1);
    let candidates = Candidates::from_parts(centers.to_vec(), vec![1.0; 3]).unwrap();
    for cells_per_max_dist in 1..=3 {
        for (early_exit, neighbourhood_lists) in [(false, false), (true, false), (true, true)] {
            let layout = GridLayout {
                cells_per_max_dist,
                buckets_per_candidate: 2,
                early_exit,
                neighbourhood_lists,
            };
            let grid = Grid::with_layout(&candidates, 0.3, layout);
            assert_eq!(grid.best_match(point), Some(1), "{layout:?}");
        }
    }
    // max_dist far below the spacing of floats at 1e12 (2^-12): only the center itself.
    let centers = [Point::new(1.0, 1.0), Point::new(1e12, -1e12)];
    assert_all_answer(&centers, &[1.0, 1.0], Point::new(1e12, -1e12), 1e-6, 1);
}
