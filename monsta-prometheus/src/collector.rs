//! [`StateCollector`]: a state as a prometheus-client collector, and its
//! rendering to either text format.

use std::{
    fmt,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use monsta_core::{AppState, FieldInfo, FieldKind, Visitor};
use prometheus_client::{collector::Collector, encoding::DescriptorEncoder, registry::Unit};

use crate::{
    Error, Format, encode,
    model::{self, Family, Layout, Reader},
    name::metric_name,
    write,
};

/// The name of the uptime metric that [`StateCollector::render`] adds.
pub const UPTIME_METRIC: &str = model::UPTIME_METRIC;

/// Exposes an [`AppState`] as Prometheus metrics: register it in a
/// prometheus-client [`Registry`](prometheus_client::registry::Registry) next to other metrics, or
/// [`render`](Self::render) it on its own.
///
/// Each encoding takes the state's lock ([`AppState::lock`]) while it reads
/// the fields, so a scrape never sees half a transaction, and releases it
/// before any text is written. Cloning is cheap (the state is shared).
///
/// See the [crate docs](crate) for how each field type maps to metrics.
pub struct StateCollector<S> {
    state: Arc<S>,
    prefix: Option<String>,
    /// Units set by [`StateCollector::unit`], by field; `None` removes the
    /// field's own unit.
    units: Vec<(String, Option<Unit>)>,
    /// The names, help texts and units of the families, worked out on the
    /// first encoding and kept while the visits report the same fields;
    /// [`prefix`](Self::prefix) and [`unit`](Self::unit) drop it.
    layout: Mutex<Option<Arc<Layout>>>,
    /// States exposed beside this one, each under its name.
    attached: Vec<Attached>,
}

/// A state to expose beside a collector's own, under a name: see
/// [`StateCollector::attach`]. Cloning is cheap (the state is shared).
#[derive(Clone)]
pub struct Attached {
    info: FieldInfo,
    state: Arc<dyn LockedVisit>,
}

impl Attached {
    /// `state`, to expose under `name`: its metric names begin with
    /// `<name>_` (mapped onto the metric-name alphabet), as a flattened
    /// child's would.
    pub fn new<T: AppState>(name: &'static str, state: Arc<T>) -> Self {
        Attached {
            info: FieldInfo::new(name, name, FieldKind::Flatten, ""),
            state,
        }
    }

    /// The name it is exposed under.
    pub fn name(&self) -> &'static str {
        self.info.name
    }
}

impl fmt::Debug for Attached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attached")
            .field("name", &self.info.name)
            .field("state", &self.state.type_name())
            .finish()
    }
}

/// A state read under its own lock, with its type erased.
trait LockedVisit: Send + Sync {
    fn visit_locked(&self, visitor: &mut dyn Visitor);
    fn type_name(&self) -> &'static str;
}

impl<T: AppState> LockedVisit for T {
    fn visit_locked(&self, visitor: &mut dyn Visitor) {
        let _guard = self.lock();
        self.visit(visitor);
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }
}

impl<S: AppState> StateCollector<S> {
    /// A collector of `state`, with the state's own prefix
    /// ([`AppState::PREFIX`], set by `#[monsta(prefix = "...")]`) and the
    /// fields' own units ([`FieldInfo::unit`](monsta_core::FieldInfo::unit),
    /// set by `#[monsta(unit = "...")]`); [`prefix`](Self::prefix) and
    /// [`unit`](Self::unit) override them.
    pub fn new(state: Arc<S>) -> Self {
        StateCollector {
            state,
            prefix: S::PREFIX.filter(|p| !p.is_empty()).map(metric_name),
            units: Vec::new(),
            layout: Mutex::new(None),
            attached: Vec::new(),
        }
    }

