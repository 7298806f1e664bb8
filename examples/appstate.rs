//! Run with
//!
//! ```not_rust
//! cargo run --example appstate
//! curl localhost:4242/mon/v1/state
//! ```
//!
//! Every field type of `#[derive(AppState)]`, updated by a background thread
//! and served without an async runtime (`start_blocking_until`). The JSON is
//! printed once at startup, so the output shows every field's shape. The
//! port can be set with the first argument or `MONSTA_PORT`. Ctrl-C or SIGTERM stops it.

mod support;

use std::{sync::Arc, time::Duration};

use monsta::fields::*;
use monsta::{AppState, StatusReporter};
use serde::{Deserialize, Serialize};

/// A value of any serde type (with `Deserialize`, `Clone`, `Debug` and
/// `PartialEq` for snapshots) can be a field: `Value<T>`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
struct Build {
    git_sha: String,
    release: bool,
}

/// Counts of the worker pool, flattened into the parent.
#[derive(AppState)]
pub struct Pool {
    /// Busy workers.
    busy_workers: Gauge,
    /// Tasks the pool finished.
    tasks_done: Counter,
}

/// One field of every kind.
#[derive(AppState)]
pub struct EveryField {
    /// Hits in the last 10 seconds (interpolated across the window edge).
    #[monsta(window = "10s")]
    hits: SlidingWindow,
    /// Events since local midnight.
    events_today: PeriodicSum,
    /// Smoothed load; `null` until the first sample.
    #[monsta(alpha = 0.3)]
    load: Ewma,
    /// Mean, standard deviation, min and max of every sample.
    latency_ms: RunningStats,
    /// The last sample, or 0 once it is older than 3 s.
    #[monsta(window = "3s")]
    queue_len: SampledWindow,
    /// A rate limiter: 5 per second, bursts of 10.
    #[monsta(capacity = 10, leak_rate = 5)]
    limiter: LeakyBucket,
    /// Percentiles over the last minute.
    #[monsta(window = "60s", quantiles = [50, 95, 99])]
    response_ms: SlidingPercentiles,
    /// A plain integer.
    requests: Counter,
    /// A plain number.
    temperature: Gauge,
    /// Any serde value.
    build: Value<Build>,
    /// A string with a default, renamed in JSON.
    #[monsta(rename = "mode", default = "warming up")]
    phase: Value<String>,
    #[monsta(flatten)]
    pool: Pool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = support::port(monsta::DEFAULT_PORT)?;

    let state = Arc::new(EveryField::new());
    state.build.set(Build {
        git_sha: "0123abc".into(),
        release: !cfg!(debug_assertions),
    });
    update(&state, 0);

    let mon = StatusReporter::builder()
        .update_holdoff(Duration::from_secs(1))
        .build();
    mon.publish_state(state.clone());
    // Fields appear in declaration order, flattened ones in place.
    println!("{}", mon.render());

    let worker = state.clone();
    std::thread::spawn(move || {
        for step in 1.. {
            std::thread::sleep(Duration::from_millis(100));
            update(&worker, step);
        }
    });

    println!(
        "serving http://0.0.0.0:{port}{}  (Ctrl-C or SIGTERM to stop)",
        mon.endpoint()
    );
    // Serves on this thread until Ctrl-C or SIGTERM.
    mon.start_blocking_until(("0.0.0.0", port), monsta::shutdown_signal())?;
    Ok(())
}

/// One step of simulated work touching every field.
fn update(state: &EveryField, step: u64) {
    let wobble = (step % 10) as f64;
    state.hits.inc(1.0);
    state.events_today.inc(1.0);
    state.load.update(0.5 + wobble / 10.0);
    state.latency_ms.update(10.0 + wobble * 3.0);
    if step.is_multiple_of(5) {
        state.queue_len.set(wobble);
    }
    let _admitted = state.limiter.request(1.0);
    state.response_ms.update(5.0 + wobble * wobble);
    state.temperature.set(40.0 + wobble / 2.0);
    // Several fields that belong together change in one transaction.
    state.transaction(|tx| {
        tx.requests.inc(1);
        tx.pool.tasks_done.inc(1);
        tx.pool.busy_workers.set((step % 4) as f64);
        if step == 20 {
            tx.phase.set("steady".into());
        }
    });
}
