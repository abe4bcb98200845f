//! Shrinking: from a failing run to the smallest run that still fails the same check.
//!
//! Every candidate is an ordinary deterministic run of a scenario with an explicit fault
//! schedule (the nemesis's draws written out), so the search is itself deterministic. Steps,
//! repeated until nothing shrinks or the run budget is spent:
//! 1. delta debugging (ddmin) over fault *windows* (a crash with its restart, a partition with
//!    its heal, a skew with its reset, a pause);
//! 2. shorter windows (the closing action moved earlier, or dropped) and later starts;
//! 3. a smaller workload: fewer clients, fewer operations per client, fewer keys,
//!    slower clients (longer think times);
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

mod schedule;
mod size;

pub use schedule::windows;
use schedule::{
    ddmin_faults, drop_actions, drop_leading, merge_crashes, move_earlier, shorten_windows,
    simplify_partitions,
};
use size::{fine_duration, fine_workload, shrink_cluster, shrink_duration, shrink_workload};

use crate::protocols::{RunOutcome, Verdict, run};
use crate::scenario::Scenario;
use crate::sim::{Fault, ScheduledFault, Time};

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
        "seed {seed} of `{name}` {why}: there is nothing to shrink (find a failing seed with `faultline sweep`)"
    )]
    Passes {
        name: String,
        seed: u64,
        /// "passes every check", or the verdict of a run without a violation that did not
        /// pass (inconclusive, unknown).
        why: String,
    },
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
        let why = match original.verdict() {
            Verdict::Pass => "passes every check".to_string(),
            v => format!("has no violation: its verdict is {}", v.word()),
        };
        return Err(ShrinkError::Passes {
            name: scenario.name.clone(),
            seed,
            why,
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

pub(super) fn valid(c: &Scenario) -> bool {
    crate::scenario::validate(c).is_ok()
}

pub(super) fn with_schedule(base: &Scenario, mut f: Vec<ScheduledFault>) -> Scenario {
    let mut c = base.clone();
    f.sort_by_key(|x| x.at);
    c.faults.schedule = f;
    c
}
