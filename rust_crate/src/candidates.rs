//! The polygons reduced once to what matching needs, their centers and areas, and the
//! brute-force search over them (the grid, in `grid.rs`, searches the same candidates).
//!
//! "Best" is v1's rule: among the polygons whose center is strictly closer than
//! `max_dist`, the one with the smallest area, the first in input order on ties.

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
    // Finite, as `from_polygons` and `from_parts` make them. Open to the crate for the
    // grid, which reads them where it is built and gives them back (`Grid::candidates`).
    pub(crate) centers: Vec<Point>,
    pub(crate) areas: Vec<f64>,
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn square(x: f64, y: f64, side: f64) -> Polygon {
        Polygon::new(
            vec![x, x + side, x + side, x],
            vec![y, y, y + side, y + side],
        )
        .unwrap()
    }

    /// A scattered, deterministic workload with repeated areas (for ties).
    pub(crate) fn workload() -> (Vec<Polygon>, Vec<Point>) {
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
    pub(crate) fn expected(polygons: &[Polygon], point: Point, max_dist: f64) -> Option<usize> {
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
    pub(crate) fn expected_for_each(
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
    fn brute_force_follows_v1s_rule() {
        let (polygons, points) = workload();
        let candidates = Candidates::from_polygons(&polygons);
        for max_dist in [0.0, 0.5, 3.0, 10.0, 50.0, 1e300] {
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
            assert!(want.iter().any(Option::is_some) || max_dist < 1.0);
        }
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
