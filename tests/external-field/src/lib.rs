//! Field types defined outside monsta, as a user's crate would: each
//! implements `Serialize` (its JSON), [`Field`] (its snapshot, kind and
//! metrics) and [`Build`] (how the derive builds it), through public
//! `monsta::` paths only. The tests use them in a derived state with
//! `#[monsta(field)]`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use monsta::{
    Clock, Error, FieldKind,
    export::{Family, Samples},
    fields::{AttrKey, Build, Field, FieldConfig},
};
use serde::{Deserialize, Serialize, Serializer};

/// The largest value ever set: one gauge family, with the field's unit.
#[derive(Debug, Default)]
pub struct MaxGauge(AtomicU64);

impl MaxGauge {
    /// Raises the value to `value` if that is larger.
    pub fn set(&self, value: u64) {
        self.0.fetch_max(value, Relaxed);
    }

    /// The largest value set so far.
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

impl Serialize for MaxGauge {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.get())
    }
}

impl Field for MaxGauge {
    type Snapshot = u64;
    const KIND: FieldKind = FieldKind::Custom("MaxGauge");
    const FAMILIES: &'static [Family] = &[Family::gauge("", "").with_unit()];

    fn snapshot(&self) -> u64 {
        self.get()
    }

    fn export(&self, out: &mut dyn Samples) {
        out.gauge(0, self.get() as f64);
    }
}

impl Build for MaxGauge {
    /// `#[monsta(field, start = 5)]`: the value it starts at, checked at
    /// compile time.
    const KEYS: &'static [AttrKey] = &[AttrKey::number(
        "start",
        0.0,
        1e15,
        "a whole number from 0 to 10^15",
    )];

    fn build(config: &FieldConfig, _: &Clock) -> Result<Self, Error> {
        // The range is checked at compile time; a fraction is cut off.
        let start = config.number("start").unwrap_or(0.0) as u64;
        Ok(MaxGauge(AtomicU64::new(start)))
    }
}

/// Hits and misses, and the share of hits: two counter families.
#[derive(Debug, Default)]
pub struct Ratio {
    hits: AtomicU64,
    misses: AtomicU64,
}

/// What a [`Ratio`] holds, as its JSON and its snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatioSnapshot {
    /// Hits so far.
    pub hits: u64,
    /// Misses so far.
    pub misses: u64,
    /// `hits / (hits + misses)`; `null` before the first lookup.
    pub ratio: Option<f64>,
}

impl Ratio {
    /// Counts a hit (`true`) or a miss.
    pub fn record(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Relaxed);
    }

    /// The counts and the ratio.
    pub fn get(&self) -> RatioSnapshot {
        let (hits, misses) = (self.hits.load(Relaxed), self.misses.load(Relaxed));
        let all = hits + misses;
        RatioSnapshot {
            hits,
            misses,
            ratio: (all > 0).then(|| hits as f64 / all as f64),
        }
    }
}

impl Serialize for Ratio {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(s)
    }
}

impl Field for Ratio {
    type Snapshot = RatioSnapshot;
    const KIND: FieldKind = FieldKind::Custom("Ratio");
    const FAMILIES: &'static [Family] = &[
        Family::counter("hits", "hits"),
        Family::counter("misses", "misses"),
    ];

    fn snapshot(&self) -> RatioSnapshot {
        self.get()
    }

    fn export(&self, out: &mut dyn Samples) {
        let snapshot = self.get();
        out.counter(0, snapshot.hits);
        out.counter(1, snapshot.misses);
    }
}

impl Build for Ratio {
    fn build(_: &FieldConfig, _: &Clock) -> Result<Self, Error> {
        Ok(Self::default())
    }
}
