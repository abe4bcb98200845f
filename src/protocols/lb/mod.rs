//! Load balancing: open-loop clients send keyed requests to one balancer, which spreads them
//! over backends of given capacity and speed with one of several strategies (random,
//! round-robin, nginx's smooth weighted round-robin, least-connections, power of two choices,
//! consistent hashing with virtual nodes, bounded-load consistent hashing, modulo hashing).
//! One scenario lists several strategies; each runs on the same seed, so on the same
//! arrivals, keys, work and fault schedule (the clients draw them from streams keyed by
//! request index), and the results sit side by side in the run's tables and plots.
//!
//! Servers `0..servers-1` are the backends, server `servers-1` is the balancer, so faults name
//! backends by their index. `backend.rs` serves, `balancer.rs` routes and health-checks,
//! `strategies.rs` picks, `ring.rs` is consistent hashing on its own, `results.rs` judges.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{ProtocolDef, ProtocolInfo, RunOutcome, RunSpec};
use crate::sim::{
    Context, MILLIS, Node, NodeId, Protocol, RunStats, Sim, SimConfig, StableHasher, Time,
};
use crate::workload::open_loop::{
    self, ClientTimer, Done, OpenLoopClient, OpenLoopNode, OpenLoopSpec, Reply, Request,
};

pub mod backend;
pub mod balancer;
mod plots;
mod results;
pub mod ring;
pub mod strategies;

pub use backend::BackendSpec;
pub use strategies::Strategy;

/// Active health checks: every `interval` the balancer probes each backend; a probe not
/// answered within `timeout` fails; `fall` failures in a row mark a backend down, `rise`
/// successes in a row mark it up again (HAProxy's `inter`, `fall`, `rise`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthSpec {
    #[serde(with = "crate::sim::dur")]
    pub interval: Time,
    #[serde(with = "crate::sim::dur")]
    pub timeout: Time,
    pub rise: u32,
    pub fall: u32,
}

impl Default for HealthSpec {
    fn default() -> Self {
        HealthSpec {
            interval: 100 * MILLIS,
            timeout: 50 * MILLIS,
            rise: 2,
            fall: 3,
        }
    }
}

impl HealthSpec {
    /// The longest a down backend can go unnoticed: a probe answered just before the failure,
    /// then `fall` failed rounds, the last judged `timeout` after it was sent.
    pub fn detection_bound(&self) -> Time {
        self.fall as Time * self.interval + self.timeout
    }
}

/// A change of the pool: an operator adds or removes a backend (not a failure).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Change {
    Join(u32),
    Leave(u32),
}

