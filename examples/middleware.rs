//! Run with
//!
//! ```not_rust
//! cargo run --example middleware --features middleware
//! curl localhost:8000/hello
//! curl -H 'X-Request-ID: abc' 'localhost:8000/slow?ms=1500'
//! curl localhost:8000/fail
//! curl localhost:8000/mon/v1/slow
//! curl localhost:8000/mon/v1/state
//! ```
//!
//! The request middleware on an axum app: every request's latency, rate,
//! in-flight count and status class go into the app's state (served at
//! `/mon/v1/state`, and at `/metrics` with the `prometheus` feature); a
//! request slower than the threshold (1 s, or `MONSTA_SLOW_THRESHOLD`) is
//! captured with its tracing headers and the tree of the spans it entered,
//! and served at `/mon/v1/slow`. The `MONSTA_*` variables of the README
//! configure it (`MONSTA_WEBHOOK_URL=http://...` posts alerts). Port 8000,
//! or the first argument / `MONSTA_PORT`. Ctrl-C or `SIGTERM` stops it.

mod support;

use std::{sync::Arc, time::Duration};

use axum::{Router, http::StatusCode, http::Uri, routing::get};
use monsta::{
    AppState, StatusReporter,
    fields::{Counter, Family, Gauge, Histogram, SlidingWindow},
    http::{LatencyFamily, RequestMonitor, RequestState, SpanTreeLayer},
};
use tracing::Instrument;
use tracing_subscriber::prelude::*;

#[derive(AppState)]
#[monsta(prefix = "example")]
struct State {
    /// Request latency by method, route and status class.
    #[monsta(labels = ["method", "route", "status"], unit = "seconds")]
    latency: Family<(String, String, &'static str), Histogram>,
    /// Requests in the last minute.
    #[monsta(window = "60s")]
    requests: SlidingWindow,
    /// Requests being served.
    in_flight: Gauge,
    /// Responses per status class.
    #[monsta(labels = ["status"])]
    responses: Family<&'static str, Counter>,
}

impl RequestState for State {
    fn latency(&self) -> Option<&LatencyFamily> {
        Some(&self.latency)
    }
    fn requests(&self) -> Option<&SlidingWindow> {
        Some(&self.requests)
    }
    fn in_flight(&self) -> Option<&Gauge> {
        Some(&self.in_flight)
    }
    fn responses(&self) -> Option<&Family<&'static str, Counter>> {
        Some(&self.responses)
    }
}

/// Sleeps `ms` milliseconds (`?ms=N`), half in each of two nested spans.
async fn slow(uri: Uri) -> Result<String, (StatusCode, &'static str)> {
    let ms: u64 = match uri.query().and_then(|q| q.strip_prefix("ms=")) {
        None => 100,
        Some(v) => v
            .parse()
            .map_err(|_| (StatusCode::BAD_REQUEST, "ms must be a whole number\n"))?,
    };
    let ms = ms.min(60_000);
    async {
        tokio::time::sleep(Duration::from_millis(ms / 2)).await;
        async {
            tokio::time::sleep(Duration::from_millis(ms - ms / 2)).await;
        }
        .instrument(tracing::info_span!("query", table = "users"))
        .await;
    }
    .instrument(tracing::info_span!("handler", ms))
    .await;
    Ok(format!("slept {ms} ms\n"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = support::port(8000)?;
    tracing_subscriber::registry()
        .with(SpanTreeLayer::new())
        .init();

    let state = Arc::new(State::new());
    let mon = StatusReporter::new();
    mon.publish_state(state.clone());
    let monitor = RequestMonitor::builder().state(state).from_env()?.build()?;

    let app = Router::new()
        .route("/hello", get(|| async { "hello\n" }))
        .route("/slow", get(slow))
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "failed\n") }),
        )
        .merge(mon.router())
        .layer(monitor);

    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port)).await?;
    println!(
        "app on http://{0}/hello, slow requests on http://{0}/mon/v1/slow, state on http://{0}{1}",
        listener.local_addr()?,
        mon.endpoint()
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            monsta::shutdown_signal().await;
        })
        .await?;
    Ok(())
}
