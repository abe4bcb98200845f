//! Paxos (Lamport, "Paxos Made Simple", 2001) in two flavours, with their classic bugs as
//! selectable variants:
//!
//! - `single.rs`: single-decree Paxos. Proposers, acceptors and learners choose one value
//!   among the proposers' different values; dueling proposers back off for a random time.
//! - `multi.rs` + `replica.rs`: Multi-Paxos serving the shared key-value clients
//!   (`workload::kv`): a distinguished leader runs phase 1 once for every slot above its
//!   chosen prefix, re-proposes what phase 1 reported, fills holes with no-ops, and replicas
//!   apply slots in order.
//! - `checks.rs`: agreement, validity and stability judged from what the nodes report; the
//!   client history goes to the shared checks in `protocols::common`.
//!
//! Both keep the acceptor's `promised` and `accepted` in durable storage, written before the
//! reply leaves (the engine persists a handler's durable writes before its messages).

use serde::{Deserialize, Serialize};

use super::{ProtocolDef, ProtocolInfo, RunOutcome, RunSpec};
use crate::sim::{MILLIS, Time};

mod checks;
mod label;
pub mod lease;
pub mod messages;
pub mod multi;
mod replica;
pub mod single;
mod slots;

pub use lease::LeaseSpec;
pub use messages::{Ballot, Value};

/// The number of acceptors a quorum needs. A majority: any two majorities of the same
/// acceptors share one, which is what carries a chosen value from one ballot to the next.
fn quorum(acceptors: u32, half_quorum_bug: bool) -> usize {
    if half_quorum_bug {
        // BUG (half_quorum): "at least half" instead of "more than half". With an even number
        // of acceptors two disjoint halves ({a,b} and {c,d} of four) are both quorums, so two
        // proposers can each complete both phases without ever meeting, and choose different
        // values. With an odd number it is the same as a majority.
        (acceptors as usize).div_ceil(2)
    } else {
        acceptors as usize / 2 + 1
    }
}

/// A bug variant's name as written in scenarios (`snake_case`), or `correct`.
fn variant_name<B: Serialize>(bug: &Option<B>) -> String {
    match bug {
        None => "correct".into(),
        Some(b) => serde_json::to_value(b)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
    }
}

fn check_range(what: &str, r: (Time, Time), zero_ok: bool) -> Result<(), String> {
    if r.0 > r.1 || (!zero_ok && r.0 == 0) {
        return Err(format!(
            "{what}: min must be {}not greater than max",
            if zero_ok { "" } else { "positive and " }
        ));
    }
    Ok(())
}

/// Single-decree Paxos's known bugs: each one rule of the paper left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaxosBug {
    /// Acceptors keep `promised` and `accepted` in memory only: a restart forgets them.
    AcceptorForgets,
    /// Phase 2 proposes the proposer's own value even when a promise reported an accepted one.
    NoValueAdoption,
    /// A quorum is "at least half" of the acceptors: two halves of an even number do not meet.
    HalfQuorum,
}

/// Single-decree Paxos's parameters. Every server is an acceptor and a learner; the first
/// `proposers` servers are also proposers, server `n` proposing value `v<n>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaxosSpec {
    /// How many servers propose (servers `0..proposers`), each its own value.
    pub proposers: u32,
    /// When each proposer starts its first ballot, uniform in [min, max].
    #[serde(with = "crate::sim::dur::pair")]
    pub start: (Time, Time),
    /// A phase that has no quorum of answers after this long is abandoned.
    #[serde(with = "crate::sim::dur")]
    pub phase_timeout: Time,
    /// After a rejected or abandoned ballot a proposer waits a random time in [min, max]
    /// (doubled per failed attempt, up to 8x) before its next ballot.
    #[serde(with = "crate::sim::dur::pair")]
    pub backoff: (Time, Time),
    /// A learner that has learned nothing asks the others this often.
    #[serde(with = "crate::sim::dur")]
    pub catch_up: Time,
    /// A known-bug variant, or none for the correct protocol.
    pub bug: Option<PaxosBug>,
}

impl Default for PaxosSpec {
    fn default() -> Self {
        PaxosSpec {
            proposers: 2,
            start: (0, 20 * MILLIS),
            phase_timeout: 100 * MILLIS,
            backoff: (10 * MILLIS, 60 * MILLIS),
            catch_up: 200 * MILLIS,
            bug: None,
        }
    }
}

pub const PAXOS_CHECKS: &[&str] = &["agreement", "validity", "stability", "liveness"];

pub const PAXOS_INFO: ProtocolInfo = ProtocolInfo {
    name: "paxos",
    about: "single-decree Paxos: proposers with different values, acceptors, learners",
    variants: &[
        ("correct", "the protocol of Paxos Made Simple"),
        (
            "acceptor_forgets",
            "acceptors keep promised/accepted in memory only: a restart forgets them",
        ),
        (
            "no_value_adoption",
            "phase 2 proposes its own value although a promise reported an accepted one",
        ),
        (
            "half_quorum",
            "a quorum is half the acceptors: two halves of an even number do not intersect",
        ),
    ],
    checks: PAXOS_CHECKS,
};

