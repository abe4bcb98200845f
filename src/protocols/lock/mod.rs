//! Distributed locks, and why fencing matters. Each lock service is its own protocol
//! (`RedisLock`, `Redlock`, `OptimisticLock`, `CoordinatorLock`); they share the client
//! (`workload::lock`), the protected resource and the checks (`checks.rs`).
//!
//! Layout of a run: lock servers are nodes `0..servers`, the lock clients follow, and the
//! protected resource is the last node. The resource is a storage actor: it accepts a write
//! unless fencing is on and the write's token is older than the newest token it accepted
//! (Kleppmann, "How to do distributed locking", 2016).
//!
//! Checks, judged from outside:
//! - `mutual-exclusion`, at the resource: every accepted write comes from the newest hold that
//!   has written so far (holds ordered by fencing token, or by when the holder began to
//!   believe it held the lock when there are no tokens). A stale write accepted after a newer
//!   holder's write is the violation; its report names both holders, the intervals in which
//!   each believed it held the lock (true time) and the stale write. Not judged (SKIPPED)
//!   when the storage accepted no write of a hold: there is nothing to order.
//! - `fencing-monotonicity`, when tokens are in use: the service grants strictly increasing
//!   tokens, and the resource accepts them in non-decreasing order.
//! - `lock-linearizability`: the lock's acquire/release history against the checker's `mutex`
//!   model ([`crate::check::Mutex`]); which history depends on the service (see [`LockView`]).
//! - `liveness` after the faults heal (shared, [`common::liveness`]).

use std::collections::BTreeMap;

use crate::check::{History, MutexInput, MutexOutput};
use crate::protocols::common;
use crate::protocols::{ProtocolSpec, RoleChange, RunOutcome, RunSpec, Table};
use crate::sim::{NodeId, RunStats, Time, TraceRecord, fmt_time};
use crate::workload::lock::{LockMsg, LockObs, Owner};
use crate::workload::{OpRecord, OpStatus};

mod checks;
pub mod coordinator;
pub mod optimistic;
pub mod redis;
pub mod redlock;
pub mod table;

pub use checks::lock_history;
use checks::{fencing_monotonicity, lock_linearizability, mutual_exclusion};

/// The checks every lock service offers.
pub const CHECKS: &[&str] = &[
    "mutual-exclusion",
    "fencing-monotonicity",
    "lock-linearizability",
    "liveness",
];

/// The protected resource: storage that clients write to while they believe they hold the
/// lock. With fencing it rejects a write whose token is older than the newest it accepted.
#[derive(Clone, Debug)]
pub struct Resource {
    /// Whether the storage checks tokens (`no_fencing`: it does not).
    pub fencing: bool,
    newest: Option<u64>,
}

impl Resource {
    pub fn new(fencing: bool) -> Self {
        Resource {
            fencing,
            newest: None,
        }
    }

    /// Judges one write: the reply to send and the observation to report.
    pub fn write(&mut self, owner: Owner, token: Option<u64>, seq: u64) -> (LockMsg, LockObs) {
        let stale = match (self.fencing, token, self.newest) {
            (true, Some(t), Some(n)) => t < n,
            _ => false,
        };
        if stale {
            let newest = self.newest.unwrap_or(0);
            return (
                LockMsg::WriteReply {
                    seq,
                    accepted: false,
                },
                LockObs::Rejected {
                    owner,
                    token,
                    newest,
                },
            );
        }
        if let Some(t) = token {
            self.newest = Some(self.newest.map_or(t, |n| n.max(t)));
        }
        // Fenced storage accepts a token only if it is the newest it has seen.
        debug_assert!(!self.fencing || token.is_none_or(|t| Some(t) == self.newest));
        (
            LockMsg::WriteReply {
                seq,
                accepted: true,
            },
            LockObs::Accepted { owner, token, seq },
        )
    }
}

/// Which acquire/release history `lock-linearizability` checks against the `mutex` model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockView {
    /// The service's own record: each grant, each delete (by whoever asked for it) and each
    /// expiry, in the order the single server performed them (for the coordinator, the order
    /// of its replicated log). A correct service is a mutex
    /// over it whatever the clients do; a forgotten lock or a reset token counter is not.
    Service,
    /// The clients' beliefs: an acquire that completed when the client began to believe it
    /// held the lock, and a release when it stopped believing (Redlock, whose lock exists
    /// only as a quorum of independent keys).
    Beliefs,
}

