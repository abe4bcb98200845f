//! `faultline compare A.ron B.ron [--seeds A..B] [--jobs J] [--plot FILE]`: two scenarios
//! that differ only in `protocol`, on the same seeds, side by side. The work is in
//! [`crate::compare`]; this file parses, refuses, prints and writes the plot.

use std::path::PathBuf;

use clap::Args;

use super::interrupt;
use super::seeds::jobs_or_all;
use super::{InputError, check_out_file, exit_code, load, parse_jobs, parse_seeds};
use crate::compare::{CompareError, compare};
use crate::protocols::Verdict;

#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  faultline compare scenarios/raft-partitions.ron scenarios/multipaxos-partitions.ron
  faultline compare scenarios/raft-partitions.ron scenarios/multipaxos-partitions.ron \\
      --seeds 0..20 --plot reports/raft-vs-multipaxos.svg

The two scenarios must be the same but for `protocol` (their name, title, description and
expect may differ too): cluster, network, workload, faults, limits and checks. The fault
schedule is the same on every seed (verified); each client draws its operations from the same
stream in both runs, and the text says how many invocations matched. With a seed range the
figures are summed over the seeds; the plot (both latency series on one time axis, fault
windows shaded) shows the first seed. Ctrl-C stops starting seeds and prints what finished.

Exit codes: 0 every run of both passed, 1 a run found a violation, 2 bad input or usage
(including scenarios that differ in more than the protocol), 3 unknown, 4 inconclusive,
130 interrupted, 143 terminated (SIGTERM); a violation found before an interruption still
exits 1.")]
pub struct CompareArgs {
    /// The first scenario (RON).
    pub a: PathBuf,
    /// The second scenario: the same but for its protocol.
    pub b: PathBuf,
    /// Seeds: A..B (B excluded), A..=B, or one seed A.
    #[arg(long, default_value = "0")]
    pub seeds: String,
    /// Worker threads, 1 to 1024 (default: every core).
    #[arg(long, short, value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Write the latency plot (SVG) to this file; an existing file is replaced only if it is
    /// an earlier plot of this command.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// What marks a plot as this command's own (so a rerun may replace it).
const PLOT_MARK: &str = "<!-- faultline compare -->";

pub fn main(a: CompareArgs) -> Result<i32, InputError> {
    let (sa, pa) = load(Some(&a.a))?;
    let (sb, pb) = load(Some(&a.b))?;
    let seeds = parse_seeds(&a.seeds).map_err(|e| InputError(format!("--seeds: {e}")))?;
    seeds
        .check_size(false, &format!("--seeds {}", a.seeds))
        .map_err(InputError)?;
    if let Some(p) = &a.plot {
        check_out_file(p, &[a.a.as_path(), a.b.as_path()], "--plot", |h| {
            String::from_utf8_lossy(h).contains(PLOT_MARK)
        })?;
    }
    let label =
        |s: &crate::scenario::Scenario, path: &str| format!("{} ({path})", s.protocol.name());
    let labels = [label(&sa, &pa), label(&sb, &pb)];
    let flag = interrupt::install();
    let c = compare(
        &sa,
        &sb,
        labels,
        (&|i| seeds.nth(i), seeds.to_string()),
        jobs_or_all(a.jobs),
        &|| flag.load(std::sync::atomic::Ordering::SeqCst),
    )
    .map_err(|e| match e {
        CompareError::Differ(d) => InputError(format!(
            "{pa} and {pb} differ in more than their protocol, so their runs would not see \
             the same faults and workload:\n  {}\n(make them the same but for `protocol`)",
            d.join("\n  ")
        )),
        CompareError::Schedule(seed) => InputError(format!(
            "seed {seed}: the two scenarios expand to different fault schedules"
        )),
    })?;
    if interrupt::interrupted() {
        println!(
            "interrupted: the figures cover the {} seeds that finished",
            c.sides[0].runs
        );
    }
    print!("{}", c.text());
    if let (Some(p), Some(svg)) = (&a.plot, c.plot()) {
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| InputError(format!("cannot create {}: {e}", dir.display())))?;
        }
        // The mark goes first (right after the opening tag): refusals read a file's head.
        let svg = svg.replacen('>', &format!(">{PLOT_MARK}"), 1);
        std::fs::write(p, svg)
            .map_err(|e| InputError(format!("cannot write {}: {e}", p.display())))?;
        println!("plot       {}", p.display());
    }
    // A violation found is the answer even of a comparison cut short: never hidden behind 130.
    let verdict = c.verdict();
    if interrupt::interrupted() && verdict != Verdict::Violation {
        return Ok(interrupt::exit_code());
    }
    Ok(exit_code(verdict))
}
