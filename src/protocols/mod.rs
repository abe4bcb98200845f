//! Protocols, and the one entry point that runs any of them: a [`RunSpec`] (a validated
//! scenario with its seed, faults made explicit) in, a [`RunOutcome`] (stats, checks, history)
//! out. The CLI, sweeps, suites, reports and shrinking all go through [`run`].

use serde::{Deserialize, Serialize};

use crate::sim::{Limits, NetworkConfig, RunStats, ScheduledFault, Time, TraceRecord, ViewChange};
use crate::workload::{OpRecord, WorkloadSpec};

pub mod commit;
pub mod common;
pub mod lb;
pub mod lock;
pub mod paxos;
pub mod raft;
pub mod relay;
pub mod stepper;

/// Which protocol, with its parameters (and known-bug variant where it has them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ProtocolSpec {
    /// The message relay used by benchmarks: no clients, no checks beyond conservation.
    Relay(relay::RelaySpec),
    /// Raft replicated key-value store.
    Raft(raft::RaftSpec),
    /// Two-phase commit of bank transfers across participants.
    TwoPhaseCommit(commit::TwoPcSpec),
    /// Three-phase commit with the termination protocol.
    ThreePhaseCommit(commit::ThreePcSpec),
    /// Load-balancing strategies compared on the same arrivals and faults.
    LoadBalancer(Box<lb::LbSpec>),
    /// Single-decree Paxos.
    Paxos(paxos::PaxosSpec),
    /// Multi-Paxos replicated key-value store.
    MultiPaxos(paxos::MultiPaxosSpec),
    /// A single Redis instance as a lock (SET NX PX, compare-and-delete, fencing tokens).
    RedisLock(lock::redis::RedisLockSpec),
    /// Redlock: a majority of independent Redis instances within the lock's validity.
    Redlock(lock::redlock::RedlockSpec),
    /// Optimistic locking: compare-and-set on a record's version.
    OptimisticLock(lock::optimistic::OptimisticSpec),
    /// A ZooKeeper/Chubby-style lock: a lock table replicated by Raft, sessions, sequencers.
    CoordinatorLock(lock::coordinator::CoordinatorLockSpec),
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
    /// How long the protocol may take to serve clients again once every fault is over (an
    /// election, a view change, a lease running out): part of the default liveness bound
    /// (`common::liveness_bound`). One second unless the protocol knows better.
    fn recovery(&self) -> Time {
        crate::sim::SECS
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
            ProtocolSpec::TwoPhaseCommit(c) => c,
            ProtocolSpec::ThreePhaseCommit(c) => c,
            ProtocolSpec::LoadBalancer(l) => l.as_ref(),
            ProtocolSpec::Paxos(p) => p,
            ProtocolSpec::MultiPaxos(p) => p,
            ProtocolSpec::RedisLock(r) => r,
            ProtocolSpec::Redlock(r) => r,
            ProtocolSpec::OptimisticLock(r) => r,
            ProtocolSpec::CoordinatorLock(c) => c,
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
        commit::twopc::INFO,
        commit::threepc::INFO,
        lb::INFO,
        paxos::PAXOS_INFO,
        paxos::MULTI_INFO,
        lock::redis::INFO,
        lock::redlock::INFO,
        lock::optimistic::INFO,
        lock::coordinator::INFO,
    ]
}

/// One fully determined run.
#[derive(Clone, Debug)]
pub struct RunSpec {
    pub name: String,
    /// The scenario's title and description, for the top of its report.
    pub title: String,
    pub description: String,
    /// The servers' names (`cluster.names`), empty for `n0..`: reports use them everywhere.
    pub names: Vec<String>,
    pub seed: u64,
    pub protocol: ProtocolSpec,
    pub servers: u32,
    pub workload: WorkloadSpec,
    pub network: NetworkConfig,
    /// Explicit fault schedule (a random nemesis already expanded).
    pub faults: Vec<ScheduledFault>,
    /// When every fault is over (partitions healed, crashed servers restarted, pauses ended,
    /// clocks reverted): liveness is judged after it. `None`: some fault never ends.
    pub heal_at: Option<Time>,
    pub limits: Limits,
    /// Checks to run; empty means all of the protocol's checks.
    pub checks: Vec<String>,
    /// Keep per-event records (text trace, sequence diagrams).
    pub record: bool,
}

/// A check's or a run's verdict, from best to worst: a run's verdict is the worst of its
/// checks'. A violation found in a run cut short is still a violation; otherwise a run that
/// proved nothing is inconclusive, whatever its checks say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Not judged: the check did not apply to this run (liveness when the faults never heal
    /// or the workload ends before the bound after the heal); its detail says why. Never a
    /// run's verdict: a run none of whose checks judged it is inconclusive ([`RUN_CHECK`]).
    Skipped,
    /// Judged, and held.
    #[default]
    Pass,
    /// The check's search budget ran out.
    Unknown,
    /// The run proved nothing: it was cut short by the event limit, or its workload completed
    /// no operation (see [`RUN_CHECK`]).
    Inconclusive,
    Violation,
}

