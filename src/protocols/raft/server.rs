//! A Raft server, following Figure 2 of the paper ("Rules for Servers"), serving a key-value
//! state machine with per-client deduplication. Persistent state (`current_term`, `voted_for`,
//! `log`) lives in durable storage and is written before any reply that depends on it.
//!
//! Invariants asserted here: a leader never overwrites or deletes its own entries (Leader
//! Append-Only: only a follower's log is rewritten); `commit_index` never passes the log; a
//! leader's view of each follower keeps `match_index < next_index <= last index + 1`, however
//! far its pipelining (`progress.rs`) ran ahead or its backing off fell back. By
//! construction `commit_index` only grows and entries are applied in index order, each once;
//! the outside-in checks in `checks.rs` judge the rest from what the servers report.

use std::cell::RefCell;
use std::collections::BTreeSet;

use super::machine::{KvMachine, StateMachine};
use super::messages::{Command, Entry, Msg};
use super::pending::{Uncommitted, Waiting};
pub use super::persistent::Persistent;
use super::progress::Progress;
use super::{Obs, RaftBug, RaftSpec, Timer};

mod clients;
mod view;
use crate::sim::{Context, Node, NodeId};
use crate::workload::kv::KvReply;
use view::ViewCache;

/// What a node type provides so that it can host a Raft [`Server`] of state machine `M`:
/// durable storage of Raft's persistent state, and a way to carry Raft's messages, timers and
/// observations in its own.
pub trait RaftHost<M: StateMachine>: Node<Durable = Persistent<M::Op>> {
    fn raft_msg(m: Msg<M::Op, M::Result>) -> Self::Msg;
    fn raft_timer(t: Timer) -> Self::Timer;
    fn raft_obs(o: Obs) -> Self::Obs;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Follower,
    Candidate,
    Leader,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// Volatile state of a server replicating state machine `M`.
#[derive(Clone, Debug)]
pub struct Server<M: StateMachine = KvMachine> {
    pub id: u32,
    spec: RaftSpec,
    pub role: Role,
    /// With the `forget_vote` bug, the vote lives here instead of in durable storage.
    volatile_vote: Option<u32>,
    pub commit_index: u64,
    pub last_applied: u64,
    leader_id: Option<u32>,
    votes: BTreeSet<u32>,
    /// Leader only: nextIndex and matchIndex of every server, and how entries flow to it
    /// (probe or pipelined replicate, see [`Progress`]). The leader's own entry tracks its log.
    progress: Vec<Progress>,
    /// The state machine (with, per client, the last applied request and its result).
    pub sm: M,
    /// Log index -> (client node, client, seq, attempt) of the request waiting for it, its
    /// latest attempt (leader only).
    waiting: Waiting,
    /// Leader only: (client, seq, index) of every client entry of the log past `commit_index`,
    /// per client, so that a retry finds its entry among its client's few rather than by a
    /// scan of every uncommitted entry (which made a leader's cost per request grow with the
    /// number of clients). Built from the log when this server becomes leader, extended by
    /// [`Self::append`] (a leader's log changes only there), pruned as `commit_index`
    /// advances, dropped with leadership.
    uncommitted: Uncommitted,
    /// What this server's last view formatted ([`Self::view`]), to reuse what did not
    /// change. Empty unless a report asks for views.
    view_cache: RefCell<ViewCache<M::Op>>,
}

type Ctx<'a, 'b, N> = &'a mut Context<'b, N>;

impl<M: StateMachine> Server<M> {
    pub fn new(id: u32, spec: &RaftSpec) -> Self {
        Server {
            id,
            spec: spec.clone(),
            role: Role::Follower,
            volatile_vote: None,
            commit_index: 0,
            last_applied: 0,
            leader_id: None,
            votes: BTreeSet::new(),
            progress: Vec::new(),
            sm: M::default(),
            waiting: Waiting::default(),
            uncommitted: Uncommitted::default(),
            view_cache: RefCell::default(),
        }
    }

