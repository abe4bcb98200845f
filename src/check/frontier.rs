//! The frontier checker: linearizability in one sweep over the history in time order, keeping
//! only the *frontier*, the set of configurations (model state, which of the currently open
//! operations are already linearized) that some linearization of everything before reaches.
//! This is Lowe's just-in-time linearization and the idea behind Knossos's `linear` checker.
//!
//! - At a call, the operation joins the open set, not yet linearized in any configuration (a
//!   read-only operation that is legal in a configuration's state is linearized at once: it
//!   changes nothing and leaves fewer obligations, so that configuration dominates).
//! - At a return of operation `o`, every configuration is extended by linearizing open
//!   operations, in every order the model allows, until `o` is linearized; those become the
//!   new frontier, with `o` dropped from the open set. An empty frontier means the history up
//!   to this return cannot be linearized: the first such return is the shortest failing
//!   prefix, so no second search is needed to minimize it.
//! - Nothing behind the frontier is kept: memory is bounded by the number of configurations,
//!   that is by the model's states and the history's concurrency, not by its length. Open
//!   operations live in reusable *slots*, so bitsets are as wide as the widest concurrency.
//!   States are interned and the table is compacted as states fall out of the frontier.
//! - Operations with unknown outcome stay open for ever (they may take effect at any time, or
//!   never); unknown read-only ones constrain nothing and are left out.
//! - A step budget (not wall-clock) and a cap on the frontier's size end the search
//!   with `Unknown`, so every verdict reproduces exactly.
//!
//! The depth-first search in `search.rs` is faster on short, highly concurrent
//! histories (its memo prunes across the whole history); this one wins on long histories,
//! whose memo would grow without bound. `check` picks by size unless told.

// Hash maps here are only looked up by precomputed keys, never iterated.
#![allow(clippy::disallowed_types)]

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use super::hash::{PreHashed, splitmix, state_hash};
use super::history::{Operation, Status};
use super::linearizability::Verdict;
use super::model::Model;
use super::search::read_only_and_grows;

const NONE: u32 = u32::MAX;
/// How many of the latest linearized operations a configuration remembers, for the
/// counterexample (the partial linearization's end).
const TRAIL: usize = 32;
/// Most bitset words the frontier may hold (1 GiB of bitsets): past it, `Unknown`.
const MAX_FRONTIER_WORDS: usize = 1 << 27;

/// The result of sweeping one partition.
pub(crate) struct FrontierOutcome {
    pub verdict: Verdict,
    pub steps: u64,
    /// On a violation: the end of one partial linearization (positions in the partition), in
    /// order, and the operations that could not take effect next (the returning one first).
    pub best: Vec<u32>,
    pub unplaced: Vec<u32>,
    /// On a violation: the time of the return that could not be reached.
    pub fail_at: Option<u64>,
    /// On a violation found with a cap: the operation (position in the partition) whose
    /// return no kept configuration could reach. The verdict is then `Unknown`: configurations
    /// were dropped, so the violation is not proven.
    pub stuck_at: Option<u32>,
}

/// The last `TRAIL` operations a configuration linearized.
#[derive(Clone, Copy)]
struct Trail {
    ops: [u32; TRAIL],
    count: u32,
}

impl Trail {
    fn push(&mut self, op: u32) {
        self.ops[self.count as usize % TRAIL] = op;
        self.count += 1;
    }
    fn in_order(&self) -> Vec<u32> {
        let n = (self.count as usize).min(TRAIL);
        (self.count as usize - n..self.count as usize)
            .map(|i| self.ops[i % TRAIL])
            .collect()
    }
}

/// A set of configurations (state id, bitset over slots, trail), deduplicated by (state, bits)
/// and pruned by dominance: of two configurations with the same state and the same known
/// operations linearized, one whose linearized unknown operations are a subset of the other's
/// can do everything the other can (an unknown operation need never take effect), so the
/// other is dropped.
struct Configs {
    words: usize,
    /// Hash of (state, bits of known operations) -> the last node with it.
    heads: HashMap<u64, u32, BuildHasherDefault<PreHashed>>,
    /// (state, next with the same hash)
    nodes: Vec<(u32, u32)>,
    bits: Vec<u64>,
    trails: Vec<Trail>,
    /// Dominated by a later insertion.
    dead: Vec<bool>,
    live: usize,
}

