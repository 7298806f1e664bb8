//! `GET /mon/v1/state` under load: the reporter's endpoint next to a bare
//! hyper 1.x server answering the same bytes, measured by `wrk` in one run.
//!
//! Run with `bash benches/http_load.sh` (installs `wrk` from Debian's packages
//! if it is missing, then runs `cargo bench -p monsta-bench --bench http_load`).
//!
//! Both servers run on one tokio worker thread in this process, so the load
//! generator has the other core. Each server is measured `ROUNDS` times,
//! alternating, and the medians are printed. The reporter is measured once
//! more each round with a `monsta::runtime` monitor probing the runtime
//! every 100 ms (stopped for the other runs), the two back to back, each
//! first in every other round; their throughput ratio is also given within
//! each round (median and range).

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, body::Incoming, header, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[path = "wrk.rs"]
mod client;
#[path = "example_state.rs"]
mod example_state;

const ROUNDS: usize = 6;
const SECONDS: u32 = 6;
const CONNECTIONS: u32 = 32;

/// One `wrk` run: requests per second and the 99th percentile latency (µs).
#[derive(Debug, Clone, Copy)]
struct Run {
    rps: f64,
    p99_us: f64,
}

fn main() {
    // `cargo bench` passes `--bench`; a plain test run (`cargo test --benches`)
    // has nothing to check here.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if !client::installed() {
        eprintln!("wrk is not installed: run `bash benches/http_load.sh`, which installs it");
        std::process::exit(2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (monsta_addr, bare_addr) = runtime.block_on(async {
        let reporter = monsta::StatusReporter::builder()
            .update_holdoff(Duration::from_secs(5))
            // wrk's connections all come from 127.0.0.1 and stay open for
            // the whole run, as the bare server's do.
            .max_connections_per_address(1024)
            .expect("positive")
            .max_requests_per_connection(u64::MAX)
            .expect("positive")
            .build();
        reporter.publish_state(Arc::new(example_state::filled()));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let handle = reporter.start_on(listener).expect("start");
        let monsta_addr = handle.local_addr();
        std::mem::forget(handle);
        // The bare server answers the bytes the reporter renders.
        let body = Bytes::from(reporter.render());
        let bare = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let bare_addr = bare.local_addr().expect("addr");
        tokio::spawn(bare_server(bare, body));
        (monsta_addr, bare_addr)
    });

    let monitor = monsta::runtime::RuntimeMonitor::builder()
        .handle(runtime.handle().clone())
        .build()
        .expect("a runtime monitor");
    let mut monsta = Vec::new();
    let mut probed = Vec::new();
    let mut bare = Vec::new();
    let with_monitor = || {
        monitor.start();
        let run = wrk(monsta_addr);
        monitor.stop();
        run
    };
    for round in 0..ROUNDS {
        bare.push(wrk(bare_addr));
        // The reporter with and without the monitor back to back, in turn
        // first, so that a drift within a round favours neither.
        if round % 2 == 0 {
            monsta.push(wrk(monsta_addr));
            probed.push(with_monitor());
        } else {
            probed.push(with_monitor());
            monsta.push(wrk(monsta_addr));
        }
    }
    let (m, b, p) = (median(&monsta), median(&bare), median(&probed));
    println!("http_load: wrk -t1 -c{CONNECTIONS} -d{SECONDS}s, {ROUNDS} rounds, medians");
    println!("| server | requests/s | p99 latency |");
    println!("| --- | --- | --- |");
    println!(
        "| bare hyper, same bytes | {:.0} | {:.0} µs |",
        b.rps, b.p99_us
    );
    println!(
        "| monsta StatusReporter | {:.0} | {:.0} µs |",
        m.rps, m.p99_us
    );
    println!(
        "| monsta StatusReporter, runtime monitor at 100 ms | {:.0} | {:.0} µs |",
        p.rps, p.p99_us
    );
    println!(
        "ratio monsta / bare: throughput {:.2}, p99 latency {:.2}",
        m.rps / b.rps,
        m.p99_us / b.p99_us
    );
    println!(
        "ratio with the monitor / without: throughput {:.3}, p99 latency {:.2}",
        p.rps / m.rps,
        p.p99_us / m.p99_us
    );
    // The same ratio within each round, where the two ran back to back.
    let mut ratios: Vec<f64> = probed
        .iter()
        .zip(&monsta)
        .map(|(p, m)| p.rps / m.rps)
        .collect();
    ratios.sort_by(f64::total_cmp);
    println!(
        "throughput with the monitor / without, within each round: median {:.3}, range {:.3} to {:.3}",
        client::median(ratios.clone()),
        ratios[0],
        ratios[ratios.len() - 1]
    );
    runtime.shutdown_timeout(Duration::from_secs(1));
}

async fn bare_server(listener: TcpListener, body: Bytes) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let body = body.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_req: Request<Incoming>| {
                let body = body.clone();
                async move {
                    Ok::<_, Infallible>(
                        Response::builder()
                            .header(header::CONTENT_TYPE, "application/json")
                            .header(header::CACHE_CONTROL, "no-store")
                            .body(Full::new(body))
                            .expect("a valid response"),
                    )
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn wrk(addr: SocketAddr) -> Run {
    let w = client::run(
        &format!("http://{addr}/mon/v1/state"),
        CONNECTIONS,
        SECONDS,
        false,
    );
    Run {
        rps: w.rps,
        p99_us: w.p99_us,
    }
}

fn median(runs: &[Run]) -> Run {
    Run {
        rps: client::median(runs.iter().map(|r| r.rps).collect()),
        p99_us: client::median(runs.iter().map(|r| r.p99_us).collect()),
    }
}
