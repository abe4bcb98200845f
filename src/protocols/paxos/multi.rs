//! Multi-Paxos as a replicated key-value store: the nodes of a run (replicas from
//! `replica.rs`, and the shared `workload::kv` clients), and how a run is judged: agreement
//! (no two replicas apply different commands in one slot), validity (every chosen command
//! was a client's or a no-op), stability (a chosen command stays chosen), and the shared
//! linearizability and liveness checks of the client history.

use std::hash::BuildHasherDefault;

use super::checks::{Accept, Learn, Names, Proposal, Safety};
use super::messages::{Ballot, MultiMsg, client_command_hash};
use super::replica::{Durable, Replica};
use super::{MULTI_CHECKS, MultiPaxosSpec, quorum};
use crate::protocols::common::{self, roles_with_crashes};
use crate::protocols::{RoleChange, RunOutcome, RunSpec, Table};
use crate::sim::{Context, Node, NodeId, Protocol, Sim, SimConfig, Time, stable_hash};
use crate::workload::WorkloadSpec;
use crate::workload::kv::{
    ClientObs, ClientTimer, HistoryBuilder, KvClient, KvNode, KvRequest, witness_order,
};
use crate::workload::kv::{Command, KvOp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// No leader heard for this long: run phase 1.
    Election,
    /// Leader: heartbeat and resend unanswered accepts; candidate: resend prepares.
    Heartbeat,
    Client(ClientTimer),
}

/// What the nodes report. Commands are reported by their stable hash.
#[derive(Clone, Debug)]
pub enum Obs {
    /// Boxed: a client's invoke holds an operation, four times the size of the protocol's
    /// own reports, which are five times as many.
    Client(Box<ClientObs>),
    Role {
        role: &'static str,
        term: u64,
    },
    /// Phase 1 won: `recovered` proposals re-proposed, `noops` holes filled.
    Leader {
        ballot: Ballot,
        recovered: u64,
        noops: u64,
    },
    /// The leader issued phase 2 for `slot`.
    Propose {
        slot: u64,
        ballot: Ballot,
        command: u64,
    },
    /// An acceptor accepted.
    Accepted {
        slot: u64,
        ballot: Ballot,
        command: u64,
    },
    /// A replica applied `slot` to its state machine.
    Applied {
        slot: u64,
        command: u64,
    },
    /// The leader answered a get from its own state under its lease.
    LeaseRead,
}

/// A node of a Multi-Paxos run.
#[derive(Clone, Debug)]
pub enum MultiNode {
    Replica(Box<Replica>),
    Client(Box<KvClient>),
}

impl Node for MultiNode {
    type Msg = MultiMsg;
    type Timer = Timer;
    type Durable = Durable;
    type Obs = Obs;

    fn write_label(msg: &MultiMsg, out: &mut String) {
        msg.write_debug(out)
    }

    fn view(&self, durable: &Durable) -> Option<crate::sim::NodeView> {
        Some(match self {
            MultiNode::Replica(r) => r.view(durable),
            MultiNode::Client(c) => c.view(),
        })
    }
    fn view_stamp(&self, durable: &Durable) -> Option<u64> {
        Some(match self {
            MultiNode::Replica(r) => r.view_stamp(durable),
            MultiNode::Client(c) => c.view_stamp(),
        })
    }
    fn fork(&self) -> Option<Self> {
        Some(self.clone())
    }

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match self {
            MultiNode::Replica(r) => {
                r.on_start(ctx);
                r.drain_local(ctx);
            }
            MultiNode::Client(c) => c.on_start(ctx),
        }
    }
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: MultiMsg) {
        match self {
            MultiNode::Replica(r) => {
                r.on_message(ctx, from, msg);
                r.drain_local(ctx);
            }
            MultiNode::Client(c) => {
                if let MultiMsg::Reply(rep) = msg {
                    c.on_reply(ctx, from, rep)
                }
            }
        }
    }
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, t: Timer) {
        match (self, t) {
            (MultiNode::Client(c), Timer::Client(ct)) => {
                let now = ctx.now();
                c.on_timer(ctx, ct, now)
            }
            (MultiNode::Replica(r), t) => {
                r.on_timer(ctx, t);
                r.drain_local(ctx);
            }
            _ => {}
        }
    }
}

