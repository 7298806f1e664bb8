//! A family's JSON: its value as an array of `{"labels", "value"}`
//! objects, written straight from the series, and its snapshot read back.

use std::{fmt, marker::PhantomData, sync::Arc};

use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{self, DeserializeSeed},
    ser::{SerializeMap, SerializeSeq},
};

use super::{Family, Series, Table};
use crate::fields::{Field, LabelSet, Labels};

/// One series of a [`FamilySnapshot`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesSnapshot<S> {
    /// Its labels (`{"overflow": "true"}` for the overflow series).
    pub labels: LabelSet,
    /// The child's value.
    pub value: S,
}

/// The value of a [`Family`]: its series in creation order.
pub type FamilySnapshot<S> = Vec<SeriesSnapshot<S>>;

struct SeriesJson<'a, L, F> {
    series: &'a Series<L, F>,
    names: &'static [&'static str],
}

impl<L: Labels, F: Serialize> Serialize for SeriesJson<'_, L, F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry(
            "labels",
            &LabelsJson {
                series: self.series,
                names: self.names,
            },
        )?;
        map.serialize_entry("value", &self.series.child)?;
        map.end()
    }
}

/// A series' labels as a JSON object, written straight from the label set.
struct LabelsJson<'a, L, F> {
    series: &'a Series<L, F>,
    names: &'static [&'static str],
}

impl<L: Labels, F> Serialize for LabelsJson<'_, L, F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.series.label_count(self.names)))?;
        let mut failed = None;
        self.series.each_label(self.names, &mut |n, v| {
            if failed.is_none()
                && let Err(e) = map.serialize_entry(n, v)
            {
                failed = Some(e);
            }
        });
        match failed {
            Some(e) => Err(e),
            None => map.end(),
        }
    }
}

impl<L: Labels, F: Serialize + Send + Sync + 'static> Serialize for Family<L, F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.expire();
        // The tables' read locks are held while the series are written,
        // rather than a reference count taken on each series: creating or
        // removing a series waits meanwhile (each of those holds one table
        // at a time, so this cannot deadlock with them); updates do not.
        let tables: Vec<_> = self.tables.iter().map(Table::read).collect();
        let overflow = (self.overflowed() > 0).then(|| Arc::clone(&self.overflow.read()));
        let mut all: Vec<(u64, &Series<L, F>)> = Vec::with_capacity(self.len() + 1);
        for table in &tables {
            all.extend(table.iter().map(|series| (series.seq, &**series)));
        }
        all.sort_unstable_by_key(|&(seq, _)| seq);
        if let Some(overflow) = &overflow {
            all.push((u64::MAX, overflow));
        }
        let mut seq = s.serialize_seq(Some(all.len()))?;
        for &(_, series) in &all {
            seq.serialize_element(&SeriesJson {
                series,
                names: self.names,
            })?;
        }
        seq.end()
    }
}

/// Reads a family's snapshot, each child's value with
/// [`Field::deserialize_snapshot`].
pub(super) struct SeqSeed<F>(pub(super) PhantomData<F>);

impl<'de, F: Field> de::Visitor<'de> for SeqSeed<F> {
    type Value = FamilySnapshot<F::Snapshot>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of {\"labels\", \"value\"} objects")
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(series) = seq.next_element_seed(SeriesSeed::<F>(PhantomData))? {
            out.push(series);
        }
        Ok(out)
    }
}

struct SeriesSeed<F>(PhantomData<F>);

impl<'de, F: Field> DeserializeSeed<'de> for SeriesSeed<F> {
    type Value = SeriesSnapshot<F::Snapshot>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: Field> de::Visitor<'de> for SeriesSeed<F> {
    type Value = SeriesSnapshot<F::Snapshot>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a {\"labels\", \"value\"} object")
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut labels, mut value) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "labels" => labels = Some(map.next_value::<LabelSet>()?),
                "value" => value = Some(map.next_value_seed(ValueSeed::<F>(PhantomData))?),
                other => return Err(de::Error::unknown_field(other, &["labels", "value"])),
            }
        }
        Ok(SeriesSnapshot {
            labels: labels.ok_or_else(|| de::Error::missing_field("labels"))?,
            value: value.ok_or_else(|| de::Error::missing_field("value"))?,
        })
    }
}

struct ValueSeed<F>(PhantomData<F>);

impl<'de, F: Field> DeserializeSeed<'de> for ValueSeed<F> {
    type Value = F::Snapshot;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<F::Snapshot, D::Error> {
        F::deserialize_snapshot(d)
    }
}
