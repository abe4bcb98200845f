//! `faultline shrink SCENARIO --seed N [--out FILE] [--budget RUNS]`: the smallest run that
//! still fails the same check, as a standalone scenario with its report beside it. Progress
//! goes to stderr; Ctrl-C stops the search and writes the best scenario found so far.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

use super::interrupt;
use super::{InputError, check_out_dir, check_out_file, load, parse_jobs};
use crate::protocols::Verdict;
use crate::report::write_run_report;
use crate::scenario::{load_file, ron_options};
use crate::shrink::{Control, Options, Progress, Size, shrink_with, size};
use crate::sim::fmt_time;

/// The first line of every scenario `shrink` writes: how a later shrink knows it may replace
/// the file.
const HEADER: &str = "// Shrunk by `faultline shrink`";

#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  faultline shrink scenarios/raft-bug-forget_vote.ron --seed 11 --out reports/forget_vote-11.ron
  faultline run reports/forget_vote-11.ron --seed 11

Progress goes to stderr. Ctrl-C stops the search and writes the best scenario found so far
(exit 130); a second Ctrl-C stops at once. The figures printed (faults, operations, events)
are those of a run of the file written. An existing --out file is replaced only if an earlier
shrink wrote it, and never when it is the input.

Exit codes: 0 written, 2 bad input or usage (a passing seed, an output that would overwrite
a file the user wrote), 3 the file written no longer fails (a bug: please report it),
130 interrupted, 143 terminated by SIGTERM (the best scenario so far is written).")]
pub struct ShrinkArgs {
    /// Scenario file (RON) with a seed that fails a check.
    pub scenario: PathBuf,
    /// The failing seed (find one with `faultline sweep`).
    #[arg(long)]
    pub seed: u64,
    /// Where to write the shrunk scenario (default: reports/<name>-shrunk-seed-<N>.ron); its
    /// report goes beside it, in <FILE without .ron>.report/.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Most candidate runs to try.
    #[arg(long, default_value_t = 20_000)]
    pub budget: u32,
    /// Keep failing this check (default: the first check the run fails).
    #[arg(long)]
    pub check: Option<String>,
    /// Worker threads running candidates, 1 to 1024 (default: every core).
    #[arg(long, short, value_parser = parse_jobs)]
    pub jobs: Option<usize>,
}

pub fn main(a: ShrinkArgs) -> Result<i32, InputError> {
    let (scenario, _) = load(Some(&a.scenario))?;
    let name = match scenario.name.ends_with("-shrunk") {
        true => scenario.name.clone(),
        false => format!("{}-shrunk", scenario.name),
    };
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports").join(format!("{name}-seed-{}.ron", a.seed)));
    let dir = out.with_extension("report");
    // Refuse a bad output before the search, not after it.
    if dir == out {
        return Err(InputError(format!(
            "--out {}: the report folder would have the same name; use a .ron file name",
            out.display()
        )));
    }
    let inputs = [a.scenario.as_path()];
    check_out_file(&out, &inputs, "--out", |h| h.starts_with(HEADER.as_bytes()))?;
    check_out_dir(&dir, &inputs, "the report folder")?;

    let flag = interrupt::install();
    let bar = (std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()).then(|| {
        let b = indicatif::ProgressBar::new(u64::from(a.budget));
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} runs {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    // Off a terminal, a line each time the figures shown change (a bounded number: each
    // accepted candidate is smaller).
    let shown = std::sync::Mutex::new(None);
    let show = |p: &Progress| {
        let now = format!(
            "best: {} faults, {} operations, {} events",
            p.best.faults, p.best.ops, p.best.events
        );
        match &bar {
            Some(b) => {
                b.set_position(u64::from(p.runs));
                b.set_message(now);
            }
            None if p.improved => {
                let mut last = shown.lock().unwrap_or_else(|e| e.into_inner());
                if last.as_ref() != Some(&now) {
                    eprintln!("shrink: {} runs, {now}", p.runs);
                    *last = Some(now);
                }
            }
            None => {}
        }
    };
    let control = Control {
        stop: Some(flag),
        progress: Some(&show),
    };
    let opts = Options {
        budget: a.budget,
        check: a.check.clone(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(super::seeds::jobs_or_all(a.jobs))
        .build()
        .map_err(|e| InputError(format!("cannot start worker threads: {e}")))?;
    let s = pool
        .install(|| shrink_with(&scenario, a.seed, &opts, &control))
        .map_err(|e| InputError(e.to_string()))?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let text = ron_options()
        .to_string_pretty(&s.scenario, ron::ser::PrettyConfig::default())
        .map_err(|e| InputError(format!("cannot write the scenario: {e}")))?;
    let status = if s.interrupted {
        "interrupted: the best found so far, not fully shrunk; "
    } else {
        ""
    };
    let header = format!(
        "{HEADER} ({status}still fails `{}`). Reproduce: faultline run {} --seed {}\n",
        s.check,
        out.display(),
        a.seed
    );
    crate::report::write_atomic(&out, format!("{header}{text}\n").as_bytes())
        .map_err(|e| InputError(format!("cannot write {}: {e}", out.display())))?;

    // Every figure below comes from a run of the file as written.
    let written = load_file(&out)?;
    let spec = written.to_run_spec(a.seed, true);
    let outcome = crate::protocols::run(&spec);
    let after = size(&written, a.seed, &outcome);
    let still = outcome
        .checks
        .iter()
        .any(|c| c.name == s.check && c.verdict == Verdict::Violation);
    println!(
        "shrunk `{}` seed {} ({}) in {} runs{}",
        scenario.name,
        a.seed,
        if still {
            format!("still fails `{}`", s.check)
        } else {
            format!("WARNING: the file written no longer fails `{}`", s.check)
        },
        s.runs,
        if s.interrupted {
            " (interrupted: the best scenario found so far)"
        } else {
            ""
        }
    );
    print_sizes(&s.before, &after);
    let repro = format!("faultline run {} --seed {}", out.display(), a.seed);
    write_run_report(&dir, &spec, &outcome, repro.clone(), Default::default())
        .map_err(|e| InputError(format!("cannot write the report: {e}")))?;
    println!(
        "scenario   {}\nreport     {}/report.html\nreproduce  {repro}",
        out.display(),
        dir.display()
    );
    if s.interrupted {
        eprintln!(
            "interrupted after {} runs: wrote the best scenario found so far to {}",
            s.runs,
            out.display()
        );
        return Ok(interrupt::exit_code());
    }
    Ok(if still { 0 } else { 3 })
}

fn print_sizes(before: &Size, after: &Size) {
    let row =
        |k: &str, f: fn(&Size) -> String| println!("  {k:<10} {:>12} -> {}", f(before), f(after));
    row("faults", |z| z.faults.to_string());
    row("operations", |z| z.ops.to_string());
    row("events", |z| z.events.to_string());
    row("sim time", |z| format!("{}s", fmt_time(z.sim_time)));
    row("servers", |z| z.servers.to_string());
    row("clients", |z| z.clients.to_string());
}