    fn send<N: RaftHost<M>>(ctx: Ctx<'_, '_, N>, to: NodeId, m: Msg<M::Op, M::Result>) {
        ctx.send(to, N::raft_msg(m));
    }

    fn broadcast<N: RaftHost<M>>(ctx: Ctx<'_, '_, N>, m: Msg<M::Op, M::Result>) {
        ctx.broadcast(N::raft_msg(m));
    }

    fn observe<N: RaftHost<M>>(ctx: Ctx<'_, '_, N>, o: Obs) {
        ctx.observe(N::raft_obs(o));
    }

    /// Whether this server believes it is the leader.
    pub fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    /// The leader this server knows of (itself when leading).
    pub fn leader_hint(&self) -> Option<u32> {
        self.leader_id
    }

    fn bug(&self, b: RaftBug) -> bool {
        self.spec.bug == Some(b)
    }

    fn p<'c, N: RaftHost<M>>(ctx: &'c mut Context<'_, N>) -> &'c mut Persistent<M::Op> {
        ctx.durable()
    }

    fn last_index<N: RaftHost<M>>(ctx: &Context<'_, N>) -> u64 {
        ctx.durable_ref().log.len() as u64
    }

    fn term_at<N: RaftHost<M>>(ctx: &Context<'_, N>, index: u64) -> u64 {
        if index == 0 {
            0
        } else {
            ctx.durable_ref()
                .log
                .get(index as usize - 1)
                .map_or(0, |e| e.term)
        }
    }

    fn voted_for<N: RaftHost<M>>(&self, ctx: &Context<'_, N>) -> Option<u32> {
        if self.bug(RaftBug::ForgetVote) {
            self.volatile_vote
        } else {
            ctx.durable_ref().voted_for
        }
    }

    fn set_vote<N: RaftHost<M>>(&mut self, ctx: Ctx<'_, '_, N>, v: Option<u32>) {
        if self.bug(RaftBug::ForgetVote) {
            // BUG (forget_vote): the vote is kept only in memory. After a crash and restart in
            // the same term, the server has forgotten it voted and can vote again for another
            // candidate: two leaders can be elected in one term.
            self.volatile_vote = v;
        } else {
            Self::p(ctx).voted_for = v;
        }
    }

    fn majority<N: RaftHost<M>>(ctx: &Context<'_, N>) -> usize {
        ctx.servers() as usize / 2 + 1
    }

    fn reset_election_timer<N: RaftHost<M>>(&self, ctx: Ctx<'_, '_, N>) {
        let (lo, hi) = self.spec.election_timeout;
        let d = ctx.random_range(lo, hi);
        ctx.set_timer(N::raft_timer(Timer::Election), d);
    }

    fn set_role<N: RaftHost<M>>(&mut self, ctx: Ctx<'_, '_, N>, role: Role) {
        if self.role != role {
            if self.role == Role::Leader {
                // A deposed leader answers no one: whoever commits the entries answers retries.
                self.waiting.clear();
                self.uncommitted.clear();
                ctx.cancel_timer(N::raft_timer(Timer::Heartbeat));
            }
            self.role = role;
            let term = ctx.durable_ref().current_term;
            Self::observe(
                ctx,
                Obs::Role {
                    role: role.name(),
                    term,
                },
            );
        }
    }

    pub fn on_start<N: RaftHost<M>>(&mut self, ctx: Ctx<'_, '_, N>) {
        let term = ctx.durable_ref().current_term;
        Self::observe(
            ctx,
            Obs::Role {
                role: "follower",
                term,
            },
        );
        self.reset_election_timer(ctx);
    }

    /// All servers: if RPC request or response contains term T > currentTerm: set
    /// currentTerm = T, convert to follower.
    fn observe_term<N: RaftHost<M>>(&mut self, ctx: Ctx<'_, '_, N>, term: u64) {
        if term > ctx.durable_ref().current_term {
            Self::p(ctx).current_term = term;
            self.set_vote(ctx, None);
            self.leader_id = None;
            self.waiting.clear();
            ctx.cancel_timer(N::raft_timer(Timer::Heartbeat));
            if self.role != Role::Follower {
                self.set_role(ctx, Role::Follower);
                self.reset_election_timer(ctx);
            }
        }
    }

