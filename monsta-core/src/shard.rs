//! Per-thread shards for hot counters.
//!
//! A counter that every thread increments is one cache line that every core
//! fights over. These adders give each thread its own cache line, so
//! concurrent updates cost about what an uncontended atomic costs; a read
//! adds the shards up. Reads are rare (a snapshot every few seconds),
//! updates are the hot path.
//!
//! # Single-writer shards
//!
//! Live threads get distinct numbers ([`thread_index`]), the smallest free
//! ones. A thread whose number is below the shard count owns that shard: no
//! other thread writes its `own` cell, so it adds with a plain load and store
//! (no locked instruction), and readers only load it. Reads never write to
//! an owned cell; what the windowed fields need to restart a bucket is the
//! cells' total at that moment (a base to subtract), so an owned cell only
//! grows. A thread whose number is past the shard count shares the shard of
//! its number modulo the count and adds to its `shared` cell with an atomic
//! read-modify-write. No update is lost with any number of threads.
//!
//! A number is released when its thread exits (its thread-locals are
//! dropped) and handed to the next new thread through a mutex, so the old
//! owner's last store happens before the new owner's first load. An update
//! made by a thread after its number was released (from another
//! thread-local's destructor) takes the shared path.

#![cfg_attr(loom, allow(unused_imports, dead_code))]

use std::{
    cell::{Cell, RefCell},
    cmp::Reverse,
    collections::BinaryHeap,
    sync::{
        OnceLock,
        atomic::{AtomicU64, AtomicUsize, Ordering::*},
    },
};

use crossbeam_utils::CachePadded;
#[cfg(not(loom))]
use parking_lot::Mutex;

/// The atomics of the shards' cells: loom's under `--cfg loom`, so the
/// model in `tests` below checks every interleaving of the real code.
#[cfg(loom)]
use loom::sync::atomic::{AtomicU64 as CellU64, AtomicUsize as CellUsize};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicU64 as CellU64, AtomicUsize as CellUsize};

/// The number of shards: twice the parallelism, a power of two in `4..=64`.
#[cfg(not(loom))]
pub(crate) fn shard_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(4, |n| n.get());
        (cpus * 2).next_power_of_two().clamp(4, 64)
    })
}

/// Two shards in the loom model: an owned one and one shared.
#[cfg(loom)]
pub(crate) fn shard_count() -> usize {
    2
}

#[cfg(loom)]
loom::thread_local! {
    static LOOM_INDEX: Cell<usize> = Cell::new(0);
}

/// In the loom model, a thread's number is what the model gives it.
#[cfg(loom)]
pub(crate) fn thread_index() -> usize {
    LOOM_INDEX.with(Cell::get)
}

#[cfg(loom)]
fn set_thread_index(i: usize) {
    LOOM_INDEX.with(|c| c.set(i));
}

#[cfg(not(loom))]
/// Not yet claimed.
const UNCLAIMED: usize = usize::MAX;
#[cfg(not(loom))]
/// Released at thread exit: past every shard count, so the shared path.
const RELEASED: usize = usize::MAX - 1;

#[cfg(not(loom))]
thread_local! {
    static INDEX: Cell<usize> = const { Cell::new(UNCLAIMED) };
}

#[cfg(not(loom))]
/// This thread's shard number (before the mask): the smallest number no
/// other live thread holds, so live threads don't share a shard while there
/// are no more of them than shards, however many threads came and went.
#[inline]
pub(crate) fn thread_index() -> usize {
    // The fast path reads a const-initialized cell with no destructor: one
    // thread-local load.
    let i = INDEX.with(Cell::get);
    if i != UNCLAIMED {
        return i;
    }
    let i = ThreadIndex::claim();
    INDEX.with(|cell| cell.set(i));
    i
}

#[cfg(not(loom))]
/// This thread's number if it has one, else [`UNCLAIMED`] (past every
/// shard count): one thread-local load and nothing to call, for hot paths
/// that leave the claim to their slow path.
#[inline(always)]
pub(crate) fn claimed_index() -> usize {
    INDEX.with(Cell::get)
}

