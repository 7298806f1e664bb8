//! The locks of states: one per state, without a field in the state.
//!
//! `#[derive(AppState)]` can't add a mutex to the user's struct, so a
//! state's lock lives in a process-wide table, keyed by the state's address.
//! The table has 64 stripes; a state hashes to one. What makes the key the
//! address and not the stripe is that two states that hash to the same
//! stripe still have locks of their own: holding one never blocks the other.
//!
//! Each stripe has
//!
//! - a *slot*, one atomic word holding the address of the state it locks (or
//!   0): the fast path, one compare-exchange to lock and one subtraction
//!   to unlock, as an uncontended mutex;
//! - a *table* behind a small mutex, for the addresses locked while the slot
//!   holds another state of the same stripe, and a condition variable for
//!   threads that wait for an address held by another thread.
//!
//! The low bit of the slot word ([`SLOW`]) says that the table or a waiter is
//! in use: while it is set, no fast lock takes the slot (it needs the word
//! to be 0), and the holder of the slot's address, unlocking, drops the
//! address, keeps the flag and comes to the stripe's mutex to wake the
//! waiters; so a decision about an address (is it held? in the slot or in
//! the table?) is taken by one thread at a time, under the mutex. An
//! address is held at most once, in the slot or in the table, never both.
//!
//! A lock is reentrant: a thread that holds a state's lock may take it again
//! (a transaction that takes its own state's snapshot). The slot's holder
//! is recorded next to it (a number of the thread's own, and how often it
//! holds the lock), written only by the holder and cleared before it lets
//! go, so a thread that finds its own number there holds the lock. An
//! uncontended lock costs what a reentrant mutex costs: one
//! compare-exchange to take it (tried first, before anything is read) and
//! one subtraction of its address to release it (unconditional, as
//! parking_lot's unlock: it leaves the flag, and what it returns says
//! whether the flag was set). The guard of a state keeps its stripe if the
//! address went to the slot, so releasing neither reads nor hashes anything
//! first. Measured in paired samples (the two interleaved in the same
//! moments), a transaction of three updates costs 0.84 to 0.95 of what it
//! costs under a striped reentrant mutex, where a compare-exchange to
//! release and a second hash of the address made it 1.05. A contended
//! lock backs off as parking_lot's mutex does (a few short spins, then a
//! few yields, reading the slot rather than writing it) before it waits on
//! the stripe's condition variable; the thread that wakes the waiters
//! takes them off the stripe's count, so the stripe leaves slow mode at
//! once and the holder's next lock and unlock are fast again while they
//! wake (each waiter sets the flag again before it looks).
//!
//! Under `--cfg loom` the table is one stripe of loom's atomics, mutex and
//! condition variable, and a contended lock goes to the mutex without
//! spinning: the model (`loom_model` below) checks every interleaving of
//! the fast and slow sides.
//!
//! No `unsafe`: a guard holds the addresses it locked and unlocks them on
//! drop; the guard is not `Send`, so it is dropped on the thread that locked.

use std::{marker::PhantomData, mem::ManuallyDrop};

use sync::{AtomicUsize, Condvar, Mutex, Ordering};

/// The primitives the lock is built on: std's and parking_lot's, or
/// loom's in the model. Locking and waiting go through two functions, as
/// the two APIs differ there.
#[cfg(not(loom))]
mod sync {
    pub(super) use parking_lot::{Condvar, Mutex, MutexGuard};
    pub(super) use std::sync::atomic::{AtomicUsize, Ordering};

    pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
        mutex.lock()
    }

    pub(super) fn wait<'a, T>(cv: &Condvar, mut guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        cv.wait(&mut guard);
        guard
    }
}

#[cfg(loom)]
mod sync {
    pub(super) use loom::sync::atomic::{AtomicUsize, Ordering};
    pub(super) use loom::sync::{Condvar, Mutex, MutexGuard};

    pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
        mutex.lock().unwrap()
    }

    pub(super) fn wait<'a, T>(cv: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        cv.wait(guard).unwrap()
    }
}

/// The number of stripes.
#[cfg(not(loom))]
const STRIPES: usize = 64;

/// Set in a slot word while the stripe's table or a waiter is in use.
const SLOW: usize = 1;

