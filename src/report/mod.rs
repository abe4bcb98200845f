//! Reports of a run: `summary.json` (machine-readable), `summary.txt` (the text the CLI
//! prints), and the visual report (plots, diagrams, `report.html`). A report folder is written
//! whole ([`write_dir_atomic`]: a hidden temporary folder beside it, swapped into place), so a
//! reader never sees a mix of two runs and no file of an earlier run survives; a folder
//! faultline did not write is never replaced. Nothing in a report depends on the wall clock,
//! so two runs of the same seed write identical bytes.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::protocols::{RunOutcome, RunSpec, Table, Verdict};
use crate::sim::{Counters, FaultEffect, fmt_time};
use crate::workload::OpStatus;

pub mod check_page;
pub mod counterexample;
pub mod focus;
pub mod html;
pub mod png;
pub mod sequence;
pub mod stepper;
pub mod svg;
pub mod text;

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    // A write that fails (a full disk) leaves no partial temporary file behind either.
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

/// The file that lists the files faultline wrote in a folder it writes whole, so that a later
/// run knows it may replace exactly those. Every folder faultline writes has one.
pub const MARKER: &str = ".faultline";

/// The names of the files of a report (and of a sweep's plots) before the marker existed: a
/// folder without a marker holding only these may be replaced when it is a report faultline
/// wrote, as its `summary.json` shows ([`written_by_faultline`]); never a user's folder that
/// happens to hold a `report.html` or a `summary.json` of their own.
const LEGACY_FILES: &[&str] = &[
    "summary.json",
    "summary.txt",
    "report.html",
    "latency.svg",
    "latency.png",
    "throughput.svg",
    "roles.svg",
    "sequence.svg",
    "counterexample.svg",
    "events.svg",
    "sim-time.svg",
    "ops.svg",
];

/// Whether `dir`'s `summary.json` is one faultline wrote (its first few hundred bytes name
/// the run's scenario, protocol and seed as a report's summary does).
fn written_by_faultline(dir: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 512];
    let Ok(mut f) = std::fs::File::open(dir.join("summary.json")) else {
        return false;
    };
    let n = f.read(&mut head).unwrap_or(0);
    let head = String::from_utf8_lossy(&head[..n]);
    head.starts_with("{\n  \"scenario\": ")
        && head.contains("\n  \"protocol\": ")
        && head.contains("\n  \"seed\": ")
        && head.contains("\n  \"trace_hash\": ")
}

/// Whether an existing `dir` may be replaced by a folder faultline writes: it is absent, or a
/// folder holding only files faultline wrote there (listed in its [`MARKER`], or, without a
/// marker, an earlier version's report: [`LEGACY_FILES`]; or a leftover temporary file). Anything else (a file, a symbolic link,
/// a folder holding one file the user put there) is refused with the reason.
pub fn check_replaceable(dir: &Path) -> io::Result<()> {
    replaceable(dir).map(|_| ())
}

/// [`check_replaceable`], saying whether `dir` is there.
fn replaceable(dir: &Path) -> io::Result<bool> {
    let refuse = |why: String| {
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} {why}; faultline never replaces what it did not write: remove it or choose another output",
                dir.display()
            ),
        ))
    };
    let meta = match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
        Ok(m) => m,
    };
    if meta.file_type().is_symlink() {
        return refuse("is a symbolic link".into());
    }
    if !meta.is_dir() {
        return refuse("exists and is a file, not a report folder".into());
    }
    // What the marker lists (read once); without one, an earlier version's report, known by
    // its summary.
    let listed: Option<Vec<String>> = std::fs::read_to_string(dir.join(MARKER))
        .ok()
        .map(|t| t.lines().map(str::to_string).collect());
    let mut legacy: Option<bool> = None;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().to_string();
        // A file faultline wrote there, or the temporary file an earlier version left
        // while writing one (`.report.html.tmp-1234`).
        let mut written = |n: &str| match &listed {
            Some(l) => n == MARKER || l.iter().any(|x| x == n),
            None => {
                LEGACY_FILES.contains(&n)
                    && *legacy.get_or_insert_with(|| written_by_faultline(dir))
            }
        };
        let ours = match name.strip_prefix('.').and_then(|n| n.rsplit_once(".tmp-")) {
            Some((file, pid)) if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) => {
                written(file)
            }
            _ => written(&name),
        };
        if !ours || !e.file_type()?.is_file() {
            return refuse(format!(
                "holds `{name}`, which faultline did not write there"
            ));
        }
    }
    Ok(true)
}

