//! The [`Registry`] of a server's open connections: the per-address cap,
//! the pressure test, and the choice of the connection idle the longest.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
};

use tokio::sync::Notify;

use super::Activity;
use crate::peer::PeerKey;

/// An open connection, as the registry sees it.
struct Entry {
    activity: Arc<Activity>,
    evict: Arc<Notify>,
    /// Told to close, and not closed yet.
    evicted: bool,
}

#[derive(Default)]
struct Open {
    next: u64,
    connections: HashMap<u64, Entry>,
    per_address: HashMap<PeerKey, usize>,
}

/// The open connections of one server, with how many each client address
/// holds.
pub(crate) struct Registry {
    open: Mutex<Open>,
    /// The server's connection cap.
    cap: usize,
    /// Admitted connections on which no request has started yet.
    header_phase: Arc<AtomicUsize>,
}

impl Registry {
    /// The registry of a server that holds at most `cap` connections.
    pub(crate) fn new(cap: usize) -> Self {
        Registry {
            open: Mutex::default(),
            cap,
            header_phase: Arc::default(),
        }
    }

    /// Whether the server is under pressure: more than a quarter of its cap
    /// is in the header phase (admitted, no request started), or seven
    /// eighths of the cap are open. A connection still in its header phase
    /// then has only the shorter header deadline.
    pub(crate) fn under_pressure(&self) -> bool {
        let cap = self.cap.max(1);
        if self.header_phase.load(Ordering::Acquire).saturating_mul(4) > cap {
            return true;
        }
        self.lock().connections.len().saturating_mul(8) >= cap.saturating_mul(7)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a connection from `peer`, or `None` if that address holds
    /// `per_address` connections already.
    pub(crate) fn admit(self: &Arc<Self>, peer: IpAddr, per_address: usize) -> Option<Slot> {
        let key = PeerKey::of(peer);
        let mut open = self.lock();
        let count = open.per_address.entry(key).or_insert(0);
        if *count >= per_address {
            return None;
        }
        *count += 1;
        let id = open.next;
        open.next += 1;
        Some(Slot {
            registry: Arc::clone(self),
            id,
            key,
            activity: Arc::new(Activity::new(Arc::clone(&self.header_phase))),
            evict: Arc::new(Notify::new()),
        })
    }

    /// Tells the connection idle the longest to close, unless one told
    /// before is still closing; whether a connection is closing.
    pub(crate) fn evict_idlest(&self) -> bool {
        let mut open = self.lock();
        if open.connections.values().any(|e| e.evicted) {
            return true;
        }
        let idlest = open
            .connections
            .values_mut()
            .filter(|e| e.activity.is_idle())
            .min_by_key(|e| e.activity.last());
        match idlest {
            Some(entry) => {
                entry.evicted = true;
                entry.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

impl Slot {
    /// Makes the connection a candidate for eviction: once it is served
    /// (not while it waits for room, when it would be the one evicted).
    pub(super) fn enlist(&self) {
        let entry = Entry {
            activity: Arc::clone(&self.activity),
            evict: Arc::clone(&self.evict),
            evicted: false,
        };
        self.registry.lock().connections.insert(self.id, entry);
    }
}

/// A connection's place in the [`Registry`] (it counts against its
/// address's share from the moment it is admitted), given up when dropped.
pub(crate) struct Slot {
    pub(super) registry: Arc<Registry>,
    id: u64,
    key: PeerKey,
    pub(super) activity: Arc<Activity>,
    pub(super) evict: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.registry.lock();
        open.connections.remove(&self.id);
        if let Some(count) = open.per_address.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.per_address.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::connection::Busy;

    #[test]
    fn an_address_holds_at_most_its_share_and_gets_it_back() {
        let registry = Arc::new(Registry::new(64));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let first = registry.admit(ip, 2).expect("first");
        let second = registry.admit(ip, 2).expect("second");
        assert!(registry.admit(ip, 2).is_none(), "over the share");
        assert!(registry.admit("10.0.0.2".parse().unwrap(), 2).is_some());
        drop(first);
        assert!(registry.admit(ip, 2).is_some(), "a slot came back");
        drop(second);
        assert!(registry.lock().per_address.len() <= 1);
    }

    #[test]
    fn only_enlisted_idle_connections_are_evicted_one_at_a_time() {
        let registry = Arc::new(Registry::new(64));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let waiting = registry.admit(ip, 8).unwrap();
        assert!(
            !registry.evict_idlest(),
            "a connection waiting for room is not evicted"
        );
        let old = registry.admit(ip, 8).unwrap();
        old.enlist();
        let busy = registry.admit(ip, 8).unwrap();
        busy.enlist();
        let _request = Busy::new(&busy.activity);
        assert!(registry.evict_idlest());
        assert!(registry.lock().connections[&old.id].evicted);
        assert!(!registry.lock().connections[&busy.id].evicted);
        // Until the evicted one closes, no other is told to.
        assert!(registry.evict_idlest());
        drop(old);
        assert!(!registry.evict_idlest(), "the only other one is busy");
        drop(waiting);
    }

    #[test]
    fn fresh_connections_count_toward_pressure_until_their_first_request() {
        let registry = Arc::new(Registry::new(8));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let slots: Vec<_> = (0..3).map(|_| registry.admit(ip, 8).unwrap()).collect();
        for slot in &slots {
            slot.enlist();
        }
        assert!(registry.under_pressure(), "3 of 8 in the header phase");
        let request = Busy::new(&slots[0].activity);
        assert!(
            !registry.under_pressure(),
            "2 of 8: one has started a request"
        );
        drop(request);
        assert!(!slots[0].activity.is_fresh());
        assert!(slots[1].activity.is_fresh());
        drop(slots);
        assert_eq!(registry.header_phase.load(Ordering::Acquire), 0);
        // Seven eighths open is pressure too, fresh or not.
        let open: Vec<_> = (0..7).map(|_| registry.admit(ip, 8).unwrap()).collect();
        for slot in &open {
            slot.enlist();
            let _ = Busy::new(&slot.activity);
        }
        assert!(registry.under_pressure());
    }

    #[test]
    fn a_pending_write_is_not_idle() {
        let registry = Arc::new(Registry::new(8));
        let slot = registry.admit("10.0.0.1".parse().unwrap(), 8).unwrap();
        slot.enlist();
        slot.activity.writing.store(true, Ordering::Release);
        assert!(!slot.activity.is_idle());
        assert!(!registry.evict_idlest(), "the only connection is writing");
        slot.activity.writing.store(false, Ordering::Release);
        assert!(registry.evict_idlest());
    }
}