/// In declaration order, so that the three words of the fast path share
/// the first cache line of the stripe (left to itself, the compiler put
/// the mutex first and `depth` on the next line).
#[repr(C)]
struct Stripe {
    /// The address held through the fast path (0: none), `| SLOW`.
    slot: AtomicUsize,
    /// The number of the thread that holds the slot's address (0: none).
    owner: AtomicUsize,
    /// How many times the owner holds it beyond the first: 0 for a single
    /// hold, and so 0 whenever the slot is free (a first lock writes
    /// nothing here); touched by the owner only.
    depth: AtomicUsize,
    slow: Mutex<Slow>,
    released: Condvar,
}

/// An address held through a stripe's table.
#[derive(Debug, Clone, Copy)]
struct Held {
    addr: usize,
    owner: usize,
    depth: usize,
}

struct Slow {
    /// Addresses of this stripe held while the slot holds another one.
    table: Vec<Held>,
    /// Threads waiting for an address of this stripe, not yet woken.
    waiters: usize,
    /// Counts the wake-ups: a waiter waits until it moves (a condition
    /// variable may wake a thread spuriously).
    wakes: u64,
}

impl Slow {
    /// Whether the slot must keep [`SLOW`] set.
    fn busy(&self) -> bool {
        !self.table.is_empty() || self.waiters > 0
    }

    fn find(&mut self, addr: usize) -> Option<&mut Held> {
        self.table.iter_mut().find(|h| h.addr == addr)
    }
}

/// A stripe with nothing held (a macro, as the table's stripes are built
/// in a constant and the model's in a function).
macro_rules! empty_stripe {
    () => {
        Stripe {
            slot: AtomicUsize::new(0),
            owner: AtomicUsize::new(0),
            depth: AtomicUsize::new(0),
            slow: Mutex::new(Slow {
                table: Vec::new(),
                waiters: 0,
                wakes: 0,
            }),
            released: Condvar::new(),
        }
    };
}

#[cfg(not(loom))]
static TABLE: [crossbeam_utils::CachePadded<Stripe>; STRIPES] =
    [const { crossbeam_utils::CachePadded::new(empty_stripe!()) }; STRIPES];

#[cfg(not(loom))]
fn stripe(addr: usize) -> &'static Stripe {
    // Fibonacci hashing of the address; the top 6 bits pick the stripe.
    let i = ((addr as u64 >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize;
    &TABLE[i]
}

/// In the model, one stripe for every address (made again for each
/// execution), so that two addresses always share it.
#[cfg(loom)]
fn stripe(_addr: usize) -> &'static Stripe {
    loom::lazy_static! {
        static ref ONE: Stripe = empty_stripe!();
    }
    &ONE
}

/// This thread's number: not 0, and no other live thread's (the address
/// of a thread-local, as parking_lot's reentrant mutex uses). A thread's
/// guards are dropped on it before it exits, so a number that comes back
/// with a new thread holds no lock.
#[inline]
fn me() -> usize {
    thread_local! {
        static ME: u8 = const { 0 };
    }
    ME.with(|me| std::ptr::from_ref(me) as usize)
}

/// Locks `addr` (not 0, even: a state's address), waiting while another
/// thread holds it; reentrant. Returns whether the address is held in its
/// stripe's slot (else in the stripe's table), for the unlock.
#[inline]
fn lock(addr: usize, me: usize) -> bool {
    lock_in(stripe(addr), addr, me)
}

/// [`lock`] on `addr`'s stripe, found already.
#[inline]
fn lock_in(stripe: &Stripe, addr: usize, me: usize) -> bool {
    // The uncontended first lock: one compare-exchange, nothing read
    // before it.
    take_slot(stripe, addr, me) || lock_held_or_contended(stripe, addr, me)
}

/// Takes the stripe's empty slot for `addr`, as this thread's, once.
#[inline]
fn take_slot(stripe: &Stripe, addr: usize, me: usize) -> bool {
    let taken = stripe
        .slot
        .compare_exchange(0, addr, Ordering::Acquire, Ordering::Relaxed)
        .is_ok();
    if taken {
        stripe.owner.store(me, Ordering::Relaxed);
    }
    taken
}

