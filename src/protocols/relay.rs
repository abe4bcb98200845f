//! The relay protocol as a runnable scenario: the engine's benchmark workload, with a
//! conservation check (every message sent is delivered, dropped, or still in flight).

use serde::{Deserialize, Serialize};

use super::{ProtocolDef, ProtocolInfo, RunOutcome, RunSpec, Verdict};
use crate::sim::{Sim, SimConfig, demo::RelayProtocol};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelaySpec {
    /// Messages each node starts.
    pub fanout: u32,
}

impl Default for RelaySpec {
    fn default() -> Self {
        RelaySpec { fanout: 1 }
    }
}

impl ProtocolDef for RelaySpec {
    fn name(&self) -> &'static str {
        "relay"
    }
    fn uses_clients(&self) -> bool {
        false
    }
    fn checks(&self) -> &'static [&'static str] {
        CHECKS
    }
    fn validate(&self, servers: u32) -> Result<(), String> {
        if self.fanout == 0 {
            return Err("relay.fanout must be at least 1".into());
        }
        // Every message starts at once: bound what is in flight.
        if u64::from(self.fanout) * u64::from(servers) > 1_000_000 {
            return Err(format!(
                "relay.fanout: {} messages from each of {servers} nodes is more than the 1000000 in flight supported",
                self.fanout
            ));
        }
        Ok(())
    }
    fn run(&self, spec: &RunSpec) -> RunOutcome {
        run(spec, self)
    }
}

pub const CHECKS: &[&str] = &["conservation"];

pub const INFO: ProtocolInfo = ProtocolInfo {
    name: "relay",
    about: "every delivery forwards one message to a random node (the engine benchmark)",
    variants: &[("correct", "the only variant")],
    checks: CHECKS,
};

fn run(spec: &RunSpec, relay: &RelaySpec) -> RunOutcome {
    let mut cfg = SimConfig::new(spec.seed, spec.servers, 0);
    cfg.network = spec.network.clone();
    cfg.faults = spec.faults.clone();
    cfg.limits = spec.limits;
    cfg.record = spec.record;
    let mut sim = Sim::new(
        RelayProtocol {
            fanout: relay.fanout,
        },
        cfg,
    );
    let (stats, trace) = crate::protocols::stepper::run(&mut sim);
    let c = &stats.counters;
    let accounted = c.delivered + c.dropped_loss + c.dropped_partition + c.dropped_dead;
    let verdict = if accounted <= c.sent + c.duplicated {
        Verdict::Pass
    } else {
        Verdict::Violation
    };
    let detail = format!(
        "{} sent + {} duplicated, {} delivered, {} lost, {} cut by partitions, {} to dead nodes",
        c.sent, c.duplicated, c.delivered, c.dropped_loss, c.dropped_partition, c.dropped_dead
    );
    // The counts are judged at the end: a violation shows there.
    let check = if verdict == Verdict::Pass {
        crate::protocols::common::pass("conservation", detail)
    } else {
        crate::protocols::common::fail("conservation", detail, vec![]).dated(stats.time, [])
    };
    let checks = vec![check];
    RunOutcome {
        stats,
        checks,
        ops: vec![],
        roles: vec![],
        tables: vec![],
        plots: vec![],
        records: trace.records,
        labels: trace.labels,
        replay: trace.replay,
        views: trace.views,
        traced_ops: None,
    }
}
