//! The [`Engine`] behind a reporter: the published source, the cached body,
//! and how a body (or, with the `prometheus` feature, an exposition) is
//! rendered.
//!
//! A sync callback (and an `AppState`'s snapshot) is evaluated on the
//! engine's [`Worker`], a thread of its own, one evaluation at a time; an
//! async callback as a tokio task. Requests that find the cached body older
//! than the holdoff share the evaluation under way (a [`Flight`]) and wait
//! for it at most the `callback_timeout`, then answer with the last good
//! state.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use arc_swap::{ArcSwap, ArcSwapOption};
use bytes::Bytes;
use monsta_core::Clock;

use crate::{
    AttachError,
    attach::{self, Attachment, Clash},
    builder::Config,
    metrics::{Metrics, MetricsOf},
    source::{
        CANCELLED, EMPTY_STATE, Outcome, Source, assemble, join_error_message, panic_message,
    },
    worker::{Flight, Worker},
};

/// The current source, with the generation that tells a body rendered from it
/// apart from one rendered from an earlier source.
struct Published {
    generation: u64,
    /// What was published.
    base: Source,
    /// Whether `base` is an `AppState`'s snapshot, cheap to evaluate on the
    /// caller's thread to check the names of states attached beside it.
    probe: bool,
    /// How `base`'s metrics are made.
    main: MetricsOf,
    /// The states attached beside it.
    attached: Arc<[Attachment]>,
    /// What is evaluated: `base` with the attached states merged in.
    source: Source,
    /// What the metrics endpoint renders: the published `AppState` with the
    /// attached states, or `None`.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    metrics: Metrics,
}

impl Published {
    fn new(
        generation: u64,
        base: Source,
        probe: bool,
        main: MetricsOf,
        attached: Arc<[Attachment]>,
    ) -> Self {
        Published {
            generation,
            source: attach::compose(&base, &attached),
            metrics: main.with(&attached),
            base,
            probe,
            main,
            attached,
        }
    }

    /// The same publication with `attached` beside it instead.
    fn with_attached(&self, generation: u64, attached: Arc<[Attachment]>) -> Self {
        Self::new(
            generation,
            self.base.clone(),
            self.probe,
            self.main.clone(),
            attached,
        )
    }

    fn empty(generation: u64) -> Self {
        Self::new(
            generation,
            Source::Empty,
            false,
            MetricsOf::default(),
            Arc::from(Vec::new()),
        )
    }
}

/// The last body served, and the last good state it was made from.
struct Rendered {
    generation: u64,
    /// When it was rendered, on the reporter's clock.
    at: Duration,
    /// The last state a source produced without error.
    state: Bytes,
    body: Bytes,
}

/// The evaluation of a callback under way (or the last one).
struct InFlight {
    generation: u64,
    flight: Arc<Flight<Bytes>>,
}

/// The source, the cache and the evaluations of one reporter, shared by its
/// clones, services and servers.
pub(crate) struct Engine {
    config: Config,
    clock: Clock,
    published: ArcSwap<Published>,
    rendered: ArcSwapOption<Rendered>,
    /// Serializes writers of `published` and `rendered` (readers never lock).
    write: Mutex<()>,
    next_generation: AtomicU64,
    /// The clock reading uptime counts from, in nanoseconds.
    started: AtomicU64,
    /// So that a callback is evaluated at most once at a time.
    in_flight: Mutex<Option<InFlight>>,
    /// Where sync callbacks run.
    worker: Worker,
    #[cfg(feature = "prometheus")]
    metrics: crate::metrics::MetricsLane,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Settles the body of an async evaluation, also should its task be
/// dropped unfinished (its runtime shutting down), so that its flight
/// always lands.
struct Landing {
    engine: Arc<Engine>,
    generation: u64,
    flight: Arc<Flight<Bytes>>,
    landed: bool,
}

impl Landing {
    fn land(mut self, outcome: Outcome) {
        self.landed = true;
        self.flight
            .complete(self.engine.settle(self.generation, outcome, true));
    }
}

impl Drop for Landing {
    fn drop(&mut self) {
        if !self.landed {
            let body = self
                .engine
                .settle(self.generation, Err(CANCELLED.to_owned()), false);
            self.flight.complete(body);
        }
    }
}

impl Engine {
    pub(crate) fn new(config: Config, clock: Clock) -> Self {
        let started = nanos(clock.now());
        Engine {
            config,
            clock,
            published: ArcSwap::from_pointee(Published::empty(0)),
            rendered: ArcSwapOption::empty(),
            write: Mutex::new(()),
            next_generation: AtomicU64::new(1),
            started: AtomicU64::new(started),
            in_flight: Mutex::new(None),
            worker: Worker::new("monsta-state"),
            #[cfg(feature = "prometheus")]
            metrics: crate::metrics::MetricsLane::new(),
        }
    }