impl KvNode for MultiNode {
    fn request(r: KvRequest) -> MultiMsg {
        MultiMsg::Request(Box::new(r))
    }
    fn client_timer(t: ClientTimer) -> Timer {
        Timer::Client(t)
    }
    fn client_obs(o: ClientObs) -> Obs {
        Obs::Client(Box::new(o))
    }
}

struct Builder {
    spec: MultiPaxosSpec,
    workload: WorkloadSpec,
    servers: u32,
    /// The run's seed, from which each client's workload stream is drawn.
    seed: u64,
    /// What the checks read, taken from the observations in the order they were made.
    judge: Judge,
    /// Observations not yet judged (at most `JUDGE_BATCH`).
    unjudged: Vec<(Time, NodeId, Obs)>,
}

/// How many observations are judged at a time. The judge (the safety checks' state, the
/// client history) runs over a batch in one go rather than between every two events: its
/// code and data stay in the caches for the batch instead of being evicted by, and evicting,
/// the replicas' and the engine's. Nothing reads the judge before the run ends.
const JUDGE_BATCH: usize = 128;

impl Builder {
    /// Judges every observation made so far, in order.
    #[inline(never)]
    fn judge_unjudged(&mut self) {
        for (t, n, o) in self.unjudged.drain(..) {
            self.judge.observe(t, n, o);
        }
    }
}

impl Protocol for Builder {
    type Node = MultiNode;
    fn observed(&mut self, t: Time, n: NodeId, o: Obs, _durable: &Durable) -> Option<Obs> {
        self.unjudged.push((t, n, o));
        if self.unjudged.len() >= JUDGE_BATCH {
            self.judge_unjudged();
        }
        None
    }
    fn fork(&self) -> Option<Self> {
        // A fork only replays a report's window: its fresh judge's verdicts are never read.
        Some(Builder {
            spec: self.spec.clone(),
            workload: self.workload.clone(),
            servers: self.servers,
            seed: self.seed,
            judge: Judge::new(self.servers),
            unjudged: Vec::with_capacity(JUDGE_BATCH),
        })
    }
    fn node(&self, id: NodeId, _durable: &Durable) -> MultiNode {
        if id.0 < self.servers {
            MultiNode::Replica(Box::new(Replica::new(id.0, &self.spec)))
        } else {
            MultiNode::Client(Box::new(KvClient::new(
                id.0 - self.servers,
                &self.workload,
                self.servers,
                self.seed,
            )))
        }
    }
}

/// Invoked commands by hash: a hash table (keys are hashes already: passed through) that offers
/// only insert and lookup, so no iteration order of it can reach a verdict or the trace.
#[derive(Default)]
struct Invoked(
    #[allow(clippy::disallowed_types)]
    std::collections::HashMap<u64, usize, BuildHasherDefault<crate::check::PreHashed>>,
);

impl Invoked {
    fn insert(&mut self, hash: u64, op: usize) {
        self.0.insert(hash, op);
    }
    fn get(&self, hash: &u64) -> Option<&usize> {
        self.0.get(hash)
    }
    fn contains_key(&self, hash: &u64) -> bool {
        self.0.contains_key(hash)
    }
}

/// What the checks of a Multi-Paxos run read, judged as the run goes instead of keeping every
/// observation: the client history, every invoked command by hash, and the safety checks'
/// state (`checks::Safety`).
struct Judge {
    clients: HistoryBuilder,
    /// Command hash -> the index of the operation that invoked it (for validity and for the
    /// checks' counterexamples). Keys are hashes already; only looked up, never iterated.
    proposed: Invoked,
    /// The no-op's hash: a leader proposes it in the holes.
    noop: u64,
    safety: Safety,
    /// Per replica, the highest slot it applied.
    applied_by: Vec<u64>,
    /// (time, leader, ballot, re-proposed, no-ops) per phase 1 won.
    leaders: Vec<(Time, u32, Ballot, u64, u64)>,
    roles: Vec<RoleChange>,
    lease_reads: u64,
}