    /// Exposes another state beside this one, as if it were a flattened
    /// child named after it: its fields' metric names begin with
    /// `<name>_`, after this collector's prefix (its own
    /// [`PREFIX`](AppState::PREFIX) is not used). Each state is read under
    /// its own lock, one after the other. [`check`](Self::check) finds a
    /// name that clashes with one of this state's.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::{sync::Arc, time::Duration};
    /// # use monsta_core::{AppState, Clock, fields::Gauge};
    /// # use monsta_prometheus::{Attached, Format, StateCollector};
    /// # #[derive(serde::Serialize)]
    /// # struct Service { queue: Gauge }
    /// # const QUEUE: monsta_core::FieldInfo =
    /// #     monsta_core::FieldInfo::new("queue", "queue", monsta_core::FieldKind::Gauge, "Jobs waiting.");
    /// # impl AppState for Service {
    /// #     type Snapshot = serde_json::Value;
    /// #     fn try_with_clock(_: &Clock) -> Result<Self, monsta_core::Error> { Ok(Service { queue: Gauge::new() }) }
    /// #     fn describe() -> Vec<monsta_core::FieldInfo> { vec![QUEUE] }
    /// #     fn visit(&self, v: &mut dyn monsta_core::Visitor) {
    /// #         v.field(&QUEUE, monsta_core::FieldRef::new(&self.queue));
    /// #     }
    /// #     fn snapshot_unlocked(&self) -> serde_json::Value { serde_json::to_value(self).unwrap() }
    /// # }
    /// let app = Arc::new(Service::try_with_clock(&Clock::system())?);
    /// let worker = Arc::new(Service::try_with_clock(&Clock::system())?);
    /// worker.queue.set(2.0);
    ///
    /// let collector = StateCollector::new(app).attach(Attached::new("worker", worker));
    /// collector.check()?;
    /// let text = collector.render(Format::Text, None)?;
    /// assert!(text.contains("\nqueue 0.0\n"));
    /// assert!(text.contains("\nworker_queue 2.0\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn attach(mut self, attached: Attached) -> Self {
        self.attached.push(attached);
        self.layout = Mutex::new(None);
        self
    }

    /// Puts `<prefix>_` before every metric name of the state (not before
    /// the uptime metric), in place of the state's own
    /// [`PREFIX`](AppState::PREFIX). The prefix is mapped onto the
    /// metric-name alphabet like field names; an empty prefix means none.
    ///
    /// A prefix given to the prometheus-client [`Registry`](prometheus_client::registry::Registry) comes on top:
    /// `Registry::with_prefix("a")` and `.prefix("b")` give `a_b_<field>`.
    #[must_use]
    pub fn prefix(mut self, prefix: impl AsRef<str>) -> Self {
        let prefix = prefix.as_ref();
        self.prefix = (!prefix.is_empty()).then(|| metric_name(prefix));
        self.layout = Mutex::new(None);
        self
    }

    /// Gives the field whose metric name (below the prefix, flattened
    /// children joined with `_`) is `field` a unit: the OpenMetrics output
    /// gets a `# UNIT` line, and both formats end the names of the field's
    /// values in `_<unit>` (`latency` in seconds: `latency_mean_seconds`; a
    /// name that already ends in `_<unit>` keeps one). Sample counts,
    /// strings and booleans have no unit. This replaces the unit the
    /// field's `#[monsta(unit = "...")]` gives, and a later call for the
    /// same field replaces this one; `Unit::Other(String::new())` leaves the
    /// field without a unit.
    #[must_use]
    pub fn unit(mut self, field: &str, unit: Unit) -> Self {
        let unit = match unit {
            Unit::Other(other) if other.is_empty() => None,
            Unit::Other(other) => Some(Unit::Other(metric_name(&other))),
            unit => Some(unit),
        };
        let field = metric_name(field);
        self.units.retain(|(name, _)| *name != field);
        self.units.push((field, unit));
        self.layout = Mutex::new(None);
        self
    }

    /// Checks that the state's metric names are distinct (after mapping
    /// onto the metric-name alphabet, with this collector's prefix and
    /// units), so that a scrape can be encoded: what to call once after
    /// [`prefix`](Self::prefix) and [`unit`](Self::unit). A derived state's
    /// own names are checked when it compiles; a hand-written state's, and
    /// the units set here, only here and on each encoding.
    ///
    /// # Errors
    ///
    /// [`Error::Collision`], naming the metric and both fields.
    pub fn check(&self) -> Result<(), Error> {
        self.read(None).map(drop)
    }

    /// The state this collector reads.
    pub fn state(&self) -> &Arc<S> {
        &self.state
    }

    /// Renders a complete exposition of the state in `format`, with the
    /// gauge [`process_uptime_seconds`](UPTIME_METRIC) first when `uptime`
    /// is given (the reporter passes the whole seconds it shows as
    /// `internal.uptime` in JSON). OpenMetrics ends with `# EOF`.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] if prometheus-client's encoder reports an error;
    /// writing the metric types used here to a `String` does not.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::{sync::Arc, time::Duration};
    /// # use monsta_core::{AppState, Clock, fields::Gauge};
    /// # use monsta_prometheus::{Format, StateCollector};
    /// # #[derive(serde::Serialize)]
    /// # struct Service { queue: Gauge }
    /// # const QUEUE: monsta_core::FieldInfo =
    /// #     monsta_core::FieldInfo::new("queue", "queue", monsta_core::FieldKind::Gauge, "Jobs waiting.");
    /// # impl AppState for Service {
    /// #     type Snapshot = serde_json::Value;
    /// #     fn try_with_clock(_: &Clock) -> Result<Self, monsta_core::Error> { Ok(Service { queue: Gauge::new() }) }
    /// #     fn describe() -> Vec<monsta_core::FieldInfo> { vec![QUEUE] }
    /// #     fn visit(&self, v: &mut dyn monsta_core::Visitor) {
    /// #         v.field(&QUEUE, monsta_core::FieldRef::new(&self.queue));
    /// #     }
    /// #     fn snapshot_unlocked(&self) -> serde_json::Value { serde_json::to_value(self).unwrap() }
    /// # }
    /// let state = Arc::new(Service::try_with_clock(&Clock::system())?);
    /// state.queue.set(4.0);
    ///
    /// let collector = StateCollector::new(state);
    /// let text = collector.render(Format::Text, Some(Duration::from_secs(42)))?;
    /// let expected = [
    ///     "# HELP process_uptime_seconds Seconds since the monitoring reporter started or was last reset.",
    ///     "# TYPE process_uptime_seconds gauge",
    ///     "process_uptime_seconds 42",
    ///     "# HELP queue Jobs waiting.",
    ///     "# TYPE queue gauge",
    ///     "queue 4.0",
    /// ];
    /// assert_eq!(text.lines().collect::<Vec<_>>(), expected);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn render(&self, format: Format, uptime: Option<Duration>) -> Result<String, Error> {
        let (layout, families) = self.read(uptime.map(|uptime| uptime.as_secs()))?;
        render_families(layout, families, format)
    }

    /// Reads every field under the state's lock, and pairs the values with
    /// the layout (after the lock is released): the families to encode,
    /// with the uptime metric first when `uptime` is given.
    pub(crate) fn read(&self, uptime: Option<u64>) -> Result<(Arc<Layout>, Vec<Family>), Error> {
        let cached = self.cached_layout();
        let mut reader = Reader::sized_for(cached.as_deref());
        {
            let _guard = self.state.lock();
            self.state.visit(&mut reader);
        }
        for attached in &self.attached {
            reader.enter(&attached.info);
            attached.state.visit_locked(&mut reader);
            reader.leave(&attached.info);
        }
        let layout = match cached {
            Some(layout) if layout.fits(&reader.events) => layout,
            _ => {
                let layout = Layout::new(reader.events, self.prefix.as_deref(), &self.units)?;
                let layout = Arc::new(layout);
                *self.lock_layout() = Some(Arc::clone(&layout));
                layout
            }
        };
        let families = layout.families(uptime, reader.samples);
        Ok((layout, families))
    }
}

