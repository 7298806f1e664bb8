//! The span tree of a request: a `tracing-subscriber` layer that records,
//! for each request the middleware serves, the spans entered while serving
//! it.

use std::{
    fmt::{self, Write as _},
    sync::{Arc, Mutex, PoisonError},
    time::Instant,
};

use serde::Serialize;
use tracing::{
    Id, Subscriber,
    field::{Field, Visit},
    span::{Attributes, Record},
};
use tracing_subscriber::{Registry, layer::Context, registry::LookupSpan};

/// The name of the span the middleware opens around each request it
/// measures (target [`ROOT_TARGET`]): the root of the request's span tree.
pub const ROOT_NAME: &str = "monsta.request";
/// The target of the middleware's request span.
pub const ROOT_TARGET: &str = "monsta::request";

/// Default of [`SpanTreeLayer::max_spans`].
pub const DEFAULT_MAX_SPANS: usize = 64;
/// Default of [`SpanTreeLayer::max_field_bytes`].
pub const DEFAULT_MAX_FIELD_BYTES: usize = 2048;

/// The `tracing-subscriber` layer that records the span tree of each
/// request the [`RequestMonitor`](super::RequestMonitor) measures. Add it
/// once to the subscriber, on a [`Registry`]:
///
/// ```
/// use tracing_subscriber::prelude::*;
/// use monsta_http::middleware::SpanTreeLayer;
///
/// let subscriber = tracing_subscriber::registry().with(SpanTreeLayer::new());
/// let _guard = tracing::subscriber::set_default(subscriber);
/// ```
///
/// For every span created inside a request's span (the middleware's
/// `monsta.request` span, and its descendants) it keeps the name, target,
/// fields and the time from its creation to its close. A request keeps at
/// most [`max_spans`](Self::max_spans) spans (later ones are counted as
/// dropped, with their descendants) and at most
/// [`max_field_bytes`](Self::max_field_bytes) of field text (a field past it
/// is truncated, then left out). Spans outside a request cost one lookup of
/// their parent's extensions.
///
/// Without this layer (or without a [`Registry`] under the subscriber),
/// captures hold everything but the span tree.
#[derive(Debug, Clone, Copy)]
pub struct SpanTreeLayer {
    max_spans: usize,
    max_field_bytes: usize,
}

impl Default for SpanTreeLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl SpanTreeLayer {
    /// A layer with the default bounds ([`DEFAULT_MAX_SPANS`] spans and
    /// [`DEFAULT_MAX_FIELD_BYTES`] bytes of fields a request).
    pub fn new() -> Self {
        Self {
            max_spans: DEFAULT_MAX_SPANS,
            max_field_bytes: DEFAULT_MAX_FIELD_BYTES,
        }
    }

    /// At most `n` spans kept a request.
    pub fn max_spans(mut self, n: usize) -> Self {
        self.max_spans = n;
        self
    }

    /// At most `n` bytes of field names and values kept a request.
    pub fn max_field_bytes(mut self, n: usize) -> Self {
        self.max_field_bytes = n;
        self
    }
}

/// The spans of one request, shared by the extensions of its spans.
#[derive(Debug)]
pub(crate) struct Tree(Mutex<TreeData>);

#[derive(Debug)]
struct TreeData {
    nodes: Vec<Node>,
    dropped: u64,
    field_bytes: usize,
    max_spans: usize,
    max_field_bytes: usize,
}

#[derive(Debug)]
struct Node {
    name: &'static str,
    target: &'static str,
    parent: Option<usize>,
    fields: Vec<(&'static str, String)>,
    start: Instant,
    end: Option<Instant>,
}

/// A request span's membership, in a span's extensions: its tree and its
/// node (`None` when it was dropped past the bound).
struct Member {
    tree: Arc<Tree>,
    index: Option<usize>,
}

struct FieldWriter<'a> {
    fields: &'a mut Vec<(&'static str, String)>,
    used: &'a mut usize,
    max: usize,
}

impl FieldWriter<'_> {
    fn push(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        let name = field.name();
        let left = self.max.saturating_sub(*self.used + name.len());
        if left == 0 {
            return;
        }
        let mut text = String::new();
        let _ = text.write_fmt(value);
        truncate(&mut text, left);
        *self.used += name.len() + text.len();
        self.fields.push((name, text));
    }
}

impl Visit for FieldWriter<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, format_args!("{value:?}"));
    }
}

/// Cuts `text` to at most `max` bytes, on a character boundary.
pub(crate) fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

