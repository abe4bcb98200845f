//! Leader leases for Multi-Paxos reads (optional, off by default).
//!
//! With a lease the leader answers a get from its own state machine, without a round of
//! accepts, because no other leader can exist meanwhile:
//!
//! - The leader stamps each renewal (sent with its heartbeat) with its own clock, `start`.
//! - An acceptor that follows the leader's ballot grants it: it answers, and for `duration`
//!   on its own clock, from when the renewal arrived, it promises no other proposer's ballot
//!   (the grant is durable, so a restart does not forget it).
//! - Once a majority granted the renewal stamped `start`, the leader holds the lease until
//!   `start + duration - max_drift` on its own clock. Any phase 1 quorum of a new leader meets
//!   that majority in an acceptor that refuses to promise until its grant ran out, so the new
//!   leader can neither be elected nor commit a write until the old lease surely expired.
//! - Surely: the leader's clock and the acceptors' clocks measure the same lease, each from
//!   its own start, and clocks are skewed and drift. The margin `max_drift` must cover the
//!   clock error of both over one lease (offset jumps plus drift × duration, for each side);
//!   the `lease_read_without_margin` variant leaves it out, and a leader whose clock runs
//!   slow (or jumps back) keeps reading after the majority moved on.
//! - A new leader reads under its lease only once it applied every slot its phase 1
//!   recovered: before that its state machine may miss writes an earlier leader acknowledged.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::messages::Ballot;
use super::slots::NodeSet;
use crate::sim::Time;

/// The lease parameters of a scenario: `lease: Some(duration: "1s", max_drift: "300ms")`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseSpec {
    /// How long an acceptor's grant lasts, on its own clock, from when a renewal arrived.
    #[serde(with = "crate::sim::dur")]
    pub duration: Time,
    /// The most the leader's and the acceptors' clocks may disagree about one lease (offset
    /// jumps and drift of both): the leader stops reading this long before `duration` is up.
    #[serde(with = "crate::sim::dur")]
    pub max_drift: Time,
}

impl LeaseSpec {
    pub fn validate(&self, heartbeat: Time) -> Result<(), String> {
        if self.duration > crate::sim::time::MAX_TIME {
            return Err("multipaxos.lease.duration is longer than 7 days".into());
        }
        if self.max_drift >= self.duration {
            return Err(
                "multipaxos.lease.max_drift must be shorter than the lease duration".into(),
            );
        }
        if self.duration - self.max_drift <= heartbeat {
            return Err(
                "multipaxos.lease: duration - max_drift must be longer than the heartbeat (renewals go out once per heartbeat)".into(),
            );
        }
        Ok(())
    }
}

/// Most renewal rounds a leader tracks at once (older ones can no longer extend its lease
/// more than a newer one would).
const ROUNDS_MAX: usize = 8;

/// The leader's side: the renewals it sent and who granted them, and until when (its own
/// clock) it holds the lease.
#[derive(Clone, Debug, Default)]
pub struct LeaderLease {
    rounds: VecDeque<(Time, NodeSet)>,
    until: Time,
}

impl LeaderLease {
    /// A renewal stamped `start` (the leader's clock) goes out.
    pub fn renew(&mut self, start: Time) {
        if self.rounds.len() == ROUNDS_MAX {
            self.rounds.pop_front();
        }
        self.rounds.push_back((start, NodeSet::default()));
    }

    /// Acceptor `from` granted the renewal stamped `start`. Once `quorum` did, the lease
    /// holds until `start + duration - margin`.
    pub fn granted(&mut self, start: Time, from: u32, quorum: usize, duration: Time, margin: Time) {
        let Some((_, who)) = self.rounds.iter_mut().find(|(s, _)| *s == start) else {
            return;
        };
        who.insert(from);
        if who.len() >= quorum {
            let until = start.saturating_add(duration).saturating_sub(margin);
            self.until = self.until.max(until);
        }
    }

    /// Whether the lease holds at `now` (the leader's clock).
    pub fn holds(&self, now: Time) -> bool {
        now < self.until
    }

    /// Deposed, or a new ballot: no lease.
    pub fn clear(&mut self) {
        self.rounds.clear();
        self.until = 0;
    }
}

/// The acceptor's side: whether the grant `grant` (a leader's ballot, and until when on this
/// acceptor's clock) forbids promising `ballot` at `now`. A grant binds against every other
/// proposer; the leader it was granted to may run a new ballot (it stopped reading when it
/// stepped down).
pub fn forbids_promise(grant: Option<(Ballot, Time)>, ballot: Ballot, now: Time) -> bool {
    grant.is_some_and(|(b, until)| b.node != ballot.node && now < until)
}
