//! The [`AppState`] trait that `#[derive(AppState)]` implements, scoped
//! transactions, and the description of a state's fields.

use std::{fmt::Debug, marker::PhantomData, ops::Deref};

use serde::{Serialize, de::DeserializeOwned, ser::SerializeMap};

pub use crate::fields::FieldKind;
pub use crate::lock::{LockSet, StateGuard};
use crate::{Clock, Error, fields::FieldRef, keys::Key};

/// A monitoring state: a struct of monsta fields, implemented by
/// `#[derive(AppState)]`.
///
/// Single-field updates go straight to the field's atomics. A
/// [`transaction`](AppState::transaction) groups several updates so that no
/// [`snapshot`](AppState::snapshot) (and so no JSON rendering) observes part of
/// them; transactions of different threads on the same state serialize.
///
/// # The lock
///
/// Every state has a lock of its own, which transactions and snapshots take.
/// The derive can't add a mutex to the struct, so the lock lives in a
/// process-wide table keyed by the state's address: states that land on the
/// same entry of the table still lock independently, so holding one state's
/// lock never blocks another state. A state with flattened children locks
/// its children too, lowest address first. The lock is reentrant: a
/// transaction may take its own state's snapshot, or run another
/// transaction on it.
///
/// Taking a snapshot (or the JSON, or the Prometheus text) of state `q`
/// inside a transaction of state `p` waits only for transactions of `q`.
/// It deadlocks only if the program nests the two states in both orders at
/// once: one thread in `p.transaction(|_| q.snapshot())` while another is in
/// `q.transaction(|_| p.snapshot())` (or the same with nested
/// transactions). That is a lock-order cycle in the program, as with two
/// mutexes, and it hangs both threads; take the inner snapshot after the
/// transaction, or nest states in one order everywhere. A state and its own
/// flattened child count as two states here: a transaction of the child
/// that takes the parent's snapshot nests them in the order opposite to the
/// parent's own transactions.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a monsta state (`AppState`)",
    label = "not an `AppState`",
    note = "a `#[monsta(flatten)]` field nests a state: its type must be a struct with \
            `#[derive(AppState)]`; for a plain serde value use a `Value<T>` field without \
            `flatten`, to leave the field out of the state use `#[monsta(skip)]`"
)]
pub trait AppState: Serialize + Send + Sync + Sized + 'static {
    /// The plain-data copy of the state: what [`snapshot`](Self::snapshot)
    /// returns and what the JSON endpoint deserializes back into.
    type Snapshot: Serialize + DeserializeOwned + Clone + Debug + PartialEq + Send + Sync + 'static;

    /// The prefix exporters put before the state's metric names (with a
    /// `_`), such as `Some("myapp")` for `myapp_requests_total`: what
    /// `#[monsta(prefix = "myapp")]` sets. `None` (the default) for no
    /// prefix. A flattened child's own prefix is not used: its fields take
    /// the parent's.
    const PREFIX: Option<&'static str> = None;

    /// The state's JSON keys, a flattened child's as a subtree: what the
    /// derive checks for duplicates at compile time. The default, for
    /// hand-written states, says they are unknown; a derived state that
    /// flattens such a state checks its keys when it is built.
    #[doc(hidden)]
    const KEYS: &'static [Key] = &[Key::Unknown];

    /// Builds the state, every field from its attributes, on `clock`.
    ///
    /// # Errors
    ///
    /// The first field whose parameters are invalid (only possible for
    /// parameters that could not be checked at compile time).
    fn try_with_clock(clock: &Clock) -> Result<Self, Error>;

    /// A consistent copy of every field: taken while no transaction of this
    /// state is in progress.
    fn snapshot(&self) -> Self::Snapshot {
        let _guard = self.lock();
        self.snapshot_unlocked()
    }

    /// Runs `f` with this state's lock held: no snapshot sees part of what
    /// `f` does, and transactions of other threads wait. The lock is released
    /// when `f` returns or panics; a panic propagates, without poisoning.
    #[inline]
    fn transaction<R>(&self, f: impl FnOnce(&Tx<'_, Self>) -> R) -> R {
        let guard = self.lock();
        let result = f(&Tx {
            state: self,
            _guard: PhantomData,
        });
        // A panic in `f` drops the guard while unwinding; this is the
        // release where `f` returns, without a call to the guard's drop.
        guard.release();
        result
    }

    /// Takes this state's lock (and its flattened children's).
    #[inline]
    fn lock(&self) -> StateGuard {
        let mut set = LockSet::default();
        self.collect_locks(&mut set);
        set.lock()
    }

    /// The fields in declaration order, with flattened children's fields
    /// after an entry of kind [`FieldKind::Flatten`].
    fn describe() -> Vec<FieldInfo>;

    /// Calls `visitor` with every field, in declaration order, entering and
    /// leaving flattened children. Does not lock: call it inside
    /// [`lock`](Self::lock) for a consistent view.
    fn visit(&self, visitor: &mut dyn Visitor);

    /// The snapshot, without taking the lock (the caller holds it).
    #[doc(hidden)]
    fn snapshot_unlocked(&self) -> Self::Snapshot;

    /// Adds this state's lock (and its flattened children's) to `set`.
    #[doc(hidden)]
    #[inline]
    fn collect_locks(&self, set: &mut LockSet) {
        set.add(self);
    }

    /// Writes the fields, as JSON object entries, into `map`, without taking
    /// the lock (the caller holds it). The derive writes each field straight
    /// from its atomics; this default, for hand-written states, goes through
    /// the snapshot.
    ///
    /// # Errors
    ///
    /// The serializer's error.
    #[doc(hidden)]
    fn serialize_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        match serde_json::to_value(self.snapshot_unlocked()) {
            Ok(serde_json::Value::Object(entries)) => entries
                .iter()
                .try_for_each(|(key, value)| map.serialize_entry(key, value)),
            Ok(other) => Err(serde::ser::Error::custom(format_args!(
                "a state's snapshot must serialize to a map, not {other}"
            ))),
            Err(e) => Err(serde::ser::Error::custom(e)),
        }
    }
}

