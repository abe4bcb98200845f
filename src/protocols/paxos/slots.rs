//! Per-slot storage for Multi-Paxos's acceptors and replicas.

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
    pub fn get(&self, slot: u64) -> Option<&T> {
        let i = usize::try_from(slot.checked_sub(1)?).ok()?;
        self.0.get(i)?.as_ref()
    }
    pub fn contains(&self, slot: u64) -> bool {
        self.get(slot).is_some()
    }
    /// Sets `slot` (from 1), returning what was there.
    pub fn insert(&mut self, slot: u64, v: T) -> Option<T> {
        assert!(slot > 0, "slots start at 1");
        let i = (slot - 1) as usize;
        if self.0.len() <= i {
            self.0.resize_with(i + 1, || None);
        }
        self.0[i].replace(v)
    }
    /// The highest slot set.
    pub fn last(&self) -> Option<u64> {
        (!self.0.is_empty()).then_some(self.0.len() as u64)
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