/// In the loom model, the number the model gives the thread.
#[cfg(loom)]
pub(crate) fn claimed_index() -> usize {
    thread_index()
}

#[cfg(not(loom))]
/// Numbers released by exited threads, smallest first.
static FREE: Mutex<BinaryHeap<Reverse<usize>>> = Mutex::new(BinaryHeap::new());
#[cfg(not(loom))]
static NEXT: AtomicUsize = AtomicUsize::new(0);

#[cfg(not(loom))]
/// Owns a thread's number; returns it to [`FREE`] when the thread exits.
struct ThreadIndex(usize);

#[cfg(not(loom))]
impl ThreadIndex {
    #[cold]
    fn claim() -> usize {
        thread_local! {
            static OWNER: RefCell<Option<ThreadIndex>> = const { RefCell::new(None) };
        }
        let i = FREE
            .lock()
            .pop()
            .map_or_else(|| NEXT.fetch_add(1, Relaxed), |Reverse(i)| i);
        // If the thread is already tearing down its thread-locals, the number
        // cannot be owned (it would never be returned): the shared path.
        match OWNER.try_with(|o| *o.borrow_mut() = Some(ThreadIndex(i))) {
            Ok(()) => i,
            Err(_) => {
                FREE.lock().push(Reverse(i));
                RELEASED
            }
        }
    }
}

#[cfg(not(loom))]
impl Drop for ThreadIndex {
    fn drop(&mut self) {
        // From now on this thread's updates take the shared path: the number
        // may be another thread's at once.
        INDEX.with(|cell| cell.set(RELEASED));
        FREE.lock().push(Reverse(self.0));
    }
}

/// The cells of one shard of a `u64` adder.
#[derive(Debug, Default)]
struct U64Cells {
    /// Written by the owner thread only.
    own: CellU64,
    /// Added to atomically by the threads sharing the shard.
    shared: CellU64,
}

fn cells<T: Default>() -> Box<[CachePadded<T>]> {
    (0..shard_count())
        .map(|_| CachePadded::new(T::default()))
        .collect()
}

/// A sharded `u64` adder; arithmetic wraps at `u64::MAX`.
///
/// Its value is `direct` plus the cells' total minus `base`:
/// [`store`](Self::store) and [`take`](Self::take) move the base, since
/// readers never write the owners' cells.
///
/// A [`lazy`](Self::lazy) adder has no shards at first: the first thread
/// to add owns `direct` and adds to it with a plain load and store, and the
/// shards are made when a second thread adds. So an adder that one thread
/// updates is a few words and no shard, what a family's series need. One
/// made with [`new`](Self::new) has its shards at once and no owner of
/// `direct`, so no thread reads a cache line another writes. No update is
/// lost with any number of threads.
#[derive(Debug)]
pub(crate) struct ShardedU64 {
    /// The number of the thread that owns `direct`; [`UNOWNED`] until the
    /// first add.
    owner: CellUsize,
    /// Written by the owner thread only.
    direct: CellU64,
    cells: OnceLock<Box<[CachePadded<U64Cells>]>>,
    base: CellU64,
}

/// Adds `n` to thread `i`'s shard: its own cell if it owns the shard, else
/// atomically to the shard's shared cell.
#[inline(always)]
fn add_to_shard(cells: &[CachePadded<U64Cells>], i: usize, n: u64) {
    match cells.get(i) {
        Some(c) => c.own.store(c.own.load(Relaxed).wrapping_add(n), Relaxed),
        None => add_shared(cells, i, n),
    }
}

/// [`add_to_shard`] by a thread that shares its shard: out of line, so
/// that the owners' path stays a few instructions.
#[cold]
#[inline(never)]
fn add_shared(cells: &[CachePadded<U64Cells>], i: usize, n: u64) {
    let c = &cells[i & (cells.len() - 1)];
    c.shared.fetch_add(n, Relaxed);
}

