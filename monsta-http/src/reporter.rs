//! [`StatusReporter`]: the public face of a reporter. It holds the engine
//! and the servers, and every method delegates to one of them.

use std::{
    fmt::{self, Display},
    future::Future,
    sync::Arc,
    time::Duration,
};

use monsta_core::{AppState, Clock};
use serde::Serialize;
use tokio::task::JoinHandle;

use crate::{
    AttachError, ServeError, ServerHandle, StatusReporterBuilder, StatusService, ThreadedServer,
    attach::Attachment,
    builder::{Config, DEFAULT_UPDATE_INTERVAL},
    engine::Engine,
    metrics::MetricsOf,
    server::{self, Launch, Servers},
    source::Source,
};

/// The monitoring endpoint of a service: what was published, rendered as
/// `{"internal": {"uptime": …}, "state": …}`, and the servers that answer
/// with it.
///
/// A cheap [`Clone`] handle: clones share the source, the cached body, the
/// uptime and the servers. Every method takes `&self`, and the publishing
/// ones return `&Self` for chaining.
///
/// # Sources
///
/// | method | the state is |
/// | --- | --- |
/// | [`publish`](Self::publish) | a fixed serde value |
/// | [`publish_with`](Self::publish_with) | what a callback returns, at most once per holdoff |
/// | [`try_publish_with`](Self::try_publish_with) | the same, for a callback that can fail |
/// | [`publish_state`](Self::publish_state) | a consistent [`snapshot`](AppState::snapshot) of an [`AppState`] |
/// | [`publish_with_async`](Self::publish_with_async) | what an async callback resolves to |
/// | [`try_publish_with_async`](Self::try_publish_with_async) | the same, for one that can fail |
///
/// Publishing replaces the previous source and takes effect on the next
/// request. A callback that panics, fails, or does not return within the
/// [`callback_timeout`](StatusReporterBuilder::callback_timeout) does not
/// take the endpoint down: it answers with the last good state and says what
/// happened in `internal.error`, and the error is logged with `tracing`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use monsta_core::ManualClock;
/// use monsta_http::StatusReporter;
///
/// let clock = ManualClock::new();
/// let mon = StatusReporter::builder().clock(clock.clone()).build();
/// mon.publish(serde_json::json!({"status": "running"}));
///
/// clock.advance(Duration::from_secs(7));
/// assert_eq!(mon.render(), r#"{"internal":{"uptime":7},"state":{"status":"running"}}"#);
/// ```
#[derive(Clone)]
pub struct StatusReporter {
    engine: Arc<Engine>,
    servers: Arc<Servers>,
}

impl fmt::Debug for StatusReporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.engine.config();
        f.debug_struct("StatusReporter")
            .field("endpoint", &config.endpoint())
            .field("update_holdoff", &config.update_holdoff())
            .field("uptime", &self.uptime())
            .finish_non_exhaustive()
    }
}

impl Default for StatusReporter {
    fn default() -> Self {
        Self::new()
    }
}

impl StatusReporterBuilder {
    /// The reporter, with nothing published yet (its state is `{}`) and its
    /// uptime starting now.
    pub fn build(self) -> StatusReporter {
        let (config, clock) = self.into_parts();
        StatusReporter::from_parts(config, clock)
    }
}

impl StatusReporter {
    /// A reporter with the default options (see [`StatusReporterBuilder`]).
    pub fn new() -> Self {
        StatusReporterBuilder::new().build()
    }

    /// A builder to set the endpoint, the holdoff, the clock and the server
    /// limits.
    pub fn builder() -> StatusReporterBuilder {
        StatusReporterBuilder::new()
    }

    fn from_parts(config: Config, clock: Clock) -> Self {
        StatusReporter {
            engine: Arc::new(Engine::new(config, clock)),
            servers: Arc::new(Servers::default()),
        }
    }

    /// The path the endpoint answers on.
    pub fn endpoint(&self) -> &str {
        self.engine.config().endpoint()
    }

