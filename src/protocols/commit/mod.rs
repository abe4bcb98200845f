//! Atomic commit: two-phase commit (`twopc.rs`) and Skeen's three-phase commit
//! (`threepc.rs`) over a bank whose accounts live on several participants (resource
//! managers). What both share is here: the messages, the participant's data, lock table and
//! write-ahead log (`Rm`), the coordinator's bookkeeping of clients (`Front`), the node type
//! and the run; `checks.rs` judges a run (atomicity, validity, conservation, liveness) and
//! measures blocking.
//!
//! Server `n0` is the coordinator (transaction manager); servers `n1..` are the participants.
//! Account `a{k}` lives on participant `1 + k % (servers - 1)`.
//!
//! Invariants kept here (asserted): a lock is held by at most one transaction, and exactly the
//! undecided transactions in a participant's log hold locks; a balance never goes negative; a
//! participant's decision, once logged, never changes.

use std::collections::{BTreeMap, BTreeSet};

use super::{RunOutcome, RunSpec};
use crate::sim::{Context, Node, NodeId, Protocol, Sim, SimConfig};
use crate::workload::WorkloadSpec;
use crate::workload::txn::{
    BankSpec, Transfer, TxnClient, TxnId, TxnNode, TxnObs, TxnReply, TxnRequest, TxnTimer,
};

mod checks;
pub mod threepc;
pub mod twopc;

pub use threepc::ThreePcSpec;
pub use twopc::{TwoPcBug, TwoPcSpec};

/// The coordinator.
pub const COORDINATOR: NodeId = NodeId(0);

/// One participant's part of a transaction: (account, signed amount) pairs.
pub type Ops = Vec<(u32, i64)>;

/// The participant that holds account `a`.
pub fn home(account: u32, servers: u32) -> u32 {
    1 + account % (servers - 1).max(1)
}

/// A transfer split by participant: (participant, its ops), participants in id order.
pub fn split(t: &Transfer, servers: u32) -> Vec<(u32, Ops)> {
    let mut by: BTreeMap<u32, Ops> = BTreeMap::new();
    by.entry(home(t.from, servers))
        .or_default()
        .push((t.from, -(t.amount as i64)));
    by.entry(home(t.to, servers))
        .or_default()
        .push((t.to, t.amount as i64));
    by.into_iter().collect()
}

/// Messages. 2PC uses prepare, votes, decisions and decision requests; 3PC adds pre-commit and
/// the termination protocol's state requests.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    Client(TxnRequest),
    Reply(TxnReply),
    /// 2PC's prepare, 3PC's can-commit: the participant's part and who else takes part.
    Prepare {
        txn: TxnId,
        ops: Ops,
        participants: Vec<u32>,
    },
    Vote {
        txn: TxnId,
        yes: bool,
    },
    PreCommit {
        txn: TxnId,
    },
    PreCommitAck {
        txn: TxnId,
    },
    /// Commit (3PC's do-commit) or abort.
    Decision {
        txn: TxnId,
        commit: bool,
    },
    DecisionAck {
        txn: TxnId,
    },
    /// An uncertain or recovering node asks whether the transaction was decided.
    DecisionRequest {
        txn: TxnId,
    },
    /// 3PC termination: the backup coordinator of `round` collects states.
    StateRequest {
        txn: TxnId,
        round: u32,
    },
    /// `None`: recovering (it failed while undecided, so its state does not count).
    StateReply {
        txn: TxnId,
        round: u32,
        state: Option<RmState>,
    },
}

/// A participant's state for one transaction (Skeen's w, p, c, a). No record: q (it has not
/// voted yes), which under presumed abort means abort.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RmState {
    /// Voted yes, no decision: uncertain, holding its locks.
    Voted,
    /// 3PC: pre-committed (committable), still holding its locks.
    PreCommitted,
    Committed,
    Aborted,
}

impl RmState {
    pub fn decided(self) -> Option<bool> {
        match self {
            RmState::Committed => Some(true),
            RmState::Aborted => Some(false),
            _ => None,
        }
    }
}

/// A participant's log record of one transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct RmRecord {
    pub ops: Ops,
    pub participants: Vec<u32>,
    pub state: RmState,
}

/// The coordinator's state for one transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordState {
    /// 3PC: prepares sent (logged so that a recovered coordinator knows to ask).
    Started,
    /// 3PC: pre-commits sent.
    PreCommitted,
    Committed,
    /// Logged by 3PC only; 2PC presumes abort when there is no record.
    Aborted,
}

