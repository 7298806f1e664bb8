//! Extensions of a reporter: something that adds a section to the JSON's
//! `internal` object, metric families to `/metrics`, paths of its own, and
//! follows the reporter's start and stop.
//!
//! The runtime monitor of `monsta::runtime` is one; anything else that
//! implements [`Extension`] can be attached the same way, with
//! [`StatusReporterBuilder::extension`](crate::StatusReporterBuilder::extension).

use std::{fmt::Write as _, sync::Arc};

use bytes::Bytes;
use hyper::StatusCode;

/// Something attached to a reporter. Every method has a default that adds
/// nothing, so an extension implements only what it contributes.
///
/// The methods are called on the task answering a request (or the thread
/// starting or stopping the reporter): they should return quickly and must
/// not block on I/O.
pub trait Extension: Send + Sync + 'static {
    /// Adds entries to the JSON's `internal` object (beside `uptime`), each
    /// a key and a JSON value. Keys should be the extension's own
    /// (`"runtime"`); `uptime` and `error` are the reporter's.
    fn internal(&self, out: &mut serde_json::Map<String, serde_json::Value>) {
        let _ = out;
    }

    /// Adds metric families to the reporter's `/metrics` exposition.
    fn metrics(&self, out: &mut MetricsWriter) {
        let _ = out;
    }

    /// Answers a `GET` (or `HEAD`) of `path` (with its query string, if
    /// any) that is neither the state nor the metrics endpoint; `None`
    /// leaves it to the next extension, or to the 404.
    fn answer(&self, path: &str, query: Option<&str>) -> Option<ExtensionResponse> {
        let _ = (path, query);
        None
    }

    /// The paths [`answer`](Self::answer) serves, for a mounted
    /// [`router`](crate::StatusReporter::router) to route to it (the
    /// standalone server and the service ask `answer` for every other
    /// path anyway). A path that does not start with `/`, or holds router
    /// syntax (`:`, `*`, `{`, `}`), is left out.
    fn paths(&self) -> Vec<String> {
        Vec::new()
    }

    /// The reporter starts serving (each start of a server).
    fn started(&self) {}

    /// The reporter's servers were stopped
    /// ([`StatusReporter::stop`](crate::StatusReporter::stop) or
    /// [`stop_blocking`](crate::StatusReporter::stop_blocking)).
    fn stopped(&self) {}
}

/// The extensions of a reporter, in the order they were attached.
#[derive(Clone, Default)]
pub(crate) struct Extensions(Vec<Arc<dyn Extension>>);

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Extensions({})", self.0.len())
    }
}

impl Extensions {
    /// Attaches `ext` after the others.
    pub(crate) fn push(&mut self, ext: Arc<dyn Extension>) {
        self.0.push(ext);
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn iter(&self) -> impl Iterator<Item = &Arc<dyn Extension>> {
        self.0.iter()
    }
}

/// The answer of [`Extension::answer`].
#[derive(Debug, Clone)]
pub struct ExtensionResponse {
    pub(crate) status: StatusCode,
    pub(crate) content_type: &'static str,
    pub(crate) body: Bytes,
}

impl ExtensionResponse {
    /// `200` with a JSON body.
    pub fn json(body: impl Into<Bytes>) -> Self {
        ExtensionResponse {
            status: StatusCode::OK,
            content_type: "application/json",
            body: body.into(),
        }
    }

