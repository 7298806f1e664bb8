//! What a field exports to a metrics system: its metric families, known at
//! compile time, and its samples, read under the state's lock.
//!
//! Each field type says this in its own file, through [`Field::FAMILIES`]
//! and [`Field::export`](crate::Field::export); exporters (the Prometheus
//! collector) read the description without knowing the field types, so a
//! field type defined outside monsta is exported like the built-in ones.
//!
//! A family's metric name is the field's (mapped) name, with `_` and the
//! family's [`suffix`](Family::suffix) when it has one. The exporter adds
//! what its format needs (a unit, `_total` for a counter, `_info` for an
//! info metric).
//!
//! [`Field::FAMILIES`]: crate::Field::FAMILIES
//!
//! # Examples
//!
//! A field type of one's own, exported as a gauge and a counter:
//!
//! ```
//! use monsta_core::export::{Family, Samples};
//!
//! /// A queue: how long it is, and how many items ever went through.
//! struct Queue {
//!     len: f64,
//!     done: u64,
//! }
//!
//! const FAMILIES: &[Family] = &[
//!     Family::gauge("", "length").with_unit(),
//!     Family::counter("done", "items done"),
//! ];
//!
//! fn export(q: &Queue, out: &mut dyn Samples) {
//!     out.gauge(0, q.len);
//!     out.counter(1, q.done);
//! }
//! # struct Seen(Vec<String>);
//! # impl Samples for Seen {
//! #     fn counter(&mut self, f: usize, v: u64) { self.0.push(format!("{f}:{v}")) }
//! #     fn gauge(&mut self, f: usize, v: f64) { self.0.push(format!("{f}:{v}")) }
//! #     fn labelled(&mut self, _: usize, _: &str, _: f64) {}
//! #     fn info(&mut self, _: usize, _: &str) {}
//! # }
//! # let mut seen = Seen(Vec::new());
//! # export(&Queue { len: 3.0, done: 7 }, &mut seen);
//! # assert_eq!(seen.0, ["0:3", "1:7"]);
//! # assert_eq!(FAMILIES[1].suffix, "done");
//! ```

/// The type of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetricType {
    /// A monotonic count (Prometheus: `<name>_total`).
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// A text value, exported as an info metric (Prometheus:
    /// `<name>_info{value="..."} 1`).
    Info,
    /// Cumulative buckets with a sum and a count (Prometheus:
    /// `<name>_bucket{le="..."}`, `<name>_sum`, `<name>_count`).
    Histogram,
}

/// One metric family a field type exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Family {
    /// Added to the field's name with a `_` (`"mean"`: `latency_mean`);
    /// empty for the field's own name.
    pub suffix: &'static str,
    /// The family's type.
    pub ty: MetricType,
    /// What the family holds, for its help text (`"mean"`: "Request latency
    /// (mean)."); empty when it is the field itself.
    pub what: &'static str,
    /// Whether the field's unit (`#[monsta(unit = "...")]`) applies to the
    /// family's values; a count of samples has none.
    pub unit: bool,
    /// The label that tells the family's samples apart
    /// ([`Samples::labelled`]), if they have one.
    pub label: Option<&'static str>,
}

impl Family {
    const fn new(ty: MetricType, suffix: &'static str, what: &'static str) -> Self {
        Family {
            suffix,
            ty,
            what,
            unit: false,
            label: None,
        }
    }

    /// A counter family, without a unit.
    pub const fn counter(suffix: &'static str, what: &'static str) -> Self {
        Self::new(MetricType::Counter, suffix, what)
    }

    /// A gauge family, without a unit.
    pub const fn gauge(suffix: &'static str, what: &'static str) -> Self {
        Self::new(MetricType::Gauge, suffix, what)
    }

    /// A histogram family ([`Samples::histogram`]), without a unit.
    pub const fn histogram(suffix: &'static str, what: &'static str) -> Self {
        Self::new(MetricType::Histogram, suffix, what)
    }

    /// An info family.
    pub const fn info(suffix: &'static str, what: &'static str) -> Self {
        Self::new(MetricType::Info, suffix, what)
    }

    /// The same family, with the field's unit.
    #[must_use]
    pub const fn with_unit(mut self) -> Self {
        self.unit = true;
        self
    }

    /// The same family, its samples told apart by `label`.
    #[must_use]
    pub const fn with_label(mut self, label: &'static str) -> Self {
        self.label = Some(label);
        self
    }
}

/// The value of a histogram family: cumulative counts per upper bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistogramSample<'a> {
    /// `(le, count)`: how many observations were at most `le`, for each
    /// finite upper bound in increasing order. The `+Inf` bucket is
    /// [`count`](Self::count).
    pub buckets: &'a [(f64, u64)],
    /// The sum of the observations.
    pub sum: f64,
    /// How many observations there were.
    pub count: u64,
}

/// The value of one sample of a labelled series ([`Samples::series`]).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Sample<'a> {
    /// The value of a counter family.
    Counter(u64),
    /// The value of a counter family that is not a whole number, such as
    /// the total added to a windowed sum.
    CounterF64(f64),
    /// The value of a gauge family.
    Gauge(f64),
    /// The text of an info family.
    Info(&'a str),
    /// The value of a histogram family.
    Histogram(HistogramSample<'a>),
}

/// Receives the samples of one field from
/// [`Field::export`](crate::Field::export). `family` is an index into the
/// field type's [`FAMILIES`](crate::Field::FAMILIES); a family that gets no
/// sample is left out of the scrape.
pub trait Samples {
    /// The value of a counter family.
    fn counter(&mut self, family: usize, value: u64);
    /// The value of a gauge family.
    fn gauge(&mut self, family: usize, value: f64);
    /// One sample of a labelled gauge family, with its label's value.
    fn labelled(&mut self, family: usize, label_value: &str, value: f64);
    /// The text of an info family.
    fn info(&mut self, family: usize, value: &str);

    /// The value of a counter family that is not a whole number
    /// ([`SlidingWindow`](crate::fields::SlidingWindow)'s `_added`). The
    /// default forwards to [`series`](Self::series) with no labels, which
    /// leaves it out unless the exporter implements one or the other.
    fn counter_f64(&mut self, family: usize, value: f64) {
        self.series(family, &[], Sample::CounterF64(value));
    }

    /// The value of a histogram family. The default forwards to
    /// [`series`](Self::series) with no labels.
    fn histogram(&mut self, family: usize, value: HistogramSample<'_>) {
        self.series(family, &[], Sample::Histogram(value));
    }

    /// One sample of a family, with `(name, value)` labels: what a
    /// [`Family`](crate::fields::Family) of fields writes for each of its
    /// series (the child's own label, such as a percentile's, last). The
    /// default writes a sample without labels through the other methods and
    /// leaves out one with labels, so an exporter that knows no labelled
    /// series implements only those.
    fn series(&mut self, family: usize, labels: &[(&str, &str)], value: Sample<'_>) {
        if !labels.is_empty() {
            return;
        }
        match value {
            Sample::Counter(v) => self.counter(family, v),
            Sample::Gauge(v) => self.gauge(family, v),
            Sample::Info(v) => self.info(family, v),
            Sample::Histogram(_) | Sample::CounterF64(_) => {}
        }
    }
}
