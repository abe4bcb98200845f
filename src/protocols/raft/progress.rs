//! A leader's view of one follower's log (§5.3: `nextIndex` and `matchIndex`), and the flow
//! control that decides what the next AppendEntries to it carries. The design is etcd raft's
//! `Progress` (its probe and replicate states and its `MaxInflight` window):
//!
//! - **Probe**: the leader does not know where the follower's log ends. It sends at most one
//!   AppendEntries per heartbeat or per reply, starting at `next_index`, and leaves
//!   `next_index` where it is until the follower answers: a rejection backs it off (never
//!   below `match_index + 1`), a success moves the follower to replicate. Every follower
//!   starts here when a server becomes leader.
//! - **Replicate**: the follower accepted the leader's last probe, so its log is known. The
//!   leader pipelines: it moves `next_index` past every entry it sends without waiting for
//!   the reply, so heartbeats and later appends carry only entries not yet sent, and at most
//!   `max_inflight` AppendEntries with entries are unacknowledged at once (a slow or cut-off
//!   follower is not flooded). A rejection (the follower's consistency check failed: a
//!   message was lost, overtaken or the follower restarted) drops it back to probe.
//!
//! Pipelining changes only what is sent, never what a follower accepts: its consistency check
//! (Figure 2, AppendEntries step 2) guards every append, so a `next_index` that ran ahead of
//! the follower costs a rejection, not safety. Replies that arrive late or twice are told
//! apart from current ones by the index they answer, as etcd does.

use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// `sent`: an AppendEntries went out since the last heartbeat or reply.
    Probe {
        sent: bool,
    },
    Replicate,
}

/// The leader's bookkeeping of one follower.
#[derive(Clone, Debug)]
pub struct Progress {
    /// The highest index known to be replicated on the follower.
    pub match_index: u64,
    /// The index of the next entry to send it.
    pub next_index: u64,
    state: State,
    /// Replicate only: the last index of each AppendEntries with entries sent and not yet
    /// acknowledged, oldest first (at most `max_inflight`).
    inflight: VecDeque<u64>,
}

impl Progress {
    /// A follower of a new leader: nothing known of its log, probed from `next_index`.
    pub fn new(next_index: u64) -> Self {
        Progress {
            match_index: 0,
            next_index: next_index.max(1),
            state: State::Probe { sent: false },
            inflight: VecDeque::new(),
        }
    }

    pub fn is_probe(&self) -> bool {
        matches!(self.state, State::Probe { .. })
    }

    /// Whether an AppendEntries may carry entries now: in probe, one per heartbeat or reply;
    /// in replicate, while fewer than `max_inflight` are unacknowledged.
    pub fn may_send(&self, max_inflight: u32) -> bool {
        match self.state {
            State::Probe { sent } => !sent,
            State::Replicate => self.inflight.len() < max_inflight as usize,
        }
    }

    /// A heartbeat is due: a probed follower gets its next probe.
    pub fn heartbeat(&mut self) {
        if let State::Probe { sent } = &mut self.state {
            *sent = false;
        }
    }

    /// An AppendEntries carrying the entries up to `last_sent` went out (`carried` of them).
    /// In replicate, `next_index` moves past them at once.
    pub fn sent(&mut self, last_sent: u64, carried: usize) {
        match &mut self.state {
            State::Probe { sent } => *sent = true,
            State::Replicate if carried > 0 => {
                self.next_index = last_sent + 1;
                self.inflight.push_back(last_sent);
            }
            State::Replicate => {}
        }
    }

    /// The follower accepted an AppendEntries: its log matches the leader's up to `index`.
    /// A late or duplicated success only confirms what is known.
    pub fn accepted(&mut self, index: u64) {
        let news = index > self.match_index;
        self.match_index = self.match_index.max(index);
        self.next_index = self.next_index.max(index + 1);
        while self.inflight.front().is_some_and(|&i| i <= index) {
            self.inflight.pop_front();
        }
        // The answer to the probe (or news past it): the follower's log is known.
        if self.is_probe() && (news || index + 1 >= self.next_index) {
            self.state = State::Replicate;
            self.inflight.clear();
            self.next_index = self.match_index + 1;
        }
    }

