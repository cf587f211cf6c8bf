//! The threads the grid spreads many points over: a pool of its own, built again after
//! a fork.

use std::sync::{Arc, Mutex, PoisonError};

/// The threads of this process. Not rayon's global pool, which does not survive
/// `fork`: a forked child (Python's multiprocessing does that on Linux before 3.14)
/// inherits the pool's bookkeeping but none of its threads, and would wait for them
/// forever. This pool is built again in a process whose id has changed.
pub(crate) fn thread_pool() -> Option<Arc<rayon::ThreadPool>> {
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

    /// One pool per process (a forked child builds its own): not one per call.
    #[test]
    fn the_thread_pool_is_built_once() {
        let first = thread_pool().expect("a thread pool");
        let second = thread_pool().expect("a thread pool");
        assert!(Arc::ptr_eq(&first, &second));
    }
}
