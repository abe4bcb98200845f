//! Shrinking: from a failing run to the smallest run that still fails the same check.
//!
//! Every candidate is an ordinary deterministic run of a scenario with an explicit fault
//! schedule (the nemesis's draws written out), so the search is itself deterministic. Steps,
//! repeated until nothing shrinks or the run budget is spent:
//! 1. delta debugging (ddmin) over fault *windows* (a crash with its restart, a partition with
//!    its heal, a skew with its reset, a pause);
//! 2. shorter windows (the closing action moved earlier, or dropped) and later starts;
//! 3. a smaller workload: fewer clients, fewer operations per client, fewer keys;
//! 4. fewer servers, where the protocol allows it;
//! 5. a shorter simulated run (tried first: it drops every fault after the new end).
//!
//! Once those converge, finer moves: single actions dropped, crash windows merged or turned
//! into pauses, simpler partitions, windows moved earlier, finer cuts of duration and
//! workload; and last, the leading window dropped with the rest of the schedule renamed
//! (servers permuted, where the protocol's servers are interchangeable) and moved earlier.
//! That last move is for failures whose first faults only set the stage: without them
//! another server takes the part, and the rest of the schedule must follow it. It is the
//! costly one (up to 17 x 120 runs per try on 5 servers), hence the budget of 20,000 runs.
//!
//! Candidates of one step are run in parallel (rayon) and the first failing one *in candidate
//! order* is taken, so the result does not depend on thread timing. Latencies are drawn from
//! per-link random streams and fault draws from the nemesis stream, so removing a fault does
//! not reshuffle the network's random draws.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use rayon::prelude::*;
use serde::Serialize;

use crate::protocols::{RunOutcome, Verdict, run};
use crate::scenario::Scenario;
use crate::sim::{Fault, Partition, ScheduledFault, Time};

/// How big a run is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Size {
    pub faults: usize,
    pub ops: usize,
    pub events: u64,
    pub sim_time: Time,
    pub servers: u32,
    pub clients: u32,
}

/// The result of a shrink.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// A standalone scenario with the faults explicit; fails `check` with `seed`.
    pub scenario: Scenario,
    pub seed: u64,
    pub check: String,
    pub before: Size,
    pub after: Size,
    /// Candidate runs spent.
    pub runs: u32,
    pub outcome: RunOutcome,
    /// Stopped by [`Control::stop`]: the best scenario found so far, not fully shrunk.
    pub interrupted: bool,
}

/// How a shrink stands, for a progress display.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Candidate runs spent, of `budget`.
    pub runs: u32,
    pub budget: u32,
    /// The best scenario so far: its faults, operations and events.
    pub best: Size,
    /// The last batch of candidates found a smaller failing run.
    pub improved: bool,
}

/// What the caller sees and steers while a shrink runs.
#[derive(Default)]
pub struct Control<'a> {
    /// When set (e.g. by Ctrl-C), no new candidate starts and the best scenario found so far
    /// is returned ([`Shrunk::interrupted`]).
    pub stop: Option<&'a AtomicBool>,
    /// Called after every batch of candidate runs.
    pub progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
}

/// Why a shrink could not start.
#[derive(Debug, thiserror::Error)]
pub enum ShrinkError {
    #[error(
        "seed {seed} of `{name}` passes every check: there is nothing to shrink (find a failing seed with `faultline sweep`)"
    )]
    Passes { name: String, seed: u64 },
    #[error("seed {seed} of `{name}` does not fail check `{check}` (it fails: {failing})")]
    OtherCheck {
        name: String,
        seed: u64,
        check: String,
        failing: String,
    },
}

/// Shrink options.
#[derive(Clone, Debug)]
pub struct Options {
    /// At most this many candidate runs.
    pub budget: u32,
    /// Only keep candidates failing this check (default: the first check the original fails).
    pub check: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            budget: 20_000,
            check: None,
        }
    }
}

/// The size of the run `o` of scenario `s` at `seed`: its faults are every fault the run had
/// (the schedule and the nemesis's draws), so the figures describe the scenario as written.
pub fn size(s: &Scenario, seed: u64, o: &RunOutcome) -> Size {
    Size {
        faults: s.faults_for(seed).len(),
        ops: o.ops.len(),
        events: o.stats.events,
        sim_time: o.stats.time,
        servers: s.cluster.servers,
        clients: s.workload.clients,
    }
}

