//! Attribute keys of a field type of one's own: what it declares in
//! [`Build::KEYS`], what the derive hands it in [`FieldConfig::keys`], and
//! the checks the derive's expansion evaluates at compile time.

use crate::{
    fields::{Build, FieldConfig},
    keys::{Message, str_eq},
};

/// An attribute key a field type of one's own takes
/// (`#[monsta(field, buckets = 10)]`), declared in [`Build::KEYS`].
///
/// A key's name must not be one of the derive's own keys (`window`, `unit`,
/// ...), which keep their meaning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttrKey {
    /// The key's name.
    pub name: &'static str,
    /// The values it takes.
    pub kind: AttrKind,
    /// Whether a field of the type cannot do without it.
    pub required: bool,
    /// What the value must be, for error messages: "a number of buckets
    /// from 1 to 100".
    pub expects: &'static str,
}

impl AttrKey {
    /// An optional key taking a number from `min` to `max` (inclusive).
    pub const fn number(name: &'static str, min: f64, max: f64, expects: &'static str) -> Self {
        AttrKey {
            name,
            kind: AttrKind::Number { min, max },
            required: false,
            expects,
        }
    }

    /// An optional key taking a string.
    pub const fn text(name: &'static str, expects: &'static str) -> Self {
        AttrKey {
            name,
            kind: AttrKind::Text,
            required: false,
            expects,
        }
    }

    /// The same key, required.
    #[must_use]
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
}

/// The values an [`AttrKey`] takes.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum AttrKind {
    /// A number literal (possibly negative) from `min` to `max`.
    Number {
        /// The smallest value accepted.
        min: f64,
        /// The largest value accepted.
        max: f64,
    },
    /// A string literal.
    Text,
}

/// The value of an attribute key as written, in [`FieldConfig::keys`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AttrValue {
    /// A number literal.
    Number(f64),
    /// A string literal.
    Text(&'static str),
}

impl FieldConfig {
    /// The value of a number key of the field type's own, if given.
    pub fn number(&self, key: &str) -> Option<f64> {
        self.keys.iter().find_map(|&(k, v)| match v {
            AttrValue::Number(n) if k == key => Some(n),
            _ => None,
        })
    }

    /// The value of a string key of the field type's own, if given.
    pub fn text(&self, key: &str) -> Option<&'static str> {
        self.keys.iter().find_map(|&(k, v)| match v {
            AttrValue::Text(t) if k == key => Some(t),
            _ => None,
        })
    }
}

/// The key of `keys` named `name`.
const fn find(keys: &[AttrKey], name: &str) -> Option<AttrKey> {
    let mut i = 0;
    while i < keys.len() {
        if str_eq(keys[i].name, name) {
            return Some(keys[i]);
        }
        i += 1;
    }
    None
}

/// The error of `key = value` on a field of type `T`, if it has one: the
/// derive's compile-time check of a key of the type's own. Not public API.
#[doc(hidden)]
pub const fn key_error<T: Build>(key: &str, value: AttrValue) -> Option<Message> {
    let ty = T::KIND.name();
    let mut m = Message::new();
    let Some(spec) = find(T::KEYS, key) else {
        m.push("unknown monsta field attribute `");
        m.push(key);
        m.push("` for `");
        m.push(ty);
        if T::KEYS.is_empty() {
            m.push("`, which takes no attribute keys of its own");
        } else {
            m.push("`; it takes: ");
            let mut i = 0;
            while i < T::KEYS.len() {
                if i > 0 {
                    m.push(", ");
                }
                m.push(T::KEYS[i].name);
                i += 1;
            }
        }
        return Some(m);
    };
    let fits = match (spec.kind, value) {
        (AttrKind::Number { min, max }, AttrValue::Number(n)) => n >= min && n <= max,
        (AttrKind::Text, AttrValue::Text(_)) => true,
        _ => false,
    };
    if fits {
        return None;
    }
    m.push("`");
    m.push(key);
    m.push("` of `");
    m.push(ty);
    m.push("` must be ");
    m.push(spec.expects);
    Some(m)
}

/// The error of a field of type `T` given the keys `given`, if one it
/// requires is missing. Not public API.
#[doc(hidden)]
pub const fn missing_error<T: Build>(given: &[&str]) -> Option<Message> {
    let mut i = 0;
    while i < T::KEYS.len() {
        let spec = T::KEYS[i];
        let mut k = 0;
        while k < given.len() && !str_eq(given[k], spec.name) {
            k += 1;
        }
        if spec.required && k == given.len() {
            let mut m = Message::new();
            m.push("a `");
            m.push(T::KIND.name());
            m.push("` field needs `");
            m.push(spec.name);
            m.push("`: ");
            m.push(spec.expects);
            return Some(m);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Clock, Error,
        export::{Family, Samples},
        fields::{Field, FieldKind},
    };

    #[derive(serde::Serialize)]
    struct Limited;

    impl Field for Limited {
        type Snapshot = ();
        const KIND: FieldKind = FieldKind::Custom("Limited");
        const FAMILIES: &'static [Family] = &[];
        fn snapshot(&self) {}
        fn export(&self, _: &mut dyn Samples) {}
    }

    impl Build for Limited {
        const KEYS: &'static [AttrKey] = &[
            AttrKey::number("limit", 1.0, 100.0, "from 1 to 100").required(),
            AttrKey::text("name", "a name"),
        ];
        fn build(_: &FieldConfig, _: &Clock) -> Result<Self, Error> {
            Ok(Limited)
        }
    }

    fn key(key: &str, value: AttrValue) -> Option<String> {
        key_error::<Limited>(key, value).map(|m| m.as_str().to_owned())
    }

    #[test]
    fn keys_are_checked_against_the_declaration() {
        assert_eq!(key("limit", AttrValue::Number(100.0)), None);
        assert_eq!(key("name", AttrValue::Text("q")), None);
        let range = "`limit` of `Limited` must be from 1 to 100";
        assert_eq!(key("limit", AttrValue::Number(0.5)).as_deref(), Some(range));
        assert_eq!(key("limit", AttrValue::Text("1")).as_deref(), Some(range));
        assert_eq!(
            key("colour", AttrValue::Text("red")).as_deref(),
            Some("unknown monsta field attribute `colour` for `Limited`; it takes: limit, name")
        );
        let missing = missing_error::<Limited>(&["name"]).map(|m| m.as_str().to_owned());
        assert_eq!(
            missing.as_deref(),
            Some("a `Limited` field needs `limit`: from 1 to 100")
        );
        assert!(missing_error::<Limited>(&["limit"]).is_none());
    }

    #[test]
    fn the_config_hands_the_values_over() {
        let config = FieldConfig {
            keys: &[
                ("limit", AttrValue::Number(5.0)),
                ("name", AttrValue::Text("q")),
            ],
            ..FieldConfig::default()
        };
        assert_eq!(config.number("limit"), Some(5.0));
        assert_eq!(config.text("name"), Some("q"));
        assert_eq!(config.number("name"), None);
        assert_eq!(config.text("other"), None);
    }
}
