//! The `Field` trait every field implements: kind, typed reference,
//! snapshot, and reading a snapshot back from the JSON it wrote.

use std::time::Duration;

use monsta_core::{
    Field, FieldKind,
    clock::ManualClock,
    fields::{
        Counter, Ewma, Gauge, LeakyBucket, PeriodicSum, RunningStats, SampledWindow,
        SlidingPercentiles, SlidingWindow, Value,
    },
};

/// Serializes the field, reads the JSON back with the field's own reader, and
/// returns it with the snapshot taken at the same time.
fn round_trip<F: Field + serde::Serialize>(f: &F) -> (F::Snapshot, F::Snapshot) {
    let text = serde_json::to_string(f).unwrap();
    let mut de = serde_json::Deserializer::from_str(&text);
    (F::deserialize_snapshot(&mut de).unwrap(), f.snapshot())
}

#[test]
fn kinds_and_references() {
    let clock = ManualClock::new();
    let c = clock.clock();
    let counter = Counter::new();
    let gauge = Gauge::new();
    let value = Value::new(1u32);
    let window = SlidingWindow::with_clock(Duration::from_secs(1), &c).unwrap();
    let sum = PeriodicSum::with_clock("00:00", Some("UTC"), &c).unwrap();
    let ewma = Ewma::new(0.5, None).unwrap();
    let stats = RunningStats::new();
    let sampled = SampledWindow::with_clock(Duration::from_secs(1), 0.0, &c).unwrap();
    let bucket = LeakyBucket::with_clock(1.0, 1.0, &c).unwrap();
    let pct = SlidingPercentiles::with_clock(Duration::from_secs(1), &[50.0], 10, &c).unwrap();

    assert_eq!(Counter::KIND, FieldKind::Counter);
    assert_eq!(Gauge::KIND, FieldKind::Gauge);
    assert_eq!(Value::<u32>::KIND, FieldKind::Value);
    assert_eq!(SlidingWindow::KIND, FieldKind::SlidingWindow);
    assert_eq!(PeriodicSum::KIND, FieldKind::PeriodicSum);
    assert_eq!(Ewma::KIND, FieldKind::Ewma);
    assert_eq!(RunningStats::KIND, FieldKind::RunningStats);
    assert_eq!(SampledWindow::KIND, FieldKind::SampledWindow);
    assert_eq!(LeakyBucket::KIND, FieldKind::LeakyBucket);
    assert_eq!(SlidingPercentiles::KIND, FieldKind::SlidingPercentiles);

    fn points_to<T: Field + serde::Serialize + 'static>(field: &T) -> bool {
        field
            .as_field_ref()
            .downcast::<T>()
            .is_some_and(|r| std::ptr::eq(r, field))
    }
    assert!(points_to(&counter));
    assert!(points_to(&gauge));
    assert!(points_to(&value));
    assert_eq!(value.as_field_ref().to_json(), serde_json::json!(1));
    assert!(points_to(&window));
    assert!(points_to(&sum));
    assert!(points_to(&ewma));
    assert!(points_to(&stats));
    assert!(points_to(&sampled));
    assert!(points_to(&bucket));
    assert!(points_to(&pct));
    assert!(counter.as_field_ref().downcast::<Gauge>().is_none());
}

#[test]
fn snapshots_read_back_from_json() {
    let clock = ManualClock::new();
    let c = clock.clock();

    let counter = Counter::with_value(u64::MAX);
    let (back, now) = round_trip(&counter);
    assert_eq!(back, now);

    let value = Value::new(vec![String::from("a"), String::from("b")]);
    let (back, now) = round_trip(&value);
    assert_eq!(back, now);

    let ewma = Ewma::new(0.5, None).unwrap();
    assert_eq!(round_trip(&ewma), (None, None));
    ewma.update(0.1);
    ewma.update(0.7);
    let (back, now) = round_trip(&ewma);
    assert_eq!(back, now);

    let stats = RunningStats::new();
    [0.1, 0.25, 1e-300, 3.5e10]
        .iter()
        .for_each(|&x| stats.update(x));
    let (back, now) = round_trip(&stats);
    assert_eq!(back, now);

    let bucket = LeakyBucket::with_clock(3.0, 0.3, &c).unwrap();
    assert!(bucket.request(2.9));
    clock.advance(Duration::from_millis(333));
    let (back, now) = round_trip(&bucket);
    assert_eq!(back, now);

    let pct =
        SlidingPercentiles::with_clock(Duration::from_secs(9), &[33.3, 99.9], 10, &c).unwrap();
    [0.1, 0.2, 0.3, 10.0].iter().for_each(|&x| pct.update(x));
    let (back, now) = round_trip(&pct);
    assert_eq!(back, now);
}

#[test]
fn bare_number_snapshots_read_null_as_nan() {
    let clock = ManualClock::new();
    let c = clock.clock();
    let gauge = Gauge::with_value(f64::INFINITY);
    assert!(round_trip(&gauge).0.is_nan());
    gauge.set(0.1 + 0.2);
    assert_eq!(round_trip(&gauge).0, 0.1 + 0.2);

    let window = SlidingWindow::with_clock(Duration::from_secs(1), &c).unwrap();
    window.inc(f64::NAN);
    assert!(round_trip(&window).0.is_nan());
    let sum = PeriodicSum::with_clock("00:00", Some("UTC"), &c).unwrap();
    sum.set(f64::NEG_INFINITY);
    assert!(round_trip(&sum).0.is_nan());
    let sampled = SampledWindow::with_clock(Duration::from_secs(1), 0.0, &c).unwrap();
    sampled.set(f64::NAN);
    assert!(round_trip(&sampled).0.is_nan());
    sampled.set(2.5);
    assert_eq!(round_trip(&sampled), (2.5, 2.5));
}
