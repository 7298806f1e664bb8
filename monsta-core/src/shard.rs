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
use parking_lot::Mutex;

/// The number of shards: twice the parallelism, a power of two in `4..=64`.
pub(crate) fn shard_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(4, |n| n.get());
        (cpus * 2).next_power_of_two().clamp(4, 64)
    })
}

/// Not yet claimed.
const UNCLAIMED: usize = usize::MAX;
/// Released at thread exit: past every shard count, so the shared path.
const RELEASED: usize = usize::MAX - 1;

thread_local! {
    static INDEX: Cell<usize> = const { Cell::new(UNCLAIMED) };
}

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

/// Numbers released by exited threads, smallest first.
static FREE: Mutex<BinaryHeap<Reverse<usize>>> = Mutex::new(BinaryHeap::new());
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Owns a thread's number; returns it to [`FREE`] when the thread exits.
struct ThreadIndex(usize);

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
    own: AtomicU64,
    /// Added to atomically by the threads sharing the shard.
    shared: AtomicU64,
}

fn cells<T: Default>() -> Box<[CachePadded<T>]> {
    (0..shard_count())
        .map(|_| CachePadded::new(T::default()))
        .collect()
}

/// A sharded `u64` adder; arithmetic wraps at `u64::MAX`.
///
/// Its value is the cells' total minus `base`: [`store`](Self::store) and
/// [`take`](Self::take) move the base, since readers never write the
/// owners' cells.
#[derive(Debug)]
pub(crate) struct ShardedU64 {
    cells: Box<[CachePadded<U64Cells>]>,
    base: AtomicU64,
}

impl ShardedU64 {
    pub(crate) fn new(init: u64) -> Self {
        ShardedU64 {
            cells: cells(),
            base: AtomicU64::new(0u64.wrapping_sub(init)),
        }
    }

    #[inline]
    pub(crate) fn add(&self, n: u64) {
        let i = thread_index();
        match self.cells.get(i) {
            Some(c) => c.own.store(c.own.load(Relaxed).wrapping_add(n), Relaxed),
            None => {
                let c = &self.cells[i & (self.cells.len() - 1)];
                c.shared.fetch_add(n, Relaxed);
            }
        }
    }

    fn total(&self) -> u64 {
        self.cells.iter().fold(0u64, |acc, c| {
            acc.wrapping_add(c.own.load(Relaxed))
                .wrapping_add(c.shared.load(Relaxed))
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

/// The largest integral increment the integer cells take; larger ones go to
/// the `f64` cell.
const MAX_STEP: u64 = 1 << 32;
/// The magnitude past which an integer cell takes no more (it moves to the
/// `f64` cell instead of wrapping): 4.6e18, 146 years at a billion a second.
const INT_LIMIT: u64 = 1 << 62;

/// The cells of one shard of a [`WindowSum`].
#[derive(Debug, Default)]
struct SumCells {
    /// The owner's integral increments since the start, an `i64`; only
    /// grows in magnitude, never reset.
    own: AtomicU64,
    /// The sharing threads' integral increments since the start, an `i64`.
    shared: AtomicU64,
    /// Fractional (and non-finite, and very large) increments of the
    /// current bucket, an `f64`: added with a compare-exchange, taken by
    /// the rollover.
    frac: AtomicU64,
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

    #[inline]
    pub(crate) fn add(&self, x: f64) {
        // `as` saturates and maps NaN to 0: a value the test below rejects.
        let k = x as i64;
        let integral = k.unsigned_abs() <= MAX_STEP && k as f64 == x;
        let i = thread_index();
        match self.cells.get(i) {
            Some(c) => {
                if integral {
                    let v = c.own.load(Relaxed) as i64;
                    if v.unsigned_abs() < INT_LIMIT {
                        c.own.store(v.wrapping_add(k) as u64, Relaxed);
                        return;
                    }
                }
                add_f64(&c.frac, x);
            }
            None => self.add_shared(&self.cells[i & (self.cells.len() - 1)], x, integral),
        }
    }

    #[inline(never)]
    fn add_shared(&self, c: &SumCells, x: f64, integral: bool) {
        if integral {
            let k = x as i64;
            let v = c.shared.fetch_add(k as u64, Relaxed) as i64;
            if v.unsigned_abs() < INT_LIMIT {
                return;
            }
            c.shared.fetch_sub(k as u64, Relaxed);
        }
        add_f64(&c.frac, x);
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
/// field's mutex, and what of the `f64` cells was `set` rather than added.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    /// The integer total when the bucket started.
    base: i128,
    /// The value `set` put in the `f64` cells (not counted as added).
    set: f64,
    /// Everything added before this bucket, for the monotonic total: the
    /// integers are counted in the cells, this is the `f64` part.
    added_fracs: f64,
}

impl Bucket {
    pub(crate) fn new(sum: &WindowSum) -> Self {
        Bucket {
            base: sum.ints(),
            set: 0.0,
            added_fracs: 0.0,
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
        self.count_added(fracs);
        let value = (ints - self.base) as f64 + fracs;
        self.base = ints;
        value
    }

    /// Replaces the bucket's value with `v`.
    pub(crate) fn set(&mut self, sum: &WindowSum, v: f64) {
        let fracs = sum.take_fracs();
        self.count_added(fracs);
        self.base = sum.ints();
        add_f64(&sum.cells[0].frac, v);
        self.set = v;
    }

    fn count_added(&mut self, fracs: f64) {
        let added = fracs - std::mem::take(&mut self.set);
        if added.is_finite() {
            self.added_fracs += added;
        }
    }

    /// Everything ever added (not `set`), finite increments only.
    pub(crate) fn added(&self, sum: &WindowSum) -> f64 {
        let fracs = sum.fracs() - self.set;
        let fracs = if fracs.is_finite() { fracs } else { 0.0 };
        sum.ints() as f64 + self.added_fracs + fracs
    }
}

/// Adds `x` to the `f64` stored in `cell`.
#[inline]
pub(crate) fn add_f64(cell: &AtomicU64, x: f64) {
    let mut cur = cell.load(Relaxed);
    loop {
        let new = (f64::from_bits(cur) + x).to_bits();
        match cell.compare_exchange_weak(cur, new, Relaxed, Relaxed) {
            Ok(_) => return,
            Err(seen) => cur = seen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

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
            assert!(RELEASED >= c2.cells.len());
        })
        .join()
        .unwrap();
        assert_eq!(c.sum(), 3);
        let shared: u64 = c.cells.iter().map(|x| x.shared.load(Relaxed)).sum();
        assert_eq!(shared, 2);
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
        assert_eq!(b.restart(&s).is_nan(), true);
        assert_eq!(b.value(&s), 0.0, "the rollover clears a NaN");
        b.set(&s, 7.0);
        s.add(1.0);
        assert_eq!(b.value(&s), 8.0);
        assert_eq!(
            b.added(&s),
            2.5 + 5.0 * MAX_STEP as f64 + 1.0,
            "set is not added"
        );
    }

    #[test]
    fn a_full_integer_cell_moves_to_the_f64_cell_instead_of_wrapping() {
        let s = WindowSum::new();
        let b = Bucket::new(&s);
        let i = thread_index();
        let cell = &s.cells[i & (s.cells.len() - 1)];
        let near = (INT_LIMIT as i64) + 5;
        if i < s.cells.len() {
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
