use std::{collections::VecDeque, fmt, time::Duration};

use crossbeam_utils::CachePadded;
use parking_lot::Mutex;
use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{MapAccess, Visitor},
    ser::SerializeMap,
};

use crate::{
    Clock, Error,
    export::{Family, Samples},
    fields::{Build, Field, FieldConfig, FieldKind},
    params,
    shard::{shard_count, thread_index},
};

/// Quantiles of the samples of the last window: latencies and other
/// heavy-tailed signals, where a mean hides the tail.
///
/// Keeps each sample younger than `window` (a sample exactly `window` old
/// still counts), at most `max_samples` of them: when the cap is reached the
/// oldest goes first, so under heavy load the effective window shrinks.
/// Quantiles interpolate linearly between the closest ranks (numpy's default,
/// Hyndman–Fan type 7). A NaN or infinite sample is ignored.
///
/// JSON: `{"n", "p50", "p90", …, "min", "max"}`, one key per quantile, `p`
/// and the shortest form of the number (`p99.9`); with no sample, `n` is 0 and
/// every other key 0.0. Defaults: `window` = 600 s, quantiles 50, 90, 95, 99,
/// `max_samples` = 10 000.
///
/// `update` appends to a ring buffer of the calling thread's own, under a
/// mutex that other writers do not take (buffers are per thread, as the
/// shards of [`Counter`](crate::fields::Counter) are), in amortized O(1);
/// expired samples are swept from the front. A read copies the live samples
/// of every buffer, keeps the `max_samples` most recent of them, and sorts
/// the copy outside the locks. The window and the cap mean what they would
/// with one buffer; only among samples taken at the same instant (the same
/// tick of the clock) by different threads, which of them a full cap drops
/// first is not specified.
///
/// Memory: each buffer holds at most `max_samples` samples of 16 bytes, and
/// only threads that update the field fill one; the worst case is the shard
/// count (twice the cores, 4 to 64) times `max_samples` times 16 bytes
/// (1.3 MB for the defaults on a 4-core machine).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use monsta_core::{clock::ManualClock, fields::SlidingPercentiles};
///
/// let clock = ManualClock::new();
/// let window = Duration::from_secs(600);
/// let p = SlidingPercentiles::with_clock(window, &[50.0, 90.0, 99.9], 10_000, &clock.clock())?;
/// for x in [5.0, 3.0, 1.0, 4.0, 2.0] {
///     p.update(x);
/// }
/// // What numpy.percentile([1, 2, 3, 4, 5], [50, 90, 99.9]) returns.
/// assert_eq!(
///     serde_json::to_string(&p).unwrap(),
///     r#"{"n":5,"p50":3.0,"p90":4.6,"p99.9":4.996,"min":1.0,"max":5.0}"#
/// );
/// clock.advance(window); // exactly `window` old: still counted
/// assert_eq!(p.get().n, 5);
/// clock.advance(Duration::from_nanos(1));
/// assert_eq!(
///     serde_json::to_string(&p).unwrap(),
///     r#"{"n":0,"p50":0.0,"p90":0.0,"p99.9":0.0,"min":0.0,"max":0.0}"#
/// );
/// # Ok::<(), monsta_core::Error>(())
/// ```
#[derive(Debug)]
pub struct SlidingPercentiles {
    clock: Clock,
    window: u64,
    quantiles: Box<[f64]>,
    keys: Box<[Box<str>]>,
    max_samples: usize,
    /// A buffer per thread, each on a cache line of its own, apart from the
    /// parameters every update reads.
    samples: Box<[Buffer]>,
}

/// One thread's samples, `(time, value)` in time order.
type Buffer = CachePadded<Mutex<VecDeque<(u64, f64)>>>;

/// The value of a [`SlidingPercentiles`].
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct PercentilesSnapshot {
    /// How many samples are in the window.
    pub n: u64,
    /// `(key, value)` per quantile, in the field's order: `("p50", 1.0)`.
    pub quantiles: Vec<(String, f64)>,
    /// The smallest sample in the window (0 when `n` = 0).
    pub min: f64,
    /// The largest sample in the window (0 when `n` = 0).
    pub max: f64,
}

impl PercentilesSnapshot {
    /// The value for a key such as `"p99.9"`.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.quantiles.iter().find(|(k, _)| k == key).map(|q| q.1)
    }
}

impl SlidingPercentiles {
    /// The clock the window is read on.
    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Quantiles (in percent) over `window`, keeping at most `max_samples`, on
    /// the system clock.
    ///
    /// # Errors
    ///
    /// [`Error::Window`], [`Error::WindowTooLong`], [`Error::NoQuantiles`],
    /// [`Error::Quantile`] or [`Error::MaxSamples`].
    pub fn new(window: Duration, quantiles: &[f64], max_samples: usize) -> Result<Self, Error> {
        Self::with_clock(window, quantiles, max_samples, &Clock::system())
    }

