//! The reporter's Prometheus endpoint over real TCP on loopback: the format
//! chosen by `Accept`, every value equal to the JSON endpoint's for the same
//! state (parsed back by Python's prometheus_client, checked by promtool),
//! `HEAD`, 405, a custom path, non-`AppState` sources, and the same handler
//! mounted through `service()` and the axum `router()`.

#![cfg(all(feature = "prometheus", feature = "http", feature = "derive"))]

mod http_support;
#[path = "../monsta-prometheus/tests/common/mod.rs"]
mod prom;

use std::{
    sync::{Arc, mpsc},
    thread,
    time::Duration,
};

use http_support::{Reply, exchange, get, listener, parse, request};
use monsta::fields::*;
use monsta::prometheus::{Format, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};
use monsta::{AppState, BuildError, ManualClock, ServerHandle, StatusReporter};
use prom::{assert_matches, assert_promtool_clean, have_promtool, have_python, python_parse};

/// What Prometheus 2.x sends.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,\
    application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// The database part, flattened.
#[derive(AppState)]
pub struct Db {
    /// Queries run.
    queries: Counter,
    /// Query time.
    #[monsta(unit = "seconds")]
    query_time: RunningStats,
}

/// One field of each kind, a prefix, units and a flattened child.
#[derive(AppState)]
#[monsta(prefix = "myapp")]
pub struct Service {
    /// Requests served.
    requests: Counter,
    /// Requests in the last minute.
    #[monsta(window = "60s")]
    request_rate: SlidingWindow,
    /// Jobs since midnight UTC.
    #[monsta(tz = "UTC")]
    jobs_today: PeriodicSum,
    /// CPU usage, smoothed.
    #[monsta(alpha = 0.5)]
    cpu_usage: Ewma,
    /// Never sampled.
    idle: Ewma,
    /// Request latency.
    #[monsta(unit = "seconds")]
    latency: RunningStats,
    /// Requests per second, sampled.
    #[monsta(window = "5s")]
    active_rps: SampledWindow,
    /// The rate limiter.
    #[monsta(capacity = 10, leak_rate = 1)]
    limiter: LeakyBucket,
    /// Database latency.
    #[monsta(quantiles = [50, 99.9], unit = "seconds")]
    db_latency: SlidingPercentiles,
    /// The service says "hi" \ back.
    status: Value<String>,
    /// Whether all is well.
    healthy: Value<bool>,
    /// Room temperature.
    #[monsta(unit = "celsius")]
    temperature: Gauge,
    #[monsta(flatten)]
    db: Db,
    /// Two counters that transactions keep equal.
    left: Counter,
    /// See `left`.
    right: Counter,
}

impl Service {
    fn fill(&self) {
        self.requests.inc(17);
        self.request_rate.inc(15.0);
        self.jobs_today.inc(248.0);
        self.cpu_usage.update(30.0);
        self.cpu_usage.update(35.0);
        for x in [0.010, 0.042, 0.120, 0.0455] {
            self.latency.update(x);
        }
        self.active_rps.set(120.0);
        for _ in 0..4 {
            self.limiter.request(1.0);
        }
        for x in [0.0005, 0.001, 0.002, 0.00725, 0.003] {
            self.db_latency.update(x);
        }
        self.status.set("degraded \"a bit\"\nsecond line".into());
        self.healthy.set(true);
        self.temperature.set(-3.25);
        self.db.queries.inc(99);
        self.db.query_time.update(0.003);
        self.db.query_time.update(0.005);
    }
}

/// A reporter on a `ManualClock` with a long holdoff, publishing a filled
/// state, served on a loopback port.
async fn serve_filled() -> (ManualClock, Arc<Service>, StatusReporter, ServerHandle) {
    let clock = ManualClock::new();
    let state = Arc::new(Service::with_clock(&clock.clock()));
    state.fill();
    let mon = StatusReporter::builder()
        .clock(clock.clone())
        .update_holdoff(Duration::from_secs(3600))
        .build();
    mon.publish_state(state.clone());
    let server = mon.start_on(listener().await).expect("start_on");
    (clock, state, mon, server)
}

/// `GET path` with the given `Accept` headers (one line each).
async fn get_accepting(addr: std::net::SocketAddr, path: &str, accept: &[&str]) -> Reply {
    let headers: String = accept.iter().map(|a| format!("Accept: {a}\r\n")).collect();
    let raw = exchange(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Connection: close\r\n\r\n"),
    )
    .await;
    parse(&raw)
}

