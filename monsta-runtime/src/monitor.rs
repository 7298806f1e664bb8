//! The runtime monitor: its builder, the probe task, and what it keeps.

use std::{
    collections::VecDeque,
    fmt,
    future::Future,
    sync::{
        Arc, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
    },
    time::{Duration, Instant},
};

use monsta_core::{fields::Ewma, instrument::Record};
use parking_lot::Mutex;
use serde::Serialize;
use tokio::{
    runtime::{Handle, RuntimeFlavor},
    sync::Notify,
};

use crate::{
    RuntimeSample, WorkerSample,
    callbacks::{Callback, Dispatcher},
    sample::UnstableSample,
};

/// The default [`interval`](RuntimeMonitorBuilder::interval): 100 ms.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);

/// The default [`stall_threshold`](RuntimeMonitorBuilder::stall_threshold):
/// 100 ms.
pub const DEFAULT_STALL_THRESHOLD: Duration = Duration::from_millis(100);

/// The window of the maxima in the report: one minute.
pub const MAX_WINDOW: Duration = Duration::from_secs(60);

/// Why a monitor could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MonitorError {
    /// Neither a [`handle`](RuntimeMonitorBuilder::handle) was given nor is
    /// the caller inside a tokio runtime.
    #[error("no tokio runtime to watch: call from within one, or pass its Handle")]
    NoRuntime,
    /// A duration option was zero.
    #[error("the runtime monitor's {option} must be positive, not {value:?}")]
    ZeroDuration {
        /// The option.
        option: &'static str,
        /// What was given.
        value: Duration,
    },
    /// The smoothing factor was outside `(0, 1]`.
    #[error("the runtime monitor's smoothing must be in (0, 1], not {0}")]
    Smoothing(f64),
    /// The [`name`](RuntimeMonitorBuilder::name) was empty, longer than 64
    /// bytes, or had a character other than an ASCII letter, digit, `_`,
    /// `-` or `.`.
    #[error(
        "the runtime monitor's name {0:?} must be 1 to 64 ASCII letters, digits, `_`, `-` or `.`"
    )]
    Name(String),
    #[cfg(feature = "http")]
    /// [`RuntimeMonitor::extension_of`] was given no monitor.
    #[error("extension_of needs at least one runtime monitor")]
    NoMonitor,
    #[cfg(feature = "http")]
    /// [`RuntimeMonitor::extension_of`] was given two or more monitors and
    /// one of them has no name.
    #[error(
        "runtime monitors attached together need names: give each one `.name(\"...\")` on its builder"
    )]
    Unnamed,
    #[cfg(feature = "http")]
    /// [`RuntimeMonitor::extension_of`] was given two monitors of the same
    /// name.
    #[error(
        "two runtime monitors are named {0:?}: attached together, each needs a name of its own"
    )]
    DuplicateName(String),
}

/// A lag sink: a field the lag is recorded into, in seconds.
type Sink = Box<dyn Fn(f64) + Send + Sync>;

/// Configures a [`RuntimeMonitor`]; made by [`RuntimeMonitor::builder`].
pub struct RuntimeMonitorBuilder {
    interval: Duration,
    stall_threshold: Duration,
    smoothing: f64,
    handle: Option<Handle>,
    callbacks: Vec<Callback>,
    sinks: Vec<Sink>,
    callback_queue: usize,
    callback_timeout: Duration,
    name: Option<String>,
    #[cfg(feature = "http")]
    pub(crate) tasks_endpoint: Option<String>,
}

impl fmt::Debug for RuntimeMonitorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeMonitorBuilder")
            .field("name", &self.name)
            .field("interval", &self.interval)
            .field("stall_threshold", &self.stall_threshold)
            .field("callbacks", &self.callbacks.len())
            .field("sinks", &self.sinks.len())
            .finish_non_exhaustive()
    }
}

impl Default for RuntimeMonitorBuilder {
    fn default() -> Self {
        RuntimeMonitorBuilder {
            interval: DEFAULT_INTERVAL,
            stall_threshold: DEFAULT_STALL_THRESHOLD,
            smoothing: 0.1,
            handle: None,
            callbacks: Vec::new(),
            sinks: Vec::new(),
            callback_queue: 16,
            callback_timeout: Duration::from_secs(1),
            name: None,
            #[cfg(feature = "http")]
            tasks_endpoint: Some(crate::DEFAULT_TASKS_ENDPOINT.to_owned()),
        }
    }
}

