//! The geometry core: points, polygons and the "which polygons are close" search.
//!
//! Pure Rust with no Python in sight, so it can be read, tested and benchmarked
//! with plain cargo. The search is generic over `P: AsRef<Polygon>`: it takes a
//! slice of owned polygons, of references, of boxes, or of any wrapper that can
//! lend a `&Polygon` (the Python bindings pass their pyclass objects this way).

use std::fmt;

/// A point in the plane.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub const fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }

    /// Euclidean distance, with the square root per polygon the original takes. Where the
    /// squared distance underflows into subnormals (losing precision) or overflows,
    /// `hypot`, which scales internally, is exact instead; elsewhere it costs far more
    /// than the square root.
    pub fn distance(self, other: Point) -> f64 {
        let squared = self.distance_squared(other);
        if (Self::SQUARES_EXACTLY_FROM..f64::INFINITY).contains(&squared) {
            squared.sqrt()
        } else {
            (self.x - other.x).hypot(self.y - other.y)
        }
    }

    /// 2^-970: from here up, the larger square is a normal float and whatever the smaller
    /// one lost to underflow is far below half an ulp of the sum.
    const SQUARES_EXACTLY_FROM: f64 = 1.0020841800044864e-292;

    /// Squared Euclidean distance: enough to compare against a squared threshold.
    pub fn distance_squared(self, other: Point) -> f64 {
        #[cfg(feature = "gate-test-slowdown")]
        for _ in 0..4 {
            std::hint::black_box(self);
        }
        let dx = self.x - other.x;
        let dy = self.y - other.y;
        dx * dx + dy * dy
    }
}

/// "Strictly closer than `max_dist`", for one `max_dist`, decided the cheapest way
/// that is exact for it. Loops that test many points are generic over this, so the
/// choice is made once per `max_dist`, not once per polygon: see [`MaxDist`].
pub trait Closeness: Copy + Send + Sync {
    fn is_close(self, a: Point, b: Point) -> bool;
}

/// Compares squared distances: no square root, and as exact as the distance itself
/// while `max_dist` squared is a normal float.
#[derive(Clone, Copy, Debug)]
pub struct SquaredBelow(f64);

impl Closeness for SquaredBelow {
    #[inline]
    fn is_close(self, a: Point, b: Point) -> bool {
        a.distance_squared(b) < self.0
    }
}

/// Compares distances: for a `max_dist` so small that its square underflows (below
/// about 1.5e-154) or so large that it overflows (above about 1.3e154).
#[derive(Clone, Copy, Debug)]
pub struct Below(f64);

impl Closeness for Below {
    #[inline]
    fn is_close(self, a: Point, b: Point) -> bool {
        a.distance(b) < self.0
    }
}

/// A `max_dist` with the comparison that is exact for it. The one distance rule of
/// every rung: a center is close when its distance is strictly less than `max_dist`;
/// nothing is closer than a zero, negative or NaN `max_dist`, and every distance that
/// is a finite float is closer than an infinite one.
#[derive(Clone, Copy, Debug)]
pub enum MaxDist {
    Squared(SquaredBelow),
    Plain(Below),
}

impl MaxDist {
    /// 2^-500 ..= 2^500: squares between 2^-1000 and 2^1000 are normal floats, and a
    /// distance whose square underflows next to them is far below `max_dist` anyway.
    const SQUARES_EXACTLY: std::ops::RangeInclusive<f64> =
        3.054936363499605e-151..=3.273390607896142e150;

    pub fn new(max_dist: f64) -> Self {
        if Self::SQUARES_EXACTLY.contains(&max_dist) {
            Self::Squared(SquaredBelow(max_dist * max_dist))
        } else if max_dist > 0.0 {
            Self::Plain(Below(max_dist))
        } else {
            // Zero, negative or NaN: no squared distance is below 0.
            Self::Squared(SquaredBelow(0.0))
        }
    }
}

/// Runs `$body` with `$closeness` bound to the [`Closeness`] of `$max_dist`: one copy
/// of the loop in `$body` per comparison, so the loops themselves do not branch on it.
macro_rules! with_closeness {
    ($max_dist:expr, |$closeness:ident| $body:expr) => {
        match $max_dist {
            $crate::geometry::MaxDist::Squared($closeness) => $body,
            $crate::geometry::MaxDist::Plain($closeness) => $body,
        }
    };
}
pub(crate) use with_closeness;

