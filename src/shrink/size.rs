//! Shrinking passes over the run's size: simulated duration, workload (clients, operations,
//! keys, think time) and cluster (servers). Each pass proposes candidates to [`Search`] and keeps the first
//! that still fails.

use super::schedule::{windows, with_windows};
use super::{Search, valid};
use crate::scenario::Scenario;
use crate::sim::{ScheduledFault, Time};

pub(super) fn shrink_workload(s: &mut Search) {
    // Operations per client: start from what each client did in the failing run.
    loop {
        if s.spent() {
            return;
        }
        let w = &s.best.workload;
        let done_max = (0..w.clients)
            .map(|c| s.best_outcome.ops.iter().filter(|o| o.client == c).count() as u32)
            .max()
            .unwrap_or(0)
            .max(1);
        let cur = if w.ops_per_client == 0 {
            done_max
        } else {
            w.ops_per_client.min(done_max)
        };
        let mut cands = fewer_ops(
            &s.best,
            cur,
            [cur / 4, cur / 2, cur * 3 / 4, cur.saturating_sub(1)],
        );
        let mut c = s.best.clone();
        if w.ops_per_client == 0 {
            c.workload.ops_per_client = cur;
            cands.push(c);
        }
        if !s.try_first(cands) {
            break;
        }
    }
    for _ in 0..16 {
        if s.spent() {
            return;
        }
        let w = s.best.workload.clone();
        let mut cands = Vec::new();
        for v in [1, w.clients / 2, w.clients.saturating_sub(1)] {
            if v >= 1 && v < w.clients && !cands.iter().any(|c: &Scenario| c.workload.clients == v)
            {
                let mut c = s.best.clone();
                c.workload.clients = v;
                cands.push(c);
            }
        }
        for v in [1, w.keys / 2, w.keys.saturating_sub(1)] {
            if v >= 1
                && v < w.keys
                && !cands
                    .iter()
                    .any(|c: &Scenario| c.workload.keys == v && c.workload.clients == w.clients)
            {
                let mut c = s.best.clone();
                c.workload.keys = v;
                cands.push(c);
            }
        }
        cands.extend(slower(&s.best, &[(4, 1), (2, 1)]));
        if !s.try_first(cands) {
            break;
        }
    }
}

pub(super) fn shrink_cluster(s: &mut Search) {
    for _ in 0..8 {
        if s.spent() {
            return;
        }
        let n = s.best.cluster.servers;
        let mut cands = Vec::new();
        for m in [n.saturating_sub(2), n.saturating_sub(1)] {
            if m == 0 || m >= n || s.best.protocol.validate(m).is_err() {
                continue;
            }
            let mut c = s.best.clone();
            c.cluster.servers = m;
            c.cluster.names.truncate(m as usize);
            // Drop windows that name a removed server.
            let ws: Vec<Vec<ScheduledFault>> = windows(&c.faults.schedule)
                .into_iter()
                .filter(|w| w.iter().all(|f| f.fault.named().iter().all(|&x| x < m)))
                .collect();
            c = with_windows(&c, &ws);
            c.network.links.retain(|(a, b, _)| *a < m && *b < m);
            cands.push(c);
        }
        if !s.try_first(cands) {
            break;
        }
    }
}

/// A shorter run: the time limit halved (or cut by a quarter), faults after it dropped.
pub(super) fn shrink_duration(s: &mut Search) {
    for _ in 0..8 {
        if s.spent() {
            return;
        }
        let t = s.best.limits.time;
        let mut cands = Vec::new();
        for (num, den) in [(1u64, 4u64), (1, 2), (3, 4)] {
            let nt = t / den * num;
            if nt == 0 || nt >= t {
                continue;
            }
            cands.extend(ending_at(&s.best, nt));
        }
        if !s.try_first(cands) {
            break;
        }
    }
}

/// The run cut to end at `nt`: workload, faults and nemesis stop by then (None if invalid).
fn ending_at(best: &Scenario, nt: Time) -> Option<Scenario> {
    let mut c = best.clone();
    c.limits.time = nt;
    c.workload.stop = c.workload.stop.min(nt);
    c.faults.schedule.retain(|f| f.at <= nt);
    if let Some(n) = &mut c.faults.nemesis {
        n.stop = n.stop.min(nt);
    }
    valid(&c).then_some(c)
}

/// A shorter run in finer steps: the time limit (and, separately, the workload's stop) cut
/// to k/16 of itself, smallest first.
pub(super) fn fine_duration(s: &mut Search) {
    for _ in 0..4 {
        if s.spent() {
            return;
        }
        let t = s.best.limits.time;
        let stop = s.best.workload.stop.min(t);
        let mut cands = Vec::new();
        for k in 9u64..16 {
            let nt = t / 16 * k;
            cands.extend(ending_at(&s.best, nt));
        }
        for k in 9u64..16 {
            let mut c = s.best.clone();
            c.workload.stop = stop / 16 * k;
            if valid(&c) {
                cands.push(c);
            }
        }
        if !s.try_first(cands) {
            break;
        }
    }
}

/// Candidates with `ops_per_client` set to each distinct value of `values` in `1..cur`.
fn fewer_ops(best: &Scenario, cur: u32, values: impl IntoIterator<Item = u32>) -> Vec<Scenario> {
    let mut cands: Vec<Scenario> = Vec::new();
    for v in values {
        if v >= 1 && v < cur && !cands.iter().any(|c| c.workload.ops_per_client == v) {
            let mut c = best.clone();
            c.workload.ops_per_client = v;
            cands.push(c);
        }
    }
    cands
}

/// Fewer operations per client in finer steps (-5%, -10%, -20%), and a shorter workload.
pub(super) fn fine_workload(s: &mut Search) {
    while !s.spent() {
        let cur = s.best.workload.ops_per_client;
        if cur <= 1 {
            break;
        }
        let cands = fewer_ops(&s.best, cur, [60u32, 70, 80, 90, 95].map(|p| cur * p / 100));
        if !s.try_first(cands) {
            break;
        }
    }
    while !s.spent() && s.try_first(slower(&s.best, &[(3, 1), (3, 2), (5, 4)])) {}
}

/// Slower clients: think times scaled by each `num/den`, so that fewer operations fill the
/// same time and the few around the failure can still be there (a stale read needs a read
/// while the old leader is cut off). Think times stay within the run's time limit.
fn slower(base: &Scenario, factors: &[(u64, u64)]) -> Vec<Scenario> {
    let (lo, hi) = base.workload.think;
    factors
        .iter()
        .filter(|&&(num, den)| hi.saturating_mul(num) / den <= base.limits.time)
        .map(|&(num, den)| {
            let mut c = base.clone();
            c.workload.think = (lo.saturating_mul(num) / den, hi.saturating_mul(num) / den);
            c
        })
        .collect()
}
