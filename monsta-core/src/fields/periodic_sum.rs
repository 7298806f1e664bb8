use std::sync::atomic::{AtomicU64, Ordering::*};

use jiff::{
    Timestamp, ToSpan,
    civil::{Date, Time},
    tz::TimeZone,
};
use parking_lot::Mutex;

use crate::{
    Clock, Error,
    fields::{Build, FieldConfig, windowed_field},
    params,
    shard::{Bucket, WindowSum},
};

/// How long the hot path trusts its deadline before it looks at the wall
/// clock again: a wall clock step (NTP, a manual change) is noticed within
/// this time.
const RECHECK: u64 = 1_000_000_000;

/// A sum that returns to zero once a day, at a wall-clock time in a time zone:
/// "jobs today", "requests since 06:00 Berlin time".
///
/// The reset is lazy: the first operation after the most recent `reset_at`
/// finds the sum belongs to an earlier period and zeroes it. Periods are
/// computed with the zone's rules ([`jiff`]), so a day never has zero or two
/// resets:
///
/// - a `reset_at` in a DST gap (a time that doesn't exist that day) is read
///   with the offset before the change, so the reset comes as much later as
///   the gap is long: `02:30` in Berlin on 2024-03-31, when clocks jump from
///   02:00 to 03:00, resets at 03:30 (as Python's `zoneinfo` reads it);
/// - a `reset_at` in a repeated hour resets at its first occurrence: `02:30`
///   in Berlin on 2024-10-27 resets at 02:30 CEST, not again at 02:30 CET.
///
/// The period follows the wall clock, which may step (NTP, a manual change,
/// a suspended laptop), noticed within a second:
///
/// - a step forward past a reset time resets (once, however many reset times
///   it skips);
/// - a step back moves the period back without a reset, and the sum keeps
///   counting; resets resume at the next `reset_at` after the new wall time,
///   except that the reset that happened last is never repeated: a step back
///   across the midnight that just reset does not bring a second reset when
///   that midnight comes again;
/// - so after any step, forward, back, or forward then back (a year ahead and
///   back again), the field resets at the next `reset_at` as usual.
///
/// JSON: a number. Defaults: `reset_at` = 00:00, `tz` = the system's zone.
///
/// Prometheus: the sum is a gauge `<name>`, and [`added`](Self::added), the
/// total of every increment since the field was made, is a counter
/// `<name>_added` (sample `<name>_added_total`): its `rate()` can be summed
/// over instances, the daily sum can't. The daily reset, [`set`](Self::set)
/// and [`reset`](Self::reset) leave the total as it is; a negative `inc`
/// lowers it (which Prometheus reads as a counter reset); a non-finite
/// increment is not counted, and neither are the other fractional increments
/// of the period it was added in (it makes the period's `f64` part NaN).
///
/// `inc` compares the (coarse, monotonic) time with a deadline and adds to a
/// cell of the calling thread's own, as
/// [`SlidingWindow::inc`](crate::fields::SlidingWindow::inc) does: integral
/// increments exactly, in an integer, without a locked instruction on a
/// thread that owns its shard; others in `f64`. The wall clock and the zone
/// rules are only consulted once the deadline passes: at the next reset time
/// or after a second, whichever comes first.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use monsta_core::{clock::ManualClock, fields::PeriodicSum};
///
/// // 2024-03-30 is the day before Berlin's clocks go forward.
/// let clock = ManualClock::starting_at("2024-03-30T20:00:00Z".parse().unwrap());
/// let today = PeriodicSum::with_clock("06:00", Some("Europe/Berlin"), &clock.clock())?;
/// today.inc(5.0);
/// clock.advance(Duration::from_secs(6 * 3600)); // 02:00Z = 04:00 CEST
/// assert_eq!(today.get(), 5.0);
/// clock.advance(Duration::from_secs(2 * 3600)); // 04:00Z = 06:00 CEST
/// assert_eq!(today.get(), 0.0);
/// # Ok::<(), monsta_core::Error>(())
/// ```
#[derive(Debug)]
pub struct PeriodicSum {
    clock: Clock,
    reset_at: Time,
    tz: TimeZone,
    /// Monotonic nanoseconds after which the hot path takes the slow path.
    deadline: AtomicU64,
    sum: WindowSum,
    period: Mutex<Period>,
}