/// Renders a complete exposition that holds only the uptime metric: what a
/// reporter serves when what it publishes is not an [`AppState`] (a plain
/// serde value has no metric mapping).
///
/// # Errors
///
/// [`Error::Encode`] if prometheus-client's encoder reports an error.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use monsta_prometheus::{Format, render_uptime};
///
/// let text = render_uptime(Format::OpenMetrics, Duration::from_secs(7))?;
/// assert!(text.ends_with("\nprocess_uptime_seconds 7\n# EOF\n"));
/// # Ok::<(), monsta_prometheus::Error>(())
/// ```
pub fn render_uptime(format: Format, uptime: Duration) -> Result<String, Error> {
    let layout = Layout::new(Vec::new(), None, &[]).map_err(Error::from)?;
    let layout = Arc::new(layout);
    let families = layout.families(Some(uptime.as_secs()), Vec::new());
    render_families(layout, families, format)
}

/// Writes `families` as a whole exposition (the lines prometheus-client's
/// encoder writes for them, straight into one string).
fn render_families(
    layout: Arc<Layout>,
    families: Vec<Family>,
    format: Format,
) -> Result<String, Error> {
    Ok(write::render(&layout, &families, format))
}

impl<S: AppState> Collector for StateCollector<S> {
    /// Encodes the state's metrics (no uptime) for a registry; as
    /// prometheus-client's text encoder writes OpenMetrics, help texts are
    /// escaped for OpenMetrics.
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        // A clash of names fails the registry's encoding (a collector can
        // only return `fmt::Error`); `StateCollector::check` and
        // `render` say which fields clash.
        let (layout, families) = self.read(None).map_err(|_| fmt::Error)?;
        encode::families(&layout, &families, &mut encoder, Format::OpenMetrics)
    }
}

