//! Clients and their recorded history: what a workload asks of a protocol, and the
//! protocol-neutral record of each operation that reports and summaries read.

use serde::{Deserialize, Serialize};

pub mod kv;
pub mod lock;

use crate::sim::{MILLIS, SECS, Time};

/// The mix of operations a client draws from (relative weights).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpMix {
    pub get: u32,
    pub put: u32,
    pub append: u32,
    pub cas: u32,
}

impl Default for OpMix {
    fn default() -> Self {
        OpMix {
            get: 2,
            put: 1,
            append: 1,
            cas: 0,
        }
    }
}

/// What the clients do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadSpec {
    /// Number of clients (each one node after the servers, one operation at a time).
    pub clients: u32,
    /// Keys are `k0..k{keys-1}`.
    pub keys: u32,
    pub mix: OpMix,
    /// Pause between one operation's completion and the next invocation, uniform in [min, max].
    #[serde(with = "crate::sim::dur::pair")]
    pub think: (Time, Time),
    /// Operations each client issues (0 = no limit other than `stop`).
    pub ops_per_client: u32,
    /// No new operation is invoked after this time.
    #[serde(with = "crate::sim::dur")]
    pub stop: Time,
    /// A client gives up on one attempt after this long, and retries (same request id).
    #[serde(with = "crate::sim::dur")]
    pub timeout: Time,
    /// Attempts before the outcome is recorded as unknown.
    pub attempts: u32,
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        WorkloadSpec {
            clients: 3,
            keys: 3,
            mix: OpMix::default(),
            think: (10 * MILLIS, 50 * MILLIS),
            ops_per_client: 0,
            stop: 25 * SECS,
            timeout: 500 * MILLIS,
            attempts: 4,
        }
    }
}

impl WorkloadSpec {
    pub fn validate(&self) -> Result<(), String> {
        if self.clients == 0 {
            return Err("workload.clients must be at least 1".into());
        }
        if self.keys == 0 {
            return Err("workload.keys must be at least 1".into());
        }
        let m = &self.mix;
        if m.get + m.put + m.append + m.cas == 0 {
            return Err("workload.mix: every operation weight is 0 (empty workload)".into());
        }
        if self.think.0 > self.think.1 {
            return Err("workload.think: min is greater than max".into());
        }
        if self.timeout == 0 {
            return Err("workload.timeout must be positive".into());
        }
        if self.attempts == 0 {
            return Err("workload.attempts must be at least 1".into());
        }
        if self.stop == 0 {
            return Err(
                "workload.stop must be positive (no operation would ever be invoked)".into(),
            );
        }
        Ok(())
    }
}

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpStatus {
    /// Completed; took effect.
    Ok,
    /// Certainly did not take effect.
    Fail,
    /// May or may not have taken effect (timed out, client gave up).
    Unknown,
}

/// One client operation as reports see it, whatever the protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpRecord {
    pub client: u32,
    /// Invocation time.
    pub call: Time,
    /// Completion time, `None` when the outcome is unknown.
    pub ret: Option<Time>,
    pub status: OpStatus,
    /// e.g. `get`, `put`, `append`.
    pub kind: String,
    pub key: String,
    /// Human-readable `put k1 "7" -> ok`.
    pub desc: String,
}
