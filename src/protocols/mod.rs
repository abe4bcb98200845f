//! Protocols, and the one entry point that runs any of them: a [`RunSpec`] (a validated
//! scenario with its seed, faults made explicit) in, a [`RunOutcome`] (stats, checks, history)
//! out. The CLI, sweeps, suites, reports and shrinking all go through [`run`].

use serde::{Deserialize, Serialize};

use crate::sim::{Limits, NetworkConfig, RunStats, ScheduledFault, Time, TraceRecord};
use crate::workload::{OpRecord, WorkloadSpec};

pub mod common;
pub mod lock;
pub mod raft;
pub mod relay;

/// Which protocol, with its parameters (and known-bug variant where it has them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ProtocolSpec {
    /// The message relay used by benchmarks: no clients, no checks beyond conservation.
    Relay(relay::RelaySpec),
    /// Raft replicated key-value store.
    Raft(raft::RaftSpec),
    /// A single Redis instance as a lock (SET NX PX, compare-and-delete, fencing tokens).
    RedisLock(lock::redis::RedisLockSpec),
    /// Redlock: a majority of independent Redis instances within the lock's validity.
    Redlock(lock::redlock::RedlockSpec),
    /// Optimistic locking: compare-and-set on a record's version.
    OptimisticLock(lock::optimistic::OptimisticSpec),
}

/// What every protocol provides to the shared tools. Adding a protocol means a variant of
/// [`ProtocolSpec`], one arm in [`ProtocolSpec::def`] and an entry in [`catalogue`]; the CLI,
/// sweeps, suites, reports and the shrinker reach it only through this trait.
pub trait ProtocolDef {
    fn name(&self) -> &'static str;
    /// The known-bug variant's name, or `correct`.
    fn variant(&self) -> String {
        "correct".into()
    }
    /// Whether every server runs the same role-free code, so that renaming servers gives an
    /// equally valid run (the shrinker then tries fault schedules under renamed servers).
    /// A protocol with a distinguished server (a fixed coordinator) returns false.
    fn symmetric_servers(&self) -> bool {
        true
    }
    /// Whether the scenario's workload clients take part (false for the benchmark relay).
    fn uses_clients(&self) -> bool {
        true
    }
    /// Names of the checks this protocol offers.
    fn checks(&self) -> &'static [&'static str];
    fn validate(&self, servers: u32) -> Result<(), String>;
    /// Runs one spec (whose `protocol` is this one) to completion and judges it.
    fn run(&self, spec: &RunSpec) -> RunOutcome;
}

impl ProtocolSpec {
    /// The protocol behind this spec: the one place that matches on the variant.
    pub fn def(&self) -> &dyn ProtocolDef {
        match self {
            ProtocolSpec::Relay(r) => r,
            ProtocolSpec::Raft(r) => r,
            ProtocolSpec::RedisLock(r) => r,
            ProtocolSpec::Redlock(r) => r,
            ProtocolSpec::OptimisticLock(r) => r,
        }
    }
    pub fn name(&self) -> &'static str {
        self.def().name()
    }
    pub fn variant(&self) -> String {
        self.def().variant()
    }
    pub fn symmetric_servers(&self) -> bool {
        self.def().symmetric_servers()
    }
    pub fn uses_clients(&self) -> bool {
        self.def().uses_clients()
    }
    pub fn checks(&self) -> &'static [&'static str] {
        self.def().checks()
    }
    pub fn validate(&self, servers: u32) -> Result<(), String> {
        self.def().validate(servers)
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
    vec![
        relay::INFO,
        raft::INFO,
        lock::redis::INFO,
        lock::redlock::INFO,
        lock::optimistic::INFO,
    ]
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

/// A protocol's own figures (blocking times, per-strategy latencies, lock holds, ...): a
/// titled table that the text summary, summary.json and report.html show as it is, so that
/// no protocol needs a branch in `report/`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(title: &str, columns: &[&str]) -> Self {
        Table {
            title: title.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: vec![],
        }
    }
    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push(cells);
    }
    /// Aligned plain text: the title, then the header and one line per row.
    pub fn text(&self) -> String {
        let mut w: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                if i < w.len() {
                    w[i] = w[i].max(c.chars().count());
                }
            }
        }
        let line = |cells: &[String]| {
            let mut l = String::from("  ");
            for (i, c) in cells.iter().enumerate() {
                let pad = w.get(i).copied().unwrap_or(0);
                l.push_str(&format!("{c:<pad$}  "));
            }
            l.trim_end().to_string() + "\n"
        };
        let mut s = format!("{}\n", self.title);
        s.push_str(&line(&self.columns));
        for r in &self.rows {
            s.push_str(&line(r));
        }
        s
    }
}

/// Everything a run produced.
#[derive(Clone, Debug, Serialize)]
pub struct RunOutcome {
    pub stats: RunStats,
    pub checks: Vec<CheckOutcome>,
    pub ops: Vec<OpRecord>,
    pub roles: Vec<RoleChange>,
    /// The protocol's own figures, shown by every report as they are.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<Table>,
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
    spec.protocol.def().run(spec)
}
