//! Raft's messages (Figure 2: RequestVote and AppendEntries RPCs and their replies), the client
//! messages, and the log entry.

use crate::workload::kv::{KvOp, KvReply, KvRequest};

/// A command in the log.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// Appended by a new leader at the start of its term, so that entries of earlier terms get
    /// committed through it (and reads through the log are answered promptly).
    Noop,
    /// A client's operation; `(client, seq)` identifies it across retries.
    Client { client: u32, seq: u64, op: KvOp },
}

impl Command {
    /// Short text for a log cell: `noop`, `c1 append k0 "c1.4 "`.
    pub fn short(&self) -> String {
        match self {
            Command::Noop => "noop".to_string(),
            Command::Client { client, op, .. } => {
                let mut s = String::with_capacity(24);
                s.push('c');
                s.push_str(itoa(*client).as_str());
                s.push(' ');
                op.write_short(&mut s);
                s
            }
        }
    }
}

/// `n` in decimal, without the formatting machinery (log cells are drawn often).
fn itoa(mut n: u32) -> String {
    let mut b = [0u8; 10];
    let mut i = b.len();
    loop {
        i -= 1;
        b[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    String::from_utf8_lossy(&b[i..]).into_owned()
}

/// A log entry: a command and the term in which the leader received it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    pub term: u64,
    pub command: Command,
}

#[derive(Clone, Debug, Hash)]
pub enum Msg {
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
        entries: Vec<Entry>,
        leader_commit: u64,
    },
    /// `match_index` on success; on failure, `conflict_index`: where the leader should retry.
    AppendEntriesReply {
        term: u64,
        success: bool,
        match_index: u64,
        conflict_index: u64,
    },
    Request(KvRequest),
    Reply(KvReply),
}