/// Why a polygon could not be built.
#[derive(Clone, Debug, PartialEq)]
pub enum GeometryError {
    /// `x` and `y` must describe the same vertices.
    LengthMismatch { x_len: usize, y_len: usize },
    /// A polygon needs at least [`Polygon::MIN_VERTICES`] vertices to have an area.
    TooFewVertices { vertices: usize },
    /// NaN or infinite coordinates have no center or area.
    NonFinite { axis: &'static str, index: usize },
    /// Finite vertices so large that the center or the area overflows.
    Overflow { what: &'static str },
}

impl fmt::Display for GeometryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LengthMismatch { x_len, y_len } => write!(
                f,
                "x and y must have the same length, got {x_len} x values and {y_len} y values"
            ),
            Self::TooFewVertices { vertices } => write!(
                f,
                "a polygon needs at least {} vertices, got {vertices}",
                Polygon::MIN_VERTICES
            ),
            Self::NonFinite { axis, index } => {
                write!(f, "{axis}[{index}] is not finite (NaN or infinity)")
            }
            Self::Overflow { what } => write!(
                f,
                "the polygon's {what} overflows to infinity: its vertices are too large"
            ),
        }
    }
}

impl std::error::Error for GeometryError {}

/// A polygon given by its vertices, with its center and area computed once.
#[derive(Clone, Debug, PartialEq)]
pub struct Polygon {
    x: Vec<f64>,
    y: Vec<f64>,
    center: Point,
    area: f64,
}

impl Polygon {
    pub const MIN_VERTICES: usize = 3;

    /// Builds a polygon from vertex coordinates, rejecting anything that has no
    /// well-defined center and area.
    pub fn new(x: Vec<f64>, y: Vec<f64>) -> Result<Self, GeometryError> {
        if x.len() != y.len() {
            return Err(GeometryError::LengthMismatch {
                x_len: x.len(),
                y_len: y.len(),
            });
        }
        if x.len() < Self::MIN_VERTICES {
            return Err(GeometryError::TooFewVertices { vertices: x.len() });
        }
        for (axis, values) in [("x", &x), ("y", &y)] {
            if let Some(index) = values.iter().position(|v| !v.is_finite()) {
                return Err(GeometryError::NonFinite { axis, index });
            }
        }
        let center = Point::new(mean(&x), mean(&y));
        if !(center.x.is_finite() && center.y.is_finite()) {
            return Err(GeometryError::Overflow { what: "center" });
        }
        let area = shoelace_area(&x, &y);
        if !area.is_finite() {
            return Err(GeometryError::Overflow { what: "area" });
        }
        Ok(Self { x, y, center, area })
    }

    pub fn x(&self) -> &[f64] {
        &self.x
    }

    pub fn y(&self) -> &[f64] {
        &self.y
    }

    /// The mean of the vertices (what the original calls the center; not the
    /// area centroid).
    pub fn center(&self) -> Point {
        self.center
    }

    /// The shoelace area.
    pub fn area(&self) -> f64 {
        self.area
    }
}

/// The shoelace area, in the original's form `0.5 * |x . roll(y, 1) - y . roll(x, 1)|`.
fn shoelace_area(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    let previous = |i: usize| if i == 0 { n - 1 } else { i - 1 };
    let (mut x_dot_rolled_y, mut y_dot_rolled_x) = (0.0, 0.0);
    for i in 0..n {
        x_dot_rolled_y += x[i] * y[previous(i)];
        y_dot_rolled_x += y[i] * x[previous(i)];
    }
    0.5 * (x_dot_rolled_y - y_dot_rolled_x).abs()
}

