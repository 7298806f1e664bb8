//! What one probe measures: [`RuntimeSample`].

use std::time::Duration;

use serde::Serialize;

/// One measurement of the watched runtime, taken every
/// [`interval`](crate::RuntimeMonitorBuilder::interval): what callbacks
/// receive and the reporter's `internal.runtime` summarizes.
///
/// Durations serialize as seconds (`f64`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RuntimeSample {
    /// How many samples were taken before this one, since the monitor was
    /// made.
    pub seq: u64,
    /// The scheduling lag: how late the probe's timer woke it, past its
    /// deadline. A runtime whose thread was blocked shows the block here,
    /// in the first sample after it ends. On a current-thread runtime it is
    /// the longer of that and the time the stall watcher saw its thread
    /// blocked (at least the stall threshold), since the timer sees only
    /// the part of a block past its deadline.
    #[serde(serialize_with = "seconds")]
    pub lag: Duration,
    /// The longest time a worker of a multi-thread runtime has made no
    /// progress while not parked (a task blocking its thread), ongoing or
    /// ended since the previous sample; zero on a current-thread runtime,
    /// where [`lag`](Self::lag) shows it, and below the
    /// [`stall_threshold`](crate::RuntimeMonitorBuilder::stall_threshold).
    #[serde(serialize_with = "seconds")]
    pub stall: Duration,
    /// The runtime's worker threads.
    pub workers: usize,
    /// Tasks alive on the runtime (spawned and not yet finished).
    pub alive_tasks: usize,
    /// Tasks in the runtime's global (injection) queue.
    pub global_queue_depth: usize,
    /// Each worker's counters, by index.
    pub worker: Vec<WorkerSample>,
    /// What tokio offers only under `--cfg tokio_unstable`; `None` without.
    pub unstable: Option<UnstableSample>,
}

/// One worker's share of a [`RuntimeSample`], from tokio's stable
/// per-worker metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct WorkerSample {
    /// The time the worker spent busy, in total (tokio updates it when the
    /// worker parks and every few dozen polls, so a worker blocked in one
    /// poll shows no growth until the poll ends).
    #[serde(serialize_with = "seconds")]
    pub busy: Duration,
    /// Busy time over the time since the previous sample, in `[0, 1]`.
    pub busy_ratio: f64,
    /// How many times the worker parked.
    pub park_count: u64,
    /// How many times it parked and unparked: odd while it is parked.
    pub park_unpark_count: u64,
    /// Whether the worker is parked (idle) now.
    pub parked: bool,
    /// How long it has been stalled, or the stall that ended since the
    /// previous sample: see [`RuntimeSample::stall`].
    #[serde(serialize_with = "seconds")]
    pub stall: Duration,
}

/// The metrics tokio has only when built with `RUSTFLAGS="--cfg
/// tokio_unstable"`; the monitor reads them when that cfg is set for this
/// crate too.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct UnstableSample {
    /// Tasks spawned on the runtime since it started.
    pub spawned_tasks: u64,
    /// Threads of the blocking pool.
    pub blocking_threads: usize,
    /// Tasks waiting for a blocking thread.
    pub blocking_queue_depth: usize,
    /// Polls of each worker, in total.
    pub worker_polls: Vec<u64>,
}

pub(crate) fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}
