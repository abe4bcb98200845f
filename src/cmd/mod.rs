//! The commands of the `faultline` binary, one file each. Each returns the process exit code:
//! 0 all checks pass, 1 a violation was found, 2 a usage or input error, 3 a check ran out of
//! budget (unknown), 130 interrupted by Ctrl-C, 143 by SIGTERM (see [`exit_code`]). `main.rs` only parses
//! arguments and calls these.

use std::path::{Path, PathBuf};

use crate::protocols::Verdict;
use crate::scenario::{Scenario, ScenarioError, load_file, load_str};

pub mod bench;
pub mod check;
pub mod compare;
pub mod interrupt;
pub mod list;
pub mod merge;
pub mod replay;
pub mod run;
pub mod scaling;
pub mod seeds;
pub mod shrink;
pub mod suite;
pub mod sweep;

pub use seeds::{Seeds, parse_jobs, parse_seeds, parse_shard};

/// The exit code of a verdict (of a run, or the worst of a sweep's runs).
pub fn exit_code(v: Verdict) -> i32 {
    v.exit_code()
}

/// A verdict's name as summaries and JSON Lines spell it (`pass`, `violation`, ...).
pub fn verdict_name(v: Verdict) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|j| j.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{v:?}"))
}

/// The scenario `faultline run` runs with no argument.
pub const DEFAULT_SCENARIO: &str = include_str!("../../scenarios/raft-partitions.ron");
pub const DEFAULT_SCENARIO_PATH: &str = "scenarios/raft-partitions.ron";

/// An error the user can fix: printed, exit code 2.
#[derive(Debug)]
pub struct InputError(pub String);

impl From<ScenarioError> for InputError {
    fn from(e: ScenarioError) -> Self {
        InputError(e.to_string())
    }
}

/// Loads the scenario at `path`, or the embedded default.
pub fn load(path: Option<&Path>) -> Result<(Scenario, String), InputError> {
    match path {
        Some(p) => Ok((load_file(p)?, p.display().to_string())),
        None => Ok((
            load_str(DEFAULT_SCENARIO, "<embedded default scenario>")?,
            DEFAULT_SCENARIO_PATH.to_string(),
        )),
    }
}

/// The default report folder of a run.
pub fn report_dir(out: Option<&Path>, scenario: &Scenario, seed: u64) -> PathBuf {
    match out {
        Some(p) => p.to_path_buf(),
        None => PathBuf::from("reports")
            .join(&scenario.name)
            .join(format!("seed-{seed}")),
    }
}

/// Whether the run of `scenario` with `seed` handles more than `max` events: it runs unrecorded
/// and stops one event past `max` (the events up to there are the run's own: a limit only
/// says when to stop), so the answer costs at most `max` events however long the run. For
/// commands that record every event before writing anything (about 0.6 KB each).
pub fn more_events_than(scenario: &Scenario, seed: u64, max: u64) -> bool {
    let mut spec = scenario.to_run_spec(seed, false);
    spec.limits.events = spec.limits.events.min(max.saturating_add(1));
    crate::protocols::run(&spec).stats.events > max
}

/// The exact command that reproduces a run.
pub fn reproduce_line(path: &str, seed: u64) -> String {
    format!("faultline run {path} --seed {seed}")
}

