//! Raft (Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm", Figure 2)
//! serving a linearizable key-value store to simulated clients, with its classic bugs as
//! selectable variants. `server.rs` is Figure 2; `checks.rs` judges a run from the outside.

use serde::{Deserialize, Serialize};

use super::{ProtocolDef, ProtocolInfo, RunOutcome, RunSpec};
use crate::sim::{Context, MILLIS, Node, NodeId, Protocol, Sim, SimConfig, Time};
use crate::workload::WorkloadSpec;
use crate::workload::kv::{ClientObs, ClientTimer, KvClient, KvNode, KvRequest};

mod checks;
pub mod machine;
pub mod messages;
mod pending;
pub mod persistent;
mod progress;
pub mod server;

pub use checks::Judge;
pub use machine::{KvMachine, StateMachine};
pub use messages::{Command, Entry, Msg};
pub use server::{Persistent, RaftHost, Role, Server};

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
    /// Most AppendEntries carrying entries that a leader has sent a follower and not yet
    /// seen acknowledged (etcd raft's MaxInflightMsgs): the pipeline's window.
    pub max_inflight: u32,
    /// A known-bug variant, or none for the correct protocol.
    pub bug: Option<RaftBug>,
}

impl Default for RaftSpec {
    fn default() -> Self {
        RaftSpec {
            election_timeout: (150 * MILLIS, 300 * MILLIS),
            heartbeat: 50 * MILLIS,
            max_batch: 64,
            max_inflight: 8,
            bug: None,
        }
    }
}

impl ProtocolDef for RaftSpec {
    fn name(&self) -> &'static str {
        "raft"
    }
    fn variant(&self) -> String {
        match self.bug {
            None => "correct".into(),
            Some(b) => serde_json::to_value(b)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
        }
    }
    fn checks(&self) -> &'static [&'static str] {
        CHECKS
    }
    /// A few elections: split votes are resolved by the randomized timeouts, each round at
    /// most the longest election timeout.
    fn recovery(&self) -> Time {
        self.election_timeout.1.saturating_mul(4) + self.heartbeat
    }
    fn run(&self, spec: &RunSpec) -> RunOutcome {
        run(spec, self)
    }
    fn validate(&self, servers: u32) -> Result<(), String> {
        if servers == 0 {
            return Err("raft needs at least 1 server".into());
        }
        if self.election_timeout.0 > self.election_timeout.1 || self.election_timeout.0 == 0 {
            return Err(
                "raft.election_timeout: min must be positive and not greater than max".into(),
            );
        }
        if self.election_timeout.1 > crate::sim::time::MAX_TIME {
            return Err(format!(
                "raft.election_timeout: max {} is longer than {}",
                crate::sim::fmt_duration(self.election_timeout.1),
                crate::sim::fmt_duration(crate::sim::time::MAX_TIME)
            ));
        }
        if self.heartbeat == 0 || self.heartbeat >= self.election_timeout.0 {
            return Err(
                "raft.heartbeat must be positive and shorter than the election timeout".into(),
            );
        }
        if self.max_batch == 0 {
            return Err("raft.max_batch must be at least 1".into());
        }
        if self.max_inflight == 0 {
            return Err("raft.max_inflight must be at least 1".into());
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

/// Timers: a server's election and heartbeat timers, a client's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    Election,
    Heartbeat,
    /// A candidate retries RequestVote to servers that have not answered ("servers retry RPCs
    /// if they do not receive a response in a timely manner").
    VoteRetry,
    Client(ClientTimer),
}

/// What the nodes report to the checks.
#[derive(Clone, Debug)]
pub enum Obs {
    Client(ClientObs),
    /// A server's role changed.
    Role {
        role: &'static str,
        term: u64,
    },
    /// A server became leader of `term` with a log of `len` entries (the checks read them
    /// from its durable state as it reports this).
    Leader {
        term: u64,
        len: u64,
    },
    /// A server in `server_term` applied the entry at `index` (of term `term`) to its state
    /// machine. The entry was committed in `server_term` or earlier: a server learns of
    /// commits only from the leader of its own term, or is that leader.
    Applied {
        index: u64,
        term: u64,
        command: u64,
        server_term: u64,
        /// The client operation (client, seq) of the entry; none for a no-op.
        op: Option<(u32, u64)>,
    },
}

/// A node of a Raft run: a server or a client.
#[derive(Clone, Debug)]
pub enum RaftNode {
    Server(Box<Server>),
    Client(Box<KvClient>),
}

impl Node for RaftNode {
    type Msg = Msg;
    type Timer = Timer;
    type Durable = Persistent;
    type Obs = Obs;

    fn write_label(msg: &Msg, out: &mut String) {
        msg.write_debug(out)
    }

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match self {
            RaftNode::Server(s) => s.on_start(ctx),
            RaftNode::Client(c) => c.on_start(ctx),
        }
    }
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (RaftNode::Server(s), m) => s.on_message(ctx, from, m),
            (RaftNode::Client(c), Msg::Reply(r)) => c.on_reply(ctx, from, r),
            (RaftNode::Client(_), _) => {}
        }
    }
    fn view_stamp(&self, durable: &Persistent) -> Option<u64> {
        Some(match self {
            RaftNode::Server(s) => s.view_stamp(durable),
            RaftNode::Client(c) => c.view_stamp(),
        })
    }
    fn view(&self, durable: &Persistent) -> Option<crate::sim::NodeView> {
        Some(match self {
            RaftNode::Server(s) => s.view(durable),
            RaftNode::Client(c) => c.view(),
        })
    }
    fn fork(&self) -> Option<Self> {
        Some(self.clone())
    }
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, t: Timer) {
        match (self, t) {
            (RaftNode::Client(c), Timer::Client(ct)) => {
                let now = ctx.now();
                c.on_timer(ctx, ct, now)
            }
            (RaftNode::Server(s), t) => s.on_timer(ctx, t),
            _ => {}
        }
    }
}

