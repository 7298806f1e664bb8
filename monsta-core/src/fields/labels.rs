//! Label sets of a [`Family`](super::Family): what identifies a series.

use std::{borrow::Cow, hash::Hash};

use serde::{Deserialize, Deserializer, Serialize, Serializer, de, ser::SerializeMap};

/// One label value: a string, an integer, a boolean, or a fieldless enum
/// with `#[derive(monsta::Labels)]` (its variant's name).
///
/// Values are written as they are; every exporter escapes them for its
/// format (JSON strings, Prometheus label values).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a label value",
    label = "not a label value",
    note = "a label value is a `&'static str`, a `String`, an integer, a `bool`, or a fieldless \
            enum with `#[derive(monsta::Labels)]`"
)]
pub trait LabelValue: Hash + Eq + Clone + Send + Sync + 'static {
    /// The value as text.
    fn label_value(&self) -> Cow<'_, str>;

    /// Calls `f` with the value as text. Exporters write label values
    /// through this: integers implement it without allocating.
    fn with_value(&self, f: &mut impl FnMut(&str)) {
        f(&self.label_value());
    }
}

/// A label set: the key of a [`Family`](super::Family)'s series.
///
/// Implemented for tuples of up to six [`LabelValue`]s and for single
/// values, whose label names the family's `labels = [...]` attribute gives
/// (or [`Family::with_labels`](super::Family::with_labels)), and by
/// `#[derive(monsta::Labels)]` for a struct (each field a label, named
/// after it) or a fieldless enum (one label, named after the enum in
/// snake case unless `#[monsta(label = "...")]` says otherwise), which know
/// their names.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a label set",
    label = "not a label set",
    note = "a label set is a tuple of label values (`&'static str`, `String`, integers, `bool`), \
            one such value, or a struct or fieldless enum with `#[derive(monsta::Labels)]`"
)]
pub trait Labels: Hash + Eq + Clone + Send + Sync + 'static {
    /// The label names, when the type knows them (`#[derive(Labels)]`);
    /// `None` for tuples and single values.
    const NAMES: Option<&'static [&'static str]>;
    /// How many labels a set has.
    const LEN: usize;
    /// The values, in the order of the names.
    fn values(&self) -> Vec<Cow<'_, str>>;

    /// Calls `f` with each value as text, in the order of the names.
    /// Exporters write label sets through this; the tuple and derived
    /// implementations allocate nothing.
    fn each_value(&self, f: &mut impl FnMut(&str)) {
        for value in self.values() {
            f(&value);
        }
    }
}

/// One part of a label set to look up with: a borrowed form of a stored
/// value (`&str` for a `String`) or the value itself. Equal parts hash
/// equally.
pub trait LabelPart<S>: Hash {
    /// Whether this is `stored`.
    fn is(&self, stored: &S) -> bool;
    /// The value to store for it.
    fn to_stored(&self) -> S;
}

/// A label set to look a series up by: `L` itself, or, for tuples and
/// strings, a borrowed form (`("GET", "/")` for `(String, String)`), so a
/// lookup of an existing series allocates nothing. It hashes as the `L` it
/// stands for.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot look up a series of label set `{L}`",
    label = "not a label set of this family",
    note = "look a series up with the label set type itself, or a tuple of the same length whose \
            strings are borrowed (`&str` for `String`)"
)]
pub trait LabelQuery<L>: Hash {
    /// Whether this is `stored`.
    fn matches(&self, stored: &L) -> bool;
    /// The label set to store for it.
    fn to_labels(&self) -> L;
}

macro_rules! same_part {
    ($($ty:ty),*) => {$(
        impl LabelValue for $ty {
            fn label_value(&self) -> Cow<'_, str> {
                Cow::Owned(self.to_string())
            }
            fn with_value(&self, f: &mut impl FnMut(&str)) {
                Text::write(self, f);
            }
        }
        impl LabelPart<$ty> for $ty {
            #[inline]
            fn is(&self, stored: &$ty) -> bool {
                self == stored
            }
            fn to_stored(&self) -> $ty {
                *self
            }
        }
        impl Labels for $ty {
            const NAMES: Option<&'static [&'static str]> = None;
            const LEN: usize = 1;
            fn values(&self) -> Vec<Cow<'_, str>> {
                vec![self.label_value()]
            }
            fn each_value(&self, f: &mut impl FnMut(&str)) {
                self.with_value(f);
            }
        }
        impl LabelQuery<$ty> for $ty {
            #[inline]
            fn matches(&self, stored: &$ty) -> bool {
                self == stored
            }
            fn to_labels(&self) -> $ty {
                *self
            }
        }
    )*};
}

same_part!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, bool
);

/// Label values written without allocating.
trait Text {
    fn write(&self, f: &mut impl FnMut(&str));
}

macro_rules! integer_text {
    ($($ty:ty),*) => {$(
        impl Text for $ty {
            #[inline]
            fn write(&self, f: &mut impl FnMut(&str)) {
                f(itoa::Buffer::new().format(*self));
            }
        }
    )*};
}

