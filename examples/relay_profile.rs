//! Runs the relay workload for profiling: `cargo run --release --example relay_profile`.
fn main() {
    let f = faultline::bench::engine_vs_bare(5, 5, 20_000_000, 1);
    println!("{f:?}");
}
