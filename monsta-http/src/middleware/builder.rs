//! The middleware's settings: [`RequestMonitorBuilder`], its environment
//! variables, and [`ConfigError`].

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    path::PathBuf,
    sync::{Arc, Mutex, atomic::AtomicU64},
    time::Duration,
};

use hyper::header::HeaderName;
use monsta_core::{Clock, params};

use super::{
    DEFAULT_ALERT_WINDOW, DEFAULT_MAX_HEADER_BYTES, DEFAULT_SLOW_CAPACITY, DEFAULT_SLOW_ENDPOINT,
    DEFAULT_SLOW_THRESHOLD, DEFAULT_TRACING_HEADERS, Inner, JsonLinesFile, Notifier,
    RequestMetrics, RequestMonitor, RequestState, SENSITIVE_HEADERS, Webhook, WebhookFormat,
    notify::{Dedup, Delivery},
    paths::Paths,
};

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
    /// (default true; without a [`SpanTreeLayer`](super::SpanTreeLayer) it
    /// is only a span, seen by the subscriber's other layers as the context
    /// of the request's events). A filter that disables it, or the spans
    /// inside it, leaves them out of the tree.
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
