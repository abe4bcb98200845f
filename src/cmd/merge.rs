//! `faultline merge FILE... [--json FILE]`: joins the JSON Lines of sharded sweeps.
//!
//! Every line must come from the same scenario (name and content hash) and the same Faultline
//! version; a seed may appear more than once only with identical results. Anything else is an
//! error naming both files, never a silent pick: a violation is never dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use clap::Args;

use super::seeds::parse_seeds;
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

Each line names its sweep's whole range (`of`, its --seeds before --shard): seeds of those
ranges with no line (a sweep interrupted, a shard left out) are listed as INCOMPLETE, and the
merge is then not a pass (exit 4, or 1 with a violation).

Exit codes: 0 every seed passed, 1 a seed found a violation, 2 bad input or usage,
3 a check ran out of its budget (unknown), 4 a run was inconclusive or seeds are missing.")]
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
    // The sweeps' ranges (first, last), each seed's as its line gave it, and whether a line
    // (of an earlier version) gave none.
    let mut ranges: BTreeSet<(u64, u64)> = BTreeSet::new();
    let mut ofs: BTreeMap<u64, String> = BTreeMap::new();
    let mut unranged = false;
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
            let mut r: SeedResult = serde_json::from_str(line).map_err(|e| {
                InputError(format!(
                    "{at}: not a line of `faultline sweep --json` ({e})"
                ))
            })?;
            // The sweep's range is not part of the seed's result: two sweeps of different
            // ranges agree on a seed they share.
            let of = std::mem::take(&mut r.of);
            if of.is_empty() {
                unranged = true;
            } else {
                let range = parse_seeds(&of).map_err(|e| InputError(format!("{at}: of: {e}")))?;
                if r.seed < range.first || r.seed > range.last {
                    return Err(InputError(format!(
                        "{at}: seed {} is outside its sweep's range {of}",
                        r.seed
                    )));
                }
                ranges.insert((range.first, range.last));
                ofs.entry(r.seed).or_insert(of);
            }
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
    let gaps = missing(&ranges, &by_seed);
    let mut all: Vec<SeedResult> = by_seed.into_values().map(|(r, _)| r).collect();
    for r in &mut all {
        if let Some(of) = ofs.remove(&r.seed) {
            r.of = of;
        }
    }
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
    if unranged {
        eprintln!(
            "note: some lines (of an earlier version) do not say which seeds their sweep ran, \
             so seeds missing from them cannot be told"
        );
    }
    let mut worst = all.iter().map(|r| r.verdict).max().unwrap_or(Verdict::Pass);
    if gaps.count > 0 {
        // A seed the sweep was asked for and never reported is a run that proved nothing.
        worst = worst.max(Verdict::Inconclusive);
        let spans: Vec<String> = gaps.first.iter().map(|&(a, b)| span(a, b)).collect();
        let more = if gaps.count_spans > gaps.first.len() {
            ", ..."
        } else {
            ""
        };
        println!(
            "INCOMPLETE: {} of the {} seeds the sweeps were asked for have no result (missing {}{more}): \
             an interrupted sweep or a shard left out; not a pass",
            gaps.count,
            gaps.expected,
            spans.join(", ")
        );
    }
    Ok(exit_code(worst))
}

/// The seeds of the sweeps' ranges that have no result.
struct Gaps {
    /// Seeds in the ranges (up to 2^64 each, hence `u128`), and how many have no line.
    expected: u128,
    count: u128,
    /// The first few spans of missing seeds, and how many spans in all.
    first: Vec<(u64, u64)>,
    count_spans: usize,
}

/// The spans of `ranges` (inclusive, possibly overlapping) that no seed of `present` covers:
/// a walk over the seeds present, never over the range (which may hold 2^64 seeds).
fn missing<V>(ranges: &BTreeSet<(u64, u64)>, present: &BTreeMap<u64, V>) -> Gaps {
    // The ranges' union, as disjoint spans in order.
    let mut union: Vec<(u64, u64)> = Vec::new();
    for &(a, b) in ranges {
        match union.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => union.push((a, b)),
        }
    }
    let mut g = Gaps {
        expected: 0,
        count: 0,
        first: Vec::new(),
        count_spans: 0,
    };
    let gap = |a: u64, b: u64, g: &mut Gaps| {
        g.count += (b - a) as u128 + 1;
        g.count_spans += 1;
        if g.first.len() < 5 {
            g.first.push((a, b));
        }
    };
    for (a, b) in union {
        g.expected += (b - a) as u128 + 1;
        // The next seed not yet known to be present (`None`: past u64::MAX).
        let mut next = Some(a);
        for &s in present.range(a..=b).map(|(s, _)| s) {
            if let Some(n) = next.filter(|&n| n < s) {
                gap(n, s - 1, &mut g);
            }
            next = s.checked_add(1);
        }
        if let Some(n) = next.filter(|&n| n <= b) {
            gap(n, b, &mut g);
        }
    }
    g
}

/// `a..b+1` as a seed range is written (`a` alone for one seed).
fn span(a: u64, b: u64) -> String {
    crate::cmd::seeds::Seeds {
        first: a,
        last: b,
        step: 1,
    }
    .to_string()
}
