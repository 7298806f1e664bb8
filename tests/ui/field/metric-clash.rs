//! A field type of one's own exports `<name>_peak`: a built-in field of that
//! name clashes with it, checked at compile time like built-in fields.

use monsta::export::{Family, Samples};
use monsta::fields::{Build, Field, FieldConfig, Gauge};
use monsta::{AppState, Clock, Error, FieldKind};

#[derive(Default, serde::Serialize)]
struct Peaks {
    now: f64,
    peak: f64,
}

impl Field for Peaks {
    type Snapshot = (f64, f64);
    const KIND: FieldKind = FieldKind::Custom("Peaks");
    const FAMILIES: &'static [Family] = &[Family::gauge("", ""), Family::gauge("peak", "peak")];
    fn snapshot(&self) -> (f64, f64) {
        (self.now, self.peak)
    }
    fn export(&self, out: &mut dyn Samples) {
        out.gauge(0, self.now);
        out.gauge(1, self.peak);
    }
}

impl Build for Peaks {
    fn build(_: &FieldConfig, _: &Clock) -> Result<Self, Error> {
        Ok(Peaks::default())
    }
}

#[derive(AppState)]
struct State {
    #[monsta(field)]
    queue: Peaks,
    queue_peak: Gauge,
}

fn main() {}
