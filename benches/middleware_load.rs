//! The request middleware under load: the same hyper 1.x server answering
//! `hello`, without and with the `RequestMonitor` layer, measured by `wrk`
//! in one run: throughput, p99 latency, and this process's CPU time per
//! request (`getrusage` around each `wrk` run, over the requests it made).
//!
//! Run with `bash benches/middleware_load.sh` (installs `wrk` from Debian's
//! packages if it is missing, then runs
//! `cargo bench -p monsta-bench --bench middleware_load`).
//!
//! Both servers run on one tokio worker thread in this process, pinned to
//! the last core, and `wrk` to the first (through `taskset`); they are measured `ROUNDS` times each,
//! alternating, and the medians are printed. No request is slow, so nothing
//! is captured: this is the cost of the path without a capture.

use std::{convert::Infallible, net::SocketAddr, process::Command, sync::Arc, time::Duration};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use monsta::{
    fields::SlidingWindow,
    http::{RequestMetrics, RequestMonitor},
};
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
    /// The user-space part: where the layer's code runs (the rest is the
    /// kernel's TCP work, which varies with how requests batch).
    user_ns_per_request: f64,
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk is not installed: run `bash benches/middleware_load.sh`, which installs it");
        std::process::exit(2);
    }
    // The server on the last core, wrk (through `taskset`) on the first, so
    // they do not take turns on one.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pinned = cores >= 2 && pin_to(cores - 1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let metrics = Arc::new(RequestMetrics::new());
    let (bare_addr, clocked_addr, layered_addr) = runtime.block_on(async {
        let bare = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let clocked = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let layered = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addrs = (
            bare.local_addr().expect("addr"),
            clocked.local_addr().expect("addr"),
            layered.local_addr().expect("addr"),
        );
        tokio::spawn(serve(bare, None, None));
        // The bare server plus one windowed-field update per request: what
        // any state with a `SlidingWindow` costs the process, the coarse
        // clock's refresh thread (1,000 wake-ups a second while the time
        // is read) included, without the layer.
        let window = Arc::new(SlidingWindow::new(Duration::from_secs(60)).expect("a valid window"));
        tokio::spawn(serve(clocked, None, Some(window)));
        let monitor = RequestMonitor::builder()
            .state(metrics.clone())
            .route("/hello", "/hello")
            .build()
            .expect("valid settings");
        tokio::spawn(serve(layered, Some(monitor), None));
        addrs
    });

    let mut bare = Vec::new();
    let mut clocked = Vec::new();
    let mut layered = Vec::new();
    for _ in 0..ROUNDS {
        bare.push(wrk(bare_addr, pinned));
        clocked.push(wrk(clocked_addr, pinned));
        layered.push(wrk(layered_addr, pinned));
    }
    let (b, w, l) = (median(&bare), median(&clocked), median(&layered));
    println!(
        "middleware_load: wrk -t1 -c{CONNECTIONS} -d{SECONDS}s, {ROUNDS} rounds, medians{}",
        if pinned {
            ", server and wrk on cores of their own"
        } else {
            ""
        }
    );
    println!(
        "| server | requests/s | p99 latency | process CPU per request | of which user space |"
    );
    println!("| --- | --- | --- | --- | --- |");
    for (name, r) in [
        ("bare hyper", b),
        ("bare hyper, one SlidingWindow::inc a request", w),
        ("with RequestMonitor", l),
    ] {
        println!(
            "| {name} | {:.0} | {:.0} µs | {:.0} ns | {:.0} ns |",
            r.rps, r.p99_us, r.cpu_ns_per_request, r.user_ns_per_request
        );
    }
    println!(
        "added by the layer: {:.0} ns of CPU per request ({:.0} ns in user space) over the bare server, {:.0} ns ({:.0} ns) over the one with a windowed field; throughput ratio {:.2} / {:.2}",
        l.cpu_ns_per_request - b.cpu_ns_per_request,
        l.user_ns_per_request - b.user_ns_per_request,
        l.cpu_ns_per_request - w.cpu_ns_per_request,
        l.user_ns_per_request - w.user_ns_per_request,
        l.rps / b.rps,
        l.rps / w.rps,
    );
    runtime.shutdown_timeout(Duration::from_secs(1));
}

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"hello"))))
}

async fn serve(
    listener: TcpListener,
    monitor: Option<RequestMonitor>,
    window: Option<Arc<SlidingWindow>>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let monitor = monitor.clone();
        let window = window.clone();
        tokio::spawn(async move {
            let io = TokioIo::new(stream);
            let conn = http1::Builder::new();
            let _ = match (monitor, window) {
                (None, None) => conn.serve_connection(io, service_fn(hello)).await,
                (None, Some(window)) => {
                    let counted = move |req| {
                        window.inc(1.0);
                        hello(req)
                    };
                    conn.serve_connection(io, service_fn(counted)).await
                }
                (Some(monitor), _) => {
                    let layered = monitor.layer(tower::service_fn(hello));
                    conn.serve_connection(io, service_fn(move |req| layered.clone().oneshot(req)))
                        .await
                }
            };
        });
    }
}

/// Runs this process (and the threads it starts after) on `core` only;
/// whether that worked.
fn pin_to(core: usize) -> bool {
    // SAFETY: the set is zeroed, then one bit set by `CPU_SET`, and
    // `sched_setaffinity` only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// User and system CPU time of this process, in nanoseconds, and its
/// minor page faults and voluntary and involuntary context switches.
fn cpu_ns() -> (f64, f64, [f64; 3]) {
    // SAFETY: `getrusage` writes into the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1e9 + t.tv_usec as f64 * 1e3;
    (
        tv(usage.ru_utime),
        tv(usage.ru_stime),
        [
            usage.ru_minflt as f64,
            usage.ru_nvcsw as f64,
            usage.ru_nivcsw as f64,
        ],
    )
}

fn wrk(addr: SocketAddr, pinned: bool) -> Run {
    let before = cpu_ns();
    let mut command = if pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", "0", "wrk"]);
        c
    } else {
        Command::new("wrk")
    };
    let out = command
        .args([
            "-t1",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{SECONDS}s"),
            "--latency",
            &format!("http://{addr}/hello"),
        ])
        .output()
        .expect("wrk runs");
    let after = cpu_ns();
    let user = after.0 - before.0;
    let cpu = user + after.1 - before.1;
    let events: Vec<f64> = (0..3).map(|i| after.2[i] - before.2[i]).collect();
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
    if std::env::var_os("MIDDLEWARE_LOAD_EVENTS").is_some() {
        eprintln!(
            "{addr}: per 1,000 requests: {:.2} minor faults, {:.2} voluntary and {:.2} involuntary context switches",
            events[0] * 1e3 / requests.max(1.0),
            events[1] * 1e3 / requests.max(1.0),
            events[2] * 1e3 / requests.max(1.0),
        );
    }
    Run {
        rps,
        p99_us,
        cpu_ns_per_request: cpu / requests.max(1.0),
        user_ns_per_request: user / requests.max(1.0),
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
        user_ns_per_request: mid(runs.iter().map(|r| r.user_ns_per_request).collect()),
    }
}
