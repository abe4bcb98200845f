//! The linearizability checker's entry point: verdicts, options, results, and `check`, which
//! splits a history by key (P-compositionality: keys are checked separately, in parallel with
//! rayon, and the first failing key in key order decides) and chooses the search for each:
//!
//! - `search.rs`, the depth-first search with a memo of visited configurations (Wing & Gong in
//!   Lowe's form, as Porcupine does it, without the overheads): fastest on short histories;
//! - `frontier.rs`, the sweep in time order that keeps only the frontier: memory bounded by
//!   the history's concurrency, not its length; for long histories, and as the fallback for
//!   short wide ones.
//!
//! On wide histories (a hundred clients), both are preceded by what needs no search
//! (`propose.rs`, `certify.rs`): a candidate order per partition that is trusted only once
//! `witness::verify_ops` has checked it against the model, else a sound certificate of a stale
//! read; a partition neither decides is searched as above.
//!
//! A step budget (not wall-clock) ends either with `Unknown`, so every verdict reproduces
//! exactly. A violation comes with a counterexample (`explain.rs`): the shortest prefix of the
//! history (cut at a completion) that cannot be linearized, the longest partial linearization
//! found in it, and the operations that could not be placed next.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use super::explain::{certified, counterexample, explain};
use super::frontier;
use super::history::{History, Operation, Status};
use super::model::Model;
use super::search::{Outcome, Searcher};
use super::witness;

/// The checker's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Linearizable,
    /// The step budget ran out first.
    Unknown,
    NotLinearizable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Linearizable => "linearizable",
            Verdict::Unknown => "unknown",
            Verdict::NotLinearizable => "not-linearizable",
        }
    }
}

/// Options.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Most search steps for one partition; past it the verdict is `Unknown`.
    pub budget: u64,
    /// Check partitions on several threads.
    pub parallel: bool,
    /// On a violation, find the shortest failing prefix (a few more searches).
    pub minimize: bool,
    /// Which search: by default the depth-first search for short histories (then the frontier
    /// if a tenth of the budget does not decide) and the frontier sweep (memory bounded by
    /// concurrency, not length) for long ones.
    pub mode: Mode,
}

/// The search strategy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// On a history of at least [`AUTO_SHORTCUT_OPS`] operations with at least
    /// [`AUTO_SHORTCUT_CLIENTS`] open at once, first
    /// what needs no search: per partition a candidate order verified against the model, else
    /// a stale-read certificate. Then, for what is left: the frontier sweep for a partition of
    /// at least [`AUTO_FRONTIER_OPS`] operations; below, the search with a tenth of the budget,
    /// then the frontier (its exact sweep short: the search already tried), then the search
    /// with the whole budget.
    #[default]
    Auto,
    /// Depth-first search with a memo of visited configurations (Wing & Gong, Lowe).
    Search,
    /// One sweep in time order keeping only the frontier (`frontier.rs`).
    Frontier,
}

/// From this many operations in one partition, `Mode::Auto` sweeps the frontier: the search's
/// memo grows with the history's length, the frontier only with its concurrency.
pub const AUTO_FRONTIER_OPS: usize = 50_000;

/// From this many operations open at once, `Mode::Auto` first tries what needs no search,
/// partition by partition: a candidate order
/// built in near-linear time (`propose.rs`: zones for registers with unique values, a greedy
/// sweep otherwise), trusted only once verified against the model (`witness::verify_ops`),
/// then a certificate of a violation (`certify.rs`: a stale read of a unique value). What
/// neither decides is searched as before. Narrower histories go straight to the searches
/// (the frontier sweep decides long narrow ones in bounded memory), whose counterexamples are
/// minimal prefixes.
pub const AUTO_SHORTCUT_CLIENTS: usize = 64;

/// Below this many operations the searches decide even wide histories quickly, and `check`
/// does not spend a sort on measuring the concurrency.
pub const AUTO_SHORTCUT_OPS: usize = 1_000;

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            budget: 50_000_000,
            parallel: true,
            minimize: true,
            mode: Mode::Auto,
        }
    }
}

