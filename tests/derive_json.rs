//! `#[derive(AppState)]` on a state of every field kind: construction from the
//! attributes, the exact JSON, the snapshot round trip, `describe` and
//! `visit`.

use std::time::Duration;

use monsta::fields::*;
use monsta::{AppState, FieldInfo, FieldKind, FieldRef, ManualClock, Visitor};
use serde_json::json;

/// The database part of the state, flattened into it.
#[derive(AppState)]
pub struct DbState {
    /// Open connections.
    connections: Gauge,
    #[monsta(help = "Queries run.")]
    queries: Counter,
}

/// A state of every field kind, with a flattened child and a skipped field.
#[derive(AppState)]
pub struct MyState {
    /// Requests in the last minute.
    #[monsta(window = "60s")]
    request_rate: SlidingWindow,
    jobs_today: PeriodicSum,
    #[monsta(reset_at = "06:00", tz = "Europe/Berlin")]
    requests_today: PeriodicSum,
    #[monsta(alpha = 0.1, preset = 0.0)]
    cpu_usage: Ewma,
    latency: RunningStats,
    #[monsta(window = "5s")]
    active_rps: SampledWindow,
    #[monsta(capacity = 100, leak_rate = 10)]
    rate_limiter: LeakyBucket,
    #[monsta(window = "10m", quantiles = [50, 90, 99, 99.9])]
    db_latency: SlidingPercentiles,
    api_calls: Counter,
    status: Value<String>,
    #[monsta(flatten)]
    db: DbState,
    #[monsta(rename = "ver", default = "1.0.0")]
    version: Value<String>,
    #[monsta(skip)]
    scratch: Vec<u8>,
}

fn busy_state() -> (ManualClock, MyState) {
    let clock = ManualClock::new();
    let state = MyState::with_clock(&clock.clock());
    for _ in 0..3 {
        state.request_rate.inc(1.0);
    }
    state.jobs_today.inc(5.0);
    state.requests_today.inc(2.0);
    state.latency.update(10.0);
    state.latency.update(20.0);
    state.active_rps.set(120.0);
    assert!(state.rate_limiter.request(45.0));
    for x in [0.5, 1.0, 2.0] {
        state.db_latency.update(x);
    }
    state.transaction(|tx| {
        tx.api_calls.inc(1);
        tx.status.set("degraded".into());
        tx.cpu_usage.update(95.0);
    });
    state.db.connections.set(3.0);
    state.db.queries.inc(7);
    (clock, state)
}

fn expected() -> serde_json::Value {
    json!({
        "request_rate": 3.0,
        "jobs_today": 5.0,
        "requests_today": 2.0,
        "cpu_usage": 9.5,
        "latency": {"n": 2, "mean": 15.0, "stddev": 5.0, "min": 10.0, "max": 20.0},
        "active_rps": 120.0,
        "rate_limiter": {"level": 45.0, "capacity": 100.0, "full": false},
        "db_latency": {"n": 3, "p50": 1.0, "p90": 1.8, "p99": 1.98, "p99.9": 1.9980000000000002,
                       "min": 0.5, "max": 2.0},
        "api_calls": 1,
        "status": "degraded",
        "connections": 3.0,
        "queries": 7,
        "ver": "1.0.0"
    })
}

#[test]
fn state_serializes_to_the_expected_json() {
    let (_clock, state) = busy_state();
    assert_eq!(serde_json::to_value(&state).unwrap(), expected());
    assert_eq!(serde_json::to_value(state.snapshot()).unwrap(), expected());
}

