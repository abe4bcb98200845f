//! All integration tests in one binary, so a cold `cargo test` links once instead of once
//! per file. Each module is one story: the CLI contract, the engine, the checker, Raft,
//! reports, scenario errors, shrinking. (`tests/alloc.rs` stays its own binary: its counting
//! allocator must see nothing else.)

mod checker_data;
mod checker_props;
mod cli;
mod engine;
mod locks;
mod raft;
mod report;
mod scenario_errors;
mod shrink;