impl Change {
    pub fn backend_join(self) -> (u32, bool) {
        match self {
            Change::Join(b) => (b, true),
            Change::Leave(b) => (b, false),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberChange {
    #[serde(with = "crate::sim::dur")]
    pub at: Time,
    pub change: Change,
}

/// Figures a scenario requires of some strategies (all when `strategies` is empty); a
/// violation of the `bounds` check names the strategy and the figure.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bounds {
    pub strategies: Vec<Strategy>,
    /// Largest 99th percentile latency (timeouts count as the client timeout).
    #[serde(with = "opt_dur")]
    pub p99_max: Option<Time>,
    /// Largest fraction of requests that end in an error or a timeout.
    pub error_rate_max: Option<f64>,
    /// Largest ratio of the busiest backend's requests to the mean over backends.
    pub imbalance_max: Option<f64>,
}

/// Serde for an optional duration: `Some("50ms")` or `None`.
mod opt_dur {
    use crate::sim::Time;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct D(#[serde(with = "crate::sim::dur")] Time);

    pub fn serialize<S: Serializer>(t: &Option<Time>, s: S) -> Result<S::Ok, S::Error> {
        t.map(D).serialize(s)
    }
    pub fn deserialize<'de, D2: Deserializer<'de>>(d: D2) -> Result<Option<Time>, D2::Error> {
        Ok(Option::<D>::deserialize(d)?.map(|D(t)| t))
    }
}

/// The load balancer's parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LbSpec {
    /// Strategies to compare, each on the same arrivals, work and faults.
    pub strategies: Vec<Strategy>,
    /// Every backend, when `backends` is empty.
    pub backend: BackendSpec,
    /// One entry per backend (`servers - 1` of them), or empty for `backend` everywhere.
    pub backends: Vec<BackendSpec>,
    /// The open-loop traffic (the number of clients, keys, the stop time and the client
    /// timeout come from `workload`).
    pub load: OpenLoopSpec,
    /// Tries per request, each on a different backend where one is available.
    pub attempts: u32,
    /// A try not answered within this is abandoned (and retried while attempts remain).
    #[serde(with = "crate::sim::dur")]
    pub try_timeout: Time,
    /// Active health checks; `None` turns them off.
    pub health: Option<HealthSpec>,
    /// Virtual nodes per backend on the consistent-hashing ring.
    pub vnodes: u32,
    /// Bounded loads: a backend takes at most ⌈(1+epsilon)·average⌉ requests in flight.
    pub epsilon: f64,
    /// Pool changes during the run. A backend whose first change is a `Join` starts outside.
    pub membership: Vec<MemberChange>,
    pub bounds: Vec<Bounds>,
}

impl Default for LbSpec {
    fn default() -> Self {
        LbSpec {
            strategies: Strategy::ALL.to_vec(),
            backend: BackendSpec::default(),
            backends: vec![],
            load: OpenLoopSpec::default(),
            attempts: 2,
            try_timeout: 500 * MILLIS,
            health: Some(HealthSpec::default()),
            vnodes: 100,
            epsilon: 0.25,
            membership: vec![],
            bounds: vec![],
        }
    }
}

/// The most backends, strategies, pool changes and ring points a scenario may ask for.
pub const BACKENDS_MAX: u32 = 1_000;
pub const STRATEGIES_MAX: usize = 16;
pub const CHANGES_MAX: usize = 10_000;
pub const RING_POINTS_MAX: u64 = 5_000_000;

impl ProtocolDef for LbSpec {
    fn name(&self) -> &'static str {
        "load-balancer"
    }
    fn symmetric_servers(&self) -> bool {
        false // the last server is the balancer, the others differ in speed and capacity
    }
    fn checks(&self) -> &'static [&'static str] {
        CHECKS
    }
    fn validate(&self, servers: u32) -> Result<(), String> {
        self.check(servers)
    }
    fn run(&self, spec: &RunSpec) -> RunOutcome {
        run(spec, self)
    }
}

