//! The [`Layout`] of a state's families: their names, help texts and
//! units, worked out once from a visit, with the check that no two fields
//! share a name.

use monsta_core::{
    FieldInfo, FieldKind,
    export::{Family as ExportFamily, MetricType},
};
use prometheus_client::registry::Unit;

use super::{Body, Event, Family, Head, Kind, Sample, UPTIME_HELP, UPTIME_METRIC};
use crate::{
    Format,
    name::{escape_help, metric_name},
};

/// The static part of every family a state can give: worked out from one
/// visit, the prefix and the units, and valid for every visit that reports
/// the same [`Event`]s.
#[derive(Debug)]
pub(crate) struct Layout {
    /// The visit this layout was built from.
    pub(super) events: Vec<Event>,
    /// The heads: the uptime metric's first, then every field's in order.
    pub(super) heads: Vec<Head>,
    /// Per field (in visit order), the index of its first head.
    fields: Vec<usize>,
}

/// The head of the uptime metric in every [`Layout`].
const UPTIME_HEAD: usize = 0;

/// Two fields whose metric families would share a name: the field that
/// took the name first, the one that asked for it again, and the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Collision {
    pub name: String,
    pub first: String,
    pub second: String,
}

/// Builds the heads of a [`Layout`], and checks that no two fields use one
/// name in either format.
struct Builder {
    heads: Vec<Head>,
    /// Every name a line may use, with the field that uses it (its index
    /// in the visit, and its path such as `db.queries`). The families of
    /// one field may share names (a `Value` has three families of one name,
    /// and uses one of them).
    owners: std::collections::HashMap<String, (usize, String)>,
    /// The first clash found.
    collision: Option<Collision>,
}

impl Builder {
    fn push(
        &mut self,
        owner: (usize, &str),
        name: String,
        help: &str,
        unit: Option<Unit>,
        kind: Kind,
    ) {
        let full = match &unit {
            Some(unit) if kind != Kind::Info => format!("{name}_{}", unit.as_str()),
            _ => name.clone(),
        };
        let (text_name, reserved) = match kind {
            Kind::Counter => {
                let total = format!("{full}_total");
                let created = format!("{full}_created");
                (total.clone(), vec![total, created, full])
            }
            Kind::Info => {
                let info = format!("{full}_info");
                (info.clone(), vec![info, full])
            }
            Kind::Gauge => (full.clone(), vec![full]),
            Kind::Histogram => {
                let reserved = ["", "_bucket", "_sum", "_count", "_created"]
                    .iter()
                    .map(|s| format!("{full}{s}"))
                    .collect();
                (full.clone(), reserved)
            }
        };
        for name in reserved {
            let (index, path) = owner;
            let first = self
                .owners
                .entry(name.clone())
                .or_insert_with(|| (index, path.to_owned()));
            if first.0 != index && self.collision.is_none() {
                self.collision = Some(Collision {
                    name,
                    first: first.1.clone(),
                    second: path.to_owned(),
                });
            }
        }
        self.heads.push(Head {
            name,
            text_name,
            help_openmetrics: escape_help(help, Format::OpenMetrics),
            help_text: escape_help(help, Format::Text),
            unit,
            kind,
        });
    }
}

/// How a [`Collision`] names the uptime metric.
pub(crate) const UPTIME_OWNER: &str = "the uptime metric";

impl Layout {
    /// The layout of the visit `events`, under `prefix` (mapped) and with
    /// the collector's `units` (by field name below the prefix; `None`: no
    /// unit) in place of the fields' own.
    ///
    /// # Errors
    ///
    /// The first two fields whose families would share a name (the uptime
    /// metric's included): after mapping, `a.b` and `a_b` are one name, a
    /// gauge `x_total` clashes with a counter `x`, and a gauge `lat_mean`
    /// with the mean of a `RunningStats` `lat`.
    pub fn new(
        events: Vec<Event>,
        prefix: Option<&str>,
        units: &[(String, Option<Unit>)],
    ) -> Result<Self, Collision> {
        let mut builder = Builder {
            heads: Vec::new(),
            owners: std::collections::HashMap::new(),
            collision: None,
        };
        let uptime = UPTIME_METRIC.to_owned();
        builder.push(
            (usize::MAX, UPTIME_OWNER),
            uptime,
            UPTIME_HELP,
            None,
            Kind::Gauge,
        );
        let mut fields = Vec::new();
        let mut names: Vec<&'static str> = Vec::new();
        let mut idents: Vec<&'static str> = Vec::new();
        for event in &events {
            match event {
                Event::Enter(info) => {
                    names.push(info.name);
                    idents.push(info.ident);
                }
                Event::Leave => {
                    names.pop();
                    idents.pop();
                }
                Event::Field(info, families) => {
                    fields.push(builder.heads.len());
                    let mut owner = idents.join(".");
                    if !owner.is_empty() {
                        owner.push('.');
                    }
                    owner.push_str(info.ident);
                    let field = FieldHeads {
                        owner: (fields.len() - 1, &owner),
                        path: &names,
                        info,
                        families,
                    };
                    field.push(&mut builder, prefix, units);
                }
            }
        }
        if let Some(collision) = builder.collision {
            return Err(collision);
        }
        Ok(Layout {
            events,
            heads: builder.heads,
            fields,
        })
    }