/// No thread owns an adder's `direct` cell yet: above every thread number
/// (and apart from the marks a thread's number can hold, so an unclaimed
/// number never equals it).
const UNOWNED: usize = usize::MAX - 3;

/// No thread will own the `direct` cell of an adder made with its shards:
/// every thread adds to its shard, and no thread reads a cache line that
/// another writes.
const NEVER_OWNED: usize = usize::MAX - 2;

/// Thread numbers from here on (a released number) never own a cell.
const FIRST_UNOWNABLE: usize = usize::MAX - 2;

impl ShardedU64 {
    pub(crate) fn new(init: u64) -> Self {
        let eager = ShardedU64 {
            owner: CellUsize::new(NEVER_OWNED),
            ..Self::lazy(init)
        };
        let _ = eager.cells.set(cells());
        eager
    }

    /// An adder with no shards until a second thread adds.
    pub(crate) fn lazy(init: u64) -> Self {
        ShardedU64 {
            owner: CellUsize::new(UNOWNED),
            direct: CellU64::new(0),
            cells: OnceLock::new(),
            base: CellU64::new(0u64.wrapping_sub(init)),
        }
    }

    #[inline(always)]
    pub(crate) fn add(&self, n: u64) {
        // Two paths inline, each a plain load and store: a shard's owner,
        // and (before a lazy adder has shards) the owner of `direct`.
        // Everything else (a thread with no number yet, a shared shard, the
        // first add of a lazy adder) is one call out of line, so the inline
        // part needs no register saved.
        let i = claimed_index();
        if let Some(cells) = self.cells.get() {
            if let Some(c) = cells.get(i) {
                c.own.store(c.own.load(Relaxed).wrapping_add(n), Relaxed);
                return;
            }
        } else if i == self.owner.load(Relaxed) {
            self.direct
                .store(self.direct.load(Relaxed).wrapping_add(n), Relaxed);
            return;
        }
        self.add_slow(n);
    }

    /// [`add`](Self::add) off its inline paths. The shards first: an adder
    /// made with them (a `Counter::new`) never uses `direct`; once a lazy
    /// adder has them, its first owner adds to its shard too (nobody else
    /// writes `direct`, which the total keeps counting).
    #[cold]
    #[inline(never)]
    fn add_slow(&self, n: u64) {
        let i = thread_index();
        if let Some(cells) = self.cells.get() {
            add_to_shard(cells, i, n);
        } else if i == self.owner.load(Relaxed) {
            self.direct
                .store(self.direct.load(Relaxed).wrapping_add(n), Relaxed);
        } else {
            self.add_other(i, n);
        }
    }

    /// [`add`](Self::add) by a thread that does not own `direct`: it claims
    /// it if nobody has, else adds to its shard.
    fn add_other(&self, i: usize, n: u64) {
        if i < FIRST_UNOWNABLE
            && self.owner.load(Relaxed) == UNOWNED
            && self
                .owner
                .compare_exchange(UNOWNED, i, Relaxed, Relaxed)
                .is_ok()
        {
            // Nobody wrote `direct` before the claim, and nobody but this
            // thread writes it after.
            self.direct
                .store(self.direct.load(Relaxed).wrapping_add(n), Relaxed);
            return;
        }
        add_to_shard(self.cells.get_or_init(cells), i, n);
    }

    /// Whether the adder has its shards (built with them, or a second
    /// thread added).
    pub(crate) fn is_sharded(&self) -> bool {
        self.cells.get().is_some()
    }

    fn total(&self) -> u64 {
        let direct = self.direct.load(Relaxed);
        self.cells.get().map_or(direct, |cells| {
            cells.iter().fold(direct, |acc, c| {
                acc.wrapping_add(c.own.load(Relaxed))
                    .wrapping_add(c.shared.load(Relaxed))
            })
        })
    }

    pub(crate) fn sum(&self) -> u64 {
        self.total().wrapping_sub(self.base.load(Acquire))
    }

