//! Per-slot storage for Multi-Paxos's acceptors and replicas, and the small sets of nodes
//! (who promised, who accepted) that phase 1 and phase 2 count.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use super::messages::{Ballot, Cmd};

/// Per-slot values. Leaders hand slots out in order from 1, so they are dense: a vector
/// indexed by slot, whose last element is always set.
#[derive(Clone, Debug)]
pub struct Slots<T>(Vec<Option<T>>);

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots(Vec::new())
    }
}

impl<T> Slots<T> {
    #[inline]
    pub fn get(&self, slot: u64) -> Option<&T> {
        let i = usize::try_from(slot.checked_sub(1)?).ok()?;
        self.0.get(i)?.as_ref()
    }
    #[inline]
    pub fn contains(&self, slot: u64) -> bool {
        self.get(slot).is_some()
    }
    /// Sets `slot` (from 1), returning what was there.
    #[inline]
    pub fn insert(&mut self, slot: u64, v: T) -> Option<T> {
        assert!(slot > 0, "slots start at 1");
        let i = (slot - 1) as usize;
        if self.0.len() == i {
            // The usual case: the next slot.
            self.0.push(Some(v));
            return None;
        }
        if self.0.len() < i {
            self.0.resize_with(i + 1, || None);
        }
        self.0[i].replace(v)
    }
    /// The slots set from `slot` on, in order.
    pub fn from(&self, slot: u64) -> impl Iterator<Item = (u64, &T)> {
        let start = slot.saturating_sub(1).min(self.0.len() as u64) as usize;
        self.0[start..]
            .iter()
            .enumerate()
            .filter_map(move |(k, v)| Some((start as u64 + k as u64 + 1, v.as_ref()?)))
    }
}

/// An acceptor's accepted proposals and the slots its replica knows are chosen: what a
/// replica keeps durable besides its promise. Nearly every chosen slot holds the command this
/// acceptor accepted there (a follower learns a slot from the leader's chosen prefix when it
/// accepted it at the leader's ballot; the leader chooses what its own acceptor accepted), so
/// such a slot is marked chosen instead of holding a second reference to the command: no
/// reference count touched per replica per slot as the run goes, nor when it is freed. A
/// chosen command that is not (or is no longer) the one accepted here is kept apart.
#[derive(Clone, Debug, Default)]
pub struct Log {
    accepted: Slots<(Ballot, Cmd)>,
    /// Bit `slot - 1`: chosen, with the command `accepted` holds there.
    marked: Vec<u64>,
    /// The chosen slots that are not marked.
    apart: Slots<Cmd>,
    /// The highest chosen slot (0: none).
    last: u64,
}

