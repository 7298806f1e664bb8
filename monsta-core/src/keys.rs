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

/// Whether a key tree has a part only run time can check: a hand-written
/// state's keys, or more fields or deeper nesting than the constant checks
/// hold ([`MAX_FIELDS`], [`MAX_DEPTH`]).
#[must_use]
pub const fn has_unknown(keys: &[Key]) -> bool {
    let mut parents = [""; MAX_DEPTH];
    let mut fields = Fields::EMPTY;
    collect(keys, &mut parents, 0, &mut fields);
    fields.partial
}

pub(crate) const fn str_eq(a: &str, b: &str) -> bool {
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
    pub(crate) const fn new() -> Self {
        Message {
            bytes: [0; 512],
            len: 0,
        }
    }

    pub(crate) const fn push(&mut self, text: &str) {
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

    /// Appends the Rust path of a field: `db.queries`.
    const fn push_path(&mut self, field: &Flat) {
        let mut d = 0;
        while d < field.depth {
            self.push(field.parents[d]);
            self.push(".");
            d += 1;
        }
        self.push(field.ident);
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

/// The message for fields `a` and `b`, which share a JSON key.
const fn duplicate_message(state: &str, a: &Flat, b: &Flat) -> Message {
    let key = a.json;
    let mut m = Message::new();
    m.push("duplicate JSON key `");
    m.push(key);
    m.push("` in `");
    m.push(state);
    m.push("`: fields `");
    m.push_path(a);
    m.push("` and `");
    m.push_path(b);
    m.push("` both serialize as `");
    m.push(key);
    m.push("` (a flattened state's fields share its parent's object); give one of them ");
    m.push("another name with `#[monsta(rename = \"...\")]`");
    m
}

/// The first two fields of `fields` that share a JSON key (the first in
/// declaration order that has a twin, and its first twin), if any: the
/// keys are sorted by hash, so a state of many fields is checked in
/// `n log n` steps.
const fn find_duplicate(fields: &Fields) -> Option<(usize, usize)> {
    let mut uses = [Use::EMPTY; MAX_FIELDS];
    let mut i = 0;
    while i < fields.len {
        uses[i] = Use {
            hash: hash(fields.items[i].json.as_bytes()),
            field: i,
            family: 0,
            r: 0,
        };
        i += 1;
    }
    sort(&mut uses, fields.len);
    let mut best: Option<(usize, usize)> = None;
    let mut start = 0;
    while start < fields.len {
        let mut end = start + 1;
        while end < fields.len && uses[end].hash == uses[start].hash {
            end += 1;
        }
        // Within a run of equal hashes, the pairs of equal keys.
        let mut x = start;
        while x < end {
            let mut y = x + 1;
            while y < end {
                let (a, b) = (uses[x].field, uses[y].field);
                let (a, b) = if a < b { (a, b) } else { (b, a) };
                if str_eq(fields.items[a].json, fields.items[b].json) {
                    best = match best {
                        Some((p, q)) if p < a || (p == a && q < b) => Some((p, q)),
                        _ => Some((a, b)),
                    };
                }
                y += 1;
            }
            x += 1;
        }
        start = end;
    }
    best
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
    let mut parents = [""; MAX_DEPTH];
    let mut fields = Fields::EMPTY;
    collect(keys, &mut parents, 0, &mut fields);
    match find_duplicate(&fields) {
        Some((a, b)) => Some(duplicate_message(state, &fields.items[a], &fields.items[b])),
        None => None,
    }
}

/// The most fields the constant checks hold; a larger state is checked
/// when it is built.
pub const MAX_FIELDS: usize = 1024;
/// The deepest nesting of flattened children the constant checks follow.
pub const MAX_DEPTH: usize = 8;

/// One field of a key tree, with the flattened children it is in.
#[derive(Clone, Copy)]
struct Flat {
    json: &'static str,
    ident: &'static str,
    unit: Option<&'static str>,
    families: &'static [Family],
    parents: [&'static str; MAX_DEPTH],
    depth: usize,
}

/// The fields of a key tree, in declaration order.
struct Fields {
    items: [Flat; MAX_FIELDS],
    len: usize,
    /// A hand-written part, or more than the buffers hold: the rest is
    /// checked at run time.
    partial: bool,
}

impl Fields {
    const NO_FIELD: Flat = Flat {
        json: "",
        ident: "",
        unit: None,
        families: &[],
        parents: [""; MAX_DEPTH],
        depth: 0,
    };

    const EMPTY: Fields = Fields {
        items: [Self::NO_FIELD; MAX_FIELDS],
        len: 0,
        partial: false,
    };
}

/// Appends the fields of `keys`, under the flattened children `parents`,
/// to `out`.
const fn collect(
    keys: &[Key],
    parents: &mut [&'static str; MAX_DEPTH],
    depth: usize,
    out: &mut Fields,
) {
    let mut i = 0;
    while i < keys.len() {
        match keys[i] {
            Key::Field(json, ident, unit, families) => {
                if out.len == MAX_FIELDS {
                    out.partial = true;
                } else {
                    out.items[out.len] = Flat {
                        json,
                        ident,
                        unit,
                        families,
                        parents: *parents,
                        depth,
                    };
                    out.len += 1;
                }
            }
            Key::Flatten(ident, child) => {
                if depth == MAX_DEPTH {
                    out.partial = true;
                } else {
                    parents[depth] = ident;
                    collect(child, parents, depth + 1, out);
                }
            }
            Key::Unknown => out.partial = true,
        }
        i += 1;
    }
}

/// FNV-1a.
const fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

/// A name a field uses, by its hash: which field, and for metric names
/// which family and which of its names.
#[derive(Clone, Copy)]
struct Use {
    hash: u64,
    field: usize,
    family: usize,
    r: usize,
}

impl Use {
    const EMPTY: Use = Use {
        hash: 0,
        field: 0,
        family: 0,
        r: 0,
    };
}

/// Sorts `uses[..n]` by hash (heapsort: no recursion, no allocation).
const fn sort<const N: usize>(uses: &mut [Use; N], n: usize) {
    const fn sift<const N: usize>(uses: &mut [Use; N], mut root: usize, end: usize) {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && uses[child + 1].hash > uses[child].hash {
                child += 1;
            }
            if uses[root].hash >= uses[child].hash {
                return;
            }
            let t = uses[root];
            uses[root] = uses[child];
            uses[child] = t;
            root = child;
        }
    }
    let mut start = n / 2;
    while start > 0 {
        start -= 1;
        sift(uses, start, n);
    }
    let mut end = n;
    while end > 1 {
        end -= 1;
        let t = uses[0];
        uses[0] = uses[end];
        uses[end] = t;
        sift(uses, 0, end);
    }
}
