//! The engine: virtual time, the event queue, random streams, the node API, the network,
//! faults and the trace. It does no I/O and reads no clock; a run is a pure function of its
//! configuration and seed.
//!
//! ```
//! use faultline::sim::*;
//!
//! /// Each node pings the next one; the receiver counts and pings on.
//! struct Ring { seen: u32 }
//! impl Node for Ring {
//!     type Msg = u32;
//!     type Timer = ();
//!     type Durable = ();
//!     type Obs = ();
//!     fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
//!         if ctx.id() == NodeId(0) { ctx.send(NodeId(1), 0); }
//!     }
//!     fn on_message(&mut self, ctx: &mut Context<'_, Self>, _from: NodeId, hops: u32) {
//!         self.seen += 1;
//!         let next = NodeId((ctx.id().0 + 1) % ctx.servers());
//!         if hops < 100 { ctx.send(next, hops + 1); }
//!     }
//!     fn on_timer(&mut self, _ctx: &mut Context<'_, Self>, _t: ()) {}
//! }
//! struct RingProtocol;
//! impl Protocol for RingProtocol {
//!     type Node = Ring;
//!     fn node(&self, _id: NodeId, _d: &()) -> Ring { Ring { seen: 0 } }
//! }
//! let mut sim = Sim::new(RingProtocol, SimConfig::new(42, 3, 0));
//! let stats = sim.run();
//! assert_eq!(stats.stop, StopReason::Quiescent);
//! assert_eq!(stats.counters.delivered, 101);
//! ```

pub mod demo;
mod effect;
mod engine;
mod fault;
mod links;
mod network;
mod node;
pub mod rng;
mod run;
pub mod time;
mod topology;
mod trace;
pub mod view;

pub use engine::{Counters, FaultEffect, Limits, RunStats, Sim, SimConfig, StopReason};
pub use fault::{
    Fault, MAX_WEIGHT, Nemesis, ScheduledFault, check_weights, heal_time, unhealed,
    validate_schedule,
};
pub use network::{Latency, LinkConfig, NetworkConfig, Partition};
pub use node::{Context, Node, NodeId, Protocol};
pub use time::{
    MICROS, MILLIS, NANOS, SECS, Time, dur, fmt_duration, fmt_time, parse_duration, push_time,
    write_duration,
};
pub use topology::Topology;
pub use trace::{EventKind, Labels, StableHasher, TraceRecord, stable_hash};
pub use view::{LogCell, NodeView, ViewChange};
