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
//! | [`Histogram`] | `observe(x)`, `reset` | `{"count", "sum", "buckets": [[le, cumulative], …]}` |
//! | [`Family<L, F>`](Family) | `get(&labels)`, `with(&labels, f)`, `remove`, `clear` | `[{"labels": {…}, "value": …}, …]` |
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
//!
//! **Counters that go down.** A [`Counter`] is exported as a Prometheus
//! counter, which only grows. [`Counter::set`] to a lower value and
//! [`Counter::reset`] look to Prometheus like a restart of the process:
//! `rate()` and `increase()` take the drop for a counter reset and count on
//! from the new value (nothing goes negative), but what was counted since the
//! last scrape before the drop is lost to them. Lower a counter only when
//! what it counts really starts over; for a value that goes up and down use a
//! [`Gauge`].

mod attrs;
mod counter;
mod ewma;
mod family;
mod gauge;
mod histogram;
mod labels;
mod leaky_bucket;
mod periodic_sum;
mod running_stats;
mod sampled_window;
mod sliding_percentiles;
mod sliding_window;
mod value;

use std::{any::Any, fmt::Debug, time::Duration};

use jiff::civil::Time;
use serde::{Deserialize, Deserializer, Serialize, de::DeserializeOwned};

pub use attrs::{AttrKey, AttrKind, AttrValue};
#[doc(hidden)]
pub use attrs::{key_error, missing_error};
pub use counter::Counter;
pub use ewma::Ewma;
pub use family::{Family, FamilySnapshot, Handle, OVERFLOW_LABEL, SeriesSnapshot};
pub use gauge::Gauge;
pub use histogram::{Histogram, HistogramSnapshot};
pub use labels::{LabelPart, LabelQuery, LabelSet, LabelValue, Labels};
pub use leaky_bucket::{LeakyBucket, LeakyBucketSnapshot};
pub use periodic_sum::PeriodicSum;
pub use running_stats::{RunningStats, RunningStatsSnapshot};
pub use sampled_window::SampledWindow;
pub use sliding_percentiles::{PercentilesSnapshot, SlidingPercentiles};
pub use sliding_window::SlidingWindow;
pub use value::{AnyValue, DefaultValue, Value, ValueType};

use crate::{
    Clock, Error,
    export::{Family as ExportFamily, Samples},
};

/// What kind of field an entry of [`AppState::describe`](crate::AppState::describe) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldKind {
    /// [`Counter`].
    Counter,
    /// [`Gauge`].
    Gauge,
    /// [`Value`].
    Value,
    /// [`SlidingWindow`].
    SlidingWindow,
    /// [`PeriodicSum`].
    PeriodicSum,
    /// [`Ewma`].
    Ewma,
    /// [`RunningStats`].
    RunningStats,
    /// [`SampledWindow`].
    SampledWindow,
    /// [`LeakyBucket`].
    LeakyBucket,
    /// [`SlidingPercentiles`].
    SlidingPercentiles,
    /// [`Histogram`].
    Histogram,
    /// [`Family`]: one child field per label set.
    Family,
    /// A nested state serialized inline (`#[monsta(flatten)]`).
    Flatten,
    /// A field type defined outside monsta, by the name it gives itself.
    Custom(&'static str),
}

impl FieldKind {
    /// The kind's name: the field type's name (`"SlidingWindow"`), or a
    /// custom kind's own.
    pub const fn name(&self) -> &'static str {
        match self {
            FieldKind::Counter => "Counter",
            FieldKind::Gauge => "Gauge",
            FieldKind::Value => "Value",
            FieldKind::SlidingWindow => "SlidingWindow",
            FieldKind::PeriodicSum => "PeriodicSum",
            FieldKind::Ewma => "Ewma",
            FieldKind::RunningStats => "RunningStats",
            FieldKind::SampledWindow => "SampledWindow",
            FieldKind::LeakyBucket => "LeakyBucket",
            FieldKind::SlidingPercentiles => "SlidingPercentiles",
            FieldKind::Histogram => "Histogram",
            FieldKind::Family => "Family",
            FieldKind::Flatten => "Flatten",
            FieldKind::Custom(name) => name,
        }
    }
}

