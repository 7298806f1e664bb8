//! The JSON the endpoint serves for each kind of source, over real TCP on
//! loopback: shape, values, uptime and holdoff on a `ManualClock`.

#![cfg(feature = "http")]

mod http_support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use http_support::{get, listener};
use monsta::{
    AppState, Clock, FieldInfo, FieldKind, FieldRef, ManualClock, ServerHandle, StatusReporter,
    Visitor,
    fields::{Counter, Value},
};
use serde::{Deserialize, Serialize};
use serde_json::json;

const PATH: &str = "/mon/v1/state";

/// A tiny state with `AppState` written by hand, so these tests do not
/// depend on the derive.
#[derive(Serialize)]
struct Tiny {
    hits: Counter,
    status: Value<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct TinySnapshot {
    hits: u64,
    status: String,
}

const HITS: FieldInfo = FieldInfo::new("hits", "hits", FieldKind::Counter, "Hits.");
const STATUS: FieldInfo = FieldInfo::new("status", "status", FieldKind::Value, "Status.");

impl AppState for Tiny {
    type Snapshot = TinySnapshot;

    fn try_with_clock(_clock: &Clock) -> Result<Self, monsta::Error> {
        Ok(Tiny {
            hits: Counter::new(),
            status: Value::new("starting".to_owned()),
        })
    }

    fn describe() -> Vec<FieldInfo> {
        vec![HITS, STATUS]
    }

    fn visit(&self, visitor: &mut dyn Visitor) {
        visitor.field(&HITS, FieldRef::new(&self.hits));
        visitor.field(&STATUS, FieldRef::new(&self.status));
    }

