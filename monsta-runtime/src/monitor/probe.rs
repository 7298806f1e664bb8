//! The probe task (the timer's lag, the workers' counters) and the stall
//! watcher thread beside it.

use std::{
    sync::{Arc, Weak, atomic::Ordering::Relaxed},
    time::{Duration, Instant},
};

use tokio::runtime::RuntimeFlavor;

use super::{Run, Shared, push_max};
use crate::{RuntimeSample, WorkerSample, sample::UnstableSample};

/// What the stall watcher keeps of one worker.
#[derive(Clone, Copy)]
pub(super) struct Watched {
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
pub(super) struct Ending {
    pub(super) weak: Weak<Shared>,
    pub(super) run: Arc<Run>,
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

pub(super) async fn probe(
    weak: Weak<Shared>,
    run: Arc<Run>,
    interval: Duration,
    flavor: RuntimeFlavor,
) {
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
