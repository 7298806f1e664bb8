//! Many threads at once: no update is lost, and a reader never sees an
//! impossible value. Bounded loops, no sleeps, no timing assertions.

use std::{
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    thread,
    time::Duration,
};

use monsta_core::{
    clock::ManualClock,
    fields::{
        Counter, Ewma, Gauge, LeakyBucket, PeriodicSum, RunningStats, SampledWindow,
        SlidingPercentiles, SlidingWindow, Value,
    },
};

const THREADS: u64 = 4;
const EACH: u64 = 10_000;
const TOTAL: u64 = THREADS * EACH;
/// A reader stops after this many reads even if the writers are not done.
const MAX_READS: usize = 1_000_000;

/// Runs `write(thread_index)` on `THREADS` threads while `read` runs
/// repeatedly on another, until the writers are done.
fn writers_and_reader(write: impl Fn(u64) + Sync, mut read: impl FnMut() + Send) {
    let done = AtomicBool::new(false);
    let running = AtomicU64::new(THREADS);
    thread::scope(|s| {
        for t in 0..THREADS {
            let (write, done, running) = (&write, &done, &running);
            s.spawn(move || {
                write(t);
                if running.fetch_sub(1, Ordering::AcqRel) == 1 {
                    done.store(true, Ordering::Release);
                }
            });
        }
        s.spawn(|| {
            for _ in 0..MAX_READS {
                if done.load(Ordering::Acquire) {
                    break;
                }
                read();
            }
            read();
        });
    });
}

#[test]
fn counter_loses_nothing() {
    let c = Counter::new();
    let mut last = 0;
    writers_and_reader(
        |_| (0..EACH).for_each(|_| c.inc(1)),
        || {
            let v = c.get();
            assert!(v >= last && v <= TOTAL, "{last} then {v}");
            last = v;
        },
    );
    assert_eq!(c.get(), TOTAL);
}

#[test]
fn gauge_inc_and_dec_lose_nothing() {
    let g = Gauge::new();
    writers_and_reader(
        |_| {
            for _ in 0..EACH {
                g.inc(3.0);
                g.dec(1.0);
            }
        },
        || {
            let v = g.get();
            assert!(v >= 0.0 && v <= 3.0 * TOTAL as f64, "{v}");
        },
    );
    assert_eq!(g.get(), 2.0 * TOTAL as f64);
}

#[test]
fn sliding_window_inc_within_one_window_loses_nothing() {
    let clock = ManualClock::new();
    let w = SlidingWindow::with_clock(Duration::from_secs(60), &clock.clock()).unwrap();
    writers_and_reader(
        |_| (0..EACH).for_each(|_| w.inc(1.0)),
        || {
            let v = w.get();
            assert!((0.0..=TOTAL as f64).contains(&v), "{v}");
        },
    );
    assert_eq!(w.get(), TOTAL as f64);
}

#[test]
fn sliding_window_rollover_racing_with_incs_loses_nothing() {
    // The clock jumps to the start of the next window while the writers
    // count: every hit lands in `prev` or `curr`, and at the start of the
    // next window `prev` weighs 1, so the value is the exact total.
    let clock = ManualClock::new();
    let w = SlidingWindow::with_clock(Duration::from_secs(60), &clock.clock()).unwrap();
    let jumped = AtomicBool::new(false);
    writers_and_reader(
        |t| {
            for i in 0..EACH {
                if t == 0 && i == EACH / 2 {
                    clock.advance(Duration::from_secs(60));
                    jumped.store(true, Ordering::Release);
                }
                w.inc(1.0);
            }
        },
        || {
            let v = w.get();
            assert!((0.0..=TOTAL as f64).contains(&v), "{v}");
        },
    );
    assert!(jumped.load(Ordering::Acquire));
    assert_eq!(clock.now(), Duration::from_secs(60));
    assert_eq!(w.get(), TOTAL as f64);
}

