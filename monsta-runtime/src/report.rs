//! Attaching a monitor to a reporter (feature `http`): `internal.runtime`
//! and `internal.process` in the JSON, their metrics, the named tasks'
//! listing, and the reporter's start and stop.

use std::sync::Arc;

use monsta_http::{Extension, ExtensionResponse, MetricKind, MetricsWriter};

use crate::{MonitorError, RuntimeMonitor, RuntimeReport, process::process_info, tasks};

/// The default path of the named tasks' listing.
pub const DEFAULT_TASKS_ENDPOINT: &str = "/mon/v1/tasks";

/// Monitors as one reporter's extension: one unnamed monitor, or named
/// ones (then `internal.runtime` is keyed by name and every runtime series
/// has a `runtime` label).
struct Attached {
    monitors: Vec<RuntimeMonitor>,
    named: bool,
    /// The distinct tasks endpoints of the monitors.
    paths: Vec<String>,
}

impl RuntimeMonitor {
    /// The monitor as an [`Extension`] to attach to a reporter with
    /// [`StatusReporterBuilder::extension`](monsta_http::StatusReporterBuilder::extension):
    /// it adds `internal.runtime` and `internal.process` to the JSON, the
    /// runtime and process metrics to `/metrics`, serves the named tasks on
    /// its [`tasks_endpoint`](crate::RuntimeMonitorBuilder::tasks_endpoint),
    /// and starts and stops with the reporter's servers. The reporter keeps
    /// the monitor.
    ///
    /// A [named](crate::RuntimeMonitorBuilder::name) monitor's report is
    /// `internal.runtime.<name>` and its series carry `runtime="<name>"`,
    /// as with [`extension_of`](Self::extension_of). To show several
    /// runtimes on one reporter, attach them together with that: attached
    /// one by one, the second's `internal.runtime` and families would be
    /// the first one's names, and are left out.
    pub fn extension(&self) -> Arc<dyn Extension> {
        Arc::new(Attached::new(vec![self.clone()]))
    }

    /// Several monitors as one [`Extension`]: one reporter shows each
    /// runtime's report as `internal.runtime.<name>`, its series with the
    /// label `runtime="<name>"` (each family once, with every monitor's
    /// series), `internal.process` and the process metrics once, and
    /// serves the named tasks (a process-wide registry) on each distinct
    /// [`tasks_endpoint`](crate::RuntimeMonitorBuilder::tasks_endpoint) of
    /// the monitors. The monitors start and stop with the reporter.
    ///
    /// ```
    /// use monsta_http::StatusReporter;
    /// use monsta_runtime::RuntimeMonitor;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let io = tokio::runtime::Builder::new_multi_thread()
    ///     .worker_threads(1)
    ///     .enable_all()
    ///     .build()?;
    /// let main = RuntimeMonitor::builder().name("main").build()?;
    /// let io_monitor = RuntimeMonitor::builder()
    ///     .name("io")
    ///     .handle(io.handle().clone())
    ///     .build()?;
    /// let mon = StatusReporter::builder()
    ///     .extension(RuntimeMonitor::extension_of([&main, &io_monitor])?)?
    ///     .build();
    /// mon.publish(serde_json::json!({}));
    /// let body: serde_json::Value = serde_json::from_str(&mon.render())?;
    /// assert!(body["internal"]["runtime"]["main"].is_object());
    /// assert!(body["internal"]["runtime"]["io"].is_object());
    /// # drop(mon);
    /// # io.shutdown_background();
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`MonitorError::NoMonitor`] for none; with two or more,
    /// [`MonitorError::Unnamed`] if one has no
    /// [`name`](crate::RuntimeMonitorBuilder::name) and
    /// [`MonitorError::DuplicateName`] if two share one.
    pub fn extension_of<'a>(
        monitors: impl IntoIterator<Item = &'a RuntimeMonitor>,
    ) -> Result<Arc<dyn Extension>, MonitorError> {
        let monitors: Vec<RuntimeMonitor> = monitors.into_iter().cloned().collect();
        if monitors.is_empty() {
            return Err(MonitorError::NoMonitor);
        }
        if monitors.len() > 1 {
            let mut seen = std::collections::HashSet::new();
            for m in &monitors {
                let name = m.name().ok_or(MonitorError::Unnamed)?;
                if !seen.insert(name) {
                    return Err(MonitorError::DuplicateName(name.to_owned()));
                }
            }
        }
        Ok(Arc::new(Attached::new(monitors)))
    }
}

