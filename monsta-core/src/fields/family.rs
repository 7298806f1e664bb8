mod export;
mod json;

use std::{
    fmt,
    hash::BuildHasher,
    marker::PhantomData,
    ops::Deref,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed},
    },
    time::Duration,
};

use crossbeam_utils::sync::{ShardedLock, ShardedLockReadGuard, ShardedLockWriteGuard};
use hashbrown::{DefaultHashBuilder, HashTable};
use parking_lot::RwLock;
use serde::Deserializer;

pub use json::{FamilySnapshot, SeriesSnapshot};

use export::{Labelled, with_pairs};
use json::SeqSeed;

use crate::{
    Clock, Error,
    export::{Family as ExportFamily, Samples},
    fields::{Build, Field, FieldConfig, FieldKind, LabelQuery, LabelSet, Labels},
    params,
};

/// The label and value that mark a family's overflow series.
pub const OVERFLOW_LABEL: (&str, &str) = ("overflow", "true");

/// How many tables a family's series are spread over, by hash: a series
/// being created locks one of them, not the family.
const TABLES: usize = 8;

/// A field holding one child field `F` per label set `L`: requests per
/// route and status, latency per method.
///
/// ```
/// use monsta_core::fields::{Counter, Family};
///
/// let requests: Family<(String, u16), Counter> = Family::with_labels(&["route", "status"])?;
/// // A kept handle: each update costs what the child's costs.
/// let ok = requests.get(&("/", 200));
/// ok.inc(1);
/// // A one-off update, looked up with borrowed strings: no allocation
/// // once the series exists.
/// requests.with(&("/", 500), |c| c.inc(1));
/// requests.with(&("/", 200), |c| c.inc(1));
/// assert_eq!(ok.get(), 2);
/// assert_eq!(
///     serde_json::to_string(&requests).unwrap(),
///     r#"[{"labels":{"route":"/","status":"200"},"value":2},{"labels":{"route":"/","status":"500"},"value":1}]"#
/// );
/// # Ok::<(), monsta_core::Error>(())
/// ```
///
/// **Label sets.** A tuple of label values (`&'static str`, `String`,
/// integers, `bool`, fieldless enums with `#[derive(monsta::Labels)]`), or
/// a single one, named by `labels = ["method", "route"]` in the attribute
/// (or [`with_labels`](Self::with_labels)); or a struct or enum with
/// `#[derive(monsta::Labels)]`, which names its labels itself. Label names
/// are checked ([`params::check_label_names`]); values are escaped by each
/// exporter.
///
/// **Children** are built from the family's attributes, as a field of
/// their type would be: `#[monsta(window = "60s")] by_route: Family<Route,
/// SlidingWindow>`. Any built-in kind that [`Build`]s works; counts,
/// gauges, windows, statistics, percentiles and histograms make sense per
/// series.
///
/// **Access.** [`get`](Self::get) returns a [`Handle`] to keep: updates
/// through it are the child's own, with no lookup. [`with`](Self::with)
/// runs a closure on a series for one-off updates. A lookup of an existing
/// series takes a read lock of one of 8 tables (by the label set's hash;
/// the lock is sharded per thread, so lookups from several threads write
/// no shared cache line) and allocates nothing for a borrowed label set (`&str` against stored
/// `String`s); creating one locks that table only for the insertion (the
/// child is built before). No lock is held while a closure runs or a
/// handle lives, so holding one series never blocks getting another.
///
/// **Cardinality.** At most [`max_series`](Self::max_series) series
/// (`max_series = ...`, default [`params::DEFAULT_MAX_SERIES`], 1,000).
/// Past it, a new label set is folded into one overflow series, exported
/// with the single label `overflow="true"`; the lookups so folded are
/// counted ([`overflowed`](Self::overflowed)) and a warning is logged once
/// (through `tracing`). With `expire_after = "10m"` a series untouched (not
/// looked up) for that long is dropped on the next export, snapshot or
/// [`expire`](Self::expire), and by the creation of a series at the cap (at
/// most once a second); a series with a live [`Handle`] never
/// expires (its time restarts whenever it is seen with one), so an update
/// through a kept handle is never lost. Without it (the default) series
/// stay until [`remove`](Self::remove) or [`clear`](Self::clear), which
/// drop series even if handles to them live: updates through those handles
/// are no longer exported.
///
/// **JSON**: an array in creation order, `[{"labels": {"route": "/",
/// "status": "200"}, "value": <the child's JSON>}, ...]`, label values as
/// strings, the overflow series last (labels `{"overflow": "true"}`) when
/// something was folded. The snapshot ([`FamilySnapshot`]) round-trips.
///
/// **Prometheus**: each of the child's metric families once, with a series
/// per label set (and the child's own labels, such as a histogram's `le`).
///
/// **Memory.** Per series: the label set (its strings included), the
/// child, and about 100 bytes (the series' record and its table slot); per
/// family, about 8 KB (its tables' locks, a cache line per thread shard).
/// Children are built with [`Build::build_series`]: a counter makes its
/// per-thread shards only when a second thread updates it. The child's worst case, with `s` shards (twice the cores, 4 to
/// 64):
///
/// | child | bytes per series, worst case |
/// | --- | --- |
/// | `Counter` | 48 while one thread updates it, then `s × 128` more |
/// | `SlidingWindow` | `s × 128 + 80` |
/// | `Gauge` | 8 |
/// | `RunningStats` | `s × 128` |
/// | `Histogram` (`b` bounds) | `(b + 1) × 8 + 72` until two threads update it at once, then `s × (128 + (b + 1) × 8)` more |
/// | `SlidingPercentiles` | `max_samples × 32` (16 bytes a sample, its deque up to twice as long) |
///
/// So a `Family<_, SlidingPercentiles>` at the default 1,000 series of the
/// default 10,000 samples can hold 320 MB: bound it with `max_series` and
/// `max_samples` (100 series of 1,000 samples: 3.2 MB). A
/// `Family<(String, u16), Counter>` of 1,000 uncontended series holds about
/// 200 KB with its labels (2 MB on 8 cores if every series is contended),
/// a `Family<_, Histogram>` with the 11 default bounds 168 KB until its
/// series are contended.
///
/// Label values known only at run time (a request's path) are best
/// `String`s: they are looked up with a borrowed `&str`. A `&'static str`
/// label is looked up with a `&'static str`.
pub struct Family<L, F> {
    tables: Box<[Table<L, F>]>,
    hasher: DefaultHashBuilder,
    names: &'static [&'static str],
    config: FieldConfig,
    clock: Clock,
    max_series: usize,
    /// In nanoseconds.
    expire_after: Option<u64>,
    len: AtomicUsize,
    next_seq: AtomicU64,
    overflow: RwLock<Arc<Series<L, F>>>,
    folded: AtomicU64,
    warned: AtomicBool,
    /// When a series creation at the cap last swept expired series, in the
    /// clock's nanoseconds: at most once a second, so that label sets past
    /// the cap don't each pay for a sweep.
    swept: AtomicU64,
}

