//! Keys of a field type's own, checked at compile time against its
//! `Build::KEYS`: each error on the key, a missing required key on the type.

use monsta::export::{Family, Samples};
use monsta::fields::{AttrKey, Build, Counter, Field, FieldConfig};
use monsta::{AppState, Clock, Error, FieldKind};

#[derive(serde::Serialize)]
struct Limited(f64);

impl Field for Limited {
    type Snapshot = f64;
    const KIND: FieldKind = FieldKind::Custom("Limited");
    const FAMILIES: &'static [Family] = &[Family::gauge("", "")];
    fn snapshot(&self) -> f64 {
        self.0
    }
    fn export(&self, out: &mut dyn Samples) {
        out.gauge(0, self.0);
    }
}

impl Build for Limited {
    const KEYS: &'static [AttrKey] = &[
        AttrKey::number("limit", 1.0, 100.0, "a number from 1 to 100").required(),
        AttrKey::text("name", "a name, such as `name = \"queue\"`"),
    ];
    fn build(config: &FieldConfig, _: &Clock) -> Result<Self, Error> {
        Ok(Limited(config.number("limit").unwrap_or(1.0)))
    }
}

#[derive(AppState)]
struct State {
    #[monsta(field, limit = 500)]
    too_high: Limited,
    #[monsta(field, limit = "ten")]
    not_a_number: Limited,
    #[monsta(field, limit = 5, colour = "red")]
    unknown: Limited,
    #[monsta(field, name = "queue")]
    missing: Limited,
    #[monsta(field, limit = 5, name = 7)]
    name_not_text: Limited,
    #[monsta(field, limit = 100, name = "fine")]
    fine: Limited,
    #[monsta(field, limit = 5)]
    no_keys_of_its_own: Counter,
}

fn main() {}
