//! The commands of the `faultline` binary, one file each. Each returns the process exit code:
//! 0 all checks pass, 1 a violation was found, 2 a usage or input error (3: `check` ran out of
//! budget). `main.rs` only parses arguments and calls these.

use std::path::{Path, PathBuf};

use crate::scenario::{Scenario, ScenarioError, load_file, load_str};

pub mod bench;
pub mod check;
pub mod list;
pub mod replay;
pub mod run;
pub mod shrink;
pub mod suite;
pub mod sweep;

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

/// `A..B` (end exclusive) or a single seed `A`.
pub fn parse_seeds(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("`{s}` is not a seed range (expected A..B, e.g. 0..200)");
    match s.split_once("..") {
        Some((a, b)) => {
            let a: u64 = a.trim().parse().map_err(|_| bad())?;
            let b: u64 = b
                .trim()
                .trim_start_matches('=')
                .parse()
                .map_err(|_| bad())?;
            let b = if s.contains("..=") {
                b.checked_add(1).ok_or_else(bad)?
            } else {
                b
            };
            if a >= b {
                return Err(format!("seed range `{s}` is empty"));
            }
            Ok((a, b))
        }
        None => {
            let a: u64 = s.trim().parse().map_err(|_| bad())?;
            Ok((a, a + 1))
        }
    }
}

/// `K/N` with 1 <= K <= N.
pub fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("`{s}` is not a shard (expected K/N with 1 <= K <= N, e.g. 2/3)");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (u64, u64) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
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

/// The exact command that reproduces a run.
pub fn reproduce_line(path: &str, seed: u64) -> String {
    format!("faultline run {path} --seed {seed}")
}
