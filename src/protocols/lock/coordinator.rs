//! `CoordinatorLock`: a ZooKeeper/Chubby-style lock service. Its lock table
//! ([`super::table::LockTable`]) is replicated by the project's Raft (`protocols::raft`, the
//! same servers and log as the key-value store, with the table plugged into its apply path).
//!
//! - Sessions: a client opens one and keeps it alive with heartbeats to the leader. The
//!   leader notes when it last heard from each session (on its own clock, fresh for every
//!   session when it becomes leader) and proposes an `Expire` entry for a session silent for
//!   longer than its timeout: expiry is decided by the replicated service, in its log.
//! - Ownership is ephemeral: a node lives as long as its session. Waiters are queued in
//!   order (sequential nodes); each watches its predecessor, and the leader fires the watch
//!   when that node is deleted. The holder's sequence number (the log index of its node's
//!   creation) is its sequencer, and the fencing token the protected storage checks.
//!
//! Judged with the lock checks (`mutual-exclusion` at the storage, `fencing-monotonicity`,
//! `lock-linearizability` over the table's grants and releases in log order, `liveness`) and
//! Raft's own safety checks over the servers underneath.
//!
//! Known-bug variant: `session_closed_after_acquire` (the client closes its session right
//! after acquiring, as the tutorial's ZooKeeper sample does).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::table::{Gone, LockTable, TableEvent};
use super::{LockView, Resource, judge};
use crate::protocols::raft::{self, RaftHost, RaftSpec, Server};
use crate::protocols::{
    CheckOutcome, ProtocolDef, ProtocolInfo, RoleChange, RunOutcome, RunSpec, Table,
};
use crate::sim::{Context, MILLIS, Node, NodeId, Protocol, RunStats, Sim, SimConfig, Time};
use crate::workload::WorkloadSpec;
use crate::workload::lock::{
    KeepAliveStatus, LeaseRule, LockClient, LockClientSpec, LockMsg, LockNode, LockObs, LockTimer,
    SessionOp, SessionResult, SessionRule,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoordinatorLockBug {
    /// The client closes its session right after acquiring and works on as the holder.
    SessionClosedAfterAcquire,
}

/// The coordinator lock's parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoordinatorLockSpec {
    /// The service expires a session this long after its last heartbeat (leader's clock).
    #[serde(with = "crate::sim::dur")]
    pub session_timeout: Time,
    /// Clients' heartbeat interval.
    #[serde(with = "crate::sim::dur")]
    pub keepalive: Time,
    /// Drift allowance on the client's session lease: timeout × factor + 2 ms.
    pub clock_drift_factor: f64,
    /// Clients send their sequencer with each write and the storage checks it.
    pub fencing: bool,
    /// The Raft underneath (timeouts; a Raft bug variant can be set here too).
    pub raft: RaftSpec,
    pub client: LockClientSpec,
    pub bug: Option<CoordinatorLockBug>,
}

impl Default for CoordinatorLockSpec {
    fn default() -> Self {
        CoordinatorLockSpec {
            session_timeout: 500 * MILLIS,
            keepalive: 100 * MILLIS,
            clock_drift_factor: 0.01,
            fencing: true,
            raft: RaftSpec::default(),
            client: LockClientSpec::default(),
            bug: None,
        }
    }
}

impl CoordinatorLockSpec {
    fn drift_margin(&self) -> Time {
        super::redis::drift_margin(self.session_timeout, self.clock_drift_factor)
    }
}

pub const CHECKS: &[&str] = &[
    "mutual-exclusion",
    "fencing-monotonicity",
    "lock-linearizability",
    "liveness",
    "election-safety",
    "log-matching",
    "leader-completeness",
    "state-machine-safety",
];