impl Configs {
    fn new(words: usize) -> Self {
        Configs {
            words,
            heads: HashMap::default(),
            nodes: Vec::new(),
            bits: Vec::new(),
            trails: Vec::new(),
            dead: Vec::new(),
            live: 0,
        }
    }
    /// Slots used, dead ones included (iterate `0..len` and skip `dead`).
    fn len(&self) -> usize {
        self.nodes.len()
    }
    fn clear(&mut self) {
        self.heads.clear();
        self.nodes.clear();
        self.bits.clear();
        self.trails.clear();
        self.dead.clear();
        self.live = 0;
    }
    fn bits(&self, i: u32) -> &[u64] {
        let w = i as usize * self.words;
        &self.bits[w..w + self.words]
    }
    fn hash(state: u32, bits: &[u64], unknown: &[u64]) -> u64 {
        let mut h = splitmix(state as u64 ^ 0x2545_f491_4f6c_dd1d);
        for (&b, &m) in bits.iter().zip(unknown) {
            h = splitmix(h ^ (b & !m));
        }
        h
    }
    /// Inserts unless an equal or dominating configuration is there (then `None`); marks the
    /// ones the new configuration dominates dead. `unknown` masks the slots of operations
    /// with unknown outcome.
    fn insert(&mut self, state: u32, bits: &[u64], trail: &Trail, unknown: &[u64]) -> Option<u32> {
        let h = Self::hash(state, bits, unknown);
        let head = self.heads.get(&h).copied().unwrap_or(NONE);
        let mut at = head;
        while at != NONE {
            let (st, nx) = self.nodes[at as usize];
            if st == state && !self.dead[at as usize] {
                let old = self.bits(at);
                let same_known = old
                    .iter()
                    .zip(bits)
                    .zip(unknown)
                    .all(|((&a, &b), &m)| a & !m == b & !m);
                if same_known {
                    // old's unknown set a subset of the new one's: the new one adds nothing.
                    if old.iter().zip(bits).all(|(&a, &b)| a & !b == 0) {
                        return None;
                    }
                    if old.iter().zip(bits).all(|(&a, &b)| b & !a == 0) {
                        self.dead[at as usize] = true;
                        self.live -= 1;
                    }
                }
            }
            at = nx;
        }
        let id = self.nodes.len() as u32;
        self.nodes.push((state, head));
        self.bits.extend_from_slice(bits);
        self.trails.push(*trail);
        self.dead.push(false);
        self.live += 1;
        self.heads.insert(h, id);
        Some(id)
    }
}

/// Interned model states, compacted when most of them are no longer referenced.
struct States<S> {
    values: Vec<S>,
    ids: HashMap<u64, u32, BuildHasherDefault<PreHashed>>,
    /// Previous id with the same hash (NONE ends the chain).
    chain: Vec<u32>,
}

impl<S: Clone + Eq + std::hash::Hash> States<S> {
    fn new() -> Self {
        States {
            values: Vec::new(),
            ids: HashMap::default(),
            chain: Vec::new(),
        }
    }
    fn intern(&mut self, s: S) -> u32 {
        let h = state_hash(&s);
        let head = self.ids.get(&h).copied().unwrap_or(NONE);
        let mut at = head;
        while at != NONE {
            if self.values[at as usize] == s {
                return at;
            }
            at = self.chain[at as usize];
        }
        let id = self.values.len() as u32;
        self.values.push(s);
        self.chain.push(head);
        self.ids.insert(h, id);
        id
    }
    /// Keeps only the states in `live` (ids rewritten in place).
    fn compact(&mut self, live: &mut [u32]) {
        let mut map: HashMap<u32, u32, BuildHasherDefault<PreHashed>> = HashMap::default();
        let old = std::mem::take(&mut self.values);
        self.ids.clear();
        self.chain.clear();
        for id in live.iter_mut() {
            let new = match map.get(id) {
                Some(&n) => n,
                None => {
                    let n = self.intern(old[*id as usize].clone());
                    map.insert(*id, n);
                    n
                }
            };
            *id = new;
        }
    }
}

