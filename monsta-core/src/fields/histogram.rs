use std::{
    borrow::Cow,
    sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
};

use crossbeam_utils::CachePadded;
use serde::{Deserialize, Serialize, Serializer};

use crate::{
    Clock, Error,
    export::{Family, HistogramSample, Samples},
    fields::{Build, Field, FieldConfig, FieldKind},
    params,
    shard::{add_f64, shard_count, thread_index},
};

/// Classic cumulative histogram buckets: how many observations were at most
/// each upper bound, their sum and their count, exported as Prometheus'
/// `_bucket{le="..."}`, `_sum` and `_count`, so that `histogram_quantile`
/// and sums across instances work on them.
///
/// The buckets are written in the attribute (`buckets = [0.01, 0.1, 1]`,
/// `buckets = exponential_buckets(0.001, 2, 12)` or
/// `buckets = linear_buckets(10, 10, 5)`, see
/// [`params::exponential_buckets`] and [`params::linear_buckets`]), or are
/// Prometheus' default buckets ([`params::DEFAULT_BUCKETS`]). An
/// observation goes into the first bucket whose bound is at least it
/// (`le` is "less than or equal"); the `+Inf` bucket is always there and
/// equals `count`. A NaN or infinite observation is ignored, like a
/// [`RunningStats`](super::RunningStats)' sample.
///
/// JSON: `{"count": 3, "sum": 0.6, "buckets": [[0.1, 1], [0.5, 3]]}`: the
/// cumulative count of each finite bound, in increasing order (the `+Inf`
/// bucket is `count`).
///
/// **Memory and contention.** A histogram starts as one array of counters,
/// 8 bytes per bucket (the `+Inf` one included), next to 72 bytes of its
/// own; the bounds of an attribute (or the defaults) are shared, not copied:
/// a series nobody fights over costs `(b + 1) × 8 + 72` bytes for `b`
/// bounds (168 with the 11 default bounds). The first time two threads
/// update it at the same moment (a failed compare-and-swap of the sum
/// tells), it grows per-thread shards, [`Counter`](super::Counter)'s shard
/// count of them (twice the cores, 4 to 64), each a cache line and its own
/// array: `s × (128 + (b + 1) × 8)` bytes more (2.5 KiB with the default
/// bounds and 16 shards), after which threads observing at once don't slow
/// each other down.
///
/// # Examples
///
/// ```
/// use monsta_core::fields::Histogram;
///
/// let latency = Histogram::new(&[0.1, 0.5, 1.0])?;
/// for x in [0.25, 0.5, 0.5, 2.0] {
///     latency.observe(x);
/// }
/// let h = latency.get();
/// assert_eq!(h.count, 4);
/// assert_eq!(h.buckets, [(0.1, 0), (0.5, 3), (1.0, 3)]);
/// assert_eq!(
///     serde_json::to_string(&latency).unwrap(),
///     r#"{"count":4,"sum":3.25,"buckets":[[0.1,0],[0.5,3],[1.0,3]]}"#
/// );
/// # Ok::<(), monsta_core::Error>(())
/// ```
#[derive(Debug)]
pub struct Histogram {
    /// The finite upper bounds, strictly increasing: those of the
    /// attribute (or the defaults) are shared, not copied per series.
    bounds: Cow<'static, [f64]>,
    /// The counters every update uses until the histogram is contended.
    base: Cells,
    /// Per-thread counters, made on the first contended update.
    shards: OnceLock<Box<[CachePadded<Cells>]>>,
}

/// One set of counters: a count per bucket (the last is `+Inf`), not
/// cumulative, and the sum as `f64` bits.
#[derive(Debug)]
struct Cells {
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
}

impl Cells {
    fn new(buckets: usize) -> Self {
        Cells {
            counts: (0..buckets).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }

    fn reset(&self) {
        self.counts.iter().for_each(|c| c.store(0, Relaxed));
        self.sum.store(0f64.to_bits(), Relaxed);
    }
}

/// The value of a [`Histogram`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HistogramSnapshot {
    /// How many observations there were (the `+Inf` bucket).
    pub count: u64,
    /// Their sum; one that overflowed is written as `null`, read back as NaN.
    #[serde(deserialize_with = "crate::fields::deserialize_nullable_f64")]
    pub sum: f64,
    /// `(le, count)`: how many observations were at most `le`, for each
    /// finite bound in increasing order.
    pub buckets: Vec<(f64, u64)>,
}