impl Judge {
    fn new(servers: u32) -> Judge {
        Judge {
            clients: HistoryBuilder::default(),
            proposed: Invoked::default(),
            noop: stable_hash(&Command::<KvOp>::Noop),
            safety: Safety::default(),
            applied_by: vec![0; servers as usize],
            leaders: Vec::new(),
            roles: Vec::new(),
            lease_reads: 0,
        }
    }

    fn observe(&mut self, t: Time, n: NodeId, o: Obs) {
        let (noop, proposed) = (self.noop, &self.proposed);
        let proposed = |h: u64| h == noop || proposed.contains_key(&h);
        match o {
            Obs::Client(c) => {
                if let ClientObs::Invoke { client, seq, op } = &*c {
                    let h = client_command_hash(*client, *seq, op);
                    self.proposed.insert(h, self.clients.ids().len());
                }
                self.clients.push(t, *c);
            }
            o @ (Obs::Role { .. } | Obs::Leader { .. }) => self.leader_change(t, n, o),
            Obs::Propose {
                slot,
                ballot,
                command,
            } => self.safety.propose(Proposal {
                time: t,
                instance: slot,
                ballot,
                value: command,
            }),
            Obs::Accepted {
                slot,
                ballot,
                command,
            } => {
                let a = Accept {
                    time: t,
                    instance: slot,
                    acceptor: n.0,
                    ballot,
                    value: command,
                };
                self.safety.accept(a, proposed);
            }
            Obs::Applied { slot, command } => {
                let l = Learn {
                    time: t,
                    node: n.0,
                    instance: slot,
                    value: command,
                };
                self.safety.learn(l, proposed);
                if let Some(e) = self.applied_by.get_mut(n.idx()) {
                    *e = (*e).max(slot);
                }
            }
            Obs::LeaseRead => self.lease_reads += 1,
        }
    }

    /// A role change or a phase 1 won: rare, kept off the path of every command.
    #[cold]
    #[inline(never)]
    fn leader_change(&mut self, t: Time, n: NodeId, o: Obs) {
        match o {
            Obs::Role { role, term } => self.roles.push(RoleChange {
                time: t,
                node: n.0,
                role: role.to_string(),
                term,
            }),
            Obs::Leader {
                ballot,
                recovered,
                noops,
            } => self.leaders.push((t, n.0, ballot, recovered, noops)),
            _ => {}
        }
    }
}

