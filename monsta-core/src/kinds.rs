//! The built-in field kinds and the attribute keys of `#[derive(AppState)]`:
//! the one list the derive reads. Not public API.
//!
//! [`KINDS`] has one [`KindSpec`] per built-in field type: the name the
//! derive recognizes it by (the last segment of the field's type path), the
//! name error messages show, its [`FieldKind`], the kind-specific keys it
//! takes, those it requires, and whether it takes `default`. The derive
//! looks kinds up here ([`by_type_name`]) and asks which kinds a key applies
//! to ([`applies_to`]); it keeps no list of its own. The values of the keys
//! are checked by [`params`](crate::params), the functions the run-time
//! constructors call.
//!
//! # Adding a built-in kind
//!
//! 1. The field type, in its own file under `monsta-core/src/fields/`, with
//!    its [`Field`](crate::Field) impl (snapshot, [`FieldKind`], families,
//!    export) and its [`Build`](crate::fields::Build) impl, which reads the
//!    [`FieldConfig`](crate::fields::FieldConfig) parameters it takes; a new
//!    variant of [`FieldKind`] for it.
//! 2. Its entry in [`KINDS`], in the order the documentation lists the
//!    kinds (error messages list them in this order).
//! 3. If it brings a new key: the key's constant here, in [`FIELD_KEYS`]
//!    and [`KIND_KEYS`], with an [`example`]; a slot for it in
//!    `FieldConfig`; and in the derive, its parsing in
//!    `monsta-derive/src/attr.rs`, the check of its value in
//!    `monsta-derive/src/valid.rs` (through a function of
//!    [`params`](crate::params)) and its entry of the `FieldConfig` in
//!    `monsta-derive/src/expand.rs`.
//! 4. Its row in the derive's documentation (`src/derive.md` of the facade)
//!    and UI cases under `tests/ui/`.
//!
//! A `Family<L, F>` takes its own keys and those of its child kind `F` (the
//! derive reads `F` from the type's second argument).
//!
//! A field type defined outside monsta needs none of this: it implements
//! `Field` and `Build` (declaring the keys of its own in `Build::KEYS`,
//! which the derive's expansion checks at compile time), and the field is
//! marked `#[monsta(field)]`. Such keys cannot have the names in
//! [`FIELD_KEYS`].

use crate::fields::FieldKind;

/// Container key: the path of the monsta crate.
pub const CRATE: &str = "crate";
/// Container key: the metric name prefix.
pub const PREFIX: &str = "prefix";

/// Every container key, in the order the documentation lists them.
pub const CONTAINER_KEYS: &[&str] = &[CRATE, PREFIX];

/// Field key: the length of a window.
pub const WINDOW: &str = "window";
/// Field key: the daily reset time of a `PeriodicSum`.
pub const RESET_AT: &str = "reset_at";
/// Field key: the time zone of a `PeriodicSum`'s reset.
pub const TZ: &str = "tz";
/// Field key: the smoothing factor of an `Ewma`.
pub const ALPHA: &str = "alpha";
/// Field key: the starting value of an `Ewma`.
pub const PRESET: &str = "preset";
/// Field key: the value of a stale `SampledWindow`.
pub const ZERO: &str = "zero";
/// Field key: the size of a `LeakyBucket`.
pub const CAPACITY: &str = "capacity";
/// Field key: how much a `LeakyBucket` drains per second.
pub const LEAK_RATE: &str = "leak_rate";
/// Field key: the percentiles a `SlidingPercentiles` reports.
pub const QUANTILES: &str = "quantiles";
/// Field key: the number of samples a `SlidingPercentiles` keeps.
pub const MAX_SAMPLES: &str = "max_samples";
/// Field key: the upper bounds of a `Histogram`'s buckets.
pub const BUCKETS: &str = "buckets";
/// Field key: the label names of a `Family`.
pub const LABELS: &str = "labels";
/// Field key: how many series a `Family` keeps.
pub const MAX_SERIES: &str = "max_series";
/// Field key: how long a `Family`'s series may go untouched.
pub const EXPIRE_AFTER: &str = "expire_after";
/// Field key: the starting value, an expression.
pub const DEFAULT: &str = "default";
/// Field key: the JSON key.
pub const RENAME: &str = "rename";
/// Field key: the help text.
pub const HELP: &str = "help";
/// Field key: the unit of the exported metrics.
pub const UNIT: &str = "unit";
/// Field key: leave the field out of the state.
pub const SKIP: &str = "skip";
/// Field key: a nested state, serialized inline.
pub const FLATTEN: &str = "flatten";
/// Field key: a field type of one's own, implementing `Field` and `Build`.
pub const FIELD: &str = "field";

