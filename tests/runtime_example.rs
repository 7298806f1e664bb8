//! The `runtime` example, run as a person would: its blocking task shows
//! as a worker stall in `internal.runtime`, and its named tasks are listed
//! on `/mon/v1/tasks`.

#![cfg(all(feature = "derive", feature = "http", feature = "runtime"))]

mod http_support;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use http_support::get_blocking;

/// Kills the example when the test ends, passed or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `target/<profile>/examples/runtime`, built here if `cargo test` did not.
fn example() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let binary = profile_dir
        .join("examples")
        .join(format!("runtime{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        let target_dir = profile_dir.parent().expect("target dir");
        let mut build = Command::new(env!("CARGO"));
        build
            .args([
                "build",
                "--example",
                "runtime",
                "--features",
                "derive http runtime",
            ])
            .arg("--target-dir")
            .arg(target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "building the runtime example failed");
    }
    binary
}

#[test]
fn the_runtime_example_shows_its_stalls_and_tasks() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr").port()
    };
    let _child = Running(
        Command::new(example())
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
