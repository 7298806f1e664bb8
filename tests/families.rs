//! Families of labelled series and histograms in a derived state: their
//! JSON and snapshot, overflow past `max_series`, expiry on a manual clock,
//! `remove` and `clear`, kept handles, concurrent updates (property tests),
//! and their Prometheus exposition, checked by promtool and Python's
//! parsers, hostile label values included.

#![cfg(all(feature = "derive", feature = "prometheus"))]

#[path = "../monsta-prometheus/tests/common/mod.rs"]
mod prom;

use std::{
    sync::{Arc, mpsc},
    thread,
    time::Duration,
};

use monsta::{
    AppState, Clock, Labels, ManualClock,
    fields::*,
    prometheus::{Format, StateCollector},
};
use proptest::prelude::*;
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Labels)]
enum Method {
    Get,
    #[allow(dead_code)]
    Post,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Labels)]
struct Route {
    method: Method,
    path: &'static str,
}

#[derive(AppState)]
struct Service {
    /// Request latency.
    #[monsta(unit = "seconds", buckets = [0.01, 0.1, 1])]
    latency: Histogram,
    /// Response sizes.
    #[monsta(buckets = exponential_buckets(1, 2, 4))]
    sizes: Histogram,
    /// Requests by route and status.
    #[monsta(labels = ["route", "status"])]
    requests: Family<(String, u16), Counter>,
    /// Recent requests by route.
    #[monsta(window = "60s")]
    recent: Family<Route, SlidingWindow>,
    /// Latency by route, at most two routes.
    #[monsta(labels = ["route"], buckets = linear_buckets(0.1, 0.1, 3), max_series = 2)]
    by_route: Family<&'static str, Histogram>,
    /// Statistics per shard.
    #[monsta(labels = ["shard"])]
    stats: Family<u8, RunningStats>,
    /// Percentiles per queue.
    #[monsta(labels = ["queue"], quantiles = [50, 99], max_samples = 100)]
    waits: Family<&'static str, SlidingPercentiles>,
    /// Temperatures per room, forgotten after ten minutes.
    #[monsta(labels = ["room"], expire_after = "10m")]
    rooms: Family<String, Gauge>,
}

fn filled(clock: &Clock) -> Service {
    let s = Service::with_clock(clock);
    s.latency.observe(0.005);
    s.latency.observe(0.05);
    s.latency.observe(5.0);
    s.sizes.observe(3.0);
    s.requests.with(&("/", 200), |c| c.inc(3));
    s.requests.with(&("/login", 500), |c| c.inc(1));
    s.recent.with(
        &Route {
            method: Method::Get,
            path: "/",
        },
        |w| w.inc(2.0),
    );
    s.by_route.with(&"/", |h| h.observe(0.15));
    s.stats.with(&3, |r| r.update(2.0));
    s.waits.with(&"mail", |p| p.update(1.0));
    s.rooms.with(&"kitchen", |g| g.set(21.5));
    s
}

#[test]
fn json_has_the_documented_shapes_and_the_snapshot_round_trips() {
    let clock = ManualClock::new();
    let s = filled(&clock.clock());
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(
        json["latency"],
        json!({"count": 3, "sum": 5.055, "buckets": [[0.01, 1], [0.1, 2], [1.0, 2]]})
    );
    assert_eq!(
        json["sizes"]["buckets"],
        json!([[1.0, 0], [2.0, 0], [4.0, 1], [8.0, 1]])
    );
    assert_eq!(
        json["requests"],
        json!([
            {"labels": {"route": "/", "status": "200"}, "value": 3},
            {"labels": {"route": "/login", "status": "500"}, "value": 1},
        ])
    );
    assert_eq!(
        json["recent"],
        json!([{"labels": {"method": "Get", "path": "/"}, "value": 2.0}])
    );
    assert_eq!(json["stats"][0]["labels"], json!({"shard": "3"}));
    assert_eq!(json["waits"][0]["value"]["p99"], json!(1.0));
    let back: ServiceSnapshot = serde_json::from_value(json).unwrap();
    assert_eq!(back, s.snapshot());
    assert_eq!(back.requests[1].labels.get("route"), Some("/login"));
}