/// Where a [`PeriodicSum`] stands in wall-clock time.
#[derive(Debug, Clone, Copy)]
struct Period {
    /// Where the current period's sum starts.
    curr: Bucket,
    /// The start of the current period: the most recent `reset_at` at or
    /// before the wall time of the last look.
    start: Timestamp,
    /// The period start at which the sum was last zeroed (or the field
    /// created): a period the wall clock returns to after a step back does
    /// not reset a second time.
    zeroed: Timestamp,
}

impl Period {
    /// Moves to the period that starts at `start`; whether the sum must be
    /// zeroed.
    fn enter(&mut self, start: Timestamp) -> bool {
        let zero = start > self.start && start != self.zeroed;
        self.start = start;
        if zero {
            self.zeroed = start;
        }
        zero
    }
}

impl PeriodicSum {
    /// A sum that resets daily at `reset_at` (`"HH:MM"` or `"HH:MM:SS"`) in
    /// `tz` (an IANA name; `None` for the system's zone), on the system clock.
    ///
    /// # Errors
    ///
    /// [`Error::TimeOfDay`] for a bad `reset_at`, [`Error::TimeZone`] for an
    /// unknown zone.
    pub fn new(reset_at: &str, tz: Option<&str>) -> Result<Self, Error> {
        Self::with_clock(reset_at, tz, &Clock::system())
    }