/// Runs a Multi-Paxos scenario and judges it.
pub fn run(spec: &RunSpec, multi: &MultiPaxosSpec) -> RunOutcome {
    let mut cfg = SimConfig::new(spec.seed, spec.servers, spec.workload.clients);
    cfg.network = spec.network.clone();
    cfg.faults = spec.faults.clone();
    cfg.limits = spec.limits;
    cfg.record = spec.record;
    let mut sim = Sim::new(
        Builder {
            spec: multi.clone(),
            workload: spec.workload.clone(),
            servers: spec.servers,
            seed: spec.seed,
            judge: Judge::new(spec.servers),
            unjudged: Vec::with_capacity(JUDGE_BATCH),
        },
        cfg,
    );
    let (stats, trace) = crate::protocols::stepper::run(&mut sim);
    let Judge {
        clients,
        proposed,
        noop,
        safety,
        applied_by,
        leaders,
        roles,
        lease_reads,
    } = {
        let builder = sim.protocol_mut();
        builder.judge_unjudged();
        std::mem::replace(&mut builder.judge, Judge::new(0))
    };
    drop(sim);
    let ids = clients.ids().to_vec();
    let (ops, hist) = clients.finish();
    let mut table = Table::new(
        "Multi-Paxos leaders",
        &["time", "leader", "ballot", "re-proposed", "no-ops"],
    );
    for (t, n, ballot, recovered, noops) in leaders {
        table.row(vec![
            crate::sim::fmt_time(t),
            format!("n{n}"),
            ballot.to_string(),
            recovered.to_string(),
            noops.to_string(),
        ]);
    }
    let value = |h: u64| match proposed.get(&h) {
        _ if h == noop => "a no-op".to_string(),
        Some(&i) => {
            let (client, seq) = ids[i];
            format!("c{client}'s request {seq} ({:?})", hist.ops[i].input)
        }
        None => format!("a command nobody invoked (hash {h:016x})"),
    };
    let names = Names {
        instance: &|s| format!("slot {s}"),
        value: &value,
    };
    let wanted = |name: &str| spec.checks.is_empty() || spec.checks.iter().any(|c| c == name);
    let mut out = Vec::new();
    let is_proposed = |h: u64| h == noop || proposed.contains_key(&h);
    if wanted("agreement") {
        out.push(safety.agreement(&names, "applied"));
    }
    if wanted("validity") {
        out.push(safety.validity(&names, is_proposed));
    }
    if wanted("stability") {
        let majority = quorum(spec.servers, false);
        out.push(safety.stability(majority, &names));
    }
    if wanted("linearizability") {
        // The witness: client requests in the order of the slots they were chosen in (the
        // first value learned per slot; replicas apply slots in order, once per request).
        let applied: Vec<(u32, u64)> = safety
            .first_learned()
            .flatten()
            .filter_map(|h| proposed.get(&h).map(|&i| ids[i]))
            .collect();
        let order = witness_order(ids.iter().copied(), &applied);
        out.push(common::linearizability(&ops, &hist, Some(&order)));
    }
    if wanted("liveness") {
        out.push(common::liveness(spec, &ops, stats.time));
    }
    debug_assert!(out.iter().all(|c| MULTI_CHECKS.contains(&c.name.as_str())));

    let slots = applied_by.iter().copied().max().unwrap_or(0);
    let mut summary = Table::new("Multi-Paxos", &["figure", "value"]);
    let per_slot = if slots == 0 {
        "-".into()
    } else {
        format!("{:.1}", stats.counters.sent as f64 / slots as f64)
    };
    if multi.lease.is_some() {
        summary.row(vec![
            "reads answered under a lease".into(),
            lease_reads.to_string(),
        ]);
    }
    for (k, v) in [
        ("leaders elected", table.rows.len().to_string()),
        ("highest slot applied", slots.to_string()),
        ("messages per applied slot", per_slot),
        (
            "slots applied per replica",
            (0..spec.servers)
                .map(|i| applied_by[i as usize].to_string())
                .collect::<Vec<_>>()
                .join(" "),
        ),
    ] {
        summary.row(vec![k.into(), v]);
    }

    let roles = roles_with_crashes(spec, roles.into_iter());
    RunOutcome {
        plots: vec![],
        stats,
        checks: out,
        ops,
        roles,
        tables: vec![summary, table],
        records: trace.records,
        labels: trace.labels,
        replay: trace.replay,
        views: trace.views,
        traced_ops: None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::messages::LogCommand;
    use crate::sim::stable_hash;
    use crate::workload::kv::{Command, KvOp};

    #[test]
    fn a_log_command_hashes_and_prints_as_the_shared_command() {
        let ops = [
            KvOp::Get { key: "k0".into() },
            KvOp::Put {
                key: "k1".into(),
                value: "c2.17 ".into(),
            },
            KvOp::Append {
                key: "a much longer key than eight bytes".into(),
                value: Default::default(),
            },
        ];
        for (i, op) in ops.into_iter().enumerate() {
            let (client, seq) = (i as u32, 1000 + i as u64);
            let command = Command::Client {
                client,
                seq,
                op: Arc::new(op.clone()),
            };
            let log = LogCommand::client(client, seq, op);
            assert_eq!(log.hash, stable_hash(&command));
            assert_eq!(format!("{log:?}"), format!("{command:?}"));
            assert_eq!(log.command(), command);
        }
        let noop = LogCommand::noop();
        assert_eq!(noop.hash, stable_hash(&Command::<KvOp>::Noop));
        assert_eq!(format!("{noop:?}"), "Noop");
    }
}