    /// What the builder configured.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// Time since the engine was made or last reset, on its clock.
    pub(crate) fn uptime(&self) -> Duration {
        self.uptime_at(self.clock.now())
    }

    fn uptime_at(&self, now: Duration) -> Duration {
        now.saturating_sub(Duration::from_nanos(self.started.load(Ordering::Acquire)))
    }

    /// Replaces the source; the next request evaluates the new one.
    /// `probe` says that `source` is an `AppState`'s snapshot.
    pub(crate) fn publish(&self, source: Source, main: MetricsOf, probe: bool) {
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let _write = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        let attached = Arc::clone(&self.published.load().attached);
        self.published.store(Arc::new(Published::new(
            generation, source, probe, main, attached,
        )));
    }

    /// Adds `attachment` beside the published source, unless its name is
    /// taken or clashes with the published state's (its keys, when a fixed
    /// value or an `AppState` was published, which can be looked at now;
    /// its metric names).
    pub(crate) fn attach(&self, attachment: Attachment) -> Result<(), AttachError> {
        let name = attachment.name;
        if !attach::valid_name(name) {
            return Err(AttachError::Name(name.to_owned()));
        }
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let _write = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.published.load_full();
        if current.attached.iter().any(|a| a.name == name) {
            return Err(AttachError::Taken(name.to_owned()));
        }
        let attached: Arc<[Attachment]> = current
            .attached
            .iter()
            .cloned()
            .chain([attachment])
            .collect();
        let main = match &current.base {
            Source::Fixed(outcome) => outcome.clone().ok(),
            Source::Sync(callback) if current.probe => callback().ok(),
            _ => None,
        };
        if let Some(main) = main {
            attach::check_keys(&main, &attached).map_err(|clash| match clash {
                Clash::NotAnObject => AttachError::NotAnObject,
                Clash::Key(key) => AttachError::Key(key.to_owned()),
            })?;
        }
        let published = current.with_attached(generation, attached);
        #[cfg(feature = "prometheus")]
        if let Some(metrics) = &published.metrics {
            metrics
                .check()
                .map_err(|e| AttachError::Metrics(e.to_string()))?;
        }
        self.published.store(Arc::new(published));
        Ok(())
    }

    /// Removes the state attached under `name`; whether there was one.
    pub(crate) fn detach(&self, name: &str) -> bool {
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let _write = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.published.load_full();
        if !current.attached.iter().any(|a| a.name == name) {
            return false;
        }
        let attached: Arc<[Attachment]> = current
            .attached
            .iter()
            .filter(|a| a.name != name)
            .cloned()
            .collect();
        self.published
            .store(Arc::new(current.with_attached(generation, attached)));
        true
    }

    /// The names of the attached states, in the order they were attached.
    pub(crate) fn attached(&self) -> Vec<&'static str> {
        self.published
            .load()
            .attached
            .iter()
            .map(|a| a.name)
            .collect()
    }

    /// Restarts the uptime and drops the source, the attached states and
    /// the cached body.
    pub(crate) fn reset(&self) {
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let _write = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        self.started
            .store(nanos(self.clock.now()), Ordering::Release);
        self.published.store(Arc::new(Published::empty(generation)));
        self.rendered.store(None);
    }

