//! The process-wide reporter behind `monsta::publish`, `monsta::start`,
//! `monsta::stop` and `monsta::reset`.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, OnceLock, PoisonError},
};

use monsta_core::AppState;
use serde::Serialize;

use crate::{ServeError, StatusReporter, ThreadedServer, WebConfig};

static REPORTER: OnceLock<StatusReporter> = OnceLock::new();
static SERVER: Mutex<Option<ThreadedServer>> = Mutex::new(None);

/// The process-wide reporter that the free functions use, built with the
/// default options on first use. Mount it with
/// [`router`](https://docs.rs/monsta-http/latest/monsta_http/struct.StatusReporter.html#method.router) or use any of its methods.
///
/// If `MONSTA_WEB_CONFIG` names a `web.config.yml`, its settings (TLS,
/// credentials, address rules; see [`WebConfig`]) are applied. Should the
/// file be unusable, the error is logged, [`start`] returns it, and the
/// reporter answers every request with `401`: it fails closed, never open.
pub fn reporter() -> &'static StatusReporter {
    REPORTER.get_or_init(|| match WebConfig::from_env() {
        Ok(None) => StatusReporter::new(),
        Ok(Some(config)) => StatusReporter::builder().web_config(config).build(),
        Err(error) => {
            tracing::error!(target: "monsta", "{}: {error}; every request is refused", crate::WEB_CONFIG_ENV);
            // A token hash no token has: nothing authenticates.
            StatusReporter::builder()
                .bearer_token_sha256(&"0".repeat(64))
                .map(crate::StatusReporterBuilder::build)
                .unwrap_or_default()
        }
    })
}

/// [`StatusReporter::publish`] on the process-wide [`reporter`].
pub fn publish<T: Serialize>(value: T) {
    reporter().publish(value);
}

/// [`StatusReporter::publish_with`] on the process-wide [`reporter`].
pub fn publish_with<F, T>(callback: F)
where
    F: Fn() -> T + Send + Sync + 'static,
    T: Serialize,
{
    reporter().publish_with(callback);
}

/// [`StatusReporter::publish_state`] on the process-wide [`reporter`].
pub fn publish_state<S: AppState>(state: Arc<S>) {
    reporter().publish_state(state);
}

/// Serves the process-wide [`reporter`] on `addr`, on a thread of its own
/// (see [`StatusReporter::start_in_thread`]), so it works with or without a
/// tokio runtime. What was published before stays published. Returns the
/// bound address.
///
/// # Errors
///
/// [`ServeError::AlreadyRunning`] if it is running already (call [`stop`]
/// first); otherwise as [`StatusReporter::start_in_thread`], for example
/// [`ServeError::Bind`] naming the address if it is in use.
pub fn start(addr: impl std::net::ToSocketAddrs) -> Result<SocketAddr, ServeError> {
    start_with(|| reporter().start_in_thread(addr))
}

/// The error of the `web.config.yml` that `MONSTA_WEB_CONFIG` names, if any.
fn web_config_error() -> Result<(), ServeError> {
    WebConfig::from_env()
        .map(drop)
        .map_err(ServeError::Security)
}

/// [`start`] that also stops the server when `signal` completes (see
/// [`StatusReporter::start_in_thread_until`]): pass
/// [`shutdown_signal()`](crate::shutdown_signal) to stop on Ctrl-C or
/// `SIGTERM`. Once stopped by its signal, the server can be started again.
///
/// # Errors
///
/// As [`start`].
///
/// # Examples
///
/// ```no_run
/// monsta_http::publish(serde_json::json!({"status": "running"}));
/// let addr = monsta_http::start_until("127.0.0.1:4242", monsta_http::shutdown_signal())?;
/// println!("serving on http://{addr}/mon/v1/state until Ctrl-C or SIGTERM");
/// # Ok::<(), monsta_http::ServeError>(())
/// ```
pub fn start_until(
    addr: impl std::net::ToSocketAddrs,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<SocketAddr, ServeError> {
    start_with(|| reporter().start_in_thread_until(addr, signal))
}

/// Starts the singleton's server with `start` unless one is running.
fn start_with(
    start: impl FnOnce() -> Result<ThreadedServer, ServeError>,
) -> Result<SocketAddr, ServeError> {
    web_config_error()?;
    let mut server = SERVER.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(running) = server.as_ref().filter(|s| !s.is_stopped()) {
        return Err(ServeError::AlreadyRunning(running.local_addr()));
    }
    let started = start()?;
    let addr = started.local_addr();
    *server = Some(started);
    Ok(addr)
}

/// Stops the server that [`start`] started, if any, and waits until its port
/// is free (a bounded wait; see [`ThreadedServer::stop`]). The published
/// state is kept.
pub fn stop() {
    let server = SERVER.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(server) = server {
        server.stop();
    }
}

/// [`StatusReporter::reset`] on the process-wide [`reporter`]: restarts the
/// uptime and clears the state.
pub fn reset() {
    reporter().reset();
}
