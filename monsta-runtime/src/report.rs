//! Attaching a monitor to a reporter (feature `http`): `internal.runtime`
//! and `internal.process` in the JSON, their metrics, the named tasks'
//! listing, and the reporter's start and stop.

use std::sync::Arc;

use monsta_http::{Extension, ExtensionResponse, MetricKind, MetricsWriter};

use crate::{RuntimeMonitor, process::process_info, tasks};

/// The default path of the named tasks' listing.
pub const DEFAULT_TASKS_ENDPOINT: &str = "/mon/v1/tasks";

/// The monitor as a reporter's extension.
struct Attached(RuntimeMonitor);

impl RuntimeMonitor {
    /// The monitor as an [`Extension`] to attach to a reporter with
    /// [`StatusReporterBuilder::extension`](monsta_http::StatusReporterBuilder::extension):
    /// it adds `internal.runtime` and `internal.process` to the JSON, the
    /// runtime and process metrics to `/metrics`, serves the named tasks on
    /// its [`tasks_endpoint`](crate::RuntimeMonitorBuilder::tasks_endpoint),
    /// and starts and stops with the reporter's servers. The reporter keeps
    /// the monitor.
    pub fn extension(&self) -> Arc<dyn Extension> {
        Arc::new(Attached(self.clone()))
    }
}

impl Extension for Attached {
    fn internal(&self, out: &mut serde_json::Map<String, serde_json::Value>) {
        if let Ok(v) = serde_json::to_value(self.0.report()) {
            out.insert("runtime".to_owned(), v);
        }
        if let Ok(v) = serde_json::to_value(process_info()) {
            out.insert("process".to_owned(), v);
        }
    }

    fn metrics(&self, out: &mut MetricsWriter) {
        write_metrics(&self.0, out);
    }

    fn answer(&self, path: &str, query: Option<&str>) -> Option<ExtensionResponse> {
        if self.0.shared.tasks_endpoint.as_deref() != Some(path) {
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
        self.0.shared.tasks_endpoint.iter().cloned().collect()
    }

    fn started(&self) {
        self.0.start();
    }

    fn stopped(&self) {
        self.0.stop();
    }
}

/// The runtime and process metrics of `monitor`: the names the crate docs
/// list.
fn write_metrics(monitor: &RuntimeMonitor, out: &mut MetricsWriter) {
    use MetricKind::{Counter, Gauge};
    let r = monitor.report();
    let last = monitor.last();
    if let Some(lag) = r.lag_ms {
        out.single(
            "monsta_runtime_lag_seconds",
            "Scheduling lag of the latest probe.",
            Gauge,
            lag / 1e3,
        );
    }
    if let Some(lag) = r.lag_smoothed_ms {
        out.single(
            "monsta_runtime_lag_smoothed_seconds",
            "Smoothed scheduling lag.",
            Gauge,
            lag / 1e3,
        );
    }
    out.single(
        "monsta_runtime_lag_max_seconds",
        "Largest scheduling lag of the last minute.",
        Gauge,
        r.max_lag_1m_ms / 1e3,
    );
    out.single(
        "monsta_runtime_stall_max_seconds",
        "Longest worker stall of the last minute.",
        Gauge,
        r.max_stall_1m_ms / 1e3,
    );
    out.single(
        "monsta_runtime_workers",
        "Worker threads of the runtime.",
        Gauge,
        r.workers as f64,
    );
    out.single(
        "monsta_runtime_alive_tasks",
        "Tasks alive on the runtime.",
        Gauge,
        r.alive_tasks as f64,
    );
    out.single(
        "monsta_runtime_global_queue_depth",
        "Tasks in the runtime's global queue.",
        Gauge,
        r.global_queue_depth as f64,
    );
    out.single(
        "monsta_runtime_samples",
        "Samples the probe took.",
        Counter,
        r.samples as f64,
    );
    out.single(
        "monsta_runtime_callback_dropped",
        "Samples the callbacks did not get.",
        Counter,
        r.callbacks_dropped as f64,
    );
    out.single(
        "monsta_runtime_named_tasks",
        "Named tasks registered now.",
        Gauge,
        r.named_tasks as f64,
    );
    if let Some(s) = last.filter(|s| !s.worker.is_empty()) {
        let labels: Vec<String> = (0..s.worker.len()).map(|i| i.to_string()).collect();
        let each = |out: &mut MetricsWriter,
                    name: &str,
                    help: &str,
                    kind: MetricKind,
                    f: &dyn Fn(&crate::WorkerSample) -> f64| {
            out.family(name, help, kind);
            for (w, l) in s.worker.iter().zip(&labels) {
                out.sample(name, kind, &[("worker", l)], f(w));
            }
        };
        each(
            out,
            "monsta_runtime_worker_busy_seconds",
            "Time the worker was busy.",
            Counter,
            &|w| w.busy.as_secs_f64(),
        );
        each(
            out,
            "monsta_runtime_worker_busy_ratio",
            "Busy share of the worker since the previous probe.",
            Gauge,
            &|w| w.busy_ratio,
        );
        each(
            out,
            "monsta_runtime_worker_parks",
            "Times the worker parked.",
            Counter,
            &|w| w.park_count as f64,
        );
        each(
            out,
            "monsta_runtime_worker_park_unparks",
            "Times the worker parked and unparked.",
            Counter,
            &|w| w.park_unpark_count as f64,
        );
        each(
            out,
            "monsta_runtime_worker_stall_seconds",
            "Current or latest stall of the worker, at least the threshold.",
            Gauge,
            &|w| w.stall.as_secs_f64(),
        );
    }
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
