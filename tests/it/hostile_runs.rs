//! A hostile user of the commands that run many runs or keep their results (`sweep`, `suite`,
//! `compare`, `merge`, `shrink`, `replay`): outputs that can never be written, found only
//! after the work was done (a shrink's result lost, a green suite exiting 2). Each table drives
//! the real binary in a scratch folder: the CLI is the contract.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::cli::{bin, text, tmp};

/// A bundled scenario's path.
fn bundled(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
        .display()
        .to_string()
}

/// `faultline ARGS` run in `d`, where an argument `@name` is the bundled scenario `name`.
fn run_in(d: &Path, args: &[&str]) -> Output {
    let args: Vec<String> = args
        .iter()
        .map(|a| match a.strip_prefix('@') {
            Some(name) => bundled(name),
            None => a.to_string(),
        })
        .collect();
    bin().current_dir(d).args(&args).output().unwrap()
}

/// A scratch folder holding `afile` (a file), and `suite/a.ron` (raft-basic, two seeds).
fn scratch(name: &str) -> PathBuf {
    let d = tmp(name);
    std::fs::write(d.join("afile"), "mine\n").unwrap();
    std::fs::create_dir(d.join("suite")).unwrap();
    let basic = std::fs::read_to_string(bundled("raft-basic.ron")).unwrap();
    std::fs::write(
        d.join("suite/a.ron"),
        basic.replace("Pass(seeds: (0, 200))", "Pass(seeds: (0, 2))"),
    )
    .unwrap();
    d
}

/// Outputs no file can be written at: (case, arguments, what the refusal must say). Each was
/// found only after the work: shrink searched, then lost what it found; suite ran every
/// scenario, printed them green, then exited 2; compare ran both sides.
const UNWRITABLE: &[(&str, &[&str], &str)] = &[
    (
        "shrink --out naming a folder",
        &[
            "shrink",
            "@raft-bug-forget_vote.ron",
            "--seed",
            "9",
            "--budget",
            "3",
            "--out",
            "best/",
        ],
        "--out best/ ends with `/`: it names a folder, not a file",
    ),
    (
        "shrink --out under a file",
        &[
            "shrink",
            "@raft-bug-forget_vote.ron",
            "--seed",
            "9",
            "--budget",
            "3",
            "--out",
            "afile/best.ron",
        ],
        "--out afile/best.ron: afile is a file, not a folder",
    ),
    (
        "suite --junit naming a folder",
        &["suite", "suite", "--junit", "out/"],
        "--junit out/ ends with `/`: it names a folder, not a file",
    ),
    (
        "suite --junit under a file",
        &["suite", "suite", "--junit", "afile/junit.xml"],
        "--junit afile/junit.xml: afile is a file, not a folder",
    ),
    (
        "compare --plot naming a folder",
        &[
            "compare",
            "@raft-basic.ron",
            "@raft-basic.ron",
            "--plot",
            "plot/",
        ],
        "--plot plot/ ends with `/`: it names a folder, not a file",
    ),
    (
        "compare --plot under a file",
        &[
            "compare",
            "@raft-basic.ron",
            "@raft-basic.ron",
            "--plot",
            "afile/deep/p.svg",
        ],
        "--plot afile/deep/p.svg: afile is a file, not a folder",
    ),
    (
        "replay --svg naming a folder",
        &["replay", "@raft-basic.ron", "--svg", "seq/"],
        "--svg seq/ ends with `/`: it names a folder, not a file",
    ),
    (
        "sweep --json under a file",
        &[
            "sweep",
            "@raft-basic.ron",
            "--seeds",
            "0..2",
            "--json",
            "afile/r.jsonl",
        ],
        "--json afile/r.jsonl: afile is a file, not a folder",
    ),
    (
        "sweep --plots under a file",
        &[
            "sweep",
            "@raft-basic.ron",
            "--seeds",
            "0..2",
            "--plots",
            "afile/plots",
        ],
        "--plots afile/plots: afile is a file, not a folder",
    ),
    // Two outputs of one sweep in one place: the plots folder is written whole at the end,
    // so the results streamed inside it made the finished sweep exit 2 and its plots lost.
    (
        "sweep --json inside its --plots folder",
        &[
            "sweep",
            "@raft-basic.ron",
            "--seeds",
            "0..2",
            "--json",
            "out/r.jsonl",
            "--plots",
            "out",
        ],
        "--json out/r.jsonl is inside the --plots folder out",
    ),
    (
        "sweep --json and --plots at one path",
        &[
            "sweep",
            "@raft-basic.ron",
            "--seeds",
            "0..2",
            "--json",
            "./both",
            "--plots",
            "both",
        ],
        "--json ./both is inside the --plots folder both",
    ),
];