/// Every field key, in the order the documentation lists them: first the
/// [`KIND_KEYS`], then the keys any field takes.
pub const FIELD_KEYS: &[&str] = &[
    WINDOW,
    RESET_AT,
    TZ,
    ALPHA,
    PRESET,
    ZERO,
    CAPACITY,
    LEAK_RATE,
    QUANTILES,
    MAX_SAMPLES,
    BUCKETS,
    LABELS,
    MAX_SERIES,
    EXPIRE_AFTER,
    DEFAULT,
    RENAME,
    HELP,
    UNIT,
    SKIP,
    FLATTEN,
    FIELD,
];

/// How many of [`FIELD_KEYS`] only some kinds take.
const KIND_KEY_COUNT: usize = 14;

/// The keys that only some kinds take ([`KindSpec::keys`]); `default` is
/// told by [`KindSpec::default`]. Every other field key applies to any
/// field.
pub const KIND_KEYS: &[&str] = FIELD_KEYS.split_at(KIND_KEY_COUNT).0;

/// The keys a field of a type of one's own (`#[monsta(field)]`) takes
/// besides `field` itself.
pub const COMMON_KEYS: &[&str] = &[RENAME, HELP, UNIT];

/// An example of a key with a value, for error messages.
pub fn example(key: &str) -> &'static str {
    match key {
        WINDOW => "window = \"60s\"",
        RESET_AT => "reset_at = \"06:00\"",
        TZ => "tz = \"Europe/Berlin\"",
        ALPHA => "alpha = 0.1",
        PRESET => "preset = 0.0",
        ZERO => "zero = 0.0",
        CAPACITY => "capacity = 100",
        LEAK_RATE => "leak_rate = 10",
        QUANTILES => "quantiles = [50, 99.9]",
        MAX_SAMPLES => "max_samples = 10000",
        BUCKETS => "buckets = [0.01, 0.1, 1]",
        LABELS => "labels = [\"method\", \"route\"]",
        MAX_SERIES => "max_series = 1000",
        EXPIRE_AFTER => "expire_after = \"10m\"",
        DEFAULT => "default = 1",
        RENAME => "rename = \"name\"",
        HELP => "help = \"Requests in the last minute.\"",
        UNIT => "unit = \"seconds\"",
        CRATE => "crate = \"monsta\"",
        PREFIX => "prefix = \"myapp\"",
        _ => "key = value",
    }
}

/// One built-in field kind, as the derive knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSpec {
    /// The type's name as written: the last segment of a field's type path
    /// (`"SlidingWindow"`, `"Value"`).
    pub type_name: &'static str,
    /// The name messages show (`"Value<T>"`).
    pub display: &'static str,
    /// The kind the type's [`Field::KIND`](crate::Field::KIND) says.
    pub kind: FieldKind,
    /// The kind-specific keys ([`KIND_KEYS`]) it takes.
    pub keys: &'static [&'static str],
    /// The keys it cannot do without.
    pub required: &'static [&'static str],
    /// What the required keys stand for, for the message when one is
    /// missing ("its size and how much drains per second").
    pub required_why: &'static str,
    /// Whether it takes `default = ...` (built with `with_value`, or `new`
    /// for `Value<T>`).
    pub default: bool,
}

impl KindSpec {
    /// Whether the kind takes `key` (a field key): a key of its own,
    /// `default` if it takes one, or a key every field takes.
    pub fn takes(&self, key: &str) -> bool {
        if key == DEFAULT {
            self.default
        } else if KIND_KEYS.contains(&key) {
            self.keys.contains(&key)
        } else {
            true
        }
    }
}

