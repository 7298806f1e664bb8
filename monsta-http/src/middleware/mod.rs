//! Request middleware (feature `middleware`): [`RequestMonitor`], a tower
//! [`Layer`] that records per-request metrics and captures slow requests
//! with their tracing headers and span tree.
//!
//! ```
//! use std::{sync::Arc, time::Duration};
//! use axum::{Router, routing::get};
//! use monsta_http::middleware::{RequestMetrics, RequestMonitor};
//!
//! let metrics = Arc::new(RequestMetrics::new());
//! let monitor = RequestMonitor::builder()
//!     .state(metrics.clone())
//!     .slow_threshold(Duration::from_millis(500))
//!     .deny(["/health"])
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/hello", get(|| async { "hi" }))
//!     .layer(monitor.clone());
//! # let _ = app;
//! # Ok::<(), monsta_http::middleware::ConfigError>(())
//! ```
//!
//! # What it records
//!
//! For every request it measures (see [filters](#filters)), into the
//! [`RequestState`] it was given ([`RequestMetrics`] by default):
//!
//! - its latency, from the call of the service to its response (headers,
//!   not the streamed body), into a `Family<(method, route, status), Histogram>`
//!   ([`LatencyFamily`]). The route is axum's `MatchedPath` where the layer
//!   is added with `Router::layer`; otherwise the name of the first
//!   [`route`](RequestMonitorBuilder::route) pattern the path matches, else
//!   `"unmatched"`: never the raw path, so the series stay bounded. The
//!   status is its class: `1xx` to `5xx`, or `error` when the service
//!   failed;
//! - arrivals into a [`SlidingWindow`] (the request rate);
//! - requests in flight into a [`Gauge`], lowered when the response is
//!   ready and when the response future is dropped (a client that
//!   disconnects); such a request counts as status `cancelled`;
//! - responses per status class, into a `Family<&'static str, Counter>`;
//! - request and response body sizes, where the body knows its exact size
//!   (`Content-Length`, a full body), into [`Histogram`]s.
//!
//! # Slow requests
//!
//! A request that takes at least its threshold (default 1 s,
//! [`slow_threshold`](RequestMonitorBuilder::slow_threshold), per route
//! with [`route_threshold`](RequestMonitorBuilder::route_threshold)) is
//! captured as a [`SlowRequest`]: method, path (without the query), route,
//! status, duration, start time, the client address where axum's
//! `ConnectInfo` has it, the [tracing headers](DEFAULT_TRACING_HEADERS)
//! present (values cut to 256 bytes; `Authorization`, `Cookie`,
//! `Set-Cookie` and `Proxy-Authorization` are never captured, even when
//! listed), and, with a [`SpanTreeLayer`] in the subscriber, the tree of
//! the `tracing` spans created while serving it.
//!
//! The newest captures (100 by default) are kept in a ring, served by the
//! layer itself at `GET /mon/v1/slow` (newest first, `?limit=N`):
//! `{"captured": <total>, "requests": [...]}`. **It exposes paths, client
//! addresses and the tracing headers of slow requests**: mount the layer
//! where that endpoint is as reachable as your other monitoring endpoints,
//! or move it ([`slow_endpoint`](RequestMonitorBuilder::slow_endpoint)).
//! With axum's `Router::layer` the endpoint is answered for any path no
//! route matches (the layer also wraps the router's fallback).
//!
//! # Alerts
//!
//! Each capture is also an [`Alert`] for the [`Notifier`]s
//! ([`JsonLinesFile`], [`Webhook`], or your own), at most one per endpoint
//! (method and route) per [`alert_window`](RequestMonitorBuilder::alert_window)
//! (default 1 hour, on the monitor's clock); the suppressed ones are
//! counted in the next alert. Alerts go through a bounded queue (256) to a
//! background task on the tokio runtime: a full queue drops and counts
//! ([`NotifyStats`]); each delivery is timed out (5 s) and retried with
//! exponential backoff (twice by default). A request never waits for it.
//!
//! # Filters
//!
//! [`allow`](RequestMonitorBuilder::allow) and [`deny`](RequestMonitorBuilder::deny)
//! take glob patterns on the path (`*` matches across `/`): with an allow
//! list, only the paths it matches are measured (it takes precedence over
//! the deny list); without one, every path but the denied ones. The
//! monitoring endpoints (`/metrics`, `*/mon/v1/*` and the slow endpoint;
//! more with [`monitoring_path`](RequestMonitorBuilder::monitoring_path))
//! are never measured nor captured.
//!
//! # Environment
//!
//! [`RequestMonitorBuilder::from_env`] reads the variables of the README's
//! table (`MONSTA_SLOW_THRESHOLD`, `MONSTA_URL_ALLOW`, `MONSTA_URL_DENY`,
//! `MONSTA_ALERT_WINDOW`, `MONSTA_WEBHOOK_URL`, ...); a bad value is an
//! error naming the variable.
//!
//! [`Layer`]: tower::Layer
//! [`SlidingWindow`]: monsta_core::fields::SlidingWindow
//! [`Gauge`]: monsta_core::fields::Gauge
//! [`Histogram`]: monsta_core::fields::Histogram