impl<S> tracing_subscriber::Layer<S> for SpanTreeLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let meta = span.metadata();
        if meta.name() == ROOT_NAME && meta.target() == ROOT_TARGET {
            span.extensions_mut()
                .insert(Arc::new(Tree(Mutex::new(TreeData {
                    nodes: Vec::new(),
                    dropped: 0,
                    field_bytes: 0,
                    max_spans: self.max_spans,
                    max_field_bytes: self.max_field_bytes,
                }))));
            return;
        }
        let Some(parent) = span.parent() else { return };
        let (tree, parent_index) = {
            let ext = parent.extensions();
            if let Some(tree) = ext.get::<Arc<Tree>>() {
                (tree.clone(), None)
            } else if let Some(member) = ext.get::<Member>() {
                match member.index {
                    Some(i) => (member.tree.clone(), Some(i)),
                    None => {
                        let tree = member.tree.clone();
                        drop(ext);
                        tree.lock().dropped += 1;
                        span.extensions_mut().insert(Member { tree, index: None });
                        return;
                    }
                }
            } else {
                return;
            }
        };
        let index = {
            let mut data = tree.lock();
            if data.nodes.len() >= data.max_spans {
                data.dropped += 1;
                None
            } else {
                let mut fields = Vec::new();
                let max = data.max_field_bytes;
                attrs.record(&mut FieldWriter {
                    fields: &mut fields,
                    used: &mut data.field_bytes,
                    max,
                });
                data.nodes.push(Node {
                    name: meta.name(),
                    target: meta.target(),
                    parent: parent_index,
                    fields,
                    start: Instant::now(),
                    end: None,
                });
                Some(data.nodes.len() - 1)
            }
        };
        span.extensions_mut().insert(Member { tree, index });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let ext = span.extensions();
        let Some(Member {
            tree,
            index: Some(i),
        }) = ext.get::<Member>()
        else {
            return;
        };
        let mut data = tree.lock();
        let data = &mut *data;
        let max = data.max_field_bytes;
        values.record(&mut FieldWriter {
            fields: &mut data.nodes[*i].fields,
            used: &mut data.field_bytes,
            max,
        });
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let ext = span.extensions();
        if let Some(Member {
            tree,
            index: Some(i),
        }) = ext.get::<Member>()
        {
            tree.lock().nodes[*i].end = Some(Instant::now());
        }
    }
}

impl Tree {
    fn lock(&self) -> std::sync::MutexGuard<'_, TreeData> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tree of the request span `span`, if the [`SpanTreeLayer`] records
    /// it under the current subscriber.
    pub(crate) fn of(span: &tracing::Span) -> Option<Arc<Tree>> {
        span.with_subscriber(|(id, dispatch)| {
            let registry = dispatch.downcast_ref::<Registry>()?;
            let data = registry.span(id)?;
            data.extensions().get::<Arc<Tree>>().cloned()
        })
        .flatten()
    }

    /// The spans as a tree of [`SpanNode`]s, times up to `now` for spans
    /// still open; and how many were dropped past the bound.
    pub(crate) fn snapshot(&self, now: Instant) -> (Vec<SpanNode>, u64) {
        let data = self.lock();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); data.nodes.len()];
        let mut roots = Vec::new();
        for (i, node) in data.nodes.iter().enumerate() {
            match node.parent {
                Some(p) => children[p].push(i),
                None => roots.push(i),
            }
        }
        fn build(data: &TreeData, children: &[Vec<usize>], i: usize, now: Instant) -> SpanNode {
            let node = &data.nodes[i];
            let total = node
                .end
                .unwrap_or(now)
                .saturating_duration_since(node.start);
            let kids: Vec<SpanNode> = children[i]
                .iter()
                .map(|&c| build(data, children, c, now))
                .collect();
            let kids_total: f64 = kids.iter().map(|k| k.total_ms).sum();
            let total_ms = total.as_secs_f64() * 1e3;
            SpanNode {
                name: node.name,
                target: node.target,
                fields: node.fields.clone(),
                total_ms,
                own_ms: (total_ms - kids_total).max(0.0),
                closed: node.end.is_some(),
                children: kids,
            }
        }
        let tree = roots
            .into_iter()
            .map(|r| build(&data, &children, r, now))
            .collect();
        (tree, data.dropped)
    }
}

/// One span of a captured request.
#[derive(Debug, Clone, Serialize)]
pub struct SpanNode {
    /// The span's name.
    pub name: &'static str,
    /// Its target (usually the module that created it).
    pub target: &'static str,
    /// Its fields, as text, within the request's field byte bound.
    #[serde(serialize_with = "fields_json")]
    pub fields: Vec<(&'static str, String)>,
    /// Milliseconds from its creation to its close (or to the capture, if
    /// still open).
    pub total_ms: f64,
    /// `total_ms` less its children's (0 when children overlap, as in a
    /// `join`).
    pub own_ms: f64,
    /// Whether it was closed before the request completed.
    pub closed: bool,
    /// The spans created inside it.
    pub children: Vec<SpanNode>,
}

fn fields_json<S: serde::Serializer>(
    fields: &[(&'static str, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(fields.len()))?;
    for (k, v) in fields {
        map.serialize_entry(k, v)?;
    }
    map.end()
}