impl ProtocolDef for PaxosSpec {
    fn name(&self) -> &'static str {
        "paxos"
    }
    fn variant(&self) -> String {
        variant_name(&self.bug)
    }
    /// Servers `0..proposers` propose: renaming servers changes who does.
    fn symmetric_servers(&self) -> bool {
        false
    }
    fn uses_clients(&self) -> bool {
        false
    }
    fn checks(&self) -> &'static [&'static str] {
        PAXOS_CHECKS
    }
    fn validate(&self, servers: u32) -> Result<(), String> {
        if servers == 0 {
            return Err("paxos needs at least 1 server".into());
        }
        if self.proposers == 0 || self.proposers > servers {
            return Err(format!(
                "paxos.proposers must be between 1 and the number of servers ({servers}), not {}",
                self.proposers
            ));
        }
        check_range("paxos.start", self.start, true)?;
        check_range("paxos.backoff", self.backoff, false)?;
        if self.phase_timeout == 0 || self.catch_up == 0 {
            return Err("paxos.phase_timeout and paxos.catch_up must be positive".into());
        }
        Ok(())
    }
    fn run(&self, spec: &RunSpec) -> RunOutcome {
        single::run(spec, self)
    }
}

/// Multi-Paxos's known bugs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiPaxosBug {
    /// A new leader ignores the proposals phase 1 reported and reuses their slots.
    SkipPhase1Recovery,
    /// A new leader re-proposes what phase 1 reported but leaves holes unfilled.
    NoGapFill,
    /// The leader reads under its lease until `start + duration`, with no clock-drift margin.
    LeaseReadWithoutMargin,
    /// Acceptors keep `promised` and `accepted` in memory only: a restart forgets them.
    AcceptorForgets,
}

/// Multi-Paxos's parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MultiPaxosSpec {
    /// A replica that hears no leader for a random time in [min, max] runs phase 1.
    #[serde(with = "crate::sim::dur::pair")]
    pub election_timeout: (Time, Time),
    /// Leader heartbeat interval (also how often unanswered phase 1 and 2 messages are resent).
    #[serde(with = "crate::sim::dur")]
    pub heartbeat: Time,
    /// Most chosen commands in one catch-up message.
    pub max_batch: u32,
    /// Leader leases: the leader answers reads from its own state while a majority's grant
    /// lasts (on its clock, less a clock-drift margin). None: every read goes through the log.
    pub lease: Option<LeaseSpec>,
    /// A known-bug variant, or none for the correct protocol.
    pub bug: Option<MultiPaxosBug>,
}

impl Default for MultiPaxosSpec {
    fn default() -> Self {
        MultiPaxosSpec {
            election_timeout: (150 * MILLIS, 300 * MILLIS),
            heartbeat: 50 * MILLIS,
            max_batch: 64,
            lease: None,
            bug: None,
        }
    }
}

pub const MULTI_CHECKS: &[&str] = &[
    "linearizability",
    "agreement",
    "validity",
    "stability",
    "liveness",
];

pub const MULTI_INFO: ProtocolInfo = ProtocolInfo {
    name: "multipaxos",
    about: "Multi-Paxos replicated key-value store (the same clients as raft): stable leader, one phase 1 for all slots",
    variants: &[
        (
            "correct",
            "phase 1 once per leader, recovered proposals re-proposed, holes filled with no-ops",
        ),
        (
            "skip_phase1_recovery",
            "a new leader ignores the accepted proposals phase 1 reported and reuses their slots",
        ),
        (
            "no_gap_fill",
            "a new leader leaves slots no promise reported empty instead of proposing no-ops",
        ),
        (
            "lease_read_without_margin",
            "the leader reads under its lease until start + duration on its own clock, with no margin for clock skew and drift",
        ),
        (
            "acceptor_forgets",
            "acceptors keep promised/accepted in memory only: a restart forgets them",
        ),
    ],
    checks: MULTI_CHECKS,
};

impl ProtocolDef for MultiPaxosSpec {
    fn name(&self) -> &'static str {
        "multipaxos"
    }
    fn variant(&self) -> String {
        variant_name(&self.bug)
    }
    fn checks(&self) -> &'static [&'static str] {
        MULTI_CHECKS
    }
    /// A few leader elections (phase 1 rounds), each at most the longest election timeout,
    /// after the last lease granted to a leader the faults cut off ran out.
    fn recovery(&self) -> Time {
        let lease = self.lease.map_or(0, |l| l.duration);
        self.election_timeout.1.saturating_mul(4) + self.heartbeat + lease
    }
    fn validate(&self, servers: u32) -> Result<(), String> {
        if servers == 0 {
            return Err("multipaxos needs at least 1 server".into());
        }
        check_range("multipaxos.election_timeout", self.election_timeout, false)?;
        if self.heartbeat == 0 || self.heartbeat >= self.election_timeout.0 {
            return Err(
                "multipaxos.heartbeat must be positive and shorter than the election timeout"
                    .into(),
            );
        }
        if self.max_batch == 0 {
            return Err("multipaxos.max_batch must be at least 1".into());
        }
        match self.lease {
            Some(l) => l.validate(self.heartbeat)?,
            None if self.bug == Some(MultiPaxosBug::LeaseReadWithoutMargin) => {
                return Err(
                    "multipaxos.lease: the lease_read_without_margin variant needs a lease".into(),
                );
            }
            None => {}
        }
        Ok(())
    }
    fn run(&self, spec: &RunSpec) -> RunOutcome {
        multi::run(spec, self)
    }
}