/// One believed hold, in true time.
#[derive(Clone, Debug)]
struct HoldSpan {
    owner: Owner,
    token: Option<u64>,
    start: Time,
    end: Option<(Time, &'static str)>,
}

impl HoldSpan {
    fn covers(&self, t: Time) -> bool {
        self.start <= t && self.end.is_none_or(|(e, _)| t < e)
    }
    fn describe(&self) -> String {
        let tok = self.token.map_or(String::new(), |t| format!(", token {t}"));
        let end = self.end.map_or("the end of the run".into(), |(e, why)| {
            format!("{}s ({why})", fmt_time(e))
        });
        format!(
            "c{} ({}{tok}) believed it held the lock from {}s to {end}",
            self.owner.client,
            self.owner,
            fmt_time(self.start)
        )
    }
}

/// What a lock run's observations say, gathered once for the checks, tables and roles.
struct Gathered {
    ops: Vec<OpRecord>,
    /// (client, op id) -> index into `ops`.
    op_index: BTreeMap<(u32, u64), usize>,
    holds: BTreeMap<Owner, HoldSpan>,
}

fn gather(obs: &[(Time, NodeId, LockObs)]) -> Gathered {
    let mut ops: Vec<OpRecord> = Vec::new();
    let mut op_index = BTreeMap::new();
    let mut holds: BTreeMap<Owner, HoldSpan> = BTreeMap::new();
    for (t, _, o) in obs {
        match o {
            LockObs::Invoke {
                client,
                id,
                kind,
                desc,
            } => {
                op_index.insert((*client, *id), ops.len());
                ops.push(OpRecord {
                    client: *client,
                    call: *t,
                    ret: None,
                    status: OpStatus::Unknown,
                    kind: kind.to_string().into(),
                    key: if *kind == "write" { "resource" } else { "lock" }.into(),
                    desc: desc.clone(),
                });
            }
            LockObs::Complete {
                client,
                id,
                status,
                desc,
            } => {
                if let Some(&i) = op_index.get(&(*client, *id)) {
                    let r = &mut ops[i];
                    r.status = *status;
                    r.ret = (*status != OpStatus::Unknown).then_some(*t);
                    r.desc = desc.clone();
                }
            }
            LockObs::Hold { owner, token } => {
                holds.insert(
                    *owner,
                    HoldSpan {
                        owner: *owner,
                        token: *token,
                        start: *t,
                        end: None,
                    },
                );
            }
            LockObs::HoldEnd { owner, why } => {
                if let Some(h) = holds.get_mut(owner) {
                    h.end.get_or_insert((*t, why));
                }
            }
            _ => {}
        }
    }
    Gathered {
        ops,
        op_index,
        holds,
    }
}

/// Judges a lock run: checks, figures and roles. `servers` lock servers, `clients` clients.
pub fn judge(
    spec: &RunSpec,
    stats: RunStats,
    obs: Vec<(Time, NodeId, LockObs)>,
    records: Vec<TraceRecord>,
    view: LockView,
) -> RunOutcome {
    let g = gather(&obs);
    let wanted = |name: &str| spec.checks.is_empty() || spec.checks.iter().any(|c| c == name);
    let mut checks = Vec::new();
    if wanted("mutual-exclusion") {
        checks.push(mutual_exclusion(&obs, &g, spec.servers));
    }
    let tokens_in_use = obs
        .iter()
        .any(|(_, _, o)| matches!(o, LockObs::Granted { token: Some(_), .. }));
    if wanted("fencing-monotonicity") && tokens_in_use {
        checks.push(fencing_monotonicity(&obs, spec.servers));
    }
    if wanted("lock-linearizability") {
        checks.push(lock_linearizability(
            &lock_history(&obs, view),
            view,
            &obs,
            spec.servers,
        ));
    }
    if wanted("liveness") {
        checks.push(common::liveness(spec, &g.ops, stats.time));
    }
    debug_assert!(checks.iter().all(|c| CHECKS.contains(&c.name.as_str())));
    let tables = tables(spec, &obs, &g);
    let roles = common::roles_with_crashes(spec, roles(spec, &obs).into_iter());
    RunOutcome {
        plots: vec![],
        stats,
        checks,
        ops: g.ops,
        roles,
        tables,
        records,
        views: Vec::new(),
        labels: Default::default(),
        replay: Default::default(),
        traced_ops: None,
    }
}

/// The acquire/release history of a run of a lock service (None for other protocols),
/// as `lock-linearizability` judges it.
pub fn history(spec: &RunSpec) -> Option<History<MutexInput, MutexOutput>> {
    let (family, view) = match &spec.protocol {
        ProtocolSpec::RedisLock(r) => (r.family(), LockView::Service),
        ProtocolSpec::Redlock(r) => (r.family(spec.servers), LockView::Beliefs),
        ProtocolSpec::CoordinatorLock(c) => {
            let s = coordinator::simulate(spec, c);
            return Some(lock_history(&s.lock, LockView::Service));
        }
        _ => return None,
    };
    let (_, obs, _) = redis::simulate(spec, family);
    Some(lock_history(&obs, view))
}

/// Writes a lock history as JSON events (`process`, `type`, `f`, `value`) that
/// `faultline check --model mutex` reads.
pub fn mutex_json(h: &History<MutexInput, MutexOutput>) -> String {
    let mut ev: Vec<(u64, serde_json::Value)> = Vec::new();
    for o in &h.ops {
        let f = match o.input {
            MutexInput::Acquire => "acquire",
            MutexInput::Release => "release",
        };
        let value = match &o.output {
            Some(MutexOutput::Granted(Some(t))) => serde_json::json!(t),
            _ => serde_json::Value::Null,
        };
        ev.push((
            2 * o.call,
            serde_json::json!({"process": o.client, "type": "invoke", "f": f, "value": null}),
        ));
        if let Some(ret) = o.ret {
            ev.push((
                2 * ret + 1,
                serde_json::json!({"process": o.client, "type": "ok", "f": f, "value": value}),
            ));
        }
    }
    ev.sort_by_key(|(t, _)| *t);
    let v: Vec<serde_json::Value> = ev.into_iter().map(|(_, e)| e).collect();
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

fn ms(t: Time) -> String {
    format!("{:.1}", t as f64 / 1e6)
}

/// The figures: per client (holds, waits, writes, pauses) and for the service (grants,
/// expiries while held, overlapping beliefs, stale writes).
fn tables(spec: &RunSpec, obs: &[(Time, NodeId, LockObs)], g: &Gathered) -> Vec<Table> {
    let clients = spec.workload.clients;
    #[derive(Default, Clone)]
    struct C {
        holds: u64,
        failed: u64,
        wait_ns: u64,
        waits: u64,
        hold_ns: u64,
        hold_max: u64,
        accepted: u64,
        rejected: u64,
        pauses: u64,
        ran_out: u64,
    }
    let mut c = vec![C::default(); clients as usize];
    let mut waiting_since: BTreeMap<u32, Time> = BTreeMap::new();
    let (mut grants, mut deletes, mut expiries, mut expired_held) = (0, 0, 0, 0);
    let end = obs.last().map_or(0, |o| o.0);
    for (t, _, o) in obs {
        let get = |c: &mut Vec<C>, i: u32| -> Option<usize> {
            ((i as usize) < c.len()).then_some(i as usize)
        };
        match o {
            LockObs::Waiting { client } => {
                waiting_since.insert(*client, *t);
            }
            LockObs::Hold { owner, .. } => {
                if let Some(i) = get(&mut c, owner.client) {
                    c[i].holds += 1;
                    if let Some(w) = waiting_since.remove(&owner.client) {
                        c[i].wait_ns += t - w;
                        c[i].waits += 1;
                    }
                }
            }
            LockObs::HoldEnd { owner, why } => {
                if let (Some(i), Some(h)) = (get(&mut c, owner.client), g.holds.get(owner)) {
                    let d = t - h.start;
                    c[i].hold_ns += d;
                    c[i].hold_max = c[i].hold_max.max(d);
                    if *why == "lease ran out" {
                        c[i].ran_out += 1;
                    }
                }
            }
            LockObs::Complete {
                client,
                status: OpStatus::Fail,
                desc,
                ..
            } if desc.starts_with("acquire") => {
                if let Some(i) = get(&mut c, *client) {
                    c[i].failed += 1;
                }
            }
            LockObs::Accepted { owner, .. } => {
                if let Some(i) = get(&mut c, owner.client) {
                    c[i].accepted += 1;
                }
            }
            LockObs::Rejected { owner, .. } => {
                if let Some(i) = get(&mut c, owner.client) {
                    c[i].rejected += 1;
                }
            }
            LockObs::Paused { client, .. } => {
                if let Some(i) = get(&mut c, *client) {
                    c[i].pauses += 1;
                }
            }
            LockObs::Granted { .. } => grants += 1,
            LockObs::Deleted { .. } => deletes += 1,
            LockObs::Expired { owner } => {
                expiries += 1;
                if g.holds.get(owner).is_some_and(|h| h.covers(*t)) {
                    expired_held += 1;
                }
            }
            _ => {}
        }
    }
    let mut per = Table::new(
        "Lock clients",
        &[
            "client",
            "holds",
            "failed acquires",
            "mean wait ms",
            "mean hold ms",
            "max hold ms",
            "lease ran out",
            "writes accepted",
            "stale writes rejected",
            "pauses",
        ],
    );
    for (i, x) in c.iter().enumerate() {
        per.row(vec![
            format!("c{i}"),
            x.holds.to_string(),
            x.failed.to_string(),
            ms(x.wait_ns.checked_div(x.waits).unwrap_or(0)),
            ms(x.hold_ns.checked_div(x.holds).unwrap_or(0)),
            ms(x.hold_max),
            x.ran_out.to_string(),
            x.accepted.to_string(),
            x.rejected.to_string(),
            x.pauses.to_string(),
        ]);
    }
    // Pairs of different clients' believed holds that overlapped in true time.
    let spans: Vec<&HoldSpan> = g.holds.values().collect();
    let mut overlaps = 0;
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            let (ae, be) = (a.end.map_or(end, |e| e.0), b.end.map_or(end, |e| e.0));
            if a.owner.client != b.owner.client && a.start < be && b.start < ae {
                overlaps += 1;
            }
        }
    }
    let mut svc = Table::new("Lock service", &["figure", "count"]);
    let rejected: u64 = c.iter().map(|x| x.rejected).sum();
    for (k, v) in [
        ("grants", grants),
        ("releases that deleted a lock", deletes),
        ("expiries", expiries),
        (
            "expiries while the holder still believed it held the lock",
            expired_held,
        ),
        ("overlapping believed holds (pairs of clients)", overlaps),
        ("stale writes rejected by fencing", rejected),
    ] {
        svc.row(vec![k.into(), v.to_string()]);
    }
    vec![per, svc]
}

