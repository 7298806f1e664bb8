//! Time as the fields see it: a cheap monotonic reading for every update, the
//! wall clock only where a calendar matters.
//!
//! [`Clock::system`] (the default) reads a coarse monotonic time that a
//! background thread refreshes every 4 ms ([`RESOLUTION`], the resolution of
//! the kernel's own coarse clock), so a field update costs one relaxed
//! atomic load for the time instead of a clock read.
//!
//! Why 4 ms and not 1: each wake-up of the thread costs the process about
//! 9 µs of CPU in the virtual machines of the benchmarks, so at 1 ms a busy
//! process paid nearly 1 % of a core for its clock, and a server at 10,000
//! requests a second about 400 ns a request (BENCHMARKS.md has the figures).
//! At 4 ms it pays a quarter of that. The windows, periods and buckets the
//! fields keep are seconds to days long, so a reading up to 4 ms old moves
//! none of them by more than that; spans (how long a call took) are read on
//! the precise clock ([`Clock::stamp`]) instead.
//! [`ManualClock`] is a clock that tests move by hand: every field built on
//! it is deterministic.
//!
//! # An idle process stays idle
//!
//! The refresh thread stops when nothing reads the time. Every 100 ms it
//! replaces the published time with a marker instead of refreshing it; the
//! next reader that meets the marker reads the system's monotonic clock
//! itself (once), publishes what it read and so tells the thread
//! that the time is in use. When the marker is still there a tick later,
//! nothing has read the time for that tick, and the thread parks until a
//! reader finds the marker and wakes it. A process whose fields are not
//! updated therefore has no wake-ups from the clock at all, and a busy one
//! pays one clock read every 100 ms. See [`upkeep_parked`].

use std::{
    sync::{
        Arc, LazyLock, OnceLock,
        atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering},
    },
    thread::Thread,
    time::Duration,
};

use jiff::{SignedDuration, Timestamp};

/// How often the background thread refreshes the coarse monotonic time:
/// a reading of [`Clock::now`] on the system clock is at most about this
/// old.
pub const RESOLUTION: Duration = Duration::from_millis(4);

/// How often the thread checks that the time is still read.
const PROBE_INTERVAL: Duration = Duration::from_millis(100);

/// How many refreshes the thread makes between two of those checks.
const PROBE_EVERY: u32 = (PROBE_INTERVAL.as_nanos() / RESOLUTION.as_nanos()) as u32;

/// The published time's value when it is not fresh: the refresh thread is
/// checking whether anything reads the time, or is parked. Monotonic time
/// never reaches it (it is 584 years).
const STALE: u64 = u64::MAX;

/// The time of every [`Clock::system`]: the coarse time in nanoseconds since
/// [`SystemBase::start`], or [`STALE`]. A `Clock` is a pointer to its time
/// word, this one or a [`ManualClock`]'s, so reading it is one load whatever
/// the clock.
static SYSTEM: LazyLock<Arc<Inner>> = LazyLock::new(|| {
    Arc::new(Inner {
        mono: AtomicU64::new(STALE),
        wall: AtomicI64::new(0),
        system: true,
    })
});

/// The published system time.
fn now_cell() -> &'static AtomicU64 {
    &SYSTEM.mono
}

/// Whether the refresh thread is parked (or about to park).
static PARKED: AtomicBool = AtomicBool::new(false);

/// A handle on a source of time, cheap to clone and shared by all fields of a
/// state.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use monsta_core::clock::{Clock, ManualClock};
///
/// let manual = ManualClock::new();
/// let clock = Clock::from(manual.clone());
/// let t0 = clock.now();
/// manual.advance(Duration::from_secs(5));
/// assert_eq!(clock.now() - t0, Duration::from_secs(5));
/// ```
#[derive(Clone, Debug)]
pub struct Clock(Arc<Inner>);

impl Default for Clock {
    /// [`Clock::system`].
    fn default() -> Self {
        Clock::system()
    }
}

struct SystemBase {
    /// The time source: the CPU's time-stamp counter where it is invariant
    /// (calibrated against the system's monotonic clock once, when the
    /// first reading is made: about a millisecond), else the system's
    /// monotonic clock.
    source: quanta::Clock,
    /// The source's raw reading at the origin.
    start: u64,
    /// Seconds per raw unit of `source`, for [`Clock::seconds_since`]: one
    /// multiplication per span instead of a scaling per reading.
    secs_per_tick: f64,
    /// The refresh thread; `None` if it could not be spawned, and then every
    /// reading goes to the system clock: slower, still correct.
    upkeep: Option<Thread>,
}

impl SystemBase {
    /// The monotonic time, in nanoseconds since `start`.
    #[inline]
    fn precise(&self) -> u64 {
        self.source
            .delta_as_nanos(self.start, self.source.raw())
            .min(STALE - 1)
    }
}