impl Log {
    /// The proposal accepted in `slot`, if any.
    #[inline]
    pub fn accepted(&self, slot: u64) -> Option<&(Ballot, Cmd)> {
        self.accepted.get(slot)
    }
    /// The proposals accepted from `slot` on, in slot order.
    pub fn accepted_from(&self, slot: u64) -> impl Iterator<Item = (u64, &(Ballot, Cmd))> {
        self.accepted.from(slot)
    }
    /// Accepts `command` at `ballot` in `slot`; the ballot accepted there before, if any.
    #[inline]
    pub fn accept(&mut self, slot: u64, ballot: Ballot, command: Cmd) -> Option<Ballot> {
        let marked = self.is_marked(slot);
        let (b, prev) = self.accepted.insert(slot, (ballot, command))?;
        if marked && !Arc::ptr_eq(&prev, &self.accepted.get(slot)?.1) {
            // The chosen command stays: kept apart from the new proposal.
            self.unmark(slot);
            self.apart.insert(slot, prev);
        }
        Some(b)
    }
    /// Forgets every accepted proposal (the chosen slots stay chosen).
    pub fn forget_accepted(&mut self) {
        for slot in 1..=self.last {
            if self.is_marked(slot)
                && let Some((_, c)) = self.accepted.get(slot)
            {
                let c = c.clone();
                self.apart.insert(slot, c);
            }
        }
        self.marked.clear();
        self.accepted = Slots::default();
    }
    /// The command chosen in `slot`, if this replica knows it.
    #[inline]
    pub fn chosen(&self, slot: u64) -> Option<&Cmd> {
        if self.is_marked(slot) {
            return self.accepted.get(slot).map(|(_, c)| c);
        }
        self.apart.get(slot)
    }
    #[inline]
    pub fn is_chosen(&self, slot: u64) -> bool {
        self.is_marked(slot) || self.apart.contains(slot)
    }
    /// The highest slot known chosen.
    pub fn last_chosen(&self) -> Option<u64> {
        (self.last > 0).then_some(self.last)
    }
    /// The chosen slots from `slot` on, in order, with their commands.
    pub fn chosen_from(&self, slot: u64) -> impl Iterator<Item = (u64, &Cmd)> {
        (slot.max(1)..=self.last).filter_map(|s| Some((s, self.chosen(s)?)))
    }
    /// `slot` (not known chosen yet) is chosen with `command`.
    pub fn choose(&mut self, slot: u64, command: Cmd) {
        debug_assert!(!self.is_chosen(slot));
        match self.accepted.get(slot) {
            Some((_, c)) if Arc::ptr_eq(c, &command) => self.mark(slot),
            _ => {
                self.apart.insert(slot, command);
            }
        }
        self.last = self.last.max(slot);
    }
    /// `slot` (not known chosen yet) is chosen with the command accepted there.
    pub fn choose_accepted(&mut self, slot: u64) {
        debug_assert!(!self.is_chosen(slot) && self.accepted.contains(slot));
        self.mark(slot);
        self.last = self.last.max(slot);
    }

    #[inline]
    fn is_marked(&self, slot: u64) -> bool {
        let Some(i) = slot.checked_sub(1) else {
            return false;
        };
        self.marked
            .get((i / 64) as usize)
            .is_some_and(|w| w & 1 << (i % 64) != 0)
    }
    fn mark(&mut self, slot: u64) {
        let i = slot - 1;
        let w = (i / 64) as usize;
        if self.marked.len() <= w {
            self.marked.resize(w + 1, 0);
        }
        self.marked[w] |= 1 << (i % 64);
    }
    fn unmark(&mut self, slot: u64) {
        let i = slot - 1;
        if let Some(w) = self.marked.get_mut((i / 64) as usize) {
            *w &= !(1 << (i % 64));
        }
    }
}

/// Values keyed by slot, in slot order, for the few slots a leader has in hand (proposals not
/// yet chosen, clients waiting on a slot). A leader hands slots out in increasing order and
/// they are mostly settled oldest first: a new one goes at the back, a settled one mostly
/// leaves from the front; a map's nodes would be allocated and searched for nothing.
#[derive(Clone, Debug)]
pub struct SlotQueue<T>(VecDeque<(u64, T)>);

impl<T> Default for SlotQueue<T> {
    fn default() -> Self {
        SlotQueue(VecDeque::new())
    }
}