impl HistogramSnapshot {
    /// The snapshot as an exported sample.
    pub fn sample(&self) -> HistogramSample<'_> {
        HistogramSample {
            buckets: &self.buckets,
            sum: self.sum,
            count: self.count,
        }
    }
}

impl Histogram {
    /// An empty histogram with these finite upper bounds (strictly
    /// increasing; the `+Inf` bucket is added).
    ///
    /// # Errors
    ///
    /// [`Error::Buckets`] for bounds that [`params::check_buckets`]
    /// rejects.
    pub fn new(bounds: &[f64]) -> Result<Self, Error> {
        params::check_buckets(bounds)?;
        Ok(Self::with_bounds(Cow::Owned(bounds.to_vec())))
    }

    fn with_bounds(bounds: Cow<'static, [f64]>) -> Self {
        Histogram {
            base: Cells::new(bounds.len() + 1),
            bounds,
            shards: OnceLock::new(),
        }
    }

    /// The finite upper bounds.
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// Counts one observation. A NaN or infinite one is ignored.
    #[inline]
    pub fn observe(&self, x: f64) {
        if !x.is_finite() {
            return;
        }
        let bucket = self.bucket(x);
        if let Some(shards) = self.shards.get() {
            let cells = &shards[thread_index() & (shards.len() - 1)];
            cells.counts[bucket].fetch_add(1, Relaxed);
            add_f64(&cells.sum, x);
            return;
        }
        self.base.counts[bucket].fetch_add(1, Relaxed);
        let cur = self.base.sum.load(Relaxed);
        let new = (f64::from_bits(cur) + x).to_bits();
        if self
            .base
            .sum
            .compare_exchange(cur, new, Relaxed, Relaxed)
            .is_err()
        {
            // Another thread updated it in between: contended from now on.
            self.grow();
            add_f64(&self.base.sum, x);
        }
    }

    #[inline]
    fn bucket(&self, x: f64) -> usize {
        // Few bounds: a linear scan beats a binary search.
        if self.bounds.len() <= 16 {
            self.bounds
                .iter()
                .position(|&b| x <= b)
                .unwrap_or(self.bounds.len())
        } else {
            self.bounds.partition_point(|&b| b < x)
        }
    }

    #[cold]
    fn grow(&self) {
        self.shards.get_or_init(|| {
            (0..shard_count())
                .map(|_| CachePadded::new(Cells::new(self.bounds.len() + 1)))
                .collect()
        });
    }

    /// Whether the histogram has grown per-thread shards (it has seen two
    /// threads update it at once).
    pub fn is_sharded(&self) -> bool {
        self.shards.get().is_some()
    }

    fn cells(&self) -> impl Iterator<Item = &Cells> {
        std::iter::once(&self.base).chain(self.shards.get().into_iter().flatten().map(|c| &**c))
    }

    /// The buckets, sum and count so far. `count` is the sum of the bucket
    /// counts read, so it always equals the `+Inf` bucket.
    pub fn get(&self) -> HistogramSnapshot {
        let mut counts = vec![0u64; self.bounds.len() + 1];
        let mut sum = 0.0;
        for cells in self.cells() {
            for (total, c) in counts.iter_mut().zip(cells.counts.iter()) {
                *total = total.wrapping_add(c.load(Relaxed));
            }
            sum += f64::from_bits(cells.sum.load(Relaxed));
        }
        let mut cumulative = 0u64;
        let mut buckets = Vec::with_capacity(self.bounds.len());
        for (i, &c) in counts.iter().enumerate() {
            cumulative = cumulative.wrapping_add(c);
            if let Some(&le) = self.bounds.get(i) {
                buckets.push((le, cumulative));
            }
        }
        HistogramSnapshot {
            count: cumulative,
            sum,
            buckets,
        }
    }

    /// Forgets every observation (the buckets stay).
    pub fn reset(&self) {
        self.cells().for_each(Cells::reset);
    }
}

impl Default for Histogram {
    /// A histogram with [`params::DEFAULT_BUCKETS`].
    fn default() -> Self {
        Self::with_bounds(Cow::Borrowed(params::DEFAULT_BUCKETS))
    }
}

impl Serialize for Histogram {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(s)
    }
}

