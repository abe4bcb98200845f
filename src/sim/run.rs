//! What a run is set up with ([`SimConfig`], [`Limits`]) and what it reports when it ends
//! ([`RunStats`], [`Counters`], [`StopReason`]).

use serde::Serialize;

use super::effect::FaultEffect;
use super::fault::ScheduledFault;
use super::network::NetworkConfig;
use super::time::{SECS, Time};

/// The default [`Limits::pending`]: some hundreds of megabytes of queued events at most,
/// hundreds of times what a bundled scenario holds at its busiest.
pub const DEFAULT_PENDING: u64 = 4_000_000;

/// When a run ends, whichever comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Simulated time limit.
    #[serde(with = "crate::sim::dur")]
    pub time: Time,
    /// Event limit: guards against an actor that schedules without bound.
    pub events: u64,
    /// Pending-event limit: the most events waiting at once (messages in flight, timers,
    /// a paused node's backlog). Guards memory against a protocol that sends faster than
    /// the network delivers: each event handled may schedule many (a broadcast), so the
    /// event limit alone does not bound the queue. Left out when written at its default, so
    /// that a scenario's content hash is what it was before this limit existed.
    #[serde(skip_serializing_if = "is_default_pending")]
    pub pending: u64,
}

fn is_default_pending(p: &u64) -> bool {
    *p == DEFAULT_PENDING
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            time: 60 * SECS,
            events: 50_000_000,
            pending: DEFAULT_PENDING,
        }
    }
}

/// Everything that determines a run, with the protocol.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    /// Servers are nodes `0..servers`: the targets of faults and partitions.
    pub servers: u32,
    /// Clients are nodes `servers..servers + clients`.
    pub clients: u32,
    pub network: NetworkConfig,
    /// Explicit faults (a random nemesis is expanded into this before the run).
    pub faults: Vec<ScheduledFault>,
    pub limits: Limits,
    /// Keep a record of every event (for the text trace and diagrams). The hash is always kept.
    pub record: bool,
}

impl SimConfig {
    pub fn new(seed: u64, servers: u32, clients: u32) -> Self {
        SimConfig {
            seed,
            servers,
            clients,
            network: NetworkConfig::default(),
            faults: Vec::new(),
            limits: Limits::default(),
            record: false,
        }
    }
}

/// Why a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// The simulated time limit was reached.
    TimeLimit,
    /// The event limit was reached (an actor may be scheduling without bound).
    EventLimit,
    /// The pending-event limit was reached: more events waited at once than
    /// [`Limits::pending`] allows (messages sent faster than delivered).
    PendingLimit,
    /// Nothing left to do.
    Quiescent,
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StopReason::TimeLimit => "time limit reached",
            StopReason::EventLimit => "event limit reached",
            StopReason::PendingLimit => "pending-event limit reached",
            StopReason::Quiescent => "no events left",
        })
    }
}

/// What happened, counted: proof that each fault kind fired and had its effect.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub sent: u64,
    pub delivered: u64,
    pub timers_fired: u64,
    pub dropped_loss: u64,
    pub dropped_partition: u64,
    pub dropped_dead: u64,
    pub duplicated: u64,
    pub partitions: u64,
    pub heals: u64,
    pub crashes: u64,
    pub restarts: u64,
    pub pauses: u64,
    /// Events a paused node handled late, when it woke.
    pub backlog_handled: u64,
    pub clock_changes: u64,
    pub observations: u64,
}

/// The result of a run.
#[derive(Clone, Debug, Serialize)]
pub struct RunStats {
    pub stop: StopReason,
    /// Simulated time at the end.
    pub time: Time,
    /// Events handled: node starts, messages delivered or dropped, timers that fired, fault
    /// actions and pause ends (one that a paused node queued counts again when handled). A
    /// timer set again or cancelled before its deadline never fired: it is no event (before
    /// timers were queued lazily, each such setting was popped and counted as one).
    pub events: u64,
    /// Stable hash over every event of the run.
    pub trace_hash: u64,
    pub counters: Counters,
    /// What each action of the fault schedule did (same order as `SimConfig::faults`).
    pub fault_effects: Vec<FaultEffect>,
}