fn bit(bits: &[u64], slot: u32) -> bool {
    bits[slot as usize / 64] >> (slot % 64) & 1 == 1
}
fn set(bits: &mut [u64], slot: u32) {
    bits[slot as usize / 64] |= 1 << (slot % 64);
}
fn clear(bits: &mut [u64], slot: u32) {
    bits[slot as usize / 64] &= !(1 << (slot % 64));
}

/// Most configurations the witness search keeps per return, tried in turn.
const WITNESS_CAPS: [usize; 1] = [64];

/// Decides one partition: an exact sweep with `exact_budget` (plus 200 steps per
/// operation, so long narrow histories are decided here); if that does not decide,
/// a capped sweep with a tenth of the budget looking for a witness (any order it completes is a linearization); if that
/// gets stuck at the return of some operation `o`, an exact sweep (a tenth of the budget) of a
/// relaxed history, the
/// prefix up to `o`'s return without the other read-only operations. Removing a read-only
/// operation from a linearizable history leaves it linearizable (drop it from the order), so
/// when the relaxed history cannot be linearized, neither can the history: the violation is
/// proven, and the relaxed prefix is its counterexample. Reads are what make the exact
/// frontier wide (each value still awaited by an open read is a branch); without them blind
/// writes are placed lazily and the frontier stays small.
pub(crate) fn decide<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    exact_budget: u64,
    budget: u64,
) -> FrontierOutcome {
    let exact = sweep(model, ops, exact_budget, usize::MAX);
    if exact.verdict != Verdict::Unknown {
        return exact;
    }
    let mut steps = exact.steps;
    for cap in WITNESS_CAPS {
        let witness = sweep(model, ops, budget / 10, cap);
        steps += witness.steps;
        if witness.verdict != Verdict::Unknown {
            return FrontierOutcome { steps, ..witness };
        }
        let Some(stuck) = witness.stuck_at else {
            break;
        };
        if let Some(refuted) = refute(model, ops, budget, stuck, &mut steps) {
            return refuted;
        }
    }
    FrontierOutcome {
        steps,
        ..unknown_outcome()
    }
}

/// The exact sweep of the prefix up to `stuck`'s return without the other read-only
/// operations; `Some` when it proves a violation.
fn refute<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    budget: u64,
    stuck: u32,
    steps: &mut u64,
) -> Option<FrontierOutcome> {
    let end = ops[stuck as usize].ret.unwrap_or(u64::MAX);
    let keep: Vec<u32> = (0..ops.len() as u32)
        .filter(|&i| {
            let o = ops[i as usize];
            o.call <= end && (i == stuck || !model.read_only(&o.input, o.output.as_ref()))
        })
        .collect();
    let relaxed: Vec<&Operation<M::Input, M::Output>> =
        keep.iter().map(|&i| ops[i as usize]).collect();
    let r = sweep(model, &relaxed, budget / 10, usize::MAX);
    *steps += r.steps;
    if r.verdict != Verdict::NotLinearizable {
        return None;
    }
    let back = |v: &[u32]| v.iter().map(|&p| keep[p as usize]).collect();
    Some(FrontierOutcome {
        verdict: Verdict::NotLinearizable,
        steps: *steps,
        best: back(&r.best),
        unplaced: back(&r.unplaced),
        fail_at: r.fail_at,
        stuck_at: None,
    })
}

fn unknown_outcome() -> FrontierOutcome {
    FrontierOutcome {
        verdict: Verdict::Unknown,
        steps: 0,
        best: vec![],
        unplaced: vec![],
        fail_at: None,
        stuck_at: None,
    }
}

