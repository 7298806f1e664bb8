//! A state's fields as metric families: the mapping of the crate docs.
//!
//! What a family is called, its help text and its unit depend only on the
//! field list, the prefix and the units, so they are worked out once into a
//! [`Layout`]; a scrape reads the values under the state's lock
//! ([`Reader`]) and pairs them with the layout's [`Head`]s.

mod layout;

pub(crate) use layout::{Collision, Layout};

use monsta_core::{
    FieldInfo, FieldRef, Visitor,
    export::{Family as ExportFamily, HistogramSample, MetricType, Sample as Value, Samples},
};
use prometheus_client::registry::Unit;

use crate::Format;

/// What a family's samples are: this decides the names its lines use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One counter sample, `<name>_total`.
    Counter,
    /// Gauge samples, with or without a label.
    Gauge,
    /// An info metric, `<name>_info{value="..."} 1`.
    Info,
    /// A histogram, `<name>_bucket{le="..."}`, `<name>_sum`, `<name>_count`.
    Histogram,
}

/// The part of a family that stays the same from scrape to scrape.
#[derive(Debug)]
pub(crate) struct Head {
    /// The complete name, without the unit suffix (the OpenMetrics encoder
    /// adds it).
    pub name: String,
    /// The name the classic format describes the family by: the unit folded
    /// in, and `_total` for a counter, `_info` for an info metric.
    pub text_name: String,
    /// The help text escaped for OpenMetrics.
    help_openmetrics: String,
    /// The help text escaped for the classic format.
    help_text: String,
    pub unit: Option<Unit>,
    pub kind: Kind,
}

impl Head {
    /// The help text, escaped for `format`.
    pub fn help(&self, format: Format) -> &str {
        match format {
            Format::OpenMetrics => &self.help_openmetrics,
            Format::Text => &self.help_text,
        }
    }
}

/// The samples of a family.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// One counter sample.
    Counter(u64),
    /// One counter sample, not a whole number.
    CounterF64(f64),
    /// One gauge sample.
    Gauge(f64),
    /// One gauge sample, a whole number.
    Whole(u64),
    /// Gauge samples told apart by one label: the value of the label is the
    /// key without a leading `p` (`p99.9`: `99.9`).
    Labelled {
        label: &'static str,
        samples: Vec<(String, f64)>,
    },
    /// The value of an info metric's label.
    Info(String),
    /// A histogram without labels.
    Histogram(Histogram),
    /// Samples with labels (a family of fields' series), in the order
    /// written.
    Series(Series),
}

/// The labelled samples of one family. Every label name and value is kept
/// in one text buffer, so reading a family of many series allocates per
/// family, not per series.
#[derive(Debug, Clone, Default)]
pub(crate) struct Series {
    text: String,
    /// Per label, where its name and its value end in `text`; each label
    /// starts where the one before ended.
    labels: Vec<(usize, usize)>,
    /// Per sample, where its labels end in `labels`, and its value.
    samples: Vec<(usize, Point)>,
}

impl Series {
    fn push(&mut self, labels: &[(&str, &str)], point: Point) {
        for (name, value) in labels {
            self.text.push_str(name);
            let name_end = self.text.len();
            self.text.push_str(value);
            self.labels.push((name_end, self.text.len()));
        }
        self.samples.push((self.labels.len(), point));
    }

    /// How many samples there are.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// How long the labels' text is, all samples together.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// The samples in the order written, each with its labels.
    pub fn iter(&self) -> impl Iterator<Item = (LabelsView<'_>, &Point)> {
        let mut start = 0;
        self.samples.iter().map(move |(end, point)| {
            let view = LabelsView {
                text: &self.text,
                labels: &self.labels[start..*end],
                from: if start == 0 {
                    0
                } else {
                    self.labels[start - 1].1
                },
            };
            start = *end;
            (view, point)
        })
    }
}

/// The labels of one sample of a [`Series`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct LabelsView<'a> {
    text: &'a str,
    labels: &'a [(usize, usize)],
    /// Where the first label starts in `text`.
    from: usize,
}

impl<'a> LabelsView<'a> {
    /// The `(name, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + use<'a> {
        let (text, mut at) = (self.text, self.from);
        self.labels.iter().map(move |&(name_end, value_end)| {
            let pair = (&text[at..name_end], &text[name_end..value_end]);
            at = value_end;
            pair
        })
    }
}

