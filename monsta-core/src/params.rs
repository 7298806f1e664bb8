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

/// The buckets of a [`Histogram`](crate::fields::Histogram) without
/// `buckets = ...`: Prometheus' default buckets, for latencies in seconds
/// from 5 ms to 10 s.
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The most buckets a [`Histogram`](crate::fields::Histogram) takes (each
/// bucket is a counter in every series of it, and a line in every scrape).
pub const MAX_BUCKETS: usize = 1000;

/// Checks the upper bounds of a histogram's buckets: at least one, at most
/// [`MAX_BUCKETS`], finite (the `+Inf` bucket is always there, not
/// written) and strictly increasing.
///
/// # Errors
///
/// [`Error::Buckets`], saying which rule the list breaks.
///
/// # Examples
///
/// ```
/// use monsta_core::params::check_buckets;
/// assert!(check_buckets(&[0.1, 0.5, 1.0]).is_ok());
/// assert!(check_buckets(&[]).is_err());
/// assert!(check_buckets(&[1.0, 0.5]).is_err());
/// ```
pub fn check_buckets(bounds: &[f64]) -> Result<(), Error> {
    if bounds.is_empty() {
        return Err(Error::Buckets(
            "must not be empty: give at least one upper bound, such as `buckets = [0.1, 0.5, 1]`"
                .into(),
        ));
    }
    if bounds.len() > MAX_BUCKETS {
        return Err(Error::Buckets(format!(
            "must be at most {MAX_BUCKETS}, got {}",
            bounds.len()
        )));
    }
    if let Some(b) = bounds.iter().find(|b| !b.is_finite()) {
        return Err(Error::Buckets(format!(
            "must be finite (the `+Inf` bucket is always there), got {b}"
        )));
    }
    if let Some(w) = bounds.windows(2).find(|w| w[0] >= w[1]) {
        return Err(Error::Buckets(format!(
            "must be strictly increasing, got {} before {}",
            w[0], w[1]
        )));
    }
    Ok(())
}

/// `count` buckets from `start`, each `factor` times the one before:
/// `exponential_buckets(0.001, 2, 4)` is `[0.001, 0.002, 0.004, 0.008]`.
///
/// # Errors
///
/// [`Error::Buckets`] unless `start > 0`, `factor > 1`, `1 <= count <=`
/// [`MAX_BUCKETS`] and every bound is finite.
///
/// # Examples
///
/// ```
/// use monsta_core::params::exponential_buckets;
/// assert_eq!(exponential_buckets(1.0, 2.0, 4)?, [1.0, 2.0, 4.0, 8.0]);
/// assert!(exponential_buckets(0.0, 2.0, 4).is_err());
/// # Ok::<(), monsta_core::Error>(())
/// ```
pub fn exponential_buckets(start: f64, factor: f64, count: usize) -> Result<Vec<f64>, Error> {
    if !(start > 0.0 && start.is_finite()) {
        return Err(Error::Buckets(format!(
            "of exponential_buckets(start, factor, count) need a positive start, got {start}"
        )));
    }
    if !(factor > 1.0 && factor.is_finite()) {
        return Err(Error::Buckets(format!(
            "of exponential_buckets(start, factor, count) need a factor above 1, got {factor}"
        )));
    }
    check_bucket_count(count)?;
    let bounds: Vec<f64> = (0..count)
        .map(|i| tidy(start * factor.powi(i32::try_from(i).unwrap_or(i32::MAX))))
        .collect();
    check_buckets(&bounds)?;
    Ok(bounds)
}

/// `count` buckets from `start`, `width` apart:
/// `linear_buckets(10, 10, 3)` is `[10, 20, 30]`.
///
/// # Errors
///
/// [`Error::Buckets`] unless `start` is finite, `width > 0`,
/// `1 <= count <=` [`MAX_BUCKETS`] and every bound is finite.
///
/// # Examples
///
/// ```
/// use monsta_core::params::linear_buckets;
/// assert_eq!(linear_buckets(10.0, 10.0, 3)?, [10.0, 20.0, 30.0]);
/// assert!(linear_buckets(0.0, -1.0, 3).is_err());
/// # Ok::<(), monsta_core::Error>(())
/// ```
pub fn linear_buckets(start: f64, width: f64, count: usize) -> Result<Vec<f64>, Error> {
    if !start.is_finite() {
        return Err(Error::Buckets(format!(
            "of linear_buckets(start, width, count) need a finite start, got {start}"
        )));
    }
    if !(width > 0.0 && width.is_finite()) {
        return Err(Error::Buckets(format!(
            "of linear_buckets(start, width, count) need a positive width, got {width}"
        )));
    }
    check_bucket_count(count)?;
    let bounds: Vec<f64> = (0..count).map(|i| tidy(start + width * i as f64)).collect();
    check_buckets(&bounds)?;
    Ok(bounds)
}

/// `x` to 12 significant digits: `0.1 + 0.1 × 2` is the bound `0.3` (as
/// written in `le="0.3"`), not `0.30000000000000004`.
fn tidy(x: f64) -> f64 {
    format!("{x:.11e}").parse().unwrap_or(x)
}

fn check_bucket_count(count: usize) -> Result<(), Error> {
    if count == 0 || count > MAX_BUCKETS {
        return Err(Error::Buckets(format!(
            "count must be from 1 to {MAX_BUCKETS}, got {count}"
        )));
    }
    Ok(())
}

/// The series a [`Family`](crate::fields::Family) keeps without
/// `max_series = ...`.
pub const DEFAULT_MAX_SERIES: usize = 1000;

/// Checks the series cap of a [`Family`](crate::fields::Family).
///
/// # Errors
///
/// [`Error::MaxSeries`] when it is zero.
pub fn check_max_series(n: usize) -> Result<usize, Error> {
    if n == 0 { Err(Error::MaxSeries) } else { Ok(n) }
}

/// Label names a family cannot use: the histogram's bucket label, the
/// percentile label of a `SlidingPercentiles`, and the overflow marker.
pub const RESERVED_LABELS: &[&str] = &["le", "percentile", "overflow"];

/// Checks one label name: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`
/// (reserved by Prometheus), not one of [`RESERVED_LABELS`].
///
/// # Errors
///
/// [`Error::Labels`], saying why.
///
/// # Examples
///
/// ```
/// use monsta_core::params::check_label_name;
/// assert!(check_label_name("route").is_ok());
/// assert!(check_label_name("9lives").is_err());
/// assert!(check_label_name("le").is_err());
/// ```
pub fn check_label_name(name: &str) -> Result<(), Error> {
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(Error::Labels(format!(
            "must be ASCII letters, digits and `_`, not starting with a digit, such as \
             `labels = [\"method\", \"route\"]`; got `{}`",
            name.escape_debug()
        )));
    }
    if name.starts_with("__") {
        return Err(Error::Labels(format!(
            "must not start with `__` (reserved by Prometheus), got `{name}`"
        )));
    }
    if RESERVED_LABELS.contains(&name) {
        return Err(Error::Labels(format!(
            "cannot use `{name}`: it is reserved (`le` for histogram buckets, `percentile` \
             for percentiles, `overflow` for the overflow series)"
        )));
    }
    Ok(())
}

/// Checks the label names of a family whose label sets have `len` labels:
/// as many names, each valid ([`check_label_name`]), none twice.
///
/// # Errors
///
/// [`Error::Labels`], saying why.
///
/// # Examples
///
/// ```
/// use monsta_core::params::check_label_names;
/// assert!(check_label_names(&["method", "route"], 2).is_ok());
/// assert!(check_label_names(&["method"], 2).is_err());
/// assert!(check_label_names(&["a", "a"], 2).is_err());
/// ```
pub fn check_label_names(names: &[&str], len: usize) -> Result<(), Error> {
    if names.len() != len {
        return Err(Error::Labels(format!(
            "must name each of the {len} values of a label set, got {} name{}",
            names.len(),
            if names.len() == 1 { "" } else { "s" }
        )));
    }
    for (i, name) in names.iter().enumerate() {
        check_label_name(name)?;
        if names[..i].contains(name) {
            return Err(Error::Labels(format!("must differ, got `{name}` twice")));
        }
    }
    Ok(())
}
