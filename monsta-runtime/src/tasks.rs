//! Named tasks: spawned through [`spawn_named`] or [`TaskBuilder`], kept in
//! a bounded, process-wide registry while they live, and listed with their
//! spawn site, age and poll statistics.

use std::{
    borrow::Cow,
    collections::HashMap,
    fmt::Write as _,
    future::Future,
    panic::Location,
    pin::Pin,
    sync::{
        Arc, LazyLock,
        atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering::Relaxed},
    },
    task::{Context, Poll, Wake, Waker},
    time::Duration,
};

use monsta_core::Clock;

use parking_lot::Mutex;
use pin_project_lite::pin_project;
use serde::Serialize;
use tokio::{runtime::Handle, task::JoinHandle};

/// The default cap of the registry: [`set_max_tasks`] changes it.
pub const DEFAULT_MAX_TASKS: usize = 4096;

const IDLE: u8 = 0;
const SCHEDULED: u8 = 1;
const RUNNING: u8 = 2;
/// Woken while being polled: scheduled again once the poll ends.
const RUNNING_WOKEN: u8 = 3;

/// One registered task.
struct Entry {
    key: u64,
    name: Cow<'static, str>,
    site: &'static Location<'static>,
    /// When it was spawned, on the system clock (its coarse reading: the
    /// age is shown in milliseconds, and a precise read costs a spawn more).
    spawned: u64,
    id: std::sync::OnceLock<tokio::task::Id>,
    polls: AtomicU64,
    /// Total poll time, in nanoseconds.
    poll_nanos: AtomicU64,
    /// When the last poll ended, on the system clock's coarse reading, plus
    /// one (0: never).
    last_poll: AtomicU64,
    state: AtomicU8,
    /// The waker of the task's last poll, woken through this entry.
    waker: Mutex<Option<Waker>>,
}

impl Wake for Entry {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let _ = self.state.fetch_update(Relaxed, Relaxed, |s| match s {
            IDLE => Some(SCHEDULED),
            RUNNING => Some(RUNNING_WOKEN),
            _ => None,
        });
        if let Some(w) = self.waker.lock().as_ref() {
            w.wake_by_ref();
        }
    }
}

struct Registry {
    tasks: Mutex<HashMap<u64, Arc<Entry>>>,
    len: AtomicUsize,
    cap: AtomicUsize,
    next: AtomicU64,
    unregistered: AtomicU64,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| Registry {
    tasks: Mutex::new(HashMap::new()),
    len: AtomicUsize::new(0),
    cap: AtomicUsize::new(DEFAULT_MAX_TASKS),
    next: AtomicU64::new(1),
    unregistered: AtomicU64::new(0),
});

/// Sets the registry's cap (default [`DEFAULT_MAX_TASKS`]): past it, new
/// named tasks run unregistered (counted by [`unregistered`]); tasks
/// registered already stay.
pub fn set_max_tasks(cap: usize) {
    REGISTRY.cap.store(cap, Relaxed);
}

/// The registry's cap.
pub fn max_tasks() -> usize {
    REGISTRY.cap.load(Relaxed)
}

/// How many named tasks are registered now.
pub fn registry_len() -> usize {
    REGISTRY.len.load(Relaxed)
}

/// How many named tasks ran unregistered because the registry was full.
pub fn unregistered() -> u64 {
    REGISTRY.unregistered.load(Relaxed)
}

/// Registers a task, unless the registry is full.
fn register(name: Cow<'static, str>, site: &'static Location<'static>) -> Option<Arc<Entry>> {
    let r = &*REGISTRY;
    let cap = r.cap.load(Relaxed);
    if r.len
        .fetch_update(Relaxed, Relaxed, |n| (n < cap).then_some(n + 1))
        .is_err()
    {
        if r.unregistered.fetch_add(1, Relaxed) == 0 {
            tracing::warn!(target: "monsta", cap, "the named-task registry is full; later named tasks run unlisted (counted as unregistered_tasks)");
        }
        return None;
    }
    let key = r.next.fetch_add(1, Relaxed);
    let entry = Arc::new(Entry {
        key,
        name,
        site,
        spawned: coarse_nanos(),
        id: std::sync::OnceLock::new(),
        polls: AtomicU64::new(0),
        poll_nanos: AtomicU64::new(0),
        last_poll: AtomicU64::new(0),
        state: AtomicU8::new(SCHEDULED),
        waker: Mutex::new(None),
    });
    r.tasks.lock().insert(key, Arc::clone(&entry));
    Some(entry)
}

