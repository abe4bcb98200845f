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

use std::collections::BTreeMap;
#[allow(clippy::disallowed_types)] // keyed lookups only: iteration order never leaks
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};

use rayon::prelude::*;
use serde::Serialize;

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
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            budget: 50_000_000,
            parallel: true,
            minimize: true,
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
}

/// Checks `history` against `model`.
pub fn check<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    opts: &CheckOptions,
) -> CheckResult {
    let mut parts: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, op) in history.ops.iter().enumerate() {
        if op.status != Status::Fail {
            parts.entry(model.key(&op.input)).or_default().push(i);
        }
    }
    let parts: Vec<(&str, Vec<usize>)> = parts.into_iter().collect();
    // Iterative deepening over partitions: every unfinished partition is searched again with a
    // budget four times larger, until one fails or all are done. A cheap failing partition
    // then decides without waiting for an expensive one, and which partition decides depends
    // only on step counts, never on thread timing.
    let mut done: Vec<Option<Outcome>> = (0..parts.len()).map(|_| None).collect();
    let mut steps = 0u64;
    let mut round_budget = if parts.len() > 1 {
        1_000u64.min(opts.budget)
    } else {
        opts.budget
    };
    let mut failed: Option<usize> = None;
    loop {
        let todo: Vec<usize> = (0..parts.len()).filter(|&i| done[i].is_none()).collect();
        if todo.is_empty() {
            break;
        }
        let run = |&i: &usize| {
            let ops: Vec<&Operation<M::Input, M::Output>> =
                parts[i].1.iter().map(|&j| &history.ops[j]).collect();
            (i, search(model, &ops, round_budget))
        };
        let results: Vec<(usize, Outcome)> = if opts.parallel && todo.len() > 1 {
            todo.par_iter().map(run).collect()
        } else {
            todo.iter().map(run).collect()
        };
        let last_round = round_budget >= opts.budget;
        for (i, out) in results {
            steps += out.steps;
            match out.verdict {
                Verdict::NotLinearizable => {
                    failed = Some(failed.map_or(i, |f| f.min(i)));
                    done[i] = Some(out);
                }
                Verdict::Linearizable => done[i] = Some(out),
                Verdict::Unknown if last_round => done[i] = Some(out),
                Verdict::Unknown => {}
            }
        }
        if failed.is_some() || last_round {
            break;
        }
        round_budget = round_budget.saturating_mul(4).min(opts.budget);
    }
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
    CheckResult {
        verdict,
        steps,
        partitions: parts.len(),
        counterexample,
    }
}

/// The result of searching one partition.
struct Outcome {
    verdict: Verdict,
    steps: u64,
    /// Positions (in the partition) of the longest partial linearization.
    best: Vec<u32>,
    unplaced: Vec<u32>,
}

const NONE: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Entry {
    op: u32,
    /// For a call: its return entry (NONE if the outcome is unknown). For a return: NONE.
    ret: u32,
    is_call: bool,
}

/// A pass-through hasher for keys that carry their own 64-bit hash.
#[derive(Default)]
struct PreHashed(u64);
impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(0x51_7cc1_b727_220a_95);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

