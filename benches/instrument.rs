//! The cost of the instrument wrappers: a ready future polled bare and
//! through each wrapper, the guards next to the gauge updates they make,
//! the precise clock read the wrappers pay for, and a named spawn next to a
//! bare `tokio::spawn` and tokio-metrics' `TaskMonitor` (the peer).
//!
//! Run with `cargo bench -p monsta-bench --bench instrument`. The targets:
//! each wrapper ≤ the bare future + one precise clock read + the field
//! update + 2 ns; the in-flight guard ≤ its two gauge updates + 1 ns; a
//! named spawn ≤ 1.5 × a bare spawn (spawn plus completion).
//!
//! The benchmarks under `instrument/paired/` time each wrapper in the same
//! samples as the sum its target is made of, written out by hand (see
//! `paired.rs`), and print the ratio and the difference per operation: the
//! difference is what the wrapper adds over that sum, the figure the
//! targets' "+ 2 ns" and "+ 1 ns" bound. Timing a span takes two readings
//! of the counter, one at each end; the sum with one reading is measured
//! too, and its difference is the second reading.

use std::{
    future::{Future, ready},
    hint::black_box,
    pin::pin,
    task::{Context, Poll, Waker},
};

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "paired.rs"]
mod paired;
use monsta::{
    Clock,
    fields::{Counter, Gauge, Histogram, RunningStats},
    instrument::{self, Instrument},
};

/// Polls `fut` once; it is ready.
#[inline(always)]
fn poll_ready<F: Future>(fut: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(fut).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("the benched futures are ready"),
    }
}

fn parts(c: &mut Criterion) {
    let clock = Clock::system();
    c.bench_function("instrument/parts/precise_clock_read", |b| {
        b.iter(|| black_box(clock.precise_nanos()))
    });
    // A span as the wrappers time it: a stamp, and the seconds since it.
    c.bench_function("instrument/parts/stamp_and_seconds", |b| {
        b.iter(|| {
            let start = clock.stamp();
            black_box(clock.seconds_since(black_box(start)))
        })
    });
    // A raw counter read through quanta: the floor of one stamp.
    let tsc = quanta::Clock::new();
    c.bench_function("instrument/parts/quanta_raw", |b| {
        b.iter(|| black_box(tsc.raw()))
    });
    // A TSC read through quanta, for comparison with the precise clock.
    c.bench_function("instrument/parts/quanta_now", |b| {
        b.iter(|| black_box(tsc.now()))
    });
    let stats = RunningStats::new();
    c.bench_function("instrument/parts/running_stats_update", |b| {
        b.iter(|| stats.update(black_box(0.001)))
    });
    let hist = Histogram::new(&[0.001, 0.01, 0.1, 1.0]).expect("bounds");
    c.bench_function("instrument/parts/histogram_observe", |b| {
        b.iter(|| hist.observe(black_box(0.001)))
    });
    let counter = Counter::new();
    c.bench_function("instrument/parts/counter_inc", |b| {
        b.iter(|| counter.inc(black_box(1)))
    });
    let gauge = Gauge::new();
    c.bench_function("instrument/parts/two_gauge_updates", |b| {
        b.iter(|| {
            gauge.inc(black_box(1.0));
            gauge.dec(black_box(1.0));
        })
    });
}

fn wrappers(c: &mut Criterion) {
    c.bench_function("instrument/future/bare", |b| {
        b.iter(|| poll_ready(ready(black_box(1u64))))
    });
    let stats = RunningStats::new();
    c.bench_function("instrument/future/timed_running_stats", |b| {
        b.iter(|| poll_ready(ready(black_box(1u64)).timed(&stats)))
    });
    let hist = Histogram::new(&[0.001, 0.01, 0.1, 1.0]).expect("bounds");
    c.bench_function("instrument/future/timed_histogram", |b| {
        b.iter(|| poll_ready(ready(black_box(1u64)).timed(&hist)))
    });
    // The base of `count_errors`: a ready future of a `Result`, bare.
    c.bench_function("instrument/future/bare_result", |b| {
        b.iter(|| poll_ready(ready(black_box(Ok::<u64, u64>(1)))))
    });
    let errors = Counter::new();
    c.bench_function("instrument/future/count_errors_ok", |b| {
        b.iter(|| poll_ready(ready(black_box(Ok::<u64, u64>(1))).count_errors(&errors)))
    });
    c.bench_function("instrument/future/count_errors_err", |b| {
        b.iter(|| poll_ready(ready(black_box(Err::<u64, u64>(1))).count_errors(&errors)))
    });
    let gauge = Gauge::new();
    c.bench_function("instrument/future/in_flight", |b| {
        b.iter(|| poll_ready(ready(black_box(1u64)).in_flight(&gauge)))
    });
}

fn guards(c: &mut Criterion) {
    let gauge = Gauge::new();
    c.bench_function("instrument/guard/in_flight", |b| {
        b.iter(|| drop(black_box(instrument::track(&gauge))))
    });
    let stats = RunningStats::new();
    c.bench_function("instrument/guard/timing", |b| {
        b.iter(|| drop(black_box(instrument::time(&stats))))
    });
}

