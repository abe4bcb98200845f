//! Issue 20's table: big generated histories (src/check/generate.rs: a real register or
//! key-value map driven by concurrent clients), 10^3 to 10^6 operations with 10 and 100
//! clients, for etcd-register, cas-register and kv-append, linearizable as generated and not
//! after one injected stale read. Each row runs in its own process (this bench binary again,
//! told the row by `ROW_VAR`) so its peak memory (VmHWM) is its own; a row is given up
//! (`killed`) past `LIMIT_MB` of resident memory or `LIMIT_S` seconds, as in the issue.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use faultline::check::generate::{self, GenModel, GenSpec};
use faultline::check::{CasRegister, CheckOptions, KvAppend, check};

/// The environment variable that makes the bench binary run one row.
pub const ROW_VAR: &str = "FAULTLINE_SCALE_ROW";
const LIMIT_S: u64 = 120;
const LIMIT_MB: u64 = 10 * 1024;

const MODELS: [(GenModel, &str); 3] = [
    (GenModel::EtcdRegister, "etcd-register"),
    (GenModel::CasRegister, "cas-register"),
    (GenModel::KvAppend, "kv-append"),
];

/// Runs the rows `rows` selects (see the bench's doc) and prints one line per row.
pub fn table(rows: &str) {
    if rows == "none" {
        return;
    }
    let mut chosen: Vec<String> = Vec::new();
    if rows.contains(',') {
        chosen = rows.split(';').map(str::to_string).collect();
    } else {
        for (_, name) in MODELS {
            for ops in [1_000, 10_000, 100_000, 1_000_000] {
                for clients in [10, 100] {
                    if rows == "small" && ops >= 100_000 {
                        continue;
                    }
                    for stale in [false, true] {
                        chosen.push(format!("{name},{ops},{clients},{stale}"));
                    }
                }
            }
        }
    }
    println!(
        "\nissue 20: generated histories (killed past {LIMIT_S} s or {LIMIT_MB} MB)\n{:<14} {:>9} {:>8} {:>6} {:>18} {:>10} {:>9}",
        "model", "ops", "clients", "stale", "verdict", "seconds", "peak_MB"
    );
    for row in chosen {
        let line = run_row(&row);
        let r: Vec<&str> = row.split(',').collect();
        let f: Vec<&str> = line.split_whitespace().collect();
        let at = |v: &[&str], i: usize| v.get(i).copied().unwrap_or("?").to_string();
        println!(
            "{:<14} {:>9} {:>8} {:>6} {:>18} {:>10} {:>9}",
            at(&r, 0),
            at(&r, 1),
            at(&r, 2),
            at(&r, 3),
            at(&f, 0),
            at(&f, 1),
            at(&f, 2)
        );
    }
}

/// Runs one row in a child process: its `verdict seconds peak_mb`, or `killed`.
fn run_row(row: &str) -> String {
    let exe = std::env::current_exe().expect("the bench binary");
    let t = Instant::now();
    let Ok(mut child) = Command::new(exe)
        .env(ROW_VAR, row)
        .stdout(Stdio::piped())
        .spawn()
    else {
        return "failed-to-start - -".into();
    };
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            let out = child.wait_with_output().ok();
            return out
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| "crashed - -".into());
        }
        peak = peak.max(proc_mb(&status, "VmRSS:"));
        let secs = t.elapsed().as_secs();
        if secs > LIMIT_S || peak > LIMIT_MB {
            let _ = child.kill();
            let _ = child.wait();
            return format!("killed >{secs}s >{peak}MB");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One row: generate, check, print `verdict seconds peak_mb` (checking time only).
pub fn child(row: &str) {
    let f: Vec<&str> = row.split(',').collect();
    let model = MODELS
        .iter()
        .find(|(_, n)| Some(n) == f.first())
        .map_or(GenModel::EtcdRegister, |m| m.0);
    let spec = GenSpec {
        model,
        ops: f.get(1).and_then(|v| v.parse().ok()).unwrap_or(1000),
        clients: f.get(2).and_then(|v| v.parse().ok()).unwrap_or(10),
        seed: 1,
        stale_read: f.get(3) == Some(&"true"),
    };
    let opts = CheckOptions::default();
    let (verdict, secs) = match spec.model {
        GenModel::EtcdRegister | GenModel::CasRegister => {
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
    println!(
        "{} {secs:.3} {:.0}",
        verdict.as_str(),
        proc_mb("/proc/self/status", "VmHWM:")
    );
}

/// A memory figure of /proc/<pid>/status in MB (0 where there is none).
fn proc_mb(path: &str, field: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}