#[tokio::test]
async fn both_formats_by_accept_equal_the_json_endpoint() {
    let (clock, state, _mon, server) = serve_filled().await;
    let addr = server.local_addr();
    clock.advance(Duration::from_secs(42));

    let json = get(addr, "/mon/v1/state").await.json();
    assert_eq!(json["internal"]["uptime"], 42);
    let json_state = json["state"].as_object().expect("a state object");
    let expected = prom::expected_from(json_state, &*state, Some("myapp"), Some(42));
    // A spot check of the mapping with literal names and values.
    let key = prom::key;
    for (name, labels, value) in [
        ("myapp_requests_total", &[][..], 17.0),
        ("myapp_latency_samples_total", &[], 4.0),
        ("myapp_latency_max_seconds", &[], 0.12),
        ("myapp_db_latency_seconds", &[("percentile", "50")], 0.002),
        ("myapp_db_latency_max_seconds", &[], 0.00725),
        ("myapp_db_latency_samples", &[], 5.0),
        ("myapp_temperature_celsius", &[], -3.25),
        ("myapp_healthy", &[], 1.0),
        ("myapp_db_queries_total", &[], 99.0),
        ("myapp_request_rate", &[], 15.0),
        ("myapp_request_rate_added_total", &[], 15.0),
        ("process_uptime_seconds", &[], 42.0),
    ] {
        assert!(
            expected.get(&key(name, labels)) == Some(&prom::Expect::Exact(value)),
            "{name}{labels:?} is not {value} in {expected:#?}"
        );
    }
    assert!(!expected.keys().any(|(name, _)| name.contains("idle")));

    // What Prometheus asks for: OpenMetrics.
    let om = get_accepting(addr, "/metrics", &[PROMETHEUS_ACCEPT]).await;
    assert_eq!(om.status, 200);
    assert_eq!(om.header("content-type"), Some(OPENMETRICS_CONTENT_TYPE));
    assert_eq!(om.header("cache-control"), Some("no-store"));
    let om_text = om.text();
    assert!(om_text.ends_with("# EOF\n"), "{om_text}");
    assert!(om_text.contains("# UNIT myapp_latency_mean_seconds seconds\n"));
    assert!(om_text.contains("\nprocess_uptime_seconds 42\n"));
    assert!(
        om_text.contains("# TYPE myapp_request_rate_added counter\n"),
        "{om_text}"
    );
    assert!(om_text.contains("\nmyapp_request_rate_added_total 15.0\n"));

    // Nothing asked for (curl): the classic format.
    let classic = request(addr, "GET", "/metrics").await;
    assert_eq!(classic.status, 200);
    assert_eq!(classic.header("content-type"), Some(TEXT_CONTENT_TYPE));
    let classic_text = classic.text();
    assert!(!classic_text.contains("# EOF"));
    assert!(!classic_text.contains("# UNIT"));
    assert!(
        classic_text.contains("\nmyapp_requests_total 17\n"),
        "{classic_text}"
    );
    assert!(
        classic_text.contains("# TYPE myapp_request_rate_added_total counter\n"),
        "{classic_text}"
    );
    assert!(classic_text.contains("\nmyapp_request_rate_added_total 15.0\n"));

    // Both, parsed by a real parser, are the JSON under the mapping.
    if have_python() {
        let om = prom::samples(&python_parse(&om_text, "openmetrics"));
        assert_matches(&om, &expected);
        let classic = prom::samples(&python_parse(&classic_text, "text"));
        assert_matches(&classic, &expected);
    }
    if have_promtool() {
        assert_promtool_clean(&classic_text);
    }
    server.stop().await;
}

#[tokio::test]
async fn uptime_follows_the_json_and_each_scrape_reads_afresh() {
    let (clock, state, _mon, server) = serve_filled().await;
    let addr = server.local_addr();
    let uptime = |text: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix("process_uptime_seconds "))
            .expect("an uptime sample")
            .parse()
            .expect("whole seconds")
    };
    let mut elapsed = 0;
    for secs in [0, 1, 59, 3599] {
        clock.advance(Duration::from_secs(secs - elapsed));
        elapsed = secs;
        let json = get(addr, "/mon/v1/state").await.json();
        let metrics = get(addr, "/metrics").await.text();
        // The JSON is cached for the holdoff (from its first rendering at
        // 0 s), the metrics are not: each equals the reporter's uptime at
        // the time it was rendered.
        assert_eq!(uptime(&metrics), secs, "{metrics}");
        assert_eq!(json["internal"]["uptime"], 0);
    }
    // A new value shows on the next scrape, holdoff or not.
    state.requests.inc(1);
    let metrics = get(addr, "/metrics").await.text();
    assert!(metrics.contains("\nmyapp_requests_total 18\n"), "{metrics}");
    server.stop().await;
}

