//! Protocol-neutral checks that every protocol with clients calls: linearizability of the
//! client history (key by key, with its counterexample told in simulated seconds), liveness
//! after the faults heal, and the helpers that build a [`CheckOutcome`]. A protocol's own
//! invariants stay in its module.

use crate::check::{
    CheckOptions, CheckResult, History, KvAppend, KvInput, KvOutput, Status, Verdict as LinVerdict,
    check, witness,
};
use crate::protocols::{CheckOutcome, RoleChange, RunOutcome, RunSpec, Verdict};
use crate::sim::rng::det_ln;
use crate::sim::{Fault, StopReason, Time, fmt_duration, fmt_time};
use crate::workload::{OpRecord, OpStatus};

/// A passing check.
/// A check that did not apply to this run: SKIPPED, never PASS, with the reason in `detail`.
pub fn skipped(name: &str, detail: String) -> CheckOutcome {
    CheckOutcome {
        verdict: Verdict::Skipped,
        ..pass(name, detail)
    }
}

pub fn pass(name: &str, detail: String) -> CheckOutcome {
    CheckOutcome {
        name: name.into(),
        verdict: Verdict::Pass,
        detail,
        ops: vec![],
        linearized: vec![],
        unplaced: vec![],
        culprits: vec![],
        at: None,
        nodes: vec![],
        since: None,
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
        culprits: vec![],
        at: None,
        nodes: vec![],
        since: None,
    }
}

/// Linearizability of the clients' history, key by key. `ops[i]` is the record of the
/// history's operation `i`.
///
/// `order`, when the protocol knows it, is the order its replicated state machine applied
/// the operations (indexes into the history): a witness. Completed with the reads it lacks
/// ([`witness::complete`]) and verified in linear time per key ([`witness::verify`]), it
/// proves the history linearizable. A refuted witness proves nothing: the search then
/// looks at the shortest time prefix of the key where the witness failed (a prefix that
/// cannot be linearized condemns the history), and only then at the whole history. A PASS
/// always comes from a verified order (the witness's, or one the search found).
pub fn linearizability(
    ops: &[OpRecord],
    hist: &History<KvInput, KvOutput>,
    order: Option<&[usize]>,
) -> CheckOutcome {
    // Sweeps already use every core across seeds: one thread per check.
    let opts = CheckOptions {
        budget: 5_000_000,
        parallel: false,
        ..CheckOptions::default()
    };
    let mut refuted = None;
    if let Some(order) = order {
        let order = witness::complete(&KvAppend, hist, order);
        match witness::verify(&KvAppend, hist, &order) {
            Ok(v) => {
                return pass(
                    "linearizability",
                    format!(
                        "{} operations over {} keys are linearizable: the order the state machine applied them in, verified ({} of them took effect)",
                        hist.len(),
                        v.keys,
                        v.ops
                    ),
                );
            }
            Err(r) => {
                if let Some(c) = stale_read(hist, &order) {
                    return stale_violation(ops, hist, &c);
                }
                let (sub, map) = witness::prefix(&KvAppend, hist, &r.key, r.at);
                let s = check(&KvAppend, &sub, &opts);
                if s.verdict == LinVerdict::NotLinearizable {
                    return violation(ops, mapped(s, &map), Some(&r));
                }
                refuted = Some((r, s.steps));
            }
        }
    }
    let r = check(&KvAppend, hist, &opts);
    let witness_note = |d: String| match &refuted {
        Some((w, steps)) => format!(
            "{d}; the apply order was refuted (key {:?}: {}) and its prefix to {}s searched ({steps} steps) without a verdict",
            w.key,
            w.reason,
            fmt_time(w.at)
        ),
        None => d,
    };
    match r.verdict {
        LinVerdict::Linearizable => pass(
            "linearizability",
            witness_note(format!(
                "{} operations over {} keys are linearizable ({} search steps)",
                hist.len(),
                r.partitions,
                r.steps
            )),
        ),
        LinVerdict::Unknown => CheckOutcome {
            verdict: Verdict::Unknown,
            ..pass(
                "linearizability",
                witness_note(format!("search budget exhausted after {} steps", r.steps)),
            )
        },
        LinVerdict::NotLinearizable => violation(ops, r, refuted.as_ref().map(|w| &w.0)),
    }
}

