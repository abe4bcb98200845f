//! Clients and their recorded history: what a workload asks of a protocol, and the
//! protocol-neutral record of each operation that reports and summaries read.

use serde::{Deserialize, Serialize};

pub mod kv;
pub mod lock;
pub mod open_loop;
pub mod txn;

use crate::sim::time::MAX_TIME;
use crate::sim::{MILLIS, SECS, Time, check_weights, fmt_duration};

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
    /// Liveness: once every fault is over, the longest a client that still has operations to
    /// issue may go without completing one. `None` (the default): derived from the network
    /// (worst loss and latency), the client's timeout, attempts and back-off, and the
    /// protocol's recovery time (`protocols::common::liveness_bound`).
    #[serde(with = "crate::sim::dur::opt")]
    pub liveness_bound: Option<Time>,
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
            liveness_bound: None,
        }
    }
}

/// The most clients a scenario may have (each is a node with its own links).
pub const MAX_CLIENTS: u32 = 1000;
/// The most keys (keys are named `k0..`; more keys than operations only spreads them thin).
pub const MAX_KEYS: u32 = 1_000_000;
/// The most attempts of one operation.
pub const MAX_ATTEMPTS: u32 = 1000;

impl WorkloadSpec {
    /// Checks the workload. The error names the field at fault (`clients`, `mix`, `think` ...)
    /// and what is wrong with it.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let err = |field: &str, msg: String| Err((field.to_string(), msg));
        let d = fmt_duration;
        if !(1..=MAX_CLIENTS).contains(&self.clients) {
            return err(
                "clients",
                format!("needs 1 to {MAX_CLIENTS} clients, got {}", self.clients),
            );
        }
        if !(1..=MAX_KEYS).contains(&self.keys) {
            return err(
                "keys",
                format!("needs 1 to {MAX_KEYS} keys, got {}", self.keys),
            );
        }
        let m = &self.mix;
        check_weights(&[
            ("get", m.get),
            ("put", m.put),
            ("append", m.append),
            ("cas", m.cas),
        ])
        .map_err(|(f, msg)| match f.as_str() {
            "" => ("mix".to_string(), format!("{msg} (empty workload)")),
            f => (format!("mix.{f}"), msg),
        })?;
        if self.think.0 > self.think.1 {
            return err(
                "think",
                format!(
                    "min ({}) is greater than max ({})",
                    d(self.think.0),
                    d(self.think.1)
                ),
            );
        }
        for (field, t) in [
            ("think", self.think.1),
            ("timeout", self.timeout),
            ("stop", self.stop),
        ] {
            if t > MAX_TIME {
                return err(field, format!("{} is longer than {}", d(t), d(MAX_TIME)));
            }
        }
        if self.timeout == 0 {
            return err("timeout", "an attempt's timeout must be positive".into());
        }
        if !(1..=MAX_ATTEMPTS).contains(&self.attempts) {
            return err(
                "attempts",
                format!("needs 1 to {MAX_ATTEMPTS} attempts, got {}", self.attempts),
            );
        }
        if self.liveness_bound == Some(0) {
            return err(
                "liveness_bound",
                "must be positive (or None for the default)".into(),
            );
        }
        if self.stop == 0 {
            return err(
                "stop",
                "must be positive (no operation would ever be invoked)".into(),
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
    /// e.g. `get`, `put`, `append`: a constant of the protocol's, copied by none of its
    /// operations.
    pub kind: std::borrow::Cow<'static, str>,
    /// Inline when short (a key-value key), so that a run's thousands of records allocate none.
    pub key: kv::Text,
    /// Human-readable `put k1 "7" -> ok`.
    pub desc: String,
}