impl ProtocolDef for CoordinatorLockSpec {
    fn name(&self) -> &'static str {
        "coordinator-lock"
    }
    fn variant(&self) -> String {
        super::redis::bug_name(self.bug)
    }
    fn checks(&self) -> &'static [&'static str] {
        CHECKS
    }
    /// An election (after which the new leader gives every session a full timeout), then
    /// the sessions of crashed or cut-off clients ahead in the queue expiring: a few session
    /// timeouts.
    fn recovery(&self) -> Time {
        self.raft
            .recovery()
            .saturating_add(self.session_timeout.saturating_mul(4))
    }
    fn validate(&self, servers: u32) -> Result<(), String> {
        self.raft
            .validate(servers)
            .map_err(|e| format!("CoordinatorLock.{e}"))?;
        if self.session_timeout == 0 || self.session_timeout > crate::sim::time::MAX_TIME {
            return Err(
                "CoordinatorLock.session_timeout must be positive and at most 7 days".into(),
            );
        }
        if self.keepalive == 0 || self.keepalive.saturating_mul(2) > self.session_timeout {
            return Err(
                "CoordinatorLock.keepalive must be positive and at most half the session_timeout"
                    .into(),
            );
        }
        super::redis::validate_common(
            "CoordinatorLock",
            self.session_timeout,
            self.clock_drift_factor,
            &self.client,
        )
    }
    fn run(&self, spec: &RunSpec) -> RunOutcome {
        let s = simulate(spec, self);
        let mut o = RunOutcome {
            labels: s.trace.labels,
            replay: s.trace.replay,
            views: s.trace.views,
            ..judge(spec, s.stats, s.lock, s.trace.records, LockView::Service)
        };
        o.checks.extend(s.consensus);
        o.roles.extend(s.raft_roles);
        o.roles.sort_by_key(|r| (r.time, r.node));
        o.tables.push(s.figures);
        o
    }
}

pub const INFO: ProtocolInfo = ProtocolInfo {
    name: "coordinator-lock",
    about: "ZooKeeper/Chubby-style lock: a lock table replicated by Raft, sessions kept alive by heartbeats, ephemeral sequential nodes, sequencers as fencing tokens",
    variants: &[
        (
            "correct",
            "sessions expired by the leader, waiters queued in order, the sequencer checked by the storage",
        ),
        (
            "session_closed_after_acquire",
            "the client closes its session right after acquiring: the lock is gone while it works",
        ),
    ],
    checks: CHECKS,
};

/// Messages: Raft's between servers, the lock vocabulary with clients and the storage.
#[derive(Clone, Debug, Hash)]
pub enum CoordMsg {
    Raft(raft::Msg<SessionOp, SessionResult>),
    Lock(LockMsg),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoordTimer {
    Raft(raft::Timer),
    Lock(LockTimer),
}

#[derive(Clone, Debug)]
pub enum CoordObs {
    Raft(raft::Obs),
    Lock(LockObs),
    /// What a server's table did applying the entry at `index` (every server reports it;
    /// the judge keeps the first report of each index).
    Table {
        index: u64,
        event: TableEvent,
    },
}

/// A coordinator server: a Raft server replicating the lock table, and, while leader, the
/// keeper of session timeouts and watches.
#[derive(Clone, Debug)]
pub struct CoordServer {
    raft: Server<LockTable>,
    /// Client `i` is node `servers + i`.
    servers: u32,
    /// Leader only: when each session was last heard from (this server's clock).
    last_seen: BTreeMap<u64, Time>,
    leader_since: Time,
    was_leader: bool,
    /// Sessions whose expiry this leader proposed.
    expiring: BTreeSet<u64>,
}

type Ctx<'a, 'b> = &'a mut Context<'b, CoordNode>;

impl CoordServer {
    /// After every Raft step: note a new leadership, report what the table did, fire watches.
    fn after(&mut self, ctx: Ctx) {
        let leader = self.raft.is_leader();
        let now = ctx.now();
        if leader && !self.was_leader {
            // A new leader gives every session a full timeout from now (ZooKeeper and
            // Chubby do the same): it does not know when they were last heard from.
            self.leader_since = now;
            self.last_seen.clear();
            self.expiring.clear();
        }
        self.was_leader = leader;
        for (index, event) in std::mem::take(&mut self.raft.sm.events) {
            match &event {
                TableEvent::Opened { session } if leader => {
                    self.last_seen.insert(*session, now);
                }
                TableEvent::SessionEnded { session, .. } => {
                    self.last_seen.remove(session);
                    self.expiring.remove(session);
                }
                TableEvent::Notify { client, node } if leader => ctx.send(
                    NodeId(self.servers + client),
                    CoordMsg::Lock(LockMsg::Notify { node: *node }),
                ),
                _ => {}
            }
            ctx.observe(CoordObs::Table { index, event });
        }
    }

