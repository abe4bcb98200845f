//! Redlock, as the Redis documentation ("Distributed Locks with Redis") describes it: N
//! independent Redis masters; the client sends `SET NX PX` to all of them with a short
//! timeout, and holds the lock if a majority granted it and time is left:
//! validity = ttl − elapsed − (ttl × clock_drift_factor + 2 ms). Otherwise it unlocks every
//! instance and retries after a random delay. Release goes to every instance.
//!
//! Redlock hands out no fencing token, so the storage cannot fence; it is safe only while
//! pauses, network delays and clock drift stay inside its margins (Kleppmann's critique).
//! A server whose clock jumps forward expires its key early, which can let a second client
//! reach a majority: the `redlock-clock-jump` scenario.
//!
//! Known-bug variant: `no_drift_margin` (validity = ttl − elapsed: drifting clocks overrun).

use serde::{Deserialize, Serialize};

use super::LockView;
use super::redis::{Family, bug_name, drift_margin, run_family, validate_common};
use crate::protocols::{ProtocolDef, ProtocolInfo, RunOutcome, RunSpec};
use crate::sim::{MILLIS, Time};
use crate::workload::lock::LockClientSpec;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedlockBug {
    /// The validity ignores clock drift: ttl − elapsed.
    NoDriftMargin,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedlockSpec {
    #[serde(with = "crate::sim::dur")]
    pub ttl: Time,
    pub clock_drift_factor: f64,
    /// Each instance persists the lock (fsync always); without it a restart forgets it.
    pub persistence: bool,
    pub client: LockClientSpec,
    pub bug: Option<RedlockBug>,
}

impl Default for RedlockSpec {
    fn default() -> Self {
        RedlockSpec {
            ttl: 500 * MILLIS,
            clock_drift_factor: 0.01,
            persistence: true,
            client: LockClientSpec::default(),
            bug: None,
        }
    }
}

impl RedlockSpec {
    pub fn family(&self, servers: u32) -> Family {
        let no_margin = self.bug == Some(RedlockBug::NoDriftMargin);
        Family {
            servers,
            quorum: servers / 2 + 1,
            ttl: self.ttl,
            drift_margin: if no_margin {
                0
            } else {
                drift_margin(self.ttl, self.clock_drift_factor)
            },
            from_receipt: false,
            tokens: false,
            resource_checks: false,
            persistent: self.persistence,
            owner_check: true,
            client: self.client.clone(),
        }
    }
}

impl ProtocolDef for RedlockSpec {
    fn name(&self) -> &'static str {
        "redlock"
    }
    /// A lock held by a crashed or paused holder is free again only when its lease runs
    /// out, and waiters are not queued (no fairness): several TTLs, and at least 5 s, before
    /// every waiting client is served again.
    fn recovery(&self) -> Time {
        self.ttl.saturating_mul(8).max(5 * crate::sim::SECS)
    }
    fn variant(&self) -> String {
        bug_name(self.bug)
    }
    fn checks(&self) -> &'static [&'static str] {
        super::CHECKS
    }
    fn validate(&self, servers: u32) -> Result<(), String> {
        if servers == 0 {
            return Err("Redlock needs at least 1 server".into());
        }
        validate_common("Redlock", self.ttl, self.clock_drift_factor, &self.client)
    }
    fn run(&self, spec: &RunSpec) -> RunOutcome {
        run_family(spec, self.family(spec.servers), LockView::Beliefs)
    }
}

pub const INFO: ProtocolInfo = ProtocolInfo {
    name: "redlock",
    about: "Redlock: SET NX PX on N independent Redis instances, majority within ttl − elapsed − drift, no fencing token",
    variants: &[
        (
            "correct",
            "the algorithm of the Redis documentation, with its drift margin",
        ),
        (
            "no_drift_margin",
            "validity = ttl − elapsed: a client or server clock that drifts overruns the lease",
        ),
    ],
    checks: super::CHECKS,
};