/// The system clock's base, made on first use.
static BASE: OnceLock<SystemBase> = OnceLock::new();

/// [`BASE`]: inline once it is made (a load and a compare), the making out
/// of line.
#[inline]
fn system_base() -> &'static SystemBase {
    match BASE.get() {
        Some(base) => base,
        None => system_base_init(),
    }
}

#[cold]
fn system_base_init() -> &'static SystemBase {
    BASE.get_or_init(|| {
        let upkeep = std::thread::Builder::new()
            .name("monsta-clock".into())
            .spawn(upkeep)
            .ok()
            .map(|h| h.thread().clone());
        let source = quanta::Clock::new();
        // The source's calibrated scale, read over 2^40 units so that
        // quanta's integer rounding is below 1e-12 of it.
        const SPAN: u64 = 1 << 40;
        let secs_per_tick = source.delta_as_nanos(0, SPAN) as f64 * 1e-9 / SPAN as f64;
        SystemBase {
            secs_per_tick,
            start: source.raw(),
            source,
            upkeep,
        }
    })
}

/// The refresh thread: publishes the time every [`RESOLUTION`], and parks
/// when a check finds that nothing has read it (see the module's docs).
fn upkeep() {
    let base = system_base();
    let mut ticks = 0u32;
    let mut probing = false;
    loop {
        std::thread::sleep(RESOLUTION);
        if probing && now_cell().load(Ordering::SeqCst) == STALE {
            // Nothing read the time since the last tick. A reader that
            // publishes a time after this store sees `PARKED` and unparks
            // us; one that published before it is seen by the load below.
            PARKED.store(true, Ordering::SeqCst);
            while now_cell().load(Ordering::SeqCst) == STALE {
                std::thread::park();
            }
            PARKED.store(false, Ordering::SeqCst);
            ticks = 0;
        }
        probing = false;
        ticks += 1;
        if ticks >= PROBE_EVERY {
            ticks = 0;
            probing = true;
            now_cell().store(STALE, Ordering::SeqCst);
        } else {
            publish(base.precise());
        }
    }
}

/// Publishes `t` unless a reader has published a later time.
fn publish(t: u64) {
    let _ = now_cell().fetch_update(Ordering::SeqCst, Ordering::SeqCst, |cur| {
        (cur == STALE || cur < t).then_some(t)
    });
}

/// The system clock's reading when the published one is not fresh.
#[cold]
#[inline(never)]
fn system_nanos_slow() -> u64 {
    let base = system_base();
    let t = base.precise();
    match now_cell().compare_exchange(STALE, t, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => {
            if PARKED.load(Ordering::SeqCst)
                && let Some(thread) = &base.upkeep
            {
                thread.unpark();
            }
            t
        }
        // Another reader, or the thread, published first: read what it
        // published, so this thread's readings never go backwards.
        Err(seen) => seen,
    }
}

/// Whether the system clock's refresh thread is parked because nothing has
/// read the time lately (or was never started). The next reading wakes it.
///
/// # Examples
///
/// ```
/// use monsta_core::clock::{self, Clock};
///
/// let clock = Clock::system();
/// let _ = clock.now(); // a reading: the thread refreshes the time
/// # let _ = clock::upkeep_parked();
/// ```
pub fn upkeep_parked() -> bool {
    PARKED.load(Ordering::SeqCst)
}

impl Clock {
    /// The process-wide coarse clock (resolution about [`RESOLUTION`]); the
    /// first call starts its refresh thread.
    pub fn system() -> Self {
        system_base();
        Clock(SYSTEM.clone())
    }

