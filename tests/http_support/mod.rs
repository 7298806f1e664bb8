//! Helpers for the HTTP tests: a raw HTTP/1.1 client over loopback TCP, and
//! bounded waiting. Every wait here has a deadline.

#![allow(dead_code)]

pub mod child;
pub mod example;

use std::{
    collections::HashMap,
    future::Future,
    net::SocketAddr,
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// How long any single exchange may take before the test fails.
pub const IO_DEADLINE: Duration = Duration::from_secs(10);

/// A parsed response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Parses a whole response (head and body) as read up to EOF.
pub fn parse(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// Sends `request` as is on a new connection and reads until the server
/// closes it.
pub async fn exchange(addr: SocketAddr, request: &str) -> Vec<u8> {
    tokio::time::timeout(IO_DEADLINE, async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut out = Vec::new();
        stream.read_to_end(&mut out).await.expect("read");
        out
    })
    .await
    .expect("the exchange took longer than the deadline")
}

/// `method path` with `Connection: close`, parsed.
pub async fn request(addr: SocketAddr, method: &str, path: &str) -> Reply {
    let raw = exchange(
        addr,
        &format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    )
    .await;
    parse(&raw)
}

pub async fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path).await
}

/// The same GET with a blocking std socket, for tests without a runtime.
pub fn get_blocking(addr: SocketAddr, path: &str) -> std::io::Result<Reply> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, IO_DEADLINE)?;
    stream.set_read_timeout(Some(IO_DEADLINE))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out)?;
    Ok(parse(&out))
}

/// Polls `probe` until it returns `Some`, at most `limit`.
pub async fn wait_for<T, F, Fut>(limit: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads from `stream` until the server closes it (EOF or reset) and returns
/// how long that took, or `None` if it stayed open for `limit`.
pub async fn time_to_close<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
    limit: Duration,
) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.checked_sub(start.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// Asserts that the server closed `oldest` (within 2 s) and not `newer`
/// (for 300 ms more): a full server made room by closing its longest idle
/// connection, and only that one.
pub async fn assert_only_the_oldest_closed<S: tokio::io::AsyncRead + Unpin>(
    oldest: &mut S,
    newer: &mut S,
) {
    assert!(
        time_to_close(oldest, Duration::from_secs(2))
            .await
            .is_some(),
        "the oldest idle connection was closed"
    );
    assert!(
        time_to_close(newer, Duration::from_millis(300))
            .await
            .is_none(),
        "only one connection was closed"
    );
}

/// A fresh listener on an ephemeral loopback port.
pub async fn listener() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0")
}

/// Asserts that a connection closed `closed` after it began was cut off by a
/// timeout of `timeout`: not (much) before it, and not long after.
#[track_caller]
pub fn assert_closed_near(closed: Duration, timeout: Duration) {
    assert!(
        closed >= timeout - Duration::from_millis(50),
        "closed too early: {closed:?} (timeout {timeout:?})"
    );
    assert!(
        closed < timeout + Duration::from_secs(2),
        "closed too late: {closed:?} (timeout {timeout:?})"
    );
}

/// A reporter with no holdoff that refreshes every `interval`, publishing an
/// async source that counts its calls (`{"calls": n}`); returns it with the
/// count.
pub fn counting_async_reporter(
    interval: Duration,
) -> (
    monsta::StatusReporter,
    std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    use std::sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    };
    let mon = monsta::StatusReporter::builder()
        .update_holdoff(Duration::ZERO)
        .update_interval(interval)
        .expect("a positive interval")
        .build();
    let calls = Arc::new(AtomicU64::new(0));
    let c = Arc::clone(&calls);
    mon.publish_with_async(move || {
        let c = Arc::clone(&c);
        async move { serde_json::json!({"calls": c.fetch_add(1, Ordering::SeqCst) + 1}) }
    });
    (mon, calls)
}

/// The value of the sample `name` (a whole number) in a Prometheus text
/// exposition; panics, showing the text, when it has none.
#[allow(dead_code)]
pub fn sample(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
        .parse()
        .expect("an integer")
}

/// Serves `app` with axum on a loopback port until the sender is used or
/// dropped: the address, the stop signal and the server's task.
#[cfg(feature = "axum")]
#[allow(dead_code)]
pub async fn serve_router(
    app: axum::Router,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = listener().await;
    let addr = listener.local_addr().expect("an address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    (addr, stop, serving)
}
