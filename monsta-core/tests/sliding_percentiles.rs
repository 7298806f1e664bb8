//! SlidingPercentiles: window expiry, the sample cap, numpy's linear
//! interpolation, key names, the empty shape and the JSON order.

use std::time::Duration;

use monsta_core::{
    Error,
    clock::ManualClock,
    fields::{PercentilesSnapshot, SlidingPercentiles},
};

const W: Duration = Duration::from_secs(600);
const NS: Duration = Duration::from_nanos(1);

fn field(clock: &ManualClock, quantiles: &[f64]) -> SlidingPercentiles {
    SlidingPercentiles::with_clock(W, quantiles, 10_000, &clock.clock()).unwrap()
}

fn fed(quantiles: &[f64], xs: &[f64]) -> SlidingPercentiles {
    let p = field(&ManualClock::new(), quantiles);
    xs.iter().for_each(|&x| p.update(x));
    p
}

fn json(p: &SlidingPercentiles) -> String {
    serde_json::to_string(p).unwrap()
}

#[test]
fn empty_shape() {
    let p = SlidingPercentiles::default();
    assert_eq!(
        json(&p),
        r#"{"n":0,"p50":0.0,"p90":0.0,"p95":0.0,"p99":0.0,"min":0.0,"max":0.0}"#
    );
    let g = p.get();
    assert_eq!((g.n, g.min, g.max), (0, 0.0, 0.0));
    assert_eq!(p.quantiles(), [50.0, 90.0, 95.0, 99.0]);
}

#[test]
fn interpolates_like_numpy() {
    // numpy.percentile([1, 2, 3, 4], q): the rank is q / 100 * (n - 1), and
    // the value is interpolated between its neighbours: p25 is at rank 0.75,
    // 1 + 0.75 * (2 - 1) = 1.75; p0.5 at rank 0.015, 1.015; p90 at rank 2.7,
    // 4 - 0.3 * (4 - 3) = 3.7.
    let p = fed(
        &[0.0, 0.5, 25.0, 50.0, 75.0, 90.0, 100.0],
        &[4.0, 1.0, 3.0, 2.0],
    );
    assert_eq!(
        json(&p),
        r#"{"n":4,"p0":1.0,"p0.5":1.015,"p25":1.75,"p50":2.5,"p75":3.25,"p90":3.7,"p100":4.0,"min":1.0,"max":4.0}"#
    );
}

#[test]
fn interpolates_like_numpy_to_the_last_bit() {
    // numpy interpolates `a + (b - a) * t` for t < 0.5 and
    // `b - (b - a) * (1 - t)` above; the naive `a * (1 - t) + b * t` gives
    // 36.400000000000006 for the first and 0.27999999999999997 for the third.
    let p = fed(&[66.0], &[10.0, 20.0, 30.0, 40.0, 50.0]);
    assert_eq!(p.get().get("p66"), Some(36.4));
    let p = fed(&[95.0], &(1..=10).map(f64::from).collect::<Vec<_>>());
    assert_eq!(p.get().get("p95"), Some(9.549999999999999));
    let p = fed(&[10.0, 90.0], &[0.3, 0.1, 0.2]);
    assert_eq!(p.get().get("p10"), Some(0.12000000000000001));
    assert_eq!(p.get().get("p90"), Some(0.28));
    let p = fed(&[99.9], &[1.0, 2.0, 3.0, 4.0]);
    assert_eq!(p.get().get("p99.9"), Some(3.9970000000000003));
}

#[test]
fn exact_ranks_need_no_interpolation() {
    let xs: Vec<f64> = (0..=100).map(f64::from).collect();
    let p = fed(&[0.0, 1.0, 50.0, 99.0, 100.0], &xs);
    assert_eq!(
        json(&p),
        r#"{"n":101,"p0":0.0,"p1":1.0,"p50":50.0,"p99":99.0,"p100":100.0,"min":0.0,"max":100.0}"#
    );
}

