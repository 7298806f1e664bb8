use std::time::Duration;

use crossbeam_utils::atomic::AtomicCell;

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
/// The value and its time are stored together in one [`AtomicCell`] (a
/// sequence lock for a value this size: a store is a few atomic operations,
/// a load retries only while a store is in progress), so a reader never pairs
/// a new value with an old time.
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
    held: AtomicCell<Held>,
}

#[derive(Debug, Clone, Copy)]
struct Held {
    value: f64,
    /// Monotonic nanoseconds of the `set`; `None`: never set (or reset).
    at: Option<u64>,
}

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
            held: AtomicCell::new(Held {
                value: zero,
                at: None,
            }),
        })
    }

    /// Holds `value` from now.
    #[inline]
    pub fn set(&self, value: f64) {
        self.held.store(Held {
            value,
            at: Some(self.clock.nanos()),
        });
    }

    /// The held value, or `zero` once it is older than the window.
    pub fn get(&self) -> f64 {
        let held = self.held.load();
        match held.at {
            Some(at) if self.clock.nanos().saturating_sub(at) <= self.window => held.value,
            _ => self.zero,
        }
    }

    /// Drops the held value: `zero` from now on.
    pub fn reset(&self) {
        self.held.store(Held {
            value: self.zero,
            at: None,
        });
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
