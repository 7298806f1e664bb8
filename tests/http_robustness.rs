//! The standalone server against bad and hostile clients, and state callbacks
//! that panic, fail or block. Real TCP on loopback; every wait is bounded.

#![cfg(feature = "http")]

mod http_support;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use http_support::{assert_closed_near, exchange, get, listener, parse, request, time_to_close};
use monsta::{ManualClock, ServerHandle, StatusReporter, StatusReporterBuilder};
use serde_json::json;
use tokio::{io::AsyncWriteExt, net::TcpStream};

const PATH: &str = "/mon/v1/state";

async fn serve(builder: StatusReporterBuilder) -> (StatusReporter, ServerHandle) {
    let mon = builder.build();
    mon.publish(json!({"status": "running"}));
    let server = mon.start_on(listener().await).expect("start_on");
    (mon, server)
}

/// A server whose header read timeout is `timeout`, with a keep-alive
/// timeout long enough not to interfere.
async fn serve_with_header_timeout(timeout: Duration) -> (StatusReporter, ServerHandle) {
    serve(
        StatusReporter::builder()
            .header_read_timeout(timeout)
            .unwrap()
            .keep_alive_timeout(Duration::from_secs(60))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn unknown_path_wrong_method_and_head() {
    let (_mon, server) = serve(StatusReporter::builder()).await;
    let addr = server.local_addr();

    for path in ["/", "/mon/v1/state/", "/mon/v1", "/other", "/mon/v1/statex"] {
        let reply = get(addr, path).await;
        assert_eq!(reply.status, 404, "{path}");
    }
    // A query string does not change the path.
    assert_eq!(get(addr, "/mon/v1/state?pretty=1").await.status, 200);

    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let reply = request(addr, method, PATH).await;
        assert_eq!(reply.status, 405, "{method}");
        assert_eq!(reply.header("allow"), Some("GET, HEAD"), "{method}");
    }

    let full = get(addr, PATH).await;
    let head = request(addr, "HEAD", PATH).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "HEAD has no body: {:?}", head.text());
    assert_eq!(head.header("content-type"), Some("application/json"));
    assert_eq!(head.header("cache-control"), Some("no-store"));
    assert_eq!(
        head.header("content-length"),
        Some(full.body.len().to_string().as_str()),
        "HEAD announces the GET body's length"
    );
    server.stop().await;
}

