//! The instrumented futures and guards: one sample per completion, errors
//! counted as asked, in-flight counts back at zero however a call ends.

use std::{sync::Arc, time::Duration};

use monsta::{
    ManualClock,
    fields::{Counter, Ewma, Family, Gauge, Histogram, RunningStats, SlidingPercentiles},
    instrument::{self, Instrument},
};

const BOUND: Duration = Duration::from_secs(10);

#[tokio::test]
async fn timed_records_one_sample_per_completion() {
    let stats = RunningStats::new();
    for i in 0..5u32 {
        let out = async move { i * 2 }.timed(&stats).await;
        assert_eq!(out, i * 2);
        assert_eq!(stats.get().n, u64::from(i) + 1);
    }
    // A future that is pending a few times still records once.
    let polls = async {
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
    };
    polls.timed(&stats).await;
    assert_eq!(stats.get().n, 6);
}

#[tokio::test]
async fn timed_reads_the_given_manual_clock_exactly() {
    let manual = ManualClock::new();
    let clock = manual.clock();
    let hist = Histogram::new(&[0.1, 0.5, 1.0]).unwrap();
    async {
        manual.advance(Duration::from_millis(300));
    }
    .timed_on(&hist, &clock)
    .await;
    let h = hist.get();
    assert_eq!(h.count, 1);
    assert!((h.sum - 0.3).abs() < 1e-12, "sum {}", h.sum);
    assert_eq!(h.buckets, [(0.1, 0), (0.5, 1), (1.0, 1)]);
}

#[tokio::test]
async fn timed_reads_a_sliding_percentiles_own_clock() {
    let manual = ManualClock::new();
    let p = SlidingPercentiles::with_clock(Duration::from_secs(60), &[50.0], 100, &manual.clock())
        .unwrap();
    async {
        manual.advance(Duration::from_millis(40));
    }
    .timed(&p)
    .await;
    let snap = p.get();
    assert_eq!(snap.n, 1);
    assert_eq!(snap.get("p50"), Some(0.04));
}

#[tokio::test]
async fn timed_on_the_system_clock_is_precise_for_fast_futures() {
    let stats = RunningStats::new();
    async {
        // Well below the coarse clock's 4 ms tick.
        std::thread::sleep(Duration::from_micros(200));
    }
    .timed(&stats)
    .await;
    let s = stats.get();
    assert_eq!(s.n, 1);
    assert!(s.mean >= 200e-6 && s.mean < 5.0, "mean {}", s.mean);
}

