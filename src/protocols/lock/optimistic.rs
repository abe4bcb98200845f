//! Optimistic locking, the contrast to the locks: no lock at all. A client reads a versioned
//! record, works on it, and writes back with compare-and-set on the version it read; if
//! someone wrote in between, the write fails and the client starts over with a fresh read.
//! Conflicts surface as failed writes, not waits. The record lives on one server (node 0) and
//! is persisted before the store replies. Here the read-modify-write is the protocol, so its
//! client lives beside the store.
//!
//! Checks: `lost-update` (every accepted write replaced exactly the version it was based on),
//! linearizability of the reads and compare-and-sets (shared, [`common::linearizability`]),
//! and liveness after the faults heal.
//!
//! Known-bug variant: `blind_write` (the store ignores the version: last writer wins, and
//! updates based on the same version overwrite each other).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::redis::bug_name;
use crate::check::{History, KvInput, KvOutput};
use crate::protocols::common::{self, fail, pass};
use crate::protocols::{CheckOutcome, ProtocolDef, ProtocolInfo, RunOutcome, RunSpec, Table};
use crate::sim::{Context, MILLIS, Node, NodeId, Protocol, Sim, SimConfig, Time, fmt_time};
use crate::workload::{OpRecord, OpStatus, WorkloadSpec};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimisticBug {
    /// The store writes without comparing the version.
    BlindWrite,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimisticSpec {
    /// Work between the read and the write-back, uniform in [min, max].
    #[serde(with = "crate::sim::dur::pair")]
    pub work: (Time, Time),
    pub bug: Option<OptimisticBug>,
}

impl Default for OptimisticSpec {
    fn default() -> Self {
        OptimisticSpec {
            work: (5 * MILLIS, 30 * MILLIS),
            bug: None,
        }
    }
}

pub const CHECKS: &[&str] = &["lost-update", "linearizability", "liveness"];

pub const INFO: ProtocolInfo = ProtocolInfo {
    name: "optimistic-lock",
    about: "optimistic locking: read a versioned record, write back with compare-and-set on the version",
    variants: &[
        ("correct", "the store compares the version before writing"),
        (
            "blind_write",
            "the store ignores the version: concurrent updates overwrite each other (lost updates)",
        ),
    ],
    checks: CHECKS,
};

impl ProtocolDef for OptimisticSpec {
    fn name(&self) -> &'static str {
        "optimistic-lock"
    }
    fn variant(&self) -> String {
        bug_name(self.bug)
    }
    fn checks(&self) -> &'static [&'static str] {
        CHECKS
    }
    fn validate(&self, servers: u32) -> Result<(), String> {
        if servers != 1 {
            return Err(format!(
                "OptimisticLock keeps its record on one server: cluster.servers must be 1 (got {servers})"
            ));
        }
        if self.work.0 > self.work.1 {
            return Err("OptimisticLock.work: min is greater than max".into());
        }
        Ok(())
    }
    fn run(&self, spec: &RunSpec) -> RunOutcome {
        run(spec, self)
    }
}

/// The record: its version and value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Record {
    pub version: u64,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    Read {
        seq: u64,
    },
    ReadReply {
        seq: u64,
        record: Record,
    },
    /// Write `value` if the record is still at `expected`.
    Cas {
        seq: u64,
        expected: u64,
        value: String,
    },
    CasReply {
        seq: u64,
        ok: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    Think,
    Work,
    Timeout(u64),
}

#[derive(Clone, Debug)]
pub enum Obs {
    Invoke {
        client: u32,
        seq: u64,
        input: KvInput,
    },
    Complete {
        client: u32,
        seq: u64,
        output: KvOutput,
    },
    /// The store wrote version `new` over `replaced`; the writer had read `expected`.
    Written {
        client: u32,
        seq: u64,
        expected: u64,
        replaced: u64,
        new: u64,
    },
}

const KEY: &str = "record";

#[derive(Clone, Debug)]
pub struct Client {
    index: u32,
    workload: WorkloadSpec,
    work: (Time, Time),
    seq: u64,
    updates: u32,
    /// The read this client works from, and the request in flight.
    read: Option<Record>,
    pending: Option<u64>,
}

type Ctx<'a, 'b> = &'a mut Context<'b, OptNode>;

impl Client {
    fn think(&self, ctx: Ctx) {
        let d = ctx.random_range(self.workload.think.0, self.workload.think.1);
        ctx.set_timer(Timer::Think, d);
    }

    fn request(&mut self, ctx: Ctx, input: KvInput, msg: impl FnOnce(u64) -> Msg) {
        self.seq += 1;
        let seq = self.seq;
        ctx.observe(Obs::Invoke {
            client: self.index,
            seq,
            input,
        });
        self.pending = Some(seq);
        ctx.send(NodeId(0), msg(seq));
        ctx.set_timer(Timer::Timeout(seq), self.workload.timeout);
    }

