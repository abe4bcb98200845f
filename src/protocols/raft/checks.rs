//! Judging a Raft run from the outside: Raft's safety properties (Figure 3 of the paper)
//! over what the servers reported and their final durable logs. Linearizability of the
//! clients' history and liveness after the faults heal come from [`common`], shared by
//! every protocol with clients.

use std::collections::{BTreeMap, BTreeSet};

use super::{CHECKS, Obs};
use crate::protocols::common::{self, fail, pass};
use crate::protocols::{RoleChange, RunOutcome, RunSpec};
use crate::sim::{NodeId, RunStats, Time, TraceRecord, fmt_time};
use crate::workload::kv::history;

/// A log as the checks see it: (term, command hash) per entry.
type Log = Vec<(u64, u64)>;

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

    if wanted("linearizability") {
        checks.push(common::linearizability(&ops, &hist));
    }
    if wanted("liveness") {
        checks.push(common::liveness(spec, &ops, end));
    }
    debug_assert!(checks.iter().all(|c| CHECKS.contains(&c.name.as_str())));

    // Roles over time, with crashes as "down".
    let roles = common::roles_with_crashes(
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
        stats,
        checks,
        ops,
        roles,
        tables: vec![],
        plots: vec![],
        records,
        views: Vec::new(),
        labels: Default::default(),
    }
}