/// The exit codes of `faultline run` (and the worst seed's, for `sweep`), one per verdict,
/// and 2 for a usage or input error. `--help` texts and the README show this table.
pub const EXIT_CODES: &str = "Exit codes:
  0  PASS          every check judged the run and held
  1  VIOLATION     a check failed (a counterexample was found)
  2  error         bad usage or input (a located message says what and where)
  3  UNKNOWN       a check ran out of its search budget
  4  INCONCLUSIVE  the run proved nothing: stopped by the event limit before its time
                   limit, its workload completed no operation, or no check could judge it
A check that does not apply to a run (liveness when the faults never heal) is SKIPPED,
with the reason; it neither passes nor fails the run.";

impl Verdict {
    /// The process exit code for this verdict (see [`EXIT_CODES`]).
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Pass => 0,
            Verdict::Violation => 1,
            Verdict::Unknown => 3,
            Verdict::Inconclusive | Verdict::Skipped => 4,
        }
    }
    /// Lowercase name (JSON Lines, sweep listings).
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Skipped => "skipped",
            Verdict::Pass => "pass",
            Verdict::Unknown => "unknown",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Violation => "violation",
        }
    }
    /// Uppercase word (text summaries and reports).
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Skipped => "SKIPPED",
            Verdict::Pass => "PASS",
            Verdict::Unknown => "UNKNOWN",
            Verdict::Inconclusive => "INCONCLUSIVE",
            Verdict::Violation => "VIOLATION",
        }
    }
}

/// The check every run gets, whatever the protocol: whether the run did the work its checks
/// judge. INCONCLUSIVE when the event limit or the pending-event limit stopped it before its
/// time limit (an actor scheduling without bound, a livelock, a flood of messages) or when
/// the clients completed no operation.
pub const RUN_CHECK: &str = "run";

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
    /// For a linearizability violation: the completed operations that make it impossible
    /// (without any one of them the failing prefix could be linearized), e.g. a stale read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub culprits: Vec<usize>,
    /// For a violation: when it shows (the second leader's election, the apply that
    /// diverged, the stale write), so that a report centres on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Time>,
    /// For a violation: the nodes it involves, each with why (`leader of term 4`,
    /// `applied index 7`), which a report highlights.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<(u32, String)>,
    /// For a violation: when what led to it began (the first of two elections, the first
    /// of two different learns), where a report's window opens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<Time>,
}

impl CheckOutcome {
    /// This outcome, dated `at` and naming `nodes` (node id, why).
    pub fn dated(mut self, at: Time, nodes: impl IntoIterator<Item = (u32, String)>) -> Self {
        self.at = Some(at);
        self.nodes.extend(nodes);
        self
    }
    /// This outcome, with what led to it beginning at `t`.
    pub fn since(mut self, t: Time) -> Self {
        self.since = Some(t);
        self
    }
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

/// A plot a protocol draws of its own run.
#[derive(Clone, Debug)]
pub struct Plot {
    /// Its file name with `--plots` (`lb-latency-cdf.svg`).
    pub file: String,
    /// The heading report.html shows above it, naming it as the scenarios' descriptions do
    /// (`Backend load: ...`).
    pub caption: String,
    pub svg: String,
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
    /// The protocol's own plots: report.html shows them as they are, under their captions.
    #[serde(skip)]
    pub plots: Vec<Plot>,
    /// When the protocol ran several runs on the same arrivals (a load balancer's
    /// strategies, the first traced): the operations of the run whose records a report
    /// draws are `ops[..n]`, the first `n`; `None`, all. The message diagram labels requests
    /// and replies with these alone.
    #[serde(skip)]
    pub traced_ops: Option<usize>,
    #[serde(skip)]
    pub records: Vec<TraceRecord>,
    /// With records: every change of a node's state as the step-through view draws it
    /// ([`stepper::run`]).
    #[serde(skip)]
    pub views: Vec<ViewChange>,
    /// With records: their labels, formatted when a report shows them.
    #[serde(skip)]
    pub labels: crate::sim::Labels,
    /// Without records, for a report ([`stepper::with_forks`]): forks of the run to replay
    /// the report's window from.
    #[serde(skip)]
    pub replay: stepper::Replay,
}

impl RunOutcome {
    /// The operations of the run whose records a report draws ([`RunOutcome::traced_ops`]).
    pub fn ops_traced(&self) -> &[OpRecord] {
        &self.ops[..self
            .traced_ops
            .map_or(self.ops.len(), |n| n.min(self.ops.len()))]
    }
    /// The worst verdict over all checks (Pass when there are none).
    pub fn verdict(&self) -> Verdict {
        self.checks
            .iter()
            .map(|c| c.verdict)
            .max()
            .unwrap_or(Verdict::Pass)
    }
}

/// Runs one spec to completion and judges it, including whether the run did its work
/// ([`RUN_CHECK`]).
pub fn run(spec: &RunSpec) -> RunOutcome {
    let mut o = spec.protocol.def().run(spec);
    let run_check = common::run_check(spec, &o);
    o.checks.push(run_check);
    o
}