impl RuntimeMonitorBuilder {
    /// Names the monitor, to tell the runtimes apart where one reporter
    /// shows several: attached with `RuntimeMonitor::extension_of` (or
    /// alone with `RuntimeMonitor::extension`; feature `http`), a named
    /// monitor's report is
    /// `internal.runtime.<name>` and its series carry the label
    /// `runtime="<name>"`. An unnamed monitor's report is
    /// `internal.runtime` itself, and its series have no such label.
    ///
    /// A name is 1 to 64 ASCII letters, digits, `_`, `-` or `.`; another is
    /// [`MonitorError::Name`] from [`build`](Self::build).
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// How often the probe measures (default [`DEFAULT_INTERVAL`]).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// How long a worker of a multi-thread runtime may make no progress,
    /// unparked, before it counts as stalled (default
    /// [`DEFAULT_STALL_THRESHOLD`]).
    pub fn stall_threshold(mut self, threshold: Duration) -> Self {
        self.stall_threshold = threshold;
        self
    }

    /// The smoothing factor of the smoothed lag, an exponentially weighted
    /// average (default 0.1).
    pub fn smoothing(mut self, alpha: f64) -> Self {
        self.smoothing = alpha;
        self
    }

    /// The runtime to watch, by its handle: one running on another thread.
    /// Without it, the runtime the monitor is built in.
    pub fn handle(mut self, handle: Handle) -> Self {
        self.handle = Some(handle);
        self
    }

    /// Calls `f` with every sample, on the monitor's callback thread (not
    /// the probe), one callback at a time. A panic is caught and counted; a
    /// call that does not return within the
    /// [`callback_timeout`](Self::callback_timeout) is left to its thread
    /// and later samples go to a new one.
    pub fn callback(mut self, f: impl Fn(&RuntimeSample) + Send + Sync + 'static) -> Self {
        self.callbacks.push(Callback::Sync(Box::new(f)));
        self
    }

    /// Calls the async `f` with every sample, on the callback thread's own
    /// runtime, one callback at a time; one that takes longer than the
    /// [`callback_timeout`](Self::callback_timeout) is cancelled (counted).
    pub fn callback_async<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(RuntimeSample) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.callbacks
            .push(Callback::Async(Box::new(move |s| Box::pin(f(s)))));
        self
    }

    /// How many samples may wait for the callbacks (default 16); past it,
    /// samples are dropped and counted.
    pub fn callback_queue(mut self, samples: usize) -> Self {
        self.callback_queue = samples;
        self
    }

    /// How long a callback may take (default 1 s).
    pub fn callback_timeout(mut self, timeout: Duration) -> Self {
        self.callback_timeout = timeout;
        self
    }

    /// Records each sample's lag, in seconds, into `field(&owner)`: any
    /// sampling field ([`Ewma`], `RunningStats`, `SlidingPercentiles`,
    /// `Histogram`, a family's series), typically one of the app's state.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use monsta_core::fields::Histogram;
    /// # use monsta_runtime::RuntimeMonitor;
    ///
    /// struct State { lag: Histogram }
    /// let state = Arc::new(State { lag: Histogram::new(&[0.001, 0.01, 0.1, 1.0])? });
    /// let builder = RuntimeMonitor::builder().record_lag(state.clone(), |s| &s.lag);
    /// # let _ = builder;
    /// # Ok::<(), monsta_core::Error>(())
    /// ```
    pub fn record_lag<T, R>(mut self, owner: Arc<T>, field: fn(&T) -> &R) -> Self
    where
        T: Send + Sync + 'static,
        R: Record + ?Sized + 'static,
    {
        self.sinks.push(Box::new(move |x| field(&owner).record(x)));
        self
    }

    /// The path of the named tasks' listing on an attached reporter
    /// (default [`DEFAULT_TASKS_ENDPOINT`](crate::DEFAULT_TASKS_ENDPOINT));
    /// `None` serves none. The reporter checks it when the monitor is
    /// attached: a path that could not be an endpoint's, or that the
    /// reporter serves already (a second monitor's listing among them), is
    /// an error of
    /// [`StatusReporterBuilder::extension`](monsta_http::StatusReporterBuilder::extension).
    #[cfg(feature = "http")]
    pub fn tasks_endpoint(mut self, path: Option<&str>) -> Self {
        self.tasks_endpoint = path.map(str::to_owned);
        self
    }

    /// The monitor, not yet probing: [`RuntimeMonitor::start`] starts it,
    /// as does the start of a reporter it is attached to.
    ///
    /// # Errors
    ///
    /// [`MonitorError::NoRuntime`] without a handle outside a runtime;
    /// [`MonitorError::ZeroDuration`] for a zero interval, threshold or
    /// timeout; [`MonitorError::Smoothing`] for a smoothing outside
    /// `(0, 1]`; [`MonitorError::Name`] for a bad [`name`](Self::name).
    pub fn build(self) -> Result<RuntimeMonitor, MonitorError> {
        if let Some(name) = &self.name {
            let ok = (1..=64).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !ok {
                return Err(MonitorError::Name(name.clone()));
            }
        }
        for (option, value) in [
            ("interval", self.interval),
            ("stall_threshold", self.stall_threshold),
            ("callback_timeout", self.callback_timeout),
        ] {
            if value.is_zero() {
                return Err(MonitorError::ZeroDuration { option, value });
            }
        }
        let smoothed =
            Ewma::new(self.smoothing, None).map_err(|_| MonitorError::Smoothing(self.smoothing))?;
        let handle = match self.handle {
            Some(h) => h,
            None => Handle::try_current().map_err(|_| MonitorError::NoRuntime)?,
        };
        Ok(RuntimeMonitor {
            shared: Arc::new(Shared {
                interval: self.interval,
                stall_threshold: self.stall_threshold,
                handle,
                sinks: self.sinks,
                dispatcher: Dispatcher::new(
                    self.callbacks,
                    self.callback_queue,
                    self.callback_timeout,
                ),
                run: Mutex::new(None),
                running: AtomicBool::new(false),
                seq: AtomicU64::new(0),
                smoothed,
                kept: Mutex::new(Kept::default()),
                stalls: Mutex::new(Vec::new()),
                name: self.name,
                #[cfg(feature = "http")]
                tasks_endpoint: self.tasks_endpoint,
            }),
        })
    }

    /// [`build`](Self::build), then [`start`](RuntimeMonitor::start).
    ///
    /// # Errors
    ///
    /// As [`build`](Self::build).
    pub fn start(self) -> Result<RuntimeMonitor, MonitorError> {
        let monitor = self.build()?;
        monitor.start();
        Ok(monitor)
    }
}