#[test]
fn one_sample_is_every_quantile() {
    let p = fed(&[0.0, 50.0, 99.9, 100.0], &[7.25]);
    assert_eq!(
        json(&p),
        r#"{"n":1,"p0":7.25,"p50":7.25,"p99.9":7.25,"p100":7.25,"min":7.25,"max":7.25}"#
    );
}

#[test]
fn key_names_are_the_shortest_form_of_the_number() {
    let p = fed(&[50.0, 99.9, 0.5, 100.0, 12.25, 99.99, 0.0], &[]);
    let keys: Vec<String> = p.get().quantiles.into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        ["p50", "p99.9", "p0.5", "p100", "p12.25", "p99.99", "p0"]
    );
    let p = fed(&[-0.0], &[1.0]);
    assert_eq!(json(&p), r#"{"n":1,"p0":1.0,"min":1.0,"max":1.0}"#);
}

#[test]
fn keys_keep_the_given_order_and_a_repeated_quantile_appears_once() {
    let p = fed(&[99.0, 50.0, 50.0, 99.0, 1.0], &[1.0, 2.0, 3.0]);
    assert_eq!(p.quantiles(), [99.0, 50.0, 1.0]);
    assert_eq!(
        json(&p),
        r#"{"n":3,"p99":2.98,"p50":2.0,"p1":1.02,"min":1.0,"max":3.0}"#
    );
}

