//! `faultline check FILE... --model MODEL [--format F] [--tsv] [--budget STEPS]`: checks
//! histories from files (or every file of a directory). Exit 0 linearizable, 1 not
//! linearizable, 2 input error, 3 unknown (budget exhausted): the worst over all files.

use std::path::{Path, PathBuf};

use clap::Args;

use super::InputError;
use crate::check::parse::{Format, ModelName, check_text};
use crate::check::{CheckOptions, Verdict};

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  faultline check history.edn --model cas-register\n  faultline check ../shared/data/porcupine/etcd --model etcd-register --tsv\n  faultline check c10-bad.txt --model kv-append --format porcupine-kv"
)]
pub struct CheckArgs {
    /// History files, or directories of them.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// etcd-register, cas-register, register, kv-append or mutex.
    #[arg(long)]
    pub model: String,
    /// porcupine-etcd, porcupine-kv, edn or json (sniffed from the content when omitted).
    #[arg(long)]
    pub format: Option<String>,
    /// Tab-separated output for several files.
    #[arg(long)]
    pub tsv: bool,
    /// Most search steps per key before the verdict is `unknown`.
    #[arg(long, default_value_t = 50_000_000)]
    pub budget: u64,
}

pub fn main(a: CheckArgs) -> Result<i32, InputError> {
    let model = ModelName::parse(&a.model).ok_or_else(|| {
        let names: Vec<&str> = ModelName::ALL.iter().map(|m| m.0).collect();
        InputError(format!(
            "unknown model `{}` (expected one of: {})",
            a.model,
            names.join(", ")
        ))
    })?;
    let format = match &a.format {
        None => None,
        Some(f) => Some(Format::parse(f).ok_or_else(|| {
            InputError(format!(
                "unknown format `{f}` (expected porcupine-etcd, porcupine-kv, edn or json)"
            ))
        })?),
    };
    let mut files = Vec::new();
    for f in &a.files {
        if f.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(f)
                .map_err(|e| InputError(format!("{}: {e}", f.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            v.sort();
            files.extend(v);
        } else {
            files.push(f.clone());
        }
    }
    let opts = CheckOptions {
        budget: a.budget,
        ..CheckOptions::default()
    };
    let single = files.len() == 1;
    let mut worst = 0;
    let (mut total_ops, mut total_us) = (0usize, 0u128);
    for f in &files {
        match check_one(f, format, model, &opts) {
            Err(e) => {
                eprintln!("error: {e}");
                worst = worst.max(2);
            }
            Ok((ops, us, result)) => {
                total_ops += ops;
                total_us += us;
                let code = match result.verdict {
                    Verdict::Linearizable => 0,
                    Verdict::NotLinearizable => 1,
                    Verdict::Unknown => 3,
                };
                worst = rank_max(worst, code);
                let sep = if a.tsv { "\t" } else { " " };
                println!(
                    "{}{sep}{}{sep}{ops}{sep}{us}",
                    f.display(),
                    result.verdict.as_str()
                );
                if single && let Some(c) = &result.counterexample {
                    print!("{}", c.text);
                }
            }
        }
    }
    if !single {
        let sep = if a.tsv { "\t" } else { " " };
        println!(
            "TOTAL{sep}{} files{sep}{total_ops}{sep}{total_us}",
            files.len()
        );
    }
    Ok(worst)
}

/// Severity order for exit codes: input error (2) > not linearizable (1) > unknown (3) > ok.
fn rank_max(a: i32, b: i32) -> i32 {
    let rank = |c: i32| match c {
        2 => 3,
        1 => 2,
        3 => 1,
        _ => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

fn check_one(
    f: &Path,
    format: Option<Format>,
    model: ModelName,
    opts: &CheckOptions,
) -> Result<(usize, u128, crate::check::CheckResult), String> {
    let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
    let fmt = format.unwrap_or_else(|| Format::sniff(&text));
    let start = std::time::Instant::now();
    let rep = check_text(&text, fmt, model, opts)
        .map_err(|e| format!("{}:{}: {}", f.display(), e.line, e.message))?;
    Ok((rep.ops, start.elapsed().as_micros(), rep.result))
}