/// Watches a tokio runtime's health: see the [crate](crate) docs.
///
/// A cheap [`Clone`] handle. The probe runs from [`start`](Self::start)
/// until [`stop`](Self::stop), until every handle is dropped, or until the
/// watched runtime shuts down, whichever is first; attached to a reporter,
/// it also starts and stops with the reporter's servers (and the reporter
/// keeps it).
#[derive(Clone)]
pub struct RuntimeMonitor {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for RuntimeMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeMonitor")
            .field("name", &self.shared.name)
            .field("interval", &self.shared.interval)
            .field("running", &self.is_running())
            .finish_non_exhaustive()
    }
}

/// One run of the probe, from a start to its stop.
struct Run {
    stop: AtomicBool,
    notify: Notify,
}

pub(crate) struct Shared {
    interval: Duration,
    stall_threshold: Duration,
    handle: Handle,
    sinks: Vec<Sink>,
    dispatcher: Dispatcher,
    run: Mutex<Option<Arc<Run>>>,
    running: AtomicBool,
    seq: AtomicU64,
    smoothed: Ewma,
    kept: Mutex<Kept>,
    /// The stall watcher's view of the workers.
    stalls: Mutex<Vec<Watched>>,
    name: Option<String>,
    #[cfg(feature = "http")]
    pub(crate) tasks_endpoint: Option<String>,
}

/// What the report needs beside the last sample.
#[derive(Default)]
struct Kept {
    last: Option<RuntimeSample>,
    /// `(when, lag)`, decreasing in lag: the maxima of the last minute.
    lag_max: VecDeque<(Instant, Duration)>,
    stall_max: VecDeque<(Instant, Duration)>,
}

/// Pushes `(at, v)` on a monotonic deque of maxima over [`MAX_WINDOW`].
fn push_max(q: &mut VecDeque<(Instant, Duration)>, at: Instant, v: Duration) {
    while q.back().is_some_and(|&(_, b)| b <= v) {
        q.pop_back();
    }
    q.push_back((at, v));
    while q
        .front()
        .is_some_and(|&(t, _)| at.saturating_duration_since(t) > MAX_WINDOW)
    {
        q.pop_front();
    }
}

