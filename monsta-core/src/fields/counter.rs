use serde::{Serialize, Serializer};

use crate::{
    Clock, Error,
    export::{Family, Samples},
    fields::{Build, Field, FieldConfig, FieldKind},
    shard::ShardedU64,
};

/// A plain `u64` count.
///
/// JSON: an integer. The counter is sharded per thread, so threads counting
/// at once don't slow each other down; [`get`](Self::get) adds the shards up.
/// Each of the first threads (as many as there are shards: twice the cores,
/// 4 to 64) owns a shard, which no other thread writes, so its `inc` is a
/// plain load and store, cheaper than an atomic add; a thread beyond them
/// shares a shard and adds to it atomically. No increment is lost with any
/// number of threads.
///
/// Arithmetic wraps at `u64::MAX` (like an atomic add, and like a Prometheus
/// counter that restarts); at a billion increments a second that is 584 years.
///
/// [`set`](Self::set) and [`reset`](Self::reset) move the base the shards
/// are counted from (readers never write a thread's shard): an `inc` racing
/// with them lands before or after, never in neither, and two of them at once
/// both take effect, one after the other. Inside a
/// [`transaction`](crate::AppState::transaction) they are atomic with respect
/// to snapshots.
///
/// Prometheus sees a counter (`<name>_total`), which only grows. A `set` to a
/// lower value or a `reset` looks to it like a restart of the process:
/// `rate()` and `increase()` take the drop for a counter reset and count on
/// from the new value, but what was counted since the last scrape before the
/// drop is lost to them. Lower a counter only when what it counts really
/// starts over; for a value that goes up and down, use a
/// [`Gauge`](crate::fields::Gauge).
///
/// # Examples
///
/// ```
/// use monsta_core::fields::Counter;
///
/// let calls = Counter::new();
/// calls.inc(1);
/// calls.inc(2);
/// assert_eq!(calls.get(), 3);
/// assert_eq!(serde_json::to_string(&calls).unwrap(), "3");
/// calls.set(u64::MAX);
/// calls.inc(1);
/// assert_eq!(calls.get(), 0); // wraps
/// ```
#[derive(Debug)]
pub struct Counter(ShardedU64);

impl Counter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::with_value(0)
    }

    /// A counter starting at `value`.
    pub fn with_value(value: u64) -> Self {
        Counter(ShardedU64::new(value))
    }

    /// A counter at zero that makes its per-thread shards only when a
    /// second thread updates it: the first thread to update it owns one
    /// cell and adds to it with a plain load and store, as each thread does
    /// to its own shard of a [`new`](Self::new) counter. So a counter that
    /// one thread updates costs 48 bytes (against a cache line per shard),
    /// and an update costs the same either way. What the series of a
    /// [`Family`](super::Family) of counters are.
    ///
    /// ```
    /// use monsta_core::fields::Counter;
    ///
    /// let c = Counter::lazy();
    /// c.inc(2);
    /// assert_eq!(c.get(), 2);
    /// assert!(!c.is_sharded());
    /// std::thread::scope(|s| {
    ///     s.spawn(|| c.inc(1));
    /// });
    /// assert_eq!(c.get(), 3);
    /// assert!(c.is_sharded());
    /// ```
    pub fn lazy() -> Self {
        Counter(ShardedU64::lazy(0))
    }

    /// Whether the counter has its per-thread shards: from [`new`](Self::new)
    /// on, from [`lazy`](Self::lazy) once a second thread updated it.
    pub fn is_sharded(&self) -> bool {
        self.0.is_sharded()
    }

    /// Adds `n`.
    #[inline]
    pub fn inc(&self, n: u64) {
        self.0.add(n);
    }

    /// The current count.
    pub fn get(&self) -> u64 {
        self.0.sum()
    }

    /// Replaces the count with `value`.
    pub fn set(&self, value: u64) {
        self.0.store(value);
    }

    /// Sets the count to zero and returns what it was.
    pub fn reset(&self) -> u64 {
        self.0.take()
    }
}

impl Default for Counter {
    fn default() -> Self {
        Self::new()
    }
}

impl From<u64> for Counter {
    fn from(value: u64) -> Self {
        Self::with_value(value)
    }
}

impl Serialize for Counter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.get())
    }
}

impl Field for Counter {
    type Snapshot = u64;
    const KIND: FieldKind = FieldKind::Counter;
    /// One counter family, the field's own name, with its unit.
    const FAMILIES: &'static [Family] = &[Family::counter("", "").with_unit()];
    fn snapshot(&self) -> u64 {
        self.get()
    }
    fn export(&self, out: &mut dyn Samples) {
        out.counter(0, self.get());
    }
}

impl Build for Counter {
    fn build(_: &FieldConfig, _: &Clock) -> Result<Self, Error> {
        Ok(Self::new())
    }

    /// [`Counter::lazy`]: a family's counters cost a few words each until
    /// a second thread updates them.
    fn build_series(_: &FieldConfig, _: &Clock) -> Result<Self, Error> {
        Ok(Self::lazy())
    }
}