#[tokio::test]
async fn timed_into_an_ewma_and_a_family_series() {
    let manual = ManualClock::new();
    let clock = manual.clock();
    let ewma = Ewma::new(1.0, None).unwrap();
    let fam: Family<(&'static str,), RunningStats> = Family::with_labels(&["route"]).unwrap();
    let series = fam.get(&("/a",));
    async {
        manual.advance(Duration::from_millis(10));
    }
    .timed_on(&ewma, &clock)
    .timed_on(series.clone(), &clock)
    .await;
    assert_eq!(ewma.get(), Some(0.01));
    assert_eq!(fam.get(&("/a",)).get().n, 1);
}

#[tokio::test]
async fn a_cancelled_timed_future_records_nothing() {
    let stats = RunningStats::new();
    let slow = std::future::pending::<()>().timed(&stats);
    assert!(
        tokio::time::timeout(Duration::from_millis(5), slow)
            .await
            .is_err()
    );
    assert_eq!(stats.get().n, 0);
}

#[tokio::test]
async fn count_errors_counts_only_errors() {
    let errors = Counter::new();
    for i in 0..10u32 {
        let r = async move { if i.is_multiple_of(3) { Err(i) } else { Ok(i) } }
            .count_errors(&errors)
            .await;
        assert_eq!(r.is_err(), i.is_multiple_of(3));
    }
    assert_eq!(errors.get(), 4); // 0, 3, 6, 9
}

#[tokio::test]
async fn count_errors_if_counts_what_the_predicate_picks() {
    let timeouts = Counter::new();
    let picked = |e: &&str| *e == "timeout";
    for e in ["timeout", "refused", "timeout"] {
        let _ = async move { Err::<(), _>(e) }
            .count_errors_if(&timeouts, picked)
            .await;
    }
    let _ = async { Ok::<(), &str>(()) }
        .count_errors_if(&timeouts, picked)
        .await;
    assert_eq!(timeouts.get(), 2);
}

#[tokio::test]
async fn in_flight_returns_to_zero_after_completion_and_error() {
    let g = Gauge::new();
    let fut = async { 1 }.in_flight(&g);
    assert_eq!(g.get(), 1.0);
    assert_eq!(fut.await, 1);
    assert_eq!(g.get(), 0.0);

    let fut = async { Err::<(), _>("bad") }.in_flight(&g);
    assert_eq!(g.get(), 1.0);
    assert!(fut.await.is_err());
    assert_eq!(g.get(), 0.0);
}

#[tokio::test]
async fn in_flight_counts_while_running() {
    let g = Arc::new(Gauge::new());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = {
        let g = Arc::clone(&g);
        tokio::spawn(async move { rx.in_flight(g).await })
    };
    tokio::time::timeout(BOUND, async {
        while g.get() != 1.0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("raised while running");
    tx.send(()).unwrap();
    tokio::time::timeout(BOUND, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(g.get(), 0.0);
}

#[tokio::test]
async fn in_flight_returns_to_zero_after_a_panic() {
    let g = Arc::new(Gauge::new());
    let task = {
        let g = Arc::clone(&g);
        tokio::spawn(
            async {
                tokio::task::yield_now().await;
                panic!("the call fails");
            }
            .in_flight(g),
        )
    };
    let joined = tokio::time::timeout(BOUND, task).await.unwrap();
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(g.get(), 0.0);
}

#[tokio::test]
async fn in_flight_returns_to_zero_after_cancellation_by_select() {
    let g = Gauge::new();
    let slow = std::future::pending::<()>().in_flight(&g);
    assert_eq!(g.get(), 1.0);
    tokio::select! {
        () = slow => unreachable!("never completes"),
        () = tokio::time::sleep(Duration::from_millis(5)) => {}
    }
    assert_eq!(g.get(), 0.0);
}

#[tokio::test]
async fn in_flight_returns_to_zero_after_cancellation_by_timeout() {
    let g = Gauge::new();
    let slow = tokio::time::sleep(Duration::from_secs(3600)).in_flight(&g);
    assert!(
        tokio::time::timeout(Duration::from_millis(5), slow)
            .await
            .is_err()
    );
    assert_eq!(g.get(), 0.0);
}

#[tokio::test]
async fn wrapping_an_async_fn_body() {
    struct State {
        latency: RunningStats,
        errors: Counter,
        running: Gauge,
    }
    async fn call(state: &State, fail: bool) -> Result<u8, &'static str> {
        instrument::timed(
            &state.latency,
            instrument::count_errors(
                &state.errors,
                instrument::in_flight(&state.running, async move {
                    tokio::task::yield_now().await;
                    if fail { Err("failed") } else { Ok(1) }
                }),
            ),
        )
        .await
    }
    let state = State {
        latency: RunningStats::new(),
        errors: Counter::new(),
        running: Gauge::new(),
    };
    assert_eq!(call(&state, false).await, Ok(1));
    assert_eq!(call(&state, true).await, Err("failed"));
    assert_eq!(state.latency.get().n, 2);
    assert_eq!(state.errors.get(), 1);
    assert_eq!(state.running.get(), 0.0);
}

#[test]
fn guards_time_and_track() {
    let manual = ManualClock::new();
    let clock = manual.clock();
    let stats = RunningStats::new();
    let busy = Gauge::new();
    {
        let _busy = instrument::track(&busy);
        let _t = instrument::time_on(&stats, &clock);
        assert_eq!(busy.get(), 1.0);
        manual.advance(Duration::from_millis(125));
    }
    assert_eq!(busy.get(), 0.0);
    assert_eq!(stats.get().n, 1);
    assert_eq!(stats.get().mean, 0.125);

    let t = instrument::time_on(&stats, &clock);
    manual.advance(Duration::from_millis(5));
    assert_eq!(t.elapsed(), Duration::from_millis(5));
    t.discard();
    assert_eq!(stats.get().n, 1);

    // A panic unwinds the guard: the gauge comes back down.
    let r = std::panic::catch_unwind(|| {
        let _busy = instrument::track(&busy);
        panic!("in the guarded work");
    });
    assert!(r.is_err());
    assert_eq!(busy.get(), 0.0);
}

#[test]
fn a_system_stamp_measures_what_the_precise_clock_measures() {
    // The stamp's one conversion (seconds per raw unit) against the
    // precise clock's scaling of each reading, over the same span.
    let clock = monsta::Clock::system();
    let before = clock.precise();
    let stamp = clock.stamp();
    std::thread::sleep(Duration::from_millis(30));
    let secs = clock.seconds_since(stamp);
    let since = clock.since(stamp);
    let precise = clock.precise() - before;
    assert!(secs >= 0.030, "seconds_since {secs}");
    assert!(since >= Duration::from_millis(30), "since {since:?}");
    assert!(
        since <= precise,
        "since {since:?}, precise span {precise:?}"
    );
    let rel = (secs - since.as_secs_f64()).abs() / since.as_secs_f64();
    assert!(rel < 1e-3, "seconds_since {secs} against since {since:?}");
}
