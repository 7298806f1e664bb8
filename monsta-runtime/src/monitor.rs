//! The runtime monitor: its builder, the probe task, and what it keeps.

mod builder;
mod probe;

use std::{
    collections::VecDeque,
    fmt,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
    },
    time::{Duration, Instant},
};

use monsta_core::fields::Ewma;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::{runtime::Handle, sync::Notify};

use crate::{RuntimeSample, callbacks::Dispatcher};

pub use builder::RuntimeMonitorBuilder;
use builder::Sink;
use probe::{Ending, Watched, probe};

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

/// Watches a tokio runtime's health: see the [crate] docs.
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