/// One of a family's tables of series. A reader locks only its own
/// thread's shard of the lock (a cache line of its own), so threads looking
/// up series of one table don't write a shared line; a writer (a creation,
/// a removal, an expiry sweep) locks every shard.
struct Table<L, F>(ShardedLock<HashTable<Arc<Series<L, F>>>>);

impl<L, F> Table<L, F> {
    fn new() -> Self {
        Table(ShardedLock::new(HashTable::new()))
    }

    #[inline]
    fn read(&self) -> ShardedLockReadGuard<'_, HashTable<Arc<Series<L, F>>>> {
        // Nothing runs user code under the lock, so a poisoned lock holds
        // a whole table.
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> ShardedLockWriteGuard<'_, HashTable<Arc<Series<L, F>>>> {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

struct Series<L, F> {
    /// `None` for the overflow series.
    labels: Option<L>,
    hash: u64,
    seq: u64,
    /// When it was last looked up, in the clock's nanoseconds.
    touched: AtomicU64,
    child: F,
}

/// A series and its creation number, as [`Family::all`] lists them.
struct Keyed<L, F>(u64, Arc<Series<L, F>>);

impl<L, F> Deref for Keyed<L, F> {
    type Target = Series<L, F>;
    fn deref(&self) -> &Series<L, F> {
        &self.1
    }
}

/// A series of a [`Family`], kept: it derefs to the child field, and an
/// update through it is the child's own. While it lives, the series does
/// not expire. Cloning is cheap.
pub struct Handle<L, F>(Arc<Series<L, F>>);

impl<L, F> Handle<L, F> {
    /// The series' label set; `None` for the overflow series.
    pub fn labels(&self) -> Option<&L> {
        self.0.labels.as_ref()
    }

