//! A Multi-Paxos replica: acceptor, learner and (when it wins phase 1) the distinguished
//! proposer, serving a key-value state machine with per-client deduplication.
//!
//! - Phase 1 once for all slots: a replica that hears no leader for an election timeout
//!   prepares a ballot above any it has seen for every slot past its chosen prefix. Each
//!   promise reports every proposal the acceptor accepted there.
//! - Recovery: the new leader re-proposes, in each slot, the value of the highest-ballot
//!   proposal reported, and a no-op in every hole, before any new command (new commands go
//!   after the highest slot reported).
//! - Phase 2 per command: accept at the leader's ballot; a majority of accepts chooses it.
//!   Replicas learn chosen slots from the leader's chosen prefix (a slot they accepted at the
//!   leader's ballot holds the chosen command), or by asking for them (catch-up).
//! - Replicas apply chosen slots in order; the leader answers the client waiting on a slot.
//! - Failure detection: the leader heartbeats; a rejection (a higher promise) deposes it.
//!
//! - Leases (optional, `lease.rs`): the leader renews with its heartbeat; while a majority's
//!   grant holds it answers gets from its own state, and acceptors promise no one else.
//!
//! Durable: `promised`, `accepted` (written before the reply leaves), the chosen commands and
//! the lease grant.
//! Invariants asserted: no slot is chosen with two commands at one replica; an acceptor never
//! accepts or promises below what it promised; slots are applied in order, each once.

use std::collections::{BTreeMap, VecDeque};

use super::lease::{LeaderLease, forbids_promise};
use super::messages::{Ballot, Cmd, LogCommand, MultiMsg as Msg};
use super::multi::{Obs, Timer};
use super::slots::{Inflight, Log, NodeSet, SlotQueue};
use super::{MultiPaxosBug, MultiPaxosSpec, quorum};
use crate::sim::{Context, NodeId};
use crate::workload::kv::{KvOp, KvReply, KvRequest, Sessions};

/// What survives a crash.
#[derive(Clone, Debug, Default)]
pub struct Durable {
    pub promised: Ballot,
    /// Per slot, the highest-ballot proposal this acceptor accepted, and the slots this
    /// replica knows are chosen.
    pub log: Log,
    /// With leases: the leader ballot this acceptor granted a lease to, and until when (its
    /// own clock) it promises no other proposer.
    pub lease_grant: Option<(Ballot, u64)>,
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

/// A replica's volatile state.
#[derive(Clone, Debug)]
pub struct Replica {
    id: u32,
    spec: MultiPaxosSpec,
    role: Role,
    /// This replica's ballot while it is a candidate or the leader.
    ballot: Ballot,
    /// The highest ballot heard of.
    seen: Ballot,
    leader: Option<u32>,
    /// Phase 1: who promised, and per slot the highest-ballot proposal they reported.
    promises: NodeSet,
    recovered: BTreeMap<u64, (Ballot, Cmd)>,
    /// Leader: the next free slot, and the proposals not yet chosen with who accepted them.
    next_slot: u64,
    inflight: Inflight<Cmd>,
    /// Slots `1..=applied` are applied (and so chosen).
    applied: u64,
    kv: BTreeMap<String, String>,
    /// Per client, the last applied request and its result.
    sessions: Sessions,
    /// Slot -> (client node, client, seq, attempt) waiting for it (leader only).
    waiting: SlotQueue<(u32, u32, u64, u32)>,
    /// Messages to itself, handled without the network.
    local: VecDeque<Msg>,
    /// Leader with leases: the renewals and the lease they bought.
    lease: LeaderLease,
    /// Leader: the highest slot phase 1 recovered; it reads under its lease only once it
    /// applied them all.
    recovered_top: u64,
}

pub type Ctx<'a, 'b> = &'a mut Context<'b, super::multi::MultiNode>;

impl Replica {
    pub fn new(id: u32, spec: &MultiPaxosSpec) -> Self {
        Replica {
            id,
            spec: spec.clone(),
            role: Role::Follower,
            ballot: Ballot::ZERO,
            seen: Ballot::ZERO,
            leader: None,
            promises: NodeSet::default(),
            recovered: BTreeMap::new(),
            next_slot: 1,
            inflight: Inflight::default(),
            applied: 0,
            kv: BTreeMap::new(),
            sessions: Sessions::default(),
            waiting: SlotQueue::default(),
            local: VecDeque::new(),
            lease: LeaderLease::default(),
            recovered_top: 0,
        }
    }

