//! Three-phase commit (Skeen, *Nonblocking Commit Protocols*, SIGMOD 1981; Skeen &
//! Stonebraker 1983), with the centralized termination protocol.
//!
//! Phase 1, can-commit: the coordinator force-writes a start record and sends `Prepare`; each
//! participant votes (a yes vote force-written with its locks: state w, uncertain). Phase 2,
//! pre-commit: all yes → the coordinator sends `PreCommit`; a participant force-writes p
//! (committable) and acknowledges. Phase 3, do-commit: once every participant acknowledged
//! (or the acknowledgement timeout says the rest have failed) the coordinator commits. Any no
//! or a missing vote → abort. No participant commits while another is still uncertain: the
//! pre-commit state stands between "everybody voted yes" and "commit".
//!
//! Every state has a timeout. A participant in w or p that hears nothing from the coordinator
//! within `3 × timeout` starts the *termination protocol*: the participants elect a backup
//! coordinator — the one of rank `round` in the transaction's participant list, `round`
//! advancing by one each `4 × timeout` without a decision — which collects the states of the
//! participants it can reach and decides from them: any committed → commit; any aborted (or
//! one that never voted, which aborts now) → abort; any pre-committed → pre-commit the
//! uncertain ones, then commit; all uncertain → abort. Participants that failed while
//! undecided recover by asking, and their state does not count.
//!
//! This is safe under crash failures with a synchronous network, the paper's assumptions. A
//! partition breaks them: each side runs termination with the states it can reach, and one
//! side may commit while the other aborts. That is the lesson, not a bug to fix.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{
    COORDINATOR, CommitNode, CoordRecord, CoordState, Front, Kind, Msg, Obs, Rm, RmState, Tally,
    Timer, send_prepares,
};
use crate::protocols::{ProtocolDef, ProtocolInfo, RunOutcome, RunSpec};
use crate::sim::{Context, MILLIS, NodeId, Time};
use crate::workload::txn::{BankSpec, TxnId, TxnRequest};

type Ctx<'a> = Context<'a, CommitNode>;

/// Three-phase commit's parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThreePcSpec {
    /// The coordinator's (and a backup coordinator's) wait for votes, states and
    /// acknowledgements. A participant suspects the coordinator after 3× this, a backup
    /// after 4×.
    #[serde(with = "crate::sim::dur")]
    pub timeout: Time,
    /// Probability that a participant vetoes a transaction it could commit.
    pub vote_no: f64,
    pub bank: BankSpec,
}

impl Default for ThreePcSpec {
    fn default() -> Self {
        ThreePcSpec {
            timeout: 100 * MILLIS,
            vote_no: 0.02,
            bank: BankSpec::default(),
        }
    }
}

impl ProtocolDef for ThreePcSpec {
    fn name(&self) -> &'static str {
        "3pc"
    }
    fn symmetric_servers(&self) -> bool {
        false
    }
    fn checks(&self) -> &'static [&'static str] {
        super::CHECKS
    }
    fn validate(&self, servers: u32) -> Result<(), String> {
        super::validate_common(servers, self.vote_no, &self.bank)?;
        if self.timeout == 0 {
            return Err("threephasecommit.timeout must be positive".into());
        }
        Ok(())
    }
    fn run(&self, spec: &RunSpec) -> RunOutcome {
        super::run(spec, Kind::ThreePc(self.clone()))
    }
}

pub const INFO: ProtocolInfo = ProtocolInfo {
    name: "3pc",
    about: "three-phase commit with the termination protocol: does not block on crashes, splits under partitions",
    variants: &[(
        "correct",
        "Skeen's protocol; under a partition it is its own counterexample",
    )],
    checks: super::CHECKS,
};

/// Where the coordinator is with a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Voting,
    PreCommitting,
    /// Restarted with a start or pre-commit record: it asks, it never decides.
    Recovering,
}

#[derive(Clone, Debug)]
struct Active {
    tally: Tally,
    phase: Phase,
}

/// The coordinator, node `n0`.
#[derive(Clone, Debug)]
pub struct Coordinator {
    spec: ThreePcSpec,
    front: Front,
    active: BTreeMap<TxnId, Active>,
}

impl Coordinator {
    pub fn new(spec: &ThreePcSpec) -> Self {
        Coordinator {
            spec: spec.clone(),
            front: Front::default(),
            active: BTreeMap::new(),
        }
    }

