//! The depth-first search: Wing & Gong's algorithm in Lowe's form, as Porcupine does it, with
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
//! - A read-only operation legal now is taken greedily; a state from which some pending read
//!   can never become legal (`Model::reachable`) is a dead end.
//! - Operations with unknown outcome may take effect at any time after their call, or never:
//!   they have no return event, and the search succeeds once every *completed* operation is
//!   linearized.
//! - A step budget (not wall-clock) ends the search with `Unknown`, so every verdict
//!   reproduces exactly. A `Searcher` is resumable: `run` continues where it stopped.

// The hash maps here (interned states, memoized steps, visited configurations) are only
// looked up by key, never iterated: their order cannot reach a verdict or any output.
#![allow(clippy::disallowed_types)]

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use super::hash::{PreHashed, splitmix, state_hash};
use super::history::{Operation, Status};
use super::linearizability::Verdict;
use super::model::Model;

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

/// Per operation: whether it is read-only (`Model::read_only`), and whether it is read-only
/// or grows the state (`Model::grows`), for the dead-end pruning of both searches.
pub(super) fn read_only_and_grows<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
) -> (Vec<bool>, Vec<bool>) {
    let read_only: Vec<bool> = ops
        .iter()
        .map(|o| model.read_only(&o.input, o.output.as_ref()))
        .collect();
    let grows = ops
        .iter()
        .zip(&read_only)
        .map(|(o, &r)| r || model.grows(&o.input, o.output.as_ref()))
        .collect();
    (read_only, grows)
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
pub(super) struct Searcher<'a, M: Model> {
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
    pub(super) steps: u64,
    best: Vec<u32>,
    unplaced: Vec<u32>,
    entry: u32,
}

#[allow(clippy::disallowed_types)]
impl<'a, M: Model> Searcher<'a, M> {
    pub(super) fn new(model: &'a M, ops: &'a [&'a Operation<M::Input, M::Output>]) -> Self {
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
        let (read_only, grows) = read_only_and_grows(model, ops);
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
    pub(super) fn run(&mut self, budget: u64, last: bool) -> Option<Outcome> {
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