impl LbSpec {
    fn check(&self, servers: u32) -> Result<(), String> {
        if !(2..=BACKENDS_MAX + 1).contains(&servers) {
            return Err(format!(
                "load-balancer needs 2..={} servers (the backends, then the balancer), got {servers}",
                BACKENDS_MAX + 1
            ));
        }
        let n = servers - 1;
        if self.strategies.is_empty() || self.strategies.len() > STRATEGIES_MAX {
            return Err(format!(
                "load-balancer.strategies: list 1..={STRATEGIES_MAX} strategies"
            ));
        }
        for (i, s) in self.strategies.iter().enumerate() {
            if self.strategies[..i].contains(s) {
                return Err(format!("load-balancer.strategies lists {} twice", s.name()));
            }
        }
        if !self.backends.is_empty() && self.backends.len() != n as usize {
            return Err(format!(
                "load-balancer.backends lists {} backends but the cluster has {n} (servers - 1; the last server is the balancer)",
                self.backends.len()
            ));
        }
        self.backend
            .validate(0)
            .map_err(|e| e.replace("backends[0]", "backend"))?;
        for (i, b) in self.backends.iter().enumerate() {
            b.validate(i)?;
        }
        self.load.validate(0)?;
        if !(1..=10).contains(&self.attempts) {
            return Err(format!(
                "load-balancer.attempts must be within 1..=10, got {}",
                self.attempts
            ));
        }
        if self.try_timeout == 0 {
            return Err("load-balancer.try_timeout must be positive".into());
        }
        if let Some(h) = &self.health {
            if h.interval == 0 || h.timeout == 0 || h.timeout >= h.interval {
                return Err(
                    "load-balancer.health: interval and timeout must be positive, and timeout shorter than interval"
                        .into(),
                );
            }
            if !(1..=100).contains(&h.rise) || !(1..=100).contains(&h.fall) {
                return Err("load-balancer.health: rise and fall must be within 1..=100".into());
            }
        }
        if self.vnodes == 0 || self.vnodes as u64 * n as u64 > RING_POINTS_MAX {
            return Err(format!(
                "load-balancer.vnodes must be at least 1 and vnodes x backends at most {RING_POINTS_MAX}"
            ));
        }
        if !(self.epsilon.is_finite() && (0.0..=100.0).contains(&self.epsilon)) {
            return Err(format!(
                "load-balancer.epsilon must be within [0, 100], got {}",
                self.epsilon
            ));
        }
        if self.membership.len() > CHANGES_MAX {
            return Err(format!(
                "load-balancer.membership: at most {CHANGES_MAX} changes"
            ));
        }
        for m in &self.membership {
            let (b, _) = m.change.backend_join();
            if b >= n {
                return Err(format!(
                    "load-balancer.membership: {:?} names backend {b}, but the backends are 0..{n}",
                    m.change
                ));
            }
        }
        for (i, b) in self.bounds.iter().enumerate() {
            if let Some(s) = b.strategies.iter().find(|s| !self.strategies.contains(s)) {
                return Err(format!(
                    "load-balancer.bounds[{i}] names {}, which is not among the strategies",
                    s.name()
                ));
            }
            for (name, v) in [
                ("error_rate_max", b.error_rate_max),
                ("imbalance_max", b.imbalance_max),
            ] {
                if let Some(v) = v
                    && !(v.is_finite() && v >= 0.0)
                {
                    return Err(format!(
                        "load-balancer.bounds[{i}].{name} must be a non-negative number, got {v}"
                    ));
                }
            }
        }
        Ok(())
    }
}

pub const CHECKS: &[&str] = &[
    "accounting",
    "health-detection",
    "bounded-load-cap",
    "bounds",
];

pub const INFO: ProtocolInfo = ProtocolInfo {
    name: "load-balancer",
    about: "open-loop clients, one balancer, backends of given speed and capacity: strategies compared on the same arrivals and faults",
    variants: &[(
        "correct",
        "random, round_robin, weighted_round_robin, least_connections, power_of_two, consistent_hash, bounded_load, modulo_hash",
    )],
    checks: CHECKS,
};

/// What one strategy's run needs to know, shared by its nodes.
#[derive(Debug)]
pub struct Plan {
    pub backend_count: u32,
    pub backends: Vec<BackendSpec>,
    pub membership: Vec<MemberChange>,
    pub health: Option<HealthSpec>,
    pub try_timeout: Time,
    pub attempts: u32,
    pub vnodes: u32,
    pub epsilon: f64,
}

impl Plan {
    fn new(lb: &LbSpec, servers: u32) -> Self {
        let n = servers.saturating_sub(1);
        let backends = if lb.backends.is_empty() {
            vec![lb.backend.clone(); n as usize]
        } else {
            lb.backends.clone()
        };
        let mut membership = lb.membership.clone();
        membership.sort_by_key(|m| m.at);
        Plan {
            backend_count: n,
            backends,
            membership,
            health: lb.health.clone(),
            try_timeout: lb.try_timeout,
            attempts: lb.attempts,
            vnodes: lb.vnodes,
            epsilon: lb.epsilon,
        }
    }

    /// The pool at the start: every backend but those whose first change is a join.
    pub fn initial_members(&self) -> Vec<bool> {
        let mut m = vec![true; self.backend_count as usize];
        let mut seen = vec![false; self.backend_count as usize];
        for c in &self.membership {
            let (b, join) = c.change.backend_join();
            if !seen[b as usize] {
                seen[b as usize] = true;
                m[b as usize] = !join;
            }
        }
        m
    }
}