#[test]
fn periodic_sum_inc_loses_nothing() {
    let clock = ManualClock::new();
    let f = PeriodicSum::with_clock("00:00", Some("UTC"), &clock.clock()).unwrap();
    writers_and_reader(
        |_| (0..EACH).for_each(|_| f.inc(1.0)),
        || {
            let v = f.get();
            assert!((0.0..=TOTAL as f64).contains(&v), "{v}");
        },
    );
    assert_eq!(f.get(), TOTAL as f64);
}

#[test]
fn periodic_sum_reset_racing_with_incs() {
    // A thread moves the clock past midnight while others count: afterwards
    // the sum holds only what was counted after the reset, never more than
    // the total, never negative.
    let clock = ManualClock::starting_at("2024-01-01T23:59:59Z".parse().unwrap());
    let f = PeriodicSum::with_clock("00:00", Some("UTC"), &clock.clock()).unwrap();
    writers_and_reader(
        |t| {
            for i in 0..EACH {
                if t == 0 && i == EACH / 2 {
                    clock.advance(Duration::from_secs(1));
                }
                f.inc(1.0);
            }
        },
        || {
            let v = f.get();
            assert!((0.0..=TOTAL as f64).contains(&v), "{v}");
        },
    );
    let v = f.get();
    assert!(v >= (EACH / 2) as f64 && v <= TOTAL as f64, "{v}");
}

#[test]
fn leaky_bucket_admits_exactly_its_capacity() {
    let clock = ManualClock::new();
    let b = LeakyBucket::with_clock(1000.0, 1.0, &clock.clock()).unwrap();
    let admitted = AtomicU64::new(0);
    writers_and_reader(
        |_| {
            for _ in 0..EACH {
                if b.request(1.0) {
                    admitted.fetch_add(1, Ordering::Relaxed);
                }
            }
        },
        || {
            let g = b.get();
            assert!((0.0..=1000.0).contains(&g.level), "{g:?}");
            assert_eq!(g.full, g.level >= 1000.0);
        },
    );
    assert_eq!(admitted.load(Ordering::Relaxed), 1000);
    let g = b.get();
    assert_eq!((g.level, g.full), (1000.0, true));
}

#[test]
fn leaky_bucket_with_a_moving_clock_stays_within_bounds() {
    let clock = ManualClock::new();
    let b = LeakyBucket::with_clock(100.0, 1000.0, &clock.clock()).unwrap();
    let admitted = AtomicU64::new(0);
    writers_and_reader(
        |t| {
            for i in 0..EACH {
                if t == 0 && i % 100 == 0 {
                    clock.advance(Duration::from_millis(1)); // drains 1
                }
                if b.request(1.0) {
                    admitted.fetch_add(1, Ordering::Relaxed);
                }
            }
        },
        || {
            let g = b.get();
            assert!((0.0..=100.0).contains(&g.level), "{g:?}");
        },
    );
    // At most the capacity plus what drained meanwhile (100 ms at 1000/s).
    let admitted = admitted.load(Ordering::Relaxed);
    assert!((100..=200).contains(&admitted), "{admitted}");
    let level = b.get().level;
    assert!((0.0..=100.0).contains(&level));
}

#[test]
fn running_stats_counts_every_sample_and_readers_see_consistent_stats() {
    let s = RunningStats::new();
    let mut last_n = 0;
    writers_and_reader(
        |t| {
            for i in 0..EACH {
                s.update(((t * EACH + i) % 1000) as f64);
            }
        },
        || {
            let g = s.get();
            assert!(g.n >= last_n, "n went from {last_n} to {}", g.n);
            last_n = g.n;
            if g.n > 0 {
                assert!(g.min <= g.mean && g.mean <= g.max, "{g:?}");
                assert!(g.stddev >= 0.0 && g.stddev.is_finite(), "{g:?}");
                assert!(g.min >= 0.0 && g.max <= 999.0, "{g:?}");
            }
        },
    );
    let g = s.get();
    assert_eq!(g.n, TOTAL);
    assert_eq!((g.min, g.max), (0.0, 999.0));
    assert!((g.mean - 499.5).abs() < 1e-9, "{g:?}");
    let want = ((1000.0f64 * 1000.0 - 1.0) / 12.0).sqrt(); // uniform 0..=999
    assert!((g.stddev - want).abs() < 1e-9, "{g:?}");
}

