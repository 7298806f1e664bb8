//! Duplicate JSON keys that only run time can see: a derived state that
//! flattens a hand-written `AppState` (whose keys the compiler doesn't know)
//! checks its keys when it is built. The compile-time check of derived
//! states is in `tests/ui/flatten/` and `tests/ui/rename/`.

use monsta::fields::{Counter, Gauge};
use monsta::{AppState, Clock, Error, FieldInfo, FieldKind, Visitor};
use serde::{Deserialize, Serialize};

/// A hand-written state with one counter, `queries`.
#[derive(Serialize, Default)]
struct Manual {
    queries: Counter,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct ManualSnapshot {
    queries: u64,
}

const QUERIES: FieldInfo = FieldInfo::new("queries", "queries", FieldKind::Counter, "");

impl AppState for Manual {
    type Snapshot = ManualSnapshot;
    fn try_with_clock(_: &Clock) -> Result<Self, Error> {
        Ok(Manual::default())
    }
    fn describe() -> Vec<FieldInfo> {
        vec![QUERIES]
    }
    fn visit(&self, visitor: &mut dyn Visitor) {
        visitor.field(&QUERIES, monsta::fields::Field::as_field_ref(&self.queries));
    }
    fn snapshot_unlocked(&self) -> ManualSnapshot {
        ManualSnapshot {
            queries: self.queries.get(),
        }
    }
}

/// `queries` twice: its own and the hand-written child's.
#[derive(AppState)]
struct Clashing {
    connections: Gauge,
    queries: Counter,
    #[monsta(flatten)]
    db: Manual,
}

/// A rename onto the child's key, one level further down.
#[derive(AppState)]
struct Middle {
    #[monsta(flatten)]
    db: Manual,
}

#[derive(AppState)]
struct Outer {
    #[monsta(rename = "queries")]
    calls: Counter,
    #[monsta(flatten)]
    middle: Middle,
}

/// No clash: built as usual.
#[derive(AppState)]
struct Fine {
    calls: Counter,
    #[monsta(flatten)]
    db: Manual,
}

#[test]
fn try_new_reports_a_duplicate_key_of_a_hand_written_child() {
    let error = Clashing::try_new().err();
    assert_eq!(
        error,
        Some(Error::DuplicateKey {
            key: "queries".into(),
            first: "queries".into(),
            second: "db.queries".into(),
        })
    );
    assert_eq!(
        error.map(|e| e.to_string()).as_deref(),
        Some(
            "duplicate JSON key `queries`: fields `queries` and `db.queries` both serialize as `queries`"
        )
    );
}

#[test]
fn a_rename_onto_a_nested_hand_written_key_is_reported() {
    assert_eq!(
        Outer::try_with_clock(&Clock::system()).err(),
        Some(Error::DuplicateKey {
            key: "queries".into(),
            first: "calls".into(),
            second: "middle.db.queries".into(),
        })
    );
}

#[test]
#[should_panic(
    expected = "cannot build `Clashing`: duplicate JSON key `queries`: fields `queries` and `db.queries`"
)]
fn new_panics_on_a_duplicate_key() {
    let _ = Clashing::new();
}

#[test]
fn a_hand_written_child_without_a_clash_builds() {
    let state = Fine::new();
    state.db.queries.inc(2);
    assert_eq!(
        serde_json::to_string(&state).unwrap(),
        r#"{"calls":0,"queries":2}"#
    );
}

#[test]
fn derived_states_list_their_keys() {
    use monsta::__private::{Field, Key};
    assert_eq!(
        <Outer as AppState>::KEYS,
        &[
            Key::Field("queries", "calls", None, Counter::FAMILIES),
            Key::Flatten("middle", &[Key::Flatten("db", &[Key::Unknown])]),
        ]
    );
    assert_eq!(<Manual as AppState>::KEYS, &[Key::Unknown]);
}
