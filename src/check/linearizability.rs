//! The linearizability checker: Wing & Gong's search in Lowe's form, as Porcupine does it, with
//! the overheads removed.
//!
//! - The history becomes one list of call and return events sorted by time (calls first on
//!   equal times: intervals are closed), kept as `u32` index arrays (a doubly linked list with
//!   O(1) unlink/relink).
//! - Search: at a call, try to linearize the operation now; at a return, the operation was not
//!   linearized before it returned, so backtrack. Iterative with an explicit stack: no
//!   recursion, any length.
//! - Memoization of (set of linearized operations, model state): states are interned to `u32`
//!   ids, step results are memoized per (state, op), and the set's hash is updated in O(1) per
//!   step (Zobrist keys).
//! - P-compositionality: a model's `key` splits the history; keys are checked separately (in
//!   parallel with rayon), the first failing key in key order decides.
//! - Operations with unknown outcome may take effect at any time after their call, or never:
//!   they have no return event, and the search succeeds once every *completed* operation is
//!   linearized.
//! - A step budget (not wall-clock) ends the search with `Unknown`, so every verdict
//!   reproduces exactly.
//!
//! A violation comes with a counterexample: the shortest prefix of the history (cut at a
//! completion) that cannot be linearized, the longest partial linearization found in it, and
//! the operations that could not be placed next.

// The hash maps here (interned states, memoized steps, visited configurations) are only
// looked up by key, never iterated: their order cannot reach a verdict or any output.
#![allow(clippy::disallowed_types)]

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use rayon::prelude::*;
use serde::Serialize;

use super::explain::{counterexample, explain};
use super::frontier;
use super::history::{History, Operation, Status};
use super::model::Model;

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
    /// The frontier sweep for a partition of at least [`AUTO_FRONTIER_OPS`] operations; below,
    /// the search with a tenth of the budget, then the frontier (its exact sweep short: the search
    /// already tried), then the search
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
    /// the operations that make it impossible (a stale read, the write it contradicts).
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
    let widest = parts.iter().map(|p| p.1.len()).max().unwrap_or(0);
    if opts.mode == Mode::Frontier || (opts.mode == Mode::Auto && widest >= AUTO_FRONTIER_OPS) {
        return check_frontier(model, history, &parts, opts, opts.budget / 2);
    }
    // Models whose state grows (appends) are left to the search: its dead-end pruning does
    // better there, where the frontier's witness search branches on every order of appends.
    let grows = history.ops.iter().any(|o| {
        model.grows(&o.input, o.output.as_ref()) && !model.read_only(&o.input, o.output.as_ref())
    });
    if opts.mode == Mode::Auto && !grows {
        // Short but wide histories (many clients) can defeat the search: a tenth of the
        // budget, then the frontier with its witness search.
        let first = check(
            model,
            history,
            &CheckOptions {
                budget: opts.budget / 10,
                mode: Mode::Search,
                ..opts.clone()
            },
        );
        if first.verdict != Verdict::Unknown {
            return first;
        }
        let mut r = check_frontier(model, history, &parts, opts, opts.budget / 500);
        r.steps += first.steps;
        if r.verdict != Verdict::Unknown {
            return r;
        }
        let mut last = check(
            model,
            history,
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

/// The result of searching one partition.
pub(super) struct Outcome {
    pub(super) verdict: Verdict,
    /// Positions (in the partition) of the longest partial linearization.
    pub(super) best: Vec<u32>,
    pub(super) unplaced: Vec<u32>,
}

const NONE: u32 = u32::MAX;
/// How many pending reads `Searcher::dead` asks about.
const DEAD_READS: u32 = 8;

#[derive(Clone, Copy)]
struct Entry {
    op: u32,
    /// For a call: its return entry (NONE if the outcome is unknown). For a return: NONE.
    ret: u32,
    is_call: bool,
}

/// A pass-through hasher for keys that carry their own 64-bit hash.
#[derive(Default)]
pub(crate) struct PreHashed(u64);
impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

/// A fast word-at-a-time hasher for interning model states (order never leaks).
#[derive(Default)]
struct FastHasher(u64);
impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        splitmix(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0 ^ w)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .rotate_left(29);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0 ^ b as u64)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .rotate_left(29);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0 ^ i)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64)
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64)
    }
}

/// The memo of visited configurations (linearized set, state): chained buckets over one arena
/// of bitset words, so inserting allocates nothing per step (amortised).
struct Visited {
    words: usize,
    heads: HashMap<u64, u32, BuildHasherDefault<PreHashed>>,
    /// (state, next in chain)
    nodes: Vec<(u32, u32)>,
    arena: Vec<u64>,
}

