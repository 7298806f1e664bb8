//! What the update benches share: an operation measured on one thread and on
//! two threads at once.

use std::{
    sync::Barrier,
    time::{Duration, Instant},
};

use criterion::Criterion;

/// Registers `name/1` and `name/2` for `op`.
pub fn pair(c: &mut Criterion, name: &str, op: impl Fn() + Sync) {
    let mut g = c.benchmark_group(name);
    g.bench_function("1", |b| b.iter(&op));
    g.bench_function("2", |b| b.iter_custom(|iters| two_threads(iters, &op)));
    g.finish();
}

/// Runs `op` `iters` times on each of two threads started together; returns
/// the longer of the two threads' times.
pub fn two_threads(iters: u64, op: &(impl Fn() + Sync)) -> Duration {
    let start = Barrier::new(2);
    let run = || {
        start.wait();
        let t = Instant::now();
        for _ in 0..iters {
            op();
        }
        t.elapsed()
    };
    std::thread::scope(|s| {
        let other = s.spawn(run);
        let mine = run();
        mine.max(other.join().unwrap_or(mine))
    })
}