    /// Start, or recovery: a transaction logged as started or pre-committed may have been
    /// decided by the participants' termination protocol meanwhile, so it is only asked about.
    pub fn on_start(&mut self, ctx: &mut Ctx) {
        ctx.observe(Obs::Role("coordinator"));
        let open: Vec<(TxnId, Vec<u32>)> = ctx
            .durable_ref()
            .coord_log
            .iter()
            .filter(|(_, r)| matches!(r.state, CoordState::Started | CoordState::PreCommitted))
            .map(|(t, r)| (*t, r.participants.clone()))
            .collect();
        for (txn, participants) in open {
            self.active.insert(
                txn,
                Active {
                    tally: Tally::new(participants),
                    phase: Phase::Recovering,
                },
            );
            self.ask(ctx, txn);
        }
    }

    fn ask(&mut self, ctx: &mut Ctx, txn: TxnId) {
        for p in &self.active[&txn].tally.participants {
            ctx.send(NodeId(*p), Msg::DecisionRequest { txn });
        }
        ctx.set_timer(Timer::Decision(txn), self.spec.timeout);
    }

    fn logged(&self, ctx: &Ctx, txn: TxnId) -> Option<bool> {
        match ctx.durable_ref().coord_log.get(&txn).map(|r| r.state) {
            Some(CoordState::Committed) => Some(true),
            Some(CoordState::Aborted) => Some(false),
            _ => None,
        }
    }

    fn log(&mut self, ctx: &mut Ctx, txn: TxnId, state: CoordState) {
        let participants = self.active[&txn].tally.participants.clone();
        ctx.durable().coord_log.insert(
            txn,
            CoordRecord {
                participants,
                state,
                ended: false,
            },
        );
    }

    pub fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Msg) {
        match msg {
            Msg::Client(TxnRequest::Begin { txn, transfer }) => {
                let Some(parts) = self.front.begin(ctx, txn, &transfer) else {
                    self.answer_client(ctx, txn);
                    return;
                };
                let participants = parts.iter().map(|(p, _)| *p).collect();
                ctx.durable().coord_log.insert(
                    txn,
                    CoordRecord {
                        participants,
                        state: CoordState::Started,
                        ended: false,
                    },
                );
                let tally = send_prepares(ctx, txn, parts);
                self.active.insert(
                    txn,
                    Active {
                        tally,
                        phase: Phase::Voting,
                    },
                );
                ctx.set_timer(Timer::Votes(txn), self.spec.timeout);
            }
            Msg::Client(TxnRequest::Status { txn }) => self.answer_client(ctx, txn),
            Msg::Vote { txn, yes } => {
                let Some(a) = self.active.get_mut(&txn) else {
                    return;
                };
                if a.phase != Phase::Voting {
                    return;
                }
                a.tally.vote(from, yes);
                if a.tally.any_no() {
                    self.decide(ctx, txn, false);
                } else if a.tally.all_yes() {
                    a.phase = Phase::PreCommitting;
                    let participants = a.tally.participants.clone();
                    self.log(ctx, txn, CoordState::PreCommitted);
                    for p in participants {
                        ctx.send(NodeId(p), Msg::PreCommit { txn });
                    }
                    ctx.cancel_timer(Timer::Votes(txn));
                    ctx.set_timer(Timer::Acks(txn), self.spec.timeout);
                }
            }
            Msg::PreCommitAck { txn } => {
                let Some(a) = self.active.get_mut(&txn) else {
                    return;
                };
                if a.phase != Phase::PreCommitting {
                    return;
                }
                if a.tally.ack(from) {
                    self.decide(ctx, txn, true);
                }
            }
            Msg::Decision { txn, commit }
                if self
                    .active
                    .get(&txn)
                    .is_some_and(|a| a.phase == Phase::Recovering) =>
            {
                self.decide(ctx, txn, commit);
            }
            Msg::DecisionRequest { txn } => {
                if let Some(commit) = self.logged(ctx, txn) {
                    ctx.send(from, Msg::Decision { txn, commit });
                }
            }
            _ => {}
        }
    }

    fn answer_client(&mut self, ctx: &mut Ctx, txn: TxnId) {
        let known = self.logged(ctx, txn);
        let active = self.active.contains_key(&txn);
        if let Some(c) = self.front.status(txn, known, active) {
            super::reply(ctx, txn, c);
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx, t: Timer) {
        let phase = |s: &Self, txn| s.active.get(&txn).map(|a| a.phase);
        match t {
            Timer::Votes(txn) if phase(self, txn) == Some(Phase::Voting) => {
                self.decide(ctx, txn, false)
            }
            // The participants that did not acknowledge have failed: they will recover by
            // asking, and learn the commit.
            Timer::Acks(txn) if phase(self, txn) == Some(Phase::PreCommitting) => {
                self.decide(ctx, txn, true)
            }
            Timer::Decision(txn) if phase(self, txn) == Some(Phase::Recovering) => {
                self.ask(ctx, txn)
            }
            _ => {}
        }
    }

    /// Logs the decision, then sends it to every participant and the client.
    fn decide(&mut self, ctx: &mut Ctx, txn: TxnId, commit: bool) {
        let a = &self.active[&txn];
        assert!(
            !commit || a.phase == Phase::Recovering || a.tally.all_yes(),
            "{txn}: commit without a yes vote from every participant"
        );
        let participants = a.tally.participants.clone();
        self.log(
            ctx,
            txn,
            if commit {
                CoordState::Committed
            } else {
                CoordState::Aborted
            },
        );
        self.active.remove(&txn);
        for timer in [Timer::Votes(txn), Timer::Acks(txn), Timer::Decision(txn)] {
            ctx.cancel_timer(timer);
        }
        for p in participants {
            ctx.send(NodeId(p), Msg::Decision { txn, commit });
        }
        self.front.decided(ctx, txn, commit);
    }
}

