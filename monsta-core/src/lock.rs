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
//! (a transaction that takes its own state's snapshot). Which addresses this
//! thread holds, and how often, is kept in a thread-local list, so the slot
//! needs no owner.
//!
//! No `unsafe`: a guard holds the addresses it locked and unlocks them on
//! drop; the guard is not `Send`, so it is dropped on the thread that locked.

use std::{cell::RefCell, marker::PhantomData};

use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The number of stripes.
const STRIPES: usize = 64;

/// Set in a slot word while the stripe's table or a waiter is in use.
const SLOW: usize = 1;

struct Stripe {
    /// The address held through the fast path (0: none), `| SLOW`.
    slot: AtomicUsize,
    slow: Mutex<Slow>,
    released: Condvar,
}

#[derive(Default)]
struct Slow {
    /// Addresses of this stripe held while the slot holds another one.
    table: Vec<usize>,
    /// Threads waiting for an address of this stripe.
    waiters: usize,
}

impl Slow {
    /// Whether the slot must keep [`SLOW`] set.
    fn busy(&self) -> bool {
        !self.table.is_empty() || self.waiters > 0
    }
}

#[allow(clippy::declare_interior_mutable_const)]
const STRIPE: Stripe = Stripe {
    slot: AtomicUsize::new(0),
    slow: Mutex::new(Slow {
        table: Vec::new(),
        waiters: 0,
    }),
    released: Condvar::new(),
};

static TABLE: [Stripe; STRIPES] = [STRIPE; STRIPES];

fn stripe(addr: usize) -> &'static Stripe {
    // Fibonacci hashing of the address; the top 6 bits pick the stripe.
    let i = ((addr as u64 >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize;
    &TABLE[i]
}

/// Where a held address is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Slot,
    Table,
}

/// An address this thread holds.
#[derive(Debug, Clone, Copy)]
struct Held {
    addr: usize,
    depth: usize,
    place: Place,
}

thread_local! {
    static HELD: RefCell<Vec<Held>> = const { RefCell::new(Vec::new()) };
}