    fn on_timer(&mut self, ctx: Ctx, t: Timer) {
        match t {
            Timer::Think => {
                let limit = self.workload.ops_per_client > 0
                    && self.updates >= self.workload.ops_per_client;
                if self.pending.is_some() || limit || ctx.now() >= self.workload.stop {
                    return;
                }
                self.updates += 1;
                self.read = None;
                self.request(ctx, KvInput::Get { key: KEY.into() }, |seq| Msg::Read {
                    seq,
                });
            }
            Timer::Work => {
                let Some(r) = self.read.clone() else {
                    return;
                };
                let value = format!("c{}.{}", self.index, self.seq + 1);
                let input = KvInput::Cas {
                    key: KEY.into(),
                    from: r.value.as_str().into(),
                    to: value.as_str().into(),
                };
                self.request(ctx, input, |seq| Msg::Cas {
                    seq,
                    expected: r.version,
                    value,
                });
            }
            Timer::Timeout(seq) => {
                if self.pending == Some(seq) {
                    self.pending = None;
                    self.think(ctx);
                }
            }
        }
    }

    fn on_message(&mut self, ctx: Ctx, msg: Msg) {
        let (seq, output) = match &msg {
            Msg::ReadReply { seq, record } => (*seq, KvOutput::Value(record.value.as_str().into())),
            Msg::CasReply { seq, ok } => (*seq, KvOutput::Cas(*ok)),
            _ => return,
        };
        if self.pending != Some(seq) {
            return;
        }
        self.pending = None;
        ctx.observe(Obs::Complete {
            client: self.index,
            seq,
            output,
        });
        match msg {
            Msg::ReadReply { record, .. } => {
                self.read = Some(record);
                let d = ctx.random_range(self.work.0, self.work.1);
                ctx.set_timer(Timer::Work, d);
            }
            // Written, or someone wrote first: either way, think, then read afresh.
            _ => self.think(ctx),
        }
    }
}

#[derive(Clone, Debug)]
pub enum OptNode {
    Store { blind: bool },
    Client(Box<Client>),
}

impl Node for OptNode {
    type Msg = Msg;
    type Timer = Timer;
    type Durable = Record;
    type Obs = Obs;

    /// The store's record (version and value); clients are drawn from their role timeline.
    fn view(&self, d: &Record) -> Option<crate::sim::NodeView> {
        match self {
            OptNode::Store { .. } => Some(
                crate::sim::NodeView::new("store", Some(d.version))
                    .field("version", d.version.to_string())
                    .field("value", d.value.clone()),
            ),
            OptNode::Client(_) => None,
        }
    }

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if let OptNode::Client(c) = self {
            c.think(ctx)
        }
    }
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match self {
            OptNode::Client(c) => c.on_message(ctx, msg),
            OptNode::Store { blind } => match msg {
                Msg::Read { seq } => {
                    let record = ctx.durable_ref().clone();
                    ctx.send(from, Msg::ReadReply { seq, record });
                }
                Msg::Cas {
                    seq,
                    expected,
                    value,
                } => {
                    let r = ctx.durable();
                    // BUG (blind_write) when blind: the version is not compared.
                    let ok = r.version == expected || *blind;
                    if ok {
                        let replaced = r.version;
                        r.version += 1;
                        r.value = value;
                        let new = r.version;
                        ctx.observe(Obs::Written {
                            client: from.0 - 1,
                            seq,
                            expected,
                            replaced,
                            new,
                        });
                    }
                    ctx.send(from, Msg::CasReply { seq, ok });
                }
                _ => {}
            },
        }
    }
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, t: Timer) {
        if let OptNode::Client(c) = self {
            c.on_timer(ctx, t)
        }
    }
}

struct OptProtocol {
    spec: OptimisticSpec,
    workload: WorkloadSpec,
}

impl Protocol for OptProtocol {
    type Node = OptNode;
    fn node(&self, id: NodeId, _d: &Record) -> OptNode {
        if id.0 == 0 {
            OptNode::Store {
                blind: self.spec.bug == Some(OptimisticBug::BlindWrite),
            }
        } else {
            OptNode::Client(Box::new(Client {
                index: id.0 - 1,
                workload: self.workload.clone(),
                work: self.spec.work,
                seq: 0,
                updates: 0,
                read: None,
                pending: None,
            }))
        }
    }
}

