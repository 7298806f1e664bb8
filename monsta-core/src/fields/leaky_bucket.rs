use crossbeam_utils::CachePadded;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::{
    Clock, Error,
    export::Family,
    fields::{Build, FieldConfig, struct_field},
    params,
};

/// A leaky-bucket rate limiter: the level drains at `leak_rate` per second;
/// [`request`](Self::request) admits an amount if it fits under `capacity`.
///
/// JSON: `{"level", "capacity", "full"}`, `full` being `level >= capacity`.
/// No assignment: the bucket only fills through `request`.
///
/// Level and last-drain time change together under a small mutex (a
/// compare-exchange on two words would need a 16-byte atomic the standard
/// library doesn't have); `request` holds it for a few arithmetic operations.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use monsta_core::{clock::ManualClock, fields::LeakyBucket};
///
/// let clock = ManualClock::new();
/// let limiter = LeakyBucket::with_clock(2.0, 1.0, &clock.clock())?;
/// assert!(limiter.request(1.0));
/// assert!(limiter.request(1.0));
/// assert!(!limiter.request(1.0)); // full
/// assert!(limiter.get().full);
/// clock.advance(Duration::from_secs(1)); // one drains away
/// assert!(limiter.request(1.0));
/// # Ok::<(), monsta_core::Error>(())
/// ```
#[derive(Debug)]
pub struct LeakyBucket {
    clock: Clock,
    capacity: f64,
    leak_rate: f64,
    /// On a cache line of its own: the line that concurrent requests pass
    /// between cores holds the lock and the level, not the parameters.
    state: CachePadded<Mutex<Level>>,
}

#[derive(Debug)]
struct Level {
    level: f64,
    at: u64,
}

/// The value of a [`LeakyBucket`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LeakyBucketSnapshot {
    /// The current level, after draining.
    pub level: f64,
    /// The capacity.
    pub capacity: f64,
    /// Whether `level >= capacity`.
    pub full: bool,
}

impl LeakyBucket {
    /// An empty bucket on the system clock.
    ///
    /// # Errors
    ///
    /// [`Error::Capacity`] or [`Error::LeakRate`] unless both are positive and
    /// finite.
    pub fn new(capacity: f64, leak_rate: f64) -> Result<Self, Error> {
        Self::with_clock(capacity, leak_rate, &Clock::system())
    }

    /// Like [`new`](Self::new), on `clock`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_clock(capacity: f64, leak_rate: f64, clock: &Clock) -> Result<Self, Error> {
        let capacity = params::check_capacity(capacity)?;
        let leak_rate = params::check_leak_rate(leak_rate)?;
        Ok(LeakyBucket {
            clock: clock.clone(),
            capacity,
            leak_rate,
            state: CachePadded::new(Mutex::new(Level {
                level: 0.0,
                at: clock.nanos(),
            })),
        })
    }

    /// The capacity.
    pub fn capacity(&self) -> f64 {
        self.capacity
    }

    /// The drain rate, per second.
    pub fn leak_rate(&self) -> f64 {
        self.leak_rate
    }

    /// Drains, then adds `amount` if `level + amount <= capacity`; returns
    /// whether it did. An amount that is negative or not finite is refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use monsta_core::{clock::ManualClock, fields::LeakyBucket};
    ///
    /// let clock = ManualClock::new();
    /// let b = LeakyBucket::with_clock(10.0, 2.0, &clock.clock())?;
    /// assert!(b.request(8.0));
    /// assert!(!b.request(3.0)); // 8 + 3 > 10: refused whole, nothing added
    /// assert!(b.request(2.0)); // 8 + 2 = 10 fits
    /// clock.advance(Duration::from_millis(1500)); // 3 drain away
    /// assert_eq!(b.get().level, 7.0);
    /// assert!(!b.request(-1.0)); // a negative amount would empty the bucket
    /// assert!(!b.request(f64::NAN));
    /// # Ok::<(), monsta_core::Error>(())
    /// ```
    #[inline]
    pub fn request(&self, amount: f64) -> bool {
        if !(amount >= 0.0 && amount.is_finite()) {
            return false;
        }
        let now = self.clock.nanos();
        let mut s = self.state.lock();
        s.level = self.drained(&s, now);
        s.at = s.at.max(now);
        if s.level + amount <= self.capacity {
            s.level += amount;
            true
        } else {
            false
        }
    }

    /// Empties the bucket.
    pub fn reset(&self) {
        let mut s = self.state.lock();
        s.level = 0.0;
        s.at = self.clock.nanos();
    }

    /// The level now, and whether the bucket is full.
    pub fn get(&self) -> LeakyBucketSnapshot {
        let now = self.clock.nanos();
        let level = self.drained(&self.state.lock(), now);
        LeakyBucketSnapshot {
            level,
            capacity: self.capacity,
            full: level >= self.capacity,
        }
    }

    fn drained(&self, s: &Level, now: u64) -> f64 {
        // Nanoseconds times the rate, then to seconds: exact for whole
        // seconds and simple rates, where a per-nanosecond rate would not be.
        let elapsed = now.saturating_sub(s.at) as f64;
        (s.level - elapsed * self.leak_rate / 1e9).max(0.0)
    }
}

struct_field!(
    LeakyBucket,
    LeakyBucketSnapshot,
    &[
        Family::gauge("level", "level").with_unit(),
        Family::gauge("capacity", "capacity").with_unit(),
    ],
    |s, out| {
        out.gauge(0, s.level);
        out.gauge(1, s.capacity);
    }
);

impl Build for LeakyBucket {
    fn build(config: &FieldConfig, clock: &Clock) -> Result<Self, Error> {
        // The derive requires both attributes; a missing one is an error here
        // too rather than a made-up default.
        Self::with_clock(
            config.capacity.unwrap_or(f64::NAN),
            config.leak_rate.unwrap_or(f64::NAN),
            clock,
        )
    }
}