impl Attached {
    fn new(monitors: Vec<RuntimeMonitor>) -> Self {
        let named = monitors.iter().any(|m| m.name().is_some());
        let mut paths: Vec<String> = Vec::new();
        for m in &monitors {
            if let Some(p) = &m.shared.tasks_endpoint
                && !paths.contains(p)
            {
                paths.push(p.clone());
            }
        }
        Attached {
            monitors,
            named,
            paths,
        }
    }
}

impl Extension for Attached {
    fn internal(&self, out: &mut serde_json::Map<String, serde_json::Value>) {
        let runtime = if self.named {
            let mut each = serde_json::Map::new();
            for m in &self.monitors {
                if let (Some(name), Ok(v)) = (m.name(), serde_json::to_value(m.report())) {
                    each.insert(name.to_owned(), v);
                }
            }
            Ok(serde_json::Value::Object(each))
        } else {
            serde_json::to_value(self.monitors[0].report())
        };
        if let Ok(v) = runtime {
            out.insert("runtime".to_owned(), v);
        }
        if let Ok(v) = serde_json::to_value(process_info()) {
            out.insert("process".to_owned(), v);
        }
    }

    fn metrics(&self, out: &mut MetricsWriter) {
        write_metrics(&self.monitors, out);
    }

    fn answer(&self, path: &str, query: Option<&str>) -> Option<ExtensionResponse> {
        if !self.paths.iter().any(|p| p == path) {
            return None;
        }
        let mut text = false;
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=').unwrap_or((pair, "")) {
                ("format", "text") => text = true,
                ("format", "json") => text = false,
                ("format", other) => {
                    return Some(ExtensionResponse::bad_request(format!(
                        "unknown format {other:?}: use format=json or format=text"
                    )));
                }
                _ => {}
            }
        }
        let listing = tasks::listing();
        Some(if text {
            let mut body = tasks::table(&listing.tasks);
            body.push_str(&format!(
                "{} named task(s), cap {}, {} ran unregistered\n",
                listing.tasks.len(),
                listing.max_tasks,
                listing.unregistered
            ));
            ExtensionResponse::text(body)
        } else {
            match serde_json::to_vec(&listing) {
                Ok(body) => ExtensionResponse::json(body),
                Err(e) => {
                    ExtensionResponse::internal_error(format!("cannot render the tasks: {e}"))
                }
            }
        })
    }

    fn paths(&self) -> Vec<String> {
        self.paths.clone()
    }

    fn started(&self) {
        for m in &self.monitors {
            m.start();
        }
    }

    fn stopped(&self) {
        for m in &self.monitors {
            m.stop();
        }
    }
}

/// One monitor's figures, read once per scrape.
struct Seen<'a> {
    name: Option<&'a str>,
    report: RuntimeReport,
    last: Option<crate::RuntimeSample>,
}

