//! `faultline sweep SCENARIO --seeds A..B [--jobs J] [--shard K/N] [--json FILE] [--fail-fast]`.
//!
//! Seeds run on worker threads, each run single-threaded and deterministic. Results reach the
//! caller in seed order as soon as every earlier seed has finished (a bounded reorder buffer),
//! so `--json` streams one self-contained line per seed, flushed, and the file is the same
//! bytes whatever the threads' timing. Ctrl-C stops new seeds, lets the running ones finish,
//! writes every finished seed and the summary so far, says it was interrupted and what
//! finished, and exits 130 (1 if a seed violated: a violation found is never hidden).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, mpsc};

use clap::Args;
use serde::{Deserialize, Serialize};

use super::interrupt;
use super::seeds::jobs_or_all;
use super::{
    InputError, Seeds, check_out_dir, check_out_file, exit_code, inside, load, parse_jobs,
    parse_seeds, parse_shard, reproduce_line, verdict_name,
};
use crate::protocols::{Verdict, run};
use crate::scenario::{Scenario, ron_options};

#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  faultline sweep scenarios/raft-partitions.ron --seeds 0..2000
  faultline sweep scenarios/raft-bug-forget_vote.ron --seeds 0..2000 --fail-fast
  faultline sweep s.ron --seeds 0..3000 --shard 2/3 --json reports/part2.jsonl   # one of 3 machines

--json streams one line per seed, in seed order (a seed's line is written once every earlier
seed has finished), flushed as it goes; each line names the scenario, its content hash and the
Faultline version, so `faultline merge` can join shards safely; a file that already holds
results is never replaced (write to another file and merge). Ctrl-C (or SIGTERM: exit 143)
stops starting seeds, lets the running ones finish, writes every finished seed and the summary
so far (exit 130); a second Ctrl-C stops at once. An interrupted sweep always ends with a line
`interrupted: N of M seeds finished ...` on stderr; one that found a violation before it
stopped exits 1, not 130 (a violation found is never hidden), and one whose answer was already
whole (every seed, or with --fail-fast every seed up to the first violation) exits as if not
interrupted.

Exit codes: 0 every seed passed, 1 a seed found a violation (interrupted or not), 2 bad input
or usage, 3 a check ran out of its budget (unknown), 4 a run was inconclusive, 130 interrupted
(Ctrl-C) before every seed finished, 143 the same by SIGTERM.")]
pub struct SweepArgs {
    /// Scenario file (RON).
    pub scenario: PathBuf,
    /// Seeds: A..B (B excluded), A..=B, or one seed A; any 64-bit numbers.
    #[arg(long)]
    pub seeds: String,
    /// Worker threads, 1 to 1024 (default: every core).
    #[arg(long, short, value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Run only shard K of N: the seeds s with (s - A) % N == K - 1.
    #[arg(long)]
    pub shard: Option<String>,
    /// Stream one JSON object per seed (JSON Lines) to this file, in seed order.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Stop at the first failing seed (every earlier seed still runs: the answer is
    /// deterministic).
    #[arg(long)]
    pub fail_fast: bool,
    /// Write histograms (SVG) of events, simulated time and operations across the seeds into
    /// this folder. Sweeps write no plots unless asked.
    #[arg(long)]
    pub plots: Option<PathBuf>,
    /// Accept a range of more than 100,000,000 seeds (Ctrl-C then ends it, keeping every
    /// finished seed).
    #[arg(long)]
    pub allow_huge_range: bool,
}

/// One seed's result (one JSON line, self-contained).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SeedResult {
    /// The scenario's `name`.
    pub scenario: String,
    /// [`scenario_hash`] of the scenario that ran.
    pub scenario_hash: String,
    /// The Faultline version that ran it.
    pub faultline: String,
    pub seed: u64,
    pub verdict: Verdict,
    pub failed: Vec<String>,
    pub trace_hash: String,
    pub events: u64,
    pub sim_time_ns: u64,
    pub ops: usize,
    /// The whole seed range of the sweep that ran it (its `--seeds`, before `--shard`), so
    /// that `merge` can tell which of its seeds have no line (a sweep interrupted, a shard
    /// left out). Empty in lines of earlier versions.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub of: String,
}

