//! Flow control for the drivers, with no I/O: what a connection holds in memory, and
//! when a driver must stop reading from a peer so that memory stays bounded whatever
//! the peers do. The counting and the thresholds live here; `listen` (and, later,
//! `relay`) only obey `may_read`, and the client obeys `HIGH_WATER` for `--echo`.
//!
//! Two rules:
//! - per peer: stop reading while what waits to be sent to it (its send queue and the
//!   echoes `--delay` holds) is at or above `HIGH_WATER`: a peer that sends and never
//!   reads cannot grow us;
//! - server-wide: stop reading from every peer while all of them together hold
//!   `SERVER_BOUND` bytes or more (waiting to be sent, or received and not yet a whole
//!   message), except one, the *leader*: the lowest id that has a frame or message in
//!   progress and may read by the first rule, so that one message is always completed
//!   and the server cannot deadlock on halves of messages. The peak is then about
//!   `SERVER_BOUND` plus one message and its echo.

use std::collections::HashMap;

use crate::protocol::Conn;

/// Per peer: stop reading while this much waits to be sent to it.
pub const HIGH_WATER: usize = 1 << 20;
/// Server-wide: stop reading (but for the leader) while all peers hold this much.
pub const SERVER_BOUND: usize = 32 << 20;

/// What one connection holds in memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Held {
    /// Waiting to be sent: the send queue, and what `--delay` holds for later.
    pub to_send: usize,
    /// Received, not yet a whole message: an incomplete frame, a message's fragments.
    pub received: usize,
}

impl Held {
    /// What `p` holds, with `delayed` bytes held for later by the driver's reflexes.
    pub fn of(p: &Conn, delayed: usize) -> Held {
        Held {
            to_send: p.tx.out.pending() + delayed,
            received: p.rx.held(),
        }
    }

    pub fn total(&self) -> usize {
        self.to_send + self.received
    }

    /// The per-peer rule alone: what waits to be sent is under the high-water mark.
    pub fn under_high_water(&self) -> bool {
        self.to_send < HIGH_WATER
    }
}

/// The server-wide count: what every peer holds, and who may read.
#[derive(Debug)]
pub struct Pool {
    bound: usize,
    per: HashMap<u64, Held>,
    total: usize,
    /// Over the bound: the one peer that may go on reading.
    leader: Option<u64>,
}

impl Default for Pool {
    fn default() -> Pool {
        Pool::new(SERVER_BOUND)
    }
}

impl Pool {
    pub fn new(bound: usize) -> Pool {
        Pool {
            bound,
            per: HashMap::new(),
            total: 0,
            leader: None,
        }
    }

    /// What peer `id` holds now (after its turn).
    pub fn set(&mut self, id: u64, held: Held) {
        let old = self.per.insert(id, held).unwrap_or_default();
        self.total = self.total - old.total() + held.total();
        self.elect();
    }

    /// Peer `id` is gone.
    pub fn remove(&mut self, id: u64) {
        if let Some(old) = self.per.remove(&id) {
            self.total -= old.total();
        }
        self.elect();
    }

    /// Bytes held by every peer together.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Whether the server as a whole is at its bound.
    pub fn full(&self) -> bool {
        self.total >= self.bound
    }

    /// Whether the driver may read from peer `id` now.
    pub fn may_read(&self, id: u64) -> bool {
        let held = self.per.get(&id).copied().unwrap_or_default();
        held.under_high_water() && (!self.full() || self.leader == Some(id))
    }

    /// Over the bound, keep the leader while it still has a message in progress and
    /// may read; else the lowest id that does.
    fn elect(&mut self) {
        if !self.full() {
            self.leader = None;
            return;
        }
        let fit = |h: &Held| h.received > 0 && h.under_high_water();
        if self.leader.and_then(|l| self.per.get(&l)).is_some_and(fit) {
            return;
        }
        self.leader = self
            .per
            .iter()
            .filter(|(_, h)| fit(h))
            .map(|(id, _)| *id)
            .min();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(to_send: usize, received: usize) -> Held {
        Held { to_send, received }
    }

    #[test]
    fn a_peer_at_its_high_water_mark_is_not_read() {
        let mut p = Pool::new(100 << 20);
        p.set(1, held(HIGH_WATER - 1, 0));
        p.set(2, held(HIGH_WATER, 0));
        assert!(p.may_read(1));
        assert!(!p.may_read(2));
        // Unknown peers (not counted yet) hold nothing.
        assert!(p.may_read(3));
    }

    #[test]
    fn over_the_bound_only_the_leader_reads_until_its_message_is_whole() {
        let mut p = Pool::new(100);
        p.set(3, held(0, 40));
        p.set(2, held(0, 40));
        assert!(p.may_read(2) && p.may_read(3));
        p.set(1, held(0, 30));
        assert_eq!(p.total(), 110);
        // Over: the lowest id with a message in progress leads.
        assert!(p.may_read(1));
        assert!(!p.may_read(2) && !p.may_read(3));
        // It stays the leader while its message grows ...
        p.set(1, held(0, 60));
        p.set(2, held(0, 40));
        assert!(p.may_read(1) && !p.may_read(2));
        // ... and once it is whole (its echo queued), the next one leads.
        p.set(1, held(60, 0));
        assert!(!p.may_read(1));
        assert!(p.may_read(2) && !p.may_read(3));
        // Under the bound again: everyone reads.
        p.remove(1);
        p.set(2, held(0, 0));
        assert_eq!(p.total(), 40);
        assert!(p.may_read(1) && p.may_read(2) && p.may_read(3));
    }

    #[test]
    fn over_the_bound_with_nothing_in_progress_nobody_reads() {
        let mut p = Pool::new(100);
        p.set(1, held(60, 0));
        p.set(2, held(60, 0));
        assert!(!p.may_read(1) && !p.may_read(2) && !p.may_read(3));
        p.set(1, held(0, 0));
        assert!(p.may_read(1) && p.may_read(3));
    }

    #[test]
    fn a_leader_that_fills_its_send_queue_hands_over() {
        let mut p = Pool::new(100);
        p.set(1, held(0, 80));
        p.set(2, held(0, 30));
        assert!(p.may_read(1) && !p.may_read(2));
        p.set(1, held(HIGH_WATER, 80));
        assert!(!p.may_read(1) && p.may_read(2));
    }
}
