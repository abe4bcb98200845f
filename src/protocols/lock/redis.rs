//! The single-instance Redis lock: `SET lock <owner> NX PX <ttl>` to acquire, with the TTL
//! judged on the server's clock; release by compare-and-delete of the owner's value (the
//! Lua script of the Redis documentation); optionally a fencing token (`INCR` of a counter
//! kept with the lock) returned on each grant. With persistence (fsync always) the lock and
//! the counter survive a restart; without it a restart forgets them.
//!
//! The server expires a lock lazily, when a request finds its deadline passed on the
//! server's own clock, so a clock that jumps forward expires it early.
//!
//! Known-bug variants: `release_without_owner_check` (plain `DEL`), `no_fencing` (the
//! storage ignores tokens), `client_clock_lease` (the client measures its lease from the
//! grant's arrival on its own drifting clock, no margin), `volatile_redis` (no persistence).

use serde::{Deserialize, Serialize};

use super::{LockView, Resource, judge};
use crate::protocols::{ProtocolDef, ProtocolInfo, RunOutcome, RunSpec};
use crate::sim::{Context, MILLIS, Node, NodeId, Protocol, RunStats, Sim, SimConfig, Time};
use crate::workload::WorkloadSpec;
use crate::workload::lock::{
    LeaseRule, LockClient, LockClientSpec, LockMsg, LockNode, LockObs, LockTimer, Owner,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedisLockBug {
    /// Release is a plain `DEL`: a client whose lock expired deletes the next holder's lock.
    ReleaseWithoutOwnerCheck,
    /// The storage accepts any write from a client that believes it holds the lock.
    NoFencing,
    /// The client trusts its own (drifting) clock: lease measured from the grant's arrival,
    /// no drift margin.
    ClientClockLease,
    /// No persistence: a restarted server has forgotten the lock and the token counter.
    VolatileRedis,
}

/// The single-instance Redis lock's parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisLockSpec {
    /// The lock's time to live (`PX`), on the server's clock.
    #[serde(with = "crate::sim::dur")]
    pub ttl: Time,
    /// Grants carry a fencing token and the storage checks it.
    pub fencing: bool,
    /// Clock drift allowance: the client's validity is ttl − elapsed − (ttl × factor + 2ms).
    pub clock_drift_factor: f64,
    pub client: LockClientSpec,
    pub bug: Option<RedisLockBug>,
}

impl Default for RedisLockSpec {
    fn default() -> Self {
        RedisLockSpec {
            ttl: 500 * MILLIS,
            fencing: true,
            clock_drift_factor: 0.01,
            client: LockClientSpec::default(),
            bug: None,
        }
    }
}

/// `ttl × factor + 2ms`, the margin the Redis documentation subtracts for clock drift.
pub fn drift_margin(ttl: Time, factor: f64) -> Time {
    ((ttl as f64 * factor) as Time).saturating_add(2 * MILLIS)
}

pub fn bug_name<B: Serialize>(b: Option<B>) -> String {
    match b {
        None => "correct".into(),
        Some(b) => serde_json::to_value(b)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
    }
}

/// Checks shared by the Redis-style services.
pub fn validate_common(
    what: &str,
    ttl: Time,
    factor: f64,
    client: &LockClientSpec,
) -> Result<(), String> {
    if ttl == 0 {
        return Err(format!("{what}.ttl must be positive"));
    }
    if !(0.0..0.5).contains(&factor) {
        return Err(format!("{what}.clock_drift_factor must be in [0, 0.5)"));
    }
    if drift_margin(ttl, factor).saturating_add(client.min_validity) >= ttl {
        return Err(format!(
            "{what}: the ttl leaves no time to work once the drift margin and client.min_validity are taken off"
        ));
    }
    client.validate(what)
}

impl ProtocolDef for RedisLockSpec {
    fn name(&self) -> &'static str {
        "redis-lock"
    }
    /// A lock held by a crashed or paused holder is free again only when its lease runs
    /// out, and waiters are not queued (no fairness): several TTLs, and at least 5 s, before
    /// every waiting client is served again.
    fn recovery(&self) -> Time {
        self.ttl.saturating_mul(8).max(5 * crate::sim::SECS)
    }
    fn variant(&self) -> String {
        bug_name(self.bug)
    }
    fn checks(&self) -> &'static [&'static str] {
        super::CHECKS
    }
    fn symmetric_servers(&self) -> bool {
        true
    }
    fn validate(&self, servers: u32) -> Result<(), String> {
        if servers != 1 {
            return Err(format!(
                "RedisLock is a single-instance lock: cluster.servers must be 1 (got {servers}); use Redlock for several"
            ));
        }
        validate_common("RedisLock", self.ttl, self.clock_drift_factor, &self.client)
    }
    fn run(&self, spec: &RunSpec) -> RunOutcome {
        run_family(spec, self.family(), LockView::Service)
    }
}

