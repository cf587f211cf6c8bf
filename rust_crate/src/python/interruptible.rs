//! Long calls that still answer Ctrl-C. Python handles a signal only when its own code
//! runs, and a native call holds it off until it returns; so the per-point work runs
//! with the GIL released in chunks of about [`CHUNK_SECONDS`], and between chunks the
//! signal handlers get their turn (a KeyboardInterrupt ends the call there).

use std::time::{Duration, Instant};

use pyo3::prelude::*;

use crate::Point;

/// How long a chunk should take: the delay before Ctrl-C is noticed is about this.
const CHUNK_SECONDS: Duration = Duration::from_millis(20);
/// The first chunk's budget, in centers visited (about a millisecond): its size is
/// this over `visits_per_point`; later chunks are sized by how long the last one took.
const FIRST_CHUNK_VISITS: usize = 1 << 20;

/// `work` applied to consecutive chunks of `points` with the GIL released, the results
/// concatenated in order; a signal handler's exception (KeyboardInterrupt) if one
/// raised between two chunks. What `work` needs besides the points is built by `prepare`
/// in the first chunk's release of the GIL, so a short call releases it once.
/// `visits_per_point` is how many centers a point may look at in the worst case, for
/// sizing the first chunk.
pub fn map_chunks<S: Send + Sync, T: Send>(
    py: Python<'_>,
    points: &[Point],
    visits_per_point: usize,
    prepare: impl FnOnce() -> S + Send,
    work: impl Fn(&S, &[Point]) -> Vec<T> + Sync,
) -> PyResult<Vec<T>> {
    let mut chunk = (FIRST_CHUNK_VISITS / visits_per_point.max(1)).max(1);
    let (mut now, mut rest) = points.split_at(chunk.min(points.len()));
    let mut started = Instant::now();
    let (state, mut results) = py.detach(|| {
        let state = prepare();
        let results = work(&state, now);
        (state, results)
    });
    while !rest.is_empty() {
        py.check_signals()?;
        let took = started.elapsed();
        if took < CHUNK_SECONDS / 2 {
            chunk = chunk.saturating_mul(2);
        } else if took > CHUNK_SECONDS {
            chunk = (chunk / 2).max(1);
        }
        (now, rest) = rest.split_at(chunk.min(rest.len()));
        started = Instant::now();
        let state = &state;
        results.extend(py.detach(|| work(state, now)));
    }
    Ok(results)
}
