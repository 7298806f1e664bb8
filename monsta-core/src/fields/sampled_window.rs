use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering::*};

use crate::{
    Clock, Error,
    fields::{Build, FieldConfig, f64_field},
    params,
};

/// The last value set, held for a window, then `zero`: a signal that decays
/// when nobody refreshes it (requests per second sampled from a counter).
///
/// `set(v)` stores `v` with the time; the value is `v` while
/// `now - t <= window`, else `zero`. It starts at `zero`.
///
/// JSON: a number. Defaults: `window` = 60 s, `zero` = 0.0.
///
/// `set` is two plain atomic stores, the value and then its time, and `get`
/// loads them in the other order, so a reader that sees a time sees its
/// value (or a later one). A reader may pair a new value with the time of the
/// value before it; it then returns the new value if that time is still in
/// the window, which the new value is too, and `zero` otherwise, as if it had
/// read just before the `set`. Of two `set`s at the same moment, one value is
/// kept.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use monsta_core::{clock::ManualClock, fields::SampledWindow};
///
/// let clock = ManualClock::new();
/// let rps = SampledWindow::with_clock(Duration::from_secs(5), -1.0, &clock.clock())?;
/// assert_eq!(rps.get(), -1.0);
/// rps.set(120.0);
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(rps.get(), 120.0);
/// clock.advance(Duration::from_nanos(1));
/// assert_eq!(rps.get(), -1.0);
/// # Ok::<(), monsta_core::Error>(())
/// ```
#[derive(Debug)]
pub struct SampledWindow {
    clock: Clock,
    window: u64,
    zero: f64,
    /// The bits of the value last set.
    value: AtomicU64,
    /// Monotonic nanoseconds of the `set` plus one (saturating); [`NEVER`]:
    /// never set (or reset).
    at: AtomicU64,
}

/// The time of a value never set.
const NEVER: u64 = 0;

impl SampledWindow {
    /// A field holding values for `window`, then `zero`, on the system clock.
    ///
    /// # Errors
    ///
    /// As [`with_clock`](Self::with_clock).
    pub fn new(window: Duration, zero: f64) -> Result<Self, Error> {
        Self::with_clock(window, zero, &Clock::system())
    }

    /// Like [`new`](Self::new), on `clock`.
    ///
    /// # Errors
    ///
    /// [`Error::Window`] or [`Error::WindowTooLong`] for a zero or too long
    /// `window`, [`Error::NotFinite`] when `zero` is NaN or infinite.
    pub fn with_clock(window: Duration, zero: f64, clock: &Clock) -> Result<Self, Error> {
        let window = params::check_window(window)?;
        let zero = params::check_finite("zero", zero)?;
        Ok(SampledWindow {
            clock: clock.clone(),
            window: params::window_nanos(window),
            zero,
            value: AtomicU64::new(zero.to_bits()),
            at: AtomicU64::new(NEVER),
        })
    }

    /// Holds `value` from now.
    #[inline]
    pub fn set(&self, value: f64) {
        let at = self.clock.nanos().saturating_add(1);
        self.value.store(value.to_bits(), Relaxed);
        self.at.store(at, Release);
    }

    /// The held value, or `zero` once it is older than the window.
    pub fn get(&self) -> f64 {
        let at = self.at.load(Acquire);
        let value = f64::from_bits(self.value.load(Relaxed));
        if at != NEVER && self.clock.nanos().saturating_sub(at - 1) <= self.window {
            value
        } else {
            self.zero
        }
    }

    /// Drops the held value: `zero` from now on.
    pub fn reset(&self) {
        self.at.store(NEVER, Release);
        self.value.store(self.zero.to_bits(), Relaxed);
    }
}

impl Default for SampledWindow {
    /// A 60-second window, `zero` = 0.0, on the system clock.
    fn default() -> Self {
        Self::build(&FieldConfig::default(), &Clock::system())
            .unwrap_or_else(|_| unreachable!("60 s is a valid window"))
    }
}

f64_field!(SampledWindow);

impl Build for SampledWindow {
    fn build(config: &FieldConfig, clock: &Clock) -> Result<Self, Error> {
        Self::with_clock(
            config.window.unwrap_or(Duration::from_secs(60)),
            config.zero.unwrap_or(0.0),
            clock,
        )
    }
}