    /// Moves the base so that the value becomes `value(total)`; returns the
    /// value before. An `add` racing with it lands either before or after.
    fn rebase(&self, value: impl Fn(u64) -> u64) -> u64 {
        let mut base = self.base.load(Acquire);
        loop {
            let total = self.total();
            let new = total.wrapping_sub(value(total));
            match self.base.compare_exchange_weak(base, new, AcqRel, Acquire) {
                Ok(_) => return total.wrapping_sub(base),
                Err(seen) => base = seen,
            }
        }
    }

    /// Sets the value to zero and returns what it was.
    pub(crate) fn take(&self) -> u64 {
        self.rebase(|_| 0)
    }

    pub(crate) fn store(&self, v: u64) {
        self.rebase(|_| v);
    }
}

/// The magnitude past which the sharers' integer cell takes no more (their
/// increments go to the `f64` cell instead of wrapping): 4.6e18, 146 years
/// at a billion a second. An owner's cell takes until the `i64` would
/// overflow; then the same.
const INT_LIMIT: u64 = 1 << 62;

/// `x` as an integer if it is one of magnitude below 2^33: adding 1.5 × 2^52
/// rounds it to an integer held in the low bits of the sum (for magnitudes
/// below 2^51), which is `x` exactly when `x` is one. A few float operations,
/// shorter than a saturating conversion and back.
#[inline(always)]
#[allow(clippy::neg_cmp_op_on_partial_ord)] // `!(a < b)` is also true for NaN
fn integral(x: f64) -> Option<i64> {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
    // Not below it: too large, infinite, or NaN (unordered).
    if !(x.abs() < 8_589_934_592.0) {
        return None;
    }
    let r = x + MAGIC;
    if r - MAGIC != x {
        return None;
    }
    Some(r.to_bits().wrapping_sub(MAGIC.to_bits()) as i64)
}

/// The cells of one shard of a [`WindowSum`].
#[derive(Debug, Default)]
struct SumCells {
    /// The owner's integral increments since the start, an `i64`; only
    /// grows in magnitude, never reset.
    own: CellU64,
    /// The sharing threads' integral increments since the start, an `i64`.
    shared: CellU64,
    /// Fractional (and non-finite, and very large) increments of the
    /// current bucket, an `f64`: added with a compare-exchange, taken by
    /// the rollover.
    frac: CellU64,
}

impl SumCells {
    /// The owner's add of an integral `x` to its integer cell, a plain load
    /// and store; `false` (nothing added) for anything else, or a full cell.
    #[inline(always)]
    fn add_owned(&self, x: f64) -> bool {
        if let Some(k) = integral(x)
            && let Some(v) = (self.own.load(Relaxed) as i64).checked_add(k)
        {
            self.own.store(v as u64, Relaxed);
            return true;
        }
        false
    }
}

/// The accumulator of a windowed sum ([`SlidingWindow`], [`PeriodicSum`]):
/// integral increments in integer cells, exactly and without a locked
/// instruction on an owned shard; the rest in `f64` cells.
///
/// The integer cells hold everything ever added; a bucket is their total
/// since its start (the base it keeps, see [`Bucket`]) plus the `f64` cells,
/// which the rollover takes.
///
/// [`SlidingWindow`]: crate::fields::SlidingWindow
/// [`PeriodicSum`]: crate::fields::PeriodicSum
#[derive(Debug)]
pub(crate) struct WindowSum {
    cells: Box<[CachePadded<SumCells>]>,
}

impl WindowSum {
    pub(crate) fn new() -> Self {
        WindowSum { cells: cells() }
    }

    #[inline(always)]
    pub(crate) fn add(&self, x: f64) {
        let i = claimed_index();
        // The hot path, and all of it inlined: an owner adding a small
        // integer. Everything else (a thread with no number yet too) is out
        // of line.
        if let Some(c) = self.cells.get(i)
            && c.add_owned(x)
        {
            return;
        }
        self.add_slow(x);
    }

