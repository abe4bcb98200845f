//! `cargo bench --bench raft`: Raft on the default scenario (`raft-partitions`): simulated
//! events per second with the checks, sweep seeds per second on one thread and on every
//! thread, and the cost of writing a report. Same as `faultline bench --only raft`.
//! `SEEDS=N` sets the sweep size (default 200).

fn main() {
    let seeds: u64 = std::env::var("SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let _ = faultline::cmd::bench::main(faultline::cmd::bench::BenchArgs::part("raft", 1, seeds));
}
