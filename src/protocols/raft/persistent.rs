//! What a Raft server keeps across crashes (Figure 2's persistent state), with a digest of
//! the log per entry that the checks compare logs by.

use super::messages::Entry;
use crate::workload::kv::KvOp;

/// What survives a crash.
#[derive(Clone, Debug)]
pub struct Persistent<Op = KvOp> {
    pub current_term: u64,
    pub voted_for: Option<u32>,
    /// The log; index i (1-based, as in the paper) is `log[i - 1]`. Changed only through
    /// [`Persistent::push`] and [`Persistent::truncate`], which keep `hashes` beside it.
    pub log: Vec<Entry<Op>>,
    /// Per entry: its command's hash and a digest of the log up to and including it, so that
    /// the checks tell whether two logs share a prefix in O(1) (a checksum per entry, as
    /// real logs keep).
    pub hashes: Vec<(u64, u64)>,
}

impl<Op> Default for Persistent<Op> {
    fn default() -> Self {
        Persistent {
            current_term: 0,
            voted_for: None,
            log: Vec::new(),
            hashes: Vec::new(),
        }
    }
}

impl<Op> Persistent<Op> {
    /// Appends an entry.
    pub fn push(&mut self, e: Entry<Op>) {
        let prev = self.hashes.last().map_or(0, |h| h.1);
        let cmd = e.digest;
        crate::frugal::push(&mut self.hashes, (cmd, chain(prev, e.term, cmd)));
        crate::frugal::push(&mut self.log, e);
    }
    /// Keeps the first `len` entries.
    pub fn truncate(&mut self, len: usize) {
        self.log.truncate(len);
        self.hashes.truncate(len);
    }
}

/// The digest of a log prefix extended by one entry (term, command hash).
pub fn chain(prev: u64, term: u64, cmd: u64) -> u64 {
    let mut h = prev ^ term.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ cmd.rotate_left(31);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}