/// A participant's progress through termination for one undecided transaction.
#[derive(Clone, Debug, Default)]
struct Term {
    /// Failed while undecided: asks, never takes part.
    recovering: bool,
    /// The coordinator is suspected: waiting for (or being) the backup of `round`.
    started: bool,
    round: u32,
    backup: Option<Backup>,
}

/// This participant is the backup coordinator of `round`.
#[derive(Clone, Debug)]
struct Backup {
    round: u32,
    /// States reported by the other participants (`None`: recovering).
    states: BTreeMap<u32, Option<RmState>>,
    /// Pre-commit sent: acknowledgements still awaited.
    acks: Option<BTreeSet<u32>>,
}

/// A participant, nodes `n1..`.
#[derive(Clone, Debug)]
pub struct Participant {
    spec: ThreePcSpec,
    keys: u32,
    rm: Rm,
    term: BTreeMap<TxnId, Term>,
}

impl Participant {
    pub fn new(spec: &ThreePcSpec, keys: u32) -> Self {
        Participant {
            spec: spec.clone(),
            keys,
            rm: Rm::new(spec.vote_no),
            term: BTreeMap::new(),
        }
    }

    /// How long an uncertain participant waits for the coordinator before suspecting it.
    fn wait(&self) -> Time {
        3 * self.spec.timeout
    }

    /// How long one backup coordinator has before the next in rank takes over.
    fn round_len(&self) -> Time {
        4 * self.spec.timeout
    }

    pub fn on_start(&mut self, ctx: &mut Ctx, restart: bool) {
        let undecided = self.rm.start(ctx, self.keys, self.spec.bank.balance);
        debug_assert!(restart || undecided.is_empty());
        for txn in undecided {
            self.term.insert(
                txn,
                Term {
                    recovering: true,
                    ..Term::default()
                },
            );
            self.ask(ctx, txn, true);
            ctx.set_timer(Timer::Decision(txn), self.spec.timeout);
        }
    }

    /// Asks the other participants (and the coordinator, if `coordinator`) for the decision.
    fn ask(&mut self, ctx: &mut Ctx, txn: TxnId, coordinator: bool) {
        if coordinator {
            ctx.send(COORDINATOR, Msg::DecisionRequest { txn });
        }
        for p in self.others(ctx, txn) {
            ctx.send(NodeId(p), Msg::DecisionRequest { txn });
        }
    }

    fn others(&self, ctx: &Ctx, txn: TxnId) -> Vec<u32> {
        let me = ctx.id().0;
        let mut ps = self.rm.participants(ctx, txn);
        ps.retain(|&p| p != me);
        ps
    }

