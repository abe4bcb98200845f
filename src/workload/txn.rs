//! A transaction client usable by any atomic-commit protocol (2PC, 3PC): bank transfers between
//! accounts that live on different participants, so that "the total is conserved" can be
//! checked beside atomicity. One transaction at a time; a timeout per attempt, after which the
//! client asks the coordinator for the outcome (`Status`, never a second `Begin`); an aborted
//! transfer is retried with a new transaction id, up to `attempts` times; the outcome is
//! recorded as unknown when the client gives up asking.
//!
//! Each transaction is one `OpRecord` (kind `transfer`): `Ok` committed, `Fail` aborted,
//! `Unknown` not learned, so latency and throughput plots work as for any protocol.

use serde::{Deserialize, Serialize};

use super::{OpRecord, OpStatus, WorkloadSpec};
use crate::sim::{Context, Node, NodeId, Time};

/// The bank the transfers run against: every account starts with `balance`; a transfer moves
/// between 1 and `amount_max` from one account to another.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BankSpec {
    pub balance: u32,
    pub amount_max: u32,
}

impl Default for BankSpec {
    fn default() -> Self {
        BankSpec {
            balance: 100,
            amount_max: 10,
        }
    }
}

impl BankSpec {
    pub fn validate(&self) -> Result<(), String> {
        if self.amount_max == 0 {
            return Err("bank.amount_max must be at least 1".into());
        }
        if self.balance > 1_000_000_000 {
            return Err("bank.balance must be at most 1000000000".into());
        }
        Ok(())
    }
}

/// A transaction's identity: the client and its per-client sequence number. A retry of an
/// aborted transfer is a new transaction (a new `seq`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TxnId {
    pub client: u32,
    pub seq: u32,
}

impl std::fmt::Display for TxnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "t{}.{}", self.client, self.seq)
    }
}

/// Move `amount` from account `from` to account `to` (accounts are `a0..a{keys-1}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Transfer {
    pub from: u32,
    pub to: u32,
    pub amount: u32,
}

/// What a client asks of the coordinator.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TxnRequest {
    /// Run this transaction (sent once per transaction).
    Begin { txn: TxnId, transfer: Transfer },
    /// What became of this transaction? (a timed-out attempt asks instead of beginning again)
    Status { txn: TxnId },
}

/// The coordinator's answer: the transaction's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TxnReply {
    pub txn: TxnId,
    pub committed: bool,
}

/// The client's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TxnTimer {
    Think,
    /// Attempt `attempt` of transaction `seq` took too long.
    Timeout(u32, u32),
}

/// What a client reports (the engine stamps each with true time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnObs {
    Invoke {
        txn: TxnId,
        transfer: Transfer,
    },
    Complete {
        txn: TxnId,
        committed: bool,
    },
    /// The client stopped asking: the outcome is unknown.
    GiveUp {
        txn: TxnId,
    },
}

/// What a protocol provides so that its node type can host a `TxnClient`.
pub trait TxnNode: Node {
    fn txn_request(r: TxnRequest) -> Self::Msg;
    fn txn_timer(t: TxnTimer) -> Self::Timer;
    fn txn_obs(o: TxnObs) -> Self::Obs;
}

/// One client.
#[derive(Clone, Debug)]
pub struct TxnClient {
    pub index: u32,
    spec: WorkloadSpec,
    bank: BankSpec,
    coordinator: NodeId,
    seq: u32,
    issued: u32,
    pending: Option<(TxnId, Transfer)>,
    attempt: u32,
    /// An aborted transfer to run again under a new id, and how many times it ran.
    retry: Option<(Transfer, u32)>,
}

impl TxnClient {
    pub fn new(index: u32, spec: &WorkloadSpec, bank: &BankSpec, coordinator: NodeId) -> Self {
        TxnClient {
            index,
            spec: spec.clone(),
            bank: bank.clone(),
            coordinator,
            seq: 0,
            issued: 0,
            pending: None,
            attempt: 0,
            retry: None,
        }
    }

    pub fn on_start<N: TxnNode>(&mut self, ctx: &mut Context<'_, N>) {
        self.think(ctx);
    }

    fn think<N: TxnNode>(&mut self, ctx: &mut Context<'_, N>) {
        let d = ctx.random_range(self.spec.think.0, self.spec.think.1);
        ctx.set_timer(N::txn_timer(TxnTimer::Think), d);
    }