/// A monsta field: something a state holds, snapshots, serializes and
/// exports.
///
/// Every field type, built in or defined elsewhere, describes itself here:
/// its snapshot, its kind, and what it exports to a metrics system (its
/// families, known at compile time, and its samples). Exporters such as the
/// Prometheus collector read only this, so a field type of one's own is
/// exported like the built-in ones. Its `Serialize` writes the field's
/// JSON, the same as its snapshot's.
///
/// A field type of one's own also implements `monsta::fields::Build` (how
/// `#[derive(AppState)]` builds it; hidden from these docs, but supported)
/// and is marked `#[monsta(field)]` in a derived state: the derive's
/// documentation shows a complete example.
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

    /// The metric families the field exports, in the order
    /// [`export`](Self::export) indexes them. Empty: nothing is exported.
    const FAMILIES: &'static [ExportFamily];

    /// The current value.
    fn snapshot(&self) -> Self::Snapshot;

    /// Writes the field's current samples into `out`, each under the index
    /// of its family in [`FAMILIES`](Self::FAMILIES). Called under the
    /// state's lock.
    fn export(&self, out: &mut dyn Samples);

    /// A reference for visitors such as exporters.
    fn as_field_ref(&self) -> FieldRef<'_>
    where
        Self: Serialize + Sized + 'static,
    {
        FieldRef::new(self)
    }

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

/// A field of a state with its type erased, handed to a
/// [`Visitor`](crate::Visitor): its exported families and samples, its JSON,
/// and the field itself for visitors that know the type.
#[derive(Clone, Copy)]
pub struct FieldRef<'a> {
    field: &'a dyn DynField,
}

impl<'a> FieldRef<'a> {
    /// A reference to `field`.
    pub fn new<T: Field + Serialize + 'static>(field: &'a T) -> Self {
        FieldRef { field }
    }

    /// The families the field exports ([`Field::FAMILIES`]).
    pub fn families(&self) -> &'static [ExportFamily] {
        self.field.families()
    }

    /// Writes the field's samples ([`Field::export`]).
    pub fn export(&self, out: &mut dyn Samples) {
        self.field.export(out);
    }

    /// The field's value as JSON (`null` if it fails to serialize).
    pub fn to_json(&self) -> serde_json::Value {
        self.field.to_json()
    }

    /// The field as its concrete type, if it is a `T`.
    ///
    /// # Examples
    ///
    /// ```
    /// use monsta_core::{Field, fields::{Counter, Gauge}};
    ///
    /// let calls = Counter::with_value(3);
    /// let field = calls.as_field_ref();
    /// assert_eq!(field.downcast::<Counter>().map(Counter::get), Some(3));
    /// assert!(field.downcast::<Gauge>().is_none());
    /// assert_eq!(field.to_json(), serde_json::json!(3));
    /// ```
    pub fn downcast<T: 'static>(&self) -> Option<&'a T> {
        self.field.as_any().downcast_ref()
    }
}

impl Debug for FieldRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("FieldRef").field(&self.to_json()).finish()
    }
}

/// What [`FieldRef`] calls: [`Field`] as an object-safe trait.
trait DynField: Send + Sync {
    fn families(&self) -> &'static [ExportFamily];
    fn export(&self, out: &mut dyn Samples);
    fn to_json(&self) -> serde_json::Value;
    fn as_any(&self) -> &dyn Any;
}

impl<T: Field + Serialize + 'static> DynField for T {
    fn families(&self) -> &'static [ExportFamily] {
        T::FAMILIES
    }
    fn export(&self, out: &mut dyn Samples) {
        Field::export(self, out);
    }
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The one family of a field whose value is a single number: the field's
/// own name, with its unit.
pub(crate) const GAUGE: &[ExportFamily] = &[ExportFamily::gauge("", "").with_unit()];