/// The coordinator's log record of one transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct CoordRecord {
    pub participants: Vec<u32>,
    pub state: CoordState,
    /// 2PC: every participant acknowledged the commit (the end record).
    pub ended: bool,
}

/// What survives a crash: a participant's accounts and log, the coordinator's log.
#[derive(Clone, Debug, Default)]
pub struct Durable {
    pub initialized: bool,
    pub balances: BTreeMap<u32, i64>,
    pub rm_log: BTreeMap<TxnId, RmRecord>,
    pub coord_log: BTreeMap<TxnId, CoordRecord>,
}

/// Timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    Client(TxnTimer),
    /// Coordinator: votes are overdue.
    Votes(TxnId),
    /// 3PC coordinator or backup: pre-commit acknowledgements are overdue.
    Acks(TxnId),
    /// 2PC coordinator: resend the commit to participants that did not acknowledge it.
    Resend(TxnId),
    /// A log write that was not forced reaches the disk (bug variants only).
    Flush(TxnId),
    /// Participant: the decision is overdue (2PC: ask; 3PC: termination step).
    Decision(TxnId),
    /// 3PC backup coordinator: state replies are overdue.
    States(TxnId),
}

/// What the nodes report to the checks (stamped with true time and the node).
#[derive(Clone, Debug)]
pub enum Obs {
    Client(TxnObs),
    /// A participant's role changed: working, uncertain, blocked (or coordinator).
    Role(&'static str),
    /// The coordinator began a transaction with these participants.
    Begun {
        txn: TxnId,
        participants: Vec<u32>,
    },
    Voted {
        txn: TxnId,
        yes: bool,
    },
    /// A node decided (coordinator, participant, or 3PC backup coordinator).
    Decided {
        txn: TxnId,
        commit: bool,
    },
    /// A participant's decision is overdue: from now until it learns it, it is blocked.
    Overdue {
        txn: TxnId,
    },
    /// A participant holding a decision was told the opposite (the message is ignored).
    Contradicted {
        txn: TxnId,
        commit: bool,
    },
}

/// A participant's resource manager: its accounts, strict two-phase locking (no waiting: a
/// conflict is a no vote) and its write-ahead log. The protocols decide *when* to call it.
#[derive(Clone, Debug)]
pub struct Rm {
    vote_no: f64,
    /// Account → the transaction holding its lock.
    locks: BTreeMap<u32, TxnId>,
    /// Yes votes not yet on disk (only a bug variant votes before logging).
    unlogged: BTreeMap<TxnId, RmRecord>,
    overdue: BTreeSet<TxnId>,
    role: &'static str,
}

type Ctx<'a> = Context<'a, CommitNode>;

impl Rm {
    pub fn new(vote_no: f64) -> Self {
        Rm {
            vote_no,
            locks: BTreeMap::new(),
            unlogged: BTreeMap::new(),
            overdue: BTreeSet::new(),
            role: "",
        }
    }

    /// At start, opens the accounts; after a restart, re-acquires the locks of every
    /// undecided transaction in the log (the vote record carries them). Returns those.
    pub fn start(&mut self, ctx: &mut Ctx, keys: u32, balance: u32) -> Vec<TxnId> {
        let me = ctx.id().0;
        let servers = ctx.servers();
        let d = ctx.durable();
        if !d.initialized {
            d.initialized = true;
            for a in (0..keys).filter(|&a| home(a, servers) == me) {
                d.balances.insert(a, balance as i64);
            }
        }
        let mut undecided = vec![];
        for (txn, r) in &d.rm_log {
            if r.state.decided().is_none() {
                for (a, _) in &r.ops {
                    let prev = self.locks.insert(*a, *txn);
                    assert!(
                        prev.is_none_or(|p| p == *txn),
                        "two undecided transactions in the log lock a{a}"
                    );
                }
                undecided.push(*txn);
            }
        }
        self.report_role(ctx);
        undecided
    }

    /// The transaction's state here: logged, or voted but not yet logged.
    pub fn state(&self, ctx: &Ctx, txn: TxnId) -> Option<RmState> {
        ctx.durable_ref()
            .rm_log
            .get(&txn)
            .or_else(|| self.unlogged.get(&txn))
            .map(|r| r.state)
    }