#[tokio::test]
async fn garbage_request_does_not_hurt_the_server() {
    let (_mon, server) = serve(StatusReporter::builder()).await;
    let addr = server.local_addr();
    let raw = exchange(addr, "THIS IS NOT HTTP\r\n\r\n").await;
    let text = String::from_utf8_lossy(&raw);
    assert!(
        raw.is_empty() || text.starts_with("HTTP/1.1 400"),
        "{text:?}"
    );
    assert_eq!(get(addr, PATH).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_cut_off() {
    let timeout = Duration::from_millis(600);
    let (_mon, server) = serve_with_header_timeout(timeout).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let start = Instant::now();
    stream
        .write_all(b"GET /mon/v1/state HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    // One byte every 50 ms: the connection is never silent, the head never ends.
    let mut closed = None;
    for _ in 0..200 {
        if stream.write_all(b"a").await.is_err() {
            closed = Some(start.elapsed());
            break;
        }
        if let Some(_after) = time_to_close(&mut stream, Duration::from_millis(50)).await {
            closed = Some(start.elapsed());
            break;
        }
    }
    let closed = closed.expect("the trickling client was never disconnected");
    assert_closed_near(closed, timeout);
    // The server still serves others.
    assert_eq!(get(server.local_addr(), PATH).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_sends_nothing_is_cut_off() {
    let timeout = Duration::from_millis(500);
    let (_mon, server) = serve_with_header_timeout(timeout).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let closed = time_to_close(&mut stream, Duration::from_secs(5))
        .await
        .expect("the silent client was never disconnected");
    assert_closed_near(closed, timeout);
    server.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let idle = Duration::from_millis(400);
    let (_mon, server) = serve(
        StatusReporter::builder()
            .keep_alive_timeout(idle)
            .unwrap()
            .header_read_timeout(Duration::from_secs(30))
            .unwrap(),
    )
    .await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    // Two requests on one connection: keep-alive works.
    for _ in 0..2 {
        stream
            .write_all(b"GET /mon/v1/state HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let reply = read_one_response(&mut stream).await;
        assert_eq!(reply.status, 200);
    }
    let closed = time_to_close(&mut stream, Duration::from_secs(5))
        .await
        .expect("the idle connection was never closed");
    assert_closed_near(closed, idle);
    server.stop().await;
}

/// Reads one response with a `Content-Length` body from a kept-alive stream.
async fn read_one_response(stream: &mut TcpStream) -> http_support::Reply {
    use tokio::io::AsyncReadExt;
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(http_support::IO_DEADLINE, async {
        loop {
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed before a full response");
            raw.extend_from_slice(&buf[..n]);
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let reply = parse(&raw[..end + 4]);
                let length: usize = reply
                    .header("content-length")
                    .and_then(|v| v.parse().ok())
                    .expect("content-length");
                if raw.len() >= end + 4 + length {
                    return parse(&raw);
                }
            }
        }
    })
    .await
    .expect("response within the deadline")
}

#[tokio::test]
async fn a_64_kib_header_is_refused() {
    let (_mon, server) = serve(StatusReporter::builder()).await;
    let addr = server.local_addr();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = b"GET /mon/v1/state HTTP/1.1\r\nHost: localhost\r\nX-Big: ".to_vec();
    request.extend(std::iter::repeat_n(b'a', 64 * 1024));
    request.extend_from_slice(b"\r\n\r\n");
    // The server may close before it has read everything: a failed write is
    // one of the accepted outcomes.
    let _ = stream.write_all(&request).await;
    let mut raw = Vec::new();
    let read = tokio::time::timeout(http_support::IO_DEADLINE, async {
        use tokio::io::AsyncReadExt;
        let _ = stream.read_to_end(&mut raw).await;
    })
    .await;
    assert!(read.is_ok(), "the connection stayed open");
    let text = String::from_utf8_lossy(&raw);
    assert!(
        raw.is_empty() || text.starts_with("HTTP/1.1 431"),
        "expected 431 or a closed connection, got {text:?}"
    );
    assert!(!text.contains("200 OK"));
    // The limit is the configured one: a 4 KiB header is fine.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let header = "a".repeat(4 * 1024);
    stream
        .write_all(
            format!(
                "GET {PATH} HTTP/1.1\r\nHost: x\r\nX-Ok: {header}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(read_one_response(&mut stream).await.status, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_clients_all_get_200() {
    // All 200 come from 127.0.0.1: let them share more than the default
    // 32 connections per address.
    let (mon, server) = serve(
        StatusReporter::builder()
            .update_holdoff(Duration::ZERO)
            .max_connections_per_address(256)
            .unwrap(),
    )
    .await;
    let requests = Arc::new(AtomicU64::new(0));
    let r = requests.clone();
    mon.publish_with(move || json!({"n": r.fetch_add(1, Ordering::Relaxed)}));
    let addr = server.local_addr();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..200 {
        clients.spawn(async move { get(addr, PATH).await });
    }
    let mut ok = 0;
    while let Some(reply) = clients.join_next().await {
        let reply = reply.expect("client task");
        assert_eq!(reply.status, 200);
        assert!(reply.json()["state"]["n"].is_u64());
        ok += 1;
    }
    assert_eq!(ok, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_capped() {
    let (mon, server) = serve(
        StatusReporter::builder()
            .max_connections(2)
            .unwrap()
            .update_holdoff(Duration::ZERO)
            .callback_timeout(Duration::from_secs(30))
            .unwrap(),
    )
    .await;
    // A callback that blocks until the gate opens keeps requests busy (an
    // idle connection would be closed to make room for a new client).
    let gate = Gate::new();
    mon.publish_with(gate.callback(json!({"status": "running"})));
    let addr = server.local_addr();
    // Two requests in progress take both slots.
    let mut busy = Vec::new();
    for _ in 0..2 {
        busy.push(tokio::spawn(async move { get(addr, PATH).await }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting = tokio::spawn(async move { get(addr, PATH).await });
    // The third is not served while both slots are busy...
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "served beyond max_connections");
    // ...and is served as soon as they are done.
    gate.open();
    for reply in busy {
        assert_eq!(reply.await.expect("client task").status, 200);
    }
    let reply = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("served once a slot was free")
        .expect("client task");
    assert_eq!(reply.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn a_panicking_callback_serves_the_last_good_state_then_recovers() {
    let clock = ManualClock::new();
    let (mon, server) = serve(
        StatusReporter::builder()
            .clock(clock.clone())
            .update_holdoff(Duration::from_secs(5)),
    )
    .await;
    let calls = Arc::new(AtomicU64::new(0));
    let c = calls.clone();
    mon.publish_with(move || {
        let n = c.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(n != 2, "simulated bug in call {n}");
        json!({"call": n})
    });
    let addr = server.local_addr();
    assert_eq!(get(addr, PATH).await.json()["state"], json!({"call": 1}));

    clock.advance(Duration::from_secs(5));
    let reply = get(addr, PATH).await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["state"], json!({"call": 1}), "the last good state");
    let error = body["internal"]["error"].as_str().expect("internal.error");
    assert!(
        error.starts_with("state callback panicked: simulated bug in call 2"),
        "{error}"
    );

    clock.advance(Duration::from_secs(5));
    assert_eq!(
        get(addr, PATH).await.json(),
        json!({"internal": {"uptime": 10}, "state": {"call": 3}})
    );
    // The sync `render` catches a panic too.
    clock.advance(Duration::from_secs(5));
    let c = calls.clone();
    mon.publish_with(move || -> serde_json::Value {
        c.fetch_add(1, Ordering::SeqCst);
        panic!("in render")
    });
    let rendered: serde_json::Value = serde_json::from_str(&mon.render()).unwrap();
    assert_eq!(rendered["state"], json!({"call": 3}));
    assert_eq!(
        rendered["internal"]["error"],
        "state callback panicked: in render"
    );
    server.stop().await;
}

/// A gate a callback can block on, opened by the test (or when dropped, so a
/// failing test does not leave a thread blocked).
struct Gate(Arc<(Mutex<bool>, std::sync::Condvar)>);

impl Gate {
    fn new() -> Self {
        Gate(Arc::new((Mutex::new(false), std::sync::Condvar::new())))
    }

    fn open(&self) {
        *self.0.0.lock().unwrap() = true;
        self.0.1.notify_all();
    }

    /// A callback that blocks until the gate opens (at most 20 s, even if
    /// the test fails to open it), then returns `value`.
    fn callback(&self, value: serde_json::Value) -> impl Fn() -> serde_json::Value + use<> {
        let gate = self.0.clone();
        move || {
            let (open, cond) = &*gate;
            let guard = open.lock().unwrap();
            let _unused = cond
                .wait_timeout_while(guard, Duration::from_secs(20), |open| !*open)
                .unwrap();
            value.clone()
        }
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.open();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_callback_is_answered_after_the_bound_with_the_last_good_state() {
    let bound = Duration::from_millis(400);
    let clock = ManualClock::new();
    let (mon, server) = serve(
        StatusReporter::builder()
            .clock(clock.clone())
            .update_holdoff(Duration::from_secs(5))
            .callback_timeout(bound)
            .unwrap(),
    )
    .await;
    let gate = Gate::new();
    let block = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let (g, b, c) = (gate.0.clone(), block.clone(), calls.clone());
    mon.publish_with(move || {
        let n = c.fetch_add(1, Ordering::SeqCst) + 1;
        if b.load(Ordering::SeqCst) {
            let (open, cond) = &*g;
            let guard = open.lock().unwrap();
            // Bounded even if the test fails to open the gate.
            let _unused = cond
                .wait_timeout_while(guard, Duration::from_secs(20), |open| !*open)
                .unwrap();
        }
        json!({"call": n})
    });
    let addr = server.local_addr();
    assert_eq!(get(addr, PATH).await.json()["state"], json!({"call": 1}));

    block.store(true, Ordering::SeqCst);
    clock.advance(Duration::from_secs(5));
    let start = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..10 {
        clients.spawn(async move { (get(addr, PATH).await, Instant::now()) });
    }
    while let Some(done) = clients.join_next().await {
        let (reply, at) = done.unwrap();
        let waited = at - start;
        assert!(waited < bound + Duration::from_secs(2), "waited {waited:?}");
        assert_eq!(reply.status, 200);
        let body = reply.json();
        assert_eq!(body["state"], json!({"call": 1}), "the last good state");
        let error = body["internal"]["error"].as_str().expect("internal.error");
        assert!(error.contains("did not return within 400ms"), "{error}");
    }
    assert!(
        start.elapsed() >= bound - Duration::from_millis(50),
        "answered before the bound: the callback was not waited for"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "one evaluation in flight, not one per request"
    );

    // When the callback returns at last, its state is served.
    gate.open();
    let fresh = http_support::wait_for(Duration::from_secs(5), || async move {
        let body = get(addr, PATH).await.json();
        (body["state"] == json!({"call": 2})).then_some(body)
    })
    .await
    .expect("the late result was served");
    assert!(fresh["internal"].get("error").is_none(), "{fresh}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_published_after_a_hung_callback_is_served_at_once() {
    let bound = Duration::from_millis(300);
    let (mon, server) = serve(
        StatusReporter::builder()
            .update_holdoff(Duration::ZERO)
            .callback_timeout(bound)
            .unwrap(),
    )
    .await;
    let gate = Gate::new();
    mon.publish_with(gate.callback(json!({"hung": false})));
    let addr = server.local_addr();
    let body = get(addr, PATH).await.json();
    assert!(body["internal"]["error"].is_string(), "{body}");

    // The hung evaluation does not hold up the next source's.
    mon.publish_with(|| json!({"next": true}));
    let start = Instant::now();
    let body = get(addr, PATH).await.json();
    assert_eq!(body["state"], json!({"next": true}), "{body}");
    assert!(body["internal"].get("error").is_none(), "{body}");
    assert!(start.elapsed() < bound, "waited {:?}", start.elapsed());
    gate.open();
    server.stop().await;
}
