//! Two scenarios that differ only in `protocol`, side by side on the same seeds (same
//! workload draws, network draws and fault schedule):
//! `cargo run --release --example compare_protocols -- A.ron B.ron [FROM..TO]`.
//! Prints, per scenario: seeds per second and simulated events per second (one thread),
//! operations completed, latency p50/p99, the longest stretch with no completed operation,
//! leader changes, messages per completed operation, and the seeds each check failed.
use std::collections::BTreeMap;
use std::time::Instant;

use faultline::protocols::{Verdict, run};
use faultline::scenario::load_file;
use faultline::sim::{MILLIS, SECS, Time};
use faultline::workload::OpStatus;

fn pct(sorted: &[Time], p: f64) -> Time {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 3 {
        eprintln!("usage: compare_protocols A.ron B.ron [FROM..TO]");
        std::process::exit(2);
    }
    let (from, to) = a
        .get(3)
        .and_then(|r| r.split_once(".."))
        .and_then(|(x, y)| Some((x.parse::<u64>().ok()?, y.parse::<u64>().ok()?)))
        .unwrap_or((0, 100));
    let mut rows: Vec<Vec<String>> = Vec::new();
    for path in &a[1..3] {
        let s = load_file(std::path::Path::new(path)).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(2)
        });
        let (mut lat, mut ok, mut events, mut sent) = (Vec::new(), 0usize, 0u64, 0u64);
        let (mut gaps, mut leaders) = (Vec::new(), 0usize);
        let mut failed: BTreeMap<String, usize> = BTreeMap::new();
        let t = Instant::now();
        for seed in from..to {
            let o = run(&s.to_run_spec(seed, false));
            events += o.stats.events;
            sent += o.stats.counters.sent;
            let mut done: Vec<Time> = Vec::new();
            for op in o.ops.iter().filter(|o| o.status == OpStatus::Ok) {
                let r = op.ret.unwrap_or(op.call);
                lat.push(r - op.call);
                done.push(r);
            }
            ok += done.len();
            done.sort_unstable();
            let stop = s.workload.stop.min(o.stats.time);
            let mut last = 0;
            let mut gap = 0;
            for &d in done.iter().chain(std::iter::once(&stop)) {
                gap = gap.max(d.min(stop).saturating_sub(last));
                last = d;
            }
            gaps.push(gap);
            let mut l: Vec<(u32, u64)> = o
                .roles
                .iter()
                .filter(|r| r.role == "leader")
                .map(|r| (r.node, r.term))
                .collect();
            l.sort_unstable();
            l.dedup();
            leaders += l.len();
            for c in o.checks.iter().filter(|c| c.verdict != Verdict::Pass) {
                *failed.entry(c.name.clone()).or_default() += 1;
            }
        }
        let secs = t.elapsed().as_secs_f64();
        lat.sort_unstable();
        gaps.sort_unstable();
        let n = (to - from) as f64;
        let ms = |t: Time| format!("{:.1} ms", t as f64 / MILLIS as f64);
        rows.push(vec![
            s.name.clone(),
            format!("{}", s.protocol.name()),
            format!("{:.1}", n / secs),
            format!("{:.2} M", events as f64 / secs / 1e6),
            format!("{:.0}", ok as f64 / n),
            ms(pct(&lat, 0.5)),
            ms(pct(&lat, 0.99)),
            format!(
                "{:.2} s / {:.2} s",
                pct(&gaps, 0.5) as f64 / SECS as f64,
                gaps.last().copied().unwrap_or(0) as f64 / SECS as f64
            ),
            format!("{:.1}", leaders as f64 / n),
            format!("{:.1}", sent as f64 / ok.max(1) as f64),
            if failed.is_empty() {
                "all pass".into()
            } else {
                format!("{failed:?}")
            },
        ]);
    }
    let head = [
        "scenario",
        "protocol",
        "seeds/s",
        "events/s",
        "ops/seed",
        "p50",
        "p99",
        "no-progress p50/max",
        "leaders/seed",
        "msgs/op",
        "checks",
    ];
    println!("seeds {from}..{to}, one thread");
    println!("| {} |", head.join(" | "));
    println!(
        "|{}|",
        head.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for r in rows {
        println!("| {} |", r.join(" | "));
    }
}