    /// Whether this is the family's overflow series.
    pub fn is_overflow(&self) -> bool {
        self.0.labels.is_none()
    }
}

impl<L, F> Deref for Handle<L, F> {
    type Target = F;
    #[inline]
    fn deref(&self) -> &F {
        &self.0.child
    }
}

impl<L, F> Clone for Handle<L, F> {
    fn clone(&self) -> Self {
        Handle(Arc::clone(&self.0))
    }
}

impl<L: fmt::Debug, F: fmt::Debug> fmt::Debug for Handle<L, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("labels", &self.0.labels)
            .field("child", &self.0.child)
            .finish()
    }
}

/// Frees `garbage` (series taken out of a table) once no lookup that may
/// have found them is running (see [`Family::with`]).
fn retire<T: Send + 'static>(garbage: T) {
    crossbeam_epoch::pin().defer(move || drop(garbage));
}

fn nanos(clock: &Clock) -> u64 {
    u64::try_from(clock.now().as_nanos()).unwrap_or(u64::MAX)
}

impl<L: Labels, F: Build + 'static> Family<L, F> {
    /// A family whose label set type names its labels
    /// (`#[derive(monsta::Labels)]`), with children built as a field
    /// without attributes, on the system clock.
    ///
    /// # Errors
    ///
    /// [`Error::Labels`] if `L` does not name its labels (a tuple: use
    /// [`with_labels`](Self::with_labels)); the child's error if it cannot
    /// be built without attributes.
    pub fn new() -> Result<Self, Error> {
        Self::with_config(&FieldConfig::default(), &Clock::system())
    }

    /// A family of label sets (tuples or single values) named `names`.
    ///
    /// # Errors
    ///
    /// [`Error::Labels`] unless `names` has one valid name per value of a
    /// label set; the child's error if it cannot be built without
    /// attributes.
    pub fn with_labels(names: &'static [&'static str]) -> Result<Self, Error> {
        let config = FieldConfig {
            labels: Some(names),
            ..FieldConfig::default()
        };
        Self::with_config(&config, &Clock::system())
    }

    /// A family as `#[derive(AppState)]` builds it: `labels`, `max_series`
    /// and `expire_after` from `config`, the children built from the rest
    /// of it, on `clock`.
    ///
    /// # Errors
    ///
    /// [`Error::Labels`] for missing or bad label names, [`Error::MaxSeries`]
    /// for `max_series = 0`, and the child's error for bad parameters.
    pub fn with_config(config: &FieldConfig, clock: &Clock) -> Result<Self, Error> {
        let Some(names) = config.labels.or(L::NAMES) else {
            return Err(Error::Labels(format!(
                "must be given for a family of `{}`: name each value, such as \
                 `#[monsta(labels = [\"method\", \"route\"])]`",
                std::any::type_name::<L>()
            )));
        };
        params::check_label_names(names, L::LEN)?;
        let max_series =
            params::check_max_series(config.max_series.unwrap_or(params::DEFAULT_MAX_SERIES))?;
        let expire_after = config
            .expire_after
            .map(params::check_window)
            .transpose()?
            .map(params::window_nanos);
        // Built now, so that bad parameters are an error here, not a
        // missing series later.
        let probe = F::build_series(config, clock)?;
        Ok(Family {
            tables: (0..TABLES).map(|_| Table::new()).collect(),
            hasher: DefaultHashBuilder::default(),
            names,
            config: *config,
            clock: clock.clone(),
            max_series,
            expire_after,
            len: AtomicUsize::new(0),
            next_seq: AtomicU64::new(0),
            overflow: RwLock::new(Arc::new(Series {
                labels: None,
                hash: 0,
                seq: u64::MAX,
                touched: AtomicU64::new(0),
                child: probe,
            })),
            folded: AtomicU64::new(0),
            warned: AtomicBool::new(false),
            swept: AtomicU64::new(0),
        })
    }

    /// The series of `labels`, created if it is new: a handle to keep and
    /// update at the child's cost. Past [`max_series`](Self::max_series),
    /// a new label set gets the overflow series.
    ///
    /// # Examples
    ///
    /// ```
    /// use monsta_core::fields::{Family, Gauge};
    ///
    /// let queue: Family<&'static str, Gauge> = Family::with_labels(&["queue"])?;
    /// let mail = queue.get(&"mail");
    /// mail.set(3.0);
    /// assert_eq!(queue.get(&"mail").get(), 3.0);
    /// # Ok::<(), monsta_core::Error>(())
    /// ```
    pub fn get<Q: LabelQuery<L> + ?Sized>(&self, labels: &Q) -> Handle<L, F> {
        Handle(self.series(labels))
    }

    /// Runs `f` on the series of `labels` (created if it is new, like
    /// [`get`](Self::get)) and returns what it returns. No lock of the
    /// family is held while `f` runs, so `f` may look up this family too.
    ///
    /// An existing series is reached without touching its reference count
    /// (a cache line that every thread looking it up would write): the
    /// lookup pins the current epoch of `crossbeam-epoch`, and a series
    /// removed meanwhile ([`remove`](Self::remove), [`clear`](Self::clear),
    /// expiry) is freed only once no lookup that may have found it is
    /// running.
    #[inline]
    pub fn with<Q: LabelQuery<L> + ?Sized, R>(&self, labels: &Q, f: impl FnOnce(&F) -> R) -> R {
        let pinned = crossbeam_epoch::pin();
        let hash = self.hasher.hash_one(labels);
        let out = match self.find(hash, labels, Arc::as_ptr) {
            // SAFETY: the series was in its table, under the table's read
            // lock, after this thread pinned the epoch. A series leaves a
            // table only under its write lock, and its `Arc` is then handed
            // to `retire`, which defers the drop until every thread pinned
            // at that moment has unpinned; `pinned` lives until `f` returns.
            // So the series outlives this borrow.
            Some(series) => f(unsafe { &(*series).child }),
            None => f(&self.create(hash, labels).child),
        };
        drop(pinned);
        out
    }

    #[inline]
    fn series<Q: LabelQuery<L> + ?Sized>(&self, labels: &Q) -> Arc<Series<L, F>> {
        let hash = self.hasher.hash_one(labels);
        self.find(hash, labels, Arc::clone)
            .unwrap_or_else(|| self.create(hash, labels))
    }

    /// The existing series of `labels` (whose hash is `hash`), touched and
    /// handed to `take` under its table's read lock.
    #[inline]
    fn find<Q: LabelQuery<L> + ?Sized, T>(
        &self,
        hash: u64,
        labels: &Q,
        take: impl FnOnce(&Arc<Series<L, F>>) -> T,
    ) -> Option<T> {
        let table = self.table(hash).read();
        let series = table.find(hash, |s| {
            s.labels.as_ref().is_some_and(|l| labels.matches(l))
        })?;
        self.touch(series);
        Some(take(series))
    }

    #[inline]
    fn table(&self, hash: u64) -> &Table<L, F> {
        // The table's own index uses the low bits, its tags the top seven.
        &self.tables[(hash >> 32) as usize % TABLES]
    }

    #[inline]
    fn touch(&self, series: &Series<L, F>) {
        if let Some(after) = self.expire_after {
            // Written only when it moved by a sixteenth of the expiry (at
            // most a second): threads looking up one hot series don't all
            // write its cache line.
            let now = nanos(&self.clock);
            let every = (after / 16).min(1_000_000_000);
            if now.saturating_sub(series.touched.load(Relaxed)) >= every {
                series.touched.store(now, Relaxed);
            }
        }
    }

    #[cold]
    fn create<Q: LabelQuery<L> + ?Sized>(&self, query_hash: u64, labels: &Q) -> Arc<Series<L, F>> {
        // The stored label set's own hash places the series: a query that
        // hashes differently (a derived label struct whose `Hash` is not
        // derived, looked up by a tuple) still finds it here, on this
        // slower path, and never makes a second series of one label set.
        let labels = labels.to_labels();
        let hash = self.hasher.hash_one(&labels);
        let eq = |s: &Arc<Series<L, F>>| s.labels.as_ref() == Some(&labels);
        if hash != query_hash
            && let Some(series) = self.table(hash).read().find(hash, eq)
        {
            self.touch(series);
            return Arc::clone(series);
        }
        if self.expire_after.is_some() && self.len.load(Relaxed) >= self.max_series {
            let now = nanos(&self.clock);
            let last = self.swept.load(Relaxed);
            if now.saturating_sub(last) >= 1_000_000_000
                && self
                    .swept
                    .compare_exchange(last, now, Relaxed, Relaxed)
                    .is_ok()
            {
                self.expire();
            }
        }
        if self.len.load(Relaxed) >= self.max_series {
            // Full: no child is built for a label set that would be folded.
            // Another thread may have created this one since the lookup.
            if let Some(series) = self.table(hash).read().find(hash, eq) {
                return Arc::clone(series);
            }
            return self.fold();
        }
        // Built outside the lock; a child that fails to build (its
        // parameters were checked when the family was) is folded.
        let Ok(child) = F::build_series(&self.config, &self.clock) else {
            return self.fold();
        };
        let mut table = self.table(hash).write();
        if let Some(series) = table.find(hash, eq) {
            // Another thread created it meanwhile: one label set is never
            // both a series and folded, since its creations queue here.
            self.touch(series);
            return Arc::clone(series);
        }
        if self.len.fetch_add(1, Relaxed) >= self.max_series {
            // Another label set took the last place meanwhile.
            self.len.fetch_sub(1, Relaxed);
            drop(table);
            return self.fold();
        }
        let series = Arc::new(Series {
            labels: Some(labels),
            hash,
            seq: self.next_seq.fetch_add(1, Relaxed),
            touched: AtomicU64::new(if self.expire_after.is_some() {
                nanos(&self.clock)
            } else {
                0
            }),
            child,
        });
        table.insert_unique(hash, Arc::clone(&series), |s| s.hash);
        series
    }

    #[cold]
    fn fold(&self) -> Arc<Series<L, F>> {
        self.folded.fetch_add(1, Relaxed);
        if !self.warned.swap(true, Relaxed) {
            tracing::warn!(
                max_series = self.max_series,
                labels = ?self.names,
                "a monsta family reached max_series: new label sets are folded into its \
                 series labelled overflow=\"true\""
            );
        }
        Arc::clone(&self.overflow.read())
    }

    /// Drops the series of `labels`; whether there was one. Handles to it
    /// still update it, but it is no longer exported.
    pub fn remove<Q: LabelQuery<L> + ?Sized>(&self, labels: &Q) -> bool {
        // By the stored form's hash, as a series is placed.
        let labels = labels.to_labels();
        let hash = self.hasher.hash_one(&labels);
        let mut table = self.table(hash).write();
        let found = table.find_entry(hash, |s| s.labels.as_ref() == Some(&labels));
        match found {
            Ok(entry) => {
                retire(entry.remove().0);
                self.len.fetch_sub(1, Relaxed);
                true
            }
            Err(_) => false,
        }
    }

    /// Drops every series, and empties the overflow series (when a fresh
    /// child can be built) and its count.
    pub fn clear(&self) {
        for table in self.tables.iter() {
            let mut table = table.write();
            if !table.is_empty() {
                self.len.fetch_sub(table.len(), Relaxed);
                retire(std::mem::take(&mut *table));
            }
        }
        if let Ok(child) = F::build_series(&self.config, &self.clock) {
            *self.overflow.write() = Arc::new(Series {
                labels: None,
                hash: 0,
                seq: u64::MAX,
                touched: AtomicU64::new(0),
                child,
            });
        }
        self.folded.store(0, Relaxed);
    }
}

