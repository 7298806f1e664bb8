//! [`StatusReporterBuilder`]: the endpoint, the refresh policy, the clock and
//! the server limits of a [`StatusReporter`](crate::StatusReporter).

use std::time::Duration;

use monsta_core::Clock;

use crate::{BuildError, security::Security};

/// The path the endpoint answers on unless
/// [`endpoint`](StatusReporterBuilder::endpoint) says otherwise.
pub const DEFAULT_ENDPOINT: &str = "/mon/v1/state";

/// The path the Prometheus endpoint answers on unless
/// [`metrics_endpoint`](StatusReporterBuilder::metrics_endpoint) says
/// otherwise: where Prometheus looks by default.
#[cfg(feature = "prometheus")]
pub const DEFAULT_METRICS_ENDPOINT: &str = "/metrics";

/// The default of [`update_holdoff`](StatusReporterBuilder::update_holdoff).
pub const DEFAULT_UPDATE_HOLDOFF: Duration = Duration::from_secs(5);

/// The period of a [`Refresher`](crate::Refresher) when no
/// [`update_interval`](StatusReporterBuilder::update_interval) is set.
pub const DEFAULT_UPDATE_INTERVAL: Duration = Duration::from_secs(5);

/// The smallest [`max_header_size`](StatusReporterBuilder::max_header_size).
pub const MIN_HEADER_SIZE: usize = 1024;

/// What the builder configures; shared, read-only, by every clone of a
/// reporter.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    endpoint: String,
    #[cfg(feature = "prometheus")]
    metrics_endpoint: String,
    update_holdoff: Duration,
    update_interval: Option<Duration>,
    callback_timeout: Duration,
    header_read_timeout: Duration,
    header_read_timeout_under_pressure: Duration,
    keep_alive_timeout: Duration,
    write_timeout: Duration,
    max_connection_age: Duration,
    max_requests_per_connection: u64,
    max_connections: usize,
    max_connections_per_address: usize,
    max_header_size: usize,
    http2_max_streams: u32,
    shutdown_timeout: Duration,
    security: Security,
    extensions: crate::extension::Extensions,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            #[cfg(feature = "prometheus")]
            metrics_endpoint: DEFAULT_METRICS_ENDPOINT.to_owned(),
            update_holdoff: DEFAULT_UPDATE_HOLDOFF,
            update_interval: None,
            callback_timeout: Duration::from_secs(2),
            header_read_timeout: Duration::from_secs(10),
            header_read_timeout_under_pressure: Duration::from_secs(2),
            keep_alive_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            max_connection_age: Duration::from_secs(600),
            max_requests_per_connection: 10_000,
            max_connections: 4096,
            max_connections_per_address: 32,
            max_header_size: 16 * 1024,
            http2_max_streams: 16,
            shutdown_timeout: Duration::from_secs(3),
            security: Security::default(),
            extensions: Default::default(),
        }
    }
}

impl Config {
    /// The attached extensions.
    pub(crate) fn extensions(&self) -> &crate::extension::Extensions {
        &self.extensions
    }

    /// The path of the JSON endpoint.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The path of the Prometheus endpoint.
    #[cfg(feature = "prometheus")]
    pub(crate) fn metrics_endpoint(&self) -> &str {
        &self.metrics_endpoint
    }

    /// How long a rendered body is served before the source is evaluated
    /// again.
    pub(crate) fn update_holdoff(&self) -> Duration {
        self.update_holdoff
    }

    /// The period of the background refresh, if set.
    pub(crate) fn update_interval(&self) -> Option<Duration> {
        self.update_interval
    }

    /// How long a request waits for an evaluation.
    pub(crate) fn callback_timeout(&self) -> Duration {
        self.callback_timeout
    }

    /// How long a client has to send a request head.
    pub(crate) fn header_read_timeout(&self) -> Duration {
        self.header_read_timeout
    }

    /// How long a new connection has to send its first request head while
    /// the server is under pressure.
    pub(crate) fn header_read_timeout_under_pressure(&self) -> Duration {
        self.header_read_timeout_under_pressure
    }

    /// How long a kept-alive connection may sit idle.
    pub(crate) fn keep_alive_timeout(&self) -> Duration {
        self.keep_alive_timeout
    }

    /// How long a response write may make no progress.
    pub(crate) fn write_timeout(&self) -> Duration {
        self.write_timeout
    }

    /// How long a connection may live; reached only between requests.
    pub(crate) fn max_connection_age(&self) -> Duration {
        self.max_connection_age
    }