/// Runs `args` in `d`: None if refused with exit 2 saying each of `says` before any result was
/// printed (nothing ran), else what happened.
fn refused_before_the_work(d: &Path, case: &str, args: &[&str], says: &[&str]) -> Option<String> {
    let o = run_in(d, args);
    let t = text(&o);
    let refused = o.status.code() == Some(2) && o.stdout.is_empty();
    (!refused || !says.iter().all(|s| t.contains(s))).then(|| {
        format!(
            "{case}: expected exit 2 and {says:?} before any work, got {:?}:\n{t}",
            o.status.code()
        )
    })
}

#[test]
fn outputs_that_cannot_be_written_are_refused_before_the_work() {
    let d = scratch("hostile-runs-unwritable");
    let failures: Vec<String> = UNWRITABLE
        .iter()
        .filter_map(|(case, args, says)| refused_before_the_work(&d, case, args, &[says]))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(std::fs::read_to_string(d.join("afile")).unwrap(), "mine\n");
}

/// Undoes, when dropped, what [`unwritable`] and [`undeletable`] did under a folder: the
/// immutable attribute (`chattr -R -i`) and missing write permission (`chmod -R u+w`), so the
/// scratch folder can be removed whatever the test found.
struct Unlock(PathBuf);

impl Drop for Unlock {
    fn drop(&mut self) {
        let _ = Command::new("chattr")
            .arg("-R")
            .arg("-i")
            .arg(&self.0)
            .output();
        let _ = Command::new("chmod")
            .arg("-R")
            .arg("u+w")
            .arg(&self.0)
            .output();
    }
}

/// Whether an entry can be created in `d` now.
fn can_create_in(d: &Path) -> bool {
    let probe = d.join("probe");
    let made = std::fs::create_dir(&probe).is_ok();
    let _ = std::fs::remove_dir(&probe);
    made
}

/// Makes the existing folder `d` one nothing can be created in, even by root: mode 0555 (which
/// root ignores), then the immutable attribute (`chattr +i`, which needs root and a file system
/// that has it). None, saying why on stderr, where neither works here.
fn unwritable(d: &Path) -> Option<Unlock> {
    use std::os::unix::fs::PermissionsExt;
    let unlock = Unlock(d.to_path_buf());
    let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o555));
    if can_create_in(d) {
        let _ = Command::new("chattr").arg("+i").arg(d).output();
    }
    if can_create_in(d) {
        eprintln!(
            "SKIPPED: {} stays writable for this user (mode 0555 and chattr +i both failed), \
             so an unwritable folder cannot be tested here",
            d.display()
        );
        return None;
    }
    Some(unlock)
}

/// Output paths in an existing folder nothing can be created in (`ro`, or the working folder
/// itself): (case, working folder, arguments, what the refusal must say). Each passed the
/// up-front check (the folder exists), did all its work, then failed to write: a run printed its
/// verdict and exited 2, a suite ran every scenario, a sweep its every seed.
const IN_UNWRITABLE: &[(&str, &str, &[&str], &str)] = &[
    (
        "run --out",
        ".",
        &["run", "@raft-basic.ron", "--out", "ro/report"],
        "--out ro/report: cannot create anything in ro: ",
    ),
    (
        "run --out two folders down",
        ".",
        &["run", "@raft-basic.ron", "--out", "ro/a/b"],
        "--out ro/a/b: cannot create anything in ro: ",
    ),
    (
        "run's default report folder in an unwritable working folder",
        "ro",
        &["run", "@raft-basic.ron"],
        "the report folder (--out) reports/raft-basic/seed-0: cannot create anything in .: ",
    ),
    (
        "shrink --out",
        ".",
        &[
            "shrink",
            "@raft-bug-forget_vote.ron",
            "--seed",
            "9",
            "--budget",
            "3",
            "--out",
            "ro/best.ron",
        ],
        "--out ro/best.ron: cannot create anything in ro: ",
    ),
    (
        "suite --junit",
        ".",
        &["suite", "suite", "--junit", "ro/junit.xml"],
        "--junit ro/junit.xml: cannot create anything in ro: ",
    ),
    (
        "compare --plot",
        ".",
        &[
            "compare",
            "@raft-basic.ron",
            "@raft-basic.ron",
            "--plot",
            "ro/p.svg",
        ],
        "--plot ro/p.svg: cannot create anything in ro: ",
    ),
    (
        "replay --svg",
        ".",
        &["replay", "@raft-basic.ron", "--svg", "ro/seq.svg"],
        "--svg ro/seq.svg: cannot create anything in ro: ",
    ),
    (
        "sweep --plots",
        ".",
        &[
            "sweep",
            "@raft-basic.ron",
            "--seeds",
            "0..2",
            "--plots",
            "ro/plots",
        ],
        "--plots ro/plots: cannot create anything in ro: ",
    ),
    (
        "sweep --json",
        ".",
        &[
            "sweep",
            "@raft-basic.ron",
            "--seeds",
            "0..2",
            "--json",
            "ro/r.jsonl",
        ],
        "--json ro/r.jsonl: cannot create anything in ro: ",
    ),
];

