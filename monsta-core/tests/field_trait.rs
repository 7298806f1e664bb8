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

/// Records what an exporter that implements only the required methods of
/// `Samples` receives.
#[derive(Default)]
struct Required(Vec<String>);

impl monsta_core::export::Samples for Required {
    fn counter(&mut self, f: usize, v: u64) {
        self.0.push(format!("counter {f} {v}"));
    }
    fn gauge(&mut self, f: usize, v: f64) {
        self.0.push(format!("gauge {f} {v}"));
    }
    fn labelled(&mut self, f: usize, l: &str, v: f64) {
        self.0.push(format!("labelled {f} {l} {v}"));
    }
    fn info(&mut self, f: usize, v: &str) {
        self.0.push(format!("info {f} {v}"));
    }
}

/// Records every sample through `series`, as a labelled exporter does.
#[derive(Default)]
struct AllSeries(Vec<String>);

impl monsta_core::export::Samples for AllSeries {
    fn counter(&mut self, _: usize, _: u64) {}
    fn gauge(&mut self, f: usize, v: f64) {
        self.0.push(format!("gauge {f} {v}"));
    }
    fn labelled(&mut self, _: usize, _: &str, _: f64) {}
    fn info(&mut self, _: usize, _: &str) {}
    fn series(&mut self, f: usize, labels: &[(&str, &str)], v: monsta_core::export::Sample<'_>) {
        self.0.push(format!("series {f} {labels:?} {v:?}"));
    }
}

#[test]
fn windowed_sums_export_their_value_and_their_total_added() {
    use monsta_core::export::MetricType;
    let clock = ManualClock::starting_at("2024-01-01T12:00:00Z".parse().unwrap());
    let c = clock.clock();
    let window = SlidingWindow::with_clock(Duration::from_secs(10), &c).unwrap();
    let today = PeriodicSum::with_clock("00:00", Some("UTC"), &c).unwrap();
    window.inc(3.0);
    window.inc(0.5);
    today.inc(2.0);
    clock.advance(Duration::from_secs(86_400));
    for (families, added) in [
        (SlidingWindow::FAMILIES, "added"),
        (PeriodicSum::FAMILIES, "added"),
    ] {
        assert_eq!(families.len(), 2);
        assert_eq!(
            (families[0].suffix, families[0].ty),
            ("", MetricType::Gauge)
        );
        assert_eq!(
            (families[1].suffix, families[1].ty),
            (added, MetricType::Counter)
        );
    }
    // An exporter without `counter_f64` or `series` still gets the gauge,
    // and the default methods leave the total out rather than loop.
    let mut required = Required::default();
    window.export(&mut required);
    today.export(&mut required);
    assert_eq!(required.0, ["gauge 0 0", "gauge 0 0"]);
    let mut all = AllSeries::default();
    window.export(&mut all);
    today.export(&mut all);
    assert_eq!(
        all.0,
        [
            "gauge 0 0",
            "series 1 [] CounterF64(3.5)",
            "gauge 0 0",
            "series 1 [] CounterF64(2.0)",
        ]
    );
}