/// A folder that [`write_dir_atomic`] is filling: no one reads it until it is complete, so
/// each file is written in place, without a temporary file of its own to rename.
pub struct DirWriter {
    dir: PathBuf,
    /// The files written so far.
    names: Vec<String>,
    /// Writes nothing, only counts: what rendering a report costs without its files
    /// ([`render_run_report`]).
    dry: bool,
}

impl DirWriter {
    /// Writes the file `name` (a plain file name) with `bytes`; returns its path here.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
        self.write_parts(name, &[bytes])
    }

    /// Writes the file `name` with `parts`, one after the other, in one system call where it
    /// can (a page made of its text and the plots it shows, without copying them together).
    pub fn write_parts(&mut self, name: &str, parts: &[&[u8]]) -> io::Result<PathBuf> {
        use std::io::{IoSlice, Write};
        let p = self.dir.join(name);
        if self.dry {
            std::hint::black_box(parts);
            return Ok(p);
        }
        let mut f = std::fs::File::create(&p)?;
        let mut slices: Vec<IoSlice<'_>> = parts.iter().map(|b| IoSlice::new(b)).collect();
        let mut left = &mut slices[..];
        IoSlice::advance_slices(&mut left, 0);
        while !left.is_empty() {
            match f.write_vectored(left) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut left, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if !self.names.iter().any(|n| n == name) {
            self.names.push(name.to_string());
        }
        Ok(p)
    }
}

/// Writes the folder `dir` whole: `fill` writes its files ([`DirWriter::write`]) into a fresh
/// hidden folder beside it, which then takes `dir`'s place in one step (on Linux an atomic
/// exchange, so a reader sees the old folder or the new one, never a mix and never none), and
/// the old folder is deleted. Two writers racing for one `dir` leave one of their folders,
/// complete. Replaces only what [`check_replaceable`] accepts, checked just before the swap:
/// a caller checks it before its work too (`cmd::check_out_dir`), so that a refusal comes
/// before a long computation rather than after it. A write that fails deletes its temporary
/// folder, or names it in the error; one that succeeds but cannot delete the folder it
/// replaced says where that is left (on stderr: the report itself is whole and in place).
pub fn write_dir_atomic<T>(
    dir: &Path,
    fill: impl FnOnce(&mut DirWriter) -> io::Result<T>,
) -> io::Result<T> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent)?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .ok_or_else(|| io::Error::other(format!("{} names no folder", dir.display())))?;
    let tmp = parent.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&tmp)?;
    let mut w = DirWriter {
        dir: tmp,
        names: Vec::new(),
        dry: false,
    };
    let filled = fill(&mut w).and_then(|v| {
        // The files' names are known: listed, without a listing of the folder.
        w.names.sort();
        std::fs::write(w.dir.join(MARKER), w.names.join("\n") + "\n")?;
        Ok(v)
    });
    match filled {
        Ok(v) => install_dir(&w.dir, dir).map(|()| v),
        Err(e) => Err(discard(&w.dir, e)),
    }
}

/// Deletes `tmp`, the temporary folder of a write that failed with `e`, and returns `e`;
/// if `tmp` cannot be deleted, the error names it, so that nothing is left behind unsaid.
fn discard(tmp: &Path, e: io::Error) -> io::Error {
    match std::fs::remove_dir_all(tmp) {
        Ok(()) => e,
        Err(r) if r.kind() == io::ErrorKind::NotFound => e,
        Err(r) => io::Error::new(
            e.kind(),
            format!(
                "{e}; its temporary folder {} could not be deleted ({r}): remove it",
                tmp.display()
            ),
        ),
    }
}

