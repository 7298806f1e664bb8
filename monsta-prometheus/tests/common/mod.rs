//! Shared by the integration tests: the real parsers (Python's
//! prometheus_client and promtool), the mapping of the crate docs written
//! out from a state's JSON, and hand-implemented states. The facade's HTTP
//! tests (`tests/http_metrics.rs` of the `monsta` package) include it too.

#![allow(dead_code)]

pub mod states;

use std::{
    collections::BTreeMap,
    io::Write,
    process::{Command, Stdio},
};

use monsta_core::{
    AppState, FieldInfo, FieldKind, FieldRef, Visitor,
    fields::{PeriodicSum, SlidingWindow},
};
use monsta_prometheus::metric_name;
use serde_json::Value as Json;

/// `true` when running under CI (`CI=true`), where a missing tool fails.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether `program args` runs and succeeds. Under CI a missing tool is a
/// failure; locally the caller skips after a notice.
fn require(what: &str, program: &str, args: &[&str], install: &str) -> bool {
    let ok = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return true;
    }
    assert!(
        !in_ci(),
        "{what} is required under CI=true but is not available (install: {install})"
    );
    notice(&format!(
        "NOTICE: {what} not available, skipping this check (install: {install})"
    ));
    false
}

/// Prints to the process's stderr, past libtest's capture, so that a skip
/// shows in a plain `cargo test`.
pub fn notice(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Whether Python's prometheus_client can be used.
pub fn have_python() -> bool {
    require(
        "python3 with prometheus_client",
        "python3",
        &[
            "-c",
            "import prometheus_client.parser, prometheus_client.openmetrics.parser",
        ],
        "pip install prometheus_client",
    )
}

/// Whether promtool can be used.
pub fn have_promtool() -> bool {
    require(
        "promtool",
        "promtool",
        &["--version"],
        "apt-get install -y prometheus",
    )
}

/// Runs `program args` with `input` on stdin; returns (exit code, stdout, stderr).
fn run(program: &str, args: &[&str], input: &str) -> (i32, String, String) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("write to the child's stdin");
    let out = child.wait_with_output().expect("wait for the child");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `promtool check metrics` on classic text: its exit code and what it said.
pub fn promtool_check(text: &str) -> (i32, String) {
    let (code, out, err) = run("promtool", &["check", "metrics"], text);
    (code, format!("{out}{err}"))
}

/// Asserts that promtool parses `text` and finds nothing to lint.
pub fn assert_promtool_clean(text: &str) {
    let (code, said) = promtool_check(text);
    assert_eq!(
        code, 0,
        "promtool check metrics failed ({code}):\n{said}\n--- input:\n{text}"
    );
    assert!(said.trim().is_empty(), "promtool said:\n{said}");
}

/// One parsed sample.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub family: String,
    pub kind: String,
    pub help: String,
    pub unit: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// The parser script, from this package's tests or from the workspace root
/// (for the facade's tests, which include this module).
fn parse_script() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        root.join("tests/parse_exposition.py"),
        root.join("monsta-prometheus/tests/parse_exposition.py"),
    ]
    .into_iter()
    .find(|p| p.exists())
    .expect("tests/parse_exposition.py of monsta-prometheus")
}

/// Parses `text` with Python's prometheus_client: `openmetrics` or `text`.
pub fn python_parse(text: &str, format: &str) -> Vec<Parsed> {
    let script = parse_script();
    let script = script.to_str().expect("a UTF-8 path");
    let (code, out, err) = run("python3", &[script, format], text);
    assert_eq!(
        code, 0,
        "prometheus_client ({format}) rejected the exposition:\n{err}\n--- input:\n{text}"
    );
    let rows: Vec<Json> = serde_json::from_str(&out).expect("the script prints JSON");
    rows.into_iter()
        .map(|row| {
            let s = |k: &str| row[k].as_str().unwrap_or_default().to_owned();
            Parsed {
                family: s("family"),
                kind: s("type"),
                help: s("help"),
                unit: s("unit"),
                name: s("name"),
                labels: row["labels"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                            .collect()
                    })
                    .unwrap_or_default(),
                value: s("value").parse().expect("a float repr"),
            }
        })
        .collect()
}

/// A sample's identity: its name and labels.
pub type Key = (String, Vec<(String, String)>);

/// The [`Key`] of a sample written with literal names.
pub fn key(name: &str, labels: &[(&str, &str)]) -> Key {
    let labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    (name.to_owned(), labels)
}

/// What a sample's value must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expect {
    /// Exactly this number.
    Exact(f64),
    /// NaN or an infinity: JSON writes all three as `null`.
    NonFinite,
}

/// Keys and values of parsed samples.
pub fn samples(parsed: &[Parsed]) -> BTreeMap<Key, f64> {
    let mut out = BTreeMap::new();
    for p in parsed {
        let key = (
            p.name.clone(),
            p.labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        );
        assert!(
            out.insert(key.clone(), p.value).is_none(),
            "sample {key:?} appears twice"
        );
    }
    out
}

/// Asserts that the parsed samples are exactly the expected ones.
pub fn assert_matches(parsed: &BTreeMap<Key, f64>, expected: &BTreeMap<Key, Expect>) {
    let got: Vec<_> = parsed.keys().collect();
    let want: Vec<_> = expected.keys().collect();
    assert_eq!(got, want, "the samples differ from the mapping of the JSON");
    for (key, expect) in expected {
        let value = parsed[key];
        match expect {
            Expect::Exact(v) => assert!(
                value == *v,
                "{key:?}: the exposition says {value}, the JSON {v}"
            ),
            Expect::NonFinite => assert!(
                !value.is_finite(),
                "{key:?}: the exposition says {value}, the JSON null"
            ),
        }
    }
}

