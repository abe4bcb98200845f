//! Shrinking passes over the fault schedule: which windows, which actions, how long, how
//! early, which servers. Each pass proposes candidates to [`Search`] and keeps the first that
//! still fails.

use super::{Search, valid, with_schedule};
use crate::scenario::Scenario;
use crate::sim::{Fault, Partition, ScheduledFault};

/// Groups a sorted schedule into windows: each opening action with its closing one.
pub fn windows(faults: &[ScheduledFault]) -> Vec<Vec<ScheduledFault>> {
    let mut used = vec![false; faults.len()];
    let mut out = Vec::new();
    for i in 0..faults.len() {
        if used[i] {
            continue;
        }
        used[i] = true;
        let mut w = vec![faults[i].clone()];
        let closes = |f: &Fault| -> bool {
            match (&faults[i].fault, f) {
                (Fault::Crash(a), Fault::Restart(b)) => a == b,
                (Fault::Partition(_), Fault::Heal) => true,
                (
                    Fault::ClockSkew { node: a, .. },
                    Fault::ClockSkew {
                        node: b,
                        offset: 0,
                        drift_ppm: 0,
                    },
                ) => a == b,
                _ => false,
            }
        };
        let opening = match &faults[i].fault {
            Fault::ClockSkew {
                offset, drift_ppm, ..
            } => *offset != 0 || *drift_ppm != 0,
            Fault::Crash(_) | Fault::Partition(_) => true,
            _ => false,
        };
        if opening
            && let Some(j) = (i + 1..faults.len()).find(|&j| !used[j] && closes(&faults[j].fault))
        {
            used[j] = true;
            w.push(faults[j].clone());
        }
        out.push(w);
    }
    out
}

pub(super) fn with_windows(base: &Scenario, ws: &[Vec<ScheduledFault>]) -> Scenario {
    with_schedule(base, ws.iter().flatten().cloned().collect())
}

/// ddmin (Zeller): try removing chunks of windows, then keeping only chunks, refining.
pub(super) fn ddmin_faults(s: &mut Search) {
    let mut ws = windows(&s.best.faults.schedule);
    let mut n = 2usize;
    while !ws.is_empty() && !s.spent() {
        let chunk = ws.len().div_ceil(n);
        let parts: Vec<Vec<Vec<ScheduledFault>>> = ws.chunks(chunk).map(|c| c.to_vec()).collect();
        // Complements first (remove one chunk), then subsets (keep one chunk).
        let mut cands = Vec::new();
        for i in 0..parts.len() {
            let rest: Vec<Vec<ScheduledFault>> = parts
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .flat_map(|(_, p)| p.clone())
                .collect();
            cands.push(rest);
        }
        if parts.len() > 2 {
            for p in &parts {
                cands.push(p.clone());
            }
        }
        let scen: Vec<Scenario> = cands.iter().map(|w| with_windows(&s.best, w)).collect();
        if s.try_first(scen) {
            ws = windows(&s.best.faults.schedule);
            n = (n - 1).max(2);
            continue;
        }
        if n >= ws.len() {
            break;
        }
        n = (n * 2).min(ws.len());
    }
}

/// Shortens each window (closing action earlier) and starts it later, halving each time.
pub(super) fn shorten_windows(s: &mut Search) {
    let mut idx = 0;
    while !s.spent() {
        let ws = windows(&s.best.faults.schedule);
        if idx >= ws.len() {
            break;
        }
        let w = &ws[idx];
        let mut cands = Vec::new();
        let start = w[0].at;
        let len = match (&w[0].fault, w.get(1)) {
            (_, Some(close)) => close.at - start,
            (Fault::Pause { duration, .. }, None) => *duration,
            _ => 0,
        };
        for frac in [4, 2] {
            let new_len = len / frac;
            if new_len == 0 || new_len == len {
                continue;
            }
            let mut v = ws.clone();
            let single = v[idx].len() == 1;
            if let (Fault::Pause { duration, .. }, true) = (&mut v[idx][0].fault, single) {
                *duration = new_len;
            }
            if !single {
                v[idx][1].at = start + new_len;
            }
            cands.push(with_windows(&s.best, &v));
        }
        // Never close it: one action instead of two (a partition that is never healed, a
        // crash without restart).
        if ws[idx].len() == 2 {
            let mut v = ws.clone();
            v[idx].truncate(1);
            cands.push(with_windows(&s.best, &v));
        }
        // Start later, same length: half-way to the end of the window.
        if len > 1 {
            let mut v = ws.clone();
            let shift = len / 2;
            for f in v[idx].iter_mut() {
                f.at += shift;
            }
            if v[idx].iter().all(|f| f.at < s.best.limits.time) {
                cands.push(with_windows(&s.best, &v));
            }
        }
        if !s.try_first(cands) {
            idx += 1;
        }
    }
}