#[test]
fn fields_serialize_in_declaration_order() {
    let (_clock, state) = busy_state();
    let text = serde_json::to_string(&state).unwrap();
    let keys = [
        "\"request_rate\"",
        "\"jobs_today\"",
        "\"requests_today\"",
        "\"cpu_usage\"",
        "\"latency\"",
        "\"active_rps\"",
        "\"rate_limiter\"",
        "\"db_latency\"",
        "\"api_calls\"",
        "\"status\"",
        "\"connections\"",
        "\"queries\"",
        "\"ver\"",
    ];
    let positions: Vec<usize> = keys
        .iter()
        .map(|k| {
            text.find(k)
                .unwrap_or_else(|| panic!("{k} missing from {text}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "keys out of order in {text}"
    );
    assert!(
        !text.contains("scratch"),
        "a skipped field was serialized: {text}"
    );
    assert!(
        !text.contains("\"version\""),
        "a renamed field kept its name: {text}"
    );
}

#[test]
fn fields_follow_the_clock() {
    let (clock, state) = busy_state();
    clock.advance(Duration::from_secs(6));
    let json = serde_json::to_value(&state).unwrap();
    assert_eq!(
        json["active_rps"],
        json!(0.0),
        "a stale sample reads as `zero`"
    );
    assert_eq!(
        json["rate_limiter"]["level"],
        json!(0.0),
        "45 leaks away at 10/s"
    );
    assert_eq!(json["request_rate"], json!(3.0));
    clock.advance(Duration::from_secs(55)); // t = 61 s: one second into the next window
    let rate = state.snapshot().request_rate;
    assert!(
        (rate - 2.95).abs() < 1e-9,
        "3 hits weighted by 59/60, got {rate}"
    );
    clock.advance(Duration::from_secs(600));
    assert_eq!(
        state.snapshot().db_latency.n,
        0,
        "samples older than 10m are gone"
    );
}

#[test]
fn attributes_configure_the_fields() {
    let clock = ManualClock::new();
    let state = MyState::with_clock(&clock.clock());
    assert_eq!(state.request_rate.window(), Duration::from_secs(60));
    assert_eq!(state.cpu_usage.alpha(), 0.1);
    assert_eq!(state.cpu_usage.get(), Some(0.0), "preset");
    assert_eq!(state.rate_limiter.capacity(), 100.0);
    assert_eq!(state.rate_limiter.leak_rate(), 10.0);
    assert_eq!(state.db_latency.quantiles(), &[50.0, 90.0, 99.0, 99.9]);
    let reset = state.requests_today.reset_at();
    assert_eq!((reset.hour(), reset.minute()), (6, 0));
    assert_eq!(
        state.requests_today.time_zone().iana_name(),
        Some("Europe/Berlin")
    );
    assert_eq!(state.version.get(), "1.0.0");
    assert!(state.scratch.is_empty());
    assert_eq!(state.snapshot().cpu_usage, Some(0.0));
}

#[test]
fn snapshot_round_trips_through_json() {
    let (_clock, state) = busy_state();
    let snapshot: MyStateSnapshot = state.snapshot();
    let text = serde_json::to_string(&snapshot).unwrap();
    let back: MyStateSnapshot = serde_json::from_str(&text).unwrap();
    assert_eq!(back, snapshot);
    assert_eq!(back.db.queries, 7);
    assert_eq!(back.version, "1.0.0");
    assert_eq!(back.db_latency.get("p99"), Some(1.98));
    // The JSON of the state itself reads back too.
    let from_state: MyStateSnapshot =
        serde_json::from_value(serde_json::to_value(&state).unwrap()).unwrap();
    assert_eq!(from_state, snapshot);
}

#[test]
fn null_reads_back_as_nan() {
    let (_clock, state) = busy_state();
    state.db.connections.set(f64::NAN);
    state.request_rate.set(f64::INFINITY);
    let text = serde_json::to_string(&state).unwrap();
    assert!(text.contains("\"connections\":null"), "{text}");
    assert!(text.contains("\"request_rate\":null"), "{text}");
    let back: MyStateSnapshot = serde_json::from_str(&text).unwrap();
    assert!(back.db.connections.is_nan());
    assert!(back.request_rate.is_nan());
    assert_eq!(back.api_calls, 1);
}

#[test]
fn describe_lists_every_field() {
    let fields = MyState::describe();
    let summary: Vec<(&str, &str, FieldKind)> =
        fields.iter().map(|f| (f.name, f.ident, f.kind)).collect();
    assert_eq!(
        summary,
        [
            ("request_rate", "request_rate", FieldKind::SlidingWindow),
            ("jobs_today", "jobs_today", FieldKind::PeriodicSum),
            ("requests_today", "requests_today", FieldKind::PeriodicSum),
            ("cpu_usage", "cpu_usage", FieldKind::Ewma),
            ("latency", "latency", FieldKind::RunningStats),
            ("active_rps", "active_rps", FieldKind::SampledWindow),
            ("rate_limiter", "rate_limiter", FieldKind::LeakyBucket),
            ("db_latency", "db_latency", FieldKind::SlidingPercentiles),
            ("api_calls", "api_calls", FieldKind::Counter),
            ("status", "status", FieldKind::Value),
            ("db", "db", FieldKind::Flatten),
            ("connections", "connections", FieldKind::Gauge),
            ("queries", "queries", FieldKind::Counter),
            ("ver", "version", FieldKind::Value),
        ]
    );
    let help = |ident: &str| fields.iter().find(|f| f.ident == ident).unwrap().help;
    assert_eq!(help("request_rate"), "Requests in the last minute.");
    assert_eq!(help("connections"), "Open connections.");
    assert_eq!(help("queries"), "Queries run.");
    assert_eq!(help("db"), "");
    assert_eq!(help("latency"), "");
}

/// Records what a visitor is shown.
#[derive(Default)]
struct Recorder(Vec<String>);

impl Visitor for Recorder {
    fn field(&mut self, info: &FieldInfo, field: FieldRef<'_>) {
        let value = if let Some(c) = field.downcast::<Counter>() {
            c.get().to_string()
        } else if let Some(g) = field.downcast::<Gauge>() {
            g.get().to_string()
        } else if let Some(w) = field.downcast::<SlidingWindow>() {
            w.get().to_string()
        } else if let Some(s) = field.downcast::<PeriodicSum>() {
            s.get().to_string()
        } else if let Some(e) = field.downcast::<Ewma>() {
            format!("{:?}", e.get())
        } else if let Some(s) = field.downcast::<RunningStats>() {
            s.get().n.to_string()
        } else if let Some(w) = field.downcast::<SampledWindow>() {
            w.get().to_string()
        } else if let Some(b) = field.downcast::<LeakyBucket>() {
            b.get().level.to_string()
        } else if let Some(p) = field.downcast::<SlidingPercentiles>() {
            p.get().n.to_string()
        } else {
            // A `Value`, whatever its type.
            field.to_json().to_string()
        };
        self.0.push(format!("{}={value}", info.name));
    }
    fn enter(&mut self, info: &FieldInfo) {
        self.0.push(format!("enter {}", info.name));
    }
    fn leave(&mut self, info: &FieldInfo) {
        self.0.push(format!("leave {}", info.name));
    }
}

#[test]
fn visit_sees_every_field() {
    let (_clock, state) = busy_state();
    let mut recorder = Recorder::default();
    {
        let _guard = state.lock();
        state.visit(&mut recorder);
    }
    assert_eq!(
        recorder.0,
        [
            "request_rate=3",
            "jobs_today=5",
            "requests_today=2",
            "cpu_usage=Some(9.5)",
            "latency=2",
            "active_rps=120",
            "rate_limiter=45",
            "db_latency=3",
            "api_calls=1",
            "status=\"degraded\"",
            "enter db",
            "connections=3",
            "queries=7",
            "leave db",
            "ver=\"1.0.0\"",
        ]
    );
}

#[test]
fn constructors_agree() {
    let state = MyState::new();
    assert_eq!(state.version.get(), "1.0.0");
    let state = MyState::try_new().unwrap();
    assert_eq!(state.api_calls.get(), 0);
    let state = MyState::default();
    assert_eq!(state.snapshot().rate_limiter.capacity, 100.0);
    let clock = ManualClock::new();
    let state = MyState::try_with_clock(&clock.clock()).unwrap();
    assert_eq!(state.snapshot().db.queries, 0);
    let state = <MyState as AppState>::try_with_clock(&clock.clock()).unwrap();
    assert_eq!(state.snapshot().active_rps, 0.0);
}
