//! `faultline run [SCENARIO] [--seed N] [--out DIR]`

use std::path::PathBuf;

use clap::Args;

use super::{
    InputError, check_out_dir, exit_code, load, more_events_than, report_dir, reproduce_line,
};
use crate::protocols::{Verdict, run};
use crate::report::stepper::{MAX_ALL_STEPS, Steps};
use crate::report::{Extras, Summary, run_for_report, write_summarized_report};

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  faultline run\n  faultline run scenarios/raft-bug-stale_leader_read.ron --seed 4\n  faultline run my.ron --seed 3 --out /tmp/report\n  faultline run scenarios/raft-partitions.ron --plots   (each plot as an SVG file too)\n\nThe report folder is written whole (a temporary folder beside it, swapped into place); an existing\nfolder is replaced only if faultline wrote it, and never when it holds the scenario; a place\nnothing can be written (read-only, no permission) is refused before the run.\n\nExit codes: 0 every check passed, 1 a check found a violation, 2 bad input or usage,\n3 a check ran out of its budget (unknown), 4 the run was inconclusive."
)]
pub struct RunArgs {
    /// Scenario file (RON); the embedded default scenario when omitted.
    pub scenario: Option<PathBuf>,
    /// The seed: with the scenario, it fully determines the run.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Report folder (default: reports/<scenario>/seed-<N>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print every fault of the schedule, not just the first few.
    #[arg(long, short)]
    pub verbose: bool,
    /// Do not write a report.
    #[arg(long)]
    pub no_report: bool,
    /// Also write each plot of report.html as its own SVG file (latency.svg, throughput.svg,
    /// roles.svg, sequence.svg; causal.svg and counterexample.svg for a violation), for
    /// slides and documents: report.html holds them all.
    #[arg(long)]
    pub plots: bool,
    /// Also write `latency.png` (a bitmap of the latency plot) into the report.
    #[arg(long)]
    pub png: bool,
    /// What the report's step-through view covers: `window`, 1.5 s of simulated time around
    /// the violation (a run that passed: its first 0.5 s); `all`, every event (a page of a megabyte
    /// or more, and a report that costs more than the run; refused for a run of more than a
    /// million events).
    #[arg(long, value_enum, default_value_t = Steps::Window)]
    pub steps: Steps,
}

pub fn main(a: RunArgs) -> Result<i32, InputError> {
    let (scenario, path) = load(a.scenario.as_deref())?;
    let dir = report_dir(a.out.as_deref(), &scenario, a.seed);
    if !a.no_report {
        let inputs: Vec<&std::path::Path> = a.scenario.iter().map(PathBuf::as_path).collect();
        let flag = match a.out {
            Some(_) => "--out",
            None => "the report folder (--out)",
        };
        check_out_dir(&dir, &inputs, flag)?;
    }
    // Records feed the report's sequence diagram; they do not change the run.
    let spec = scenario.to_run_spec(a.seed, !a.no_report);
    if !a.no_report && a.steps == Steps::All {
        // `--steps all` records every event: first learn, from the same run unrecorded
        // (deterministic), whether that is a number a page can hold.
        if more_events_than(&scenario, a.seed, MAX_ALL_STEPS) {
            return Err(InputError(format!(
                "--steps all: this run handles more than {MAX_ALL_STEPS} events, the most a \
                 step-through page holds (about 0.7 KB of memory each): leave out --steps \
                 (the view then covers 1.5 s around the violation) or shorten the run \
                 (limits.time)"
            )));
        }
    }
    println!("{} — {}", scenario.name, scenario.title);
    let shown = if a.verbose { spec.faults.len() } else { 8 };
    if spec.faults.is_empty() {
        println!("faults     none");
    } else {
        println!(
            "faults drawn for seed {} ({} actions):",
            a.seed,
            spec.faults.len()
        );
        for f in spec.faults.iter().take(shown) {
            println!("  {f}");
        }
        if spec.faults.len() > shown {
            println!(
                "  ... {} more (--verbose lists them all)",
                spec.faults.len() - shown
            );
        }
    }
    let outcome = if a.no_report {
        run(&spec)
    } else {
        run_for_report(&spec, a.steps)
    };
    let extras = Extras {
        png: a.png,
        plots: a.plots,
        steps: a.steps,
    };
    let repro = reproduce_line(&path, a.seed);
    let summary = Summary::new(&spec, &outcome, repro);
    let text = summary.text();
    print!("{text}");
    let verdict = outcome.verdict();
    if !a.no_report {
        let written = write_summarized_report(&dir, &spec, &outcome, &summary, &text, extras);
        if let Err(e) = written {
            let e = format!("cannot write the report to {}: {e}", dir.display());
            // A violation found is the run's answer: a report that could not be written (a
            // disk that filled up during the run) does not hide it behind exit 2.
            if verdict == Verdict::Violation {
                eprintln!("error: {e} (the violation above stands: exit 1)");
                return Ok(exit_code(verdict));
            }
            return Err(InputError(e));
        }
        println!(
            "report     {}/report.html (summary.json beside it)",
            dir.display()
        );
    }
    let code = exit_code(verdict);
    // The process ends here: freeing the run's records, views and history one by one would
    // only cost time (a tenth of a reported run's), so leave them to the exit.
    std::mem::forget(outcome);
    Ok(code)
}