    /// Changes whenever [`view`](Self::view) would: everything it shows but the store, which
    /// changes only as slots are applied (`applied`), and, for each slot of the log's end,
    /// the ballot round that carried it and the digest of the command chosen there.
    pub fn view_stamp(&self, d: &Durable) -> u64 {
        let last = d.log.last_chosen().unwrap_or(0);
        let first = last.saturating_sub(crate::sim::view::LOG_TAIL as u64) + 1;
        let mut tail = [(0u64, 0u64); crate::sim::view::LOG_TAIL];
        for (cell, slot) in tail.iter_mut().zip(first..=last) {
            *cell = (
                d.log.accepted(slot).map_or(0, |(b, _)| b.round),
                d.log.chosen(slot).map_or(u64::MAX, |c| c.hash),
            );
        }
        crate::sim::stable_hash(&(
            self.role.name(),
            self.seen.round,
            self.ballot,
            d.promised,
            self.leader,
            self.applied,
            last,
            tail,
        ))
    }

    /// What the step-through view shows: role, ballot, leader, applied prefix, the end of the
    /// chosen log (each slot with the ballot round that carried it where known) and the store.
    pub fn view(&self, d: &Durable) -> crate::sim::NodeView {
        let last = d.log.last_chosen().unwrap_or(0);
        crate::sim::NodeView::new(self.role.name(), Some(self.seen.round))
            .field("ballot", self.ballot.to_string())
            .field("promised", d.promised.to_string())
            .field(
                "leader",
                self.leader.map_or("-".into(), |l| format!("n{l}")),
            )
            .field("applied", self.applied.to_string())
            .field("kv", crate::workload::kv::KvOp::map_view(&self.kv))
            .log_tail(last, |slot| {
                let round = d.log.accepted(slot).map_or(0, |(b, _)| b.round);
                let text = d
                    .log
                    .chosen(slot)
                    .map_or("(hole)".to_string(), |c| c.command().short());
                (round, text)
            })
    }

    fn bug(&self, b: MultiPaxosBug) -> bool {
        self.spec.bug == Some(b)
    }

    fn quorum(ctx: &Context<'_, super::multi::MultiNode>) -> usize {
        quorum(ctx.servers(), false)
    }

    fn send(&mut self, ctx: Ctx, to: u32, m: Msg) {
        if to == self.id {
            self.local.push_back(m);
        } else {
            ctx.send(NodeId(to), m);
        }
    }

    fn send_all(&mut self, ctx: Ctx, m: Msg) {
        ctx.broadcast(m.clone());
        self.local.push_back(m);
    }

    /// Handles the messages this replica sent itself, in order.
    pub fn drain_local(&mut self, ctx: Ctx) {
        while let Some(m) = self.local.pop_front() {
            self.on_message(ctx, NodeId(self.id), m);
        }
    }

    #[cold]
    fn set_role(&mut self, ctx: Ctx, role: Role) {
        if role != Role::Leader {
            // A deposed leader answers no one: whoever chooses the slots answers retries.
            self.inflight.clear();
            self.waiting.clear();
        }
        self.lease.clear();
        self.role = role;
        let term = match role {
            Role::Follower => ctx.durable_ref().promised.round,
            _ => self.ballot.round,
        };
        ctx.observe(Obs::Role {
            role: role.name(),
            term,
        });
    }

    fn reset_election_timer(&self, ctx: Ctx) {
        let (lo, hi) = self.spec.election_timeout;
        let d = ctx.random_range(lo, hi);
        ctx.set_timer(Timer::Election, d);
    }