impl Visited {
    fn new(words: usize, cap: usize) -> Self {
        Visited {
            words,
            heads: HashMap::with_capacity_and_hasher(cap, Default::default()),
            nodes: Vec::with_capacity(cap),
            arena: Vec::with_capacity(cap * words),
        }
    }
    /// Inserts; false if it was there already.
    fn insert(&mut self, hash: u64, state: u32, bits: &[u64]) -> bool {
        let head = self.heads.get(&hash).copied().unwrap_or(NONE);
        let mut at = head;
        while at != NONE {
            let (st, nx) = self.nodes[at as usize];
            let w = at as usize * self.words;
            if st == state && self.arena[w..w + self.words] == *bits {
                return false;
            }
            at = nx;
        }
        let id = self.nodes.len() as u32;
        self.nodes.push((state, head));
        self.arena.extend_from_slice(bits);
        self.heads.insert(hash, id);
        true
    }
}

/// A short key's hash, inline (keys are usually a few bytes).
pub(crate) fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Searches one partition to the end (or the budget).
pub(super) fn search<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    budget: u64,
) -> Outcome {
    let mut s = Searcher::new(model, ops);
    s.run(budget, true).expect("a final run always decides")
}

/// A resumable search of one partition: `run` continues where the previous call stopped, so
/// raising a partition's budget in rounds costs no repeated work.
struct Searcher<'a, M: Model> {
    model: &'a M,
    ops: &'a [&'a Operation<M::Input, M::Output>],
    entries: Vec<Entry>,
    head: u32,
    next: Vec<u32>,
    prev: Vec<u32>,
    states: Vec<M::State>,
    /// Interning: state hash -> the last id with that hash; `chain[id]` is the previous one
    /// (NONE ends it), so a new state allocates nothing but its slot.
    ids: HashMap<u64, u32, BuildHasherDefault<PreHashed>>,
    chain: Vec<u32>,
    /// Memoized steps: (state, op) -> next state or NONE.
    trans: HashMap<u64, u32, BuildHasherDefault<PreHashed>>,
    read_only: Vec<bool>,
    /// Per op: read-only or `Model::grows` (cannot move the state out of `reachable`'s order).
    grows: Vec<bool>,
    /// Whether any state-changing op grows: only then is `dead` worth asking.
    prune: bool,
    zobrist: Vec<u64>,
    cache: Visited,
    bits: Vec<u64>,
    hash: u64,
    state: u32,
    /// (call entry, previous state, forced): a forced frame linearized a read-only operation
    /// greedily, so there is no alternative to try at its level.
    stack: Vec<(u32, u32, bool)>,
    remaining: u32,
    steps: u64,
    best: Vec<u32>,
    unplaced: Vec<u32>,
    entry: u32,
}

