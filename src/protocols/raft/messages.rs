//! Raft's messages (Figure 2: RequestVote and AppendEntries RPCs and their replies), the client
//! messages, and the log entry. Generic over the replicated state machine's operation `Op`
//! and result `R` (the key-value store's by default).

use std::hash::{Hash, Hasher};

use crate::sim::stable_hash;
pub use crate::workload::kv::Command;
use crate::workload::kv::{KvOp, KvReply, KvRequest, KvResult};

/// A log entry: a command and the term in which the leader received it, with the command's
/// digest, computed once by the leader that creates the entry and carried with it (as real
/// logs keep a checksum per entry): the servers' logs and the trace hash an entry by it
/// rather than hashing its command again at every copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<Op = KvOp> {
    pub term: u64,
    pub command: Command<Op>,
    pub digest: u64,
}

impl<Op: Hash> Entry<Op> {
    pub fn new(term: u64, command: Command<Op>) -> Self {
        let digest = stable_hash(&command);
        Entry {
            term,
            command,
            digest,
        }
    }
}

impl<Op> Hash for Entry<Op> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.term.hash(state);
        self.digest.hash(state);
    }
}

#[derive(Clone, Debug, Hash)]
pub enum Msg<Op = KvOp, R = KvResult> {
    RequestVote {
        term: u64,
        candidate: u32,
        last_log_index: u64,
        last_log_term: u64,
    },
    RequestVoteReply {
        term: u64,
        vote_granted: bool,
    },
    AppendEntries {
        term: u64,
        leader: u32,
        prev_log_index: u64,
        prev_log_term: u64,
        entries: Vec<Entry<Op>>,
        leader_commit: u64,
    },
    /// On success, `match_index`: the follower's log matches the leader's up to there. On
    /// failure, `rejected`: the `prev_log_index` of the rejected request (so that the leader
    /// tells a late answer from a current one), and `conflict_index`: where it should retry.
    AppendEntriesReply {
        term: u64,
        success: bool,
        match_index: u64,
        rejected: u64,
        conflict_index: u64,
    },
    Request(KvRequest<Op>),
    Reply(KvReply<R>),
}