    fn snapshot_unlocked(&self) -> TinySnapshot {
        TinySnapshot {
            hits: self.hits.get(),
            status: self.status.get(),
        }
    }
}

fn manual(holdoff: Duration) -> (ManualClock, StatusReporter) {
    let clock = ManualClock::new();
    let mon = StatusReporter::builder()
        .clock(clock.clone())
        .update_holdoff(holdoff)
        .build();
    (clock, mon)
}

async fn serve(mon: &StatusReporter) -> ServerHandle {
    mon.start_on(listener().await).expect("start_on")
}

#[tokio::test]
async fn nothing_published_serves_an_empty_state_with_headers() {
    let (_clock, mon) = manual(Duration::from_secs(5));
    let server = serve(&mon).await;
    let reply = get(server.local_addr(), PATH).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(
        reply.header("content-length"),
        Some(reply.body.len().to_string().as_str())
    );
    assert_eq!(
        reply.json(),
        json!({"internal": {"uptime": 0}, "state": {}})
    );
    server.stop().await;
}

#[tokio::test]
async fn fixed_value_and_start_keeps_what_was_published_before() {
    let (clock, mon) = manual(Duration::ZERO);
    // Published before the server starts: the Python original's `start()`
    // would replace this with an empty state.
    mon.publish(json!({"status": "running", "version": "1.0.0", "nested": {"a": [1, 2]}}));
    let server = serve(&mon).await;
    clock.advance(Duration::from_secs(3));
    let body = get(server.local_addr(), PATH).await.json();
    assert_eq!(
        body,
        json!({"internal": {"uptime": 3},
               "state": {"status": "running", "version": "1.0.0", "nested": {"a": [1, 2]}}})
    );

    // Any serde value, not only maps; publishing again takes effect at once.
    #[derive(Serialize)]
    struct Plain {
        count: u32,
        ratio: f64,
    }
    mon.publish(Plain {
        count: 7,
        ratio: 0.5,
    });
    let body = get(server.local_addr(), PATH).await.json();
    assert_eq!(body["state"], json!({"count": 7, "ratio": 0.5}));
    mon.publish(42);
    assert_eq!(get(server.local_addr(), PATH).await.json()["state"], 42);
    server.stop().await;
}

#[tokio::test]
async fn a_value_that_cannot_be_serialized_is_reported_not_served_broken() {
    use std::collections::HashMap;
    let (_clock, mon) = manual(Duration::ZERO);
    let server = serve(&mon).await;
    mon.publish(json!({"ok": true}));
    assert_eq!(
        get(server.local_addr(), PATH).await.json()["state"],
        json!({"ok": true})
    );
    // JSON object keys must be strings.
    let bad: HashMap<(u8, u8), u8> = HashMap::from([((1, 2), 3)]);
    mon.publish(bad);
    let body = get(server.local_addr(), PATH).await.json();
    assert_eq!(body["state"], json!({"ok": true}), "the last good state");
    let error = body["internal"]["error"].as_str().expect("internal.error");
    assert!(error.contains("could not be serialized"), "{error}");
    server.stop().await;
}

#[tokio::test]
async fn callback_state_and_its_values() {
    let (clock, mon) = manual(Duration::ZERO);
    let requests = Arc::new(AtomicU64::new(0));
    let r = requests.clone();
    mon.publish_with(move || json!({"requests": r.load(Ordering::Relaxed), "status": "ok"}));
    let server = serve(&mon).await;
    requests.store(5, Ordering::Relaxed);
    clock.advance(Duration::from_secs(61));
    assert_eq!(
        get(server.local_addr(), PATH).await.json(),
        json!({"internal": {"uptime": 61}, "state": {"requests": 5, "status": "ok"}})
    );
    requests.store(6, Ordering::Relaxed);
    assert_eq!(
        get(server.local_addr(), PATH).await.json()["state"]["requests"],
        6
    );
    server.stop().await;
}

#[tokio::test]
async fn try_callback_ok_and_err() {
    let (clock, mon) = manual(Duration::from_secs(5));
    let calls = Arc::new(AtomicU64::new(0));
    let c = calls.clone();
    mon.try_publish_with(move || {
        let n = c.fetch_add(1, Ordering::SeqCst) + 1;
        if n == 2 {
            Err(format!("database unreachable (call {n})"))
        } else {
            Ok(json!({"call": n}))
        }
    });
    let server = serve(&mon).await;
    let addr = server.local_addr();
    assert_eq!(get(addr, PATH).await.json()["state"], json!({"call": 1}));

    clock.advance(Duration::from_secs(5));
    let body = get(addr, PATH).await.json();
    assert_eq!(body["state"], json!({"call": 1}), "last good state");
    assert_eq!(
        body["internal"]["error"],
        "state callback failed: database unreachable (call 2)"
    );
    assert_eq!(body["internal"]["uptime"], 5);

    clock.advance(Duration::from_secs(5));
    let body = get(addr, PATH).await.json();
    assert_eq!(
        body,
        json!({"internal": {"uptime": 10}, "state": {"call": 3}})
    );
    server.stop().await;
}

#[tokio::test]
async fn app_state_snapshot() {
    let (_clock, mon) = manual(Duration::ZERO);
    let state = Arc::new(Tiny::try_with_clock(&Clock::system()).expect("state"));
    mon.publish_state(state.clone());
    let server = serve(&mon).await;
    let addr = server.local_addr();
    assert_eq!(
        get(addr, PATH).await.json()["state"],
        json!({"hits": 0, "status": "starting"})
    );
    state.transaction(|tx| {
        tx.hits.inc(3);
        tx.status.set("degraded".to_owned());
    });
    assert_eq!(
        get(addr, PATH).await.json()["state"],
        json!({"hits": 3, "status": "degraded"})
    );
    server.stop().await;
}

#[tokio::test]
async fn async_callbacks_and_their_errors() {
    let (clock, mon) = manual(Duration::from_secs(5));
    let calls = Arc::new(AtomicU64::new(0));
    let c = calls.clone();
    mon.publish_with_async(move || {
        let c = c.clone();
        async move {
            tokio::task::yield_now().await;
            json!({"async_calls": c.fetch_add(1, Ordering::SeqCst) + 1})
        }
    });
    let server = serve(&mon).await;
    let addr = server.local_addr();
    assert_eq!(
        get(addr, PATH).await.json()["state"],
        json!({"async_calls": 1})
    );
    assert_eq!(
        get(addr, PATH).await.json()["state"],
        json!({"async_calls": 1})
    );
    clock.advance(Duration::from_secs(5));
    assert_eq!(
        get(addr, PATH).await.json()["state"],
        json!({"async_calls": 2})
    );

    mon.try_publish_with_async(|| async { Err::<serde_json::Value, _>("upstream timed out") });
    let body = get(addr, PATH).await.json();
    assert_eq!(body["state"], json!({"async_calls": 2}), "last good state");
    assert_eq!(
        body["internal"]["error"],
        "state callback failed: upstream timed out"
    );
    server.stop().await;
}

#[tokio::test]
async fn uptime_counts_whole_seconds_on_the_clock_and_reset_restarts_it() {
    let (clock, mon) = manual(Duration::ZERO);
    mon.publish(json!({"a": 1}));
    let server = serve(&mon).await;
    let addr = server.local_addr();
    let uptime = |v: serde_json::Value| v["internal"]["uptime"].as_u64();
    assert_eq!(uptime(get(addr, PATH).await.json()), Some(0));
    clock.advance(Duration::from_millis(41_999));
    assert_eq!(uptime(get(addr, PATH).await.json()), Some(41));
    clock.advance(Duration::from_millis(1));
    assert_eq!(uptime(get(addr, PATH).await.json()), Some(42));
    assert_eq!(mon.uptime(), Duration::from_secs(42));

    mon.reset();
    let body = get(addr, PATH).await.json();
    assert_eq!(
        body,
        json!({"internal": {"uptime": 0}, "state": {}}),
        "reset clears the state"
    );
    clock.advance(Duration::from_secs(2));
    assert_eq!(uptime(get(addr, PATH).await.json()), Some(2));
    server.stop().await;
}

#[tokio::test]
async fn holdoff_runs_the_callback_once_per_holdoff() {
    let (clock, mon) = manual(Duration::from_secs(5));
    let calls = Arc::new(AtomicU64::new(0));
    let c = calls.clone();
    mon.publish_with(move || json!({"calls": c.fetch_add(1, Ordering::SeqCst) + 1}));
    let server = serve(&mon).await;
    let addr = server.local_addr();

    for _ in 0..5 {
        assert_eq!(get(addr, PATH).await.json()["state"]["calls"], 1);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    clock.advance(Duration::from_millis(4_999));
    let body = get(addr, PATH).await.json();
    assert_eq!(body["state"]["calls"], 1, "still within the holdoff");
    assert_eq!(
        body["internal"]["uptime"], 0,
        "the cached bytes, uptime included"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    clock.advance(Duration::from_millis(1));
    let body = get(addr, PATH).await.json();
    assert_eq!(body["state"]["calls"], 2);
    assert_eq!(body["internal"]["uptime"], 5);
    assert_eq!(get(addr, PATH).await.json()["state"]["calls"], 2);
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // Publishing ends the holdoff at once.
    mon.publish(json!({"fixed": true}));
    assert_eq!(
        get(addr, PATH).await.json()["state"],
        json!({"fixed": true})
    );

    // Concurrent requests within a holdoff share one evaluation.
    let c = calls.clone();
    mon.publish_with(move || json!({"calls": c.fetch_add(1, Ordering::SeqCst) + 1}));
    let replies = futures_join(addr, 20).await;
    assert!(
        replies.iter().all(|v| v["state"]["calls"] == 3),
        "{replies:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    server.stop().await;
}

async fn futures_join(addr: std::net::SocketAddr, n: usize) -> Vec<serde_json::Value> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        set.spawn(async move { get(addr, PATH).await.json() });
    }
    let mut out = Vec::new();
    while let Some(reply) = set.join_next().await {
        out.push(reply.expect("request task"));
    }
    out
}

#[tokio::test]
async fn render_matches_what_is_served() {
    let (clock, mon) = manual(Duration::from_secs(5));
    let calls = Arc::new(AtomicU64::new(0));
    let c = calls.clone();
    mon.publish_with(move || json!({"calls": c.fetch_add(1, Ordering::SeqCst) + 1}));
    clock.advance(Duration::from_secs(1));
    let rendered = mon.render();
    assert_eq!(rendered, r#"{"internal":{"uptime":1},"state":{"calls":1}}"#);
    let server = serve(&mon).await;
    let reply = get(server.local_addr(), PATH).await;
    assert_eq!(reply.text(), rendered, "the same cached bytes");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // A clone is the same reporter.
    assert_eq!(mon.clone().render(), rendered);
    server.stop().await;
}

#[tokio::test]
async fn background_refresh_keeps_an_async_source_fresh() {
    let (mon, calls) = http_support::counting_async_reporter(Duration::from_millis(50));
    let refresher = mon.spawn_refresher().expect("inside a runtime");
    let refreshed = http_support::wait_for(Duration::from_secs(5), || {
        let n = calls.load(Ordering::SeqCst);
        async move { (n >= 3).then_some(n) }
    })
    .await;
    assert!(refreshed.is_some(), "the refresher ran the async callback");
    // `render` is not async: it serves the last result of the async source.
    let body: serde_json::Value = serde_json::from_str(&mon.render()).expect("json");
    assert!(
        body["state"]["calls"].as_u64().is_some_and(|n| n >= 3),
        "{body}"
    );
    refresher.stop().await;
    let after_stop = calls.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        after_stop,
        "stopped refreshing"
    );
}

#[test]
fn spawn_refresher_outside_a_runtime_is_an_error() {
    let mon = StatusReporter::new();
    let err = mon.spawn_refresher().expect_err("no runtime");
    assert!(matches!(err, monsta::ServeError::NoRuntime), "{err}");
}

/// The same through `#[derive(AppState)]`, every field on one `ManualClock`.
#[cfg(feature = "derive")]
mod derived {
    use super::*;
    use monsta::fields::{Ewma, LeakyBucket, RunningStats, SampledWindow, SlidingWindow};

    #[derive(monsta::AppState)]
    pub struct Service {
        /// Requests in the last minute.
        #[monsta(window = "60s")]
        requests: SlidingWindow,
        #[monsta(alpha = 0.5)]
        load: Ewma,
        latency: RunningStats,
        #[monsta(window = "5s")]
        rps: SampledWindow,
        #[monsta(capacity = 10, leak_rate = 1)]
        limiter: LeakyBucket,
        calls: Counter,
        #[monsta(rename = "ver", default = "2.0")]
        version: Value<String>,
    }

    #[tokio::test]
    async fn derived_state_over_tcp_on_a_manual_clock() {
        let clock = ManualClock::new();
        let state = Arc::new(Service::with_clock(&clock.clock()));
        let mon = StatusReporter::builder()
            .clock(clock.clone())
            .update_holdoff(Duration::from_secs(5))
            .build();
        mon.publish_state(state.clone());
        let server = serve(&mon).await;
        let addr = server.local_addr();

        assert_eq!(
            get(addr, PATH).await.json(),
            json!({"internal": {"uptime": 0},
                   "state": {"requests": 0.0, "load": null,
                             "latency": {"n": 0, "mean": 0.0, "stddev": 0.0, "min": 0.0, "max": 0.0},
                             "rps": 0.0, "limiter": {"level": 0.0, "capacity": 10.0, "full": false},
                             "calls": 0, "ver": "2.0"}})
        );

        state.transaction(|tx| {
            tx.requests.inc(3.0);
            tx.load.update(4.0);
            tx.latency.update(10.0);
            tx.latency.update(20.0);
            tx.rps.set(7.0);
            tx.calls.inc(2);
        });
        assert!(state.limiter.request(4.0));
        // Within the holdoff: the cached body.
        assert_eq!(get(addr, PATH).await.json()["state"]["calls"], 0);

        clock.advance(Duration::from_secs(5));
        let reply = get(addr, PATH).await;
        let body = reply.json();
        assert_eq!(body["internal"]["uptime"], 5);
        let s = &body["state"];
        assert_eq!(s["requests"], 3.0);
        assert_eq!(s["load"], 4.0);
        assert_eq!(
            s["latency"],
            json!({"n": 2, "mean": 15.0, "stddev": 5.0, "min": 10.0, "max": 20.0})
        );
        assert_eq!(s["rps"], 7.0, "still within its 5 s window");
        assert_eq!(
            s["limiter"],
            json!({"level": 0.0, "capacity": 10.0, "full": false})
        );
        assert_eq!(s["calls"], 2);
        // Declaration order, in the bytes served (a `serde_json::Value`
        // would sort the keys).
        let text = reply.text();
        let positions: Vec<usize> = [
            "requests", "load", "latency", "rps", "limiter", "calls", "ver",
        ]
        .iter()
        .map(|k| text.find(&format!("\"{k}\":")).expect(k))
        .collect();
        assert!(positions.is_sorted(), "{text}");
        server.stop().await;
    }
}