    /// [`add`](Self::add) off its hot path: a fraction, a large or
    /// non-finite value, a full cell, or a thread sharing its shard.
    #[cold]
    #[inline(never)]
    fn add_slow(&self, x: f64) {
        let i = thread_index();
        let k = integral(x);
        match self.cells.get(i) {
            // An owner whose number was not claimed when `add` looked.
            Some(c) if c.add_owned(x) => {}
            // An owner: the integer did not fit, or is not one.
            Some(c) => add_f64_cell(&c.frac, x),
            None => {
                let c = &self.cells[i & (self.cells.len() - 1)];
                if let Some(k) = k {
                    let v = c.shared.fetch_add(k as u64, Relaxed) as i64;
                    if v.unsigned_abs() < INT_LIMIT {
                        return;
                    }
                    // Near the end of the range: the sharers' cell takes no
                    // more.
                    c.shared.fetch_sub(k as u64, Relaxed);
                }
                add_f64_cell(&c.frac, x);
            }
        }
    }

    /// The integer cells' total: every integral increment ever made.
    pub(crate) fn ints(&self) -> i128 {
        self.cells
            .iter()
            .map(|c| {
                i128::from(c.own.load(Relaxed) as i64) + i128::from(c.shared.load(Relaxed) as i64)
            })
            .sum()
    }

    /// The `f64` cells of the current bucket.
    pub(crate) fn fracs(&self) -> f64 {
        self.cells
            .iter()
            .map(|c| f64::from_bits(c.frac.load(Relaxed)))
            .sum()
    }

    /// Zeroes the `f64` cells and returns what they held.
    fn take_fracs(&self) -> f64 {
        self.cells
            .iter()
            .map(|c| f64::from_bits(c.frac.swap(0f64.to_bits(), Relaxed)))
            .sum()
    }
}

/// The current bucket of a [`WindowSum`]: where it starts, kept under the
/// field's mutex, and what the `f64` cells took over the field's life (the
/// total of everything added, [`added`](Self::added)).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    /// The integer total when the bucket started.
    base: i128,
    /// The finite `f64` parts of the increments the rollovers (and `set`)
    /// took from the `f64` cells, without the values `set` put there.
    taken: f64,
    /// The value [`set`](Self::set) put in the `f64` cells of the current
    /// bucket: not an increment, so not in the total.
    set: f64,
}

impl Bucket {
    pub(crate) fn new(sum: &WindowSum) -> Self {
        Bucket {
            base: sum.ints(),
            taken: 0.0,
            set: 0.0,
        }
    }

    /// The bucket's value.
    pub(crate) fn value(&self, sum: &WindowSum) -> f64 {
        (sum.ints() - self.base) as f64 + sum.fracs()
    }

    /// Ends the bucket: returns its value, and the next one starts at zero.
    pub(crate) fn restart(&mut self, sum: &WindowSum) -> f64 {
        let ints = sum.ints();
        let fracs = sum.take_fracs();
        let value = (ints - self.base) as f64 + fracs;
        self.keep(fracs);
        self.base = ints;
        value
    }

    /// Replaces the bucket's value with `v`.
    pub(crate) fn set(&mut self, sum: &WindowSum, v: f64) {
        let fracs = sum.take_fracs();
        self.keep(fracs);
        self.base = sum.ints();
        add_f64_cell(&sum.cells[0].frac, v);
        self.set = v;
    }

    /// Everything ever added: every integral increment, the finite `f64`
    /// parts the rollovers took, and the current `f64` cells (without a
    /// value `set` put there, and when finite).
    pub(crate) fn added(&self, sum: &WindowSum) -> f64 {
        sum.ints() as f64 + self.taken + finite(sum.fracs() - self.set)
    }

    /// Adds the increments in `fracs`, taken from the `f64` cells, to
    /// [`taken`](Self::taken).
    fn keep(&mut self, fracs: f64) {
        self.taken += finite(fracs - self.set);
        self.set = 0.0;
    }
}

/// `x`, or zero when it is not finite.
fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

