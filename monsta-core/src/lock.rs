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
//!   0): the fast path, one compare-exchange to lock and one to unlock, as an
//!   uncontended mutex;
//! - a *table* behind a small mutex, for the addresses locked while the slot
//!   holds another state of the same stripe, and a condition variable for
//!   threads that wait for an address held by another thread.
//!
//! The low bit of the slot word ([`SLOW`]) says that the table or a waiter is
//! in use: while it is set, locking and unlocking go through the stripe's
//! mutex, so a decision about an address (is it held? in the slot or in the
//! table?) is taken by one thread at a time. An address is held at most once,
//! in the slot or in the table, never both.
//!
//! A lock is reentrant: a thread that holds a state's lock may take it again
//! (a transaction that takes its own state's snapshot). The slot's holder
//! is recorded next to it (a number of the thread's own, and how often it
//! holds the lock), written only by the holder and cleared before it lets
//! go, so a thread that finds its own number there holds the lock. An
//! uncontended lock costs what a reentrant mutex costs: one
//! compare-exchange to take it (tried first, before anything is read) and
//! one to release it; the guard of a state remembers whether its address
//! went to the slot or the table, so releasing reads nothing else first. A
//! contended lock backs off as parking_lot's mutex does (a few short spins,
//! then a few yields, reading the slot rather than writing it) before it
//! waits on the stripe's condition variable; the thread that wakes the
//! waiters takes them off the stripe's count, so the stripe leaves slow
//! mode at once and the holder's next lock and unlock are fast again while
//! they wake (each waiter sets the flag again before it looks).
//!
//! No `unsafe`: a guard holds the addresses it locked and unlocks them on
//! drop; the guard is not `Send`, so it is dropped on the thread that locked.

use std::{marker::PhantomData, mem::ManuallyDrop};

use crossbeam_utils::CachePadded;

use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The number of stripes.
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

#[derive(Default)]
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

#[allow(clippy::declare_interior_mutable_const)]
const STRIPE: Stripe = Stripe {
    slot: AtomicUsize::new(0),
    owner: AtomicUsize::new(0),
    depth: AtomicUsize::new(0),
    slow: Mutex::new(Slow {
        table: Vec::new(),
        waiters: 0,
        wakes: 0,
    }),
    released: Condvar::new(),
};

static TABLE: [CachePadded<Stripe>; STRIPES] = [const { CachePadded::new(STRIPE) }; STRIPES];

fn stripe(addr: usize) -> &'static Stripe {
    // Fibonacci hashing of the address; the top 6 bits pick the stripe.
    let i = ((addr as u64 >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize;
    &TABLE[i]
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
/// stripe's slot (else in the stripe's table), for [`unlock_held`].
#[inline]
fn lock(addr: usize, me: usize) -> bool {
    let stripe = stripe(addr);
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
        stripe.depth.fetch_add(1, Ordering::Relaxed);
        return true;
    }
    // Held by another thread, or the stripe is in slow mode; when this
    // thread holds the slot with another state, only the table helps.
    // parking_lot's backoff: a few short spins, then yields, then wait.
    // The slot is read before a compare-exchange is tried: a failed one
    // still takes the cache line from the holder, which needs it to let go.
    // In slow mode (the flag set: a waiter or the table) the stripe's
    // mutex decides at once.
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
    lock_slow(stripe, addr, me)
}

#[cold]
fn lock_slow(stripe: &Stripe, addr: usize, me: usize) -> bool {
    let mut slow = stripe.slow.lock();
    if let Some(held) = slow.find(addr).filter(|h| h.owner == me) {
        held.depth += 1;
        return false;
    }
    let in_slot;
    loop {
        // From here on, the slot changes only under this mutex: a fast lock
        // needs the word to be 0, a fast unlock needs it to be a bare
        // address. (Set again after each wait: the thread that woke this
        // one cleared it if nothing else needed it.)
        stripe.slot.fetch_or(SLOW, Ordering::AcqRel);
        let held_in_slot = stripe.slot.load(Ordering::Acquire) & !SLOW;
        if held_in_slot == addr || slow.find(addr).is_some() {
            // The waker takes this thread off `waiters`, so that, once
            // woken, the stripe leaves slow mode at once: the holder's next
            // lock and unlock take the fast path while this thread wakes.
            slow.waiters += 1;
            let wakes = slow.wakes;
            while slow.wakes == wakes {
                stripe.released.wait(&mut slow);
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
    unlock_held(addr, me, in_slot);
}

/// Unlocks `addr`, which this thread holds in its stripe's slot if
/// `in_slot` (what [`lock`] returned: an address stays where it was locked
/// until its last unlock), else in the table.
#[inline]
fn unlock_held(addr: usize, me: usize, in_slot: bool) {
    let stripe = stripe(addr);
    if in_slot {
        let depth = stripe.depth.load(Ordering::Relaxed);
        if depth > 0 {
            stripe.depth.store(depth - 1, Ordering::Relaxed);
            return;
        }
        // Cleared before the release, so that no thread that takes the
        // slot next can see this thread's number there.
        stripe.owner.store(0, Ordering::Relaxed);
        if stripe
            .slot
            .compare_exchange(addr, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            unlock_slow(stripe, addr, me, true);
        }
        return;
    }
    unlock_slow(stripe, addr, me, false);
}

#[cold]
fn unlock_slow(stripe: &Stripe, addr: usize, me: usize, in_slot: bool) {
    let mut slow = stripe.slow.lock();
    if in_slot {
        // Keep the flag, drop the address.
        stripe.slot.fetch_and(SLOW, Ordering::AcqRel);
    } else {
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

    #[cfg(test)]
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
        let in_slot = match &self.more {
            None if self.one != 0 => lock(self.one, me),
            None => false,
            Some(more) => {
                lock_all(more, me);
                false
            }
        };
        StateGuard {
            set: self,
            me,
            in_slot,
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
    /// Whether a set of one address holds it in its stripe's slot.
    in_slot: bool,
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
        if let Some(more) = self.set.more.take() {
            unlock_all(more, self.me);
        } else if self.set.one != 0 {
            unlock_held(self.set.one, self.me, self.in_slot);
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

#[cfg(test)]
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
                assert!(stripe(addr).slow.lock().find(addr).is_none());
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
        assert!(stripe(b).slow.lock().find(b).is_some(), "held once more");
        unlock_held(b, me(), false);
        assert!(stripe(b).slow.lock().find(b).is_none());
        release();
        assert_eq!(stripe(a).slot.load(Ordering::SeqCst), 0);
        assert!(!stripe(a).slow.lock().busy());
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
        assert!(!stripe(a).slow.lock().busy());
    }
}