    pub fn on_timer<N: RaftHost<M>>(&mut self, ctx: Ctx<'_, '_, N>, t: Timer) {
        match t {
            Timer::Election => {
                if self.role != Role::Leader {
                    self.start_election(ctx);
                }
            }
            Timer::Heartbeat => {
                if self.role == Role::Leader {
                    for peer in ctx.peers() {
                        self.progress[peer.idx()].heartbeat();
                        self.send_append(ctx, peer.0);
                    }
                    ctx.set_timer(N::raft_timer(Timer::Heartbeat), self.spec.heartbeat);
                }
            }
            Timer::VoteRetry => {
                if self.role == Role::Candidate {
                    let term = ctx.durable_ref().current_term;
                    let last_log_index = Self::last_index(ctx);
                    let last_log_term = Self::term_at(ctx, last_log_index);
                    for peer in ctx.peers() {
                        if !self.votes.contains(&peer.0) {
                            Self::send(
                                ctx,
                                peer,
                                Msg::RequestVote {
                                    term,
                                    candidate: self.id,
                                    last_log_index,
                                    last_log_term,
                                },
                            );
                        }
                    }
                    ctx.set_timer(N::raft_timer(Timer::VoteRetry), self.spec.heartbeat);
                }
            }
            Timer::Client(_) => {}
        }
    }

    /// Candidates: increment currentTerm, vote for self, reset election timer, send RequestVote.
    fn start_election<N: RaftHost<M>>(&mut self, ctx: Ctx<'_, '_, N>) {
        let term = ctx.durable_ref().current_term + 1;
        Self::p(ctx).current_term = term;
        let me = self.id;
        self.set_vote(ctx, Some(me));
        self.leader_id = None;
        self.votes = BTreeSet::from([me]);
        self.role = Role::Follower; // so that set_role reports the change with the new term
        self.set_role(ctx, Role::Candidate);
        self.reset_election_timer(ctx);
        let (last_log_index, last_log_term) = (
            Self::last_index(ctx),
            Self::term_at(ctx, Self::last_index(ctx)),
        );
        Self::broadcast(
            ctx,
            Msg::RequestVote {
                term,
                candidate: me,
                last_log_index,
                last_log_term,
            },
        );
        ctx.set_timer(N::raft_timer(Timer::VoteRetry), self.spec.heartbeat);
        if self.votes.len() >= Self::majority(ctx) {
            self.become_leader(ctx);
        }
    }

    fn become_leader<N: RaftHost<M>>(&mut self, ctx: Ctx<'_, '_, N>) {
        let n = ctx.servers() as usize;
        self.set_role(ctx, Role::Leader);
        self.leader_id = Some(self.id);
        let term = ctx.durable_ref().current_term;
        // A no-op entry of the new term: committing it commits everything before it.
        Self::p(ctx).push(Entry::new(term, Command::Noop));
        let last = Self::last_index(ctx);
        // Every follower is probed from the no-op: the new leader knows none of their logs.
        self.progress = vec![Progress::new(last); n];
        let me = &mut self.progress[self.id as usize];
        me.match_index = last;
        me.next_index = last + 1;
        self.uncommitted.clear();
        let log = &ctx.durable_ref().log;
        for (i, e) in log.iter().enumerate().skip(self.commit_index as usize) {
            if let Command::Client { client, seq, .. } = e.command {
                self.uncommitted.insert(client, seq, i as u64 + 1);
            }
        }
        Self::observe(ctx, Obs::Leader { term, len: last });
        ctx.cancel_timer(N::raft_timer(Timer::Election));
        for peer in ctx.peers() {
            self.send_append(ctx, peer.0);
        }
        ctx.set_timer(N::raft_timer(Timer::Heartbeat), self.spec.heartbeat);
        self.advance_commit(ctx);
    }

