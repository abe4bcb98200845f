//! Single-decree Paxos, as in "Paxos Made Simple" section 2: every server is an acceptor and
//! a learner, the first `proposers` servers also propose, server `n` proposing `v<n>`.
//!
//! Phase 1: a proposer picks a ballot higher than any it has seen, sends prepare, and waits
//! for promises from a quorum; each promise carries the acceptor's highest-ballot accepted
//! proposal. Phase 2: it proposes the value of the highest of those (its own only if none
//! was reported) and acceptors accept unless they promised a higher ballot. A learner learns
//! a value once a quorum accepted it at one ballot. A rejected or stalled ballot is retried
//! after a random, growing backoff so that dueling proposers stop preempting each other.
//!
//! Invariants asserted here: an acceptor never accepts or promises below what it promised;
//! a proposer never reuses a ballot (its round is durable); one ballot carries one value.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::checks::{self, Accept, Learn, Names, Proposal, Safety};
use super::messages::{Ballot, Msg, Value};
use super::{PAXOS_CHECKS, PaxosBug, PaxosSpec, quorum};
use crate::protocols::common::roles_with_crashes;
use crate::protocols::{RoleChange, RunOutcome, RunSpec, Table};
use crate::sim::{Context, Node, NodeId, Protocol, Sim, SimConfig, Time};

/// A proposer's backoff doubles after each failed ballot, this many times at most (to 8x).
const BACKOFF_DOUBLINGS: u32 = 3;

/// An acceptor's state: what it promised and the highest-ballot proposal it accepted.
#[derive(Clone, Copy, Debug, Default)]
pub struct AcceptorState {
    pub promised: Ballot,
    pub accepted: Option<(Ballot, Value)>,
}

/// What survives a crash: the acceptor's state, and the proposer's last round (so that a
/// restarted proposer never issues the same ballot twice, possibly with another value).
#[derive(Clone, Copy, Debug, Default)]
pub struct Durable {
    pub acceptor: AcceptorState,
    pub round: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Start the next ballot.
    Propose,
    /// The current phase has had long enough.
    PhaseTimeout,
    /// A learner that knows nothing asks around.
    CatchUp,
}

/// What a server reports.
#[derive(Clone, Debug)]
pub enum Obs {
    Role {
        role: &'static str,
        term: u64,
    },
    /// A proposer issued phase 2 for `ballot`; `adopted` when the value came from a promise.
    Propose {
        ballot: Ballot,
        value: Value,
        adopted: bool,
    },
    /// An acceptor accepted.
    Accepted {
        ballot: Ballot,
        value: Value,
    },
    /// A learner learned.
    Learned {
        value: Value,
    },
}

#[derive(Clone, Debug)]
enum Phase {
    Idle,
    Prepare {
        ballot: Ballot,
        promised: BTreeSet<u32>,
        highest: Option<(Ballot, Value)>,
    },
    Accept {
        ballot: Ballot,
    },
}

/// One server: acceptor, learner, and proposer if `proposer`.
#[derive(Clone, Debug)]
pub struct Server {
    id: u32,
    spec: PaxosSpec,
    proposer: bool,
    phase: Phase,
    /// The highest ballot this server has heard of (to pick the next one above it).
    seen: Ballot,
    /// Failed ballots in a row (for the backoff).
    failures: u32,
    /// With the `acceptor_forgets` bug, the acceptor's state lives here instead.
    volatile: AcceptorState,
    /// Learner: per ballot, the value and the acceptors that accepted it.
    votes: BTreeMap<Ballot, (Value, BTreeSet<u32>)>,
    learned: Option<Value>,
    /// Messages this server sends to itself, handled without the network.
    local: VecDeque<Msg>,
}

type Ctx<'a, 'b> = &'a mut Context<'b, Server>;

impl Server {
    pub fn new(id: u32, spec: &PaxosSpec) -> Self {
        Server {
            id,
            spec: spec.clone(),
            proposer: id < spec.proposers,
            phase: Phase::Idle,
            seen: Ballot::ZERO,
            failures: 0,
            volatile: AcceptorState::default(),
            votes: BTreeMap::new(),
            learned: None,
            local: VecDeque::new(),
        }
    }