impl RaftHost<KvMachine> for RaftNode {
    fn raft_msg(m: Msg) -> Msg {
        m
    }
    fn raft_timer(t: Timer) -> Timer {
        t
    }
    fn raft_obs(o: Obs) -> Obs {
        o
    }
}

impl KvNode for RaftNode {
    fn request(r: KvRequest) -> Msg {
        Msg::Request(r)
    }
    fn client_timer(t: ClientTimer) -> Timer {
        Timer::Client(t)
    }
    fn client_obs(o: ClientObs) -> Obs {
        Obs::Client(o)
    }
}

/// Builds Raft servers and clients.
pub struct RaftProtocol {
    pub spec: RaftSpec,
    pub workload: WorkloadSpec,
    pub servers: u32,
    /// The run's seed, from which each client's workload stream is drawn.
    pub seed: u64,
    /// The checks, judging each observation as it is made.
    pub judge: checks::Judge,
}

impl Protocol for RaftProtocol {
    type Node = RaftNode;
    fn observed(&mut self, t: Time, n: NodeId, o: Obs, d: &Persistent) -> Option<Obs> {
        self.judge.observe(t, n, o, d);
        None
    }
    fn fork(&self) -> Option<Self> {
        // A fork only replays a report's window: its judge (the default: no logs kept)
        // judges nothing anyone reads.
        Some(RaftProtocol {
            spec: self.spec.clone(),
            workload: self.workload.clone(),
            servers: self.servers,
            seed: self.seed,
            judge: checks::Judge::default(),
        })
    }
    fn node(&self, id: NodeId, _durable: &Persistent) -> RaftNode {
        if id.0 < self.servers {
            RaftNode::Server(Box::new(Server::new(id.0, &self.spec)))
        } else {
            RaftNode::Client(Box::new(KvClient::new(
                id.0 - self.servers,
                &self.workload,
                self.servers,
                self.seed,
            )))
        }
    }
}

/// Runs a Raft scenario and judges it.
fn run(spec: &RunSpec, raft: &RaftSpec) -> RunOutcome {
    let mut cfg = SimConfig::new(spec.seed, spec.servers, spec.workload.clients);
    cfg.network = spec.network.clone();
    cfg.faults = spec.faults.clone();
    cfg.limits = spec.limits;
    cfg.record = spec.record;
    let protocol = RaftProtocol {
        spec: raft.clone(),
        workload: spec.workload.clone(),
        servers: spec.servers,
        seed: spec.seed,
        judge: checks::Judge::new(spec),
    };
    let mut sim = Sim::new(protocol, cfg);
    let (stats, trace) = crate::protocols::stepper::run(&mut sim);
    let mut judge = std::mem::take(&mut sim.protocol_mut().judge);
    for i in 0..spec.servers {
        judge.final_log(i, sim.durable(NodeId(i)));
    }
    // The servers' state is judged: free it before the history is written out.
    drop(sim);
    RunOutcome {
        labels: trace.labels,
        views: trace.views,
        replay: trace.replay,
        ..judge.finish(spec, stats, spec.servers, trace.records)
    }
}