    /// Leader: proposes the expiry of every session silent for longer than its timeout.
    fn expire_sessions(&mut self, ctx: Ctx) {
        let now = ctx.now();
        let due: Vec<u64> = self
            .raft
            .sm
            .sessions
            .iter()
            .filter(|(id, s)| {
                let seen = self.last_seen.get(id).copied().unwrap_or(self.leader_since);
                !self.expiring.contains(id) && now.saturating_sub(seen) > s.timeout
            })
            .map(|(id, _)| *id)
            .collect();
        for session in due {
            if self
                .raft
                .propose(ctx, SessionOp::Expire { session })
                .is_some()
            {
                self.expiring.insert(session);
            }
        }
    }

    fn keep_alive(&mut self, ctx: Ctx, from: NodeId, session: u64, sent: Time) {
        let status = if !self.raft.is_leader() {
            KeepAliveStatus::NotLeader {
                hint: self.raft.leader_hint(),
            }
        } else if self.expiring.contains(&session) {
            return; // its expiry is on the way
        } else if self.raft.sm.sessions.contains_key(&session) {
            self.last_seen.insert(session, ctx.now());
            KeepAliveStatus::Alive
        } else if self.raft.last_applied >= session {
            // The session was opened at index `session`, which this table has applied: it
            // was closed or expired since.
            KeepAliveStatus::Gone
        } else {
            return; // not applied here yet: the next heartbeat will tell
        };
        ctx.send(
            from,
            CoordMsg::Lock(LockMsg::KeepAliveReply {
                session,
                sent,
                status,
            }),
        );
    }
}

/// A node of a coordinator lock run.
#[derive(Clone, Debug)]
pub enum CoordNode {
    Server(Box<CoordServer>),
    Client(Box<LockClient>),
    Resource(Resource),
}

impl Node for CoordNode {
    type Msg = CoordMsg;
    type Timer = CoordTimer;
    type Durable = raft::Persistent<SessionOp>;
    type Obs = CoordObs;

