//! A family's Prometheus samples: each child's, with its series' labels
//! put in front.

use crate::export::{Family as ExportFamily, HistogramSample, Sample, Samples};

/// Runs `f` with `names` paired with the values of `text` that end at
/// `ends`, from an array on the stack for the usual few labels.
pub(super) fn with_pairs<R>(
    names: &[&str],
    text: &str,
    ends: &[usize],
    f: impl FnOnce(&[(&str, &str)]) -> R,
) -> R {
    const STACK: usize = 12;
    let pair = |i: usize| {
        let start = if i == 0 { 0 } else { ends[i - 1] };
        (names[i], &text[start..ends[i]])
    };
    let n = ends.len().min(names.len());
    if n <= STACK {
        let mut pairs = [("", ""); STACK];
        for (i, slot) in pairs.iter_mut().enumerate().take(n) {
            *slot = pair(i);
        }
        f(&pairs[..n])
    } else {
        f(&(0..n).map(pair).collect::<Vec<_>>())
    }
}

/// A child's samples, with the series' labels put in front.
pub(super) struct Labelled<'a> {
    pub(super) out: &'a mut dyn Samples,
    pub(super) labels: &'a [(&'a str, &'a str)],
    pub(super) families: &'static [ExportFamily],
}

impl Labelled<'_> {
    fn with(&mut self, family: usize, more: &[(&str, &str)], value: Sample<'_>) {
        const STACK: usize = 12;
        let n = self.labels.len() + more.len();
        if more.is_empty() {
            self.out.series(family, self.labels, value);
        } else if n <= STACK {
            let mut all = [("", ""); STACK];
            for (slot, pair) in all.iter_mut().zip(self.labels.iter().chain(more)) {
                *slot = *pair;
            }
            self.out.series(family, &all[..n], value);
        } else {
            let mut all = self.labels.to_vec();
            all.extend_from_slice(more);
            self.out.series(family, &all, value);
        }
    }
}

impl Samples for Labelled<'_> {
    fn counter(&mut self, family: usize, value: u64) {
        self.with(family, &[], Sample::Counter(value));
    }
    fn counter_f64(&mut self, family: usize, value: f64) {
        self.with(family, &[], Sample::CounterF64(value));
    }
    fn gauge(&mut self, family: usize, value: f64) {
        self.with(family, &[], Sample::Gauge(value));
    }
    fn labelled(&mut self, family: usize, label_value: &str, value: f64) {
        let name = self
            .families
            .get(family)
            .and_then(|f| f.label)
            .unwrap_or("label");
        self.with(family, &[(name, label_value)], Sample::Gauge(value));
    }
    fn info(&mut self, family: usize, value: &str) {
        self.with(family, &[], Sample::Info(value));
    }
    fn histogram(&mut self, family: usize, value: HistogramSample<'_>) {
        self.with(family, &[], Sample::Histogram(value));
    }
    fn series(&mut self, family: usize, labels: &[(&str, &str)], value: Sample<'_>) {
        self.with(family, labels, value);
    }
}