/// A histogram's value: `buckets` are cumulative counts per finite bound.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Histogram {
    pub buckets: Vec<(f64, u64)>,
    pub sum: f64,
    pub count: u64,
}

impl Histogram {
    fn of(h: &HistogramSample<'_>) -> Self {
        Histogram {
            buckets: h.buckets.to_vec(),
            sum: h.sum,
            count: h.count,
        }
    }

    /// The buckets as prometheus-client's encoder takes them: the count of
    /// each bucket alone, the `+Inf` bucket last.
    pub fn non_cumulative(&self) -> Vec<(f64, u64)> {
        let mut out = Vec::with_capacity(self.buckets.len() + 1);
        let mut before = 0u64;
        for &(le, c) in &self.buckets {
            out.push((le, c.wrapping_sub(before)));
            before = c;
        }
        out.push((f64::INFINITY, self.count.wrapping_sub(before)));
        out
    }
}

/// The value of one labelled sample.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Point {
    Counter(u64),
    CounterF64(f64),
    Gauge(f64),
    Info(String),
    Histogram(Histogram),
}

/// One family of a scrape: the index of its [`Head`] in the [`Layout`], and
/// its samples.
#[derive(Debug, Clone)]
pub(crate) struct Family {
    pub head: usize,
    pub body: Body,
}

/// The label of a `Value` that is neither a number nor a boolean.
pub(crate) const INFO_LABEL: &str = "value";

/// The name of the uptime metric.
pub(crate) const UPTIME_METRIC: &str = "process_uptime_seconds";
const UPTIME_HELP: &str = "Seconds since the monitoring reporter started or was last reset.";

/// What a visit reports, in order: what a [`Layout`] is built from and
/// checked against.
#[derive(Debug, Clone)]
pub(crate) enum Event {
    Enter(FieldInfo),
    Leave,
    Field(FieldInfo, &'static [ExportFamily]),
}

impl Event {
    /// Whether `self` and `other` report the same thing. A derived state
    /// hands the same `'static` strings to every visit, so they are
    /// compared by address first, by content only when that differs.
    fn same(&self, other: &Event) -> bool {
        match (self, other) {
            (Event::Enter(a), Event::Enter(b)) => same_info(a, b),
            (Event::Leave, Event::Leave) => true,
            (Event::Field(a, x), Event::Field(b, y)) => {
                (std::ptr::eq(*x, *y) || x == y) && same_info(a, b)
            }
            _ => false,
        }
    }
}

fn same_info(a: &FieldInfo, b: &FieldInfo) -> bool {
    let same = |a: &str, b: &str| std::ptr::eq(a, b) || a == b;
    same(a.name, b.name)
        && same(a.ident, b.ident)
        && a.kind == b.kind
        && same(a.help, b.help)
        && match (a.unit, b.unit) {
            (Some(a), Some(b)) => same(a, b),
            (a, b) => a.is_none() && b.is_none(),
        }
}

/// One field's sample, in visit order: the field's index among the
/// visit's fields, its family's index in the field's
/// [`FAMILIES`](monsta_core::Field::FAMILIES), and the values.
#[derive(Debug)]
pub(crate) struct Sample {
    field: usize,
    family: usize,
    body: Body,
}

/// Reads every field of a visit: its description and its samples.
#[derive(Debug, Default)]
pub(crate) struct Reader {
    pub events: Vec<Event>,
    pub samples: Vec<Sample>,
    /// How many fields the visit reported so far.
    fields: usize,
}

impl Reader {
    /// A reader with room for a visit like the one `layout` was built from.
    pub fn sized_for(layout: Option<&Layout>) -> Self {
        let (events, samples) = layout.map_or((0, 0), |l| (l.events.len(), l.heads.len()));
        Reader {
            events: Vec::with_capacity(events),
            samples: Vec::with_capacity(samples),
            fields: 0,
        }
    }
}

impl Visitor for Reader {
    fn enter(&mut self, info: &FieldInfo) {
        self.events.push(Event::Enter(info.clone()));
    }

    fn leave(&mut self, _info: &FieldInfo) {
        self.events.push(Event::Leave);
    }

