//! The field types of a monitoring state.
//!
//! | field | update | JSON |
//! | --- | --- | --- |
//! | [`Counter`] | `inc(n)`, `set`, `reset` | integer |
//! | [`Gauge`] | `set(x)`, `inc`, `dec`, `reset` | number |
//! | [`Value<T>`] | `set(v)`, `update(f)` | `T` as serde writes it |
//! | [`SlidingWindow`] | `inc(n)`, `set`, `reset` | number: hits in the last window |
//! | [`PeriodicSum`] | `inc(n)`, `set`, `reset` | number: sum since the last daily reset |
//! | [`Ewma`] | `update(x)`, `reset` | number, `null` before the first sample |
//! | [`RunningStats`] | `update(x)`, `reset` | `{"n", "mean", "stddev", "min", "max"}` |
//! | [`SampledWindow`] | `set(x)`, `reset` | number: the last value, or `zero` once stale |
//! | [`LeakyBucket`] | `request(amount)`, `reset` | `{"level", "capacity", "full"}` |
//! | [`SlidingPercentiles`] | `update(x)`, `reset` | `{"n", "p50", …, "min", "max"}` |
//!
//! Every field is `Send + Sync` and updated through `&self`. Numbers that are
//! NaN or infinite serialize as JSON `null`.
//!
//! **Non-finite input.** Fields that hold or add what they are given
//! ([`Gauge`], [`SlidingWindow`], [`PeriodicSum`], [`SampledWindow`]) store NaN
//! and infinities as they are (they show as `null`). Fields that average or
//! rank samples ([`Ewma`], [`RunningStats`], [`SlidingPercentiles`]) ignore a
//! NaN or infinite sample, since one would poison every later value.
//! [`LeakyBucket::request`] refuses an amount that is negative or not finite.

mod counter;
mod ewma;
mod gauge;
mod leaky_bucket;
mod periodic_sum;
mod running_stats;
mod sampled_window;
mod sliding_percentiles;
mod sliding_window;
mod value;

use std::{fmt::Debug, time::Duration};

use jiff::civil::Time;
use serde::{Deserialize, Deserializer, Serialize, de::DeserializeOwned};

pub use counter::Counter;
pub use ewma::Ewma;
pub use gauge::Gauge;
pub use leaky_bucket::{LeakyBucket, LeakyBucketSnapshot};
pub use periodic_sum::PeriodicSum;
pub use running_stats::{RunningStats, RunningStatsSnapshot};
pub use sampled_window::SampledWindow;
pub use sliding_percentiles::{PercentilesSnapshot, SlidingPercentiles};
pub use sliding_window::SlidingWindow;
pub use value::{AnyValue, DefaultValue, Value, ValueType};

use crate::{Clock, Error, state::FieldKind};

/// A monsta field: something a state holds, snapshots and serializes (its
/// `Serialize` writes the field's JSON, the same as its snapshot's).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a monsta field type",
    label = "not a monsta field",
    note = "`#[derive(AppState)]` reads a field type by its name: `Counter`, `Gauge`, `Value<T>`, \
            ... are taken for monsta's own; a type of your own (or another crate's, such as \
            `serde_json::Value`) of such a name needs `#[monsta(skip)]` to stay out of the state, \
            or to be wrapped as a monsta `Value<T>`: `Value<serde_json::Value>`"
)]
pub trait Field: Serialize + Send + Sync {
    /// The plain-data value of the field, as it appears in a state's snapshot.
    type Snapshot: Serialize + DeserializeOwned + Clone + Debug + PartialEq + Send + Sync + 'static;

    /// What kind of field this is.
    const KIND: FieldKind;

    /// The current value.
    fn snapshot(&self) -> Self::Snapshot;

    /// A typed reference, for visitors such as exporters.
    fn as_field_ref(&self) -> FieldRef<'_>;

