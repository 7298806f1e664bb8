//! The callbacks of a monitor, run off the probe: on a thread of their
//! own, one at a time, each panic caught and each async one bounded in
//! time. A callback that never returns is left to its thread, and later
//! samples go to a new one.

use std::{
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering::Relaxed},
        mpsc::{self, Receiver, SyncSender, TrySendError},
    },
    time::{Duration, Instant},
};

use parking_lot::Mutex;

use crate::RuntimeSample;

/// A boxed future of an async callback.
pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A callback, sync or async.
pub(crate) enum Callback {
    Sync(Box<dyn Fn(&RuntimeSample) + Send + Sync>),
    Async(Box<dyn Fn(RuntimeSample) -> BoxFuture + Send + Sync>),
}

/// What happened to the callbacks: counted, and shown in `internal.runtime`.
#[derive(Debug, Default)]
pub(crate) struct CallbackStats {
    /// Samples not delivered: the queue was full (a callback is slow).
    pub(crate) dropped: AtomicU64,
    /// Callbacks that panicked.
    pub(crate) panicked: AtomicU64,
    /// Async callbacks cut off at the timeout, and sync ones found hanging.
    pub(crate) timed_out: AtomicU64,
}

/// The thread that runs the callbacks and how to reach it.
struct Lane {
    tx: SyncSender<RuntimeSample>,
    generation: u64,
    /// When the callback under way started, in nanoseconds since
    /// `Dispatcher::origin` (0: none under way).
    busy_since: Arc<AtomicU64>,
}

/// Delivers samples to the callbacks.
pub(crate) struct Dispatcher {
    callbacks: Arc<[Callback]>,
    queue: usize,
    timeout: Duration,
    origin: Instant,
    lane: Mutex<Option<Lane>>,
    /// The generation of the current lane; a lane's thread ends when it is
    /// no longer current.
    current: Arc<AtomicU64>,
    pub(crate) stats: Arc<CallbackStats>,
}

impl Dispatcher {
    pub(crate) fn new(callbacks: Vec<Callback>, queue: usize, timeout: Duration) -> Self {
        Dispatcher {
            callbacks: callbacks.into(),
            queue: queue.max(1),
            timeout,
            origin: Instant::now(),
            lane: Mutex::new(None),
            current: Arc::new(AtomicU64::new(0)),
            stats: Arc::new(CallbackStats::default()),
        }
    }

    /// Hands `sample` to the callbacks' thread, never waiting: a full queue
    /// drops it (counted), and a callback running past the timeout gets its
    /// thread replaced.
    pub(crate) fn deliver(&self, sample: &RuntimeSample) {
        if self.callbacks.is_empty() {
            return;
        }
        let mut lane = self.lane.lock();
        if let Some(l) = lane.as_ref() {
            let since = l.busy_since.load(Relaxed);
            let now = self.nanos();
            if since != 0 && now.saturating_sub(since) > nanos(self.timeout) {
                tracing::warn!(target: "monsta", "a runtime monitor callback has not returned within {:?}; later samples go to a new thread", self.timeout);
                self.stats.timed_out.fetch_add(1, Relaxed);
                *lane = None;
            }
        }
        if lane.is_none() {
            *lane = self.spawn_lane();
        }
        let Some(l) = lane.as_ref() else {
            self.dropped();
            return;
        };
        match l.tx.try_send(sample.clone()) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.dropped(),
            Err(TrySendError::Disconnected(_)) => {
                self.dropped();
                *lane = None;
            }
        }
    }

    /// Counts a sample the callbacks do not get; the first is logged.
    fn dropped(&self) {
        if self.stats.dropped.fetch_add(1, Relaxed) == 0 {
            tracing::warn!(target: "monsta", "the runtime monitor's callbacks are behind; samples they cannot take are dropped (counted in internal.runtime.callbacks_dropped)");
        }
    }

    fn nanos(&self) -> u64 {
        nanos(self.origin.elapsed()).max(1)
    }

    fn spawn_lane(&self) -> Option<Lane> {
        let generation = self.current.fetch_add(1, Relaxed) + 1;
        let (tx, rx) = mpsc::sync_channel(self.queue);
        let busy_since = Arc::new(AtomicU64::new(0));
        let worker = Worker {
            rx,
            callbacks: Arc::clone(&self.callbacks),
            timeout: self.timeout,
            origin: self.origin,
            generation,
            current: Arc::clone(&self.current),
            busy_since: Arc::clone(&busy_since),
            stats: Arc::clone(&self.stats),
        };
        match std::thread::Builder::new()
            .name("monsta-runtime-callbacks".into())
            .spawn(move || worker.run())
        {
            Ok(_) => Some(Lane {
                tx,
                generation,
                busy_since,
            }),
            Err(error) => {
                tracing::error!(target: "monsta", "cannot start the runtime monitor's callback thread: {error}");
                None
            }
        }
    }

    /// Ends the current thread once its queue is empty.
    pub(crate) fn close(&self) {
        if let Some(l) = self.lane.lock().take() {
            let _ = self
                .current
                .compare_exchange(l.generation, l.generation + 1, Relaxed, Relaxed);
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The callbacks' thread.
struct Worker {
    rx: Receiver<RuntimeSample>,
    callbacks: Arc<[Callback]>,
    timeout: Duration,
    origin: Instant,
    generation: u64,
    current: Arc<AtomicU64>,
    busy_since: Arc<AtomicU64>,
    stats: Arc<CallbackStats>,
}

impl Worker {
    /// Counts a callback's panic; the first is logged.
    fn panicked(&self) {
        if self.stats.panicked.fetch_add(1, Relaxed) == 0 {
            tracing::warn!(target: "monsta", "a runtime monitor callback panicked (counted in internal.runtime.callbacks_panicked)");
        }
    }

    fn run(self) {
        let rt = self
            .callbacks
            .iter()
            .any(|c| matches!(c, Callback::Async(_)))
            .then(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
            })
            .transpose();
        let rt = match rt {
            Ok(rt) => rt,
            Err(error) => {
                tracing::error!(target: "monsta", "cannot build the runtime of async monitor callbacks: {error}");
                None
            }
        };
        while let Ok(sample) = self.rx.recv() {
            for callback in self.callbacks.iter() {
                if self.current.load(Relaxed) != self.generation {
                    return;
                }
                self.busy_since
                    .store(nanos(self.origin.elapsed()).max(1), Relaxed);
                match callback {
                    Callback::Sync(f) => {
                        if catch_unwind(AssertUnwindSafe(|| f(&sample))).is_err() {
                            self.panicked();
                        }
                    }
                    Callback::Async(f) => {
                        let Some(rt) = rt.as_ref() else { continue };
                        let fut = match catch_unwind(AssertUnwindSafe(|| f(sample.clone()))) {
                            Ok(fut) => fut,
                            Err(_) => {
                                self.panicked();
                                continue;
                            }
                        };
                        let task = rt.spawn(fut);
                        let abort = task.abort_handle();
                        match rt.block_on(async { tokio::time::timeout(self.timeout, task).await })
                        {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) if e.is_panic() => self.panicked(),
                            Ok(Err(_)) => {}
                            Err(_) => {
                                abort.abort();
                                if self.stats.timed_out.fetch_add(1, Relaxed) == 0 {
                                    tracing::warn!(target: "monsta", "an async runtime monitor callback did not finish within {:?} and was cancelled (counted in internal.runtime.callbacks_timed_out)", self.timeout);
                                }
                            }
                        }
                    }
                }
                self.busy_since.store(0, Relaxed);
            }
        }
    }
}
