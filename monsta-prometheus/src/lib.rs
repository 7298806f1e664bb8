//! Prometheus and OpenMetrics exposition of a monsta [`AppState`]: the same
//! struct that the reporter serves as JSON, scrapeable by Prometheus.
//!
//! A [`StateCollector`] implements prometheus-client's [`Collector`], so a
//! state registers into the [`Registry`] an application already has, next to
//! its other metrics; [`StateCollector::render`] writes a state on its own in
//! either text format, and [`Format::negotiate`] picks the format from a
//! request's `Accept` header. All text is written by prometheus-client's
//! encoders.
//!
//! ```
//! use std::sync::Arc;
//! use monsta_core::fields::{Counter, Gauge, Value};
//! use monsta_prometheus::{Format, StateCollector, prometheus_client};
//! use prometheus_client::{encoding::text::encode, metrics::counter::Counter as PromCounter, registry::Registry};
//!
//! // Normally written as:
//! //
//! // #[derive(AppState)]
//! // struct Service {
//! //     /// Jobs done.
//! //     jobs: Counter,
//! //     /// Jobs waiting.
//! //     queue: Gauge,
//! //     status: Value<String>,
//! // }
//! # use monsta_core::{AppState, Clock, FieldInfo, FieldKind, FieldRef, Visitor};
//! # #[derive(serde::Serialize)]
//! # struct Service { jobs: Counter, queue: Gauge, status: Value<String> }
//! # const JOBS: FieldInfo = FieldInfo::new("jobs", "jobs", FieldKind::Counter, "Jobs done.");
//! # const QUEUE: FieldInfo = FieldInfo::new("queue", "queue", FieldKind::Gauge, "Jobs waiting.");
//! # const STATUS: FieldInfo = FieldInfo::new("status", "status", FieldKind::Value, "");
//! # impl AppState for Service {
//! #     type Snapshot = serde_json::Value;
//! #     fn try_with_clock(_: &Clock) -> Result<Self, monsta_core::Error> {
//! #         Ok(Service { jobs: Counter::new(), queue: Gauge::new(), status: Value::default() })
//! #     }
//! #     fn describe() -> Vec<FieldInfo> { vec![JOBS, QUEUE, STATUS] }
//! #     fn visit(&self, v: &mut dyn Visitor) {
//! #         v.field(&JOBS, FieldRef::new(&self.jobs));
//! #         v.field(&QUEUE, FieldRef::new(&self.queue));
//! #         v.field(&STATUS, FieldRef::new(&self.status));
//! #     }
//! #     fn snapshot_unlocked(&self) -> serde_json::Value { serde_json::to_value(self).unwrap() }
//! # }
//! # impl Service { fn new() -> Self { Self::try_with_clock(&Clock::system()).unwrap() } }
//! let state = Arc::new(Service::new());
//! state.jobs.inc(3);
//! state.queue.set(1.5);
//! state.status.set("warming \"up\"".into());
//!
//! // Next to the application's own metrics.
//! let mut registry = Registry::default();
//! let requests = PromCounter::<u64>::default();
//! registry.register("requests", "Requests served", requests.clone());
//! registry.register_collector(Box::new(StateCollector::new(state.clone()).prefix("myapp")));
//! requests.inc();
//!
//! let mut text = String::new();
//! encode(&mut text, &registry)?;
//! assert!(text.contains("requests_total 1\n"));
//! assert!(text.contains("# TYPE myapp_jobs counter\nmyapp_jobs_total 3\n"));
//! assert!(text.contains("myapp_queue 1.5\n"));
//! assert!(text.contains(r#"myapp_status_info{value="warming \"up\""} 1"#));
//!
//! // On its own, in the format the scraper asks for.
//! let format = Format::negotiate(Some("text/plain;version=0.0.4"));
//! let text = StateCollector::new(state).render(format, None)?;
//! assert!(text.contains("# TYPE jobs_total counter\njobs_total 3\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Mapping
//!
//! Each field becomes one or more metric families named after the field's
//! JSON name (after `rename`). `<name>` below stands for that name, preceded
//! by the names of the flattened children it is in and by the prefix, joined
//! with `_`.
//!
//! | field | metric families |
//! | --- | --- |
//! | [`Counter`](monsta_core::fields::Counter) | counter `<name>`: sample `<name>_total` (a name already ending in `_total` keeps one) |
//! | [`Gauge`](monsta_core::fields::Gauge), [`SampledWindow`](monsta_core::fields::SampledWindow) | gauge `<name>` |
//! | [`SlidingWindow`](monsta_core::fields::SlidingWindow), [`PeriodicSum`](monsta_core::fields::PeriodicSum) | gauge `<name>` (the windowed value, not to be summed over instances); counter `<name>_added`: sample `<name>_added_total`, the total ever added ([`SlidingWindow::added`](monsta_core::fields::SlidingWindow::added)), whose `rate()` sums over instances |
//! | [`Ewma`](monsta_core::fields::Ewma) | gauge `<name>`; left out while it has no sample (JSON `null`) |
//! | [`RunningStats`](monsta_core::fields::RunningStats) | counter `<name>_samples` (`n`, as `<name>_samples_total`); gauges `<name>_mean`, `<name>_stddev`, `<name>_min`, `<name>_max` |
//! | [`LeakyBucket`](monsta_core::fields::LeakyBucket) | gauges `<name>_level` and `<name>_capacity` (`full` is `<name>_level >= <name>_capacity`) |
//! | [`SlidingPercentiles`](monsta_core::fields::SlidingPercentiles) | gauge `<name>` with one sample per percentile, labelled `percentile="50"`, `"99.9"` (the JSON key without its `p`); gauges `<name>_samples` (`n`: samples in the window), `<name>_min`, `<name>_max` |
//! | [`Value`](monsta_core::fields::Value) of a number | gauge `<name>` |
//! | `Value` of a `bool` | gauge `<name>`, `1` or `0` |
//! | `Value` of a string | info `<name>`: sample `<name>_info{value="<the string>"} 1` (a name already ending in `_info` keeps one) |
//! | `Value` of `null` (also a NaN, which JSON writes as `null`), an array or an object | left out |
//! | `#[monsta(flatten)]` child | its fields, named `<child>_<field>` |
//! | the reporter's uptime ([`render`](StateCollector::render) with `Some`) | gauge `process_uptime_seconds`: the whole seconds of JSON's `internal.uptime`, unprefixed |
//!
//! NaN and infinities are written as `NaN`, `inf` and `-inf` (which both formats accept), where
//! JSON writes `null`.
//!
//! Why percentiles are not a summary: prometheus-client 0.25 cannot write
//! one. A family's type is written by
//! [`DescriptorEncoder::encode_descriptor`](prometheus_client::encoding::DescriptorEncoder::encode_descriptor),
//! which takes a [`MetricType`](prometheus_client::metrics::MetricType): counter, gauge,
//! histogram, info or unknown (summary is listed there as not yet
//! supported), and [`MetricEncoder`](prometheus_client::encoding::MetricEncoder)
//! has no summary method either; writing `# TYPE ... summary` by hand is
//! what this crate does not do. And `promtool check metrics` flags a
//! `quantile` label or a `_count` suffix on anything but a summary or
//! histogram. So percentiles are a gauge labelled `percentile` and sample
//! counts are named `_samples`; the output passes promtool's checks
//! whenever the field names themselves do.
//!
//! **Help texts** come from the field's doc comment or `help` attribute; a
//! field without one gets `monsta <Kind> field <name>`, and the families of a
//! multi-value field add what they hold (`(mean)`, `(capacity)`, ...).
//!
//! **Names** are mapped onto the metric-name alphabet by [`metric_name`]:
//! every character outside `[a-zA-Z0-9_]` becomes `_`, and a leading digit
//! gets a `_` before it. Two fields whose families would end up with the
//! same name, or whose sample names clash (a gauge `x_total` and a counter
//! `x`, a gauge `lat_mean` and a `RunningStats` `lat`), are an error
//! ([`Error::Collision`], naming both fields) rather than a family left
//! out: [`StateCollector::check`] finds it before any scrape, and every
//! encoding reports it.
//!
//! **Escaping.** Help texts are escaped here, since prometheus-client writes
//! them as given: `\\` and `\n` in both formats, `\"` in OpenMetrics only
//! (classic parsers reject it), other control characters become spaces.
//! Label values (a `Value<String>`) are escaped by prometheus-client, which
//! does so since 0.25.2 (before, it wrote them raw: its issue #151); this
//! crate requires 0.25.2 and its tests check the bytes.
//!
//! **Prefix.** `#[monsta(prefix = "myapp")]` on the struct
//! ([`AppState::PREFIX`](monsta_core::AppState::PREFIX)) puts `myapp_`
//! before every name of the state; [`StateCollector::prefix`] overrides it.
//! The uptime metric is never prefixed.
//!
//! **Units.** `#[monsta(unit = "seconds")]` on a field
//! ([`FieldInfo::unit`](monsta_core::FieldInfo::unit)), or
//! [`StateCollector::unit`], gives a field a unit, written as a `# UNIT`
//! line in OpenMetrics and as the `_<unit>` name suffix in both formats
//! (`latency` in seconds: `latency_mean_seconds`). Sample counts, strings
//! and booleans have no unit.
//!
//! # Formats
//!
//! prometheus-client 0.25 encodes OpenMetrics text only; the classic format
//! 0.0.4 is made with the same encoders, by handing them the classic names
//! (a counter described as `<name>_total`, an info metric as the gauge
//! `<name>_info`) with no unit line and no `# EOF`. See [`Format`].
//!
//! [`Collector`]: prometheus_client::collector::Collector
//! [`Registry`]: prometheus_client::registry::Registry
//! [`AppState`]: monsta_core::AppState

mod collector;
mod encode;
mod error;
mod format;
mod model;
mod name;
mod write;

pub use collector::{Attached, Render, StateCollector, UPTIME_METRIC, render_uptime};
pub use error::Error;
pub use format::{Format, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, negotiate};
pub use name::metric_name;
/// The prometheus-client this crate encodes with, for registries and units
/// of a matching version.
pub use prometheus_client;
pub use prometheus_client::registry::Unit;