/// Whether two paths name the same existing file (hard and symbolic links included).
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// Whether `path` is `dir` or lies inside it, as written (`.` and `..` resolved) or through
/// links where both exist.
pub fn inside(path: &Path, dir: &Path) -> bool {
    fn plain(p: &Path) -> PathBuf {
        let mut out = PathBuf::new();
        for c in std::path::absolute(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .components()
        {
            match c {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                c => out.push(c),
            }
        }
        out
    }
    let linked = match (path.parent().map(Path::canonicalize), dir.canonicalize()) {
        (Some(Ok(p)), Ok(d)) => p.join(path.file_name().unwrap_or_default()).starts_with(d),
        _ => false,
    };
    linked || plain(path).starts_with(plain(dir))
}

/// Refuses an output path nothing can be created at: one under an existing file (`file/x`);
/// for a file, one whose last part names a folder (`out/`, `.`, `..`); and one whose nearest
/// existing folder cannot be written (a read-only mount, no permission, an immutable folder),
/// which is where the command creates its first entry (the temporary file or folder it writes
/// and renames into place, or a missing folder on the way), unless the output is an existing
/// file this user may write (written in place by `sweep --json` and `compare --plot`; one a
/// command replaces through a temporary file beside it is then still found only at the end).
/// Checked before the work, as the other refusals are, so that a long search or suite is not
/// thrown away at the end for a path that could never be written.
fn check_creatable(out: &Path, flag: &str, file: bool) -> Result<(), InputError> {
    let text = out.as_os_str().to_string_lossy();
    let last = text.rsplit(std::path::is_separator).next().unwrap_or("");
    if file && matches!(last, "" | "." | "..") {
        return Err(InputError(format!(
            "{flag} {text} ends with `{}`: it names a folder, not a file (give a file name)",
            if last.is_empty() { "/" } else { last }
        )));
    }
    // An existing file this user may write is written in place by `sweep --json` and
    // `compare --plot`, whatever its folder allows: not refused for its folder.
    if file
        && std::fs::metadata(out).is_ok_and(|m| m.is_file())
        && std::fs::OpenOptions::new().write(true).open(out).is_ok()
    {
        return Ok(());
    }
    // The nearest part of the path that exists must be a folder one can write in.
    for a in out.ancestors().skip(1) {
        let a = if a.as_os_str().is_empty() {
            Path::new(".")
        } else {
            a
        };
        if let Ok(m) = std::fs::metadata(a) {
            if !m.is_dir() {
                return Err(InputError(format!(
                    "{flag} {text}: {} is a file, not a folder",
                    a.display()
                )));
            }
            return probe_writable(a).map_err(|e| {
                InputError(format!(
                    "{flag} {text}: cannot create anything in {}: {e} (choose another place)",
                    a.display()
                ))
            });
        }
    }
    Ok(())
}

/// Whether something can be created in the folder `dir` now: creates an empty hidden folder
/// there and removes it. Asked of the file system rather than read from permission bits,
/// which do not tell a read-only mount, an immutable folder, an ACL, or root (who ignores
/// them).
fn probe_writable(dir: &Path) -> std::io::Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let probe = dir.join(format!(
        ".faultline-probe-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&probe)?;
    std::fs::remove_dir(&probe).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "created the empty folder {} to try, but cannot remove it: {e}",
                probe.display()
            ),
        )
    })
}

/// Refuses an output file that would destroy something the user wrote: one of the command's
/// `inputs`, or an existing file that `ours` does not recognise as this command's own output
/// (judged on its first 64 KiB); and one that cannot be created ([`check_creatable`]). `flag`
/// names the option in the message.
pub fn check_out_file(
    out: &Path,
    inputs: &[&Path],
    flag: &str,
    ours: impl Fn(&[u8]) -> bool,
) -> Result<(), InputError> {
    if let Some(i) = inputs.iter().find(|i| same_file(out, i)) {
        return Err(InputError(format!(
            "{flag} {} is the input {}: refusing to overwrite it (choose another output file)",
            out.display(),
            i.display()
        )));
    }
    check_creatable(out, flag, true)?;
    let meta = match std::fs::metadata(out) {
        Err(_) => return Ok(()),
        Ok(m) => m,
    };
    let head = (|| -> std::io::Result<Vec<u8>> {
        use std::io::Read;
        let mut buf = Vec::new();
        std::fs::File::open(out)?
            .take(64 * 1024)
            .read_to_end(&mut buf)?;
        Ok(buf)
    })();
    match head {
        Ok(h) if meta.is_file() && (h.is_empty() || ours(&h)) => Ok(()),
        _ => Err(InputError(format!(
            "{flag} {} exists and was not written by this command: refusing to overwrite it \
             (remove it or choose another output file)",
            out.display()
        ))),
    }
}

/// Refuses a report folder that holds one of the command's `inputs` or that faultline may not
/// replace ([`crate::report::check_replaceable`]); checked before the run, so nothing is lost
/// to a refusal after a long computation.
pub fn check_out_dir(dir: &Path, inputs: &[&Path], flag: &str) -> Result<(), InputError> {
    check_creatable(dir, flag, false)?;
    if let Ok(d) = dir.canonicalize() {
        for i in inputs {
            if i.canonicalize().is_ok_and(|i| i.starts_with(&d)) {
                return Err(InputError(format!(
                    "{flag} {} holds the input {}: refusing to replace that folder",
                    dir.display(),
                    i.display()
                )));
            }
        }
    }
    crate::report::check_replaceable(dir).map_err(|e| InputError(format!("{flag}: {e}")))
}