    /// The most requests one connection serves.
    pub(crate) fn max_requests_per_connection(&self) -> u64 {
        self.max_requests_per_connection
    }

    /// The most connections a server holds open at once (as configured,
    /// before the file-descriptor limit is applied).
    pub(crate) fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// The most connections one client address (IPv6: one /64) holds.
    pub(crate) fn max_connections_per_address(&self) -> usize {
        self.max_connections_per_address
    }

    /// The largest request head, in bytes.
    pub(crate) fn max_header_size(&self) -> usize {
        self.max_header_size
    }

    /// The most requests one HTTP/2 connection has in progress at once.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) fn http2_max_streams(&self) -> u32 {
        self.http2_max_streams
    }

    /// How long stopping a server waits for open connections.
    pub(crate) fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    /// Address rules, credentials and TLS settings.
    pub(crate) fn security(&self) -> &Security {
        &self.security
    }
}

/// Builds a [`StatusReporter`](crate::StatusReporter); made by [`StatusReporter::builder`](crate::StatusReporter::builder).
///
/// Setters whose value can be out of range return
/// `Result<Self, BuildError>`; the others return `Self`.
///
/// | option | default |
/// | --- | --- |
/// | [`endpoint`](Self::endpoint) | `/mon/v1/state` |
/// | `metrics_endpoint` (feature `prometheus`) | `/metrics` |
/// | [`update_holdoff`](Self::update_holdoff) | 5 s |
/// | [`update_interval`](Self::update_interval) | none: refresh on request only |
/// | [`clock`](Self::clock) | [`Clock::system`] |
/// | [`callback_timeout`](Self::callback_timeout) | 2 s |
/// | [`header_read_timeout`](Self::header_read_timeout) | 10 s |
/// | [`header_read_timeout_under_pressure`](Self::header_read_timeout_under_pressure) | 2 s |
/// | [`keep_alive_timeout`](Self::keep_alive_timeout) | 5 s |
/// | [`write_timeout`](Self::write_timeout) | 10 s |
/// | [`max_connection_age`](Self::max_connection_age) | 10 min |
/// | [`max_requests_per_connection`](Self::max_requests_per_connection) | 10,000 |
/// | [`max_connections`](Self::max_connections) | 4,096 (at most the file-descriptor soft limit − 64) |
/// | [`max_connections_per_address`](Self::max_connections_per_address) | 32 |
/// | [`max_header_size`](Self::max_header_size) | 16 KiB (and at most 100 headers, hyper's limit) |
/// | [`http2_max_streams`](Self::http2_max_streams) | 16 |
/// | [`shutdown_timeout`](Self::shutdown_timeout) | 3 s |
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use monsta_http::StatusReporter;
///
/// let mon = StatusReporter::builder()
///     .endpoint("/api/v1/monitoring")?
///     .update_holdoff(Duration::from_secs(10))
///     .max_connections(64)?
///     .build();
/// assert_eq!(mon.endpoint(), "/api/v1/monitoring");
/// # Ok::<(), monsta_http::BuildError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct StatusReporterBuilder {
    config: Config,
    clock: Option<Clock>,
}

fn positive(option: &'static str, value: Duration) -> Result<Duration, BuildError> {
    if value.is_zero() {
        Err(BuildError::ZeroDuration { option, value })
    } else {
        Ok(value)
    }
}

/// Whether `ch` may appear in an endpoint path: RFC 3986 path characters
/// without `:` and `*` (router pattern syntax).
fn is_path_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || "/-._~!$&'()+,;=@%".contains(ch)
}

/// `path` if it can be an endpoint's path.
fn check_path(path: String) -> Result<String, BuildError> {
    if !path.starts_with('/') {
        return Err(BuildError::EndpointNotAbsolute(path));
    }
    if let Some(ch) = path.chars().find(|&c| !is_path_char(c)) {
        return Err(BuildError::EndpointCharacter { endpoint: path, ch });
    }
    Ok(path)
}

impl StatusReporterBuilder {
    /// A builder with every option at its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// The path of the JSON endpoint, such as `/mon/v1/state` (the default).
    /// Requests for any other path get 404 from the standalone server; a
    /// mounted [`router`](https://docs.rs/monsta-http/latest/monsta_http/struct.StatusReporter.html#method.router) routes only this path.
    ///
    /// # Errors
    ///
    /// [`BuildError::EndpointNotAbsolute`] if `path` does not start with `/`;
    /// [`BuildError::EndpointCharacter`] if it holds a character other than
    /// letters, digits and `/-._~!$&'()+,;=@%`.
    pub fn endpoint(mut self, path: impl Into<String>) -> Result<Self, BuildError> {
        let path = check_path(path.into())?;
        self.check_free_of_extensions(&path)?;
        self.config.endpoint = path;
        Ok(self)
    }

