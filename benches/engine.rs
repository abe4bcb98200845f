//! `cargo bench --bench engine`: simulated events per second of the engine on a message-heavy
//! workload (5 nodes relaying messages with random latency), next to a bare BinaryHeap event
//! loop doing the same work, measured in the same run.

fn main() {
    let events: u64 = std::env::var("EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    println!(
        "{:>6} {:>10} {:>12} {:>16} {:>16} {:>7}",
        "nodes", "in-flight", "events", "engine ev/s", "bare ev/s", "ratio"
    );
    for in_flight in [5, 1_000, 100_000] {
        let f = faultline::bench::engine_vs_bare(5, in_flight, events, 3);
        println!(
            "{:>6} {:>10} {:>12} {:>14.1} M {:>14.1} M {:>7.2}",
            f.nodes,
            f.in_flight,
            f.events,
            f.engine_events_per_sec / 1e6,
            f.bare_events_per_sec / 1e6,
            f.ratio
        );
    }
}
