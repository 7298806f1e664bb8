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

mod notify;
mod paths;
mod spans;

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    convert::Infallible,
    fmt,
    future::Future,
    net::SocketAddr,
    path::PathBuf,
    pin::Pin,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    task::{Context, Poll, ready},
    time::{Duration, Instant},
};

use axum::extract::{ConnectInfo, MatchedPath};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    HeaderMap, Method, Request, Response, StatusCode, Uri,
    body::{Body, Frame, SizeHint},
    header::{self, HeaderName, HeaderValue},
};
use monsta_core::{
    Clock,
    clock::Stamp,
    fields::{Counter, Family, Gauge, Histogram, SlidingWindow},
    params,
};
use paths::Paths;
use pin_project_lite::pin_project;
use serde::Serialize;
use smallvec::SmallVec;
use tower::{Layer, Service};

pub use notify::{
    Alert, JsonLinesFile, Notifier, NotifyError, NotifyFuture, NotifyStats, Webhook, WebhookFormat,
};
pub use spans::{
    DEFAULT_MAX_FIELD_BYTES, DEFAULT_MAX_SPANS, ROOT_NAME, ROOT_TARGET, SpanNode, SpanTreeLayer,
};

use notify::{Dedup, Delivery};

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

/// The latency family: a histogram per method, route and status class,
/// labelled `method`, `route` and `status`.
pub type LatencyFamily = Family<(String, String, &'static str), Histogram>;

/// The fields the middleware records into. Every method has a default of
/// `None` (not recorded), so a state provides the fields it has: a state
/// derived with `#[derive(monsta::AppState)]` that holds them is published
/// as JSON and Prometheus metrics with the rest of the application's state
/// (the `monsta::http` module of the facade shows one).
pub trait RequestState: Send + Sync + 'static {
    /// Latency in seconds per method, route and status class.
    fn latency(&self) -> Option<&LatencyFamily> {
        None
    }
    /// Arrivals (the request rate).
    fn requests(&self) -> Option<&SlidingWindow> {
        None
    }
    /// Requests in flight.
    fn in_flight(&self) -> Option<&Gauge> {
        None
    }
    /// Responses per status class (`1xx` ... `5xx`, `error`, `cancelled`).
    fn responses(&self) -> Option<&Family<&'static str, Counter>> {
        None
    }
    /// Request body sizes in bytes, where known.
    fn request_bytes(&self) -> Option<&Histogram> {
        None
    }
    /// Response body sizes in bytes, where known.
    fn response_bytes(&self) -> Option<&Histogram> {
        None
    }
    /// Called with each measured request's latency in seconds, for the
    /// state's own sampling fields (percentiles, averages).
    fn observe_latency(&self, seconds: f64) {
        let _ = seconds;
    }
}

/// The middleware's own state, when the application has no fields for it:
/// serializes as `{"latency": [...], "requests": <rate>, "in_flight": n,
/// "responses": [...], "request_bytes": {...}, "response_bytes": {...}}`,
/// to publish with [`StatusReporter::publish_with`](crate::StatusReporter::publish_with)
/// or serve beside the application's state with
/// [`attach_state`](crate::StatusReporter::attach_state) (JSON and
/// Prometheus metrics). A derived state: `new()`, `with_clock(&clock)` (the
/// request window's clock), snapshots ([`RequestMetricsSnapshot`]) and
/// transactions, as `#[derive(AppState)]` makes them.
#[derive(Debug, monsta_derive::AppState)]
#[monsta(crate = "monsta_core")]
pub struct RequestMetrics {
    /// Latency in seconds per method, route and status class.
    #[monsta(
        labels = ["method", "route", "status"],
        unit = "seconds",
        help = "Request latency per method, route and status class."
    )]
    pub latency: Family<(String, String, &'static str), Histogram>,
    /// Arrivals in the last minute.
    #[monsta(window = "60s", help = "Requests in the last minute.")]
    pub requests: SlidingWindow,
    /// Requests in flight.
    #[monsta(help = "Requests in flight.")]
    pub in_flight: Gauge,
    /// Responses per status class.
    #[monsta(labels = ["status"], help = "Responses per status class.")]
    pub responses: Family<&'static str, Counter>,
    /// Request body sizes (bytes), where known.
    #[monsta(
        unit = "bytes",
        buckets = exponential_buckets(64, 4, 9),
        help = "Request body sizes, where known."
    )]
    pub request_bytes: Histogram,
    /// Response body sizes (bytes), where known.
    #[monsta(
        unit = "bytes",
        buckets = exponential_buckets(64, 4, 9),
        help = "Response body sizes, where known."
    )]
    pub response_bytes: Histogram,
}