impl Field for Histogram {
    type Snapshot = HistogramSnapshot;
    const KIND: FieldKind = FieldKind::Histogram;
    /// One histogram family, the field's own name, with its unit.
    const FAMILIES: &'static [Family] = &[Family::histogram("", "").with_unit()];
    fn snapshot(&self) -> HistogramSnapshot {
        self.get()
    }
    fn export(&self, out: &mut dyn Samples) {
        out.histogram(0, self.get().sample());
    }
}

impl Build for Histogram {
    fn build(config: &FieldConfig, _: &Clock) -> Result<Self, Error> {
        match config.buckets {
            Some(bounds) => {
                params::check_buckets(bounds)?;
                Ok(Self::with_bounds(Cow::Borrowed(bounds)))
            }
            None => Ok(Self::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bounds_are_checked() {
        assert!(matches!(Histogram::new(&[]), Err(Error::Buckets(_))));
        assert!(matches!(
            Histogram::new(&[2.0, 1.0]),
            Err(Error::Buckets(_))
        ));
        assert!(matches!(
            Histogram::new(&[1.0, f64::INFINITY]),
            Err(Error::Buckets(_))
        ));
        assert_eq!(Histogram::default().bounds(), params::DEFAULT_BUCKETS);
    }

    #[test]
    fn an_observation_on_a_bound_counts_in_its_bucket_and_non_finite_ones_are_ignored() {
        let h = Histogram::new(&[1.0, 2.0]).unwrap();
        h.observe(1.0);
        h.observe(f64::NAN);
        h.observe(f64::INFINITY);
        h.observe(3.0);
        let s = h.get();
        assert_eq!(s.buckets, [(1.0, 1), (2.0, 1)]);
        assert_eq!((s.count, s.sum), (2, 4.0));
        h.reset();
        assert_eq!(h.get().count, 0);
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_uncontended_histogram_is_as_small_as_documented() {
        assert_eq!(std::mem::size_of::<Histogram>(), 72);
        let built = Histogram::build(&FieldConfig::default(), &Clock::system()).unwrap();
        // The default bounds are shared, not copied.
        assert!(matches!(built.bounds, Cow::Borrowed(_)));
        assert_eq!(built.bounds(), params::DEFAULT_BUCKETS);
        let config = FieldConfig {
            buckets: Some(&[1.0, 2.0]),
            ..FieldConfig::default()
        };
        let built = Histogram::build(&config, &Clock::system()).unwrap();
        assert!(matches!(built.bounds, Cow::Borrowed(_)));
        assert!(
            Histogram::build(
                &FieldConfig {
                    buckets: Some(&[2.0, 1.0]),
                    ..FieldConfig::default()
                },
                &Clock::system()
            )
            .is_err()
        );
    }

    #[test]
    fn a_snapshot_round_trips_through_json() {
        let h = Histogram::new(&[0.5, 1.5]).unwrap();
        h.observe(1.0);
        let json = serde_json::to_string(&h).unwrap();
        let back: HistogramSnapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, h.get());
    }

    #[test]
    fn two_threads_lose_no_observation() {
        let h = Histogram::new(&params::linear_buckets(0.0, 10.0, 10).unwrap()).unwrap();
        assert!(!h.is_sharded());
        let n = 200_000u64;
        std::thread::scope(|s| {
            for t in 0..2 {
                let h = &h;
                s.spawn(move || (0..n).for_each(|i| h.observe(((i + t) % 100) as f64)));
            }
        });
        let s = h.get();
        assert_eq!(s.count, 2 * n);
        // Each thread's values sum to n / 100 × (0 + … + 99).
        assert_eq!(s.sum, 2.0 * (n / 100) as f64 * 4950.0);
    }

    proptest! {
        #[test]
        fn buckets_are_cumulative_and_count_is_every_observation(
            xs in prop::collection::vec(-10.0f64..110.0, 0..200),
            threads in 1usize..4,
        ) {
            let h = Histogram::new(&params::exponential_buckets(1.0, 2.0, 7).unwrap()).unwrap();
            std::thread::scope(|s| {
                for chunk in xs.chunks(xs.len().div_ceil(threads).max(1)) {
                    let h = &h;
                    s.spawn(move || chunk.iter().for_each(|&x| h.observe(x)));
                }
            });
            let snap = h.get();
            prop_assert_eq!(snap.count, xs.len() as u64);
            prop_assert!(snap.buckets.windows(2).all(|w| w[0].1 <= w[1].1));
            for &(le, c) in &snap.buckets {
                prop_assert_eq!(c, xs.iter().filter(|&&x| x <= le).count() as u64);
            }
        }
    }
}
