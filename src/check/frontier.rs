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
//! The depth-first search in `linearizability.rs` is faster on short, highly concurrent
//! histories (its memo prunes across the whole history); this one wins on long histories,
//! whose memo would grow without bound. `check` picks by size unless told.

// Hash maps here are only looked up by precomputed keys, never iterated.
#![allow(clippy::disallowed_types)]

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use super::history::{Operation, Status};
use super::linearizability::{PreHashed, Verdict, splitmix, state_hash};
use super::model::Model;

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

/// Sweeps one partition. The search explores at most `budget` configurations plus 200 per
/// operation in all (so a long history is not cut short for being long), then says `Unknown`.
pub(crate) fn sweep<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    budget: u64,
) -> FrontierOutcome {
    let n = ops.len();
    let total_budget = budget.saturating_add(200u64.saturating_mul(n as u64));
    let read_only: Vec<bool> = ops
        .iter()
        .map(|o| model.read_only(&o.input, o.output.as_ref()))
        .collect();
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
    let words = widest.div_ceil(64).max(1);

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
    // Slots holding operations with unknown outcome (never freed).
    let mut unknown_mask = vec![0u64; words];
    cur.insert(init, &zero, &empty, &unknown_mask);

    let mut slot_of = vec![NONE; n];
    let mut op_in: Vec<u32> = Vec::new(); // slot -> op
    let mut free: Vec<u32> = Vec::new();
    let mut open_slots: Vec<u32> = Vec::new(); // in order of the calls
    let mut memo: HashMap<u64, u32, BuildHasherDefault<PreHashed>> = HashMap::default();
    let mut stack: Vec<u32> = Vec::new();
    let mut scratch = vec![0u64; words];
    let mut steps = 0u64;

    let unknown = |steps| FrontierOutcome {
        verdict: Verdict::Unknown,
        steps,
        best: vec![],
        unplaced: vec![],
        fail_at: None,
    };

    for &ev in &events {
        let op = ev as u32;
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
        let mut round = 0u64;
        while let Some(ci) = stack.pop() {
            round += 1;
            if steps + round > total_budget {
                return unknown(steps + round);
            }
            if seen.dead[ci as usize] {
                continue;
            }
            let (st, _) = seen.nodes[ci as usize];
            if bit(seen.bits(ci), s) {
                scratch.copy_from_slice(seen.bits(ci));
                clear(&mut scratch, s);
                let t = seen.trails[ci as usize];
                next.insert(st, &scratch, &t, &unknown_mask);
                continue;
            }
            for k in 0..open_slots.len() {
                let p = open_slots[k];
                if bit(seen.bits(ci), p) {
                    continue;
                }
                let pop = op_in[p as usize];
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
                scratch.copy_from_slice(seen.bits(ci));
                set(&mut scratch, p);
                let mut trail = seen.trails[ci as usize];
                trail.push(pop);
                // Greedy: every open read-only operation legal in the new state.
                if ns != st {
                    for &r in &open_slots {
                        let rop = op_in[r as usize];
                        if read_only[rop as usize] && !bit(&scratch, r) {
                            let o = ops[rop as usize];
                            if model.legal(&states.values[ns as usize], &o.input, o.output.as_ref())
                            {
                                set(&mut scratch, r);
                                trail.push(rop);
                            }
                        }
                    }
                }
                if bit(&scratch, s) {
                    clear(&mut scratch, s);
                    next.insert(ns, &scratch, &trail, &unknown_mask);
                } else if let Some(j) = seen.insert(ns, &scratch, &trail, &unknown_mask) {
                    stack.push(j);
                }
            }
            if next.len() * words > MAX_FRONTIER_WORDS || seen.len() * words > MAX_FRONTIER_WORDS {
                return unknown(steps + round);
            }
        }
        steps += round;
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
            };
        }
        std::mem::swap(&mut cur, &mut next);
        // The returned operation's slot is free again.
        open_slots.retain(|&p| p != s);
        op_in[s as usize] = NONE;
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
    }
}