#[test]
fn past_max_series_new_label_sets_fold_into_the_overflow_series() {
    let s = Service::new();
    s.by_route.with(&"/a", |h| h.observe(0.1));
    s.by_route.with(&"/b", |h| h.observe(0.1));
    let folded = s.by_route.get(&"/c");
    assert!(folded.is_overflow());
    folded.observe(0.2);
    s.by_route.with(&"/d", |h| h.observe(0.3));
    // An existing series is still found.
    assert!(!s.by_route.get(&"/a").is_overflow());
    assert_eq!(s.by_route.len(), 2);
    assert_eq!(s.by_route.overflowed(), 2);
    let json = serde_json::to_value(&s.by_route).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);
    assert_eq!(json[2]["labels"], json!({"overflow": "true"}));
    assert_eq!(json[2]["value"]["count"], json!(2));
    s.by_route.clear();
    assert!(s.by_route.is_empty());
    assert_eq!(s.by_route.overflowed(), 0);
    assert_eq!(serde_json::to_value(&s.by_route).unwrap(), json!([]));
}

#[test]
fn untouched_series_expire_but_not_while_a_handle_lives() {
    let clock = ManualClock::new();
    let s = Service::with_clock(&clock.clock());
    assert_eq!(s.rooms.expire_after(), Some(Duration::from_secs(600)));
    s.rooms.with(&"attic", |g| g.set(1.0));
    let kitchen = s.rooms.get(&"kitchen");
    clock.advance(Duration::from_secs(300));
    s.rooms.with(&"hall", |g| g.set(2.0));
    clock.advance(Duration::from_secs(301));
    // The attic went untouched for 601 s; the kitchen has a live handle.
    let rooms: Vec<_> = s
        .snapshot()
        .rooms
        .iter()
        .map(|r| r.labels.0[0].1.clone())
        .collect();
    assert_eq!(rooms, ["kitchen", "hall"]);
    // An update through the kept handle is not lost.
    kitchen.set(19.0);
    clock.advance(Duration::from_secs(3600));
    assert_eq!(s.rooms.expire(), 1, "the hall expires, the kitchen is held");
    assert_eq!(s.snapshot().rooms[0].value, 19.0);
    drop(kitchen);
    // Seen with a handle an hour ago at the last sweep: ten minutes more.
    clock.advance(Duration::from_secs(599));
    assert_eq!(s.rooms.expire(), 0);
    clock.advance(Duration::from_secs(2));
    assert_eq!(s.rooms.expire(), 1);
    assert!(s.rooms.is_empty());
}

#[test]
fn remove_drops_one_series_and_a_kept_handle_still_updates_its_child() {
    let s = Service::new();
    let ok = s.requests.get(&("/", 200));
    s.requests.with(&("/x", 404), |c| c.inc(1));
    assert!(s.requests.remove(&("/", 200)));
    assert!(!s.requests.remove(&("/", 200)));
    ok.inc(5);
    assert_eq!(ok.get(), 5);
    assert_eq!(s.snapshot().requests.len(), 1);
    // A new lookup makes a new series.
    assert_eq!(s.requests.get(&("/", 200)).get(), 0);
}

#[test]
fn holding_a_series_never_blocks_getting_another() {
    let s = Arc::new(Service::new());
    let (tx, rx) = mpsc::channel();
    let t = {
        let s = Arc::clone(&s);
        thread::spawn(move || {
            let held = s.requests.get(&("/", 200));
            // A closure on one series that creates and updates others.
            s.requests.with(&("/a", 200), |a| {
                a.inc(1);
                for i in 0..100u16 {
                    s.requests.with(&("/b", i), |b| b.inc(1));
                    s.requests.remove(&("/b", i));
                }
                held.inc(1);
            });
            tx.send(held.get()).unwrap();
        })
    };
    let got = rx.recv_timeout(Duration::from_secs(10));
    assert_eq!(got, Ok(1), "a lookup blocked while a series was held");
    t.join().unwrap();
}