    fn field(&mut self, info: &FieldInfo, field: FieldRef<'_>) {
        let families = field.families();
        self.events.push(Event::Field(info.clone(), families));
        let mut out = FieldSamples {
            field: self.fields,
            start: self.samples.len(),
            families,
            samples: &mut self.samples,
        };
        field.export(&mut out);
        self.fields += 1;
    }
}

/// Collects one field's samples into a [`Reader`]. A sample of a family the
/// field does not declare, or of another type than the family's, is a bug
/// of the field type: it is left out (and asserted in debug builds).
struct FieldSamples<'a> {
    field: usize,
    /// Where the field's samples start in `samples`.
    start: usize,
    families: &'static [ExportFamily],
    samples: &'a mut Vec<Sample>,
}

impl FieldSamples<'_> {
    fn push(&mut self, family: usize, ty: MetricType, body: Body) {
        let declared = self.families.get(family).map(|f| f.ty);
        debug_assert_eq!(declared, Some(ty), "a sample of an undeclared family");
        if declared == Some(ty) {
            self.samples.push(Sample {
                field: self.field,
                family,
                body,
            });
        }
    }
}

impl Samples for FieldSamples<'_> {
    fn counter(&mut self, family: usize, value: u64) {
        self.push(family, MetricType::Counter, Body::Counter(value));
    }

    fn counter_f64(&mut self, family: usize, value: f64) {
        self.push(family, MetricType::Counter, Body::CounterF64(value));
    }

    fn gauge(&mut self, family: usize, value: f64) {
        self.push(family, MetricType::Gauge, Body::Gauge(value));
    }

    fn labelled(&mut self, family: usize, label_value: &str, value: f64) {
        // Consecutive samples of one family make one labelled body.
        if let Some(Sample {
            field,
            family: last,
            body: Body::Labelled { samples, .. },
        }) = self.samples.last_mut()
            && *field == self.field
            && *last == family
        {
            samples.push((label_value.to_owned(), value));
            return;
        }
        let Some(label) = self.families.get(family).and_then(|f| f.label) else {
            debug_assert!(false, "a labelled sample of a family without a label");
            return;
        };
        let body = Body::Labelled {
            label,
            samples: vec![(label_value.to_owned(), value)],
        };
        self.push(family, MetricType::Gauge, body);
    }

    fn info(&mut self, family: usize, value: &str) {
        self.push(family, MetricType::Info, Body::Info(value.to_owned()));
    }

    fn histogram(&mut self, family: usize, value: HistogramSample<'_>) {
        let body = Body::Histogram(Histogram::of(&value));
        self.push(family, MetricType::Histogram, body);
    }

    fn series(&mut self, family: usize, labels: &[(&str, &str)], value: Value<'_>) {
        let (ty, point) = match value {
            Value::Counter(v) => (MetricType::Counter, Point::Counter(v)),
            Value::CounterF64(v) => (MetricType::Counter, Point::CounterF64(v)),
            Value::Gauge(v) => (MetricType::Gauge, Point::Gauge(v)),
            Value::Info(v) => (MetricType::Info, Point::Info(v.to_owned())),
            Value::Histogram(h) => (MetricType::Histogram, Point::Histogram(Histogram::of(&h))),
            _ => return,
        };
        let declared = self.families.get(family).map(|f| f.ty);
        debug_assert_eq!(declared, Some(ty), "a sample of an undeclared family");
        if declared != Some(ty) {
            return;
        }
        // The series of one family make one body, however the field
        // interleaves its families.
        let start = self.start;
        if let Some(Sample {
            body: Body::Series(series),
            ..
        }) = self.samples[start..]
            .iter_mut()
            .find(|s| s.family == family && matches!(s.body, Body::Series(_)))
        {
            series.push(labels, point);
            return;
        }
        let mut series = Series::default();
        series.push(labels, point);
        self.push(family, ty, Body::Series(series));
    }
}

#[cfg(test)]
mod tests {
    use super::{layout::UPTIME_OWNER, *};

    use monsta_core::{
        Field, FieldKind,
        fields::{Counter, Gauge, SlidingPercentiles, Value},
    };

    fn layout_of(fields: &[(&'static str, FieldRef<'_>)]) -> Result<Layout, Collision> {
        let mut reader = Reader::default();
        for (name, field) in fields {
            reader.field(&FieldInfo::new(name, name, FieldKind::Gauge, ""), *field);
        }
        Layout::new(reader.events, None, &[])
    }