impl<L, F> Family<L, F> {
    /// The label names.
    pub fn label_names(&self) -> &'static [&'static str] {
        self.names
    }

    /// The most series the family keeps.
    pub fn max_series(&self) -> usize {
        self.max_series
    }

    /// How long a series may go untouched before it expires; `None`: never.
    pub fn expire_after(&self) -> Option<Duration> {
        self.expire_after.map(Duration::from_nanos)
    }

    /// How many series there are (the overflow series not counted).
    pub fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    /// Whether there is no series.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many lookups of a new label set were folded into the overflow
    /// series since the family was built or cleared.
    pub fn overflowed(&self) -> u64 {
        self.folded.load(Relaxed)
    }

    /// Drops the series untouched for longer than `expire_after` that no
    /// [`Handle`] holds, now; how many. A series a handle holds counts as
    /// touched now. Exports and snapshots call this first.
    pub fn expire(&self) -> usize
    where
        L: Send + Sync + 'static,
        F: Send + Sync + 'static,
    {
        let Some(after) = self.expire_after else {
            return 0;
        };
        let now = nanos(&self.clock);
        let mut dropped = 0;
        for table in self.tables.iter() {
            let mut table = table.write();
            // Under the write lock no lookup can clone it: a count above one
            // is a live handle. A closure running on it (`with`) holds no
            // count, but its lookup touched the series, at most a sixteenth
            // of the expiry ago.
            let gone: Vec<_> = table
                .extract_if(|s| {
                    if Arc::strong_count(s) > 1 {
                        s.touched.store(now, Relaxed);
                        return false;
                    }
                    now.saturating_sub(s.touched.load(Relaxed)) >= after
                })
                .collect();
            dropped += gone.len();
            if !gone.is_empty() {
                retire(gone);
            }
        }
        self.len.fetch_sub(dropped, Relaxed);
        dropped
    }

    /// Every series, in creation order, the overflow series last if
    /// something was folded.
    fn all(&self) -> Vec<Keyed<L, F>>
    where
        L: Send + Sync + 'static,
        F: Send + Sync + 'static,
    {
        self.expire();
        // Sorted by a key kept beside each series, not behind its pointer.
        let mut all: Vec<Keyed<L, F>> = Vec::with_capacity(self.len() + 1);
        for table in self.tables.iter() {
            all.extend(table.read().iter().map(|s| Keyed(s.seq, Arc::clone(s))));
        }
        all.sort_unstable_by_key(|k| k.0);
        if self.overflowed() > 0 {
            all.push(Keyed(u64::MAX, Arc::clone(&self.overflow.read())));
        }
        all
    }
}

