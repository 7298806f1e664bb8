//! The standalone server against hostile clients: one that pipelines
//! requests and never reads the answers, one that overstays its request
//! budget, one address that opens too many connections, idle connections
//! that fill the cap, and HTTP/1.1 requests without `Host`. Real TCP on
//! loopback, short limits set through the builder; every wait is bounded.

#![cfg(feature = "http")]

mod http_support;

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::{Duration, Instant},
};

use http_support::{exchange, get, listener, parse, time_to_close, wait_for};
use monsta::{BuildError, ServerHandle, StatusReporter, StatusReporterBuilder};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

const PATH: &str = "/mon/v1/state";

/// The longest any test here waits for one thing.
const LIMIT: Duration = Duration::from_secs(10);

/// A builder whose idle connections stay open for the whole test: only the
/// limit under test closes them.
fn patient() -> StatusReporterBuilder {
    StatusReporter::builder()
        .keep_alive_timeout(Duration::from_secs(60))
        .unwrap()
        .header_read_timeout(Duration::from_secs(60))
        .unwrap()
}

async fn serve(builder: StatusReporterBuilder) -> (StatusReporter, ServerHandle) {
    let mon = builder.build();
    mon.publish(json!({"status": "running"}));
    let server = mon.start_on(listener().await).expect("start_on");
    (mon, server)
}

/// A connection to `addr` from the loopback address `from`.
async fn connect_from(from: Ipv4Addr, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(IpAddr::V4(from), 0))
        .expect("bind the client to a loopback address");
    tokio::time::timeout(LIMIT, socket.connect(addr))
        .await
        .expect("connect in time")
        .expect("connect")
}

/// Sends `request` on `stream` and reads until the server closes it.
async fn exchange_on(mut stream: TcpStream, request: &str) -> Vec<u8> {
    tokio::time::timeout(LIMIT, async {
        // A refused connection may be reset before or while writing.
        let _ = stream.write_all(request.as_bytes()).await;
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out).await;
        out
    })
    .await
    .expect("the exchange took longer than the deadline")
}

const GET_CLOSE: &str =
    "GET /mon/v1/state HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

#[test]
fn the_new_limits_are_validated() {
    assert!(matches!(
        StatusReporter::builder().write_timeout(Duration::ZERO),
        Err(BuildError::ZeroDuration {
            option: "write_timeout",
            ..
        })
    ));
    assert!(matches!(
        StatusReporter::builder().max_connection_age(Duration::ZERO),
        Err(BuildError::ZeroDuration {
            option: "max_connection_age",
            ..
        })
    ));
    assert!(matches!(
        StatusReporter::builder().max_requests_per_connection(0),
        Err(BuildError::ZeroCount {
            option: "max_requests_per_connection"
        })
    ));
    assert!(matches!(
        StatusReporter::builder().max_connections_per_address(0),
        Err(BuildError::ZeroCount {
            option: "max_connections_per_address"
        })
    ));
    assert!(
        StatusReporter::builder()
            .write_timeout(Duration::from_millis(1))
            .is_ok()
    );
}

#[tokio::test]
async fn a_client_that_pipelines_and_never_reads_is_cut_after_the_write_deadline() {
    let write_timeout = Duration::from_secs(1);
    let (mon, server) = serve(
        patient()
            .write_timeout(write_timeout)
            .unwrap()
            // One connection per address: a second one is served only once
            // the stalled one is gone.
            .max_connections_per_address(1)
            .unwrap(),
    )
    .await;
    // Large answers fill the socket buffers after a few requests.
    mon.publish(json!({"filler": "x".repeat(256 * 1024)}));
    let addr = server.local_addr();
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = tokio::time::timeout(LIMIT, socket.connect(addr))
        .await
        .unwrap()
        .unwrap();
    let requests = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n\
                    GET /mon/v1/state HTTP/1.1\r\nHost: localhost\r\n\r\n"
        .repeat(100);
    tokio::time::timeout(LIMIT, stalled.write_all(requests.as_bytes()))
        .await
        .expect("the requests fit the buffers")
        .unwrap();
    let start = Instant::now();
    // While the stalled connection is open, its address gets no other.
    let refused = exchange_on(TcpStream::connect(addr).await.unwrap(), GET_CLOSE).await;
    assert!(refused.is_empty(), "served over the per-address cap");
    let served = wait_for(write_timeout + Duration::from_secs(3), || async move {
        let raw = exchange_on(TcpStream::connect(addr).await.unwrap(), GET_CLOSE).await;
        (!raw.is_empty()).then(|| parse(&raw))
    })
    .await
    .expect("the stalled connection was cut");
    let cut = start.elapsed();
    assert_eq!(served.status, 200);
    assert!(
        cut < write_timeout + Duration::from_secs(1),
        "cut after {cut:?} (write_timeout {write_timeout:?})"
    );
    drop(stalled);
    server.stop().await;
}