impl AsRef<Polygon> for Polygon {
    fn as_ref(&self) -> &Polygon {
        self
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The polygons whose center is strictly closer than `max_dist` to `point`, in
/// input order. Compares squared distances where that is exact (no square root per
/// polygon): see `MaxDist`.
pub fn find_close_polygons<P: AsRef<Polygon>>(
    polygons: &[P],
    point: Point,
    max_dist: f64,
) -> Vec<&P> {
    with_closeness!(MaxDist::new(max_dist), |closeness| polygons
        .iter()
        .filter(|polygon| closeness.is_close(polygon.as_ref().center(), point))
        .collect())
}

/// The same search with a distance (a square root) per polygon, as the original's v2 and
/// v3 do it. Kept so the bindings' ladder and the benches can show what that costs: not
/// part of the default API (the `sqrt-distance` feature, which `python` enables).
#[cfg(feature = "sqrt-distance")]
pub fn find_close_polygons_sqrt<P: AsRef<Polygon>>(
    polygons: &[P],
    point: Point,
    max_dist: f64,
) -> Vec<&P> {
    polygons
        .iter()
        .filter(|polygon| polygon.as_ref().center().distance(point) < max_dist)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit_square() -> Polygon {
        Polygon::new(vec![0.0, 1.0, 1.0, 0.0], vec![0.0, 0.0, 1.0, 1.0]).unwrap()
    }

    /// A unit square whose lower-left corner is at (x, y); its center is (x + 0.5, y + 0.5).
    fn square_at(x: f64, y: f64) -> Polygon {
        Polygon::new(vec![x, x + 1.0, x + 1.0, x], vec![y, y, y + 1.0, y + 1.0]).unwrap()
    }

    /// The original's example polygon: a quarter circle sampled every 0.1 along x.
    fn originals_polygon() -> Polygon {
        let x: Vec<f64> = (0..10).map(|i| f64::from(i) * 0.1).collect();
        let y = x.iter().map(|x| (1.0 - x * x).sqrt()).collect();
        Polygon::new(x, y).unwrap()
    }

    #[test]
    fn unit_square_center_and_area() {
        let square = unit_square();
        assert_eq!(square.center(), Point::new(0.5, 0.5));
        assert_eq!(square.area(), 1.0);
    }

    #[test]
    fn a_polygon_keeps_its_vertices() {
        let (x, y) = (vec![0.0, 4.0, 0.5], vec![-1.0, 0.0, 3.0]);
        let triangle = Polygon::new(x.clone(), y.clone()).unwrap();
        assert_eq!((triangle.x(), triangle.y()), (&x[..], &y[..]));
    }

    /// Where `dx * dx + dy * dy` would underflow or overflow, the distance is still the
    /// exact one: 3-4-5 scaled by a power of two, between two points off the origin.
    #[test]
    fn distance_is_exact_where_its_square_is_not() {
        for unit in [
            5e-324 * 64.0,
            2f64.powi(-600),
            2f64.powi(600),
            2f64.powi(1020),
        ] {
            let (a, b) = (
                Point::new(-unit, 2.0 * unit),
                Point::new(2.0 * unit, -2.0 * unit),
            );
            assert_eq!(a.distance(b), 5.0 * unit, "{unit:e}");
            assert_eq!(b.distance(a), 5.0 * unit, "{unit:e}");
        }
    }

    #[test]
    fn area_ignores_orientation() {
        let clockwise = Polygon::new(vec![0.0, 0.0, 1.0, 1.0], vec![0.0, 1.0, 1.0, 0.0]).unwrap();
        assert_eq!(clockwise.area(), 1.0);
    }

    #[test]
    fn triangle_area() {
        let triangle = Polygon::new(vec![0.0, 4.0, 0.0], vec![0.0, 0.0, 3.0]).unwrap();
        assert_eq!(triangle.area(), 6.0);
        assert_eq!(triangle.center(), Point::new(4.0 / 3.0, 1.0));
    }

    #[test]
    fn the_originals_polygon_has_its_known_area_and_center() {
        let polygon = originals_polygon();
        assert!((polygon.area() - 0.108).abs() < 0.01, "{}", polygon.area());
        let center = polygon.center();
        assert!((center.x - 0.45).abs() < 1e-12, "{center:?}");
        assert!((center.y - 0.826).abs() < 0.01, "{center:?}");
    }

    #[test]
    fn invalid_polygons_are_errors() {
        assert_eq!(
            Polygon::new(vec![0.0, 1.0, 2.0], vec![0.0, 1.0]),
            Err(GeometryError::LengthMismatch { x_len: 3, y_len: 2 })
        );
        assert_eq!(
            Polygon::new(vec![0.0, 1.0], vec![0.0, 1.0]),
            Err(GeometryError::TooFewVertices { vertices: 2 })
        );
        assert_eq!(
            Polygon::new(vec![0.0, 1.0, 2.0], vec![0.0, f64::NAN, 1.0]),
            Err(GeometryError::NonFinite {
                axis: "y",
                index: 1
            })
        );
        assert_eq!(
            Polygon::new(vec![f64::INFINITY, 1.0, 2.0], vec![0.0, 0.0, 1.0]),
            Err(GeometryError::NonFinite {
                axis: "x",
                index: 0
            })
        );
    }

    #[test]
    fn error_messages_name_the_problem() {
        let message = GeometryError::LengthMismatch { x_len: 3, y_len: 2 }.to_string();
        assert!(
            message.contains("same length") && message.contains('3'),
            "{message}"
        );
    }

    fn three_squares() -> Vec<Polygon> {
        // Centers at (0.5, 0.5), (5.5, 0.5) and (20.5, 0.5).
        vec![
            square_at(0.0, 0.0),
            square_at(5.0, 0.0),
            square_at(20.0, 0.0),
        ]
    }

    #[test]
    fn finds_close_polygons_in_owned_slices() {
        let polygons = three_squares();
        let close = find_close_polygons(&polygons, Point::new(0.5, 0.5), 10.0);
        assert_eq!(close, vec![&polygons[0], &polygons[1]]);
    }

    #[test]
    fn finds_close_polygons_through_references() {
        let polygons = three_squares();
        let borrowed: Vec<&Polygon> = polygons.iter().rev().collect();
        let close = find_close_polygons(&borrowed, Point::new(0.5, 0.5), 10.0);
        assert_eq!(close, vec![&&polygons[1], &&polygons[0]]);
    }

    #[test]
    fn finds_close_polygons_through_boxes_and_wrappers() {
        let boxed: Vec<Box<Polygon>> = three_squares().into_iter().map(Box::new).collect();
        let close = find_close_polygons(&boxed, Point::new(20.0, 0.0), 1.0);
        assert_eq!(close, vec![&boxed[2]]);

        struct Labelled {
            label: &'static str,
            polygon: Polygon,
        }
        impl AsRef<Polygon> for Labelled {
            fn as_ref(&self) -> &Polygon {
                &self.polygon
            }
        }
        let labelled: Vec<Labelled> = three_squares()
            .into_iter()
            .zip(["a", "b", "c"])
            .map(|(polygon, label)| Labelled { label, polygon })
            .collect();
        let close = find_close_polygons(&labelled, Point::new(5.5, 3.0), 3.0);
        let labels: Vec<_> = close.iter().map(|l| l.label).collect();
        assert_eq!(labels, ["b"]);
    }

    #[test]
    fn distance_exactly_max_dist_is_not_close() {
        // The center (0.5, 0.5) is exactly 3 away from (0.5, 3.5) and exactly 5 from (3.5, 4.5).
        let polygons = vec![unit_square()];
        for (point, max_dist) in [(Point::new(0.5, 3.5), 3.0), (Point::new(3.5, 4.5), 5.0)] {
            assert!(find_close_polygons(&polygons, point, max_dist).is_empty());
            assert!(find_close_polygons_sqrt(&polygons, point, max_dist).is_empty());
            let a_bit_further = max_dist + 1e-9;
            assert_eq!(
                find_close_polygons(&polygons, point, a_bit_further).len(),
                1
            );
            assert_eq!(
                find_close_polygons_sqrt(&polygons, point, a_bit_further).len(),
                1
            );
        }
    }

    #[test]
    fn negative_nan_and_zero_max_dist_match_nothing() {
        let polygons = three_squares();
        let on_a_center = Point::new(0.5, 0.5);
        for max_dist in [-10.0, f64::NAN, 0.0] {
            assert!(find_close_polygons(&polygons, on_a_center, max_dist).is_empty());
            assert!(find_close_polygons_sqrt(&polygons, on_a_center, max_dist).is_empty());
        }
    }

    #[test]
    fn tiny_and_huge_max_dist_are_decided_exactly() {
        let origin =
            [Polygon::new(vec![-1.0, 1.0, 1.0, -1.0], vec![-1.0, -1.0, 1.0, 1.0]).unwrap()];
        assert_eq!(origin[0].center(), Point::new(0.0, 0.0));
        for max_dist in [5e-324, 1e-200, 1e-160, 1e-150, 1.0, 1e150, 1e200, f64::MAX] {
            let inside = max_dist.next_down();
            let outside = max_dist.next_up();
            for (point, close) in [
                (Point::new(0.0, 0.0), true),
                (Point::new(inside, 0.0), true),
                (Point::new(0.0, -inside), true),
                (Point::new(max_dist, 0.0), false),
                (Point::new(0.0, max_dist), false),
                (Point::new(outside, 0.0), false),
            ] {
                let found = find_close_polygons(&origin, point, max_dist).len() == 1;
                let found_sqrt = find_close_polygons_sqrt(&origin, point, max_dist).len() == 1;
                assert_eq!(
                    (found, found_sqrt),
                    (close, close),
                    "{point:?} {max_dist:e}"
                );
            }
        }
    }

    #[test]
    fn polygons_whose_area_or_center_overflows_are_errors() {
        let big = 1e200;
        assert_eq!(
            Polygon::new(vec![0.0, big, big, 0.0], vec![0.0, 0.0, big, big]),
            Err(GeometryError::Overflow { what: "area" })
        );
        let max = f64::MAX;
        assert_eq!(
            Polygon::new(vec![max, max, max], vec![0.0, 1.0, 0.0]),
            Err(GeometryError::Overflow { what: "center" })
        );
    }

    #[test]
    fn infinite_max_dist_matches_everything() {
        let polygons = three_squares();
        for point in [Point::new(1e6, -1e6), Point::new(1e300, -1e300)] {
            assert_eq!(
                find_close_polygons(&polygons, point, f64::INFINITY).len(),
                3
            );
            assert_eq!(
                find_close_polygons_sqrt(&polygons, point, f64::INFINITY).len(),
                3
            );
        }
    }

    #[test]
    fn empty_input_gives_empty_output() {
        let polygons: Vec<Polygon> = Vec::new();
        assert!(find_close_polygons(&polygons, Point::new(0.0, 0.0), 10.0).is_empty());
    }
}