fn measure(s: &Scenario, o: &RunOutcome) -> (usize, usize, u64, Time) {
    let fault_time = windows(&s.faults.schedule)
        .iter()
        .map(|w| match (&w[0].fault, w.get(1)) {
            (_, Some(close)) => close.at - w[0].at,
            (Fault::Pause { duration, .. }, None) => *duration,
            _ => s.limits.time.saturating_sub(w[0].at),
        })
        .sum();
    (
        s.faults.schedule.len(),
        o.ops.len(),
        o.stats.events,
        fault_time,
    )
}

fn violates(o: &RunOutcome, check: &str) -> bool {
    o.checks
        .iter()
        .any(|c| c.name == check && c.verdict == Verdict::Violation)
}

struct Search<'a> {
    seed: u64,
    check: String,
    runs: u32,
    budget: u32,
    best: Scenario,
    best_outcome: RunOutcome,
    control: &'a Control<'a>,
}

impl Search<'_> {
    fn stopped(&self) -> bool {
        self.control.stop.is_some_and(|f| f.load(Ordering::SeqCst))
    }

    /// Runs the candidates (in parallel, within budget) and takes the first that still fails.
    fn try_first(&mut self, candidates: Vec<Scenario>) -> bool {
        let room = self.budget.saturating_sub(self.runs) as usize;
        let candidates: Vec<Scenario> = candidates.into_iter().take(room).collect();
        if candidates.is_empty() {
            return false;
        }
        let (seed, check) = (self.seed, self.check.as_str());
        // A candidate is taken only if it still fails and is smaller: fewer faults first, then
        // fewer operations, fewer events, less time under faults (lexicographic).
        let cur = measure(&self.best, &self.best_outcome);
        let no_bigger = |c: &Scenario, o: &RunOutcome| measure(c, o) < cur;
        let first = self.runs == 0;
        let ran = AtomicU32::new(0);
        let stop = self.control.stop;
        let found = candidates
            .into_par_iter()
            .map(|c| {
                if stop.is_some_and(|f| f.load(Ordering::SeqCst)) {
                    return None; // interrupted: run nothing more
                }
                ran.fetch_add(1, Ordering::Relaxed);
                let o = run(&c.to_run_spec(seed, false));
                (violates(&o, check) && (first || no_bigger(&c, &o))).then_some((c, o))
            })
            .collect::<Vec<_>>();
        self.runs += ran.into_inner();
        let found = found.into_iter().flatten().next();
        let improved = found.is_some();
        if let Some((c, o)) = found {
            self.best = c;
            self.best_outcome = o;
        }
        if let Some(p) = self.control.progress {
            p(&Progress {
                runs: self.runs,
                budget: self.budget,
                best: size(&self.best, self.seed, &self.best_outcome),
                improved,
            });
        }
        improved
    }

    /// `try_first` on successive chunks of `candidates`, stopping at the first chunk with a
    /// failing candidate: long candidate lists cost only the runs up to their first success.
    fn try_first_chunked(
        &mut self,
        candidates: impl IntoIterator<Item = Scenario>,
        chunk: usize,
    ) -> bool {
        let mut it = candidates.into_iter().peekable();
        while it.peek().is_some() && !self.spent() {
            if self.try_first(it.by_ref().take(chunk).collect()) {
                return true;
            }
        }
        false
    }

    fn spent(&self) -> bool {
        self.runs >= self.budget || self.stopped()
    }
}

/// Shrinks `scenario` at `seed`. Refuses a passing run.
pub fn shrink(scenario: &Scenario, seed: u64, opts: &Options) -> Result<Shrunk, ShrinkError> {
    shrink_with(scenario, seed, opts, &Control::default())
}

