//! Ballots and the messages of both Paxos flavours. Single-decree Paxos decides one value;
//! Multi-Paxos decides one command per log slot. Both speak the same two phases: prepare /
//! promise (phase 1) and accept / accepted (phase 2), with a reject when an acceptor has
//! promised a higher ballot.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::sim::stable_hash;
use crate::workload::kv::Command;
use crate::workload::kv::{KvReply, KvRequest};

/// A log command with its stable hash, computed once when the leader proposes it. Shared (not
/// copied) between the messages and the acceptors' and replicas' slot maps of one run; the
/// trace hashes it by that hash.
pub type Cmd = Arc<LogCommand>;

pub struct LogCommand {
    pub command: Command,
    pub hash: u64,
}

impl LogCommand {
    pub fn new(command: Command) -> Cmd {
        let hash = stable_hash(&command);
        Arc::new(LogCommand { command, hash })
    }
}

impl PartialEq for LogCommand {
    fn eq(&self, o: &Self) -> bool {
        self.hash == o.hash && self.command == o.command
    }
}

impl Hash for LogCommand {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

impl fmt::Debug for LogCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.command.fmt(f)
    }
}

/// A proposal number: `(round, node)`, ordered by round, then by node, so that two
/// proposers never issue the same ballot. The zero ballot is below every real one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ballot {
    pub round: u64,
    pub node: u32,
}

impl Ballot {
    pub const ZERO: Ballot = Ballot { round: 0, node: 0 };
}

impl fmt::Display for Ballot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.round, self.node)
    }
}

/// A single-decree value: proposer `n` proposes `Value(n)`, shown as `v<n>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Value(pub u32);

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// Single-decree Paxos messages (Paxos Made Simple, section 2.2 and 2.3).
#[derive(Clone, Debug, Hash)]
pub enum Msg {
    /// Phase 1a: a proposer asks acceptors to promise `ballot`.
    Prepare { ballot: Ballot },
    /// Phase 1b: the promise, with the highest-ballot proposal this acceptor accepted.
    Promise {
        ballot: Ballot,
        accepted: Option<(Ballot, Value)>,
    },
    /// Phase 2a: accept `value` at `ballot`.
    Accept { ballot: Ballot, value: Value },
    /// Phase 2b: an acceptor accepted; sent to the proposer and to every learner.
    Accepted { ballot: Ballot, value: Value },
    /// Either phase: `ballot` is below what this acceptor promised.
    Reject { ballot: Ballot, promised: Ballot },
    /// A learner that knows nothing yet asks the others what was chosen.
    WhatChosen,
    /// A learner tells another what it learned.
    Chosen { value: Value },
}

/// Multi-Paxos messages: the two phases per slot (phase 1 once for all slots from `from`),
/// the leader's heartbeat with its chosen prefix, catch-up of chosen slots, and the clients'.
#[derive(Clone, Debug, Hash)]
pub enum MultiMsg {
    /// Phase 1a for every slot from `from` on.
    Prepare {
        ballot: Ballot,
        from: u64,
    },
    /// Phase 1b: every proposal this acceptor accepted in a slot from `from` on.
    Promise {
        ballot: Ballot,
        accepted: Vec<(u64, Ballot, Cmd)>,
    },
    /// Phase 2a for one slot; `chosen` is the leader's chosen prefix (slots `1..=chosen`).
    Accept {
        ballot: Ballot,
        slot: u64,
        command: Cmd,
        chosen: u64,
    },
    /// Phase 2b.
    Accepted {
        ballot: Ballot,
        slot: u64,
    },
    /// `ballot` is below what this acceptor promised.
    Reject {
        ballot: Ballot,
        promised: Ballot,
    },
    /// The leader is alive; slots `1..=chosen` are chosen.
    Heartbeat {
        ballot: Ballot,
        chosen: u64,
    },
    /// A replica missing chosen commands asks for those from slot `from` on.
    CatchUp {
        from: u64,
    },
    /// Chosen commands, in slot order.
    Chosen {
        entries: Vec<(u64, Cmd)>,
    },
    /// A client's request, boxed: it is the largest message by far (an operation holds up to
    /// three keys or values inline) and one in ten, so every other message (and every event
    /// in the engine's queue, which holds one) stays half its size.
    Request(Box<KvRequest>),
    Reply(KvReply),
    /// With leases: the heartbeat, stamped with the leader's clock at `start`; an acceptor
    /// that follows `ballot` grants the lease (see `lease.rs`).
    LeaseRenew {
        ballot: Ballot,
        chosen: u64,
        start: u64,
    },
    /// An acceptor granted the renewal stamped `start`.
    LeaseGrant {
        ballot: Ballot,
        start: u64,
    },
    /// No promise for `ballot`: this acceptor's lease grant to the leader of `holder` holds.
    LeaseHeld {
        ballot: Ballot,
        holder: Ballot,
    },
}
