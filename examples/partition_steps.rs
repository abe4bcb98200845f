//! Steps per key of a kv history: `cargo run --release --example partition_steps -- FILE`.
use faultline::check::parse::{Format, events, kv_history};
use faultline::check::{CheckOptions, History, KvAppend, Model, check};
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&a[1]).unwrap();
    let h = kv_history(&events(&text, Some(Format::PorcupineKv)).unwrap()).unwrap();
    let mut keys: Vec<String> = h
        .ops
        .iter()
        .map(|o| KvAppend.key(&o.input).to_string())
        .collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let sub = History {
            ops: h
                .ops
                .iter()
                .filter(|o| KvAppend.key(&o.input) == k)
                .cloned()
                .collect(),
        };
        let t = std::time::Instant::now();
        let r = check(
            &KvAppend,
            &sub,
            &CheckOptions {
                minimize: false,
                ..Default::default()
            },
        );
        println!(
            "key {k}: {} ops {:?} {} steps {:.1} ms",
            sub.ops.len(),
            r.verdict,
            r.steps,
            t.elapsed().as_secs_f64() * 1e3
        );
    }
}
