//! Extensions of a reporter: something that adds a section to the JSON's
//! `internal` object, metric families to `/metrics`, paths of its own, and
//! follows the reporter's start and stop.
//!
//! The runtime monitor of `monsta::runtime` is one; anything else that
//! implements [`Extension`] can be attached the same way, with
//! [`StatusReporterBuilder::extension`](crate::StatusReporterBuilder::extension).

use std::{
    collections::HashSet,
    fmt::Write as _,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
    },
};

use bytes::Bytes;
use hyper::StatusCode;

/// Something attached to a reporter. Every method has a default that adds
/// nothing, so an extension implements only what it contributes.
///
/// The methods are called on the task answering a request (or the thread
/// starting or stopping the reporter): they should return quickly and must
/// not block on I/O.
///
/// Nothing an extension adds can replace what is there already. Its paths
/// are checked when it is attached. An `internal` entry whose key is taken
/// (`uptime`, `error`, or an earlier extension's key) and a metric family
/// whose name is taken (by the state's families or an earlier extension's)
/// are left out of that answer. Each one left out is counted in
/// `internal.extension_conflicts` and `monsta_extension_conflicts_total`
/// (both shown once the count is not zero), and the first is logged as a
/// warning.
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
    /// [`router`](https://docs.rs/monsta-http/latest/monsta_http/struct.StatusReporter.html#method.router) to route to it (the
    /// standalone server and the service ask `answer` for every other
    /// path anyway). They are read once, when the extension is attached:
    /// [`StatusReporterBuilder::extension`](crate::StatusReporterBuilder::extension)
    /// refuses a path that could not be an endpoint's, or that the reporter
    /// serves already.
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
pub(crate) struct Extensions {
    all: Vec<Arc<dyn Extension>>,
    /// The paths they serve, checked when each was attached.
    paths: Vec<String>,
    /// Entries and families left out because their key or name was taken.
    conflicts: Arc<Conflicts>,
}

/// The count of what was left out, and whether it was logged yet.
#[derive(Default)]
struct Conflicts {
    count: AtomicU64,
    logged: AtomicBool,
}

/// The keys of `internal` that are the reporter's own.
const RESERVED_KEYS: [&str; 3] = ["uptime", "error", "extension_conflicts"];

/// The family of the conflicts' count.
#[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
const CONFLICTS_FAMILY: &str = "monsta_extension_conflicts";

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Extensions({})", self.all.len())
    }
}

impl Extensions {
    /// Attaches `ext`, which serves `paths` (checked by the builder), after
    /// the others.
    pub(crate) fn push(&mut self, ext: Arc<dyn Extension>, paths: Vec<String>) {
        self.all.push(ext);
        self.paths.extend(paths);
    }

    /// The paths the extensions serve.
    pub(crate) fn paths(&self) -> impl Iterator<Item = &str> {
        self.paths.iter().map(String::as_str)
    }

    fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Counts `n` entries or families left out (`what` names the first).
    fn left_out(&self, n: u64, what: std::fmt::Arguments<'_>) {
        if n == 0 {
            return;
        }
        self.conflicts.count.fetch_add(n, Relaxed);
        if !self.conflicts.logged.swap(true, Relaxed) {
            tracing::warn!(target: "monsta", "an extension's {what} is taken already and is left out (counted in internal.extension_conflicts)");
        }
    }

    /// How many entries and families were left out since the start.
    fn conflicts(&self) -> u64 {
        self.conflicts.count.load(Relaxed)
    }

    fn iter(&self) -> impl Iterator<Item = &Arc<dyn Extension>> {
        self.all.iter()
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
        Self::plain(StatusCode::BAD_REQUEST, text.into())
    }