mod builder;
mod notify;
mod paths;
mod service;
mod spans;
mod state;

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    fmt,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

use hyper::header::HeaderName;
use monsta_core::Clock;
use paths::Paths;
use serde::Serialize;

pub use builder::{ConfigError, RequestMonitorBuilder};
pub use notify::{
    Alert, JsonLinesFile, Notifier, NotifyError, NotifyFuture, NotifyStats, Webhook, WebhookFormat,
};
pub use service::{MonitorBody, RequestMonitorService, ResponseFuture};
pub use spans::{
    DEFAULT_MAX_FIELD_BYTES, DEFAULT_MAX_SPANS, ROOT_NAME, ROOT_TARGET, SpanNode, SpanTreeLayer,
};
pub use state::{
    LatencyFamily, RequestMetrics, RequestMetricsSnapshot, RequestMetricsTx, RequestState,
};

use notify::{Dedup, Delivery};
use state::Snapshot;

/// A DER certificate, for [`Webhook::with_root_certificates`] (rustls'
/// `pki_types::CertificateDer`, so no dependency of the right version is
/// needed to name it).
pub use rustls::pki_types::CertificateDer;

/// The default slow-request threshold.
pub const DEFAULT_SLOW_THRESHOLD: Duration = Duration::from_secs(1);
/// The default path of the slow-request endpoint.
pub const DEFAULT_SLOW_ENDPOINT: &str = "/mon/v1/slow";
/// The default number of captures kept.
pub const DEFAULT_SLOW_CAPACITY: usize = 100;
/// The default alert deduplication window.
pub const DEFAULT_ALERT_WINDOW: Duration = Duration::from_secs(3600);
/// The default bound of a captured header value, in bytes.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 256;
/// The headers captured by default with a slow request.
pub const DEFAULT_TRACING_HEADERS: &[&str] = &[
    "x-request-id",
    "x-trace-id",
    "x-correlation-id",
    "traceparent",
    "x-forwarded-for",
    "x-real-ip",
    "user-agent",
    "referer",
    "content-type",
    "accept",
    "accept-language",
];
/// Headers never captured, even when listed.
pub const SENSITIVE_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "set-cookie",
    "proxy-authorization",
];
/// The bound of a captured path, in bytes.
const MAX_PATH_BYTES: usize = 1024;

struct Inner {
    state: Arc<dyn RequestState>,
    /// The state, when the monitor brought its own.
    own: Option<Arc<RequestMetrics>>,
    allow: Option<Paths>,
    deny: Option<Paths>,
    monitoring: Paths,
    routes: Vec<(Paths, Arc<str>)>,
    slow_threshold: Duration,
    route_thresholds: HashMap<String, Duration>,
    slow_endpoint: String,
    capacity: usize,
    ring: Mutex<VecDeque<Arc<SlowRequest>>>,
    captured: AtomicU64,
    headers: Vec<HeaderName>,
    max_header_bytes: usize,
    dedup: Dedup,
    delivery: Delivery,
    clock: Clock,
    span_tree: bool,
}

/// The request middleware: a tower [`Layer`](tower::Layer) (and `Clone`,
/// cheaply: the clones share their state, captures and queue). See the
/// [module documentation](self).
#[derive(Clone)]
pub struct RequestMonitor(Arc<Inner>);

impl fmt::Debug for RequestMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestMonitor")
            .field("slow_threshold", &self.0.slow_threshold)
            .field("slow_endpoint", &self.0.slow_endpoint)
            .field("captured", &self.0.captured.load(Relaxed))
            .finish_non_exhaustive()
    }
}