#[test]
fn outputs_in_a_folder_that_cannot_be_written_are_refused_before_the_work() {
    let d = scratch("hostile-runs-read-only");
    let ro = d.join("ro");
    std::fs::create_dir(&ro).unwrap();
    let Some(_unlock) = unwritable(&ro) else {
        return;
    };
    // Refused with the path, the folder and the system's reason.
    let failures: Vec<String> = IN_UNWRITABLE
        .iter()
        .filter_map(|(case, cwd, args, says)| {
            refused_before_the_work(&d.join(cwd), case, args, &[says, "(os error"])
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nothing was left behind in it either (a probe, a temporary folder).
    assert_eq!(std::fs::read_dir(&ro).unwrap().count(), 0);
}

/// Makes the report folder `rep` one whose contents cannot be deleted: its `summary.json`
/// immutable (`chattr +i`, root), or the folder mode 0555 (anyone else). None, saying why on
/// stderr, where neither works here.
fn undeletable(rep: &Path) -> Option<Unlock> {
    use std::os::unix::fs::PermissionsExt;
    let unlock = Unlock(rep.parent().unwrap().to_path_buf());
    let summary = rep.join("summary.json");
    let _ = Command::new("chattr").arg("+i").arg(&summary).output();
    let immutable = std::fs::OpenOptions::new()
        .append(true)
        .open(&summary)
        .is_err();
    if !immutable {
        let _ = std::fs::set_permissions(rep, std::fs::Permissions::from_mode(0o555));
        if can_create_in(rep) {
            eprintln!(
                "SKIPPED: {} stays deletable for this user (chattr +i and mode 0555 both \
                 failed), so a report that cannot be deleted cannot be tested here",
                rep.display()
            );
            return None;
        }
    }
    Some(unlock)
}

#[test]
fn a_replaced_report_that_cannot_be_deleted_is_named_not_left_unsaid() {
    let d = tmp("hostile-runs-undeletable");
    let args = ["run", "@raft-basic.ron", "--out", "rep"];
    let o = run_in(&d, &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let Some(_unlock) = undeletable(&d.join("rep")) else {
        return;
    };
    // The new report replaces the old one, whose folder is then left under a hidden name:
    // the run says where, instead of leaving it without a word.
    let o = run_in(&d, &args);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(d.join("rep/report.html").is_file(), "{t}");
    let left: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".rep.tmp-"))
        .collect();
    assert_eq!(left.len(), 1, "{left:?}\n{t}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr
            .contains("warning: rep was written, but the folder it replaced could not be deleted")
            && stderr.contains(&format!("it is left at ./{} (remove it)", left[0])),
        "{stderr}"
    );
}

/// Unmounts, when dropped, the small file system [`full_disk`] mounted, so the scratch folder
/// can be removed whatever the test found.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).output();
    }
}

/// Mounts a 64 KB tmpfs at the new folder `d`: one a report can be started in (the up-front
/// check creates its probe there) but not finished (the disk fills). None, saying why on
/// stderr, where this user cannot mount.
fn full_disk(d: &Path) -> Option<Unmount> {
    std::fs::create_dir_all(d).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(d)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!(
            "SKIPPED: cannot mount a small tmpfs at {} here, so a disk that fills during a \
             run cannot be tested",
            d.display()
        );
        return None;
    }
    Some(Unmount(d.to_path_buf()))
}

