//! Families through prometheus-client's encoders, in either format: what a
//! [`StateCollector`](crate::StateCollector) registered in a
//! prometheus-client registry writes, and the reference that
//! [`write`](crate::write), which renders a whole exposition, is tested
//! against byte for byte.
//!
//! prometheus-client 0.25 writes OpenMetrics text only. The classic format
//! differs from it in the lines around the samples, never in a sample line
//! of the types used here, so the classic output is made with the same
//! encoders by choosing what to hand them:
//!
//! - a counter is described under its sample's name, `<name>_total`, and its
//!   sample written as a plain value (`encode_gauge`), since classic parsers
//!   look up a sample's `# TYPE` by the sample's own name;
//! - an info metric becomes a gauge `<name>_info` (the classic format has no
//!   info type);
//! - the unit is folded into the name with no `# UNIT` line, and no `# EOF`
//!   is written;
//! - help texts are escaped for the format (`\"` only in OpenMetrics).

use std::fmt;

use prometheus_client::{
    encoding::{
        DescriptorEncoder, EncodeLabel, EncodeLabelSet, LabelSetEncoder, MetricEncoder, NoLabelSet,
    },
    metrics::MetricType,
};

use crate::{
    Format,
    model::{Body, Family, Head, Histogram, INFO_LABEL, Kind, LabelsView, Layout, Point, Series},
};

/// Writes `families` (of `layout`) to `encoder` in `format`.
pub(crate) fn families(
    layout: &Layout,
    families: &[Family],
    encoder: &mut DescriptorEncoder<'_>,
    format: Format,
) -> fmt::Result {
    for family in families {
        let head = layout.head(family);
        let help = head.help(format);
        match format {
            Format::OpenMetrics => openmetrics(head, &family.body, help, encoder)?,
            Format::Text => text(head, &family.body, help, encoder)?,
        }
    }
    Ok(())
}

fn openmetrics(
    head: &Head,
    body: &Body,
    help: &str,
    encoder: &mut DescriptorEncoder<'_>,
) -> fmt::Result {
    let name = head.name.as_str();
    let unit = head.unit.as_ref();
    let kind = match head.kind {
        Kind::Counter => MetricType::Counter,
        Kind::Gauge => MetricType::Gauge,
        Kind::Info => MetricType::Info,
        Kind::Histogram => MetricType::Histogram,
    };
    match body {
        Body::Counter(v) => encoder
            .encode_descriptor(name, help, unit, kind)?
            .encode_counter::<NoLabelSet, _, f64>(v, None),
        Body::CounterF64(v) => encoder
            .encode_descriptor(name, help, unit, kind)?
            .encode_counter::<NoLabelSet, _, f64>(v, None),
        Body::Gauge(v) => encoder
            .encode_descriptor(name, help, unit, kind)?
            .encode_gauge(v),
        Body::Whole(v) => encoder
            .encode_descriptor(name, help, unit, kind)?
            .encode_gauge(v),
        Body::Labelled { label, samples } => labelled(
            encoder.encode_descriptor(name, help, unit, kind)?,
            label,
            samples,
        ),
        Body::Info(value) => encoder
            .encode_descriptor(name, help, None, kind)?
            .encode_info(&[(INFO_LABEL, value.as_str())]),
        Body::Histogram(h) => histogram(encoder.encode_descriptor(name, help, unit, kind)?, h),
        Body::Series(samples) => {
            let unit = if head.kind == Kind::Info { None } else { unit };
            series(
                encoder.encode_descriptor(name, help, unit, kind)?,
                samples,
                Format::OpenMetrics,
            )
        }
    }
}

fn histogram(mut metric: MetricEncoder<'_>, h: &Histogram) -> fmt::Result {
    metric.encode_histogram::<NoLabelSet>(h.sum, h.count, &h.non_cumulative(), None)
}

/// A sample's labels for prometheus-client's encoder, with one more label
/// after them (an info metric's value).
struct Labels<'a> {
    labels: LabelsView<'a>,
    extra: Option<(&'a str, &'a str)>,
}

impl EncodeLabelSet for Labels<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        for pair in self.labels.iter().chain(self.extra) {
            pair.encode(encoder.encode_label())?;
        }
        Ok(())
    }
}

/// Labelled samples (a family of fields' series), under a family already
/// described. prometheus-client escapes the label values.
fn series(mut metric: MetricEncoder<'_>, samples: &Series, format: Format) -> fmt::Result {
    for (labels, point) in samples.iter() {
        let plain = Labels {
            labels,
            extra: None,
        };
        match point {
            Point::Counter(v) => match format {
                Format::OpenMetrics => metric
                    .encode_family(&plain)?
                    .encode_counter::<NoLabelSet, _, f64>(v, None)?,
                Format::Text => metric.encode_family(&plain)?.encode_gauge(v)?,
            },
            Point::CounterF64(v) => match format {
                Format::OpenMetrics => metric
                    .encode_family(&plain)?
                    .encode_counter::<NoLabelSet, _, f64>(v, None)?,
                Format::Text => metric.encode_family(&plain)?.encode_gauge(v)?,
            },
            Point::Gauge(v) => metric.encode_family(&plain)?.encode_gauge(v)?,
            Point::Info(value) => {
                let all = Labels {
                    labels,
                    extra: Some((INFO_LABEL, value.as_str())),
                };
                match format {
                    Format::OpenMetrics => metric.encode_info(&all)?,
                    Format::Text => metric.encode_family(&all)?.encode_gauge(&1_i64)?,
                }
            }
            Point::Histogram(h) => histogram(metric.encode_family(&plain)?, h)?,
        }
    }
    Ok(())
}

fn text(head: &Head, body: &Body, help: &str, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
    let name = head.text_name.as_str();
    let kind = match head.kind {
        Kind::Counter => MetricType::Counter,
        Kind::Gauge | Kind::Info => MetricType::Gauge,
        Kind::Histogram => MetricType::Histogram,
    };
    match body {
        Body::Counter(v) => encoder
            .encode_descriptor(name, help, None, kind)?
            .encode_gauge(v),
        Body::CounterF64(v) => encoder
            .encode_descriptor(name, help, None, kind)?
            .encode_gauge(v),
        Body::Gauge(v) => encoder
            .encode_descriptor(name, help, None, kind)?
            .encode_gauge(v),
        Body::Whole(v) => encoder
            .encode_descriptor(name, help, None, kind)?
            .encode_gauge(v),
        Body::Labelled { label, samples } => labelled(
            encoder.encode_descriptor(name, help, None, kind)?,
            label,
            samples,
        ),
        Body::Info(value) => encoder
            .encode_descriptor(name, help, None, kind)?
            .encode_family(&[(INFO_LABEL, value.as_str())])?
            .encode_gauge(&1_i64),
        Body::Histogram(h) => histogram(encoder.encode_descriptor(name, help, None, kind)?, h),
        Body::Series(samples) => series(
            encoder.encode_descriptor(name, help, None, kind)?,
            samples,
            Format::Text,
        ),
    }
}

/// Gauge samples told apart by one label, under a family already described.
fn labelled(mut metric: MetricEncoder<'_>, label: &str, samples: &[(String, f64)]) -> fmt::Result {
    for (value, v) in samples {
        metric
            .encode_family(&[(label, value.as_str())])?
            .encode_gauge(v)?;
    }
    Ok(())
}
