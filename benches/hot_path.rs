//! The cost of one update: monsta's fields next to the atomic floor and the
//! peer crates, on one thread and with two threads on the same field.
//!
//! Run with `cargo bench -p monsta-bench --bench hot_path`. Each benchmark
//! `<name>/1` runs the operation on one thread; `<name>/2` runs it on two
//! threads at once against the same value and reports the time per operation
//! per thread (the wall time of `iters` operations on each thread).
//! `interleaved/transaction_of_three/monsta` measures the transaction and
//! the lock design it replaced in alternating chunks of each other, so that
//! both see the same machine, and prints the ratio of the two
//! (`monsta / striped_reentrant_mutex = ...`) over the paired samples.

use std::{
    hint::black_box,
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    time::{Duration, Instant},
};

use criterion::{Criterion, criterion_group, criterion_main};
use monsta::fields::*;
use prometheus_client::metrics::{
    counter::Counter as PCounter,
    gauge::Gauge as PGauge,
    histogram::{Histogram as PHistogram, exponential_buckets},
};

#[path = "pair.rs"]
mod pair;
use pair::pair;
#[path = "paired.rs"]
mod paired;

fn floor(c: &mut Criterion) {
    let atomic = AtomicU64::new(0);
    pair(c, "floor/atomic_fetch_add", || {
        atomic.fetch_add(black_box(1), Relaxed);
    });
    let float = AtomicU64::new(0);
    pair(c, "floor/f64_cas_add", || {
        let _ = float.fetch_update(Relaxed, Relaxed, |b| {
            Some((f64::from_bits(b) + black_box(1.0)).to_bits())
        });
    });
    let mutex = parking_lot::Mutex::new(0u64);
    pair(c, "floor/mutex_add", || {
        *mutex.lock() += black_box(1);
    });
}

/// The time sources an update could read, side by side: monsta's coarse
/// clock (a load of the time a refresh thread publishes, a thread that parks
/// when nothing reads it), quanta's recent time (the same load, its thread
/// never parks), the kernel's coarse monotonic clock through the vDSO, and
/// `Instant::now`.
fn clocks(c: &mut Criterion) {
    let monsta = monsta::clock::Clock::system();
    pair(c, "clock/monsta_coarse", || {
        black_box(monsta.now());
    });
    let _upkeep = quanta::Upkeep::new(Duration::from_millis(1)).start();
    pair(c, "clock/quanta_recent", || {
        black_box(quanta::Instant::recent());
    });
    pair(c, "clock/vdso_monotonic_coarse", || {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
        black_box(ts);
    });
    pair(c, "clock/std_instant_now", || {
        black_box(Instant::now());
    });
}

fn peers(c: &mut Criterion) {
    let counter: PCounter = PCounter::default();
    pair(c, "prometheus_client/counter_inc", || {
        counter.inc();
    });
    let gauge: PGauge<f64, AtomicU64> = PGauge::default();
    pair(c, "prometheus_client/gauge_set", || {
        gauge.set(black_box(1.5));
    });
    let histogram = PHistogram::new(exponential_buckets(1.0, 2.0, 10));
    pair(c, "prometheus_client/histogram_observe", || {
        histogram.observe(black_box(42.0));
    });

    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let (m_counter, m_histogram) = metrics::with_local_recorder(&recorder, || {
        (
            metrics::counter!("bench_counter"),
            metrics::histogram!("bench_histogram"),
        )
    });
    pair(c, "metrics/counter_increment", || {
        m_counter.increment(black_box(1));
    });
    pair(c, "metrics/histogram_record", || {
        m_histogram.record(black_box(42.0));
    });
}

fn fields(c: &mut Criterion) {
    let counter = Counter::new();
    pair(c, "monsta/counter_inc", || counter.inc(black_box(1)));
    let gauge = Gauge::new();
    pair(c, "monsta/gauge_set", || gauge.set(black_box(1.5)));
    let window = SlidingWindow::new(Duration::from_secs(60)).expect("valid window");
    pair(c, "monsta/sliding_window_inc", || {
        window.inc(black_box(1.0))
    });
    let today = PeriodicSum::default();
    pair(c, "monsta/periodic_sum_inc", || today.inc(black_box(1.0)));
    let ewma = Ewma::new(0.1, None).expect("valid alpha");
    pair(c, "monsta/ewma_update", || ewma.update(black_box(42.0)));
    let stats = RunningStats::new();
    pair(c, "monsta/running_stats_update", || {
        stats.update(black_box(42.0))
    });
    let sampled = SampledWindow::new(Duration::from_secs(5), 0.0).expect("valid window");
    pair(c, "monsta/sampled_window_set", || {
        sampled.set(black_box(120.0))
    });
    let bucket = LeakyBucket::new(1e18, 1e9).expect("valid bucket");
    pair(c, "monsta/leaky_bucket_request", || {
        black_box(bucket.request(black_box(1.0)));
    });
    let percentiles =
        SlidingPercentiles::new(Duration::from_secs(600), &[50.0, 90.0, 95.0, 99.0], 10_000)
            .expect("valid percentiles");
    pair(c, "monsta/sliding_percentiles_update", || {
        percentiles.update(black_box(42.0))
    });
}

#[derive(monsta::AppState)]
struct Three {
    calls: Counter,
    load: Gauge,
    cpu: Ewma,
}

fn transaction(c: &mut Criterion) {
    let state = Three::new();
    let monsta = || {
        state.transaction(|tx| {
            tx.calls.inc(1);
            tx.load.set(black_box(0.5));
            tx.cpu.update(black_box(42.0));
        })
    };
    // The design the state lock replaced, in the same run: a reentrant
    // mutex per stripe of 64, the state's address picking the stripe. The
    // target is that a transaction is no slower than this.
    static STRIPES: [parking_lot::ReentrantMutex<()>; 64] =
        [const { parking_lot::ReentrantMutex::new(()) }; 64];
    let stripe = |addr: usize| {
        &STRIPES[((addr as u64 >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize]
    };
    let old_design = || {
        let _guard = stripe(std::ptr::from_ref(&state) as usize).lock();
        state.calls.inc(1);
        state.load.set(black_box(0.5));
        state.cpu.update(black_box(42.0));
    };
    pair(c, "monsta/transaction_of_three", monsta);
    pair(
        c,
        "baseline/transaction_of_three_striped_reentrant_mutex",
        old_design,
    );
    pair(c, "monsta/three_updates_no_transaction", || {
        state.calls.inc(1);
        state.load.set(black_box(0.5));
        state.cpu.update(black_box(42.0));
    });
    // The same two, measured in the same moments (see `paired`).
    paired::bench(
        c,
        "interleaved/transaction_of_three",
        "monsta",
        "monsta / striped_reentrant_mutex",
        &monsta,
        &old_design,
    );
}

criterion_group!(benches, floor, clocks, peers, fields, transaction);
criterion_main!(benches);
