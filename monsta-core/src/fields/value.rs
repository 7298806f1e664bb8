use std::fmt::Debug;

use parking_lot::RwLock;
use serde::{Serialize, Serializer, de::DeserializeOwned};

use crate::{
    Clock, Error,
    export::{Family, Samples},
    fields::FieldKind,
    fields::{Build, Field, FieldConfig},
};

/// Any serde value: a status string, a version, a list, a struct.
///
/// JSON: whatever `T` serializes to. Held in a reader-writer lock: `set`
/// replaces the value, `update` changes it in place, readers clone it.
///
/// **What `T` needs.** Any `T` makes a `Value<T>`, but as a field of a state
/// (a [`Field`]) `T` must be a [`ValueType`]: `Serialize` (the JSON),
/// `DeserializeOwned` (the snapshot reads the JSON back), `Clone` (the
/// snapshot copies it), `Debug` and `PartialEq` (the snapshot derives them),
/// `Send + Sync + 'static` (states are shared between threads). Built by
/// `#[derive(AppState)]` without `#[monsta(default = ...)]`, it also needs
/// `Default` (it starts at `T::default()`). `#[derive(Serialize, Deserialize,
/// Clone, Debug, PartialEq, Default)]` on a type of your own gives all of
/// these.
///
/// # Examples
///
/// ```
/// use monsta_core::fields::Value;
///
/// let status = Value::new(String::from("starting"));
/// status.set("degraded".into());
/// assert_eq!(status.get(), "degraded");
/// status.update(|s| s.push('!'));
/// assert_eq!(serde_json::to_string(&status).unwrap(), r#""degraded!""#);
/// ```
#[derive(Debug, Default)]
pub struct Value<T>(RwLock<T>);

impl<T> Value<T> {
    /// A field holding `value`.
    pub fn new(value: T) -> Self {
        Value(RwLock::new(value))
    }

    /// Replaces the value.
    pub fn set(&self, value: T) {
        *self.0.write() = value;
    }

    /// Replaces the value and returns the old one.
    pub fn replace(&self, value: T) -> T {
        std::mem::replace(&mut *self.0.write(), value)
    }

    /// Changes the value in place.
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.0.write())
    }

    /// Reads the value in place.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.0.read())
    }

    /// A copy of the value.
    pub fn get(&self) -> T
    where
        T: Clone,
    {
        self.0.read().clone()
    }
}

impl<T: Default> Value<T> {
    /// Sets the value back to `T::default()`.
    pub fn reset(&self) {
        self.set(T::default());
    }
}

impl<T> From<T> for Value<T> {
    fn from(value: T) -> Self {
        Value::new(value)
    }
}

impl<T: Serialize> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.read().serialize(s)
    }
}

/// What the `T` of a [`Value<T>`] field needs: implemented for every type
/// that is `Serialize + DeserializeOwned + Clone + Debug + PartialEq + Send +
/// Sync + 'static`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the `T` of a monsta `Value<T>` field",
    label = "`{Self}` lacks a trait a `Value<T>` needs",
    note = "the `T` of a `Value<T>` must implement `Serialize`, `Deserialize`, `Clone`, `Debug`, \
            `PartialEq`, `Send` and `Sync`, and own its data (`'static`): for a type of your own, \
            add `#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]`"
)]
pub trait ValueType:
    Serialize + DeserializeOwned + Clone + Debug + PartialEq + Send + Sync + 'static
{
}

impl<T> ValueType for T where
    T: Serialize + DeserializeOwned + Clone + Debug + PartialEq + Send + Sync + 'static
{
}

/// What the `T` of a [`Value<T>`] field built without
/// `#[monsta(default = ...)]` needs: `Default`, its starting value.
#[diagnostic::on_unimplemented(
    message = "a `Value<{Self}>` field needs a starting value, and `{Self}` has no `Default`",
    label = "`{Self}` does not implement `Default`",
    note = "give the field one with `#[monsta(default = ...)]`, or implement (or derive) \
            `Default` for `{Self}`"
)]
pub trait DefaultValue: Default {}

impl<T: Default> DefaultValue for T {}

impl<T: ValueType> Field for Value<T> {
    type Snapshot = T;
    const KIND: FieldKind = FieldKind::Value;
    /// A number is a gauge with the field's unit, a boolean a gauge
    /// without one (1 or 0), a string an info metric; `null`, arrays and
    /// objects are not exported.
    const FAMILIES: &'static [Family] = &[
        Family::gauge("", "").with_unit(),
        Family::gauge("", ""),
        Family::info("", ""),
    ];
    fn snapshot(&self) -> T {
        self.get()
    }
    fn export(&self, out: &mut dyn Samples) {
        match self.to_json() {
            serde_json::Value::Number(n) => {
                if let Some(v) = n.as_f64() {
                    out.gauge(0, v);
                }
            }
            serde_json::Value::Bool(b) => out.gauge(1, f64::from(u8::from(b))),
            serde_json::Value::String(s) => out.info(2, &s),
            serde_json::Value::Null
            | serde_json::Value::Array(_)
            | serde_json::Value::Object(_) => {}
        }
    }
}

impl<T: ValueType + Default> Build for Value<T> {
    fn build(_: &FieldConfig, _: &Clock) -> Result<Self, Error> {
        Ok(Value::default())
    }
}

/// A [`Value`] with its type erased, as a [`Visitor`](crate::Visitor) sees it.
pub trait AnyValue: Send + Sync + Debug {
    /// The value as JSON.
    fn to_json(&self) -> serde_json::Value;
    /// The value as a number, if it is one (integers, floats and booleans).
    fn as_f64(&self) -> Option<f64> {
        match self.to_json() {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::Bool(b) => Some(f64::from(u8::from(b))),
            _ => None,
        }
    }
}

impl<T: Serialize + Send + Sync + Debug> AnyValue for Value<T> {
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