    /// Like [`new`](Self::new), on `clock`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_clock(
        window: Duration,
        quantiles: &[f64],
        max_samples: usize,
        clock: &Clock,
    ) -> Result<Self, Error> {
        let window = params::check_window(window)?;
        params::check_quantiles(quantiles)?;
        let max_samples = params::check_max_samples(max_samples)?;
        // A quantile given twice would write its key twice into the JSON
        // object; keep its first place.
        let (mut qs, mut keys) = (Vec::new(), Vec::<Box<str>>::new());
        for &q in quantiles {
            let key = params::quantile_key(q);
            if !keys.iter().any(|k| **k == *key) {
                qs.push(q);
                keys.push(key.into_boxed_str());
            }
        }
        Ok(SlidingPercentiles {
            clock: clock.clone(),
            window: params::window_nanos(window),
            quantiles: qs.into(),
            keys: keys.into(),
            max_samples,
            samples: (0..shard_count())
                .map(|_| CachePadded::new(Mutex::new(VecDeque::new())))
                .collect(),
        })
    }

    /// The quantiles, in percent, in the order given (a repeated one once).
    pub fn quantiles(&self) -> &[f64] {
        &self.quantiles
    }

    /// Records one sample (a NaN or infinite one is ignored). When
    /// `max_samples` are held, the oldest goes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use monsta_core::{clock::ManualClock, fields::SlidingPercentiles};
    ///
    /// let clock = ManualClock::new();
    /// let window = Duration::from_secs(60);
    /// let p = SlidingPercentiles::with_clock(window, &[50.0], 3, &clock.clock())?;
    /// for x in [100.0, 1.0, 2.0, 3.0, f64::NAN] {
    ///     p.update(x);
    /// }
    /// let s = p.get();
    /// assert_eq!((s.n, s.min, s.max, s.get("p50")), (3, 1.0, 3.0, Some(2.0)));
    /// # Ok::<(), monsta_core::Error>(())
    /// ```
    #[inline]
    pub fn update(&self, x: f64) {
        if !x.is_finite() {
            return;
        }
        let shard = thread_index() & (self.samples.len() - 1);
        let mut s = self.samples[shard].lock();
        // Read under the lock: samples enter the deque in time order, so the
        // sweep from the front finds every expired one.
        let now = self.clock.nanos();
        self.sweep(&mut s, now);
        if s.len() >= self.max_samples {
            s.pop_front();
        }
        s.push_back((now, x));
    }

    /// Drops every sample.
    pub fn reset(&self) {
        for s in self.samples.iter() {
            s.lock().clear();
        }
    }

    /// The quantiles of the samples in the window now.
    pub fn get(&self) -> PercentilesSnapshot {
        let values = self.sorted();
        PercentilesSnapshot {
            n: values.len() as u64,
            quantiles: self
                .keys
                .iter()
                .zip(self.quantiles.iter())
                .map(|(k, &q)| (k.to_string(), quantile_or_zero(&values, q)))
                .collect(),
            min: values.first().copied().unwrap_or(0.0),
            max: values.last().copied().unwrap_or(0.0),
        }
    }

    /// The samples in the window now, sorted (copied under the lock, sorted
    /// outside it).
    fn sorted(&self) -> Vec<f64> {
        let mut live = Vec::new();
        for s in self.samples.iter() {
            let mut s = s.lock();
            let now = self.clock.nanos();
            self.sweep(&mut s, now);
            live.extend(s.iter().copied());
        }
        if live.len() > self.max_samples {
            // Each buffer keeps its own most recent `max_samples`, so the
            // most recent of all are among them.
            let drop = live.len() - self.max_samples;
            live.select_nth_unstable_by_key(drop, |&(t, _)| t);
            live.drain(..drop);
        }
        let mut values: Vec<f64> = live.into_iter().map(|(_, v)| v).collect();
        values.sort_unstable_by(f64::total_cmp);
        values
    }

    fn sweep(&self, s: &mut VecDeque<(u64, f64)>, now: u64) {
        let cutoff = now.saturating_sub(self.window);
        while s.front().is_some_and(|&(t, _)| t < cutoff) {
            s.pop_front();
        }
    }
}

/// [`quantile_sorted`], or 0 when there is no sample.
fn quantile_or_zero(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        quantile_sorted(values, q)
    }
}

