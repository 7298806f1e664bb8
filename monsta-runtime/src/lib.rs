//! Tokio runtime health for [monsta](https://docs.rs/monsta-state):
//! scheduling lag, stalled workers, the runtime's and the process's
//! metrics, and named tasks to list live. The facade re-exports it as
//! `monsta::runtime` (feature `runtime`, on by default).
//!
//! # The monitor
//!
//! A [`RuntimeMonitor`] runs a probe task on the watched runtime. Every
//! [`interval`](RuntimeMonitorBuilder::interval) (100 ms by default) it
//! sleeps until a deadline and measures how late it woke: the scheduling
//! **lag**. A task that blocks a current-thread runtime's thread for
//! 300 ms shows as a lag of about 300 ms in the first sample after the
//! block ends (a blocked runtime is reported when it unblocks, not lost):
//! since the timer sees only the part of the block past its deadline, the
//! lag of a current-thread runtime is the longer of that and the block as
//! the stall watcher below timed it.
//!
//! On a multi-thread runtime another worker keeps the timer running, so a
//! blocked worker does not delay the probe; it is found from tokio's stable
//! per-worker metrics instead. The stall watcher, a thread of the
//! monitor's own, reads them
//! every 10 ms (a tenth of the
//! [`stall_threshold`](RuntimeMonitorBuilder::stall_threshold), at most),
//! without waking the runtime: a worker that is not parked and whose busy
//! time and park/unpark count have not moved for longer than the threshold
//! is **stalled** ([`RuntimeSample::stall`], per worker
//! [`WorkerSample::stall`]). Tokio updates a worker's counters when it
//! parks and every few dozen polls, so a worker kept busy by polls that
//! each run longer than the threshold counts as stalled too, which it
//! nearly is.
//!
//! Each sample also holds tokio's stable runtime metrics: workers, alive
//! tasks, global queue depth, and per worker the busy time, the park count
//! and the park/unpark count. Built with `RUSTFLAGS="--cfg tokio_unstable"`,
//! [`RuntimeSample::unstable`] adds spawned tasks, blocking threads, the
//! blocking queue and per-worker polls.
//!
//! Samples go to
//!
//! - callbacks, sync ([`callback`](RuntimeMonitorBuilder::callback)) and
//!   async ([`callback_async`](RuntimeMonitorBuilder::callback_async)), run
//!   off the probe on a thread of their own, one at a time: a panic is
//!   caught and counted, an async callback is cut off at the
//!   [`callback_timeout`](RuntimeMonitorBuilder::callback_timeout), a sync
//!   one that hangs is left to its thread and later samples go to a new
//!   one; a full queue drops samples (counted), so a slow callback delays
//!   nothing;
//! - fields of the app's state: [`record_lag`](RuntimeMonitorBuilder::record_lag)
//!   records the lag in seconds into an `Ewma`, a `RunningStats`, a
//!   `SlidingPercentiles`, a `Histogram` or a family's series;
//! - the monitor's [`report`](RuntimeMonitor::report): the lag now and
//!   smoothed, the largest lag and stall of the last minute, alive tasks,
//!   workers, each worker's busy ratio.
//!
//! The probe runs from [`start`](RuntimeMonitor::start) to
//! [`stop`](RuntimeMonitor::stop), until every handle is dropped, or until
//! the runtime shuts down. [`RuntimeMonitorBuilder::handle`] watches a
//! runtime that runs on another thread.
//!
//! ```
//! use std::time::Duration;
//! use monsta_runtime::RuntimeMonitor;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), monsta_runtime::MonitorError> {
//! let monitor = RuntimeMonitor::builder()
//!     .interval(Duration::from_millis(20))
//!     .callback(|sample| {
//!         if sample.lag > Duration::from_millis(100) {
//!             eprintln!("the runtime was blocked for {:?}", sample.lag);
//!         }
//!     })
//!     .start()?;
//! tokio::time::sleep(Duration::from_millis(100)).await;
//! assert!(monitor.samples() > 0);
//! assert!(monitor.report().lag_ms.is_some());
//! monitor.stop();
//! # Ok(())
//! # }
//! ```
//!
//! # On a reporter
//!
//! With the `http` feature, [`RuntimeMonitor::extension`] attaches the
//! monitor to a `StatusReporter`
//! (`StatusReporter::builder().extension(monitor.extension())?`): the JSON
//! gets `internal.runtime` (a [`RuntimeReport`]) and `internal.process` (a
//! [`ProcessInfo`]), `/metrics` gets the metrics below, the reporter serves
//! the named tasks on `/mon/v1/tasks`, and the monitor starts with the
//! reporter's servers and stops with
//! [`StatusReporter::stop`]: start the
//! reporter in the host's startup and stop it in its shutdown, and the
//! probe follows.
//!
//! Several runtimes show on one reporter when their monitors are
//! [named](RuntimeMonitorBuilder::name) and attached together with
//! [`RuntimeMonitor::extension_of`]: each report is
//! `internal.runtime.<name>`, each runtime series below carries the label
//! `runtime="<name>"`, and the process section and the tasks listing come
//! once.
//!
//! | metric | type | what |
//! | --- | --- | --- |
//! | `monsta_runtime_lag_seconds` | gauge | the latest lag |
//! | `monsta_runtime_lag_smoothed_seconds` | gauge | the smoothed lag |
//! | `monsta_runtime_lag_max_seconds` | gauge | the largest lag of the last minute |
//! | `monsta_runtime_stall_max_seconds` | gauge | the longest worker stall of the last minute |
//! | `monsta_runtime_workers` | gauge | worker threads |
//! | `monsta_runtime_alive_tasks` | gauge | alive tasks |
//! | `monsta_runtime_global_queue_depth` | gauge | tasks in the global queue |
//! | `monsta_runtime_samples_total` | counter | samples taken |
//! | `monsta_runtime_callback_dropped_total` | counter | samples the callbacks did not get |
//! | `monsta_runtime_named_tasks` | gauge | named tasks registered |
//! | `monsta_runtime_worker_busy_seconds_total{worker}` | counter | busy time |
//! | `monsta_runtime_worker_busy_ratio{worker}` | gauge | busy share since the previous sample |
//! | `monsta_runtime_worker_parks_total{worker}` | counter | parks |
//! | `monsta_runtime_worker_park_unparks_total{worker}` | counter | parks and unparks |
//! | `monsta_runtime_worker_stall_seconds{worker}` | gauge | the worker's stall, 0 below the threshold |
//! | `process_resident_memory_bytes` | gauge | resident memory |
//! | `process_virtual_memory_bytes` | gauge | virtual memory |
//! | `process_cpu_seconds_total` | counter | user and system CPU time |
//! | `process_open_fds` | gauge | open file descriptors |
//! | `process_max_fds` | gauge | their soft limit |
//! | `process_threads` | gauge | threads |
//! | `process_start_time_seconds` | gauge | start time, Unix seconds |
//!
//! The process values are read from Linux `/proc`; on other systems they
//! are absent (`null` in the JSON, no sample in `/metrics`).
//!
//! # Named tasks
//!
//! [`spawn_named`] (and [`TaskBuilder`], which returns an error instead of
//! panicking outside a runtime) spawns a task that a process-wide registry
//! lists while it lives: its name, tokio's id, the spawn site (file, line
//! and column, through `#[track_caller]`), its age, poll count, total and
//! mean poll time, the time since its last poll, and whether it is idle,
//! scheduled (woken, waiting for a worker) or running. [`tasks()`] returns
//! the list; an attached reporter serves it on `/mon/v1/tasks` as JSON, and
//! with `?format=text` as an aligned table for a terminal. The registry
//! holds at most [`max_tasks`] tasks ([`DEFAULT_MAX_TASKS`] unless
//! [`set_max_tasks`] says otherwise); past it, new named tasks run
//! unregistered and are counted ([`unregistered`]). Finished tasks leave
//! it.
//!
//! The registry counts each task's polls and poll time itself, on the
//! precise clock, rather than through tokio-metrics' `TaskMonitor`: a
//! monitor's metrics are totals over the tasks it instruments, with no
//! task's current state or time of its last poll, which the listing shows.
//! A named spawn costs what a spawn with a monitor of its own costs
//! (the repository's `BENCHMARKS.md` has the figures); for totals over a
//! kind of task, a `TaskMonitor` around the future given to `spawn_named`
//! works as well.
// The two links of "On a reporter" lead to items of the `http` feature;
// built without it, to the documentation on docs.rs.
#![cfg_attr(
    feature = "http",
    doc = "",
    doc = "[`RuntimeMonitor::extension`]: RuntimeMonitor::extension",
    doc = "[`RuntimeMonitor::extension_of`]: RuntimeMonitor::extension_of",
    doc = "[`StatusReporter::stop`]: monsta_http::StatusReporter::stop"
)]
#![cfg_attr(
    not(feature = "http"),
    doc = "",
    doc = "[`RuntimeMonitor::extension`]: https://docs.rs/monsta-runtime/latest/monsta_runtime/struct.RuntimeMonitor.html#method.extension",
    doc = "[`RuntimeMonitor::extension_of`]: https://docs.rs/monsta-runtime/latest/monsta_runtime/struct.RuntimeMonitor.html#method.extension_of",
    doc = "[`StatusReporter::stop`]: https://docs.rs/monsta-http/latest/monsta_http/struct.StatusReporter.html#method.stop"
)]

mod callbacks;
mod monitor;
mod process;
#[cfg(feature = "http")]
mod report;
mod sample;
mod tasks;

pub use monitor::{
    DEFAULT_INTERVAL, DEFAULT_STALL_THRESHOLD, MAX_WINDOW, MonitorError, RuntimeMonitor,
    RuntimeMonitorBuilder, RuntimeReport,
};
pub use process::{ProcessInfo, process_info};
#[cfg(feature = "http")]
pub use report::DEFAULT_TASKS_ENDPOINT;
pub use sample::{RuntimeSample, UnstableSample, WorkerSample};
pub use tasks::{
    DEFAULT_MAX_TASKS, SpawnError, TaskBuilder, TaskInfo, TaskListing, TaskState, listing,
    max_tasks, registry_len, set_max_tasks, spawn_named, table, tasks, unregistered,
};