#[tokio::test]
async fn a_connection_closes_after_its_last_allowed_response() {
    let (_mon, server) = serve(
        StatusReporter::builder()
            .max_requests_per_connection(3)
            .unwrap(),
    )
    .await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let request = "GET /mon/v1/state HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(5);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(LIMIT, stream.read_to_end(&mut raw))
        .await
        .expect("closed after the last allowed response")
        .unwrap();
    let text = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    assert_eq!(text.matches("http/1.1 200").count(), 3, "{text}");
    assert_eq!(text.matches("connection: close").count(), 1, "{text}");
    // The third response is complete: its body is the last thing sent.
    let last = text.rfind("http/1.1 200").unwrap();
    let reply = parse(&raw[last..]);
    assert_eq!(reply.header("connection"), Some("close"));
    assert_eq!(reply.json()["state"], json!({"status": "running"}));
    server.stop().await;
}

#[tokio::test]
async fn a_connection_past_its_maximum_age_closes_between_requests() {
    let age = Duration::from_millis(500);
    let (_mon, server) = serve(
        StatusReporter::builder()
            .max_connection_age(age)
            .unwrap()
            .keep_alive_timeout(Duration::from_secs(60))
            .unwrap(),
    )
    .await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    stream
        .write_all(b"GET /mon/v1/state HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let closed = time_to_close(&mut stream, LIMIT)
        .await
        .expect("closed at its age");
    assert!(
        closed >= age - Duration::from_millis(50),
        "closed after {closed:?}"
    );
    assert!(
        closed < age + Duration::from_secs(2),
        "closed after {closed:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_address_over_its_share_is_refused_while_another_is_served() {
    let (_mon, server) = serve(patient().max_connections_per_address(2).unwrap()).await;
    let addr = server.local_addr();
    let hog = Ipv4Addr::LOCALHOST;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(connect_from(hog, addr).await);
    }
    // Both are open: a request on the first is still served...
    let reply = exchange_on(held.remove(0), GET_CLOSE).await;
    assert_eq!(parse(&reply).status, 200);
    held.push(connect_from(hog, addr).await);
    // ...but a third from the same address is closed without an answer...
    let start = Instant::now();
    let refused = exchange_on(connect_from(hog, addr).await, GET_CLOSE).await;
    assert!(refused.is_empty(), "{}", String::from_utf8_lossy(&refused));
    assert!(start.elapsed() < Duration::from_secs(2), "refused at once");
    // ...while another address is served.
    let other = connect_from(Ipv4Addr::new(127, 0, 0, 2), addr).await;
    let reply = parse(&exchange_on(other, GET_CLOSE).await);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["state"], json!({"status": "running"}));
    // Once one of the hog's connections closes, it gets one again.
    drop(held.pop());
    let again = wait_for(Duration::from_secs(5), || async move {
        let raw = exchange_on(connect_from(hog, addr).await, GET_CLOSE).await;
        (!raw.is_empty()).then(|| parse(&raw).status)
    })
    .await;
    assert_eq!(again, Some(200));
    server.stop().await;
}

#[tokio::test]
async fn a_full_server_closes_its_longest_idle_connection_for_a_new_client() {
    let (_mon, server) = serve(patient().max_connections(2).unwrap()).await;
    let addr = server.local_addr();
    let mut oldest = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut newer = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let reply = tokio::time::timeout(LIMIT, get(addr, PATH))
        .await
        .expect("served although the cap was full of idle connections");
    assert_eq!(reply.status, 200);
    http_support::assert_only_the_oldest_closed(&mut oldest, &mut newer).await;
    server.stop().await;
}

#[tokio::test]
async fn http_1_1_without_host_gets_400_and_http_1_0_without_host_is_served() {
    let (_mon, server) = serve(StatusReporter::builder()).await;
    let addr = server.local_addr();
    let reply = parse(
        &exchange(
            addr,
            "GET /mon/v1/state HTTP/1.1\r\nConnection: close\r\n\r\n",
        )
        .await,
    );
    assert_eq!(reply.status, 400);
    let reply = parse(&exchange(addr, "GET /mon/v1/state HTTP/1.0\r\n\r\n").await);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["state"], json!({"status": "running"}));
    server.stop().await;
}