macro_rules! add_f64_body {
    ($cell:expr, $x:expr) => {{
        let mut cur = $cell.load(Relaxed);
        loop {
            let new = (f64::from_bits(cur) + $x).to_bits();
            match $cell.compare_exchange_weak(cur, new, Relaxed, Relaxed) {
                Ok(_) => return,
                Err(seen) => cur = seen,
            }
        }
    }};
}

/// Adds `x` to the `f64` stored in `cell`.
#[inline]
pub(crate) fn add_f64(cell: &AtomicU64, x: f64) {
    add_f64_body!(cell, x)
}

/// [`add_f64`] for a shard's cell.
#[inline]
fn add_f64_cell(cell: &CellU64, x: f64) {
    add_f64_body!(cell, x)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// The largest power of two the integer cells take (they take integral
    /// increments below 2^33 in magnitude).
    const MAX_STEP: u64 = 1 << 32;

    #[test]
    fn live_threads_get_distinct_numbers() {
        let here = thread_index();
        let both = std::sync::Barrier::new(2);
        // Both threads hold their number until both have one.
        let (x, y) = std::thread::scope(|s| {
            let run = || {
                let i = thread_index();
                both.wait();
                i
            };
            let x = s.spawn(run);
            let y = s.spawn(run);
            (x.join().unwrap(), y.join().unwrap())
        });
        assert_ne!(x, y);
        assert_ne!(x, here);
        assert_ne!(y, here);
    }

    #[test]
    fn sharded_u64_counts_every_add_from_many_threads() {
        let c = Arc::new(ShardedU64::new(0));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || (0..10_000).for_each(|_| c.add(1)))
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(c.sum(), 80_000);
        assert_eq!(c.take(), 80_000);
        assert_eq!(c.sum(), 0);
    }

    #[test]
    fn a_lazy_u64_shards_itself_under_contention_and_loses_nothing() {
        let c = ShardedU64::lazy(3);
        c.add(2);
        assert!(!c.is_sharded(), "one thread never makes shards");
        assert_eq!(c.sum(), 5);
        c.store(10);
        assert_eq!(c.sum(), 10);
        // Threads hammering it at once make it shard itself; every add
        // before, during and after counts. Rounds of 4 threads of 20,000
        // until it has shards (the first round does it on any machine with
        // two cores), bounded by a deadline.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut expected = 10;
        while !c.is_sharded() && std::time::Instant::now() < deadline {
            let start = std::sync::Barrier::new(4);
            std::thread::scope(|s| {
                for _ in 0..4 {
                    s.spawn(|| {
                        start.wait();
                        (0..20_000).for_each(|_| c.add(1));
                    });
                }
            });
            expected += 80_000;
            assert_eq!(c.sum(), expected);
        }
        assert!(c.is_sharded(), "contended adds make shards");
        (0..1_000).for_each(|_| c.add(1));
        expected += 1_000;
        assert_eq!(c.sum(), expected);
        assert_eq!(c.take(), expected);
        assert_eq!(c.sum(), 0);
    }

    #[test]
    fn sharded_u64_store_and_take_move_the_base() {
        let c = ShardedU64::new(5);
        c.add(2);
        assert_eq!(c.sum(), 7);
        c.store(100);
        assert_eq!(c.sum(), 100);
        c.add(1);
        assert_eq!(c.take(), 101);
        assert_eq!(c.sum(), 0);
        c.store(u64::MAX);
        c.add(1);
        assert_eq!(c.sum(), 0, "wraps");
    }

    #[test]
    fn a_released_number_takes_the_shared_path() {
        let c = Arc::new(ShardedU64::new(0));
        let c2 = c.clone();
        std::thread::spawn(move || {
            c2.add(1);
            // What a thread-local's destructor after the release would see.
            INDEX.with(|i| i.set(RELEASED));
            c2.add(2);
            assert!(RELEASED >= c2.cells.get().unwrap().len());
        })
        .join()
        .unwrap();
        assert_eq!(c.sum(), 3);
        let cells = c.cells.get().unwrap();
        let shared: u64 = cells.iter().map(|x| x.shared.load(Relaxed)).sum();
        assert_eq!(shared, 2);
    }

    #[test]
    fn integral_reads_small_integers_from_their_bits() {
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            2.0,
            3.0,
            7.0,
            1e9,
            -12345.0,
            4294967296.0,
            8589934591.0,
        ] {
            assert_eq!(integral(x), Some(x as i64), "{x}");
        }
        for x in [
            0.5,
            -0.5,
            1.5,
            1e-300,
            5e-324,
            4294967296.5,
            8589934592.0,
            1e300,
        ] {
            assert_eq!(integral(x), None, "{x}");
        }
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(integral(x), None, "{x}");
        }
        for i in -100_000i64..100_000 {
            assert_eq!(integral(i as f64), Some(i));
            assert_eq!(integral(i as f64 + 0.25), None);
        }
    }

    #[test]
    fn window_sum_keeps_integers_exact_and_fractions_apart() {
        let s = WindowSum::new();
        let mut b = Bucket::new(&s);
        s.add(3.0);
        s.add(0.5);
        s.add(-1.0);
        assert_eq!(b.value(&s), 2.5);
        assert_eq!(s.ints(), 2);
        // 2^53 + 1 is not an f64, but integers past MAX_STEP go to the f64
        // cell, and integers below it add exactly.
        for _ in 0..3 {
            s.add(MAX_STEP as f64);
        }
        assert_eq!(s.ints(), 2 + 3 * i128::from(MAX_STEP));
        s.add(MAX_STEP as f64 * 2.0);
        assert_eq!(s.ints(), 2 + 3 * i128::from(MAX_STEP));
        assert_eq!(b.restart(&s), 2.5 + 5.0 * MAX_STEP as f64);
        assert_eq!(b.value(&s), 0.0);
        s.add(f64::NAN);
        assert!(b.value(&s).is_nan());
        assert!(b.restart(&s).is_nan());
        assert_eq!(b.value(&s), 0.0, "the rollover clears a NaN");
        b.set(&s, 7.0);
        s.add(1.0);
        assert_eq!(b.value(&s), 8.0);
    }

    #[test]
    fn the_total_added_survives_rollovers_and_leaves_out_set_and_nan() {
        let s = WindowSum::new();
        let mut b = Bucket::new(&s);
        s.add(3.0);
        s.add(0.5);
        assert_eq!(b.added(&s), 3.5);
        b.restart(&s);
        assert_eq!(b.added(&s), 3.5);
        b.set(&s, 100.0);
        assert_eq!(b.value(&s), 100.0);
        assert_eq!(b.added(&s), 3.5, "set adds nothing");
        s.add(0.25);
        assert_eq!(b.added(&s), 3.75);
        s.add(f64::NAN);
        assert_eq!(b.added(&s), 3.5, "a NaN in the cell hides its fractions");
        b.restart(&s);
        assert_eq!(
            b.added(&s),
            3.5,
            "the NaN and its bucket's fractions are left out"
        );
        s.add(-1.0);
        assert_eq!(b.added(&s), 2.5);
    }

    #[test]
    fn a_full_integer_cell_moves_to_the_f64_cell_instead_of_wrapping() {
        let s = WindowSum::new();
        let b = Bucket::new(&s);
        let i = thread_index();
        let cell = &s.cells[i & (s.cells.len() - 1)];
        let owner = i < s.cells.len();
        let near = if owner {
            i64::MAX
        } else {
            (INT_LIMIT as i64) + 5
        };
        if owner {
            cell.own.store(near as u64, Relaxed);
        } else {
            cell.shared.store(near as u64, Relaxed);
        }
        s.add(1.0);
        assert_eq!(s.ints(), i128::from(near), "the integer cell takes no more");
        assert_eq!(s.fracs(), 1.0);
        assert_eq!(b.value(&s), near as f64 + 1.0);
    }

    #[test]
    fn window_sum_counts_every_add_from_more_threads_than_shards() {
        let s = Arc::new(WindowSum::new());
        let threads = shard_count() * 2 + 3;
        let both = Arc::new(std::sync::Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (s, both) = (s.clone(), both.clone());
                std::thread::spawn(move || {
                    // Every thread lives until all have a number: some share.
                    thread_index();
                    both.wait();
                    (0..5_000).for_each(|_| s.add(1.0));
                    (0..100).for_each(|_| s.add(0.5));
                })
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(s.ints(), threads as i128 * 5_000);
        assert_eq!(s.fracs(), threads as f64 * 50.0);
    }
}