/// [`lock`] when the slot is taken: by this thread (reentry), by another
/// (spin a little, then wait), or in slow mode.
#[inline(never)]
fn lock_held_or_contended(stripe: &Stripe, addr: usize, me: usize) -> bool {
    if stripe.slot.load(Ordering::Relaxed) & !SLOW == addr
        && stripe.owner.load(Ordering::Relaxed) == me
    {
        // Touched by the owner only: no locked instruction.
        let depth = stripe.depth.load(Ordering::Relaxed);
        stripe.depth.store(depth + 1, Ordering::Relaxed);
        return true;
    }
    // Held by another thread, or the stripe is in slow mode; when this
    // thread holds the slot with another state, only the table helps.
    // parking_lot's backoff: a few short spins, then yields, then wait.
    // The slot is read before a compare-exchange is tried: a failed one
    // still takes the cache line from the holder, which needs it to let go.
    // In slow mode (the flag set: a waiter or the table) the stripe's
    // mutex decides at once.
    // (Not in the model: a spin there is only more interleavings of what
    // the slow path does.)
    #[cfg(not(loom))]
    {
        let mut spin = parking_lot_core::SpinWait::new();
        loop {
            let slot = stripe.slot.load(Ordering::Relaxed);
            if slot & SLOW != 0 || stripe.owner.load(Ordering::Relaxed) == me {
                break;
            }
            if slot == 0 && take_slot(stripe, addr, me) {
                return true;
            }
            if !spin.spin() {
                break;
            }
        }
    }
    lock_slow(stripe, addr, me)
}

#[cold]
fn lock_slow(stripe: &Stripe, addr: usize, me: usize) -> bool {
    let mut slow = sync::lock(&stripe.slow);
    if let Some(held) = slow.find(addr).filter(|h| h.owner == me) {
        held.depth += 1;
        return false;
    }
    let in_slot;
    loop {
        // From here on, no fast lock takes the slot (it needs the word to
        // be 0), and the holder of the slot's address, unlocking, drops
        // the address but keeps the flag and comes to this mutex to wake
        // the waiters: an address enters the slot only under it. (Set
        // again after each wait: the thread that woke this one cleared it
        // if nothing else needed it.)
        stripe.slot.fetch_or(SLOW, Ordering::AcqRel);
        let held_in_slot = stripe.slot.load(Ordering::Acquire) & !SLOW;
        if held_in_slot == addr || slow.find(addr).is_some() {
            // The waker takes this thread off `waiters`, so that, once
            // woken, the stripe leaves slow mode at once: the holder's next
            // lock and unlock take the fast path while this thread wakes.
            slow.waiters += 1;
            let wakes = slow.wakes;
            while slow.wakes == wakes {
                slow = sync::wait(&stripe.released, slow);
            }
            continue;
        }
        in_slot = held_in_slot == 0;
        if in_slot {
            stripe.slot.store(addr | SLOW, Ordering::Release);
            stripe.owner.store(me, Ordering::Relaxed);
            stripe.depth.store(0, Ordering::Relaxed);
        } else {
            slow.table.push(Held {
                addr,
                owner: me,
                depth: 1,
            });
        }
        break;
    }
    if !slow.busy() {
        stripe.slot.fetch_and(!SLOW, Ordering::AcqRel);
    }
    in_slot
}

/// Unlocks `addr`, which this thread holds, finding where.
#[inline]
fn unlock(addr: usize, me: usize) {
    let stripe = stripe(addr);
    let in_slot = stripe.slot.load(Ordering::Relaxed) & !SLOW == addr
        && stripe.owner.load(Ordering::Relaxed) == me;
    unlock_in(stripe, addr, me, in_slot);
}

/// Unlocks `addr`, which this thread holds in its stripe's slot if
/// `in_slot` (what [`lock`] returned: an address stays where it was locked
/// until its last unlock), else in the table. (The tests' unlock; a guard
/// keeps the stripe and calls [`unlock_slot`] or [`unlock_slow`].)
#[cfg(test)]
fn unlock_held(addr: usize, me: usize, in_slot: bool) {
    unlock_in(stripe(addr), addr, me, in_slot);
}

