//! Candidate linearizations, built in near-linear time without a search, for
//! [`super::witness::verify_ops`] to judge: a verified candidate proves the partition
//! linearizable; a refuted one proves nothing, and the search takes over. So these may be
//! heuristics: they only have to be right often, never to be trusted.
//!
//! - [`register_order`]: Gibbons and Korach's zones for registers whose written values are
//!   unique. Each value's *cluster* is its writer and the operations that observe it (reads,
//!   and the successful compare-and-set that consumes it, which also writes the next value:
//!   clusters linked by such CASes form one *chain*, contiguous in any linearization). A chain
//!   whose earliest return comes before its latest invocation has a *forward zone* (from that
//!   return to that invocation), which no other chain can overlap; any other chain can take
//!   effect at one point between its latest invocation and its earliest return, chosen outside
//!   the forward zones. Chains are ordered by those points; reads and failed CASes are then
//!   placed where the model allows them ([`super::witness::place`]).
//! - [`greedy`], for any model: a sweep in time order that linearizes a read-only operation as
//!   soon as it is legal, any other operation at its return (or earlier, when an open read needs
//!   it: a short search among the open operations for the ones that make it legal, pruned by
//!   `Model::reachable`), preferring, at a return, an order that keeps the open reads reachable.

use std::collections::BTreeMap;

use super::history::{Operation, Status};
use super::model::{KvInput, KvOutput, Model, RegisterInput, RegisterOutput};
use super::witness::place;

/// Most model steps [`place`] may spend per operation of the partition.
const PLACING_PER_OP: u64 = 4_096;

/// A candidate order (positions in `ops`) for one register partition, or `None` when written
/// values are not unique (or no chain structure exists: then there is no linearization with
/// unique values either, and the search will say so).
pub(crate) fn register_order<M>(
    model: &M,
    initial: Option<i64>,
    ops: &[&Operation<RegisterInput, RegisterOutput>],
) -> Option<Vec<u32>>
where
    M: Model<Input = RegisterInput, Output = RegisterOutput>,
{
    use RegisterInput as I;
    use RegisterOutput as O;
    const INIT: u32 = u32::MAX;
    // The writer of each value (the initial value's is INIT); unknown writers only where no
    // completed one exists, and only if they are needed.
    let mut writer: BTreeMap<Option<i64>, u32> = BTreeMap::new();
    let mut maybe: BTreeMap<Option<i64>, Option<u32>> = BTreeMap::new();
    writer.insert(initial, INIT);
    // The successful CAS that consumes each value.
    let mut consumer: BTreeMap<Option<i64>, u32> = BTreeMap::new();
    // Reads, and failed CASes (placed after the reads: they fit almost anywhere, so they go
    // where the reads around them leave room).
    let mut reads: Vec<u32> = Vec::new();
    let mut failed: Vec<usize> = Vec::new();
    // Reads by the value they observe (for the zones).
    let mut observers: BTreeMap<Option<i64>, Vec<u32>> = BTreeMap::new();
    for (p, op) in ops.iter().enumerate() {
        let p = p as u32;
        let done = op.status == Status::Ok && op.ret.is_some();
        match (&op.input, &op.output, done) {
            (_, _, _) if op.status == Status::Fail => {}
            (I::Read, Some(O::Read(v)), true) => {
                reads.push(p);
                observers.entry(*v).or_default().push(p);
            }
            (I::Cas(..), Some(O::Cas(false)), true) => failed.push(p as usize),
            (I::Read, _, _) | (I::Cas(..), Some(O::Cas(false)), _) => {}
            (I::Write(v), _, true) => {
                if writer.insert(Some(*v), p).is_some() {
                    return None;
                }
            }
            (I::Cas(from, to), Some(O::Cas(true)), true) => {
                if writer.insert(Some(*to), p).is_some()
                    || consumer.insert(Some(*from), p).is_some()
                {
                    return None;
                }
            }
            (I::Write(v), _, false) | (I::Cas(_, v), None, false) => {
                // Unknown: usable only if it is the value's one possible writer.
                let e = maybe.entry(Some(*v)).or_insert(Some(p));
                if *e != Some(p) {
                    *e = None;
                }
            }
            _ => return None,
        }
    }
    // Unknown writers of values observed and written by no completed operation.
    for (v, w) in &maybe {
        if !writer.contains_key(v) && (observers.contains_key(v) || consumer.contains_key(v)) {
            let w = (*w)?;
            if let I::Cas(from, _) = ops[w as usize].input {
                // An unknown CAS that took effect consumed `from`.
                if consumer.insert(Some(from), w).is_some() {
                    return None;
                }
            }
            writer.insert(*v, w);
        }
    }
    if observers.keys().any(|v| !writer.contains_key(v)) {
        return None;
    }
    // Chains: from a value whose writer is not a CAS (or the initial value), along consumers.
    let is_link = |w: u32| w != INIT && matches!(ops[w as usize].input, I::Cas(..));
    let mut chains: Vec<Chain> = Vec::new();
    let mut placed = 0usize;
    for (&v, &w) in &writer {
        if is_link(w) {
            continue;
        }
        let mut chain = Chain::new(w == INIT);
        let mut value = v;
        let mut at = w;
        loop {
            if at != INIT {
                chain.push(ops, at);
            }
            for &r in observers.get(&value).map_or(&[][..], |o| &o[..]) {
                chain.touch(ops, r);
            }
            let Some(&c) = consumer.get(&value) else {
                break;
            };
            if chain.seq.len() > ops.len() {
                return None; // a cycle of CASes
            }
            let I::Cas(_, to) = ops[c as usize].input else {
                return None;
            };
            (value, at) = (Some(to), c);
        }
        placed += chain.seq.len();
        chains.push(chain);
    }
    // Every CAS consumed a value that is some chain's: else a cycle or an orphan.
    if placed != writer.len() - 1 {
        return None;
    }
    let reads: Vec<usize> = reads.iter().map(|&p| p as usize).collect();
    Some(zone_order(model, ops, chains, &reads, &failed))
}