    /// What the step-through view shows: the proposer's phase and ballot, the acceptor's
    /// promise and accepted proposal, the learned value.
    fn view(&self, d: &Durable) -> crate::sim::NodeView {
        let acc = if self.bug(PaxosBug::AcceptorForgets) {
            self.volatile
        } else {
            d.acceptor
        };
        let role = match (&self.phase, self.proposer) {
            (_, false) => "acceptor",
            (Phase::Idle, true) => "proposer",
            (Phase::Prepare { .. }, true) => "preparing",
            (Phase::Accept { .. }, true) => "accepting",
        };
        let mut v = crate::sim::NodeView::new(role, Some(acc.promised.round))
            .field("promised", acc.promised.to_string())
            .field(
                "accepted",
                acc.accepted
                    .map_or("-".into(), |(b, val)| format!("{} at {b}", val.0)),
            )
            .field(
                "learned",
                self.learned.map_or("-".into(), |val| val.0.to_string()),
            );
        if let Phase::Prepare {
            ballot, promised, ..
        } = &self.phase
        {
            v = v.field("phase 1", format!("{ballot}: {} promised", promised.len()));
        }
        if let Phase::Accept { ballot } = &self.phase {
            v = v.field("phase 2", ballot.to_string());
        }
        v
    }

    fn bug(&self, b: PaxosBug) -> bool {
        self.spec.bug == Some(b)
    }

    fn quorum(&self, ctx: &Context<'_, Server>) -> usize {
        quorum(ctx.servers(), self.bug(PaxosBug::HalfQuorum))
    }

    fn acceptor(&self, ctx: &Context<'_, Server>) -> AcceptorState {
        if self.bug(PaxosBug::AcceptorForgets) {
            self.volatile
        } else {
            ctx.durable_ref().acceptor
        }
    }

    fn store(&mut self, ctx: Ctx, st: AcceptorState) {
        if self.bug(PaxosBug::AcceptorForgets) {
            // BUG (acceptor_forgets): promised and accepted are kept in memory only. An
            // acceptor that restarts promises and accepts as if it never had: a later proposer
            // can gather a quorum of promises that no longer reports the value a quorum
            // accepted, and get a different value chosen.
            self.volatile = st;
        } else {
            ctx.durable().acceptor = st;
        }
    }

    /// Sends to every server, this one included (handled locally, not over the network).
    fn send_all(&mut self, ctx: Ctx, m: Msg) {
        ctx.broadcast(m.clone());
        self.local.push_back(m);
    }

    fn send(&mut self, ctx: Ctx, to: NodeId, m: Msg) {
        if to.0 == self.id {
            self.local.push_back(m);
        } else {
            ctx.send(to, m);
        }
    }

    fn role(&self, ctx: Ctx, role: &'static str, term: u64) {
        ctx.observe(Obs::Role { role, term });
    }