/// `unlock_held` (the tests' unlock) on `addr`'s stripe, found already.
#[inline]
fn unlock_in(stripe: &Stripe, addr: usize, me: usize, in_slot: bool) {
    if in_slot {
        unlock_slot(stripe, addr, me);
    } else {
        unlock_slow(stripe, addr, me, false);
    }
}

/// Unlocks `addr`, which this thread holds in `stripe`'s slot.
#[inline]
fn unlock_slot(stripe: &Stripe, addr: usize, me: usize) {
    let depth = stripe.depth.load(Ordering::Relaxed);
    if depth > 0 {
        stripe.depth.store(depth - 1, Ordering::Relaxed);
        return;
    }
    // Cleared before the release, so that no thread that takes the slot
    // next can see this thread's number there.
    stripe.owner.store(0, Ordering::Relaxed);
    // The slot holds `addr`, with or without the flag: subtracting it
    // leaves the flag alone, unconditionally (parking_lot's unlock),
    // where a compare-exchange would need the word to be `addr`.
    if stripe.slot.fetch_sub(addr, Ordering::Release) != addr {
        unlock_slow(stripe, addr, me, true);
    }
}

#[cold]
fn unlock_slow(stripe: &Stripe, addr: usize, me: usize, in_slot: bool) {
    let mut slow = sync::lock(&stripe.slow);
    if !in_slot {
        let Some(i) = slow
            .table
            .iter()
            .position(|h| h.addr == addr && h.owner == me)
        else {
            debug_assert!(false, "unlock of a state this thread does not hold");
            return;
        };
        if slow.table[i].depth > 1 {
            slow.table[i].depth -= 1;
            return;
        }
        slow.table.swap_remove(i);
    }
    if slow.waiters > 0 {
        slow.waiters = 0;
        slow.wakes = slow.wakes.wrapping_add(1);
        stripe.released.notify_all();
    }
    if !slow.busy() {
        stripe.slot.fetch_and(!SLOW, Ordering::AcqRel);
    }
}

/// The set of states (a state and its flattened children) a lock covers,
/// kept sorted by address. One address (a state without flattened
/// children) is held inline: a guard of one state is two words.
///
/// Built by [`AppState::collect_locks`](crate::AppState::collect_locks);
/// not part of the stable API.
#[doc(hidden)]
#[derive(Debug, Default, Clone)]
pub struct LockSet {
    /// The only address, while there is one (0: none yet).
    one: usize,
    /// Every address, sorted, once there are two or more. Boxed so that
    /// the set, and a guard of one state, stay two words: a guard three
    /// times that size cost a transaction 10 ns in moves.
    #[allow(clippy::box_collection)]
    more: Option<Box<Vec<usize>>>,
}

impl LockSet {
    /// Adds the state at `value`'s address. A zero-sized value has nothing
    /// to protect and is left out.
    #[inline]
    pub fn add<T>(&mut self, value: &T) {
        if size_of::<T>() == 0 {
            return;
        }
        let addr = std::ptr::from_ref(value) as usize;
        if let Some(more) = &mut self.more {
            if let Err(i) = more.binary_search(&addr) {
                more.insert(i, addr);
            }
        } else if self.one == 0 {
            self.one = addr;
        } else if self.one != addr {
            let (a, b) = (self.one.min(addr), self.one.max(addr));
            self.more = Some(Box::new(vec![a, b]));
            self.one = 0;
        }
    }

    #[cfg(all(test, not(loom)))]
    fn addrs(&self) -> &[usize] {
        match &self.more {
            Some(more) => more,
            None if self.one != 0 => std::slice::from_ref(&self.one),
            None => &[],
        }
    }

    /// Locks every state in the set, lowest address first (one global
    /// order: no deadlock between sets that overlap, a parent's and its
    /// child's).
    #[inline]
    pub fn lock(self) -> StateGuard {
        let me = me();
        // A state without flattened children, the common case, locks its
        // one address without a loop.
        let slot = match &self.more {
            None if self.one != 0 => {
                let stripe = stripe(self.one);
                lock_in(stripe, self.one, me).then_some(stripe)
            }
            None => None,
            Some(more) => {
                lock_all(more, me);
                None
            }
        };
        StateGuard {
            set: self,
            me,
            slot,
            _not_send: PhantomData,
        }
    }
}

