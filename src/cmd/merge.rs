//! `faultline merge FILE... [--json FILE]`: joins the JSON Lines of sharded sweeps.
//!
//! Every line must come from the same scenario (name and content hash) and the same Faultline
//! version; a seed may appear more than once only with identical results. Anything else is an
//! error naming both files, never a silent pick: a violation is never dropped.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use clap::Args;

use super::sweep::SeedResult;
use super::{InputError, exit_code, verdict_name};
use crate::protocols::Verdict;

#[derive(Args, Debug)]
#[command(after_help = "\
Example:
  faultline merge reports/part1.jsonl reports/part2.jsonl reports/part3.jsonl --json reports/all.jsonl

Refused (exit 2, naming both files): lines of different scenarios (name or content hash) or
Faultline versions, and one seed with two different results (verdict, failed checks or trace
hash). Duplicates with identical results are kept once.

Exit codes: 0 every seed passed, 1 a seed found a violation, 2 bad input or usage,
3 a check ran out of its budget (unknown), 4 a run was inconclusive.")]
pub struct MergeArgs {
    /// JSON Lines files written by `sweep --json`.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Write the merged lines here, sorted by seed.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// The longest line merge reads: a sweep's line is a few hundred bytes. Files are read a line
/// at a time, so a wrong input (a log of gigabytes, a device) is refused at its first long
/// line instead of being read whole into memory.
const MAX_LINE_BYTES: u64 = 64 * 1024;

/// Where a line came from.
#[derive(Clone, Copy)]
struct Origin<'a> {
    file: &'a Path,
    line: usize,
}

impl std::fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

fn describe(r: &SeedResult) -> String {
    let failed = if r.failed.is_empty() {
        String::new()
    } else {
        format!(" ({})", r.failed.join(","))
    };
    format!(
        "{}{failed}, trace hash {}, {} events",
        verdict_name(r.verdict),
        r.trace_hash,
        r.events
    )
}

pub fn merge(a: MergeArgs) -> Result<i32, InputError> {
    if let Some(out) = &a.json {
        let inputs: Vec<&Path> = a.files.iter().map(PathBuf::as_path).collect();
        super::sweep::check_results_out(out, &inputs)?;
    }
    let mut identity: Option<(SeedResult, Origin)> = None;
    let mut by_seed: BTreeMap<u64, (SeedResult, Origin)> = BTreeMap::new();
    let mut duplicates = 0usize;
    let mut buf = Vec::new();
    for f in &a.files {
        let unreadable = |e: std::io::Error| InputError(format!("{}: {e}", f.display()));
        let mut r = std::io::BufReader::new(std::fs::File::open(f).map_err(unreadable)?);
        for i in 1.. {
            let at = Origin { file: f, line: i };
            buf.clear();
            if (&mut r)
                .take(MAX_LINE_BYTES + 1)
                .read_until(b'\n', &mut buf)
                .map_err(unreadable)?
                == 0
            {
                break;
            }
            if buf.len() as u64 > MAX_LINE_BYTES {
                return Err(InputError(format!(
                    "{at}: a line longer than {MAX_LINE_BYTES} bytes, so not a line of \
                     `faultline sweep --json`"
                )));
            }
            let line = std::str::from_utf8(&buf).map_err(|e| {
                InputError(format!(
                    "{at}: not text (invalid UTF-8 at byte {}), so not a line of \
                     `faultline sweep --json`",
                    e.valid_up_to() + 1
                ))
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let r: SeedResult = serde_json::from_str(line).map_err(|e| {
                InputError(format!(
                    "{at}: not a line of `faultline sweep --json` ({e})"
                ))
            })?;
            match &identity {
                None => {
                    identity = Some((r.clone(), at));
                }
                Some((first, from)) => {
                    for (what, x, y) in [
                        ("scenario", &first.scenario, &r.scenario),
                        (
                            "scenario content hash",
                            &first.scenario_hash,
                            &r.scenario_hash,
                        ),
                        ("Faultline version", &first.faultline, &r.faultline),
                    ] {
                        if x != y {
                            return Err(InputError(format!(
                                "cannot merge different sweeps: {from} has {what} `{x}` but {at} has `{y}`"
                            )));
                        }
                    }
                }
            }
            let seed = r.seed;
            match by_seed.get(&seed) {
                None => {
                    by_seed.insert(seed, (r, at));
                }
                Some((prev, _)) if *prev == r => duplicates += 1,
                Some((prev, from)) => {
                    return Err(InputError(format!(
                        "conflicting results for seed {seed}: {from} says {} but {at} says {}",
                        describe(prev),
                        describe(&r)
                    )));
                }
            }
        }
    }
    let all: Vec<SeedResult> = by_seed.into_values().map(|(r, _)| r).collect();
    if all.is_empty() {
        return Err(InputError(
            "the files hold no result: nothing to merge".into(),
        ));
    }
    if let Some(p) = &a.json {
        let mut out = Vec::new();
        for r in &all {
            serde_json::to_writer(&mut out, r).map_err(|e| InputError(e.to_string()))?;
            out.push(b'\n');
        }
        crate::report::write_atomic(p, &out)
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
    let name = identity
        .as_ref()
        .map(|(r, _)| format!(" of {}", r.scenario))
        .unwrap_or_default();
    println!(
        "{} seeds{name} ({duplicates} identical duplicates): {} passed, {} failed",
        all.len(),
        all.len() - failing.len(),
        failing.len()
    );
    Ok(exit_code(
        all.iter().map(|r| r.verdict).max().unwrap_or(Verdict::Pass),
    ))
}