    pub fn on_start(&mut self, ctx: Ctx) {
        if self.bug(MultiPaxosBug::AcceptorForgets) {
            // BUG (acceptor_forgets): promised and accepted are kept in memory only, so a
            // restart starts the acceptor blank (the chosen slots it knew survive: the log is
            // on disk). A slot a majority accepted, and so chose, can be reported by nobody
            // in the next leader's phase 1 once enough of that majority restarted: the new
            // leader fills it with a no-op or a new command, and replicas that applied the
            // first command disagree with those that apply the second.
            let d = ctx.durable();
            d.promised = Ballot::ZERO;
            d.log.forget_accepted();
        }
        self.set_role(ctx, Role::Follower);
        self.apply(ctx); // replay the chosen prefix from durable storage
        self.reset_election_timer(ctx);
    }

    pub fn on_timer(&mut self, ctx: Ctx, t: Timer) {
        match t {
            Timer::Election if self.role != Role::Leader => self.start_phase1(ctx),
            Timer::Heartbeat => self.on_heartbeat_timer(ctx),
            _ => {}
        }
    }

    /// Phase 1a for every slot past the chosen prefix, at a ballot above any seen.
    #[cold]
    fn start_phase1(&mut self, ctx: Ctx) {
        let round = ctx.durable_ref().promised.round.max(self.seen.round) + 1;
        self.ballot = Ballot {
            round,
            node: self.id,
        };
        self.seen = self.seen.max(self.ballot);
        self.leader = None;
        self.promises.clear();
        self.recovered.clear();
        self.set_role(ctx, Role::Candidate);
        let from = self.applied + 1;
        let prepare = Msg::Prepare {
            ballot: self.ballot,
            from,
        };
        if self.spec.lease.is_none() {
            self.send_all(ctx, prepare);
        } else {
            ctx.broadcast(prepare);
            self.promise_self_last(ctx);
        }
        self.reset_election_timer(ctx);
        ctx.set_timer(Timer::Heartbeat, self.spec.heartbeat);
    }

    /// With leases, a candidate promises its own ballot last, once the others' promises
    /// would make a quorum with it. A candidate whose own acceptor promised first and was
    /// then refused (the others grant a live leader its lease) would keep that higher
    /// promise and reject the live leader's accepts: it would depose a leader it cannot
    /// replace, again at every election timeout.
    fn promise_self_last(&mut self, ctx: Ctx) {
        if self.spec.lease.is_some()
            && !self.promises.contains(self.id)
            && self.promises.len() + 1 >= Self::quorum(ctx)
        {
            let (ballot, from) = (self.ballot, self.applied + 1);
            self.send(ctx, self.id, Msg::Prepare { ballot, from });
        }
    }

    fn on_heartbeat_timer(&mut self, ctx: Ctx) {
        let ballot = self.ballot;
        match self.role {
            Role::Follower => return,
            Role::Candidate => {
                // Resend the prepare to whoever has not answered (the network loses messages).
                let from = self.applied + 1;
                for p in ctx.peers().collect::<Vec<_>>() {
                    if !self.promises.contains(p.0) {
                        ctx.send(p, Msg::Prepare { ballot, from });
                    }
                }
            }
            Role::Leader => {
                let chosen = self.applied;
                self.heartbeat(ctx);
                for (slot, command, who) in self.inflight.iter() {
                    for p in 0..ctx.servers() {
                        if p != self.id && !who.contains(p) {
                            let command = command.clone();
                            ctx.send(
                                NodeId(p),
                                Msg::Accept {
                                    ballot,
                                    slot,
                                    command,
                                    chosen,
                                },
                            );
                        }
                    }
                }
            }
        }
        ctx.set_timer(Timer::Heartbeat, self.spec.heartbeat);
    }

    /// Steps down when a higher ballot is promised here or reported by a rejection.
    fn observe_ballot(&mut self, ctx: Ctx, b: Ballot) {
        self.seen = self.seen.max(b);
        if self.role != Role::Follower && b > self.ballot {
            self.set_role(ctx, Role::Follower);
            ctx.cancel_timer(Timer::Heartbeat);
            self.reset_election_timer(ctx);
        }
    }

