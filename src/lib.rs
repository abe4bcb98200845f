//! Faultline: a deterministic distributed-systems simulator.
pub mod sim;
