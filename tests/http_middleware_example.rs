//! The middleware example run as a person would: started on a free
//! loopback port with a low threshold, a slow request with an
//! `X-Request-ID` shows up at `/mon/v1/slow` with its span tree, a fast one
//! does not.

#![cfg(all(feature = "middleware", feature = "derive"))]

mod http_support;

use http_support::example::{Running, example, free_port};

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

#[tokio::test]
async fn the_middleware_example_captures_a_slow_request() {
    let port = free_port();
    let mut child = Running(
        Command::new(example("middleware", "middleware"))
            .env("MONSTA_PORT", port.to_string())
            .env("MONSTA_SLOW_THRESHOLD", "200ms")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the example"),
    );
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        assert!(child.0.try_wait().expect("try_wait").is_none(), "exited");
        assert!(Instant::now() < deadline, "the example never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(http_support::get(addr, "/hello").await.text(), "hello\n");
    let slow = http_support::parse(
        &http_support::exchange(
            addr,
            "GET /slow?ms=300 HTTP/1.1\r\nHost: localhost\r\nX-Request-ID: abc\r\n\
             Connection: close\r\n\r\n",
        )
        .await,
    );
    assert_eq!(slow.text(), "slept 300 ms\n");
    assert_eq!(http_support::get(addr, "/fail").await.status, 500);

    let page = http_support::get(addr, "/mon/v1/slow").await.json();
    assert_eq!(page["captured"], 1, "{page:#}");
    let r = &page["requests"][0];
    assert_eq!(r["route"], "/slow");
    assert_eq!(r["headers"]["x-request-id"], "abc");
    assert_eq!(r["spans"][0]["name"], "handler");
    assert_eq!(r["spans"][0]["children"][0]["name"], "query");

    let state = http_support::get(addr, "/mon/v1/state").await.json();
    let routes: Vec<&str> = state["state"]["latency"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["labels"]["route"].as_str().unwrap())
        .collect();
    assert_eq!(routes, ["/hello", "/slow", "/fail"]);
    drop(child);
}