    /// Whether this layout was built from a visit that reported `events`.
    pub fn fits(&self, events: &[Event]) -> bool {
        self.events.len() == events.len() && self.events.iter().zip(events).all(|(a, b)| a.same(b))
    }

    pub fn head(&self, family: &Family) -> &Head {
        &self.heads[family.head]
    }

    /// The families of a scrape: the uptime metric first when `uptime` is
    /// given, then those of `samples` (from a visit this layout fits).
    pub fn families(&self, uptime: Option<u64>, samples: Vec<Sample>) -> Vec<Family> {
        let mut families = Vec::with_capacity(self.heads.len());
        if let Some(uptime) = uptime {
            families.push(Family {
                head: UPTIME_HEAD,
                body: Body::Whole(uptime),
            });
        }
        families.extend(samples.into_iter().map(|sample| Family {
            head: self.fields[sample.field] + sample.family,
            body: sample.body,
        }));
        families
    }
}

/// Pushes the heads of a field's families, in the order of its
/// [`FAMILIES`](monsta_core::Field::FAMILIES), which its samples index.
struct FieldHeads<'a> {
    /// The field's index in the visit, and its Rust path for a collision's
    /// message.
    owner: (usize, &'a str),
    /// The names of the flattened children the field is in.
    path: &'a [&'static str],
    info: &'a FieldInfo,
    families: &'a [ExportFamily],
}

impl FieldHeads<'_> {
    fn push(&self, builder: &mut Builder, prefix: Option<&str>, units: &[(String, Option<Unit>)]) {
        let FieldHeads {
            owner,
            path,
            info,
            families,
        } = *self;
        let mut segments = path.to_vec();
        segments.push(info.name);
        // The name below the state prefix: what units are looked up by.
        let local = metric_name(&segments.join("_"));
        let unit = match units.iter().find(|(name, _)| *name == local) {
            Some((_, unit)) => unit.clone(),
            None => info
                .unit
                .filter(|unit| !unit.is_empty())
                .map(|unit| Unit::Other(metric_name(unit))),
        };
        let full = match prefix {
            Some(prefix) => metric_name(&format!("{prefix}_{local}")),
            None => local.clone(),
        };
        // With a unit, the encoder appends `_<unit>`; don't let it double.
        let base = match &unit {
            Some(unit) => strip(&full, unit.as_str()).to_owned(),
            None => full.clone(),
        };
        let help = help_text(info.help, info.kind, &local);
        for family in families {
            let unit = if family.unit { unit.clone() } else { None };
            // A family of the field's own name without a unit keeps the name
            // as written (a `_<unit>` it ends in included).
            let stem = if family.unit || !family.suffix.is_empty() {
                &base
            } else {
                &full
            };
            let name = if family.suffix.is_empty() {
                stem.clone()
            } else {
                metric_name(&format!("{stem}_{}", family.suffix))
            };
            let (name, kind) = match family.ty {
                MetricType::Counter => (strip(&name, "total").to_owned(), Kind::Counter),
                MetricType::Info => (strip(&name, "info").to_owned(), Kind::Info),
                MetricType::Histogram => (name, Kind::Histogram),
                _ => (name, Kind::Gauge),
            };
            let help = if family.what.is_empty() {
                help.clone()
            } else {
                format!("{help} ({})", family.what)
            };
            builder.push(owner, name, &help, unit, kind);
        }
    }
}

/// `base` without `_<suffix>` at its end, unless nothing would be left.
fn strip<'a>(base: &'a str, suffix: &str) -> &'a str {
    match base.strip_suffix(suffix) {
        Some(stem) if stem.len() > 1 && stem.ends_with('_') => &stem[..stem.len() - 1],
        _ => base,
    }
}

/// `help`, or a description of the field when it has none.
fn help_text(help: &str, kind: FieldKind, local: &str) -> String {
    if help.trim().is_empty() {
        format!("monsta {} field {local}", kind.name())
    } else {
        help.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::strip;

    #[test]
    fn suffixes_are_stripped_only_when_something_is_left() {
        assert_eq!(strip("requests_total", "total"), "requests");
        assert_eq!(strip("total", "total"), "total");
        assert_eq!(strip("_total", "total"), "_total");
        assert_eq!(strip("subtotal", "total"), "subtotal");
        assert_eq!(strip("build_info", "info"), "build");
    }
}
