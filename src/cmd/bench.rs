//! `faultline bench`: the engine against a bare BinaryHeap loop doing the same work, in one
//! run; then Raft on the default scenario (events per second, sweep seeds per second on 1 and
//! on every thread), Multi-Paxos on its partition scenario beside Raft on raft-partitions.ron
//! (events per CPU-second of the thread, interleaved seed by seed over several rounds in one
//! run: the median round and the rounds' range), and what writing a report costs on top of a
//! run; then a million requests through the load balancer's strategies.

use clap::Args;

use super::{DEFAULT_SCENARIO, InputError};
use crate::protocols::run;
use crate::report::stepper::Steps;
use crate::report::{Extras, render_run_report, run_for_report, write_run_report};
use crate::scenario::load_str;

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  faultline bench\n  faultline bench --only engine --events 3000000\n  faultline bench --only raft --seeds 400\n  faultline bench --only report --seeds 20\n  faultline bench --scaling --reps 1 --max-secs 1000\n\nExit codes: 0 measured, 2 bad input or usage."
)]
pub struct BenchArgs {
    /// Events per engine measurement.
    #[arg(long, default_value_t = 10_000_000)]
    pub events: u64,
    /// Seeds of the default Raft scenario per sweep measurement.
    #[arg(long, default_value_t = 200)]
    pub seeds: u64,
    /// Only one part: `engine`, `raft` (Raft, and Multi-Paxos beside it, and the report's
    /// cost), `report` (what writing a report costs on top of a run) or `lb`.
    #[arg(long)]
    pub only: Option<String>,
    /// Instead: how cost grows with simulated time, servers and clients (each row in a fresh
    /// process: events, CPU time, events/s, peak RSS, growth exponent).
    #[arg(long)]
    pub scaling: bool,
    /// With --scaling: runs per cell (the median is shown).
    #[arg(long, default_value_t = 3)]
    pub reps: u32,
    /// With --scaling: leave out the rows longer than this many simulated seconds.
    #[arg(long, default_value_t = 3_600)]
    pub max_secs: u64,
    /// Internal: measure one scaling row (`servers,secs,clients`) in this process.
    #[arg(long, hide = true)]
    pub scaling_row: Option<String>,
    /// Internal: with --scaling-row, only election safety.
    #[arg(long, hide = true)]
    pub scaling_engine_only: bool,
}

impl BenchArgs {
    /// One part (`engine`, `raft`, `lb`) with these sizes, as the cargo benches ask for it.
    pub fn part(only: &str, events: u64, seeds: u64) -> BenchArgs {
        BenchArgs {
            events,
            seeds,
            only: Some(only.into()),
            scaling: false,
            reps: 1,
            max_secs: 0,
            scaling_row: None,
            scaling_engine_only: false,
        }
    }
}

pub fn main(a: BenchArgs) -> Result<i32, InputError> {
    if let Some(row) = &a.scaling_row {
        return super::scaling::child(row, !a.scaling_engine_only);
    }
    if a.scaling {
        if !(1..=99).contains(&a.reps) {
            return Err(InputError("--reps: 1 to 99".into()));
        }
        super::scaling::table(a.reps, a.max_secs)?;
        return Ok(0);
    }
    let (engine, raft, lb) = match a.only.as_deref() {
        None => (true, true, true),
        Some("engine") => (true, false, false),
        Some("raft") => (false, true, false),
        Some("lb") => (false, false, true),
        Some("report") => (false, false, false),
        Some(o) => {
            return Err(InputError(format!(
                "--only `{o}`: expected engine, raft, report or lb"
            )));
        }
    };
    if a.seeds == 0 || a.events == 0 {
        return Err(InputError("--seeds and --events must be at least 1".into()));
    }
    if a.seeds > super::seeds::MAX_SEEDS {
        return Err(InputError(format!(
            "--seeds: at most {}",
            super::seeds::MAX_SEEDS
        )));
    }
    if engine {
        engine_table(a.events);
    }
    if raft {
        raft_table(a.seeds)?;
    }
    if a.only.as_deref() == Some("report") {
        let scenario = load_str(DEFAULT_SCENARIO, "<embedded default scenario>")?;
        report_row(&scenario, a.seeds)?;
    }
    if lb {
        let f = crate::bench::lb_requests(1_000_000);
        println!(
            "\nload-balancer (lb-strategies.ron stretched, every strategy): {} requests, {:.1} M events in {:.2} s ({:.0} k requests/s)",
            f.requests,
            f.events as f64 / 1e6,
            f.secs,
            f.requests as f64 / f.secs / 1e3
        );
    }
    Ok(0)
}

