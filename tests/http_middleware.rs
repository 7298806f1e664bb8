//! The request middleware: an axum app over loopback (slow capture with
//! headers and span tree, metrics per route and status class, the in-flight
//! gauge after a client disconnects), filters, alert deduplication on a
//! manual clock, the webhook and JSON-lines notifiers, the bounded queue,
//! and the configuration from environment variables.

#![cfg(feature = "middleware")]

mod http_support;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, Once},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode},
    routing::{get, post},
};
use monsta::{
    ManualClock,
    http::{
        Alert, ConfigError, JsonLinesFile, Notifier, NotifyFuture, RequestMetrics, RequestMonitor,
        SpanTreeLayer, Webhook, WebhookFormat,
    },
};
use serde_json::{Value, json};
use tokio::{io::AsyncWriteExt, net::TcpStream, sync::mpsc};
use tower::ServiceExt;
use tracing::Instrument;
use tracing_subscriber::prelude::*;

const DEADLINE: Duration = Duration::from_secs(10);

fn subscriber() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let _ = tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(SpanTreeLayer::new()),
        );
    });
}

async fn slow(uri: axum::http::Uri) -> &'static str {
    let ms: u64 = uri
        .query()
        .and_then(|q| q.strip_prefix("ms="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    async {
        tokio::time::sleep(Duration::from_millis(ms / 2)).await;
        async {
            tokio::time::sleep(Duration::from_millis(ms - ms / 2)).await;
        }
        .instrument(tracing::info_span!("query", table = "users"))
        .await;
    }
    .instrument(tracing::info_span!("handler", ms))
    .await;
    "slept"
}

fn app(monitor: &RequestMonitor) -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route("/slow", get(slow))
        .route("/users/{id}", get(|| async { "user" }))
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "no") }),
        )
        .route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .layer(monitor.clone())
}

async fn send(addr: SocketAddr, head: &str) -> http_support::Reply {
    http_support::parse(&http_support::exchange(addr, head).await)
}

/// The count of the latency series of `route` and `status`.
fn latency_count(metrics: &RequestMetrics, method: &str, route: &str, status: &str) -> u64 {
    let json = serde_json::to_value(&metrics.latency).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .find(|s| s["labels"] == json!({"method": method, "route": route, "status": status}))
        .map_or(0, |s| s["value"]["count"].as_u64().unwrap())
}

fn responses(metrics: &RequestMetrics, class: &str) -> u64 {
    let json = serde_json::to_value(&metrics.responses).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .find(|s| s["labels"]["status"] == class)
        .map_or(0, |s| s["value"].as_u64().unwrap())
}