/// Most reads [`stale_read`] tries.
const STALE_TRIES: usize = 64;

/// A [`witness::StaleRead`] certificate for one of the completed reads the witness could not
/// place (the earliest-returning first, at most [`STALE_TRIES`] of them).
fn stale_read(hist: &History<KvInput, KvOutput>, order: &[usize]) -> Option<witness::StaleRead> {
    let mut placed = vec![false; hist.len()];
    for &i in order {
        if let Some(p) = placed.get_mut(i) {
            *p = true;
        }
    }
    let mut reads: Vec<(u64, usize)> = hist
        .ops
        .iter()
        .enumerate()
        .filter(|(i, op)| {
            !placed[*i] && op.status == Status::Ok && matches!(op.input, KvInput::Get { .. })
        })
        .map(|(i, op)| (op.ret.unwrap_or(u64::MAX), i))
        .collect();
    reads.sort_unstable();
    reads
        .iter()
        .take(STALE_TRIES)
        .find_map(|&(_, r)| witness::stale_read_kv(hist, r))
}

/// Operation `i` as a check's detail lists it, in simulated seconds:
/// `  #194 client 0 [6.175392661s, 6.197383382s] c0 append k0 "c0.50 " -> ok`.
fn op_line(ops: &[OpRecord], i: usize) -> String {
    let o = &ops[i];
    let ret = o.ret.map_or("?".into(), fmt_time);
    format!(
        "  #{i} client {} [{}s, {ret}s] {}\n",
        o.client,
        fmt_time(o.call),
        o.desc
    )
}

/// The VIOLATION a stale-read certificate proves.
fn stale_violation(
    ops: &[OpRecord],
    hist: &History<KvInput, KvOutput>,
    c: &witness::StaleRead,
) -> CheckOutcome {
    let line = |i: usize| op_line(ops, i);
    let key = match &hist.ops[c.read].input {
        KvInput::Get { key } => key.to_string(),
        _ => String::new(),
    };
    let until = ops[c.read].ret.map_or("?".into(), fmt_time);
    let d = format!(
        "key {key:?}: the history up to {until}s cannot be linearized: the read #{r} is stale.\n\
         the write #{w} completed before the read #{r} was invoked, so every order applies it first; what it wrote \
         is not in the value read, and no put or CAS that could come between the two wrote a value the read's starts with.\n\
         because of these completed operations (no order places both):\n{}{}\
         (a certificate found where the order the state machine applied the operations in could not place the read)\n",
        line(c.write),
        line(c.read),
        w = c.write,
        r = c.read
    );
    let mut involved = vec![c.write, c.read];
    involved.sort_unstable();
    CheckOutcome {
        linearized: vec![c.write],
        unplaced: vec![c.read],
        culprits: involved.clone(),
        ..fail("linearizability", d, involved)
    }
}

/// A search result on a sub-history, with its operation indexes mapped back (`map[i]` is the
/// whole history's index of the sub-history's operation `i`).
fn mapped(mut r: CheckResult, map: &[usize]) -> CheckResult {
    if let Some(c) = &mut r.counterexample {
        for v in [
            &mut c.ops,
            &mut c.linearized,
            &mut c.unplaced,
            &mut c.culprits,
        ] {
            for i in v.iter_mut() {
                *i = map[*i];
            }
        }
    }
    r
}

