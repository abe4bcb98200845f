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
//! Durable: `promised`, `accepted` (written before the reply leaves) and the chosen commands.
//! Invariants asserted: no slot is chosen with two commands at one replica; an acceptor never
//! accepts or promises below what it promised; slots are applied in order, each once.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::messages::{Ballot, Cmd, LogCommand, MultiMsg as Msg};
use super::multi::{Obs, Timer};
use super::slots::Slots;
use super::{MultiPaxosBug, MultiPaxosSpec, quorum};
use crate::protocols::raft::Command;
use crate::sim::{Context, NodeId};
use crate::workload::kv::{KvReply, KvRequest, Sessions};

/// What survives a crash.
#[derive(Clone, Debug, Default)]
pub struct Durable {
    pub promised: Ballot,
    /// Per slot, the highest-ballot proposal this acceptor accepted.
    pub accepted: Slots<(Ballot, Cmd)>,
    /// Slots this replica knows are chosen.
    pub chosen: Slots<Cmd>,
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
    promises: BTreeSet<u32>,
    recovered: BTreeMap<u64, (Ballot, Cmd)>,
    /// Leader: the next free slot, and the proposals not yet chosen with who accepted them.
    next_slot: u64,
    inflight: BTreeMap<u64, (Cmd, BTreeSet<u32>)>,
    /// Slots `1..=applied` are applied (and so chosen).
    applied: u64,
    kv: BTreeMap<String, String>,
    /// Per client, the last applied request and its result.
    sessions: Sessions,
    /// Slot -> (client node, client, seq, attempt) waiting for it (leader only).
    waiting: BTreeMap<u64, (u32, u32, u64, u32)>,
    /// Messages to itself, handled without the network.
    local: VecDeque<Msg>,
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
            promises: BTreeSet::new(),
            recovered: BTreeMap::new(),
            next_slot: 1,
            inflight: BTreeMap::new(),
            applied: 0,
            kv: BTreeMap::new(),
            sessions: Sessions::default(),
            waiting: BTreeMap::new(),
            local: VecDeque::new(),
        }
    }

    /// What the step-through view shows: role, ballot, leader, applied prefix, the end of the
    /// chosen log (each slot with the ballot round that carried it where known) and the store.
    pub fn view(&self, d: &Durable) -> crate::sim::NodeView {
        let last = d.chosen.last().unwrap_or(0);
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
                let round = d.accepted.get(slot).map_or(0, |(b, _)| b.round);
                let text = d
                    .chosen
                    .get(slot)
                    .map_or("(hole)".to_string(), |c| c.command.short());
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

    fn set_role(&mut self, ctx: Ctx, role: Role) {
        if role != Role::Leader {
            // A deposed leader answers no one: whoever chooses the slots answers retries.
            self.inflight.clear();
            self.waiting.clear();
        }
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
        self.send_all(
            ctx,
            Msg::Prepare {
                ballot: self.ballot,
                from,
            },
        );
        self.reset_election_timer(ctx);
        ctx.set_timer(Timer::Heartbeat, self.spec.heartbeat);
    }

    fn on_heartbeat_timer(&mut self, ctx: Ctx) {
        let ballot = self.ballot;
        match self.role {
            Role::Follower => return,
            Role::Candidate => {
                // Resend the prepare to whoever has not answered (the network loses messages).
                let from = self.applied + 1;
                for p in ctx.peers().collect::<Vec<_>>() {
                    if !self.promises.contains(&p.0) {
                        ctx.send(p, Msg::Prepare { ballot, from });
                    }
                }
            }
            Role::Leader => {
                let chosen = self.applied;
                ctx.broadcast(Msg::Heartbeat { ballot, chosen });
                for (&slot, (command, who)) in &self.inflight {
                    for p in 0..ctx.servers() {
                        if p != self.id && !who.contains(&p) {
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
        match msg {
            Msg::Prepare { ballot, from: slot } => self.on_prepare(ctx, from.0, ballot, slot),
            Msg::Promise { ballot, accepted } => self.on_promise(ctx, from.0, ballot, accepted),
            Msg::Accept {
                ballot,
                slot,
                command,
                chosen,
            } => self.on_accept(ctx, from.0, ballot, slot, command, chosen),
            Msg::Accepted { ballot, slot } => self.on_accepted(ctx, from.0, ballot, slot),
            Msg::Reject { ballot, promised } => {
                if ballot == self.ballot {
                    self.observe_ballot(ctx, promised);
                }
            }
            Msg::Heartbeat { ballot, chosen } => {
                if ballot < ctx.durable_ref().promised {
                    let promised = ctx.durable_ref().promised;
                    return self.send(ctx, from.0, Msg::Reject { ballot, promised });
                }
                self.follow(ctx, ballot);
                self.learn_prefix(ctx, ballot, chosen, true);
            }
            Msg::CatchUp { from: slot } => {
                let entries: Vec<(u64, Cmd)> = ctx
                    .durable_ref()
                    .chosen
                    .from(slot)
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
            Msg::Request(r) => self.on_request(ctx, from.0, r),
            Msg::Reply(_) => {}
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

    /// Acceptor, phase 1b: promise `ballot` and report every proposal accepted from `slot` on.
    fn on_prepare(&mut self, ctx: Ctx, from: u32, ballot: Ballot, slot: u64) {
        let promised = ctx.durable_ref().promised;
        if ballot < promised {
            return self.send(ctx, from, Msg::Reject { ballot, promised });
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
            .accepted
            .from(slot)
            .map(|(s, (b, c))| (s, *b, c.clone()))
            .collect();
        self.send(ctx, from, Msg::Promise { ballot, accepted });
    }

    /// Candidate: merge what the promise reported; a quorum makes this replica the leader.
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
        }
    }

    /// Phase 1 won: re-propose every reported proposal, fill the holes with no-ops, and only
    /// then take new commands (after the highest slot anyone reported).
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
        let chosen_top = ctx.durable_ref().chosen.last();
        let top = [recovered.keys().next_back().copied(), chosen_top]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(0)
            .max(self.applied);
        let (mut again, mut noops) = (0, 0);
        for slot in self.applied + 1..=top {
            if ctx.durable_ref().chosen.contains(slot) {
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
                    LogCommand::new(Command::Noop)
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
        let (ballot, chosen) = (self.ballot, self.applied);
        ctx.broadcast(Msg::Heartbeat { ballot, chosen });
        ctx.set_timer(Timer::Heartbeat, self.spec.heartbeat);
    }

    /// Phase 2a for one slot.
    fn propose(&mut self, ctx: Ctx, slot: u64, command: Cmd) {
        let ballot = self.ballot;
        ctx.observe(Obs::Propose {
            slot,
            ballot,
            command: command.hash,
        });
        self.inflight
            .insert(slot, (command.clone(), BTreeSet::new()));
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
        let prev = d.accepted.insert(slot, (ballot, command));
        debug_assert!(
            prev.is_none_or(|(b, _)| b <= ballot),
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
        let Some((_, who)) = self.inflight.get_mut(&slot) else {
            return;
        };
        who.insert(from);
        if who.len() >= q
            && let Some((command, _)) = self.inflight.remove(&slot)
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
            if !ctx.durable_ref().chosen.contains(slot) {
                match ctx.durable_ref().accepted.get(slot) {
                    Some((b, c)) if *b == ballot => {
                        let c = c.clone();
                        self.learn(ctx, slot, c);
                    }
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
        let chosen = &mut ctx.durable().chosen;
        if let Some(c) = chosen.get(slot) {
            // Only a bug variant can choose two commands for one slot.
            assert!(
                bug || *c == command,
                "n{}: slot {slot} chosen twice with different commands",
                self.id
            );
            return;
        }
        chosen.insert(slot, command);
    }

    /// Applies chosen slots in order; the leader answers the clients waiting on them.
    fn apply(&mut self, ctx: Ctx) {
        while let Some(command) = ctx.durable_ref().chosen.get(self.applied + 1) {
            let command = command.clone();
            self.applied += 1;
            let slot = self.applied;
            ctx.observe(Obs::Applied {
                slot,
                command: command.hash,
            });
            let Command::Client { client, seq, op } = &command.command else {
                continue;
            };
            let (client, seq) = (*client, *seq);
            // A retried request already applied is not applied again.
            let result = self.sessions.apply(client, seq, op, &mut self.kv);
            if let Some((node, wclient, wseq, attempt)) = self.waiting.remove(&slot)
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

    fn on_request(&mut self, ctx: Ctx, from: u32, r: KvRequest) {
        if self.role != Role::Leader {
            let hint = self.leader;
            return self.send(ctx, from, Msg::Reply(KvReply::not_leader(&r, hint)));
        }
        if let Some(result) = self.sessions.answered(r.client, r.seq) {
            return self.send(ctx, from, Msg::Reply(KvReply::done(&r, result)));
        }
        // A retry of a request still being chosen waits for that slot.
        let pending = self
            .inflight
            .iter()
            .find_map(|(s, (c, _))| match &c.command {
                Command::Client { client, seq, .. } if (*client, *seq) == (r.client, r.seq) => {
                    Some(*s)
                }
                _ => None,
            });
        let attempt = r.attempt;
        let slot = match pending {
            Some(s) => s,
            None => {
                let slot = self.next_slot;
                self.next_slot += 1;
                let command = LogCommand::new(Command::Client {
                    client: r.client,
                    seq: r.seq,
                    op: r.op,
                });
                self.propose(ctx, slot, command);
                slot
            }
        };
        self.waiting.insert(slot, (from, r.client, r.seq, attempt));
    }
}
