//! Protocols, and the one entry point that runs any of them: a [`RunSpec`] (a validated
//! scenario with its seed, faults made explicit) in, a [`RunOutcome`] (stats, checks, history)
//! out. The CLI, sweeps, suites, reports and shrinking all go through [`run`].

use serde::{Deserialize, Serialize};

use crate::sim::{Limits, NetworkConfig, RunStats, ScheduledFault, Time, TraceRecord};
use crate::workload::{OpRecord, WorkloadSpec};

pub mod raft;
pub mod relay;

/// Which protocol, with its parameters (and known-bug variant where it has them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ProtocolSpec {
    /// The message relay used by benchmarks: no clients, no checks beyond conservation.
    Relay(relay::RelaySpec),
    /// Raft replicated key-value store.
    Raft(raft::RaftSpec),
}

impl ProtocolSpec {
    pub fn name(&self) -> &'static str {
        match self {
            ProtocolSpec::Relay(_) => "relay",
            ProtocolSpec::Raft(_) => "raft",
        }
    }
    pub fn variant(&self) -> String {
        match self {
            ProtocolSpec::Relay(_) => "correct".into(),
            ProtocolSpec::Raft(r) => r.variant_name(),
        }
    }
    /// Whether every server runs the same role-free code, so that renaming servers gives an
    /// equally valid run (the shrinker then tries fault schedules under renamed servers).
    /// A protocol with a distinguished server (a fixed coordinator) returns false.
    pub fn symmetric_servers(&self) -> bool {
        match self {
            ProtocolSpec::Relay(_) | ProtocolSpec::Raft(_) => true,
        }
    }
    /// Names of the checks this protocol offers.
    pub fn checks(&self) -> &'static [&'static str] {
        match self {
            ProtocolSpec::Relay(_) => relay::CHECKS,
            ProtocolSpec::Raft(_) => raft::CHECKS,
        }
    }
    pub fn validate(&self, servers: u32) -> Result<(), String> {
        match self {
            ProtocolSpec::Relay(r) => r.validate(),
            ProtocolSpec::Raft(r) => r.validate(servers),
        }
    }
}

/// What `faultline list` shows about each protocol.
pub struct ProtocolInfo {
    pub name: &'static str,
    pub about: &'static str,
    pub variants: &'static [(&'static str, &'static str)],
    pub checks: &'static [&'static str],
}

pub fn catalogue() -> Vec<ProtocolInfo> {
    vec![relay::INFO, raft::INFO]
}

/// One fully determined run.
#[derive(Clone, Debug)]
pub struct RunSpec {
    pub name: String,
    pub seed: u64,
    pub protocol: ProtocolSpec,
    pub servers: u32,
    pub workload: WorkloadSpec,
    pub network: NetworkConfig,
    /// Explicit fault schedule (a random nemesis already expanded).
    pub faults: Vec<ScheduledFault>,
    /// Every fault is over (healed, restarted) by this time: liveness is judged after it.
    pub heal_at: Time,
    pub limits: Limits,
    /// Checks to run; empty means all of the protocol's checks.
    pub checks: Vec<String>,
    /// Keep per-event records (text trace, sequence diagrams).
    pub record: bool,
}

/// A check's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    /// The check's search budget ran out.
    Unknown,
    Violation,
}

/// The result of one check.
#[derive(Clone, Debug, Serialize)]
pub struct CheckOutcome {
    pub name: String,
    pub verdict: Verdict,
    /// One line for summaries; more for reports.
    pub detail: String,
    /// Indexes into `RunOutcome::ops` of the operations involved in a violation.
    pub ops: Vec<usize>,
    /// For a linearizability violation: the longest partial linearization found (in order)
    /// and the operations that could not take effect next.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub linearized: Vec<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unplaced: Vec<usize>,
}

/// A node's role from `time` on (for role timelines).
#[derive(Clone, Debug, Serialize)]
pub struct RoleChange {
    pub time: Time,
    pub node: u32,
    pub role: String,
    pub term: u64,
}

/// Everything a run produced.
#[derive(Clone, Debug, Serialize)]
pub struct RunOutcome {
    pub stats: RunStats,
    pub checks: Vec<CheckOutcome>,
    pub ops: Vec<OpRecord>,
    pub roles: Vec<RoleChange>,
    #[serde(skip)]
    pub records: Vec<TraceRecord>,
}

impl RunOutcome {
    /// The worst verdict over all checks (Pass when there are none).
    pub fn verdict(&self) -> Verdict {
        self.checks
            .iter()
            .map(|c| c.verdict)
            .max()
            .unwrap_or(Verdict::Pass)
    }
}

/// Runs one spec to completion.
pub fn run(spec: &RunSpec) -> RunOutcome {
    match &spec.protocol {
        ProtocolSpec::Relay(r) => relay::run(spec, r),
        ProtocolSpec::Raft(r) => raft::run(spec, r),
    }
}