/// Why a history is not linearizable, for humans and for pictures.
#[derive(Clone, Debug, Serialize)]
pub struct Counterexample {
    /// The partition (key) that failed; empty for unpartitioned models.
    pub key: String,
    /// Indexes (into the history) of the operations of the shortest failing prefix.
    pub ops: Vec<usize>,
    /// The prefix ends at this time: every operation invoked by then is in `ops`; those that
    /// completed later count as pending.
    pub prefix_end: u64,
    /// The longest partial linearization found: history indexes in linearization order.
    pub linearized: Vec<usize>,
    /// Operations that could not be placed after `linearized` (the first is the one that had
    /// to complete next).
    pub unplaced: Vec<usize>,
    /// Completed operations of the prefix without any one of which it could be linearized:
    /// the operations that make it impossible (a stale read, the write it contradicts). For a
    /// violation proven by a certificate (long or wide histories, `certify.rs`), `ops` is the
    /// certificate's few operations and the culprits are the read and the completed write it
    /// contradicts (or the read alone, when no operation may write its value).
    pub culprits: Vec<usize>,
    /// The same, as text.
    pub text: String,
}

/// The result of a check.
#[derive(Clone, Debug, Serialize)]
pub struct CheckResult {
    pub verdict: Verdict,
    /// Search steps over all partitions.
    pub steps: u64,
    pub partitions: usize,
    pub counterexample: Option<Counterexample>,
    /// For a linearizable history: one order per partition (history indexes) in which every
    /// completed operation (and the unknown ones that took effect) can take effect.
    pub linearization: Vec<Vec<usize>>,
}

/// Checks `history` against `model`.
pub fn check<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    opts: &CheckOptions,
) -> CheckResult {
    // Partitions in key order (the index is only looked up; `parts` is sorted below).
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut parts: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, op) in history.ops.iter().enumerate() {
        if op.status != Status::Fail {
            let k = model.key(&op.input);
            let p = *index.entry(k).or_insert_with(|| {
                parts.push((k, Vec::new()));
                parts.len() - 1
            });
            parts[p].1.push(i);
        }
    }
    parts.sort_unstable_by(|a, b| a.0.cmp(b.0));
    if opts.mode != Mode::Auto
        || history.ops.len() < AUTO_SHORTCUT_OPS
        || concurrency(history) < AUTO_SHORTCUT_CLIENTS
    {
        return check_parts(model, history, &parts, opts);
    }
    // Wide: a candidate order per partition, verified; else a certificate; else the searches
    // on what is left.
    let shortcut = |(key, idx): &(&str, Vec<usize>)| {
        let ops: Vec<&Operation<M::Input, M::Output>> =
            idx.iter().map(|&j| &history.ops[j]).collect();
        if let Some(order) = model.propose(&ops) {
            let order: Vec<usize> = order.into_iter().map(|p| p as usize).collect();
            if witness::verify_ops(model, &ops, &order).is_ok() {
                return Shortcut::Verified(order.into_iter().map(|p| idx[p]).collect());
            }
        }
        match model.certify(&ops) {
            Some(c) => Shortcut::Refuted(certified(model, history, key, idx, &c)),
            None => Shortcut::Open,
        }
    };
    let found: Vec<Shortcut> = if opts.parallel && parts.len() > 1 {
        parts.par_iter().map(shortcut).collect()
    } else {
        parts.iter().map(shortcut).collect()
    };
    let total = parts.len();
    let mut open_parts = Vec::new();
    let mut orders: Vec<Option<Vec<usize>>> = Vec::with_capacity(total);
    let mut refuted = None;
    for (part, f) in parts.into_iter().zip(found) {
        match f {
            Shortcut::Verified(order) => orders.push(Some(order)),
            Shortcut::Refuted(c) => {
                refuted.get_or_insert(c);
                orders.push(None);
            }
            Shortcut::Open => {
                open_parts.push(part);
                orders.push(None);
            }
        }
    }
    if let Some(c) = refuted {
        return CheckResult {
            verdict: Verdict::NotLinearizable,
            steps: 0,
            partitions: total,
            counterexample: Some(c),
            linearization: Vec::new(),
        };
    }
    let mut r = check_parts(model, history, &open_parts, opts);
    r.partitions = total;
    if r.verdict == Verdict::Linearizable {
        // Every partition's order, in key order (the searched ones where they gave one).
        let mut searched = std::mem::take(&mut r.linearization).into_iter();
        r.linearization = orders
            .into_iter()
            .map(|o| o.unwrap_or_else(|| searched.next().unwrap_or_default()))
            .collect();
    }
    r
}

