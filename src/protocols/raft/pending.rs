//! A Raft leader's bookkeeping of the client requests in its log that are not yet answered:
//! which request waits on which log index ([`Waiting`]), and which client entries lie past
//! the commit index ([`Uncommitted`]). Both are touched once or twice per request, so each
//! operation is O(1) (or a scan of one client's few entries), never a search of a tree that
//! holds every request in flight: with a thousand clients a leader has hundreds of them.

use std::collections::VecDeque;

/// Who waits on a log index: (client node, client, seq, attempt) of the latest attempt.
pub type Waiter = (u32, u32, u64, u32);

/// Log index -> the request waiting for it, for a window of consecutive indexes: a leader
/// adds indexes at the end of its log and answers them in index order as it applies them.
#[derive(Clone, Debug, Default)]
pub struct Waiting {
    /// The index of `slots[0]`.
    base: u64,
    slots: VecDeque<Option<Waiter>>,
}

impl Waiting {
    /// `w` now waits on `index` (replacing whoever waited there).
    pub fn insert(&mut self, index: u64, w: Waiter) {
        if self.slots.is_empty() {
            self.base = index;
        }
        while index < self.base {
            self.slots.push_front(None);
            self.base -= 1;
        }
        let k = (index - self.base) as usize;
        if k >= self.slots.len() {
            self.slots.resize(k + 1, None);
        }
        self.slots[k] = Some(w);
    }

    /// Takes whoever waits on `index`.
    pub fn remove(&mut self, index: u64) -> Option<Waiter> {
        let k = usize::try_from(index.checked_sub(self.base)?).ok()?;
        let w = self.slots.get_mut(k)?.take();
        while let Some(None) = self.slots.front() {
            self.slots.pop_front();
            self.base += 1;
        }
        w
    }

    pub fn clear(&mut self) {
        self.slots.clear();
    }

    #[cfg(test)]
    fn entries(&self) -> Vec<(u64, Waiter)> {
        (self.slots.iter().enumerate())
            .filter_map(|(k, w)| Some((self.base + k as u64, (*w)?)))
            .collect()
    }
}

/// The client entries of a leader's log past its commit index, per client: (seq, index), so
/// that a retried request finds its entry without a scan of the log.
#[derive(Clone, Debug, Default)]
pub struct Uncommitted {
    /// Per client number: its entries (few: one per request it retried into this log).
    per_client: Vec<Vec<(u64, u64)>>,
}

impl Uncommitted {
    pub fn insert(&mut self, client: u32, seq: u64, index: u64) {
        let c = client as usize;
        if self.per_client.len() <= c {
            self.per_client.resize_with(c + 1, Vec::new);
        }
        self.per_client[c].push((seq, index));
    }

    /// The entry of (`client`, `seq`) at `index` was committed.
    pub fn remove(&mut self, client: u32, seq: u64, index: u64) {
        if let Some(list) = self.per_client.get_mut(client as usize)
            && let Some(k) = list.iter().position(|&e| e == (seq, index))
        {
            list.swap_remove(k);
        }
    }

    /// The first index past `after` that holds (`client`, `seq`).
    pub fn find(&self, client: u32, seq: u64, after: u64) -> Option<u64> {
        let list = self.per_client.get(client as usize)?;
        (list.iter())
            .filter(|&&(s, i)| s == seq && i > after)
            .map(|&(_, i)| i)
            .min()
    }

    /// Forgets every entry (on a change of leadership: a step per client, as rare as
    /// elections).
    pub fn clear(&mut self) {
        self.per_client.iter_mut().for_each(Vec::clear);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    /// A small deterministic generator for the tests' operation sequences.
    fn lcg(x: &mut u64) -> u64 {
        *x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *x >> 33
    }

    /// `Waiting` answers as the tree it replaced did, over random inserts and removes.
    #[test]
    fn waiting_matches_a_tree() {
        let mut x = 7;
        for _ in 0..50 {
            let (mut w, mut t) = (Waiting::default(), BTreeMap::new());
            for _ in 0..300 {
                let i = 100 + lcg(&mut x) % 40;
                match lcg(&mut x) % 4 {
                    0 | 1 => {
                        let v = (1, 2, lcg(&mut x), 0);
                        w.insert(i, v);
                        t.insert(i, v);
                    }
                    2 => assert_eq!(w.remove(i), t.remove(&i)),
                    _ if lcg(&mut x).is_multiple_of(20) => {
                        w.clear();
                        t.clear();
                    }
                    _ => {}
                }
                assert_eq!(
                    w.entries(),
                    t.iter().map(|(&k, &v)| (k, v)).collect::<Vec<_>>()
                );
            }
        }
    }

    /// `Uncommitted` finds what a range query of the tree it replaced found.
    #[test]
    fn uncommitted_matches_a_tree() {
        let mut x = 11;
        for _ in 0..50 {
            let (mut u, mut t) = (Uncommitted::default(), BTreeSet::new());
            for _ in 0..400 {
                let (c, s, i) = ((lcg(&mut x) % 6) as u32, lcg(&mut x) % 4, lcg(&mut x) % 30);
                match lcg(&mut x) % 5 {
                    0 | 1 if !t.contains(&(c, s, i)) => {
                        u.insert(c, s, i);
                        t.insert((c, s, i));
                    }
                    2 => {
                        u.remove(c, s, i);
                        t.remove(&(c, s, i));
                    }
                    3 if lcg(&mut x).is_multiple_of(30) => {
                        u.clear();
                        t.clear();
                    }
                    _ => {}
                }
                let after = lcg(&mut x) % 30;
                let want = t.range((c, s, after + 1)..=(c, s, u64::MAX)).next();
                assert_eq!(u.find(c, s, after), want.map(|e| e.2));
            }
        }
    }
}