#[derive(PartialEq, Eq)]
struct CacheKey {
    hash: u64,
    state: u32,
    bits: Box<[u64]>,
}
impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Searches one partition (`ops` in any order).
#[allow(clippy::disallowed_types)]
fn search<M: Model>(model: &M, ops: &[&Operation<M::Input, M::Output>], budget: u64) -> Outcome {
    let n = ops.len();
    // Events: (time, 0 = call / 1 = return, op).
    let mut events: Vec<(u64, u8, u32)> = Vec::with_capacity(2 * n);
    let mut known = 0u32;
    for (i, op) in ops.iter().enumerate() {
        events.push((op.call, 0, i as u32));
        if let (Status::Ok, Some(ret)) = (op.status, op.ret) {
            events.push((ret.max(op.call), 1, i as u32));
            known += 1;
        }
    }
    events.sort_unstable();
    let m = events.len();
    let mut entries: Vec<Entry> = events
        .iter()
        .map(|&(_, k, op)| Entry {
            op,
            ret: NONE,
            is_call: k == 0,
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
    let unlink = |next: &mut Vec<u32>, prev: &mut Vec<u32>, e: u32| {
        let (p, nx) = (prev[e as usize], next[e as usize]);
        next[p as usize] = nx;
        if nx != NONE {
            prev[nx as usize] = p;
        }
    };
    let relink = |next: &mut Vec<u32>, prev: &mut Vec<u32>, e: u32| {
        let (p, nx) = (prev[e as usize], next[e as usize]);
        next[p as usize] = e;
        if nx != NONE {
            prev[nx as usize] = e;
        }
    };

    // Interned states and memoized steps.
    let mut states: Vec<M::State> = vec![model.init()];
    let mut ids: HashMap<M::State, u32> = HashMap::new();
    ids.insert(states[0].clone(), 0);
    let mut trans: HashMap<(u32, u32), u32, BuildHasherDefault<PreHashed>> = HashMap::default();
    let read_only: Vec<bool> = ops
        .iter()
        .map(|o| model.read_only(&o.input, o.output.as_ref()))
        .collect();
    let zobrist: Vec<u64> = (0..n as u64).map(|i| splitmix(i ^ 0x5bd1_e995)).collect();
    let mut cache: HashSet<CacheKey, BuildHasherDefault<PreHashed>> = HashSet::default();

    let words = n.div_ceil(64).max(1);
    let mut bits = vec![0u64; words];
    let mut hash = 0u64;
    let mut state = 0u32;
    // (call entry, previous state, forced): a forced frame linearized a read-only operation
    // greedily, so there is no alternative to try at its level.
    let mut stack: Vec<(u32, u32, bool)> = Vec::new();
    let mut remaining = known;
    let mut steps = 0u64;
    let mut best: Vec<u32> = Vec::new();
    let mut unplaced: Vec<u32> = Vec::new();
    let mut entry = next[head as usize];

    loop {
        if remaining == 0 {
            return Outcome {
                verdict: Verdict::Linearizable,
                steps,
                best: vec![],
                unplaced: vec![],
            };
        }
        if steps >= budget {
            return Outcome {
                verdict: Verdict::Unknown,
                steps,
                best,
                unplaced,
            };
        }
        steps += 1;
        debug_assert!(
            entry != NONE,
            "a completed operation is always still in the list"
        );
        let e = entries[entry as usize];
        if e.is_call {
            let op = e.op;
            let key = (state, op);
            let to = match trans.get(&key) {
                Some(&t) => t,
                None => {
                    let o = ops[op as usize];
                    let t = match model.step(&states[state as usize], &o.input, o.output.as_ref()) {
                        None => NONE,
                        Some(s) => match ids.get(&s) {
                            Some(&id) => id,
                            None => {
                                let id = states.len() as u32;
                                ids.insert(s.clone(), id);
                                states.push(s);
                                id
                            }
                        },
                    };
                    trans.insert(key, t);
                    t
                }
            };
            if to != NONE {
                let w = op as usize / 64;
                bits[w] |= 1 << (op % 64);
                let h = hash ^ zobrist[op as usize];
                let k = CacheKey {
                    hash: h ^ splitmix(to as u64),
                    state: to,
                    bits: bits.clone().into_boxed_slice(),
                };
                if cache.insert(k) {
                    // Taking a legal operation that leaves the state unchanged is never wrong:
                    // every operation that had to precede it is linearized already.
                    stack.push((entry, state, read_only[op as usize]));
                    state = to;
                    hash = h;
                    unlink(&mut next, &mut prev, entry);
                    if e.ret != NONE {
                        unlink(&mut next, &mut prev, e.ret);
                        remaining -= 1;
                    }
                    entry = next[head as usize];
                    continue;
                }
                bits[w] &= !(1 << (op % 64));
            }
            entry = next[entry as usize];
        } else {
            // A return whose call is not linearized yet: this path is a dead end.
            if stack.len() > best.len() || best.is_empty() {
                best = stack
                    .iter()
                    .map(|&(c, _, _)| entries[c as usize].op)
                    .collect();
                unplaced = vec![e.op];
                let mut x = next[head as usize];
                while x != NONE && x != entry {
                    let ex = entries[x as usize];
                    if ex.is_call && ex.op != e.op {
                        unplaced.push(ex.op);
                    }
                    x = next[x as usize];
                }
            }
            loop {
                let Some((c, prev_state, forced)) = stack.pop() else {
                    return Outcome {
                        verdict: Verdict::NotLinearizable,
                        steps,
                        best,
                        unplaced,
                    };
                };
                let ce = entries[c as usize];
                state = prev_state;
                bits[ce.op as usize / 64] &= !(1 << (ce.op % 64));
                hash ^= zobrist[ce.op as usize];
                if ce.ret != NONE {
                    relink(&mut next, &mut prev, ce.ret);
                    remaining += 1;
                }
                relink(&mut next, &mut prev, c);
                entry = next[c as usize];
                if !forced {
                    break;
                }
            }
        }
    }
}

/// Builds the counterexample of a failing partition: the shortest failing prefix (binary search
/// over completion times; linearizability is prefix-closed), searched again for its longest
/// partial linearization.
fn explain<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    key: &str,
    idx: &[usize],
    full: &Outcome,
    opts: &CheckOptions,
) -> Counterexample {
    let ops: Vec<&Operation<M::Input, M::Output>> = idx.iter().map(|&i| &history.ops[i]).collect();
    let mut cuts: Vec<u64> = ops
        .iter()
        .filter(|o| o.status == Status::Ok)
        .filter_map(|o| o.ret)
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    // prefix(t): operations invoked by t; those completing after t are pending (unknown).
    let prefix = |t: u64| -> (Vec<usize>, Vec<Operation<&M::Input, &M::Output>>) {
        let mut pos = Vec::new();
        let mut v = Vec::new();
        for (p, o) in ops.iter().enumerate() {
            if o.call <= t {
                pos.push(p);
                let done = o.status == Status::Ok && o.ret.is_some_and(|r| r <= t);
                v.push(Operation {
                    client: o.client,
                    call: o.call,
                    ret: if done { o.ret } else { None },
                    input: &o.input,
                    output: if done { o.output.as_ref() } else { None },
                    status: if done { Status::Ok } else { Status::Unknown },
                });
            }
        }
        (pos, v)
    };
    let by_ref = RefModel(model);
    let fails = |t: u64| -> Option<(Vec<usize>, Outcome)> {
        let (pos, v) = prefix(t);
        let refs: Vec<&Operation<&M::Input, &M::Output>> = v.iter().collect();
        let out = search(&by_ref, &refs, opts.budget);
        (out.verdict == Verdict::NotLinearizable).then_some((pos, out))
    };
    let mut chosen: Option<(u64, Vec<usize>, Outcome)> = None;
    if opts.minimize && !cuts.is_empty() {
        let (mut lo, mut hi) = (0usize, cuts.len() - 1);
        if let Some((pos, out)) = fails(cuts[hi]) {
            chosen = Some((cuts[hi], pos, out));
            while lo < hi {
                let mid = (lo + hi) / 2;
                match fails(cuts[mid]) {
                    Some((pos, out)) => {
                        chosen = Some((cuts[mid], pos, out));
                        hi = mid;
                    }
                    None => lo = mid + 1,
                }
            }
        }
    }
    let (end, pos, best, unplaced) = match chosen {
        Some((t, pos, out)) => {
            let b = out
                .best
                .iter()
                .map(|&p| pos[p as usize])
                .collect::<Vec<_>>();
            let u = out
                .unplaced
                .iter()
                .map(|&p| pos[p as usize])
                .collect::<Vec<_>>();
            (t, pos, b, u)
        }
        None => (
            cuts.last().copied().unwrap_or(0),
            (0..ops.len()).collect(),
            full.best.iter().map(|&p| p as usize).collect(),
            full.unplaced.iter().map(|&p| p as usize).collect(),
        ),
    };
    let to_hist = |p: &usize| idx[*p];
    let ops_h: Vec<usize> = pos.iter().map(to_hist).collect();
    let lin_h: Vec<usize> = best.iter().map(to_hist).collect();
    let un_h: Vec<usize> = unplaced.iter().map(to_hist).collect();
    let describe = |i: usize| {
        let o = &history.ops[i];
        let when = match o.ret {
            Some(r) => format!("[{}, {}]", o.call, r),
            None => format!("[{}, ?)", o.call),
        };
        format!(
            "#{i} client {} {when} {}",
            o.client,
            model.describe(&o.input, o.output.as_ref())
        )
    };
    let mut text = String::new();
    if !key.is_empty() {
        text.push_str(&format!("key {key:?}: "));
    }
    text.push_str(&format!(
        "the history up to time {end} ({} operations) cannot be linearized.\n",
        ops_h.len()
    ));
    text.push_str(&format!(
        "longest linearizable order found ({} operations):\n",
        lin_h.len()
    ));
    for &i in &lin_h {
        text.push_str(&format!("  {}\n", describe(i)));
    }
    text.push_str("then none of these can take effect next:\n");
    for &i in &un_h {
        text.push_str(&format!("  {}\n", describe(i)));
    }
    Counterexample {
        key: key.to_string(),
        ops: ops_h,
        prefix_end: end,
        linearized: lin_h,
        unplaced: un_h,
        text,
    }
}

/// A model over borrowed inputs and outputs (for searching prefixes without copying).
struct RefModel<'m, M>(&'m M);