    /// A server's Raft state and lock table; clients are drawn from their role timeline
    /// (holder, waiting).
    fn view(&self, d: &raft::Persistent<SessionOp>) -> Option<crate::sim::NodeView> {
        match self {
            CoordNode::Server(s) => Some(s.raft.view(d)),
            CoordNode::Resource(_) => Some(crate::sim::NodeView::new("resource", None)),
            CoordNode::Client(_) => None,
        }
    }
    fn view_stamp(&self, d: &raft::Persistent<SessionOp>) -> Option<u64> {
        match self {
            CoordNode::Server(s) => Some(s.raft.view_stamp(d)),
            _ => None,
        }
    }

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match self {
            CoordNode::Server(s) => {
                s.raft.on_start(ctx);
                s.after(ctx);
            }
            CoordNode::Client(c) => c.on_start(ctx),
            CoordNode::Resource(_) => {}
        }
    }
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: CoordMsg) {
        match (self, msg) {
            (CoordNode::Server(s), m) => {
                match m {
                    CoordMsg::Raft(m) => s.raft.on_message(ctx, from, m),
                    CoordMsg::Lock(LockMsg::Session(r)) => s.raft.on_request(ctx, from, r),
                    CoordMsg::Lock(LockMsg::KeepAlive { session, sent }) => {
                        s.keep_alive(ctx, from, session, sent)
                    }
                    CoordMsg::Lock(_) => {}
                }
                s.after(ctx);
            }
            (CoordNode::Client(c), CoordMsg::Lock(m)) => c.on_message(ctx, from, m),
            (CoordNode::Resource(r), CoordMsg::Lock(LockMsg::Write { owner, token, seq })) => {
                let (reply, obs) = r.write(owner, token, seq);
                ctx.observe(CoordObs::Lock(obs));
                ctx.send(from, CoordMsg::Lock(reply));
            }
            _ => {}
        }
    }
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, t: CoordTimer) {
        match (self, t) {
            (CoordNode::Server(s), CoordTimer::Raft(t)) => {
                s.raft.on_timer(ctx, t);
                if t == raft::Timer::Heartbeat && s.raft.is_leader() {
                    s.expire_sessions(ctx);
                }
                s.after(ctx);
            }
            (CoordNode::Client(c), CoordTimer::Lock(t)) => c.on_timer(ctx, t),
            _ => {}
        }
    }
}

impl RaftHost<LockTable> for CoordNode {
    fn raft_msg(m: raft::Msg<SessionOp, SessionResult>) -> CoordMsg {
        match m {
            raft::Msg::Reply(r) => CoordMsg::Lock(LockMsg::SessionReply(r)),
            m => CoordMsg::Raft(m),
        }
    }
    fn raft_timer(t: raft::Timer) -> CoordTimer {
        CoordTimer::Raft(t)
    }
    fn raft_obs(o: raft::Obs) -> CoordObs {
        CoordObs::Raft(o)
    }
}

impl LockNode for CoordNode {
    fn lock_msg(m: LockMsg) -> CoordMsg {
        CoordMsg::Lock(m)
    }
    fn lock_timer(t: LockTimer) -> CoordTimer {
        CoordTimer::Lock(t)
    }
    fn lock_obs(o: LockObs) -> CoordObs {
        CoordObs::Lock(o)
    }
}

struct CoordProtocol {
    spec: CoordinatorLockSpec,
    workload: WorkloadSpec,
    servers: u32,
    /// Raft's own checks, judging the servers' observations as they are made.
    judge: raft::Judge,
}

impl Protocol for CoordProtocol {
    type Node = CoordNode;
    fn observed(
        &mut self,
        t: Time,
        n: NodeId,
        o: CoordObs,
        d: &raft::Persistent<SessionOp>,
    ) -> Option<CoordObs> {
        match o {
            CoordObs::Raft(o) => {
                self.judge.observe(t, n, o, d);
                None
            }
            o => Some(o),
        }
    }
    fn node(&self, id: NodeId, _durable: &raft::Persistent<SessionOp>) -> CoordNode {
        let (servers, clients) = (self.servers, self.workload.clients);
        if id.0 < servers {
            CoordNode::Server(Box::new(CoordServer {
                raft: Server::new(id.0, &self.spec.raft),
                servers,
                last_seen: BTreeMap::new(),
                leader_since: 0,
                was_leader: false,
                expiring: BTreeSet::new(),
            }))
        } else if id.0 < servers + clients {
            let s = &self.spec;
            let rule = LeaseRule {
                servers,
                quorum: 1,
                ttl: s.session_timeout,
                drift_margin: s.drift_margin(),
                from_receipt: false,
                fencing: s.fencing,
                resource: NodeId(servers + clients),
                session: Some(SessionRule {
                    timeout: s.session_timeout,
                    keepalive: s.keepalive,
                    drift_margin: s.drift_margin(),
                    request_timeout: self.workload.timeout,
                    request_attempts: self.workload.attempts,
                    close_after_acquire: s.bug
                        == Some(CoordinatorLockBug::SessionClosedAfterAcquire),
                }),
            };
            CoordNode::Client(Box::new(LockClient::new(
                id.0 - servers,
                &s.client,
                &self.workload,
                rule,
            )))
        } else {
            CoordNode::Resource(Resource::new(self.spec.fencing))
        }
    }
}

