//! `cargo bench --bench checker_scale`: big generated histories (src/check/generate.rs: a
//! real register or key-value map driven by concurrent clients), 10^3 to 10^6 operations with
//! 10 and 100 clients, linearizable as generated and not after one injected stale read. Each
//! row runs in its own process so its peak memory (VmHWM) is its own; a row is given up
//! (`killed`) past 10 GB or 120 s, as in issue 20's table.
//!
//! `ROWS=small` keeps to rows under 10^5 operations.

use std::process::Command;
use std::time::{Duration, Instant};

use faultline::check::generate::{self, GenModel, GenSpec};
use faultline::check::{CasRegister, CheckOptions, KvAppend, check};

const LIMIT: Duration = Duration::from_secs(120);

fn main() {
    if let Ok(row) = std::env::var("FAULTLINE_SCALE_ROW") {
        return child(&row);
    }
    let small = std::env::var("ROWS").is_ok_and(|v| v == "small");
    println!(
        "{:<14} {:>9} {:>8} {:>6} {:>18} {:>10} {:>9}",
        "model", "ops", "clients", "stale", "verdict", "seconds", "peak_MB"
    );
    for (_model, name) in [
        (GenModel::EtcdRegister, "etcd-register"),
        (GenModel::KvAppend, "kv-append"),
    ] {
        for (ops, clients) in [
            (1_000, 100),
            (10_000, 10),
            (10_000, 100),
            (100_000, 10),
            (1_000_000, 10),
        ] {
            if small && ops >= 100_000 {
                continue;
            }
            for stale in [false, true] {
                let row = format!("{name},{ops},{clients},{stale}");
                let exe = std::env::current_exe().expect("the bench binary");
                let t = Instant::now();
                let mut child = Command::new(exe)
                    .env("FAULTLINE_SCALE_ROW", &row)
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .expect("spawn a row");
                let out = loop {
                    if let Some(_status) = child.try_wait().expect("wait") {
                        break child.wait_with_output().ok();
                    }
                    if t.elapsed() > LIMIT {
                        let _ = child.kill();
                        let _ = child.wait();
                        break None;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                };
                let line = out
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                    .filter(|l| !l.is_empty())
                    .unwrap_or_else(|| "killed - -".into());
                let f: Vec<&str> = line.split_whitespace().collect();
                println!(
                    "{:<14} {:>9} {:>8} {:>6} {:>18} {:>10} {:>9}",
                    name,
                    ops,
                    clients,
                    stale,
                    f.first().unwrap_or(&"?"),
                    f.get(1).unwrap_or(&"?"),
                    f.get(2).unwrap_or(&"?")
                );
            }
        }
    }
}

/// One row: generate, check, print `verdict seconds peak_mb` (checking time only).
fn child(row: &str) {
    let f: Vec<&str> = row.split(',').collect();
    let spec = GenSpec {
        model: if f[0] == "kv-append" {
            GenModel::KvAppend
        } else {
            GenModel::EtcdRegister
        },
        ops: f[1].parse().unwrap_or(1000),
        clients: f[2].parse().unwrap_or(10),
        seed: 1,
        stale_read: f[3] == "true",
    };
    let opts = CheckOptions::default();
    let (verdict, secs) = match spec.model {
        GenModel::EtcdRegister => {
            let h = generate::register(&spec);
            let t = Instant::now();
            let r = check(&CasRegister::default(), &h, &opts);
            (r.verdict, t.elapsed().as_secs_f64())
        }
        GenModel::KvAppend => {
            let h = generate::kv(&spec);
            let t = Instant::now();
            let r = check(&KvAppend, &h, &opts);
            (r.verdict, t.elapsed().as_secs_f64())
        }
    };
    println!("{} {secs:.3} {:.0}", verdict.as_str(), peak_mb());
}

/// Peak resident memory of this process, from /proc (0 where there is none).
fn peak_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