fn window_max(q: &VecDeque<(Instant, Duration)>, now: Instant) -> Duration {
    q.iter()
        .find(|&&(t, _)| now.saturating_duration_since(t) <= MAX_WINDOW)
        .map_or(Duration::ZERO, |&(_, v)| v)
}

impl RuntimeMonitor {
    /// A builder, with every option at its default.
    pub fn builder() -> RuntimeMonitorBuilder {
        RuntimeMonitorBuilder::default()
    }

    /// Starts the probe on the watched runtime; nothing if it runs already.
    /// On a runtime that has shut down, the probe ends at once.
    pub fn start(&self) {
        let mut slot = self.shared.run.lock();
        if slot.is_some() && self.shared.running.load(Relaxed) {
            return;
        }
        let run = Arc::new(Run {
            stop: AtomicBool::new(false),
            notify: Notify::new(),
        });
        *slot = Some(Arc::clone(&run));
        self.shared.running.store(true, Relaxed);
        // A runtime that has shut down drops the task inside `spawn`, and
        // its `Ending` takes this lock.
        drop(slot);
        let weak = Arc::downgrade(&self.shared);
        let interval = self.shared.interval;
        let flavor = self.shared.handle.runtime_flavor();
        // Made here, not in the task: a runtime that has shut down drops
        // the task unpolled, and this marks the monitor stopped then too.
        let ending = Ending {
            weak: weak.clone(),
            run: Arc::clone(&run),
        };
        drop(self.shared.handle.spawn(async move {
            let _ending = ending;
            probe(weak, run, interval, flavor).await;
        }));
    }

    /// Stops the probe (at once if it waits, else as soon as it does) and
    /// ends the callback thread (samples still queued for it are dropped).
    pub fn stop(&self) {
        if let Some(run) = self.shared.run.lock().take() {
            run.stop.store(true, Relaxed);
            run.notify.notify_one();
        }
        self.shared.running.store(false, Relaxed);
        self.shared.dispatcher.close();
    }

    /// The monitor's [`name`](RuntimeMonitorBuilder::name), if it has one.
    pub fn name(&self) -> Option<&str> {
        self.shared.name.as_deref()
    }