/// What a coordinator run produced, split for the judges.
pub struct Simulated {
    pub stats: RunStats,
    /// Clients' and the storage's observations, with the table's grants and releases (each
    /// log index once, when first applied) as the service's record.
    pub lock: Vec<(Time, NodeId, LockObs)>,
    /// Raft's safety properties over the servers that replicate the table.
    pub consensus: Vec<CheckOutcome>,
    /// The servers' Raft roles over time.
    pub raft_roles: Vec<RoleChange>,
    pub figures: Table,
    /// What the run recorded for its report.
    pub trace: crate::protocols::stepper::Trace,
}

/// Runs a coordinator lock scenario.
pub fn simulate(spec: &RunSpec, c: &CoordinatorLockSpec) -> Simulated {
    // Clients, then the protected resource, after the servers.
    let mut cfg = SimConfig::new(spec.seed, spec.servers, spec.workload.clients + 1);
    cfg.network = spec.network.clone();
    cfg.faults = spec.faults.clone();
    cfg.limits = spec.limits;
    cfg.record = spec.record;
    let protocol = CoordProtocol {
        spec: c.clone(),
        workload: spec.workload.clone(),
        servers: spec.servers,
        judge: raft::Judge::new(spec),
    };
    let mut sim = Sim::new(protocol, cfg);
    let (stats, trace) = crate::protocols::stepper::run(&mut sim);
    let mut judge = std::mem::take(&mut sim.protocol_mut().judge);
    for i in 0..spec.servers {
        judge.final_log(i, sim.durable(NodeId(i)));
    }
    let consensus = judge.consensus_checks(spec, spec.servers);
    let raft_roles = judge.take_roles();
    let mut lock = Vec::new();
    // Per log index, the first server to apply it and when.
    let mut first: BTreeMap<u64, (NodeId, Time)> = BTreeMap::new();
    let mut counts = [0u64; 5];
    for (t, n, o) in sim.take_observations() {
        match o {
            CoordObs::Lock(o) => lock.push((t, n, o)),
            CoordObs::Raft(_) => {}
            CoordObs::Table { index, event } => {
                if *first.entry(index).or_insert((n, t)) != (n, t) {
                    continue;
                }
                let service = match event {
                    TableEvent::Granted { owner, token } => LockObs::Granted {
                        owner,
                        token: Some(token),
                    },
                    TableEvent::Freed {
                        owner,
                        why: Gone::Deleted,
                        ..
                    } => LockObs::Deleted { owner, by: owner },
                    TableEvent::Freed { owner, .. } => LockObs::Expired { owner },
                    TableEvent::Opened { .. } => {
                        counts[0] += 1;
                        continue;
                    }
                    TableEvent::SessionEnded { why, .. } => {
                        counts[if why == Gone::Expired { 2 } else { 1 }] += 1;
                        continue;
                    }
                    TableEvent::Notify { .. } => {
                        counts[3] += 1;
                        continue;
                    }
                };
                lock.push((t, n, service));
            }
        }
    }
    let mut figures = Table::new("Coordinator", &["figure", "count"]);
    for (k, v) in [
        ("sessions opened", counts[0]),
        ("sessions closed by their client", counts[1]),
        ("sessions expired by the leader", counts[2]),
        ("watches fired (a predecessor deleted)", counts[3]),
    ] {
        figures.row(vec![k.into(), v.to_string()]);
    }
    Simulated {
        stats,
        lock,
        consensus,
        raft_roles,
        figures,
        trace,
    }
}