/// ddmin at granularity 1 on single actions (not windows): drop one action at a time.
pub(super) fn drop_actions(s: &mut Search) {
    let mut i = 0;
    while !s.spent() {
        let sched = s.best.faults.schedule.clone();
        if i >= sched.len() {
            break;
        }
        let mut cands = Vec::new();
        for j in i..sched.len() {
            let mut f = sched.clone();
            f.remove(j);
            let c = with_schedule(&s.best, f);
            if valid(&c) {
                cands.push(c);
            }
        }
        if s.try_first(cands) {
            // Resume where the taken candidate differs (earlier drops were already refused).
            i = first_diff(&sched, &s.best.faults.schedule).unwrap_or(i);
        } else {
            break;
        }
    }
}

fn first_diff(a: &[ScheduledFault], b: &[ScheduledFault]) -> Option<usize> {
    (0..a.len().max(b.len())).find(|&k| a.get(k) != b.get(k))
}

/// Two crash windows of one node merged into one (its first crash to its last restart), or
/// a crash window replaced by a pause.
pub(super) fn merge_crashes(s: &mut Search) {
    while !s.spent() {
        let ws = windows(&s.best.faults.schedule);
        let mut cands = Vec::new();
        for a in 0..ws.len() {
            for b in a + 1..ws.len() {
                let (wa, wb) = (&ws[a], &ws[b]);
                let same = match (&wa[0].fault, &wb[0].fault) {
                    (Fault::Crash(x), Fault::Crash(y)) => x == y,
                    _ => false,
                };
                if !same || wa.len() != 2 {
                    continue;
                }
                let mut v = ws.clone();
                let mut merged = vec![wa[0].clone()];
                if let Some(r) = wb.get(1) {
                    merged.push(r.clone());
                }
                v[a] = merged;
                v.remove(b);
                let c = with_windows(&s.best, &v);
                if valid(&c) {
                    cands.push(c);
                }
            }
        }
        // A crash window as a pause of the same length: one action instead of two.
        for (a, w) in ws.iter().enumerate() {
            if let (Fault::Crash(node), Some(r)) = (&w[0].fault, w.get(1)) {
                let mut v = ws.clone();
                v[a] = vec![ScheduledFault {
                    at: w[0].at,
                    fault: Fault::Pause {
                        node: *node,
                        duration: r.at - w[0].at,
                    },
                }];
                cands.push(with_windows(&s.best, &v));
            }
        }
        if !s.try_first(cands) {
            break;
        }
    }
}