    pub fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Msg) {
        match msg {
            Msg::Prepare {
                txn,
                ops,
                participants,
            } => {
                let fresh = self.rm.state(ctx, txn).is_none();
                let yes = self.rm.prepare(ctx, txn, &ops, &participants, None);
                ctx.send(from, Msg::Vote { txn, yes });
                if yes && fresh {
                    self.term.insert(txn, Term::default());
                    ctx.set_timer(Timer::Decision(txn), self.wait());
                }
            }
            Msg::PreCommit { txn } => {
                if self.term.get(&txn).is_none_or(|t| t.recovering) {
                    return;
                }
                if self.rm.pre_commit(ctx, txn) {
                    ctx.send(from, Msg::PreCommitAck { txn });
                    let wait = if from == COORDINATOR {
                        self.wait()
                    } else {
                        self.round_len()
                    };
                    ctx.set_timer(Timer::Decision(txn), wait);
                }
            }
            Msg::Decision { txn, commit } => self.learn(ctx, txn, commit),
            Msg::DecisionRequest { txn } => {
                if let Some(commit) = self.rm.state(ctx, txn).and_then(RmState::decided) {
                    ctx.send(from, Msg::Decision { txn, commit });
                }
            }
            Msg::StateRequest { txn, round } => self.on_state_request(ctx, from, txn, round),
            Msg::StateReply { txn, round, state } => {
                let Some(b) = self.backup_mut(txn, round) else {
                    return;
                };
                if b.acks.is_some() {
                    return;
                }
                b.states.insert(from.0, state);
                let others = self.others(ctx, txn);
                let b = self.backup_mut(txn, round).expect("checked above");
                if let Some(commit) = state.and_then(RmState::decided) {
                    self.finish(ctx, txn, commit);
                } else if others.iter().all(|p| b.states.contains_key(p)) {
                    self.evaluate(ctx, txn);
                }
            }
            Msg::PreCommitAck { txn } => {
                let Some(acks) = self
                    .term
                    .get_mut(&txn)
                    .and_then(|t| t.backup.as_mut())
                    .and_then(|b| b.acks.as_mut())
                else {
                    return;
                };
                acks.remove(&from.0);
                if acks.is_empty() {
                    self.finish(ctx, txn, true);
                }
            }
            _ => {}
        }
    }

    fn backup_mut(&mut self, txn: TxnId, round: u32) -> Option<&mut Backup> {
        self.term
            .get_mut(&txn)
            .and_then(|t| t.backup.as_mut())
            .filter(|b| b.round == round)
    }

    /// A backup coordinator asks for this participant's state. One that never voted aborts
    /// now (and so the coordinator can no longer commit); a recovering one does not count; an
    /// uncertain one follows the backup of the highest round it has heard of.
    fn on_state_request(&mut self, ctx: &mut Ctx, from: NodeId, txn: TxnId, round: u32) {
        let state = match self.rm.state(ctx, txn) {
            None => {
                self.rm.decide(ctx, txn, false);
                Some(RmState::Aborted)
            }
            Some(s) if s.decided().is_some() => Some(s),
            Some(s) => {
                let Some(t) = self.term.get_mut(&txn) else {
                    return;
                };
                if t.recovering {
                    None
                } else if round < t.round && t.started {
                    return; // an outdated backup: a later one has taken over
                } else {
                    t.started = true;
                    t.round = round;
                    if t.backup.as_ref().is_some_and(|b| b.round < round) {
                        t.backup = None;
                        ctx.cancel_timer(Timer::States(txn));
                        ctx.cancel_timer(Timer::Acks(txn));
                    }
                    ctx.set_timer(Timer::Decision(txn), self.round_len());
                    Some(s)
                }
            }
        };
        ctx.send(from, Msg::StateReply { txn, round, state });
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx, t: Timer) {
        // Whether this participant is a backup, still collecting states (`Some(false)`) or
        // waiting for pre-commit acknowledgements (`Some(true)`).
        let backing = |s: &Self, txn| {
            s.term
                .get(&txn)
                .and_then(|t| t.backup.as_ref())
                .map(|b| b.acks.is_some())
        };
        match t {
            Timer::Decision(txn) => self.on_decision_timeout(ctx, txn),
            Timer::States(txn) if backing(self, txn) == Some(false) => self.evaluate(ctx, txn),
            // The uncertain participants that did not acknowledge have failed.
            Timer::Acks(txn) if backing(self, txn) == Some(true) => self.finish(ctx, txn, true),
            _ => {}
        }
    }

    /// No word from the coordinator (or from the backup of the current round): suspect it and
    /// go on to the next round, whose backup may be this participant.
    fn on_decision_timeout(&mut self, ctx: &mut Ctx, txn: TxnId) {
        if !matches!(
            self.rm.state(ctx, txn),
            Some(RmState::Voted | RmState::PreCommitted)
        ) {
            self.term.remove(&txn);
            return;
        }
        let Some(t) = self.term.get_mut(&txn) else {
            return;
        };
        if t.recovering {
            self.ask(ctx, txn, true);
            ctx.set_timer(Timer::Decision(txn), self.spec.timeout);
            return;
        }
        if t.started {
            t.round += 1;
        }
        t.started = true;
        let round = t.round;
        self.rm.mark_overdue(ctx, txn);
        // A participant that already decided answers at once.
        self.ask(ctx, txn, false);
        let participants = self.rm.participants(ctx, txn);
        let Some(&backup) = participants.get(round as usize % participants.len().max(1)) else {
            return;
        };
        ctx.set_timer(Timer::Decision(txn), self.round_len());
        if backup != ctx.id().0 {
            return;
        }
        // This participant is the backup coordinator of `round`: collect the states.
        let t = self.term.get_mut(&txn).expect("checked above");
        t.backup = Some(Backup {
            round,
            states: BTreeMap::new(),
            acks: None,
        });
        let others = self.others(ctx, txn);
        if others.is_empty() {
            self.evaluate(ctx, txn);
            return;
        }
        for p in others {
            ctx.send(NodeId(p), Msg::StateRequest { txn, round });
        }
        ctx.set_timer(Timer::States(txn), self.spec.timeout);
    }

    /// The backup's decision rule over the states it collected (its own included).
    fn evaluate(&mut self, ctx: &mut Ctx, txn: TxnId) {
        ctx.cancel_timer(Timer::States(txn));
        let Some(own) = self.rm.state(ctx, txn) else {
            return;
        };
        let Some(b) = self.term.get(&txn).and_then(|t| t.backup.as_ref()) else {
            return;
        };
        let mut states: Vec<RmState> = b.states.values().flatten().copied().collect();
        states.push(own);
        let uncertain: BTreeSet<u32> = b
            .states
            .iter()
            .filter(|(_, s)| **s == Some(RmState::Voted))
            .map(|(p, _)| *p)
            .collect();
        if states.contains(&RmState::Committed) {
            self.finish(ctx, txn, true);
        } else if states.contains(&RmState::Aborted) {
            self.finish(ctx, txn, false);
        } else if states.contains(&RmState::PreCommitted) {
            // Committable: first bring every uncertain participant it reached to pre-commit.
            self.rm.pre_commit(ctx, txn);
            debug_assert_eq!(self.rm.state(ctx, txn), Some(RmState::PreCommitted));
            if uncertain.is_empty() {
                self.finish(ctx, txn, true);
                return;
            }
            for p in &uncertain {
                ctx.send(NodeId(*p), Msg::PreCommit { txn });
            }
            if let Some(b) = self.term.get_mut(&txn).and_then(|t| t.backup.as_mut()) {
                b.acks = Some(uncertain);
            }
            ctx.set_timer(Timer::Acks(txn), self.spec.timeout);
        } else {
            // Everybody it reached is uncertain: nobody can have committed.
            self.finish(ctx, txn, false);
        }
    }

    /// The backup decides: here first, then every other participant and the coordinator.
    fn finish(&mut self, ctx: &mut Ctx, txn: TxnId, commit: bool) {
        let others = self.others(ctx, txn);
        self.learn(ctx, txn, commit);
        for p in others {
            ctx.send(NodeId(p), Msg::Decision { txn, commit });
        }
        ctx.send(COORDINATOR, Msg::Decision { txn, commit });
    }

    /// A decision, from the coordinator, a backup, a peer, or this participant as backup.
    fn learn(&mut self, ctx: &mut Ctx, txn: TxnId, commit: bool) {
        self.rm.decide(ctx, txn, commit);
        if self.term.remove(&txn).is_some() {
            for timer in [Timer::Decision(txn), Timer::States(txn), Timer::Acks(txn)] {
                ctx.cancel_timer(timer);
            }
        }
    }
}