/// Messages between clients, the balancer and the backends.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    Request(Request),
    Reply(Reply),
    /// The balancer hands try `ticket` to a backend.
    Serve {
        ticket: u64,
        work: Time,
    },
    /// A backend's answer: served, or rejected (queue full).
    Served {
        ticket: u64,
        ok: bool,
    },
    Probe {
        round: u64,
    },
    ProbeAck {
        round: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// A backend's worker finishes its request.
    Worker(u32),
    Client(ClientTimer),
    /// The balancer's oldest try reaches its deadline.
    Expire,
    HealthTick,
    HealthJudge,
    /// Pool change number i.
    Member(u32),
}

/// What the nodes report.
#[derive(Clone, Debug)]
pub enum Obs {
    Client(Done),
    /// A try sent to `backend`, which then had `load` in flight; `in_flight` over all
    /// `candidates`; `cap` is bounded loads' cap (0 for other strategies).
    Route {
        backend: u32,
        load: u32,
        candidates: u32,
        in_flight: u32,
        cap: u32,
    },
    /// The health checker marked `backend` up or down.
    Health {
        backend: u32,
        up: bool,
    },
    /// The pool changed.
    Member {
        backend: u32,
        join: bool,
    },
}

#[derive(Clone, Debug)]
pub enum LbNode {
    Backend(backend::Backend),
    Balancer(Box<balancer::Balancer>),
    Client(Box<OpenLoopClient>),
}

impl Node for LbNode {
    type Msg = Msg;
    type Timer = Timer;
    type Durable = ();
    type Obs = Obs;

    /// A backend's busy workers and queue; the balancer and clients keep the default.
    fn view(&self, _: &()) -> Option<crate::sim::NodeView> {
        match self {
            LbNode::Backend(b) => Some(b.view()),
            LbNode::Balancer(_) => Some(crate::sim::NodeView::new("balancer", None)),
            LbNode::Client(_) => None,
        }
    }

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match self {
            LbNode::Backend(_) => {}
            LbNode::Balancer(b) => b.on_start(ctx),
            LbNode::Client(c) => c.on_start(ctx),
        }
    }
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (LbNode::Backend(b), m) => b.on_message(ctx, from, m),
            (LbNode::Balancer(b), m) => b.on_message(ctx, from, m),
            (LbNode::Client(c), Msg::Reply(r)) => c.on_reply(ctx, r),
            (LbNode::Client(_), _) => {}
        }
    }
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, t: Timer) {
        match (self, t) {
            (LbNode::Backend(b), Timer::Worker(w)) => b.on_worker(ctx, w),
            (LbNode::Client(c), Timer::Client(t)) => c.on_timer(ctx, t),
            (LbNode::Balancer(b), t) => b.on_timer(ctx, t),
            _ => {}
        }
    }
}

impl OpenLoopNode for LbNode {
    fn request(r: Request) -> Msg {
        Msg::Request(r)
    }
    fn client_timer(t: ClientTimer) -> Timer {
        Timer::Client(t)
    }
    fn client_obs(d: Done) -> Obs {
        Obs::Client(d)
    }
}

/// Builds the nodes of one strategy's run.
struct LbProtocol {
    plan: Arc<Plan>,
    load: Arc<open_loop::Shared>,
    strategy: Strategy,
}

impl Protocol for LbProtocol {
    type Node = LbNode;
    fn node(&self, id: NodeId, _: &()) -> LbNode {
        let n = self.plan.backend_count;
        if id.0 < n {
            LbNode::Backend(backend::Backend::new(&self.plan.backends[id.idx()]))
        } else if id.0 == n {
            let weights = self.plan.backends.iter().map(|b| b.weight as u64).collect();
            let picker = strategies::Picker::new(
                self.strategy,
                weights,
                self.plan.vnodes,
                self.plan.epsilon,
            );
            LbNode::Balancer(Box::new(balancer::Balancer::new(self.plan.clone(), picker)))
        } else {
            LbNode::Client(Box::new(OpenLoopClient::new(
                id.0 - n - 1,
                self.load.clone(),
                NodeId(n),
            )))
        }
    }
}

/// One strategy's run, as the judge sees it.
pub(crate) struct StrategyRun {
    pub strategy: Strategy,
    pub stats: RunStats,
    pub obs: Vec<(Time, NodeId, Obs)>,
    /// Requests the clients issued, and those still open when the run ended.
    pub issued: u64,
    pub open: u64,
}