/// Each client's role over time: waiting, holder, paused, idle. Clients are nodes
/// `servers + i`.
fn roles(spec: &RunSpec, obs: &[(Time, NodeId, LockObs)]) -> Vec<RoleChange> {
    let mut out = Vec::new();
    let mut holding: BTreeMap<u32, bool> = BTreeMap::new();
    let mut push = |t: Time, client: u32, role: &str, term: u64| {
        out.push(RoleChange {
            time: t,
            node: spec.servers + client,
            role: role.into(),
            term,
        })
    };
    for (t, _, o) in obs {
        match o {
            LockObs::Waiting { client } => push(*t, *client, "waiting", 0),
            LockObs::Idle { client } => push(*t, *client, "idle", 0),
            LockObs::Hold { owner, .. } => {
                holding.insert(owner.client, true);
                push(*t, owner.client, "holder", owner.hold)
            }
            LockObs::HoldEnd { owner, .. } => {
                holding.insert(owner.client, false);
                push(*t, owner.client, "idle", owner.hold)
            }
            LockObs::Paused { client, .. } => push(*t, *client, "paused", 0),
            LockObs::Resumed { client } => {
                let r = if holding.get(client).copied().unwrap_or(false) {
                    "holder"
                } else {
                    "idle"
                };
                push(*t, *client, r, 0)
            }
            _ => {}
        }
    }
    out
}