/// Simpler partitions of the same window: one named node isolated, or fewer nodes.
fn simpler(p: &Partition) -> Vec<Partition> {
    let mut out = Vec::new();
    let names = p.named();
    match p {
        Partition::Isolate(_) => return out,
        Partition::OneWay { from, to } => {
            for k in 0..from.len() {
                if from.len() > 1 {
                    let mut f = from.clone();
                    f.remove(k);
                    out.push(Partition::OneWay {
                        from: f,
                        to: to.clone(),
                    });
                }
            }
            for k in 0..to.len() {
                if to.len() > 1 {
                    let mut t = to.clone();
                    t.remove(k);
                    out.push(Partition::OneWay {
                        from: from.clone(),
                        to: t,
                    });
                }
            }
        }
        Partition::Bridge {
            left,
            right,
            bridge,
        } => {
            out.push(Partition::Split(vec![left.clone(), right.clone()]));
            for k in 0..left.len() {
                if left.len() > 1 {
                    let mut l = left.clone();
                    l.remove(k);
                    out.push(Partition::Bridge {
                        left: l,
                        right: right.clone(),
                        bridge: *bridge,
                    });
                }
            }
            for k in 0..right.len() {
                if right.len() > 1 {
                    let mut r = right.clone();
                    r.remove(k);
                    out.push(Partition::Bridge {
                        left: left.clone(),
                        right: r,
                        bridge: *bridge,
                    });
                }
            }
        }
        Partition::Split(g) => {
            for (gi, grp) in g.iter().enumerate() {
                if grp.len() > 1 {
                    for k in 0..grp.len() {
                        let mut g2 = g.clone();
                        g2[gi].remove(k);
                        out.push(Partition::Split(g2));
                    }
                }
            }
        }
        Partition::Links(l) => {
            for k in 0..l.len() {
                if l.len() > 1 {
                    let mut l2 = l.clone();
                    l2.remove(k);
                    out.push(Partition::Links(l2));
                }
            }
        }
    }
    let mut seen = Vec::new();
    for n in names {
        if !seen.contains(&n) {
            seen.push(n);
            out.insert(seen.len() - 1, Partition::Isolate(n));
        }
    }
    out
}

pub(super) fn simplify_partitions(s: &mut Search) {
    let mut idx = 0;
    while !s.spent() {
        let sched = s.best.faults.schedule.clone();
        let Some(i) = (idx..sched.len()).find(|&i| matches!(sched[i].fault, Fault::Partition(_)))
        else {
            break;
        };
        let Fault::Partition(p) = &sched[i].fault else {
            unreachable!()
        };
        let cands: Vec<Scenario> = simpler(p)
            .into_iter()
            .map(|q| {
                let mut f = sched.clone();
                f[i].fault = Fault::Partition(q);
                with_schedule(&s.best, f)
            })
            .filter(valid)
            .collect();
        if !s.try_first(cands) {
            idx = i + 1;
        }
    }
}

/// Windows moved earlier: half-way towards the previous action (or time 0).
pub(super) fn move_earlier(s: &mut Search) {
    let mut idx = 0;
    while !s.spent() {
        let ws = windows(&s.best.faults.schedule);
        if idx >= ws.len() {
            break;
        }
        let start = ws[idx][0].at;
        let prev = s
            .best
            .faults
            .schedule
            .iter()
            .map(|f| f.at)
            .filter(|&t| t < start)
            .max()
            .unwrap_or(0);
        let mut cands = Vec::new();
        for frac in [2u64, 4] {
            let shift = (start - prev) / frac;
            if shift == 0 {
                continue;
            }
            let mut v = ws.clone();
            for f in v[idx].iter_mut() {
                f.at -= shift;
            }
            let c = with_windows(&s.best, &v);
            if valid(&c) {
                cands.push(c);
            }
        }
        if !s.try_first(cands) {
            idx += 1;
        }
    }
}

/// Server renamings to try, identity first, in lexicographic order: all of them up to 5
/// servers (120); beyond that the identity, each swap of two servers and each rotation.
fn renamings(n: u32) -> Vec<Vec<u32>> {
    if n <= 5 {
        let mut out = vec![(0..n).collect::<Vec<u32>>()];
        // Next permutation in lexicographic order until the last one.
        loop {
            let mut p = out.last().unwrap().clone();
            let Some(i) = (1..p.len()).rev().find(|&i| p[i - 1] < p[i]) else {
                return out;
            };
            let j = (i..p.len()).rev().find(|&j| p[j] > p[i - 1]).unwrap();
            p.swap(i - 1, j);
            p[i..].reverse();
            out.push(p);
        }
    }
    let id: Vec<u32> = (0..n).collect();
    let mut out = vec![id.clone()];
    for a in 0..n as usize {
        for b in a + 1..n as usize {
            let mut p = id.clone();
            p.swap(a, b);
            out.push(p);
        }
    }
    for r in 1..n as usize {
        let mut p = id.clone();
        p.rotate_left(r);
        out.push(p);
    }
    out
}