#[allow(clippy::disallowed_types)]
impl<'a, M: Model> Searcher<'a, M> {
    fn new(model: &'a M, ops: &'a [&'a Operation<M::Input, M::Output>]) -> Self {
        let n = ops.len();
        // Events: time << 64 | (0 = call / 1 = return) << 32 | op, sorted as one integer. Calls
        // and returns are each nearly sorted already (a history is recorded in time order), so
        // each is sorted apart (a run-detecting stable sort is then about linear) and merged.
        let mut calls: Vec<u128> = Vec::with_capacity(n);
        let mut rets: Vec<u128> = Vec::with_capacity(n);
        for (i, op) in ops.iter().enumerate() {
            calls.push(((op.call as u128) << 64) | i as u128);
            if let (Status::Ok, Some(ret)) = (op.status, op.ret) {
                rets.push(((ret.max(op.call) as u128) << 64) | (1 << 32) | i as u128);
            }
        }
        let known = rets.len() as u32;
        calls.sort();
        rets.sort();
        let mut events: Vec<u128> = Vec::with_capacity(calls.len() + rets.len());
        let (mut a, mut b) = (0, 0);
        while a < calls.len() && b < rets.len() {
            if calls[a] < rets[b] {
                events.push(calls[a]);
                a += 1;
            } else {
                events.push(rets[b]);
                b += 1;
            }
        }
        events.extend_from_slice(&calls[a..]);
        events.extend_from_slice(&rets[b..]);
        let m = events.len();
        let mut entries: Vec<Entry> = events
            .iter()
            .map(|&ev| Entry {
                op: ev as u32,
                ret: NONE,
                is_call: (ev >> 32) as u32 & 1 == 0,
            })
            .collect();
        let mut call_of = vec![NONE; n];
        for (i, e) in entries.iter().enumerate() {
            if e.is_call {
                call_of[e.op as usize] = i as u32;
            }
        }
        for i in 0..m {
            if !entries[i].is_call {
                let c = call_of[entries[i].op as usize];
                entries[c as usize].ret = i as u32;
            }
        }
        // Doubly linked list over entries; index m is the head sentinel, NONE ends it.
        let head = m as u32;
        let mut next: Vec<u32> = (1..=m as u32)
            .map(|i| if i == m as u32 { NONE } else { i })
            .collect();
        next.push(if m > 0 { 0 } else { NONE });
        let mut prev: Vec<u32> = (0..m as u32)
            .map(|i| if i == 0 { head } else { i - 1 })
            .collect();
        prev.push(NONE);
        let states: Vec<M::State> = vec![model.init()];
        let mut ids: HashMap<u64, u32, BuildHasherDefault<PreHashed>> =
            HashMap::with_capacity_and_hasher(2 * n + 16, Default::default());
        ids.insert(state_hash(&states[0]), 0);
        let words = n.div_ceil(64).max(1);
        let read_only: Vec<bool> = ops
            .iter()
            .map(|o| model.read_only(&o.input, o.output.as_ref()))
            .collect();
        let grows: Vec<bool> = ops
            .iter()
            .zip(&read_only)
            .map(|(o, &r)| r || model.grows(&o.input, o.output.as_ref()))
            .collect();
        let prune = grows.iter().zip(&read_only).any(|(&g, &r)| g && !r);
        let mut s = Searcher {
            model,
            ops,
            entries,
            head,
            next,
            prev,
            states,
            ids,
            chain: vec![NONE],
            trans: HashMap::with_capacity_and_hasher(4 * n + 64, Default::default()),
            read_only,
            grows,
            prune,
            zobrist: (0..n as u64).map(|i| splitmix(i ^ 0x5bd1_e995)).collect(),
            cache: Visited::new(words, (2 * n + 16).min(1024)),
            bits: vec![0u64; words],
            hash: 0,
            state: 0,
            stack: Vec::new(),
            remaining: known,
            steps: 0,
            best: Vec::new(),
            unplaced: Vec::new(),
            entry: NONE,
        };
        s.entry = s.pick();
        s
    }

    fn unlink(&mut self, e: u32) {
        let (p, nx) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = nx;
        if nx != NONE {
            self.prev[nx as usize] = p;
        }
    }

    fn relink(&mut self, e: u32) {
        let (p, nx) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = e;
        if nx != NONE {
            self.prev[nx as usize] = e;
        }
    }

    /// The first read-only operation in the window of candidates (calls before the first
    /// return) that is legal in the current state, else the head: taking it first prunes
    /// every other order.
    fn pick(&self) -> u32 {
        let mut x = self.next[self.head as usize];
        while x != NONE {
            let ex = self.entries[x as usize];
            if !ex.is_call {
                break;
            }
            let o = self.ops[ex.op as usize];
            if self.read_only[ex.op as usize]
                && self.model.legal(
                    &self.states[self.state as usize],
                    &o.input,
                    o.output.as_ref(),
                )
            {
                return x;
            }
            x = self.next[x as usize];
        }
        self.next[self.head as usize]
    }

    /// Whether state `to` is a dead end once the call entry `skip` is linearized: some
    /// completed read-only operation still to be linearized can never become legal
    /// (`Model::reachable` says so) because every operation that could still precede it (its
    /// call comes before that read's return) grows the state. Walking the list in time order
    /// and stopping at the first call of a non-growing operation visits exactly the reads whose
    /// return comes before any such call. Only a few reads are asked: asking fewer only prunes
    /// less, so this stays exact.
    fn dead(&self, to: u32, skip: u32) -> bool {
        let s = &self.states[to as usize];
        let mut asked = 0;
        let mut x = self.next[self.head as usize];
        while x != NONE {
            let ex = self.entries[x as usize];
            if ex.is_call {
                if x != skip && !self.grows[ex.op as usize] {
                    return false;
                }
            } else if self.read_only[ex.op as usize] {
                let o = self.ops[ex.op as usize];
                if !self.model.reachable(s, &o.input, o.output.as_ref()) {
                    return true;
                }
                asked += 1;
                if asked == DEAD_READS {
                    return false;
                }
            }
            x = self.next[x as usize];
        }
        false
    }

    /// The state after `op` from the current state (memoized, interned), or NONE.
    fn step(&mut self, op: u32) -> u32 {
        let key = splitmix(((self.state as u64) << 32) | op as u64);
        if let Some(&t) = self.trans.get(&key) {
            return t;
        }
        let o = self.ops[op as usize];
        let cur = &self.states[self.state as usize];
        let t = if self.read_only[op as usize] {
            if self.model.legal(cur, &o.input, o.output.as_ref()) {
                self.state
            } else {
                NONE
            }
        } else {
            match self.model.step(cur, &o.input, o.output.as_ref()) {
                None => NONE,
                Some(s) => {
                    let head = self.ids.entry(state_hash(&s)).or_insert(NONE);
                    let mut at = *head;
                    while at != NONE && self.states[at as usize] != s {
                        at = self.chain[at as usize];
                    }
                    if at == NONE {
                        at = self.states.len() as u32;
                        self.chain.push(*head);
                        *head = at;
                        self.states.push(s);
                    }
                    at
                }
            }
        };
        self.trans.insert(key, t);
        t
    }

    /// Searches until a verdict or until `budget` total steps; `None` when the budget ran
    /// out and `last` is false (call again with a larger budget to continue).
    fn run(&mut self, budget: u64, last: bool) -> Option<Outcome> {
        loop {
            if self.remaining == 0 {
                return Some(Outcome {
                    verdict: Verdict::Linearizable,
                    best: self
                        .stack
                        .iter()
                        .map(|&(c, _, _)| self.entries[c as usize].op)
                        .collect(),
                    unplaced: vec![],
                });
            }
            if self.steps >= budget {
                return last.then(|| Outcome {
                    verdict: Verdict::Unknown,
                    best: self.best.clone(),
                    unplaced: self.unplaced.clone(),
                });
            }
            self.steps += 1;
            let entry = self.entry;
            debug_assert!(
                entry != NONE,
                "a completed operation is always still in the list"
            );
            let e = self.entries[entry as usize];
            if e.is_call {
                let op = e.op;
                let to = self.step(op);
                if to != NONE {
                    let w = op as usize / 64;
                    self.bits[w] |= 1 << (op % 64);
                    let h = self.hash ^ self.zobrist[op as usize];
                    if self
                        .cache
                        .insert(h ^ splitmix(to as u64 ^ 0xabcd), to, &self.bits)
                        && !(self.prune && to != self.state && self.dead(to, entry))
                    {
                        // A read-only operation that is legal now is taken greedily: every
                        // operation that had to precede it is linearized already, and it
                        // changes nothing, so if this branch fails no other order at this
                        // level can succeed.
                        self.stack
                            .push((entry, self.state, self.read_only[op as usize]));
                        self.state = to;
                        self.hash = h;
                        self.unlink(entry);
                        if e.ret != NONE {
                            self.unlink(e.ret);
                            self.remaining -= 1;
                        }
                        self.entry = self.pick();
                        continue;
                    }
                    self.bits[w] &= !(1 << (op % 64));
                    if self.read_only[op as usize] {
                        // (linearized + this read, state) failed before, so this level fails
                        // too: go straight to the first return to backtrack.
                        let mut x = entry;
                        while x != NONE && self.entries[x as usize].is_call {
                            x = self.next[x as usize];
                        }
                        self.entry = x;
                        continue;
                    }
                }
                self.entry = self.next[entry as usize];
            } else {
                // A return whose call is not linearized yet: this path is a dead end.
                if self.stack.len() > self.best.len() || self.best.is_empty() {
                    self.best = self
                        .stack
                        .iter()
                        .map(|&(c, _, _)| self.entries[c as usize].op)
                        .collect();
                    self.unplaced = vec![e.op];
                    let mut x = self.next[self.head as usize];
                    while x != NONE && x != entry {
                        let ex = self.entries[x as usize];
                        if ex.is_call && ex.op != e.op {
                            self.unplaced.push(ex.op);
                        }
                        x = self.next[x as usize];
                    }
                }
                loop {
                    let Some((c, prev_state, forced)) = self.stack.pop() else {
                        return Some(Outcome {
                            verdict: Verdict::NotLinearizable,
                            best: self.best.clone(),
                            unplaced: self.unplaced.clone(),
                        });
                    };
                    let ce = self.entries[c as usize];
                    self.state = prev_state;
                    self.bits[ce.op as usize / 64] &= !(1 << (ce.op % 64));
                    self.hash ^= self.zobrist[ce.op as usize];
                    if ce.ret != NONE {
                        self.relink(ce.ret);
                        self.remaining += 1;
                    }
                    self.relink(c);
                    self.entry = self.next[c as usize];
                    if !forced {
                        break;
                    }
                }
            }
        }
    }
}

pub(crate) fn state_hash<S: std::hash::Hash>(s: &S) -> u64 {
    let mut hs = FastHasher::default();
    s.hash(&mut hs);
    hs.finish()
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
                        key,
                        value: format!("{r}"),
                    },
                    V::Done,
                );
            }
        }
        let key = "k30".to_string();
        h.ok(1, 500, 510, K::Get { key }, V::Value("021".into()));
        let key = "k07".to_string();
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