    /// `500` with a `text/plain` explanation (for an answer it could not
    /// make).
    ///
    /// ```
    /// use monsta_http::ExtensionResponse;
    ///
    /// let r = ExtensionResponse::internal_error("cannot render the list");
    /// assert_eq!((r.status(), &r.body()[..]), (500, &b"cannot render the list\n"[..]));
    /// ```
    pub fn internal_error(text: impl Into<String>) -> Self {
        Self::plain(StatusCode::INTERNAL_SERVER_ERROR, text.into())
    }

    fn plain(status: StatusCode, mut text: String) -> Self {
        if !text.ends_with('\n') {
            text.push('\n');
        }
        ExtensionResponse {
            status,
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
    /// The families written, and those of the text it is added to.
    taken: HashSet<String>,
    /// Whether the family being written is left out (its name was taken).
    skipping: bool,
    /// How many families were left out.
    left_out: u64,
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
            taken: HashSet::new(),
            skipping: false,
            left_out: 0,
        }
    }

    /// A writer whose families are added to `text`: a family named as one
    /// of `text`'s `# TYPE` lines is left out.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    fn after(openmetrics: bool, text: &[u8]) -> Self {
        let mut w = Self::new(openmetrics);
        for line in text.split(|&b| b == b'\n') {
            if let Some(rest) = line.strip_prefix(b"# TYPE ") {
                let name = rest.split(|&b| b == b' ').next().unwrap_or_default();
                w.taken.insert(String::from_utf8_lossy(name).into_owned());
            }
        }
        w
    }

    /// Whether this writes OpenMetrics.
    pub fn is_openmetrics(&self) -> bool {
        self.openmetrics
    }

    /// Starts a family: its `# HELP` and `# TYPE` lines. `name` is the
    /// family's name without `_total`; `help` is one line.
    ///
    /// A family whose name was written already (by this writer, or by the
    /// state's exposition the reporter adds it to) is left out, with the
    /// samples that follow it, and counted (see [`Extension`]).
    pub fn family(&mut self, name: &str, help: &str, kind: MetricKind) -> &mut Self {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let (shown, ty) = match (kind, self.openmetrics) {
            (MetricKind::Gauge, _) => (name.to_owned(), "gauge"),
            (MetricKind::Counter, true) => (name.to_owned(), "counter"),
            (MetricKind::Counter, false) => (format!("{name}_total"), "counter"),
        };
        // A counter's family is known by its name and by the name with
        // `_total`, as the two formats show it.
        self.skipping = self.taken.contains(name) || self.taken.contains(&shown);
        self.taken.insert(name.to_owned());
        self.taken.insert(shown.clone());
        if self.skipping {
            self.left_out += 1;
            return self;
        }
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
        if self.skipping {
            return self;
        }
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
        let mut own = serde_json::Map::new();
        ext.internal(&mut own);
        for (key, value) in own {
            if RESERVED_KEYS.contains(&key.as_str()) || map.contains_key(&key) {
                extensions.left_out(1, format_args!("`internal.{key}`"));
            } else {
                map.insert(key, value);
            }
        }
    }
    let conflicts = extensions.conflicts();
    if conflicts > 0 {
        map.insert("extension_conflicts".to_owned(), conflicts.into());
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
    let mut writer = MetricsWriter::after(openmetrics, &text);
    for ext in extensions.iter() {
        let before = writer.left_out;
        ext.metrics(&mut writer);
        let n = writer.left_out - before;
        extensions.left_out(n, format_args!("metric family (one of {n})"));
    }
    let conflicts = extensions.conflicts();
    if conflicts > 0 {
        writer.single(
            CONFLICTS_FAMILY,
            "Extension entries and metric families left out because their key or name was taken.",
            MetricKind::Counter,
            conflicts as f64,
        );
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

/// Tells each extension the reporter started.
pub(crate) fn started(extensions: &Extensions) {
    extensions.iter().for_each(|ext| ext.started());
}

/// Tells each extension the reporter stopped.
pub(crate) fn stopped(extensions: &Extensions) {
    extensions.iter().for_each(|ext| ext.stopped());
}
