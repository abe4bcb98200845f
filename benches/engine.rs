//! `cargo bench --bench engine`: simulated events per second of the engine on a message-heavy
//! workload (5 nodes relaying messages with random latency), next to a bare BinaryHeap event
//! loop doing the same work, measured in the same run. Same as `faultline bench`.

fn main() {
    let events: u64 = std::env::var("EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let _ =
        faultline::cmd::bench::main(faultline::cmd::bench::BenchArgs::part("engine", events, 1));
}