    /// `200` with a `text/plain` body.
    pub fn text(body: impl Into<Bytes>) -> Self {
        ExtensionResponse {
            status: StatusCode::OK,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }

    /// `400` with a `text/plain` explanation (for a query it cannot take).
    pub fn bad_request(text: impl Into<String>) -> Self {
        let mut text = text.into();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        ExtensionResponse {
            status: StatusCode::BAD_REQUEST,
            content_type: "text/plain; charset=utf-8",
            body: Bytes::from(text),
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status.as_u16()
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

/// What [`Extension::metrics`] writes to: metric families in the format the
/// scrape asked for (OpenMetrics or the classic text format).
#[derive(Debug)]
pub struct MetricsWriter {
    openmetrics: bool,
    out: String,
}

/// The kind of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// A value that goes up and down.
    Gauge,
    /// A total that only grows; its sample is named `<name>_total`.
    Counter,
}

impl MetricsWriter {
    /// A writer of OpenMetrics text if `openmetrics`, else of the classic
    /// format.
    pub fn new(openmetrics: bool) -> Self {
        MetricsWriter {
            openmetrics,
            out: String::new(),
        }
    }

    /// Whether this writes OpenMetrics.
    pub fn is_openmetrics(&self) -> bool {
        self.openmetrics
    }

    /// Starts a family: its `# HELP` and `# TYPE` lines. `name` is the
    /// family's name without `_total`; `help` is one line.
    pub fn family(&mut self, name: &str, help: &str, kind: MetricKind) -> &mut Self {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let (shown, ty) = match (kind, self.openmetrics) {
            (MetricKind::Gauge, _) => (name.to_owned(), "gauge"),
            (MetricKind::Counter, true) => (name.to_owned(), "counter"),
            (MetricKind::Counter, false) => (format!("{name}_total"), "counter"),
        };
        let _ = writeln!(self.out, "# HELP {shown} {help}");
        let _ = writeln!(self.out, "# TYPE {shown} {ty}");
        self
    }

    /// One sample of the family just started: `name` as given to
    /// [`family`](Self::family) (`_total` is added for a counter), label
    /// pairs and the value.
    pub fn sample(
        &mut self,
        name: &str,
        kind: MetricKind,
        labels: &[(&str, &str)],
        value: f64,
    ) -> &mut Self {
        self.out.push_str(name);
        if kind == MetricKind::Counter {
            self.out.push_str("_total");
        }
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let v = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                let _ = write!(self.out, "{k}=\"{v}\"");
            }
            self.out.push('}');
        }
        let _ = if value.is_nan() {
            writeln!(self.out, " NaN")
        } else if value.is_infinite() {
            writeln!(self.out, " {}", if value > 0.0 { "+Inf" } else { "-Inf" })
        } else {
            writeln!(self.out, " {value}")
        };
        self
    }

    /// A family of one sample without labels.
    pub fn single(&mut self, name: &str, help: &str, kind: MetricKind, value: f64) -> &mut Self {
        self.family(name, help, kind).sample(name, kind, &[], value)
    }

    /// The text written.
    pub fn into_string(self) -> String {
        self.out
    }
}

/// `body` (`{"internal":{...},"state":...}`) with the extensions' entries
/// at the start of `internal`.
pub(crate) fn decorate_body(extensions: &Extensions, body: Bytes) -> Bytes {
    const PREFIX: &[u8] = b"{\"internal\":{";
    if extensions.is_empty() || !body.starts_with(PREFIX) {
        return body;
    }
    let mut map = serde_json::Map::new();
    for ext in extensions.iter() {
        ext.internal(&mut map);
    }
    if map.is_empty() {
        return body;
    }
    let Ok(entries) = serde_json::to_vec(&map) else {
        return body;
    };
    // `entries` is `{...}`: its inside, then a comma, then the rest.
    let mut out = Vec::with_capacity(body.len() + entries.len());
    out.extend_from_slice(PREFIX);
    out.extend_from_slice(&entries[1..entries.len() - 1]);
    out.push(b',');
    out.extend_from_slice(&body[PREFIX.len()..]);
    Bytes::from(out)
}

/// `text` with the extensions' metric families added (before the final
/// `# EOF` of OpenMetrics).
#[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
pub(crate) fn decorate_metrics(extensions: &Extensions, text: Bytes, openmetrics: bool) -> Bytes {
    if extensions.is_empty() {
        return text;
    }
    let mut writer = MetricsWriter::new(openmetrics);
    for ext in extensions.iter() {
        ext.metrics(&mut writer);
    }
    let extra = writer.into_string();
    if extra.is_empty() {
        return text;
    }
    const EOF: &[u8] = b"# EOF\n";
    let (head, tail): (&[u8], &[u8]) = if openmetrics && text.ends_with(EOF) {
        text.split_at(text.len() - EOF.len())
    } else {
        (&text, b"")
    };
    let mut out = Vec::with_capacity(text.len() + extra.len());
    out.extend_from_slice(head);
    out.extend_from_slice(extra.as_bytes());
    out.extend_from_slice(tail);
    Bytes::from(out)
}

/// The first extension's answer for `path`.
pub(crate) fn answer(
    extensions: &Extensions,
    path: &str,
    query: Option<&str>,
) -> Option<ExtensionResponse> {
    extensions.iter().find_map(|ext| ext.answer(path, query))
}

/// The paths the extensions serve that a router can route.
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) fn paths(extensions: &Extensions) -> Vec<String> {
    let mut out: Vec<String> = extensions
        .iter()
        .flat_map(|ext| ext.paths())
        .filter(|p| p.starts_with('/') && !p.contains([':', '*', '{', '}']))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Tells each extension the reporter started.
pub(crate) fn started(extensions: &Extensions) {
    extensions.iter().for_each(|ext| ext.started());
}

/// Tells each extension the reporter stopped.
pub(crate) fn stopped(extensions: &Extensions) {
    extensions.iter().for_each(|ext| ext.stopped());
}
