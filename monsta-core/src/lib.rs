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