    /// The other participants of a transaction this participant voted on.
    pub fn participants(&self, ctx: &Ctx, txn: TxnId) -> Vec<u32> {
        ctx.durable_ref()
            .rm_log
            .get(&txn)
            .or_else(|| self.unlogged.get(&txn))
            .map(|r| r.participants.clone())
            .unwrap_or_default()
    }

    /// Votes on a prepare: yes only if every account is free, no account would go negative
    /// and the random veto (`vote_no`) does not fire. A yes vote locks the accounts and is
    /// force-written with them before the reply leaves (unless `log_later`, a bug variant:
    /// then it reaches the log when the `Flush` timer fires). A repeated prepare gets the
    /// same answer.
    pub fn prepare(
        &mut self,
        ctx: &mut Ctx,
        txn: TxnId,
        ops: &Ops,
        participants: &[u32],
        log_later: Option<crate::sim::Time>,
    ) -> bool {
        if let Some(s) = self.state(ctx, txn) {
            return s != RmState::Aborted;
        }
        let free = ops
            .iter()
            .all(|(a, _)| self.locks.get(a).is_none_or(|t| *t == txn));
        let funded = ops
            .iter()
            .all(|(a, delta)| ctx.durable_ref().balances.get(a).copied().unwrap_or(0) + delta >= 0);
        let owned = ops
            .iter()
            .all(|(a, _)| ctx.durable_ref().balances.contains_key(a));
        let veto = ctx.random_bool(self.vote_no);
        let yes = free && funded && owned && !veto;
        let record = RmRecord {
            ops: ops.clone(),
            participants: participants.to_vec(),
            state: if yes {
                RmState::Voted
            } else {
                RmState::Aborted
            },
        };
        if yes {
            for (a, _) in ops {
                self.locks.insert(*a, txn);
            }
        }
        match log_later {
            Some(delay) if yes => {
                self.unlogged.insert(txn, record);
                ctx.set_timer(Timer::Flush(txn), delay);
            }
            // A no vote is an abort: it needs no force (no record means abort anyway).
            _ => {
                ctx.durable().rm_log.insert(txn, record);
            }
        }
        ctx.observe(Obs::Voted { txn, yes });
        if yes {
            self.report_role(ctx);
        }
        yes
    }

    /// The lazily written vote reaches the log.
    pub fn flush(&mut self, ctx: &mut Ctx, txn: TxnId) {
        if let Some(r) = self.unlogged.remove(&txn) {
            ctx.durable().rm_log.entry(txn).or_insert(r);
        }
    }

    /// 3PC: moves an uncertain transaction to pre-committed (force-written). False if the
    /// transaction is not in the uncertain state here.
    pub fn pre_commit(&mut self, ctx: &mut Ctx, txn: TxnId) -> bool {
        match ctx.durable().rm_log.get_mut(&txn) {
            Some(r) if r.state == RmState::Voted => {
                r.state = RmState::PreCommitted;
                true
            }
            Some(r) => r.state == RmState::PreCommitted,
            None => false,
        }
    }

    /// Applies a decision: on commit the transaction's ops reach the accounts; either way its
    /// locks are released. A decision is final: a contrary one is reported and ignored.
    /// Deciding a transaction never voted on records an abort (a commit of it is refused:
    /// this participant never voted yes). Returns whether the decision was new.
    pub fn decide(&mut self, ctx: &mut Ctx, txn: TxnId, commit: bool) -> bool {
        self.flush(ctx, txn);
        let d = ctx.durable();
        let Some(r) = d.rm_log.get_mut(&txn) else {
            // No record: this participant never voted yes (or forgot it did), so it aborts;
            // nothing is locked, nothing to undo. A commit it is told of is refused.
            d.rm_log.insert(
                txn,
                RmRecord {
                    ops: vec![],
                    participants: vec![],
                    state: RmState::Aborted,
                },
            );
            ctx.observe(Obs::Decided { txn, commit: false });
            if commit {
                ctx.observe(Obs::Contradicted { txn, commit });
            }
            return true;
        };
        if let Some(was) = r.state.decided() {
            if was != commit {
                ctx.observe(Obs::Contradicted { txn, commit });
            }
            return false;
        }
        r.state = if commit {
            RmState::Committed
        } else {
            RmState::Aborted
        };
        let ops = r.ops.clone();
        if commit {
            for (a, delta) in &ops {
                let b = d.balances.entry(*a).or_default();
                *b += delta;
                assert!(
                    *b >= 0,
                    "a{a} went negative: the yes vote checked the funds"
                );
            }
        }
        // A transfer within one account names it twice; it holds one lock.
        let accounts: BTreeSet<u32> = ops.iter().map(|(a, _)| *a).collect();
        for a in accounts {
            let holder = self.locks.remove(&a);
            assert_eq!(holder, Some(txn), "a decided transaction held its locks");
        }
        self.overdue.remove(&txn);
        ctx.observe(Obs::Decided { txn, commit });
        self.report_role(ctx);
        true
    }