/// What the shortcuts found for one partition.
enum Shortcut {
    /// A verified linearization (history indexes).
    Verified(Vec<usize>),
    /// A certificate that it cannot be linearized.
    Refuted(Counterexample),
    Open,
}

/// The most operations open at once (completed ones; unknown ones are left out).
fn concurrency<I, O>(history: &History<I, O>) -> usize {
    let mut events: Vec<(u64, bool)> = Vec::with_capacity(2 * history.ops.len());
    for op in &history.ops {
        if let (Status::Ok, Some(ret)) = (op.status, op.ret) {
            events.push((op.call, false));
            events.push((ret.max(op.call), true));
        }
    }
    events.sort_unstable();
    let (mut open, mut most) = (0usize, 0usize);
    for (_, ret) in events {
        if ret {
            open -= 1;
        } else {
            open += 1;
            most = most.max(open);
        }
    }
    most
}

/// `check` on partitions (key order), by the searches.
fn check_parts<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    parts: &[(&str, Vec<usize>)],
    opts: &CheckOptions,
) -> CheckResult {
    let widest = parts.iter().map(|p| p.1.len()).max().unwrap_or(0);
    if opts.mode == Mode::Frontier || (opts.mode == Mode::Auto && widest >= AUTO_FRONTIER_OPS) {
        return check_frontier(model, history, parts, opts, opts.budget / 2);
    }
    // Models whose state grows (appends) are left to the search: its dead-end pruning does
    // better there, where the frontier's witness search branches on every order of appends.
    let grows = history.ops.iter().any(|o| {
        model.grows(&o.input, o.output.as_ref()) && !model.read_only(&o.input, o.output.as_ref())
    });
    if opts.mode == Mode::Auto && !grows {
        // Short but wide histories (many clients) can defeat the search: a tenth of the
        // budget, then the frontier with its witness search.
        let first = check_parts(
            model,
            history,
            parts,
            &CheckOptions {
                budget: opts.budget / 10,
                mode: Mode::Search,
                ..opts.clone()
            },
        );
        if first.verdict != Verdict::Unknown {
            return first;
        }
        let mut r = check_frontier(model, history, parts, opts, opts.budget / 500);
        r.steps += first.steps;
        if r.verdict != Verdict::Unknown {
            return r;
        }
        let mut last = check_parts(
            model,
            history,
            parts,
            &CheckOptions {
                mode: Mode::Search,
                ..opts.clone()
            },
        );
        last.steps += r.steps;
        return last;
    }
    // Iterative deepening over partitions: every unfinished partition is searched again with a
    // budget four times larger, until one fails or all are done. A cheap failing partition
    // then decides without waiting for an expensive one, and which partition decides depends
    // only on step counts, never on thread timing.
    let slices: Vec<Vec<&Operation<M::Input, M::Output>>> = parts
        .iter()
        .map(|(_, idx)| idx.iter().map(|&j| &history.ops[j]).collect())
        .collect();
    let mut searchers: Vec<Searcher<'_, M>> =
        slices.iter().map(|ops| Searcher::new(model, ops)).collect();
    let mut done: Vec<Option<Outcome>> = (0..parts.len()).map(|_| None).collect();
    let parallel = opts.parallel && parts.len() > 1 && history.ops.len() >= 1_000;
    let mut round_budget = if parts.len() > 1 {
        100u64.min(opts.budget)
    } else {
        opts.budget
    };
    let mut failed: Option<usize> = None;
    loop {
        let last_round = round_budget >= opts.budget;
        let step = |(i, s): (usize, &mut Searcher<'_, M>)| (i, s.run(round_budget, last_round));
        let pending = searchers
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| done[*i].is_none());
        // Threads only for big rounds: a small round costs less than waking a thread.
        let results: Vec<(usize, Option<Outcome>)> = if parallel && round_budget >= 20_000 {
            pending
                .collect::<Vec<_>>()
                .into_par_iter()
                .map(step)
                .collect()
        } else {
            pending.map(step).collect()
        };
        for (i, out) in results {
            if let Some(out) = out {
                if out.verdict == Verdict::NotLinearizable {
                    failed = Some(failed.map_or(i, |f| f.min(i)));
                }
                done[i] = Some(out);
            }
        }
        if failed.is_some() || last_round || done.iter().all(Option::is_some) {
            break;
        }
        round_budget = (round_budget + round_budget / 2).min(opts.budget);
    }
    let steps = searchers.iter().map(|s| s.steps).sum();
    let mut verdict = Verdict::Linearizable;
    let mut counterexample = None;
    if let Some(i) = failed {
        verdict = Verdict::NotLinearizable;
        let out = done[i]
            .as_ref()
            .expect("a failed partition has its outcome");
        counterexample = Some(explain(model, history, parts[i].0, &parts[i].1, out, opts));
    } else if done
        .iter()
        .any(|d| d.as_ref().is_none_or(|o| o.verdict == Verdict::Unknown))
    {
        verdict = Verdict::Unknown;
    }
    let linearization = if verdict == Verdict::Linearizable {
        parts
            .iter()
            .zip(&done)
            .map(|((_, idx), d)| {
                d.as_ref()
                    .map(|o| o.best.iter().map(|&p| idx[p as usize]).collect())
                    .unwrap_or_default()
            })
            .collect()
    } else {
        Vec::new()
    };
    CheckResult {
        verdict,
        steps,
        partitions: parts.len(),
        counterexample,
        linearization,
    }
}