impl<T> SlotQueue<T> {
    #[inline]
    fn find(&self, slot: u64) -> Result<usize, usize> {
        // Most lookups are for the oldest slot.
        match self.0.front() {
            Some(f) if f.0 == slot => Ok(0),
            _ => self.0.binary_search_by_key(&slot, |e| e.0),
        }
    }
    /// Sets `slot` to `v` (replacing what was there).
    pub fn insert(&mut self, slot: u64, v: T) {
        if self.0.back().is_none_or(|b| b.0 < slot) {
            return self.0.push_back((slot, v));
        }
        match self.find(slot) {
            Ok(i) => self.0[i].1 = v,
            Err(i) => self.0.insert(i, (slot, v)),
        }
    }
    #[inline]
    pub fn get_mut(&mut self, slot: u64) -> Option<&mut T> {
        let i = self.find(slot).ok()?;
        Some(&mut self.0[i].1)
    }
    /// Takes `slot`'s value out.
    #[inline]
    pub fn remove(&mut self, slot: u64) -> Option<T> {
        let i = self.find(slot).ok()?;
        self.0.remove(i).map(|e| e.1)
    }
    /// The slots in order, with their values.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> {
        self.0.iter().map(|(s, v)| (*s, v))
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// The leader's proposals not yet chosen, in slot order, each with the acceptors that accepted
/// it.
#[derive(Clone, Debug)]
pub struct Inflight<T>(SlotQueue<(T, NodeSet)>);

impl<T> Default for Inflight<T> {
    fn default() -> Self {
        Inflight(SlotQueue::default())
    }
}

impl<T> Inflight<T> {
    /// Proposes `v` in `slot`, accepted by no one yet (replacing an earlier proposal there).
    pub fn insert(&mut self, slot: u64, v: T) {
        self.0.insert(slot, (v, NodeSet::default()));
    }
    /// Who accepted the proposal in `slot`, if it is in flight.
    #[inline]
    pub fn accepted_mut(&mut self, slot: u64) -> Option<&mut NodeSet> {
        self.0.get_mut(slot).map(|e| &mut e.1)
    }
    /// Takes the proposal in `slot` out (it was chosen).
    #[inline]
    pub fn remove(&mut self, slot: u64) -> Option<T> {
        self.0.remove(slot).map(|e| e.0)
    }
    /// The proposals in slot order, with who accepted each.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T, &NodeSet)> {
        self.0.iter().map(|(s, (v, who))| (s, v, who))
    }
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// A set of nodes: those below 64 as bits, the others (clusters have up to 1,000 servers) in
/// a set allocated only when one shows up, so that the set is two words (the checks keep one
/// per slot and value). Counting a quorum allocates nothing.
#[derive(Clone, Debug, Default)]
pub struct NodeSet {
    low: u64,
    // Boxed on purpose: a set is a pointer until a node past 63 joins it, not three words.
    #[allow(clippy::box_collection)]
    high: Option<Box<BTreeSet<u32>>>,
}

impl NodeSet {
    /// Adds `n`; whether it was new.
    #[inline]
    pub fn insert(&mut self, n: u32) -> bool {
        if n < 64 {
            let new = self.low & 1 << n == 0;
            self.low |= 1 << n;
            new
        } else {
            self.high.get_or_insert_default().insert(n)
        }
    }
    #[inline]
    pub fn contains(&self, n: u32) -> bool {
        if n < 64 {
            self.low & 1 << n != 0
        } else {
            self.high.as_ref().is_some_and(|h| h.contains(&n))
        }
    }
    #[inline]
    pub fn len(&self) -> usize {
        self.low.count_ones() as usize + self.high.as_ref().map_or(0, |h| h.len())
    }
    pub fn clear(&mut self) {
        *self = NodeSet::default();
    }
}

#[cfg(test)]
mod tests {
    use super::super::messages::{Ballot, LogCommand};
    use super::{Inflight, Log, NodeSet, SlotQueue, Slots};
    use crate::workload::kv::KvOp;

    #[test]
    fn inflight_keeps_slot_order() {
        let mut f = Inflight::default();
        for (slot, v) in [(2, 'b'), (5, 'e'), (3, 'c'), (5, 'E')] {
            f.insert(slot, v);
        }
        f.accepted_mut(3).unwrap().insert(4);
        assert!(f.accepted_mut(4).is_none());
        let all: Vec<_> = f.iter().map(|(s, v, who)| (s, *v, who.len())).collect();
        assert_eq!(all, vec![(2, 'b', 0), (3, 'c', 1), (5, 'E', 0)]);
        assert_eq!(f.remove(2), Some('b'));
        assert_eq!(f.remove(2), None);
        assert_eq!(f.iter().count(), 2);
    }

