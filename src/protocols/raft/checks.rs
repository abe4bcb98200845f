//! Judging a Raft run from the outside: Raft's safety properties (Figure 3 of the paper)
//! over what the servers reported and their final durable logs, linearizability of the
//! clients' history, and liveness after the faults heal.

use std::collections::{BTreeMap, BTreeSet};

use super::{CHECKS, Obs};
use crate::check::{CheckOptions, KvAppend, Verdict as LinVerdict, check};
use crate::protocols::{CheckOutcome, RoleChange, RunOutcome, RunSpec, Verdict};
use crate::sim::{Fault, NodeId, RunStats, SECS, Time, TraceRecord, fmt_time};
use crate::workload::OpStatus;
use crate::workload::kv::history;

/// A log as the checks see it: (term, command hash) per entry.
type Log = Vec<(u64, u64)>;

/// How long after the faults heal every operation must complete.
pub const LIVENESS_BOUND: Time = 5 * SECS;

fn pass(name: &str, detail: String) -> CheckOutcome {
    CheckOutcome {
        name: name.into(),
        verdict: Verdict::Pass,
        detail,
        ops: vec![],
        linearized: vec![],
        unplaced: vec![],
    }
}

fn fail(name: &str, detail: String, ops: Vec<usize>) -> CheckOutcome {
    CheckOutcome {
        name: name.into(),
        verdict: Verdict::Violation,
        detail,
        ops,
        linearized: vec![],
        unplaced: vec![],
    }
}

