//! Protocol-neutral checks that every protocol with clients calls: linearizability of the
//! client history (key by key, with its counterexample told in simulated seconds), liveness
//! after the faults heal, and the helpers that build a [`CheckOutcome`]. A protocol's own
//! invariants stay in its module.

use crate::check::{
    CheckOptions, History, KvAppend, KvInput, KvOutput, Verdict as LinVerdict, check,
};
use crate::protocols::{CheckOutcome, RoleChange, RunSpec, Verdict};
use crate::sim::{Fault, SECS, Time, fmt_time};
use crate::workload::{OpRecord, OpStatus};

/// How long after the faults heal every operation must complete.
pub const LIVENESS_BOUND: Time = 5 * SECS;

/// A passing check.
pub fn pass(name: &str, detail: String) -> CheckOutcome {
    CheckOutcome {
        name: name.into(),
        verdict: Verdict::Pass,
        detail,
        ops: vec![],
        linearized: vec![],
        unplaced: vec![],
    }
}

/// A violated check, naming the operations involved (indexes into the run's ops).
pub fn fail(name: &str, detail: String, ops: Vec<usize>) -> CheckOutcome {
    CheckOutcome {
        name: name.into(),
        verdict: Verdict::Violation,
        detail,
        ops,
        linearized: vec![],
        unplaced: vec![],
    }
}

/// Linearizability of the clients' history, key by key. `ops[i]` is the record of the
/// history's operation `i`.
pub fn linearizability(ops: &[OpRecord], hist: &History<KvInput, KvOutput>) -> CheckOutcome {
    let r = check(
        &KvAppend,
        hist,
        // Sweeps already use every core across seeds: one thread per check.
        &CheckOptions {
            budget: 5_000_000,
            parallel: false,
            ..CheckOptions::default()
        },
    );
    match r.verdict {
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
    }
}

/// Liveness: once every fault is over, every client keeps completing operations: from
/// the heal on, no client goes longer than the bound without a successful completion
/// (while it still issues operations). Message loss goes on after the heal, so a single
/// operation may still be given up; a stuck cluster cannot hide.
pub fn liveness(spec: &RunSpec, ops: &[OpRecord], end: Time) -> CheckOutcome {
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
    match stuck {
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
                .filter(|(_, o)| {
                    o.client == c
                        && o.call + LIVENESS_BOUND >= since
                        && o.call <= since + LIVENESS_BOUND
                })
                .map(|(i, _)| i)
                .collect();
            fail(
                "liveness",
                format!(
                    "client c{c} completed nothing from {}s for more than {}s although the faults healed at {}s",
                    fmt_time(since),
                    LIVENESS_BOUND / SECS,
                    fmt_time(from)
                ),
                involved,
            )
        }
    }
}

/// The roles a protocol reported, with each crash added as "down", in time order.
pub fn roles_with_crashes(
    spec: &RunSpec,
    reported: impl Iterator<Item = RoleChange>,
) -> Vec<RoleChange> {
    let mut roles: Vec<RoleChange> = reported.collect();
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
    roles
}