fn run(spec: &RunSpec, opt: &OptimisticSpec) -> RunOutcome {
    let mut cfg = SimConfig::new(spec.seed, 1, spec.workload.clients);
    cfg.network = spec.network.clone();
    cfg.faults = spec.faults.clone();
    cfg.limits = spec.limits;
    cfg.record = spec.record;
    let mut sim = Sim::new(
        OptProtocol {
            spec: opt.clone(),
            workload: spec.workload.clone(),
        },
        cfg,
    );
    let (stats, trace) = crate::protocols::stepper::run(&mut sim);
    let obs = sim.take_observations();
    // The client history, for reports and the linearizability check.
    let mut ops: Vec<OpRecord> = Vec::new();
    let mut io: Vec<(KvInput, Option<KvOutput>)> = Vec::new();
    let mut open: BTreeMap<(u32, u64), usize> = BTreeMap::new();
    let mut index: BTreeMap<(u32, u64), usize> = BTreeMap::new();
    let mut written = Vec::new();
    for (t, _, o) in &obs {
        match o {
            Obs::Invoke { client, seq, input } => {
                open.insert((*client, *seq), ops.len());
                index.insert((*client, *seq), ops.len());
                let kind = if matches!(input, KvInput::Get { .. }) {
                    "read"
                } else {
                    "cas"
                };
                ops.push(OpRecord {
                    client: *client,
                    call: *t,
                    ret: None,
                    status: OpStatus::Unknown,
                    kind: kind.into(),
                    key: KEY.into(),
                    desc: String::new(),
                });
                io.push((input.clone(), None));
            }
            Obs::Complete {
                client,
                seq,
                output,
            } => {
                if let Some(i) = open.remove(&(*client, *seq)) {
                    ops[i].ret = Some(*t);
                    ops[i].status = OpStatus::Ok;
                    io[i].1 = Some(output.clone());
                }
            }
            Obs::Written { .. } => written.push((*t, o.clone())),
        }
    }
    let mut hist: History<KvInput, KvOutput> = History::new();
    for (r, (input, output)) in ops.iter_mut().zip(&io) {
        r.desc = format!(
            "c{} {}",
            r.client,
            crate::check::Model::describe(&crate::check::KvAppend, input, output.as_ref())
        );
        match (r.ret, output) {
            (Some(ret), Some(out)) => {
                hist.ok(r.client as u64, r.call, ret, input.clone(), out.clone())
            }
            _ => hist.unknown(r.client as u64, r.call, input.clone()),
        }
    }
    let wanted = |name: &str| spec.checks.is_empty() || spec.checks.iter().any(|c| c == name);
    let mut checks = Vec::new();
    if wanted("lost-update") {
        checks.push(lost_update(&written, &index, spec.servers));
    }
    if wanted("linearizability") {
        checks.push(common::linearizability(&ops, &hist, None));
    }
    if wanted("liveness") {
        checks.push(common::liveness(spec, &ops, stats.time));
    }
    let conflicts = io
        .iter()
        .filter(|(_, o)| *o == Some(KvOutput::Cas(false)))
        .count();
    let mut t = Table::new("Optimistic locking", &["figure", "count"]);
    for (k, v) in [
        ("updates written", written.len()),
        ("write conflicts (compare-and-set failed, retried)", conflicts),
        (
            "writes that replaced a version they had not read",
            written
                .iter()
                .filter(|(_, w)| matches!(w, Obs::Written { expected, replaced, .. } if expected != replaced))
                .count(),
        ),
    ] {
        t.row(vec![k.into(), v.to_string()]);
    }
    RunOutcome {
        plots: vec![],
        stats,
        checks,
        ops,
        roles: common::roles_with_crashes(spec, std::iter::empty()),
        tables: vec![t],
        records: trace.records,
        labels: trace.labels,
        replay: trace.replay,
        views: trace.views,
        traced_ops: None,
    }
}

fn lost_update(
    written: &[(Time, Obs)],
    index: &BTreeMap<(u32, u64), usize>,
    servers: u32,
) -> CheckOutcome {
    const NAME: &str = "lost-update";
    // Who wrote each version, to name the update that was lost.
    let mut by_version: BTreeMap<u64, (u32, Time)> = BTreeMap::new();
    for (t, w) in written {
        let Obs::Written {
            client,
            seq,
            expected,
            replaced,
            new,
        } = w
        else {
            continue;
        };
        if expected != replaced {
            let lost = by_version
                .get(replaced)
                .map_or("the initial record".to_string(), |(c, wt)| {
                    format!("c{c}'s update written at {}s", fmt_time(*wt))
                });
            return fail(
                NAME,
                format!(
                    "lost update: at {}s c{client} wrote version {new} from version {expected} it had read, over version {replaced}: {lost} is lost",
                    fmt_time(*t)
                ),
                index.get(&(*client, *seq)).copied().into_iter().collect(),
            )
            .dated(*t, [(servers + *client, format!("wrote version {new} over {replaced}"))]);
        }
        by_version.insert(*new, (*client, *t));
    }
    pass(
        NAME,
        format!(
            "{} updates, each written over the version it was based on",
            written.len()
        ),
    )
}