pub fn judge(
    spec: &RunSpec,
    stats: RunStats,
    obs: Vec<(Time, NodeId, Obs)>,
    final_logs: Vec<Vec<(u64, u64)>>,
    records: Vec<TraceRecord>,
) -> RunOutcome {
    let (ops, hist) = history(obs.iter().filter_map(|(t, _, o)| match o {
        Obs::Client(c) => Some((*t, c.clone())),
        _ => None,
    }));
    let wanted = |name: &str| spec.checks.is_empty() || spec.checks.iter().any(|c| c == name);
    let mut checks = Vec::new();
    let end = stats.time;

    // Election safety: at most one leader can be elected in a given term.
    let mut leaders: BTreeMap<u64, BTreeSet<u32>> = BTreeMap::new();
    let mut leader_logs: Vec<(Time, u32, u64, &Log)> = Vec::new();
    for (t, n, o) in &obs {
        if let Obs::Leader { term, log } = o {
            leaders.entry(*term).or_default().insert(n.0);
            leader_logs.push((*t, n.0, *term, log));
        }
    }
    if wanted("election-safety") {
        let two = leaders.iter().find(|(_, s)| s.len() > 1);
        checks.push(match two {
            Some((term, s)) => fail(
                "election-safety",
                format!("term {term} had {} leaders: {:?}", s.len(), s),
                vec![],
            ),
            None => pass(
                "election-safety",
                format!("{} elections, one leader per term", leader_logs.len()),
            ),
        });
    }

    // State machine safety: no two servers apply different commands at the same index.
    let mut applied: BTreeMap<u64, (u64, u64, u32, Time)> = BTreeMap::new();
    // Per index: the earliest term the (first applied) entry there is known committed in.
    let mut committed_in: BTreeMap<u64, u64> = BTreeMap::new();
    let mut sms_violation = None;
    for (t, n, o) in &obs {
        if let Obs::Applied {
            index,
            term,
            command,
            server_term,
        } = o
        {
            if applied
                .get(index)
                .is_none_or(|(t0, c0, _, _)| (t0, c0) == (term, command))
            {
                let c = committed_in.entry(*index).or_insert(*server_term);
                *c = (*c).min(*server_term);
            }
            match applied.get(index) {
                Some((t0, c0, n0, _)) if (t0, c0) != (term, command) => {
                    sms_violation.get_or_insert(format!(
                        "index {index}: n{n0} applied an entry of term {t0}, n{} applied a different entry of term {term} at {}s",
                        n.0,
                        fmt_time(*t)
                    ));
                }
                Some(_) => {}
                None => {
                    applied.insert(*index, (*term, *command, n.0, *t));
                }
            }
        }
    }
    if wanted("state-machine-safety") {
        checks.push(match sms_violation {
            Some(d) => fail("state-machine-safety", d, vec![]),
            None => pass(
                "state-machine-safety",
                format!("{} indexes applied, all servers agree", applied.len()),
            ),
        });
    }

    // Log matching: if two logs have an entry with the same index and term, the logs are
    // identical up to that index. Over the final logs and every leader's log at election.
    if wanted("log-matching") {
        let mut logs: Vec<(String, &Log)> = final_logs
            .iter()
            .enumerate()
            .map(|(i, l)| (format!("final log of n{i}"), l))
            .collect();
        for (t, n, term, l) in &leader_logs {
            logs.push((
                format!("log of n{n} elected in term {term} at {}s", fmt_time(*t)),
                l,
            ));
        }
        let mut bad = None;
        'outer: for a in 0..logs.len() {
            for b in a + 1..logs.len() {
                let (la, lb) = (logs[a].1, logs[b].1);
                let mut same_prefix = true;
                for i in 0..la.len().min(lb.len()) {
                    if la[i].0 == lb[i].0 && !(same_prefix && la[i] == lb[i]) {
                        bad = Some(format!(
                            "index {}: {} and {} both have term {} there but differ at or before it",
                            i + 1,
                            logs[a].0,
                            logs[b].0,
                            la[i].0
                        ));
                        break 'outer;
                    }
                    same_prefix &= la[i] == lb[i];
                }
            }
        }
        checks.push(match bad {
            Some(d) => fail("log-matching", d, vec![]),
            None => pass(
                "log-matching",
                format!("{} logs compared pairwise", logs.len()),
            ),
        });
    }

    // Leader completeness: an entry committed in a term is in the log of every leader of a
    // later term. A server applying an entry in term T shows it was committed in T or
    // earlier; judging by the time of the apply instead would blame a leader whose election
    // (votes granted before the commit) completed after it.
    if wanted("leader-completeness") {
        let mut bad = None;
        'lc: for (t_l, n, term_l, log) in &leader_logs {
            for (index, commit_term) in &committed_in {
                let Some((term, cmd, _, _)) = applied.get(index) else {
                    continue;
                };
                if commit_term < term_l {
                    let has = log
                        .get(*index as usize - 1)
                        .is_some_and(|e| e == &(*term, *cmd));
                    if !has {
                        bad = Some(format!(
                            "n{n} became leader of term {term_l} at {}s without index {index} (an entry of term {term}), committed in term {commit_term}",
                            fmt_time(*t_l)
                        ));
                        break 'lc;
                    }
                }
            }
        }
        checks.push(match bad {
            Some(d) => fail("leader-completeness", d, vec![]),
            None => pass(
                "leader-completeness",
                format!(
                    "{} leaders held every entry committed in an earlier term",
                    leader_logs.len()
                ),
            ),
        });
    }

    // Linearizability of the clients' history, key by key.
    if wanted("linearizability") {
        let r = check(
            &KvAppend,
            &hist,
            // Sweeps already use every core across seeds: one thread per check.
            &CheckOptions {
                budget: 5_000_000,
                parallel: false,
                ..CheckOptions::default()
            },
        );
        checks.push(match r.verdict {
            LinVerdict::Linearizable => pass(
                "linearizability",
                format!(
                    "{} operations over {} keys are linearizable ({} search steps)",
                    hist.len(),
                    r.partitions,
                    r.steps
                ),
            ),
            LinVerdict::Unknown => CheckOutcome {
                verdict: Verdict::Unknown,
                ..pass(
                    "linearizability",
                    format!("search budget exhausted after {} steps", r.steps),
                )
            },
            LinVerdict::NotLinearizable => {
                let c = r.counterexample.expect("a violation has a counterexample");
                let mut involved: Vec<usize> =
                    c.linearized.iter().chain(&c.unplaced).copied().collect();
                involved.sort_unstable();
                involved.dedup();
                // The checker's own text counts in raw history times; this one speaks in
                // simulated seconds and shows only the end of the partial order.
                let line = |i: usize| {
                    let o = &ops[i];
                    let ret = o.ret.map_or("?".into(), fmt_time);
                    format!(
                        "  #{i} client {} [{}s, {ret}s] {}\n",
                        o.client,
                        fmt_time(o.call),
                        o.desc
                    )
                };
                let mut d = format!(
                    "key {:?}: the history up to {}s ({} operations) cannot be linearized.\n",
                    c.key,
                    fmt_time(c.prefix_end),
                    c.ops.len()
                );
                const SHOWN: usize = 5;
                let n = c.linearized.len();
                d.push_str(&format!(
                    "a linearization of {n} operations was found{}:\n",
                    if n > SHOWN { ", ending" } else { "" }
                ));
                if n > SHOWN {
                    d.push_str(&format!("  ... {} earlier operations\n", n - SHOWN));
                }
                for &i in &c.linearized[n.saturating_sub(SHOWN)..] {
                    d.push_str(&line(i));
                }
                d.push_str("then none of these can take effect:\n");
                for &i in c.unplaced.iter().take(8) {
                    d.push_str(&line(i));
                }
                if c.unplaced.len() > 8 {
                    d.push_str(&format!("  ... {} more\n", c.unplaced.len() - 8));
                }
                CheckOutcome {
                    linearized: c.linearized.clone(),
                    unplaced: c.unplaced.clone(),
                    ..fail("linearizability", d, involved)
                }
            }
        });
    }

    // Liveness: once every fault is over, every client keeps completing operations: from
    // the heal on, no client goes longer than the bound without a successful completion
    // (while it still issues operations). Message loss goes on after the heal, so a single
    // operation may still be given up; a stuck cluster cannot hide.
    if wanted("liveness") {
        let from = spec.heal_at;
        let judge_end = end.min(spec.workload.stop).saturating_sub(LIVENESS_BOUND);
        let mut stuck: Option<(u32, Time)> = None;
        let mut judged = 0;
        if judge_end > from {
            for c in 0..spec.workload.clients {
                let mut done: Vec<Time> = ops
                    .iter()
                    .filter(|o| o.client == c && o.status == OpStatus::Ok)
                    .filter_map(|o| o.ret)
                    .filter(|&r| r >= from)
                    .collect();
                done.sort_unstable();
                let mut last = from;
                for &r in done.iter().chain(std::iter::once(&Time::MAX)) {
                    if last > judge_end {
                        break;
                    }
                    if r - last > LIVENESS_BOUND {
                        stuck.get_or_insert((c, last));
                        break;
                    }
                    judged += 1;
                    last = r;
                }
            }
        }
        checks.push(match stuck {
            None if judge_end <= from => pass(
                "liveness",
                format!(
                    "not judged: the faults heal at {}s and the workload stops less than {}s later",
                    fmt_time(from),
                    LIVENESS_BOUND / SECS
                ),
            ),
            None => pass(
                "liveness",
                format!(
                    "after the faults healed at {}s every client completed an operation at least every {}s ({judged} completions)",
                    fmt_time(from),
                    LIVENESS_BOUND / SECS
                ),
            ),
            Some((c, since)) => {
                let involved: Vec<usize> = ops
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| o.client == c && o.call + LIVENESS_BOUND >= since && o.call <= since + LIVENESS_BOUND)
                    .map(|(i, _)| i)
                    .collect();
                fail(
                    "liveness",
                    format!("client c{c} completed nothing from {}s for more than {}s although the faults healed at {}s", fmt_time(since), LIVENESS_BOUND / SECS, fmt_time(from)),
                    involved,
                )
            }
        });
    }
    debug_assert!(checks.iter().all(|c| CHECKS.contains(&c.name.as_str())));

    // Roles over time, with crashes as "down".
    let mut roles: Vec<RoleChange> = obs
        .iter()
        .filter_map(|(t, n, o)| match o {
            Obs::Role { role, term } => Some(RoleChange {
                time: *t,
                node: n.0,
                role: role.to_string(),
                term: *term,
            }),
            _ => None,
        })
        .collect();
    for f in &spec.faults {
        if let Fault::Crash(n) = f.fault {
            roles.push(RoleChange {
                time: f.at,
                node: n,
                role: "down".into(),
                term: 0,
            });
        }
    }
    roles.sort_by_key(|r| (r.time, r.node));
    RunOutcome {
        stats,
        checks,
        ops,
        roles,
        records,
    }
}
