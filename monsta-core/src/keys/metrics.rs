//! The metric names of a state, worked out in a constant, and the check
//! that no two fields export one name.
//!
//! The rules are those of the Prometheus exposition (monsta-prometheus
//! builds the same names at run time and rejects the same clashes; its tests
//! hold the two together):
//!
//! - a field's name is its JSON key, after the Rust names of the flattened
//!   children it is in, joined with `_`, and after the state's prefix; every
//!   character outside `[a-zA-Z0-9_]` becomes `_`, and a leading digit gets
//!   a `_` before it;
//! - with a unit, a name that already ends in `_<unit>` loses it (the unit
//!   is added back to the families that have one);
//! - a family adds `_<suffix>`; a counter's name loses a final `_total` and
//!   an info metric's a final `_info`;
//! - the lines of a counter use `<name>_total`, `<name>_created` and
//!   `<name>`; of an info metric `<name>_info` and `<name>`; of a gauge
//!   `<name>`; of a histogram `<name>`, `<name>_bucket`, `<name>_sum`,
//!   `<name>_count` and `<name>_created`.
//!
//! Two fields clash when a name one uses is a name the other uses. The
//! families of one field may share names (a `Value` has three families of
//! one name and uses one of them).

use crate::export::MetricType;

use super::{Fields, Flat, Key, MAX_DEPTH, Message, Use, collect, hash, sort};

/// The metric name of the uptime metric, which a reporter adds.
const UPTIME: &str = "process_uptime_seconds";

const MAX_NAMES: usize = 4096;
const NAME_BYTES: usize = 256;

/// A name being built: ASCII once mapped.
#[derive(Clone, Copy)]
struct Name {
    bytes: [u8; NAME_BYTES],
    len: usize,
    /// Longer than the buffer: not compared.
    long: bool,
}

impl Name {
    const EMPTY: Name = Name {
        bytes: [0; NAME_BYTES],
        len: 0,
        long: false,
    };

    const fn push(&mut self, b: u8) {
        if self.len == NAME_BYTES {
            self.long = true;
        } else {
            self.bytes[self.len] = b;
            self.len += 1;
        }
    }

    /// Appends `raw` mapped onto the metric-name alphabet: one `_` for each
    /// character outside it.
    const fn push_mapped(&mut self, raw: &str) {
        let raw = raw.as_bytes();
        let mut i = 0;
        while i < raw.len() {
            let b = raw[i];
            if b.is_ascii_alphanumeric() || b == b'_' {
                self.push(b);
            } else if b & 0xC0 != 0x80 {
                // The first byte of a character (not a continuation byte).
                self.push(b'_');
            }
            i += 1;
        }
    }

    /// Appends `raw` as a metric name of its own: mapped, with a `_` first
    /// when it is empty or starts with a digit.
    const fn push_metric_name(&mut self, raw: &str) {
        if raw.is_empty() || raw.as_bytes()[0].is_ascii_digit() {
            self.push(b'_');
        }
        self.push_mapped(raw);
    }

    const fn push_str(&mut self, text: &str) {
        let text = text.as_bytes();
        let mut i = 0;
        while i < text.len() {
            self.push(text[i]);
            i += 1;
        }
    }

    /// Drops a final `_<suffix>` when something is left before it.
    const fn strip(&mut self, suffix: &Name) {
        let n = suffix.len;
        if self.len < n + 2 {
            return;
        }
        let start = self.len - n;
        let mut i = 0;
        while i < n {
            if self.bytes[start + i] != suffix.bytes[i] {
                return;
            }
            i += 1;
        }
        if self.bytes[start - 1] == b'_' {
            self.len = start - 1;
        }
    }

    const fn strip_str(&mut self, suffix: &str) {
        let mut s = Name::EMPTY;
        s.push_str(suffix);
        self.strip(&s);
    }

    const fn with(&self, suffix: &str) -> Name {
        let mut name = *self;
        name.push_str(suffix);
        name
    }

    const fn eq(&self, other: &Name) -> bool {
        if self.len != other.len {
            return false;
        }
        let mut i = 0;
        while i < self.len {
            if self.bytes[i] != other.bytes[i] {
                return false;
            }
            i += 1;
        }
        true
    }

    const fn hash(&self) -> u64 {
        hash(self.bytes.split_at(self.len).0)
    }

    const fn as_str(&self) -> &str {
        match core::str::from_utf8(self.bytes.split_at(self.len).0) {
            Ok(text) => text,
            Err(_) => "",
        }
    }
}

/// The field's full name (prefix and parents included, mapped) and its
/// mapped unit.
const fn full_name(field: &Flat, prefix: Option<&str>) -> (Name, Name) {
    // metric_name(parents joined with the key by `_`), then the prefix.
    let mut raw = Name::EMPTY;
    let mut d = 0;
    while d < field.depth {
        raw.push_str(field.parents[d]);
        raw.push(b'_');
        d += 1;
    }
    raw.push_str(field.json);
    let mut full = Name::EMPTY;
    if let Some(prefix) = prefix {
        full.push_metric_name(prefix);
        full.push(b'_');
    }
    full.push_metric_name(raw.as_str_raw());
    full.long |= raw.long;
    let mut unit = Name::EMPTY;
    if let Some(u) = field.unit
        && !u.is_empty()
    {
        unit.push_metric_name(u);
    }
    (full, unit)
}

impl Name {
    /// The bytes as text, before mapping (they came from `&str`s).
    const fn as_str_raw(&self) -> &str {
        match core::str::from_utf8(self.bytes.split_at(self.len).0) {
            Ok(text) => text,
            // Cut inside a character: the rest is not compared.
            Err(e) => match core::str::from_utf8(self.bytes.split_at(e.valid_up_to()).0) {
                Ok(text) => text,
                Err(_) => "",
            },
        }
    }
}

