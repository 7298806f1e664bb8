//! The core of [monsta](https://docs.rs/monsta-state): the field types of a
//! monitoring state, the clock they read, the [`AppState`] trait that
//! `#[derive(AppState)]` implements, and scoped transactions.
//!
//! Most users depend on the `monsta` facade crate, which re-exports all of
//! this together with the derive and the HTTP reporter.
//!
//! ```
//! use std::time::Duration;
//! use monsta_core::{clock::ManualClock, fields::{Counter, RunningStats, SlidingWindow}};
//!
//! let clock = ManualClock::new();
//! let requests = SlidingWindow::with_clock(Duration::from_secs(60), &clock.clock())?;
//! let latency = RunningStats::new();
//! let errors = Counter::new();
//!
//! requests.inc(1.0);
//! latency.update(42.0);
//! errors.inc(1);
//!
//! assert_eq!(requests.get(), 1.0);
//! assert_eq!(latency.get().mean, 42.0);
//! assert_eq!(serde_json::to_string(&errors).unwrap(), "1");
//! # Ok::<(), monsta_core::Error>(())
//! ```

pub mod clock;
mod error;
pub mod export;
pub mod fields;
pub mod instrument;
#[doc(hidden)]
pub mod keys;
#[doc(hidden)]
pub mod kinds;
pub(crate) mod lock;
pub mod params;
mod shard;
pub mod state;

pub use clock::{Clock, ManualClock};
pub use error::Error;
pub use fields::{Field, FieldRef};
/// The date and time crate monsta's public API speaks in: the wall times of
/// [`ManualClock`] and [`Clock::wall`], the reset time and zone of
/// [`PeriodicSum`](fields::PeriodicSum). Use these re-exports (or a `jiff`
/// dependency of the same major version) so the types match.
pub use jiff;
/// A signed span of time ([`jiff::SignedDuration`]), as
/// [`ManualClock::shift_wall`] takes.
pub use jiff::SignedDuration;
/// An instant in wall-clock time ([`jiff::Timestamp`]).
pub use jiff::Timestamp;
pub use state::{AppState, FieldInfo, FieldKind, StateGuard, Tx, Visitor};

/// What `#[derive(AppState)]` expands to refers to (through `monsta`, or
/// `#[monsta(crate = "monsta_core")]` inside this workspace). Not public
/// API.
#[doc(hidden)]
pub mod __private {
    pub use crate::{
        fields::{AttrValue, Build, Field, FieldConfig},
        keys::Key,
        state::LockSet,
        *,
    };
    pub use serde;
    pub use serde_json;

    // Prelude items, so generated code works whatever the user's scope
    // shadows (`Result`, `Option`, `Default`, ...).
    pub use core::{
        default::Default,
        option::Option::{self, None, Some},
        panic,
        result::Result::{self, Err, Ok},
        time::Duration,
    };
    pub use std::vec::Vec;

    /// The derive's assertion that a field's type is a monsta field.
    pub const fn assert_field<T: Field>() {}

    /// The derive's assertion that a field's type is a monsta field it can
    /// build from the attributes.
    pub const fn assert_build<T: Build>() {}

    /// The keys of a `flatten` field's type: the derive's assertion that it
    /// is a state, and its part of the key check.
    pub const fn state_keys<T: AppState>() -> &'static [Key] {
        T::KEYS
    }

    /// The metric families of a field's type, for the derive's check of
    /// metric names.
    pub const fn field_families<T: Field>() -> &'static [export::Family] {
        T::FAMILIES
    }

    /// The metric families of every `Value<T>`.
    pub const fn value_families() -> &'static [export::Family] {
        <fields::Value<()> as Field>::FAMILIES
    }

    /// The derive's assertion that the `T` of a `Value<T>` field can be one.
    pub const fn assert_value<T: fields::ValueType>() {}

    /// The derive's assertion that a `Value<T>` without `default` can start
    /// at `T::default()`.
    pub const fn assert_default_value<T: fields::DefaultValue>() {}
}
