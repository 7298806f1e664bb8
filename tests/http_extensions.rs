//! Extensions of a reporter cannot replace what is there: a path the
//! reporter serves is refused when the extension is attached, and an
//! `internal` key or a metric family that is taken is left out, counted and
//! shown as `extension_conflicts`.

#![cfg(all(feature = "prometheus", feature = "http", feature = "derive"))]

use std::{collections::HashMap, sync::Arc};

use monsta::fields::Counter;
use monsta::prometheus::Format;
use monsta::{AppState, BuildError, Extension, MetricKind, MetricsWriter, StatusReporter};
use serde_json::{Value, json};

/// The application's state: its family `queries`.
#[derive(AppState)]
pub struct Db {
    /// Queries run.
    queries: Counter,
}

/// An extension adding the given `internal` entries, counter families and
/// paths.
#[derive(Default)]
struct Ext {
    keys: Vec<&'static str>,
    families: Vec<&'static str>,
    paths: Vec<&'static str>,
    value: u64,
}

impl Extension for Ext {
    fn internal(&self, out: &mut serde_json::Map<String, Value>) {
        for k in &self.keys {
            out.insert((*k).to_owned(), json!(self.value));
        }
    }

    fn metrics(&self, out: &mut MetricsWriter) {
        for f in &self.families {
            out.single(f, "a test family", MetricKind::Counter, self.value as f64);
        }
    }

    fn paths(&self) -> Vec<String> {
        self.paths.iter().map(|p| (*p).to_owned()).collect()
    }
}

fn ext(keys: &[&'static str], families: &[&'static str], value: u64) -> Arc<Ext> {
    Arc::new(Ext {
        keys: keys.to_vec(),
        families: families.to_vec(),
        value,
        ..Ext::default()
    })
}

fn at(paths: &[&'static str]) -> Arc<Ext> {
    Arc::new(Ext {
        paths: paths.to_vec(),
        ..Ext::default()
    })
}

/// How often each family's `# TYPE` line appears.
fn type_lines(text: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap().to_owned();
            *out.entry(name).or_default() += 1;
        }
    }
    out
}

#[test]
fn a_path_the_reporter_serves_is_refused() {
    let taken = |path: &'static str| {
        let err = StatusReporter::builder()
            .extension(at(&[path]))
            .unwrap_err();
        assert_eq!(err, BuildError::PathTaken(path.to_owned()), "{path}");
        assert!(err.to_string().contains("served already"), "{err}");
    };
    taken("/mon/v1/state");
    taken("/metrics");
    taken(monsta::HEALTH_ENDPOINT);
    // Twice in one extension, and in two.
    let err = StatusReporter::builder()
        .extension(at(&["/x", "/x"]))
        .unwrap_err();
    assert_eq!(err, BuildError::PathTaken("/x".to_owned()));
    let builder = StatusReporter::builder().extension(at(&["/x"])).unwrap();
    assert_eq!(
        builder.extension(at(&["/y", "/x"])).unwrap_err(),
        BuildError::PathTaken("/x".to_owned())
    );
    // A path that could not be an endpoint's.
    assert_eq!(
        StatusReporter::builder()
            .extension(at(&["tasks"]))
            .unwrap_err(),
        BuildError::EndpointNotAbsolute("tasks".to_owned())
    );
    assert!(matches!(
        StatusReporter::builder().extension(at(&["/t/{id}"])),
        Err(BuildError::EndpointCharacter { ch: '{', .. })
    ));
    // The endpoints set after the extension.
    let builder = StatusReporter::builder().extension(at(&["/x"])).unwrap();
    let builder = builder.endpoint("/x").map(drop).unwrap_err();
    assert_eq!(builder, BuildError::PathTaken("/x".to_owned()));
    let builder = StatusReporter::builder().extension(at(&["/x"])).unwrap();
    assert_eq!(
        builder.metrics_endpoint("/x").map(drop).unwrap_err(),
        BuildError::PathTaken("/x".to_owned())
    );
    // Paths of their own are fine.
    let mon = StatusReporter::builder()
        .extension(at(&["/a", "/b"]))
        .and_then(|b| b.extension(at(&["/c"])))
        .and_then(|b| b.endpoint("/d"))
        .unwrap()
        .build();
    assert_eq!(mon.endpoint(), "/d");
}

#[test]
fn a_taken_internal_key_is_left_out_and_counted() {
    let mon = StatusReporter::builder()
        .extension(ext(&["uptime", "first"], &[], 1))
        .and_then(|b| b.extension(ext(&["first", "second"], &[], 2)))
        .unwrap()
        .build();
    mon.publish(json!({"ok": true}));
    let body: Value = serde_json::from_str(&mon.render()).unwrap();
    let internal = &body["internal"];
    // The reporter's uptime and the first extension's entry stand.
    assert_eq!(internal["uptime"], 0, "{body}");
    assert_eq!(internal["first"], 1, "{body}");
    assert_eq!(internal["second"], 2, "{body}");
    assert_eq!(internal["extension_conflicts"], 2, "{body}");
    // Each rendering that leaves them out counts them.
    let body: Value = serde_json::from_str(&mon.render()).unwrap();
    assert_eq!(body["internal"]["extension_conflicts"], 4, "{body}");
    assert_eq!(body["state"], json!({"ok": true}));
}

#[test]
fn without_conflicts_nothing_is_added() {
    let mon = StatusReporter::builder()
        .extension(ext(&["one"], &["ext_one"], 1))
        .unwrap()
        .build();
    mon.publish(json!({}));
    let body: Value = serde_json::from_str(&mon.render()).unwrap();
    assert_eq!(body["internal"], json!({"one": 1, "uptime": 0}));
    let text = mon.render_metrics(Format::Text).unwrap();
    assert!(text.contains("\next_one_total 1\n"), "{text}");
    assert!(!text.contains("monsta_extension_conflicts"), "{text}");
}

#[test]
fn a_taken_metric_family_is_left_out_and_counted() {
    let mon = StatusReporter::builder()
        .extension(ext(
            &[],
            &["queries", "ext_one", "process_uptime_seconds"],
            1,
        ))
        .and_then(|b| b.extension(ext(&[], &["ext_one", "ext_two"], 2)))
        .unwrap()
        .build();
    let db = Arc::new(Db {
        queries: Counter::new(),
    });
    db.queries.inc(5);
    mon.publish_state(db);
    for format in [Format::Text, Format::OpenMetrics] {
        let text = mon.render_metrics(format).unwrap();
        let types = type_lines(&text);
        assert!(types.values().all(|&n| n == 1), "{types:?}\n{text}");
        // The state's family keeps its value; the first `ext_one` stands.
        assert!(text.contains("\nqueries_total 5\n"), "{text}");
        assert!(text.contains("\next_one_total 1\n"), "{text}");
        assert!(!text.contains("ext_one_total 2"), "{text}");
        assert!(text.contains("\next_two_total 2\n"), "{text}");
        assert!(
            text.contains("\n# TYPE monsta_extension_conflicts")
                && text.contains("\nmonsta_extension_conflicts_total "),
            "{text}"
        );
        if format == Format::OpenMetrics {
            assert!(text.ends_with("# EOF\n"), "{text}");
        }
    }
    // Three left out per rendering, two renderings.
    let text = mon.render_metrics(Format::Text).unwrap();
    assert!(
        text.contains("\nmonsta_extension_conflicts_total 9\n"),
        "{text}"
    );
}