/// Holds a state's lock (and its flattened children's); released on drop.
/// Not `Send`: it must be dropped on the thread that took it.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct StateGuard {
    set: LockSet,
    /// The number of the thread that took it.
    me: usize,
    /// The stripe whose slot holds the address of a set of one (`None`:
    /// held in the table, or a set of several), kept so that releasing
    /// does not hash the address again.
    slot: Option<&'static Stripe>,
    _not_send: PhantomData<*const ()>,
}

impl std::fmt::Debug for StateGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateGuard").finish_non_exhaustive()
    }
}

impl StateGuard {
    /// Releases the lock now: what dropping the guard does, written out
    /// where it is called (a drop that is also reached from an unwinding
    /// path is a call of its own).
    #[inline]
    pub fn release(self) {
        ManuallyDrop::new(self).unlock();
    }

    /// Unlocks what the guard holds. The set of several addresses is taken
    /// out (and freed out of line), so nothing is left to drop.
    #[inline]
    fn unlock(&mut self) {
        if let Some(stripe) = self.slot {
            unlock_slot(stripe, self.set.one, self.me);
        } else if let Some(more) = self.set.more.take() {
            unlock_all(more, self.me);
        } else if self.set.one != 0 {
            unlock_slow(stripe(self.set.one), self.set.one, self.me, false);
        }
    }
}

impl Drop for StateGuard {
    #[inline]
    fn drop(&mut self) {
        self.unlock();
    }
}

/// Locks a set of two or more addresses, in order.
#[inline(never)]
fn lock_all(addrs: &[usize], me: usize) {
    addrs.iter().for_each(|&addr| {
        lock(addr, me);
    });
}

