//! Profiles checking one kv file many times: `cargo run --release --example kv_loop -- FILE [N]`.
use faultline::check::parse::{Format, events, kv_history};
use faultline::check::{CheckOptions, KvAppend, check};
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&a[1]).unwrap();
    let n: u32 = a.get(2).map_or(2000, |s| s.parse().unwrap());
    let h = kv_history(&events(&text, Some(Format::PorcupineKv)).unwrap()).unwrap();
    let opts = CheckOptions {
        minimize: false,
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let mut steps = 0;
    for _ in 0..n {
        steps += check(&KvAppend, &h, &opts).steps;
    }
    println!(
        "{:.1} us per check, {} steps",
        t.elapsed().as_secs_f64() * 1e6 / n as f64,
        steps / n as u64
    );
}