    /// Sends `peer` an AppendEntries from its nextIndex: with entries when its [`Progress`]
    /// allows (then the entries not yet sent, at most `max_batch`), else empty, a heartbeat
    /// that checks the follower's log up to the entry before nextIndex and carries the commit
    /// index.
    fn send_append<N: RaftHost<M>>(&mut self, ctx: Ctx<'_, '_, N>, peer: u32) {
        let last = Self::last_index(ctx);
        let pr = &self.progress[peer as usize];
        assert!(
            pr.match_index < pr.next_index && pr.next_index <= last + 1,
            "n{}: n{peer} has matchIndex {} and nextIndex {} with a log of {last}",
            self.id,
            pr.match_index,
            pr.next_index
        );
        let prev_log_index = pr.next_index - 1;
        let end = if pr.may_send(self.spec.max_inflight) {
            last.min(prev_log_index + self.spec.max_batch as u64)
        } else {
            prev_log_index
        };
        let prev_log_term = Self::term_at(ctx, prev_log_index);
        let entries = ctx.durable_ref().log[prev_log_index as usize..end as usize].to_vec();
        self.progress[peer as usize].sent(end, entries.len());
        let term = ctx.durable_ref().current_term;
        Self::send(
            ctx,
            NodeId(peer),
            Msg::AppendEntries {
                term,
                leader: self.id,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit: self.commit_index,
            },
        );
    }

    /// Sends `peer` the entries it may be sent now, if any: a probe, or as many pipelined
    /// AppendEntries as its window allows.
    fn send_entries<N: RaftHost<M>>(&mut self, ctx: Ctx<'_, '_, N>, peer: u32) {
        loop {
            let pr = &self.progress[peer as usize];
            let last = Self::last_index(ctx);
            if !pr.may_send(self.spec.max_inflight) || (!pr.is_probe() && pr.next_index > last) {
                return;
            }
            let probe = pr.is_probe();
            self.send_append(ctx, peer);
            if probe {
                return;
            }
        }
    }

