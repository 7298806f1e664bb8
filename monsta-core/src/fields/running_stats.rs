use crossbeam_utils::CachePadded;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::{
    Clock, Error,
    export::Family,
    fields::{Build, FieldConfig, struct_field},
};

/// Count, mean, standard deviation, min and max of every sample seen, in
/// constant memory (Welford's algorithm).
///
/// `stddev` is the population one, `sqrt(m2 / n)`, and 0 for `n < 2`; `min`
/// and `max` are 0.0 before the first sample. A NaN or infinite sample is
/// ignored.
///
/// JSON: `{"n", "mean", "stddev", "min", "max"}`.
///
/// Welford's state is five words that must change together. Each thread
/// updates its own accumulator (sharded like [`Counter`](super::Counter),
/// behind an uncontended lock of its own), so updates from several threads
/// don't queue on one lock; a read merges the accumulators with Chan et al.'s
/// parallel formula, which is exact in real arithmetic.
///
/// # Examples
///
/// ```
/// use monsta_core::fields::RunningStats;
///
/// let latency = RunningStats::new();
/// for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
///     latency.update(x);
/// }
/// let s = latency.get();
/// assert_eq!((s.n, s.mean, s.stddev, s.min, s.max), (8, 5.0, 2.0, 2.0, 9.0));
/// ```
#[derive(Debug)]
pub struct RunningStats {
    shards: Box<[CachePadded<Mutex<Welford>>]>,
    mask: usize,
}

/// The value of a [`RunningStats`].
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunningStatsSnapshot {
    /// How many samples were seen.
    pub n: u64,
    /// Their mean (0 when `n` = 0). Samples near `±f64::MAX` can overflow it
    /// to an infinity or NaN, written as `null` and read back as NaN.
    #[serde(deserialize_with = "crate::fields::deserialize_nullable_f64")]
    pub mean: f64,
    /// Their population standard deviation (0 when `n` < 2).
    #[serde(deserialize_with = "crate::fields::deserialize_nullable_f64")]
    pub stddev: f64,
    /// The smallest (0 when `n` = 0).
    pub min: f64,
    /// The largest (0 when `n` = 0).
    pub max: f64,
}

#[derive(Debug, Clone, Copy)]
struct Welford {
    n: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

const EMPTY: Welford = Welford {
    n: 0,
    mean: 0.0,
    m2: 0.0,
    min: f64::INFINITY,
    max: f64::NEG_INFINITY,
};

impl Welford {
    #[inline]
    fn push(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    fn merge(self, o: Welford) -> Welford {
        if o.n == 0 {
            return self;
        }
        if self.n == 0 {
            return o;
        }
        let n = self.n + o.n;
        let delta = o.mean - self.mean;
        let (na, nb, nn) = (self.n as f64, o.n as f64, n as f64);
        Welford {
            n,
            mean: self.mean + delta * nb / nn,
            m2: self.m2 + o.m2 + delta * delta * na * nb / nn,
            min: self.min.min(o.min),
            max: self.max.max(o.max),
        }
    }
}

impl RunningStats {
    /// Empty statistics.
    pub fn new() -> Self {
        let n = crate::shard::shard_count();
        RunningStats {
            shards: (0..n)
                .map(|_| CachePadded::new(Mutex::new(EMPTY)))
                .collect(),
            mask: n - 1,
        }
    }

    /// Adds one sample.
    #[inline]
    pub fn update(&self, x: f64) {
        if x.is_finite() {
            self.shards[crate::shard::thread_index() & self.mask]
                .lock()
                .push(x);
        }
    }

    /// The statistics so far.
    pub fn get(&self) -> RunningStatsSnapshot {
        let w = self
            .shards
            .iter()
            .map(|s| *s.lock())
            .fold(EMPTY, Welford::merge);
        if w.n == 0 {
            return RunningStatsSnapshot::default();
        }
        RunningStatsSnapshot {
            n: w.n,
            mean: w.mean,
            stddev: if w.n < 2 {
                0.0
            } else {
                // Not `max(0.0)`: that would turn an overflowed (NaN) m2 into
                // a plausible-looking 0; rounding can make m2 slightly negative.
                let var = w.m2 / w.n as f64;
                if var < 0.0 { 0.0 } else { var.sqrt() }
            },
            min: w.min,
            max: w.max,
        }
    }

    /// Forgets every sample.
    pub fn reset(&self) {
        for s in self.shards.iter() {
            *s.lock() = EMPTY;
        }
    }
}

impl Default for RunningStats {
    fn default() -> Self {
        Self::new()
    }
}

struct_field!(
    RunningStats,
    RunningStatsSnapshot,
    &[
        Family::counter("samples", "number of samples"),
        Family::gauge("mean", "mean").with_unit(),
        Family::gauge("stddev", "population standard deviation").with_unit(),
        Family::gauge("min", "smallest sample").with_unit(),
        Family::gauge("max", "largest sample").with_unit(),
    ],
    |s, out| {
        out.counter(0, s.n);
        [s.mean, s.stddev, s.min, s.max]
            .into_iter()
            .enumerate()
            .for_each(|(i, v)| out.gauge(i + 1, v));
    }
);

impl Build for RunningStats {
    fn build(_: &FieldConfig, _: &Clock) -> Result<Self, Error> {
        Ok(Self::new())
    }
}
