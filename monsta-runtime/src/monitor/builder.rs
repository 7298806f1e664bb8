//! [`RuntimeMonitorBuilder`]: the monitor's options, checked by `build`.

use std::{
    fmt,
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64},
    },
    time::Duration,
};

use monsta_core::{fields::Ewma, instrument::Record};
use parking_lot::Mutex;
use tokio::runtime::Handle;

use super::{
    DEFAULT_INTERVAL, DEFAULT_STALL_THRESHOLD, Kept, MonitorError, RuntimeMonitor, Shared,
};
use crate::{
    RuntimeSample,
    callbacks::{Callback, Dispatcher},
};

/// A lag sink: a field the lag is recorded into, in seconds.
pub(super) type Sink = Box<dyn Fn(f64) + Send + Sync>;

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
