//! The JSON keys of a state, and the check that no two fields share one.
//!
//! A flattened child's fields share its parent's JSON object, so a parent
//! field and a child field with the same name would be written twice
//! (`{"queries":1,"queries":2}`): JSON readers keep one, and the snapshot no
//! longer reads back. `#[derive(AppState)]` describes every state's keys as a
//! tree of static slices ([`AppState::KEYS`](crate::AppState::KEYS)) and checks
//! the whole tree in a constant ([`duplicate`]), so a duplicate is a compile
//! error. A hand-written `AppState` has no such tree ([`Key::Unknown`]); a
//! derived state that flattens one checks its keys when it is built instead
//! ([`check_keys_at_run_time`](crate::state::check_keys_at_run_time)).

mod metrics;

pub use metrics::metric_clash;

use crate::export::Family;

/// One entry of [`AppState::KEYS`](crate::AppState::KEYS). Not public API.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A field: its JSON key, its Rust name, its unit and the metric
    /// families its type exports.
    Field(
        &'static str,
        &'static str,
        Option<&'static str>,
        &'static [Family],
    ),
    /// A flattened child: the Rust name of the field, and the child's keys.
    Flatten(&'static str, &'static [Key]),
    /// Keys the compiler can't see (a hand-written `AppState`): checked at
    /// run time.
    Unknown,
}

/// How many fields `keys` has, flattened children's included.
const fn count(keys: &[Key]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < keys.len() {
        n += match keys[i] {
            Key::Field(..) => 1,
            Key::Flatten(_, child) => count(child),
            Key::Unknown => 0,
        };
        i += 1;
    }
    n
}

/// The JSON key of the `n`th field of `keys` (in the order [`count`] counts).
const fn json_key(keys: &[Key], mut n: usize) -> &'static str {
    let mut i = 0;
    while i < keys.len() {
        match keys[i] {
            Key::Field(json, ..) => {
                if n == 0 {
                    return json;
                }
                n -= 1;
            }
            Key::Flatten(_, child) => {
                let c = count(child);
                if n < c {
                    return json_key(child, n);
                }
                n -= c;
            }
            Key::Unknown => {}
        }
        i += 1;
    }
    ""
}

/// Whether a key tree has a part only run time can check.
#[must_use]
pub const fn has_unknown(keys: &[Key]) -> bool {
    let mut i = 0;
    while i < keys.len() {
        match keys[i] {
            Key::Unknown => return true,
            Key::Flatten(_, child) if has_unknown(child) => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A message built in a constant: a fixed buffer, cut at a character
/// boundary when full.
#[derive(Debug)]
pub struct Message {
    bytes: [u8; 512],
    len: usize,
}

impl Message {
    const fn new() -> Self {
        Message {
            bytes: [0; 512],
            len: 0,
        }
    }

    const fn push(&mut self, text: &str) {
        let text = text.as_bytes();
        let mut i = 0;
        while i < text.len() {
            // Whole characters only, so the buffer stays UTF-8.
            let width = match text[i] {
                b if b < 0x80 => 1,
                b if b >= 0xF0 => 4,
                b if b >= 0xE0 => 3,
                _ => 2,
            };
            if self.len + width > self.bytes.len() || i + width > text.len() {
                return;
            }
            let mut k = 0;
            while k < width {
                self.bytes[self.len] = text[i + k];
                self.len += 1;
                k += 1;
            }
            i += width;
        }
    }

    /// Appends the Rust path of the `n`th field of `keys`: `db.queries`.
    const fn push_path(&mut self, keys: &[Key], mut n: usize) {
        let mut i = 0;
        while i < keys.len() {
            match keys[i] {
                Key::Field(_, rust, ..) => {
                    if n == 0 {
                        self.push(rust);
                        return;
                    }
                    n -= 1;
                }
                Key::Flatten(rust, child) => {
                    let c = count(child);
                    if n < c {
                        self.push(rust);
                        self.push(".");
                        self.push_path(child, n);
                        return;
                    }
                    n -= c;
                }
                Key::Unknown => {}
            }
            i += 1;
        }
    }

    /// The message.
    #[must_use]
    pub const fn as_str(&self) -> &str {
        match core::str::from_utf8(self.bytes.split_at(self.len).0) {
            Ok(text) => text,
            Err(_) => "duplicate JSON key",
        }
    }
}

/// The message for fields `a` and `b` of `keys`, which share a JSON key.
const fn duplicate_message(state: &str, keys: &[Key], a: usize, b: usize) -> Message {
    let key = json_key(keys, a);
    let mut m = Message::new();
    m.push("duplicate JSON key `");
    m.push(key);
    m.push("` in `");
    m.push(state);
    m.push("`: fields `");
    m.push_path(keys, a);
    m.push("` and `");
    m.push_path(keys, b);
    m.push("` both serialize as `");
    m.push(key);
    m.push("` (a flattened state's fields share its parent's object); give one of them ");
    m.push("another name with `#[monsta(rename = \"...\")]`");
    m
}

/// The first two fields of `keys` that share a JSON key, if any.
const fn find_duplicate(keys: &[Key]) -> Option<(usize, usize)> {
    let n = count(keys);
    let mut a = 0;
    while a < n {
        let key = json_key(keys, a);
        let mut b = a + 1;
        while b < n {
            if str_eq(key, json_key(keys, b)) {
                return Some((a, b));
            }
            b += 1;
        }
        a += 1;
    }
    None
}

/// The error message when two fields of `keys` (flattened children's
/// included) share a JSON key, naming the key and both fields.
///
/// `#[derive(AppState)]` emits, for every state, a constant that panics with
/// it, so that a duplicate is a compile error:
///
/// ```compile_fail
/// # use monsta_core::keys::{Key, duplicate};
/// const KEYS: &[Key] = &[
///     Key::Field("queries", "queries", None, &[]),
///     Key::Flatten("db", &[Key::Field("queries", "queries", None, &[])]),
/// ];
/// // error: duplicate JSON key `queries` in `State`: fields `queries` and
/// // `db.queries` both serialize as `queries` ...
/// const _: () = if let Some(message) = duplicate("State", KEYS) {
///     panic!("{}", message.as_str())
/// };
/// ```
#[must_use]
pub const fn duplicate(state: &str, keys: &[Key]) -> Option<Message> {
    match find_duplicate(keys) {
        Some((a, b)) => Some(duplicate_message(state, keys, a, b)),
        None => None,
    }
}
