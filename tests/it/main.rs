//! All integration tests in one binary, so a cold `cargo test` links once instead of once
//! per file. Each module is one story: the CLI contract, the engine, the checker, Raft,
//! reports, scenario errors, shrinking. (`tests/alloc.rs` stays its own binary: its counting
//! allocator must see nothing else.)

mod check_input;
mod check_stream;
mod checker_data;
mod checker_modes;
mod checker_oracle;
mod checker_oracle_paths;
mod checker_props;
mod checker_shortcuts;
mod cli;
mod cli_robust;
mod commit;
mod compare;
mod coordinator_lock;
mod engine;
mod hostile;
mod hostile_runs;
mod lb;
mod locks;
mod paxos;
mod raft;
mod report;
mod report_forks;
mod report_why;
mod scenario_errors;
mod shrink;
mod signals;
mod timers;
mod verdict;

/// A bundled scenario by its file name in `scenarios/`.
pub fn scenario(name: &str) -> faultline::scenario::Scenario {
    faultline::scenario::load_file(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(name),
    )
    .expect("bundled scenario loads")
}