/// Per-operation facts the sweep asks the model once.
struct OpFacts {
    read_only: Vec<bool>,
    /// `Model::blind`: the state after it does not depend on the state before.
    blind: Vec<bool>,
    /// Read-only or `Model::grows` (for `dead`).
    grows: Vec<bool>,
    /// Whether `dead` may prune at all (some operation grows without being read-only).
    prune: bool,
    /// Sorted call times of the operations that do not grow.
    shrink_calls: Vec<u64>,
}

/// Where a configuration's parts live in its bitset: `L` (linearized, or discharged) in
/// words `0..w`, `D` (blind operations that may still be placed retroactively) in `w..2w`,
/// and one flag word (the last operation linearized was blind and must be followed by one
/// that is not).
#[derive(Clone, Copy)]
struct Layout {
    w: usize,
}

impl Layout {
    fn total(self) -> usize {
        2 * self.w + 1
    }
    fn d(self, slot: u32) -> u32 {
        slot + 64 * self.w as u32
    }
    fn flag(self) -> u32 {
        128 * self.w as u32
    }
}

/// Sweeps one partition. The search explores at most `budget` configurations plus 200 per
/// operation in all (so a long history is not cut short for being long), then says `Unknown`.
///
/// Blind operations (`Model::blind`: a register's write, a map's put) are placed lazily: once
/// a blind operation `b` is linearized, every open blind operation `w` may be taken to have
/// happened just before `b` (inside its interval, since both are open; invisible, since `b`
/// overwrites whatever `w` did). Such a `w` is marked in `D`: at its return it is discharged
/// for free, or it may still be linearized for real before then. So two blind operations are
/// never linearized back to back (the first would be redundant), which keeps the number of
/// configurations near the number of values still awaited by open reads instead of
/// exponential in the number of open writes.
///
/// `cap` bounds the configurations kept (per return, and explored per return) for a search of
/// a witness: past it, configurations are dropped (the last explored ones first), so a
/// `Linearizable` verdict stays proven (every kept configuration is reachable) but a dead end
/// is only `Unknown`, with `stuck_at` set. `usize::MAX` keeps everything (exact).
pub(crate) fn sweep<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    budget: u64,
    cap: usize,
) -> FrontierOutcome {
    let n = ops.len();
    let total_budget = budget.saturating_add(200u64.saturating_mul(n as u64));
    let (read_only, grows) = read_only_and_grows(model, ops);
    let mut shrink_calls: Vec<u64> = ops
        .iter()
        .zip(&grows)
        .filter(|(_, g)| !**g)
        .map(|(o, _)| o.call)
        .collect();
    shrink_calls.sort_unstable();
    let facts = OpFacts {
        blind: ops
            .iter()
            .map(|o| model.blind(&o.input, o.output.as_ref()))
            .collect(),
        prune: grows.iter().zip(&read_only).any(|(&g, &r)| g && !r),
        read_only,
        grows,
        shrink_calls,
    };
    let read_only = &facts.read_only;
    // Events as one sortable integer: time << 64 | (0 call, 1 return) << 32 | op. Unknown
    // read-only operations constrain nothing and are left out.
    let mut events: Vec<u128> = Vec::with_capacity(2 * n);
    for (i, op) in ops.iter().enumerate() {
        let known = op.status == Status::Ok && op.ret.is_some();
        if !known && read_only[i] {
            continue;
        }
        events.push(((op.call as u128) << 64) | i as u128);
        if let (true, Some(ret)) = (known, op.ret) {
            events.push(((ret.max(op.call) as u128) << 64) | (1 << 32) | i as u128);
        }
    }
    events.sort_unstable();
    // The widest concurrency decides the bitsets' width.
    let (mut open, mut widest) = (0usize, 0usize);
    for &ev in &events {
        if (ev >> 32) as u32 & 1 == 0 {
            open += 1;
            widest = widest.max(open);
        } else {
            open -= 1;
        }
    }
    let lay = Layout {
        w: widest.div_ceil(64).max(1),
    };
    let words = lay.total();

    let mut states: States<M::State> = States::new();
    let init = states.intern(model.init());
    let mut cur = Configs::new(words);
    let mut next = Configs::new(words);
    let mut seen = Configs::new(words);
    let zero = vec![0u64; words];
    let empty = Trail {
        ops: [NONE; TRAIL],
        count: 0,
    };
    // Slots holding operations with unknown outcome (never freed), in the `L` part.
    let mut unknown_mask = vec![0u64; words];
    // Slots holding open blind operations with a known outcome.
    let mut blind_mask = vec![0u64; lay.w];
    cur.insert(init, &zero, &empty, &unknown_mask);

    let mut slot_of = vec![NONE; n];
    let mut op_in: Vec<u32> = Vec::new(); // slot -> op
    let mut free: Vec<u32> = Vec::new();
    let mut open_slots: Vec<u32> = Vec::new(); // in order of the calls
    let mut memo: HashMap<u64, u32, BuildHasherDefault<PreHashed>> = HashMap::default();
    let mut stack: Vec<u32> = Vec::new();
    let mut cfg = vec![0u64; words];
    let mut scratch = vec![0u64; words];
    let mut steps = 0u64;

    let unknown = |steps| FrontierOutcome {
        verdict: Verdict::Unknown,
        steps,
        best: vec![],
        unplaced: vec![],
        fail_at: None,
        stuck_at: None,
    };
    let mut truncated = false;

    for &ev in &events {
        let op = ev as u32;
        let now = (ev >> 64) as u64;
        let is_call = (ev >> 32) as u32 & 1 == 0;
        if is_call {
            let slot = free.pop().unwrap_or_else(|| {
                op_in.push(NONE);
                op_in.len() as u32 - 1
            });
            op_in[slot as usize] = op;
            slot_of[op as usize] = slot;
            open_slots.push(slot);
            if ops[op as usize].status != Status::Ok || ops[op as usize].ret.is_none() {
                set(&mut unknown_mask, slot);
            } else if facts.blind[op as usize] {
                set(&mut blind_mask, slot);
            }
            // A legal read-only operation is linearized at once in every configuration (the
            // index of `cur` goes stale, but `cur` is only walked until the next return).
            if read_only[op as usize] {
                let o = ops[op as usize];
                for i in 0..cur.len() {
                    let (st, _) = cur.nodes[i];
                    if model.legal(&states.values[st as usize], &o.input, o.output.as_ref()) {
                        set(&mut cur.bits[i * words..(i + 1) * words], slot);
                        cur.trails[i].push(op);
                    }
                }
            }
            continue;
        }
        // A return: linearize open operations until `op` is linearized.
        let s = slot_of[op as usize];
        seen.clear();
        next.clear();
        memo.clear();
        stack.clear();
        for i in 0..cur.len() as u32 {
            let (st, _) = cur.nodes[i as usize];
            if cur.dead[i as usize] {
                continue;
            }
            if let Some(j) = seen.insert(st, cur.bits(i), &cur.trails[i as usize], &unknown_mask) {
                stack.push(j);
            }
        }
        // Moves a configuration in which `s` took effect (or was discharged) to `next`.
        let retire = |next: &mut Configs, st: u32, bits: &mut [u64], trail: &Trail| {
            clear(bits, s);
            clear(bits, lay.d(s));
            clear(bits, lay.flag());
            next.insert(st, bits, trail, &unknown_mask);
        };
        let mut round = 0u64;
        // Exact: depth first (the stack stays small). Capped: breadth first, so the shortest
        // ways to linearize the returning operation are found before the cap.
        let fifo = cap != usize::MAX;
        let mut head = 0usize;
        loop {
            let ci = if fifo {
                let Some(&c) = stack.get(head) else { break };
                head += 1;
                c
            } else {
                let Some(c) = stack.pop() else { break };
                c
            };
            if seen.len() > cap.saturating_mul(8) || next.live >= cap.saturating_mul(8) {
                truncated = true;
                break;
            }
            round += 1;
            if steps + round > total_budget {
                return unknown(steps + round);
            }
            if seen.dead[ci as usize] {
                continue;
            }
            let (st, _) = seen.nodes[ci as usize];
            let trail = seen.trails[ci as usize];
            cfg.copy_from_slice(seen.bits(ci));
            let after_blind = bit(&cfg, lay.flag());
            if bit(&cfg, s) {
                retire(&mut next, st, &mut cfg, &trail);
                continue;
            }
            // Discharged: it happened just before a later blind operation (the witness search
            // tries the other ways first).
            let discharge = !after_blind && bit(&cfg, lay.d(s));
            if discharge && !fifo {
                scratch.copy_from_slice(&cfg);
                retire(&mut next, st, &mut scratch, &trail);
            }
            for k in 0..open_slots.len() {
                let p = open_slots[k];
                let pop = op_in[p as usize];
                // Two blind operations back to back: the first one could be discharged.
                if bit(&cfg, p) || (after_blind && facts.blind[pop as usize]) {
                    continue;
                }
                let key = (st as u64) << 32 | p as u64;
                let ns = match memo.get(&key) {
                    Some(&v) => v,
                    None => {
                        let o = ops[pop as usize];
                        let v = match model.step(
                            &states.values[st as usize],
                            &o.input,
                            o.output.as_ref(),
                        ) {
                            Some(x) => states.intern(x),
                            None => NONE,
                        };
                        memo.insert(key, v);
                        v
                    }
                };
                if ns == NONE {
                    continue;
                }
                // Every configuration made counts as a step.
                round += 1;
                scratch.copy_from_slice(&cfg);
                set(&mut scratch, p);
                clear(&mut scratch, lay.d(p));
                clear(&mut scratch, lay.flag());
                let mut trail = trail;
                trail.push(pop);
                // Greedy: every open read-only operation legal in the new state.
                let mut followed = false;
                if ns != st {
                    for &r in &open_slots {
                        let rop = op_in[r as usize];
                        if read_only[rop as usize] && !bit(&scratch, r) {
                            let o = ops[rop as usize];
                            if model.legal(&states.values[ns as usize], &o.input, o.output.as_ref())
                            {
                                set(&mut scratch, r);
                                trail.push(rop);
                                followed = true;
                            }
                        }
                    }
                }
                if facts.blind[pop as usize] {
                    // Every other open blind operation may now be placed just before `pop`.
                    for (x, &b) in blind_mask.iter().enumerate() {
                        scratch[lay.w + x] |= b & !scratch[x];
                    }
                    clear(&mut scratch, lay.d(p));
                    if p != s && !followed {
                        // The witness search only writes what an open operation waits for.
                        if fifo
                            && !open_slots.iter().any(|&q| {
                                let qo = op_in[q as usize] as usize;
                                q != p
                                    && !bit(&scratch, q)
                                    && !facts.blind[qo]
                                    && !read_only[qo]
                                    && model
                                        .step(
                                            &states.values[ns as usize],
                                            &ops[qo].input,
                                            ops[qo].output.as_ref(),
                                        )
                                        .is_some()
                            })
                        {
                            continue;
                        }
                        set(&mut scratch, lay.flag());
                    }
                }
                if ns != st
                    && dead(
                        &facts,
                        model,
                        &states.values[ns as usize],
                        ops,
                        &open_slots,
                        &op_in,
                        &scratch,
                        now,
                    )
                {
                    continue;
                }
                if bit(&scratch, s) {
                    retire(&mut next, ns, &mut scratch, &trail);
                } else if let Some(j) = seen.insert(ns, &scratch, &trail, &unknown_mask) {
                    stack.push(j);
                }
            }
            if discharge && fifo {
                scratch.copy_from_slice(&cfg);
                retire(&mut next, st, &mut scratch, &trail);
            }
            if next.len() * words > MAX_FRONTIER_WORDS || seen.len() * words > MAX_FRONTIER_WORDS {
                return unknown(steps + round);
            }
        }
        steps += round;
        if next.live > cap {
            // Keep as many different states as possible (a later read may need any of them),
            // each first with the configuration that found it first.
            // Keep as many different states as possible (a later read may need any of them),
            // each first with the configuration that reached it first.
            truncated = true;
            let mut order: Vec<(u32, u32)> = Vec::with_capacity(next.live);
            let mut rank: HashMap<u32, u32, BuildHasherDefault<PreHashed>> = HashMap::default();
            for i in 0..next.len() as u32 {
                if !next.dead[i as usize] {
                    let r = rank.entry(next.nodes[i as usize].0).or_insert(0);
                    order.push((*r, i));
                    *r += 1;
                }
            }
            order.sort_unstable();
            seen.clear();
            for &(_, i) in order.iter().take(cap) {
                let (st, _) = next.nodes[i as usize];
                seen.insert(st, next.bits(i), &next.trails[i as usize], &unknown_mask);
            }
            std::mem::swap(&mut seen, &mut next);
        }
        if next.live == 0 && truncated {
            return FrontierOutcome {
                stuck_at: Some(op),
                ..unknown(steps)
            };
        }
        if next.live == 0 {
            // The first live configuration of the old frontier tells the story.
            let first = (0..cur.len()).find(|&i| !cur.dead[i]).unwrap_or(0) as u32;
            let best = cur.trails[first as usize].in_order();
            let mut unplaced = vec![op];
            for &p in &open_slots {
                let q = op_in[p as usize];
                if q != op && !bit(cur.bits(first), p) {
                    unplaced.push(q);
                }
            }
            return FrontierOutcome {
                verdict: Verdict::NotLinearizable,
                steps,
                best,
                unplaced,
                fail_at: ops[op as usize].ret,
                stuck_at: None,
            };
        }
        std::mem::swap(&mut cur, &mut next);
        // The returned operation's slot is free again.
        open_slots.retain(|&p| p != s);
        op_in[s as usize] = NONE;
        clear(&mut blind_mask, s);
        free.push(s);
        // Drop states no configuration refers to any more, when they pile up.
        if states.values.len() > 4 * cur.live + 1024 {
            let keep: Vec<usize> = (0..cur.len()).filter(|&i| !cur.dead[i]).collect();
            let mut live: Vec<u32> = keep.iter().map(|&i| cur.nodes[i].0).collect();
            states.compact(&mut live);
            let old = std::mem::replace(&mut cur, Configs::new(words));
            for (&i, st) in keep.iter().zip(live) {
                cur.insert(st, old.bits(i as u32), &old.trails[i], &unknown_mask);
            }
        }
    }
    FrontierOutcome {
        verdict: Verdict::Linearizable,
        steps,
        best: vec![],
        unplaced: vec![],
        fail_at: None,
        stuck_at: None,
    }
}