    fn clash(name: &str, first: &str, second: &str) -> Result<(), Collision> {
        Err(Collision {
            name: name.into(),
            first: first.into(),
            second: second.into(),
        })
    }

    #[test]
    fn names_that_clash_in_either_format_are_an_error_naming_both_fields() {
        let (g, c) = (Gauge::with_value(1.0), Counter::new());
        let (s, p) = (Value::new(String::from("a")), SlidingPercentiles::default());
        let g = g.as_field_ref();
        let check = |fields: &[(&'static str, FieldRef<'_>)]| layout_of(fields).map(drop);
        assert_eq!(
            check(&[("x", c.as_field_ref()), ("x_total", g)]),
            clash("x_total", "x", "x_total")
        );
        assert_eq!(
            check(&[("x", c.as_field_ref()), ("x_created", g)]),
            clash("x_created", "x", "x_created")
        );
        assert_eq!(
            check(&[("s", s.as_field_ref()), ("s_info", g)]),
            clash("s_info", "s", "s_info")
        );
        assert_eq!(
            check(&[("p", p.as_field_ref()), ("p_samples", g)]),
            clash("p_samples", "p", "p_samples")
        );
        assert_eq!(
            check(&[("process_uptime_seconds", g)]),
            clash(
                "process_uptime_seconds",
                UPTIME_OWNER,
                "process_uptime_seconds"
            )
        );
        // One field's own families may share a name: a `Value` uses one.
        assert!(
            check(&[
                ("s", s.as_field_ref()),
                ("p", p.as_field_ref()),
                ("x", c.as_field_ref())
            ])
            .is_ok()
        );
    }

    #[test]
    fn a_layout_pairs_samples_with_their_heads_uptime_first() {
        let (x, s) = (Counter::with_value(1), Value::new(true));
        let (p, y) = (SlidingPercentiles::default(), Gauge::with_value(6.0));
        let read = || {
            let mut reader = Reader::default();
            for (name, field) in [
                ("x", x.as_field_ref()),
                ("s", s.as_field_ref()),
                ("p", p.as_field_ref()),
                ("y", y.as_field_ref()),
            ] {
                reader.field(&FieldInfo::new(name, name, FieldKind::Gauge, ""), field);
            }
            reader
        };
        let layout = Layout::new(read().events, None, &[]).unwrap();
        let names = |families: Vec<Family>| -> Vec<String> {
            families
                .iter()
                .map(|family| layout.head(family).name.clone())
                .collect()
        };
        let expected = ["x", "s", "p", "p_samples", "p_min", "p_max", "y"];
        assert_eq!(names(layout.families(None, read().samples)), expected);
        let with_uptime = names(layout.families(Some(1), read().samples));
        assert_eq!(with_uptime[0], "process_uptime_seconds");
        assert_eq!(with_uptime[1..], expected);
    }
}

/// The compile-time check of `#[derive(AppState)]`
/// ([`monsta_core::keys::metric_clash`]) and [`Layout::new`] must agree on
/// which states clash: random states, names and units chosen to collide
/// often, checked both ways.
#[cfg(test)]
mod agreement {
    use super::*;
    use monsta_core::{
        Field, FieldKind,
        fields::{
            Counter, Ewma, Family as Labelled, Gauge, Histogram, LeakyBucket, RunningStats,
            SlidingPercentiles, Value,
        },
        keys::{Key, metric_clash},
    };
    use proptest::prelude::*;

    const NAMES: &[&str] = &[
        "a",
        "a_b",
        "a.b",
        "b",
        "x",
        "x_total",
        "x_created",
        "x_info",
        "lat",
        "lat_mean",
        "lat_samples",
        "lat_max",
        "9",
        "_9",
        "p_level",
        "p",
        "l_seconds",
        "l",
        "s_info",
        "process_uptime_seconds",
        "child_a",
        "größe",
        "gr__e",
        "h",
        "h_bucket",
        "h_sum",
        "h_count",
        "h_created",
    ];
    const UNITS: &[Option<&str>] = &[None, Some("seconds"), Some("total"), Some("mean"), Some("")];
    const PREFIXES: &[Option<&str>] = &[None, Some("app"), Some("9app"), Some("")];

