//! Every state has a lock of its own: a transaction of one state never
//! blocks another state, wherever the two sit in memory.
//!
//! Each test runs its threads under a watchdog: a deadlock fails the test
//! after a bounded wait instead of hanging the suite.

use std::{
    sync::{Arc, Barrier, mpsc},
    thread,
    time::Duration,
};

use monsta::AppState;
use monsta::fields::{Counter, Gauge};

#[derive(AppState)]
struct Small {
    a: Counter,
    b: Gauge,
}

#[derive(AppState)]
struct Parent {
    n: Counter,
    #[monsta(flatten)]
    child: Small,
}

/// Runs `f` on a thread and fails if it has not returned within `limit`.
fn watchdog<R: Send + 'static>(limit: Duration, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("no result within {limit:?}: the threads deadlocked"))
}

/// A small xorshift generator: the tests need spread, not quality.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    /// Two distinct indexes below `n`, the lower first.
    fn ordered_pair(&mut self, n: usize) -> (usize, usize) {
        loop {
            let (x, y) = (self.below(n), self.below(n));
            if x != y {
                return (x.min(y), x.max(y));
            }
        }
    }
}

fn pool(n: usize) -> Arc<Vec<Small>> {
    Arc::new((0..n).map(|_| Small::new()).collect())
}

/// The stripe the lock table of the first release picked for an address:
/// states on equal stripes shared one mutex there.
fn old_stripe(state: &Small) -> u64 {
    let addr = std::ptr::from_ref(state) as usize as u64;
    (addr >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58
}

#[test]
fn snapshots_inside_transactions_of_states_that_collide_do_not_deadlock() {
    let states = pool(4096);
    // p and s share a stripe, q and r share another.
    let idx: Vec<u64> = states.iter().map(old_stripe).collect();
    let find = |pred: &dyn Fn(usize) -> bool| (0..states.len()).find(|&i| pred(i)).unwrap();
    let p = 0;
    let s = find(&|i| i != p && idx[i] == idx[p]);
    let q = find(&|i| idx[i] != idx[p]);
    let r = find(&|i| i != q && idx[i] == idx[q]);
    let both_in = Arc::new(Barrier::new(2));
    let run = move |states: Arc<Vec<Small>>, outer: usize, inner: usize, both_in: Arc<Barrier>| {
        thread::spawn(move || {
            states[outer].transaction(|tx| {
                tx.a.inc(1);
                // Both transactions are open before either takes its
                // snapshot: on shared stripes, each waits for the other.
                both_in.wait();
                states[inner].snapshot().a
            })
        })
    };
    let got = watchdog(Duration::from_secs(20), {
        let states = states.clone();
        move || {
            let t1 = run(states.clone(), p, q, both_in.clone());
            let t2 = run(states, r, s, both_in);
            (t1.join().unwrap(), t2.join().unwrap())
        }
    });
    assert_eq!(got, (0, 0));
    assert_eq!(states[p].a.get(), 1);
    assert_eq!(states[r].a.get(), 1);
}

/// Threads run `outer.transaction(|_| inner.snapshot())`, JSON rendering and
/// nested transactions over random pairs of thousands of states, each pair
/// in one order (lower index outside), so the program has no lock-order
/// cycle: none may deadlock, whatever the addresses.
#[test]
fn random_pairs_of_thousands_of_states_never_deadlock() {
    const THREADS: u64 = 4;
    const ROUNDS: usize = 20_000;
    let states = pool(4096);
    let totals = watchdog(Duration::from_secs(60), {
        let states = states.clone();
        move || {
            let threads: Vec<_> = (0..THREADS)
                .map(|t| {
                    let states = states.clone();
                    thread::spawn(move || {
                        let mut rng = Rng(0x9E37_79B9 ^ ((t + 1) * 0x1234_5678_9ABC));
                        for round in 0..ROUNDS {
                            let (outer, inner) = rng.ordered_pair(states.len());
                            let (o, i) = (&states[outer], &states[inner]);
                            match round % 3 {
                                0 => o.transaction(|tx| {
                                    tx.a.inc(1);
                                    let _ = i.snapshot();
                                }),
                                1 => o.transaction(|tx| {
                                    tx.a.inc(1);
                                    let _ = serde_json::to_string(i).unwrap();
                                }),
                                _ => o.transaction(|tx| {
                                    tx.a.inc(1);
                                    i.transaction(|inner| inner.b.inc(1.0));
                                }),
                            }
                        }
                    })
                })
                .collect();
            threads.into_iter().for_each(|t| t.join().unwrap());
            let a: u64 = states.iter().map(|s| s.a.get()).sum();
            let b: f64 = states.iter().map(|s| s.b.get()).sum();
            (a, b)
        }
    });
    // Nothing lost: one `a` per round, one `b` per nested round.
    let rounds = THREADS * ROUNDS as u64;
    assert_eq!(totals.0, rounds);
    let nested: usize = (0..ROUNDS).filter(|r| r % 3 == 2).count();
    assert_eq!(totals.1, (THREADS as usize * nested) as f64);
}

#[test]
fn a_transaction_excludes_snapshots_of_its_own_state_only() {
    let states = pool(2);
    let open = Arc::new(Barrier::new(2));
    let close = Arc::new(Barrier::new(2));
    let holder = {
        let (states, open, close) = (states.clone(), open.clone(), close.clone());
        thread::spawn(move || {
            states[0].transaction(|tx| {
                tx.a.inc(1);
                open.wait();
                close.wait();
                tx.a.inc(1);
            });
        })
    };
    open.wait();
    // The other state is free while state 0 is locked.
    let other = watchdog(Duration::from_secs(10), {
        let states = states.clone();
        move || states[1].snapshot().a
    });
    assert_eq!(other, 0);
    // State 0's snapshot waits for the whole transaction: it sees both
    // increments or neither, never one.
    let reader = {
        let states = states.clone();
        thread::spawn(move || states[0].snapshot().a)
    };
    close.wait();
    holder.join().unwrap();
    let seen = watchdog(Duration::from_secs(10), move || reader.join().unwrap());
    assert_eq!(seen, 2);
}

#[test]
fn a_parent_and_its_flattened_child_share_consistency() {
    let parent = Arc::new(Parent::new());
    // A transaction of the parent covers the child: the child's own
    // snapshot, from another thread, waits for it.
    let seen = watchdog(Duration::from_secs(20), {
        let parent = parent.clone();
        move || {
            let writer = {
                let parent = parent.clone();
                thread::spawn(move || {
                    for _ in 0..5_000 {
                        parent.transaction(|tx| {
                            tx.child.a.inc(1);
                            tx.child.b.inc(1.0);
                        });
                    }
                })
            };
            let mut bad = 0;
            for _ in 0..5_000 {
                let s = parent.child.snapshot();
                if s.a as f64 != s.b {
                    bad += 1;
                }
            }
            writer.join().unwrap();
            bad
        }
    });
    assert_eq!(
        seen, 0,
        "a child's snapshot saw half of a parent's transaction"
    );
    // Reentrant: the parent's transaction may snapshot the child and itself.
    let n = parent.transaction(|tx| {
        tx.n.inc(1);
        tx.child.snapshot().a + tx.snapshot().n
    });
    assert_eq!(n, 5_001);
}
