//! `faultline shrink SCENARIO --seed N [--out FILE] [--budget RUNS]`: the smallest run that
//! still fails the same check, as a standalone scenario with its report beside it.

use std::path::PathBuf;

use clap::Args;

use super::{InputError, load};
use crate::report::write_run_report;
use crate::scenario::ron_options;
use crate::shrink::{Options, Size, shrink};
use crate::sim::fmt_time;

#[derive(Args, Debug)]
#[command(
    after_help = "Example:\n  faultline shrink scenarios/raft-bug-forget_vote.ron --seed 12 --out forget_vote-12.ron\n  faultline run forget_vote-12.ron --seed 12"
)]
pub struct ShrinkArgs {
    pub scenario: PathBuf,
    #[arg(long)]
    pub seed: u64,
    /// Where to write the shrunk scenario (default: <name>-seed-<N>-shrunk.ron in reports/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Most candidate runs to try.
    #[arg(long, default_value_t = 20_000)]
    pub budget: u32,
    /// Keep failing this check (default: the first check the run fails).
    #[arg(long)]
    pub check: Option<String>,
}

pub fn main(a: ShrinkArgs) -> Result<i32, InputError> {
    let (scenario, _) = load(Some(&a.scenario))?;
    let opts = Options {
        budget: a.budget,
        check: a.check.clone(),
    };
    let s = shrink(&scenario, a.seed, &opts).map_err(|e| InputError(e.to_string()))?;
    let out = a.out.clone().unwrap_or_else(|| {
        PathBuf::from("reports").join(format!("{}-seed-{}.ron", s.scenario.name, a.seed))
    });
    let text = ron_options()
        .to_string_pretty(&s.scenario, ron::ser::PrettyConfig::default())
        .map_err(|e| InputError(format!("cannot write the scenario: {e}")))?;
    let header = format!(
        "// Shrunk by `faultline shrink` (still fails `{}`). Reproduce: faultline run {} --seed {}\n",
        s.check,
        out.display(),
        a.seed
    );
    crate::report::write_atomic(&out, format!("{header}{text}\n").as_bytes())
        .map_err(|e| InputError(format!("cannot write {}: {e}", out.display())))?;
    println!(
        "shrunk `{}` seed {} (still fails `{}`) in {} runs",
        scenario.name, a.seed, s.check, s.runs
    );
    let row = |k: &str, f: fn(&Size) -> String| {
        println!("  {k:<10} {:>12} -> {}", f(&s.before), f(&s.after))
    };
    row("faults", |z| z.faults.to_string());
    row("operations", |z| z.ops.to_string());
    row("events", |z| z.events.to_string());
    row("sim time", |z| format!("{}s", fmt_time(z.sim_time)));
    row("servers", |z| z.servers.to_string());
    row("clients", |z| z.clients.to_string());
    let dir = out.with_extension("report");
    let spec = s.scenario.to_run_spec(a.seed, true);
    let outcome = crate::protocols::run(&spec);
    let repro = format!("faultline run {} --seed {}", out.display(), a.seed);
    write_run_report(&dir, &spec, &outcome, repro.clone())
        .map_err(|e| InputError(format!("cannot write the report: {e}")))?;
    println!(
        "scenario   {}\nreport     {}/report.html\nreproduce  {repro}",
        out.display(),
        dir.display()
    );
    Ok(0)
}