    /// A field of one of the kinds, as an index.
    fn field_ref<'a>(kind: usize, fields: &'a Kinds) -> (FieldRef<'a>, &'static [ExportFamily]) {
        match kind {
            0 => (fields.0.as_field_ref(), Counter::FAMILIES),
            1 => (fields.1.as_field_ref(), Gauge::FAMILIES),
            2 => (fields.2.as_field_ref(), RunningStats::FAMILIES),
            3 => (fields.3.as_field_ref(), SlidingPercentiles::FAMILIES),
            4 => (fields.4.as_field_ref(), LeakyBucket::FAMILIES),
            5 => (fields.5.as_field_ref(), Value::<String>::FAMILIES),
            6 => (fields.6.as_field_ref(), Ewma::FAMILIES),
            7 => (fields.7.as_field_ref(), Histogram::FAMILIES),
            _ => (
                fields.8.as_field_ref(),
                Labelled::<String, Histogram>::FAMILIES,
            ),
        }
    }

    type Kinds = (
        Counter,
        Gauge,
        RunningStats,
        SlidingPercentiles,
        LeakyBucket,
        Value<String>,
        Ewma,
        Histogram,
        Labelled<String, Histogram>,
    );

    /// One field: name, kind, unit, and whether it sits in a flattened
    /// child named `child`.
    type Spec = (usize, usize, usize, bool);

    fn leak<T>(v: Vec<T>) -> &'static [T] {
        Box::leak(v.into_boxed_slice())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        #[test]
        fn compile_time_and_run_time_agree(
            specs in prop::collection::vec((0..NAMES.len(), 0..9usize, 0..UNITS.len(), any::<bool>()), 1..6),
            prefix in 0..PREFIXES.len(),
        ) {
            let kinds: Kinds = (
                Counter::new(),
                Gauge::new(),
                RunningStats::new(),
                SlidingPercentiles::default(),
                LeakyBucket::new(10.0, 1.0).unwrap(),
                Value::new(String::from("v")),
                Ewma::new(0.5, Some(1.0)).unwrap(),
                Histogram::default(),
                {
                    let family = Labelled::with_labels(&["a"]).unwrap();
                    family.with("x", |h: &Histogram| h.observe(1.0));
                    family
                },
            );
            let prefix = PREFIXES[prefix];
            // The parent's own fields first, then the child's, as a visit
            // reports them.
            let (own, child): (Vec<Spec>, Vec<Spec>) = specs.iter().partition(|s| !s.3);
            let mut reader = Reader::default();
            let key = |&(name, kind, unit, _): &Spec| {
                let (_, families) = field_ref(kind, &kinds);
                Key::Field(NAMES[name], NAMES[name], UNITS[unit], families)
            };
            let visit = |reader: &mut Reader, &(name, kind, unit, _): &Spec| {
                let mut info = FieldInfo::new(NAMES[name], NAMES[name], FieldKind::Gauge, "");
                if let Some(unit) = UNITS[unit] {
                    info = info.with_unit(unit);
                }
                reader.field(&info, field_ref(kind, &kinds).0);
            };
            own.iter().for_each(|s| visit(&mut reader, s));
            let child_info = FieldInfo::new("child", "child", FieldKind::Flatten, "");
            if !child.is_empty() {
                reader.enter(&child_info);
                child.iter().for_each(|s| visit(&mut reader, s));
                reader.leave(&child_info);
            }
            let mut keys: Vec<Key> = own.iter().map(key).collect();
            if !child.is_empty() {
                keys.push(Key::Flatten("child", leak(child.iter().map(key).collect())));
            }
            let keys = leak(keys);
            let mapped_prefix = prefix.filter(|p| !p.is_empty()).map(crate::name::metric_name);
            let at_run_time = Layout::new(reader.events, mapped_prefix.as_deref(), &[]);
            let at_compile_time = metric_clash("S", prefix, keys);
            prop_assert_eq!(
                at_compile_time.is_some(),
                at_run_time.is_err(),
                "compile time: {:?}, run time: {:?}",
                at_compile_time.as_ref().map(|m| m.as_str()),
                at_run_time.err()
            );
            // Each may name another clash first, but both name one.
            if let Some(message) = &at_compile_time {
                prop_assert!(message.as_str().starts_with("metric name `"));
            }
        }
    }
}