/// Whether a configuration in state `state` (bits `bits`) is a dead end: some open completed
/// read-only operation not yet linearized can never become legal (`Model::reachable`),
/// because every operation that could still precede it grows the state: every open one not
/// yet linearized, and every one called before that read returns. As `Searcher::dead` in the
/// search, for the frontier.
#[allow(clippy::too_many_arguments)]
fn dead<M: Model>(
    facts: &OpFacts,
    model: &M,
    state: &M::State,
    ops: &[&Operation<M::Input, M::Output>],
    open_slots: &[u32],
    op_in: &[u32],
    bits: &[u64],
    now: u64,
) -> bool {
    if !facts.prune {
        return false;
    }
    if open_slots
        .iter()
        .any(|&p| !bit(bits, p) && !facts.grows[op_in[p as usize] as usize])
    {
        return false;
    }
    // The first operation that does not grow and is called after now.
    let first = facts.shrink_calls.partition_point(|&c| c <= now);
    let next_shrink = facts.shrink_calls.get(first).copied().unwrap_or(u64::MAX);
    open_slots.iter().any(|&p| {
        let q = op_in[p as usize] as usize;
        let o = ops[q];
        facts.read_only[q]
            && !bit(bits, p)
            && o.status == Status::Ok
            && o.ret.is_some_and(|r| r < next_shrink)
            && !model.reachable(state, &o.input, o.output.as_ref())
    })
}