impl RequestMonitor {
    /// A monitor with the default settings recording into `state`.
    pub fn new<S: RequestState>(state: &Arc<S>) -> Self {
        Self::builder()
            .state(state.clone())
            .build()
            .expect("the default settings are valid")
    }

    /// A monitor with the default settings and its own [`RequestMetrics`]
    /// ([`own_state`](Self::own_state)), to serve beside the application's
    /// state with [`StatusReporter::attach_state`](crate::StatusReporter::attach_state):
    ///
    /// ```
    /// use monsta_http::{StatusReporter, middleware::RequestMonitor};
    ///
    /// let mon = StatusReporter::new();
    /// mon.publish(serde_json::json!({"version": "1.0"}));
    /// let monitor = RequestMonitor::default_state();
    /// mon.attach_state("http", monitor.own_state().expect("its own state"))?;
    /// // `state.http` in the JSON, `http_latency_seconds` and the rest on
    /// // the metrics endpoint.
    /// assert!(mon.render().contains(r#""version":"1.0","http":{"latency":[]"#));
    /// # Ok::<(), monsta_http::AttachError>(())
    /// ```
    pub fn default_state() -> Self {
        Self::builder()
            .build()
            .expect("the default settings are valid")
    }

    /// The settings, to [`build`](RequestMonitorBuilder::build).
    pub fn builder() -> RequestMonitorBuilder {
        RequestMonitorBuilder::default()
    }

    /// The state the metrics go to.
    pub fn state(&self) -> &Arc<dyn RequestState> {
        &self.0.state
    }

    /// The monitor's own state, if it was built without one of the
    /// application's ([`default_state`](Self::default_state), or a
    /// builder without [`state`](RequestMonitorBuilder::state)); `None`
    /// when it records into the application's state.
    pub fn own_state(&self) -> Option<Arc<RequestMetrics>> {
        self.0.own.clone()
    }

    /// A callback returning the JSON of the fields the state provides
    /// (`{"latency": [...], "requests": ..., "in_flight": ..., ...}`), for
    /// [`StatusReporter::publish_with`](crate::StatusReporter::publish_with).
    pub fn metrics(&self) -> impl Fn() -> serde_json::Value + Send + Sync + 'static {
        let state = self.0.state.clone();
        move || serde_json::to_value(Snapshot(&*state)).unwrap_or_default()
    }

    /// The newest captures, newest first, at most `limit`.
    pub fn slow_requests(&self, limit: usize) -> Vec<Arc<SlowRequest>> {
        let ring = self.0.ring.lock().unwrap_or_else(PoisonError::into_inner);
        ring.iter().rev().take(limit).cloned().collect()
    }

    /// How many requests were captured since the start.
    pub fn captured(&self) -> u64 {
        self.0.captured.load(Relaxed)
    }

    /// The alert queue's counts.
    pub fn notify_stats(&self) -> &NotifyStats {
        &self.0.delivery.stats
    }

    /// What `GET /mon/v1/slow?limit=N` answers.
    pub fn slow_json(&self, limit: usize) -> String {
        #[derive(Serialize)]
        struct Page {
            captured: u64,
            requests: Vec<Arc<SlowRequest>>,
        }
        serde_json::to_string(&Page {
            captured: self.captured(),
            requests: self.slow_requests(limit),
        })
        .unwrap_or_default()
    }
}

/// One slow request, as captured.
#[derive(Debug, Clone, Serialize)]
pub struct SlowRequest {
    /// The method.
    pub method: String,
    /// The path, without the query, cut to 1,024 bytes.
    pub path: String,
    /// The route (axum's matched path, a configured name, or `"unmatched"`).
    pub route: String,
    /// The response status; `None` when the service failed.
    pub status: Option<u16>,
    /// Milliseconds from the call to the response.
    pub duration_ms: f64,
    /// When it started (RFC 3339, UTC, on the monitor's clock).
    pub start: String,
    /// The client's address, where axum's `ConnectInfo` has it.
    pub remote_addr: Option<String>,
    /// The captured headers present (lower-case names).
    pub headers: BTreeMap<String, String>,
    /// The spans created while serving it, `None` without a
    /// [`SpanTreeLayer`].
    pub spans: Option<Vec<SpanNode>>,
    /// Spans left out past the span bound.
    pub spans_dropped: u64,
}
