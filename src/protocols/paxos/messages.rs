//! Ballots and the messages of both Paxos flavours. Single-decree Paxos decides one value;
//! Multi-Paxos decides one command per log slot. Both speak the same two phases: prepare /
//! promise (phase 1) and accept / accepted (phase 2), with a reject when an acceptor has
//! promised a higher ballot.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::mem::Discriminant;
use std::sync::{Arc, OnceLock};

use crate::sim::{StableHasher, stable_hash};
use crate::workload::kv::Command;
use crate::workload::kv::{KvOp, KvReply, KvRequest};

/// A log command with its stable hash, computed once when the leader proposes it. Shared (not
/// copied) between the messages and the acceptors' and replicas' slot maps of one run; the
/// trace hashes it by that hash.
pub type Cmd = Arc<LogCommand>;

/// The log's [`Command`] as Multi-Paxos holds it: a client's operation inline rather than
/// behind an `Arc` of its own (the `Cmd` around it is already what the logs and messages
/// share), so that proposing a command allocates once and applying it reads one block. Its
/// hash is `Command`'s, and it prints as `Command` does.
pub struct LogCommand {
    pub hash: u64,
    /// `None`: a no-op.
    pub client: Option<ClientCommand>,
}

/// A client's operation in the log: `Command::Client`'s fields.
#[derive(PartialEq)]
pub struct ClientCommand {
    pub client: u32,
    pub seq: u64,
    pub op: KvOp,
}

impl LogCommand {
    /// A no-op, to fill a hole.
    pub fn noop() -> Cmd {
        Arc::new(LogCommand {
            hash: stable_hash(&Command::<KvOp>::Noop),
            client: None,
        })
    }
    /// A client's operation.
    pub fn client(client: u32, seq: u64, op: KvOp) -> Cmd {
        let hash = client_command_hash(client, seq, &op);
        Arc::new(LogCommand {
            hash,
            client: Some(ClientCommand { client, seq, op }),
        })
    }
    /// As the shared `Command` (for its text: reports and views only; it copies the operation).
    pub fn command(&self) -> Command {
        match &self.client {
            None => Command::Noop,
            Some(c) => Command::Client {
                client: c.client,
                seq: c.seq,
                op: Arc::new(c.op.clone()),
            },
        }
    }
}

/// The stable hash of `Command::Client { client, seq, op }` without building the command
/// (that would copy the operation into a new `Arc`): what `#[derive(Hash)]` feeds the hasher,
/// the variant then each field in order (an `Arc` hashes as what it holds). A test holds the
/// two equal.
pub fn client_command_hash(client: u32, seq: u64, op: &KvOp) -> u64 {
    let mut h = StableHasher::new();
    client_variant().hash(&mut h);
    client.hash(&mut h);
    seq.hash(&mut h);
    op.hash(&mut h);
    h.finish()
}

/// The variant `Command::Client`, found once per process.
fn client_variant() -> Discriminant<Command> {
    static VARIANT: OnceLock<Discriminant<Command>> = OnceLock::new();
    *VARIANT.get_or_init(|| {
        std::mem::discriminant(&Command::Client {
            client: 0,
            seq: 0,
            op: Arc::new(KvOp::Get {
                key: Default::default(),
            }),
        })
    })
}

impl PartialEq for LogCommand {
    fn eq(&self, o: &Self) -> bool {
        self.hash == o.hash && self.client == o.client
    }
}

impl Hash for LogCommand {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

impl fmt::Debug for LogCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.command().fmt(f)
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