    /// The transaction is still undecided past its timeout: this participant is blocked.
    pub fn mark_overdue(&mut self, ctx: &mut Ctx, txn: TxnId) {
        if self.overdue.insert(txn) {
            ctx.observe(Obs::Overdue { txn });
            self.report_role(ctx);
        }
    }

    /// Working (nothing undecided), uncertain (holding locks for an undecided transaction) or
    /// blocked (one of them is overdue).
    fn report_role(&mut self, ctx: &mut Ctx) {
        let role = if !self.overdue.is_empty() {
            "blocked"
        } else if !self.locks.is_empty() {
            "uncertain"
        } else {
            "working"
        };
        if role != self.role {
            self.role = role;
            ctx.observe(Obs::Role(role));
        }
    }
}

/// The coordinator's front door, shared by 2PC and 3PC: which transactions each client has
/// begun (so that a late `Begin` never restarts one already answered), and the replies.
#[derive(Clone, Debug, Default)]
pub struct Front {
    /// Per client, the highest transaction sequence number seen (begun or asked about).
    seen: BTreeMap<u32, u32>,
    /// Transactions decided by this incarnation (aborts are not logged under presumed abort).
    decided: BTreeMap<TxnId, bool>,
}

impl Front {
    /// A `Begin` to act on: true if this transaction is new (never begun nor asked about).
    pub fn admit(&mut self, txn: TxnId) -> bool {
        let s = self.seen.entry(txn.client).or_insert(0);
        if txn.seq <= *s {
            return false;
        }
        *s = txn.seq;
        true
    }

    /// Answers a client's `Status`: the decision if `known` (logged) or decided by this
    /// incarnation; `None` while the transaction is `active` and undecided; otherwise abort:
    /// the transaction never began here (its `Begin` was lost, and now never will begin) or
    /// began in an earlier incarnation that logged no commit (presumed abort).
    pub fn status(&mut self, txn: TxnId, known: Option<bool>, active: bool) -> Option<bool> {
        if let Some(c) = known.or_else(|| self.decided.get(&txn).copied()) {
            return Some(c);
        }
        if active {
            return None;
        }
        self.admit(txn);
        Some(false)
    }

