//! Multi-Paxos as a replicated key-value store: the nodes of a run (replicas from
//! `replica.rs`, and the shared `workload::kv` clients), and how a run is judged: agreement
//! (no two replicas apply different commands in one slot), validity (every chosen command
//! was a client's or a no-op), stability (a chosen command stays chosen), and the shared
//! linearizability and liveness checks of the client history.

use std::collections::{BTreeMap, BTreeSet};

use super::checks::{self, Accept, Learn, Names, Proposal};
use super::messages::{Ballot, MultiMsg};
use super::replica::{Durable, Replica};
use super::{MULTI_CHECKS, MultiPaxosSpec, quorum};
use crate::protocols::common::{self, roles_with_crashes};
use crate::protocols::{RoleChange, RunOutcome, RunSpec, Table};
use crate::sim::{Context, Node, NodeId, Protocol, Sim, SimConfig, stable_hash};
use crate::workload::WorkloadSpec;
use crate::workload::kv::Command;
use crate::workload::kv::{
    ClientObs, ClientTimer, KvClient, KvNode, KvRequest, history, witness_order,
};

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
    Client(ClientObs),
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

    fn view(&self, durable: &Durable) -> Option<crate::sim::NodeView> {
        Some(match self {
            MultiNode::Replica(r) => r.view(durable),
            MultiNode::Client(c) => c.view(),
        })
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
        match (self, msg) {
            (MultiNode::Replica(r), m) => {
                r.on_message(ctx, from, m);
                r.drain_local(ctx);
            }
            (MultiNode::Client(c), MultiMsg::Reply(rep)) => c.on_reply(ctx, from, rep),
            (MultiNode::Client(_), _) => {}
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
        MultiMsg::Request(r)
    }
    fn client_timer(t: ClientTimer) -> Timer {
        Timer::Client(t)
    }
    fn client_obs(o: ClientObs) -> Obs {
        Obs::Client(o)
    }
}

struct Builder {
    spec: MultiPaxosSpec,
    workload: WorkloadSpec,
    servers: u32,
}

impl Protocol for Builder {
    type Node = MultiNode;
    fn node(&self, id: NodeId, _durable: &Durable) -> MultiNode {
        if id.0 < self.servers {
            MultiNode::Replica(Box::new(Replica::new(id.0, &self.spec)))
        } else {
            MultiNode::Client(Box::new(KvClient::new(
                id.0 - self.servers,
                &self.workload,
                self.servers,
            )))
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
        },
        cfg,
    );
    let (stats, trace) = crate::protocols::stepper::run(&mut sim);
    let obs = sim.take_observations();

