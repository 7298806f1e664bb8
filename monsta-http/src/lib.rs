//! The HTTP side of [monsta](https://docs.rs/monsta-state): a [`StatusReporter`]
//! that serves a service's monitoring state as JSON, on a small hyper server
//! of its own or mounted in the host app.
//!
//! ```
//! use std::time::Duration;
//! use monsta_core::ManualClock;
//! use monsta_http::StatusReporter;
//!
//! let clock = ManualClock::new();
//! let mon = StatusReporter::builder()
//!     .endpoint("/mon/v1/state")?
//!     .update_holdoff(Duration::from_secs(5))
//!     .clock(clock.clone())
//!     .build();
//! mon.publish(serde_json::json!({"status": "running", "requests": 42}));
//!
//! clock.advance(Duration::from_secs(90));
//! let body: serde_json::Value = serde_json::from_str(&mon.render())?;
//! assert_eq!(body["internal"]["uptime"], 90);
//! assert_eq!(body["state"]["requests"], 42);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Serving it (on the caller's tokio runtime; [`StatusReporter::start_in_thread`]
//! and [`StatusReporter::start_blocking`] serve without one):
//!
//! ```no_run
//! # async fn run() -> Result<(), monsta_http::ServeError> {
//! let mon = monsta_http::StatusReporter::new();
//! mon.publish(serde_json::json!({"status": "running"}));
//! let server = mon.start(("0.0.0.0", 4242)).await?;
//! // GET http://localhost:4242/mon/v1/state
//! server.stop().await;
//! # Ok(())
//! # }
//! ```
//!
//! # The response
//!
//! `GET` on the endpoint answers `200` with `Content-Type: application/json`,
//! `Cache-Control: no-store` and
//! `{"internal": {"uptime": <whole seconds>}, "state": <the published state>}`;
//! `internal.error` is added when the state could not be produced and the
//! last good one is served instead. `HEAD` answers the same headers without
//! the body; other methods get 405 with `Allow: GET, HEAD`, other paths 404.
//!
//! # Prometheus
//!
//! With the `prometheus` feature, the same server, service and router also
//! answer `GET` and `HEAD` on `/metrics` (the builder's `metrics_endpoint`
//! sets the path) with the
//! published state as Prometheus text, rendered by `monsta-prometheus` on
//! each request: OpenMetrics 1.0.0 or the classic format 0.0.4, as the
//! `Accept` header asks (what Prometheus sends gets OpenMetrics; a request
//! without one, the classic format), with the matching `Content-Type` and
//! `Cache-Control: no-store`. It holds the gauge `process_uptime_seconds`
//! (the JSON's `internal.uptime`) and, for a state published with
//! [`publish_state`](StatusReporter::publish_state), the state's fields,
//! read under its lock so that no scrape sees half a transaction; other
//! sources have no metric mapping, so only the uptime is served. Should
//! the state stay locked beyond the `callback_timeout`, the answer is 503.
//!
//! Most users depend on the `monsta` facade crate, which re-exports all of
//! this (under its default `http` feature), the field types and the derive.

mod builder;
mod error;
mod global;
mod metrics;
mod reporter;
mod server;
mod service;

#[cfg(feature = "axum")]
mod axum;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

#[cfg(feature = "prometheus")]
pub use builder::DEFAULT_METRICS_ENDPOINT;
pub use builder::{
    DEFAULT_ENDPOINT, DEFAULT_UPDATE_HOLDOFF, DEFAULT_UPDATE_INTERVAL, MIN_HEADER_SIZE,
    StatusReporterBuilder,
};
pub use error::{BuildError, ServeError};
pub use global::{publish, publish_state, publish_with, reporter, reset, start, stop};
pub use reporter::{Refresher, StatusReporter};
pub use server::{ServerHandle, ThreadedServer};
pub use service::{ResponseFuture, StatusResponse, StatusService};

/// The port the Python original listens on, and the default of the examples.
pub const DEFAULT_PORT: u16 = 4242;

/// `0.0.0.0:4242`: every IPv4 interface, [`DEFAULT_PORT`].
pub const DEFAULT_ADDR: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), DEFAULT_PORT);
