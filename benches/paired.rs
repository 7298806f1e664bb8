//! Two operations timed in the same moments. Two benchmarks run one after
//! the other see different machine states (their figures moved by a fifth
//! between runs of the same code on one machine); here each sample times
//! both, in alternating chunks whose order alternates too, so the ratio and
//! the difference of a sample compare the two on the same machine state.

use std::{
    cell::RefCell,
    hint::black_box,
    time::{Duration, Instant},
};

use criterion::Criterion;

/// One paired sample: the operations each ran `iters` times.
#[derive(Clone, Copy)]
pub struct Sample {
    pub iters: u64,
    pub timed: Duration,
    pub other: Duration,
}

/// Registers `group/name`, timing `timed` (what criterion reports) with
/// `other` run in the same sample, and prints, after the benchmark, the
/// ratio `timed / other` and the difference per operation over the paired
/// samples (see [`report`]). What the operations return goes through
/// `black_box`.
pub fn bench<T, U>(
    c: &mut Criterion,
    group: &str,
    name: &str,
    what: &str,
    timed: &impl Fn() -> T,
    other: &impl Fn() -> U,
) {
    let samples = RefCell::new(Vec::new());
    let mut g = c.benchmark_group(group);
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let (mine, theirs) = interleaved(iters, timed, other);
            samples.borrow_mut().push(Sample {
                iters,
                timed: mine,
                other: theirs,
            });
            mine
        })
    });
    g.finish();
    report(&format!("{group}/{name}"), what, &samples.into_inner());
}

/// Runs `timed` and `other` `iters` times each, in alternating chunks
/// (every other pair of chunks starts with `other`); returns the time of
/// each.
pub fn interleaved<T, U>(
    iters: u64,
    timed: &impl Fn() -> T,
    other: &impl Fn() -> U,
) -> (Duration, Duration) {
    const CHUNK: u64 = 1024;
    let (mut mine, mut theirs) = (Duration::ZERO, Duration::ZERO);
    let mut left = iters;
    let mut pair = 0u64;
    while left > 0 {
        let n = left.min(CHUNK);
        if pair.is_multiple_of(2) {
            mine += run(timed, n);
            theirs += run(other, n);
        } else {
            theirs += run(other, n);
            mine += run(timed, n);
        }
        pair += 1;
        left -= n;
    }
    (mine, theirs)
}

/// The time of `n` runs of `f`.
fn run<T>(f: &impl Fn() -> T, n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        black_box(f());
    }
    start.elapsed()
}

/// Prints, over paired samples, the median of the samples' ratios
/// `timed / other` with its quartiles and the ratio of the totals, then the
/// median difference per operation in ns (`timed − other`) with its
/// quartiles. Samples of criterion's warm-up are included; they are timed as
/// the others.
pub fn report(name: &str, what: &str, samples: &[Sample]) {
    let samples: Vec<Sample> = samples
        .iter()
        .copied()
        .filter(|s| s.iters > 0 && !s.other.is_zero())
        .collect();
    if samples.is_empty() {
        return;
    }
    let mut ratios: Vec<f64> = samples
        .iter()
        .map(|s| s.timed.as_secs_f64() / s.other.as_secs_f64())
        .collect();
    let mut diffs: Vec<f64> = samples
        .iter()
        .map(|s| (s.timed.as_secs_f64() - s.other.as_secs_f64()) * 1e9 / s.iters as f64)
        .collect();
    let (timed, other) = samples
        .iter()
        .fold((Duration::ZERO, Duration::ZERO), |(a, b), s| {
            (a + s.timed, b + s.other)
        });
    let [r25, r50, r75] = quartiles(&mut ratios);
    let [d25, d50, d75] = quartiles(&mut diffs);
    println!(
        "{name}: {what} = {r50:.3} (median of {} paired samples; quartiles {r25:.3} to {r75:.3}; totals {:.3}); difference {d50:+.2} ns an operation (quartiles {d25:+.2} to {d75:+.2})",
        samples.len(),
        timed.as_secs_f64() / other.as_secs_f64(),
    );
}

/// The first quartile, the median and the third quartile of `v` (not
/// empty), sorting it.
fn quartiles(v: &mut [f64]) -> [f64; 3] {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    [at(0.25), at(0.5), at(0.75)]
}
