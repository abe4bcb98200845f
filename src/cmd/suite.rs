//! `faultline suite DIR [--junit FILE] [--jobs J]`: every scenario in DIR against its
//! expectation. Seed ranges are run lazily (never materialised) and bounded.

use std::path::{Path, PathBuf};

use clap::Args;

use super::interrupt;
use super::seeds::{expectation_seeds, jobs_or_all};
use super::sweep::{SeedResult, SweepOptions, sweep_each};
use super::{InputError, check_out_file, parse_jobs, reproduce_line, verdict_name};
use crate::protocols::Verdict;
use crate::report::svg::esc;
use crate::scenario::{Expect, Scenario, load_file};

#[derive(Args, Debug)]
#[command(after_help = "\
Each scenario's `expect` field says what must hold:
  expect: Pass(seeds: (0, 200))                                  every seed of 0..200 passes
  expect: Violation(check: \"election-safety\", within_seeds: (0, 2000))
                                                                 some seed of 0..2000 violates it
(the end of a range is excluded; a range may hold at most 1,000,000 seeds). A run that is not
PASS (a violation, an unknown or an inconclusive verdict) fails a Pass expectation.

Example:
  faultline suite scenarios/ --junit reports/junit.xml

Exit codes: 0 every scenario met its expectation, 1 one did not, 2 bad input or usage
(an unreadable folder; an invalid scenario is reported as a failed case), 130 interrupted, 143
terminated (SIGTERM); a scenario that failed before an interruption still makes it exit 1.")]
pub struct SuiteArgs {
    /// Folder of scenarios: every `*.ron` file in it, in name order (not those in subfolders:
    /// a note counts them).
    pub dir: PathBuf,
    /// Also write the results as JUnit XML to this file (one test case per scenario).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Worker threads, 1 to 1024 (default: every core).
    #[arg(long, short, value_parser = parse_jobs)]
    pub jobs: Option<usize>,
}

struct CaseResult {
    name: String,
    ok: bool,
    message: String,
    secs: f64,
}

pub fn main(a: SuiteArgs) -> Result<i32, InputError> {
    let listing = |e: std::io::Error| InputError(format!("{}: {e}", a.dir.display()));
    let mut files: Vec<PathBuf> = Vec::new();
    for e in std::fs::read_dir(&a.dir).map_err(listing)? {
        let p = e.map_err(listing)?.path();
        // Every `*.ron` entry but a folder is a case: one that cannot be read (a link to a
        // scenario that moved, a pipe) fails, rather than being left out of a green suite.
        if p.extension().is_some_and(|x| x == "ron") && !p.is_dir() {
            files.push(p);
        }
    }
    files.sort();
    let nested = scenarios_in_subfolders(&a.dir);
    if nested > 0 {
        // Not run, but never silently: a CI that moved scenarios into folders would
        // otherwise see a green suite of fewer scenarios.
        eprintln!(
            "note: {nested} *.ron file{} in subfolders of {} {} not run (a suite runs the folder's own scenarios): run `faultline suite` on each subfolder",
            if nested == 1 { "" } else { "s" },
            a.dir.display(),
            if nested == 1 { "is" } else { "are" },
        );
    }
    if files.is_empty() {
        return Err(InputError(format!(
            "{}: no *.ron scenarios",
            a.dir.display()
        )));
    }
    if let Some(p) = &a.junit {
        let inputs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        check_out_file(p, &inputs, "--junit", |h| {
            String::from_utf8_lossy(h).contains("<testsuite name=\"faultline\"")
        })?;
    }
    let jobs = jobs_or_all(a.jobs);
    let flag = interrupt::install();
    let mut cases = Vec::new();
    for f in &files {
        let start = std::time::Instant::now();
        let path = f.display().to_string();
        let (name, ok, message, settled) = match load_case(f) {
            Err(e) => (path.clone(), false, format!("invalid scenario: {e}"), true),
            Ok(s) => {
                let (ok, message, settled) = judge(&s, f, &path, jobs, flag);
                (s.name.clone(), ok, message, settled)
            }
        };
        if interrupt::interrupted() && !settled {
            break; // this case was cut short: not a result
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{} {:<40} {:>6.1}s  {}",
            if ok { "ok  " } else { "FAIL" },
            name,
            secs,
            message
        );
        cases.push(CaseResult {
            name,
            ok,
            message,
            secs,
        });
        if interrupt::interrupted() {
            break; // a result that stood although its case was cut short (a seed failed)
        }
    }
    let failed = cases.iter().filter(|c| !c.ok).count();
    println!(
        "{} scenarios: {} met their expectation, {} did not",
        cases.len(),
        cases.len() - failed,
        failed
    );
    if let Some(p) = &a.junit {
        // The scenarios an interruption left unjudged are errors in the XML too: a reader of
        // the file alone must not see a green suite that did not run.
        write_junit(p, &cases, &files[cases.len()..])?;
    }
    if interrupt::interrupted() {
        eprintln!(
            "interrupted: {} of {} scenarios judged",
            cases.len(),
            files.len()
        );
        // A scenario that failed its expectation is the answer even of a suite cut short:
        // never hidden behind 130.
        if failed == 0 {
            return Ok(interrupt::exit_code());
        }
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

/// The scenario of a suite's entry; a pipe, socket or device is refused unopened (opening a
/// pipe could block the suite).
fn load_case(f: &Path) -> Result<Scenario, String> {
    match std::fs::metadata(f) {
        Ok(m) if !m.is_file() => Err(format!(
            "{}: not a regular file (a pipe, socket or device), so not a scenario",
            f.display()
        )),
        _ => load_file(f).map_err(|e| e.to_string()),
    }
}

/// Runs one scenario against its expectation: (met, what happened, whether that stands even
/// when an interruption cut the case short: a seed that failed a Pass expectation, a violation
/// that met a Violation one).
fn judge(
    s: &Scenario,
    file: &Path,
    path: &str,
    jobs: usize,
    flag: &'static std::sync::atomic::AtomicBool,
) -> (bool, String, bool) {
    let range = match &s.expect {
        Expect::Pass { seeds } => *seeds,
        Expect::Violation { within_seeds, .. } => *within_seeds,
    };
    let src = std::fs::read_to_string(file).unwrap_or_default();
    let seeds = match expectation_seeds(file, &src, range) {
        Ok(x) => x,
        Err(e) => return (false, format!("invalid expectation: {e}"), true),
    };
    let n = seeds.len();
    match &s.expect {
        Expect::Pass { .. } => {
            let (mut bad, mut first): (u64, Option<SeedResult>) = (0, None);
            let opts = SweepOptions {
                jobs,
                stop_at: None,
                progress: false,
                interrupt: Some(flag),
            };
            let _ = sweep_each(s, &seeds, &opts, &mut |r| {
                if r.verdict != Verdict::Pass {
                    bad += 1;
                    first.get_or_insert(r);
                }
                Ok(())
            });
            // A seed that did not pass fails the expectation whatever an interruption left
            // unrun: that result stands (settled).
            let cut = if flag.load(std::sync::atomic::Ordering::SeqCst) {
                " (interrupted: not every seed ran)"
            } else {
                ""
            };
            match first {
                None => (true, format!("all {n} seeds pass"), false),
                Some(b) => (
                    false,
                    format!(
                        "{bad} of {n} seeds fail{cut}; first: seed {} ({} {}): {}",
                        b.seed,
                        verdict_name(b.verdict),
                        b.failed.join(","),
                        reproduce_line(path, b.seed)
                    ),
                    true,
                ),
            }
        }
        Expect::Violation { check, .. } => {
            // Seeds in order; the first violating seed ends the search (deterministically).
            let violates =
                |r: &SeedResult| r.failed.contains(check) && r.verdict == Verdict::Violation;
            let opts = SweepOptions {
                jobs,
                stop_at: Some(&violates),
                progress: false,
                interrupt: Some(flag),
            };
            let mut found = None;
            let _ = sweep_each(s, &seeds, &opts, &mut |r| {
                if violates(&r) {
                    found.get_or_insert(r);
                }
                Ok(())
            });
            match found {
                Some(r) => (
                    true,
                    format!(
                        "`{check}` violated at seed {}: {}",
                        r.seed,
                        reproduce_line(path, r.seed)
                    ),
                    true,
                ),
                None => (
                    false,
                    format!("expected a `{check}` violation within seeds {seeds}, found none"),
                    false,
                ),
            }
        }
    }
}

fn write_junit(p: &Path, cases: &[CaseResult], unjudged: &[PathBuf]) -> Result<(), InputError> {
    let failed = cases.iter().filter(|c| !c.ok).count();
    let errors = if unjudged.is_empty() {
        String::new()
    } else {
        format!(" errors=\"{}\"", unjudged.len())
    };
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"faultline\" tests=\"{}\" failures=\"{failed}\"{errors}>\n",
        cases.len() + unjudged.len()
    );
    for c in cases {
        x.push_str(&format!(
            "  <testcase classname=\"faultline.suite\" name=\"{}\" time=\"{:.3}\">",
            esc(&c.name),
            c.secs
        ));
        if c.ok {
            x.push_str(&format!("<system-out>{}</system-out>", esc(&c.message)));
        } else {
            x.push_str(&format!("<failure message=\"{}\"/>", esc(&c.message)));
        }
        x.push_str("</testcase>\n");
    }
    for f in unjudged {
        x.push_str(&format!(
            "  <testcase classname=\"faultline.suite\" name=\"{}\" time=\"0.000\"><error message=\"not judged: the suite was interrupted before this scenario\"/></testcase>\n",
            esc(&f.display().to_string())
        ));
    }
    x.push_str("</testsuite>\n");
    crate::report::write_atomic(p, x.as_bytes())
        .map_err(|e| InputError(format!("cannot write {}: {e}", p.display())))
}

/// How many `*.ron` files the subfolders of `dir` hold (a few levels down, at most a few
/// thousand entries looked at: a count for a note, not a walk of a whole disk).
fn scenarios_in_subfolders(dir: &Path) -> usize {
    const DEPTH: usize = 4;
    const ENTRIES: usize = 10_000;
    let mut count = 0;
    let mut seen = 0;
    let mut folders: Vec<(PathBuf, usize)> = vec![(dir.to_path_buf(), 0)];
    while let Some((d, depth)) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(|e| e.ok()) {
            seen += 1;
            if seen > ENTRIES {
                return count;
            }
            let Ok(t) = e.file_type() else { continue };
            let p = e.path();
            if t.is_dir() && depth < DEPTH {
                folders.push((p, depth + 1));
            } else if depth > 0 && t.is_file() && p.extension().is_some_and(|x| x == "ron") {
                count += 1;
            }
        }
    }
    count
}
