//! Paxos's safety judged from the outside, over what the nodes reported, for one decree
//! (instance 0) or one per log slot: agreement (no two learners learn different values in one
//! instance), validity (only a proposed value is learned or accepted) and stability (once a
//! majority of acceptors accepted a value at some ballot, every proposal at a higher ballot
//! carries that value: P2b of Paxos Made Simple). Chosen is judged with a true majority of
//! the servers whatever quorum the protocol variant used.

use std::collections::BTreeSet;

use crate::protocols::common::{fail, pass, unhealed_note};
use crate::protocols::{CheckOutcome, RunSpec};
use crate::sim::{Fault, SECS, Time, fmt_time};

use super::Ballot;

/// A proposer issued phase 2 for `(instance, ballot)` with `value`.
#[derive(Clone, Copy, Debug)]
pub struct Proposal {
    pub time: Time,
    pub instance: u64,
    pub ballot: Ballot,
    pub value: u64,
}

/// An acceptor accepted `value` at `(instance, ballot)`.
#[derive(Clone, Copy, Debug)]
pub struct Accept {
    pub time: Time,
    pub instance: u64,
    pub acceptor: u32,
    pub ballot: Ballot,
    pub value: u64,
}

/// A learner (replica) learned (applied) `value` in `instance`.
#[derive(Clone, Copy, Debug)]
pub struct Learn {
    pub time: Time,
    pub node: u32,
    pub instance: u64,
    pub value: u64,
}

/// How the checks name an instance ("the decree", "slot 17") and a value.
pub struct Names<'a> {
    pub instance: &'a dyn Fn(u64) -> String,
    pub value: &'a dyn Fn(u64) -> String,
}

/// No two learners learn different values in one instance.
pub fn agreement(learns: &[Learn], names: &Names, verb: &str) -> CheckOutcome {
    // Per instance (dense: slots are handed out in order), the first learn.
    let top = learns.iter().map(|l| l.instance).max().map_or(0, |m| m + 1);
    let mut first: Vec<Option<&Learn>> = vec![None; usize::try_from(top).unwrap_or(0)];
    for l in learns {
        let f = &mut first[l.instance as usize];
        match f {
            None => *f = Some(l),
            Some(f) if f.value != l.value => {
                return fail(
                    "agreement",
                    format!(
                        "{}: n{} {verb} {} at {}s, n{} {verb} {} at {}s",
                        (names.instance)(l.instance),
                        f.node,
                        (names.value)(f.value),
                        fmt_time(f.time),
                        l.node,
                        (names.value)(l.value),
                        fmt_time(l.time)
                    ),
                    vec![],
                )
                .dated(
                    l.time,
                    [
                        (f.node, format!("{verb} {}", (names.value)(f.value))),
                        (l.node, format!("{verb} {}", (names.value)(l.value))),
                    ],
                )
                .since(f.time);
            }
            Some(_) => {}
        }
    }
    let nodes: BTreeSet<u32> = learns.iter().map(|l| l.node).collect();
    pass(
        "agreement",
        format!(
            "{} instance(s) {verb} by {} node(s), {} times, never two values in one",
            first.iter().flatten().count(),
            nodes.len(),
            learns.len()
        ),
    )
}

/// Only a proposed value is accepted or learned.
pub fn validity(
    learns: &[Learn],
    accepts: &[Accept],
    proposed: &BTreeSet<u64>,
    names: &Names,
) -> CheckOutcome {
    // Each value is reported by every acceptor and every learner, interleaved with other
    // slots' reports: a small direct-mapped cache of values already found proposed saves
    // most of the set lookups (value 0 never enters the cache: it marks an empty line).
    let mut seen = [0u64; 256];
    let mut unknown = |v: u64| {
        let line = &mut seen[(v % 256) as usize];
        if *line == v && v != 0 {
            return false;
        }
        let bad = !proposed.contains(&v);
        if !bad {
            *line = v;
        }
        bad
    };
    let bad_accept = accepts.iter().find(|a| unknown(a.value));
    if let Some(a) = bad_accept {
        return fail(
            "validity",
            format!(
                "{}: n{} accepted {}, which nobody proposed, at {}s",
                (names.instance)(a.instance),
                a.acceptor,
                (names.value)(a.value),
                fmt_time(a.time)
            ),
            vec![],
        )
        .dated(
            a.time,
            [(a.acceptor, "accepted an unproposed value".into())],
        );
    }
    if let Some(l) = learns.iter().find(|l| unknown(l.value)) {
        return fail(
            "validity",
            format!(
                "{}: n{} learned {}, which nobody proposed, at {}s",
                (names.instance)(l.instance),
                l.node,
                (names.value)(l.value),
                fmt_time(l.time)
            ),
            vec![],
        )
        .dated(l.time, [(l.node, "learned an unproposed value".into())]);
    }
    pass(
        "validity",
        format!(
            "{} acceptances and {} learns, all of proposed values",
            accepts.len(),
            learns.len()
        ),
    )
}