/// The `q`-th percentile of sorted, non-empty `values`, by linear
/// interpolation between the closest ranks, computed as numpy's default
/// (`method="linear"`) computes it, to the last bit: the rank is
/// `q / 100 * (n - 1)`, and between the neighbours `a` and `b` at fraction `t`
/// the value is `a + (b - a) * t` for `t < 0.5`, else `b - (b - a) * (1 - t)`.
///
/// Where `b - a` overflows (samples near `±f64::MAX`), the result is the
/// weighted sum kept within `[a, b]`, so it is never NaN or infinite.
pub(crate) fn quantile_sorted(values: &[f64], q: f64) -> f64 {
    let n = values.len();
    if n == 1 {
        return values[0];
    }
    let rank = q / 100.0 * (n - 1) as f64;
    let lo = (rank.floor() as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let t = rank - lo as f64;
    let (a, b) = (values[lo], values[hi]);
    let diff = b - a;
    let v = if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    };
    if v.is_finite() {
        v
    } else {
        (a * (1.0 - t) + b * t).clamp(a, b)
    }
}

impl Default for SlidingPercentiles {
    /// 600 s, quantiles 50, 90, 95, 99, at most 10 000 samples.
    fn default() -> Self {
        Self::build(&FieldConfig::default(), &Clock::system())
            .unwrap_or_else(|_| unreachable!("the defaults are valid"))
    }
}

impl Field for SlidingPercentiles {
    type Snapshot = PercentilesSnapshot;
    const KIND: FieldKind = FieldKind::SlidingPercentiles;
    /// The quantiles as one gauge family labelled `percentile` (`50`,
    /// `99.9`: the key without its `p`), and gauges of the window's sample
    /// count, smallest and largest sample. Not a summary: a summary's
    /// quantiles come with a sum and a count of everything ever observed,
    /// which a sliding window does not keep.
    const FAMILIES: &'static [Family] = &[
        Family::gauge("", "percentiles")
            .with_unit()
            .with_label("percentile"),
        Family::gauge("samples", "samples in the window"),
        Family::gauge("min", "smallest sample").with_unit(),
        Family::gauge("max", "largest sample").with_unit(),
    ];
    fn snapshot(&self) -> PercentilesSnapshot {
        self.get()
    }
    fn export(&self, out: &mut dyn Samples) {
        let values = self.sorted();
        for (k, &q) in self.keys.iter().zip(self.quantiles.iter()) {
            let label = k.strip_prefix('p').unwrap_or(k);
            out.labelled(0, label, quantile_or_zero(&values, q));
        }
        out.gauge(1, values.len() as f64);
        out.gauge(2, values.first().copied().unwrap_or(0.0));
        out.gauge(3, values.last().copied().unwrap_or(0.0));
    }
}

/// The same JSON as [`PercentilesSnapshot`]'s, written without building one
/// (the keys are borrowed from the field).
impl Serialize for SlidingPercentiles {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let values = self.sorted();
        let mut map = s.serialize_map(Some(self.keys.len() + 3))?;
        map.serialize_entry("n", &(values.len() as u64))?;
        for (k, &q) in self.keys.iter().zip(self.quantiles.iter()) {
            map.serialize_entry(&**k, &quantile_or_zero(&values, q))?;
        }
        map.serialize_entry("min", &values.first().copied().unwrap_or(0.0))?;
        map.serialize_entry("max", &values.last().copied().unwrap_or(0.0))?;
        map.end()
    }
}

impl Build for SlidingPercentiles {
    fn build(config: &FieldConfig, clock: &Clock) -> Result<Self, Error> {
        Self::with_clock(
            config.window.unwrap_or(Duration::from_secs(600)),
            config.quantiles.unwrap_or(&[50.0, 90.0, 95.0, 99.0]),
            config.max_samples.unwrap_or(10_000),
            clock,
        )
    }
}

impl Serialize for PercentilesSnapshot {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.quantiles.len() + 3))?;
        map.serialize_entry("n", &self.n)?;
        for (k, v) in &self.quantiles {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry("min", &self.min)?;
        map.serialize_entry("max", &self.max)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for PercentilesSnapshot {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PercentilesSnapshot;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a map with "n", "p<quantile>" keys, "min" and "max""#)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = PercentilesSnapshot::default();
                let (mut n, mut min, mut max) = (false, false, false);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "n" => (out.n, n) = (map.next_value()?, true),
                        "min" => (out.min, min) = (map.next_value()?, true),
                        "max" => (out.max, max) = (map.next_value()?, true),
                        k if k.starts_with('p') => {
                            let v = map.next_value()?;
                            out.quantiles.push((key, v));
                        }
                        _ => {
                            return Err(serde::de::Error::unknown_field(
                                &key,
                                &["n", "p<quantile>", "min", "max"],
                            ));
                        }
                    }
                }
                for (seen, name) in [(n, "n"), (min, "min"), (max, "max")] {
                    if !seen {
                        return Err(serde::de::Error::missing_field(name));
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}