/// Puts the complete folder `tmp` at `dir`, replacing whatever folder is there. On failure,
/// `tmp` is deleted ([`discard`]) and `dir` is as it was, or the error says where each is.
fn install_dir(tmp: &Path, dir: &Path) -> io::Result<()> {
    for _ in 0..100 {
        if !replaceable(dir).map_err(|e| discard(tmp, e))? {
            // Nothing there: a plain rename (fails if another writer got there first).
            match std::fs::rename(tmp, dir) {
                Ok(()) => return Ok(()),
                Err(_) if std::fs::symlink_metadata(dir).is_ok() => continue,
                Err(e) => return Err(discard(tmp, e)),
            }
        }
        match exchange(tmp, dir) {
            // `old` now holds the old folder: deleted unless something not faultline's was
            // put into it since the check above, which then goes back in place.
            Ok(old) => {
                if let Err(e) = replaceable(&old) {
                    let changed = format!(
                        "{} changed while being replaced, and was left as it was: {e}",
                        dir.display()
                    );
                    return Err(match exchange(&old, dir) {
                        Ok(new) => discard(&new, io::Error::new(e.kind(), changed)),
                        // Never deleted: `old` holds what the user put there.
                        Err(back) => io::Error::new(
                            back.kind(),
                            format!(
                                "{} changed while being replaced ({e}), and could not be put \
                                 back ({back}): what it held is now at {}",
                                dir.display(),
                                old.display()
                            ),
                        ),
                    });
                }
                // The new folder is in place: a failure here loses nothing, but the old
                // folder is left under a hidden name, which the user is told.
                if let Err(e) = std::fs::remove_dir_all(&old) {
                    eprintln!(
                        "warning: {} was written, but the folder it replaced could not be \
                         deleted ({e}): it is left at {} (remove it)",
                        dir.display(),
                        old.display()
                    );
                }
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(discard(tmp, e)),
        }
    }
    Err(discard(
        tmp,
        io::Error::other(format!(
            "{}: other writers keep replacing it",
            dir.display()
        )),
    ))
}

/// Swaps two folders: `b` then holds what `a` held; returns where `b`'s old folder is now.
/// On Linux one atomic `renameat2(RENAME_EXCHANGE)`, after which it is at `a`; elsewhere, or
/// where the file system cannot, `b` is moved aside to `a.old` and `a` in (a reader may then
/// briefly find no folder). On failure both are where they were, or the error says where
/// `b`'s folder is.
fn exchange(a: &Path, b: &Path) -> io::Result<PathBuf> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let ca = CString::new(a.as_os_str().as_bytes()).map_err(io::Error::other)?;
        let cb = CString::new(b.as_os_str().as_bytes()).map_err(io::Error::other)?;
        // SAFETY: two valid NUL-terminated paths; the syscall touches nothing else.
        let r = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                ca.as_ptr(),
                libc::AT_FDCWD,
                cb.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if r == 0 {
            return Ok(a.to_path_buf());
        }
        let e = io::Error::last_os_error();
        if !matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) {
            return Err(e);
        }
    }
    let mut aside = a.as_os_str().to_owned();
    aside.push(".old");
    let aside = PathBuf::from(aside);
    std::fs::rename(b, &aside)?;
    if let Err(e) = std::fs::rename(a, b) {
        return Err(match std::fs::rename(&aside, b) {
            Ok(()) => e,
            Err(back) => io::Error::new(
                e.kind(),
                format!(
                    "{e}; {} was moved aside and could not be put back ({back}): it is at {}",
                    b.display(),
                    aside.display()
                ),
            ),
        });
    }
    Ok(aside)
}

/// One check in the summary.
#[derive(Clone, Debug, Serialize)]
pub struct CheckSummary {
    pub name: String,
    pub ok: bool,
    pub verdict: Verdict,
    pub detail: String,
}

/// Operation counts.
#[derive(Clone, Debug, Default, Serialize)]
pub struct OpCounts {
    pub invoked: usize,
    pub ok: usize,
    pub fail: usize,
    pub unknown: usize,
}

/// What one action of the fault schedule did.
#[derive(Clone, Debug, Serialize)]
pub struct FaultSummary {
    pub at_ns: u64,
    /// The action, as the schedule prints it (`2.000000000 crash n1`).
    pub fault: String,
    /// One line on what it did.
    pub effect: String,
    /// The action changed nothing: the fault was injected but did not act on the run.
    pub no_effect: bool,
    /// The counts behind `effect`.
    pub counts: FaultEffect,
}

/// `summary.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub protocol: String,
    pub variant: String,
    pub seed: u64,
    pub trace_hash: String,
    pub verdict: Verdict,
    pub stop: String,
    pub sim_time_ns: u64,
    pub events: u64,
    pub ops: OpCounts,
    pub faults: usize,
    /// Per action of the fault schedule, what it did.
    pub fault_effects: Vec<FaultSummary>,
    pub counters: Counters,
    pub checks: Vec<CheckSummary>,
    /// The protocol's own figures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<Table>,
    /// The exact command that reproduces this run.
    pub reproduce: String,
}