/// Writes the family `name` with a sample per monitor that `value` gives
/// one for, labelled `runtime="<name>"` for a named monitor; nothing if
/// none does.
fn each_runtime(
    out: &mut MetricsWriter,
    seen: &[Seen<'_>],
    name: &str,
    help: &str,
    kind: MetricKind,
    value: impl Fn(&Seen<'_>) -> Option<f64>,
) {
    let values: Vec<(Option<&str>, f64)> = seen
        .iter()
        .filter_map(|s| value(s).map(|v| (s.name, v)))
        .collect();
    if values.is_empty() {
        return;
    }
    out.family(name, help, kind);
    for (runtime, v) in values {
        match runtime {
            Some(r) => out.sample(name, kind, &[("runtime", r)], v),
            None => out.sample(name, kind, &[], v),
        };
    }
}

/// Writes the per-worker family `name`: a sample per worker of each
/// monitor's latest sample, labelled `worker` (and `runtime` for a named
/// monitor); nothing if no monitor has workers yet.
fn each_worker(
    out: &mut MetricsWriter,
    seen: &[Seen<'_>],
    name: &str,
    help: &str,
    kind: MetricKind,
    value: impl Fn(&crate::WorkerSample) -> f64,
) {
    fn workers<'s>(s: &'s Seen<'_>) -> &'s [crate::WorkerSample] {
        s.last.as_ref().map_or(&[], |l| &l.worker)
    }
    if seen.iter().all(|s| workers(s).is_empty()) {
        return;
    }
    out.family(name, help, kind);
    for s in seen {
        for (i, w) in workers(s).iter().enumerate() {
            let index = i.to_string();
            match s.name {
                Some(r) => out.sample(name, kind, &[("runtime", r), ("worker", &index)], value(w)),
                None => out.sample(name, kind, &[("worker", &index)], value(w)),
            };
        }
    }
}

/// The runtime and process metrics of `monitors`: the names the crate docs
/// list.
fn write_metrics(monitors: &[RuntimeMonitor], out: &mut MetricsWriter) {
    use MetricKind::{Counter, Gauge};
    let seen: Vec<Seen<'_>> = monitors
        .iter()
        .map(|m| Seen {
            name: m.name(),
            report: m.report(),
            last: m.last(),
        })
        .collect();
    let seen = &seen[..];
    each_runtime(
        out,
        seen,
        "monsta_runtime_lag_seconds",
        "Scheduling lag of the latest probe.",
        Gauge,
        |s| s.report.lag_ms.map(|l| l / 1e3),
    );
    each_runtime(
        out,
        seen,
        "monsta_runtime_lag_smoothed_seconds",
        "Smoothed scheduling lag.",
        Gauge,
        |s| s.report.lag_smoothed_ms.map(|l| l / 1e3),
    );
    each_runtime(
        out,
        seen,
        "monsta_runtime_lag_max_seconds",
        "Largest scheduling lag of the last minute.",
        Gauge,
        |s| Some(s.report.max_lag_1m_ms / 1e3),
    );
    each_runtime(
        out,
        seen,
        "monsta_runtime_stall_max_seconds",
        "Longest worker stall of the last minute.",
        Gauge,
        |s| Some(s.report.max_stall_1m_ms / 1e3),
    );
    each_runtime(
        out,
        seen,
        "monsta_runtime_workers",
        "Worker threads of the runtime.",
        Gauge,
        |s| Some(s.report.workers as f64),
    );
    each_runtime(
        out,
        seen,
        "monsta_runtime_alive_tasks",
        "Tasks alive on the runtime.",
        Gauge,
        |s| Some(s.report.alive_tasks as f64),
    );
    each_runtime(
        out,
        seen,
        "monsta_runtime_global_queue_depth",
        "Tasks in the runtime's global queue.",
        Gauge,
        |s| Some(s.report.global_queue_depth as f64),
    );
    each_runtime(
        out,
        seen,
        "monsta_runtime_samples",
        "Samples the probe took.",
        Counter,
        |s| Some(s.report.samples as f64),
    );
    each_runtime(
        out,
        seen,
        "monsta_runtime_callback_dropped",
        "Samples the callbacks did not get.",
        Counter,
        |s| Some(s.report.callbacks_dropped as f64),
    );
    // The registry is the process's: one sample, whatever the monitors.
    out.single(
        "monsta_runtime_named_tasks",
        "Named tasks registered now.",
        Gauge,
        crate::tasks::registry_len() as f64,
    );
    each_worker(
        out,
        seen,
        "monsta_runtime_worker_busy_seconds",
        "Time the worker was busy.",
        Counter,
        |w| w.busy.as_secs_f64(),
    );
    each_worker(
        out,
        seen,
        "monsta_runtime_worker_busy_ratio",
        "Busy share of the worker since the previous probe.",
        Gauge,
        |w| w.busy_ratio,
    );
    each_worker(
        out,
        seen,
        "monsta_runtime_worker_parks",
        "Times the worker parked.",
        Counter,
        |w| w.park_count as f64,
    );
    each_worker(
        out,
        seen,
        "monsta_runtime_worker_park_unparks",
        "Times the worker parked and unparked.",
        Counter,
        |w| w.park_unpark_count as f64,
    );
    each_worker(
        out,
        seen,
        "monsta_runtime_worker_stall_seconds",
        "Current or latest stall of the worker, at least the threshold.",
        Gauge,
        |w| w.stall.as_secs_f64(),
    );
    let p = process_info();
    let opt =
        |out: &mut MetricsWriter, name: &str, help: &str, kind: MetricKind, v: Option<f64>| {
            if let Some(v) = v {
                out.single(name, help, kind, v);
            }
        };
    opt(
        out,
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        Gauge,
        p.resident_memory_bytes.map(|v| v as f64),
    );
    opt(
        out,
        "process_virtual_memory_bytes",
        "Virtual memory size in bytes.",
        Gauge,
        p.virtual_memory_bytes.map(|v| v as f64),
    );
    opt(
        out,
        "process_cpu_seconds",
        "Total user and system CPU time spent in seconds.",
        Counter,
        p.cpu_seconds,
    );
    opt(
        out,
        "process_open_fds",
        "Number of open file descriptors.",
        Gauge,
        p.open_fds.map(|v| v as f64),
    );
    opt(
        out,
        "process_max_fds",
        "Maximum number of open file descriptors.",
        Gauge,
        p.max_fds.map(|v| v as f64),
    );
    opt(
        out,
        "process_threads",
        "Number of OS threads in the process.",
        Gauge,
        p.threads.map(|v| v as f64),
    );
    opt(
        out,
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        Gauge,
        p.start_time_seconds,
    );
}