    /// A transfer between two distinct accounts (one account: a transfer to itself).
    fn next_transfer<N: TxnNode>(&mut self, ctx: &mut Context<'_, N>) -> Transfer {
        let keys = self.spec.keys.max(1) as u64;
        let from = ctx.random_range(0, keys - 1) as u32;
        let to = if keys > 1 {
            let t = ctx.random_range(0, keys - 2) as u32;
            if t >= from { t + 1 } else { t }
        } else {
            from
        };
        let amount = ctx.random_range(1, self.bank.amount_max.max(1) as u64) as u32;
        Transfer { from, to, amount }
    }

    pub fn on_timer<N: TxnNode>(&mut self, ctx: &mut Context<'_, N>, t: TxnTimer, now_true: Time) {
        match t {
            TxnTimer::Think => {
                let limit_reached =
                    self.spec.ops_per_client > 0 && self.issued >= self.spec.ops_per_client;
                if self.pending.is_some() || limit_reached || now_true >= self.spec.stop {
                    return;
                }
                let transfer = match self.retry {
                    Some((t, _)) => t,
                    None => self.next_transfer(ctx),
                };
                self.seq += 1;
                self.issued += 1;
                let txn = TxnId {
                    client: self.index,
                    seq: self.seq,
                };
                ctx.observe(N::txn_obs(TxnObs::Invoke { txn, transfer }));
                self.pending = Some((txn, transfer));
                self.attempt = 1;
                ctx.send(
                    self.coordinator,
                    N::txn_request(TxnRequest::Begin { txn, transfer }),
                );
                ctx.set_timer(
                    N::txn_timer(TxnTimer::Timeout(self.seq, 1)),
                    self.spec.timeout,
                );
            }
            TxnTimer::Timeout(seq, attempt) => {
                let Some((txn, _)) = self.pending else {
                    return;
                };
                if txn.seq != seq || attempt != self.attempt {
                    return;
                }
                if self.attempt >= self.spec.attempts {
                    ctx.observe(N::txn_obs(TxnObs::GiveUp { txn }));
                    self.pending = None;
                    self.retry = None;
                    self.think(ctx);
                    return;
                }
                self.attempt += 1;
                ctx.send(self.coordinator, N::txn_request(TxnRequest::Status { txn }));
                ctx.set_timer(
                    N::txn_timer(TxnTimer::Timeout(seq, self.attempt)),
                    self.spec.timeout,
                );
            }
        }
    }

    pub fn on_reply<N: TxnNode>(&mut self, ctx: &mut Context<'_, N>, reply: TxnReply) {
        let Some((txn, transfer)) = self.pending else {
            return;
        };
        if txn != reply.txn {
            return; // a late duplicate
        }
        ctx.observe(N::txn_obs(TxnObs::Complete {
            txn,
            committed: reply.committed,
        }));
        self.pending = None;
        let runs = self.retry.map_or(1, |(_, n)| n + 1);
        self.retry = (!reply.committed && runs < self.spec.attempts).then_some((transfer, runs));
        self.think(ctx);
    }
}

/// The clients' history as `OpRecord`s (invocation order), with each record's transaction.
pub fn history(obs: impl Iterator<Item = (Time, TxnObs)>) -> (Vec<OpRecord>, Vec<TxnId>) {
    let mut records: Vec<OpRecord> = Vec::new();
    let mut txns: Vec<TxnId> = Vec::new();
    let mut open: std::collections::BTreeMap<TxnId, usize> = std::collections::BTreeMap::new();
    for (t, o) in obs {
        match o {
            TxnObs::Invoke { txn, transfer } => {
                open.insert(txn, records.len());
                records.push(OpRecord {
                    client: txn.client,
                    call: t,
                    ret: None,
                    status: OpStatus::Unknown,
                    kind: "transfer".into(),
                    key: format!("a{}->a{}", transfer.from, transfer.to).into(),
                    desc: format!(
                        "c{} {txn} transfer {} a{}->a{} -> ?",
                        txn.client, transfer.amount, transfer.from, transfer.to
                    ),
                });
                txns.push(txn);
            }
            TxnObs::Complete { txn, committed } => {
                if let Some(i) = open.remove(&txn) {
                    let r = &mut records[i];
                    r.ret = Some(t);
                    r.status = if committed {
                        OpStatus::Ok
                    } else {
                        OpStatus::Fail
                    };
                    let d = r.desc.trim_end_matches('?').to_string();
                    r.desc = d + if committed { "committed" } else { "aborted" };
                }
            }
            TxnObs::GiveUp { txn } => {
                open.remove(&txn);
            }
        }
    }
    (records, txns)
}
