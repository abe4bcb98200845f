//! `faultline replay SCENARIO --seed N [--from T] [--to T] [--node N]`: the full event trace,
//! one line per event, byte-identical on every run.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{InputError, load};
use crate::protocols::run;
use crate::sim::parse_duration;

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  faultline replay scenarios/raft-basic.ron --seed 1 | less\n  faultline replay scenarios/raft-partitions.ron --seed 4 --from 2s --to 2.5s --node 1\n\nExit codes: 0 trace printed, 2 bad input or usage."
)]
pub struct ReplayArgs {
    /// Scenario file (RON).
    pub scenario: PathBuf,
    /// The seed of the run to replay.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Only events at or after this simulated time (e.g. "1.5s", "200ms").
    #[arg(long)]
    pub from: Option<String>,
    /// Only events at or before this simulated time.
    #[arg(long)]
    pub to: Option<String>,
    /// Only events at this node (or messages from it).
    #[arg(long)]
    pub node: Option<u32>,
    /// Write a message sequence diagram of the window to this SVG file instead.
    #[arg(long)]
    pub svg: Option<std::path::PathBuf>,
}

pub fn main(a: ReplayArgs) -> Result<i32, InputError> {
    let (scenario, _) = load(Some(&a.scenario))?;
    let from = a
        .from
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(|e| InputError(format!("--from: {e}")))?
        .unwrap_or(0);
    let to =
        a.to.as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|e| InputError(format!("--to: {e}")))?
            .unwrap_or(u64::MAX);
    if let Some(path) = &a.svg {
        // Replaces only a sequence diagram written before, never the scenario or a user's file.
        super::check_out_file(path, &[a.scenario.as_path()], "--svg", |h| {
            h.starts_with(b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=")
        })?;
    }
    let spec = scenario.to_run_spec(a.seed, true);
    let outcome = run(&spec);
    if let Some(path) = &a.svg {
        let to = if to == u64::MAX {
            from + 1_000_000_000
        } else {
            to
        };
        let nodes = spec.servers + spec.workload.clients;
        let svg =
            crate::report::sequence::sequence_svg(&outcome.records, nodes, spec.servers, from, to);
        crate::report::write_atomic(path, svg.as_bytes())
            .map_err(|e| InputError(format!("cannot write {}: {e}", path.display())))?;
        println!("wrote {}", path.display());
        return Ok(0);
    }
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    for r in &outcome.records {
        if r.time < from || r.time > to {
            continue;
        }
        if let Some(n) = a.node
            && r.node.0 != n
            && r.peer.0 != n
        {
            continue;
        }
        if writeln!(w, "{}", r.line()).is_err() {
            return Ok(0); // a closed pipe (| head) is not an error
        }
    }
    let _ = w.flush();
    Ok(0)
}