    /// Time since the reporter was built or last [`reset`](Self::reset), on
    /// its clock. `internal.uptime` is its whole seconds.
    pub fn uptime(&self) -> Duration {
        self.engine.uptime()
    }

    /// Publishes a fixed value: any type that serde can serialize (a map, a
    /// struct, a `serde_json::Value`, …). It is serialized now; if that fails
    /// the endpoint reports the error in `internal.error`.
    ///
    /// ```
    /// # use monsta_http::StatusReporter;
    /// let mon = StatusReporter::new();
    /// mon.publish(serde_json::json!({"status": "running", "version": "1.0.0"}));
    /// assert!(mon.render().ends_with(r#""state":{"status":"running","version":"1.0.0"}}"#));
    /// ```
    pub fn publish<T: Serialize>(&self, value: T) -> &Self {
        self.engine
            .publish(Source::fixed(&value), MetricsOf::default(), false);
        self
    }

    /// Publishes a callback that returns the state. It runs when a request
    /// finds the cached body older than the
    /// [`update_holdoff`](StatusReporterBuilder::update_holdoff), so at most
    /// once per holdoff, on a thread of the reporter's own, one evaluation at
    /// a time (not on tokio's blocking pool, so a callback that never
    /// returns keeps neither the runtime nor the program from ending).
    ///
    /// ```
    /// # use monsta_http::StatusReporter;
    /// use std::sync::{Arc, atomic::{AtomicU64, Ordering}};
    ///
    /// let requests = Arc::new(AtomicU64::new(0));
    /// let mon = StatusReporter::new();
    /// let r = requests.clone();
    /// mon.publish_with(move || serde_json::json!({"requests": r.load(Ordering::Relaxed)}));
    /// requests.fetch_add(3, Ordering::Relaxed);
    /// assert!(mon.render().ends_with(r#""state":{"requests":3}}"#));
    /// ```
    pub fn publish_with<F, T>(&self, callback: F) -> &Self
    where
        F: Fn() -> T + Send + Sync + 'static,
        T: Serialize,
    {
        self.engine
            .publish(Source::callback(callback), MetricsOf::default(), false);
        self
    }

    /// Publishes a callback that returns the state or an error. On an error
    /// the endpoint serves the last good state with
    /// `internal.error = "state callback failed: …"`.
    pub fn try_publish_with<F, T, E>(&self, callback: F) -> &Self
    where
        F: Fn() -> Result<T, E> + Send + Sync + 'static,
        T: Serialize,
        E: Display,
    {
        self.engine
            .publish(Source::fallible(callback), MetricsOf::default(), false);
        self
    }

    /// Publishes an [`AppState`]: each evaluation serializes a consistent
    /// [`snapshot`](AppState::snapshot) of it (at most once per holdoff).
    /// With the `prometheus` feature, the metrics endpoint serves its fields
    /// too.
    pub fn publish_state<S: AppState>(&self, state: Arc<S>) -> &Self {
        let metrics = MetricsOf::of_state(&state);
        self.engine
            .publish(Source::callback(move || state.snapshot()), metrics, true);
        self
    }