impl Summary {
    pub fn new(spec: &RunSpec, outcome: &RunOutcome, reproduce: String) -> Self {
        let mut ops = OpCounts {
            invoked: outcome.ops.len(),
            ..Default::default()
        };
        for o in &outcome.ops {
            match o.status {
                OpStatus::Ok => ops.ok += 1,
                OpStatus::Fail => ops.fail += 1,
                OpStatus::Unknown => ops.unknown += 1,
            }
        }
        Summary {
            scenario: spec.name.clone(),
            protocol: spec.protocol.name().to_string(),
            variant: spec.protocol.variant(),
            seed: spec.seed,
            trace_hash: format!("{:016x}", outcome.stats.trace_hash),
            verdict: outcome.verdict(),
            stop: outcome.stats.stop.to_string(),
            sim_time_ns: outcome.stats.time,
            events: outcome.stats.events,
            ops,
            faults: spec.faults.len(),
            fault_effects: spec
                .faults
                .iter()
                .zip(&outcome.stats.fault_effects)
                .map(|(f, e)| {
                    let (effect, any) = e.describe(&f.fault);
                    FaultSummary {
                        at_ns: f.at,
                        fault: f.to_string(),
                        effect,
                        no_effect: !any,
                        counts: e.clone(),
                    }
                })
                .collect(),
            counters: outcome.stats.counters.clone(),
            checks: outcome
                .checks
                .iter()
                .map(|c| CheckSummary {
                    name: c.name.clone(),
                    ok: c.verdict <= Verdict::Pass,
                    verdict: c.verdict,
                    detail: c.detail.clone(),
                })
                .collect(),
            tables: outcome.tables.clone(),
            reproduce,
        }
    }

    /// The short human summary the CLI prints.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let c = &self.counters;
        s.push_str(&format!(
            "scenario   {} ({} / {})\n",
            self.scenario, self.protocol, self.variant
        ));
        s.push_str(&format!("seed       {}\n", self.seed));
        s.push_str(&format!(
            "simulated  {}s, {} events ({})\n",
            fmt_time(self.sim_time_ns),
            self.events,
            self.stop
        ));
        s.push_str(&format!(
            "network    {} sent, {} delivered, {} lost, {} cut by partitions, {} to crashed nodes, {} duplicated\n",
            c.sent, c.delivered, c.dropped_loss, c.dropped_partition, c.dropped_dead, c.duplicated
        ));
        s.push_str(&format!(
            "faults     {} scheduled: {} partitions, {} crashes, {} restarts, {} pauses, {} clock changes\n",
            self.faults, c.partitions, c.crashes, c.restarts, c.pauses, c.clock_changes
        ));
        s.push_str(&self.fault_effects_text());
        if self.ops.invoked > 0 {
            s.push_str(&format!(
                "operations {} invoked: {} ok, {} failed, {} unknown\n",
                self.ops.invoked, self.ops.ok, self.ops.fail, self.ops.unknown
            ));
        }
        s.push_str("checks\n");
        for ch in &self.checks {
            let mark = format!("{:<9}", ch.verdict.word());
            let first = ch.detail.lines().next().unwrap_or("");
            s.push_str(&format!("  {mark} {:<22} {first}\n", ch.name));
        }
        for t in &self.tables {
            s.push_str(&t.text());
        }
        s.push_str(&format!("verdict    {}\n", self.verdict_line()));
        s.push_str(&format!("trace hash {}\n", self.trace_hash));
        s.push_str(&format!("reproduce  {}\n", self.reproduce));
        s
    }
}

impl Summary {
    /// What each fault action did, at most `SHOWN` lines (the actions without effect first
    /// among those left out are still counted), flagging those that changed nothing.
    fn fault_effects_text(&self) -> String {
        const SHOWN: usize = 8;
        let fx = &self.fault_effects;
        if fx.is_empty() {
            return String::new();
        }
        let idle = fx.iter().filter(|f| f.no_effect).count();
        let mut s = format!(
            "effects    {} of {} fault actions had an effect{}\n",
            fx.len() - idle,
            fx.len(),
            if idle > 0 {
                format!(", {idle} had NO EFFECT")
            } else {
                String::new()
            }
        );
        for f in fx.iter().take(SHOWN) {
            let mark = if f.no_effect { "NO EFFECT: " } else { "" };
            s.push_str(&format!("  {}: {mark}{}\n", f.fault, f.effect));
        }
        if fx.len() > SHOWN {
            s.push_str(&format!(
                "  ... {} more (summary.json and report.html list them all)\n",
                fx.len() - SHOWN
            ));
        }
        s
    }
}