impl RequestState for RequestMetrics {
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
    fn request_bytes(&self) -> Option<&Histogram> {
        Some(&self.request_bytes)
    }
    fn response_bytes(&self) -> Option<&Histogram> {
        Some(&self.response_bytes)
    }
}

/// A bad setting of the middleware.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An environment variable's value is invalid.
    #[error("environment variable {var}: {message}")]
    Env {
        /// The variable.
        var: &'static str,
        /// What is wrong with its value.
        message: String,
    },
    /// A glob pattern is invalid.
    #[error("invalid URL pattern {pattern:?}: {message}")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
    /// A header name is invalid.
    #[error("invalid header name {0:?}")]
    Header(String),
    /// A webhook URL is invalid.
    #[error("invalid webhook URL {url:?}: {message}")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// A path is not absolute (does not start with `/`).
    #[error("the slow endpoint must start with '/': {0:?}")]
    Endpoint(String),
}

/// Settings of a [`RequestMonitor`]; [`build`](Self::build) checks them.
pub struct RequestMonitorBuilder {
    state: Option<Arc<dyn RequestState>>,
    clock: Clock,
    slow_threshold: Duration,
    route_thresholds: HashMap<String, Duration>,
    allow: Vec<String>,
    deny: Vec<String>,
    monitoring: Vec<String>,
    routes: Vec<(String, String)>,
    slow_endpoint: String,
    capacity: usize,
    headers: Vec<String>,
    max_header_bytes: usize,
    alert_window: Duration,
    notifiers: Vec<Arc<dyn Notifier>>,
    queue: usize,
    timeout: Duration,
    retries: u32,
    backoff: Duration,
    span_tree: bool,
}

impl fmt::Debug for RequestMonitorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestMonitorBuilder")
            .field("slow_threshold", &self.slow_threshold)
            .field("allow", &self.allow)
            .field("deny", &self.deny)
            .field("slow_endpoint", &self.slow_endpoint)
            .field("notifiers", &self.notifiers.len())
            .finish_non_exhaustive()
    }
}

impl Default for RequestMonitorBuilder {
    fn default() -> Self {
        Self {
            state: None,
            clock: Clock::system(),
            slow_threshold: DEFAULT_SLOW_THRESHOLD,
            route_thresholds: HashMap::new(),
            allow: Vec::new(),
            deny: Vec::new(),
            monitoring: vec!["/metrics".into(), "*/mon/v1/*".into()],
            routes: Vec::new(),
            slow_endpoint: DEFAULT_SLOW_ENDPOINT.into(),
            capacity: DEFAULT_SLOW_CAPACITY,
            headers: DEFAULT_TRACING_HEADERS.iter().map(|&h| h.into()).collect(),
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            alert_window: DEFAULT_ALERT_WINDOW,
            notifiers: Vec::new(),
            queue: 256,
            timeout: Duration::from_secs(5),
            retries: 2,
            backoff: Duration::from_millis(200),
            span_tree: true,
        }
    }
}

fn patterns<I: IntoIterator<Item = S>, S: Into<String>>(list: I) -> Vec<String> {
    list.into_iter().map(Into::into).collect()
}