    fn idle_role(&self) -> &'static str {
        match (self.learned, self.proposer) {
            (Some(_), _) => "learned",
            (None, true) => "proposer",
            (None, false) => "acceptor",
        }
    }

    fn on_start(&mut self, ctx: Ctx) {
        let term = ctx.durable_ref().round;
        let role = self.idle_role();
        self.role(ctx, role, term);
        if self.proposer {
            let d = ctx.random_range(self.spec.start.0, self.spec.start.1);
            ctx.set_timer(Timer::Propose, d);
        }
        ctx.set_timer(Timer::CatchUp, self.spec.catch_up);
    }

    /// Phase 1a: a ballot above every one seen, made durable before it is used.
    fn start_ballot(&mut self, ctx: Ctx) {
        let round = ctx.durable_ref().round.max(self.seen.round) + 1;
        ctx.durable().round = round;
        let ballot = Ballot {
            round,
            node: self.id,
        };
        self.seen = self.seen.max(ballot);
        self.phase = Phase::Prepare {
            ballot,
            promised: BTreeSet::new(),
            highest: None,
        };
        self.role(ctx, "phase1", round);
        self.send_all(ctx, Msg::Prepare { ballot });
        ctx.set_timer(Timer::PhaseTimeout, self.spec.phase_timeout);
    }

    /// The longest one ballot takes, retry included: two phase timeouts and the longest
    /// backoff (liveness's bound on a lossy network).
    fn longest_round(spec: &PaxosSpec) -> Time {
        (spec.phase_timeout.saturating_mul(2))
            .saturating_add(spec.backoff.1.saturating_mul(1 << BACKOFF_DOUBLINGS))
    }

    /// The ballot failed (rejected or stalled): wait a random, growing time, then retry.
    fn back_off(&mut self, ctx: Ctx) {
        self.phase = Phase::Idle;
        ctx.cancel_timer(Timer::PhaseTimeout);
        self.failures = self.failures.saturating_add(1);
        let factor = 1u64 << self.failures.min(BACKOFF_DOUBLINGS + 1).saturating_sub(1);
        let d = ctx
            .random_range(self.spec.backoff.0, self.spec.backoff.1)
            .saturating_mul(factor);
        ctx.set_timer(Timer::Propose, d);
        let role = self.idle_role();
        let term = ctx.durable_ref().round;
        self.role(ctx, role, term);
    }

    fn learn(&mut self, ctx: Ctx, value: Value) {
        if self.learned.is_some() {
            return;
        }
        self.learned = Some(value);
        ctx.observe(Obs::Learned { value });
        // Nothing left to do: a learned value is final.
        self.phase = Phase::Idle;
        for t in [Timer::Propose, Timer::PhaseTimeout, Timer::CatchUp] {
            ctx.cancel_timer(t);
        }
        let term = ctx.durable_ref().round;
        self.role(ctx, "learned", term);
    }

    fn on_timer(&mut self, ctx: Ctx, t: Timer) {
        if self.learned.is_some() {
            return;
        }
        match t {
            Timer::Propose => self.start_ballot(ctx),
            Timer::PhaseTimeout => {
                if !matches!(self.phase, Phase::Idle) {
                    self.back_off(ctx);
                }
            }
            Timer::CatchUp => {
                ctx.broadcast(Msg::WhatChosen);
                ctx.set_timer(Timer::CatchUp, self.spec.catch_up);
            }
        }
    }

    fn handle(&mut self, ctx: Ctx, from: NodeId, msg: Msg) {
        match msg {
            Msg::Prepare { ballot } => self.on_prepare(ctx, from, ballot),
            Msg::Promise { ballot, accepted } => self.on_promise(ctx, from, ballot, accepted),
            Msg::Accept { ballot, value } => self.on_accept(ctx, from, ballot, value),
            Msg::Accepted { ballot, value } => self.on_accepted(ctx, from, ballot, value),
            Msg::Reject { ballot, promised } => {
                self.seen = self.seen.max(promised);
                let current = match &self.phase {
                    Phase::Prepare { ballot: b, .. } | Phase::Accept { ballot: b } => Some(*b),
                    Phase::Idle => None,
                };
                if current == Some(ballot) && self.learned.is_none() {
                    self.back_off(ctx);
                }
            }
            Msg::WhatChosen => {
                if let Some(value) = self.learned {
                    self.send(ctx, from, Msg::Chosen { value });
                }
            }
            Msg::Chosen { value } => self.learn(ctx, value),
        }
    }

    /// Acceptor, phase 1b: promise never to accept below `ballot`, and report what was accepted.
    fn on_prepare(&mut self, ctx: Ctx, from: NodeId, ballot: Ballot) {
        self.seen = self.seen.max(ballot);
        let mut st = self.acceptor(ctx);
        if ballot < st.promised {
            let promised = st.promised;
            return self.send(ctx, from, Msg::Reject { ballot, promised });
        }
        st.promised = ballot;
        self.store(ctx, st); // durable before the promise leaves
        let accepted = st.accepted;
        self.send(ctx, from, Msg::Promise { ballot, accepted });
    }

    /// Proposer: a quorum of promises starts phase 2 with the highest accepted value, if any.
    fn on_promise(
        &mut self,
        ctx: Ctx,
        from: NodeId,
        ballot: Ballot,
        accepted: Option<(Ballot, Value)>,
    ) {
        let q = self.quorum(ctx);
        let adopt = !self.bug(PaxosBug::NoValueAdoption);
        let Phase::Prepare {
            ballot: b,
            promised,
            highest,
        } = &mut self.phase
        else {
            return;
        };
        if *b != ballot {
            return;
        }
        promised.insert(from.0);
        if let Some((ab, _)) = accepted {
            debug_assert!(
                ab < ballot,
                "an acceptor reported a proposal at {ab} >= {ballot}"
            );
            if highest.is_none_or(|(hb, _)| ab > hb) {
                *highest = accepted;
            }
        }
        if promised.len() < q {
            return;
        }
        let own = Value(self.id);
        let (value, adopted) = match *highest {
            // BUG (no_value_adoption): the proposer ignores what the promises reported and
            // proposes its own value. A value already chosen at a lower ballot is overwritten:
            // learners of the two ballots learn different values.
            Some(_) if !adopt => (own, false),
            Some((_, v)) => (v, v != own),
            None => (own, false),
        };
        self.phase = Phase::Accept { ballot };
        ctx.observe(Obs::Propose {
            ballot,
            value,
            adopted,
        });
        self.role(ctx, "phase2", ballot.round);
        self.send_all(ctx, Msg::Accept { ballot, value });
        ctx.set_timer(Timer::PhaseTimeout, self.spec.phase_timeout);
    }

    /// Acceptor, phase 2b: accept unless a higher ballot was promised; tell every learner.
    fn on_accept(&mut self, ctx: Ctx, from: NodeId, ballot: Ballot, value: Value) {
        self.seen = self.seen.max(ballot);
        let mut st = self.acceptor(ctx);
        if ballot < st.promised {
            let promised = st.promised;
            return self.send(ctx, from, Msg::Reject { ballot, promised });
        }
        // Accepted ballots only grow: an acceptor never goes back on a promise.
        assert!(
            st.accepted.is_none_or(|(ab, _)| ab <= ballot),
            "n{}: accepting {ballot} below its accepted {:?}",
            self.id,
            st.accepted
        );
        st.promised = ballot;
        st.accepted = Some((ballot, value));
        self.store(ctx, st); // durable before anyone hears of it
        ctx.observe(Obs::Accepted { ballot, value });
        self.send_all(ctx, Msg::Accepted { ballot, value });
    }

    /// Learner: a value accepted by a quorum at one ballot is chosen.
    fn on_accepted(&mut self, ctx: Ctx, from: NodeId, ballot: Ballot, value: Value) {
        let q = self.quorum(ctx);
        let (v, who) = self
            .votes
            .entry(ballot)
            .or_insert_with(|| (value, BTreeSet::new()));
        assert_eq!(*v, value, "ballot {ballot} carried two values");
        who.insert(from.0);
        if who.len() >= q {
            self.learn(ctx, value);
        }
    }
}