    /// Monotonic time since this clock's origin (process start for the system
    /// clock, creation for a [`ManualClock`]). Never goes backwards.
    #[inline]
    pub fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos())
    }

    /// [`now`](Self::now) in nanoseconds: what the fields store.
    #[inline]
    pub(crate) fn nanos(&self) -> u64 {
        let t = self.raw_nanos();
        if t != STALE { t } else { self.nanos_slow() }
    }

    /// The published time: [`nanos`](Self::nanos), or `u64::MAX` when the
    /// system clock's time is not fresh. A field that compares the time with
    /// a deadline compares this (one load): `u64::MAX` passes every
    /// deadline, and the slow path behind it reads [`nanos`](Self::nanos).
    #[inline]
    pub(crate) fn raw_nanos(&self) -> u64 {
        self.0.mono.load(Ordering::Acquire)
    }

    #[cold]
    fn nanos_slow(&self) -> u64 {
        if self.0.system {
            system_nanos_slow()
        } else {
            // A manual clock at the end of its range.
            STALE
        }
    }

    /// The wall-clock time (UTC), for calendar-aligned fields such as
    /// [`PeriodicSum`](crate::fields::PeriodicSum). Unlike [`now`](Self::now)
    /// it may jump in either direction.
    pub fn wall(&self) -> Timestamp {
        if self.0.system {
            Timestamp::now()
        } else {
            Timestamp::from_nanosecond(i128::from(self.0.wall.load(Ordering::Acquire)))
                .unwrap_or(Timestamp::UNIX_EPOCH)
        }
    }

    /// Whether this is a [`ManualClock`].
    pub fn is_manual(&self) -> bool {
        !self.0.system
    }

    /// A precise monotonic reading on the same origin as [`now`](Self::now),
    /// for measuring short spans (how long a call took) where the coarse
    /// 4 ms tick of [`now`](Self::now) would read zero: the system
    /// clock reads the CPU's time-stamp counter through `quanta` where it
    /// is invariant (about 13 ns, against 35 ns for [`std::time::Instant`]
    /// on the machine of the benchmarks), else the system's monotonic
    /// clock; a [`ManualClock`] reads its manual time, so anything timed on
    /// one stays deterministic.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use monsta_core::clock::{Clock, ManualClock};
    ///
    /// let manual = ManualClock::new();
    /// let clock = manual.clock();
    /// let t0 = clock.precise();
    /// manual.advance(Duration::from_micros(3));
    /// assert_eq!(clock.precise() - t0, Duration::from_micros(3));
    ///
    /// let system = Clock::system();
    /// let a = system.precise();
    /// assert!(system.precise() >= a);
    /// ```
    #[inline]
    pub fn precise(&self) -> Duration {
        Duration::from_nanos(self.precise_nanos())
    }

    /// [`precise`](Self::precise) in nanoseconds.
    #[inline]
    pub fn precise_nanos(&self) -> u64 {
        if self.0.system {
            system_base().precise()
        } else {
            self.0.mono.load(Ordering::Acquire)
        }
    }

    /// A precise reading in the clock's own units, to time a span with
    /// [`seconds_since`](Self::seconds_since): the cheapest way to measure
    /// how long something took, one raw read at each end and a single
    /// conversion (what [`instrument`](crate::instrument) uses). The system
    /// clock's stamp is the CPU's time-stamp counter (or the monotonic clock
    /// where the counter is not invariant); a [`ManualClock`]'s is its
    /// manual time. A stamp only means something to the clock that made it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use monsta_core::clock::ManualClock;
    ///
    /// let manual = ManualClock::new();
    /// let clock = manual.clock();
    /// let start = clock.stamp();
    /// manual.advance(Duration::from_millis(250));
    /// assert_eq!(clock.seconds_since(start), 0.25);
    /// assert_eq!(clock.since(start), Duration::from_millis(250));
    /// ```
    #[inline]
    pub fn stamp(&self) -> Stamp {
        if self.0.system {
            Stamp(system_base().source.raw())
        } else {
            Stamp(self.0.mono.load(Ordering::Acquire))
        }
    }

    /// The seconds from `start` (a [`stamp`](Self::stamp) of this clock) to
    /// now; zero if `start` is later than now (a counter read on another
    /// core that runs ahead).
    #[inline]
    pub fn seconds_since(&self, start: Stamp) -> f64 {
        if self.0.system {
            let base = system_base();
            base.source.raw().saturating_sub(start.0) as f64 * base.secs_per_tick
        } else {
            self.0.mono.load(Ordering::Acquire).saturating_sub(start.0) as f64 * 1e-9
        }
    }

    /// [`seconds_since`](Self::seconds_since) as a [`Duration`], to the
    /// nanosecond.
    #[inline]
    pub fn since(&self, start: Stamp) -> Duration {
        if self.0.system {
            let base = system_base();
            Duration::from_nanos(base.source.delta_as_nanos(start.0, base.source.raw()))
        } else {
            Duration::from_nanos(self.0.mono.load(Ordering::Acquire).saturating_sub(start.0))
        }
    }

    /// The process-wide [`Clock::system`], borrowed: for code that needs a
    /// `&Clock` without holding a clone of one.
    #[inline]
    pub fn system_ref() -> &'static Clock {
        static SYSTEM_CLOCK: LazyLock<Clock> = LazyLock::new(Clock::system);
        &SYSTEM_CLOCK
    }
}

/// A precise reading of a [`Clock`] in its own units: see
/// [`Clock::stamp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(u64);

/// A clock's time: the system's (one, [`SYSTEM`]) or a [`ManualClock`]'s.
#[derive(Debug)]
struct Inner {
    /// Monotonic nanoseconds; for the system clock, [`STALE`] when not
    /// fresh.
    mono: AtomicU64,
    /// Wall-clock nanoseconds since the Unix epoch (manual clocks only).
    wall: AtomicI64,
    system: bool,
}