/// Opens `n` connections that send the start of a request head and then
/// nothing more.
async fn trickling(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut streams = Vec::new();
    for _ in 0..n {
        let mut stream = tokio::time::timeout(LIMIT, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .unwrap();
        stream
            .write_all(b"GET /mon/v1/state HTTP/1.1\r\nHost: loc")
            .await
            .unwrap();
        streams.push(stream);
    }
    streams
}

#[tokio::test]
async fn a_trickled_head_is_cut_sooner_when_the_server_is_under_pressure() {
    let hurried = Duration::from_millis(800);
    let header_timeout = Duration::from_secs(4);
    let builder = || {
        patient()
            .max_connections(16)
            .unwrap()
            .max_connections_per_address(64)
            .unwrap()
            .header_read_timeout(header_timeout)
            .unwrap()
            .header_read_timeout_under_pressure(hurried)
            .unwrap()
    };
    // Pressure: 8 of 16 connections in the header phase (more than a
    // quarter)...
    let (_mon, server) = serve(builder()).await;
    let addr = server.local_addr();
    let start = Instant::now();
    let mut streams = trickling(addr, 8).await;
    // ...a client that sends its request at once is served...
    let reply = tokio::time::timeout(LIMIT, get(addr, PATH))
        .await
        .expect("served under pressure");
    assert_eq!(reply.status, 200);
    // ...and trickling connections are cut at the shorter deadline until
    // at most a quarter of the cap (4) is in the header phase; those left
    // keep the ordinary deadline.
    let mut closed = Vec::new();
    for stream in &mut streams {
        time_to_close(stream, LIMIT).await.expect("cut");
        closed.push(start.elapsed());
    }
    closed.sort();
    let early = closed
        .iter()
        .filter(|&&t| t < hurried + Duration::from_millis(1500))
        .count();
    assert_eq!(early, 4, "closed at {closed:?}");
    for &late in &closed[4..] {
        http_support::assert_closed_near(late, header_timeout);
    }
    assert!(
        closed[0] >= hurried - Duration::from_millis(50),
        "{closed:?}"
    );
    server.stop().await;

    assert!(matches!(
        StatusReporter::builder().header_read_timeout_under_pressure(Duration::ZERO),
        Err(BuildError::ZeroDuration {
            option: "header_read_timeout_under_pressure",
            ..
        })
    ));
}

#[tokio::test]
async fn a_connection_whose_write_is_blocked_is_not_evicted_as_idle() {
    let (mon, server) = serve(
        patient()
            .max_connections(2)
            .unwrap()
            .write_timeout(Duration::from_secs(2))
            .unwrap(),
    )
    .await;
    mon.publish(json!({"filler": "x".repeat(256 * 1024)}));
    let addr = server.local_addr();
    // A connection whose answer is stuck in full buffers since before...
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(addr).await.unwrap();
    // 5 MiB of answers: more than the socket buffers hold.
    let requests = "GET /mon/v1/state HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(20);
    stalled.write_all(requests.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ...another one opened and idle.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A new client makes the server evict: the idle one, not the writer,
    // whose last request ended earlier (and which would hold the new
    // client up until its write deadline).
    let started = Instant::now();
    let reply = tokio::time::timeout(LIMIT, get(addr, "/nothing-here"))
        .await
        .expect("served");
    assert_eq!(reply.status, 404);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    assert!(
        time_to_close(&mut idle, Duration::from_secs(1))
            .await
            .is_some(),
        "the idle connection was evicted"
    );
    drop(stalled);
    server.stop().await;
}

#[tokio::test]
async fn a_full_server_evicts_a_half_sent_head_at_once() {
    let (_mon, server) = serve(patient().max_connections(1).unwrap()).await;
    let addr = server.local_addr();
    let mut half = trickling(addr, 1).await.remove(0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let reply = tokio::time::timeout(LIMIT, get(addr, PATH))
        .await
        .expect("served");
    assert_eq!(reply.status, 200);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "the new client waited {:?} for the half-sent head to be cut",
        started.elapsed()
    );
    assert!(
        time_to_close(&mut half, Duration::from_secs(1))
            .await
            .is_some(),
        "the half-sent head was evicted"
    );
    server.stop().await;
}