/// [`shrink`], with progress reports and a stop flag.
pub fn shrink_with(
    scenario: &Scenario,
    seed: u64,
    opts: &Options,
    control: &Control<'_>,
) -> Result<Shrunk, ShrinkError> {
    let original = run(&scenario.to_run_spec(seed, false));
    let failing: Vec<&str> = original
        .checks
        .iter()
        .filter(|c| c.verdict == Verdict::Violation)
        .map(|c| c.name.as_str())
        .collect();
    let Some(first) = failing.first() else {
        return Err(ShrinkError::Passes {
            name: scenario.name.clone(),
            seed,
        });
    };
    let check = opts.check.clone().unwrap_or_else(|| first.to_string());
    if !failing.contains(&check.as_str()) {
        return Err(ShrinkError::OtherCheck {
            name: scenario.name.clone(),
            seed,
            check,
            failing: failing.join(", "),
        });
    }
    // Make the faults explicit: the same run, no nemesis left.
    let mut explicit = scenario.clone();
    explicit.faults.schedule = scenario.faults_for(seed);
    explicit.faults.nemesis = None;
    let before = size(&explicit, seed, &original);
    let mut s = Search {
        seed,
        check,
        runs: 0,
        budget: opts.budget,
        best: explicit,
        best_outcome: original,
        control,
    };
    // The explicit form must still fail (it is the same run); if not, keep the original form.
    if !s.try_first(vec![s.best.clone()]) {
        s.best = scenario.clone();
    }

    loop {
        let start = (
            s.best.faults.schedule.len(),
            s.best_outcome.ops.len(),
            s.best_outcome.stats.events,
        );
        shrink_duration(&mut s);
        ddmin_faults(&mut s);
        shrink_workload(&mut s);
        shrink_cluster(&mut s);
        shorten_windows(&mut s);
        let end = (
            s.best.faults.schedule.len(),
            s.best_outcome.ops.len(),
            s.best_outcome.stats.events,
        );
        if end != start {
            continue;
        }
        if s.spent() {
            break;
        }
        // Converged: finer moves, each tried only once the coarse passes are stuck.
        fine_duration(&mut s);
        drop_actions(&mut s);
        merge_crashes(&mut s);
        simplify_partitions(&mut s);
        move_earlier(&mut s);
        fine_workload(&mut s);
        drop_leading(&mut s);
        let end = (
            s.best.faults.schedule.len(),
            s.best_outcome.ops.len(),
            s.best_outcome.stats.events,
        );
        if end == start || s.spent() {
            break;
        }
    }
    let after = size(&s.best, seed, &s.best_outcome);
    let interrupted = s.stopped();
    let mut scenario = s.best;
    if !scenario.name.ends_with("-shrunk") {
        // Cut to leave room for the suffix within the name limit.
        let keep = crate::scenario::MAX_NAME_LEN - "-shrunk".len();
        let base: String = scenario.name.chars().take(keep).collect();
        scenario.name = format!("{base}-shrunk");
    }
    scenario.description = format!(
        "Shrunk by `faultline shrink` from `{}` seed {}: still fails `{}`. Faults {} -> {}, operations {} -> {}, events {} -> {}.\n\n{}",
        before_name(scenario.name.as_str()),
        seed,
        s.check,
        before.faults,
        after.faults,
        before.ops,
        after.ops,
        before.events,
        after.events,
        scenario.description
    )
    .chars()
    .take(crate::scenario::MAX_DESCRIPTION_LEN)
    .collect();
    scenario.expect = crate::scenario::Expect::Violation {
        check: s.check.clone(),
        within_seeds: (seed, seed.saturating_add(1)),
    };
    Ok(Shrunk {
        scenario,
        seed,
        check: s.check,
        before,
        after,
        runs: s.runs,
        outcome: s.best_outcome,
        interrupted,
    })
}

fn before_name(n: &str) -> &str {
    n.strip_suffix("-shrunk").unwrap_or(n)
}

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

fn with_windows(base: &Scenario, ws: &[Vec<ScheduledFault>]) -> Scenario {
    with_schedule(base, ws.iter().flatten().cloned().collect())
}

/// ddmin (Zeller): try removing chunks of windows, then keeping only chunks, refining.
fn ddmin_faults(s: &mut Search) {
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
fn shorten_windows(s: &mut Search) {
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

fn shrink_workload(s: &mut Search) {
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
        if !s.try_first(cands) {
            break;
        }
    }
}

fn shrink_cluster(s: &mut Search) {
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
fn shrink_duration(s: &mut Search) {
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

fn valid(c: &Scenario) -> bool {
    crate::scenario::validate(c).is_ok()
}

fn with_schedule(base: &Scenario, mut f: Vec<ScheduledFault>) -> Scenario {
    let mut c = base.clone();
    f.sort_by_key(|x| x.at);
    c.faults.schedule = f;
    c
}

/// ddmin at granularity 1 on single actions (not windows): drop one action at a time.
fn drop_actions(s: &mut Search) {
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
fn merge_crashes(s: &mut Search) {
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

fn simplify_partitions(s: &mut Search) {
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
fn move_earlier(s: &mut Search) {
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
fn drop_leading(s: &mut Search) {
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

/// A shorter run in finer steps: the time limit (and, separately, the workload's stop) cut
/// to k/16 of itself, smallest first.
fn fine_duration(s: &mut Search) {
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
fn fine_workload(s: &mut Search) {
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