    /// Reads a snapshot back from JSON. Fields whose value is a bare `f64`
    /// read `null` (how NaN and infinities are written) as NaN.
    ///
    /// # Errors
    ///
    /// The deserializer's error for a value of the wrong shape.
    fn deserialize_snapshot<'de, D: Deserializer<'de>>(d: D) -> Result<Self::Snapshot, D::Error> {
        Self::Snapshot::deserialize(d)
    }
}

/// A typed reference to one field, handed to a [`Visitor`](crate::Visitor).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum FieldRef<'a> {
    /// A [`Counter`].
    Counter(&'a Counter),
    /// A [`Gauge`].
    Gauge(&'a Gauge),
    /// A [`Value`], type-erased.
    Value(&'a dyn AnyValue),
    /// A [`SlidingWindow`].
    SlidingWindow(&'a SlidingWindow),
    /// A [`PeriodicSum`].
    PeriodicSum(&'a PeriodicSum),
    /// An [`Ewma`].
    Ewma(&'a Ewma),
    /// A [`RunningStats`].
    RunningStats(&'a RunningStats),
    /// A [`SampledWindow`].
    SampledWindow(&'a SampledWindow),
    /// A [`LeakyBucket`].
    LeakyBucket(&'a LeakyBucket),
    /// A [`SlidingPercentiles`].
    SlidingPercentiles(&'a SlidingPercentiles),
}

/// The parameters `#[derive(AppState)]` read from a field's attributes; each
/// field type picks those it knows. Not part of the stable API.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default)]
pub struct FieldConfig {
    pub window: Option<Duration>,
    pub reset_at: Option<Time>,
    pub tz: Option<&'static str>,
    pub alpha: Option<f64>,
    pub preset: Option<f64>,
    pub zero: Option<f64>,
    pub capacity: Option<f64>,
    pub leak_rate: Option<f64>,
    pub quantiles: Option<&'static [f64]>,
    pub max_samples: Option<usize>,
}

/// Builds a field from a [`FieldConfig`]: what the derive calls.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a monsta field type",
    label = "not a monsta field",
    note = "`#[derive(AppState)]` reads a field type by its name: `Counter`, `Gauge`, `Value<T>`, \
            ... are taken for monsta's own; a type of your own (or another crate's, such as \
            `serde_json::Value`) of such a name needs `#[monsta(skip)]` to stay out of the state, \
            or to be wrapped as a monsta `Value<T>`: `Value<serde_json::Value>`"
)]
pub trait Build: Field + Sized {
    /// # Errors
    ///
    /// The field's constructor's error.
    fn build(config: &FieldConfig, clock: &Clock) -> Result<Self, Error>;
}

/// Reads an `f64` written by serde_json, where NaN and infinities become `null`.
pub(crate) fn deserialize_nullable_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Implements `Field` for a field whose snapshot is a bare `f64`.
macro_rules! f64_field {
    ($ty:ident) => {
        impl $crate::fields::Field for $ty {
            type Snapshot = f64;
            const KIND: $crate::state::FieldKind = $crate::state::FieldKind::$ty;
            fn snapshot(&self) -> f64 {
                self.get()
            }
            fn as_field_ref(&self) -> $crate::fields::FieldRef<'_> {
                $crate::fields::FieldRef::$ty(self)
            }
            fn deserialize_snapshot<'de, D: serde::Deserializer<'de>>(
                d: D,
            ) -> Result<f64, D::Error> {
                $crate::fields::deserialize_nullable_f64(d)
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_f64(self.get())
            }
        }
    };
}
pub(crate) use f64_field;

/// Implements `Field` and `Serialize` for a field whose snapshot is a struct.
macro_rules! struct_field {
    ($ty:ident, $snap:ty) => {
        impl $crate::fields::Field for $ty {
            type Snapshot = $snap;
            const KIND: $crate::state::FieldKind = $crate::state::FieldKind::$ty;
            fn snapshot(&self) -> $snap {
                self.get()
            }
            fn as_field_ref(&self) -> $crate::fields::FieldRef<'_> {
                $crate::fields::FieldRef::$ty(self)
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.get().serialize(s)
            }
        }
    };
}
pub(crate) use struct_field;
