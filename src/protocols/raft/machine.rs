//! The state machine that Raft replicates: the hook on Raft's apply path. Raft orders
//! commands in its log and hands each committed one, in index order and once per server
//! life, to a [`StateMachine`]; it knows nothing else of what the commands mean. The
//! key-value store ([`KvMachine`]) is the default; `CoordinatorLock` replicates its lock
//! table (`protocols::lock::table`) through the same Raft.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;

use crate::workload::kv::{KvOp, KvResult, OpText, Sessions};

/// A deterministic state machine fed by Raft's committed log.
pub trait StateMachine: Clone + Debug + Default {
    /// An operation as it travels in requests and log entries.
    type Op: Clone + Debug + PartialEq + Eq + Hash + OpText;
    /// What a client is answered.
    type Result: Clone + Debug + PartialEq + Eq + Hash;
    /// Applies the committed entry at log `index`: a client's request (`Some((client, seq))`,
    /// applied once however often it was retried) or an operation the leader proposed on its
    /// own (`None`). A request's result is kept for [`answered`](Self::answered), which the
    /// leader asks when a client waits on the entry: the replicas that answer nobody (every
    /// follower, for every entry) copy no result.
    fn apply(&mut self, index: u64, request: Option<(u32, u64)>, op: &Self::Op);
    /// The result of (`client`, `seq`) if it is that client's last applied request: the
    /// answer to the entry just applied, and to a retry without a new log entry.
    fn answered(&self, client: u32, seq: u64) -> Option<Self::Result>;
    /// An answer from local state without going through the log, for a read-only operation
    /// (only the `stale_leader_read` bug uses it).
    fn read_locally(&self, _op: &Self::Op) -> Option<Self::Result> {
        None
    }
    /// The state's name in the step-through view.
    const VIEW_NAME: &'static str = "state";
    /// The state as the step-through view shows it, in one line.
    fn view(&self) -> String;
}

/// The key-value store: a map and, per client, the last applied request (Raft §8).
#[derive(Clone, Debug, Default)]
pub struct KvMachine {
    pub kv: BTreeMap<String, String>,
    sessions: Sessions,
}

impl StateMachine for KvMachine {
    type Op = KvOp;
    type Result = KvResult;
    fn apply(&mut self, _index: u64, request: Option<(u32, u64)>, op: &KvOp) {
        if let Some((client, seq)) = request {
            let kv = &mut self.kv;
            self.sessions.run_once(client, seq, || op.apply(kv));
        }
    }
    fn answered(&self, client: u32, seq: u64) -> Option<KvResult> {
        self.sessions.answered(client, seq)
    }
    const VIEW_NAME: &'static str = "kv";
    fn view(&self) -> String {
        KvOp::map_view(&self.kv)
    }
    fn read_locally(&self, op: &KvOp) -> Option<KvResult> {
        match op {
            KvOp::Get { key } => Some(KvResult::Value(
                self.kv
                    .get(key.as_str())
                    .map_or_else(Default::default, |v| v.as_str().into()),
            )),
            _ => None,
        }
    }
}
