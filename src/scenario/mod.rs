//! Scenario files (RON): the schema, defaults, and the conversion of a scenario plus a seed
//! into a [`RunSpec`]. Every struct denies unknown fields; everything a user need not care
//! about has a default.
//!
//! ```ron
//! Scenario(
//!     name: "raft-partitions",
//!     title: "Raft under random partitions",
//!     description: "Five servers, three clients; the nemesis cuts and heals the network.",
//!     protocol: Raft(election_timeout: ("150ms", "300ms")),
//!     cluster: (servers: 5),
//!     network: (default: (latency: Uniform(min: "1ms", max: "10ms"), drop: 0.01)),
//!     workload: (clients: 3, keys: 3),
//!     faults: (nemesis: Some(partition: 1, crash: 0, pause: 0, stop: "20s")),
//!     limits: (time: "30s"),
//!     checks: [],
//!     expect: Pass(seeds: (0, 200)),
//! )
//! ```

use serde::{Deserialize, Serialize};

mod load;
mod locate;
mod validate;
pub use load::{EXCERPT_WIDTH, MAX_FILE_BYTES, ScenarioError, load_file, load_str};
pub use validate::{
    Invalid, MAX_DESCRIPTION_LEN, MAX_EVENTS, MAX_EXPECT_SEEDS, MAX_NAME_LEN, MAX_NODES,
    MAX_PENDING, MAX_SERVERS, MAX_TITLE_LEN, clip, quote, validate,
};

use crate::protocols::{ProtocolSpec, RunSpec};
use crate::sim::{Limits, Nemesis, NetworkConfig, ScheduledFault, Time};
use crate::workload::WorkloadSpec;

/// A scenario file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short identifier, used for the report folder (`reports/<name>/seed-<N>/`).
    pub name: String,
    #[serde(default)]
    pub title: String,
    /// One paragraph for a student: what happens and what to look at.
    #[serde(default)]
    pub description: String,
    pub protocol: ProtocolSpec,
    #[serde(default)]
    pub cluster: Cluster,
    #[serde(default)]
    pub network: NetworkConfig,
    #[serde(default)]
    pub workload: WorkloadSpec,
    #[serde(default)]
    pub faults: Faults,
    #[serde(default)]
    pub limits: Limits,
    /// Checks to run; empty means all of the protocol's checks.
    #[serde(default)]
    pub checks: Vec<String>,
    /// What `faultline suite` expects of this scenario.
    #[serde(default)]
    pub expect: Expect,
}

/// The servers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cluster {
    pub servers: u32,
    /// Optional names for the servers (for reports); ids are `n0..`.
    pub names: Vec<String>,
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            servers: 5,
            names: vec![],
        }
    }
}

/// Faults: an explicit schedule and/or a random nemesis (expanded from the seed before the run).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    pub schedule: Vec<ScheduledFault>,
    pub nemesis: Option<Nemesis>,
}

/// A range of seeds `(start, end)`, end exclusive.
pub type SeedRange = (u64, u64);

/// What a suite expects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Expect {
    /// Every seed in the range passes every check.
    Pass { seeds: SeedRange },
    /// Some seed in the range violates `check`.
    Violation {
        check: String,
        within_seeds: SeedRange,
    },
}

impl Default for Expect {
    fn default() -> Self {
        Expect::Pass { seeds: (0, 10) }
    }
}

/// The RON options every scenario is read and written with: variant newtypes may be written
/// unwrapped (`Raft(heartbeat: "50ms")`).
pub fn ron_options() -> ron::Options {
    ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES)
}

/// Parses scenario text (no validation beyond the schema).
pub fn parse(src: &str) -> Result<Scenario, ron::error::SpannedError> {
    ron_options().from_str(src)
}

impl Scenario {
    /// The explicit fault schedule for `seed`: the file's schedule plus the nemesis's draws,
    /// sorted by time (stable: equal times keep file order, schedule before nemesis).
    pub fn faults_for(&self, seed: u64) -> Vec<ScheduledFault> {
        let mut faults = self.faults.schedule.clone();
        if let Some(n) = &self.faults.nemesis {
            faults.extend(n.expand(seed, self.cluster.servers));
        }
        faults.sort_by_key(|f| f.at);
        faults
    }

    /// When every fault is over, from what the faults do (`None`: some fault never heals).
    pub fn heal_at(&self, faults: &[ScheduledFault]) -> Option<Time> {
        crate::sim::heal_time(faults)
    }

    /// The run this scenario makes with `seed`.
    pub fn to_run_spec(&self, seed: u64, record: bool) -> RunSpec {
        let faults = self.faults_for(seed);
        RunSpec {
            name: self.name.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            names: self.cluster.names.clone(),
            seed,
            protocol: self.protocol.clone(),
            servers: self.cluster.servers,
            workload: self.workload.clone(),
            network: self.network.clone(),
            heal_at: self.heal_at(&faults),
            faults,
            limits: self.limits,
            checks: self.checks.clone(),
            record,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_example_parses() {
        let src = r#"Scenario(
            name: "raft-partitions",
            title: "Raft under random partitions",
            description: "Five servers.",
            protocol: Raft(election_timeout: ("150ms", "300ms"), bug: Some(stale_leader_read)),
            cluster: (servers: 5),
            network: (default: (latency: Uniform(min: "1ms", max: "10ms"), drop: 0.01)),
            workload: (clients: 3, keys: 3),
            faults: (
                schedule: [(at: "2s", fault: Crash(1)), (at: "3s", fault: Restart(1)),
                           (at: "4s", fault: Partition(Split([[0, 1], [2, 3, 4]])))],
                nemesis: Some(partition: 1, crash: 0, pause: 0, stop: "20s"),
            ),
            limits: (time: "30s"),
            checks: [],
            expect: Violation(check: "linearizability", within_seeds: (0, 2000)),
        )"#;
        let s: Scenario = parse(src).unwrap();
        assert_eq!(s.cluster.servers, 5);
        assert_eq!(s.limits.time, 30 * crate::sim::SECS);
        let spec = s.to_run_spec(7, false);
        assert!(spec.faults.len() > 3);
        assert!(spec.faults.windows(2).all(|w| w[0].at <= w[1].at));
        let back = ron_options()
            .to_string_pretty(&s, Default::default())
            .unwrap();
        let again: Scenario = parse(&back).unwrap();
        assert_eq!(again, s);
    }
}
