use std::{
    sync::atomic::{AtomicU64, Ordering::*},
    time::Duration,
};

use parking_lot::Mutex;

use crate::{
    Clock, Error,
    fields::{Build, FieldConfig, windowed_field},
    params,
    shard::{Bucket, WindowSum},
};

/// Hits in the last window: a rate counter with two buckets.
///
/// Time is cut into windows of length `W`; the current window has index
/// `floor(now / W)`. The field keeps the current bucket `curr` and the previous
/// one `prev`. Every operation first rolls over: when the index has moved on,
/// `curr` becomes `prev` if the new index is the next one (else `prev` is
/// zeroed, the gap was idle), and `curr` starts from zero. The value blends
/// them by how much of the current window remains:
///
/// ```text
/// value = prev * clamp((W - now mod W) / W, 0, 1) + curr
/// ```
///
/// JSON: a number. Defaults: `W` = 60 s.
///
/// Prometheus: the windowed value is a gauge `<name>`, and
/// [`added`](Self::added), the total of every increment since the field was
/// made, is a counter `<name>_added` (sample `<name>_added_total`). The
/// windowed values of several instances must not be summed;
/// `sum(rate(<name>_added_total[5m]))` is the rate of them all. Rollovers,
/// [`set`](Self::set) and [`reset`](Self::reset) leave the total as it is; a
/// negative `inc` lowers it (which Prometheus reads as a counter reset); a
/// non-finite increment is not counted, and neither are the other fractional
/// increments of the bucket it was added to (it makes the bucket's `f64`
/// part NaN). The total is worked out at the rollover and on reads: `inc`
/// does no more work for it.
///
/// `inc` is lock-free: it compares the coarse time with the end of the
/// current bucket (two loads, no division) and adds to a cell of the calling
/// thread's own. An integral increment (`inc(1.0)`, below 2^33) is added to
/// an integer: exactly, and on a thread that owns its shard (each of the
/// first threads does) with a plain store rather than a locked instruction.
/// Any other increment (a fraction, a non-finite or very large value) is
/// added in `f64` with a compare-exchange, as a sum of floats is. The
/// rollover, reads, `set` and `reset` take a small mutex.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use monsta_core::{clock::ManualClock, fields::SlidingWindow};
///
/// let clock = ManualClock::new();
/// let hits = SlidingWindow::with_clock(Duration::from_secs(60), &clock.clock())?;
/// hits.inc(10.0);
/// assert_eq!(hits.get(), 10.0);
/// clock.advance(Duration::from_secs(60)); // next window, at its start
/// assert_eq!(hits.get(), 10.0); // prev weighs 1
/// clock.advance(Duration::from_secs(15));
/// assert_eq!(hits.get(), 7.5); // prev weighs 45/60
/// hits.inc(1.0);
/// assert_eq!(hits.get(), 8.5);
/// # Ok::<(), monsta_core::Error>(())
/// ```
#[derive(Debug)]
pub struct SlidingWindow {
    clock: Clock,
    window: u64,
    /// When the current bucket ends (monotonic nanoseconds): the hot path's
    /// only check.
    curr_end: AtomicU64,
    curr: WindowSum,
    roll: Mutex<Buckets>,
}

#[derive(Debug)]
struct Buckets {
    index: u64,
    prev: f64,
    curr: Bucket,
}

impl SlidingWindow {
    /// A sliding window of length `window` on the system clock.
    ///
    /// # Errors
    ///
    /// [`Error::Window`] when `window` is zero, [`Error::WindowTooLong`] when it
    /// is longer than [`MAX_WINDOW`](params::MAX_WINDOW).
    pub fn new(window: Duration) -> Result<Self, Error> {
        Self::with_clock(window, &Clock::system())
    }

    /// A sliding window of length `window` on `clock`.
    ///
    /// # Errors
    ///
    /// [`Error::Window`] when `window` is zero, [`Error::WindowTooLong`] when it
    /// is longer than [`MAX_WINDOW`](params::MAX_WINDOW).
    pub fn with_clock(window: Duration, clock: &Clock) -> Result<Self, Error> {
        let window = params::check_window(window)?;
        let window = params::window_nanos(window);
        let now = clock.nanos();
        let index = now / window;
        let curr = WindowSum::new();
        Ok(SlidingWindow {
            clock: clock.clone(),
            window,
            curr_end: AtomicU64::new(end_of(index, window)),
            roll: Mutex::new(Buckets {
                index,
                prev: 0.0,
                curr: Bucket::new(&curr),
            }),
            curr,
        })
    }

    /// The window length.
    pub fn window(&self) -> Duration {
        Duration::from_nanos(self.window)
    }