#[tokio::test]
async fn repeated_accept_headers_are_weighed_together() {
    let (_clock, _state, _mon, server) = serve_filled().await;
    let addr = server.local_addr();
    let reply = get_accepting(
        addr,
        "/metrics",
        &[
            "text/plain;version=0.0.4;q=0.5",
            "application/openmetrics-text;version=1.0.0",
        ],
    )
    .await;
    assert_eq!(reply.header("content-type"), Some(OPENMETRICS_CONTENT_TYPE));
    let reply = get_accepting(addr, "/metrics", &["application/json", "text/plain"]).await;
    assert_eq!(reply.header("content-type"), Some(TEXT_CONTENT_TYPE));
    let reply = get_accepting(addr, "/metrics", &["application/json"]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some(TEXT_CONTENT_TYPE));
    server.stop().await;
}

#[tokio::test]
async fn head_gets_the_headers_and_other_methods_405() {
    let (_clock, _state, _mon, server) = serve_filled().await;
    let addr = server.local_addr();
    let full = get_accepting(addr, "/metrics", &[PROMETHEUS_ACCEPT]).await;
    let raw = exchange(
        addr,
        &format!(
            "HEAD /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: {PROMETHEUS_ACCEPT}\r\n\
             Connection: close\r\n\r\n"
        ),
    )
    .await;
    let head = parse(&raw);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-type"), Some(OPENMETRICS_CONTENT_TYPE));
    assert_eq!(
        head.header("content-length"),
        Some(full.body.len().to_string().as_str())
    );
    for method in ["POST", "PUT", "DELETE"] {
        let reply = request(addr, method, "/metrics").await;
        assert_eq!(reply.status, 405, "{method}");
        assert_eq!(reply.header("allow"), Some("GET, HEAD"), "{method}");
    }
    assert_eq!(request(addr, "GET", "/metrics/").await.status, 404);
    server.stop().await;
}

#[tokio::test]
async fn the_path_is_configurable() {
    let mon = StatusReporter::builder()
        .endpoint("/ops/state")
        .and_then(|b| b.metrics_endpoint("/ops/prometheus"))
        .expect("valid paths")
        .build();
    assert_eq!(mon.metrics_endpoint(), "/ops/prometheus");
    mon.publish_state(Arc::new(Service::new()));
    let server = mon.start_on(listener().await).expect("start_on");
    let addr = server.local_addr();
    let reply = get(addr, "/ops/prometheus").await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .text()
            .contains("# TYPE myapp_requests_total counter\n")
    );
    assert_eq!(get(addr, "/metrics").await.status, 404);
    assert_eq!(get(addr, "/ops/state").await.status, 200);
    server.stop().await;

    assert_eq!(
        StatusReporter::builder().metrics_endpoint("metrics").err(),
        Some(BuildError::EndpointNotAbsolute("metrics".into()))
    );
    assert!(matches!(
        StatusReporter::builder().metrics_endpoint("/metrics?x"),
        Err(BuildError::EndpointCharacter { ch: '?', .. })
    ));
    assert_eq!(
        StatusReporter::builder()
            .metrics_endpoint("/mon/v1/state")
            .err(),
        Some(BuildError::SameEndpoint("/mon/v1/state".into()))
    );
    assert_eq!(
        StatusReporter::new().metrics_endpoint(),
        monsta::DEFAULT_METRICS_ENDPOINT
    );
}

#[tokio::test]
async fn sources_that_are_not_states_serve_the_uptime_only() {
    let clock = ManualClock::new();
    let mon = StatusReporter::builder().clock(clock.clone()).build();
    let server = mon.start_on(listener().await).expect("start_on");
    let addr = server.local_addr();
    clock.advance(Duration::from_secs(5));
    let only_uptime = |text: &str| {
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(samples, ["process_uptime_seconds 5"], "{text}");
    };

    // Nothing published, a fixed value, a callback.
    only_uptime(&get(addr, "/metrics").await.text());
    mon.publish(serde_json::json!({"requests": 3}));
    only_uptime(&get(addr, "/metrics").await.text());
    mon.publish_with(|| serde_json::json!({"requests": 4}));
    only_uptime(&get(addr, "/metrics").await.text());
    let om = get_accepting(addr, "/metrics", &[PROMETHEUS_ACCEPT])
        .await
        .text();
    assert!(om.ends_with("\nprocess_uptime_seconds 5\n# EOF\n"), "{om}");

    // A state, then a reset back to nothing.
    mon.publish_state(Arc::new(Service::new()));
    assert!(
        get(addr, "/metrics")
            .await
            .text()
            .contains("myapp_requests_total 0")
    );
    mon.reset();
    let text = get(addr, "/metrics").await.text();
    let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(samples, ["process_uptime_seconds 0"], "{text}");
    assert_eq!(
        mon.render_metrics(Format::Text).expect("renders"),
        monsta::prometheus::render_uptime(Format::Text, Duration::ZERO).expect("renders")
    );
    server.stop().await;
}

/// The values of `myapp_left_total` and `myapp_right_total`.
fn left_right(text: &str) -> (u64, u64) {
    (
        http_support::sample(text, "myapp_left_total"),
        http_support::sample(text, "myapp_right_total"),
    )
}