#[test]
fn bad_runtime_parameters_are_errors() {
    assert!(matches!(
        Family::<(String, u16), Counter>::with_labels(&["route"]),
        Err(monsta::Error::Labels(_))
    ));
    assert!(matches!(
        Family::<(String, u16), Counter>::new(),
        Err(monsta::Error::Labels(_))
    ));
    assert!(matches!(
        Family::<&'static str, Counter>::with_labels(&["le"]),
        Err(monsta::Error::Labels(_))
    ));
    let zero = FieldConfig {
        labels: Some(&["a"]),
        max_series: Some(0),
        ..Default::default()
    };
    assert!(matches!(
        Family::<&'static str, Counter>::with_config(&zero, &Clock::system()),
        Err(monsta::Error::MaxSeries)
    ));
    assert!(matches!(
        Histogram::new(&[1.0, 1.0]),
        Err(monsta::Error::Buckets(_))
    ));
    assert!(Family::<Route, Counter>::new().is_ok());
}

fn hostile() -> Service {
    let s = filled(&Clock::system());
    s.requests
        .with(&("a \"quoted\" \\ back\nslash", 418), |c| c.inc(7));
    s.requests.with(&("ünï{}=,", 200), |c| c.inc(1));
    s
}

#[test]
fn the_exposition_passes_promtool_and_both_python_parsers() {
    let s = Arc::new(hostile());
    let collector = StateCollector::new(Arc::clone(&s));
    let text = collector.render(Format::Text, None).unwrap();
    let om = collector.render(Format::OpenMetrics, None).unwrap();
    for line in [
        "# TYPE latency_seconds histogram",
        "latency_seconds_bucket{le=\"0.01\"} 1",
        "latency_seconds_bucket{le=\"+Inf\"} 3",
        "latency_seconds_count 3",
        "# TYPE requests_total counter",
        "requests_total{route=\"/\",status=\"200\"} 3",
        "by_route_bucket{le=\"0.2\",route=\"/\"} 1",
        "by_route_bucket{le=\"0.3\",route=\"/\"} 1",
        "waits{queue=\"mail\",percentile=\"99\"} 1.0",
        "recent{method=\"Get\",path=\"/\"} 2.0",
        "# TYPE recent_added_total counter",
        "recent_added_total{method=\"Get\",path=\"/\"} 2.0",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
    }
    assert!(om.contains("# TYPE requests counter\n"), "{om}");
    assert!(om.contains("# TYPE recent_added counter\n"), "{om}");
    assert!(
        om.contains("recent_added_total{method=\"Get\",path=\"/\"} 2.0\n"),
        "{om}"
    );
    assert!(
        om.contains("requests_total{route=\"/\",status=\"200\"} 3\n"),
        "{om}"
    );
    if prom::have_promtool() {
        prom::assert_promtool_clean(&text);
    }
    if prom::have_python() {
        for (format, body) in [("text", &text), ("openmetrics", &om)] {
            let parsed = prom::python_parse(body, format);
            let hostile = parsed
                .iter()
                .find(|p| p.labels.get("status").map(String::as_str) == Some("418"))
                .unwrap_or_else(|| panic!("no hostile series in {format}"));
            assert_eq!(hostile.labels["route"], "a \"quoted\" \\ back\nslash");
            assert_eq!(hostile.value, 7.0);
            let unicode = parsed
                .iter()
                .find(|p| p.labels.get("route").map(String::as_str) == Some("ünï{}=,"));
            assert_eq!(unicode.map(|p| p.value), Some(1.0), "{format}");
            let inf = parsed
                .iter()
                .find(|p| {
                    p.name == "latency_seconds_bucket"
                        && p.labels.get("le").map(String::as_str) == Some("+Inf")
                })
                .unwrap_or_else(|| panic!("no +Inf bucket in {format}"));
            assert_eq!(inf.value, 3.0);
            let added = parsed
                .iter()
                .find(|p| p.name == "recent_added_total")
                .unwrap_or_else(|| panic!("no recent_added_total in {format}"));
            assert_eq!((added.kind.as_str(), added.value), ("counter", 2.0));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn every_family_total_is_the_sum_of_its_updates(
        updates in prop::collection::vec((0usize..6, 0u16..3, 1u64..50), 1..300),
        threads in 1usize..4,
    ) {
        const ROUTES: [&str; 6] = ["/", "/a", "/b", "/c", "/d", "/e"];
        let s = Service::new();
        thread::scope(|scope| {
            for chunk in updates.chunks(updates.len().div_ceil(threads)) {
                let s = &s;
                scope.spawn(move || {
                    for &(route, status, n) in chunk {
                        let labels = (ROUTES[route], 200 + status);
                        if n % 2 == 0 {
                            s.requests.get(&labels).inc(n);
                        } else {
                            s.requests.with(&labels, |c| c.inc(n));
                        }
                        s.stats.with(&(route as u8), |r| r.update(n as f64));
                    }
                });
            }
        });
        let snap = s.snapshot();
        let total: u64 = snap.requests.iter().map(|r| r.value).sum();
        prop_assert_eq!(total, updates.iter().map(|u| u.2).sum::<u64>());
        for series in &snap.requests {
            let route = series.labels.get("route").unwrap();
            let status: u16 = series.labels.get("status").unwrap().parse().unwrap();
            let expected: u64 = updates
                .iter()
                .filter(|u| ROUTES[u.0] == route && 200 + u.1 == status)
                .map(|u| u.2)
                .sum();
            prop_assert_eq!(series.value, expected);
        }
        let n: u64 = snap.stats.iter().map(|r| r.value.n).sum();
        prop_assert_eq!(n, updates.len() as u64);
    }
}

#[test]
fn a_snapshot_never_sees_half_of_a_transaction_across_series() {
    let s = Arc::new(Service::new());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (s, stop) = (Arc::clone(&s), Arc::clone(&stop));
        thread::spawn(move || {
            let mut i = 0u16;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // One request counted in two series: `/left`, and one of
                // fifty `/right` series (created by the first ones).
                s.transaction(|tx| {
                    tx.requests.with(&("/left", 200), |c| c.inc(1));
                    tx.requests.with(&("/right", i % 50), |c| c.inc(1));
                });
                i = i.wrapping_add(1);
            }
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_millis(300);
    let mut seen = 0;
    while std::time::Instant::now() < deadline {
        let snap = s.snapshot();
        let left: u64 = snap
            .requests
            .iter()
            .filter(|r| r.labels.get("route") == Some("/left"))
            .map(|r| r.value)
            .sum();
        let right: u64 = snap
            .requests
            .iter()
            .filter(|r| r.labels.get("route") == Some("/right"))
            .map(|r| r.value)
            .sum();
        assert_eq!(left, right, "a snapshot saw half a transaction");
        seen += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert!(seen > 0);
    assert!(
        s.snapshot().requests.len() > 1,
        "the writer made no progress"
    );
}

#[test]
fn at_the_cap_an_expiring_family_makes_room_from_expired_series() {
    #[derive(AppState)]
    struct Small {
        #[monsta(labels = ["room"], max_series = 2, expire_after = "1m")]
        rooms: Family<&'static str, Gauge>,
    }
    let clock = ManualClock::new();
    let s = Small::with_clock(&clock.clock());
    s.rooms.with(&"a", |g| g.set(1.0));
    s.rooms.with(&"b", |g| g.set(1.0));
    clock.advance(Duration::from_secs(61));
    // Both are expired: the new label set gets a series of its own.
    assert!(!s.rooms.get(&"c").is_overflow());
    assert_eq!(s.rooms.len(), 1);
    assert_eq!(s.rooms.overflowed(), 0);
    s.rooms.with(&"d", |g| g.set(1.0));
    // Full of live series: folded.
    assert!(s.rooms.get(&"e").is_overflow());
    assert_eq!(s.rooms.overflowed(), 1);
}

/// Counts the warnings logged through `tracing`, with their messages.
#[derive(Clone, Default)]
struct Warnings(Arc<std::sync::Mutex<Vec<String>>>);

impl tracing::Subscriber for Warnings {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={v:?}", f.name()));
            }
        }
        if *event.metadata().level() == tracing::Level::WARN {
            let mut m = Message(String::new());
            event.record(&mut m);
            self.0.lock().unwrap().push(m.0);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn the_first_fold_logs_one_warning() {
    let warnings = Warnings::default();
    tracing::subscriber::with_default(warnings.clone(), || {
        let s = Service::new();
        for route in ["/a", "/b", "/c", "/d", "/e"] {
            s.by_route.with(&route, |h| h.observe(0.1));
        }
        assert_eq!(s.by_route.overflowed(), 3);
    });
    let logged = warnings.0.lock().unwrap().clone();
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(logged[0].contains("max_series=2"), "{logged:?}");
    assert!(logged[0].contains("overflow"), "{logged:?}");
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Labels)]
struct Endpoint {
    method: Method,
    path: String,
    status: u16,
}

#[test]
fn a_derived_label_struct_is_looked_up_by_a_borrowed_tuple_of_its_fields() {
    let family: Family<Endpoint, Counter> = Family::new().unwrap();
    let owned = Endpoint {
        method: Method::Get,
        path: "/users".to_owned(),
        status: 200,
    };
    family.with(&owned, |c| c.inc(1));
    // The same series through `&str`: no second series, no allocation of a
    // `String` for a series that exists.
    family.with(&(Method::Get, "/users", 200u16), |c| c.inc(2));
    let handle = family.get(&(Method::Get, "/users", 200u16));
    assert_eq!(family.len(), 1);
    assert_eq!(handle.get(), 3);
    assert_eq!(handle.labels(), Some(&owned));
    // A new label set through a tuple is stored as the struct.
    family.with(&(Method::Get, "/orders", 404u16), |c| c.inc(1));
    assert_eq!(family.len(), 2);
    assert!(family.remove(&(Method::Get, "/orders", 404u16)));
    assert_eq!(family.len(), 1);
    assert_eq!(
        serde_json::to_value(&family).unwrap(),
        json!([{"labels": {"method": "Get", "path": "/users", "status": "200"}, "value": 3}])
    );
}

/// A label struct whose `Hash` is written by hand, unlike the tuple's.
#[derive(Debug, Clone, PartialEq, Eq, Labels)]
struct HandHashed {
    path: String,
}

impl std::hash::Hash for HandHashed {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u8(7);
        self.path.hash(state);
    }
}

#[test]
fn a_tuple_that_hashes_unlike_its_label_struct_still_finds_the_one_series() {
    let family: Family<HandHashed, Counter> = Family::new().unwrap();
    family.with(
        &HandHashed {
            path: "/a".to_owned(),
        },
        |c| c.inc(1),
    );
    for _ in 0..3 {
        family.with(&("/a",), |c| c.inc(1));
    }
    assert_eq!(family.len(), 1);
    assert_eq!(family.get(&("/a",)).get(), 4);
    assert!(family.remove(&("/a",)));
    assert!(family.is_empty());
}

#[test]
fn a_family_counter_shards_itself_only_when_two_threads_update_it() {
    let family: Family<&'static str, Counter> = Family::with_labels(&["k"]).unwrap();
    let quiet = family.get(&"quiet");
    quiet.inc(1);
    assert!(!quiet.is_sharded(), "one thread: one atomic");
    let busy = family.get(&"busy");
    // Rounds of 4 threads at once until the series has its shards (the
    // first round does it on any machine with two cores), bounded.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut expected = 0;
    while !busy.is_sharded() && std::time::Instant::now() < deadline {
        let start = std::sync::Barrier::new(4);
        thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    start.wait();
                    for _ in 0..50_000 {
                        busy.inc(1);
                    }
                });
            }
        });
        expected += 200_000;
        assert_eq!(busy.get(), expected, "no update lost across the change");
    }
    assert!(busy.is_sharded(), "contention makes shards");
    assert!(!quiet.is_sharded());
}
