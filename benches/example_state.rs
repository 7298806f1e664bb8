//! The example state of the benches: every field kind, a flattened child, a rename (13 keys).
#![allow(dead_code)]

use monsta::{AppState, fields::*};

#[derive(AppState)]
pub struct DbState {
    pub pool_size: Counter,
    pub db_status: Value<String>,
}

#[derive(AppState)]
pub struct ExampleState {
    #[monsta(window = "60s")]
    pub request_rate: SlidingWindow,
    pub jobs_today: PeriodicSum,
    #[monsta(reset_at = "06:00", tz = "Europe/Berlin")]
    pub requests_today: PeriodicSum,
    #[monsta(alpha = 0.1, preset = 0.0)]
    pub cpu_usage: Ewma,
    pub latency: RunningStats,
    #[monsta(window = "5s")]
    pub active_rps: SampledWindow,
    #[monsta(capacity = 100, leak_rate = 10)]
    pub rate_limiter: LeakyBucket,
    #[monsta(window = "10m", quantiles = [50, 90, 99, 99.9])]
    pub db_latency: SlidingPercentiles,
    pub api_calls: Counter,
    pub status: Value<String>,
    #[monsta(flatten)]
    pub db: DbState,
    #[monsta(rename = "ver", default = "1.0.0")]
    pub version: Value<String>,
}

/// The example state with some traffic recorded.
pub fn filled() -> ExampleState {
    let state = ExampleState::new();
    for i in 0..100 {
        let x = f64::from(i);
        state.request_rate.inc(1.0);
        state.jobs_today.inc(1.0);
        state.requests_today.inc(1.0);
        state.cpu_usage.update(x);
        state.latency.update(x);
        state.rate_limiter.request(0.5);
        state.api_calls.inc(1);
    }
    for x in [0.5, 1.0, 2.0] {
        state.db_latency.update(x);
    }
    state.active_rps.set(120.0);
    state.status.set("degraded".into());
    state.db.pool_size.inc(8);
    state.db.db_status.set("connected".into());
    state
}