impl Summary {
    /// The verdict's line: [`verdict_word`], and how many checks did not apply.
    pub fn verdict_line(&self) -> String {
        let skipped: Vec<&str> = (self.checks.iter())
            .filter(|c| c.verdict == Verdict::Skipped)
            .map(|c| c.name.as_str())
            .collect();
        match (self.verdict, skipped.is_empty()) {
            (Verdict::Pass, false) => format!(
                "PASS: every check that applied passed ({} skipped: not judged)",
                skipped.join(", ")
            ),
            (v, _) => verdict_word(v).to_string(),
        }
    }
}

pub fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Skipped => "SKIPPED: no check applied",
        Verdict::Pass => "PASS: every check passed",
        Verdict::Violation => "VIOLATION: a check failed",
        Verdict::Unknown => "UNKNOWN: a check ran out of budget",
        Verdict::Inconclusive => "INCONCLUSIVE: the run proved nothing (see the `run` check)",
    }
}

/// What a report writes beyond its default files.
#[derive(Clone, Copy, Debug, Default)]
pub struct Extras {
    /// `latency.png` too (a bitmap of the latency plot for documents that take no SVG). Off
    /// by default: drawing and encoding it costs more than the rest of the plots together.
    pub png: bool,
    /// Each plot as its own SVG file too (`latency.svg`, ...), besides inside `report.html`.
    /// Off by default: the plots are most of a report's bytes, and written twice they made
    /// a passing 20 s Raft run's report cost some 7 % of the run more.
    pub plots: bool,
    /// What the step-through view covers: a window around where it opens, or every event.
    pub steps: stepper::Steps,
}

/// Runs `spec` for a report that shows `steps`. For a window (the default) the run keeps no
/// records: the report replays the window, once the verdict says where to look
/// ([`stepper::recorded`]), from the last of a few forks the run kept of itself
/// ([`crate::protocols::stepper::with_forks`]; from the start for a protocol whose nodes
/// cannot be copied); recording all of a 20 s run costs a third of the run and its node
/// views more than the run. The window a run that passed shows, its start, the run records
/// itself as it goes, so that its report replays nothing. For every step, the run records
/// everything.
pub fn run_for_report(spec: &RunSpec, steps: stepper::Steps) -> RunOutcome {
    match steps {
        stepper::Steps::Window => {
            let mut bare = spec.clone();
            bare.record = false;
            let start = stepper::start_window().to;
            crate::protocols::stepper::with_forks(start, || crate::protocols::run(&bare))
        }
        stepper::Steps::All => crate::protocols::run(spec),
    }
}

/// Writes the whole report of a run as the folder `dir` ([`write_dir_atomic`]); returns the
/// files written.
pub fn write_run_report(
    dir: &Path,
    spec: &RunSpec,
    outcome: &RunOutcome,
    reproduce: String,
    extras: Extras,
) -> io::Result<Vec<PathBuf>> {
    let summary = Summary::new(spec, outcome, reproduce);
    write_summarized_report(dir, spec, outcome, &summary, &summary.text(), extras)
}

/// [`write_run_report`] with the run's summary and its text made already (`faultline run`
/// prints them first): not made twice.
pub fn write_summarized_report(
    dir: &Path,
    spec: &RunSpec,
    outcome: &RunOutcome,
    summary: &Summary,
    text: &str,
    extras: Extras,
) -> io::Result<Vec<PathBuf>> {
    let names = write_dir_atomic(dir, |w| {
        fill_run_report(w, spec, outcome, (summary, text), extras)
    })?;
    // The files as they now are: in `dir`.
    Ok(names
        .iter()
        .filter_map(|p| p.file_name().map(|n| dir.join(n)))
        .collect())
}

/// The files of a run's report, written by `w`: `told`, the run's summary and its text.
fn fill_run_report(
    w: &mut DirWriter,
    spec: &RunSpec,
    outcome: &RunOutcome,
    told: (&Summary, &str),
    extras: Extras,
) -> io::Result<Vec<PathBuf>> {
    let (summary, text) = told;
    let mut written = Vec::new();
    let json = serde_json::to_string_pretty(summary).map_err(io::Error::other)?;
    written.push(w.write("summary.json", json.as_bytes())?);
    written.push(w.write("summary.txt", text.as_bytes())?);
    written.extend(html::write_visuals(w, spec, outcome, summary, extras)?);
    Ok(written)
}