/// Most token lookups [`kv_order`] spends splitting read values, per operation.
const SPLIT_PER_OP: usize = 256;

/// A candidate order (positions in `ops`) for one key-value partition whose put values and
/// append tokens are unique and whose operations all completed, or `None`. Each get's value is
/// split into the put it starts with (or the initial empty value) and the appends after it
/// (longest match first): a put and the appends its gets reveal, in their order, form a chain
/// as a register's write and CASes do; an append no get reveals is a chain of its own (it can
/// go at the end of any chain, just before a put hides it).
pub(crate) fn kv_order<M>(model: &M, ops: &[&Operation<KvInput, KvOutput>]) -> Option<Vec<u32>>
where
    M: Model<Input = KvInput, Output = KvOutput>,
{
    let mut puts: BTreeMap<&str, u32> = BTreeMap::new();
    let mut appends: BTreeMap<&str, u32> = BTreeMap::new();
    let mut gets: Vec<(u32, &str)> = Vec::new();
    for (p, op) in ops.iter().enumerate() {
        if op.status == Status::Fail {
            continue;
        }
        if op.status != Status::Ok || op.ret.is_none() {
            return None;
        }
        let p = p as u32;
        let fresh = match (&op.input, &op.output) {
            (KvInput::Get { .. }, Some(KvOutput::Value(v))) => {
                gets.push((p, v));
                true
            }
            (KvInput::Put { value, .. }, Some(KvOutput::Done)) if !value.is_empty() => {
                puts.insert(value, p).is_none()
            }
            (KvInput::Append { value, .. }, Some(KvOutput::Done)) if !value.is_empty() => {
                appends.insert(value, p).is_none()
            }
            _ => false,
        };
        if !fresh {
            return None;
        }
    }
    let lengths = |m: &BTreeMap<&str, u32>| {
        let mut l: Vec<usize> = m.keys().map(|k| k.len()).collect();
        l.sort_unstable_by(|a, b| b.cmp(a));
        l.dedup();
        l
    };
    let (put_lens, app_lens) = (lengths(&puts), lengths(&appends));
    let mut work = SPLIT_PER_OP.saturating_mul(ops.len());
    // Per chain head (None: the initial value), the longest sequence of appends revealed.
    let mut revealed: BTreeMap<Option<u32>, Vec<u32>> = BTreeMap::new();
    let mut head_of: Vec<(u32, Option<u32>)> = Vec::with_capacity(gets.len());
    for &(g, v) in &gets {
        let head = put_lens
            .iter()
            .filter(|&&l| l <= v.len() && v.is_char_boundary(l))
            .find_map(|&l| puts.get(&v[..l]).map(|&p| (l, Some(p))))
            .unwrap_or((0, None));
        let mut rest = &v[head.0..];
        let mut seq = Vec::new();
        while !rest.is_empty() {
            let next = app_lens
                .iter()
                .filter(|&&l| l <= rest.len() && rest.is_char_boundary(l))
                .find_map(|&l| {
                    work = work.saturating_sub(1);
                    appends.get(&rest[..l]).map(|&a| (l, a))
                });
            let (l, a) = next?;
            if work == 0 {
                return None;
            }
            seq.push(a);
            rest = &rest[l..];
        }
        head_of.push((g, head.1));
        let known = revealed.entry(head.1).or_default();
        let (short, long) = if seq.len() > known.len() {
            (&known[..], &seq[..])
        } else {
            (&seq[..], &known[..])
        };
        if long[..short.len()] != *short {
            return None;
        }
        if seq.len() > known.len() {
            *known = seq;
        }
    }
    // Chains: the initial value's, one per put, one per append no get reveals.
    let mut chain_at: BTreeMap<Option<u32>, usize> = BTreeMap::new();
    let mut chains: Vec<Chain> = Vec::new();
    let mut in_chain = vec![false; ops.len()];
    let heads = std::iter::once(None).chain(puts.values().map(|&p| Some(p)));
    for head in heads {
        let mut c = Chain::new(head.is_none());
        for &p in head.iter().chain(revealed.get(&head).into_iter().flatten()) {
            if std::mem::replace(&mut in_chain[p as usize], true) {
                return None; // an append revealed after two heads
            }
            c.push(ops, p);
        }
        chain_at.insert(head, chains.len());
        chains.push(c);
    }
    for &a in appends.values() {
        if !in_chain[a as usize] {
            let mut c = Chain::new(false);
            c.push(ops, a);
            chains.push(c);
        }
    }
    for &(g, head) in &head_of {
        chains[chain_at[&head]].touch(ops, g);
    }
    let reads: Vec<usize> = gets.iter().map(|&(g, _)| g as usize).collect();
    Some(zone_order(model, ops, chains, &reads, &[]))
}

