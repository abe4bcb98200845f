//! `faultline check FILE... --model MODEL [--format F] [--tsv] [--budget STEPS] [--initial V]
//! [--html OUT.html | --report DIR]`: checks histories from files (or every file of a
//! directory). Exit 0 linearizable, 1 not linearizable, 2 input error, 3 unknown (budget
//! exhausted): the worst over all files. A file that cannot be read completely in one format
//! gets no verdict: it is an input error naming the line. Files are read a window at a time,
//! never held whole as text.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{InputError, check_out_file};
use crate::check::parse::{FileReport, Format, ModelName, check_from};
use crate::check::{CheckOptions, Verdict};

#[derive(Args, Debug)]
#[command(after_help = "\
What is read: Jepsen/Knossos EDN (a vector or list of operation maps, one map a line as in \
Jepsen's history.edn, #jepsen.history.Op{...} records, [process type f value] tuples; comments \
and #_ discards anywhere), Porcupine's etcd logs (INFO  jepsen.util - 3 :invoke :cas [1 4]) \
and key-value logs, JSON (an array of objects or one a line). Records of non-integer processes \
(:nemesis) are not client operations: they are counted and reported. What is refused (exit 2, \
with file:line:column and what was expected): an empty file, a file with no client operation, \
any record or line that cannot be read, content that fits no format, a --format the content \
contradicts, an operation the model does not have, a :key on a model without keys, :key values \
of more than one type (1, \"1\" and :1 would be read as one key), a negative :process. Files \
are read a window at a time: memory grows with the operations, not with the size of the file.

Exit codes: 0 linearizable, 1 not linearizable, 2 input error, 3 unknown (the search budget ran \
out). With several files, the worst: 2 > 1 > 3 > 0.

Examples:
  faultline check history.edn --model cas-register
  faultline check history.edn --model cas-register --html history.html
  faultline check ../shared/data/porcupine/etcd --model etcd-register --tsv
  faultline check c10-bad.txt --model kv-append --format porcupine-kv --report c10-bad.report")]
pub struct CheckArgs {
    /// History files, or directories of them: each file directly in a directory (folders
    /// inside are not searched, and a note names them; an entry that cannot be read, such as
    /// a broken link, is an error rather than left out).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The sequential specification to check against.
    #[arg(long, value_enum)]
    pub model: ModelName,
    /// The file format (detected from the content when omitted; an explicit one the content
    /// contradicts is an error).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Tab-separated output for several files: PATH VERDICT OPS TIME_US.
    #[arg(long)]
    pub tsv: bool,
    /// Most search steps per key before the verdict is `unknown`.
    #[arg(long, default_value_t = 50_000_000)]
    pub budget: u64,
    /// Initial value of the registers (the register models and multi-register); nil when
    /// omitted. Knossos's own test histories use 0 (with knossos-cas-register, multi-register).
    #[arg(long, allow_negative_numbers = true)]
    pub initial: Option<i64>,
    /// Write a self-contained HTML page showing the verdict (one file only).
    #[arg(long, value_name = "OUT.html", conflicts_with = "report")]
    pub html: Option<PathBuf>,
    /// Write the page as DIR/check.html, and its picture as DIR/counterexample.svg (a
    /// violation) or DIR/timeline.svg (linearizable) (one file only).
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
}

pub fn main(a: CheckArgs) -> Result<i32, InputError> {
    let model = a.model;
    if a.initial.is_some()
        && !matches!(
            model,
            ModelName::CasRegister
                | ModelName::KnossosCasRegister
                | ModelName::Register
                | ModelName::EtcdRegister
                | ModelName::MultiRegister
        )
    {
        return Err(InputError(format!(
            "--initial sets a register's first value; model {} has no registers",
            model.name()
        )));
    }
    let mut files = Vec::new();
    for f in &a.files {
        if f.is_dir() {
            let listing = |e: std::io::Error| InputError(format!("{}: {e}", f.display()));
            let mut v: Vec<PathBuf> = Vec::new();
            let mut inside: Vec<PathBuf> = Vec::new();
            for e in std::fs::read_dir(f).map_err(listing)? {
                let p = e.map_err(listing)?.path();
                match std::fs::metadata(&p) {
                    // Folders inside are not searched, and said so below.
                    Ok(m) if m.is_dir() => inside.push(p),
                    Ok(m) if !m.is_file() => {
                        return Err(InputError(format!(
                            "{}: not a regular file (a pipe, socket or device), so not a history to check",
                            p.display()
                        )));
                    }
                    // A file, or an entry that cannot be read (a broken link): checked, so that
                    // what cannot be read is refused by name rather than left out unseen.
                    _ => v.push(p),
                }
            }
            v.sort();
            inside.sort();
            if let Some(first) = inside.first() {
                eprintln!(
                    "note: {} folder{} inside {} not searched ({}{}): name {} to check {}",
                    inside.len(),
                    if inside.len() == 1 { "" } else { "s" },
                    f.display(),
                    first.display(),
                    if inside.len() > 1 { ", ..." } else { "" },
                    if inside.len() == 1 { "it" } else { "them" },
                    if inside.len() == 1 {
                        "its files"
                    } else {
                        "their files"
                    },
                );
            }
            if v.is_empty() {
                return Err(InputError(format!(
                    "{}: the directory holds no file to check",
                    f.display()
                )));
            }
            files.extend(v);
        } else {
            files.push(f.clone());
        }
    }
    let page = match (&a.html, &a.report) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(d)) => Some(d.join("check.html")),
        (None, None) => None,
    };
    if let Some(p) = &page {
        if files.len() != 1 {
            return Err(InputError(format!(
                "--html/--report draw one history; {} files were given",
                files.len()
            )));
        }
        // Every file this command may write is checked before the history is read: the page,
        // and in a report folder either picture (which one depends on the verdict).
        if let Some(dir) = &a.report
            && dir.exists()
            && !dir.is_dir()
        {
            return Err(InputError(format!(
                "--report {} is a file, not a folder (give a folder for the page and its picture)",
                dir.display()
            )));
        }
        let inputs = [files[0].as_path()];
        let flag = if a.html.is_some() {
            "--html"
        } else {
            "--report"
        };
        check_out_file(p, &inputs, flag, is_our_page)?;
        if let Some(dir) = &a.report {
            for name in crate::report::check_page::PICTURES {
                check_out_file(&dir.join(name), &inputs, flag, is_our_picture)?;
            }
        }
    }
    let opts = CheckOptions {
        budget: a.budget,
        ..CheckOptions::default()
    };
    let single = files.len() == 1;
    let sep = if a.tsv { "\t" } else { " " };
    let mut worst = 0;
    let (mut total_ops, mut total_us) = (0usize, 0u128);
    for f in &files {
        match check_one(f, a.format, model, a.initial, &opts, page.is_some()) {
            Err(e) => {
                eprintln!("error: {e}");
                worst = rank_max(worst, 2);
            }
            Ok((us, rep)) => {
                let result = &rep.result;
                total_ops += rep.ops;
                total_us += us;
                let code = match result.verdict {
                    Verdict::Linearizable => 0,
                    Verdict::NotLinearizable => 1,
                    Verdict::Unknown => 3,
                };
                worst = rank_max(worst, code);
                if a.tsv {
                    println!(
                        "{}{sep}{}{sep}{}{sep}{us}",
                        f.display(),
                        result.verdict.as_str(),
                        rep.ops
                    );
                } else {
                    let nemesis = if rep.nemesis > 0 {
                        format!(", {} nemesis ignored", rep.nemesis)
                    } else {
                        String::new()
                    };
                    println!(
                        "{} {} {} ops{nemesis} ({}, {us} us)",
                        f.display(),
                        result.verdict.as_str(),
                        rep.ops,
                        rep.format.name()
                    );
                }
                if single && let Some(t) = rep.explanation() {
                    print!("{t}");
                }
                if let Some(p) = &page {
                    let html = crate::report::check_page::check_html(
                        &f.display().to_string(),
                        &model.name(),
                        &rep,
                    );
                    let write = |p: &Path, bytes: &[u8]| {
                        crate::report::write_atomic(p, bytes)
                            .map_err(|e| InputError(format!("{}: {e}", p.display())))
                    };
                    write(p, html.as_bytes())?;
                    println!("page {}", p.display());
                    // A report folder also gets the picture as its own file.
                    if let (Some(dir), Some((name, svg))) =
                        (&a.report, crate::report::check_page::picture(&rep))
                    {
                        let q = dir.join(name);
                        write(&q, crate::report::check_page::marked(&svg).as_bytes())?;
                        println!("picture {}", q.display());
                    }
                }
            }
        }
    }
    if !single {
        println!(
            "TOTAL{sep}{} files{sep}{total_ops}{sep}{total_us}",
            files.len()
        );
    }
    Ok(worst)
}

/// Whether the head of a file is a page an earlier `faultline check` wrote.
fn is_our_page(head: &[u8]) -> bool {
    String::from_utf8_lossy(&head[..head.len().min(400)])
        .contains(crate::report::check_page::GENERATOR)
}

/// Whether the head of a file is a picture an earlier `faultline check` wrote (its mark comes
/// right after the opening tag; any other SVG is the user's).
fn is_our_picture(head: &[u8]) -> bool {
    String::from_utf8_lossy(&head[..head.len().min(400)])
        .contains(crate::report::check_page::PICTURE_MARK)
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
    initial: Option<i64>,
    opts: &CheckOptions,
    full_view: bool,
) -> Result<(u128, FileReport), String> {
    // Read a window at a time (never the whole text): only the operations are held.
    let file = std::fs::File::open(f).map_err(|e| format!("{}: {e}", f.display()))?;
    let start = std::time::Instant::now();
    let rep = check_from(file, format, model, initial, opts, full_view)
        .map_err(|e| format!("{}:{}", f.display(), e.located()))?;
    Ok((start.elapsed().as_micros(), rep))
}