    /// Records a decision and tells the client.
    pub fn decided(&mut self, ctx: &mut Ctx, txn: TxnId, commit: bool) {
        self.decided.insert(txn, commit);
        ctx.observe(Obs::Decided { txn, commit });
        reply(ctx, txn, commit);
    }
}

impl Front {
    /// A client's `Begin`: if the transaction is new, its parts by participant (and the
    /// coordinator reports it begun); `None` for a repeated or outdated one.
    pub fn begin(&mut self, ctx: &mut Ctx, txn: TxnId, t: &Transfer) -> Option<Vec<(u32, Ops)>> {
        if !self.admit(txn) {
            return None;
        }
        let parts = split(t, ctx.servers());
        let participants = parts.iter().map(|(p, _)| *p).collect();
        ctx.observe(Obs::Begun { txn, participants });
        Some(parts)
    }
}

/// Sends each participant its part of `txn`; returns the tally that will count the answers.
pub fn send_prepares(ctx: &mut Ctx, txn: TxnId, parts: Vec<(u32, Ops)>) -> Tally {
    let participants: Vec<u32> = parts.iter().map(|(p, _)| *p).collect();
    for (p, ops) in parts {
        ctx.send(
            NodeId(p),
            Msg::Prepare {
                txn,
                ops,
                participants: participants.clone(),
            },
        );
    }
    Tally::new(participants)
}

/// What a transaction's participants answered the coordinator: votes, then acknowledgements
/// (of the commit in 2PC, of the pre-commit in 3PC).
#[derive(Clone, Debug)]
pub struct Tally {
    pub participants: Vec<u32>,
    pub votes: BTreeMap<u32, bool>,
    pub acks: BTreeSet<u32>,
}

impl Tally {
    pub fn new(participants: Vec<u32>) -> Self {
        Tally {
            participants,
            votes: BTreeMap::new(),
            acks: BTreeSet::new(),
        }
    }
    /// Records a participant's vote (others are ignored).
    pub fn vote(&mut self, from: NodeId, yes: bool) {
        if self.participants.contains(&from.0) {
            self.votes.insert(from.0, yes);
        }
    }
    pub fn all_yes(&self) -> bool {
        self.participants
            .iter()
            .all(|p| self.votes.get(p) == Some(&true))
    }
    pub fn any_no(&self) -> bool {
        self.votes.values().any(|y| !y)
    }
    /// Records an acknowledgement; true once every participant acknowledged.
    pub fn ack(&mut self, from: NodeId) -> bool {
        if self.participants.contains(&from.0) {
            self.acks.insert(from.0);
        }
        self.participants.iter().all(|p| self.acks.contains(p))
    }
}

/// Tells transaction `txn`'s client its outcome.
pub fn reply(ctx: &mut Ctx, txn: TxnId, committed: bool) {
    let client = NodeId(ctx.servers() + txn.client);
    ctx.send(client, Msg::Reply(TxnReply { txn, committed }));
}

/// A node of an atomic-commit run.
#[derive(Clone, Debug)]
pub enum CommitNode {
    TwoPcCoordinator(Box<twopc::Coordinator>),
    TwoPcParticipant(Box<twopc::Participant>),
    ThreePcCoordinator(Box<threepc::Coordinator>),
    ThreePcParticipant(Box<threepc::Participant>),
    Client(TxnClient),
}

impl Node for CommitNode {
    type Msg = Msg;
    type Timer = Timer;
    type Durable = Durable;
    type Obs = Obs;

    /// A coordinator's or participant's log (newest last) and a participant's balances; a
    /// client is drawn from its role timeline.
    fn view(&self, d: &Durable) -> Option<crate::sim::NodeView> {
        let txn = |t: &TxnId| format!("t{}.{}", t.client, t.seq);
        let v = match self {
            CommitNode::Client(_) => return None,
            CommitNode::TwoPcCoordinator(_) | CommitNode::ThreePcCoordinator(_) => {
                let log: Vec<String> = d
                    .coord_log
                    .iter()
                    .map(|(t, r)| {
                        format!(
                            "{} {:?}{}",
                            txn(t),
                            r.state,
                            if r.ended { " end" } else { "" }
                        )
                    })
                    .collect();
                crate::sim::NodeView::new("coordinator", None)
                    .log_tail(log.len() as u64, |i| (0, log[i as usize - 1].clone()))
            }
            _ => {
                let log: Vec<String> = d
                    .rm_log
                    .iter()
                    .map(|(t, r)| format!("{} {:?}", txn(t), r.state))
                    .collect();
                let balances: Vec<String> = d
                    .balances
                    .iter()
                    .map(|(a, b)| format!("a{a}={b}"))
                    .collect();
                crate::sim::NodeView::new("participant", None)
                    .field("balances", balances.join(" "))
                    .log_tail(log.len() as u64, |i| (0, log[i as usize - 1].clone()))
            }
        };
        Some(v)
    }

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        match self {
            CommitNode::TwoPcCoordinator(c) => c.on_start(ctx, false),
            CommitNode::TwoPcParticipant(p) => p.on_start(ctx),
            CommitNode::ThreePcCoordinator(c) => c.on_start(ctx),
            CommitNode::ThreePcParticipant(p) => p.on_start(ctx, false),
            CommitNode::Client(c) => c.on_start(ctx),
        }
    }
    fn on_restart(&mut self, ctx: &mut Context<'_, Self>) {
        match self {
            CommitNode::TwoPcCoordinator(c) => c.on_start(ctx, true),
            CommitNode::ThreePcParticipant(p) => p.on_start(ctx, true),
            _ => self.on_start(ctx),
        }
    }
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (CommitNode::Client(c), Msg::Reply(r)) => c.on_reply(ctx, r),
            (CommitNode::Client(_), _) => {}
            (CommitNode::TwoPcCoordinator(c), m) => c.on_message(ctx, from, m),
            (CommitNode::TwoPcParticipant(p), m) => p.on_message(ctx, from, m),
            (CommitNode::ThreePcCoordinator(c), m) => c.on_message(ctx, from, m),
            (CommitNode::ThreePcParticipant(p), m) => p.on_message(ctx, from, m),
        }
    }
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, t: Timer) {
        match (self, t) {
            (CommitNode::Client(c), Timer::Client(ct)) => {
                let now = ctx.now();
                c.on_timer(ctx, ct, now)
            }
            (CommitNode::Client(_), _) => {}
            (CommitNode::TwoPcCoordinator(c), t) => c.on_timer(ctx, t),
            (CommitNode::TwoPcParticipant(p), t) => p.on_timer(ctx, t),
            (CommitNode::ThreePcCoordinator(c), t) => c.on_timer(ctx, t),
            (CommitNode::ThreePcParticipant(p), t) => p.on_timer(ctx, t),
        }
    }
}

