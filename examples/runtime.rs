//! Run with
//!
//! ```not_rust
//! cargo run --example runtime
//! curl localhost:4242/mon/v1/state            # internal.runtime, internal.process
//! curl localhost:4242/mon/v1/tasks            # the named tasks, as JSON
//! curl 'localhost:4242/mon/v1/tasks?format=text'
//! ```
//!
//! and, with `--features prometheus`, `curl localhost:4242/metrics` for the
//! runtime and process metrics.
//!
//! A service on a two-worker tokio runtime, watched by a runtime monitor
//! attached to its reporter. A few named tasks do work; one of them blocks
//! its worker thread for half a second every few seconds, which shows as a
//! worker stall in `internal.runtime` (`stall_ms`, `max_stall_1m_ms`) and
//! in the log of a monitor callback. The request handler is instrumented:
//! its latency, errors and calls in flight are fields of the state. The
//! port can be set with the first argument or `MONSTA_PORT`, the interface
//! with `MONSTA_HOST`. Ctrl-C or `SIGTERM` stops it.

mod support;

use std::{sync::Arc, time::Duration};

use monsta::{
    AppState, StatusReporter,
    fields::*,
    instrument::{self, Instrument},
    runtime::{RuntimeMonitor, spawn_named},
};

/// The service's state.
#[derive(AppState)]
#[monsta(prefix = "demo")]
pub struct State {
    /// Scheduling lag of the runtime, in seconds.
    #[monsta(unit = "seconds", buckets = exponential_buckets(0.0005, 4, 8))]
    runtime_lag: Histogram,
    /// Handler latency, in seconds.
    #[monsta(unit = "seconds", window = "5m", quantiles = [50, 90, 99])]
    handler_latency: SlidingPercentiles,
    /// Handler calls that failed.
    handler_errors: Counter,
    /// Handler calls in progress.
    handler_in_flight: Gauge,
    /// Batches the indexer finished.
    batches: Counter,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let host = std::env::var("MONSTA_HOST").unwrap_or_else(|_| "0.0.0.0".to_owned());
    let port = support::port(monsta::DEFAULT_PORT)?;
    let state = Arc::new(State::new());

    let monitor = RuntimeMonitor::builder()
        .record_lag(state.clone(), |s| &s.runtime_lag)
        .callback(|sample| {
            if !sample.stall.is_zero() {
                eprintln!("a worker made no progress for {:?}", sample.stall);
            }
        })
        .build()?;
    let mon = StatusReporter::builder()
        .update_holdoff(Duration::from_secs(1))
        .extension(monitor.extension())?
        .build();
    mon.publish_state(state.clone());
    // Starting the reporter starts the probe; stopping it stops the probe.
    let server = mon.start((host.as_str(), port)).await?;
    let addr = server.local_addr();
    println!("serving http://{addr}/mon/v1/state and http://{addr}/mon/v1/tasks  (Ctrl-C to stop)");

    let tasks = vec![
        spawn_named("indexer", indexer(state.clone())),
        spawn_named("request-loop", requests(state.clone())),
        spawn_named("blocking-report", blocking_report()),
        spawn_named("idle-listener", async {
            // Waits and is never woken: listed as idle.
            std::future::pending::<()>().await;
        }),
    ];

    monsta::shutdown_signal().await;
    for task in &tasks {
        task.abort();
    }
    server.stop().await;
    mon.stop().await; // and the probe
    Ok(())
}

/// Works in small batches, yielding between them.
async fn indexer(state: Arc<State>) {
    loop {
        for _ in 0..50 {
            std::hint::black_box((0..2_000u64).sum::<u64>());
            tokio::task::yield_now().await;
        }
        state.batches.inc(1);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A handler called every 50 ms; one call in ten fails.
async fn requests(state: Arc<State>) {
    let mut n = 0u64;
    loop {
        n += 1;
        let _ = instrument::timed(&state.handler_latency, handle(n))
            .count_errors(&state.handler_errors)
            .in_flight(&state.handler_in_flight)
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn handle(n: u64) -> Result<u64, String> {
    tokio::time::sleep(Duration::from_millis(2 + n % 7)).await;
    if n.is_multiple_of(10) {
        Err(format!("request {n} failed"))
    } else {
        Ok(n)
    }
}

/// Every three seconds, blocks its worker thread for half a second: the
/// mistake the monitor is there to catch.
async fn blocking_report() {
    loop {
        tokio::time::sleep(Duration::from_secs(3)).await;
        std::thread::sleep(Duration::from_millis(500));
    }
}