    /// Whether the probe is running.
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Relaxed)
    }

    /// The latest sample, if any was taken.
    pub fn last(&self) -> Option<RuntimeSample> {
        self.shared.kept.lock().last.clone()
    }

    /// How many samples were taken.
    pub fn samples(&self) -> u64 {
        self.shared.seq.load(Relaxed)
    }

    /// The summary the reporter serves as `internal.runtime`.
    pub fn report(&self) -> RuntimeReport {
        let now = Instant::now();
        let kept = self.shared.kept.lock();
        let last = kept.last.as_ref();
        let stats = &self.shared.dispatcher.stats;
        RuntimeReport {
            running: self.is_running(),
            samples: self.samples(),
            lag_ms: last.map(|s| ms(s.lag)),
            lag_smoothed_ms: self.shared.smoothed.get().map(|s| s * 1e3),
            max_lag_1m_ms: ms(window_max(&kept.lag_max, now)),
            stall_ms: last.map_or(0.0, |s| ms(s.stall)),
            max_stall_1m_ms: ms(window_max(&kept.stall_max, now)),
            workers: last.map_or(0, |s| s.workers),
            alive_tasks: last.map_or(0, |s| s.alive_tasks),
            global_queue_depth: last.map_or(0, |s| s.global_queue_depth),
            busy_ratio: last.map_or_else(Vec::new, |s| {
                s.worker.iter().map(|w| w.busy_ratio).collect()
            }),
            callbacks_dropped: stats.dropped.load(Relaxed),
            callbacks_panicked: stats.panicked.load(Relaxed),
            callbacks_timed_out: stats.timed_out.load(Relaxed),
            named_tasks: crate::tasks::registry_len(),
            unregistered_tasks: crate::tasks::unregistered(),
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The JSON of `internal.runtime`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RuntimeReport {
    /// Whether the probe runs.
    pub running: bool,
    /// Samples taken.
    pub samples: u64,
    /// The latest lag, in milliseconds (`null` before the first sample).
    pub lag_ms: Option<f64>,
    /// The smoothed lag (an exponentially weighted average), in ms.
    pub lag_smoothed_ms: Option<f64>,
    /// The largest lag of the last minute, in ms.
    pub max_lag_1m_ms: f64,
    /// The latest sample's longest worker stall, in ms.
    pub stall_ms: f64,
    /// The longest worker stall of the last minute, in ms.
    pub max_stall_1m_ms: f64,
    /// Worker threads.
    pub workers: usize,
    /// Tasks alive on the runtime.
    pub alive_tasks: usize,
    /// Tasks in the global queue.
    pub global_queue_depth: usize,
    /// Each worker's busy share since the previous sample, in `[0, 1]`.
    pub busy_ratio: Vec<f64>,
    /// Samples the callbacks did not get (queue full).
    pub callbacks_dropped: u64,
    /// Callback calls that panicked.
    pub callbacks_panicked: u64,
    /// Callback calls that timed out.
    pub callbacks_timed_out: u64,
    /// Named tasks registered now (process-wide).
    pub named_tasks: usize,
    /// Named tasks that ran unregistered, past the registry's cap.
    pub unregistered_tasks: u64,
}

/// What the stall watcher keeps of one worker.
#[derive(Clone, Copy)]
struct Watched {
    busy: Duration,
    park_unpark: u64,
    /// When its counters last moved, or it was last seen parked.
    changed: Instant,
    /// The longest stall seen since the probe last took it.
    peak: Duration,
}

/// The stall watcher: a thread of the monitor's own that reads the
/// workers' counters every `tick` (it does not wake the runtime), so a
/// stall is timed to within a tick; the probe takes the peaks.
fn watch_stalls(weak: Weak<Shared>, run: Arc<Run>, tick: Duration) {
    loop {
        std::thread::sleep(tick);
        if run.stop.load(Relaxed) {
            return;
        }
        let Some(shared) = weak.upgrade() else { return };
        let m = shared.handle.metrics();
        let now = Instant::now();
        let mut stalls = shared.stalls.lock();
        for i in 0..m.num_workers() {
            let (busy, _, park_unpark) = worker_counters(&m, i);
            let parked = park_unpark % 2 == 1;
            match stalls.get_mut(i) {
                Some(w) => {
                    if parked || busy != w.busy || park_unpark != w.park_unpark {
                        w.busy = busy;
                        w.park_unpark = park_unpark;
                        w.changed = now;
                    } else {
                        w.peak = w.peak.max(now.saturating_duration_since(w.changed));
                    }
                }
                None => stalls.push(Watched {
                    busy,
                    park_unpark,
                    changed: now,
                    peak: Duration::ZERO,
                }),
            }
        }
    }
}

/// Marks the monitor stopped when the probe ends, however it ends (a
/// runtime shutting down drops it).
struct Ending {
    weak: Weak<Shared>,
    run: Arc<Run>,
}

impl Drop for Ending {
    fn drop(&mut self) {
        if let Some(shared) = self.weak.upgrade() {
            let mut slot = shared.run.lock();
            if slot.as_ref().is_some_and(|r| Arc::ptr_eq(r, &self.run)) {
                *slot = None;
                shared.running.store(false, Relaxed);
            }
        }
    }
}

async fn probe(weak: Weak<Shared>, run: Arc<Run>, interval: Duration, flavor: RuntimeFlavor) {
    let current_thread = flavor == RuntimeFlavor::CurrentThread;
    if let Some(shared) = weak.upgrade() {
        let tick = (shared.stall_threshold / 10)
            .clamp(Duration::from_millis(1), Duration::from_millis(10));
        let (weak, run) = (weak.clone(), Arc::clone(&run));
        if let Err(error) = std::thread::Builder::new()
            .name("monsta-runtime-stalls".into())
            .spawn(move || watch_stalls(weak, run, tick))
        {
            tracing::error!(target: "monsta", "cannot start the runtime monitor's stall watcher: {error}; stalls go unreported");
        }
    }
    let mut busy: Vec<Duration> = Vec::new();
    let mut previous = Instant::now();
    let mut deadline = tokio::time::Instant::now() + interval;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {}
            () = run.notify.notified() => {}
        }
        if run.stop.load(Relaxed) {
            return;
        }
        let woke = tokio::time::Instant::now();
        let lag = woke.saturating_duration_since(deadline);
        // As loopmon: the next sleep starts from the wake-up.
        deadline = woke + interval;
        let Some(shared) = weak.upgrade() else { return };
        let now = Instant::now();
        let sample = shared.measure(lag, now, previous, current_thread, &mut busy);
        previous = now;
        shared.record(sample, now);
    }
}