impl<L: Labels, F> Series<L, F> {
    /// The `(name, value)` labels, the values as text.
    fn label_pairs(&self, names: &'static [&'static str]) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::with_capacity(names.len());
        self.each_label(names, &mut |n, v| pairs.push((n, v.to_owned())));
        pairs
    }

    /// Calls `f` with each `(name, value)` label, allocating nothing for
    /// the tuple and derived label sets.
    fn each_label(&self, names: &'static [&'static str], f: &mut impl FnMut(&'static str, &str)) {
        match &self.labels {
            Some(labels) => {
                let mut names = names.iter();
                labels.each_value(&mut |v| {
                    if let Some(n) = names.next() {
                        f(n, v);
                    }
                });
            }
            None => f(OVERFLOW_LABEL.0, OVERFLOW_LABEL.1),
        }
    }

    /// How many labels [`each_label`](Self::each_label) gives.
    fn label_count(&self, names: &'static [&'static str]) -> usize {
        if self.labels.is_some() {
            names.len()
        } else {
            1
        }
    }
}

impl<L, F: fmt::Debug> fmt::Debug for Family<L, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Family")
            .field("labels", &self.names)
            .field("len", &self.len())
            .field("max_series", &self.max_series)
            .field("overflowed", &self.overflowed())
            .finish_non_exhaustive()
    }
}