/// Takes a finished (or dropped) task out of the registry.
struct Registration(Arc<Entry>);

impl Drop for Registration {
    fn drop(&mut self) {
        let r = &*REGISTRY;
        if r.tasks.lock().remove(&self.0.key).is_some() {
            r.len.fetch_sub(1, Relaxed);
        }
    }
}

/// The system clock's coarse time, in nanoseconds (a load where it is
/// fresh).
fn coarse_nanos() -> u64 {
    nanos(Clock::system_ref().now())
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

pin_project! {
    /// A named task's future: counts and times its polls, and tells the
    /// registry whether it is running, scheduled or idle.
    struct Named<F> {
        #[pin]
        inner: F,
        reg: Option<Registration>,
        waker: Option<Waker>,
    }
}

impl<F: Future> Future for Named<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let Some(reg) = this.reg.as_ref() else {
            return this.inner.poll(cx);
        };
        let entry = &reg.0;
        {
            let mut slot = entry.waker.lock();
            if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *slot = Some(cx.waker().clone());
            }
        }
        let waker = this
            .waker
            .get_or_insert_with(|| Waker::from(Arc::clone(entry)));
        entry.state.store(RUNNING, Relaxed);
        // The poll timed as the instrumented futures time a span: one raw
        // read of the counter at each end.
        let clock = Clock::system_ref();
        let start = clock.stamp();
        let out = this.inner.poll(&mut Context::from_waker(waker));
        let took = clock.since(start);
        entry.polls.fetch_add(1, Relaxed);
        entry.poll_nanos.fetch_add(nanos(took), Relaxed);
        entry.last_poll.store(coarse_nanos() + 1, Relaxed);
        // Woken during its own poll: it is scheduled again.
        let _ = entry.state.fetch_update(Relaxed, Relaxed, |s| match s {
            RUNNING => Some(IDLE),
            RUNNING_WOKEN => Some(SCHEDULED),
            _ => None,
        });
        if out.is_ready() {
            this.reg.take();
        }
        out
    }
}

/// Spawns `future` on the current tokio runtime as a named task, listed
/// (while it lives) by [`tasks`] and on an attached reporter's
/// `/mon/v1/tasks` with its name and the place of this call.
///
/// Like `tokio::spawn`, it panics outside a tokio runtime;
/// [`TaskBuilder::spawn`] returns an error instead.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let task = monsta_runtime::spawn_named("flusher", async { 40 + 2 });
/// assert_eq!(task.await.unwrap(), 42);
/// # }
/// ```
#[track_caller]
pub fn spawn_named<F>(name: impl Into<Cow<'static, str>>, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let site = Location::caller();
    spawn_at(&Handle::current(), name.into(), site, future)
}

fn spawn_at<F>(
    handle: &Handle,
    name: Cow<'static, str>,
    site: &'static Location<'static>,
    future: F,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let entry = register(name, site);
    let id_slot = entry.clone();
    let task = handle.spawn(Named {
        inner: future,
        reg: entry.map(Registration),
        waker: None,
    });
    if let Some(e) = id_slot {
        let _ = e.id.set(task.id());
    }
    task
}

/// Why a named task could not be spawned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// No runtime was given and the caller is not inside one.
    #[error("no tokio runtime to spawn the task {0:?} on")]
    NoRuntime(String),
}

/// A named task to spawn, with options: the `Builder`-style counterpart of
/// [`spawn_named`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), monsta_runtime::SpawnError> {
/// use monsta_runtime::TaskBuilder;
/// let task = TaskBuilder::new("indexer").spawn(async { "done" })?;
/// assert_eq!(task.await.unwrap(), "done");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TaskBuilder {
    name: Cow<'static, str>,
    handle: Option<Handle>,
}

impl TaskBuilder {
    /// A task named `name`.
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        TaskBuilder {
            name: name.into(),
            handle: None,
        }
    }

    /// Spawns on the runtime of `handle` instead of the current one.
    pub fn handle(mut self, handle: &Handle) -> Self {
        self.handle = Some(handle.clone());
        self
    }

    /// Spawns `future`; the spawn site listed is the caller of this method.
    ///
    /// # Errors
    ///
    /// [`SpawnError::NoRuntime`] without a handle outside a runtime.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> Result<JoinHandle<F::Output>, SpawnError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let site = Location::caller();
        let handle = match self.handle {
            Some(h) => h,
            None => {
                Handle::try_current().map_err(|_| SpawnError::NoRuntime(self.name.to_string()))?
            }
        };
        Ok(spawn_at(&handle, self.name, site, future))
    }
}