    let (ops, hist) = history(obs.iter().filter_map(|(t, _, o)| match o {
        Obs::Client(c) => Some((*t, c.clone())),
        _ => None,
    }));
    // Every command a client asked for (by hash, as the replicas report them), and no-ops.
    // Command hash -> the observation that invoked it (for the checks' counterexamples).
    let mut proposed: BTreeMap<u64, usize> = BTreeMap::new();
    let mut proposals = Vec::new();
    let mut accepts = Vec::new();
    let mut learns = Vec::new();
    let mut table = Table::new(
        "Multi-Paxos leaders",
        &["time", "leader", "ballot", "re-proposed", "no-ops"],
    );
    for (i, (t, n, o)) in obs.iter().enumerate() {
        match o {
            Obs::Client(ClientObs::Invoke { client, seq, op }) => {
                let h = stable_hash(&Command::Client {
                    client: *client,
                    seq: *seq,
                    op: std::sync::Arc::new(op.clone()),
                });
                proposed.insert(h, i);
            }
            Obs::Propose {
                slot,
                ballot,
                command,
            } => proposals.push(Proposal {
                time: *t,
                instance: *slot,
                ballot: *ballot,
                value: *command,
            }),
            Obs::Accepted {
                slot,
                ballot,
                command,
            } => accepts.push(Accept {
                time: *t,
                instance: *slot,
                acceptor: n.0,
                ballot: *ballot,
                value: *command,
            }),
            Obs::Applied { slot, command } => learns.push(Learn {
                time: *t,
                node: n.0,
                instance: *slot,
                value: *command,
            }),
            Obs::Leader {
                ballot,
                recovered,
                noops,
            } => table.row(vec![
                crate::sim::fmt_time(*t),
                format!("n{}", n.0),
                ballot.to_string(),
                recovered.to_string(),
                noops.to_string(),
            ]),
            _ => {}
        }
    }
    let noop = stable_hash(&Command::<crate::workload::kv::KvOp>::Noop);
    let value = |h: u64| match proposed.get(&h).map(|&i| &obs[i].2) {
        _ if h == noop => "a no-op".to_string(),
        Some(Obs::Client(ClientObs::Invoke { client, seq, op })) => {
            format!("c{client}'s request {seq} ({op:?})")
        }
        _ => format!("a command nobody invoked (hash {h:016x})"),
    };
    let names = Names {
        instance: &|s| format!("slot {s}"),
        value: &value,
    };
    let wanted = |name: &str| spec.checks.is_empty() || spec.checks.iter().any(|c| c == name);
    let mut out = Vec::new();
    if wanted("agreement") {
        out.push(checks::agreement(&learns, &names, "applied"));
    }
    if wanted("validity") {
        let mut valid: BTreeSet<u64> = proposed.keys().copied().collect();
        valid.insert(noop);
        out.push(checks::validity(&learns, &accepts, &valid, &names));
    }
    if wanted("stability") {
        let majority = quorum(spec.servers, false);
        out.push(checks::stability(&proposals, &accepts, majority, &names));
    }
    if wanted("linearizability") {
        // The witness: client requests in the order of the slots they were chosen in (the
        // first value learned per slot; replicas apply slots in order, once per request).
        let mut chosen: BTreeMap<u64, u64> = BTreeMap::new();
        for l in &learns {
            chosen.entry(l.instance).or_insert(l.value);
        }
        let applied: Vec<(u32, u64)> = chosen
            .values()
            .filter_map(|h| match proposed.get(h).map(|&i| &obs[i].2) {
                Some(Obs::Client(ClientObs::Invoke { client, seq, .. })) => Some((*client, *seq)),
                _ => None,
            })
            .collect();
        let ids = obs.iter().filter_map(|(_, _, o)| match o {
            Obs::Client(ClientObs::Invoke { client, seq, .. }) => Some((*client, *seq)),
            _ => None,
        });
        let order = witness_order(ids, &applied);
        out.push(common::linearizability(&ops, &hist, Some(&order)));
    }
    if wanted("liveness") {
        out.push(common::liveness(spec, &ops, stats.time));
    }
    debug_assert!(out.iter().all(|c| MULTI_CHECKS.contains(&c.name.as_str())));

    let slots = learns.iter().map(|l| l.instance).max().unwrap_or(0);
    let mut summary = Table::new("Multi-Paxos", &["figure", "value"]);
    let per_slot = if slots == 0 {
        "-".into()
    } else {
        format!("{:.1}", stats.counters.sent as f64 / slots as f64)
    };
    let mut applied_by: BTreeMap<u32, u64> = BTreeMap::new();
    for l in &learns {
        let e = applied_by.entry(l.node).or_default();
        *e = (*e).max(l.instance);
    }
    if multi.lease.is_some() {
        let reads = obs.iter().filter(|o| matches!(o.2, Obs::LeaseRead)).count();
        summary.row(vec![
            "reads answered under a lease".into(),
            reads.to_string(),
        ]);
    }
    for (k, v) in [
        ("leaders elected", table.rows.len().to_string()),
        ("highest slot applied", slots.to_string()),
        ("messages per applied slot", per_slot),
        (
            "slots applied per replica",
            (0..spec.servers)
                .map(|i| applied_by.get(&i).copied().unwrap_or(0).to_string())
                .collect::<Vec<_>>()
                .join(" "),
        ),
    ] {
        summary.row(vec![k.into(), v]);
    }

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
        ops,
        roles,
        tables: vec![summary, table],
        records: trace.records,
        labels: trace.labels,
        views: trace.views,
    }
}