    /// Like [`new`](Self::new), on `clock`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_clock(reset_at: &str, tz: Option<&str>, clock: &Clock) -> Result<Self, Error> {
        let reset_at = params::parse_time_of_day(reset_at)?;
        let tz = tz.map(params::time_zone).transpose()?;
        Ok(Self::from_parts(reset_at, tz, clock))
    }

    /// A sum with a parsed time of day and zone (`None`: the system's zone).
    pub fn from_parts(reset_at: Time, tz: Option<TimeZone>, clock: &Clock) -> Self {
        let tz = tz.unwrap_or_else(TimeZone::system);
        let sum = WindowSum::new();
        let s = PeriodicSum {
            clock: clock.clone(),
            reset_at,
            period: Mutex::new(Period {
                curr: Bucket::new(&sum),
                start: Timestamp::MIN,
                zeroed: Timestamp::MIN,
            }),
            tz,
            deadline: AtomicU64::new(0),
            sum,
        };
        s.reset();
        s
    }

    /// The daily reset time.
    pub fn reset_at(&self) -> Time {
        self.reset_at
    }

    /// The zone `reset_at` is read in.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// Adds `n`.
    #[inline]
    pub fn inc(&self, n: f64) {
        self.sync();
        self.sum.add(n);
    }

    /// Replaces the sum with `value`.
    pub fn set(&self, value: f64) {
        let mut p = self.synced();
        p.curr.set(&self.sum, value);
    }

    /// Sets the sum to zero now; the period is the current one.
    pub fn reset(&self) {
        let mut p = self.period.lock();
        let wall = self.clock.wall();
        let start = self.period_start(wall);
        // The daily reset of this period counts as done: a manual reset
        // after a step back does not bring a second one at the boundary the
        // wall clock returns to.
        p.zeroed = p.zeroed.max(start);
        p.start = start;
        p.curr.restart(&self.sum);
        self.arm(wall, start);
    }

    /// The sum since the most recent reset.
    pub fn get(&self) -> f64 {
        let p = self.synced();
        p.curr.value(&self.sum)
    }

    /// The total of every increment since the field was made: not lowered
    /// by the daily reset, [`set`](Self::set) or [`reset`](Self::reset),
    /// lowered by a negative `inc`, without non-finite increments (see the
    /// type's docs). Exported as the counter `<name>_added`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use monsta_core::{clock::ManualClock, fields::PeriodicSum};
    ///
    /// let clock = ManualClock::starting_at("2024-03-30T20:00:00Z".parse().unwrap());
    /// let today = PeriodicSum::with_clock("00:00", Some("UTC"), &clock.clock())?;
    /// today.inc(5.0);
    /// clock.advance(Duration::from_secs(6 * 3600)); // the next day
    /// today.inc(2.5);
    /// today.set(100.0); // the sum, not the total
    /// assert_eq!((today.get(), today.added()), (100.0, 7.5));
    /// # Ok::<(), monsta_core::Error>(())
    /// ```
    pub fn added(&self) -> f64 {
        self.value_and_added().1
    }

    /// [`get`](Self::get) and [`added`](Self::added) under one lock.
    fn value_and_added(&self) -> (f64, f64) {
        let p = self.synced();
        (p.curr.value(&self.sum), p.curr.added(&self.sum))
    }

    /// The start of the period that holds the wall time `wall`: the most
    /// recent reset at or before it.
    ///
    /// # Examples
    ///
    /// ```
    /// use jiff::Timestamp;
    /// use monsta_core::{clock::ManualClock, fields::PeriodicSum};
    ///
    /// let clock = ManualClock::new();
    /// let f = PeriodicSum::with_clock("02:30", Some("Europe/Berlin"), &clock.clock())?;
    /// let start = |t: &str| f.period_start(t.parse::<Timestamp>().unwrap()).to_string();
    /// // 02:30 doesn't exist on 2024-03-31: that day's period starts at
    /// // 03:30 CEST (01:30Z); before it, the previous day's still runs.
    /// assert_eq!(start("2024-03-31T01:29:59Z"), "2024-03-30T01:30:00Z");
    /// assert_eq!(start("2024-03-31T01:30:00Z"), "2024-03-31T01:30:00Z");
    /// // 02:30 happens twice on 2024-10-27: the period starts at the first.
    /// assert_eq!(start("2024-10-27T01:45:00Z"), "2024-10-27T00:30:00Z");
    /// # Ok::<(), monsta_core::Error>(())
    /// ```
    pub fn period_start(&self, wall: Timestamp) -> Timestamp {
        let today = self.tz.to_datetime(wall).date();
        let at = |date: Date| self.reset_on(date).unwrap_or(Timestamp::MIN);
        let start = at(today);
        if start <= wall {
            start
        } else {
            today.checked_sub(1.day()).map_or(Timestamp::MIN, at)
        }
    }

    /// The reset after the period that began at `start`.
    fn next_reset(&self, start: Timestamp) -> Timestamp {
        let date = self.tz.to_datetime(start).date();
        date.checked_add(1.day())
            .ok()
            .and_then(|d| self.reset_on(d))
            .unwrap_or(Timestamp::MAX)
    }

    /// The instant of the reset on `date`: in a DST gap, read with the offset
    /// before the gap (so later by the gap's length); in a repeated hour, the
    /// first occurrence (jiff's "compatible" disambiguation).
    fn reset_on(&self, date: Date) -> Option<Timestamp> {
        self.tz
            .to_ambiguous_timestamp(date.to_datetime(self.reset_at))
            .compatible()
            .ok()
    }

    #[inline]
    fn sync(&self) {
        // As in `SlidingWindow::inc`: one load of the published time.
        if self.clock.raw_nanos() >= self.deadline.load(Acquire) {
            self.sync_slow();
        }
    }

    #[cold]
    #[inline(never)]
    fn sync_slow(&self) {
        drop(self.synced());
    }

    /// Starts a new period if the wall clock has passed a reset; returns the
    /// period lock, so reads and `set` don't interleave with a reset.
    fn synced(&self) -> parking_lot::MutexGuard<'_, Period> {
        let mut p = self.period.lock();
        if self.clock.nanos() >= self.deadline.load(Acquire) {
            let wall = self.clock.wall();
            if p.enter(self.period_start(wall)) {
                p.curr.restart(&self.sum);
            }
            self.arm(wall, p.start);
        }
        p
    }

    /// Sets the deadline to the next reset, or `RECHECK` from now if sooner.
    fn arm(&self, wall: Timestamp, start: Timestamp) {
        let until = self.next_reset(start).duration_since(wall);
        let until = if until.is_negative() {
            0
        } else {
            u64::try_from(until.as_nanos()).unwrap_or(u64::MAX)
        };
        let deadline = self.clock.nanos().saturating_add(until.min(RECHECK));
        self.deadline.store(deadline, Release);
    }
}

impl Default for PeriodicSum {
    /// Resets at midnight in the system's zone, on the system clock.
    fn default() -> Self {
        Self::from_parts(Time::midnight(), None, &Clock::system())
    }
}

windowed_field!(PeriodicSum);

impl Build for PeriodicSum {
    fn build(config: &FieldConfig, clock: &Clock) -> Result<Self, Error> {
        let tz = config.tz.map(params::time_zone).transpose()?;
        Ok(Self::from_parts(
            config.reset_at.unwrap_or_default(), // midnight
            tz,
            clock,
        ))
    }
}
