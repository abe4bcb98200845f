//! Judging an atomic-commit run from the outside, over what the nodes reported and the
//! participants' final durable state:
//! - **atomicity**: no transaction is committed by one node and aborted by another;
//! - **validity**: a transaction commits only if every participant voted yes;
//! - **conservation**: the money in the committed state (the accounts, plus the transfers
//!   committed elsewhere that a participant has not applied yet) is what the bank started
//!   with;
//! - **liveness** after the faults heal, from [`common`].
//!
//! Blocking is measured, not judged: per participant, how long it was uncertain (voted yes,
//! no decision, holding its locks) and how long blocked (past its timeout), and what was
//! still undecided at the end. Those figures go to the run's tables, the periods to its roles.

use std::collections::{BTreeMap, BTreeSet};

use super::{CHECKS, Durable, Obs};
use crate::protocols::common::{self, fail, pass};
use crate::protocols::{RoleChange, RunOutcome, RunSpec, Table};
use crate::sim::{MILLIS, NodeId, RunStats, SECS, Time, TraceRecord, fmt_time};
use crate::workload::OpStatus;
use crate::workload::txn::{TxnId, TxnObs, history};

/// Who decided a transaction which way: (time, node, commit).
type Decisions = Vec<(Time, u32, bool)>;

/// Per participant: (yes-vote time, decision time) per transaction, and overdue times.
#[derive(Default)]
struct Periods {
    uncertain: BTreeMap<TxnId, (Time, Option<Time>)>,
    overdue: BTreeMap<TxnId, Time>,
}