const fn kind(type_name: &'static str, kind: FieldKind, keys: &'static [&'static str]) -> KindSpec {
    KindSpec {
        type_name,
        display: type_name,
        kind,
        keys,
        required: &[],
        required_why: "",
        default: false,
    }
}

/// Every built-in kind, in the documentation's order.
pub const KINDS: &[KindSpec] = &[
    kind("SlidingWindow", FieldKind::SlidingWindow, &[WINDOW]),
    kind("PeriodicSum", FieldKind::PeriodicSum, &[RESET_AT, TZ]),
    kind("Ewma", FieldKind::Ewma, &[ALPHA, PRESET]),
    kind("RunningStats", FieldKind::RunningStats, &[]),
    kind("SampledWindow", FieldKind::SampledWindow, &[WINDOW, ZERO]),
    KindSpec {
        required: &[CAPACITY, LEAK_RATE],
        required_why: "its size and how much drains per second",
        ..kind(
            "LeakyBucket",
            FieldKind::LeakyBucket,
            &[CAPACITY, LEAK_RATE],
        )
    },
    kind(
        "SlidingPercentiles",
        FieldKind::SlidingPercentiles,
        &[WINDOW, QUANTILES, MAX_SAMPLES],
    ),
    kind("Histogram", FieldKind::Histogram, &[BUCKETS]),
    KindSpec {
        default: true,
        ..kind("Counter", FieldKind::Counter, &[])
    },
    KindSpec {
        default: true,
        ..kind("Gauge", FieldKind::Gauge, &[])
    },
    KindSpec {
        display: "Value<T>",
        default: true,
        ..kind("Value", FieldKind::Value, &[])
    },
    KindSpec {
        display: "Family<L, F>",
        ..kind(
            "Family",
            FieldKind::Family,
            &[LABELS, MAX_SERIES, EXPIRE_AFTER],
        )
    },
];

/// The built-in kind whose type is named `type_name` (the last segment of
/// a type path, without generic arguments).
pub fn by_type_name(type_name: &str) -> Option<&'static KindSpec> {
    KINDS.iter().find(|k| k.type_name == type_name)
}

/// The kinds `key` applies to, in [`KINDS`]' order; `None` for a key every
/// field takes.
pub fn applies_to(key: &str) -> Option<Vec<&'static KindSpec>> {
    if key != DEFAULT && !KIND_KEYS.contains(&key) {
        return None;
    }
    Some(KINDS.iter().filter(|k| k.takes(key)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_keys_are_those_some_kind_takes_and_only_those() {
        for key in FIELD_KEYS {
            let some_kind_takes = KINDS
                .iter()
                .any(|k| k.keys.contains(key) || k.required.contains(key));
            assert_eq!(KIND_KEYS.contains(key), some_kind_takes, "{key}");
        }
    }

    #[test]
    fn every_kind_specific_key_has_a_kind() {
        for key in KIND_KEYS.iter().chain([&DEFAULT]) {
            assert!(!applies_to(key).unwrap().is_empty(), "{key}");
            assert_ne!(example(key), "key = value", "{key}");
            assert!(FIELD_KEYS.contains(key), "{key}");
        }
        for kind in KINDS {
            assert_eq!(kind.kind.name(), kind.type_name);
            for key in kind.keys.iter().chain(kind.required) {
                assert!(KIND_KEYS.contains(key), "{key}");
                assert!(kind.takes(key), "{key}");
            }
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(by_type_name("Value").unwrap().display, "Value<T>");
        assert!(by_type_name("Value<T>").is_none());
        assert_eq!(by_type_name("Histogram").unwrap().keys, [BUCKETS]);
        assert!(by_type_name("Histogram<T>").is_none());
        let window: Vec<_> = applies_to(WINDOW)
            .unwrap()
            .iter()
            .map(|k| k.type_name)
            .collect();
        assert_eq!(
            window,
            ["SlidingWindow", "SampledWindow", "SlidingPercentiles"]
        );
        assert!(applies_to(RENAME).is_none());
        assert!(applies_to(FIELD).is_none());
        assert_eq!(example(CAPACITY), "capacity = 100");
    }
}