    /// The cached body, if it was rendered from `generation` less than a
    /// holdoff before `now`.
    fn fresh(&self, generation: u64, now: Duration) -> Option<Bytes> {
        let rendered = self.rendered.load();
        let r = rendered.as_ref()?;
        (r.generation == generation && now.saturating_sub(r.at) < self.config.update_holdoff())
            .then(|| r.body.clone())
    }

    /// Renders the body for `outcome` of the source of `generation`, and
    /// caches it unless a newer source was published meanwhile. An error is
    /// rendered with the last good state, and logged if `log`.
    fn settle(&self, generation: u64, outcome: Outcome, log: bool) -> Bytes {
        if let Err(error) = &outcome
            && log
        {
            tracing::error!(target: "monsta", endpoint = %self.config.endpoint(), "{error}; serving the last good state");
        }
        let _write = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.clock.now();
        let (state, error) = match outcome {
            Ok(state) => (state, None),
            Err(error) => {
                let last_good = self
                    .rendered
                    .load()
                    .as_ref()
                    .map_or_else(|| Bytes::from_static(EMPTY_STATE), |r| r.state.clone());
                (last_good, Some(error))
            }
        };
        let body = assemble(self.uptime_at(now).as_secs(), error.as_deref(), &state);
        if self.published.load().generation == generation {
            self.rendered.store(Some(Arc::new(Rendered {
                generation,
                at: now,
                state,
                body: body.clone(),
            })));
        }
        body
    }

    /// The body to serve now, from a tokio task: the cached one within the
    /// holdoff, else a new rendering. A callback is waited for at most
    /// `callback_timeout`.
    pub(crate) async fn body(self: &Arc<Self>) -> Bytes {
        let published = self.published.load_full();
        let generation = published.generation;
        if let Some(body) = self.fresh(generation, self.clock.now()) {
            return body;
        }
        match &published.source {
            Source::Empty => self.settle(generation, Ok(Bytes::from_static(EMPTY_STATE)), false),
            Source::Fixed(outcome) => self.settle(generation, outcome.clone(), true),
            Source::Sync(_) | Source::Async(_) => {
                if tokio::runtime::Handle::try_current().is_err() {
                    // Polled outside tokio: no timer to bound the wait.
                    return self.render_now();
                }
                let flight = self.flight(&published);
                let bound = self.config.callback_timeout();
                match tokio::time::timeout(bound, flight.wait()).await {
                    Ok(body) => body,
                    Err(_) => self.settle(
                        generation,
                        Err(format!("state callback did not return within {bound:?}")),
                        flight.first_overdue(),
                    ),
                }
            }
        }
    }

    /// The evaluation of the callback of `published` under way, or a new
    /// one. An evaluation finishes (and settles the cache) however long
    /// it takes, whether or not anyone still waits for it.
    fn flight(self: &Arc<Self>, published: &Published) -> Arc<Flight<Bytes>> {
        let generation = published.generation;
        let mut slot = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(current) = slot.as_ref()
            && current.generation == generation
            && !current.flight.is_done()
        {
            return Arc::clone(&current.flight);
        }
        // One that finished since the caller looked has settled the cache.
        if let Some(body) = self.fresh(generation, self.clock.now()) {
            return Flight::landed(body);
        }
        let flight = Flight::new();
        match &published.source {
            Source::Sync(callback) => {
                let engine = Arc::clone(self);
                let callback = Arc::clone(callback);
                let landing = Arc::clone(&flight);
                let job = Box::new(move || {
                    let outcome = catch_unwind(AssertUnwindSafe(|| callback()))
                        .unwrap_or_else(|payload| Err(panic_message(payload.as_ref())));
                    landing.complete(engine.settle(generation, outcome, true));
                });
                if let Err(error) = self.worker.run(generation, job) {
                    let error =
                        format!("could not start the thread of the state callback: {error}");
                    return Flight::landed(self.settle(generation, Err(error), true));
                }
            }
            Source::Async(callback) => {
                let work = tokio::spawn(callback());
                let landing = Landing {
                    engine: Arc::clone(self),
                    generation,
                    flight: Arc::clone(&flight),
                    landed: false,
                };
                tokio::spawn(async move {
                    let outcome = work.await.unwrap_or_else(|e| Err(join_error_message(e)));
                    landing.land(outcome);
                });
            }
            Source::Empty | Source::Fixed(_) => {
                drop(slot);
                return Flight::landed(self.render_now());
            }
        }
        *slot = Some(InFlight {
            generation,
            flight: Arc::clone(&flight),
        });
        flight
    }