#[test]
fn sliding_percentiles_counts_every_sample_below_the_cap() {
    let clock = ManualClock::new();
    let p = SlidingPercentiles::with_clock(
        Duration::from_secs(600),
        &[1.0, 50.0, 99.0],
        100_000,
        &clock.clock(),
    )
    .unwrap();
    const EACH_P: u64 = 5_000;
    let mut last_n = 0;
    let mut reads = 0;
    writers_and_reader(
        |t| {
            for i in 0..EACH_P {
                p.update((t * EACH_P + i) as f64);
            }
        },
        || {
            reads += 1;
            if reads % 16 != 0 {
                return; // a read sorts the samples: keep the test quick
            }
            let g = p.get();
            assert!(g.n >= last_n);
            last_n = g.n;
            let qs: Vec<f64> = g.quantiles.iter().map(|q| q.1).collect();
            if g.n > 0 {
                assert!(qs.windows(2).all(|w| w[0] <= w[1]), "{g:?}");
                assert!(g.min <= qs[0] && qs[2] <= g.max, "{g:?}");
            }
        },
    );
    let g = p.get();
    assert_eq!(g.n, THREADS * EACH_P);
    assert_eq!((g.min, g.max), (0.0, (THREADS * EACH_P - 1) as f64));
    assert_eq!(g.get("p50"), Some((THREADS * EACH_P - 1) as f64 / 2.0));
}

#[test]
fn sliding_percentiles_cap_holds_under_contention() {
    let clock = ManualClock::new();
    let p = SlidingPercentiles::with_clock(Duration::from_secs(600), &[50.0], 100, &clock.clock())
        .unwrap();
    writers_and_reader(
        |_| (0..EACH).for_each(|i| p.update(i as f64)),
        || assert!(p.get().n <= 100),
    );
    assert_eq!(p.get().n, 100);
}

#[test]
fn ewma_with_alpha_one_ends_at_a_written_value() {
    let e = Ewma::new(1.0, None).unwrap();
    let written = |t: u64, i: u64| (t * EACH + i) as f64;
    writers_and_reader(
        |t| (0..EACH).for_each(|i| e.update(written(t, i))),
        || {
            if let Some(v) = e.get() {
                assert!(v.fract() == 0.0 && (0.0..TOTAL as f64).contains(&v), "{v}");
            }
        },
    );
    let v = e.get().unwrap();
    // The last write of some thread.
    assert!((0..THREADS).any(|t| v == written(t, EACH - 1)), "{v}");
}

#[test]
fn ewma_applies_every_update_once() {
    // With every sample equal to the preset the value never moves; with
    // alpha = 1/2 and samples of 0, n updates halve it n times whatever the
    // interleaving: 2^40 halved 40 times is 1.
    let e = Ewma::new(0.5, Some(1024.0)).unwrap();
    writers_and_reader(
        |_| (0..EACH).for_each(|_| e.update(1024.0)),
        || {
            assert_eq!(e.get(), Some(1024.0));
        },
    );
    let e = Ewma::new(0.5, Some(2f64.powi(40))).unwrap();
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| (0..10).for_each(|_| e.update(0.0)));
        }
    });
    assert_eq!(e.get(), Some(1.0));
}

#[test]
fn sampled_window_readers_see_zero_or_a_written_value() {
    let clock = ManualClock::new();
    let s = SampledWindow::with_clock(Duration::from_secs(5), -1.0, &clock.clock()).unwrap();
    writers_and_reader(
        |t| (0..EACH).for_each(|i| s.set((t * EACH + i) as f64)),
        || {
            let v = s.get();
            assert!(
                v == -1.0 || (v.fract() == 0.0 && (0.0..TOTAL as f64).contains(&v)),
                "{v}"
            );
        },
    );
    assert!(s.get() >= 0.0);
}