/// The VIOLATION of a search that found the history (or a prefix of it) not linearizable.
fn violation(ops: &[OpRecord], r: CheckResult, witness: Option<&witness::Refuted>) -> CheckOutcome {
    let c = r.counterexample.expect("a violation has a counterexample");
    let mut involved: Vec<usize> = c
        .linearized
        .iter()
        .chain(&c.unplaced)
        .chain(&c.culprits)
        .copied()
        .collect();
    involved.sort_unstable();
    involved.dedup();
    // The checker's own text counts in raw history times; this one speaks in
    // simulated seconds and shows only the end of the partial order.
    let line = |i: usize| op_line(ops, i);
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
    if !c.culprits.is_empty() {
        d.push_str("because of these completed operations (without any one of them the history could be linearized):\n");
        for &i in &c.culprits {
            d.push_str(&line(i));
        }
    }
    if let Some(w) = witness {
        d.push_str(&format!(
            "(found searching the time prefix where the state machine's apply order failed: {})\n",
            w.reason
        ));
    }
    CheckOutcome {
        linearized: c.linearized.clone(),
        unplaced: c.unplaced.clone(),
        culprits: c.culprits.clone(),
        ..fail("linearizability", d, involved)
    }
}

/// The longest a client may go without completing an operation once every fault is over:
/// the scenario's `workload.liveness_bound`, or else what a correct protocol needs on this
/// network: its recovery time ([`ProtocolDef::recovery`]), then enough tries (each at most
/// one `workload.timeout`, back-off included) that all of them failing on the worst link's
/// loss — a try fails when its request or its reply is lost — has a probability below
/// 10^-9, at least one operation's `attempts`; a think time per operation those tries span;
/// and two round trips of the worst latency.
///
/// [`ProtocolDef::recovery`]: crate::protocols::ProtocolDef::recovery
pub fn liveness_bound(spec: &RunSpec) -> Time {
    let w = &spec.workload;
    if let Some(b) = w.liveness_bound {
        return b;
    }
    let (_, latency) = spec.network.worst();
    let tries = tries_under_loss(spec, 2).max(w.attempts as u64);
    let ops = tries.div_ceil(w.attempts.max(1) as u64);
    spec.protocol
        .def()
        .recovery()
        .saturating_add(w.timeout.saturating_mul(tries))
        .saturating_add(w.think.1.saturating_mul(ops))
        .saturating_add(latency.saturating_mul(4))
}

/// Tries the default liveness bound counts at most (a link that loses everything).
const MAX_TRIES: u64 = 1_000_000;

/// How many tries a correct protocol may need on this network before one gets through,
/// when a try takes `hops` messages that must all arrive: enough that all of them failing on
/// the worst link's loss has a probability below 10^-9 (0 on a lossless network, at most
/// [`MAX_TRIES`] on one that loses everything).
pub fn tries_under_loss(spec: &RunSpec, hops: i32) -> u64 {
    let (loss, _) = spec.network.worst();
    let fail = 1.0 - (1.0 - loss).powi(hops);
    let tries = if fail <= 0.0 {
        0.0
    } else if fail >= 1.0 {
        MAX_TRIES as f64
    } else {
        (det_ln(1e-9) / det_ln(fail)).ceil()
    };
    tries.min(MAX_TRIES as f64) as u64
}

/// Liveness: once every fault is over, every client keeps completing operations while it
/// still has operations to issue: from the heal on, no such client goes longer than the
/// bound ([`liveness_bound`]) without a successful completion. A client has nothing left to
/// issue after the workload's `stop`, or once it has finished its `ops_per_client`
/// operations (the last one completed, or given up after the client's longest attempt), so
/// the end of the workload is never taken for a stuck cluster.
///
/// Not judged (SKIPPED, saying why): when some fault never heals, or when no client has
/// more than the bound of work left after the heal (the run, the workload or the clients'
/// operations end sooner).
/// Liveness's note when some fault never heals: not judged, and why.
pub fn unhealed_note(spec: &RunSpec) -> String {
    format!(
        "not judged: faults never healed ({})",
        crate::sim::unhealed(&spec.faults)
    )
}