fn env_duration(
    lookup: &dyn Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<Option<Duration>, ConfigError> {
    lookup(var)
        .map(|v| {
            params::parse_duration(v.trim()).map_err(|e| ConfigError::Env {
                var,
                message: format!("{v:?} is not a duration such as \"1s\" or \"500ms\": {e}"),
            })
        })
        .transpose()
}

fn env_number<T: std::str::FromStr>(
    lookup: &dyn Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<Option<T>, ConfigError> {
    lookup(var)
        .map(|v| {
            v.trim().parse().map_err(|_| ConfigError::Env {
                var,
                message: format!("{v:?} is not a whole number"),
            })
        })
        .transpose()
}

fn env_list(lookup: &dyn Fn(&str) -> Option<String>, var: &'static str) -> Option<Vec<String>> {
    lookup(var).map(|v| {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    })
}

impl RequestMonitorBuilder {
    /// The state the metrics are recorded into (default: a new
    /// [`RequestMetrics`], see [`RequestMonitor::metrics`]).
    pub fn state<S: RequestState>(mut self, state: Arc<S>) -> Self {
        self.state = Some(state);
        self
    }

    /// The clock of the alert window and of captures' start times (default
    /// the system clock; a [`ManualClock`](monsta_core::ManualClock)'s in tests).
    pub fn clock(mut self, clock: impl Into<Clock>) -> Self {
        self.clock = clock.into();
        self
    }

    /// Requests taking at least this long are captured (default 1 s).
    pub fn slow_threshold(mut self, threshold: Duration) -> Self {
        self.slow_threshold = threshold;
        self
    }

    /// The threshold of one route (the matched route, or a
    /// [`route`](Self::route) name).
    pub fn route_threshold(mut self, route: impl Into<String>, threshold: Duration) -> Self {
        self.route_thresholds.insert(route.into(), threshold);
        self
    }

    /// Only paths matching these globs are measured (they win over
    /// [`deny`](Self::deny)).
    pub fn allow<I: IntoIterator<Item = S>, S: Into<String>>(mut self, globs: I) -> Self {
        self.allow.extend(patterns(globs));
        self
    }

    /// Paths matching these globs are not measured, unless allowed.
    pub fn deny<I: IntoIterator<Item = S>, S: Into<String>>(mut self, globs: I) -> Self {
        self.deny.extend(patterns(globs));
        self
    }

    /// Another monitoring endpoint (a glob), never measured.
    pub fn monitoring_path(mut self, glob: impl Into<String>) -> Self {
        self.monitoring.push(glob.into());
        self
    }

    /// Names paths matching `glob` as `route`, where axum gives no matched
    /// route (a plain hyper or tower service): `.route("/users/*", "/users/:id")`.
    /// The first matching pattern wins; unmatched paths are `"unmatched"`.
    pub fn route(mut self, glob: impl Into<String>, route: impl Into<String>) -> Self {
        self.routes.push((glob.into(), route.into()));
        self
    }

    /// Where the layer serves the captures (default `/mon/v1/slow`).
    pub fn slow_endpoint(mut self, path: impl Into<String>) -> Self {
        self.slow_endpoint = path.into();
        self
    }

    /// How many captures are kept (default 100).
    pub fn slow_capacity(mut self, n: usize) -> Self {
        self.capacity = n;
        self
    }

    /// The headers captured with a slow request (replacing the
    /// [default list](DEFAULT_TRACING_HEADERS)); [`SENSITIVE_HEADERS`] are
    /// never captured.
    pub fn tracing_headers<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.headers = patterns(names);
        self
    }

    /// Captured header values are cut to this many bytes (default 256).
    pub fn max_header_bytes(mut self, n: usize) -> Self {
        self.max_header_bytes = n;
        self
    }

    /// At most one alert per endpoint per `window` (default 1 hour).
    pub fn alert_window(mut self, window: Duration) -> Self {
        self.alert_window = window;
        self
    }

    /// Adds a notifier.
    pub fn notifier(mut self, notifier: impl Notifier) -> Self {
        self.notifiers.push(Arc::new(notifier));
        self
    }

    /// Capacity of the alert queue (default 256).
    pub fn notify_queue(mut self, n: usize) -> Self {
        self.queue = n;
        self
    }

    /// Timeout of one delivery (default 5 s).
    pub fn notify_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Retries of a failed delivery (default 2), the first after `backoff`
    /// (default 200 ms), doubling.
    pub fn notify_retries(mut self, retries: u32, backoff: Duration) -> Self {
        self.retries = retries;
        self.backoff = backoff;
        self
    }

    /// Whether requests get a `monsta.request` span (target
    /// `monsta::request`, level `INFO`), the root of their span tree
    /// (default true; without a [`SpanTreeLayer`] it is only a span, seen
    /// by the subscriber's other layers as the context of the request's
    /// events). A filter that disables it, or the spans inside it,
    /// leaves them out of the tree.
    pub fn span_tree(mut self, on: bool) -> Self {
        self.span_tree = on;
        self
    }

    /// Applies the environment variables of the README's table, those set:
    /// `MONSTA_SLOW_THRESHOLD`, `MONSTA_SLOW_CAPACITY`, `MONSTA_URL_ALLOW`,
    /// `MONSTA_URL_DENY` (comma-separated globs, added), `MONSTA_TRACING_HEADERS`
    /// (comma-separated, replacing), `MONSTA_ALERT_WINDOW`,
    /// `MONSTA_WEBHOOK_URL`, `MONSTA_WEBHOOK_FORMAT` (`json` or `text`),
    /// `MONSTA_ALERT_FILE`, `MONSTA_ALERT_FILE_MAX_BYTES`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Env`] naming the first variable with a bad value.
    pub fn from_env(self) -> Result<Self, ConfigError> {
        self.from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with the variables from `lookup`.
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    pub fn from_lookup(
        mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let lookup: &dyn Fn(&str) -> Option<String> = &lookup;
        if let Some(d) = env_duration(lookup, "MONSTA_SLOW_THRESHOLD")? {
            self.slow_threshold = d;
        }
        if let Some(n) = env_number(lookup, "MONSTA_SLOW_CAPACITY")? {
            self.capacity = n;
        }
        for (var, list) in [("MONSTA_URL_ALLOW", 0), ("MONSTA_URL_DENY", 1)] {
            if let Some(globs) = env_list(lookup, var) {
                for g in &globs {
                    globset::Glob::new(g).map_err(|e| ConfigError::Env {
                        var,
                        message: format!("bad pattern {g:?}: {e}"),
                    })?;
                }
                if list == 0 {
                    self.allow.extend(globs);
                } else {
                    self.deny.extend(globs);
                }
            }
        }
        if let Some(names) = env_list(lookup, "MONSTA_TRACING_HEADERS") {
            if let Some(bad) = names
                .iter()
                .find(|n| HeaderName::try_from(n.as_str()).is_err())
            {
                return Err(ConfigError::Env {
                    var: "MONSTA_TRACING_HEADERS",
                    message: format!("{bad:?} is not a header name"),
                });
            }
            self.headers = names;
        }
        if let Some(d) = env_duration(lookup, "MONSTA_ALERT_WINDOW")? {
            self.alert_window = d;
        }
        let format = match lookup("MONSTA_WEBHOOK_FORMAT").as_deref().map(str::trim) {
            None | Some("json") => WebhookFormat::Json,
            Some("text") => WebhookFormat::Text,
            Some(other) => {
                return Err(ConfigError::Env {
                    var: "MONSTA_WEBHOOK_FORMAT",
                    message: format!("{other:?} is neither \"json\" nor \"text\""),
                });
            }
        };
        if let Some(url) = lookup("MONSTA_WEBHOOK_URL") {
            let hook = Webhook::new(url.trim()).map_err(|e| ConfigError::Env {
                var: "MONSTA_WEBHOOK_URL",
                message: e.to_string(),
            })?;
            self = self.notifier(hook.format(format));
        }
        let max = env_number::<u64>(lookup, "MONSTA_ALERT_FILE_MAX_BYTES")?;
        if let Some(path) = lookup("MONSTA_ALERT_FILE") {
            let mut file = JsonLinesFile::new(PathBuf::from(path));
            if let Some(max) = max {
                file = file.max_bytes(max);
            }
            self = self.notifier(file);
        }
        Ok(self)
    }

    /// Checks the settings and builds the monitor.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for a bad glob, header name or endpoint path.
    pub fn build(self) -> Result<RequestMonitor, ConfigError> {
        if !self.slow_endpoint.starts_with('/') {
            return Err(ConfigError::Endpoint(self.slow_endpoint));
        }
        let mut headers = Vec::new();
        for name in &self.headers {
            let name = HeaderName::try_from(name.as_str())
                .map_err(|_| ConfigError::Header(name.clone()))?;
            if !SENSITIVE_HEADERS.contains(&name.as_str()) && !headers.contains(&name) {
                headers.push(name);
            }
        }
        let routes = self
            .routes
            .iter()
            .map(|(g, r)| {
                Ok((
                    Paths::new(std::slice::from_ref(g))?,
                    Arc::<str>::from(r.as_str()),
                ))
            })
            .collect::<Result<_, ConfigError>>()?;
        let (state, own) = match self.state {
            Some(state) => (state, None),
            None => {
                let own = Arc::new(RequestMetrics::with_clock(&self.clock));
                (Arc::clone(&own) as Arc<dyn RequestState>, Some(own))
            }
        };
        let mut monitoring = self.monitoring;
        monitoring.push(self.slow_endpoint.clone());
        Ok(RequestMonitor(Arc::new(Inner {
            state,
            own,
            allow: (!self.allow.is_empty())
                .then(|| Paths::new(&self.allow))
                .transpose()?,
            deny: (!self.deny.is_empty())
                .then(|| Paths::new(&self.deny))
                .transpose()?,
            monitoring: Paths::new(&monitoring)?,
            routes,
            slow_threshold: self.slow_threshold,
            route_thresholds: self.route_thresholds,
            slow_endpoint: self.slow_endpoint,
            capacity: self.capacity,
            ring: Mutex::new(VecDeque::new()),
            captured: AtomicU64::new(0),
            headers,
            max_header_bytes: self.max_header_bytes,
            dedup: Dedup::new(self.alert_window),
            delivery: Delivery::new(
                self.notifiers,
                self.queue,
                self.timeout,
                self.retries,
                self.backoff,
            ),
            clock: self.clock,
            span_tree: self.span_tree,
        })))
    }
}

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

/// The request middleware: a tower [`Layer`] (and `Clone`, cheaply: the
/// clones share their state, captures and queue). See the
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

/// The JSON of the fields a state provides.
struct Snapshot<'a>(&'a dyn RequestState);

impl Serialize for Snapshot<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let st = self.0;
        let mut map = s.serialize_map(None)?;
        if let Some(f) = st.latency() {
            map.serialize_entry("latency", f)?;
        }
        if let Some(f) = st.requests() {
            map.serialize_entry("requests", f)?;
        }
        if let Some(f) = st.in_flight() {
            map.serialize_entry("in_flight", f)?;
        }
        if let Some(f) = st.responses() {
            map.serialize_entry("responses", f)?;
        }
        if let Some(f) = st.request_bytes() {
            map.serialize_entry("request_bytes", f)?;
        }
        if let Some(f) = st.response_bytes() {
            map.serialize_entry("response_bytes", f)?;
        }
        map.end()
    }
}