#[test]
fn value_readers_never_see_a_torn_value() {
    let v = Value::new(String::from("aaaa"));
    writers_and_reader(
        |t| {
            let c = char::from(b'a' + t as u8);
            for i in 0..EACH / 10 {
                v.set(c.to_string().repeat(4 + (i % 8) as usize));
            }
        },
        || {
            let s = v.get();
            let first = s.chars().next().unwrap();
            assert!(s.chars().all(|c| c == first), "{s}");
        },
    );
}

#[test]
fn every_field_survives_a_clock_moving_under_it() {
    // A thread advances the clock while others update and read every
    // time-based field: stored times race with readers' `now`, and nothing
    // may underflow (debug builds panic on overflow).
    let clock = ManualClock::new();
    let c = clock.clock();
    let w = SlidingWindow::with_clock(Duration::from_millis(3), &c).unwrap();
    let f = PeriodicSum::with_clock("00:00", Some("UTC"), &c).unwrap();
    let s = SampledWindow::with_clock(Duration::from_millis(2), 0.0, &c).unwrap();
    let b = LeakyBucket::with_clock(10.0, 100.0, &c).unwrap();
    let p = SlidingPercentiles::with_clock(Duration::from_millis(5), &[50.0], 64, &c).unwrap();
    writers_and_reader(
        |t| {
            for i in 0..EACH / 4 {
                if t == 0 {
                    clock.advance(Duration::from_micros(700));
                }
                w.inc(1.0);
                f.inc(1.0);
                s.set(i as f64);
                b.request(1.0);
                p.update(i as f64);
            }
        },
        || {
            let v = w.get();
            assert!(v >= 0.0 && v.is_finite(), "{v}");
            assert!(f.get() >= 0.0);
            assert!(s.get() >= 0.0);
            let g = b.get();
            assert!((0.0..=10.0).contains(&g.level), "{g:?}");
            assert!(p.get().n <= 64);
        },
    );
}

#[test]
fn sliding_window_added_is_every_increment_across_rollovers() {
    // Writers add integers and fractions while the clock moves through
    // several windows and a reader watches the total: it never goes down,
    // and ends as the sum of every increment.
    let clock = ManualClock::new();
    let w = SlidingWindow::with_clock(Duration::from_secs(60), &clock.clock()).unwrap();
    let mut last = 0.0;
    writers_and_reader(
        |t| {
            for i in 0..EACH {
                if t == 0 && i % (EACH / 8) == 0 {
                    clock.advance(Duration::from_secs(50));
                }
                w.inc(if i % 4 == 0 { 0.5 } else { 1.0 });
            }
        },
        || {
            let v = w.added();
            assert!(v >= last && v <= TOTAL as f64, "{last} then {v}");
            last = v;
        },
    );
    let each = (EACH / 4) as f64 * 0.5 + (EACH - EACH / 4) as f64;
    assert_eq!(w.added(), THREADS as f64 * each);
}

#[test]
fn periodic_sum_added_is_every_increment_across_resets() {
    let clock = ManualClock::starting_at("2024-01-01T23:59:59Z".parse().unwrap());
    let f = PeriodicSum::with_clock("00:00", Some("UTC"), &clock.clock()).unwrap();
    let mut last = 0.0;
    writers_and_reader(
        |t| {
            for i in 0..EACH {
                if t == 0 && i == EACH / 2 {
                    clock.advance(Duration::from_secs(1));
                }
                if t == 1 && i == EACH / 4 {
                    f.reset();
                }
                f.inc(if i % 4 == 0 { 0.25 } else { 1.0 });
            }
        },
        || {
            let v = f.added();
            assert!(v >= last && v <= TOTAL as f64, "{last} then {v}");
            last = v;
        },
    );
    let each = (EACH / 4) as f64 * 0.25 + (EACH - EACH / 4) as f64;
    assert_eq!(f.added(), THREADS as f64 * each);
    assert!(f.get() < f.added());
}