/// The `r`th name (0..3) a line of family `family` of `field` uses, if it
/// has that many.
const fn reserved(field: &Flat, prefix: Option<&str>, family: usize, r: usize) -> Option<Name> {
    let (full, unit) = full_name(field, prefix);
    let has_unit = unit.len > 0;
    let mut base = full;
    if has_unit {
        base.strip(&unit);
    }
    let fam = &field.families[family];
    let mut name = if fam.unit || !fam.suffix.is_empty() {
        base
    } else {
        full
    };
    if !fam.suffix.is_empty() {
        name.push(b'_');
        name.push_mapped(fam.suffix);
    }
    match fam.ty {
        MetricType::Counter => name.strip_str("total"),
        MetricType::Info => name.strip_str("info"),
        MetricType::Gauge | MetricType::Histogram => {}
    }
    if fam.unit && has_unit && !matches!(fam.ty, MetricType::Info) {
        name.push(b'_');
        let mut i = 0;
        while i < unit.len {
            name.push(unit.bytes[i]);
            i += 1;
        }
    }
    match (fam.ty, r) {
        (MetricType::Counter, 0) => Some(name.with("_total")),
        (MetricType::Counter, 1) => Some(name.with("_created")),
        (MetricType::Counter, 2) | (MetricType::Gauge, 0) | (MetricType::Info, 1) => Some(name),
        (MetricType::Info, 0) => Some(name.with("_info")),
        (MetricType::Histogram, 0) => Some(name),
        (MetricType::Histogram, 1) => Some(name.with("_bucket")),
        (MetricType::Histogram, 2) => Some(name.with("_sum")),
        (MetricType::Histogram, 3) => Some(name.with("_count")),
        (MetricType::Histogram, 4) => Some(name.with("_created")),
        _ => None,
    }
}

const UPTIME_FIELD: usize = usize::MAX;

const fn name_of(fields: &Fields, prefix: Option<&str>, u: &Use) -> Name {
    if u.field == UPTIME_FIELD {
        let mut n = Name::EMPTY;
        n.push_str(UPTIME);
        return n;
    }
    match reserved(&fields.items[u.field], prefix, u.family, u.r) {
        Some(name) => name,
        None => Name::EMPTY,
    }
}

/// The message when two fields of `keys` (flattened children's included,
/// under `prefix`) would export one metric name, naming the name and both
/// fields; `None` when every name is distinct, or when the tree holds parts
/// only run time can see (a hand-written state), which the exporter checks.
#[must_use]
pub const fn metric_clash(state: &str, prefix: Option<&str>, keys: &[Key]) -> Option<Message> {
    let mut fields = Fields::EMPTY;
    let mut parents = [""; MAX_DEPTH];
    collect(keys, &mut parents, 0, &mut fields);
    if fields.partial {
        return None;
    }
    let prefix = match prefix {
        Some(p) if p.is_empty() => None,
        p => p,
    };
    let mut uses = [Use::EMPTY; MAX_NAMES];
    let mut n = 0;
    let mut up = Name::EMPTY;
    up.push_str(UPTIME);
    uses[0] = Use {
        hash: up.hash(),
        field: UPTIME_FIELD,
        family: 0,
        r: 0,
    };
    n += 1;
    let mut f = 0;
    while f < fields.len {
        let mut fam = 0;
        while fam < fields.items[f].families.len() {
            let mut r = 0;
            while let Some(name) = reserved(&fields.items[f], prefix, fam, r) {
                if name.long {
                    return None;
                }
                if n == MAX_NAMES {
                    return None;
                }
                uses[n] = Use {
                    hash: name.hash(),
                    field: f,
                    family: fam,
                    r,
                };
                n += 1;
                r += 1;
            }
            fam += 1;
        }
        f += 1;
    }
    sort(&mut uses, n);
    // Equal names have equal hashes: look at every run of equal hashes.
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && uses[j].hash == uses[i].hash {
            let (a, b) = (&uses[i], &uses[j]);
            if a.field != b.field {
                let name = name_of(&fields, prefix, a);
                if name.eq(&name_of(&fields, prefix, b)) {
                    // Name the earlier field first.
                    let (first, second) = if a.field < b.field { (a, b) } else { (b, a) };
                    return Some(clash_message(
                        state,
                        &fields,
                        &name,
                        first.field,
                        second.field,
                    ));
                }
            }
            j += 1;
        }
        i += 1;
    }
    None
}

const fn push_field(m: &mut Message, fields: &Fields, field: usize) {
    if field == UPTIME_FIELD {
        m.push("the uptime metric");
        return;
    }
    m.push("`");
    m.push_path(&fields.items[field]);
    m.push("`");
}

const fn clash_message(state: &str, fields: &Fields, name: &Name, a: usize, b: usize) -> Message {
    let mut m = Message::new();
    m.push("metric name `");
    m.push(name.as_str());
    m.push("` twice in `");
    m.push(state);
    m.push("`: ");
    // The uptime metric sorts last as `usize::MAX`; name it first.
    let (a, b) = if b == UPTIME_FIELD { (b, a) } else { (a, b) };
    push_field(&mut m, fields, a);
    m.push(" and ");
    push_field(&mut m, fields, b);
    m.push(" would both export it (names are mapped onto `[a-zA-Z0-9_]`, and a family adds ");
    m.push("its suffix); give one of them another name with `#[monsta(rename = \"...\")]`");
    m
}
