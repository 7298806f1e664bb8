//! Run with
//!
//! ```not_rust
//! cargo run --example standalone
//! curl localhost:4242/mon/v1/state
//! ```
//!
//! or, to also serve the state to Prometheus on `/metrics`,
//!
//! ```not_rust
//! cargo run --example standalone --features prometheus
//! curl localhost:4242/metrics
//! curl -H 'Accept: application/openmetrics-text' localhost:4242/metrics
//! ```
//!
//! With `MONSTA_WEB_CONFIG=web.config.yml` it serves with the TLS settings,
//! credentials and address rules of that file (TLS needs `--features tls`);
//! `scripts/prometheus_tls_e2e.sh` has Prometheus scrape it over HTTPS.
//!
//! The monitoring state of a small web service, served by monsta's own
//! server on `0.0.0.0:4242`, while a simulated workload keeps it moving:
//! curl it twice and the numbers differ. The port can be set with the first
//! argument or `MONSTA_PORT`, the interface with `MONSTA_HOST`. Ctrl-C or
//! `SIGTERM` stops it. `scripts/prometheus_e2e.sh` has a real Prometheus
//! scrape it.

mod support;

use std::{sync::Arc, time::Duration};

use monsta::fields::*;
use monsta::{AppState, StatusReporter};

/// The database part of the state, flattened into it.
#[derive(AppState)]
pub struct DbState {
    /// Open connections to the database.
    connections: Gauge,
    /// Queries run since start.
    queries: Counter,
}

/// The state of the service. Its metric names start with `myapp_`.
#[derive(AppState)]
#[monsta(prefix = "myapp")]
pub struct MyState {
    /// Requests in the last minute.
    #[monsta(window = "60s")]
    request_rate: SlidingWindow,
    /// Jobs finished today (resets at local midnight).
    jobs_today: PeriodicSum,
    /// Requests since 06:00 in Berlin.
    #[monsta(reset_at = "06:00", tz = "Europe/Berlin")]
    requests_today: PeriodicSum,
    /// CPU usage in percent, smoothed.
    #[monsta(alpha = 0.1, preset = 0.0)]
    cpu_usage: Ewma,
    /// Request latency in milliseconds.
    latency: RunningStats,
    /// Requests per second, as last sampled.
    #[monsta(window = "5s")]
    active_rps: SampledWindow,
    /// Admission control.
    #[monsta(capacity = 100, leak_rate = 10)]
    rate_limiter: LeakyBucket,
    /// Database latency in seconds.
    #[monsta(window = "10m", quantiles = [50, 90, 99, 99.9], unit = "seconds")]
    db_latency: SlidingPercentiles,
    /// API calls since start.
    api_calls: Counter,
    /// `ok`, or `degraded` under load.
    status: Value<String>,
    #[monsta(flatten)]
    db: DbState,
    /// The service's version.
    #[monsta(rename = "ver", default = "1.0.0")]
    version: Value<String>,
    /// Requests by route and status.
    #[monsta(labels = ["route", "status"])]
    http_requests: Family<(&'static str, u16), Counter>,
    /// Request duration.
    #[monsta(unit = "seconds", buckets = exponential_buckets(0.005, 2, 8))]
    request_duration: Histogram,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let host = std::env::var("MONSTA_HOST").unwrap_or_else(|_| "0.0.0.0".to_owned());
    let port = support::port(monsta::DEFAULT_PORT)?;

    let state = Arc::new(MyState::new());
    state.status.set("ok".into());
    let mut builder = StatusReporter::builder()
        // Fresh numbers every second (the default holdoff is 5 s).
        .update_holdoff(Duration::from_secs(1));
    // TLS, credentials and address rules from a web.config.yml, if named.
    if let Some(config) = monsta::WebConfig::from_env()? {
        builder = builder.web_config(config);
    }
    let mon = builder.build();
    mon.publish_state(state.clone());
    let server = mon.start((host.as_str(), port)).await?;
    let scheme = if mon.serves_tls() { "https" } else { "http" };
    println!(
        "serving {scheme}://{}{}  (Ctrl-C to stop)",
        server.local_addr(),
        mon.endpoint()
    );
    #[cfg(feature = "prometheus")]
    println!(
        "serving {scheme}://{}{} to Prometheus",
        server.local_addr(),
        mon.metrics_endpoint()
    );

    let workload = tokio::spawn(simulate(state));
    monsta::shutdown_signal().await; // Ctrl-C or SIGTERM
    workload.abort();
    server.stop().await;
    Ok(())
}

/// A service under varying load: a request every 20 to 60 ms, a job now and
/// then, a CPU reading and a requests-per-second sample every second.
async fn simulate(state: Arc<MyState>) {
    let mut rng = XorShift::seeded();
    let mut tick = 0u64;
    let mut served_this_second = 0u32;
    loop {
        tokio::time::sleep(Duration::from_millis(20 + rng.below(40))).await;
        tick += 1;
        if state.rate_limiter.request(1.0) {
            let latency = 20.0 + rng.unit() * 60.0 + if rng.below(20) == 0 { 200.0 } else { 0.0 };
            let db = (0.5 + rng.unit() * 4.0) / 1000.0;
            let route = ["/", "/login", "/api/items"][rng.below(3) as usize];
            let status = match rng.below(50) {
                0 => 500,
                1..=3 => 404,
                _ => 200,
            };
            state.transaction(|tx| {
                tx.request_rate.inc(1.0);
                tx.requests_today.inc(1.0);
                tx.api_calls.inc(1);
                tx.latency.update(latency);
                tx.db_latency.update(db);
                tx.db.queries.inc(1);
                tx.http_requests.with(&(route, status), |c| c.inc(1));
                tx.request_duration.observe(latency / 1000.0);
            });
            served_this_second += 1;
        }
        if rng.below(40) == 0 {
            state.jobs_today.inc(1.0);
        }
        if tick.is_multiple_of(25) {
            let cpu = 20.0 + rng.unit() * 70.0;
            state.cpu_usage.update(cpu);
            state.db.connections.set(f64::from(3 + rng.below(8) as u32));
            state.active_rps.set(f64::from(served_this_second));
            served_this_second = 0;
            let status = if state.cpu_usage.get().unwrap_or(0.0) > 60.0 {
                "degraded"
            } else {
                "ok"
            };
            state.status.set(status.into());
        }
    }
}

/// A small pseudo-random generator, so the example needs no extra crate.
struct XorShift(u64);

impl XorShift {
    fn seeded() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        XorShift(u64::from(nanos) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// In `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// In `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}