pub fn judge(
    spec: &RunSpec,
    stats: RunStats,
    obs: Vec<(Time, NodeId, Obs)>,
    finals: &[Durable],
    expected_total: i64,
    records: Vec<TraceRecord>,
) -> RunOutcome {
    let (ops, op_txns) = history(obs.iter().filter_map(|(t, _, o)| match o {
        Obs::Client(c) => Some((*t, c.clone())),
        _ => None,
    }));
    let ops_of =
        |txn: TxnId| -> Vec<usize> { (0..op_txns.len()).filter(|&i| op_txns[i] == txn).collect() };
    let wanted = |name: &str| spec.checks.is_empty() || spec.checks.iter().any(|c| c == name);
    let end = stats.time;

    let mut begun: BTreeMap<TxnId, &Vec<u32>> = BTreeMap::new();
    let mut yes: BTreeMap<TxnId, BTreeSet<u32>> = BTreeMap::new();
    let mut decisions: BTreeMap<TxnId, Decisions> = BTreeMap::new();
    let mut periods: BTreeMap<u32, Periods> = BTreeMap::new();
    let mut contradicted = 0;
    for (t, n, o) in &obs {
        match o {
            Obs::Begun { txn, participants } => {
                begun.insert(*txn, participants);
            }
            Obs::Voted { txn, yes: true } => {
                yes.entry(*txn).or_default().insert(n.0);
                let p = periods.entry(n.0).or_default();
                p.uncertain.entry(*txn).or_insert((*t, None));
            }
            Obs::Decided { txn, commit } => {
                decisions.entry(*txn).or_default().push((*t, n.0, *commit));
                if let Some(p) = periods.get_mut(&n.0)
                    && let Some((_, d)) = p.uncertain.get_mut(txn)
                {
                    d.get_or_insert(*t);
                }
            }
            Obs::Overdue { txn } => {
                periods
                    .entry(n.0)
                    .or_default()
                    .overdue
                    .entry(*txn)
                    .or_insert(*t);
            }
            // What the client was told is a decision too: "your transfer failed" while the
            // money moved is as much a broken promise as a split between participants.
            Obs::Client(TxnObs::Complete { txn, committed }) => {
                decisions
                    .entry(*txn)
                    .or_default()
                    .push((*t, n.0, *committed));
            }
            Obs::Contradicted { .. } => contradicted += 1,
            _ => {}
        }
    }
    let committed_somewhere: BTreeSet<TxnId> = decisions
        .iter()
        .filter(|(_, d)| d.iter().any(|x| x.2 && x.1 < spec.servers))
        .map(|(t, _)| *t)
        .collect();
    let mut checks = Vec::new();

    // Atomicity: every node that decided a transaction decided the same.
    let split: Vec<(&TxnId, &Decisions)> = decisions
        .iter()
        .filter(|(_, d)| d.iter().any(|x| x.2) && d.iter().any(|x| !x.2))
        .collect();
    // When a split transaction's decisions first disagree, and who decided what.
    let split_at = |d: &Decisions| {
        let mut by_time = d.clone();
        by_time.sort_unstable();
        let first = by_time.first().is_none_or(|x| x.2);
        let at = by_time.iter().find(|x| x.2 != first).map_or(end, |x| x.0);
        let nodes = by_time.iter().map(|&(t, n, c)| {
            let verb = if c { "committed" } else { "aborted" };
            (n, format!("{verb} at {}s", fmt_time(t)))
        });
        (at, nodes.collect::<Vec<_>>())
    };
    if wanted("atomicity") {
        checks.push(match split.first() {
            None => pass(
                "atomicity",
                format!(
                    "{} transactions decided, each the same way by every node that decided it",
                    decisions.len()
                ),
            ),
            Some((txn, d)) => {
                let who = |c: bool| {
                    d.iter()
                        .filter(|x| x.2 == c)
                        .map(|(t, n, _)| format!("n{n} at {}s", fmt_time(*t)))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let failed = fail(
                    "atomicity",
                    format!(
                        "{} committed by some nodes and aborted by others; the first, {txn}, was committed by {} and aborted by {} (n0 is the coordinator, n{}.. are clients)",
                        match split.len() {
                            1 => "1 transaction was".to_string(),
                            n => format!("{n} transactions were"),
                        },
                        who(true),
                        who(false),
                        spec.servers
                    ),
                    ops_of(**txn),
                );
                let (at, nodes) = split_at(d);
                failed.dated(at, nodes)
            }
        });
    }

    // Validity: commit only if every participant voted yes.
    if wanted("validity") {
        let bad = committed_somewhere.iter().find(|txn| {
            begun.get(txn).is_none_or(|ps| {
                ps.iter()
                    .any(|p| !yes.get(txn).is_some_and(|y| y.contains(p)))
            })
        });
        checks.push(match bad {
            None => pass(
                "validity",
                format!(
                    "{} committed transactions, every participant of each voted yes",
                    committed_somewhere.len()
                ),
            ),
            Some(txn) => {
                let missing: Vec<String> = begun
                    .get(txn)
                    .map(|ps| {
                        ps.iter()
                            .filter(|p| !yes.get(txn).is_some_and(|y| y.contains(p)))
                            .map(|p| format!("n{p}"))
                            .collect()
                    })
                    .unwrap_or_default();
                // Dated by its first commit; the participants that never voted yes named.
                let d = decisions.get(txn);
                let at = d
                    .and_then(|d| d.iter().filter(|x| x.2).map(|x| x.0).min())
                    .unwrap_or(end);
                let mut nodes: Vec<(u32, String)> = d
                    .iter()
                    .flat_map(|d| d.iter())
                    .filter(|x| x.2)
                    .map(|&(t, n, _)| (n, format!("committed {txn} at {}s", fmt_time(t))))
                    .collect();
                nodes.extend(
                    begun
                        .get(txn)
                        .into_iter()
                        .flat_map(|ps| ps.iter())
                        .filter(|&&p| !yes.get(txn).is_some_and(|y| y.contains(&p)))
                        .map(|&p| (p, "never voted yes".to_string())),
                );
                fail(
                    "validity",
                    format!(
                        "{txn} was committed although {} never voted yes",
                        missing.join(", ")
                    ),
                    ops_of(*txn),
                )
                .dated(at, nodes)
            }
        });
    }

    // Conservation over the committed state: balances, plus the committed transfers a
    // participant still holds undecided (it will apply them when it learns the decision).
    if wanted("conservation") {
        let balances: i64 = finals.iter().flat_map(|d| d.balances.values()).sum();
        let in_flight: i64 = finals
            .iter()
            .flat_map(|d| d.rm_log.iter())
            .filter(|(txn, r)| r.state.decided().is_none() && committed_somewhere.contains(*txn))
            .flat_map(|(_, r)| r.ops.iter().map(|(_, delta)| *delta))
            .sum();
        let total = balances + in_flight;
        let detail = format!(
            "{} accounts hold {balances}{} at the end; the bank started with {expected_total}",
            spec.workload.keys,
            if in_flight != 0 {
                format!(" ({in_flight:+} committed but not yet applied)")
            } else {
                String::new()
            }
        );
        checks.push(if total == expected_total {
            pass("conservation", detail)
        } else {
            let involved = split.iter().flat_map(|(t, _)| ops_of(**t)).collect();
            // Dated by the first split transaction, if any: else the balances are only
            // known wrong at the end.
            let (at, nodes) = split
                .first()
                .map_or((end, Vec::new()), |(_, d)| split_at(d));
            fail(
                "conservation",
                format!(
                    "{detail}: {:+} appeared or vanished",
                    total - expected_total
                ),
                involved,
            )
            .dated(at, nodes)
        });
    }

    if wanted("liveness") {
        checks.push(common::liveness(spec, &ops, end));
    }
    debug_assert!(checks.iter().all(|c| CHECKS.contains(&c.name.as_str())));

    let undecided_at_end: BTreeSet<TxnId> = finals
        .iter()
        .flat_map(|d| d.rm_log.iter())
        .filter(|(_, r)| r.state.decided().is_none())
        .map(|(t, _)| *t)
        .collect();
    let tables = vec![
        outcomes_table(
            &ops,
            &decisions,
            &undecided_at_end,
            split.len(),
            contradicted,
        ),
        blocking_table(spec.servers, &periods, finals, end),
    ];
    let roles = common::roles_with_crashes(
        spec,
        obs.iter().filter_map(|(t, n, o)| match o {
            Obs::Role(role) => Some(RoleChange {
                time: *t,
                node: n.0,
                role: role.to_string(),
                term: 0,
            }),
            _ => None,
        }),
    );
    RunOutcome {
        plots: vec![],
        stats,
        checks,
        ops,
        roles,
        tables,
        records,
        views: Vec::new(),
        labels: Default::default(),
        replay: Default::default(),
        traced_ops: None,
    }
}

fn outcomes_table(
    ops: &[crate::workload::OpRecord],
    decisions: &BTreeMap<TxnId, Decisions>,
    undecided_at_end: &BTreeSet<TxnId>,
    split: usize,
    contradicted: usize,
) -> Table {
    let count = |s: OpStatus| ops.iter().filter(|o| o.status == s).count().to_string();
    let mut t = Table::new(
        "transactions",
        &[
            "begun",
            "committed",
            "aborted",
            "unknown to client",
            "decided by some node",
            "undecided at end",
            "split decisions",
            "contrary messages ignored",
        ],
    );
    t.row(vec![
        ops.len().to_string(),
        count(OpStatus::Ok),
        count(OpStatus::Fail),
        count(OpStatus::Unknown),
        decisions.len().to_string(),
        undecided_at_end.len().to_string(),
        split.to_string(),
        contradicted.to_string(),
    ]);
    t
}

/// Per participant: yes votes, time uncertain (total, longest), time blocked (total,
/// longest), transactions undecided at the end; and a row over all participants.
fn blocking_table(
    servers: u32,
    periods: &BTreeMap<u32, Periods>,
    finals: &[Durable],
    end: Time,
) -> Table {
    let mut t = Table::new(
        "blocking: participants uncertain (voted yes, holding locks, no decision) and blocked (past the timeout)",
        &[
            "participant",
            "yes votes",
            "uncertain total",
            "uncertain longest",
            "blocked total",
            "blocked longest",
            "undecided at end",
        ],
    );
    let mut all = [0u64; 6];
    for p in 1..servers {
        let empty = Periods::default();
        let ps = periods.get(&p).unwrap_or(&empty);
        let (mut u_sum, mut u_max, mut b_sum, mut b_max) = (0, 0, 0, 0);
        for (txn, (from, to)) in &ps.uncertain {
            let to = to.unwrap_or(end);
            let d = to.saturating_sub(*from);
            u_sum += d;
            u_max = u_max.max(d);
            if let Some(o) = ps.overdue.get(txn) {
                let b = to.saturating_sub(*o);
                b_sum += b;
                b_max = b_max.max(b);
            }
        }
        let undecided = finals.get(p as usize - 1).map_or(0, |d| {
            d.rm_log
                .values()
                .filter(|r| r.state.decided().is_none())
                .count()
        });
        let row = [
            ps.uncertain.len() as u64,
            u_sum,
            u_max,
            b_sum,
            b_max,
            undecided as u64,
        ];
        for i in 0..6 {
            all[i] = if i == 2 || i == 4 {
                all[i].max(row[i])
            } else {
                all[i] + row[i]
            };
        }
        t.row(fmt_row(format!("n{p}"), &row));
    }
    t.row(fmt_row("all".into(), &all));
    t
}

/// `2.345s`, `12.3ms`, `0s`: one unit per magnitude, short enough for a table cell.
fn secs(d: Time) -> String {
    if d == 0 {
        "0s".into()
    } else if d >= SECS {
        format!("{:.3}s", d as f64 / SECS as f64)
    } else {
        format!("{:.1}ms", d as f64 / MILLIS as f64)
    }
}

fn fmt_row(name: String, v: &[u64; 6]) -> Vec<String> {
    vec![
        name,
        v[0].to_string(),
        secs(v[1]),
        secs(v[2]),
        secs(v[3]),
        secs(v[4]),
        v[5].to_string(),
    ]
}