pub fn liveness(spec: &RunSpec, ops: &[OpRecord], end: Time) -> CheckOutcome {
    let bound = liveness_bound(spec);
    let Some(from) = spec.heal_at else {
        return skipped("liveness", unhealed_note(spec));
    };
    let w = &spec.workload;
    let Judged {
        stuck,
        judged,
        completions,
        latest_end,
    } = judge_liveness(
        ops,
        &Window {
            clients: w.clients,
            ops_per_client: w.ops_per_client,
            stop: w.stop,
            longest_op: crate::workload::kv::longest_op(w),
            end,
            from,
            bound,
        },
    );
    let b = fmt_duration(bound);
    match stuck {
        None if judged == 0 && end < w.stop && latest_end >= end => skipped(
            "liveness",
            format!(
                "not judged: the run ended at {}s, before the faults healed at {}s plus the bound ({b})",
                fmt_time(end),
                fmt_time(from)
            ),
        ),
        None if judged == 0 => skipped(
            "liveness",
            format!(
                "not judged: the faults heal at {}s and no client has more than the bound ({b}) of work left after that (work ends by {}s)",
                fmt_time(from),
                fmt_time(latest_end)
            ),
        ),
        None => pass(
            "liveness",
            format!(
                "after the faults healed at {}s every client with operations left completed one at least every {b} ({judged} clients judged, {completions} completions)",
                fmt_time(from),
            ),
        ),
        Some((c, since)) => {
            let involved: Vec<usize> = ops
                .iter()
                .enumerate()
                .filter(|(_, o)| {
                    o.client == c
                        && o.call.saturating_add(bound) >= since
                        && o.call <= since + bound
                })
                .map(|(i, _)| i)
                .collect();
            fail(
                "liveness",
                format!(
                    "client c{c} completed nothing from {}s for more than {b} although the faults healed at {}s and it still had operations to issue",
                    fmt_time(since),
                    fmt_time(from)
                ),
                involved,
            )
            // It shows once the bound ran out without a completion.
            .dated(
                since.saturating_add(bound).min(end),
                [(spec.servers + c, format!("completed nothing from {}s", fmt_time(since)))],
            )
        }
    }
}

/// What [`liveness`] judges over: the clients' workload, the run's end, the heal and the bound.
struct Window {
    clients: u32,
    ops_per_client: u32,
    stop: Time,
    longest_op: Time,
    end: Time,
    from: Time,
    bound: Time,
}

/// What [`liveness`] found: the first client (by number) that went longer than the bound
/// without a completion and since when, how many clients it judged and completions it
/// counted, and when the latest client's work ended.
#[derive(Debug, PartialEq, Eq)]
struct Judged {
    stuck: Option<(u32, Time)>,
    judged: usize,
    completions: usize,
    latest_end: Time,
}