/// The first fault window dropped, the rest re-aligned. A failure often needs its first
/// window only to bring the cluster into some shape (a given server leading, a given log);
/// without it another server ends up in that place, so the rest of the schedule rarely
/// fails as it stands, but may under renamed servers (when the protocol's servers are
/// interchangeable) and moved earlier, into the time the dropped window took. Tries the rest
/// moved earlier by j/16 of the gap down to half the dropped window's start (j = 0..=16) under each renaming, in that order, in
/// chunks, and keeps the first that fails; repeats while it succeeds.
pub(super) fn drop_leading(s: &mut Search) {
    const STEPS: u64 = 16;
    while !s.spent() {
        let ws = windows(&s.best.faults.schedule);
        if ws.len() < 2 {
            return;
        }
        // Down to half-way between time 0 and the dropped window's start.
        let gap = ws[1][0].at - ws[0][0].at / 2;
        let names = if s.best.protocol.symmetric_servers() {
            renamings(s.best.cluster.servers)
        } else {
            vec![(0..s.best.cluster.servers).collect()]
        };
        let best = s.best.clone();
        let cands = (0..=STEPS).flat_map(|j| {
            let (ws, best) = (&ws, &best);
            names.iter().filter_map(move |to| {
                let shift = gap / STEPS * j;
                let rest = ws[1..]
                    .iter()
                    .flatten()
                    .map(|f| ScheduledFault {
                        at: f.at - shift,
                        fault: f.fault.relabel(to),
                    })
                    .collect();
                let c = with_schedule(best, rest);
                valid(&c).then_some(c)
            })
        });
        // Built lazily: only the chunks tried are ever cloned.
        if !s.try_first_chunked(cands, 64) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SECS;

    #[test]
    fn renamings_are_distinct_permutations_identity_first() {
        for n in 1..=7u32 {
            let r = renamings(n);
            assert_eq!(r[0], (0..n).collect::<Vec<_>>());
            let mut seen = std::collections::BTreeSet::new();
            for p in &r {
                let mut q = p.clone();
                q.sort();
                assert_eq!(q, (0..n).collect::<Vec<_>>(), "{p:?} is a permutation");
                assert!(seen.insert(p.clone()), "{p:?} appears once");
            }
            let fact: usize = (1..=n as usize).product();
            if n <= 5 {
                assert_eq!(r.len(), fact);
            } else {
                assert_eq!(r.len(), 1 + (n * (n - 1) / 2) as usize + n as usize - 1);
            }
        }
    }

    #[test]
    fn relabel_renames_every_server_a_fault_names() {
        let to = [2, 0, 1];
        let p = Partition::Bridge {
            left: vec![0],
            right: vec![1],
            bridge: 2,
        };
        assert_eq!(
            Fault::Partition(p).relabel(&to),
            Fault::Partition(Partition::Bridge {
                left: vec![2],
                right: vec![0],
                bridge: 1
            })
        );
        assert_eq!(Fault::Crash(1).relabel(&to), Fault::Crash(0));
        assert_eq!(
            Fault::Pause {
                node: 0,
                duration: 5
            }
            .relabel(&to),
            Fault::Pause {
                node: 2,
                duration: 5
            }
        );
        assert_eq!(Fault::Heal.relabel(&to), Fault::Heal);
    }

    #[test]
    fn windows_pair_openings_with_their_closings() {
        let f = |at: u64, fault: Fault| ScheduledFault {
            at: at * SECS,
            fault,
        };
        let sched = vec![
            f(1, Fault::Crash(1)),
            f(2, Fault::Partition(Partition::Isolate(0))),
            f(3, Fault::Crash(2)),
            f(4, Fault::Restart(2)),
            f(5, Fault::Heal),
            f(6, Fault::Restart(1)),
            f(
                7,
                Fault::Pause {
                    node: 3,
                    duration: SECS,
                },
            ),
        ];
        let ws = windows(&sched);
        let shape: Vec<Vec<u64>> = ws
            .iter()
            .map(|w| w.iter().map(|x| x.at / SECS).collect())
            .collect();
        assert_eq!(shape, vec![vec![1, 6], vec![2, 5], vec![3, 4], vec![7]]);
    }
}
