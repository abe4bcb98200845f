//! `faultline suite DIR [--junit FILE] [--jobs J]`: every scenario in DIR against its
//! expectation.

use std::path::PathBuf;

use clap::Args;

use super::sweep::sweep;
use super::{InputError, reproduce_line};
use crate::protocols::Verdict;
use crate::report::svg::esc;
use crate::scenario::{Expect, load_file};

#[derive(Args, Debug)]
#[command(after_help = "Example:\n  faultline suite scenarios/ --junit junit.xml")]
pub struct SuiteArgs {
    pub dir: PathBuf,
    #[arg(long)]
    pub junit: Option<PathBuf>,
    #[arg(long, short)]
    pub jobs: Option<usize>,
}

struct CaseResult {
    name: String,
    ok: bool,
    message: String,
    secs: f64,
}

pub fn main(a: SuiteArgs) -> Result<i32, InputError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(&a.dir)
        .map_err(|e| InputError(format!("{}: {e}", a.dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(InputError(format!(
            "{}: no *.ron scenarios",
            a.dir.display()
        )));
    }
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut cases = Vec::new();
    for f in &files {
        let start = std::time::Instant::now();
        let path = f.display().to_string();
        let (name, ok, message) = match load_file(f) {
            Err(e) => (path.clone(), false, format!("invalid scenario: {e}")),
            Ok(s) => match &s.expect {
                Expect::Pass { seeds } => {
                    let v: Vec<u64> = (seeds.0..seeds.1).collect();
                    let r = sweep(&s, &v, jobs, false, false);
                    let bad: Vec<_> = r.iter().filter(|x| x.verdict != Verdict::Pass).collect();
                    match bad.first() {
                        None => (s.name.clone(), true, format!("all {} seeds pass", v.len())),
                        Some(b) => (
                            s.name.clone(),
                            false,
                            format!(
                                "{} of {} seeds fail; first: seed {} ({} {}): {}",
                                bad.len(),
                                v.len(),
                                b.seed,
                                b.verdict.name(),
                                b.failed.join(","),
                                reproduce_line(&path, b.seed)
                            ),
                        ),
                    }
                }
                Expect::Violation {
                    check,
                    within_seeds,
                } => {
                    // In chunks, so a violation found early ends the search early.
                    let mut found = None;
                    let mut lo = within_seeds.0;
                    while lo < within_seeds.1 && found.is_none() {
                        let hi = (lo + 64 * jobs as u64).min(within_seeds.1);
                        let v: Vec<u64> = (lo..hi).collect();
                        found = sweep(&s, &v, jobs, false, false)
                            .into_iter()
                            .find(|r| r.failed.contains(check));
                        lo = hi;
                    }
                    match found {
                        Some(r) => (
                            s.name.clone(),
                            true,
                            format!(
                                "`{check}` violated at seed {}: {}",
                                r.seed,
                                reproduce_line(&path, r.seed)
                            ),
                        ),
                        None => (
                            s.name.clone(),
                            false,
                            format!(
                                "expected a `{check}` violation within seeds {}..{}, found none",
                                within_seeds.0, within_seeds.1
                            ),
                        ),
                    }
                }
            },
        };
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
    }
    let failed = cases.iter().filter(|c| !c.ok).count();
    println!(
        "{} scenarios: {} met their expectation, {} did not",
        cases.len(),
        cases.len() - failed,
        failed
    );
    if let Some(p) = &a.junit {
        let mut x = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"faultline\" tests=\"{}\" failures=\"{failed}\">\n",
            cases.len()
        );
        for c in &cases {
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
        x.push_str("</testsuite>\n");
        crate::report::write_atomic(p, x.as_bytes())
            .map_err(|e| InputError(format!("cannot write {}: {e}", p.display())))?;
    }
    Ok(if failed == 0 { 0 } else { 1 })
}
