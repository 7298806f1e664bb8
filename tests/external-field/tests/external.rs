//! Field types of this crate's own in a derived state, next to built-in
//! fields: their JSON, snapshot, description and metrics go through
//! `Field` and `Build` like the built-in ones'.

use std::sync::Arc;

use monsta::{
    AppState, FieldKind, StatusReporter,
    fields::{Counter, Value},
    prometheus::{Format, StateCollector},
};
use monsta_external_field_test::{MaxGauge, Ratio, RatioSnapshot};

#[derive(AppState)]
#[monsta(prefix = "shop")]
struct State {
    /// Orders taken.
    orders: Counter,
    /// The longest queue seen.
    #[monsta(field, unit = "jobs")]
    peak_queue: MaxGauge,
    /// Cache lookups.
    #[monsta(field, rename = "cache")]
    cache_lookups: Ratio,
    /// What the shop is doing.
    status: Value<String>,
}

fn filled() -> State {
    let state = State::new();
    state.transaction(|tx| {
        tx.orders.inc(2);
        tx.peak_queue.set(7);
        tx.peak_queue.set(3);
        for hit in [true, true, false, true] {
            tx.cache_lookups.record(hit);
        }
        tx.status.set("open".into());
    });
    state
}

#[test]
fn json_and_snapshot() {
    let fresh = serde_json::to_string(&State::new()).unwrap();
    assert_eq!(
        fresh,
        r#"{"orders":0,"peak_queue":0,"cache":{"hits":0,"misses":0,"ratio":null},"status":""}"#
    );

    let state = filled();
    let json = serde_json::to_string(&state).unwrap();
    assert_eq!(
        json,
        r#"{"orders":2,"peak_queue":7,"cache":{"hits":3,"misses":1,"ratio":0.75},"status":"open"}"#
    );
    let snapshot = state.snapshot();
    assert_eq!(snapshot.peak_queue, 7);
    let cache = RatioSnapshot {
        hits: 3,
        misses: 1,
        ratio: Some(0.75),
    };
    assert_eq!(snapshot.cache_lookups, cache);
    assert_eq!(serde_json::to_string(&snapshot).unwrap(), json);
    let back: StateSnapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, snapshot);
}

#[test]
fn described_with_their_own_kinds() {
    let kinds: Vec<(&str, FieldKind)> = State::describe()
        .iter()
        .map(|info| (info.name, info.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("orders", FieldKind::Counter),
            ("peak_queue", FieldKind::Custom("MaxGauge")),
            ("cache", FieldKind::Custom("Ratio")),
            ("status", FieldKind::Value),
        ]
    );
}

#[test]
fn metrics_through_the_collector() {
    let state = Arc::new(filled());
    let text = StateCollector::new(state)
        .render(Format::Text, None)
        .unwrap();
    let expected = [
        "# HELP shop_orders_total Orders taken.",
        "# TYPE shop_orders_total counter",
        "shop_orders_total 2",
        "# HELP shop_peak_queue_jobs The longest queue seen.",
        "# TYPE shop_peak_queue_jobs gauge",
        "shop_peak_queue_jobs 7.0",
        "# HELP shop_cache_hits_total Cache lookups. (hits)",
        "# TYPE shop_cache_hits_total counter",
        "shop_cache_hits_total 3",
        "# HELP shop_cache_misses_total Cache lookups. (misses)",
        "# TYPE shop_cache_misses_total counter",
        "shop_cache_misses_total 1",
        "# HELP shop_status_info What the shop is doing.",
        "# TYPE shop_status_info gauge",
        "shop_status_info{value=\"open\"} 1",
    ];
    assert_eq!(text.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn metrics_through_the_reporter() {
    let mon = StatusReporter::builder().build();
    mon.publish_state(Arc::new(filled()));
    let text = mon.render_metrics(Format::OpenMetrics).unwrap();
    assert!(text.contains("# UNIT shop_peak_queue_jobs jobs\n"));
    assert!(text.contains("\nshop_peak_queue_jobs 7.0\n"));
    assert!(text.contains("\nshop_cache_hits_total 3\n"));
    assert!(text.contains("\nshop_cache_misses_total 1\n"));
    assert!(text.ends_with("# EOF\n"));
}

/// A key of the type's own, checked at compile time and read by its
/// `Build` impl.
#[derive(AppState)]
struct Started {
    #[monsta(field, start = 40)]
    peak: MaxGauge,
    #[monsta(field)]
    unset: MaxGauge,
}

#[test]
fn keys_of_its_own() {
    let state = Started::new();
    state.peak.set(12);
    assert_eq!(
        serde_json::to_string(&state).unwrap(),
        r#"{"peak":40,"unset":0}"#
    );
}

#[test]
fn built_with_the_state() {
    // `Build` builds it: a fresh state starts at the type's own default.
    let state = State::try_with_clock(&monsta::Clock::system()).unwrap();
    assert_eq!(state.peak_queue.get(), 0);
    assert_eq!(state.cache_lookups.get().ratio, None);
}