/// Locks `addr` (not 0, even: a state's address), waiting while another
/// thread holds it; reentrant.
fn lock(addr: usize) {
    let reentered = HELD.with_borrow_mut(|held| {
        held.iter_mut()
            .rev()
            .find(|h| h.addr == addr)
            .map(|h| h.depth += 1)
            .is_some()
    });
    if reentered {
        return;
    }
    let stripe = stripe(addr);
    let place = if stripe
        .slot
        .compare_exchange(0, addr, Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
    {
        Place::Slot
    } else {
        lock_slow(stripe, addr)
    };
    HELD.with_borrow_mut(|held| {
        held.push(Held {
            addr,
            depth: 1,
            place,
        });
    });
}

#[cold]
fn lock_slow(stripe: &Stripe, addr: usize) -> Place {
    let mut slow = stripe.slow.lock();
    // From here on, the slot changes only under this mutex: a fast lock
    // needs the word to be 0, a fast unlock needs it to be a bare address.
    stripe.slot.fetch_or(SLOW, Ordering::AcqRel);
    let place = loop {
        let held_in_slot = stripe.slot.load(Ordering::Acquire) & !SLOW;
        if held_in_slot == addr || slow.table.contains(&addr) {
            slow.waiters += 1;
            stripe.released.wait(&mut slow);
            slow.waiters -= 1;
            continue;
        }
        if held_in_slot == 0 {
            stripe.slot.store(addr | SLOW, Ordering::Release);
            break Place::Slot;
        }
        slow.table.push(addr);
        break Place::Table;
    };
    if !slow.busy() {
        stripe.slot.fetch_and(!SLOW, Ordering::AcqRel);
    }
    place
}

/// Unlocks `addr`, which this thread holds.
fn unlock(addr: usize) {
    let released = HELD.with_borrow_mut(|held| {
        let i = held.iter().rposition(|h| h.addr == addr)?;
        held[i].depth -= 1;
        if held[i].depth > 0 {
            return None;
        }
        Some(held.swap_remove(i).place)
    });
    let Some(place) = released else { return };
    let stripe = stripe(addr);
    if place == Place::Slot
        && stripe
            .slot
            .compare_exchange(addr, 0, Ordering::Release, Ordering::Relaxed)
            .is_ok()
    {
        return;
    }
    unlock_slow(stripe, addr, place);
}

#[cold]
fn unlock_slow(stripe: &Stripe, addr: usize, place: Place) {
    let mut slow = stripe.slow.lock();
    match place {
        // Keep the flag, drop the address.
        Place::Slot => {
            stripe.slot.fetch_and(SLOW, Ordering::AcqRel);
        }
        Place::Table => {
            if let Some(i) = slow.table.iter().position(|&a| a == addr) {
                slow.table.swap_remove(i);
            }
        }
    }
    if slow.waiters > 0 {
        stripe.released.notify_all();
    }
    if !slow.busy() {
        stripe.slot.fetch_and(!SLOW, Ordering::AcqRel);
    }
}

/// The set of states (a state and its flattened children) a lock covers.
///
/// Built by [`AppState::collect_locks`](crate::AppState::collect_locks);
/// not part of the stable API.
#[doc(hidden)]
#[derive(Debug, Default, Clone)]
pub struct LockSet {
    first: usize,
    more: Vec<usize>,
}

impl LockSet {
    /// Adds the state at `value`'s address. A zero-sized value has nothing
    /// to protect and is left out.
    pub fn add<T>(&mut self, value: &T) {
        if size_of::<T>() == 0 {
            return;
        }
        let addr = std::ptr::from_ref(value) as usize;
        if self.first == 0 {
            self.first = addr;
        } else if self.first != addr && !self.more.contains(&addr) {
            self.more.push(addr);
        }
    }

    /// Locks every state in the set, lowest address first (one global
    /// order: no deadlock between sets that overlap, a parent's and its
    /// child's).
    pub fn lock(mut self) -> StateGuard {
        if !self.more.is_empty() {
            self.more.push(self.first);
            self.more.sort_unstable();
            self.first = 0;
            self.more.iter().for_each(|&addr| lock(addr));
        } else if self.first != 0 {
            lock(self.first);
        }
        StateGuard {
            set: self,
            _not_send: PhantomData,
        }
    }
}

/// Holds a state's lock (and its flattened children's); released on drop.
/// Not `Send`: it must be dropped on the thread that took it.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct StateGuard {
    set: LockSet,
    _not_send: PhantomData<*const ()>,
}

impl std::fmt::Debug for StateGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateGuard").finish_non_exhaustive()
    }
}

impl Drop for StateGuard {
    fn drop(&mut self) {
        if self.set.first != 0 {
            unlock(self.set.first);
        }
        self.set.more.iter().rev().for_each(|&addr| unlock(addr));
    }
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
    fn addresses_of_one_stripe_lock_independently() {
        let (a, b) = colliding(0x10_0000);
        let held = Arc::new(Barrier::new(2));
        let done = Arc::new(Barrier::new(2));
        let t = {
            let (held, done) = (held.clone(), done.clone());
            std::thread::spawn(move || {
                lock(a);
                held.wait();
                done.wait();
                unlock(a);
            })
        };
        held.wait();
        // `a` is held by the other thread, in the slot: `b` goes to the table.
        lock(b);
        unlock(b);
        done.wait();
        t.join().unwrap();
        // Everything released: the fast path works again.
        assert_eq!(stripe(a).slot.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_held_address_excludes_other_threads_and_reenters() {
        let (a, _) = colliding(0x20_0000);
        lock(a);
        lock(a);
        let inside = Arc::new(AtomicBool::new(false));
        let t = {
            let inside = inside.clone();
            std::thread::spawn(move || {
                lock(a);
                inside.store(true, Ordering::SeqCst);
                unlock(a);
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!inside.load(Ordering::SeqCst));
        unlock(a);
        std::thread::sleep(Duration::from_millis(50));
        assert!(!inside.load(Ordering::SeqCst), "still held once");
        unlock(a);
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
                        lock(addr);
                        // A non-atomic read-modify-write: lost if two threads
                        // were inside at once.
                        let v = counters[c].load(Ordering::Relaxed);
                        std::hint::spin_loop();
                        counters[c].store(v + 1, Ordering::Relaxed);
                        unlock(addr);
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