/// Operations that take effect back to back in any linearization (a write and the CASes that
/// chain from its value), with the extent of everything that must fall inside (their reads).
struct Chain {
    /// The initial value's chain (it goes first).
    init: bool,
    seq: Vec<u32>,
    latest_call: u64,
    first_ret: u64,
}

impl Chain {
    fn new(init: bool) -> Self {
        Chain {
            init,
            seq: Vec::new(),
            latest_call: 0,
            first_ret: u64::MAX,
        }
    }
    fn touch<I, O>(&mut self, ops: &[&Operation<I, O>], p: u32) {
        let o = ops[p as usize];
        self.latest_call = self.latest_call.max(o.call);
        if let (Status::Ok, Some(r)) = (o.status, o.ret) {
            self.first_ret = self.first_ret.min(r);
        }
    }
    fn push<I, O>(&mut self, ops: &[&Operation<I, O>], p: u32) {
        self.seq.push(p);
        self.touch(ops, p);
    }
}

/// The chains in zone order (see the module's text), then `reads` placed where the model
/// allows them, then `failed` (read-only operations legal almost anywhere) among those.
fn zone_order<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    chains: Vec<Chain>,
    reads: &[usize],
    failed: &[usize],
) -> Vec<u32> {
    // (kind: 0 initial, 1 at a point, 2 forward zone; point; first operation; chain)
    let mut keyed: Vec<(u8, u64, u32, Chain)> = Vec::with_capacity(chains.len());
    let mut forward: Vec<(u64, u64)> = Vec::new();
    let mut backward: Vec<usize> = Vec::new();
    for c in chains {
        let first = c.seq.first().copied().unwrap_or(0);
        if c.init {
            keyed.push((0, 0, 0, c));
        } else if c.first_ret < c.latest_call {
            forward.push((c.first_ret, c.latest_call));
            keyed.push((2, c.first_ret, first, c));
        } else {
            backward.push(keyed.len());
            keyed.push((1, c.latest_call, first, c));
        }
    }
    forward.sort_unstable();
    for k in backward {
        // The earliest point in [latest call, first return] outside every forward zone's
        // interior (forward zones of a linearizable history do not overlap).
        let (lo, hi) = (keyed[k].3.latest_call, keyed[k].3.first_ret);
        let mut t = lo;
        for _ in 0..forward.len().min(4) {
            let f = forward.partition_point(|z| z.0 < t);
            match f.checked_sub(1).map(|f| forward[f]) {
                Some((_, end)) if end > t => t = end,
                _ => break,
            }
        }
        if t <= hi {
            keyed[k].1 = t;
        }
    }
    // The initial value's chain first; then by point; at a tie, a chain that fits at a point
    // goes before a forward zone that starts there.
    keyed.sort_unstable_by_key(|c| (c.0 != 0, c.1, c.0, c.2));
    let seq: Vec<usize> = keyed
        .iter()
        .flat_map(|c| c.3.seq.iter().map(|&p| p as usize))
        .collect();
    let mut budget = PLACING_PER_OP.saturating_mul(ops.len() as u64);
    let with_reads = place(model, ops, &seq, reads, &mut budget);
    let order = place(model, ops, &with_reads, failed, &mut budget);
    order.into_iter().map(|p| p as u32).collect()
}