/// Unlocks a set of two or more addresses, in the reverse order, and
/// frees it.
#[inline(never)]
#[allow(clippy::boxed_local, clippy::box_collection)]
fn unlock_all(addrs: Box<Vec<usize>>, me: usize) {
    addrs.iter().rev().for_each(|&addr| unlock(addr, me));
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::{
        sync::{Arc, Barrier, atomic::AtomicBool},
        time::Duration,
    };

    /// Two addresses of one stripe, from `base` (each test its own, since
    /// tests run at once on the one table).
    fn colliding(base: usize) -> (usize, usize) {
        let target = stripe(base) as *const Stripe;
        let other = (1..)
            .map(|i| base + 8 * i)
            .find(|&a| std::ptr::eq(stripe(a), target))
            .unwrap();
        (base, other)
    }

    #[test]
    fn a_lock_set_is_sorted_without_duplicates_inline_and_beyond() {
        let values = [0u64; 8];
        let mut one = LockSet::default();
        one.add(&values[2]);
        one.add(&values[2]);
        assert_eq!(one.addrs(), [std::ptr::from_ref(&values[2]) as usize]);
        let mut set = LockSet::default();
        for i in [3, 1, 3, 0, 2, 1] {
            set.add(&values[i]);
        }
        let addr = |i: usize| std::ptr::from_ref(&values[i]) as usize;
        assert_eq!(set.addrs(), [addr(0), addr(1), addr(2), addr(3)]);
        for i in [7, 5, 6, 4, 5] {
            set.add(&values[i]);
        }
        let all: Vec<usize> = (0..8).map(addr).collect();
        assert_eq!(set.addrs(), all);
        // A zero-sized state has nothing to lock.
        let mut empty = LockSet::default();
        empty.add(&());
        assert!(empty.addrs().is_empty());
        drop(set.lock());
    }

    /// Locks `addr` on another thread, and returns once it holds it; the
    /// returned function has it unlock and end.
    fn held_elsewhere(addr: usize) -> impl FnOnce() {
        let held = Arc::new(Barrier::new(2));
        let done = Arc::new(Barrier::new(2));
        let t = {
            let (held, done) = (held.clone(), done.clone());
            std::thread::spawn(move || {
                let in_slot = lock(addr, me());
                held.wait();
                done.wait();
                unlock_held(addr, me(), in_slot);
            })
        };
        held.wait();
        move || {
            done.wait();
            t.join().unwrap();
        }
    }

    #[test]
    fn addresses_of_one_stripe_lock_independently() {
        let (a, b) = colliding(0x10_0000);
        let release = held_elsewhere(a);
        // `a` is held by the other thread, in the slot: `b` goes to the table.
        lock(b, me());
        unlock(b, me());
        release();
        // Everything released: the fast path works again.
        assert_eq!(stripe(a).slot.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn guards_of_one_address_released_out_of_order_hold_it_until_the_last() {
        let (a, _) = colliding(0x50_0000);
        let outer = lock(a, me());
        let inner = lock(a, me());
        assert!(outer && inner, "both held in the slot");
        let inside = Arc::new(AtomicBool::new(false));
        let t = {
            let inside = inside.clone();
            std::thread::spawn(move || {
                let held = lock(a, me());
                inside.store(true, Ordering::SeqCst);
                unlock_held(a, me(), held);
            })
        };
        // The outer guard first: the inner one still holds the address.
        unlock_held(a, me(), outer);
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !inside.load(Ordering::SeqCst),
            "released while a guard held it"
        );
        unlock_held(a, me(), inner);
        t.join().unwrap();
        assert!(inside.load(Ordering::SeqCst));
        assert_eq!(stripe(a).slot.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_released_guard_unlocks_every_address_it_held() {
        let values = [0u64; 4];
        for set in [&values[..1], &values[..]] {
            let mut locks = LockSet::default();
            set.iter().for_each(|v| locks.add(v));
            let guard = locks.lock();
            guard.release();
            for v in set {
                let addr = std::ptr::from_ref(v) as usize;
                // (Other tests may hold other addresses of the stripe.)
                assert_ne!(stripe(addr).slot.load(Ordering::SeqCst) & !SLOW, addr);
                assert!(sync::lock(&stripe(addr).slow).find(addr).is_none());
            }
        }
        // Another thread takes them all at once.
        let addrs: Vec<usize> = values
            .iter()
            .map(|v| std::ptr::from_ref(v) as usize)
            .collect();
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            lock_all(&addrs, me());
            unlock_all(Box::new(addrs), me());
            done.send(()).unwrap();
        });
        finished
            .recv_timeout(Duration::from_secs(30))
            .expect("the released addresses could be taken");
    }

    #[test]
    fn an_address_locked_into_the_table_says_so_and_unlocks_from_there() {
        let (a, b) = colliding(0x60_0000);
        let release = held_elsewhere(a);
        // `a` holds the slot: `b` goes to the table, and so does its reentry.
        assert!(!lock(b, me()));
        assert!(!lock(b, me()));
        unlock_held(b, me(), false);
        assert!(
            sync::lock(&stripe(b).slow).find(b).is_some(),
            "held once more"
        );
        unlock_held(b, me(), false);
        assert!(sync::lock(&stripe(b).slow).find(b).is_none());
        release();
        assert_eq!(stripe(a).slot.load(Ordering::SeqCst), 0);
        assert!(!sync::lock(&stripe(a).slow).busy());
    }

    #[test]
    fn a_held_address_excludes_other_threads_and_reenters() {
        let (a, _) = colliding(0x20_0000);
        lock(a, me());
        lock(a, me());
        let inside = Arc::new(AtomicBool::new(false));
        let t = {
            let inside = inside.clone();
            std::thread::spawn(move || {
                lock(a, me());
                inside.store(true, Ordering::SeqCst);
                unlock(a, me());
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!inside.load(Ordering::SeqCst));
        unlock(a, me());
        std::thread::sleep(Duration::from_millis(50));
        assert!(!inside.load(Ordering::SeqCst), "still held once");
        unlock(a, me());
        t.join().unwrap();
        assert!(inside.load(Ordering::SeqCst));
    }

    #[test]
    fn mutual_exclusion_under_contention_on_one_stripe() {
        let (a, b) = colliding(0x30_0000);
        let counters = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let counters = counters.clone();
                std::thread::spawn(move || {
                    for i in 0..20_000 {
                        let (addr, c) = if (i + t) % 2 == 0 { (a, 0) } else { (b, 1) };
                        let in_slot = lock(addr, me());
                        // A non-atomic read-modify-write: lost if two threads
                        // were inside at once.
                        let v = counters[c].load(Ordering::Relaxed);
                        std::hint::spin_loop();
                        counters[c].store(v + 1, Ordering::Relaxed);
                        // Half the time as a guard unlocks (told where the
                        // address is held), half finding it.
                        if i % 4 < 2 {
                            unlock_held(addr, me(), in_slot);
                        } else {
                            unlock(addr, me());
                        }
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let total: usize = counters.iter().map(|c| c.load(Ordering::SeqCst)).sum();
        assert_eq!(total, 80_000);
        assert_eq!(stripe(a).slot.load(Ordering::SeqCst), 0);
        assert!(!sync::lock(&stripe(a).slow).busy());
    }
}

/// The loom model of the lock: every interleaving (and every weak-memory
/// outcome loom models) of fast locks and unlocks racing the slow side's
/// table, waiters and wake-ups, on the model's one stripe. A lost wake-up
/// shows as a deadlock (loom fails the model), a broken exclusion as a lost
/// update. Run with
/// `RUSTFLAGS="--cfg loom" cargo test -p monsta-core --lib --release loom`
/// (what `.ci/run` does).
#[cfg(all(test, loom))]
mod loom_model {
    use super::*;
    use loom::{sync::Arc, thread};

    /// Two addresses (of the model's one stripe).
    const X: usize = 8;
    const Y: usize = 16;

    /// A critical section: two threads inside at once lose an update.
    fn inside(count: &AtomicUsize) {
        let v = count.load(Ordering::Relaxed);
        count.store(v + 1, Ordering::Relaxed);
    }

    /// Locks `addr` as thread `me`, runs the critical section, unlocks.
    fn locked(addr: usize, me: usize, count: &AtomicUsize) {
        let in_slot = lock(addr, me);
        inside(count);
        unlock_held(addr, me, in_slot);
    }

    /// Everything released: the slot empty, its flag clear, nothing on the
    /// slow side.
    fn assert_idle() {
        let stripe = stripe(X);
        assert_eq!(stripe.slot.load(Ordering::Relaxed), 0);
        assert!(!sync::lock(&stripe.slow).busy());
    }

    /// Three threads: every interleaving within three preemptions (loom's
    /// advice for models of this size; two threads run unbounded).
    fn bounded(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(f);
    }

    /// Two threads on one address: the loser waits and is woken by the
    /// holder's unlock, which finds the flag in what it subtracted from.
    #[test]
    fn loom_one_address_excludes_and_wakes() {
        loom::model(|| {
            let count = Arc::new(AtomicUsize::new(0));
            let t = {
                let count = count.clone();
                thread::spawn(move || locked(X, 1, &count))
            };
            locked(X, 2, &count);
            t.join().unwrap();
            assert_eq!(count.load(Ordering::Relaxed), 2);
            assert_idle();
        });
    }

    /// `X` in the slot sends `Y` to the table; `Y` wanted by two threads
    /// while `X` comes and goes: `Y` is held by one thread at a time,
    /// through the slot or the table.
    #[test]
    fn loom_an_address_is_held_once_in_the_slot_or_the_table() {
        bounded(|| {
            let count = Arc::new(AtomicUsize::new(0));
            let unused = Arc::new(AtomicUsize::new(0));
            let x = {
                let unused = unused.clone();
                thread::spawn(move || locked(X, 1, &unused))
            };
            let y = {
                let count = count.clone();
                thread::spawn(move || locked(Y, 2, &count))
            };
            locked(Y, 3, &count);
            x.join().unwrap();
            y.join().unwrap();
            assert_eq!(count.load(Ordering::Relaxed), 2);
            assert_idle();
        });
    }

    /// A reentrant holder (twice in the slot, and a second address in the
    /// table) against a thread that wants the same address.
    #[test]
    fn loom_reentry_holds_until_the_last_unlock() {
        bounded(|| {
            let count = Arc::new(AtomicUsize::new(0));
            let t = {
                let count = count.clone();
                thread::spawn(move || {
                    let outer = lock(X, 1);
                    let second = lock(Y, 1);
                    let inner = lock(X, 1);
                    inside(&count);
                    unlock_held(X, 1, outer);
                    unlock_held(Y, 1, second);
                    inside(&count);
                    unlock_held(X, 1, inner);
                })
            };
            locked(X, 2, &count);
            t.join().unwrap();
            assert_eq!(count.load(Ordering::Relaxed), 3);
            assert_idle();
        });
    }
}
