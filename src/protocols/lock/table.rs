//! The coordinator's lock table: the state machine that `CoordinatorLock` replicates through
//! Raft (`protocols::raft::StateMachine`). It holds the client sessions and, under the one
//! lock, the ephemeral sequential nodes of ZooKeeper's lock recipe: a node's sequence number
//! is the log index of its creation, so sequence numbers only grow, the lowest node holds the
//! lock, and that number is the holder's sequencer (fencing token).
//!
//! Invariants: a node belongs to a live session (closing or expiring a session deletes its
//! nodes); the lock passes only from the lowest node to the next, so the sequencers of
//! successive holders increase. Applying is deterministic and depends on the log alone, so
//! every server's table is the same at the same index.
//!
//! What applying an entry did for the outside (a grant, a release, a watch to fire) is left
//! in `events`, drained by the server that hosts the table.

use std::collections::BTreeMap;

use crate::protocols::raft::StateMachine;
use crate::sim::Time;
use crate::workload::kv::Sessions;
use crate::workload::lock::{Owner, SessionOp, SessionResult};

/// A client session: whose, and its timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub client: u32,
    pub timeout: Time,
}

/// An ephemeral node under the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Child {
    pub session: u64,
    pub owner: Owner,
}

/// Why a node left the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gone {
    /// Its owner deleted it.
    Deleted,
    /// Its session was closed by the client.
    Closed,
    /// The leader expired its session.
    Expired,
}

/// What applying an entry did, for the server to report or act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableEvent {
    Opened {
        session: u64,
    },
    /// The node `token` became the lowest: its owner holds the lock.
    Granted {
        owner: Owner,
        token: u64,
    },
    /// The holder's node left the queue: the lock is free (until the next grant).
    Freed {
        owner: Owner,
        token: u64,
        why: Gone,
    },
    SessionEnded {
        session: u64,
        why: Gone,
    },
    /// Fire the watch of client `client`: the node before its `node` was deleted.
    Notify {
        client: u32,
        node: u64,
    },
}

/// The replicated lock table.
#[derive(Clone, Debug, Default)]
pub struct LockTable {
    pub sessions: BTreeMap<u64, Session>,
    /// The queue: sequence number (log index of the creation) -> node.
    pub children: BTreeMap<u64, Child>,
    dedup: Sessions<SessionResult>,
    /// Events of the entries applied since the host last drained them, with their entry's
    /// log index.
    pub events: Vec<(u64, TableEvent)>,
    /// The index of the entry being applied.
    applying: u64,
}

impl LockTable {
    fn emit(&mut self, e: TableEvent) {
        self.events.push((self.applying, e));
    }

    /// The node just before `node` in the queue.
    fn ahead(&self, node: u64) -> Option<u64> {
        self.children.range(..node).next_back().map(|(k, _)| *k)
    }

    fn remove_child(&mut self, node: u64, why: Gone) {
        let lowest = self.children.keys().next() == Some(&node);
        let Some(child) = self.children.remove(&node) else {
            return;
        };
        if lowest {
            self.emit(TableEvent::Freed {
                owner: child.owner,
                token: node,
                why,
            });
            if let Some((&next, c)) = self.children.iter().next() {
                self.emit(TableEvent::Granted {
                    owner: c.owner,
                    token: next,
                });
            }
        }
        // The node after it watched it.
        if let Some((&next, c)) = self.children.range(node..).next() {
            self.emit(TableEvent::Notify {
                client: c.owner.client,
                node: next,
            });
        }
    }

    fn end_session(&mut self, session: u64, why: Gone) -> SessionResult {
        if self.sessions.remove(&session).is_none() {
            return SessionResult::NoSession;
        }
        let owned: Vec<u64> = self
            .children
            .iter()
            .filter(|(_, c)| c.session == session)
            .map(|(k, _)| *k)
            .collect();
        for node in owned {
            self.remove_child(node, why);
        }
        self.emit(TableEvent::SessionEnded { session, why });
        SessionResult::Closed
    }

    fn apply_op(&mut self, index: u64, client: Option<u32>, op: &SessionOp) -> SessionResult {
        match *op {
            SessionOp::Open { timeout } => {
                let Some(client) = client else {
                    return SessionResult::NoSession;
                };
                self.sessions.insert(index, Session { client, timeout });
                self.emit(TableEvent::Opened { session: index });
                SessionResult::Opened { session: index }
            }
            SessionOp::Create { session, owner } => {
                if !self.sessions.contains_key(&session) {
                    return SessionResult::NoSession;
                }
                let ahead = self.ahead(index);
                self.children.insert(index, Child { session, owner });
                if ahead.is_none() {
                    self.emit(TableEvent::Granted {
                        owner,
                        token: index,
                    });
                }
                SessionResult::Queued { node: index, ahead }
            }
            SessionOp::Check { session, node } => match self.children.get(&node) {
                Some(c) if c.session == session => SessionResult::Queued {
                    node,
                    ahead: self.ahead(node),
                },
                _ => SessionResult::NoNode,
            },
            SessionOp::Delete { session, node } => {
                let existed = self
                    .children
                    .get(&node)
                    .is_some_and(|c| c.session == session);
                if existed {
                    self.remove_child(node, Gone::Deleted);
                }
                SessionResult::Deleted { existed }
            }
            SessionOp::Close { session } => self.end_session(session, Gone::Closed),
            // Only the leader's own proposals expire sessions.
            SessionOp::Expire { session } if client.is_none() => {
                self.end_session(session, Gone::Expired)
            }
            SessionOp::Expire { .. } => SessionResult::NoSession,
        }
    }
}

impl StateMachine for LockTable {
    type Op = SessionOp;
    type Result = SessionResult;
    const VIEW_NAME: &'static str = "table";

    /// `queue 12:c0 15:c3 · 4 sessions`: the queue's nodes (the first holds the lock) with
    /// their owners, then how many sessions are open.
    fn view(&self) -> String {
        let mut s = String::from("queue");
        for (node, c) in &self.children {
            s.push_str(&format!(" {node}:c{}", c.owner.client));
        }
        if self.children.is_empty() {
            s.push_str(" empty");
        }
        s.push_str(&format!(" · {} sessions", self.sessions.len()));
        s
    }

    fn apply(&mut self, index: u64, request: Option<(u32, u64)>, op: &SessionOp) {
        self.applying = index;
        match request {
            Some((client, seq)) => {
                // Split borrows: the dedup table runs the operation on the rest.
                let mut dedup = std::mem::take(&mut self.dedup);
                dedup.run_once(client, seq, || self.apply_op(index, Some(client), op));
                self.dedup = dedup;
            }
            None => {
                self.apply_op(index, None, op);
            }
        }
    }

    fn answered(&self, client: u32, seq: u64) -> Option<SessionResult> {
        self.dedup.answered(client, seq)
    }
}