impl<S> Layer<S> for RequestMonitor {
    type Service = RequestMonitorService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestMonitorService {
            inner,
            monitor: self.0.clone(),
        }
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

/// The [`RequestMonitor`]'s service around `S`.
#[derive(Clone)]
pub struct RequestMonitorService<S> {
    inner: S,
    monitor: Arc<Inner>,
}

impl<S: fmt::Debug> fmt::Debug for RequestMonitorService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestMonitorService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

enum Route {
    Matched(MatchedPath),
    /// The index of a configured route in [`Inner::routes`]: no reference
    /// count touched per request.
    Named(usize),
    Unmatched,
}

impl Route {
    fn as_str<'a>(&'a self, inner: &'a Inner) -> &'a str {
        match self {
            Route::Matched(m) => m.as_str(),
            Route::Named(i) => inner.routes.get(*i).map_or("unmatched", |(_, name)| name),
            Route::Unmatched => "unmatched",
        }
    }
}

/// The in-flight guard of one measured request: lowers the gauge when
/// dropped, counting the request as `cancelled` unless it completed.
struct Measure {
    monitor: Arc<Inner>,
    /// On the system clock's precise counter, whatever the monitor's clock:
    /// a manual clock decides alert windows in tests, not how long a
    /// request took.
    start: Stamp,
    route: Route,
    /// What a capture needs, in one allocation, so that the response
    /// future (moved a few times on its way to being polled) stays small.
    cx: Box<Seen>,
    done: bool,
}

/// The listed headers a request has, each as its index in
/// [`Inner::headers`]; a few inline.
type Listed = SmallVec<[(usize, HeaderValue); 4]>;

/// The request as a capture shows it.
struct Seen {
    method: Method,
    uri: Uri,
    headers: Listed,
    remote: Option<SocketAddr>,
    span: Option<tracing::Span>,
}

impl Drop for Measure {
    fn drop(&mut self) {
        let state = &*self.monitor.state;
        if let Some(g) = state.in_flight() {
            g.dec(1.0);
        }
        if !self.done
            && let Some(r) = state.responses()
        {
            r.with(&"cancelled", |c| c.inc(1));
        }
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

impl Measure {
    fn finish(&mut self, status: Option<StatusCode>, response_bytes: Option<u64>) {
        self.done = true;
        let elapsed = Clock::system_ref().since(self.start);
        let inner = &*self.monitor;
        let state = &*inner.state;
        let class = status.map_or("error", status_class);
        let secs = elapsed.as_secs_f64();
        if let Some(f) = state.latency() {
            f.with(
                &(self.cx.method.as_str(), self.route.as_str(inner), class),
                |h| h.observe(secs),
            );
        }
        state.observe_latency(secs);
        if let Some(r) = state.responses() {
            r.with(&class, |c| c.inc(1));
        }
        if let (Some(h), Some(n)) = (state.response_bytes(), response_bytes) {
            h.observe(n as f64);
        }
        let threshold = if inner.route_thresholds.is_empty() {
            inner.slow_threshold
        } else {
            inner
                .route_thresholds
                .get(self.route.as_str(inner))
                .copied()
                .unwrap_or(inner.slow_threshold)
        };
        if elapsed >= threshold {
            self.capture(status, elapsed);
        }
    }

    #[cold]
    fn capture(&mut self, status: Option<StatusCode>, elapsed: Duration) {
        let inner = &*self.monitor;
        let (spans, spans_dropped) = match self.cx.span.as_ref().and_then(spans::Tree::of) {
            Some(tree) => {
                let (nodes, dropped) = tree.snapshot(Instant::now());
                (Some(nodes), dropped)
            }
            None => (None, 0),
        };
        let mut path = self.cx.uri.path().to_owned();
        spans::truncate(&mut path, MAX_PATH_BYTES);
        let headers = self
            .cx
            .headers
            .iter()
            .filter_map(|(i, value)| {
                let name = inner.headers.get(*i)?;
                let mut text = String::from_utf8_lossy(value.as_bytes()).into_owned();
                spans::truncate(&mut text, inner.max_header_bytes);
                Some((name.as_str().to_owned(), text))
            })
            .collect();
        let start = inner
            .clock
            .wall()
            .checked_sub(monsta_core::SignedDuration::try_from(elapsed).unwrap_or_default())
            .unwrap_or(monsta_core::Timestamp::UNIX_EPOCH);
        let request = Arc::new(SlowRequest {
            method: self.cx.method.as_str().to_owned(),
            path,
            route: self.route.as_str(inner).to_owned(),
            status: status.map(|s| s.as_u16()),
            duration_ms: elapsed.as_secs_f64() * 1e3,
            start: start.to_string(),
            remote_addr: self.cx.remote.map(|a| a.to_string()),
            headers,
            spans,
            spans_dropped,
        });
        inner.captured.fetch_add(1, Relaxed);
        if inner.capacity > 0 {
            let mut ring = inner.ring.lock().unwrap_or_else(PoisonError::into_inner);
            if ring.len() >= inner.capacity {
                ring.pop_front();
            }
            ring.push_back(request.clone());
        }
        if !inner.delivery.notifiers.is_empty() {
            match inner
                .dedup
                .check(&request.method, &request.route, inner.clock.now())
            {
                Some(suppressed) => inner.delivery.send(Alert {
                    request,
                    suppressed,
                }),
                None => {
                    inner.delivery.stats.suppressed.fetch_add(1, Relaxed);
                }
            }
        }
    }
}

impl Inner {
    fn measured(&self, path: &str) -> bool {
        if self.monitoring.is_match(path) {
            return false;
        }
        if let Some(allow) = &self.allow {
            return allow.is_match(path);
        }
        !self.deny.as_ref().is_some_and(|d| d.is_match(path))
    }

    fn route<B>(&self, req: &Request<B>) -> Route {
        if let Some(m) = req.extensions().get::<MatchedPath>() {
            return Route::Matched(m.clone());
        }
        let path = req.uri().path();
        self.routes
            .iter()
            .position(|(g, _)| g.is_match(path))
            .map_or(Route::Unmatched, Route::Named)
    }

    /// The first value of each listed header the request has, in the
    /// request's order: one pass over its (few) headers, comparing names,
    /// rather than a hash lookup per listed name. A name is kept as its
    /// index in [`Inner::headers`]: cloning a non-standard name (such as
    /// `x-request-id`) would allocate.
    fn headers(&self, headers: &HeaderMap) -> Listed {
        let mut out = Listed::new();
        for (name, value) in headers {
            if let Some(i) = self.headers.iter().position(|n| n == name)
                && !out.iter().any(|(j, _)| *j == i)
            {
                out.push((i, value.clone()));
            }
        }
        out
    }

    /// The answer of the slow endpoint.
    fn slow_response<B>(self: &Arc<Self>, req: &Request<B>) -> Response<Full<Bytes>> {
        let respond = |status: StatusCode, body: String| {
            let mut r = Response::new(Full::new(Bytes::from(body)));
            *r.status_mut() = status;
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        };
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut r = respond(
                StatusCode::METHOD_NOT_ALLOWED,
                r#"{"error":"method not allowed"}"#.into(),
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return r;
        }
        let mut limit = usize::MAX;
        for pair in req.uri().query().unwrap_or("").split('&') {
            if let Some(v) = pair.strip_prefix("limit=") {
                match v.parse() {
                    Ok(n) => limit = n,
                    Err(_) => {
                        return respond(
                            StatusCode::BAD_REQUEST,
                            r#"{"error":"limit must be a whole number"}"#.into(),
                        );
                    }
                }
            }
        }
        let body = RequestMonitor(self.clone()).slow_json(limit);
        if req.method() == Method::HEAD {
            let mut r = respond(StatusCode::OK, String::new());
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
            return r;
        }
        respond(StatusCode::OK, body)
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestMonitorService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: Body,
    ResBody: Body<Data = Bytes>,
{
    type Response = Response<MonitorBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let m = &self.monitor;
        let path = req.uri().path();
        if path == m.slow_endpoint {
            return ResponseFuture {
                kind: Kind::Answer {
                    response: Some(m.slow_response(&req)),
                },
            };
        }
        if !m.measured(path) {
            return ResponseFuture {
                kind: Kind::Passed {
                    fut: self.inner.call(req),
                },
            };
        }
        let state = &*m.state;
        if let Some(g) = state.in_flight() {
            g.inc(1.0);
        }
        if let Some(w) = state.requests() {
            w.inc(1.0);
        }
        if let (Some(h), Some(n)) = (state.request_bytes(), req.body().size_hint().exact()) {
            h.observe(n as f64);
        }
        let span = m
            .span_tree
            .then(|| tracing::info_span!(target: "monsta::request", "monsta.request"));
        let measure = Measure {
            monitor: m.clone(),
            start: Clock::system_ref().stamp(),
            route: m.route(&req),
            cx: Box::new(Seen {
                method: req.method().clone(),
                uri: req.uri().clone(),
                headers: m.headers(req.headers()),
                remote: req
                    .extensions()
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0),
                span,
            }),
            done: false,
        };
        let fut = match &measure.cx.span {
            Some(span) => span.in_scope(|| self.inner.call(req)),
            None => self.inner.call(req),
        };
        ResponseFuture {
            kind: Kind::Measured {
                fut,
                measure: Some(measure),
            },
        }
    }
}

pin_project! {
    /// The response future of a [`RequestMonitorService`].
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Measured {
            #[pin]
            fut: F,
            measure: Option<Measure>,
        },
        Passed {
            #[pin]
            fut: F,
        },
        Answer {
            response: Option<Response<Full<Bytes>>>,
        },
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body<Data = Bytes>,
{
    type Output = Result<Response<MonitorBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Measured { fut, measure } => {
                let result = {
                    let _entered = measure
                        .as_ref()
                        .and_then(|m| m.cx.span.as_ref())
                        .map(tracing::Span::enter);
                    ready!(fut.poll(cx))
                };
                if let Some(mut m) = measure.take() {
                    match &result {
                        Ok(r) => m.finish(Some(r.status()), r.body().size_hint().exact()),
                        Err(_) => m.finish(None, None),
                    }
                }
                Poll::Ready(result.map(|r| r.map(MonitorBody::inner)))
            }
            KindProj::Passed { fut } => {
                let result = ready!(fut.poll(cx));
                Poll::Ready(result.map(|r| r.map(MonitorBody::inner)))
            }
            KindProj::Answer { response } => {
                let response = response.take().expect("polled after completion");
                Poll::Ready(Ok(response.map(MonitorBody::own)))
            }
        }
    }
}

pin_project! {
    /// The response body of a [`RequestMonitorService`]: the service's, or
    /// the slow endpoint's JSON.
    pub struct MonitorBody<B> {
        #[pin]
        kind: BodyKind<B>,
    }
}

pin_project! {
    #[project = BodyProj]
    enum BodyKind<B> {
        Inner {
            #[pin]
            body: B,
        },
        Own {
            #[pin]
            body: Full<Bytes>,
        },
    }
}

impl<B> MonitorBody<B> {
    fn inner(body: B) -> Self {
        Self {
            kind: BodyKind::Inner { body },
        }
    }

    fn own(body: Full<Bytes>) -> Self {
        Self {
            kind: BodyKind::Own { body },
        }
    }
}

impl<B: Body<Data = Bytes>> Body for MonitorBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.project().kind.project() {
            BodyProj::Inner { body } => body.poll_frame(cx),
            BodyProj::Own { body } => body
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(|e: Infallible| match e {}))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::Inner { body } => body.is_end_stream(),
            BodyKind::Own { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::Inner { body } => body.size_hint(),
            BodyKind::Own { body } => body.size_hint(),
        }
    }
}
