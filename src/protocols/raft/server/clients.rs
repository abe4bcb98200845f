//! A Raft server's side facing its clients (§8): the leader appends a request to its log
//! (or answers a retry of one already applied or pending), a follower points the client at
//! the leader, and the leader proposes operations of its own.

use super::{Ctx, RaftHost, Role, Server};
use crate::protocols::raft::RaftBug;
use crate::protocols::raft::machine::StateMachine;
use crate::protocols::raft::messages::{Command, Entry, Msg};
use crate::sim::NodeId;
use crate::workload::kv::{KvReply, KvRequest};

impl<M: StateMachine> Server<M> {
    /// Appends `command` to the leader's log and sends it to the followers whose flow allows
    /// (pipelined ones with room in their window, probed ones not waiting on a probe): its
    /// index.
    fn append<N: RaftHost<M>>(&mut self, ctx: Ctx<'_, '_, N>, command: Command<M::Op>) -> u64 {
        let term = ctx.durable_ref().current_term;
        let key = match command {
            Command::Client { client, seq, .. } => Some((client, seq)),
            _ => None,
        };
        Self::p(ctx).push(Entry::new(term, command));
        let last = Self::last_index(ctx);
        if let Some((client, seq)) = key {
            self.uncommitted.insert(client, seq, last);
        }
        let me = &mut self.progress[self.id as usize];
        me.match_index = last;
        me.next_index = last + 1;
        for peer in ctx.peers() {
            self.send_entries(ctx, peer.0);
        }
        if ctx.servers() == 1 {
            self.advance_commit(ctx);
        }
        last
    }

    /// A leader proposes an operation of its own (no client waits for it; a lock service
    /// expiring a session): its log index, or `None` when this server is not the leader.
    pub fn propose<N: RaftHost<M>>(&mut self, ctx: Ctx<'_, '_, N>, op: M::Op) -> Option<u64> {
        (self.role == Role::Leader).then(|| {
            self.append(
                ctx,
                Command::Service {
                    op: std::sync::Arc::new(op),
                },
            )
        })
    }

    /// A client's request (a follower points it at the leader).
    pub fn on_request<N: RaftHost<M>>(
        &mut self,
        ctx: Ctx<'_, '_, N>,
        from: NodeId,
        r: KvRequest<M::Op>,
    ) {
        if self.role != Role::Leader {
            Self::send(
                ctx,
                from,
                Msg::Reply(KvReply::not_leader(&r, self.leader_id)),
            );
            return;
        }
        if let Some(result) = self.sm.answered(r.client, r.seq) {
            Self::send(ctx, from, Msg::Reply(KvReply::done(&r, result)));
            return;
        }
        if self.bug(RaftBug::StaleLeaderRead)
            && let Some(result) = self.sm.read_locally(&r.op)
        {
            // BUG (stale_leader_read): the leader answers a read from its own state machine
            // without checking that it is still the leader. A leader cut off from the majority
            // keeps answering after a new leader has accepted newer writes: stale reads.
            Self::send(ctx, from, Msg::Reply(KvReply::done(&r, result)));
            return;
        }
        // Already in the log (a retry of an uncommitted request)? Wait for that entry: the
        // first one past the commit index.
        let existing = self.uncommitted.find(r.client, r.seq, self.commit_index);
        debug_assert_eq!(
            existing,
            ctx.durable_ref()
                .log
                .iter()
                .enumerate()
                .skip(self.commit_index as usize)
                .find_map(|(i, e)| match &e.command {
                    Command::Client { client, seq, .. } if (*client, *seq) == (r.client, r.seq) =>
                        Some(i as u64 + 1),
                    _ => None,
                }),
            "n{}: the index of uncommitted entries disagrees with the log",
            self.id
        );
        let index = match existing {
            Some(i) => i,
            None => self.append(
                ctx,
                Command::Client {
                    client: r.client,
                    seq: r.seq,
                    op: std::sync::Arc::new(r.op),
                },
            ),
        };
        self.waiting
            .insert(index, (from.0, r.client, r.seq, r.attempt));
    }
}