/// A clock that only moves when told to: the way to test anything built on
/// monsta fields.
///
/// It holds a monotonic time (starting at zero) and a wall-clock time
/// (starting at 2024-01-01T00:00:00Z unless given). [`advance`](Self::advance)
/// moves both together, as real time does; [`set_wall`](Self::set_wall) and
/// [`shift_wall`](Self::shift_wall) move only the wall clock, as an NTP step or
/// a manual change does. Clones share the same time.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use monsta_core::clock::{Clock, ManualClock};
/// use monsta_core::fields::SampledWindow;
///
/// let manual = ManualClock::new();
/// let rps = SampledWindow::with_clock(Duration::from_secs(5), 0.0, &manual.clock())?;
/// rps.set(120.0);
/// manual.advance(Duration::from_secs(5));
/// assert_eq!(rps.get(), 120.0);
/// manual.advance(Duration::from_millis(1));
/// assert_eq!(rps.get(), 0.0);
/// # Ok::<(), monsta_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<Inner>);

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    /// A clock at monotonic time zero and wall time 2024-01-01T00:00:00Z.
    pub fn new() -> Self {
        Self::starting_at(
            "2024-01-01T00:00:00Z"
                .parse()
                .unwrap_or(Timestamp::UNIX_EPOCH),
        )
    }

    /// A clock at monotonic time zero and the given wall time.
    pub fn starting_at(wall: Timestamp) -> Self {
        ManualClock(Arc::new(Inner {
            mono: AtomicU64::new(0),
            wall: AtomicI64::new(clamp_nanos(wall.as_nanosecond())),
            system: false,
        }))
    }

    /// A [`Clock`] handle reading this clock.
    pub fn clock(&self) -> Clock {
        Clock(self.0.clone())
    }

    /// Moves monotonic and wall time forward by `d`.
    ///
    /// Both saturate at the end of their range (monotonic time at `u64::MAX`
    /// nanoseconds, about 584 years; wall time in the year 2262) rather than
    /// wrap around: monotonic time never goes backwards.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use monsta_core::clock::ManualClock;
    ///
    /// let clock = ManualClock::new();
    /// clock.advance(Duration::from_millis(1500));
    /// assert_eq!(clock.now(), Duration::from_millis(1500));
    /// assert_eq!(clock.wall().to_string(), "2024-01-01T00:00:01.5Z");
    /// clock.advance(Duration::MAX);
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(clock.now(), Duration::from_nanos(u64::MAX));
    /// ```
    pub fn advance(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        saturating_add_u64(&self.0.mono, nanos);
        saturating_add_i64(&self.0.wall, i64::try_from(nanos).unwrap_or(i64::MAX));
    }

    /// Sets the wall clock, leaving monotonic time alone (a clock step).
    pub fn set_wall(&self, wall: Timestamp) {
        self.0
            .wall
            .store(clamp_nanos(wall.as_nanosecond()), Ordering::Release);
    }

    /// Moves the wall clock by `d` (negative: backwards), leaving monotonic
    /// time alone. Saturates at the ends of the range, like
    /// [`advance`](Self::advance).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use monsta_core::SignedDuration;
    /// use monsta_core::clock::ManualClock;
    ///
    /// let clock = ManualClock::new();
    /// clock.shift_wall(SignedDuration::from_hours(-1)); // an NTP step back
    /// assert_eq!(clock.wall().to_string(), "2023-12-31T23:00:00Z");
    /// assert_eq!(clock.now(), Duration::ZERO);
    /// ```
    pub fn shift_wall(&self, d: SignedDuration) {
        saturating_add_i64(&self.0.wall, clamp_nanos(d.as_nanos()));
    }

    /// The current monotonic time.
    pub fn now(&self) -> Duration {
        Duration::from_nanos(self.0.mono.load(Ordering::Acquire))
    }

    /// The current wall time.
    pub fn wall(&self) -> Timestamp {
        self.clock().wall()
    }
}

impl From<ManualClock> for Clock {
    fn from(m: ManualClock) -> Clock {
        m.clock()
    }
}

impl From<&ManualClock> for Clock {
    fn from(m: &ManualClock) -> Clock {
        m.clock()
    }
}

fn saturating_add_u64(cell: &AtomicU64, n: u64) {
    let _ = cell.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
        Some(v.saturating_add(n))
    });
}

fn saturating_add_i64(cell: &AtomicI64, n: i64) {
    let _ = cell.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
        Some(v.saturating_add(n))
    });
}

fn clamp_nanos(n: i128) -> i64 {
    i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX })
}