#[test]
fn a_sample_exactly_window_old_still_counts() {
    let clock = ManualClock::new();
    let p = field(&clock, &[50.0]);
    p.update(1.0);
    clock.advance(W / 2);
    p.update(3.0);
    clock.advance(W / 2);
    assert_eq!(p.get().n, 2, "the first sample is exactly `window` old");
    assert_eq!(p.get().get("p50"), Some(2.0));
    clock.advance(NS);
    let g = p.get();
    assert_eq!((g.n, g.min, g.max, g.get("p50")), (1, 3.0, 3.0, Some(3.0)));
    clock.advance(W / 2);
    assert_eq!(p.get().n, 0);
    assert_eq!(json(&p), r#"{"n":0,"p50":0.0,"min":0.0,"max":0.0}"#);
}

#[test]
fn expired_samples_go_on_update_too() {
    let clock = ManualClock::new();
    let p = SlidingPercentiles::with_clock(W, &[50.0], 3, &clock.clock()).unwrap();
    p.update(100.0);
    p.update(100.0);
    clock.advance(W + NS);
    p.update(1.0);
    p.update(2.0);
    p.update(3.0);
    let g = p.get();
    assert_eq!((g.n, g.min, g.max), (3, 1.0, 3.0));
}

#[test]
fn the_cap_drops_the_oldest_first() {
    let clock = ManualClock::new();
    let p = SlidingPercentiles::with_clock(W, &[50.0], 3, &clock.clock()).unwrap();
    for x in [10.0, 1.0, 2.0, 3.0] {
        p.update(x);
        clock.advance(Duration::from_secs(1));
    }
    let g = p.get();
    assert_eq!((g.n, g.min, g.max, g.get("p50")), (3, 1.0, 3.0, Some(2.0)));
    p.update(0.5);
    let g = p.get();
    assert_eq!((g.n, g.min, g.max), (3, 0.5, 3.0));

    let one = SlidingPercentiles::with_clock(W, &[50.0], 1, &clock.clock()).unwrap();
    one.update(1.0);
    one.update(2.0);
    assert_eq!(
        serde_json::to_string(&one).unwrap(),
        r#"{"n":1,"p50":2.0,"min":2.0,"max":2.0}"#
    );
}

#[test]
fn nan_and_infinite_samples_are_ignored() {
    let p = fed(
        &[50.0],
        &[1.0, f64::NAN, f64::INFINITY, 3.0, f64::NEG_INFINITY],
    );
    assert_eq!(json(&p), r#"{"n":2,"p50":2.0,"min":1.0,"max":3.0}"#);
}

#[test]
fn extreme_samples_give_finite_quantiles() {
    let p = fed(&[0.0, 25.0, 50.0, 75.0, 100.0], &[-f64::MAX, f64::MAX]);
    let g = p.get();
    for (k, v) in &g.quantiles {
        assert!(v.is_finite(), "{k} = {v}");
    }
    assert_eq!(g.get("p0"), Some(-f64::MAX));
    assert_eq!(g.get("p100"), Some(f64::MAX));
    assert_eq!(g.get("p50"), Some(0.0));
    let p = fed(&[10.0, 50.0, 90.0], &[f64::MAX, f64::MAX]);
    assert_eq!(p.get().get("p50"), Some(f64::MAX));
}

#[test]
fn reset_drops_every_sample() {
    let p = fed(&[50.0], &[1.0, 2.0]);
    p.reset();
    assert_eq!(json(&p), r#"{"n":0,"p50":0.0,"min":0.0,"max":0.0}"#);
    p.update(5.0);
    assert_eq!(p.get().n, 1);
}

#[test]
fn snapshot_round_trips_through_json() {
    let g = fed(&[50.0, 99.9], &[1.0, 2.0, 4.0]).get();
    let text = serde_json::to_string(&g).unwrap();
    assert_eq!(
        text,
        r#"{"n":3,"p50":2.0,"p99.9":3.9960000000000004,"min":1.0,"max":4.0}"#
    );
    let back: PercentilesSnapshot = serde_json::from_str(&text).unwrap();
    assert_eq!(back, g);
    assert_eq!(back.get("p99.9"), Some(3.9960000000000004));
    assert_eq!(back.get("p12"), None);
}

#[test]
fn bad_parameters() {
    let clock = ManualClock::new().clock();
    let make = |w, qs: &[f64], max| SlidingPercentiles::with_clock(w, qs, max, &clock);
    assert_eq!(
        make(Duration::ZERO, &[50.0], 10).unwrap_err(),
        Error::Window(Duration::ZERO)
    );
    for q in [101.0, -1.0, 100.0 + 1e-9, f64::INFINITY] {
        assert_eq!(make(W, &[50.0, q], 10).unwrap_err(), Error::Quantile(q));
    }
    assert!(matches!(make(W, &[f64::NAN], 10), Err(Error::Quantile(q)) if q.is_nan()));
    assert_eq!(make(W, &[], 10).unwrap_err(), Error::NoQuantiles);
    assert_eq!(make(W, &[50.0], 0).unwrap_err(), Error::MaxSamples);
}

#[test]
fn samples_of_several_threads_share_the_window_and_the_cap() {
    let clock = ManualClock::new();
    let p = SlidingPercentiles::with_clock(W, &[50.0], 100, &clock.clock()).unwrap();
    // Old samples from one thread, newer ones from another: the cap keeps
    // the 100 most recent of all, whichever thread took them.
    std::thread::scope(|s| {
        s.spawn(|| (0..100).for_each(|_| p.update(1.0)));
    });
    clock.advance(Duration::from_secs(1));
    std::thread::scope(|s| {
        s.spawn(|| (0..60).for_each(|_| p.update(2.0)));
    });
    clock.advance(Duration::from_secs(1));
    p.update(3.0);
    let g = p.get();
    assert_eq!(g.n, 100);
    assert_eq!((g.min, g.max), (1.0, 3.0));
    // 39 ones, 60 twos, one three.
    assert_eq!(g.get("p50"), Some(2.0));
    // The window applies to every thread's samples.
    clock.advance(W - Duration::from_secs(1));
    let g = p.get();
    assert_eq!(
        (g.n, g.min, g.max),
        (61, 2.0, 3.0),
        "the ones are older than the window"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(p.get().n, 1);
    p.reset();
    assert_eq!(p.get().n, 0);
}