impl TxnNode for CommitNode {
    fn txn_request(r: TxnRequest) -> Msg {
        Msg::Client(r)
    }
    fn txn_timer(t: TxnTimer) -> Timer {
        Timer::Client(t)
    }
    fn txn_obs(o: TxnObs) -> Obs {
        Obs::Client(o)
    }
}

/// Which protocol a run builds its servers for.
#[derive(Clone, Debug)]
enum Kind {
    TwoPc(TwoPcSpec),
    ThreePc(ThreePcSpec),
}

/// Builds the coordinator, the participants and the clients.
struct CommitProtocol {
    kind: Kind,
    workload: WorkloadSpec,
    servers: u32,
}

impl Protocol for CommitProtocol {
    type Node = CommitNode;
    fn node(&self, id: NodeId, _durable: &Durable) -> CommitNode {
        let w = &self.workload;
        match &self.kind {
            _ if id.0 >= self.servers => {
                let bank = match &self.kind {
                    Kind::TwoPc(s) => &s.bank,
                    Kind::ThreePc(s) => &s.bank,
                };
                CommitNode::Client(TxnClient::new(id.0 - self.servers, w, bank, COORDINATOR))
            }
            Kind::TwoPc(s) if id == COORDINATOR => {
                CommitNode::TwoPcCoordinator(Box::new(twopc::Coordinator::new(s)))
            }
            Kind::TwoPc(s) => {
                CommitNode::TwoPcParticipant(Box::new(twopc::Participant::new(s, w.keys)))
            }
            Kind::ThreePc(s) if id == COORDINATOR => {
                CommitNode::ThreePcCoordinator(Box::new(threepc::Coordinator::new(s)))
            }
            Kind::ThreePc(s) => {
                CommitNode::ThreePcParticipant(Box::new(threepc::Participant::new(s, w.keys)))
            }
        }
    }
}

/// Checks both protocols offer.
pub const CHECKS: &[&str] = &["atomicity", "validity", "conservation", "liveness"];

/// A coordinator and at least one participant.
fn validate_common(servers: u32, vote_no: f64, bank: &BankSpec) -> Result<(), String> {
    if servers < 2 {
        return Err(
            "atomic commit needs at least 2 servers: the coordinator n0 and participants n1.."
                .into(),
        );
    }
    if !(0.0..=1.0).contains(&vote_no) {
        return Err(format!(
            "vote_no must be a probability in [0, 1], not {vote_no}"
        ));
    }
    bank.validate()
}

/// Runs a 2PC or 3PC scenario and judges it.
fn run(spec: &RunSpec, kind: Kind) -> RunOutcome {
    let mut cfg = SimConfig::new(spec.seed, spec.servers, spec.workload.clients);
    cfg.network = spec.network.clone();
    cfg.faults = spec.faults.clone();
    cfg.limits = spec.limits;
    cfg.record = spec.record;
    let balance = match &kind {
        Kind::TwoPc(s) => s.bank.balance,
        Kind::ThreePc(s) => s.bank.balance,
    };
    let protocol = CommitProtocol {
        kind,
        workload: spec.workload.clone(),
        servers: spec.servers,
    };
    let mut sim = Sim::new(protocol, cfg);
    let (stats, trace) = crate::protocols::stepper::run(&mut sim);
    let finals: Vec<Durable> = (1..spec.servers)
        .map(|i| sim.durable(NodeId(i)).clone())
        .collect();
    let obs = sim.take_observations();
    let expected_total = spec.workload.keys as i64 * balance as i64;
    RunOutcome {
        labels: trace.labels,
        replay: trace.replay,
        views: trace.views,
        ..checks::judge(spec, stats, obs, &finals, expected_total, trace.records)
    }
}