/// Outputs that cannot be written after the work (the disk filled up while it ran): an error,
/// exit 2, but never one that hides a violation the run found: that run prints its verdict,
/// then the error, and exits 1 (before, both exited 2). Nothing is left behind in the full
/// folder (before, a single file's partial temporary copy was). (arguments, exit code, what
/// stdout shows, what stderr says)
const NO_ROOM: &[(&[&str], i32, &str, &str)] = &[
    (
        &["run", "@raft-bug-no_log_check.ron", "--out", "full/rep"],
        1,
        "verdict    VIOLATION",
        "(the violation above stands: exit 1)",
    ),
    (
        &["run", "@raft-basic.ron", "--out", "full/rep"],
        2,
        "verdict    PASS",
        "error: cannot write the report to full/rep: ",
    ),
    (
        &["replay", "@raft-basic.ron", "--svg", "full/r.svg"],
        2,
        "",
        "error: cannot write full/r.svg: ",
    ),
];

#[test]
fn outputs_the_disk_has_no_room_for_hide_no_violation_and_leave_nothing() {
    let d = tmp("hostile-runs-full-disk");
    let full = d.join("full");
    let Some(_unmount) = full_disk(&full) else {
        return;
    };
    for (args, code, shows, says) in NO_ROOM {
        let o = run_in(&d, args);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(*code), "{args:?}: {t}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains(shows),
            "{args:?}: {t}"
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains(says) && stderr.contains("No space left on device"),
            "{args:?}: {stderr}"
        );
        let left: Vec<_> = std::fs::read_dir(&full).unwrap().collect();
        assert!(left.is_empty(), "{args:?}: left behind {left:?}");
    }
}

/// Entries of a suite's folder named `*.ron` that cannot be read as a scenario: (case, how
/// the entry is made, what its failed case must say). The listing kept regular files only,
/// so a link to a scenario that moved, or a pipe, was left out unseen: a green suite of fewer.
const UNREADABLE_SCENARIOS: &[(&str, &str, &str)] = &[
    (
        "a link to a scenario that is gone",
        "link",
        "FAIL suite/b.ron",
    ),
    (
        "a named pipe",
        "fifo",
        "suite/b.ron: not a regular file (a pipe, socket or device), so not a scenario",
    ),
];

