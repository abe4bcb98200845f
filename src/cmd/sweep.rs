//! `faultline sweep SCENARIO --seeds A..B [--jobs J] [--shard K/N] [--json FILE] [--fail-fast]`
//! and `faultline merge FILE...`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Args;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{InputError, load, parse_seeds, parse_shard, reproduce_line};
use crate::protocols::{Verdict, run};
use crate::scenario::Scenario;

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  faultline sweep scenarios/raft-partitions.ron --seeds 0..2000\n  faultline sweep scenarios/raft-bug-forget_vote.ron --seeds 0..2000 --fail-fast\n  faultline sweep s.ron --seeds 0..3000 --shard 2/3 --json part2.jsonl   # one of 3 machines"
)]
pub struct SweepArgs {
    pub scenario: PathBuf,
    /// Seed range A..B (B excluded).
    #[arg(long)]
    pub seeds: String,
    /// Worker threads (default: every core).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Run only shard K of N: the seeds s with (s - A) % N == K - 1.
    #[arg(long)]
    pub shard: Option<String>,
    /// Write one JSON object per seed (JSON Lines) to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Stop after the first failing seed.
    #[arg(long)]
    pub fail_fast: bool,
    /// Write histograms (SVG) of events, simulated time and operations across the seeds into
    /// this folder. Sweeps write no plots unless asked.
    #[arg(long)]
    pub plots: Option<PathBuf>,
}

/// One seed's result (one JSON line).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SeedResult {
    pub seed: u64,
    pub verdict: Verdict,
    pub failed: Vec<String>,
    pub trace_hash: String,
    pub events: u64,
    pub sim_time_ns: u64,
    pub ops: usize,
}