impl<L: Labels, F: Field + 'static> Field for Family<L, F> {
    type Snapshot = FamilySnapshot<F::Snapshot>;
    const KIND: FieldKind = FieldKind::Family;
    /// The child's families, with a series per label set.
    const FAMILIES: &'static [ExportFamily] = F::FAMILIES;

    fn snapshot(&self) -> Self::Snapshot {
        self.all()
            .iter()
            .map(|s| SeriesSnapshot {
                labels: LabelSet(
                    s.label_pairs(self.names)
                        .into_iter()
                        .map(|(n, v)| (n.to_owned(), v))
                        .collect(),
                ),
                value: s.child.snapshot(),
            })
            .collect()
    }

    fn export(&self, out: &mut dyn Samples) {
        // One buffer for every series' label values: an export allocates
        // per family, not per series.
        let mut text = String::new();
        let mut ends = Vec::with_capacity(self.names.len());
        for series in self.all() {
            text.clear();
            ends.clear();
            series.each_label(self.names, &mut |_, v| {
                text.push_str(v);
                ends.push(text.len());
            });
            let names: &[&str] = if series.labels.is_some() {
                self.names
            } else {
                &[OVERFLOW_LABEL.0]
            };
            with_pairs(names, &text, &ends, |labels| {
                series.child.export(&mut Labelled {
                    out: &mut *out,
                    labels,
                    families: F::FAMILIES,
                });
            });
        }
    }

    fn deserialize_snapshot<'de, D: Deserializer<'de>>(d: D) -> Result<Self::Snapshot, D::Error> {
        d.deserialize_seq(SeqSeed::<F>(PhantomData))
    }
}