#[test]
fn a_suite_entry_that_cannot_be_read_fails_its_case_not_skipped() {
    let mut failures = Vec::new();
    for (case, how, says) in UNREADABLE_SCENARIOS {
        let d = scratch(&format!("hostile-runs-suite-{how}"));
        let b = d.join("suite/b.ron");
        if *how == "link" {
            std::os::unix::fs::symlink(d.join("moved.ron"), &b).unwrap();
        } else {
            let c = std::ffi::CString::new(b.to_str().unwrap()).unwrap();
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        }
        let junit = d.join("junit.xml");
        let o = run_in(&d, &["suite", "suite", "--junit", junit.to_str().unwrap()]);
        let t = text(&o);
        let x = std::fs::read_to_string(&junit).unwrap_or_default();
        if o.status.code() != Some(1)
            || !t.contains(says)
            || !t.contains("2 scenarios: 1 met their expectation, 1 did not")
            || !x.contains("tests=\"2\" failures=\"1\"")
        {
            failures.push(format!(
                "{case}: expected exit 1 and `{says}`, got {:?}:\n{t}\n{x}",
                o.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Inputs to `merge` that are not a sweep's lines and have no end in sight: (case, the input,
/// what the refusal must say). Merge read each whole file into memory before looking at it:
/// a wrong file of many gigabytes, or a device, took the machine's memory.
const ENDLESS: &[(&str, &str, &str)] = &[
    (
        "a file that is one long line",
        "long.jsonl",
        "long.jsonl:1: a line longer than 65536 bytes",
    ),
    (
        "a device with no end",
        "/dev/zero",
        "/dev/zero:1: a line longer than 65536 bytes",
    ),
];

#[test]
fn merge_reads_a_bounded_line_at_a_time() {
    use std::os::unix::process::CommandExt;
    let d = tmp("hostile-runs-merge-endless");
    std::fs::write(d.join("long.jsonl"), "x".repeat(1 << 20)).unwrap();
    let mut failures = Vec::new();
    for (case, input, says) in ENDLESS {
        let mut cmd = bin();
        cmd.current_dir(&d).args(["merge", input]);
        // SAFETY: only setrlimit(2) between fork and exec. 512 MB of address space: an
        // unbounded read fails (or would take the machine) long before it ends.
        unsafe {
            cmd.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: 512 << 20,
                    rlim_max: 512 << 20,
                };
                libc::setrlimit(libc::RLIMIT_AS, &limit);
                Ok(())
            });
        }
        let o = cmd.output().unwrap();
        let t = text(&o);
        if o.status.code() != Some(2) || !t.contains(says) {
            failures.push(format!(
                "{case}: expected exit 2 and `{says}`, got {:?}:\n{t}",
                o.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn suite_help_and_readme_state_the_bound_that_is_enforced() {
    // Both said a range may hold 100,000,000 seeds; the loader refuses more than 1,000,000.
    let digits = faultline::scenario::MAX_EXPECT_SEEDS.to_string();
    let mut bound = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            bound.push(',');
        }
        bound.push(c);
    }
    let help = text(&bin().args(["suite", "--help"]).output().unwrap());
    assert!(
        help.contains(&format!("a range may hold at most {bound} seeds")),
        "{help}"
    );
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("or holds more than {bound} seeds fails its case")),
        "README's suite section"
    );
}

/// A sweep's lines name its whole range, so `merge` of an interrupted sweep or of some of its
/// shards lists the seeds that have no result and is not a pass (it merged green, exit 0).
#[test]
fn merge_of_an_incomplete_sweep_is_not_a_pass() {
    let d = tmp("merge-incomplete");
    let sweep = |scenario: &str, seeds: &str, shard: Option<&str>, out: &str| {
        let mut args = vec!["sweep", scenario, "--seeds", seeds, "--json", out];
        args.extend(shard.iter().flat_map(|s| ["--shard", s]));
        let o = run_in(&d, &args);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    };
    sweep("@raft-basic.ron", "0..6", None, "all.jsonl");
    sweep("@raft-basic.ron", "0..6", Some("1/2"), "s1.jsonl");
    sweep("@raft-basic.ron", "0..6", Some("2/2"), "s2.jsonl");
    sweep("@raft-bug-forget_vote.ron", "0..10", None, "bug.jsonl");
    let lines = |f: &str| {
        let t = std::fs::read_to_string(d.join(f)).unwrap();
        t.lines().map(|l| format!("{l}\n")).collect::<Vec<_>>()
    };
    let all = lines("all.jsonl");
    assert!(all[0].contains("\"of\":\"0..6\""), "{}", all[0]);
    std::fs::write(d.join("cut.jsonl"), all[..3].concat()).unwrap();
    let bug = lines("bug.jsonl");
    std::fs::write(d.join("seed9.jsonl"), &bug[9]).unwrap();
    std::fs::write(
        d.join("outside.jsonl"),
        bug[9].replace("\"of\":\"0..10\"", "\"of\":\"0..9\""),
    )
    .unwrap();
    let old = all[0].replace(",\"of\":\"0..6\"", "");
    std::fs::write(d.join("old.jsonl"), &old).unwrap();
    // Files, exit code, what the output must say, what it must not.
    let cases: &[(&[&str], i32, &str, &str)] = &[
        (
            &["cut.jsonl"],
            4,
            "INCOMPLETE: 3 of the 6 seeds",
            "missing 3..6",
        ),
        (
            &["s1.jsonl"],
            4,
            "INCOMPLETE: 3 of the 6 seeds",
            "missing 1, 3, 5)",
        ),
        (&["s1.jsonl", "s2.jsonl"], 0, "6 seeds of raft-basic", ""),
        (
            &["all.jsonl", "s2.jsonl"],
            0,
            "(3 identical duplicates)",
            "",
        ),
        (&["cut.jsonl", "s2.jsonl"], 4, "missing 4", ""),
        (
            &["seed9.jsonl"],
            1,
            "INCOMPLETE: 9 of the 10 seeds",
            "missing 0..9",
        ),
        (
            &["outside.jsonl"],
            2,
            "seed 9 is outside its sweep's range 0..9",
            "",
        ),
        (
            &["old.jsonl"],
            0,
            "do not say which seeds their sweep ran",
            "",
        ),
    ];
    for (files, code, says, also) in cases {
        let mut args = vec!["merge"];
        args.extend(files.iter());
        let o = run_in(&d, &args);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(*code), "{files:?}: {t}");
        assert!(t.contains(says) && t.contains(also), "{files:?}: {t}");
        if *code == 0 {
            assert!(!t.contains("INCOMPLETE"), "{files:?}: {t}");
        }
    }
}