integer_text!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize
);

impl Text for bool {
    #[inline]
    fn write(&self, f: &mut impl FnMut(&str)) {
        f(if *self { "true" } else { "false" });
    }
}

impl LabelValue for &'static str {
    fn label_value(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl LabelValue for String {
    fn label_value(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl LabelPart<&'static str> for &'static str {
    #[inline]
    fn is(&self, stored: &&'static str) -> bool {
        self == stored
    }
    fn to_stored(&self) -> &'static str {
        self
    }
}

impl LabelPart<String> for &str {
    #[inline]
    fn is(&self, stored: &String) -> bool {
        *self == stored
    }
    fn to_stored(&self) -> String {
        (*self).to_owned()
    }
}

impl LabelPart<String> for String {
    #[inline]
    fn is(&self, stored: &String) -> bool {
        self == stored
    }
    fn to_stored(&self) -> String {
        self.clone()
    }
}

impl Labels for &'static str {
    const NAMES: Option<&'static [&'static str]> = None;
    const LEN: usize = 1;
    fn values(&self) -> Vec<Cow<'_, str>> {
        vec![Cow::Borrowed(self)]
    }
    fn each_value(&self, f: &mut impl FnMut(&str)) {
        f(self);
    }
}

impl Labels for String {
    const NAMES: Option<&'static [&'static str]> = None;
    const LEN: usize = 1;
    fn values(&self) -> Vec<Cow<'_, str>> {
        vec![Cow::Borrowed(self)]
    }
    fn each_value(&self, f: &mut impl FnMut(&str)) {
        f(self);
    }
}

impl LabelQuery<&'static str> for &'static str {
    #[inline]
    fn matches(&self, stored: &&'static str) -> bool {
        self == stored
    }
    fn to_labels(&self) -> &'static str {
        self
    }
}

impl LabelQuery<String> for &str {
    #[inline]
    fn matches(&self, stored: &String) -> bool {
        *self == stored
    }
    fn to_labels(&self) -> String {
        (*self).to_owned()
    }
}

impl LabelQuery<String> for str {
    #[inline]
    fn matches(&self, stored: &String) -> bool {
        self == stored
    }
    fn to_labels(&self) -> String {
        self.to_owned()
    }
}

impl LabelQuery<String> for String {
    #[inline]
    fn matches(&self, stored: &String) -> bool {
        self == stored
    }
    fn to_labels(&self) -> String {
        self.clone()
    }
}

macro_rules! tuple {
    ($n:literal; $($t:ident $q:ident $i:tt),+) => {
        impl<$($t: LabelValue),+> Labels for ($($t,)+) {
            const NAMES: Option<&'static [&'static str]> = None;
            const LEN: usize = $n;
            fn values(&self) -> Vec<Cow<'_, str>> {
                vec![$(self.$i.label_value()),+]
            }
            fn each_value(&self, f: &mut impl FnMut(&str)) {
                $(self.$i.with_value(f);)+
            }
        }
        impl<$($t, $q: LabelPart<$t>),+> LabelQuery<($($t,)+)> for ($($q,)+) {
            #[inline]
            fn matches(&self, stored: &($($t,)+)) -> bool {
                $(self.$i.is(&stored.$i))&&+
            }
            fn to_labels(&self) -> ($($t,)+) {
                ($(self.$i.to_stored(),)+)
            }
        }
    };
}

tuple!(1; A QA 0);
tuple!(2; A QA 0, B QB 1);
tuple!(3; A QA 0, B QB 1, C QC 2);
tuple!(4; A QA 0, B QB 1, C QC 2, D QD 3);
tuple!(5; A QA 0, B QB 1, C QC 2, D QD 3, E QE 4);
tuple!(6; A QA 0, B QB 1, C QC 2, D QD 3, E QE 4, F QF 5);

/// The labels of a series in a snapshot: `(name, value)` pairs in the
/// family's order. JSON: an object, `{"method": "GET", "route": "/"}`;
/// every value a string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSet(pub Vec<(String, String)>);

impl LabelSet {
    /// The value of label `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Serialize for LabelSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for LabelSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = LabelSet;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of label names and string values")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<LabelSet, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    out.push((k, v));
                }
                Ok(LabelSet(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, RandomState};

    #[test]
    fn a_borrowed_query_hashes_and_matches_as_the_stored_set() {
        let state = RandomState::new();
        let stored = (String::from("GET"), String::from("/"), 200u16);
        let query = ("GET", "/", 200u16);
        assert_eq!(state.hash_one(&stored), state.hash_one(query));
        assert!(query.matches(&stored));
        assert!(!("GET", "/x", 200u16).matches(&stored));
        assert_eq!(query.to_labels(), stored);
        assert_eq!(stored.values(), ["GET", "/", "200"]);
        assert_eq!(state.hash_one(String::from("a")), state.hash_one("a"));
    }
}