/// The parameters `#[derive(AppState)]` read from a field's attributes, as
/// [`Build::build`] receives them; each field type picks those it knows.
///
/// A field type of one's own (`#[monsta(field)]`) gets one with every
/// built-in parameter `None`, and the keys of its own it declares in
/// [`Build::KEYS`] in [`keys`](Self::keys). Parameters
/// may be added in later versions, so build one with
/// `FieldConfig { window: Some(...), ..Default::default() }`.
///
/// Hidden from the rendered documentation, like [`Build`], but supported:
/// see [`Build`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default)]
pub struct FieldConfig {
    /// `window`: the length of a window.
    pub window: Option<Duration>,
    /// `reset_at`: the daily reset time of a [`PeriodicSum`].
    pub reset_at: Option<Time>,
    /// `tz`: the time zone of a [`PeriodicSum`]'s reset.
    pub tz: Option<&'static str>,
    /// `alpha`: the smoothing factor of an [`Ewma`].
    pub alpha: Option<f64>,
    /// `preset`: the starting value of an [`Ewma`].
    pub preset: Option<f64>,
    /// `zero`: the value of a stale [`SampledWindow`].
    pub zero: Option<f64>,
    /// `capacity`: the size of a [`LeakyBucket`].
    pub capacity: Option<f64>,
    /// `leak_rate`: how much a [`LeakyBucket`] drains per second.
    pub leak_rate: Option<f64>,
    /// `quantiles`: the percentiles a [`SlidingPercentiles`] reports.
    pub quantiles: Option<&'static [f64]>,
    /// `max_samples`: how many samples a [`SlidingPercentiles`] keeps.
    pub max_samples: Option<usize>,
    /// `buckets`: the finite upper bounds of a [`Histogram`].
    pub buckets: Option<&'static [f64]>,
    /// `labels`: the label names of a [`Family`] whose label sets are
    /// tuples or plain values.
    pub labels: Option<&'static [&'static str]>,
    /// `max_series`: how many series a [`Family`] keeps.
    pub max_series: Option<usize>,
    /// `expire_after`: how long a [`Family`]'s series may go untouched
    /// before it is dropped.
    pub expire_after: Option<Duration>,
    /// The keys of a field type's own ([`Build::KEYS`]) as written, checked
    /// at compile time; read them with [`number`](Self::number) and
    /// [`text`](Self::text).
    pub keys: &'static [(&'static str, AttrValue)],
}

/// Builds a field from its attributes' [`FieldConfig`] and the state's
/// [`Clock`]: what `#[derive(AppState)]` calls for every field without
/// `default = ...`.
///
/// Every built-in field type implements it. A field type of one's own
/// implements it together with [`Field`] (and `Serialize`, for its JSON) to
/// be used in a derived state as `#[monsta(field)]`: its metrics are
/// exported through [`Field::FAMILIES`] and [`Field::export`], and its
/// JSON key and metric names are checked at compile time like a built-in
/// field's. A field that reads time takes it from `clock`, so that tests
/// with a [`ManualClock`](crate::ManualClock) drive it.
///
/// The trait is `#[doc(hidden)]`: it stays out of the rendered
/// documentation and out of the paths compiler messages print, but
/// implementing it (as `monsta::fields::Build`) for a field type of one's
/// own is supported; the derive's documentation shows how.
///
/// # Examples
///
/// ```
/// use monsta_core::{
///     Clock, Error, FieldKind,
///     export::{Family, Samples},
///     fields::{Build, Field, FieldConfig},
/// };
/// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
///
/// /// The largest value ever set.
/// #[derive(Default)]
/// struct MaxGauge(AtomicU64);
///
/// impl MaxGauge {
///     fn set(&self, value: u64) {
///         self.0.fetch_max(value, Relaxed);
///     }
/// }
///
/// impl serde::Serialize for MaxGauge {
///     fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
///         s.serialize_u64(self.0.load(Relaxed))
///     }
/// }
///
/// impl Field for MaxGauge {
///     type Snapshot = u64;
///     const KIND: FieldKind = FieldKind::Custom("MaxGauge");
///     const FAMILIES: &'static [Family] = &[Family::gauge("", "").with_unit()];
///     fn snapshot(&self) -> u64 {
///         self.0.load(Relaxed)
///     }
///     fn export(&self, out: &mut dyn Samples) {
///         out.gauge(0, self.snapshot() as f64);
///     }
/// }
///
/// impl Build for MaxGauge {
///     fn build(_: &FieldConfig, _: &Clock) -> Result<Self, Error> {
///         Ok(Self::default())
///     }
/// }
///
/// let peak = MaxGauge::build(&FieldConfig::default(), &Clock::system())?;
/// peak.set(3);
/// peak.set(2);
/// assert_eq!(peak.snapshot(), 3);
/// # Ok::<(), Error>(())
/// ```
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
    /// The attribute keys of the type's own, for a field type of one's own
    /// (`#[monsta(field, buckets = 10)]`): the derive checks each given key
    /// against these at compile time (an unknown key, a value of the wrong
    /// type or out of range, a missing required key are compile errors),
    /// and hands the values to [`build`](Self::build) in
    /// [`FieldConfig::keys`]. None by default.
    const KEYS: &'static [AttrKey] = &[];

    /// Builds the field.
    ///
    /// # Errors
    ///
    /// The field's constructor's error, such as a parameter out of range.
    fn build(config: &FieldConfig, clock: &Clock) -> Result<Self, Error>;

    /// Builds the field as one series of a [`Family`]: where a kind can,
    /// it starts small and grows its per-thread shards only once more than
    /// one thread updates it (a [`Counter`] does), since a family may hold
    /// thousands. [`build`](Self::build) by default.
    ///
    /// # Errors
    ///
    /// As [`build`](Self::build).
    fn build_series(config: &FieldConfig, clock: &Clock) -> Result<Self, Error> {
        Self::build(config, clock)
    }
}

