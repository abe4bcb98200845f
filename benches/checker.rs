//! `cargo bench --bench checker`: checks every history in ../shared/data/porcupine and prints
//! per-file time (median of 9 after a warm-up; parsing timed apart) next to Porcupine's
//! (porcupine_times.csv, a median of 3), then a generated 100k-operation history's time, then
//! issue 20's table of big generated histories (`checker/scale.rs`).
//!
//! `ROWS=small` keeps the table to rows under 10^5 operations, `ROWS=none` leaves it out;
//! `ROWS=etcd-register,10000,100,false;...` runs the rows named.

#[path = "checker/scale.rs"]
mod scale;

use std::path::Path;
use std::time::Instant;

use faultline::check::parse::{ModelName, events, kv_history, register_history};
use faultline::check::{CasRegister, CheckOptions, History, KvAppend, KvInput, KvOutput, check};

fn main() {
    if let Ok(row) = std::env::var(scale::ROW_VAR) {
        return scale::child(&row);
    }
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/porcupine");
    if d.is_dir() {
        porcupine(&d);
    } else {
        println!("SKIPPED: {} is absent", d.display());
    }
    kv_100k();
    scale::table(&std::env::var("ROWS").unwrap_or_default());
}

/// Porcupine's shared histories, file by file, against its recorded times.
fn porcupine(d: &Path) {
    let minimize = std::env::var("MINIMIZE").is_ok();
    let expected = std::fs::read_to_string(d.join("expected.csv")).unwrap();
    let times = std::fs::read_to_string(d.join("porcupine_times.csv")).unwrap();
    let porc: std::collections::BTreeMap<String, f64> = times
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f[0].to_string(), f.get(2)?.parse().ok()?))
        })
        .collect();
    let opts = CheckOptions {
        minimize,
        ..CheckOptions::default()
    };
    let (mut ours_total, mut porc_total, mut worst) = (0.0, 0.0, (0.0f64, String::new()));
    let mut parse_total = 0.0;
    println!(
        "{:<22} {:>6} {:>18} {:>10} {:>12} {:>8}",
        "file", "ops", "verdict", "ours_us", "porcupine_us", "ratio"
    );
    for line in expected.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let text = std::fs::read_to_string(d.join(f[0])).unwrap();
        let model = ModelName::parse(f[1]).unwrap();
        // Parsing is timed apart: Porcupine's figures are for checking parsed operations.
        let t = Instant::now();
        let ev = events(&text, None).unwrap();
        let parse_us = t.elapsed().as_secs_f64() * 1e6;
        parse_total += parse_us;
        // One warm-up, then the median of 9 timed checks (Porcupine's figure is a median too).
        let mut times = Vec::new();
        let mut rep = None;
        let h_reg = (model != ModelName::KvAppend)
            .then(|| register_history(&ev, model == ModelName::EtcdRegister).unwrap());
        let h_kv = (model == ModelName::KvAppend).then(|| kv_history(&ev).unwrap());
        for i in 0..10 {
            let t = Instant::now();
            let r = match (&h_reg, &h_kv) {
                (Some(h), _) => (h.len(), check(&CasRegister::default(), h, &opts)),
                (_, Some(h)) => (h.len(), check(&KvAppend, h, &opts)),
                _ => unreachable!(),
            };
            if i > 0 {
                times.push(t.elapsed().as_secs_f64() * 1e6);
            }
            rep = Some(r);
        }
        times.sort_by(f64::total_cmp);
        let best = times[times.len() / 2];
        let (ops, result) = rep.unwrap();
        let p = porc.get(f[0]).copied().unwrap_or(f64::NAN);
        let ratio = best / p;
        if ratio > worst.0 {
            worst = (ratio, f[0].to_string());
        }
        ours_total += best;
        porc_total += p;
        println!(
            "{:<22} {:>6} {:>18} {:>10.0} {:>12.0} {:>8.3} {:>9}",
            f[0],
            ops,
            result.verdict.as_str(),
            best,
            p,
            ratio,
            result.steps
        );
    }
    println!(
        "TOTAL ours {:.1} ms, porcupine {:.1} ms: {:.1}x faster; worst file ratio {:.3} ({})",
        ours_total / 1e3,
        porc_total / 1e3,
        porc_total / ours_total,
        worst.0,
        worst.1
    );
    println!(
        "parsing all files (not included above): {:.1} ms",
        parse_total / 1e3
    );
}

/// A generated 100k-operation key-value history (10 clients, 100 keys).
fn kv_100k() {
    let mut h = History::new();
    let mut vals = vec![String::new(); 100];
    let mut t = 0u64;
    for i in 0..100_000u64 {
        let k = (i * 7919 % 100) as usize;
        let client = i % 10;
        let key = format!("k{k}");
        if i % 3 == 0 {
            h.ok(
                client,
                t,
                t + 15,
                KvInput::Get { key: key.into() },
                KvOutput::Value(vals[k].as_str().into()),
            );
        } else {
            let v = format!("{i} ");
            vals[k].push_str(&v);
            h.ok(
                client,
                t,
                t + 15,
                KvInput::Append {
                    key: key.into(),
                    value: v.into(),
                },
                KvOutput::Done,
            );
        }
        t += 10;
    }
    let start = Instant::now();
    let r = check(&KvAppend, &h, &CheckOptions::default());
    println!(
        "100k-op kv history: {} in {:.1} ms, {} steps",
        r.verdict.as_str(),
        start.elapsed().as_secs_f64() * 1e3,
        r.steps
    );
}
