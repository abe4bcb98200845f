//! `faultline bench`: the engine against a bare BinaryHeap loop doing the same work, in one run.

use clap::Args;

use super::InputError;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Events per measurement.
    #[arg(long, default_value_t = 10_000_000)]
    pub events: u64,
}

pub fn main(a: BenchArgs) -> Result<i32, InputError> {
    println!(
        "{:>6} {:>10} {:>12} {:>14} {:>14} {:>7}",
        "nodes", "in-flight", "events", "engine ev/s", "bare ev/s", "ratio"
    );
    for in_flight in [5, 1_000, 100_000] {
        let f = crate::bench::engine_vs_bare(5, in_flight, a.events, 3);
        println!(
            "{:>6} {:>10} {:>12} {:>12.1} M {:>12.1} M {:>7.2}",
            f.nodes,
            f.in_flight,
            f.events,
            f.engine_events_per_sec / 1e6,
            f.bare_events_per_sec / 1e6,
            f.ratio
        );
    }
    Ok(0)
}