impl Shared {
    fn measure(
        &self,
        lag: Duration,
        now: Instant,
        previous: Instant,
        current_thread: bool,
        last_busy: &mut Vec<Duration>,
    ) -> RuntimeSample {
        let m = self.handle.metrics();
        let n = m.num_workers();
        let span = now.saturating_duration_since(previous).as_secs_f64();
        let mut worker = Vec::with_capacity(n);
        let mut stall = Duration::ZERO;
        let mut stalls = self.stalls.lock();
        for i in 0..n {
            let (busy, park_count, park_unpark) = worker_counters(&m, i);
            let ratio = match last_busy.get_mut(i) {
                Some(prev) => {
                    let grown = busy.saturating_sub(*prev).as_secs_f64();
                    *prev = busy;
                    if span > 0.0 {
                        (grown / span).clamp(0.0, 1.0)
                    } else {
                        0.0
                    }
                }
                None => {
                    last_busy.push(busy);
                    0.0
                }
            };
            let peak = stalls.get_mut(i).map_or(Duration::ZERO, |w| {
                let ongoing = if w.park_unpark % 2 == 1 {
                    Duration::ZERO
                } else {
                    now.saturating_duration_since(w.changed)
                };
                let peak = w.peak.max(ongoing);
                // An ongoing stall stays in the next sample's peak.
                w.peak = Duration::ZERO;
                peak
            });
            let w_stall = if peak >= self.stall_threshold {
                peak
            } else {
                Duration::ZERO
            };
            stall = stall.max(w_stall);
            worker.push(WorkerSample {
                busy,
                busy_ratio: ratio,
                park_count,
                park_unpark_count: park_unpark,
                parked: park_unpark % 2 == 1,
                stall: if current_thread {
                    Duration::ZERO
                } else {
                    w_stall
                },
            });
        }
        drop(stalls);
        let (lag, stall) = if current_thread {
            // The timer sees only the part of a block past its deadline; the
            // watcher saw all of it.
            (lag.max(stall), Duration::ZERO)
        } else {
            (lag, stall)
        };
        RuntimeSample {
            seq: self.seq.fetch_add(1, Relaxed),
            lag,
            stall,
            workers: n,
            alive_tasks: m.num_alive_tasks(),
            global_queue_depth: m.global_queue_depth(),
            worker,
            unstable: unstable(&m),
        }
    }

    fn record(&self, sample: RuntimeSample, now: Instant) {
        let lag = sample.lag.as_secs_f64();
        self.smoothed.update(lag);
        for sink in &self.sinks {
            sink(lag);
        }
        self.dispatcher.deliver(&sample);
        let mut kept = self.kept.lock();
        push_max(&mut kept.lag_max, now, sample.lag);
        push_max(&mut kept.stall_max, now, sample.stall);
        kept.last = Some(sample);
    }
}

/// A worker's busy time, park count and park/unpark count (zero where
/// tokio has no 64-bit metrics).
#[cfg(target_has_atomic = "64")]
fn worker_counters(m: &tokio::runtime::RuntimeMetrics, i: usize) -> (Duration, u64, u64) {
    (
        m.worker_total_busy_duration(i),
        m.worker_park_count(i),
        m.worker_park_unpark_count(i),
    )
}

#[cfg(not(target_has_atomic = "64"))]
fn worker_counters(_: &tokio::runtime::RuntimeMetrics, _: usize) -> (Duration, u64, u64) {
    (Duration::ZERO, 0, 0)
}

#[cfg(all(tokio_unstable, target_has_atomic = "64"))]
fn unstable(m: &tokio::runtime::RuntimeMetrics) -> Option<UnstableSample> {
    Some(UnstableSample {
        spawned_tasks: m.spawned_tasks_count(),
        blocking_threads: m.num_blocking_threads(),
        blocking_queue_depth: m.blocking_queue_depth(),
        worker_polls: (0..m.num_workers())
            .map(|i| m.worker_poll_count(i))
            .collect(),
    })
}

#[cfg(not(all(tokio_unstable, target_has_atomic = "64")))]
fn unstable(_: &tokio::runtime::RuntimeMetrics) -> Option<UnstableSample> {
    None
}
