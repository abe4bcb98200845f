//! Raft's messages (Figure 2: RequestVote and AppendEntries RPCs and their replies), the client
//! messages, and the log entry. Generic over the replicated state machine's operation `Op`
//! and result `R` (the key-value store's by default).

use std::hash::{Hash, Hasher};

use crate::sim::stable_hash;
pub use crate::workload::kv::Command;
use crate::workload::kv::{
    KvOp, KvReply, KvRequest, KvResult, WriteDebug, more_fields, open_struct, push_decimal,
    write_tuple,
};

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

impl<Op: WriteDebug> Entry<Op> {
    /// Appends what `{:?}` prints.
    pub fn write_debug(&self, out: &mut String) {
        out.push_str("Entry { term: ");
        push_decimal(out, self.term);
        out.push_str(", command: ");
        self.command.write_debug(out);
        out.push_str(", digest: ");
        push_decimal(out, self.digest);
        out.push_str(" }");
    }
}

impl Msg {
    /// Appends what `{:?}` prints, without the formatting machinery: the label of most of
    /// a report's events ([`crate::sim::Node::write_label`]), an `AppendEntries` with its
    /// entries above all.
    pub fn write_debug(&self, out: &mut String) {
        let flag = |b: bool| if b { "true" } else { "false" };
        match self {
            Msg::RequestVote {
                term,
                candidate,
                last_log_index,
                last_log_term,
            } => {
                let values = [
                    ("term", *term),
                    ("candidate", (*candidate).into()),
                    ("last_log_index", *last_log_index),
                    ("last_log_term", *last_log_term),
                ];
                open_struct(out, "RequestVote", &values);
            }
            Msg::RequestVoteReply { term, vote_granted } => {
                open_struct(out, "RequestVoteReply", &[("term", *term)]);
                out.push_str(", vote_granted: ");
                out.push_str(flag(*vote_granted));
            }
            Msg::AppendEntries {
                term,
                leader,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => {
                let values = [
                    ("term", *term),
                    ("leader", (*leader).into()),
                    ("prev_log_index", *prev_log_index),
                    ("prev_log_term", *prev_log_term),
                ];
                open_struct(out, "AppendEntries", &values);
                out.push_str(", entries: [");
                for (k, e) in entries.iter().enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    e.write_debug(out);
                }
                out.push_str("], leader_commit: ");
                push_decimal(out, *leader_commit);
            }
            Msg::AppendEntriesReply {
                term,
                success,
                match_index,
                rejected,
                conflict_index,
            } => {
                open_struct(out, "AppendEntriesReply", &[("term", *term)]);
                out.push_str(", success: ");
                out.push_str(flag(*success));
                let rest = [
                    ("match_index", *match_index),
                    ("rejected", *rejected),
                    ("conflict_index", *conflict_index),
                ];
                more_fields(out, &rest);
            }
            Msg::Request(r) => return write_tuple(out, "Request", |o| r.write_debug(o)),
            Msg::Reply(r) => return write_tuple(out, "Reply", |o| r.write_debug(o)),
        }
        out.push_str(" }");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::kv::{KvReply, KvRequest, KvResult};

    /// Every message shape, with the key-value store's operations of every shape and
    /// extreme numbers.
    fn messages() -> Vec<Msg> {
        let commands = crate::workload::kv::label_tests::commands();
        let entries: Vec<Entry> = commands
            .iter()
            .enumerate()
            .map(|(k, c)| Entry::new([0, 1, u64::MAX][k % 3], c.clone()))
            .collect();
        let mut v = Vec::new();
        for (k, n) in [0, 1, 17, u64::MAX].into_iter().enumerate() {
            v.push(Msg::RequestVote {
                term: n,
                candidate: k as u32,
                last_log_index: n / 2,
                last_log_term: n / 3,
            });
            v.push(Msg::RequestVoteReply {
                term: n,
                vote_granted: k % 2 == 0,
            });
            v.push(Msg::AppendEntriesReply {
                term: n,
                success: k % 2 == 1,
                match_index: n,
                rejected: n / 5,
                conflict_index: 3,
            });
        }
        for len in [0, 1, 2, entries.len()] {
            v.push(Msg::AppendEntries {
                term: len as u64,
                leader: u32::MAX,
                prev_log_index: u64::MAX,
                prev_log_term: 0,
                entries: entries[..len].to_vec(),
                leader_commit: 12,
            });
        }
        for (k, op) in crate::workload::kv::label_tests::ops()
            .into_iter()
            .enumerate()
        {
            v.push(Msg::Request(KvRequest {
                client: k as u32,
                seq: k as u64,
                attempt: 2,
                op,
            }));
        }
        v.push(Msg::Reply(KvReply::Done {
            seq: 1,
            attempt: 0,
            result: KvResult::Value("a\"b".into()),
        }));
        v.push(Msg::Reply(KvReply::NotLeader {
            seq: 1,
            attempt: 0,
            hint: Some(2),
        }));
        v
    }

    #[test]
    fn write_debug_prints_what_debug_prints() {
        crate::workload::kv::label_tests::assert_writes_debug(messages(), Msg::write_debug);
    }
}