/// A content hash of everything in a scenario that decides its runs: the stable hash of its
/// canonical RON (every field written out, defaults included, in schema order; but
/// `limits.pending` at its default, which scenarios before that limit could not name, is
/// left out, so their hashes stand), with the `name` (carried beside it), `title`, `description` and `expect` left out. So whitespace,
/// comments, field order and spelling a default out do not change it; any change that can
/// change a run does.
pub fn scenario_hash(s: &Scenario) -> String {
    let mut c = s.clone();
    c.name.clear();
    c.title.clear();
    c.description.clear();
    c.expect = Default::default();
    let text = ron_options()
        .to_string(&c)
        .unwrap_or_else(|e| format!("unserialisable scenario: {e}"));
    format!("{:016x}", crate::sim::stable_hash(text.as_str()))
}

/// How a sweep runs.
pub struct SweepOptions<'a> {
    pub jobs: usize,
    /// Stop at the first seed, in seed order, that this accepts: every earlier seed runs
    /// whatever the threads' timing, and no later one is reported.
    pub stop_at: Option<&'a (dyn Fn(&SeedResult) -> bool + Sync)>,
    /// A progress bar on stderr.
    pub progress: bool,
    /// When set (Ctrl-C), no new seed starts; the running ones finish and are reported.
    pub interrupt: Option<&'a AtomicBool>,
}

/// How a sweep ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SweepEnd {
    /// Stopped by `interrupt` before every seed the answer needs was reported: every seed,
    /// or with `stop_at`, every seed up to the first it accepted.
    pub interrupted: bool,
    /// Seeds reported.
    pub finished: u64,
    /// Every seed with an index below this was reported (with `interrupted`, later seeds may
    /// have been reported too, with gaps).
    pub contiguous: u64,
}

/// Seeds a sweep can run: a lazy [`Seeds`] range, or an explicit list.
pub trait SeedSource: Sync {
    /// How many seeds (up to 2^64).
    fn count(&self) -> u128;
    /// The `i`-th seed.
    fn nth_seed(&self, i: u64) -> Option<u64>;
}

impl SeedSource for Seeds {
    fn count(&self) -> u128 {
        self.len()
    }
    fn nth_seed(&self, i: u64) -> Option<u64> {
        self.nth(i)
    }
}

impl SeedSource for [u64] {
    fn count(&self) -> u128 {
        self.len() as u128
    }
    fn nth_seed(&self, i: u64) -> Option<u64> {
        self.get(usize::try_from(i).ok()?).copied()
    }
}

impl SeedSource for Vec<u64> {
    fn count(&self) -> u128 {
        self.as_slice().count()
    }
    fn nth_seed(&self, i: u64) -> Option<u64> {
        self.as_slice().nth_seed(i)
    }
}

/// Most results held back waiting for an earlier seed, per thread: bounds the memory a slow
/// seed can make the others pile up.
const WINDOW_PER_JOB: u64 = 256;