    /// The follower rejected the AppendEntries whose previous entry was `rejected`, and hints
    /// that its log may match up to `hint - 1`. Whether the rejection is current (then the
    /// follower is probed again from a lower `next_index`) rather than the late answer to a
    /// message that later ones have overtaken.
    pub fn rejected(&mut self, rejected: u64, hint: u64) -> bool {
        let current = match self.state {
            // Everything up to match_index is acknowledged: a rejection at or below it is old.
            State::Replicate => rejected > self.match_index,
            // A probe is sent only from next_index: any other rejection answers an older one.
            State::Probe { .. } => rejected + 1 == self.next_index,
        };
        if current {
            self.state = State::Probe { sent: false };
            self.inflight.clear();
            self.next_index = hint.min(rejected).max(self.match_index + 1);
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A follower that answered its probe: `match_index` 12, nothing in flight.
    fn replicating() -> Progress {
        let mut p = Progress::new(10);
        p.sent(12, 3);
        p.accepted(12);
        assert!(!p.is_probe());
        assert_eq!((p.match_index, p.next_index), (12, 13));
        p
    }

    #[test]
    fn a_probe_goes_out_once_per_heartbeat_or_reply() {
        let mut p = Progress::new(5);
        assert!(p.may_send(8));
        p.sent(7, 3);
        assert_eq!(p.next_index, 5, "a probe does not move nextIndex");
        assert!(!p.may_send(8), "one probe at a time");
        p.heartbeat();
        assert!(p.may_send(8), "the heartbeat sends the next probe");
        p.sent(7, 3);
        // The follower's log ends at 2: it rejects prev 4 and hints 3.
        assert!(p.rejected(4, 3));
        assert_eq!(p.next_index, 3);
        assert!(p.may_send(8), "a rejection lets the next probe go");
        // The answer to the heartbeat's copy of the first probe is old news now.
        assert!(!p.rejected(4, 3));
        assert_eq!(p.next_index, 3);
    }

    #[test]
    fn replicate_pipelines_within_the_window() {
        let mut p = replicating();
        for k in 0..4u64 {
            assert!(p.may_send(4));
            p.sent(14 + 2 * k, 2);
        }
        assert_eq!(
            p.next_index, 21,
            "nextIndex runs ahead of what is acknowledged"
        );
        assert!(!p.may_send(4), "four in flight fill a window of four");
        p.sent(20, 0);
        assert_eq!(
            p.next_index, 21,
            "a heartbeat carries nothing and moves nothing"
        );
        p.accepted(16);
        assert_eq!((p.match_index, p.next_index), (16, 21));
        assert!(p.may_send(4), "each acknowledgement frees what it covers");
        p.accepted(14);
        assert_eq!(
            p.match_index, 16,
            "a late success confirms only what is known"
        );
    }

    #[test]
    fn a_rejection_drops_to_probe_never_below_match() {
        let mut p = replicating();
        p.sent(20, 8);
        assert!(
            !p.rejected(12, 5),
            "a rejection at or below matchIndex is old"
        );
        assert!(!p.is_probe());
        // A lost message: the follower's log ends at 12, so it hints 13.
        assert!(p.rejected(20, 13));
        assert!(p.is_probe());
        assert_eq!(p.next_index, 13);
        // A hint below what was acknowledged (a conflicting term skipped back) is capped.
        let mut q = replicating();
        q.sent(20, 8);
        assert!(q.rejected(20, 2));
        assert_eq!(q.next_index, 13);
    }

    #[test]
    fn an_up_to_date_follower_answers_an_empty_probe() {
        let mut p = Progress::new(10);
        p.accepted(9);
        assert!(!p.is_probe());
        assert_eq!((p.match_index, p.next_index), (9, 10));
        // Probed again after a rejection, a follower that has everything accepts the empty
        // probe without news and goes back to replicate.
        assert!(p.rejected(12, 10));
        assert!(p.is_probe());
        p.sent(9, 0);
        p.accepted(9);
        assert!(!p.is_probe());
    }
}