fn judge_liveness(ops: &[OpRecord], w: &Window) -> Judged {
    let (from, bound, end, longest_op) = (w.from, w.bound, w.end, w.longest_op);
    let (mut judged, mut completions) = (0, 0);
    let mut latest_end = 0;
    // Two passes in history order over every operation, with a short row per client: a
    // list of each client's operations to walk client by client reached a thousand clients'
    // operations far apart in memory, one cache miss each.
    let n = w.clients as usize;
    // Per client: how many operations it invoked, and its last.
    let mut rows: Vec<(usize, usize)> = vec![(0, usize::MAX); n];
    for (i, o) in ops.iter().enumerate() {
        if let Some(r) = rows.get_mut(o.client as usize) {
            *r = (r.0 + 1, i);
        }
    }
    // Per client: the end of its window (until when it still has operations to issue, or
    // one outstanding), or `None` when it is not judged.
    let windows: Vec<Option<Time>> = rows
        .iter()
        .map(|&(count, last)| {
            let finished = w.ops_per_client > 0 && count >= w.ops_per_client as usize;
            let retire = match ops.get(last) {
                Some(last) if finished => last
                    .ret
                    .unwrap_or_else(|| last.call.saturating_add(longest_op)),
                _ => Time::MAX,
            };
            let window_end = retire.min(w.stop).min(end);
            latest_end = latest_end.max(window_end);
            if window_end <= from.saturating_add(bound) {
                return None; // never more than the bound of work left after the heal
            }
            judged += 1;
            Some(window_end)
        })
        .collect();
    // Per client, its completions in the window as they come: the last one, the first gap
    // longer than the bound, and whether they came in order of time (a closed-loop client's
    // do; one whose did not is judged again below from its completions sorted).
    #[derive(Clone)]
    struct Gaps {
        last: Time,
        prev: Time,
        stuck: Option<Time>,
        unsorted: bool,
    }
    let mut gaps = vec![
        Gaps {
            last: from,
            prev: from,
            stuck: None,
            unsorted: false,
        };
        n
    ];
    let completed_in = |o: &OpRecord| {
        let window_end = (*windows.get(o.client as usize)?)?;
        let r = o.ret.filter(|_| o.status == OpStatus::Ok)?;
        (r >= from && r <= window_end).then_some(r)
    };
    for o in ops {
        let Some(r) = completed_in(o) else { continue };
        completions += 1;
        let g = &mut gaps[o.client as usize];
        g.unsorted |= r < g.prev;
        g.prev = r;
        if !g.unsorted && g.stuck.is_none() {
            if r - g.last > bound {
                g.stuck = Some(g.last);
            } else {
                g.last = r;
            }
        }
    }
    // The first gap in a sorted list of completions followed by the window's end.
    let first_gap = |done: &mut Vec<Time>, window_end: Time| {
        done.sort_unstable();
        let mut last = from;
        for &r in done.iter().chain(std::iter::once(&window_end)) {
            if r - last > bound {
                return Some(last);
            }
            last = r;
        }
        None
    };
    // The completions of the clients whose came out of order (an open-loop client's), in
    // one more pass.
    let mut unsorted: Vec<Vec<Time>> = vec![Vec::new(); n];
    if gaps.iter().any(|g| g.unsorted) {
        for o in ops {
            if let Some(r) = completed_in(o)
                && gaps[o.client as usize].unsorted
            {
                unsorted[o.client as usize].push(r);
            }
        }
    }
    let mut stuck: Option<(u32, Time)> = None;
    for (c, (g, window_end)) in gaps.iter().zip(&windows).enumerate() {
        let Some(window_end) = *window_end else {
            continue;
        };
        let since = if g.unsorted {
            first_gap(&mut unsorted[c], window_end)
        } else {
            g.stuck
                .or_else(|| (window_end - g.last > bound).then_some(g.last))
        };
        if let Some(since) = since {
            stuck = Some((c as u32, since));
            break;
        }
    }
    Judged {
        stuck,
        judged,
        completions,
        latest_end,
    }
}

