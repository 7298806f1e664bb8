//! What evaluates a source: a [`Flight`], the one result that every request
//! waiting for an evaluation shares, and a [`Worker`], the thread of a
//! reporter's own that runs evaluations one at a time.
//!
//! The worker is a plain `std::thread`, never joined, rather than tokio's
//! blocking pool: a runtime waits for its blocking tasks when it shuts down,
//! so a callback that never returns would keep a `#[tokio::main]` program
//! from exiting, and every request that finds the pool busy would take a
//! thread of its own. A detached thread keeps neither the runtime nor the
//! process alive, and the worker only ever runs one job at a time.

use std::{
    io,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc, Mutex, OnceLock, PoisonError,
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc::{Sender, channel},
    },
};

use tokio::sync::Notify;

/// The result of one evaluation, once there is one; every request that
/// waits for the evaluation gets the same.
pub(crate) struct Flight<T> {
    result: OnceLock<T>,
    notify: Notify,
    /// Whether a waiter has given up on it already (so that only the first
    /// one logs).
    overdue: AtomicBool,
}

impl<T: Clone> Flight<T> {
    /// A flight without a result yet.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Flight {
            result: OnceLock::new(),
            notify: Notify::new(),
            overdue: AtomicBool::new(false),
        })
    }

    /// A flight that has landed already, with `value`.
    pub(crate) fn landed(value: T) -> Arc<Self> {
        let flight = Self::new();
        flight.complete(value);
        flight
    }

    /// Whether it has a result.
    pub(crate) fn is_done(&self) -> bool {
        self.result.get().is_some()
    }

    /// Sets the result (the first one set stays) and wakes the waiters.
    pub(crate) fn complete(&self, value: T) {
        let _ = self.result.set(value);
        self.notify.notify_waiters();
    }

    /// Waits for the result. Cancel-safe: dropping the future only stops
    /// this waiter.
    pub(crate) async fn wait(&self) -> T {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before the check, so a `complete` in between
            // wakes it.
            notified.as_mut().enable();
            if let Some(value) = self.result.get() {
                return value.clone();
            }
            notified.await;
        }
    }

    /// Marks that a waiter gave up on it; whether it was the first.
    pub(crate) fn first_overdue(&self) -> bool {
        !self.overdue.swap(true, Ordering::AcqRel)
    }
}

/// A job of a worker.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// A worker's current thread.
struct Lane {
    jobs: Sender<Job>,
    /// The tag of the jobs sent to it: all those queued or running have it.
    tag: u64,
    /// Jobs sent to it and not finished yet.
    pending: Arc<AtomicUsize>,
}

/// A thread that runs jobs one at a time, started on the first job.
///
/// Each job has a tag (the generation of the source it evaluates). A job
/// whose tag differs from that of the jobs the thread has yet to finish does
/// not queue behind them: that thread is left to finish alone (then it
/// ends), and a new thread takes over. So a callback that never returns
/// costs its thread and no more, and does not hold up the sources published
/// after it.
pub(crate) struct Worker {
    name: &'static str,
    lane: Mutex<Option<Lane>>,
}

impl Worker {
    /// A worker whose threads are named `name`; none is started yet.
    pub(crate) fn new(name: &'static str) -> Self {
        Worker {
            name,
            lane: Mutex::new(None),
        }
    }