/// `check` by frontier sweeps, one per partition; the first failing key in key order decides.
fn check_frontier<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    parts: &[(&str, Vec<usize>)],
    opts: &CheckOptions,
    exact_budget: u64,
) -> CheckResult {
    let run = |(_, idx): &(&str, Vec<usize>)| {
        let ops: Vec<&Operation<M::Input, M::Output>> =
            idx.iter().map(|&j| &history.ops[j]).collect();
        frontier::decide(model, &ops, exact_budget, opts.budget)
    };
    let outs: Vec<frontier::FrontierOutcome> = if opts.parallel && parts.len() > 1 {
        parts.par_iter().map(run).collect()
    } else {
        parts.iter().map(run).collect()
    };
    let steps = outs.iter().map(|o| o.steps).sum();
    let failed = outs
        .iter()
        .position(|o| o.verdict == Verdict::NotLinearizable);
    let verdict = match failed {
        Some(_) => Verdict::NotLinearizable,
        None if outs.iter().any(|o| o.verdict == Verdict::Unknown) => Verdict::Unknown,
        None => Verdict::Linearizable,
    };
    let counterexample = failed.map(|i| {
        let (key, idx) = &parts[i];
        let out = &outs[i];
        let end = out.fail_at.unwrap_or(0);
        let ops_h = idx
            .iter()
            .copied()
            .filter(|&j| history.ops[j].call <= end)
            .collect();
        let to_h = |v: &[u32]| v.iter().map(|&p| idx[p as usize]).collect::<Vec<usize>>();
        counterexample(
            model,
            history,
            key,
            end,
            ops_h,
            to_h(&out.best),
            to_h(&out.unplaced),
        )
    });
    CheckResult {
        verdict,
        steps,
        partitions: parts.len(),
        counterexample,
        // The frontier keeps no order behind it (that is its point): no points to draw.
        linearization: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::model::{CasRegister, RegisterInput as I, RegisterOutput as O};

    #[test]
    fn a_stale_read_is_not_linearizable_and_is_explained() {
        let mut h = History::new();
        h.ok(0, 0, 10, I::Write(1), O::Written);
        h.ok(1, 20, 30, I::Read, O::Read(None));
        let r = check(&CasRegister::default(), &h, &CheckOptions::default());
        assert_eq!(r.verdict, Verdict::NotLinearizable);
        let c = r.counterexample.unwrap();
        assert_eq!(c.linearized, vec![0]);
        assert_eq!(c.unplaced, vec![1]);
        assert!(c.text.contains("read -> nil"), "{}", c.text);
    }

    #[test]
    fn concurrent_ops_may_take_effect_in_either_order() {
        let mut h = History::new();
        h.ok(0, 0, 10, I::Write(1), O::Written);
        h.ok(1, 5, 8, I::Read, O::Read(Some(1)));
        h.ok(2, 6, 9, I::Read, O::Read(None));
        assert_eq!(
            check(&CasRegister::default(), &h, &CheckOptions::default()).verdict,
            Verdict::Linearizable
        );
    }

    #[test]
    fn unknown_ops_may_happen_late_or_never() {
        let mut h = History::new();
        h.unknown(0, 0, I::Write(5));
        h.ok(1, 10, 20, I::Read, O::Read(None));
        h.ok(1, 30, 40, I::Read, O::Read(Some(5)));
        assert_eq!(
            check(&CasRegister::default(), &h, &CheckOptions::default()).verdict,
            Verdict::Linearizable
        );
        let mut h = History::new();
        h.unknown(0, 0, I::Write(5));
        h.ok(1, 10, 20, I::Read, O::Read(None));
        assert_eq!(
            check(&CasRegister::default(), &h, &CheckOptions::default()).verdict,
            Verdict::Linearizable
        );
        // A failed op never happened.
        let mut h = History::new();
        h.fail(0, 0, 5, I::Write(5));
        h.ok(1, 10, 20, I::Read, O::Read(Some(5)));
        assert_eq!(
            check(&CasRegister::default(), &h, &CheckOptions::default()).verdict,
            Verdict::NotLinearizable
        );
    }

    #[test]
    fn many_keys_are_partitioned_in_key_order() {
        use crate::check::model::{KvAppend, KvInput as K, KvOutput as V};
        let mut h = History::new();
        for r in 0..3u64 {
            for k in 0..40u64 {
                let key = format!("k{k:02}");
                h.ok(
                    k,
                    100 * r,
                    100 * r + 10,
                    K::Append {
                        key: key.into(),
                        value: format!("{r}").into(),
                    },
                    V::Done,
                );
            }
        }
        let key = "k30".into();
        h.ok(1, 500, 510, K::Get { key }, V::Value("021".into()));
        let key = "k07".into();
        h.ok(1, 500, 510, K::Get { key }, V::Value("012".into()));
        let r = check(&KvAppend, &h, &CheckOptions::default());
        assert_eq!(r.partitions, 40);
        assert_eq!(r.verdict, Verdict::NotLinearizable);
        assert_eq!(r.counterexample.unwrap().key, "k30");
    }

    #[test]
    fn the_budget_ends_in_unknown() {
        let mut h = History::new();
        for c in 0..12 {
            h.ok(c, 0, 100, I::Write(c as i64), O::Written);
        }
        h.ok(99, 200, 300, I::Read, O::Read(Some(-1)));
        let r = check(
            &CasRegister::default(),
            &h,
            &CheckOptions {
                budget: 50,
                mode: Mode::Search,
                ..Default::default()
            },
        );
        assert_eq!(r.verdict, Verdict::Unknown);
        // By default the frontier takes over: the blind writes are placed lazily, and a read
        // of a value nobody wrote is refuted at once.
        let r = check(
            &CasRegister::default(),
            &h,
            &CheckOptions {
                budget: 50,
                ..Default::default()
            },
        );
        assert_eq!(r.verdict, Verdict::NotLinearizable);
    }
}