/// The [`RUN_CHECK`](crate::protocols::RUN_CHECK): whether the run did the work its checks
/// judge. INCONCLUSIVE when the event limit or the pending-event limit stopped it before its
/// time limit, or when a protocol with clients completed no operation; PASS otherwise.
pub fn run_check(spec: &RunSpec, o: &RunOutcome) -> CheckOutcome {
    let name = crate::protocols::RUN_CHECK;
    let s = &o.stats;
    let mut why = Vec::new();
    if s.stop == StopReason::EventLimit {
        why.push(format!(
            "the event limit ({} events) stopped the run at {}s, before its time limit ({}s): something scheduled without bound",
            s.events,
            fmt_time(s.time),
            fmt_time(spec.limits.time)
        ));
    }
    if s.stop == StopReason::PendingLimit {
        why.push(format!(
            "the pending-event limit ({} events waiting at once) stopped the run at {}s, before its time limit ({}s): messages or timers were scheduled faster than they were handled (a timer of a few nanoseconds?); `limits.pending` raises it",
            spec.limits.pending,
            fmt_time(s.time),
            fmt_time(spec.limits.time)
        ));
    }
    let clients = spec.protocol.uses_clients() && spec.workload.clients > 0;
    let ok = o.ops.iter().filter(|x| x.status == OpStatus::Ok).count();
    if clients && ok == 0 {
        why.push(format!(
            "the workload completed no operation ({} invoked): the checks had nothing to judge",
            o.ops.len()
        ));
    }
    if !o.checks.is_empty() && o.checks.iter().all(|c| c.verdict == Verdict::Skipped) {
        let names: Vec<&str> = o.checks.iter().map(|c| c.name.as_str()).collect();
        why.push(format!(
            "no check could judge the run ({} skipped)",
            names.join(", ")
        ));
    }
    if why.is_empty() {
        let work = if clients {
            format!(", {ok} of {} operations completed", o.ops.len())
        } else {
            String::new()
        };
        return pass(
            name,
            format!(
                "ran to {}s ({}), {} events{work}",
                fmt_time(s.time),
                s.stop,
                s.events
            ),
        );
    }
    CheckOutcome {
        verdict: Verdict::Inconclusive,
        ..pass(name, why.join("; "))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::{Stream, range_u64, stream};

    /// [`judge_liveness`] as it was, client by client over a list of each client's
    /// operations: the reference the two-pass version is held to.
    fn by_client_lists(ops: &[OpRecord], w: &Window) -> Judged {
        let (from, bound) = (w.from, w.bound);
        let mut stuck: Option<(u32, Time)> = None;
        let (mut judged, mut completions) = (0, 0);
        let mut latest_end = 0;
        let mut by_client: Vec<Vec<&OpRecord>> = vec![Vec::new(); w.clients as usize];
        for o in ops {
            if let Some(v) = by_client.get_mut(o.client as usize) {
                v.push(o);
            }
        }
        for c in 0..w.clients {
            let mine = std::mem::take(&mut by_client[c as usize]);
            let finished = w.ops_per_client > 0 && mine.len() >= w.ops_per_client as usize;
            let retire = match mine.last() {
                Some(last) if finished => last
                    .ret
                    .unwrap_or_else(|| last.call.saturating_add(w.longest_op)),
                _ => Time::MAX,
            };
            let window_end = retire.min(w.stop).min(w.end);
            latest_end = latest_end.max(window_end);
            if window_end <= from.saturating_add(bound) {
                continue;
            }
            judged += 1;
            let mut done: Vec<Time> = mine
                .iter()
                .filter(|o| o.status == OpStatus::Ok)
                .filter_map(|o| o.ret)
                .filter(|&r| r >= from && r <= window_end)
                .collect();
            done.sort_unstable();
            completions += done.len();
            let mut last = from;
            for r in done.into_iter().chain(std::iter::once(window_end)) {
                if r - last > bound {
                    stuck.get_or_insert((c, last));
                    break;
                }
                last = r;
            }
        }
        Judged {
            stuck,
            judged,
            completions,
            latest_end,
        }
    }

    /// Histories of closed-loop clients (completions in order), open-loop ones (out of
    /// order), clients past the workload's count, unknown outcomes, and clients that finish
    /// their operations, over windows and bounds that judge some, all or none of them.
    #[test]
    fn two_passes_judge_liveness_as_lists_per_client_did() {
        let mut cases = 0;
        for seed in 0..300u64 {
            let mut r = stream(seed, Stream::User, 19);
            let clients = range_u64(&mut r, 1, 12) as u32;
            let open_loop = range_u64(&mut r, 0, 3) == 0;
            let mut ops = Vec::new();
            let mut now = vec![0; clients as usize + 2];
            for _ in 0..range_u64(&mut r, 0, 200) {
                let client = range_u64(&mut r, 0, clients as u64 + 1) as u32;
                let call = now[client as usize] + range_u64(&mut r, 0, 400);
                let took = range_u64(&mut r, 1, 300);
                let ok = range_u64(&mut r, 0, 9) > 0;
                if !open_loop {
                    now[client as usize] = call + took;
                }
                ops.push(OpRecord {
                    client,
                    call,
                    ret: ok.then_some(call + took),
                    status: if ok { OpStatus::Ok } else { OpStatus::Unknown },
                    kind: "get".into(),
                    key: "k0".into(),
                    desc: String::new(),
                });
            }
            let w = Window {
                clients,
                ops_per_client: range_u64(&mut r, 0, 20) as u32,
                stop: range_u64(&mut r, 0, 30_000),
                longest_op: range_u64(&mut r, 0, 2_000),
                end: range_u64(&mut r, 0, 30_000),
                from: range_u64(&mut r, 0, 5_000),
                bound: range_u64(&mut r, 1, 3_000),
            };
            let want = by_client_lists(&ops, &w);
            assert_eq!(judge_liveness(&ops, &w), want, "seed {seed}");
            cases += usize::from(want.stuck.is_some());
        }
        assert!(cases > 30, "too few histories with a stuck client: {cases}");
    }
}
