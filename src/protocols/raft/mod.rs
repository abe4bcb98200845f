//! Raft (Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm", Figure 2)
//! serving a linearizable key-value store. IMPLEMENTATION PENDING (issue 5): the spec types
//! below are the contract with the scenario loader.

use serde::{Deserialize, Serialize};

use super::{ProtocolInfo, RunOutcome, RunSpec};
use crate::sim::{MILLIS, Time};

/// Known-bug variants: each a small, faithful deviation from the paper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RaftBug {
    /// `voted_for` is not persisted: a restarted node can vote twice in one term.
    ForgetVote,
    /// A leader serves reads locally without confirming it is still leader.
    StaleLeaderRead,
    /// Figure 8: an entry from an earlier term is committed by counting replicas.
    CommitPreviousTerm,
    /// AppendEntries skips the prev-log consistency check.
    NoLogCheck,
}

/// Raft's parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftSpec {
    /// Election timeout, uniform in [min, max] (local clock).
    #[serde(with = "crate::sim::dur::pair")]
    pub election_timeout: (Time, Time),
    /// Leader heartbeat interval.
    #[serde(with = "crate::sim::dur")]
    pub heartbeat: Time,
    /// Most entries in one AppendEntries.
    pub max_batch: u32,
    /// A known-bug variant, or none for the correct protocol.
    pub bug: Option<RaftBug>,
}

impl Default for RaftSpec {
    fn default() -> Self {
        RaftSpec {
            election_timeout: (150 * MILLIS, 300 * MILLIS),
            heartbeat: 50 * MILLIS,
            max_batch: 64,
            bug: None,
        }
    }
}

impl RaftSpec {
    pub fn variant_name(&self) -> String {
        match self.bug {
            None => "correct".into(),
            Some(b) => serde_json::to_value(b)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
        }
    }
    pub fn validate(&self, servers: u32) -> Result<(), String> {
        if servers == 0 {
            return Err("raft needs at least 1 server".into());
        }
        if self.election_timeout.0 > self.election_timeout.1 || self.election_timeout.0 == 0 {
            return Err(
                "raft.election_timeout: min must be positive and not greater than max".into(),
            );
        }
        if self.heartbeat == 0 || self.heartbeat >= self.election_timeout.0 {
            return Err(
                "raft.heartbeat must be positive and shorter than the election timeout".into(),
            );
        }
        if self.max_batch == 0 {
            return Err("raft.max_batch must be at least 1".into());
        }
        Ok(())
    }
}

pub const CHECKS: &[&str] = &[
    "linearizability",
    "election-safety",
    "log-matching",
    "leader-completeness",
    "state-machine-safety",
    "liveness",
];

pub const INFO: ProtocolInfo = ProtocolInfo {
    name: "raft",
    about: "Raft replicated key-value store (get/put/append/cas) with client retries and dedup",
    variants: &[
        ("correct", "the protocol as in Figure 2 of the paper"),
        (
            "forget_vote",
            "voted_for is not persisted: a restarted node can vote twice in a term",
        ),
        (
            "stale_leader_read",
            "a leader serves reads locally without confirming leadership",
        ),
        (
            "commit_previous_term",
            "Figure 8: commits an earlier term's entry by counting replicas",
        ),
        (
            "no_log_check",
            "AppendEntries skips the prev-log consistency check",
        ),
    ],
    checks: CHECKS,
};

pub fn run(_spec: &RunSpec, _raft: &RaftSpec) -> RunOutcome {
    unimplemented!("raft: issue 5")
}