/// Runs `seeds` of `scenario` and hands each result to `sink` in seed order. Never holds more
/// than a bounded window of results, so any range runs in constant memory.
pub fn sweep_each(
    scenario: &Scenario,
    seeds: &(impl SeedSource + ?Sized),
    opts: &SweepOptions<'_>,
    sink: &mut dyn FnMut(SeedResult) -> std::io::Result<()>,
) -> std::io::Result<SweepEnd> {
    let count = u64::try_from(seeds.count()).unwrap_or(u64::MAX);
    let jobs = (opts.jobs.max(1) as u64).min(count) as usize;
    let window = WINDOW_PER_JOB * jobs as u64;
    let id = (
        scenario.name.clone(),
        scenario_hash(scenario),
        env!("CARGO_PKG_VERSION").to_string(),
    );
    let next = AtomicU64::new(0); // next index to claim
    let first_stop = AtomicU64::new(u64::MAX); // earliest index `stop_at` accepted
    let abort = AtomicBool::new(false); // the sink failed
    let written = (Mutex::new(0u64), Condvar::new()); // indexes below this are reported
    let stopping = || {
        abort.load(Ordering::Relaxed) || opts.interrupt.is_some_and(|f| f.load(Ordering::SeqCst))
    };
    let bar = opts.progress.then(|| {
        let b = indicatif::ProgressBar::new(count);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} seeds {per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let (tx, rx) = mpsc::channel::<(u64, SeedResult)>();
    let mut end = SweepEnd {
        interrupted: false,
        finished: 0,
        contiguous: 0,
    };
    let mut failure = None;
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, first_stop, written, id) = (&next, &first_stop, &written, &id);
            let stopping = &stopping;
            scope.spawn(move || {
                loop {
                    if stopping() {
                        return;
                    }
                    // Claimed in index order, so once a stop is known no later index matters.
                    // (Index 2^64 - 1, only in a range of every u64 seed, is never claimed.)
                    let Ok(i) =
                        next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |i| i.checked_add(1))
                    else {
                        return;
                    };
                    let Some(seed) = seeds.nth_seed(i) else {
                        return;
                    };
                    if i > first_stop.load(Ordering::SeqCst) {
                        return;
                    }
                    {
                        let (lock, cv) = written;
                        let mut w = lock.lock().unwrap_or_else(|e| e.into_inner());
                        while i >= w.saturating_add(window) {
                            if stopping() || i > first_stop.load(Ordering::SeqCst) {
                                return;
                            }
                            w = cv
                                .wait_timeout(w, std::time::Duration::from_millis(50))
                                .unwrap_or_else(|e| e.into_inner())
                                .0;
                        }
                    }
                    let r = run_seed(scenario, id, seed);
                    if opts.stop_at.is_some_and(|f| f(&r)) {
                        first_stop.fetch_min(i, Ordering::SeqCst);
                    }
                    if tx.send((i, r)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        // The collector: reports results in index order.
        let mut pending: BTreeMap<u64, SeedResult> = BTreeMap::new();
        let mut report = |r: SeedResult, end: &mut SweepEnd| {
            if failure.is_none() {
                if let Err(e) = sink(r) {
                    failure = Some(e);
                    abort.store(true, Ordering::SeqCst);
                }
                end.finished += 1;
            }
        };
        for (i, r) in rx {
            if let Some(b) = &bar {
                b.inc(1);
                if r.verdict != Verdict::Pass {
                    b.set_message(format!("seed {} failed {}", r.seed, r.failed.join(",")));
                }
            }
            pending.insert(i, r);
            while let Some(r) = pending.remove(&end.contiguous) {
                if end.contiguous > first_stop.load(Ordering::SeqCst) {
                    pending.clear();
                    break;
                }
                report(r, &mut end);
                end.contiguous += 1;
                let (lock, cv) = &written;
                *lock.lock().unwrap_or_else(|e| e.into_inner()) = end.contiguous;
                cv.notify_all();
            }
        }
        // Every worker is done. After Ctrl-C, seeds that finished past a gap are kept too.
        let stop = first_stop.load(Ordering::SeqCst);
        for (i, r) in std::mem::take(&mut pending) {
            if i <= stop {
                report(r, &mut end);
            }
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(e) = failure {
        return Err(e);
    }
    // A stop found does not make the answer whole: a seed before it may have been left
    // unrun by the interrupt (then that stop may not be the first).
    let needed = match first_stop.load(Ordering::SeqCst) {
        u64::MAX => count,
        stop => stop.saturating_add(1).min(count),
    };
    end.interrupted =
        opts.interrupt.is_some_and(|f| f.load(Ordering::SeqCst)) && end.contiguous < needed;
    Ok(end)
}

fn run_seed(scenario: &Scenario, id: &(String, String, String), seed: u64) -> SeedResult {
    let o = run(&scenario.to_run_spec(seed, false));
    SeedResult {
        scenario: id.0.clone(),
        scenario_hash: id.1.clone(),
        faultline: id.2.clone(),
        seed,
        verdict: o.verdict(),
        failed: o
            .checks
            .iter()
            .filter(|c| c.verdict > Verdict::Pass)
            .map(|c| c.name.clone())
            .collect(),
        trace_hash: format!("{:016x}", o.stats.trace_hash),
        events: o.stats.events,
        sim_time_ns: o.stats.time,
        ops: o.ops.len(),
        of: String::new(),
    }
}

/// Runs a (small) range and collects the results in seed order; `fail_fast` stops at the
/// first violation.
pub fn sweep(
    scenario: &Scenario,
    seeds: &(impl SeedSource + ?Sized),
    jobs: usize,
    fail_fast: bool,
    progress: bool,
) -> Vec<SeedResult> {
    let violation = |r: &SeedResult| r.verdict == Verdict::Violation;
    let opts = SweepOptions {
        jobs,
        stop_at: fail_fast.then_some(&violation as &(dyn Fn(&SeedResult) -> bool + Sync)),
        progress,
        interrupt: None,
    };
    let mut all = Vec::new();
    let _ = sweep_each(scenario, seeds, &opts, &mut |r| {
        all.push(r);
        Ok(())
    });
    all
}

pub fn progress_wanted() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

/// Whether the start of a file is JSON Lines a sweep or merge wrote.
pub fn looks_like_jsonl(head: &[u8]) -> bool {
    let first = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    serde_json::from_slice::<serde_json::Value>(first)
        .is_ok_and(|v| v.get("seed").is_some() && v.get("trace_hash").is_some())
}

/// Refuses a `--json` output that would lose something: an input, a file faultline did not
/// write, or the results of an earlier sweep or merge (finished seeds are never replaced: a
/// sweep resumed after Ctrl-C writes to another file, and `faultline merge` joins the two).
pub fn check_results_out(
    out: &std::path::Path,
    inputs: &[&std::path::Path],
) -> Result<(), InputError> {
    check_out_file(out, inputs, "--json", looks_like_jsonl)?;
    match std::fs::metadata(out) {
        Ok(m) if m.len() > 0 => Err(InputError(format!(
            "--json {} holds the results of an earlier sweep or merge: refusing to replace \
             them (write to another file and join the two with `faultline merge`, or remove it)",
            out.display()
        ))),
        _ => Ok(()),
    }
}

/// What a sweep keeps of its results: counts, the failing seeds, and (with `--plots`) the
/// figures per seed.
#[derive(Default)]
struct Tally {
    seeds: u64,
    events: u64,
    failing: Vec<SeedResult>,
    worst: Option<Verdict>,
    plots: Option<Vec<(u64, [f64; 3])>>,
}

/// Most seeds `--plots` draws (the figures of each are kept in memory).
const MAX_PLOTTED: u128 = 10_000_000;

pub fn main(a: SweepArgs) -> Result<i32, InputError> {
    let (scenario, path) = load(Some(&a.scenario))?;
    let range = parse_seeds(&a.seeds).map_err(|e| InputError(format!("--seeds: {e}")))?;
    let seeds = match &a.shard {
        None => range,
        Some(s) => {
            let (k, n) = parse_shard(s).map_err(|e| InputError(format!("--shard: {e}")))?;
            range.shard(k, n).ok_or_else(|| {
                InputError(format!(
                    "--shard {s} of --seeds {range} holds no seed: use fewer shards"
                ))
            })?
        }
    };
    seeds
        .check_size(a.allow_huge_range, &format!("--seeds {}", a.seeds))
        .map_err(InputError)?;
    if a.plots.is_some() && seeds.len() > MAX_PLOTTED {
        return Err(InputError(format!(
            "--plots draws at most {MAX_PLOTTED} seeds; this sweep has {}",
            seeds.len()
        )));
    }
    let inputs = [a.scenario.as_path()];
    if let Some(p) = &a.json {
        check_results_out(p, &inputs)?;
    }
    if let Some(d) = &a.plots {
        check_out_dir(d, &inputs, "--plots")?;
        // The folder is written whole at the end: results streamed into it would make the
        // finished sweep's plots fail (or, were it replaced, lose the results).
        if let Some(j) = a.json.as_deref().filter(|j| inside(j, d)) {
            return Err(InputError(format!(
                "--json {} is inside the --plots folder {}, which the sweep writes whole at the \
                 end: write the results beside it",
                j.display(),
                d.display()
            )));
        }
    }
    let mut json = match &a.json {
        None => None,
        Some(p) => {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| InputError(format!("cannot create {}: {e}", dir.display())))?;
            }
            Some(
                std::fs::File::create(p)
                    .map_err(|e| InputError(format!("cannot write {}: {e}", p.display())))?,
            )
        }
    };
    let jobs = jobs_or_all(a.jobs);
    let threads = (jobs as u128).min(seeds.len());
    let flag = interrupt::install();
    let violation = |r: &SeedResult| r.verdict == Verdict::Violation;
    let opts = SweepOptions {
        jobs,
        stop_at: a
            .fail_fast
            .then_some(&violation as &(dyn Fn(&SeedResult) -> bool + Sync)),
        progress: progress_wanted(),
        interrupt: Some(flag),
    };
    let mut tally = Tally {
        plots: a.plots.as_ref().map(|_| Vec::new()),
        ..Tally::default()
    };
    let start = std::time::Instant::now();
    let of = range.to_string();
    let end = sweep_each(&scenario, &seeds, &opts, &mut |r| {
        if let Some(f) = json.as_mut() {
            let line = SeedResult {
                of: of.clone(),
                ..r.clone()
            };
            let mut line = serde_json::to_vec(&line).map_err(std::io::Error::other)?;
            line.push(b'\n');
            f.write_all(&line)?; // one write per line: a reader never sees half a line
            f.flush()?;
        }
        tally.seeds += 1;
        tally.events += r.events;
        tally.worst = tally.worst.max(Some(r.verdict));
        if let Some(p) = tally.plots.as_mut() {
            p.push((
                r.seed,
                [r.events as f64, r.sim_time_ns as f64 / 1e9, r.ops as f64],
            ));
        }
        if r.verdict != Verdict::Pass {
            println!(
                "seed {:>6} {:<9} {:<28} {}",
                r.seed,
                verdict_name(r.verdict),
                r.failed.join(","),
                reproduce_line(&path, r.seed)
            );
            tally.failing.push(r);
        }
        Ok(())
    });
    let secs = start.elapsed().as_secs_f64();
    let plotted = match (&end, &a.plots, &tally.plots) {
        (Ok(_), Some(dir), Some(points)) => write_plots(dir, points),
        _ => Ok(()),
    };
    // Asked once, after the work: a signal from here on stops the process at once.
    let signalled = interrupt::settle();
    let end = match end {
        Ok(end) => end,
        Err(e) => {
            if signalled {
                eprintln!(
                    "interrupted: {} of {} seeds finished before the results could not be written",
                    tally.seeds,
                    seeds.len()
                );
            }
            let to = a.json.as_ref().map(|p| p.display().to_string());
            return Err(InputError(format!(
                "cannot write {}: {e}",
                to.unwrap_or_else(|| "the results".into())
            )));
        }
    };
    let failed = tally.failing.len() as u64;
    let count = |v: Verdict| tally.failing.iter().filter(|r| r.verdict == v).count();
    println!(
        "{} seeds of {} ({}{}): {} passed, {} failed ({} violations, {} inconclusive, {} unknown); {:.1} seeds/s, {:.2} M events/s on {} threads",
        tally.seeds,
        scenario.name,
        a.seeds,
        a.shard
            .as_deref()
            .map(|s| format!(", shard {s}"))
            .unwrap_or_default(),
        tally.seeds - failed,
        failed,
        count(Verdict::Violation),
        count(Verdict::Inconclusive),
        count(Verdict::Unknown),
        tally.seeds as f64 / secs.max(1e-9),
        tally.events as f64 / secs.max(1e-9) / 1e6,
        threads
    );
    // Whatever else happened, a sweep that was signalled says so, and what finished.
    if signalled {
        eprintln!("{}", interrupted_line(&a, &seeds, &end, &tally));
    }
    plotted?;
    let worst = tally.worst.unwrap_or(Verdict::Pass);
    // A violation found is the answer even of a sweep cut short: never hidden behind 130.
    Ok(if end.interrupted && worst != Verdict::Violation {
        interrupt::exit_code()
    } else {
        exit_code(worst)
    })
}

/// What a signalled sweep says on stderr: how many seeds finished and where they are; cut
/// short, where to resume; complete anyway, that its answer is whole.
fn interrupted_line(a: &SweepArgs, seeds: &Seeds, end: &SweepEnd, tally: &Tally) -> String {
    let first_violation = tally
        .failing
        .iter()
        .find(|r| r.verdict == Verdict::Violation)
        .map(|r| r.seed);
    let rest = match (
        end.interrupted,
        a.fail_fast.then_some(first_violation).flatten(),
    ) {
        (false, Some(s)) => format!(
            "; the answer is whole: seed {s} violated and every seed before it had finished \
             (--fail-fast)"
        ),
        (false, None) => "; the answer is whole: every seed had finished".to_string(),
        (true, stop) => {
            let resume = seeds
                .nth(end.contiguous)
                .map(|s| Seeds { first: s, ..*seeds });
            let resume = match resume {
                Some(r) if a.shard.is_none() => format!(
                    "; every seed before {} finished (resume with --seeds {r}{})",
                    r.first,
                    if a.json.is_some() {
                        " into a new JSON file, then join the two with `faultline merge`"
                    } else {
                        ""
                    }
                ),
                _ => String::new(),
            };
            let first = match stop {
                Some(s) => format!(
                    "; seed {s} violated, but not every seed before it ran, so it may not be \
                     the first that does"
                ),
                None => String::new(),
            };
            resume + &first
        }
    };
    format!(
        "interrupted: {} of {} seeds finished{}{rest}",
        end.finished,
        seeds.len(),
        match &a.json {
            Some(p) => format!(", every one of them in {}", p.display()),
            None => String::new(),
        },
    )
}

fn write_plots(dir: &std::path::Path, points: &[(u64, [f64; 3])]) -> Result<(), InputError> {
    use crate::report::svg::histogram_svg;
    let metric = |k: usize| points.iter().map(|(s, v)| (*s, v[k])).collect::<Vec<_>>();
    let plots = [
        (
            "events.svg",
            histogram_svg(&metric(0), "Events per seed", "events"),
        ),
        (
            "sim-time.svg",
            histogram_svg(&metric(1), "Simulated time per seed", "s"),
        ),
        (
            "ops.svg",
            histogram_svg(&metric(2), "Client operations per seed", "ops"),
        ),
    ];
    crate::report::write_dir_atomic(dir, |w| {
        for (name, svg) in &plots {
            w.write(name, svg.as_bytes())?;
        }
        Ok(())
    })
    .map_err(|e| InputError(format!("cannot write {}: {e}", dir.display())))?;
    println!("histograms in {}", dir.display());
    Ok(())
}
