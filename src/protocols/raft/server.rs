//! A Raft server, following Figure 2 of the paper ("Rules for Servers"), serving a key-value
//! state machine with per-client deduplication. Persistent state (`current_term`, `voted_for`,
//! `log`) lives in durable storage and is written before any reply that depends on it.
//!
//! Invariants asserted here: a leader never overwrites or deletes its own entries (Leader
//! Append-Only: only a follower's log is rewritten); `commit_index` never passes the log. By
//! construction `commit_index` only grows and entries are applied in index order, each once;
//! the outside-in checks in `checks.rs` judge the rest from what the servers report.

use std::collections::{BTreeMap, BTreeSet};

use super::messages::{Command, Entry, Msg};
use super::{Obs, RaftBug, RaftNode, RaftSpec, Timer};
use crate::sim::{Context, NodeId, stable_hash};
use crate::workload::kv::{KvOp, KvReply, KvRequest, KvResult, Sessions};

/// What survives a crash.
#[derive(Clone, Debug, Default)]
pub struct Persistent {
    pub current_term: u64,
    pub voted_for: Option<u32>,
    /// The log; index i (1-based, as in the paper) is `log[i - 1]`.
    pub log: Vec<Entry>,
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

/// Volatile state of a server.
#[derive(Clone, Debug)]
pub struct Server {
    pub id: u32,
    spec: RaftSpec,
    pub role: Role,
    /// With the `forget_vote` bug, the vote lives here instead of in durable storage.
    volatile_vote: Option<u32>,
    pub commit_index: u64,
    pub last_applied: u64,
    leader_id: Option<u32>,
    votes: BTreeSet<u32>,
    next_index: Vec<u64>,
    match_index: Vec<u64>,
    /// The state machine and, per client, the last applied request and its result.
    pub kv: BTreeMap<String, String>,
    sessions: Sessions,
    /// Log index -> (client node, client, seq, attempt) of the request waiting for it, its
    /// latest attempt (leader only).
    waiting: BTreeMap<u64, (u32, u32, u64, u32)>,
}

type Ctx<'a, 'b> = &'a mut Context<'b, RaftNode>;

impl Server {
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
            next_index: Vec::new(),
            match_index: Vec::new(),
            kv: BTreeMap::new(),
            sessions: Sessions::default(),
            waiting: BTreeMap::new(),
        }
    }

    /// Changes whenever [`view`](Self::view) would.
    pub fn view_stamp(&self, p: &Persistent) -> u64 {
        let vote = self
            .volatile_vote
            .or(p.voted_for)
            .map_or(u64::MAX, u64::from);
        let last_term = p.log.last().map_or(0, |e| e.term);
        stable_hash(&(
            self.role.name(),
            p.current_term,
            vote,
            self.commit_index,
            self.last_applied,
            p.log.len(),
            last_term,
        ))
    }

    /// What the step-through view shows: role, term, vote, commit index, the end of the log
    /// and the state machine.
    pub fn view(&self, p: &Persistent) -> crate::sim::NodeView {
        let vote = if self.bug(RaftBug::ForgetVote) {
            self.volatile_vote
        } else {
            p.voted_for
        };
        crate::sim::NodeView::new(self.role.name(), Some(p.current_term))
            .field("commit", self.commit_index.to_string())
            .field("voted for", vote.map_or("-".into(), |v| format!("n{v}")))
            .field("kv", crate::workload::kv::KvOp::map_view(&self.kv))
            .log_tail(p.log.len() as u64, |i| {
                let e = &p.log[i as usize - 1];
                (e.term, e.command.short())
            })
    }

    fn bug(&self, b: RaftBug) -> bool {
        self.spec.bug == Some(b)
    }

    fn p<'c>(ctx: &'c mut Context<'_, RaftNode>) -> &'c mut Persistent {
        ctx.durable()
    }

    fn last_index(ctx: &Context<'_, RaftNode>) -> u64 {
        ctx.durable_ref().log.len() as u64
    }

    fn term_at(ctx: &Context<'_, RaftNode>, index: u64) -> u64 {
        if index == 0 {
            0
        } else {
            ctx.durable_ref()
                .log
                .get(index as usize - 1)
                .map_or(0, |e| e.term)
        }
    }

    fn voted_for(&self, ctx: &Context<'_, RaftNode>) -> Option<u32> {
        if self.bug(RaftBug::ForgetVote) {
            self.volatile_vote
        } else {
            ctx.durable_ref().voted_for
        }
    }

    fn set_vote(&mut self, ctx: Ctx, v: Option<u32>) {
        if self.bug(RaftBug::ForgetVote) {
            // BUG (forget_vote): the vote is kept only in memory. After a crash and restart in
            // the same term, the server has forgotten it voted and can vote again for another
            // candidate: two leaders can be elected in one term.
            self.volatile_vote = v;
        } else {
            Self::p(ctx).voted_for = v;
        }
    }

    fn majority(ctx: &Context<'_, RaftNode>) -> usize {
        ctx.servers() as usize / 2 + 1
    }

    fn reset_election_timer(&self, ctx: Ctx) {
        let (lo, hi) = self.spec.election_timeout;
        let d = ctx.random_range(lo, hi);
        ctx.set_timer(Timer::Election, d);
    }

    fn set_role(&mut self, ctx: Ctx, role: Role) {
        if self.role != role {
            if self.role == Role::Leader {
                // A deposed leader answers no one: whoever commits the entries answers retries.
                self.waiting.clear();
                ctx.cancel_timer(Timer::Heartbeat);
            }
            self.role = role;
            let term = ctx.durable_ref().current_term;
            ctx.observe(Obs::Role {
                role: role.name(),
                term,
            });
        }
    }

    pub fn on_start(&mut self, ctx: Ctx) {
        let term = ctx.durable_ref().current_term;
        ctx.observe(Obs::Role {
            role: "follower",
            term,
        });
        self.reset_election_timer(ctx);
    }

    /// All servers: if RPC request or response contains term T > currentTerm: set
    /// currentTerm = T, convert to follower.
    fn observe_term(&mut self, ctx: Ctx, term: u64) {
        if term > ctx.durable_ref().current_term {
            Self::p(ctx).current_term = term;
            self.set_vote(ctx, None);
            self.leader_id = None;
            self.waiting.clear();
            ctx.cancel_timer(Timer::Heartbeat);
            if self.role != Role::Follower {
                self.set_role(ctx, Role::Follower);
                self.reset_election_timer(ctx);
            }
        }
    }

    pub fn on_timer(&mut self, ctx: Ctx, t: Timer) {
        match t {
            Timer::Election => {
                if self.role != Role::Leader {
                    self.start_election(ctx);
                }
            }
            Timer::Heartbeat => {
                if self.role == Role::Leader {
                    for peer in ctx.peers().collect::<Vec<_>>() {
                        self.send_append(ctx, peer.0);
                    }
                    ctx.set_timer(Timer::Heartbeat, self.spec.heartbeat);
                }
            }
            Timer::VoteRetry => {
                if self.role == Role::Candidate {
                    let term = ctx.durable_ref().current_term;
                    let last_log_index = Self::last_index(ctx);
                    let last_log_term = Self::term_at(ctx, last_log_index);
                    for peer in ctx.peers().collect::<Vec<_>>() {
                        if !self.votes.contains(&peer.0) {
                            ctx.send(
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
                    ctx.set_timer(Timer::VoteRetry, self.spec.heartbeat);
                }
            }
            Timer::Client(_) => {}
        }
    }

    /// Candidates: increment currentTerm, vote for self, reset election timer, send RequestVote.
    fn start_election(&mut self, ctx: Ctx) {
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
        ctx.broadcast(Msg::RequestVote {
            term,
            candidate: me,
            last_log_index,
            last_log_term,
        });
        ctx.set_timer(Timer::VoteRetry, self.spec.heartbeat);
        if self.votes.len() >= Self::majority(ctx) {
            self.become_leader(ctx);
        }
    }

    fn become_leader(&mut self, ctx: Ctx) {
        let n = ctx.servers() as usize;
        self.set_role(ctx, Role::Leader);
        self.leader_id = Some(self.id);
        let term = ctx.durable_ref().current_term;
        // A no-op entry of the new term: committing it commits everything before it.
        Self::p(ctx).log.push(Entry {
            term,
            command: Command::Noop,
        });
        let last = Self::last_index(ctx);
        self.next_index = vec![last; n];
        self.match_index = vec![0; n];
        self.match_index[self.id as usize] = last;
        let log: Vec<(u64, u64)> = ctx
            .durable_ref()
            .log
            .iter()
            .map(|e| (e.term, stable_hash(&e.command)))
            .collect();
        ctx.observe(Obs::Leader { term, log });
        ctx.cancel_timer(Timer::Election);
        for peer in ctx.peers().collect::<Vec<_>>() {
            self.send_append(ctx, peer.0);
        }
        ctx.set_timer(Timer::Heartbeat, self.spec.heartbeat);
        self.advance_commit(ctx);
    }

    fn send_append(&mut self, ctx: Ctx, peer: u32) {
        let next = self.next_index[peer as usize].max(1);
        let prev_log_index = next - 1;
        let prev_log_term = Self::term_at(ctx, prev_log_index);
        let last = Self::last_index(ctx);
        let end = last.min(prev_log_index + self.spec.max_batch as u64);
        let entries = ctx.durable_ref().log[prev_log_index as usize..end as usize].to_vec();
        let term = ctx.durable_ref().current_term;
        ctx.send(
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

    pub fn on_message(&mut self, ctx: Ctx, from: NodeId, msg: Msg) {
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
                ctx.send(
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
                conflict_index,
            } => {
                self.observe_term(ctx, term);
                if self.role != Role::Leader || term != ctx.durable_ref().current_term {
                    return;
                }
                let p = from.0 as usize;
                if success {
                    self.match_index[p] = self.match_index[p].max(match_index);
                    self.next_index[p] = self.match_index[p] + 1;
                    self.advance_commit(ctx);
                    if self.next_index[p] <= Self::last_index(ctx) {
                        self.send_append(ctx, from.0);
                    }
                } else {
                    // Back off, but never below what the follower already acknowledged: a
                    // delayed or duplicated failure may arrive after a later success.
                    self.next_index[p] = conflict_index
                        .max(1)
                        .min(self.next_index[p].saturating_sub(1).max(1))
                        .max(self.match_index[p] + 1);
                    self.send_append(ctx, from.0);
                }
            }
            Msg::Request(r) => self.on_request(ctx, from, r),
            Msg::Reply(_) => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_append(
        &mut self,
        ctx: Ctx,
        from: NodeId,
        term: u64,
        leader: u32,
        prev_log_index: u64,
        prev_log_term: u64,
        entries: Vec<Entry>,
        leader_commit: u64,
    ) {
        self.observe_term(ctx, term);
        let current = ctx.durable_ref().current_term;
        // 1. Reply false if term < currentTerm.
        if term < current {
            ctx.send(
                from,
                Msg::AppendEntriesReply {
                    term: current,
                    success: false,
                    match_index: 0,
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
                ctx.send(
                    from,
                    Msg::AppendEntriesReply {
                        term: current,
                        success: false,
                        match_index: 0,
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
        let log = &mut Self::p(ctx).log;
        for (k, e) in entries.into_iter().enumerate() {
            let idx = prev_log_index as usize + k; // 0-based position
            match log.get(idx) {
                Some(existing) if existing.term == e.term => {}
                Some(_) => {
                    log.truncate(idx);
                    log.push(e);
                }
                None => log.push(e),
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
        ctx.send(
            from,
            Msg::AppendEntriesReply {
                term: current,
                success: true,
                match_index,
                conflict_index: 0,
            },
        );
    }

    /// Leaders: if there exists an N > commitIndex such that a majority of matchIndex[i] >= N
    /// and log[N].term == currentTerm: set commitIndex = N.
    fn advance_commit(&mut self, ctx: Ctx) {
        let current = ctx.durable_ref().current_term;
        let last = Self::last_index(ctx);
        let mut n = last;
        while n > self.commit_index {
            // BUG (commit_previous_term): the Figure 8 mistake. Counting replicas is enough to
            // commit an entry only if it is from the leader's current term; an entry of an
            // earlier term that is on a majority can still be overwritten by a later leader.
            let own_term =
                Self::term_at(ctx, n) == current || self.bug(RaftBug::CommitPreviousTerm);
            let replicas = self.match_index.iter().filter(|&&m| m >= n).count();
            if own_term && replicas >= Self::majority(ctx) {
                self.commit_index = n;
                self.apply(ctx);
                break;
            }
            n -= 1;
        }
    }

    /// Applies committed entries in order; the leader answers the clients waiting on them.
    fn apply(&mut self, ctx: Ctx) {
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
            let Some(entry) = ctx.durable_ref().log.get(index as usize - 1).cloned() else {
                break;
            };
            self.last_applied = index;
            let server_term = ctx.durable_ref().current_term;
            ctx.observe(Obs::Applied {
                index,
                term: entry.term,
                command: stable_hash(&entry.command),
                server_term,
            });
            let Command::Client { client, seq, op } = entry.command else {
                continue;
            };
            // A retried request already applied is not applied again.
            let result = self.sessions.apply(client, seq, &op, &mut self.kv);
            if let Some((node, wclient, wseq, attempt)) = self.waiting.remove(&index)
                && (wclient, wseq) == (client, seq)
                && let Some(result) = result
            {
                let reply = KvReply::Done {
                    seq,
                    attempt,
                    result,
                };
                ctx.send(NodeId(node), Msg::Reply(reply));
            }
        }
    }

    fn on_request(&mut self, ctx: Ctx, from: NodeId, r: KvRequest) {
        if self.role != Role::Leader {
            ctx.send(from, Msg::Reply(KvReply::not_leader(&r, self.leader_id)));
            return;
        }
        if let Some(result) = self.sessions.answered(r.client, r.seq) {
            ctx.send(from, Msg::Reply(KvReply::done(&r, result)));
            return;
        }
        if let (KvOp::Get { key }, true) = (&r.op, self.bug(RaftBug::StaleLeaderRead)) {
            // BUG (stale_leader_read): the leader answers a read from its own state machine
            // without checking that it is still the leader. A leader cut off from the majority
            // keeps answering after a new leader has accepted newer writes: stale reads.
            let value = self.kv.get(key).cloned().unwrap_or_default();
            ctx.send(from, Msg::Reply(KvReply::done(&r, KvResult::Value(value))));
            return;
        }
        // Already in the log (a retry of an uncommitted request)? Wait for that entry.
        let existing = ctx
            .durable_ref()
            .log
            .iter()
            .enumerate()
            .skip(self.commit_index as usize)
            .find_map(|(i, e)| match &e.command {
                Command::Client { client, seq, .. } if *client == r.client && *seq == r.seq => {
                    Some(i as u64 + 1)
                }
                _ => None,
            });
        let index = match existing {
            Some(i) => i,
            None => {
                let term = ctx.durable_ref().current_term;
                Self::p(ctx).log.push(Entry {
                    term,
                    command: Command::Client {
                        client: r.client,
                        seq: r.seq,
                        op: r.op,
                    },
                });
                let last = Self::last_index(ctx);
                self.match_index[self.id as usize] = last;
                for peer in ctx.peers().collect::<Vec<_>>() {
                    if self.next_index[peer.idx()] == last {
                        self.send_append(ctx, peer.0);
                    }
                }
                if ctx.servers() == 1 {
                    self.advance_commit(ctx);
                }
                last
            }
        };
        self.waiting
            .insert(index, (from.0, r.client, r.seq, r.attempt));
    }
}