/// A chosen value stays chosen: once a majority accepted `(b, v)` in an instance, every
/// proposal there at a ballot above `b` carries `v`.
pub fn stability(
    proposals: &[Proposal],
    accepts: &[Accept],
    majority: usize,
    names: &Names,
) -> CheckOutcome {
    // Accepts grouped by instance with a counting sort (instances are dense: slots are
    // handed out in order), then each instance's few sorted by (ballot, value, acceptor,
    // time): a run of one key keeps the acceptor's earliest report first.
    let top = accepts
        .iter()
        .map(|a| a.instance)
        .max()
        .map_or(0, |m| m as usize + 1);
    let mut start = vec![0usize; top + 1];
    for a in accepts {
        start[a.instance as usize + 1] += 1;
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    let mut order = vec![0usize; accepts.len()];
    let mut next = start.clone();
    for (i, a) in accepts.iter().enumerate() {
        let k = &mut next[a.instance as usize];
        order[*k] = i;
        *k += 1;
    }
    // Per instance: the lowest ballot at which a majority accepted one value, and when.
    let mut chosen: Vec<Option<(Ballot, u64, Time)>> = vec![None; top];
    for (instance, slot) in chosen.iter_mut().enumerate() {
        let bucket = &mut order[start[instance]..start[instance + 1]];
        let key = |i: usize| {
            let a = &accepts[i];
            (a.ballot, a.value, a.acceptor, a.time)
        };
        bucket.sort_unstable_by_key(|&i| key(i));
        let mut i = 0;
        while i < bucket.len() {
            let (ballot, value, _, _) = key(bucket[i]);
            let (mut j, mut distinct, mut when, mut last) = (i, 0, 0, None);
            while j < bucket.len() && (key(bucket[j]).0, key(bucket[j]).1) == (ballot, value) {
                let (_, _, acceptor, t) = key(bucket[j]);
                if last != Some(acceptor) {
                    // The acceptor's earliest report of this (ballot, value).
                    distinct += 1;
                    when = when.max(t);
                    last = Some(acceptor);
                }
                j += 1;
            }
            // Ballots ascend within the instance: the first majority is the lowest ballot.
            if distinct >= majority && slot.is_none() {
                *slot = Some((ballot, value, when));
            }
            i = j;
        }
    }
    let chosen_at = |instance: u64| -> Option<(Ballot, u64, Time)> {
        chosen
            .get(usize::try_from(instance).ok()?)
            .copied()
            .flatten()
    };
    for p in proposals {
        if let Some((b, v, t)) = chosen_at(p.instance)
            && p.ballot > b
            && p.value != v
        {
            return fail(
                "stability",
                format!(
                    "{}: {} was chosen at ballot {b} (a majority accepted it by {}s), but ballot {} proposed {} at {}s",
                    (names.instance)(p.instance),
                    (names.value)(v),
                    fmt_time(t),
                    p.ballot,
                    (names.value)(p.value),
                    fmt_time(p.time)
                ),
                vec![],
            )
            .dated(
                p.time,
                [
                    (b.node, format!("its ballot {b} chose {}", (names.value)(v))),
                    (
                        p.ballot.node,
                        format!("ballot {} proposed {}", p.ballot, (names.value)(p.value)),
                    ),
                ],
            )
            .since(t);
        }
    }
    let later = proposals
        .iter()
        .filter(|p| chosen_at(p.instance).is_some_and(|c| p.ballot > c.0))
        .count();
    pass(
        "stability",
        format!(
            "{} instance(s) chosen; {later} proposal(s) at higher ballots all carried the chosen value",
            chosen.iter().flatten().count()
        ),
    )
}

/// Single-decree liveness: within the bound after the faults heal, every server that is up
/// at the end has learned a value since it last (re)started.
pub fn every_server_learns(spec: &RunSpec, learns: &[Learn], end: Time) -> CheckOutcome {
    // Single-decree Paxos has no clients: the bound is the scenario's, or a fixed 5 s.
    const LIVENESS_BOUND: Time = 5 * SECS;
    let Some(heal_at) = spec.heal_at else {
        return pass("liveness", unhealed_note(spec));
    };
    let bound = spec.workload.liveness_bound.unwrap_or(LIVENESS_BOUND);
    let deadline = heal_at.saturating_add(bound);
    let mut since = vec![0; spec.servers as usize];
    let mut up = vec![true; spec.servers as usize];
    for f in &spec.faults {
        match f.fault {
            Fault::Crash(n) if (n as usize) < up.len() => up[n as usize] = false,
            Fault::Restart(n) if (n as usize) < up.len() => {
                up[n as usize] = true;
                since[n as usize] = f.at;
            }
            _ => {}
        }
    }
    let mut missing = Vec::new();
    let mut last = 0;
    for n in 0..spec.servers {
        if !up[n as usize] {
            continue;
        }
        let l = learns
            .iter()
            .find(|l| l.node == n && l.time >= since[n as usize]);
        match l {
            Some(l) if l.time <= deadline => last = last.max(l.time),
            _ => missing.push(n),
        }
    }
    if missing.is_empty() {
        return pass(
            "liveness",
            format!(
                "every live server learned a value, the last at {}s (faults healed at {}s)",
                fmt_time(last),
                fmt_time(heal_at)
            ),
        );
    }
    let names: Vec<String> = missing.iter().map(|n| format!("n{n}")).collect();
    if end < deadline {
        return pass(
            "liveness",
            format!(
                "not judged: {} had learned nothing when the run stopped at {}s, before the faults healed ({}s) plus {}s",
                names.join(", "),
                fmt_time(end),
                fmt_time(heal_at),
                fmt_time(bound)
            ),
        );
    }
    fail(
        "liveness",
        format!(
            "{} learned nothing within {}s after the faults healed at {}s",
            names.join(", "),
            fmt_time(bound),
            fmt_time(heal_at)
        ),
        vec![],
    )
    .dated(
        deadline,
        missing
            .iter()
            .map(|&n| (n, "learned nothing after the faults healed".into())),
    )
}