    pub fn on_message(&mut self, ctx: Ctx, from: NodeId, msg: Msg) {
        // The messages of a steady leader's every command first; the rest (phase 1, leases,
        // catch-up) out of line, so that the hot path stays small.
        match msg {
            Msg::Accept {
                ballot,
                slot,
                command,
                chosen,
            } => self.on_accept(ctx, from.0, ballot, slot, command, chosen),
            Msg::Accepted { ballot, slot } => self.on_accepted(ctx, from.0, ballot, slot),
            Msg::Heartbeat { ballot, chosen } => {
                if ballot < ctx.durable_ref().promised {
                    let promised = ctx.durable_ref().promised;
                    return self.send(ctx, from.0, Msg::Reject { ballot, promised });
                }
                self.follow(ctx, ballot);
                self.learn_prefix(ctx, ballot, chosen, true);
            }
            Msg::Request(r) => self.on_request(ctx, from.0, *r),
            Msg::Reply(_) => {}
            m => self.on_rare_message(ctx, from, m),
        }
    }

    #[cold]
    #[inline(never)]
    fn on_rare_message(&mut self, ctx: Ctx, from: NodeId, msg: Msg) {
        match msg {
            Msg::Prepare { ballot, from: slot } => self.on_prepare(ctx, from.0, ballot, slot),
            Msg::Promise { ballot, accepted } => self.on_promise(ctx, from.0, ballot, accepted),
            Msg::Reject { ballot, promised } => {
                if ballot != self.ballot {
                    return;
                }
                if self.role == Role::Leader && self.spec.lease.is_some() && promised > ballot {
                    // With leases the acceptors grant this leader and refuse every other
                    // proposer: the higher promise is a candidate's that cannot win. Run
                    // phase 1 above it at once, before more election timeouts fire; stepping
                    // down would leave the cluster without a leader that anyone may elect.
                    self.seen = self.seen.max(promised);
                    return self.start_phase1(ctx);
                }
                self.observe_ballot(ctx, promised);
            }
            Msg::LeaseRenew {
                ballot,
                chosen,
                start,
            } => {
                if ballot < ctx.durable_ref().promised {
                    let promised = ctx.durable_ref().promised;
                    return self.send(ctx, from.0, Msg::Reject { ballot, promised });
                }
                self.follow(ctx, ballot);
                // Granted from now, on this clock: durable before the grant leaves.
                let until = ctx.now().saturating_add(self.lease_duration());
                ctx.durable().lease_grant = Some((ballot, until));
                self.send(ctx, from.0, Msg::LeaseGrant { ballot, start });
                self.learn_prefix(ctx, ballot, chosen, true);
            }
            Msg::LeaseHeld { ballot, holder } => {
                if self.role == Role::Candidate && ballot == self.ballot {
                    self.set_role(ctx, Role::Follower);
                    self.leader = Some(holder.node);
                    ctx.cancel_timer(Timer::Heartbeat);
                    self.reset_election_timer(ctx);
                }
            }
            Msg::LeaseGrant { ballot, start } => {
                if self.role == Role::Leader && ballot == self.ballot {
                    let q = Self::quorum(ctx);
                    let d = self.lease_duration();
                    self.lease.granted(start, from.0, q, d, self.lease_margin());
                }
            }
            Msg::CatchUp { from: slot } => {
                let entries: Vec<(u64, Cmd)> = ctx
                    .durable_ref()
                    .log
                    .chosen_from(slot)
                    .take(self.spec.max_batch as usize)
                    .map(|(s, c)| (s, c.clone()))
                    .collect();
                if !entries.is_empty() {
                    self.send(ctx, from.0, Msg::Chosen { entries });
                }
            }
            Msg::Chosen { entries } => {
                for (slot, command) in entries {
                    self.learn(ctx, slot, command);
                }
                self.apply(ctx);
            }
            Msg::Accept { .. }
            | Msg::Accepted { .. }
            | Msg::Heartbeat { .. }
            | Msg::Request(_)
            | Msg::Reply(_) => unreachable!("handled by on_message"),
        }
    }