    /// Adds `n` hits to the current bucket.
    #[inline]
    pub fn inc(&self, n: f64) {
        // The published time, one load: past the deadline (or not fresh,
        // which reads as past every deadline), the slow path.
        if self.clock.raw_nanos() >= self.curr_end.load(Acquire) {
            self.roll_over();
        }
        self.curr.add(n);
    }

    #[cold]
    #[inline(never)]
    fn roll_over(&self) {
        drop(self.rolled());
    }

    /// Overwrites the current bucket with `value` (to sync with an external
    /// count); the previous bucket keeps its share.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use monsta_core::{clock::ManualClock, fields::SlidingWindow};
    ///
    /// let clock = ManualClock::new();
    /// let hits = SlidingWindow::with_clock(Duration::from_secs(10), &clock.clock())?;
    /// hits.inc(4.0);
    /// clock.advance(Duration::from_secs(15)); // half into the next window
    /// hits.set(1.0);
    /// assert_eq!(hits.get(), 4.0 * 0.5 + 1.0);
    /// # Ok::<(), monsta_core::Error>(())
    /// ```
    pub fn set(&self, value: f64) {
        let mut b = self.rolled();
        b.curr.set(&self.curr, value);
    }

    /// Clears both buckets.
    pub fn reset(&self) {
        let mut b = self.roll.lock();
        b.index = self.clock.nanos() / self.window;
        b.prev = 0.0;
        b.curr.restart(&self.curr);
        self.curr_end.store(end_of(b.index, self.window), Release);
    }

    /// The hits in the last window, interpolated (see the type's docs).
    pub fn get(&self) -> f64 {
        let (b, now) = self.rolled_at();
        self.value_of(&b, now)
    }

    /// The total of every increment since the field was made: not lowered
    /// by rollovers, [`set`](Self::set) or [`reset`](Self::reset), lowered
    /// by a negative `inc`, without non-finite increments (see the type's
    /// docs). Exported as the counter `<name>_added`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use monsta_core::{clock::ManualClock, fields::SlidingWindow};
    ///
    /// let clock = ManualClock::new();
    /// let hits = SlidingWindow::with_clock(Duration::from_secs(60), &clock.clock())?;
    /// hits.inc(10.0);
    /// clock.advance(Duration::from_secs(180)); // the window is empty again
    /// hits.inc(0.5);
    /// assert_eq!((hits.get(), hits.added()), (0.5, 10.5));
    /// hits.reset();
    /// assert_eq!((hits.get(), hits.added()), (0.0, 10.5));
    /// # Ok::<(), monsta_core::Error>(())
    /// ```
    pub fn added(&self) -> f64 {
        self.value_and_added().1
    }

    /// [`get`](Self::get) and [`added`](Self::added) under one lock.
    fn value_and_added(&self) -> (f64, f64) {
        let (b, now) = self.rolled_at();
        (self.value_of(&b, now), b.curr.added(&self.curr))
    }

    fn value_of(&self, b: &Buckets, now: u64) -> f64 {
        let into = (now % self.window) as f64;
        let w = self.window as f64;
        let weight = ((w - into) / w).clamp(0.0, 1.0);
        b.prev * weight + b.curr.value(&self.curr)
    }

    fn rolled(&self) -> parking_lot::MutexGuard<'_, Buckets> {
        self.rolled_at().0
    }

    /// Rolls the buckets over to the current index and returns them locked,
    /// with the time it rolled to. The clock is read under the lock, so the
    /// index never moves backwards when threads race.
    fn rolled_at(&self) -> (parking_lot::MutexGuard<'_, Buckets>, u64) {
        let mut b = self.roll.lock();
        let now = self.clock.nanos();
        let index = now / self.window;
        if index > b.index {
            let curr = b.curr.restart(&self.curr);
            b.prev = if index == b.index + 1 { curr } else { 0.0 };
            b.index = index;
            self.curr_end.store(end_of(index, self.window), Release);
        }
        (b, now)
    }
}

fn end_of(index: u64, window: u64) -> u64 {
    index.saturating_add(1).saturating_mul(window)
}

impl Default for SlidingWindow {
    /// A 60-second window on the system clock.
    fn default() -> Self {
        Self::build(&FieldConfig::default(), &Clock::system())
            .unwrap_or_else(|_| unreachable!("60 s is a valid window"))
    }
}

windowed_field!(SlidingWindow);

impl Build for SlidingWindow {
    fn build(config: &FieldConfig, clock: &Clock) -> Result<Self, Error> {
        Self::with_clock(config.window.unwrap_or(Duration::from_secs(60)), clock)
    }
}
