//! `faultline replay SCENARIO --seed N [--from T] [--to T] [--node N]`: the full event trace,
//! one line per event, byte-identical on every run.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{InputError, load};
use crate::protocols::run;
use crate::scenario::{Scenario, quote};
use crate::sim::{Time, fmt_duration, parse_duration};

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  faultline replay scenarios/raft-basic.ron --seed 1 | less\n  faultline replay scenarios/raft-partitions.ron --seed 4 --from 2s --to 2.5s --node 1\n\nThe trace is printed from a recorded run: a run of more than 2,000,000 events (about 0.6 KB of\nmemory each) is refused (exit 2).\n\nExit codes: 0 trace printed, 2 bad input or usage."
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

/// The most events `replay` records (it prints from a recorded run): some 1.2 GB.
pub const MAX_REPLAY_EVENTS: u64 = 2_000_000;

pub fn main(a: ReplayArgs) -> Result<i32, InputError> {
    let (scenario, _) = load(Some(&a.scenario))?;
    let time = |arg: &str, v: &Option<String>| {
        v.as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|e| InputError(format!("--{arg}: {}", quote(&e, 200))))
    };
    let from = time("from", &a.from)?.unwrap_or(0);
    let to = time("to", &a.to)?.unwrap_or(u64::MAX);
    check_window(&scenario, from, to, a.node)?;
    if let Some(path) = &a.svg {
        // Replaces only a sequence diagram written before, never the scenario or a user's file.
        super::check_out_file(path, &[a.scenario.as_path()], "--svg", |h| {
            h.starts_with(b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=")
        })?;
    }
    // The trace is printed from the run's records: first learn, from the same run unrecorded
    // (deterministic), whether they fit in memory.
    if super::more_events_than(&scenario, a.seed, MAX_REPLAY_EVENTS) {
        return Err(InputError(format!(
            "this run handles more than {MAX_REPLAY_EVENTS} events, the most replay records \
             (about 0.6 KB of memory each): replay a copy of the scenario with a shorter \
             limits.time"
        )));
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
        let svg = crate::report::sequence::sequence_svg(
            &outcome.records,
            &outcome.labels,
            nodes,
            spec.servers,
            from,
            to,
        );
        crate::report::write_atomic(path, svg.as_bytes())
            .map_err(|e| InputError(format!("cannot write {}: {e}", path.display())))?;
        println!("wrote {}", path.display());
        return Ok(0);
    }
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    for (i, r) in outcome.records.iter().enumerate() {
        if r.time < from || r.time > to {
            continue;
        }
        if let Some(n) = a.node
            && r.node.0 != n
            && r.peer.0 != n
        {
            continue;
        }
        let line = r.line_with(&outcome.labels.get(&outcome.records, i));
        if writeln!(w, "{line}").is_err() {
            return Ok(0); // a closed pipe (| head) is not an error
        }
    }
    let _ = w.flush();
    Ok(0)
}

/// The window and node must name something in this scenario's run, or the trace would be
/// silently empty.
fn check_window(s: &Scenario, from: Time, to: Time, node: Option<u32>) -> Result<(), InputError> {
    if from > to {
        return Err(InputError(format!(
            "--from {} is after --to {}: the window is empty",
            fmt_duration(from),
            fmt_duration(to)
        )));
    }
    if from > s.limits.time {
        return Err(InputError(format!(
            "--from {} is after the end of the run ({}, the scenario's limits.time)",
            fmt_duration(from),
            fmt_duration(s.limits.time)
        )));
    }
    let servers = s.cluster.servers;
    let clients = if s.protocol.uses_clients() {
        s.workload.clients
    } else {
        0
    };
    if let Some(n) = node
        && n >= servers + clients
    {
        let who = if clients > 0 {
            format!(
                "servers n0..n{}, clients n{servers}..n{}",
                servers - 1,
                servers + clients - 1
            )
        } else {
            format!("servers n0..n{}", servers - 1)
        };
        return Err(InputError(format!(
            "--node {n}: the run has no node {n} ({who})"
        )));
    }
    Ok(())
}
