//! Two-phase commit with presumed abort (Gray 1978; Bernstein, Hadzilacos & Goodman,
//! *Concurrency Control and Recovery in Database Systems*, ch. 7).
//!
//! Phase 1: the coordinator sends `Prepare` to every participant of the transaction; each
//! votes, force-writing a yes vote (with the locks it holds) before replying. Phase 2: all
//! yes → the coordinator force-writes commit, then sends it and resends it until every
//! participant acknowledged (then an end record); any no or a missing vote → abort, which is
//! not logged: a coordinator that finds no record of a transaction answers abort.
//!
//! A participant that voted yes is uncertain: it may not decide alone, and it holds its locks
//! until it learns the decision. Past `decision_timeout` it asks the coordinator again and
//! again (and, with `cooperative` termination, its peers: one that has decided, or that has
//! not voted and so may abort, answers). That is 2PC's blocking: while the coordinator is
//! down and every peer is uncertain too, nothing moves. After a restart a participant
//! re-acquires the locks of the undecided transactions in its log and asks; the coordinator
//! resends the commits its log has no end record for.

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

/// Known-bug variants: each a one-point deviation from the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TwoPcBug {
    /// An uncertain participant aborts on its own once the decision is overdue.
    UnilateralAbort,
    /// The coordinator sends commit before the commit record is durable (`log_delay` later):
    /// a crash in between makes the recovered coordinator presume abort.
    DecideBeforeLog,
    /// A participant replies yes before its vote is durable: restarted in between, it has no
    /// record, presumes abort, and refuses the coordinator's commit.
    VoteBeforeLog,
    /// On the vote timeout the coordinator commits if no vote it received was no, counting
    /// the missing votes as yes.
    CommitWithoutAllVotes,
}

/// Two-phase commit's parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TwoPcSpec {
    /// How long the coordinator waits for votes (then aborts), and for commit acknowledgements
    /// (then resends).
    #[serde(with = "crate::sim::dur")]
    pub timeout: Time,
    /// How long an uncertain participant waits for the decision before asking (and again
    /// between asks). Past it, the participant counts as blocked.
    #[serde(with = "crate::sim::dur")]
    pub decision_timeout: Time,
    /// Cooperative termination: an uncertain participant asks its peers as well.
    pub cooperative: bool,
    /// Probability that a participant vetoes a transaction it could commit.
    pub vote_no: f64,
    pub bank: BankSpec,
    /// For the bug variants that write the log lazily: how long the write takes.
    #[serde(with = "crate::sim::dur")]
    pub log_delay: Time,
    pub bug: Option<TwoPcBug>,
}

impl Default for TwoPcSpec {
    fn default() -> Self {
        TwoPcSpec {
            timeout: 100 * MILLIS,
            decision_timeout: 300 * MILLIS,
            cooperative: false,
            vote_no: 0.02,
            bank: BankSpec::default(),
            log_delay: 20 * MILLIS,
            bug: None,
        }
    }
}

impl ProtocolDef for TwoPcSpec {
    fn name(&self) -> &'static str {
        "2pc"
    }
    fn variant(&self) -> String {
        match self.bug {
            None => "correct".into(),
            Some(b) => serde_json::to_value(b)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
        }
    }
    fn symmetric_servers(&self) -> bool {
        false
    }
    fn checks(&self) -> &'static [&'static str] {
        super::CHECKS
    }
    fn validate(&self, servers: u32) -> Result<(), String> {
        super::validate_common(servers, self.vote_no, &self.bank)?;
        if self.timeout == 0 || self.decision_timeout == 0 || self.log_delay == 0 {
            return Err(
                "twophasecommit: timeout, decision_timeout and log_delay must be positive".into(),
            );
        }
        Ok(())
    }
    fn run(&self, spec: &RunSpec) -> RunOutcome {
        super::run(spec, Kind::TwoPc(self.clone()))
    }
}

pub const INFO: ProtocolInfo = ProtocolInfo {
    name: "2pc",
    about: "two-phase commit (presumed abort) of bank transfers across participants; blocks when the coordinator fails",
    variants: &[
        (
            "correct",
            "votes and commits force-written before they are sent",
        ),
        (
            "unilateral_abort",
            "an uncertain participant aborts on its own after a timeout",
        ),
        (
            "decide_before_log",
            "the coordinator sends commit before logging it",
        ),
        (
            "vote_before_log",
            "a participant votes yes before logging its vote",
        ),
        (
            "commit_without_all_votes",
            "on the vote timeout, missing votes count as yes",
        ),
    ],
    checks: super::CHECKS,
};

/// A transaction the coordinator is working on.
#[derive(Clone, Debug)]
struct Active {
    tally: Tally,
    /// Commit decided (phase 2): resending until every participant acknowledged.
    committing: bool,
}

/// The coordinator (transaction manager), node `n0`.
#[derive(Clone, Debug)]
pub struct Coordinator {
    spec: TwoPcSpec,
    front: Front,
    active: BTreeMap<TxnId, Active>,
    /// Commit records sent but not yet on disk (`decide_before_log` only).
    unlogged: BTreeSet<TxnId>,
}

