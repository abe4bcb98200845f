//! Faultline: a deterministic distributed-systems simulator.
//!
//! One seed and one scenario fully determine a run: the engine ([`sim`]) runs protocol
//! actors over a simulated network with faults; clients record a history; checkers judge it.
pub mod bench;
pub mod check;
pub mod cmd;
pub mod protocols;
pub mod report;
pub mod scenario;
pub mod shrink;
pub mod sim;
pub mod workload;