    /// A message from the leader of `ballot` (at least the promised one): follow it.
    fn follow(&mut self, ctx: Ctx, ballot: Ballot) {
        self.observe_ballot(ctx, ballot);
        if ballot.node != self.id {
            self.leader = Some(ballot.node);
            self.reset_election_timer(ctx);
        }
    }

    fn lease_duration(&self) -> u64 {
        self.spec.lease.map_or(0, |l| l.duration)
    }

    /// What the leader takes off its lease for clock skew and drift.
    fn lease_margin(&self) -> u64 {
        match self.spec.lease {
            // BUG (lease_read_without_margin): the leader trusts its clock to measure the
            // lease exactly as the acceptors' clocks do. A leader whose clock runs slow, or
            // jumps back, still reads after the acceptors' grants ran out and a new leader
            // took writes: its reads return overwritten values.
            _ if self.bug(MultiPaxosBug::LeaseReadWithoutMargin) => 0,
            Some(l) => l.max_drift,
            None => 0,
        }
    }

    /// Acceptor, phase 1b: promise `ballot` and report every proposal accepted from `slot` on.
    #[cold]
    fn on_prepare(&mut self, ctx: Ctx, from: u32, ballot: Ballot, slot: u64) {
        let promised = ctx.durable_ref().promised;
        if ballot < promised {
            return self.send(ctx, from, Msg::Reject { ballot, promised });
        }
        if let Some((holder, _)) = ctx.durable_ref().lease_grant
            && forbids_promise(ctx.durable_ref().lease_grant, ballot, ctx.now())
        {
            // The lease granted to another leader still holds: no promise. The candidate
            // stands down and tries again after an election timeout (a live leader's
            // heartbeats keep it quiet); a candidate that kept raising its ballot would
            // depose the leader at the first acceptor whose grant ran out, and duel it.
            return self.send(ctx, from, Msg::LeaseHeld { ballot, holder });
        }
        if ballot > promised {
            ctx.durable().promised = ballot; // durable before the promise leaves
            self.observe_ballot(ctx, ballot);
            if from != self.id {
                self.leader = None;
                self.reset_election_timer(ctx);
            }
        }
        let accepted = ctx
            .durable_ref()
            .log
            .accepted_from(slot)
            .map(|(s, (b, c))| (s, *b, c.clone()))
            .collect();
        self.send(ctx, from, Msg::Promise { ballot, accepted });
    }

    /// Candidate: merge what the promise reported; a quorum makes this replica the leader.
    #[cold]
    fn on_promise(
        &mut self,
        ctx: Ctx,
        from: u32,
        ballot: Ballot,
        accepted: Vec<(u64, Ballot, Cmd)>,
    ) {
        if self.role != Role::Candidate || ballot != self.ballot {
            return;
        }
        if !self.promises.insert(from) {
            return; // a duplicate
        }
        for (slot, b, command) in accepted {
            debug_assert!(b < ballot, "a promise for {ballot} reported {b}");
            if self.recovered.get(&slot).is_none_or(|(rb, _)| b > *rb) {
                self.recovered.insert(slot, (b, command));
            }
        }
        if self.promises.len() >= Self::quorum(ctx) {
            self.become_leader(ctx);
        } else {
            self.promise_self_last(ctx);
        }
    }