/// The loom model of the shards: every interleaving (and every weak-memory
/// outcome loom models) of owners adding with plain stores, a sharer adding
/// atomically, and a reader summing, taking and restarting buckets. Run with
/// `RUSTFLAGS="--cfg loom" cargo test -p monsta-core --lib --release loom`
/// (what `.ci/run` does).
#[cfg(all(test, loom))]
mod loom_model {
    use super::*;
    use loom::{sync::Arc, thread};

    /// Owner of shard 0, owner of shard 1, and a thread past the shard
    /// count, which shares shard 1: `add` from each while the main thread
    /// reads; no update is lost, and reads only ever see whole updates.
    #[test]
    fn counter_adds_are_never_lost() {
        loom::model(|| {
            let c = Arc::new(ShardedU64::new(0));
            let spawn = |index: usize, n: u64| {
                let c = c.clone();
                thread::spawn(move || {
                    set_thread_index(index);
                    c.add(n);
                    c.add(n);
                })
            };
            let threads = [spawn(0, 1), spawn(1, 10), spawn(5, 100)];
            set_thread_index(0);
            let seen = c.sum();
            assert!(seen <= 222 && [0, 1, 2].contains(&(seen % 10)), "{seen}");
            let taken = c.take();
            for t in threads {
                t.join().unwrap();
            }
            assert_eq!(taken + c.sum(), 222);
        });
    }