    /// The body to serve now, without tokio: a sync callback runs on the
    /// calling thread (unless it is being evaluated already); an async one
    /// is not run, its last result is served.
    pub(crate) fn render_now(&self) -> Bytes {
        let now = self.clock.now();
        let published = self.published.load_full();
        let generation = published.generation;
        if let Some(body) = self.fresh(generation, now) {
            return body;
        }
        match &published.source {
            Source::Empty => self.settle(generation, Ok(Bytes::from_static(EMPTY_STATE)), false),
            Source::Fixed(outcome) => self.settle(generation, outcome.clone(), true),
            Source::Sync(callback) => {
                let flight = {
                    let mut slot = self
                        .in_flight
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    if slot
                        .as_ref()
                        .is_some_and(|f| f.generation == generation && !f.flight.is_done())
                    {
                        return self.last_body(now);
                    }
                    let flight = Flight::new();
                    *slot = Some(InFlight {
                        generation,
                        flight: Arc::clone(&flight),
                    });
                    flight
                };
                let outcome = catch_unwind(AssertUnwindSafe(|| callback()))
                    .unwrap_or_else(|payload| Err(panic_message(payload.as_ref())));
                let body = self.settle(generation, outcome, true);
                flight.complete(body.clone());
                body
            }
            Source::Async(_) => self.last_body(now),
        }
    }

    /// The last rendered body, or the empty state if there is none.
    fn last_body(&self, now: Duration) -> Bytes {
        match self.rendered.load().as_ref() {
            Some(r) => r.body.clone(),
            None => assemble(self.uptime_at(now).as_secs(), None, EMPTY_STATE),
        }
    }

    /// Evaluates the source every `interval`, so requests find a fresh body.
    pub(crate) async fn refresh(self: Arc<Self>, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            self.body().await;
        }
    }
}

#[cfg(feature = "prometheus")]
impl Engine {
    /// The exposition now, on the calling thread: the published state's
    /// metrics (read under its lock), or just the uptime, with the uptime
    /// that the JSON shows as `internal.uptime`.
    pub(crate) fn metrics_now(
        &self,
        format: monsta_prometheus::Format,
    ) -> Result<String, monsta_prometheus::Error> {
        let metrics = self.published.load().metrics.clone();
        let uptime = self.uptime();
        match metrics {
            Some(metrics) => metrics.render(format, Some(uptime)),
            None => monsta_prometheus::render_uptime(format, uptime),
        }
    }

    /// The exposition to serve now, from a tokio task. A state's metrics
    /// are rendered on the engine's metrics lane, shared by the scrapes
    /// that arrive meanwhile and waited for at most `callback_timeout`;
    /// the uptime alone needs no lock and is rendered here. `Err` (logged)
    /// if there is none to serve.
    pub(crate) async fn metrics(
        self: &Arc<Self>,
        format: monsta_prometheus::Format,
    ) -> Result<Bytes, ()> {
        let published = self.published.load_full();
        match published.metrics.clone() {
            Some(metrics) if tokio::runtime::Handle::try_current().is_ok() => {
                let engine = Arc::clone(self);
                self.metrics
                    .render(
                        published.generation,
                        metrics,
                        format,
                        move || engine.uptime(),
                        self.config.callback_timeout(),
                        self.config.metrics_endpoint(),
                    )
                    .await
            }
            // The uptime alone reads no lock; outside tokio there is no
            // timer to bound a wait with.
            _ => self.metrics_now(format).map(Bytes::from).map_err(|error| {
                tracing::error!(target: "monsta", endpoint = %self.config.metrics_endpoint(), "{error}; answering 503");
            }),
        }
    }
}