    /// `Err(PathTaken)` if an attached extension serves `path`.
    fn check_free_of_extensions(&self, path: &str) -> Result<(), BuildError> {
        if self.config.extensions.paths().any(|p| p == path) {
            return Err(BuildError::PathTaken(path.to_owned()));
        }
        Ok(())
    }

    /// The path of the Prometheus endpoint (feature `prometheus`), `/metrics`
    /// by default: the published state as Prometheus or OpenMetrics text,
    /// served by the same server, [`service`](crate::StatusReporter::service) and
    /// [`router`](https://docs.rs/monsta-http/latest/monsta_http/struct.StatusReporter.html#method.router) as the JSON endpoint. Should the
    /// JSON [`endpoint`](Self::endpoint) be set to this path afterwards,
    /// the JSON endpoint answers there and the metrics are not served.
    ///
    /// # Errors
    ///
    /// As [`endpoint`](Self::endpoint), and
    /// [`BuildError::SameEndpoint`] if `path` is the JSON endpoint's.
    ///
    /// # Examples
    ///
    /// ```
    /// use monsta_http::StatusReporter;
    ///
    /// let mon = StatusReporter::builder().metrics_endpoint("/ops/metrics")?.build();
    /// assert_eq!(mon.metrics_endpoint(), "/ops/metrics");
    /// assert!(StatusReporter::builder().metrics_endpoint("/mon/v1/state").is_err());
    /// # Ok::<(), monsta_http::BuildError>(())
    /// ```
    #[cfg(feature = "prometheus")]
    pub fn metrics_endpoint(mut self, path: impl Into<String>) -> Result<Self, BuildError> {
        let path = check_path(path.into())?;
        if path == self.config.endpoint {
            return Err(BuildError::SameEndpoint(path));
        }
        self.check_free_of_extensions(&path)?;
        self.config.metrics_endpoint = path;
        Ok(self)
    }

    /// How long a rendered body is served before the source is evaluated
    /// again: a [`publish_with`](crate::StatusReporter::publish_with) callback runs at
    /// most once per holdoff however many requests arrive. Zero renders on
    /// every request. Publishing or [`reset`](crate::StatusReporter::reset) ends the
    /// holdoff at once. Measured on the [`clock`](Self::clock).
    pub fn update_holdoff(mut self, holdoff: Duration) -> Self {
        self.config.update_holdoff = holdoff;
        self
    }

    /// Refresh the state in the background every `interval`, so requests
    /// find a fresh body and never wait for a slow (for example async)
    /// source. Servers started by this reporter run the refresh while they
    /// run; a host app that mounts the [`router`](https://docs.rs/monsta-http/latest/monsta_http/struct.StatusReporter.html#method.router)
    /// runs it with [`spawn_refresher`](crate::StatusReporter::spawn_refresher).
    /// Without it, a request past the holdoff evaluates the source.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroDuration`] if `interval` is zero.
    pub fn update_interval(mut self, interval: Duration) -> Result<Self, BuildError> {
        self.config.update_interval = Some(positive("update_interval", interval)?);
        Ok(self)
    }

    /// The clock that uptime and the holdoff are measured on (default
    /// [`Clock::system`]). Tests pass a
    /// [`ManualClock`](monsta_core::ManualClock).
    pub fn clock(mut self, clock: impl Into<Clock>) -> Self {
        self.clock = Some(clock.into());
        self
    }

    /// How long a request waits for a state callback before it answers with
    /// the last good state and an `internal.error`. The callback keeps
    /// running (one evaluation at a time); when it returns, its state is
    /// served.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroDuration`] if `timeout` is zero.
    pub fn callback_timeout(mut self, timeout: Duration) -> Result<Self, BuildError> {
        self.config.callback_timeout = positive("callback_timeout", timeout)?;
        Ok(self)
    }