/// Reads an `f64` written by serde_json, where NaN and infinities become `null`.
pub(crate) fn deserialize_nullable_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Implements `Field` for a field whose snapshot is a bare `f64`: by
/// default exported as one gauge of its value; with families and an export
/// function, as those say.
macro_rules! f64_field {
    ($ty:ident) => {
        $crate::fields::f64_field!(
            $ty,
            $crate::fields::GAUGE,
            |f: &$ty, out: &mut dyn $crate::export::Samples| { out.gauge(0, f.get()) }
        );
    };
    ($ty:ident, $families:expr, $export:expr) => {
        impl $crate::fields::Field for $ty {
            type Snapshot = f64;
            const KIND: $crate::fields::FieldKind = $crate::fields::FieldKind::$ty;
            const FAMILIES: &'static [$crate::export::Family] = $families;
            fn snapshot(&self) -> f64 {
                self.get()
            }
            fn export(&self, out: &mut dyn $crate::export::Samples) {
                let export: fn(&$ty, &mut dyn $crate::export::Samples) = $export;
                export(self, out);
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

/// The families of a windowed sum ([`SlidingWindow`], [`PeriodicSum`]):
/// its value, a gauge, and `<name>_added`, the counter of everything ever
/// added.
pub(crate) const WINDOWED: &[ExportFamily] = &[
    ExportFamily::gauge("", "").with_unit(),
    ExportFamily::counter("added", "total added").with_unit(),
];

/// Implements `Field` for a windowed sum: its snapshot a bare `f64`,
/// exported as [`WINDOWED`] from its value and total, read together.
macro_rules! windowed_field {
    ($ty:ident) => {
        $crate::fields::f64_field!(
            $ty,
            $crate::fields::WINDOWED,
            |f: &$ty, out: &mut dyn $crate::export::Samples| {
                let (value, added) = f.value_and_added();
                out.gauge(0, value);
                out.counter_f64(1, added);
            }
        );
    };
}
pub(crate) use windowed_field;

/// Implements `Field` and `Serialize` for a field whose snapshot is a
/// struct, with its families and a function that exports a snapshot.
macro_rules! struct_field {
    ($ty:ident, $snap:ty, $families:expr, $export:expr) => {
        impl $crate::fields::Field for $ty {
            type Snapshot = $snap;
            const KIND: $crate::fields::FieldKind = $crate::fields::FieldKind::$ty;
            const FAMILIES: &'static [$crate::export::Family] = $families;
            fn snapshot(&self) -> $snap {
                self.get()
            }
            fn export(&self, out: &mut dyn $crate::export::Samples) {
                let export: fn(&$snap, &mut dyn $crate::export::Samples) = $export;
                export(&self.get(), out);
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
