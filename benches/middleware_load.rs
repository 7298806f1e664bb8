//! The request middleware under load: the same hyper 1.x server answering
//! `hello`, without and with the `RequestMonitor` layer, measured by `wrk`
//! in one run: throughput, p99 latency, and this process's CPU time per
//! request (`getrusage` around each `wrk` run, over the requests it made).
//!
//! Run with `bash benches/middleware_load.sh` (installs `wrk` from Debian's
//! packages if it is missing, then runs
//! `cargo bench -p monsta-bench --bench middleware_load`).
//!
//! Both servers run on one tokio worker thread in this process, so the load
//! generator has the other core; they are measured `ROUNDS` times each,
//! alternating, and the medians are printed. No request is slow, so nothing
//! is captured: this is the cost of the path without a capture.

use std::{convert::Infallible, net::SocketAddr, process::Command, sync::Arc, time::Duration};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use monsta::http::{RequestMetrics, RequestMonitor};
use tokio::net::TcpListener;
use tower::{Layer, ServiceExt};

const ROUNDS: usize = 5;
const SECONDS: u32 = 6;
const CONNECTIONS: u32 = 32;

/// One `wrk` run.
#[derive(Debug, Clone, Copy)]
struct Run {
    rps: f64,
    p99_us: f64,
    cpu_ns_per_request: f64,
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk is not installed: run `bash benches/middleware_load.sh`, which installs it");
        std::process::exit(2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let metrics = Arc::new(RequestMetrics::new());
    let (bare_addr, layered_addr) = runtime.block_on(async {
        let bare = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let layered = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addrs = (
            bare.local_addr().expect("addr"),
            layered.local_addr().expect("addr"),
        );
        tokio::spawn(serve(bare, None));
        let monitor = RequestMonitor::builder()
            .state(metrics.clone())
            .route("/hello", "/hello")
            .build()
            .expect("valid settings");
        tokio::spawn(serve(layered, Some(monitor)));
        addrs
    });

    let mut bare = Vec::new();
    let mut layered = Vec::new();
    for _ in 0..ROUNDS {
        bare.push(wrk(bare_addr));
        layered.push(wrk(layered_addr));
    }
    let (b, l) = (median(&bare), median(&layered));
    println!("middleware_load: wrk -t1 -c{CONNECTIONS} -d{SECONDS}s, {ROUNDS} rounds, medians");
    println!("| server | requests/s | p99 latency | process CPU per request |");
    println!("| --- | --- | --- | --- |");
    for (name, r) in [("bare hyper", b), ("with RequestMonitor", l)] {
        println!(
            "| {name} | {:.0} | {:.0} µs | {:.0} ns |",
            r.rps, r.p99_us, r.cpu_ns_per_request
        );
    }
    println!(
        "added by the layer: {:.0} ns of CPU per request; throughput ratio {:.2}",
        l.cpu_ns_per_request - b.cpu_ns_per_request,
        l.rps / b.rps
    );
    runtime.shutdown_timeout(Duration::from_secs(1));
}

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"hello"))))
}

async fn serve(listener: TcpListener, monitor: Option<RequestMonitor>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let monitor = monitor.clone();
        tokio::spawn(async move {
            let io = TokioIo::new(stream);
            let conn = http1::Builder::new();
            let _ = match monitor {
                None => conn.serve_connection(io, service_fn(hello)).await,
                Some(monitor) => {
                    let layered = monitor.layer(tower::service_fn(hello));
                    conn.serve_connection(io, service_fn(move |req| layered.clone().oneshot(req)))
                        .await
                }
            };
        });
    }
}

/// User plus system CPU time of this process, in nanoseconds.
fn cpu_ns() -> f64 {
    // SAFETY: `getrusage` writes into the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1e9 + t.tv_usec as f64 * 1e3;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn wrk(addr: SocketAddr) -> Run {
    let before = cpu_ns();
    let out = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{SECONDS}s"),
            "--latency",
            &format!("http://{addr}/hello"),
        ])
        .output()
        .expect("wrk runs");
    let cpu = cpu_ns() - before;
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{text}"));
    let requests: f64 = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk's output:\n{text}"));
    let p99_us = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| micros(v.trim()))
        .unwrap_or_else(|| panic!("no 99% latency in wrk's output:\n{text}"));
    if text.contains("Non-2xx") {
        panic!("wrk saw error responses:\n{text}");
    }
    Run {
        rps,
        p99_us,
        cpu_ns_per_request: cpu / requests.max(1.0),
    }
}

/// `"1.23ms"`, `"850.00us"`, `"2.00s"` in microseconds.
fn micros(v: &str) -> f64 {
    let (num, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1e6)
    } else {
        (v, 1.0)
    };
    num.parse::<f64>().unwrap_or(f64::NAN) * scale
}

fn median(runs: &[Run]) -> Run {
    let mid = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Run {
        rps: mid(runs.iter().map(|r| r.rps).collect()),
        p99_us: mid(runs.iter().map(|r| r.p99_us).collect()),
        cpu_ns_per_request: mid(runs.iter().map(|r| r.cpu_ns_per_request).collect()),
    }
}
