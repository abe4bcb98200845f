//! Raft's messages (Figure 2: RequestVote and AppendEntries RPCs and their replies), the client
//! messages, and the log entry. Generic over the replicated state machine's operation `Op`
//! and result `R` (the key-value store's by default).

pub use crate::workload::kv::Command;
use crate::workload::kv::{KvOp, KvReply, KvRequest, KvResult};

/// A log entry: a command and the term in which the leader received it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Entry<Op = KvOp> {
    pub term: u64,
    pub command: Command<Op>,
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
    /// `match_index` on success; on failure, `conflict_index`: where the leader should retry.
    AppendEntriesReply {
        term: u64,
        success: bool,
        match_index: u64,
        conflict_index: u64,
    },
    Request(KvRequest<Op>),
    Reply(KvReply<R>),
}