/// Runs `seeds` of `scenario` on `jobs` threads; results in seed order.
///
/// With `fail_fast` the result is still deterministic: every seed up to the first failing one
/// (in `seeds` order) runs, whatever the threads' timing; seeds after it are skipped once a
/// failure is known and dropped from the result.
pub fn sweep(
    scenario: &Scenario,
    seeds: &[u64],
    jobs: usize,
    fail_fast: bool,
    progress: bool,
) -> Vec<SeedResult> {
    // Index of the earliest failing seed found so far (usize::MAX: none yet).
    let first_failure = AtomicUsize::new(usize::MAX);
    let bar = progress.then(|| {
        let b = indicatif::ProgressBar::new(seeds.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} seeds {per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let one = |(i, &seed): (usize, &u64)| -> Option<SeedResult> {
        if i > first_failure.load(Ordering::Relaxed) {
            return None;
        }
        let o = run(&scenario.to_run_spec(seed, false));
        let failed: Vec<String> = o
            .checks
            .iter()
            .filter(|c| c.verdict != Verdict::Pass)
            .map(|c| c.name.clone())
            .collect();
        if fail_fast && o.verdict() == Verdict::Violation {
            first_failure.fetch_min(i, Ordering::Relaxed);
        }
        if let Some(b) = &bar {
            b.inc(1);
            if !failed.is_empty() {
                b.set_message(format!("seed {seed} failed {}", failed.join(",")));
            }
        }
        Some(SeedResult {
            seed,
            verdict: o.verdict(),
            failed,
            trace_hash: format!("{:016x}", o.stats.trace_hash),
            events: o.stats.events,
            sim_time_ns: o.stats.time,
            ops: o.ops.len(),
        })
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build();
    let results: Vec<Option<SeedResult>> = match pool {
        Ok(p) => p.install(|| seeds.par_iter().enumerate().map(one).collect()),
        Err(_) => seeds.iter().enumerate().map(one).collect(),
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let last = first_failure.into_inner();
    results
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i <= last)
        .filter_map(|(_, r)| r)
        .collect()
}

pub fn progress_wanted() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

pub fn main(a: SweepArgs) -> Result<i32, InputError> {
    let (scenario, path) = load(Some(&a.scenario))?;
    let (lo, hi) = parse_seeds(&a.seeds).map_err(InputError)?;
    let (k, n) = match &a.shard {
        Some(s) => parse_shard(s).map_err(InputError)?,
        None => (1, 1),
    };
    let seeds: Vec<u64> = (lo..hi).filter(|s| (s - lo) % n == k - 1).collect();
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let start = std::time::Instant::now();
    let results = sweep(&scenario, &seeds, jobs, a.fail_fast, progress_wanted());
    let secs = start.elapsed().as_secs_f64();
    if let Some(p) = &a.json {
        write_jsonl(p, &results)
            .map_err(|e| InputError(format!("cannot write {}: {e}", p.display())))?;
    }
    if let Some(dir) = &a.plots {
        use crate::report::svg::histogram_svg;
        let metric =
            |f: fn(&SeedResult) -> f64| results.iter().map(|r| (r.seed, f(r))).collect::<Vec<_>>();
        let plots = [
            (
                "events.svg",
                histogram_svg(&metric(|r| r.events as f64), "Events per seed", "events"),
            ),
            (
                "sim-time.svg",
                histogram_svg(
                    &metric(|r| r.sim_time_ns as f64 / 1e9),
                    "Simulated time per seed",
                    "s",
                ),
            ),
            (
                "ops.svg",
                histogram_svg(
                    &metric(|r| r.ops as f64),
                    "Client operations per seed",
                    "ops",
                ),
            ),
        ];
        for (name, svg) in plots {
            let p = dir.join(name);
            crate::report::write_atomic(&p, svg.as_bytes())
                .map_err(|e| InputError(format!("cannot write {}: {e}", p.display())))?;
        }
        println!("histograms in {}", dir.display());
    }
    let events: u64 = results.iter().map(|r| r.events).sum();
    let failing: Vec<&SeedResult> = results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .collect();
    for r in &failing {
        println!(
            "seed {:>6} {:<9} {:<28} {}",
            r.seed,
            verdict_name(r.verdict),
            r.failed.join(","),
            reproduce_line(&path, r.seed)
        );
    }
    let count = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
    println!(
        "{} seeds of {} ({}{}): {} passed, {} failed ({} violations, {} inconclusive, {} unknown); {:.1} seeds/s, {:.2} M events/s on {} threads",
        results.len(),
        scenario.name,
        a.seeds,
        a.shard
            .as_deref()
            .map(|s| format!(", shard {s}"))
            .unwrap_or_default(),
        results.len() - failing.len(),
        failing.len(),
        count(Verdict::Violation),
        count(Verdict::Inconclusive),
        count(Verdict::Unknown),
        results.len() as f64 / secs.max(1e-9),
        events as f64 / secs.max(1e-9) / 1e6,
        jobs
    );
    // The worst seed's exit code (`protocols::EXIT_CODES`).
    let worst = results.iter().map(|r| r.verdict).max();
    Ok(worst.unwrap_or(Verdict::Pass).exit_code())
}

fn verdict_name(v: Verdict) -> &'static str {
    v.name()
}

fn write_jsonl(p: &Path, results: &[SeedResult]) -> std::io::Result<()> {
    let mut out = Vec::new();
    for r in results {
        serde_json::to_writer(&mut out, r).map_err(std::io::Error::other)?;
        out.write_all(b"\n")?;
    }
    crate::report::write_atomic(p, &out)
}

#[derive(Args, Debug)]
#[command(
    after_help = "Example:\n  faultline merge part1.jsonl part2.jsonl part3.jsonl --json all.jsonl"
)]
pub struct MergeArgs {
    /// JSON Lines files written by `sweep --json`.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Write the merged, seed-sorted lines here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub fn merge(a: MergeArgs) -> Result<i32, InputError> {
    let mut all: Vec<SeedResult> = Vec::new();
    for f in &a.files {
        let text =
            std::fs::read_to_string(f).map_err(|e| InputError(format!("{}: {e}", f.display())))?;
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let r: SeedResult = serde_json::from_str(line)
                .map_err(|e| InputError(format!("{}:{}: {e}", f.display(), i + 1)))?;
            all.push(r);
        }
    }
    all.sort_by_key(|r| r.seed);
    let before = all.len();
    all.dedup_by_key(|r| r.seed);
    if let Some(p) = &a.json {
        write_jsonl(p, &all)
            .map_err(|e| InputError(format!("cannot write {}: {e}", p.display())))?;
    }
    let failing: Vec<&SeedResult> = all.iter().filter(|r| r.verdict != Verdict::Pass).collect();
    for r in &failing {
        println!(
            "seed {:>6} {:<9} {}",
            r.seed,
            verdict_name(r.verdict),
            r.failed.join(",")
        );
    }
    println!(
        "{} seeds ({} duplicates dropped): {} passed, {} failed",
        all.len(),
        before - all.len(),
        all.len() - failing.len(),
        failing.len()
    );
    Ok(if failing.is_empty() { 0 } else { 1 })
}