    pub fn on_message<N: RaftHost<M>>(
        &mut self,
        ctx: Ctx<'_, '_, N>,
        from: NodeId,
        msg: Msg<M::Op, M::Result>,
    ) {
        match msg {
            Msg::RequestVote {
                term,
                candidate,
                last_log_index,
                last_log_term,
            } => {
                self.observe_term(ctx, term);
                let current = ctx.durable_ref().current_term;
                let my_last = Self::last_index(ctx);
                let my_last_term = Self::term_at(ctx, my_last);
                // Election restriction (5.4.1): the candidate's log is at least as up-to-date.
                let up_to_date = last_log_term > my_last_term
                    || (last_log_term == my_last_term && last_log_index >= my_last);
                let free = self.voted_for(ctx).is_none_or(|v| v == candidate);
                let grant = term == current && free && up_to_date;
                if grant {
                    self.set_vote(ctx, Some(candidate));
                    self.reset_election_timer(ctx);
                }
                Self::send(
                    ctx,
                    from,
                    Msg::RequestVoteReply {
                        term: current,
                        vote_granted: grant,
                    },
                );
            }
            Msg::RequestVoteReply { term, vote_granted } => {
                self.observe_term(ctx, term);
                if self.role == Role::Candidate
                    && term == ctx.durable_ref().current_term
                    && vote_granted
                {
                    self.votes.insert(from.0);
                    if self.votes.len() >= Self::majority(ctx) {
                        self.become_leader(ctx);
                    }
                }
            }
            Msg::AppendEntries {
                term,
                leader,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => self.on_append(
                ctx,
                from,
                term,
                leader,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            ),
            Msg::AppendEntriesReply {
                term,
                success,
                match_index,
                rejected,
                conflict_index,
            } => {
                self.observe_term(ctx, term);
                if self.role != Role::Leader || term != ctx.durable_ref().current_term {
                    return;
                }
                let p = from.0 as usize;
                if success {
                    self.progress[p].accepted(match_index);
                    self.advance_commit(ctx);
                    self.send_entries(ctx, from.0);
                } else if self.progress[p].rejected(rejected, conflict_index) {
                    // Probed again from lower, never below what the follower acknowledged.
                    self.send_entries(ctx, from.0);
                }
                let pr = &self.progress[p];
                assert!(
                    pr.match_index < pr.next_index && pr.next_index <= Self::last_index(ctx) + 1,
                    "n{}: n{p} has matchIndex {} and nextIndex {} with a log of {}",
                    self.id,
                    pr.match_index,
                    pr.next_index,
                    Self::last_index(ctx)
                );
            }
            Msg::Request(r) => self.on_request(ctx, from, r),
            Msg::Reply(_) => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_append<N: RaftHost<M>>(
        &mut self,
        ctx: Ctx<'_, '_, N>,
        from: NodeId,
        term: u64,
        leader: u32,
        prev_log_index: u64,
        prev_log_term: u64,
        entries: Vec<Entry<M::Op>>,
        leader_commit: u64,
    ) {
        self.observe_term(ctx, term);
        let current = ctx.durable_ref().current_term;
        // 1. Reply false if term < currentTerm.
        if term < current {
            Self::send(
                ctx,
                from,
                Msg::AppendEntriesReply {
                    term: current,
                    success: false,
                    match_index: 0,
                    rejected: prev_log_index,
                    conflict_index: 0,
                },
            );
            return;
        }
        if self.role != Role::Follower {
            self.set_role(ctx, Role::Follower);
        }
        self.leader_id = Some(leader);
        self.reset_election_timer(ctx);
        let last = Self::last_index(ctx);
        let sent = entries.len() as u64;
        // BUG (no_log_check): the follower skips step 2, the consistency check, and goes on
        // to steps 3-5 as if its log matched the leader's up to prev_log_index. Entries land
        // after a prefix that differs from the leader's (or, past the end of a short log, at
        // indexes where they do not belong): logs diverge, and servers apply different
        // commands at the same index.
        if !self.bug(RaftBug::NoLogCheck) {
            // 2. Reply false if the log has no entry at prevLogIndex whose term matches.
            if prev_log_index > last || Self::term_at(ctx, prev_log_index) != prev_log_term {
                let conflict_index = if prev_log_index > last {
                    last + 1
                } else {
                    // Skip back over the whole conflicting term (the paper's optimisation).
                    let t = Self::term_at(ctx, prev_log_index);
                    let mut i = prev_log_index;
                    while i > 1 && Self::term_at(ctx, i - 1) == t {
                        i -= 1;
                    }
                    i
                };
                Self::send(
                    ctx,
                    from,
                    Msg::AppendEntriesReply {
                        term: current,
                        success: false,
                        match_index: 0,
                        rejected: prev_log_index,
                        conflict_index,
                    },
                );
                return;
            }
        }
        // 3./4. Delete a conflicting entry and all that follow; append new entries.
        // Leader Append-Only: only a follower's log is ever rewritten.
        assert_eq!(
            self.role,
            Role::Follower,
            "n{}: a leader's log was rewritten",
            self.id
        );
        let p = Self::p(ctx);
        for (k, e) in entries.into_iter().enumerate() {
            let idx = prev_log_index as usize + k; // 0-based position
            match p.log.get(idx) {
                Some(existing) if existing.term == e.term => {}
                Some(_) => {
                    p.truncate(idx);
                    p.push(e);
                }
                None => p.push(e),
            }
        }
        // The last entry this request vouched for ("index of last new entry"). Only with the
        // bug can it pass the end of the log (entries pushed after a short log).
        let match_index = (prev_log_index + sent).min(Self::last_index(ctx));
        // 5. If leaderCommit > commitIndex, commitIndex = min(leaderCommit, last new entry).
        if leader_commit > self.commit_index {
            let new_commit = leader_commit.min(match_index);
            if new_commit > self.commit_index {
                self.commit_index = new_commit;
                self.apply(ctx);
            }
        }
        Self::send(
            ctx,
            from,
            Msg::AppendEntriesReply {
                term: current,
                success: true,
                match_index,
                rejected: 0,
                conflict_index: 0,
            },
        );
    }

    /// Leaders: if there exists an N > commitIndex such that a majority of matchIndex[i] >= N
    /// and log[N].term == currentTerm: set commitIndex = N.
    fn advance_commit<N: RaftHost<M>>(&mut self, ctx: Ctx<'_, '_, N>) {
        let current = ctx.durable_ref().current_term;
        let last = Self::last_index(ctx);
        // The largest N on a majority is the majority-th largest matchIndex: only indexes up
        // to it can qualify, so the search starts there rather than at the end of the log
        // (which lies ahead of the replicas by every request in flight).
        let majority = Self::majority(ctx);
        let matched = self.progress.iter().map(|p| p.match_index);
        let on_majority = matched
            .clone()
            .filter(|&m| matched.clone().filter(|&x| x >= m).count() >= majority)
            .max()
            .unwrap_or(0);
        let mut n = last.min(on_majority);
        while n > self.commit_index {
            // BUG (commit_previous_term): the Figure 8 mistake. Counting replicas is enough to
            // commit an entry only if it is from the leader's current term; an entry of an
            // earlier term that is on a majority can still be overwritten by a later leader.
            let own_term =
                Self::term_at(ctx, n) == current || self.bug(RaftBug::CommitPreviousTerm);
            if own_term {
                self.commit(ctx, n);
                break;
            }
            n -= 1;
        }
    }

    /// A leader's commit index moves to `n` (entries past it stay indexed for retries).
    fn commit<N: RaftHost<M>>(&mut self, ctx: Ctx<'_, '_, N>, n: u64) {
        let log = &ctx.durable_ref().log;
        for i in self.commit_index..n.min(log.len() as u64) {
            if let Command::Client { client, seq, .. } = log[i as usize].command {
                self.uncommitted.remove(client, seq, i + 1);
            }
        }
        self.commit_index = n;
        self.apply(ctx);
    }

    /// Applies committed entries in order; the leader answers the clients waiting on them.
    fn apply<N: RaftHost<M>>(&mut self, ctx: Ctx<'_, '_, N>) {
        // Only a bug variant can truncate committed entries away (no_log_check does).
        assert!(
            self.spec.bug.is_some() || self.commit_index <= Self::last_index(ctx),
            "n{}: commit index {} passed the log ({} entries)",
            self.id,
            self.commit_index,
            Self::last_index(ctx)
        );
        while self.last_applied < self.commit_index {
            let index = self.last_applied + 1;
            let at = index as usize - 1;
            let d = ctx.durable_ref();
            // The entry is read where it lies, not copied: a copy of its shared command
            // was a count to raise and lower per entry on every server.
            let Some(entry) = d.log.get(at) else {
                break;
            };
            self.last_applied = index;
            let (server_term, command) = (d.current_term, d.hashes[at].0);
            let (term, request) = match entry.command {
                Command::Client { client, seq, .. } => (entry.term, Some((client, seq))),
                _ => (entry.term, None),
            };
            Self::observe(
                ctx,
                Obs::Applied {
                    index,
                    term,
                    command,
                    server_term,
                    op: request,
                },
            );
            let op = match &ctx.durable_ref().log[at].command {
                Command::Noop => continue,
                Command::Client { op, .. } | Command::Service { op } => op,
            };
            // A retried request already applied is not applied again.
            self.sm.apply(index, request, op);
            if let Some((node, wclient, wseq, attempt)) = self.waiting.remove(index)
                && Some((wclient, wseq)) == request
                && let Some(result) = self.sm.answered(wclient, wseq)
            {
                let reply = KvReply::Done {
                    seq: wseq,
                    attempt,
                    result,
                };
                Self::send(ctx, NodeId(node), Msg::Reply(reply));
            }
        }
    }
}