impl RedisLockSpec {
    pub fn family(&self) -> Family {
        let bug = |b| self.bug == Some(b);
        Family {
            servers: 1,
            quorum: 1,
            ttl: self.ttl,
            drift_margin: if bug(RedisLockBug::ClientClockLease) {
                0
            } else {
                drift_margin(self.ttl, self.clock_drift_factor)
            },
            from_receipt: bug(RedisLockBug::ClientClockLease),
            tokens: self.fencing,
            resource_checks: self.fencing && !bug(RedisLockBug::NoFencing),
            persistent: !bug(RedisLockBug::VolatileRedis),
            owner_check: !bug(RedisLockBug::ReleaseWithoutOwnerCheck),
            client: self.client.clone(),
        }
    }
}

pub const INFO: ProtocolInfo = ProtocolInfo {
    name: "redis-lock",
    about: "single Redis instance: SET NX PX with a TTL, compare-and-delete release, fencing tokens, protected storage",
    variants: &[
        (
            "correct",
            "SET NX PX, compare-and-delete release, fenced storage",
        ),
        (
            "release_without_owner_check",
            "release is a plain DEL: a client whose lock expired deletes the next holder's lock",
        ),
        (
            "no_fencing",
            "the storage ignores tokens: a pause past the TTL gives two writers",
        ),
        (
            "client_clock_lease",
            "the client measures its lease from the grant's arrival on its own drifting clock, no margin",
        ),
        (
            "volatile_redis",
            "no persistence: a restart forgets the lock and hands it to a second client",
        ),
    ],
    checks: super::CHECKS,
};

/// How a Redis-style service is set up (single instance or Redlock).
#[derive(Clone, Debug)]
pub struct Family {
    pub servers: u32,
    pub quorum: u32,
    pub ttl: Time,
    pub drift_margin: Time,
    pub from_receipt: bool,
    /// Servers hand out fencing tokens and clients send them.
    pub tokens: bool,
    /// The storage checks tokens.
    pub resource_checks: bool,
    pub persistent: bool,
    pub owner_check: bool,
    pub client: LockClientSpec,
}

/// The lock as a server stores it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Key {
    pub owner: Option<Owner>,
    /// Deadline on the server's clock.
    pub expires_at: Time,
    pub token: Option<u64>,
}

/// What a Redis server keeps on disk (with persistence).
#[derive(Clone, Debug, Default)]
pub struct Stored {
    pub key: Key,
    /// The fencing-token counter (`INCR`).
    pub counter: u64,
}

/// One Redis instance.
#[derive(Clone, Debug)]
pub struct RedisServer {
    persistent: bool,
    owner_check: bool,
    tokens: bool,
    /// Without persistence the data lives here and dies with the process.
    memory: Stored,
}

type Ctx<'a, 'b> = &'a mut Context<'b, RedisNode>;

impl RedisServer {
    fn data<'c>(&'c mut self, ctx: &'c mut Context<'_, RedisNode>) -> &'c mut Stored {
        if self.persistent {
            ctx.durable()
        } else {
            // BUG (volatile_redis) when not persistent: a restart forgets the lock and resets
            // the token counter; a second client is granted a lock the first still holds.
            &mut self.memory
        }
    }

    /// Drops the lock if its deadline passed on this server's clock.
    fn expire(&mut self, ctx: Ctx) {
        let now = ctx.now();
        let d = self.data(ctx);
        if let Some(owner) = d.key.owner
            && d.key.expires_at <= now
        {
            d.key = Key::default();
            ctx.observe(LockObs::Expired { owner });
        }
    }

    fn on_message(&mut self, ctx: Ctx, from: NodeId, msg: LockMsg) {
        match msg {
            LockMsg::Acquire { owner, ttl } => {
                self.expire(ctx);
                let now = ctx.now();
                let tokens = self.tokens;
                let d = self.data(ctx);
                let (granted, token, fresh) = match d.key.owner {
                    None => {
                        let token = tokens.then(|| {
                            d.counter += 1;
                            d.counter
                        });
                        d.key = Key {
                            owner: Some(owner),
                            expires_at: now.saturating_add(ttl),
                            token,
                        };
                        (true, token, true)
                    }
                    // The same owner again (a retry): renew, same token.
                    Some(o) if o == owner => {
                        d.key.expires_at = now.saturating_add(ttl);
                        (true, d.key.token, false)
                    }
                    Some(_) => (false, None, false),
                };
                if fresh {
                    ctx.observe(LockObs::Granted { owner, token });
                }
                ctx.send(
                    from,
                    LockMsg::AcquireReply {
                        owner,
                        granted,
                        token,
                    },
                );
            }
            LockMsg::Release { owner } => {
                self.expire(ctx);
                let check = self.owner_check;
                let d = self.data(ctx);
                // BUG (release_without_owner_check) when not checking: a plain DEL.
                let deleted = match d.key.owner {
                    Some(o) if o == owner || !check => {
                        d.key = Key::default();
                        Some(o)
                    }
                    _ => None,
                };
                if let Some(o) = deleted {
                    ctx.observe(LockObs::Deleted {
                        owner: o,
                        by: owner,
                    });
                }
                ctx.send(
                    from,
                    LockMsg::ReleaseReply {
                        owner,
                        deleted: deleted.is_some(),
                    },
                );
            }
            _ => {}
        }
    }
}