fn engine_table(events: u64) {
    println!(
        "{:>6} {:>10} {:>12} {:>14} {:>14} {:>7}",
        "nodes", "in-flight", "events", "engine ev/s", "bare ev/s", "ratio"
    );
    for in_flight in [5, 1_000, 100_000] {
        let f = crate::bench::engine_vs_bare(5, in_flight, events, 3);
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
}

/// Rounds of the protocols' comparison: the median round is reported, with the spread.
const PROTOCOL_ROUNDS: u32 = 7;

/// Raft on raft-partitions.ron and Multi-Paxos on multipaxos-partitions.ron (the same
/// cluster, network, clients and faults, every check on for both), interleaved seed by seed
/// on one thread, in rounds, each run timed in the thread's CPU time: the median round's
/// events per CPU-second of each, and the median of the rounds' ratios with their range.
fn protocols_table(raft: &crate::scenario::Scenario, seeds: u64) -> Result<(), InputError> {
    let multi = load_str(
        include_str!("../../scenarios/multipaxos-partitions.ron"),
        "scenarios/multipaxos-partitions.ron",
    )?;
    let f = crate::bench::scenarios_events(&[raft, &multi], seeds, PROTOCOL_ROUNDS);
    println!();
    for x in &f {
        let rates = x.rates();
        let (lo, hi) = rates
            .iter()
            .fold((f64::MAX, 0.0f64), |(l, h), &r| (l.min(r), h.max(r)));
        println!(
            "{:<22} {seeds} seeds x {PROTOCOL_ROUNDS} rounds, runs and checks, 1 thread: {:>5.2} M events per CPU-second (median round; {:.2}-{:.2}), {:.2} M events a round",
            x.name,
            x.events_per_sec() / 1e6,
            lo / 1e6,
            hi / 1e6,
            x.events as f64 / 1e6,
        );
        if x.not_passed > 0 {
            println!(
                "  warning: {} of its {seeds} runs did not pass their checks",
                x.not_passed
            );
        }
    }
    let ratios: Vec<f64> = f[1]
        .rates()
        .iter()
        .zip(f[0].rates())
        .map(|(m, r)| m / r)
        .collect();
    let (lo, hi) = ratios
        .iter()
        .fold((f64::MAX, 0.0f64), |(l, h), &r| (l.min(r), h.max(r)));
    let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    println!(
        "multipaxos / raft events per CPU-second: {:.2} (median of {PROTOCOL_ROUNDS} rounds, range {lo:.2}-{hi:.2}: {})",
        crate::bench::median(&ratios),
        shown.join(" ")
    );
    Ok(())
}

fn raft_table(seeds: u64) -> Result<(), InputError> {
    use std::time::Instant;
    let scenario = load_str(DEFAULT_SCENARIO, "<embedded default scenario>")?;
    let all = super::Seeds {
        first: 0,
        last: seeds - 1,
        step: 1,
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    protocols_table(&scenario, seeds.min(100))?;

    // One seed at a time on one thread: simulated events (and the checks) per second.
    let t = Instant::now();
    let one = super::sweep::sweep(&scenario, &all, 1, false, false);
    let secs_1 = t.elapsed().as_secs_f64();
    let events: u64 = one.iter().map(|r| r.events).sum();
    let t = Instant::now();
    let many = super::sweep::sweep(&scenario, &all, threads, false, false);
    let secs_n = t.elapsed().as_secs_f64();
    assert_eq!(
        one, many,
        "a sweep's results do not depend on the thread count"
    );
    println!();
    println!(
        "raft ({}, {seeds} seeds, runs and checks): {:.2} M events/s on 1 thread",
        scenario.name,
        events as f64 / secs_1 / 1e6
    );
    println!(
        "sweep: {:.1} seeds/s on 1 thread, {:.1} seeds/s on {threads} threads ({:.2}x)",
        seeds as f64 / secs_1,
        seeds as f64 / secs_n,
        secs_1 / secs_n
    );

    report_row(&scenario, seeds)
}

/// Rounds of the report's cost: the median round is reported, with the range.
const REPORT_ROUNDS: usize = 7;

/// What writing a report costs on top of the run, as `faultline run` writes it.
fn report_row(scenario: &crate::scenario::Scenario, seeds: u64) -> Result<(), InputError> {
    // The report, as `faultline run` writes it: the run, then the report (a replay of the
    // window it shows, its plots, diagrams and page, the folder written whole over the last
    // one), against the bare run a sweep does, interleaved seed by seed, in rounds; each
    // timed in this thread's CPU time, the kernel's share included (files written, pages
    // touched). `--steps all` (the whole run recorded, every view) is timed after, on its
    // own: interleaved, its megabytes of records would weigh on the runs beside it, which
    // no `faultline run` sees. Freeing an outcome is timed on neither side: `faultline run`
    // leaves it to the process's exit, with a report or without.
    let n = seeds.min(20);
    let dir = std::env::temp_dir().join(format!("faultline-bench-{}", std::process::id()));
    let cpu = crate::bench::thread_cpu_secs;
    // `files`: the folder written, as `faultline run` does; else the pages made and not
    // written (what the files add, apart: on some file systems most of the report's cost,
    // and varying with how much the machine deleted in the last minutes).
    let report = |seed: u64, steps: Steps, files: bool| -> Result<f64, InputError> {
        let spec = scenario.to_run_spec(seed, true);
        let t = cpu();
        let o = run_for_report(&spec, steps);
        let extras = Extras {
            steps,
            ..Default::default()
        };
        if files {
            write_run_report(&dir, &spec, &o, String::new(), extras)
                .map_err(|e| InputError(format!("cannot write {}: {e}", dir.display())))?;
        } else {
            render_run_report(&spec, &o, extras).map_err(|e| InputError(e.to_string()))?;
        }
        Ok(cpu() - t)
    };
    // Per round: bare, with the report, with the report's pages only.
    let mut rounds: Vec<(f64, f64, f64)> = Vec::new();
    for round in 0..REPORT_ROUNDS {
        let (mut bare, mut with, mut pages) = (0.0, 0.0, 0.0);
        for seed in 0..n {
            // The order reversed every other round.
            if round % 2 == 1 {
                with += report(seed, Steps::Window, true)?;
                pages += report(seed, Steps::Window, false)?;
            }
            let t = cpu();
            let o = std::hint::black_box(run(&scenario.to_run_spec(seed, false)));
            bare += cpu() - t;
            drop(o);
            if round % 2 == 0 {
                pages += report(seed, Steps::Window, false)?;
                with += report(seed, Steps::Window, true)?;
            }
        }
        rounds.push((bare, with, pages));
    }
    let mut all = 0.0;
    for seed in 0..n {
        all += report(seed, Steps::All, true)?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let per = |x: f64| x * 1e3 / n as f64;
    let bare = crate::bench::median(&rounds.iter().map(|r| r.0).collect::<Vec<_>>());
    let with = crate::bench::median(&rounds.iter().map(|r| r.1).collect::<Vec<_>>());
    let extra: Vec<f64> = rounds.iter().map(|r| (r.1 / r.0 - 1.0) * 100.0).collect();
    let pages: Vec<f64> = rounds.iter().map(|r| (r.2 / r.0 - 1.0) * 100.0).collect();
    let (lo, hi) = extra
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), &r| (l.min(r), h.max(r)));
    println!(
        "report ({}, {n} seeds x {REPORT_ROUNDS} rounds, CPU): {:.2} ms per run bare, {:.2} ms with the report written into {}: +{:.0}% (median round; rounds {lo:.0} to {hi:.0}%), of which making its pages +{:.0}% and writing its files the rest; {:.1} ms with --steps all (+{:.0}%)",
        scenario.name,
        per(bare),
        per(with),
        std::env::temp_dir().display(),
        crate::bench::median(&extra),
        crate::bench::median(&pages),
        per(all),
        (per(all) / per(bare) - 1.0) * 100.0,
    );
    Ok(())
}