/// The scoped transaction of a state `S`: derefs to `S`, so fields are
/// reached by their names, while the state's lock is held.
///
/// `#[derive(AppState)]` names it `MyStateTx<'a>` for `struct MyState`.
pub struct Tx<'a, S> {
    state: &'a S,
    /// Not `Send` nor `Sync`, as the guard the transaction holds (released
    /// by [`AppState::transaction`] itself, inline, when `f` returns).
    _guard: PhantomData<StateGuard>,
}

impl<S> Deref for Tx<'_, S> {
    type Target = S;
    fn deref(&self) -> &S {
        self.state
    }
}

impl<S: Debug> Debug for Tx<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Tx").field(self.state).finish()
    }
}

/// One field of a state, as [`AppState::describe`] and [`Visitor`] see it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldInfo {
    /// The name in JSON (after `rename`).
    pub name: &'static str,
    /// The Rust field's name.
    pub ident: &'static str,
    /// The kind of field.
    pub kind: FieldKind,
    /// The help text: the `help` attribute, else the doc comment, else empty.
    pub help: &'static str,
    /// The unit of the field's values, such as `seconds`: the `unit`
    /// attribute, else `None`. Exporters that know units (Prometheus) add it
    /// to the metric name.
    pub unit: Option<&'static str>,
}

impl FieldInfo {
    /// Describes a field, with no unit.
    pub const fn new(
        name: &'static str,
        ident: &'static str,
        kind: FieldKind,
        help: &'static str,
    ) -> Self {
        FieldInfo {
            name,
            ident,
            kind,
            help,
            unit: None,
        }
    }

    /// The same description with a unit (what `#[monsta(unit = "...")]`
    /// gives).
    ///
    /// # Examples
    ///
    /// ```
    /// use monsta_core::{FieldInfo, FieldKind};
    ///
    /// const LATENCY: FieldInfo =
    ///     FieldInfo::new("latency", "latency", FieldKind::RunningStats, "Request latency.")
    ///         .with_unit("seconds");
    /// assert_eq!(LATENCY.unit, Some("seconds"));
    /// ```
    #[must_use]
    pub const fn with_unit(mut self, unit: &'static str) -> Self {
        self.unit = Some(unit);
        self
    }
}

/// Receives the fields of a state from [`AppState::visit`].
pub trait Visitor {
    /// One field.
    fn field(&mut self, info: &FieldInfo, field: FieldRef<'_>);
    /// A flattened child begins; its fields follow until [`leave`](Self::leave).
    fn enter(&mut self, info: &FieldInfo) {
        let _ = info;
    }
    /// A flattened child ends.
    fn leave(&mut self, info: &FieldInfo) {
        let _ = info;
    }
}

/// The run-time half of [`keys::duplicate`](crate::keys::duplicate), for a state whose key tree
/// [`has_unknown`](crate::keys::has_unknown) parts: walks the built state's fields.
///
/// # Errors
///
/// [`Error::DuplicateKey`] naming the key and both fields.
pub fn check_keys_at_run_time<S: AppState>(state: &S) -> Result<(), Error> {
    let mut walk = Walk::default();
    state.visit(&mut walk);
    walk.duplicate.map_or(Ok(()), Err)
}

/// Collects the JSON keys of a state with the Rust path of their fields.
#[derive(Default)]
struct Walk {
    path: Vec<&'static str>,
    seen: Vec<(&'static str, String)>,
    duplicate: Option<Error>,
}

impl Visitor for Walk {
    fn field(&mut self, info: &FieldInfo, _: FieldRef<'_>) {
        let mut path = self.path.join(".");
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(info.ident);
        if let Some((_, first)) = self.seen.iter().find(|(key, _)| *key == info.name) {
            if self.duplicate.is_none() {
                self.duplicate = Some(Error::DuplicateKey {
                    key: info.name.to_owned(),
                    first: first.clone(),
                    second: path,
                });
            }
            return;
        }
        self.seen.push((info.name, path));
    }

    fn enter(&mut self, info: &FieldInfo) {
        self.path.push(info.ident);
    }

    fn leave(&mut self, _: &FieldInfo) {
        self.path.pop();
    }
}