/// What a task is doing, as [`TaskInfo::state`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskState {
    /// Waiting for an event (pending, not woken).
    Idle,
    /// Woken, waiting for a worker to poll it.
    Scheduled,
    /// Being polled now.
    Running,
}

/// A named task alive now, as [`tasks`] lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TaskInfo {
    /// Its name.
    pub name: String,
    /// Tokio's task id.
    pub id: String,
    /// Where it was spawned: `file:line:column`.
    pub spawned_at: String,
    /// Seconds since it was spawned (to about 4 ms: the spawn
    /// and the listing read monsta's coarse clock, which costs a spawn
    /// a load where a precise reading costs tens of nanoseconds).
    pub age_s: f64,
    /// How many times it was polled.
    pub polls: u64,
    /// Total time in its polls, in seconds.
    pub poll_time_s: f64,
    /// Mean time of a poll, in seconds (0 before the first).
    pub mean_poll_s: f64,
    /// Seconds since its last poll ended (`None` before the first; to
    /// about 4 ms, as `age_s`).
    pub since_last_poll_s: Option<f64>,
    /// Whether it is idle, scheduled or running.
    pub state: TaskState,
}

/// The named tasks alive now, oldest first.
pub fn tasks() -> Vec<TaskInfo> {
    let entries: Vec<Arc<Entry>> = REGISTRY.tasks.lock().values().cloned().collect();
    let now = coarse_nanos();
    let mut out: Vec<(u64, TaskInfo)> = entries
        .iter()
        .map(|e| {
            let polls = e.polls.load(Relaxed);
            let poll_time = e.poll_nanos.load(Relaxed) as f64 * 1e-9;
            let age = Duration::from_nanos(now.saturating_sub(e.spawned));
            let last = e.last_poll.load(Relaxed);
            let info = TaskInfo {
                name: e.name.to_string(),
                id: e.id.get().map_or_else(String::new, ToString::to_string),
                spawned_at: format!("{}:{}:{}", e.site.file(), e.site.line(), e.site.column()),
                age_s: age.as_secs_f64(),
                polls,
                poll_time_s: poll_time,
                mean_poll_s: if polls == 0 {
                    0.0
                } else {
                    poll_time / polls as f64
                },
                since_last_poll_s: (last != 0)
                    .then(|| Duration::from_nanos(now.saturating_sub(last - 1)).as_secs_f64()),
                state: match e.state.load(Relaxed) {
                    IDLE => TaskState::Idle,
                    RUNNING | RUNNING_WOKEN => TaskState::Running,
                    _ => TaskState::Scheduled,
                },
            };
            (e.key, info)
        })
        .collect();
    out.sort_by_key(|(k, _)| *k);
    out.into_iter().map(|(_, t)| t).collect()
}

/// The listing of `/mon/v1/tasks` as JSON.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct TaskListing {
    /// The registry's cap.
    pub max_tasks: usize,
    /// Named tasks that ran unregistered past the cap.
    pub unregistered: u64,
    /// The tasks, oldest first.
    pub tasks: Vec<TaskInfo>,
}

/// The listing now.
pub fn listing() -> TaskListing {
    TaskListing {
        max_tasks: max_tasks(),
        unregistered: unregistered(),
        tasks: tasks(),
    }
}

/// The tasks as an aligned table, for a terminal (`?format=text`).
pub fn table(tasks: &[TaskInfo]) -> String {
    let header = [
        "ID",
        "NAME",
        "STATE",
        "AGE",
        "POLLS",
        "POLL TIME",
        "MEAN POLL",
        "LAST POLL",
        "SPAWNED AT",
    ];
    let rows: Vec<[String; 9]> = tasks
        .iter()
        .map(|t| {
            [
                t.id.clone(),
                t.name.clone(),
                format!("{:?}", t.state).to_lowercase(),
                human(t.age_s),
                t.polls.to_string(),
                human(t.poll_time_s),
                human(t.mean_poll_s),
                t.since_last_poll_s
                    .map_or_else(|| "-".to_owned(), |s| format!("{} ago", human(s))),
                t.spawned_at.clone(),
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            let _ = write!(l, "{cell:<w$}", w = width[i]);
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in &rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

/// Seconds in a unit that reads well: `850us`, `12.3ms`, `4.56s`, `3m07s`.
fn human(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.0}us", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1}ms", s * 1e3)
    } else if s < 60.0 {
        format!("{s:.2}s")
    } else {
        let whole = s as u64;
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}