#[tokio::test]
async fn slow_request_captured_with_headers_and_span_tree_over_tcp() {
    subscriber();
    let metrics = Arc::new(RequestMetrics::new());
    let monitor = RequestMonitor::builder()
        .state(metrics.clone())
        .slow_threshold(Duration::from_millis(200))
        .build()
        .unwrap();
    let (addr, stop, serving) = http_support::serve_router(app(&monitor)).await;

    let started = Instant::now();
    let reply = send(
        addr,
        "GET /slow?ms=300 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         X-Request-ID: abc\r\nUser-Agent: test-agent\r\nAuthorization: Bearer secret\r\n\
         Cookie: session=secret\r\nX-Other: not-listed\r\n\r\n",
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(get_text(addr, "/hello").await, "hello");
    assert_eq!(send_status(addr, "/fail").await, 500);
    assert_eq!(send_status(addr, "/users/7").await, 200);
    assert_eq!(send_status(addr, "/users/8").await, 200);

    let page = http_support::get(addr, "/mon/v1/slow").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("application/json"));
    let page = page.json();
    assert_eq!(page["captured"], 1, "{page:#}");
    let requests = page["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r["method"], "GET");
    assert_eq!(r["path"], "/slow");
    assert_eq!(r["route"], "/slow");
    assert_eq!(r["status"], 200);
    let ms = r["duration_ms"].as_f64().unwrap();
    assert!((300.0..5000.0).contains(&ms), "{ms}");
    assert!(r["start"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        r["headers"],
        json!({"x-request-id": "abc", "user-agent": "test-agent"})
    );
    // The span tree: the handler's span, the query span inside it.
    let spans = r["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 1, "{spans:#?}");
    let handler = &spans[0];
    assert_eq!(handler["name"], "handler");
    assert_eq!(handler["fields"], json!({"ms": "300"}));
    let children = handler["children"].as_array().unwrap();
    assert_eq!(children.len(), 1);
    let query = &children[0];
    assert_eq!(query["name"], "query");
    assert_eq!(query["fields"], json!({"table": "users"}));
    let (h_total, h_own) = (
        handler["total_ms"].as_f64().unwrap(),
        handler["own_ms"].as_f64().unwrap(),
    );
    let q_total = query["total_ms"].as_f64().unwrap();
    assert!(h_total >= 290.0 && h_total <= ms + 1.0, "{h_total} of {ms}");
    assert!(q_total >= 140.0 && q_total < h_total, "{q_total}");
    assert!((h_own - (h_total - q_total)).abs() < 1e-6);
    assert!(h_own >= 140.0, "{h_own}");

    // The metrics: route templates and status classes, never raw paths.
    assert_eq!(latency_count(&metrics, "GET", "/slow", "2xx"), 1);
    assert_eq!(latency_count(&metrics, "GET", "/hello", "2xx"), 1);
    assert_eq!(latency_count(&metrics, "GET", "/fail", "5xx"), 1);
    assert_eq!(latency_count(&metrics, "GET", "/users/{id}", "2xx"), 2);
    assert_eq!(
        metrics.latency.len(),
        4,
        "the slow endpoint is not measured"
    );
    assert_eq!(responses(&metrics, "2xx"), 4);
    assert_eq!(responses(&metrics, "5xx"), 1);
    assert_eq!(metrics.in_flight.get(), 0.0);
    assert_eq!(metrics.requests.get(), 5.0);
    assert_eq!(metrics.response_bytes.get().count, 5);

    // `?limit=` and a bad one.
    let page = http_support::get(addr, "/mon/v1/slow?limit=0").await.json();
    assert_eq!(page["requests"], json!([]));
    assert_eq!(
        http_support::get(addr, "/mon/v1/slow?limit=x").await.status,
        400
    );
    assert_eq!(
        http_support::request(addr, "POST", "/mon/v1/slow")
            .await
            .status,
        405
    );
    stop.send(()).unwrap();
    tokio::time::timeout(DEADLINE, serving)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

async fn get_text(addr: SocketAddr, path: &str) -> String {
    http_support::get(addr, path).await.text()
}

async fn send_status(addr: SocketAddr, path: &str) -> u16 {
    http_support::get(addr, path).await.status
}

#[tokio::test]
async fn newest_first_and_bounded_ring() {
    let monitor = RequestMonitor::builder()
        .slow_threshold(Duration::ZERO)
        .slow_capacity(2)
        .build()
        .unwrap();
    let app = app(&monitor);
    for path in ["/hello", "/fail", "/users/1"] {
        oneshot(&app, "GET", path).await;
    }
    assert_eq!(monitor.captured(), 3);
    let paths: Vec<String> = monitor
        .slow_requests(10)
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(paths, ["/users/1", "/fail"]);
    let (status, body) = oneshot(&app, "GET", "/mon/v1/slow?limit=1").await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["requests"].as_array().unwrap().len(), 1);
    assert_eq!(body["requests"][0]["path"], "/users/1");
}

async fn oneshot(app: &Router, method: &str, uri: &str) -> (StatusCode, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    let response = tokio::time::timeout(DEADLINE, app.clone().oneshot(request))
        .await
        .unwrap()
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec();
    (status, body)
}

#[tokio::test]
async fn allow_wins_over_deny_and_monitoring_paths_are_never_measured() {
    let metrics = Arc::new(RequestMetrics::new());
    let monitor = RequestMonitor::builder()
        .state(metrics.clone())
        .allow(["/users/*"])
        .deny(["/users/*", "/hello"])
        .build()
        .unwrap();
    let svc = app(&monitor);
    oneshot(&svc, "GET", "/users/1").await;
    oneshot(&svc, "GET", "/hello").await;
    oneshot(&svc, "GET", "/fail").await;
    assert_eq!(latency_count(&metrics, "GET", "/users/{id}", "2xx"), 1);
    assert_eq!(metrics.latency.len(), 1, "only allowed paths are measured");

    let metrics = Arc::new(RequestMetrics::new());
    let monitor = RequestMonitor::builder()
        .state(metrics.clone())
        .deny(["/hello", "/users/*"])
        .slow_threshold(Duration::ZERO)
        .build()
        .unwrap();
    let app = app(&monitor)
        .route("/mon/v1/state", get(|| async { "{}" }))
        .route("/metrics", get(|| async { "" }));
    for path in ["/users/1", "/hello", "/fail", "/mon/v1/state", "/metrics"] {
        oneshot(&app, "GET", path).await;
    }
    assert_eq!(metrics.latency.len(), 1);
    assert_eq!(latency_count(&metrics, "GET", "/fail", "5xx"), 1);
    assert_eq!(
        monitor.captured(),
        1,
        "denied and monitoring paths not captured"
    );
}

#[tokio::test]
async fn plain_tower_service_routes_by_pattern() {
    let metrics = Arc::new(RequestMetrics::new());
    let monitor = RequestMonitor::builder()
        .state(metrics.clone())
        .route("/users/*", "/users/:id")
        .build()
        .unwrap();
    let service =
        tower::ServiceBuilder::new()
            .layer(monitor)
            .service_fn(|_req: Request<Body>| async {
                Ok::<_, std::convert::Infallible>(axum::http::Response::new(Body::from("ok")))
            });
    for uri in ["/users/1", "/users/2", "/raw/path/42"] {
        let request = Request::builder().uri(uri).body(Body::empty()).unwrap();
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(latency_count(&metrics, "GET", "/users/:id", "2xx"), 2);
    assert_eq!(latency_count(&metrics, "GET", "unmatched", "2xx"), 1);
    assert_eq!(metrics.latency.len(), 2);
    assert_eq!(metrics.response_bytes.get().sum, 6.0);
}

#[tokio::test]
async fn in_flight_gauge_returns_to_zero_after_a_client_disconnects() {
    let metrics = Arc::new(RequestMetrics::new());
    let monitor = RequestMonitor::new(&metrics);
    let (addr, stop, serving) = http_support::serve_router(app(&monitor)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /hang HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let m = metrics.clone();
    http_support::wait_for(DEADLINE, || {
        let m = m.clone();
        async move { (m.in_flight.get() == 1.0).then_some(()) }
    })
    .await
    .expect("the request is in flight");
    drop(stream);
    let m = metrics.clone();
    http_support::wait_for(DEADLINE, || {
        let m = m.clone();
        async move { (m.in_flight.get() == 0.0).then_some(()) }
    })
    .await
    .expect("the gauge returns to zero after the disconnect");
    assert_eq!(responses(&metrics, "cancelled"), 1);
    assert_eq!(metrics.latency.len(), 0);
    stop.send(()).unwrap();
    tokio::time::timeout(DEADLINE, serving)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// A notifier that forwards alerts to a channel.
struct Collect(mpsc::UnboundedSender<Alert>);

impl Notifier for Collect {
    fn notify<'a>(&'a self, alert: &'a Alert) -> NotifyFuture<'a> {
        let _ = self.0.send(alert.clone());
        Box::pin(async { Ok(()) })
    }
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Alert>) -> Alert {
    tokio::time::timeout(DEADLINE, rx.recv())
        .await
        .expect("an alert in time")
        .expect("the queue is running")
}

#[tokio::test]
async fn alerts_deduplicated_per_endpoint_within_the_window() {
    let clock = ManualClock::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let monitor = RequestMonitor::builder()
        .clock(clock.clone())
        .slow_threshold(Duration::ZERO)
        .alert_window(Duration::from_secs(3600))
        .notifier(Collect(tx))
        .build()
        .unwrap();
    let app = app(&monitor);
    oneshot(&app, "GET", "/hello").await;
    let first = next(&mut rx).await;
    assert_eq!(
        (first.request.route.as_str(), first.suppressed),
        ("/hello", 0)
    );
    oneshot(&app, "GET", "/hello").await;
    oneshot(&app, "GET", "/hello").await;
    // Another endpoint has its own window.
    oneshot(&app, "GET", "/users/3").await;
    let other = next(&mut rx).await;
    assert_eq!(other.request.route, "/users/{id}");

    clock.advance(Duration::from_secs(3599));
    oneshot(&app, "GET", "/hello").await;
    assert_eq!(
        monitor
            .notify_stats()
            .suppressed
            .load(std::sync::atomic::Ordering::Relaxed),
        3
    );

    clock.advance(Duration::from_secs(1));
    oneshot(&app, "GET", "/hello").await;
    let after = next(&mut rx).await;
    assert_eq!(after.request.route, "/hello");
    assert_eq!(
        after.suppressed, 3,
        "the suppressed ones are counted in the next"
    );
    assert!(after.summary().contains("3 more"));
    assert!(rx.try_recv().is_err());
    assert_eq!(
        monitor.captured(),
        6,
        "every slow request is still captured"
    );
}

/// A local webhook receiver: the bodies it gets, and how it answers.
async fn receiver(hang: bool) -> (SocketAddr, mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let tx = Arc::new(Mutex::new(tx));
    let app = Router::new().route(
        "/hook",
        post(move |body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                if hang {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                let _ = tx
                    .lock()
                    .unwrap()
                    .send(serde_json::from_slice(&body).unwrap_or(Value::Null));
                "ok"
            }
        }),
    );
    let (addr, stop, _serving) = http_support::serve_router(app).await;
    std::mem::forget(stop);
    (addr, rx)
}

#[tokio::test]
async fn webhook_receives_the_json_and_the_text_form() {
    let (addr, mut bodies) = receiver(false).await;
    let url = format!("http://{addr}/hook");
    let monitor = RequestMonitor::builder()
        .slow_threshold(Duration::ZERO)
        .notifier(Webhook::new(&url).unwrap())
        .notifier(Webhook::new(&url).unwrap().format(WebhookFormat::Text))
        .build()
        .unwrap();
    let app = app(&monitor);
    let request = Request::builder()
        .uri("/fail")
        .header("x-request-id", "r-1")
        .body(Body::empty())
        .unwrap();
    app.oneshot(request).await.unwrap();
    let json = tokio::time::timeout(DEADLINE, bodies.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(json["request"]["path"], "/fail");
    assert_eq!(json["request"]["status"], 500);
    assert_eq!(json["request"]["headers"]["x-request-id"], "r-1");
    assert_eq!(json["suppressed"], 0);
    let text = tokio::time::timeout(DEADLINE, bodies.recv())
        .await
        .unwrap()
        .unwrap();
    let text = text["text"].as_str().unwrap();
    assert!(text.starts_with("Slow request: GET /fail"), "{text}");
    assert!(text.contains("r-1"));
    let stats = monitor.notify_stats();
    let m = &stats.delivered;
    http_support::wait_for(DEADLINE, || async {
        (m.load(std::sync::atomic::Ordering::Relaxed) == 1).then_some(())
    })
    .await
    .expect("counted as delivered");
}

#[tokio::test]
async fn a_hanging_webhook_does_not_delay_responses() {
    let (addr, _bodies) = receiver(true).await;
    let monitor = RequestMonitor::builder()
        .slow_threshold(Duration::ZERO)
        .alert_window(Duration::ZERO)
        .notifier(Webhook::new(&format!("http://{addr}/hook")).unwrap())
        .notify_timeout(Duration::from_secs(2))
        .notify_retries(1, Duration::from_millis(10))
        .build()
        .unwrap();
    let app = app(&monitor);
    let started = Instant::now();
    for _ in 0..5 {
        let (status, _) = oneshot(&app, "GET", "/hello").await;
        assert_eq!(status, StatusCode::OK);
    }
    // Waiting for the webhook would take its 2 s timeout per request.
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let failed = &monitor.notify_stats().failed;
    http_support::wait_for(DEADLINE, || async {
        (failed.load(std::sync::atomic::Ordering::Relaxed) >= 1).then_some(())
    })
    .await
    .expect("the hanging delivery times out and fails after its retry");
    assert_eq!(
        monitor
            .notify_stats()
            .delivered
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

/// A notifier that never completes.
struct Stuck;

impl Notifier for Stuck {
    fn notify<'a>(&'a self, _: &'a Alert) -> NotifyFuture<'a> {
        Box::pin(std::future::pending())
    }
}

#[tokio::test]
async fn a_full_queue_drops_and_counts() {
    let monitor = RequestMonitor::builder()
        .slow_threshold(Duration::ZERO)
        .alert_window(Duration::ZERO)
        .notifier(Stuck)
        .notify_queue(2)
        .notify_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let app = app(&monitor);
    for _ in 0..10 {
        oneshot(&app, "GET", "/hello").await;
    }
    let stats = monitor.notify_stats();
    let dropped = stats.dropped.load(std::sync::atomic::Ordering::Relaxed);
    // At most one taken by the stuck delivery and two queued.
    assert!((7..=8).contains(&dropped), "{dropped}");
    assert_eq!(monitor.captured(), 10);
}

#[tokio::test]
async fn the_json_lines_file_rotates_at_its_bound() {
    let dir = std::env::temp_dir().join(format!(
        "monsta-mw-{}-{:?}",
        std::process::id(),
        Instant::now()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("alerts.jsonl");
    let monitor = RequestMonitor::builder()
        .slow_threshold(Duration::ZERO)
        .alert_window(Duration::ZERO)
        .slow_capacity(0)
        .notifier(JsonLinesFile::new(&path).max_bytes(2000).keep(2))
        .build()
        .unwrap();
    let app = app(&monitor);
    let line_len = {
        oneshot(&app, "GET", "/hello").await;
        let p = path.clone();
        http_support::wait_for(DEADLINE, || {
            let p = p.clone();
            async move { std::fs::metadata(&p).ok().filter(|m| m.len() > 0) }
        })
        .await
        .expect("the first line is written")
        .len()
    };
    assert!(line_len < 1000, "{line_len}");
    for _ in 0..20 {
        oneshot(&app, "GET", "/hello").await;
    }
    let delivered = &monitor.notify_stats().delivered;
    http_support::wait_for(DEADLINE, || async {
        (delivered.load(std::sync::atomic::Ordering::Relaxed) == 21).then_some(())
    })
    .await
    .expect("all written");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["alerts.jsonl", "alerts.jsonl.1", "alerts.jsonl.2"]);
    for name in &names {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(text.len() <= 2000, "{name}: {}", text.len());
        for line in text.lines() {
            let alert: Value = serde_json::from_str(line).unwrap();
            assert_eq!(alert["request"]["path"], "/hello");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn configuration_from_environment_variables() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    let ok = RequestMonitor::builder()
        .from_lookup(env(&[
            ("MONSTA_SLOW_THRESHOLD", "250ms"),
            ("MONSTA_URL_ALLOW", "/api/*, /users/*"),
            ("MONSTA_URL_DENY", "/health"),
            ("MONSTA_ALERT_WINDOW", "10m"),
            ("MONSTA_WEBHOOK_URL", "http://127.0.0.1:9/hook"),
            ("MONSTA_WEBHOOK_FORMAT", "text"),
        ]))
        .unwrap();
    let debug = format!("{ok:?}");
    assert!(debug.contains("250ms"), "{debug}");
    assert!(debug.contains("/users/*"), "{debug}");
    assert!(debug.contains("notifiers: 1"), "{debug}");
    ok.build().unwrap();

    for (var, value) in [
        ("MONSTA_SLOW_THRESHOLD", "soon"),
        ("MONSTA_URL_ALLOW", "/api/[x"),
        ("MONSTA_URL_DENY", "{a"),
        ("MONSTA_ALERT_WINDOW", "-1s"),
        ("MONSTA_WEBHOOK_URL", "ftp://example.com/"),
        ("MONSTA_WEBHOOK_URL", "https://"),
        ("MONSTA_WEBHOOK_FORMAT", "xml"),
        ("MONSTA_SLOW_CAPACITY", "many"),
        ("MONSTA_TRACING_HEADERS", "bad header"),
    ] {
        let vars: &'static [(&'static str, &'static str)] = Box::leak(Box::new([(var, value)]));
        let err = RequestMonitor::builder()
            .from_lookup(env(vars))
            .expect_err(var);
        assert!(
            matches!(&err, ConfigError::Env { var: v, .. } if *v == var),
            "{var}: {err}"
        );
        assert!(err.to_string().contains(var), "{err}");
    }
    assert!(matches!(
        RequestMonitor::builder().deny(["[bad"]).build(),
        Err(ConfigError::Pattern { .. })
    ));
}

#[tokio::test]
async fn reading_the_request_body_size_and_errors() {
    let metrics = Arc::new(RequestMetrics::new());
    let monitor = RequestMonitor::new(&metrics);
    let app = Router::new()
        .route("/echo", post(|body: String| async move { body }))
        .layer(monitor);
    let request = Request::builder()
        .method("POST")
        .uri("/echo")
        .body(Body::from("0123456789"))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(metrics.request_bytes.get().sum, 10.0);
}

/// A TLS webhook receiver on loopback with a self-signed certificate for
/// 127.0.0.1: its address, the certificate, and the bodies it gets.
async fn tls_receiver() -> (
    SocketAddr,
    tokio_rustls::rustls::pki_types::CertificateDer<'static>,
    mpsc::UnboundedReceiver<Value>,
) {
    use tokio_rustls::rustls::{self, pki_types::PrivatePkcs8KeyDer};
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.clone()], key.into())
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = http_support::listener().await;
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let tx = tx.clone();
                        async move {
                            use http_body_util::BodyExt;
                            let body = req.into_body().collect().await?.to_bytes();
                            let _ = tx.send(serde_json::from_slice(&body).unwrap_or(Value::Null));
                            Ok::<_, hyper::Error>(hyper::Response::new(http_body_util::Full::new(
                                axum::body::Bytes::from_static(b"ok"),
                            )))
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (addr, cert, rx)
}

#[tokio::test]
async fn https_webhook_over_rustls_on_loopback() {
    let (addr, cert, mut bodies) = tls_receiver().await;
    let url = format!("https://127.0.0.1:{}/hook", addr.port());
    // Trusting the receiver's certificate: delivered.
    let monitor = RequestMonitor::builder()
        .slow_threshold(Duration::ZERO)
        .notifier(Webhook::with_root_certificates(&url, [cert]).unwrap())
        .build()
        .unwrap();
    oneshot(&app(&monitor), "GET", "/fail").await;
    let json = tokio::time::timeout(DEADLINE, bodies.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(json["request"]["route"], "/fail");

    // With the bundled roots only, the self-signed certificate is refused.
    let monitor = RequestMonitor::builder()
        .slow_threshold(Duration::ZERO)
        .notifier(Webhook::new(&url).unwrap())
        .notify_retries(0, Duration::ZERO)
        .build()
        .unwrap();
    oneshot(&app(&monitor), "GET", "/fail").await;
    let failed = &monitor.notify_stats().failed;
    http_support::wait_for(DEADLINE, || async {
        (failed.load(std::sync::atomic::Ordering::Relaxed) == 1).then_some(())
    })
    .await
    .expect("an untrusted certificate fails the delivery");
    assert!(bodies.try_recv().is_err());
}

#[tokio::test]
async fn per_route_thresholds_header_bounds_and_span_bounds() {
    subscriber();
    let monitor = RequestMonitor::builder()
        .slow_threshold(Duration::from_secs(3600))
        .route_threshold("/many", Duration::ZERO)
        .tracing_headers(["x-request-id", "authorization", "cookie"])
        .max_header_bytes(8)
        .build()
        .unwrap();
    let app = Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/many",
            get(|| async {
                let big = "x".repeat(5000);
                let _outer = tracing::info_span!("outer", big = %big).entered();
                for i in 0..(DEFAULT_SPANS + 5) {
                    let _s = tracing::info_span!("step", i).entered();
                }
                "many"
            }),
        )
        .layer(monitor.clone());
    oneshot(&app, "GET", "/hello").await;
    let request = Request::builder()
        .uri("/many")
        .header("x-request-id", "0123456789abcdef")
        .header("authorization", "Bearer secret")
        .header("cookie", "a=b")
        .body(Body::empty())
        .unwrap();
    app.clone().oneshot(request).await.unwrap();
    assert_eq!(
        monitor.captured(),
        1,
        "only the route with the low threshold"
    );
    let captured = &monitor.slow_requests(1)[0];
    assert_eq!(captured.route, "/many");
    assert_eq!(
        captured.headers.iter().collect::<Vec<_>>(),
        [(&"x-request-id".to_owned(), &"01234567".to_owned())],
        "values cut, sensitive headers never captured even when listed"
    );
    let spans = captured.spans.as_ref().expect("a span tree");
    assert_eq!(spans.len(), 1);
    let outer = &spans[0];
    let big = &outer.fields[0].1;
    assert!(big.len() < 2048 && big.len() > 1000, "{}", big.len());
    assert_eq!(outer.children.len(), DEFAULT_SPANS - 1);
    assert_eq!(captured.spans_dropped, 6);
    // The children's fields stop at the request's field budget.
    let with_fields = outer
        .children
        .iter()
        .filter(|c| !c.fields.is_empty())
        .count();
    assert!(with_fields < DEFAULT_SPANS - 1, "{with_fields}");
}

const DEFAULT_SPANS: usize = monsta::http::DEFAULT_MAX_SPANS;

#[cfg(all(feature = "derive", feature = "prometheus"))]
#[tokio::test]
async fn a_derived_state_publishes_the_request_metrics_as_prometheus() {
    use monsta::{
        AppState, StatusReporter,
        fields::{Counter, Family, Gauge, Histogram, SlidingWindow},
        http::{LatencyFamily, RequestState},
    };

    #[derive(AppState)]
    #[monsta(prefix = "app")]
    struct State {
        /// Request latency.
        #[monsta(labels = ["method", "route", "status"], unit = "seconds")]
        latency: Family<(String, String, &'static str), Histogram>,
        /// Requests in the last minute.
        #[monsta(window = "60s")]
        requests: SlidingWindow,
        /// Requests in flight.
        in_flight: Gauge,
        /// Responses per status class.
        #[monsta(labels = ["status"])]
        responses: Family<&'static str, Counter>,
    }
    impl RequestState for State {
        fn latency(&self) -> Option<&LatencyFamily> {
            Some(&self.latency)
        }
        fn requests(&self) -> Option<&SlidingWindow> {
            Some(&self.requests)
        }
        fn in_flight(&self) -> Option<&Gauge> {
            Some(&self.in_flight)
        }
        fn responses(&self) -> Option<&Family<&'static str, Counter>> {
            Some(&self.responses)
        }
    }

    let state = Arc::new(State::new());
    let mon = StatusReporter::new();
    mon.publish_state(state.clone());
    let app = Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .merge(mon.router())
        .layer(RequestMonitor::new(&state));
    oneshot(&app, "GET", "/users/1").await;
    let (status, body) = oneshot(&app, "GET", "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains(
            "app_latency_seconds_count{method=\"GET\",route=\"/users/{id}\",status=\"2xx\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("app_responses_total{status=\"2xx\"} 1"),
        "{text}"
    );
    assert!(text.contains("app_in_flight 0"), "{text}");
    let (_, body) = oneshot(&app, "GET", "/mon/v1/state").await;
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        json["state"]["latency"][0]["labels"]["route"],
        "/users/{id}"
    );
    // Neither the scrape nor the state endpoint is measured.
    assert_eq!(state.latency.len(), 1);
}

#[test]
fn alerts_still_go_out_after_the_first_runtime_ended() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let monitor = RequestMonitor::builder()
        .slow_threshold(Duration::ZERO)
        .alert_window(Duration::ZERO)
        .notifier(Collect(tx))
        .build()
        .unwrap();
    for round in 0..2 {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            oneshot(&app(&monitor), "GET", "/hello").await;
            let alert = next(&mut rx).await;
            assert_eq!(alert.request.route, "/hello", "round {round}");
        });
    }
    let dropped = monitor
        .notify_stats()
        .dropped
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(dropped, 0);
}

#[tokio::test]
async fn default_state_published_as_json_next_to_the_reporter() {
    let monitor = RequestMonitor::default_state();
    let mon = monsta::StatusReporter::new();
    mon.publish_with(monitor.metrics());
    let app = Router::new()
        .route("/hello", get(|| async { "hello" }))
        .merge(mon.router())
        .layer(monitor.clone());
    oneshot(&app, "GET", "/hello").await;
    let (_, body) = oneshot(&app, "GET", "/mon/v1/state").await;
    let json: Value = serde_json::from_slice(&body).unwrap();
    let state = &json["state"];
    assert_eq!(state["latency"][0]["labels"]["route"], "/hello");
    assert_eq!(state["latency"][0]["value"]["count"], 1);
    assert_eq!(state["in_flight"], 0.0);
    assert_eq!(
        state["responses"],
        json!([{"labels": {"status": "2xx"}, "value": 1}])
    );
    assert_eq!(state["requests"], 1.0);
}
