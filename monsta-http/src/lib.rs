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
//! published state as Prometheus text, rendered by `monsta-prometheus` for
//! each request (requests that arrive while a rendering is under way share
//! it): OpenMetrics 1.0.0 or the classic format 0.0.4, as the
//! `Accept` header asks (what Prometheus sends gets OpenMetrics; a request
//! without one, the classic format), with the matching `Content-Type` and
//! `Cache-Control: no-store`. It holds the gauge `process_uptime_seconds`
//! (the JSON's `internal.uptime`) and, for a state published with
//! [`publish_state`](StatusReporter::publish_state), the state's fields,
//! read under its lock so that no scrape sees half a transaction; other
//! sources have no metric mapping, so only the uptime is served. Should
//! the state stay locked beyond the `callback_timeout`, the answer is 503.
//!
//! # Security
//!
//! The builder's [`basic_auth_user`](StatusReporterBuilder::basic_auth_user)
//! (bcrypt hashes) and [`bearer_token`](StatusReporterBuilder::bearer_token)
//! make every route answer `401` without a valid credential, on the
//! standalone server and in [`service`](StatusReporter::service) and the
//! router alike ([`AuthLayer`] protects a host's own routes);
//! [`allow`](StatusReporterBuilder::allow) and
//! [`deny`](StatusReporterBuilder::deny) take CIDR ranges, checked as soon
//! as a connection is accepted; with the `tls` feature, `tls(TlsSettings)`
//! serves HTTPS (and HTTP/2 through ALPN). [`WebConfig`] reads all of it
//! from a `web.config.yml` in the format of Prometheus' exporters, which the
//! process-wide reporter takes from the file `MONSTA_WEB_CONFIG` names.
//!
//! ```
//! use monsta_http::{StatusReporter, WebConfig};
//!
//! let config = WebConfig::from_yaml(
//!     "basic_auth_users:\n  prometheus: $2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby\n",
//! )?;
//! let mon = StatusReporter::builder()
//!     .web_config(config)
//!     .allow("10.0.0.0/8")?
//!     .open_health_endpoint()
//!     .build();
//! # let _ = mon;
//! # Ok::<(), monsta_http::SecurityError>(())
//! ```
//!
//! # Threads
//!
//! A sync state callback, an [`AppState`](monsta_core::AppState)'s
//! snapshot and a state's metrics are evaluated on threads of the
//! reporter's own (one for the state, one for the metrics, started when
//! first needed), one evaluation at a time, not on tokio's blocking pool:
//! a request never costs a thread, and a callback that never returns
//! keeps neither the runtime nor the program from ending (its thread is
//! left to it, and a source published later gets a new one).
//!
//! Most users depend on the `monsta` facade crate, which re-exports all of
//! this (under its default `http` feature), the field types and the derive.

// The modules depend on each other one way, each on those above it:
// `error` and `builder` (configuration); `worker` (the reporter's own
// threads); `source` (what can be published); `metrics` (the Prometheus
// rendering lane); `engine` (the source, the cache, evaluation and
// rendering); `respond` (routing and building responses); `service`;
// `axum` (the router); `connection` (one connection of the standalone
// server, its limits, and the registry of open ones); `server` (accept
// loop, handles);
// `reporter`, the facade that delegates to them; `global`.
mod access;
mod attach;
mod auth;
mod builder;
mod connection;
mod engine;
mod error;
mod extension;
mod global;
mod metrics;
mod peer;
mod reporter;
mod respond;
mod security;
mod server;
mod service;
mod source;
mod tls;
mod web_config;
mod worker;

#[cfg(feature = "axum")]
mod axum;

#[cfg(feature = "middleware")]
pub mod middleware;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

pub use auth::{
    AuthLayer, AuthService, ClientAddr, FIRST_FAILURE_DELAY, FREE_FAILURES, MAX_FAILURE_DELAY,
};
#[cfg(feature = "prometheus")]
pub use builder::DEFAULT_METRICS_ENDPOINT;
pub use builder::{
    DEFAULT_ENDPOINT, DEFAULT_UPDATE_HOLDOFF, DEFAULT_UPDATE_INTERVAL, MIN_HEADER_SIZE,
    StatusReporterBuilder,
};
pub use error::{AttachError, BuildError, ServeError};
pub use extension::{Extension, ExtensionResponse, MetricKind, MetricsWriter};
pub use global::{publish, publish_state, publish_with, reporter, reset, start, start_until, stop};
pub use reporter::{Refresher, StatusReporter};
pub use respond::StatusResponse;
pub use security::{HEALTH_ENDPOINT, SecurityError};
pub use server::{ServerHandle, ThreadedServer};
pub use service::{ResponseFuture, StatusService};
#[cfg(feature = "tls")]
pub use tls::{ClientAuth, TlsSettings, TlsVersion};
pub use web_config::{WEB_CONFIG_ENV, WebConfig};

/// Completes when the process is asked to stop: on Ctrl-C (`SIGINT`) or, on
/// Unix, `SIGTERM` (what `kill`, systemd and container runtimes send).
/// Should a handler fail to install, that signal is not waited for (and if
/// neither can be, this never completes).
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), monsta_http::ServeError> {
/// let mon = monsta_http::StatusReporter::new();
/// let server = mon.start("127.0.0.1:4242").await?;
/// monsta_http::shutdown_signal().await;
/// server.stop().await;
/// # Ok(())
/// # }
/// ```
///
/// A blocking server takes it as an option:
/// [`StatusReporter::start_blocking_until`] serves until it completes, as
/// do [`StatusReporter::start_in_thread_until`] and the singleton's
/// [`start_until`]. Nothing in this crate waits for a signal unasked.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// The port the Python original listens on, and the default of the examples.
pub const DEFAULT_PORT: u16 = 4242;

/// `0.0.0.0:4242`: every IPv4 interface, [`DEFAULT_PORT`].
pub const DEFAULT_ADDR: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), DEFAULT_PORT);