/// A node of a Redis-style lock run.
#[derive(Clone, Debug)]
pub enum RedisNode {
    Server(RedisServer),
    Client(Box<LockClient>),
    Resource(Resource),
}

impl Node for RedisNode {
    type Msg = LockMsg;
    type Timer = LockTimer;
    type Durable = Stored;
    type Obs = LockObs;

    /// A server's key (owner, expiry on its clock, token) and token counter; clients are
    /// drawn from their role timeline (holder, waiting).
    fn view(&self, d: &Stored) -> Option<crate::sim::NodeView> {
        match self {
            RedisNode::Server(s) => {
                let st = if s.persistent { d } else { &s.memory };
                let k = &st.key;
                Some(
                    crate::sim::NodeView::new("redis", None)
                        .field("owner", k.owner.map_or("-".into(), |o| format!("{o:?}")))
                        .field(
                            "expires",
                            format!("{}s", crate::sim::fmt_time(k.expires_at)),
                        )
                        .field("token", k.token.map_or("-".into(), |t| t.to_string()))
                        .field("counter", st.counter.to_string()),
                )
            }
            RedisNode::Resource(_) => Some(crate::sim::NodeView::new("resource", None)),
            RedisNode::Client(_) => None,
        }
    }

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if let RedisNode::Client(c) = self {
            c.on_start(ctx)
        }
    }
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: LockMsg) {
        match self {
            RedisNode::Server(s) => s.on_message(ctx, from, msg),
            RedisNode::Client(c) => c.on_message(ctx, from, msg),
            RedisNode::Resource(r) => {
                if let LockMsg::Write { owner, token, seq } = msg {
                    let (reply, obs) = r.write(owner, token, seq);
                    ctx.observe(obs);
                    ctx.send(from, reply);
                }
            }
        }
    }
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, t: LockTimer) {
        if let RedisNode::Client(c) = self {
            c.on_timer(ctx, t)
        }
    }
}

impl LockNode for RedisNode {
    fn lock_msg(m: LockMsg) -> LockMsg {
        m
    }
    fn lock_timer(t: LockTimer) -> LockTimer {
        t
    }
    fn lock_obs(o: LockObs) -> LockObs {
        o
    }
}

struct RedisProtocol {
    family: Family,
    workload: WorkloadSpec,
}

impl Protocol for RedisProtocol {
    type Node = RedisNode;
    fn node(&self, id: NodeId, _durable: &Stored) -> RedisNode {
        let f = &self.family;
        let clients = self.workload.clients;
        if id.0 < f.servers {
            RedisNode::Server(RedisServer {
                persistent: f.persistent,
                owner_check: f.owner_check,
                tokens: f.tokens,
                memory: Stored::default(),
            })
        } else if id.0 < f.servers + clients {
            let rule = LeaseRule {
                servers: f.servers,
                quorum: f.quorum,
                ttl: f.ttl,
                drift_margin: f.drift_margin,
                from_receipt: f.from_receipt,
                fencing: f.tokens,
                resource: NodeId(f.servers + clients),
                session: None,
            };
            RedisNode::Client(Box::new(LockClient::new(
                id.0 - f.servers,
                &f.client,
                &self.workload,
                rule,
            )))
        } else {
            RedisNode::Resource(Resource::new(f.resource_checks))
        }
    }
}

/// Runs a Redis-style lock (single instance or Redlock): the statistics, the observations
/// and the trace records.
pub fn simulate(
    spec: &RunSpec,
    family: Family,
) -> (
    RunStats,
    Vec<(Time, NodeId, LockObs)>,
    crate::protocols::stepper::Trace,
) {
    // Clients, then the protected resource, after the servers.
    let mut cfg = SimConfig::new(spec.seed, spec.servers, spec.workload.clients + 1);
    cfg.network = spec.network.clone();
    cfg.faults = spec.faults.clone();
    cfg.limits = spec.limits;
    cfg.record = spec.record;
    let protocol = RedisProtocol {
        family,
        workload: spec.workload.clone(),
    };
    let mut sim = Sim::new(protocol, cfg);
    let (stats, trace) = crate::protocols::stepper::run(&mut sim);
    let obs = sim.take_observations();
    (stats, obs, trace)
}

/// Runs a Redis-style lock and judges it.
pub fn run_family(spec: &RunSpec, family: Family, view: LockView) -> RunOutcome {
    let (stats, obs, trace) = simulate(spec, family);
    RunOutcome {
        labels: trace.labels,
        replay: trace.replay,
        views: trace.views,
        ..judge(spec, stats, obs, trace.records, view)
    }
}
