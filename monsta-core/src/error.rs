//! The error returned when a field or a state is built with bad parameters.

use std::time::Duration;

/// A parameter of a field was out of range or could not be parsed.
///
/// Every constructor of [`crate::fields`] that takes parameters returns this
/// error instead of panicking. The message names the parameter, the accepted
/// range and the value that was given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `alpha` of an [`Ewma`](crate::fields::Ewma) was not in `(0, 1]`.
    #[error("alpha must be in (0, 1], got {0}")]
    Alpha(f64),
    /// A `window` was zero.
    #[error("window must be positive, got {0:?}")]
    Window(Duration),
    /// A `window` given in seconds was zero, negative or not finite.
    #[error("window must be a positive, finite number of seconds, got {0}")]
    WindowSecs(f64),
    /// The `capacity` of a [`LeakyBucket`](crate::fields::LeakyBucket) was not
    /// positive and finite.
    #[error("capacity must be positive and finite, got {0}")]
    Capacity(f64),
    /// The `leak_rate` of a [`LeakyBucket`](crate::fields::LeakyBucket) was not
    /// positive and finite.
    #[error("leak_rate must be positive and finite, got {0}")]
    LeakRate(f64),
    /// A quantile of a [`SlidingPercentiles`](crate::fields::SlidingPercentiles)
    /// was outside `[0, 100]` (or NaN).
    #[error("quantile must be in [0, 100], got {0}")]
    Quantile(f64),
    /// A [`SlidingPercentiles`](crate::fields::SlidingPercentiles) was given no
    /// quantile.
    #[error("quantiles must not be empty: at least one quantile is required")]
    NoQuantiles,
    /// `max_samples` of a [`SlidingPercentiles`](crate::fields::SlidingPercentiles)
    /// was zero.
    #[error("max_samples must be positive, got 0")]
    MaxSamples,
    /// A preset or `zero` value was not finite.
    #[error("{name} must be finite, got {value}")]
    NotFinite {
        /// The parameter's name.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// A time zone name (`tz`) is not in the time zone database.
    #[error("tz must be a time zone name such as `Europe/Berlin`, got `{name}`: {reason}")]
    TimeZone {
        /// The name given.
        name: String,
        /// Why the lookup failed.
        reason: String,
    },
    /// A time of day (`reset_at`) could not be parsed.
    #[error("reset_at must be a time of day `HH:MM` or `HH:MM:SS` (00:00 to 23:59:59), got `{0}`")]
    TimeOfDay(String),
    /// Two fields of a state serialize under the same JSON key (a flattened
    /// state's fields share its parent's object). `#[derive(AppState)]`
    /// rejects this at compile time; it is found when the state is built
    /// only when a flattened child is a hand-written `AppState`.
    #[error(
        "duplicate JSON key `{key}`: fields `{first}` and `{second}` both serialize as `{key}`"
    )]
    DuplicateKey {
        /// The JSON key.
        key: String,
        /// The Rust path of the first field with it, such as `queries`.
        first: String,
        /// The Rust path of the second, such as `db.queries`.
        second: String,
    },
    /// A window was longer than [`MAX_WINDOW`](crate::params::MAX_WINDOW),
    /// the longest the fields can measure (in `u64` nanoseconds); the
    /// window given, in seconds.
    #[error(
        "window must be at most {max} seconds (about 584 years), got {0} seconds",
        max = crate::params::MAX_WINDOW.as_secs()
    )]
    WindowTooLong(f64),
    /// A duration string (a `window`) could not be parsed, or was negative.
    #[error("window must be a positive duration such as `500ms`, `60s`, `10m` or `1h`, got `{0}`")]
    Duration(String),
    /// The buckets of a [`Histogram`](crate::fields::Histogram) were empty,
    /// not finite, not strictly increasing, or too many; or the arguments of
    /// [`exponential_buckets`](crate::params::exponential_buckets) /
    /// [`linear_buckets`](crate::params::linear_buckets) were out of range.
    #[error("buckets {0}")]
    Buckets(String),
    /// `max_series` of a [`Family`](crate::fields::Family) was zero.
    #[error("max_series must be positive, got 0")]
    MaxSeries,
    /// The label names of a [`Family`](crate::fields::Family) were missing,
    /// of the wrong number, invalid, reserved or repeated.
    #[error("labels {0}")]
    Labels(String),
}
