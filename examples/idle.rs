//! Run with
//!
//! ```not_rust
//! cargo run --example idle --features prometheus
//! curl localhost:4242/mon/v1/state
//! ```
//!
//! An idle service: a derived state and a reporter serving it (JSON, and
//! `/metrics` with the `prometheus` feature), with no workload. Nothing runs
//! until a request comes: `scripts/idle_cost.sh` measures, from `/proc`, the
//! CPU time and the wake-ups of this process over 30 s and fails above the
//! bounds monsta keeps (10 wake-ups a second, 0.1 % of a core). The port can
//! be set with the first argument or `MONSTA_PORT`; Ctrl-C or `SIGTERM`
//! stops it.

mod support;

use std::sync::Arc;

use monsta::fields::*;
use monsta::{AppState, StatusReporter};

/// One field of each kind that reads the clock.
#[derive(AppState)]
struct IdleState {
    /// Requests in the last minute.
    requests: SlidingWindow,
    /// Jobs done today.
    jobs_today: PeriodicSum,
    /// Calls since start.
    calls: Counter,
    /// Load, smoothed.
    load: Ewma,
    /// Requests per second, as last sampled.
    rps: SampledWindow,
    /// Latency in milliseconds.
    latency: SlidingPercentiles,
    /// Admission control.
    #[monsta(capacity = 10, leak_rate = 1)]
    limiter: LeakyBucket,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = support::port(monsta::DEFAULT_PORT)?;
    let state = Arc::new(IdleState::new());
    // One update of each, then nothing.
    state.transaction(|tx| {
        tx.requests.inc(1.0);
        tx.jobs_today.inc(1.0);
        tx.calls.inc(1);
        tx.load.update(0.5);
        tx.rps.set(1.0);
        tx.latency.update(12.0);
        tx.limiter.request(1.0);
    });
    let mon = StatusReporter::builder().build();
    mon.publish_state(state);
    let server = mon.start(("127.0.0.1", port)).await?;
    println!("serving http://{}{}", server.local_addr(), mon.endpoint());
    monsta::shutdown_signal().await;
    server.stop().await;
    Ok(())
}
