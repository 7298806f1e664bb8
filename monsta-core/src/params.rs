//! Parsing and checking of field parameters.
//!
//! These functions are what the field constructors call, and what
//! `#[derive(AppState)]` calls at compile time, so that a parameter is
//! accepted in an attribute exactly when it is accepted at run time.

use std::time::Duration;

use jiff::{civil::Time, tz::TimeZone};

use crate::Error;

/// Parses a duration such as `"500ms"`, `"60s"`, `"10m"`, `"1h"` or
/// `"1h 30m"` (jiff's friendly format). The duration must be positive.
///
/// # Errors
///
/// [`Error::Duration`] when the text is not a duration (or one too long to
/// represent), [`Error::Window`] when it is zero, [`Error::WindowTooLong`]
/// when it is longer than [`MAX_WINDOW`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// assert_eq!(monsta_core::params::parse_duration("10m")?, Duration::from_secs(600));
/// assert!(monsta_core::params::parse_duration("ten minutes").is_err());
/// # Ok::<(), monsta_core::Error>(())
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, Error> {
    let signed: jiff::SignedDuration = text
        .trim()
        .parse()
        .map_err(|_| Error::Duration(text.to_owned()))?;
    if signed.is_negative() {
        return Err(Error::Duration(text.to_owned()));
    }
    let duration = Duration::try_from(signed).map_err(|_| Error::Duration(text.to_owned()))?;
    check_window(duration)
}

/// The longest window the fields measure: `u64::MAX` nanoseconds, about 584
/// years (they keep time in `u64` nanoseconds). A longer window is an error,
/// never silently shortened.
pub const MAX_WINDOW: Duration = Duration::from_nanos(u64::MAX);

/// Checks that a window is positive and at most [`MAX_WINDOW`].
///
/// # Errors
///
/// [`Error::Window`] when it is zero, [`Error::WindowTooLong`] when it is
/// longer than [`MAX_WINDOW`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use monsta_core::{Error, params::check_window};
///
/// assert_eq!(check_window(Duration::from_secs(60))?, Duration::from_secs(60));
/// let millennium = Duration::from_secs(1000 * 365 * 86_400);
/// assert_eq!(check_window(millennium), Err(Error::WindowTooLong(millennium.as_secs_f64())));
/// # Ok::<(), monsta_core::Error>(())
/// ```
pub fn check_window(window: Duration) -> Result<Duration, Error> {
    if window.is_zero() {
        Err(Error::Window(window))
    } else if window > MAX_WINDOW {
        Err(Error::WindowTooLong(window.as_secs_f64()))
    } else {
        Ok(window)
    }
}

/// Converts a number of seconds to a window.
///
/// # Errors
///
/// [`Error::WindowSecs`] when it is not positive or not finite,
/// [`Error::WindowTooLong`] when it is longer than [`MAX_WINDOW`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use monsta_core::{Error, params::window_from_secs};
///
/// assert_eq!(window_from_secs(2.5)?, Duration::from_millis(2500));
/// assert_eq!(window_from_secs(0.0), Err(Error::WindowSecs(0.0)));
/// assert!(window_from_secs(f64::NAN).is_err());
/// # Ok::<(), monsta_core::Error>(())
/// ```
pub fn window_from_secs(secs: f64) -> Result<Duration, Error> {
    if secs.is_nan() || secs <= 0.0 || secs == f64::INFINITY {
        return Err(Error::WindowSecs(secs));
    }
    if secs > MAX_WINDOW.as_secs_f64() {
        return Err(Error::WindowTooLong(secs));
    }
    let window = Duration::try_from_secs_f64(secs).map_err(|_| Error::WindowSecs(secs))?;
    if window.is_zero() {
        return Err(Error::WindowSecs(secs));
    }
    check_window(window)
}

/// Parses a time of day, `"HH:MM"` or `"HH:MM:SS"`.
///
/// # Errors
///
/// [`Error::TimeOfDay`] when the text is not a time of day.
///
/// # Examples
///
/// ```
/// let t = monsta_core::params::parse_time_of_day("06:30")?;
/// assert_eq!((t.hour(), t.minute()), (6, 30));
/// assert!(monsta_core::params::parse_time_of_day("25:00").is_err());
/// # Ok::<(), monsta_core::Error>(())
/// ```
pub fn parse_time_of_day(text: &str) -> Result<Time, Error> {
    let bad = || Error::TimeOfDay(text.to_owned());
    let t = text.trim();
    // jiff also accepts `"06"`; a reset time reads better with its minutes.
    if !t.contains(':') {
        return Err(bad());
    }
    t.parse::<Time>().map_err(|_| bad())
}