    /// Phase 1 won: re-propose every reported proposal, fill the holes with no-ops, and only
    /// then take new commands (after the highest slot anyone reported).
    #[cold]
    fn become_leader(&mut self, ctx: Ctx) {
        self.set_role(ctx, Role::Leader);
        self.leader = Some(self.id);
        ctx.cancel_timer(Timer::Election);
        let mut recovered = std::mem::take(&mut self.recovered);
        if self.bug(MultiPaxosBug::SkipPhase1Recovery) {
            // BUG (skip_phase1_recovery): the leader runs phase 1 but throws away what the
            // promises reported, as if it were the first leader. Its new commands go into
            // slots where an earlier leader's command may already be chosen (and applied by
            // some replicas): two replicas apply different commands in one slot.
            recovered.clear();
        }
        let chosen_top = ctx.durable_ref().log.last_chosen();
        let top = [recovered.keys().next_back().copied(), chosen_top]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(0)
            .max(self.applied);
        let (mut again, mut noops) = (0, 0);
        for slot in self.applied + 1..=top {
            if ctx.durable_ref().log.is_chosen(slot) {
                continue;
            }
            let command = match recovered.remove(&slot) {
                Some((_, c)) => {
                    again += 1;
                    c
                }
                // BUG (no_gap_fill): the hole stays empty. Replicas apply in slot order, so
                // nothing after it is ever applied and every client waits forever.
                None if self.bug(MultiPaxosBug::NoGapFill) => continue,
                None => {
                    noops += 1;
                    LogCommand::noop()
                }
            };
            self.propose(ctx, slot, command);
        }
        self.next_slot = top + 1;
        ctx.observe(Obs::Leader {
            ballot: self.ballot,
            recovered: again,
            noops,
        });
        self.recovered_top = top;
        self.heartbeat(ctx);
        ctx.set_timer(Timer::Heartbeat, self.spec.heartbeat);
    }

    /// Leader: the heartbeat with the chosen prefix; with leases, a renewal stamped with this
    /// replica's clock, granted by this replica's own acceptor too.
    fn heartbeat(&mut self, ctx: Ctx) {
        let (ballot, chosen) = (self.ballot, self.applied);
        if self.spec.lease.is_none() {
            return ctx.broadcast(Msg::Heartbeat { ballot, chosen });
        }
        let start = ctx.now();
        self.lease.renew(start);
        self.send_all(
            ctx,
            Msg::LeaseRenew {
                ballot,
                chosen,
                start,
            },
        );
    }

    /// Whether this replica may answer a read from its own state now: it leads, a majority's
    /// grant holds on its clock, and it applied everything its phase 1 recovered.
    fn reads_locally(&self, ctx: Ctx) -> bool {
        // (The clock is read only with leases on: reads count as fault effects.)
        self.spec.lease.is_some()
            && self.role == Role::Leader
            && self.applied >= self.recovered_top
            && self.lease.holds(ctx.now())
    }

    /// Phase 2a for one slot.
    fn propose(&mut self, ctx: Ctx, slot: u64, command: Cmd) {
        let ballot = self.ballot;
        ctx.observe(Obs::Propose {
            slot,
            ballot,
            command: command.hash,
        });
        self.inflight.insert(slot, command.clone());
        let chosen = self.applied;
        self.send_all(
            ctx,
            Msg::Accept {
                ballot,
                slot,
                command,
                chosen,
            },
        );
    }

    /// Acceptor, phase 2b.
    fn on_accept(
        &mut self,
        ctx: Ctx,
        from: u32,
        ballot: Ballot,
        slot: u64,
        command: Cmd,
        chosen: u64,
    ) {
        let promised = ctx.durable_ref().promised;
        if ballot < promised {
            return self.send(ctx, from, Msg::Reject { ballot, promised });
        }
        self.follow(ctx, ballot);
        let d = ctx.durable();
        d.promised = ballot;
        let hash = command.hash;
        let prev = d.log.accept(slot, ballot, command);
        debug_assert!(
            prev.is_none_or(|b| b <= ballot),
            "n{}: slot {slot} accepted at {ballot} below an earlier accept",
            self.id
        );
        ctx.observe(Obs::Accepted {
            slot,
            ballot,
            command: hash,
        });
        self.send(ctx, from, Msg::Accepted { ballot, slot });
        self.learn_prefix(ctx, ballot, chosen, false);
    }

    /// Leader: a quorum of accepts chooses the slot.
    fn on_accepted(&mut self, ctx: Ctx, from: u32, ballot: Ballot, slot: u64) {
        if self.role != Role::Leader || ballot != self.ballot {
            return;
        }
        let q = Self::quorum(ctx);
        let Some(who) = self.inflight.accepted_mut(slot) else {
            return;
        };
        who.insert(from);
        if who.len() >= q
            && let Some(command) = self.inflight.remove(slot)
        {
            self.learn(ctx, slot, command);
            self.apply(ctx);
        }
    }

