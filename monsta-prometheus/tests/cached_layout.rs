//! The names, help texts and units of a state's families are worked out on
//! the first encoding and kept: later renders, clones, changed builders and
//! visits that change shape give exactly what a fresh collector gives.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use common::states::{Demo, Units, Weird};
use monsta_core::{
    AppState, Clock, FieldInfo, FieldKind, FieldRef, ManualClock, Visitor,
    fields::{Counter, Gauge, Value},
};
use monsta_prometheus::{
    Format, StateCollector, Unit,
    prometheus_client::{encoding::text::encode, registry::Registry},
};

const FORMATS: [Format; 2] = [Format::OpenMetrics, Format::Text];
const UPTIMES: [Option<Duration>; 2] = [None, Some(Duration::from_secs(42))];

fn demo() -> Arc<Demo> {
    let clock = ManualClock::new();
    let state = Demo::try_with_clock(&clock.clock()).expect("valid parameters");
    state.fill();
    Arc::new(state)
}

/// Every rendering of `collector`, each twice: the second from the layout
/// the first left.
fn renders<S: AppState>(collector: &StateCollector<S>) -> Vec<String> {
    let mut out = Vec::new();
    for format in FORMATS {
        for uptime in UPTIMES {
            let first = collector.render(format, uptime).expect("renders");
            let again = collector.render(format, uptime).expect("renders");
            assert_eq!(
                first, again,
                "a cached render differs ({format:?}, {uptime:?})"
            );
            out.push(first);
        }
    }
    out
}

fn through_registry<S: AppState>(collector: &StateCollector<S>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(collector.clone()));
    let mut text = String::new();
    encode(&mut text, &registry).expect("encodes");
    text
}

#[test]
fn a_cached_render_equals_the_first() {
    renders(&StateCollector::new(demo()));
    renders(&StateCollector::new(demo()).prefix("my.app"));
    let clock = Clock::system();
    renders(&StateCollector::new(Arc::new(
        Weird::try_with_clock(&clock).expect("valid parameters"),
    )));
    renders(&StateCollector::new(Arc::new(
        Units::try_with_clock(&clock).expect("valid parameters"),
    )));
}

#[test]
fn the_registry_and_render_share_the_layout() {
    let collector = StateCollector::new(demo());
    let fresh = through_registry(&collector);
    let rendered = collector.render(Format::OpenMetrics, None).unwrap();
    assert_eq!(through_registry(&collector), fresh);
    // `encode` ends with `# EOF` too.
    assert_eq!(fresh, rendered);
}

#[test]
fn clones_and_builders_after_a_render_use_their_own_names() {
    let state = demo();
    let collector = StateCollector::new(state.clone());
    let plain = renders(&collector);

    // A clone keeps the layout, and gives the same.
    assert_eq!(renders(&collector.clone()), plain);

    // A prefix or a unit set after a render replaces the cached names.
    let prefixed = collector.clone().prefix("other");
    assert_eq!(
        renders(&prefixed),
        renders(&StateCollector::new(state.clone()).prefix("other"))
    );
    let with_unit = collector.clone().unit("latency", Unit::Seconds);
    assert_eq!(
        renders(&with_unit),
        renders(&StateCollector::new(state.clone()).unit("latency", Unit::Seconds))
    );
    assert_ne!(renders(&prefixed), plain);
    assert_ne!(renders(&with_unit), plain);
    // The original is untouched by what its clones did.
    assert_eq!(renders(&collector), plain);
}

/// A hand-written state whose visit changes: `b` shows up and moves ahead
/// of `a` once `flip` is set, and `v` changes type.
#[derive(serde::Serialize)]
struct Shifty {
    #[serde(skip)]
    flip: AtomicBool,
    a: Gauge,
    b: Counter,
    v: Value<serde_json::Value>,
}

const A: FieldInfo = FieldInfo::new("a", "a", FieldKind::Gauge, "A gauge.");
const B: FieldInfo = FieldInfo::new("b", "b", FieldKind::Counter, "");
const V: FieldInfo = FieldInfo::new("v", "v", FieldKind::Value, "A value.");

impl AppState for Shifty {
    type Snapshot = ();
    fn try_with_clock(_: &Clock) -> Result<Self, monsta_core::Error> {
        Ok(Shifty {
            flip: AtomicBool::new(false),
            a: Gauge::with_value(1.5),
            b: Counter::new(),
            v: Value::new(serde_json::json!(3)),
        })
    }
    fn describe() -> Vec<FieldInfo> {
        vec![A, B, V]
    }
    fn visit(&self, v: &mut dyn Visitor) {
        if self.flip.load(Ordering::SeqCst) {
            v.field(&B, FieldRef::new(&self.b));
        }
        v.field(&A, FieldRef::new(&self.a));
        v.field(&V, FieldRef::new(&self.v));
    }
    fn snapshot_unlocked(&self) {}
}

#[test]
fn a_visit_that_changes_gets_a_new_layout() {
    let state = Arc::new(Shifty::try_with_clock(&Clock::system()).unwrap());
    let collector = StateCollector::new(state.clone());
    let fresh = || renders(&StateCollector::new(state.clone()));

    let before = renders(&collector);
    assert_eq!(before, fresh());

    state.flip.store(true, Ordering::SeqCst);
    state.b.inc(2);
    let after = renders(&collector);
    assert_eq!(after, fresh());
    // The classic text without uptime starts with the new field.
    assert!(
        after[2].starts_with(
            "# HELP b_total monsta Counter field b\n# TYPE b_total counter\nb_total 2\n"
        )
    );

    // The same fields, a value of another type: the layout stays.
    for value in [
        serde_json::json!("text"),
        serde_json::json!(true),
        serde_json::Value::Null,
        serde_json::json!(0.25),
    ] {
        state.v.set(value);
        assert_eq!(renders(&collector), fresh());
    }

    state.flip.store(false, Ordering::SeqCst);
    assert_eq!(renders(&collector), fresh());
}
