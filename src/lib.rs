#![doc = include_str!("../README.md")]

pub use monsta_core::{
    AppState, Clock, Error, FieldInfo, FieldKind, FieldRef, ManualClock, SignedDuration,
    StateGuard, Timestamp, Tx, Visitor, clock, export, instrument, jiff, params,
};

/// The field types of a monitoring state.
pub mod fields {
    pub use monsta_core::fields::*;
}

#[cfg(feature = "derive")]
#[doc = include_str!("derive.md")]
pub use monsta_derive::AppState;

/// Derives [`fields::Labels`] for a struct (each named field a label,
/// named after it, its type a [`fields::LabelValue`]) or a fieldless enum
/// (a label value, its variant's name; and a label set of one label, named
/// after the enum in snake case or by `#[monsta(label = "...")]`). The type
/// also needs `Clone`, `PartialEq`, `Eq` and `Hash`.
///
/// ```
/// use monsta::{Labels, fields::{Counter, Family}};
///
/// #[derive(Clone, PartialEq, Eq, Hash, Labels)]
/// enum Method { Get, Post }
///
/// #[derive(Clone, PartialEq, Eq, Hash, Labels)]
/// struct Route { method: Method, path: &'static str }
///
/// let hits: Family<Route, Counter> = Family::new()?;
/// hits.with(&Route { method: Method::Get, path: "/" }, |c| c.inc(1));
/// assert_eq!(
///     serde_json::to_string(&hits)?,
///     r#"[{"labels":{"method":"Get","path":"/"},"value":1}]"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "derive")]
pub use monsta_derive::Labels;

#[cfg(feature = "http")]
pub use monsta_http::*;

/// Request middleware (feature `middleware`): [`RequestMonitor`](http::RequestMonitor),
/// a tower layer that records request metrics and captures slow requests
/// (the `monsta_http::middleware` module, re-exported).
///
/// The metrics go to a state of the application's own, with the fields
/// for them and [`RequestState`](http::RequestState), published as any
/// state is (its JSON and, with `prometheus`, its metrics):
///
/// ```
/// use std::sync::Arc;
/// use axum::{Router, routing::get};
/// use monsta::{AppState, StatusReporter, fields::*};
/// use monsta::http::{LatencyFamily, RequestMonitor, RequestState};
///
/// #[derive(AppState)]
/// struct State {
///     /// Latency by method, route and status class.
///     #[monsta(labels = ["method", "route", "status"], unit = "seconds")]
///     latency: Family<(String, String, &'static str), Histogram>,
///     /// Requests in the last minute.
///     #[monsta(window = "60s")]
///     requests: SlidingWindow,
///     /// Requests being served.
///     in_flight: Gauge,
/// }
///
/// impl RequestState for State {
///     fn latency(&self) -> Option<&LatencyFamily> { Some(&self.latency) }
///     fn requests(&self) -> Option<&SlidingWindow> { Some(&self.requests) }
///     fn in_flight(&self) -> Option<&Gauge> { Some(&self.in_flight) }
/// }
///
/// let state = Arc::new(State::new());
/// let mon = StatusReporter::new();
/// mon.publish_state(state.clone());
/// let app: Router = Router::new()
///     .route("/hello", get(|| async { "hi" }))
///     .merge(mon.router())
///     .layer(RequestMonitor::new(&state));
/// # let _ = app;
/// ```
///
/// [`RequestMonitor::default_state`](http::RequestMonitor::default_state)
/// brings its own [`RequestMetrics`](http::RequestMetrics) instead, which
/// the reporter serves beside the application's state under a name
/// ([`StatusReporter::attach_state`]): `state.http` in the JSON and
/// `http_latency_seconds_bucket`, `http_responses_total`, ... on `/metrics`.
///
/// ```
/// use std::sync::Arc;
/// use axum::{Router, routing::get};
/// use monsta::{AppState, StatusReporter, fields::*};
/// use monsta::http::RequestMonitor;
///
/// #[derive(AppState)]
/// struct State {
///     /// Jobs done.
///     done: Counter,
/// }
///
/// let mon = StatusReporter::new();
/// mon.publish_state(Arc::new(State::new()));
/// let monitor = RequestMonitor::default_state();
/// mon.attach_state("http", monitor.own_state().expect("its own state"))?;
/// let app: Router = Router::new()
///     .route("/hello", get(|| async { "hi" }))
///     .merge(mon.router())
///     .layer(monitor);
/// # let _ = app;
/// # Ok::<(), monsta::AttachError>(())
/// ```
#[cfg(feature = "middleware")]
pub mod http {
    pub use monsta_http::middleware::*;
}

/// Prometheus and OpenMetrics exposition of a state (feature `prometheus`):
/// the `monsta-prometheus` crate.
///
/// [`StateCollector`](prometheus::StateCollector) registers an
/// [`AppState`](trait@AppState) in a prometheus-client `Registry` the
/// application already has; with the `http` feature the reporter also
/// serves the published state on `/metrics`. The crate's documentation
/// lists what each field type becomes.
///
/// ```
/// use std::sync::Arc;
/// use monsta::prometheus::{StateCollector, prometheus_client};
/// use monsta::{AppState, fields::*};
/// use prometheus_client::{encoding::text::encode, registry::Registry};
///
/// #[derive(AppState)]
/// #[monsta(prefix = "myapp")]
/// struct State {
///     /// Requests served.
///     requests: Counter,
///     /// Request latency.
///     #[monsta(unit = "seconds")]
///     latency: RunningStats,
/// }
///
/// let state = Arc::new(State::new());
/// state.requests.inc(2);
/// state.latency.update(0.25);
///
/// let mut registry = Registry::default();
/// registry.register_collector(Box::new(StateCollector::new(state.clone())));
/// let mut text = String::new();
/// encode(&mut text, &registry)?;
/// assert!(text.contains("\nmyapp_requests_total 2\n"));
/// assert!(text.contains("# UNIT myapp_latency_mean_seconds seconds\n"));
/// assert!(text.contains("\nmyapp_latency_mean_seconds 0.25\n"));
/// # Ok::<(), std::fmt::Error>(())
/// ```
#[cfg(feature = "prometheus")]
pub use monsta_prometheus as prometheus;

/// Tokio runtime health (feature `runtime`): the `monsta-runtime` crate.
/// Its documentation describes the lag probe, worker stalls, callbacks, the
/// process section and named tasks.
#[cfg(feature = "runtime")]
pub use monsta_runtime as runtime;

/// What `#[derive(AppState)]` expands to refers to. Not public API.
#[doc(hidden)]
pub use monsta_core::__private;