    /// Follower: slots `..=chosen` are chosen at the leader of `ballot`; those accepted here
    /// at that ballot hold the chosen command. If one is missing, ask the leader (`ask`).
    fn learn_prefix(&mut self, ctx: Ctx, ballot: Ballot, chosen: u64, ask: bool) {
        let mut slot = self.applied + 1;
        while slot <= chosen {
            if !ctx.durable_ref().log.is_chosen(slot) {
                match ctx.durable_ref().log.accepted(slot) {
                    Some((b, _)) if *b == ballot => ctx.durable().log.choose_accepted(slot),
                    _ => {
                        if ask {
                            self.send(ctx, ballot.node, Msg::CatchUp { from: slot });
                        }
                        break;
                    }
                }
            }
            slot += 1;
        }
        self.apply(ctx);
    }

    fn learn(&mut self, ctx: Ctx, slot: u64, command: Cmd) {
        let bug = self.spec.bug.is_some();
        let log = &mut ctx.durable().log;
        if let Some(c) = log.chosen(slot) {
            // Only a bug variant can choose two commands for one slot.
            assert!(
                bug || *c == command,
                "n{}: slot {slot} chosen twice with different commands",
                self.id
            );
            return;
        }
        log.choose(slot, command);
    }

    /// Applies chosen slots in order; the leader answers the clients waiting on them.
    fn apply(&mut self, ctx: Ctx) {
        // The command is read where the durable log holds it (no reference taken on it): the
        // state machine and the sessions are this replica's, not the log's.
        while let Some(command) = ctx.durable_ref().log.chosen(self.applied + 1) {
            self.applied += 1;
            let slot = self.applied;
            let hash = command.hash;
            let Some(c) = &command.client else {
                ctx.observe(Obs::Applied {
                    slot,
                    command: hash,
                });
                continue;
            };
            let (client, seq, op) = (c.client, c.seq, &c.op);
            // A retried request already applied is not applied again; its result is copied
            // out only for the client waiting on this replica.
            let kv = &mut self.kv;
            let last = self.sessions.run_once(client, seq, || op.apply(kv));
            ctx.observe(Obs::Applied {
                slot,
                command: hash,
            });
            if !self.waiting.is_empty()
                && let Some((node, wclient, wseq, attempt)) = self.waiting.remove(slot)
                && (wclient, wseq) == (client, seq)
                && last
                && let Some(result) = self.sessions.answered(client, seq)
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

    fn on_request(&mut self, ctx: Ctx, from: u32, r: KvRequest) {
        if self.role != Role::Leader {
            let hint = self.leader;
            return self.send(ctx, from, Msg::Reply(KvReply::not_leader(&r, hint)));
        }
        if let KvOp::Get { .. } = &r.op
            && self.reads_locally(ctx)
        {
            let result = r.op.apply(&mut self.kv);
            ctx.observe(Obs::LeaseRead);
            return self.send(ctx, from, Msg::Reply(KvReply::done(&r, result)));
        }
        if let Some(result) = self.sessions.answered(r.client, r.seq) {
            return self.send(ctx, from, Msg::Reply(KvReply::done(&r, result)));
        }
        // A retry of a request still being chosen waits for that slot.
        let pending = self.inflight.iter().find_map(|(s, c, _)| match &c.client {
            Some(c) if (c.client, c.seq) == (r.client, r.seq) => Some(s),
            _ => None,
        });
        let attempt = r.attempt;
        let slot = match pending {
            Some(s) => s,
            None => {
                let slot = self.next_slot;
                self.next_slot += 1;
                let command = LogCommand::client(r.client, r.seq, r.op);
                self.propose(ctx, slot, command);
                slot
            }
        };
        self.waiting.insert(slot, (from, r.client, r.seq, attempt));
    }
}