/// Everything [`write_run_report`] does but write the folder: for `faultline bench`, which
/// tells the cost of the report's pages from the cost of its files (on some file systems
/// most of it, and varying with what the machine deleted lately).
pub fn render_run_report(spec: &RunSpec, outcome: &RunOutcome, extras: Extras) -> io::Result<()> {
    let summary = Summary::new(spec, outcome, String::new());
    let mut w = DirWriter {
        dir: PathBuf::new(),
        names: Vec::new(),
        dry: true,
    };
    fill_run_report(&mut w, spec, outcome, (&summary, &summary.text()), extras).map(|_| ())
}

/// For the writers' tests: `count` texts, the `i`-th made of `i % most` of `pieces` drawn
/// by a xorshift from `seed` (the same texts on every run).
#[cfg(test)]
pub(crate) fn random_texts(pieces: &[&str], seed: u64, count: usize, most: usize) -> Vec<String> {
    let mut x = seed;
    (0..count)
        .map(|i| {
            (0..i % most)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    pieces[(x % pieces.len() as u64) as usize]
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{MARKER, check_replaceable};

    /// Rendering a report without its files makes every page and touches no folder.
    #[test]
    fn a_report_rendered_without_files_writes_none() {
        let sc = crate::scenario::load_str(crate::cmd::DEFAULT_SCENARIO, "default").unwrap();
        let spec = sc.to_run_spec(0, true);
        let o = super::run_for_report(&spec, Default::default());
        let mut w = super::DirWriter {
            dir: std::path::PathBuf::from("/nonexistent/faultline-dry"),
            names: Vec::new(),
            dry: true,
        };
        let summary = super::Summary::new(&spec, &o, String::new());
        let files = super::fill_run_report(
            &mut w,
            &spec,
            &o,
            (&summary, &summary.text()),
            Default::default(),
        );
        let names: Vec<String> = files
            .unwrap()
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert!(
            names.iter().any(|n| n.ends_with("report.html")),
            "{names:?}"
        );
        assert!(!std::path::Path::new("/nonexistent").exists());
        super::render_run_report(&spec, &o, Default::default()).unwrap();
    }

    /// Folders as `(file, text)` lists, each with whether faultline may replace it.
    #[test]
    fn only_folders_faultline_wrote_are_replaceable() {
        let report = r#"{
  "scenario": "raft-basic",
  "protocol": "raft",
  "variant": "correct",
  "seed": 0,
  "trace_hash": "1d6e13ef671af9aa","#;
        let listed = "report.html\nsummary.json\n";
        let cases: &[(&[(&str, &str)], bool)] = &[
            (&[], true),
            (
                &[
                    (MARKER, listed),
                    ("report.html", "x"),
                    ("summary.json", "x"),
                ],
                true,
            ),
            (
                &[(MARKER, listed), ("report.html", "x"), ("notes.txt", "x")],
                false,
            ),
            // An earlier version's report (no marker), known by its summary.
            (&[("summary.json", report), ("report.html", "x")], true),
            (
                &[("summary.json", report), (".report.html.tmp-42", "x")],
                true,
            ),
            // The user's own files that happen to have a report's names.
            (
                &[("summary.json", "{\"mine\": 1}"), ("report.html", "x")],
                false,
            ),
            (&[("report.html", "<html>mine</html>")], false),
            (&[("ops.svg", "<svg/>")], false),
            // A user's file that looks like a leftover temporary file.
            (
                &[
                    (MARKER, listed),
                    ("report.html", "x"),
                    (".notes.tmp-1", "x"),
                ],
                false,
            ),
            (&[(MARKER, listed), (".report.html.tmp-", "x")], false),
        ];
        let root = std::env::temp_dir().join(format!("faultline-replace-{}", std::process::id()));
        for (k, (files, ok)) in cases.iter().enumerate() {
            let d = root.join(k.to_string());
            std::fs::create_dir_all(&d).unwrap();
            for (name, text) in *files {
                std::fs::write(d.join(name), text).unwrap();
            }
            assert_eq!(check_replaceable(&d).is_ok(), *ok, "case {k}: {files:?}");
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
