//! The README's main command, run as a person would: the `standalone`
//! example is started on a free loopback port, answered once (and again
//! until its numbers move), then stopped with `SIGTERM` (killed where there
//! is none); and the blocking `appstate` example, stopped with `SIGTERM`
//! too.

#![cfg(all(feature = "derive", feature = "http"))]

mod http_support;

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use http_support::{
    example::{Running, example, free_port},
    get_blocking,
};

#[test]
fn the_standalone_example_serves_moving_numbers() {
    let binary = example("standalone", "derive http");
    let port = free_port();
    let mut child = Running(
        Command::new(&binary)
            .env("MONSTA_HOST", "127.0.0.1")
            .env("MONSTA_PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the standalone example"),
    );
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));

    let deadline = Instant::now() + Duration::from_secs(30);
    let first = loop {
        if let Ok(reply) = get_blocking(addr, "/mon/v1/state") {
            break reply;
        }
        if let Some(status) = child.0.try_wait().expect("try_wait") {
            let mut stderr = String::new();
            if let Some(mut err) = child.0.stderr.take() {
                use std::io::Read;
                let _ = err.read_to_string(&mut stderr);
            }
            panic!("the example exited with {status}: {stderr}");
        }
        assert!(
            Instant::now() < deadline,
            "the example never answered on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(first.status, 200);
    assert_eq!(first.header("content-type"), Some("application/json"));
    let body = first.json();
    assert!(body["internal"]["uptime"].is_u64(), "{body}");
    let state = body["state"].as_object().expect("state is an object");
    let keys: Vec<&str> = state.keys().map(String::as_str).collect();
    for key in [
        "request_rate",
        "jobs_today",
        "requests_today",
        "cpu_usage",
        "latency",
        "active_rps",
        "rate_limiter",
        "db_latency",
        "api_calls",
        "status",
        "connections",
        "queries",
        "ver",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    assert_eq!(state["ver"], "1.0.0");
    assert!(state["latency"]["n"].is_u64());
    assert!(state["db_latency"].get("p99.9").is_some());

    // The simulated workload moves the numbers: a later curl differs.
    let calls = |v: &serde_json::Value| v["state"]["api_calls"].as_u64().unwrap_or(0);
    let before = calls(&body);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = get_blocking(addr, "/mon/v1/state").expect("GET").json();
        if calls(&now) > before {
            break;
        }
        assert!(Instant::now() < deadline, "api_calls stayed at {before}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // `SIGTERM` stops it cleanly, as `monsta::shutdown_signal` promises
    // (elsewhere it is killed).
    #[cfg(unix)]
    {
        stops_on_sigterm(&mut child);
    }
    drop(child);
    assert!(
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "the example is gone"
    );
}

/// The `appstate` example serves without a runtime of its own
/// (`start_blocking_until`) and returns from `main` on `SIGTERM`.
#[cfg(unix)]
#[test]
fn the_blocking_appstate_example_stops_on_sigterm() {
    let binary = example("appstate", "derive http");
    let port = free_port();
    let mut child = Running(
        Command::new(&binary)
            .env("MONSTA_PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the appstate example"),
    );
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(30);
    let reply = loop {
        if let Ok(reply) = get_blocking(addr, "/mon/v1/state") {
            break reply;
        }
        assert!(
            child.0.try_wait().expect("try_wait").is_none(),
            "the example exited"
        );
        assert!(
            Instant::now() < deadline,
            "the example never answered on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(reply.status, 200);
    stops_on_sigterm(&mut child);
}

/// Sends `SIGTERM` to the example and checks that it exits with success
/// within 10 s.
#[cfg(unix)]
fn stops_on_sigterm(child: &mut Running) {
    let pid = child.0.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -TERM {pid}: {sent}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the example did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "the example exited with {status}");
}