fn run_one(
    spec: &RunSpec,
    plan: &Arc<Plan>,
    load: &Arc<open_loop::Shared>,
    strategy: Strategy,
    record: bool,
) -> (StrategyRun, crate::protocols::stepper::Trace) {
    let mut cfg = SimConfig::new(spec.seed, spec.servers, spec.workload.clients);
    cfg.network = spec.network.clone();
    cfg.faults = spec.faults.clone();
    cfg.limits = spec.limits;
    cfg.record = record;
    let protocol = LbProtocol {
        plan: plan.clone(),
        load: load.clone(),
        strategy,
    };
    let mut sim = Sim::new(protocol, cfg);
    let (stats, trace) = crate::protocols::stepper::run(&mut sim);
    let (mut issued, mut open) = (0, 0);
    for c in 0..spec.workload.clients {
        if let Some(LbNode::Client(cl)) = sim.node(NodeId(spec.servers + c)) {
            issued += cl.issued;
            open += cl.open() as u64;
        }
    }
    let obs = sim.take_observations();
    let records = trace;
    (
        StrategyRun {
            strategy,
            stats,
            obs,
            issued,
            open,
        },
        records,
    )
}

/// Runs every strategy of the scenario on the same seed and judges them together.
fn run(spec: &RunSpec, lb: &LbSpec) -> RunOutcome {
    let plan = Arc::new(Plan::new(lb, spec.servers));
    let w = &spec.workload;
    let load = Arc::new(open_loop::Shared::new(
        &lb.load,
        spec.seed,
        w.clients,
        w.keys.min(open_loop::ZIPF_KEYS_MAX),
        w.stop,
        w.timeout,
    ));
    let mut runs = Vec::with_capacity(lb.strategies.len());
    let mut trace = crate::protocols::stepper::Trace::default();
    for (i, &s) in lb.strategies.iter().enumerate() {
        // The trace of the first strategy only: one sequence diagram, not one per strategy
        // (and, for a report, the others record no start and keep no forks).
        if i == 0 {
            let (r, rec) = run_one(spec, &plan, &load, s, spec.record);
            trace = rec;
            runs.push(r);
            continue;
        }
        let (r, _) =
            crate::protocols::stepper::without_forks(|| run_one(spec, &plan, &load, s, false));
        runs.push(r);
    }
    let stats = combined_stats(&runs);
    RunOutcome {
        labels: trace.labels,
        replay: trace.replay,
        views: trace.views,
        ..results::judge(spec, lb, &plan, runs, stats, trace.records)
    }
}

/// The strategies' runs as one: events and message counters summed, the latest end, the worst
/// stop, one hash over the runs' hashes in order. Fault counters stay those of one run: every
/// strategy replays the same schedule.
fn combined_stats(runs: &[StrategyRun]) -> RunStats {
    use crate::sim::StopReason;
    use std::hash::Hasher;
    let mut s = runs[0].stats.clone();
    let mut h = StableHasher::new();
    h.write_u64(s.trace_hash);
    for r in &runs[1..] {
        let (a, b) = (&mut s.counters, &r.stats.counters);
        a.sent += b.sent;
        a.delivered += b.delivered;
        a.timers_fired += b.timers_fired;
        a.dropped_loss += b.dropped_loss;
        a.dropped_partition += b.dropped_partition;
        a.dropped_dead += b.dropped_dead;
        a.duplicated += b.duplicated;
        a.backlog_handled += b.backlog_handled;
        a.observations += b.observations;
        s.events += r.stats.events;
        s.time = s.time.max(r.stats.time);
        h.write_u64(r.stats.trace_hash);
        let rank = |x: StopReason| match x {
            StopReason::Quiescent => 0,
            StopReason::TimeLimit => 1,
            StopReason::EventLimit => 2,
            StopReason::PendingLimit => 3,
        };
        if rank(r.stats.stop) > rank(s.stop) {
            s.stop = r.stats.stop;
        }
    }
    s.trace_hash = h.finish();
    s
}
