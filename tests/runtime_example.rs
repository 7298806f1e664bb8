//! The `runtime` example, run as a person would: its blocking task shows
//! as a worker stall in `internal.runtime`, and its named tasks are listed
//! on `/mon/v1/tasks`.

#![cfg(all(feature = "derive", feature = "http", feature = "runtime"))]

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
fn the_runtime_example_shows_its_stalls_and_tasks() {
    let port = free_port();
    let _child = Running(
        Command::new(example("runtime", "derive http runtime"))
            .env("MONSTA_HOST", "127.0.0.1")
            .env("MONSTA_PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the runtime example"),
    );
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(30);
    // The blocking task blocks for 500 ms every 3 s.
    let runtime = loop {
        if let Ok(reply) = get_blocking(addr, "/mon/v1/state") {
            let body = reply.json();
            let rt = body["internal"]["runtime"].clone();
            if rt["max_stall_1m_ms"].as_f64().unwrap_or(0.0) >= 400.0 {
                assert!(
                    body["state"]["runtime_lag"]["count"].as_u64() > Some(0),
                    "{body}"
                );
                break rt;
            }
        }
        assert!(Instant::now() < deadline, "no stall shown on {addr}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(runtime["workers"], 2, "{runtime}");
    let tasks = get_blocking(addr, "/mon/v1/tasks").expect("GET").json();
    let names: Vec<&str> = tasks["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for name in [
        "indexer",
        "request-loop",
        "blocking-report",
        "idle-listener",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let text = get_blocking(addr, "/mon/v1/tasks?format=text")
        .expect("GET")
        .text();
    assert!(text.starts_with("ID"), "{text}");
}