impl Node for Server {
    type Msg = Msg;
    type Timer = Timer;
    type Durable = Durable;
    type Obs = Obs;

    fn view(&self, durable: &Durable) -> Option<crate::sim::NodeView> {
        Some(Server::view(self, durable))
    }

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        Server::on_start(self, ctx)
    }
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        self.handle(ctx, from, msg);
        // Messages to itself, in the order sent (bounded: each step answers at most once).
        let me = NodeId(self.id);
        while let Some(m) = self.local.pop_front() {
            self.handle(ctx, me, m);
        }
    }
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, t: Timer) {
        Server::on_timer(self, ctx, t);
        let me = NodeId(self.id);
        while let Some(m) = self.local.pop_front() {
            self.handle(ctx, me, m);
        }
    }
}

struct Builder(PaxosSpec);

impl Protocol for Builder {
    type Node = Server;
    fn node(&self, id: NodeId, _durable: &Durable) -> Server {
        Server::new(id.0, &self.0)
    }
}

/// Runs a single-decree Paxos scenario and judges it.
pub fn run(spec: &RunSpec, paxos: &PaxosSpec) -> RunOutcome {
    let mut cfg = SimConfig::new(spec.seed, spec.servers, 0);
    cfg.network = spec.network.clone();
    cfg.faults = spec.faults.clone();
    cfg.limits = spec.limits;
    cfg.record = spec.record;
    let mut sim = Sim::new(Builder(paxos.clone()), cfg);
    let (stats, trace) = crate::protocols::stepper::run(&mut sim);
    let obs = sim.take_observations();

    let proposed = |v: u64| v < paxos.proposers as u64;
    let mut safety = Safety::default();
    let mut learns = Vec::new();
    let mut table = Table::new(
        "Proposers",
        &[
            "proposer", "value", "ballots", "phase 2", "adopted", "learned",
        ],
    );
    let mut per: BTreeMap<u32, [u64; 3]> = BTreeMap::new();
    for (t, n, o) in &obs {
        match o {
            Obs::Propose {
                ballot,
                value,
                adopted,
            } => {
                safety.propose(Proposal {
                    time: *t,
                    instance: 0,
                    ballot: *ballot,
                    value: value.0 as u64,
                });
                let e = per.entry(n.0).or_default();
                e[1] += 1;
                e[2] += *adopted as u64;
            }
            Obs::Accepted { ballot, value } => {
                let a = Accept {
                    time: *t,
                    instance: 0,
                    acceptor: n.0,
                    ballot: *ballot,
                    value: value.0 as u64,
                };
                safety.accept(a, proposed);
            }
            Obs::Learned { value } => {
                let l = Learn {
                    time: *t,
                    node: n.0,
                    instance: 0,
                    value: value.0 as u64,
                };
                safety.learn(l, proposed);
                learns.push(l);
            }
            Obs::Role { role: "phase1", .. } => per.entry(n.0).or_default()[0] += 1,
            Obs::Role { .. } => {}
        }
    }
    for p in 0..paxos.proposers {
        let c = per.get(&p).copied().unwrap_or_default();
        let learned = learns
            .iter()
            .rfind(|l| l.node == p)
            .map_or("-".into(), |l| format!("v{}", l.value));
        table.row(vec![
            format!("n{p}"),
            format!("v{p}"),
            c[0].to_string(),
            c[1].to_string(),
            c[2].to_string(),
            learned,
        ]);
    }

    let names = Names {
        instance: &|_| "the decree".into(),
        value: &|v| format!("v{v}"),
    };
    let wanted = |name: &str| spec.checks.is_empty() || spec.checks.iter().any(|c| c == name);
    let majority = quorum(spec.servers, false);
    let mut out = Vec::new();
    if wanted("agreement") {
        out.push(safety.agreement(&names, "learned"));
    }
    if wanted("validity") {
        out.push(safety.validity(&names, proposed));
    }
    if wanted("stability") {
        out.push(safety.stability(majority, &names));
    }
    if wanted("liveness") {
        let round = Server::longest_round(paxos);
        out.push(checks::every_server_learns(
            spec, round, &learns, stats.time,
        ));
    }
    debug_assert!(out.iter().all(|c| PAXOS_CHECKS.contains(&c.name.as_str())));
    let roles = roles_with_crashes(
        spec,
        obs.iter().filter_map(|(t, n, o)| match o {
            Obs::Role { role, term } => Some(RoleChange {
                time: *t,
                node: n.0,
                role: role.to_string(),
                term: *term,
            }),
            _ => None,
        }),
    );
    RunOutcome {
        plots: vec![],
        stats,
        checks: out,
        ops: vec![],
        roles,
        tables: vec![table],
        records: trace.records,
        labels: trace.labels,
        replay: trace.replay,
        views: trace.views,
        traced_ops: None,
    }
}