/// How many open operations the greedy sweep may look at, per operation of the partition
/// (operations of unknown outcome stay open for ever, so scans could grow with the length).
const GREEDY_WORK_PER_OP: u64 = 1_024;

/// Most configurations the greedy's short search tries at one return.
const LOOKAHEAD_NODES: usize = 4_096;
/// Deepest chain of open operations it tries before one that cannot take effect yet.
const LOOKAHEAD_DEPTH: usize = 6;

/// A candidate order (positions in `ops`) for one partition of any model, or `None` where the
/// greedy gets stuck (see the module's text).
pub(crate) fn greedy<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
) -> Option<Vec<u32>> {
    let n = ops.len();
    let read_only: Vec<bool> = ops
        .iter()
        .map(|o| model.read_only(&o.input, o.output.as_ref()))
        .collect();
    let known = |i: usize| ops[i].status == Status::Ok && ops[i].ret.is_some();
    let mut events: Vec<u128> = Vec::with_capacity(2 * n);
    for (i, op) in ops.iter().enumerate() {
        if op.status == Status::Fail || (!known(i) && read_only[i]) {
            continue;
        }
        events.push(((op.call as u128) << 64) | i as u128);
        if let (true, Some(ret)) = (known(i), op.ret) {
            events.push(((ret.max(op.call) as u128) << 64) | (1 << 32) | i as u128);
        }
    }
    events.sort_unstable();
    let mut g = Greedy {
        model,
        ops,
        work: GREEDY_WORK_PER_OP.saturating_mul(n as u64),
        read_only,
        state: model.init(),
        order: Vec::with_capacity(n),
        done: vec![false; n],
        open: Vec::new(),
    };
    for &ev in &events {
        let op = ev as u32;
        if (ev >> 32) as u32 & 1 == 0 {
            g.open.push(op);
            if g.read_only[op as usize] {
                g.settle();
            }
            continue;
        }
        if g.done[op as usize] {
            continue;
        }
        if !g.at_return(op) || g.work == 0 {
            return None;
        }
    }
    Some(g.order)
}

struct Greedy<'a, M: Model> {
    model: &'a M,
    ops: &'a [&'a Operation<M::Input, M::Output>],
    /// Open operations it may still look at, in all: past it, the sweep gives up.
    work: u64,
    read_only: Vec<bool>,
    state: M::State,
    order: Vec<u32>,
    done: Vec<bool>,
    /// Operations invoked and not linearized (unknown ones stay for ever).
    open: Vec<u32>,
}