fn spawns(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    c.bench_function("instrument/spawn/tokio_spawn", |b| {
        b.iter(|| {
            rt.block_on(async { tokio::spawn(async { black_box(1u64) }).await })
                .expect("joined")
        })
    });
    c.bench_function("instrument/spawn/spawn_named", |b| {
        b.iter(|| {
            rt.block_on(async {
                monsta::runtime::spawn_named("bench", async { black_box(1u64) }).await
            })
            .expect("joined")
        })
    });
    // The peer: tokio-metrics' `TaskMonitor`. A listing of each task's own
    // polls needs a monitor per task (one made with each spawn); a shared
    // one only sums them.
    c.bench_function("instrument/spawn/task_monitor_each", |b| {
        b.iter(|| {
            rt.block_on(async {
                let monitor = tokio_metrics::TaskMonitor::new();
                tokio::spawn(monitor.instrument(async { black_box(1u64) })).await
            })
            .expect("joined")
        })
    });
    let shared = tokio_metrics::TaskMonitor::new();
    c.bench_function("instrument/spawn/task_monitor_shared", |b| {
        b.iter(|| {
            rt.block_on(async { tokio::spawn(shared.instrument(async { black_box(1u64) })).await })
                .expect("joined")
        })
    });
}

/// Each wrapper against the sum its target adds up, timed in the same
/// samples.
fn paired(c: &mut Criterion) {
    const G: &str = "instrument/paired";
    let clock = Clock::system();
    let stats = RunningStats::new();
    // The wrapper's work written out: a stamp, the poll, the seconds since
    // the stamp into the field (two readings of the counter).
    let span = || {
        let start = clock.stamp();
        let v = poll_ready(ready(black_box(1u64)));
        stats.update(clock.seconds_since(start));
        v
    };
    paired::bench(
        c,
        G,
        "timed_running_stats",
        "timed / (bare + span + update)",
        &|| poll_ready(ready(black_box(1u64)).timed(&stats)),
        &span,
    );
    // The sum the target names: one precise reading, not the two a span
    // needs.
    paired::bench(
        c,
        G,
        "timed_running_stats_one_read",
        "timed / (bare + one read + update)",
        &|| poll_ready(ready(black_box(1u64)).timed(&stats)),
        &|| {
            let v = poll_ready(ready(black_box(1u64)));
            stats.update(clock.precise_nanos() as f64 * 1e-9);
            v
        },
    );
    let hist = Histogram::new(&[0.001, 0.01, 0.1, 1.0]).expect("bounds");
    paired::bench(
        c,
        G,
        "timed_histogram",
        "timed / (bare + span + observe)",
        &|| poll_ready(ready(black_box(1u64)).timed(&hist)),
        &|| {
            let start = clock.stamp();
            let v = poll_ready(ready(black_box(1u64)));
            hist.observe(clock.seconds_since(start));
            v
        },
    );
    let errors = Counter::new();
    let bare_and_inc = || {
        let v = poll_ready(ready(black_box(Err::<u64, u64>(1))));
        errors.inc(1);
        v
    };
    paired::bench(
        c,
        G,
        "count_errors_err",
        "count_errors / (bare + inc)",
        &|| poll_ready(ready(black_box(Err::<u64, u64>(1))).count_errors(&errors)),
        &bare_and_inc,
    );
    let gauge = Gauge::new();
    paired::bench(
        c,
        G,
        "future_in_flight",
        "in_flight / (bare + two gauge updates)",
        &|| poll_ready(ready(black_box(1u64)).in_flight(&gauge)),
        &|| {
            gauge.inc(1.0);
            let v = poll_ready(ready(black_box(1u64)));
            gauge.dec(1.0);
            v
        },
    );
    paired::bench(
        c,
        G,
        "guard_in_flight",
        "track / two gauge updates",
        &|| drop(black_box(instrument::track(&gauge))),
        &|| {
            gauge.inc(1.0);
            gauge.dec(1.0);
        },
    );
    paired::bench(
        c,
        G,
        "guard_timing",
        "time / (span + update)",
        &|| drop(black_box(instrument::time(&stats))),
        &|| {
            let start = clock.stamp();
            stats.update(black_box(clock.seconds_since(start)));
        },
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    paired::bench(
        c,
        G,
        "spawn_named",
        "spawn_named / tokio::spawn",
        &|| {
            rt.block_on(async {
                monsta::runtime::spawn_named("bench", async { black_box(1u64) }).await
            })
        },
        &|| rt.block_on(async { tokio::spawn(async { black_box(1u64) }).await }),
    );
    // The peer, a `TaskMonitor` made with each spawn, against the same
    // bare spawn, and the named spawn against it.
    let each = || {
        rt.block_on(async {
            let monitor = tokio_metrics::TaskMonitor::new();
            tokio::spawn(monitor.instrument(async { black_box(1u64) })).await
        })
    };
    paired::bench(
        c,
        G,
        "task_monitor_each",
        "TaskMonitor each / tokio::spawn",
        &each,
        &|| rt.block_on(async { tokio::spawn(async { black_box(1u64) }).await }),
    );
    paired::bench(
        c,
        G,
        "spawn_named_vs_task_monitor",
        "spawn_named / TaskMonitor each",
        &|| {
            rt.block_on(async {
                monsta::runtime::spawn_named("bench", async { black_box(1u64) }).await
            })
        },
        &each,
    );
}

criterion_group!(benches, parts, wrappers, guards, spawns, paired);
criterion_main!(benches);