    /// Serves `state` beside the published state, under `name`: in the JSON
    /// as the key `name` of `state`, after the published state's own keys;
    /// on the metrics endpoint (feature `prometheus`) with `<name>_` before
    /// its metric names (after the published state's prefix), as a
    /// flattened child's would be. What a library that brings its own state
    /// (such as the request middleware's) is served through. It stays
    /// attached when something else is published, until
    /// [`detach_state`](Self::detach_state) or [`reset`](Self::reset). Each
    /// evaluation reads the published state and then each attached one,
    /// every state under its own lock.
    ///
    /// # Errors
    ///
    /// - [`AttachError::Name`] unless `name` is a letter or `_` followed by
    ///   letters, digits and `_`;
    /// - [`AttachError::Taken`] if a state is attached under `name` already;
    /// - [`AttachError::Key`] if the published state (a fixed value or an
    ///   [`AppState`], which are looked at now) has a key `name`;
    ///   [`AttachError::NotAnObject`] if its JSON is not an object;
    /// - [`AttachError::Metrics`] if two metric names would clash.
    ///
    /// A callback's state is looked at when it is evaluated: a clash then
    /// (or a state published later that has the key) is an evaluation
    /// error, served as `internal.error` with the last good state.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use monsta_core::{AppState, Clock, FieldInfo, FieldKind, FieldRef, Visitor, fields::Counter};
    /// # use monsta_http::StatusReporter;
    /// # #[derive(serde::Serialize)]
    /// # struct Jobs { done: Counter }
    /// # const DONE: FieldInfo = FieldInfo::new("done", "done", FieldKind::Counter, "Jobs done.");
    /// # impl AppState for Jobs {
    /// #     type Snapshot = serde_json::Value;
    /// #     fn try_with_clock(_: &Clock) -> Result<Self, monsta_core::Error> { Ok(Jobs { done: Counter::new() }) }
    /// #     fn describe() -> Vec<FieldInfo> { vec![DONE] }
    /// #     fn visit(&self, v: &mut dyn Visitor) { v.field(&DONE, FieldRef::new(&self.done)); }
    /// #     fn snapshot_unlocked(&self) -> serde_json::Value { serde_json::json!({"done": self.done.get()}) }
    /// # }
    /// let jobs = Arc::new(Jobs::try_with_clock(&Clock::system())?);
    /// jobs.done.inc(3);
    /// let mon = StatusReporter::new();
    /// mon.publish(serde_json::json!({"version": "1.0"}));
    /// mon.attach_state("jobs", jobs.clone())?;
    /// assert!(mon.render().ends_with(r#""state":{"version":"1.0","jobs":{"done":3}}}"#));
    /// // A name that is a key of the published state is refused.
    /// assert!(mon.attach_state("version", jobs).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn attach_state<S: AppState>(
        &self,
        name: &'static str,
        state: Arc<S>,
    ) -> Result<&Self, AttachError> {
        self.engine.attach(Attachment::of_state(name, state))?;
        Ok(self)
    }

    /// Stops serving the state attached under `name`; whether there was
    /// one.
    pub fn detach_state(&self, name: &str) -> bool {
        self.engine.detach(name)
    }

    /// The names of the attached states, in the order they were attached.
    pub fn attached_states(&self) -> Vec<&'static str> {
        self.engine.attached()
    }

    /// Publishes an async callback (a closure returning a future) that
    /// resolves to the state. It runs as a tokio task when a request (or the
    /// [`Refresher`]) finds the body older than the holdoff.
    /// [`render`](Self::render), which is not async, serves its last result.
    pub fn publish_with_async<F, Fut, T>(&self, callback: F) -> &Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = T> + Send + 'static,
        T: Serialize,
    {
        self.engine
            .publish(Source::future(callback), MetricsOf::default(), false);
        self
    }

    /// Publishes an async callback that resolves to the state or an error;
    /// see [`publish_with_async`](Self::publish_with_async) and
    /// [`try_publish_with`](Self::try_publish_with).
    pub fn try_publish_with_async<F, Fut, T, E>(&self, callback: F) -> &Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Serialize,
        E: Display,
    {
        self.engine.publish(
            Source::fallible_future(callback),
            MetricsOf::default(),
            false,
        );
        self
    }

    /// Restarts the uptime and clears the state: the source and the attached
    /// states are dropped and the endpoint answers `"state": {}` until
    /// something is published again.
    /// Running servers keep running.
    pub fn reset(&self) {
        self.engine.reset();
    }

    /// The body the endpoint would answer with now, as in
    /// `metrics-exporter-prometheus`'s `PrometheusHandle::render`.
    ///
    /// Within the holdoff this is the cached body. After it, a fixed value or
    /// an [`AppState`] is rendered again, and a sync callback runs on the
    /// calling thread (a panic in it is caught). An async callback is not run
    /// here: its last result is returned.
    ///
    /// The entries of attached [extensions](crate::Extension) are in
    /// `internal`, as the endpoint serves them.
    pub fn render(&self) -> String {
        let body = crate::extension::decorate_body(
            self.engine.config().extensions(),
            self.engine.render_now(),
        );
        String::from_utf8_lossy(&body).into_owned()
    }

    /// Starts refreshing the state in the background every
    /// [`update_interval`](StatusReporterBuilder::update_interval) (5 s if
    /// unset), on the current tokio runtime, so requests find a fresh body.
    /// Servers started by this reporter do this themselves when an
    /// `update_interval` is set; a host app that mounts the
    /// [`router`](https://docs.rs/monsta-http/latest/monsta_http/struct.StatusReporter.html#method.router) or the [`service`](Self::service) calls this
    /// at startup and [`Refresher::stop`] at shutdown.
    ///
    /// # Errors
    ///
    /// [`ServeError::NoRuntime`] outside a tokio runtime.
    pub fn spawn_refresher(&self) -> Result<Refresher, ServeError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ServeError::NoRuntime)?;
        let interval = self
            .engine
            .config()
            .update_interval()
            .unwrap_or(DEFAULT_UPDATE_INTERVAL);
        Ok(Refresher {
            task: runtime.spawn(Arc::clone(&self.engine).refresh(interval)),
        })
    }

    /// The endpoint as a hyper and tower [`StatusService`], answering on the
    /// [`endpoint`](Self::endpoint) path (and, with the `prometheus`
    /// feature, the metrics on the `metrics_endpoint` path).
    pub fn service(&self) -> StatusService {
        StatusService::new(Arc::clone(&self.engine))
    }

    /// Whether its servers speak TLS (feature `tls`, with
    /// [`tls`](https://docs.rs/monsta-http/latest/monsta_http/struct.StatusReporterBuilder.html#method.tls) settings).
    pub fn serves_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.engine.config().security().tls().is_some();
        #[cfg(not(feature = "tls"))]
        false
    }

    /// The reporter's authentication and address rules as a tower layer,
    /// for other routes of a host app; see [`AuthLayer`](crate::AuthLayer).
    pub fn auth_layer(&self) -> crate::AuthLayer {
        crate::AuthLayer::new(self.engine.config().security().clone())
    }

    #[cfg(feature = "axum")]
    /// The endpoint as an axum [`Router`](axum::Router), to
    /// [`merge`](axum::Router::merge) into a host app or
    /// [`nest`](axum::Router::nest) under a prefix. It routes the
    /// [`endpoint`](Self::endpoint) path (and, with the `prometheus`
    /// feature, the `metrics_endpoint` path) to the same handler the
    /// standalone server uses: `GET` and `HEAD`, 405 with `Allow: GET, HEAD`
    /// otherwise.
    ///
    /// Requests are answered on the host's runtime; to keep an async source
    /// fresh in the background, also run a
    /// [`spawn_refresher`](Self::spawn_refresher) from the app's startup.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use monsta_http::StatusReporter;
    ///
    /// let mon = StatusReporter::new();
    /// mon.publish(serde_json::json!({"status": "running"}));
    /// let app: Router = Router::new()
    ///     .route("/", get(|| async { "hello" }))
    ///     .merge(mon.router());
    /// ```
    pub fn router<S>(&self) -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        crate::axum::router(&self.engine)
    }

    #[cfg(feature = "prometheus")]
    /// The path the Prometheus endpoint answers on (feature
    /// `prometheus`); see
    /// [`metrics_endpoint`](crate::StatusReporterBuilder::metrics_endpoint).
    pub fn metrics_endpoint(&self) -> &str {
        self.engine.config().metrics_endpoint()
    }

    #[cfg(feature = "prometheus")]
    /// The exposition the metrics endpoint would answer with now, in
    /// `format` (feature `prometheus`): the gauge
    /// `process_uptime_seconds` (the whole seconds of
    /// `internal.uptime`), then the fields of the state published with
    /// [`publish_state`](Self::publish_state), read under its lock. A
    /// source that is not an [`AppState`] (a fixed value, a callback)
    /// has no metric mapping: only the uptime is rendered. The families of
    /// attached [extensions](crate::Extension) follow, as the endpoint
    /// serves them.
    ///
    /// The endpoint renders on every request (scrapes that arrive while
    /// one rendering is under way share it); the JSON endpoint's holdoff
    /// does not apply. This renders on the calling thread.
    ///
    /// # Errors
    ///
    /// [`monsta_prometheus::Error::Encode`] if prometheus-client's
    /// encoder reports an error, which writing to a `String` does not.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use monsta_core::ManualClock;
    /// use monsta_http::StatusReporter;
    /// use monsta_prometheus::Format;
    ///
    /// let clock = ManualClock::new();
    /// let mon = StatusReporter::builder().clock(clock.clone()).build();
    /// mon.publish(serde_json::json!({"status": "running"}));
    /// clock.advance(Duration::from_secs(7));
    ///
    /// let text = mon.render_metrics(Format::Text)?;
    /// assert!(text.ends_with("\nprocess_uptime_seconds 7\n"));
    /// # Ok::<(), monsta_prometheus::Error>(())
    /// ```
    pub fn render_metrics(
        &self,
        format: monsta_prometheus::Format,
    ) -> Result<String, monsta_prometheus::Error> {
        let text = self.engine.metrics_now(format)?;
        let text = crate::extension::decorate_metrics(
            self.engine.config().extensions(),
            bytes::Bytes::from(text),
            format == monsta_prometheus::Format::OpenMetrics,
        );
        Ok(String::from_utf8_lossy(&text).into_owned())
    }

    /// What a server of this reporter serves.
    fn launch(&self) -> Launch {
        let config = self.engine.config();
        crate::extension::started(config.extensions());
        let background = config
            .update_interval()
            .map(|interval| -> server::Background {
                Box::pin(Arc::clone(&self.engine).refresh(interval))
            });
        Launch::new(self.service(), config.clone(), background)
    }

    /// Binds `addr` and serves the endpoint on the current tokio runtime.
    /// What was published before stays published.
    ///
    /// `addr` is anything tokio can resolve: `("0.0.0.0", 4242)` (the
    /// default of the Python original, [`DEFAULT_ADDR`](crate::DEFAULT_ADDR)),
    /// `"127.0.0.1:0"` for an ephemeral port, a `SocketAddr`.
    ///
    /// # Errors
    ///
    /// [`ServeError::Bind`], naming the address, if it is in use or cannot be
    /// bound; [`ServeError::Resolve`] or [`ServeError::NoAddress`] if `addr`
    /// does not resolve; [`ServeError::LocalAddr`] as for
    /// [`start_on`](Self::start_on).
    pub async fn start(
        &self,
        addr: impl tokio::net::ToSocketAddrs,
    ) -> Result<ServerHandle, ServeError> {
        let listener = server::bind(addr).await?;
        self.start_on(listener)
    }

    /// Serves the endpoint on an already bound listener, on the current tokio
    /// runtime. Tests bind `127.0.0.1:0` and pass the listener in.
    ///
    /// # Errors
    ///
    /// [`ServeError::NoRuntime`] outside a tokio runtime;
    /// [`ServeError::LocalAddr`] if the listener's address cannot be read.
    pub fn start_on(&self, listener: tokio::net::TcpListener) -> Result<ServerHandle, ServeError> {
        self.servers.spawn(self.launch(), listener)
    }

    /// Binds `addr` and serves the endpoint on a thread of its own, with its
    /// own single-threaded tokio runtime: for programs without a runtime (it
    /// works from within one too). Returns once the port is bound.
    ///
    /// # Errors
    ///
    /// [`ServeError::Bind`], naming the address, if it cannot be bound;
    /// [`ServeError::Resolve`] or [`ServeError::NoAddress`] if `addr` does not
    /// resolve; [`ServeError::Thread`] if the thread or its runtime cannot be
    /// created.
    pub fn start_in_thread(
        &self,
        addr: impl std::net::ToSocketAddrs,
    ) -> Result<ThreadedServer, ServeError> {
        self.servers.spawn_thread(self.launch(), addr)
    }

    /// Binds `addr` and serves the endpoint on the calling thread until
    /// [`stop_blocking`](Self::stop_blocking) or [`stop`](Self::stop) is
    /// called (from another thread): for programs without a runtime.
    ///
    /// # Errors
    ///
    /// [`ServeError::InsideRuntime`] if called from within a tokio runtime;
    /// otherwise as [`start_in_thread`](Self::start_in_thread).
    pub fn start_blocking(&self, addr: impl std::net::ToSocketAddrs) -> Result<(), ServeError> {
        self.servers.run_blocking(self.launch(), addr)
    }

    /// [`start_blocking`](Self::start_blocking) that also stops, and
    /// returns, when `signal` completes: pass
    /// [`shutdown_signal()`](crate::shutdown_signal) to stop on Ctrl-C or
    /// `SIGTERM`, or any future of your own (a channel's receiver, say).
    /// The server stops as [`ServerHandle::stop`] describes, so this
    /// returns within the
    /// [`shutdown_timeout`](crate::StatusReporterBuilder::shutdown_timeout)
    /// and about a second of the signal.
    ///
    /// The signal is polled on the server's own runtime, a current-thread
    /// tokio runtime with IO, time and signals enabled. Nothing installs a
    /// signal handler unless the future does.
    ///
    /// # Errors
    ///
    /// As [`start_blocking`](Self::start_blocking).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let mon = monsta_http::StatusReporter::new();
    /// mon.publish(serde_json::json!({"status": "running"}));
    /// // Serves until Ctrl-C or SIGTERM.
    /// mon.start_blocking_until(("0.0.0.0", 4242), monsta_http::shutdown_signal())?;
    /// # Ok::<(), monsta_http::ServeError>(())
    /// ```
    pub fn start_blocking_until(
        &self,
        addr: impl std::net::ToSocketAddrs,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        self.servers
            .run_blocking(self.launch().until(Box::pin(signal)), addr)
    }

    /// [`start_in_thread`](Self::start_in_thread) that also stops when
    /// `signal` completes (polled on the server's thread, as for
    /// [`start_blocking_until`](Self::start_blocking_until)); the handle
    /// stops it earlier.
    ///
    /// # Errors
    ///
    /// As [`start_in_thread`](Self::start_in_thread).
    pub fn start_in_thread_until(
        &self,
        addr: impl std::net::ToSocketAddrs,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<ThreadedServer, ServeError> {
        self.servers
            .spawn_thread(self.launch().until(Box::pin(signal)), addr)
    }

    /// Stops every server this reporter (or a clone of it) started, and waits
    /// until they have freed their ports and finished their connections, at
    /// most [`shutdown_timeout`](crate::StatusReporterBuilder::shutdown_timeout)
    /// and a second. The published state is kept.
    pub async fn stop(&self) {
        self.servers
            .stop(server::stop_bound(self.engine.config()))
            .await;
        crate::extension::stopped(self.engine.config().extensions());
    }

    /// [`stop`](Self::stop) for code without a runtime: blocks the calling
    /// thread until the servers have stopped (at most the same bound). Don't
    /// call it from a task of the runtime a server runs on, which it would
    /// keep from stopping until the bound.
    pub fn stop_blocking(&self) {
        self.servers
            .stop_blocking(server::stop_bound(self.engine.config()));
        crate::extension::stopped(self.engine.config().extensions());
    }
}

/// The background refresh started by [`StatusReporter::spawn_refresher`].
/// Dropping it stops the refresh, as [`stop`](Self::stop) does.
#[derive(Debug)]
#[must_use = "the refresh stops when the `Refresher` is dropped"]
pub struct Refresher {
    task: JoinHandle<()>,
}

impl Refresher {
    /// Stops the refresh and waits until it has stopped.
    pub async fn stop(mut self) {
        self.task.abort();
        // The result is the cancellation itself.
        let _ = (&mut self.task).await;
    }
}

impl Drop for Refresher {
    fn drop(&mut self) {
        self.task.abort();
    }
}