/// Looks up an IANA time zone name (such as `"Europe/Berlin"`) in the system
/// database, falling back to the copy bundled with jiff.
///
/// # Errors
///
/// [`Error::TimeZone`] when the name is unknown.
pub fn time_zone(name: &str) -> Result<TimeZone, Error> {
    TimeZone::get(name).map_err(|e| Error::TimeZone {
        name: name.to_owned(),
        reason: e.to_string(),
    })
}

/// Checks the smoothing factor of an [`Ewma`](crate::fields::Ewma).
///
/// # Errors
///
/// [`Error::Alpha`] unless `0 < alpha <= 1`.
pub fn check_alpha(alpha: f64) -> Result<f64, Error> {
    if alpha > 0.0 && alpha <= 1.0 {
        Ok(alpha)
    } else {
        Err(Error::Alpha(alpha))
    }
}

/// Checks the capacity of a [`LeakyBucket`](crate::fields::LeakyBucket).
///
/// # Errors
///
/// [`Error::Capacity`] unless it is positive and finite.
pub fn check_capacity(capacity: f64) -> Result<f64, Error> {
    if capacity > 0.0 && capacity.is_finite() {
        Ok(capacity)
    } else {
        Err(Error::Capacity(capacity))
    }
}

/// Checks the leak rate of a [`LeakyBucket`](crate::fields::LeakyBucket).
///
/// # Errors
///
/// [`Error::LeakRate`] unless it is positive and finite.
pub fn check_leak_rate(rate: f64) -> Result<f64, Error> {
    if rate > 0.0 && rate.is_finite() {
        Ok(rate)
    } else {
        Err(Error::LeakRate(rate))
    }
}

/// Checks one quantile, in percent.
///
/// # Errors
///
/// [`Error::Quantile`] unless `0 <= q <= 100`.
pub fn check_quantile(q: f64) -> Result<f64, Error> {
    if (0.0..=100.0).contains(&q) {
        Ok(q)
    } else {
        Err(Error::Quantile(q))
    }
}

/// Checks a list of quantiles: not empty, each in `[0, 100]`.
///
/// # Errors
///
/// [`Error::NoQuantiles`] for an empty list, [`Error::Quantile`] for the first
/// quantile out of range.
pub fn check_quantiles(qs: &[f64]) -> Result<(), Error> {
    if qs.is_empty() {
        return Err(Error::NoQuantiles);
    }
    qs.iter().try_for_each(|&q| check_quantile(q).map(drop))
}

/// Checks the sample cap of a [`SlidingPercentiles`](crate::fields::SlidingPercentiles).
///
/// # Errors
///
/// [`Error::MaxSamples`] when it is zero.
pub fn check_max_samples(n: usize) -> Result<usize, Error> {
    if n == 0 {
        Err(Error::MaxSamples)
    } else {
        Ok(n)
    }
}

/// Checks that a preset or `zero` value is finite.
///
/// # Errors
///
/// [`Error::NotFinite`] when it is NaN or infinite.
pub fn check_finite(name: &'static str, value: f64) -> Result<f64, Error> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::NotFinite { name, value })
    }
}

/// The key of a quantile in JSON: `p` and the shortest form of the number
/// (`p50`, `p99.9`, `p0.5`, `p100`).
///
/// # Examples
///
/// ```
/// use monsta_core::params::quantile_key;
/// assert_eq!(quantile_key(50.0), "p50");
/// assert_eq!(quantile_key(99.9), "p99.9");
/// assert_eq!(quantile_key(0.5), "p0.5");
/// assert_eq!(quantile_key(-0.0), "p0");
/// ```
pub fn quantile_key(q: f64) -> String {
    // `+ 0.0` turns -0.0 (which passes the range check) into 0.0: `p0`, not `p-0`.
    format!("p{}", q + 0.0)
}

/// A window checked by [`check_window`] in nanoseconds (it fits in a `u64`).
pub(crate) fn window_nanos(window: Duration) -> u64 {
    u64::try_from(window.as_nanos()).unwrap_or(u64::MAX)
}