#[tokio::test]
async fn a_scrape_never_sees_half_a_transaction() {
    let (_clock, state, _mon, server) = serve_filled().await;
    let addr = server.local_addr();
    let (opened, wait_opened) = mpsc::channel();
    let (release, wait_release) = mpsc::channel::<()>();
    let writer = {
        let state = state.clone();
        thread::spawn(move || {
            state.transaction(|tx| {
                tx.left.inc(1);
                opened.send(()).expect("the test waits");
                // Held until the scrape is under way (bounded).
                let _ = wait_release.recv_timeout(Duration::from_secs(10));
                tx.right.inc(1);
            });
        })
    };
    wait_opened.recv().expect("the transaction opens");
    let scrape = tokio::spawn(async move { get(addr, "/metrics").await.text() });
    // Give the scrape time to reach the lock, then let the writer finish:
    // the scrape must report both increments or neither, and it cannot
    // have finished before the release.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !scrape.is_finished(),
        "the scrape did not wait for the lock"
    );
    release.send(()).expect("the writer waits");
    let text = scrape.await.expect("the scrape task");
    writer.join().expect("the writer ends");
    assert_eq!(left_right(&text), (1, 1), "half a transaction:\n{text}");
    server.stop().await;
}

#[tokio::test]
async fn a_state_locked_beyond_the_callback_timeout_answers_503() {
    let state = Arc::new(Service::new());
    let mon = StatusReporter::builder()
        .callback_timeout(Duration::from_millis(200))
        .expect("positive")
        .build();
    mon.publish_state(state.clone());
    let server = mon.start_on(listener().await).expect("start_on");
    let addr = server.local_addr();
    let (opened, wait_opened) = mpsc::channel();
    let (release, wait_release) = mpsc::channel::<()>();
    let writer = thread::spawn(move || {
        state.transaction(|tx| {
            tx.left.inc(1);
            opened.send(()).expect("the test waits");
            let _ = wait_release.recv_timeout(Duration::from_secs(10));
        });
    });
    wait_opened.recv().expect("the transaction opens");
    let reply = get(addr, "/metrics").await;
    assert_eq!(reply.status, 503);
    release.send(()).expect("the writer waits");
    writer.join().expect("the writer ends");
    let reply = get(addr, "/metrics").await;
    assert_eq!(reply.status, 200);
    assert!(reply.text().contains("\nmyapp_left_total 1\n"));
    server.stop().await;
}

#[tokio::test]
async fn the_hyper_service_serves_both_endpoints() {
    let mon = StatusReporter::new();
    let state = Arc::new(Service::new());
    state.requests.inc(5);
    mon.publish_state(state);
    let listener = listener().await;
    let addr = listener.local_addr().expect("an address");
    let service = mon.service();
    let accept_loop = tokio::spawn(async move {
        // Three connections: metrics, JSON, 404.
        for _ in 0..3 {
            let (stream, _) = listener.accept().await.expect("accept");
            let io = hyper_util::rt::TokioIo::new(stream);
            let service = service.clone();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    let metrics = get(addr, "/metrics").await;
    assert_eq!(metrics.status, 200);
    assert_eq!(metrics.header("content-type"), Some(TEXT_CONTENT_TYPE));
    assert!(metrics.text().contains("\nmyapp_requests_total 5\n"));
    assert_eq!(
        get(addr, "/mon/v1/state").await.json()["state"]["requests"],
        5
    );
    assert_eq!(get(addr, "/other").await.status, 404);
    accept_loop.await.expect("the accept loop");
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn the_axum_router_serves_both_endpoints_nested() {
    let mon = StatusReporter::builder()
        .metrics_endpoint("/prom")
        .expect("a valid path")
        .build();
    let state = Arc::new(Service::new());
    state.requests.inc(6);
    mon.publish_state(state);
    let app: axum::Router = axum::Router::new().nest("/ops", mon.router());
    let (addr, stop, serving) = http_support::serve_router(app).await;
    let metrics = get_accepting(addr, "/ops/prom", &[PROMETHEUS_ACCEPT]).await;
    assert_eq!(metrics.status, 200);
    assert_eq!(
        metrics.header("content-type"),
        Some(OPENMETRICS_CONTENT_TYPE)
    );
    assert!(metrics.text().contains("\nmyapp_requests_total 6\n"));
    assert_eq!(request(addr, "POST", "/ops/prom").await.status, 405);
    assert_eq!(get(addr, "/ops/mon/v1/state").await.status, 200);
    assert_eq!(get(addr, "/ops/metrics").await.status, 404);
    let _ = stop.send(());
    serving
        .await
        .expect("the server task")
        .expect("axum::serve ends cleanly");
}