    /// `store` and `take` from two readers at once, while an owner adds:
    /// the base moves by compare-exchange, so neither reader's change is
    /// lost and the value is never below what was stored.
    #[test]
    fn concurrent_rebases_and_adds() {
        loom::model(|| {
            let c = Arc::new(ShardedU64::new(0));
            let owner = {
                let c = c.clone();
                thread::spawn(move || {
                    set_thread_index(0);
                    c.add(1);
                })
            };
            let reader = {
                let c = c.clone();
                thread::spawn(move || {
                    set_thread_index(1);
                    c.take()
                })
            };
            set_thread_index(1);
            c.store(50);
            owner.join().unwrap();
            let taken = reader.join().unwrap();
            // Either the take came after the store (and took 50 or 51) and
            // the rest is what the add left, or before it, and the store
            // stands with the add after or before it.
            let left = c.sum();
            assert!(
                matches!((taken, left), (50, 1) | (51, 0) | (0 | 1, 50 | 51)),
                "taken {taken}, left {left}"
            );
        });
    }

    /// A windowed sum: an owner adds integers with plain stores and a
    /// fraction, a sharer adds an integer atomically, while the reader
    /// restarts the bucket under its lock; what each bucket got adds up to
    /// everything added.
    #[test]
    fn window_sum_rollover_loses_nothing() {
        loom::model(|| {
            let s = Arc::new(WindowSum::new());
            let mut bucket = Bucket::new(&s);
            let owner = {
                let s = s.clone();
                thread::spawn(move || {
                    set_thread_index(0);
                    s.add(1.0);
                    s.add(0.5);
                })
            };
            let sharer = {
                let s = s.clone();
                thread::spawn(move || {
                    set_thread_index(3);
                    s.add(4.0);
                })
            };
            set_thread_index(1);
            let first = bucket.restart(&s);
            owner.join().unwrap();
            sharer.join().unwrap();
            let second = bucket.value(&s);
            assert_eq!(first + second, 5.5, "{first} + {second}");
        });
    }
}
