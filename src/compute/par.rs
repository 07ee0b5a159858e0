//! A minimal, deterministic fork-join helper: natively `std::thread::scope` workers, on wasm32 (one
//! thread: the Web Worker) a plain loop.
//!
//! Every parallel kernel in this crate is written so that its result does **not** depend on the
//! number of threads or on the scheduling: the work is cut into items whose outputs are disjoint
//! (each output value is computed by exactly one item, by the same code whichever thread runs it),
//! and wherever partial results must be added up, the partition is fixed by the problem size alone
//! and the partials are summed in a fixed order afterwards. So the same input gives bit-identical
//! output on 1, 2 or 16 threads (on the same target: the native SIMD kernels use FMA where the CPU
//! has it).

/// Upper bound on the worker threads used natively (the development and CI machines have 2 cores).
pub const MAX_THREADS: usize = 8;

/// Number of threads the kernels use: natively `std::thread::available_parallelism()` capped at
/// [`MAX_THREADS`] (read once), on wasm32 always 1. `SAE_GEOMETRY_THREADS=N` (natively) overrides it,
/// for benchmarks and tests; results do not depend on it.
pub fn threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::sync::OnceLock;
        static THREADS: OnceLock<usize> = OnceLock::new();
        *THREADS.get_or_init(|| {
            let env = std::env::var("SAE_GEOMETRY_THREADS")
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
                .filter(|&t| t >= 1);
            env.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
                .min(MAX_THREADS)
        })
    }
    #[cfg(target_arch = "wasm32")]
    {
        1
    }
}

thread_local! {
    static OVERRIDE: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with the kernels that it calls on this thread using `threads` threads instead of
/// [`threads()`] (at least 1; on wasm32 always 1). For tests and benchmarks: results do not depend
/// on it.
pub fn with_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    let old = OVERRIDE.with(|o| o.replace(Some(threads.max(1))));
    struct Restore(Option<usize>);
    impl Drop for Restore {
        fn drop(&mut self) {
            OVERRIDE.with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(old);
    f()
}

fn current_threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    {
        OVERRIDE.with(|o| o.get()).unwrap_or_else(threads)
    }
    #[cfg(target_arch = "wasm32")]
    {
        1
    }
}

/// Calls `f(index, &mut items[index])` once for every item, on up to [`threads()`] threads (the
/// calling thread included; see also [`with_threads`]). Items are handed out dynamically (an atomic counter), so a core that
/// is busy with something else slows the run down but does not stall it; the results cannot depend
/// on which thread ran which item as long as `f` writes only through its item.
pub fn for_each_mut<T: Send, F: Fn(usize, &mut T) + Sync>(items: &mut [T], f: F) {
    let workers = current_threads().min(items.len());
    if workers <= 1 {
        for (i, item) in items.iter_mut().enumerate() {
            f(i, item);
        }
        return;
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Mutex;
        let cells: Vec<Mutex<&mut T>> = items.iter_mut().map(Mutex::new).collect();
        let next = AtomicUsize::new(0);
        let work = || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(cell) = cells.get(i) else { break };
            // Each index is taken once, so the lock is never contended (and never poisoned unless
            // `f` panicked, in which case the panic propagates out of the scope anyway).
            let mut item = cell.lock().unwrap_or_else(|e| e.into_inner());
            f(i, &mut item);
        };
        std::thread::scope(|s| {
            for _ in 1..workers {
                s.spawn(work);
            }
            work();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_once() {
        let mut v: Vec<(usize, u32)> = (0..100).map(|i| (i, 0)).collect();
        for_each_mut(&mut v, |i, item| {
            assert_eq!(item.0, i);
            item.1 += 1;
        });
        assert!(v.iter().all(|&(_, c)| c == 1));
        let mut empty: Vec<u8> = Vec::new();
        for_each_mut(&mut empty, |_, _| unreachable!());
        assert!(threads() >= 1 && threads() <= MAX_THREADS);
        let seen = std::sync::atomic::AtomicUsize::new(0);
        let mut v = vec![0u8; 10];
        with_threads(1, || {
            assert_eq!(current_threads(), 1);
            let me = std::thread::current().id();
            for_each_mut(&mut v, |_, _| {
                assert_eq!(std::thread::current().id(), me);
                seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            });
        });
        assert_eq!(seen.into_inner(), 10);
    }
}