impl<L: Labels, F: Build + 'static> Build for Family<L, F> {
    fn build(config: &FieldConfig, clock: &Clock) -> Result<Self, Error> {
        Self::with_config(config, clock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::Counter;

    #[test]
    fn threads_creating_one_label_set_at_the_cap_share_one_series() {
        for _ in 0..50 {
            let config = FieldConfig {
                labels: Some(&["k"]),
                max_series: Some(1),
                ..FieldConfig::default()
            };
            let family: Family<&'static str, Counter> =
                Family::with_config(&config, &Clock::system()).unwrap();
            let start = std::sync::Barrier::new(4);
            std::thread::scope(|s| {
                for _ in 0..4 {
                    s.spawn(|| {
                        start.wait();
                        family.with(&"x", |c| c.inc(1));
                    });
                }
            });
            assert_eq!(family.overflowed(), 0);
            assert_eq!(family.len(), 1);
            assert_eq!(family.get(&"x").get(), 4);
        }
    }

    fn counters() -> Family<&'static str, Counter> {
        Family::with_labels(&["k"]).unwrap()
    }

    #[test]
    fn a_closure_may_look_up_its_own_family_even_a_new_label_set() {
        // `with` holds no lock while the closure runs: a nested lookup that
        // creates a series (the table's write lock) must not wait on it.
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let family = counters();
            family.with(&"a", |a| {
                a.inc(1);
                family.with(&"b", |b| b.inc(2));
                family.remove(&"b");
                family.with(&"b", |b| b.inc(3));
            });
            done.send((family.get(&"a").get(), family.get(&"b").get()))
                .unwrap();
        });
        let got = finished
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("a nested lookup deadlocked");
        assert_eq!(got, (1, 3));
    }

    #[test]
    fn a_series_removed_while_a_closure_runs_on_it_is_still_its_own() {
        let family = counters();
        // Created first: the lookup below finds it in its table (a
        // created series comes with a reference of its own).
        family.with(&"x", |c| c.inc(1));
        family.with(&"x", |c| {
            c.inc(1);
            // Removed, the family cleared, and the epoch pushed on: the
            // closure's series is retired but not freed under it.
            assert!(family.remove(&"x"));
            family.clear();
            for _ in 0..256 {
                crossbeam_epoch::pin().flush();
            }
            c.inc(1);
            assert_eq!(c.get(), 3);
        });
        assert!(family.is_empty());
        assert_eq!(family.get(&"x").get(), 0, "a new series after the removal");
    }

    #[test]
    fn lookups_racing_removals_and_clears_lose_nothing_they_can_see() {
        const ROUNDS: u64 = 20_000;
        let family = counters();
        let stop = std::sync::atomic::AtomicBool::new(false);
        let labels = ["a", "b", "c", "d"];
        std::thread::scope(|s| {
            let lookups: Vec<_> = (0..2)
                .map(|t| {
                    let family = &family;
                    s.spawn(move || {
                        for i in 0..ROUNDS {
                            let label = labels[(i as usize + t) % labels.len()];
                            // The closure's own increment is always visible
                            // to it, removed or not.
                            family.with(&label, |c| {
                                let before = c.get();
                                c.inc(1);
                                assert!(c.get() > before);
                            });
                        }
                    })
                })
                .collect();
            s.spawn(|| {
                let mut i = 0usize;
                while !stop.load(Relaxed) {
                    if i.is_multiple_of(8) {
                        family.clear();
                    } else {
                        family.remove(&labels[i % labels.len()]);
                    }
                    i += 1;
                    std::thread::yield_now();
                }
            });
            for t in lookups {
                t.join().unwrap();
            }
            stop.store(true, Relaxed);
        });
        assert!(family.len() <= labels.len());
        let kept: u64 = labels.iter().map(|l| family.get(l).get()).sum();
        assert!(kept <= 2 * ROUNDS);
    }

    #[test]
    fn a_family_without_label_names_is_an_error() {
        let family =
            Family::<(u8, u8), Counter>::with_config(&FieldConfig::default(), &Clock::system());
        assert!(matches!(family, Err(Error::Labels(_))));
    }
}