    /// How long a client has to send a complete request head, counted from
    /// the connection's start or the end of its previous response. A client
    /// that sends nothing, or trickles its headers, is disconnected after it.
    /// While the server is under pressure, a new connection has only the
    /// shorter [`header_read_timeout_under_pressure`](Self::header_read_timeout_under_pressure)
    /// for its first request head.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroDuration`] if `timeout` is zero.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Result<Self, BuildError> {
        self.config.header_read_timeout = positive("header_read_timeout", timeout)?;
        Ok(self)
    }

    /// The shorter header deadline of a server under pressure: a new
    /// connection that has not sent its first complete request head this
    /// long after it was accepted is closed while the server is under
    /// pressure, so that trickling clients cannot hold slots for the whole
    /// [`header_read_timeout`](Self::header_read_timeout) while others wait.
    ///
    /// The server is under pressure while more than a quarter of its
    /// [`max_connections`](Self::max_connections) are in the header phase
    /// (accepted, no request started), or seven eighths of it are open. A
    /// connection past this deadline is closed if the server is under
    /// pressure then, else looked at again every 250 ms until the ordinary
    /// header deadline: trickling connections are cut, those past the
    /// shorter deadline first, until no more than a quarter of the cap is
    /// in the header phase. Without pressure, and for connections that have started a
    /// request, nothing changes (kept-alive connections waiting for their
    /// next request are closed first when the server is full instead). A
    /// value not below the `header_read_timeout` turns this off.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroDuration`] if `timeout` is zero.
    pub fn header_read_timeout_under_pressure(
        mut self,
        timeout: Duration,
    ) -> Result<Self, BuildError> {
        self.config.header_read_timeout_under_pressure =
            positive("header_read_timeout_under_pressure", timeout)?;
        Ok(self)
    }

    /// How long a kept-alive connection may sit idle between requests before
    /// the server closes it. The [`header_read_timeout`](Self::header_read_timeout)
    /// also runs while a connection waits for its next request, so the
    /// idle limit is in effect the smaller of the two.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroDuration`] if `timeout` is zero.
    pub fn keep_alive_timeout(mut self, timeout: Duration) -> Result<Self, BuildError> {
        self.config.keep_alive_timeout = positive("keep_alive_timeout", timeout)?;
        Ok(self)
    }

    /// The most connections the server holds open at once. When all are
    /// open, the connection that has been idle longest (between requests,
    /// waiting for its next one or for its first, with no response being
    /// written) is closed at once to make room; when none is idle, further
    /// clients wait in the listen backlog (1,024 deep for the servers that
    /// bind their own address) until one closes.
    ///
    /// On Linux the cap is also kept below the process's file-descriptor
    /// soft limit (`RLIMIT_NOFILE`, read from `/proc/self/limits`) less a
    /// margin of 64, logged once at `info` when that is what bounds it.
    ///
    /// # Errors
    ///
    /// [`BuildError::MaxConnections`] if `max` is zero or larger than
    /// [`tokio::sync::Semaphore::MAX_PERMITS`].
    pub fn max_connections(mut self, max: usize) -> Result<Self, BuildError> {
        let limit = tokio::sync::Semaphore::MAX_PERMITS;
        if max == 0 || max > limit {
            return Err(BuildError::MaxConnections {
                value: max,
                max: limit,
            });
        }
        self.config.max_connections = max;
        Ok(self)
    }

    /// The largest request head (request line and headers) in bytes; a larger
    /// one is answered with `431 Request Header Fields Too Large` and the
    /// connection is closed. Independently of the size, a request head
    /// holds at most 100 headers (hyper's default); one with more is
    /// answered with `431` too.
    ///
    /// # Errors
    ///
    /// [`BuildError::MaxHeaderSize`] if `bytes` is below [`MIN_HEADER_SIZE`].
    pub fn max_header_size(mut self, bytes: usize) -> Result<Self, BuildError> {
        if bytes < MIN_HEADER_SIZE {
            return Err(BuildError::MaxHeaderSize {
                value: bytes,
                min: MIN_HEADER_SIZE,
            });
        }
        self.config.max_header_size = bytes;
        Ok(self)
    }

    /// How long a response write may make no progress before the server
    /// closes the connection: a client that sends requests but does not
    /// read the answers (its receive buffer and the server's send buffer
    /// full) is cut after it. Requests a client pipelines are answered one at
    /// a time; those not yet answered wait in the socket buffers, not in
    /// the server, so this deadline bounds them too.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroDuration`] if `timeout` is zero.
    pub fn write_timeout(mut self, timeout: Duration) -> Result<Self, BuildError> {
        self.config.write_timeout = positive("write_timeout", timeout)?;
        Ok(self)
    }

    /// The longest a connection stays open: once it is this old, the server
    /// closes it after the response in progress, if any (a response is
    /// never cut), and the client reconnects.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroDuration`] if `age` is zero.
    pub fn max_connection_age(mut self, age: Duration) -> Result<Self, BuildError> {
        self.config.max_connection_age = positive("max_connection_age", age)?;
        Ok(self)
    }

    /// The most requests one HTTP/2 connection (over TLS, feature `tls`)
    /// has in progress at once; a client that opens more streams gets them
    /// refused (`REFUSED_STREAM`) until one ends. HTTP/1 connections serve
    /// one request at a time.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroCount`] if `max` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use monsta_http::StatusReporter;
    ///
    /// let mon = StatusReporter::builder().http2_max_streams(4)?.build();
    /// # let _ = mon;
    /// assert!(StatusReporter::builder().http2_max_streams(0).is_err());
    /// # Ok::<(), monsta_http::BuildError>(())
    /// ```
    pub fn http2_max_streams(mut self, max: u32) -> Result<Self, BuildError> {
        if max == 0 {
            return Err(BuildError::ZeroCount {
                option: "http2_max_streams",
            });
        }
        self.config.http2_max_streams = max;
        Ok(self)
    }

    /// The most requests one connection serves: the last response carries
    /// `Connection: close` and the connection closes once it is sent;
    /// requests pipelined behind it are not answered.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroCount`] if `max` is zero.
    pub fn max_requests_per_connection(mut self, max: u64) -> Result<Self, BuildError> {
        if max == 0 {
            return Err(BuildError::ZeroCount {
                option: "max_requests_per_connection",
            });
        }
        self.config.max_requests_per_connection = max;
        Ok(self)
    }

    /// The most connections one client address holds open at once (IPv6
    /// addresses are grouped per /64 prefix). A connection beyond it is
    /// closed as soon as it is accepted, without an answer, while other
    /// clients are still served.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroCount`] if `max` is zero.
    pub fn max_connections_per_address(mut self, max: usize) -> Result<Self, BuildError> {
        if max == 0 {
            return Err(BuildError::ZeroCount {
                option: "max_connections_per_address",
            });
        }
        self.config.max_connections_per_address = max;
        Ok(self)
    }

    /// How long stopping a server waits for open connections to finish their
    /// response before it drops them. Idle connections close at once.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown_timeout = timeout;
        self
    }

    /// The security settings, for the setters of the `security` module.
    pub(crate) fn security_mut(&mut self) -> &mut Security {
        &mut self.config.security
    }

    /// Attaches an [`Extension`](crate::Extension): a section of its own
    /// in `internal`, metric families, paths, and the reporter's start and
    /// stop (the runtime monitor of `monsta::runtime` is one). Extensions
    /// are asked in the order they were attached.
    ///
    /// # Errors
    ///
    /// For each of the extension's [`paths`](crate::Extension::paths): as
    /// [`endpoint`](Self::endpoint) for a path that could not be an
    /// endpoint's, and [`BuildError::PathTaken`] for the JSON endpoint's,
    /// the metrics endpoint's, [`HEALTH_ENDPOINT`](crate::HEALTH_ENDPOINT),
    /// or one an extension attached before serves
    /// (two runtime monitors on one reporter need different
    /// `tasks_endpoint`s, or `None` for one of them).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use monsta_http::{BuildError, Extension, StatusReporter};
    ///
    /// struct Hello;
    /// impl Extension for Hello {
    ///     fn paths(&self) -> Vec<String> {
    ///         vec!["/hello".to_owned()]
    ///     }
    /// }
    /// let builder = StatusReporter::builder().extension(Arc::new(Hello))?;
    /// assert_eq!(
    ///     builder.extension(Arc::new(Hello)).unwrap_err(),
    ///     BuildError::PathTaken("/hello".to_owned())
    /// );
    /// # Ok::<(), BuildError>(())
    /// ```
    pub fn extension(
        mut self,
        extension: std::sync::Arc<dyn crate::Extension>,
    ) -> Result<Self, BuildError> {
        let mut own: Vec<String> = Vec::new();
        for path in extension.paths() {
            let path = check_path(path)?;
            #[cfg(feature = "prometheus")]
            let metrics = path == self.config.metrics_endpoint;
            #[cfg(not(feature = "prometheus"))]
            let metrics = false;
            if path == self.config.endpoint
                || path == crate::HEALTH_ENDPOINT
                || metrics
                || own.contains(&path)
                || self.config.extensions.paths().any(|p| p == path)
            {
                return Err(BuildError::PathTaken(path));
            }
            own.push(path);
        }
        self.config.extensions.push(extension, own);
        Ok(self)
    }

    /// The configuration and the clock, for `build` (which the reporter
    /// module implements, so that this one depends on nothing above it).
    pub(crate) fn into_parts(self) -> (Config, Clock) {
        (self.config, self.clock.unwrap_or_else(Clock::system))
    }
}