impl Coordinator {
    pub fn new(spec: &TwoPcSpec) -> Self {
        Coordinator {
            spec: spec.clone(),
            front: Front::default(),
            active: BTreeMap::new(),
            unlogged: BTreeSet::new(),
        }
    }

    /// Start, or recovery from the log: resend every commit without an end record.
    pub fn on_start(&mut self, ctx: &mut Ctx, restart: bool) {
        ctx.observe(Obs::Role("coordinator"));
        if !restart {
            return;
        }
        let pending: Vec<(TxnId, Vec<u32>)> = ctx
            .durable_ref()
            .coord_log
            .iter()
            .filter(|(_, r)| r.state == CoordState::Committed && !r.ended)
            .map(|(t, r)| (*t, r.participants.clone()))
            .collect();
        for (txn, participants) in pending {
            self.active.insert(
                txn,
                Active {
                    tally: Tally::new(participants),
                    committing: true,
                },
            );
            self.resend(ctx, txn);
        }
    }

    /// The decision as this coordinator knows it: logged or decided by this incarnation;
    /// `None` while votes are coming in; otherwise abort (presumed).
    fn outcome(&self, ctx: &Ctx, txn: TxnId) -> Option<bool> {
        let logged = ctx
            .durable_ref()
            .coord_log
            .get(&txn)
            .map(|r| r.state == CoordState::Committed);
        match (logged, self.active.get(&txn)) {
            (Some(c), _) => Some(c),
            (None, Some(a)) if a.committing => Some(true),
            (None, Some(_)) => None,
            (None, None) => Some(false),
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Msg) {
        match msg {
            Msg::Client(TxnRequest::Begin { txn, transfer }) => {
                let Some(parts) = self.front.begin(ctx, txn, &transfer) else {
                    self.answer_client(ctx, txn);
                    return;
                };
                let tally = send_prepares(ctx, txn, parts);
                self.active.insert(
                    txn,
                    Active {
                        tally,
                        committing: false,
                    },
                );
                ctx.set_timer(Timer::Votes(txn), self.spec.timeout);
            }
            Msg::Client(TxnRequest::Status { txn }) => self.answer_client(ctx, txn),
            Msg::Vote { txn, yes } => {
                let Some(a) = self.active.get_mut(&txn) else {
                    return;
                };
                if a.committing {
                    return;
                }
                a.tally.vote(from, yes);
                if a.tally.any_no() {
                    self.abort(ctx, txn);
                } else if a.tally.all_yes() {
                    self.commit(ctx, txn);
                }
            }
            Msg::DecisionAck { txn } => {
                let Some(a) = self.active.get_mut(&txn) else {
                    return;
                };
                if !a.committing {
                    return;
                }
                if a.tally.ack(from) && !self.unlogged.contains(&txn) {
                    // The end record: nobody will ask about this transaction again.
                    if let Some(r) = ctx.durable().coord_log.get_mut(&txn) {
                        r.ended = true;
                    }
                    self.active.remove(&txn);
                    ctx.cancel_timer(Timer::Resend(txn));
                }
            }
            Msg::DecisionRequest { txn } => {
                if let Some(commit) = self.outcome(ctx, txn) {
                    ctx.send(from, Msg::Decision { txn, commit });
                }
            }
            _ => {}
        }
    }

    /// Answers a client asking about its transaction (nothing while votes are coming in).
    fn answer_client(&mut self, ctx: &mut Ctx, txn: TxnId) {
        let committed = self.outcome(ctx, txn) == Some(true);
        let active = self.active.contains_key(&txn);
        if let Some(c) = self.front.status(txn, committed.then_some(true), active) {
            super::reply(ctx, txn, c);
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx, t: Timer) {
        match t {
            Timer::Votes(txn) => {
                let Some(a) = self.active.get(&txn) else {
                    return;
                };
                if a.committing {
                    return;
                }
                // BUG commit_without_all_votes: a vote that did not come is taken for a yes.
                let lenient = self.spec.bug == Some(TwoPcBug::CommitWithoutAllVotes);
                if lenient && !a.tally.any_no() {
                    self.commit(ctx, txn);
                } else {
                    self.abort(ctx, txn);
                }
            }
            Timer::Resend(txn) => self.resend(ctx, txn),
            Timer::Flush(txn) if self.unlogged.remove(&txn) => self.log_commit(ctx, txn),
            _ => {}
        }
    }

    fn log_commit(&mut self, ctx: &mut Ctx, txn: TxnId) {
        let participants = self.active[&txn].tally.participants.clone();
        ctx.durable().coord_log.insert(
            txn,
            CoordRecord {
                participants,
                state: CoordState::Committed,
                ended: false,
            },
        );
    }

    /// Every participant voted yes: force-write commit, then send it.
    fn commit(&mut self, ctx: &mut Ctx, txn: TxnId) {
        let a = self.active.get_mut(&txn).expect("committing an active txn");
        assert!(
            self.spec.bug == Some(TwoPcBug::CommitWithoutAllVotes) || a.tally.all_yes(),
            "{txn}: commit without a yes vote from every participant"
        );
        a.committing = true;
        ctx.cancel_timer(Timer::Votes(txn));
        if self.spec.bug == Some(TwoPcBug::DecideBeforeLog) {
            // BUG decide_before_log: the commit leaves now; the record is durable only later.
            self.unlogged.insert(txn);
            ctx.set_timer(Timer::Flush(txn), self.spec.log_delay);
        } else {
            self.log_commit(ctx, txn);
        }
        self.front.decided(ctx, txn, true);
        self.resend(ctx, txn);
    }

    /// Abort: not logged (presumed abort); every participant is told.
    fn abort(&mut self, ctx: &mut Ctx, txn: TxnId) {
        let a = self.active.remove(&txn).expect("aborting an active txn");
        debug_assert!(!a.committing);
        ctx.cancel_timer(Timer::Votes(txn));
        for p in &a.tally.participants {
            ctx.send(NodeId(*p), Msg::Decision { txn, commit: false });
        }
        self.front.decided(ctx, txn, false);
    }

    /// Sends commit to every participant that has not acknowledged it, and again later.
    fn resend(&mut self, ctx: &mut Ctx, txn: TxnId) {
        let Some(a) = self.active.get(&txn) else {
            return;
        };
        for p in a
            .tally
            .participants
            .iter()
            .filter(|p| !a.tally.acks.contains(p))
        {
            ctx.send(NodeId(*p), Msg::Decision { txn, commit: true });
        }
        ctx.set_timer(Timer::Resend(txn), self.spec.timeout);
    }
}

/// A participant (resource manager), nodes `n1..`.
#[derive(Clone, Debug)]
pub struct Participant {
    spec: TwoPcSpec,
    keys: u32,
    rm: Rm,
}

impl Participant {
    pub fn new(spec: &TwoPcSpec, keys: u32) -> Self {
        Participant {
            spec: spec.clone(),
            keys,
            rm: Rm::new(spec.vote_no),
        }
    }

    /// Start, or recovery: the log's undecided transactions hold their locks again, and
    /// their decision is asked for at once.
    pub fn on_start(&mut self, ctx: &mut Ctx) {
        for txn in self.rm.start(ctx, self.keys, self.spec.bank.balance) {
            self.ask(ctx, txn);
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Msg) {
        match msg {
            Msg::Prepare {
                txn,
                ops,
                participants,
            } => {
                // BUG vote_before_log: the yes vote reaches the log only `log_delay` later.
                let later =
                    (self.spec.bug == Some(TwoPcBug::VoteBeforeLog)).then_some(self.spec.log_delay);
                let fresh = self.rm.state(ctx, txn).is_none();
                let yes = self.rm.prepare(ctx, txn, &ops, &participants, later);
                ctx.send(from, Msg::Vote { txn, yes });
                if yes && fresh {
                    ctx.set_timer(Timer::Decision(txn), self.spec.decision_timeout);
                }
            }
            Msg::Decision { txn, commit } => {
                self.rm.decide(ctx, txn, commit);
                ctx.cancel_timer(Timer::Decision(txn));
                if from == COORDINATOR {
                    ctx.send(from, Msg::DecisionAck { txn });
                }
            }
            Msg::DecisionRequest { txn } => match self.rm.state(ctx, txn) {
                Some(s @ (RmState::Committed | RmState::Aborted)) => ctx.send(
                    from,
                    Msg::Decision {
                        txn,
                        commit: s == RmState::Committed,
                    },
                ),
                // Not voted: free to abort, and then the coordinator cannot commit.
                None => {
                    self.rm.decide(ctx, txn, false);
                    ctx.send(from, Msg::Decision { txn, commit: false });
                }
                Some(_) => {} // uncertain too: no help
            },
            _ => {}
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx, t: Timer) {
        match t {
            Timer::Decision(txn) => {
                if !matches!(self.rm.state(ctx, txn), Some(RmState::Voted)) {
                    return;
                }
                if self.spec.bug == Some(TwoPcBug::UnilateralAbort) {
                    // BUG unilateral_abort: an uncertain participant must not decide alone.
                    self.rm.decide(ctx, txn, false);
                    return;
                }
                self.rm.mark_overdue(ctx, txn);
                self.ask(ctx, txn);
            }
            Timer::Flush(txn) => self.rm.flush(ctx, txn),
            _ => {}
        }
    }

    /// Asks the coordinator (and, cooperatively, the peers) for the decision, and again later.
    fn ask(&mut self, ctx: &mut Ctx, txn: TxnId) {
        ctx.send(COORDINATOR, Msg::DecisionRequest { txn });
        if self.spec.cooperative {
            let me = ctx.id().0;
            for p in self.rm.participants(ctx, txn) {
                if p != me {
                    ctx.send(NodeId(p), Msg::DecisionRequest { txn });
                }
            }
        }
        ctx.set_timer(Timer::Decision(txn), self.spec.decision_timeout);
    }
}