    #[test]
    fn slot_queues_act_as_ordered_maps() {
        let mut q = SlotQueue::default();
        assert!(q.is_empty());
        for (slot, v) in [(4, 'd'), (9, 'i'), (6, 'f'), (9, 'I'), (1, 'a')] {
            q.insert(slot, v);
        }
        let all: Vec<_> = q.iter().map(|(s, v)| (s, *v)).collect();
        assert_eq!(all, vec![(1, 'a'), (4, 'd'), (6, 'f'), (9, 'I')]);
        assert_eq!(q.remove(1), Some('a'));
        assert_eq!(q.remove(5), None);
        *q.get_mut(6).unwrap() = 'F';
        assert_eq!(q.remove(6), Some('F'));
        assert_eq!(q.iter().count(), 2);
        q.clear();
        assert!(q.is_empty() && q.remove(4).is_none());
    }

    #[test]
    fn node_sets_count_every_node_once() {
        let mut s = NodeSet::default();
        for n in [0, 63, 64, 999, 63, 999, 5] {
            s.insert(n);
        }
        assert_eq!(s.len(), 5);
        assert!(s.contains(64) && s.contains(0) && !s.contains(1) && !s.contains(998));
        assert!(!s.insert(999) && s.insert(1));
        s.clear();
        assert!(s.len() == 0 && !s.contains(999));
    }

    #[test]
    fn slots_fill_in_order_and_out_of_order() {
        let mut s = Slots::default();
        assert_eq!(s.insert(1, 'a'), None);
        assert_eq!(s.insert(3, 'c'), None);
        assert_eq!(s.insert(2, 'b'), None);
        assert_eq!(s.insert(2, 'B'), Some('b'));
        let all: Vec<_> = s.from(2).collect();
        assert_eq!(all, vec![(2, &'B'), (3, &'c')]);
    }

    #[test]
    fn a_log_keeps_what_was_chosen_whatever_is_accepted_later() {
        let cmd = |seq| LogCommand::client(0, seq, KvOp::Get { key: "k".into() });
        let b = |round| Ballot { round, node: 1 };
        let (one, two, three) = (cmd(1), cmd(2), cmd(3));
        let mut log = Log::default();
        assert_eq!(log.accept(1, b(1), one.clone()), None);
        assert_eq!(log.accept(2, b(1), two.clone()), None);
        // Slot 1 chosen with what was accepted there: marked, not a second reference.
        log.choose_accepted(1);
        // Slot 2 chosen with another command than the one accepted (a bug variant), slot 4
        // learned without an accept (catch-up).
        log.choose(2, three.clone());
        log.choose(4, one.clone());
        assert_eq!(log.last_chosen(), Some(4));
        assert!(log.is_chosen(1) && log.is_chosen(2) && !log.is_chosen(3));
        assert_eq!(log.chosen_from(0).count(), 3);
        assert_eq!(log.chosen(1).unwrap().hash, one.hash);
        assert_eq!(log.chosen(2).unwrap().hash, three.hash);
        // A later ballot accepts something else in the chosen slot 1: it stays chosen with
        // the first command; the same command again keeps it as it was.
        assert_eq!(log.accept(1, b(2), one.clone()), Some(b(1)));
        assert_eq!(log.accept(1, b(3), two.clone()), Some(b(2)));
        assert_eq!(log.chosen(1).unwrap().hash, one.hash);
        assert_eq!(log.accepted(1).unwrap().1.hash, two.hash);
        // Forgetting the accepted proposals (acceptor_forgets) keeps the chosen ones.
        log.accept(5, b(3), two.clone());
        log.choose_accepted(5);
        log.forget_accepted();
        assert!(log.accepted(5).is_none() && log.accepted_from(0).count() == 0);
        let after: Vec<(u64, u64)> = log.chosen_from(1).map(|(s, c)| (s, c.hash)).collect();
        assert_eq!(
            after,
            vec![(1, one.hash), (2, three.hash), (4, one.hash), (5, two.hash)]
        );
    }
}