impl<M: Model> Greedy<'_, M> {
    fn take(&mut self, op: u32) -> bool {
        let o = self.ops[op as usize];
        if !self
            .model
            .step_mut(&mut self.state, &o.input, o.output.as_ref())
        {
            return false;
        }
        self.order.push(op);
        self.done[op as usize] = true;
        self.open.retain(|&x| x != op);
        true
    }
    /// Linearizes every open read-only operation legal now.
    fn settle(&mut self) {
        self.work = self.work.saturating_sub(self.open.len() as u64);
        let mut k = 0;
        while k < self.open.len() {
            let r = self.open[k];
            let o = self.ops[r as usize];
            if self.read_only[r as usize]
                && self.model.legal(&self.state, &o.input, o.output.as_ref())
            {
                self.order.push(r);
                self.done[r as usize] = true;
                self.open.remove(k);
            } else {
                k += 1;
            }
        }
    }
    /// Whether every open completed read-only operation may still become legal from `s`.
    fn reads_reachable(&self, s: &M::State) -> bool {
        self.open.iter().all(|&r| {
            let o = self.ops[r as usize];
            !self.read_only[r as usize]
                || o.status != Status::Ok
                || self.model.reachable(s, &o.input, o.output.as_ref())
        })
    }
    fn after(&self, s: &M::State, p: u32) -> Option<M::State> {
        let o = self.ops[p as usize];
        self.model.step(s, &o.input, o.output.as_ref())
    }
    /// `op` must take effect now: alone if that keeps the open reads reachable, else after one
    /// other open operation that does, else after the shortest chain of open operations that
    /// makes it legal.
    fn at_return(&mut self, op: u32) -> bool {
        self.work = self.work.saturating_sub(2 * self.open.len() as u64);
        let writers: Vec<u32> = self
            .open
            .iter()
            .copied()
            .filter(|&p| p != op && !self.read_only[p as usize])
            .collect();
        if !self.read_only[op as usize]
            && let Some(s) = self.after(&self.state, op)
        {
            if self.reads_reachable(&s) {
                return self.run(&[op]);
            }
            for &p in &writers {
                if let Some(s1) = self.after(&self.state, p)
                    && let Some(s2) = self.after(&s1, op)
                    && self.reads_reachable(&s2)
                {
                    return self.run(&[p, op]);
                }
            }
            return self.run(&[op]);
        }
        let mut path = Vec::new();
        let mut nodes = 0;
        let state = self.state.clone();
        if self.search(&state, op, &writers, &mut path, &mut nodes) {
            path.push(op);
            return self.run(&path);
        }
        false
    }
    /// Takes `seq` in order, settling reads after each.
    fn run(&mut self, seq: &[u32]) -> bool {
        for &p in seq {
            if !self.done[p as usize] && !self.take(p) {
                return false;
            }
            self.settle();
        }
        true
    }
    /// Depth-first search for open operations after which `target` is legal.
    fn search(
        &self,
        s: &M::State,
        target: u32,
        writers: &[u32],
        path: &mut Vec<u32>,
        nodes: &mut usize,
    ) -> bool {
        let t = self.ops[target as usize];
        if self.model.legal(s, &t.input, t.output.as_ref()) {
            return true;
        }
        if path.len() == LOOKAHEAD_DEPTH {
            return false;
        }
        for &p in writers {
            if path.contains(&p) || *nodes >= LOOKAHEAD_NODES {
                continue;
            }
            *nodes += 1;
            let Some(s2) = self.after(s, p) else {
                continue;
            };
            if self.read_only[target as usize]
                && !self.model.reachable(&s2, &t.input, t.output.as_ref())
            {
                continue;
            }
            path.push(p);
            if self.search(&s2, target, writers, path, nodes) {
                return true;
            }
            path.pop();
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::generate::{self, GenModel, GenSpec};
    use crate::check::witness::verify_ops;
    use crate::check::{CasRegister, History, KvAppend, certify};

    fn positions(order: &[u32]) -> Vec<usize> {
        order.iter().map(|&p| p as usize).collect()
    }
    fn partitions<M: Model>(m: &M, h: &History<M::Input, M::Output>) -> Vec<Vec<usize>> {
        let mut keys: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, op) in h.ops.iter().enumerate() {
            keys.entry(m.key(&op.input)).or_default().push(i);
        }
        keys.into_values().collect()
    }

    /// A hundred clients: every partition's proposal verifies; after one stale read, the
    /// failing partition has a certificate and no proposal verifies.
    #[test]
    fn wide_generated_histories_are_proposed_and_stale_reads_certified() {
        for model in [
            GenModel::EtcdRegister,
            GenModel::CasRegister,
            GenModel::KvAppend,
        ] {
            for stale_read in [false, true] {
                let spec = GenSpec {
                    model,
                    ops: 2_000,
                    clients: 100,
                    seed: 3,
                    stale_read,
                };
                let (verified, certified) = if model == GenModel::KvAppend {
                    let h = generate::kv(&spec);
                    judge(&KvAppend, &h, |ops| certify::kv(ops).is_some())
                } else {
                    let h = generate::register(&spec);
                    judge(&CasRegister::default(), &h, |ops| {
                        certify::register(None, ops).is_some()
                    })
                };
                assert_eq!(verified, !stale_read, "{model:?} stale {stale_read}");
                assert_eq!(certified, stale_read, "{model:?} stale {stale_read}");
            }
        }
    }

    /// (every partition verified, some partition certified)
    fn judge<M: Model>(
        m: &M,
        h: &History<M::Input, M::Output>,
        cert: impl Fn(&[&Operation<M::Input, M::Output>]) -> bool,
    ) -> (bool, bool) {
        let (mut all, mut any) = (true, false);
        for idx in partitions(m, h) {
            let ops: Vec<_> = idx.iter().map(|&i| &h.ops[i]).collect();
            let ok = m
                .propose(&ops)
                .is_some_and(|o| verify_ops(m, &ops, &positions(&o)).is_ok());
            all &= ok;
            any |= cert(&ops);
        }
        (all, any)
    }

    #[test]
    fn zones_order_a_forward_chain_and_a_point() {
        use RegisterInput as I;
        use RegisterOutput as O;
        // write 1 is seen by a read that begins after write 2 returned: 2 goes first.
        let mut h = History::new();
        h.ok(0, 0, 100, I::Write(1), O::Written); // #0
        h.ok(1, 10, 20, I::Write(2), O::Written); // #1
        h.ok(2, 25, 30, I::Read, O::Read(Some(2))); // #2
        h.ok(3, 40, 50, I::Read, O::Read(Some(1))); // #3
        h.ok(4, 60, 70, I::Cas(1, 3), O::Cas(true)); // #4
        h.ok(5, 80, 90, I::Cas(1, 4), O::Cas(false)); // #5
        let ops: Vec<_> = h.ops.iter().collect();
        let m = CasRegister::default();
        let order = register_order(&m, None, &ops).expect("unique values");
        assert_eq!(order, vec![1, 2, 0, 3, 4, 5]);
        assert!(verify_ops(&m, &ops, &positions(&order)).is_ok());
        // A value written twice: the zones step aside (the greedy may still try).
        h.ok(6, 95, 99, I::Write(2), O::Written);
        let ops: Vec<_> = h.ops.iter().collect();
        assert_eq!(register_order(&m, None, &ops), None);
    }

    #[test]
    fn kv_chains_follow_what_the_gets_reveal() {
        use crate::check::{KvInput as K, KvOutput as V};
        let app = |v: &str| K::Append {
            key: "k".into(),
            value: v.into(),
        };
        let put = |v: &str| K::Put {
            key: "k".into(),
            value: v.into(),
        };
        let get = || K::Get { key: "k".into() };
        let mut h = History::new();
        h.ok(0, 0, 50, app(" a1"), V::Done); // #0 returns last, took effect first
        h.ok(1, 5, 10, app(" a2"), V::Done); // #1
        h.ok(2, 20, 60, get(), V::Value(" a1 a2".into())); // #2
        h.ok(3, 70, 80, put("p"), V::Done); // #3
        h.ok(4, 75, 85, app(" a3"), V::Done); // #4: no get sees it
        h.ok(5, 90, 95, put("q"), V::Done); // #5
        h.ok(6, 96, 99, get(), V::Value("q".into())); // #6
        let ops: Vec<_> = h.ops.iter().collect();
        let order = kv_order(&KvAppend, &ops).expect("unique tokens");
        assert!(
            verify_ops(&KvAppend, &ops, &positions(&order)).is_ok(),
            "{order:?}"
        );
        assert_eq!(&order[..3], &[0, 1, 2]);
        // A get that reveals an order no other get agrees with: no chain.
        h.ok(7, 61, 62, get(), V::Value(" a2 a1".into()));
        let ops: Vec<_> = h.ops.iter().collect();
        assert_eq!(kv_order(&KvAppend, &ops), None);
    }

    #[test]
    fn the_greedy_sweep_pulls_the_writes_an_open_read_needs() {
        use crate::check::{KvInput as K, KvOutput as V};
        let app = |v: &str| K::Append {
            key: "k".into(),
            value: v.into(),
        };
        let get = || K::Get { key: "k".into() };
        let mut h = History::new();
        h.ok(0, 0, 40, app("x"), V::Done);
        h.ok(1, 1, 41, app("y"), V::Done);
        h.ok(2, 2, 30, get(), V::Value("xy".into()));
        h.ok(3, 45, 50, get(), V::Value("xy".into()));
        let ops: Vec<_> = h.ops.iter().collect();
        let order = greedy(&KvAppend, &ops).expect("found");
        assert_eq!(order, vec![0, 1, 2, 3]);
        assert!(verify_ops(&KvAppend, &ops, &positions(&order)).is_ok());
        // A get of a value no open append can make: stuck.
        h.ok(4, 55, 60, get(), V::Value("yx".into()));
        let ops: Vec<_> = h.ops.iter().collect();
        assert_eq!(greedy(&KvAppend, &ops), None);
    }
}