    /// Runs `job` on the worker's thread, after the jobs it has yet to
    /// finish if they have the same `tag`, else on a new thread.
    ///
    /// # Errors
    ///
    /// The error of spawning a thread; `job` is dropped unrun.
    pub(crate) fn run(&self, tag: u64, job: Job) -> io::Result<()> {
        let mut lane = self.lane.lock().unwrap_or_else(PoisonError::into_inner);
        let job = match lane.as_mut() {
            Some(current) if current.tag == tag || current.pending.load(Ordering::Acquire) == 0 => {
                current.tag = tag;
                current.pending.fetch_add(1, Ordering::AcqRel);
                match current.jobs.send(job) {
                    Ok(()) => return Ok(()),
                    // The thread is gone: start another.
                    Err(returned) => returned.0,
                }
            }
            _ => job,
        };
        // Dropping the old sender lets the old thread end after its jobs.
        *lane = None;
        let (jobs, queue) = channel::<Job>();
        let pending = Arc::new(AtomicUsize::new(1));
        let done = Arc::clone(&pending);
        std::thread::Builder::new()
            .name(self.name.to_owned())
            .spawn(move || {
                while let Ok(job) = queue.recv() {
                    // Jobs catch their own panics; this keeps the thread
                    // alive should one slip through.
                    let _ = catch_unwind(AssertUnwindSafe(job));
                    done.fetch_sub(1, Ordering::AcqRel);
                }
            })?;
        // A new channel's receiver is alive: the send cannot fail.
        let _ = jobs.send(job);
        *lane = Some(Lane { jobs, tag, pending });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::mpsc,
        thread::{self, ThreadId},
        time::Duration,
    };

    use super::*;

    const LIMIT: Duration = Duration::from_secs(10);

    /// A job that reports its thread, then waits for `gate` (bounded).
    fn job(ran: &mpsc::Sender<ThreadId>, gate: Option<mpsc::Receiver<()>>) -> Job {
        let ran = ran.clone();
        Box::new(move || {
            let _ = ran.send(thread::current().id());
            if let Some(gate) = gate {
                let _ = gate.recv_timeout(LIMIT);
            }
        })
    }

    #[test]
    fn jobs_of_one_tag_run_one_at_a_time_on_one_thread() {
        let worker = Worker::new("monsta-test");
        let (ran, runs) = mpsc::channel();
        let (open, gate) = mpsc::channel();
        worker.run(1, job(&ran, Some(gate))).expect("spawn");
        let first = runs.recv_timeout(LIMIT).expect("the first job runs");
        worker.run(1, job(&ran, None)).expect("queued");
        assert!(
            runs.recv_timeout(Duration::from_millis(100)).is_err(),
            "the second job ran while the first one was running"
        );
        open.send(()).expect("the first job waits");
        let second = runs.recv_timeout(LIMIT).expect("the second job runs");
        assert_eq!(first, second, "the same thread");
        assert_ne!(first, thread::current().id());
        // Idle again: a job of another tag takes the same thread.
        let idle = || {
            let lane = worker.lane.lock().expect("lane");
            lane.as_ref()
                .is_some_and(|l| l.pending.load(Ordering::Acquire) == 0)
        };
        let deadline = std::time::Instant::now() + LIMIT;
        while !idle() {
            assert!(std::time::Instant::now() < deadline, "never idle");
            thread::sleep(Duration::from_millis(1));
        }
        worker.run(2, job(&ran, None)).expect("queued");
        assert_eq!(runs.recv_timeout(LIMIT).expect("runs"), first);
    }

    #[test]
    fn a_job_of_another_tag_does_not_wait_behind_a_stuck_one() {
        let worker = Worker::new("monsta-test");
        let (ran, runs) = mpsc::channel();
        let (_open, gate) = mpsc::channel::<()>();
        worker.run(1, job(&ran, Some(gate))).expect("spawn");
        let stuck = runs.recv_timeout(LIMIT).expect("the first job runs");
        worker.run(2, job(&ran, None)).expect("spawn");
        let next = runs
            .recv_timeout(LIMIT)
            .expect("the job of the new tag runs at once");
        assert_ne!(stuck, next, "on a thread of its own");
    }

    #[tokio::test]
    async fn a_flight_is_shared_by_its_waiters() {
        let flight = Flight::<u32>::new();
        assert!(!flight.is_done());
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let flight = Arc::clone(&flight);
                tokio::spawn(async move { flight.wait().await })
            })
            .collect();
        tokio::task::yield_now().await;
        flight.complete(7);
        flight.complete(8);
        for waiter in waiters {
            assert_eq!(waiter.await.expect("waiter"), 7, "the first result stays");
        }
        assert_eq!(Flight::landed(3).wait().await, 3);
        assert!(flight.first_overdue());
        assert!(!flight.first_overdue(), "only the first");
    }
}