/// The samples the crate docs' mapping gives for a state, worked out from
/// the state's JSON (flattened fields sit inline in it, as the derive
/// writes them) and the kinds and units its visitor reports.
pub fn expected_from_json<S: AppState>(
    state: &S,
    prefix: Option<&str>,
    uptime: Option<u64>,
) -> BTreeMap<Key, Expect> {
    let json = serde_json::to_value(state).expect("the state serializes");
    expected_from(
        json.as_object().expect("a state is a JSON object"),
        state,
        prefix,
        uptime,
    )
}

/// `base` without `_<suffix>` at its end, unless nothing would be left.
fn strip<'a>(base: &'a str, suffix: &str) -> &'a str {
    match base.strip_suffix(suffix) {
        Some(stem) if stem.len() > 1 && stem.ends_with('_') => &stem[..stem.len() - 1],
        _ => base,
    }
}

/// [`expected_from_json`] with the JSON given: the `state` object of a
/// reporter's JSON body, say, compared with the state's own metrics.
pub fn expected_from<S: AppState>(
    json: &serde_json::Map<String, Json>,
    state: &S,
    prefix: Option<&str>,
    uptime: Option<u64>,
) -> BTreeMap<Key, Expect> {
    struct Walk<'a> {
        json: &'a serde_json::Map<String, Json>,
        prefix: Option<&'a str>,
        path: Vec<&'static str>,
        out: BTreeMap<Key, Expect>,
    }

    fn number(v: &Json) -> Expect {
        match v {
            Json::Null => Expect::NonFinite,
            v => Expect::Exact(v.as_f64().expect("a number")),
        }
    }

    impl Walk<'_> {
        fn put(&mut self, name: String, labels: &[(&str, &str)], value: Expect) {
            let labels = labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            assert!(self.out.insert((name, labels), value).is_none());
        }
    }

    impl Visitor for Walk<'_> {
        fn enter(&mut self, info: &FieldInfo) {
            self.path.push(info.name);
        }
        fn leave(&mut self, _: &FieldInfo) {
            self.path.pop();
        }
        fn field(&mut self, info: &FieldInfo, field: FieldRef<'_>) {
            let v = self.json[info.name].clone();
            let mut segments: Vec<&str> = self.prefix.into_iter().collect();
            segments.extend(&self.path);
            segments.push(info.name);
            let full = metric_name(&segments.join("_"));
            // A unit ends the names of the values (not of counts, strings
            // and booleans) in `_<unit>`, once.
            let (n, u) = match info.unit {
                Some(unit) => (strip(&full, unit).to_owned(), format!("_{unit}")),
                None => (full.clone(), String::new()),
            };
            match info.kind {
                FieldKind::Counter => {
                    let base = strip(&n, "total");
                    self.put(format!("{base}{u}_total"), &[], number(&v));
                }
                FieldKind::Gauge | FieldKind::SampledWindow => {
                    self.put(format!("{n}{u}"), &[], number(&v));
                }
                // The JSON has the windowed value; the total added is read
                // from the field.
                FieldKind::SlidingWindow | FieldKind::PeriodicSum => {
                    self.put(format!("{n}{u}"), &[], number(&v));
                    let added = field
                        .downcast::<SlidingWindow>()
                        .map(SlidingWindow::added)
                        .or_else(|| field.downcast::<PeriodicSum>().map(PeriodicSum::added))
                        .expect("a windowed sum");
                    self.put(format!("{n}_added{u}_total"), &[], Expect::Exact(added));
                }
                FieldKind::Ewma => {
                    if !v.is_null() {
                        self.put(format!("{n}{u}"), &[], number(&v));
                    }
                }
                FieldKind::RunningStats => {
                    self.put(format!("{n}_samples_total"), &[], number(&v["n"]));
                    for k in ["mean", "stddev", "min", "max"] {
                        self.put(format!("{n}_{k}{u}"), &[], number(&v[k]));
                    }
                }
                FieldKind::LeakyBucket => {
                    for k in ["level", "capacity"] {
                        self.put(format!("{n}_{k}{u}"), &[], number(&v[k]));
                    }
                }
                FieldKind::SlidingPercentiles => {
                    for (key, q) in v.as_object().expect("an object") {
                        match key.as_str() {
                            "n" => self.put(format!("{n}_samples"), &[], number(q)),
                            "min" | "max" => self.put(format!("{n}_{key}{u}"), &[], number(q)),
                            p => {
                                let label = p.strip_prefix('p').expect("a p<quantile> key");
                                let name = format!("{n}{u}");
                                self.put(name, &[("percentile", label)], number(q));
                            }
                        }
                    }
                }
                FieldKind::Value => match &v {
                    Json::Number(_) => self.put(format!("{n}{u}"), &[], number(&v)),
                    Json::Bool(b) => {
                        self.put(full, &[], Expect::Exact(f64::from(u8::from(*b))));
                    }
                    Json::String(s) => {
                        let base = strip(&full, "info");
                        self.put(format!("{base}_info"), &[("value", s)], Expect::Exact(1.0));
                    }
                    _ => {}
                },
                other => panic!("no mapping written for {other:?}"),
            }
        }
    }

    let mut walk = Walk {
        json,
        prefix,
        path: Vec::new(),
        out: BTreeMap::new(),
    };
    state.visit(&mut walk);
    if let Some(uptime) = uptime {
        walk.put(
            "process_uptime_seconds".into(),
            &[],
            Expect::Exact(uptime as f64),
        );
    }
    walk.out
}