impl<'m, M: Model> Model for RefModel<'m, M> {
    type State = M::State;
    type Input = &'m M::Input;
    type Output = &'m M::Output;
    fn init(&self) -> M::State {
        self.0.init()
    }
    fn step(&self, s: &M::State, i: &&'m M::Input, o: Option<&&'m M::Output>) -> Option<M::State> {
        self.0.step(s, i, o.copied())
    }
    fn read_only(&self, i: &&'m M::Input, o: Option<&&'m M::Output>) -> bool {
        self.0.read_only(i, o.copied())
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
        let r = check(&CasRegister, &h, &CheckOptions::default());
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
            check(&CasRegister, &h, &CheckOptions::default()).verdict,
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
            check(&CasRegister, &h, &CheckOptions::default()).verdict,
            Verdict::Linearizable
        );
        let mut h = History::new();
        h.unknown(0, 0, I::Write(5));
        h.ok(1, 10, 20, I::Read, O::Read(None));
        assert_eq!(
            check(&CasRegister, &h, &CheckOptions::default()).verdict,
            Verdict::Linearizable
        );
        // A failed op never happened.
        let mut h = History::new();
        h.fail(0, 0, 5, I::Write(5));
        h.ok(1, 10, 20, I::Read, O::Read(Some(5)));
        assert_eq!(
            check(&CasRegister, &h, &CheckOptions::default()).verdict,
            Verdict::NotLinearizable
        );
    }

    #[test]
    fn the_budget_ends_in_unknown() {
        let mut h = History::new();
        for c in 0..12 {
            h.ok(c, 0, 100, I::Write(c as i64), O::Written);
        }
        h.ok(99, 200, 300, I::Read, O::Read(Some(-1)));
        let r = check(
            &CasRegister,
            &h,
            &CheckOptions {
                budget: 50,
                ..Default::default()
            },
        );
        assert_eq!(r.verdict, Verdict::Unknown);
    }
}