impl<S> StateCollector<S> {
    fn cached_layout(&self) -> Option<Arc<Layout>> {
        self.lock_layout().clone()
    }

    fn lock_layout(&self) -> std::sync::MutexGuard<'_, Option<Arc<Layout>>> {
        // The guarded value is replaced whole, so a panic cannot leave it
        // half written.
        self.layout.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<S> Clone for StateCollector<S> {
    fn clone(&self) -> Self {
        StateCollector {
            state: Arc::clone(&self.state),
            prefix: self.prefix.clone(),
            units: self.units.clone(),
            layout: Mutex::new(self.cached_layout()),
            attached: self.attached.clone(),
        }
    }
}

impl<S> fmt::Debug for StateCollector<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateCollector")
            .field("state", &std::any::type_name::<S>())
            .field("prefix", &self.prefix)
            .field("units", &self.units)
            .field("attached", &self.attached)
            .finish()
    }
}

/// Something that renders a complete exposition: what a reporter keeps, as
/// `Arc<dyn Render>`, for whatever state was published.
pub trait Render: Send + Sync + fmt::Debug {
    /// Renders in `format`, with the uptime metric when `uptime` is given.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] if the encoder reports an error.
    fn render(&self, format: Format, uptime: Option<Duration>) -> Result<String, Error>;

    /// Checks that a rendering can succeed: no two metric names clash.
    /// The default says yes.
    ///
    /// # Errors
    ///
    /// [`Error::Collision`], naming the metric and both fields.
    fn check(&self) -> Result<(), Error> {
        Ok(())
    }
}

impl<S: AppState> Render for StateCollector<S> {
    fn render(&self, format: Format, uptime: Option<Duration>) -> Result<String, Error> {
        StateCollector::render(self, format, uptime)
    }

    fn check(&self) -> Result<(), Error> {
        StateCollector::check(self)
    }
}
