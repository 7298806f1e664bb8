//! `#[monsta(field)]`: a type of one's own, even one named like a built-in
//! kind, is built by its `Build` impl and exported through its `Field` impl.

use monsta::AppState;
use monsta::export::{Family, Samples};
use monsta::fields::{Build, Counter, Field, FieldConfig};
use monsta::{Clock, Error, FieldKind};

mod own {
    /// Not monsta's `Gauge`: a gauge that starts at 1.
    #[derive(serde::Serialize)]
    pub struct Gauge(pub f64);
}

impl Field for own::Gauge {
    type Snapshot = f64;
    const KIND: FieldKind = FieldKind::Custom("OwnGauge");
    const FAMILIES: &'static [Family] = &[Family::gauge("", "").with_unit()];
    fn snapshot(&self) -> f64 {
        self.0
    }
    fn export(&self, out: &mut dyn Samples) {
        out.gauge(0, self.0);
    }
}

impl Build for own::Gauge {
    fn build(_: &FieldConfig, _: &Clock) -> Result<Self, Error> {
        Ok(own::Gauge(1.0))
    }
}

use own::Gauge;

#[derive(AppState)]
struct State {
    calls: Counter,
    /// Mine.
    #[monsta(field, rename = "level", unit = "bytes")]
    gauge: Gauge,
}

fn main() {
    let state = State::new();
    state.calls.inc(1);
    assert_eq!(serde_json::to_string(&state).unwrap(), r#"{"calls":1,"level":1.0}"#);
    assert_eq!(state.snapshot().gauge, 1.0);
    let info = State::describe();
    assert_eq!(info[1].kind, FieldKind::Custom("OwnGauge"));
    assert_eq!(info[1].unit, Some("bytes"));
}
