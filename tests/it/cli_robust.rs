//! The command line under hostile input (issue 13): seed ranges at the edges of u64, thread
//! counts of zero, shards that disagree, outputs that would overwrite what the user wrote, and
//! a front door (help, README) that tells the truth (Ctrl-C and SIGTERM: `signals.rs`). Each case drives the real binary with a time limit, so a hang fails instead of
//! blocking the suite.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::cli::{bin, run, text, tmp};

pub(super) const MAX: &str = "18446744073709551615";

/// Runs the binary and fails the test if it has not exited within `secs`.
fn run_within(secs: u64, args: &[&str]) -> Output {
    run_cmd_within(secs, bin().args(args))
}

fn run_cmd_within(secs: u64, cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let (out, err) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let status = wait_within(&mut child, secs);
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

pub(super) fn drain(r: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut v);
        }
        v
    })
}

pub(super) fn wait_within(child: &mut Child, secs: u64) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the command did not end within {secs}s (a hang)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(super) fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

/// The names in a folder, sorted.
fn names(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    v.sort();
    v
}

pub(super) fn lines(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is whole JSON"))
        .collect()
}

// ---- seed ranges and thread counts ------------------------------------------------------

#[test]
fn absurd_seed_ranges_are_refused_at_once_without_allocating() {
    let r = format!("0..{MAX}");
    let o = run_within(10, &["sweep", "scenarios/raft-basic.ron", "--seeds", &r]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--allow-huge-range"), "{}", text(&o));
    // Other spellings of too much, and ranges that are not ranges.
    for bad in [
        format!("0..={MAX}"),
        "0..1000000000000".to_string(),
        format!("{MAX}..0"),
        "5..5".into(),
        "18446744073709551616".into(),
    ] {
        let o = run_within(10, &["sweep", "scenarios/raft-basic.ron", "--seeds", &bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o));
    }
}

#[test]
fn the_largest_seed_runs_and_does_not_wrap() {
    let d = tmp("maxseed");
    let j = d.join("max.jsonl");
    let o = run_within(
        60,
        &[
            "sweep",
            "scenarios/raft-basic.ron",
            "--seeds",
            MAX,
            "--json",
            j.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("1 seeds of raft-basic"), "{}", text(&o));
    let l = lines(&j);
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["seed"].as_u64(), Some(u64::MAX));
    // The top of the range, sharded: 2/3 of MAX-5..=MAX is MAX-4 and MAX-1 (into a file of
    // its own: a sweep never replaces an earlier one's results).
    let j = d.join("top.jsonl");
    let range = format!("{}..={MAX}", u64::MAX - 5);
    let o = run_within(
        60,
        &[
            "sweep",
            "scenarios/raft-basic.ron",
            "--seeds",
            &range,
            "--shard",
            "2/3",
            "--json",
            j.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let seeds: Vec<u64> = lines(&j)
        .iter()
        .map(|l| l["seed"].as_u64().unwrap())
        .collect();
    assert_eq!(seeds, [u64::MAX - 4, u64::MAX - 1]);
}

#[test]
fn jobs_zero_is_refused_by_every_command_that_takes_it() {
    let d = tmp("jobs0");
    std::fs::write(
        d.join("v.ron"),
        std::fs::read_to_string(scenario("raft-bug-forget_vote.ron")).unwrap(),
    )
    .unwrap();
    for args in [
        vec![
            "sweep",
            "scenarios/raft-basic.ron",
            "--seeds",
            "0..2",
            "--jobs",
            "0",
        ],
        vec!["suite", d.to_str().unwrap(), "--jobs", "0"],
        vec![
            "shrink",
            "scenarios/raft-bug-forget_vote.ron",
            "--seed",
            "9",
            "--jobs",
            "0",
        ],
    ] {
        let o = run_within(10, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains("at least 1"), "{}", text(&o));
    }
}

#[test]
fn suite_expectations_with_absurd_or_empty_ranges_fail_with_a_location() {
    let base = std::fs::read_to_string(scenario("raft-basic.ron")).unwrap();
    for (expect, why) in [
        (format!("Pass(seeds: (0, {MAX}))"), "holds"),
        ("Pass(seeds: (0, 1000000000000))".to_string(), "holds"),
        (
            format!("Violation(check: \"election-safety\", within_seeds: (0, {MAX}))"),
            "holds",
        ),
        ("Pass(seeds: (7, 7))".into(), "empty"),
        ("Pass(seeds: (9, 3))".into(), "empty"),
    ] {
        let d = tmp("suite-range");
        let f = d.join("s.ron");
        std::fs::write(&f, base.replace("Pass(seeds: (0, 200))", &expect)).unwrap();
        let o = run_within(20, &["suite", d.to_str().unwrap(), "--jobs", "1"]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "{expect}: {t}");
        assert!(t.contains("invalid"), "{t}");
        assert!(t.contains(&format!("{}:11", f.display())), "located: {t}");
        assert!(t.contains(why), "{t}");
    }
}

#[test]
fn suite_finds_a_violation_with_one_thread_and_never_hangs() {
    let d = tmp("suite-v");
    let src = std::fs::read_to_string(scenario("raft-bug-forget_vote.ron")).unwrap();
    std::fs::write(d.join("v.ron"), src.replace("(0, 2000)", "(0, 20)")).unwrap();
    let o = run_within(60, &["suite", d.to_str().unwrap(), "--jobs", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("`election-safety` violated at seed 9"),
        "{}",
        text(&o)
    );
}

// ---- merge ------------------------------------------------------------------------------

fn sweep_json(scenario: &str, seeds: &str, out: &Path) {
    let o = run_within(
        120,
        &[
            "sweep",
            scenario,
            "--seeds",
            seeds,
            "--json",
            out.to_str().unwrap(),
        ],
    );
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
}

#[test]
fn merge_never_drops_a_violation_and_refuses_conflicts() {
    let d = tmp("merge");
    let a = d.join("a.jsonl");
    sweep_json("scenarios/raft-bug-forget_vote.ron", "0..10", &a);
    let text_a = std::fs::read_to_string(&a).unwrap();
    assert!(
        text_a.contains("\"seed\":9,\"verdict\":\"violation\""),
        "{text_a}"
    );
    // Another file claims seed 9 passed (the issue's case: it merged to "0 failed", exit 0).
    let b = d.join("b.jsonl");
    let line3 = text_a.lines().find(|l| l.contains("\"seed\":9,")).unwrap();
    let forged = line3
        .replace("\"verdict\":\"violation\"", "\"verdict\":\"pass\"")
        .replace("[\"election-safety\"]", "[]");
    std::fs::write(&b, format!("{forged}\n")).unwrap();
    let o = run_within(10, &["merge", a.to_str().unwrap(), b.to_str().unwrap()]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("seed 9") && t.contains("a.jsonl") && t.contains("b.jsonl"),
        "{t}"
    );
    // The same seed with another trace hash is a conflict too.
    let other_hash = {
        let v: serde_json::Value = serde_json::from_str(line3).unwrap();
        let h = v["trace_hash"].as_str().unwrap().to_string();
        line3.replace(&h, "0123456789abcdef")
    };
    std::fs::write(&b, format!("{other_hash}\n")).unwrap();
    let o = run_within(10, &["merge", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // Identical duplicates are fine, and the violation survives.
    std::fs::write(&b, format!("{line3}\n")).unwrap();
    let all = d.join("all.jsonl");
    let o = run_within(
        10,
        &[
            "merge",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--json",
            all.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(
            "10 seeds of raft-bug-forget_vote (1 identical duplicates): 9 passed, 1 failed"
        ),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read_to_string(&all).unwrap(), text_a);
    // The merged output may not overwrite an input.
    let o = run_within(
        10,
        &["merge", a.to_str().unwrap(), "--json", a.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&a).unwrap(), text_a);
}

#[test]
fn merge_refuses_shards_of_different_scenarios() {
    let d = tmp("merge-mixed");
    let (a, b, c) = (d.join("a.jsonl"), d.join("b.jsonl"), d.join("c.jsonl"));
    sweep_json("scenarios/raft-basic.ron", "0..2", &a);
    sweep_json("scenarios/raft-partitions.ron", "2..4", &b);
    let o = run_within(10, &["merge", a.to_str().unwrap(), b.to_str().unwrap()]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("a.jsonl") && t.contains("b.jsonl") && t.contains("scenario"),
        "{t}"
    );
    // Same name, different content: the content hash tells them apart.
    let src = std::fs::read_to_string(scenario("raft-basic.ron")).unwrap();
    let changed = d.join("changed.ron");
    std::fs::write(&changed, src.replace("servers: 5", "servers: 3")).unwrap();
    assert_ne!(
        src,
        std::fs::read_to_string(&changed).unwrap(),
        "the edit applies"
    );
    sweep_json(changed.to_str().unwrap(), "2..4", &c);
    let o = run_within(10, &["merge", a.to_str().unwrap(), c.to_str().unwrap()]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("content hash"), "{t}");
}

#[test]
fn the_scenario_hash_ignores_layout_and_comments() {
    let d = tmp("hash");
    let src = std::fs::read_to_string(scenario("raft-basic.ron")).unwrap();
    let spaced = d.join("spaced.ron");
    let mut respaced = String::from("// a comment the hash must not see\n");
    for l in src.lines() {
        respaced.push_str("   ");
        respaced.push_str(l);
        respaced.push_str("  \n\n");
    }
    std::fs::write(&spaced, respaced).unwrap();
    let (x, y) = (d.join("x.jsonl"), d.join("y.jsonl"));
    sweep_json("scenarios/raft-basic.ron", "0", &x);
    sweep_json(spaced.to_str().unwrap(), "1", &y);
    let (hx, hy) = (
        &lines(&x)[0]["scenario_hash"],
        &lines(&y)[0]["scenario_hash"],
    );
    assert_eq!(hx.as_str().map(str::len), Some(16), "a content hash: {hx}");
    assert_eq!(hx, hy);
    let o = run_within(10, &["merge", x.to_str().unwrap(), y.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

// ---- outputs ----------------------------------------------------------------------------

#[test]
fn two_runs_racing_for_one_out_leave_one_whole_report() {
    let d = tmp("race");
    let out = d.join("report");
    for trial in 0..20 {
        let spawn = |seed: &str| {
            bin()
                .args(["run", "scenarios/raft-basic.ron", "--seed", seed, "--out"])
                .arg(&out)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (mut a, mut b) = (spawn("5"), spawn("6"));
        for c in [&mut a, &mut b] {
            let s = wait_within(c, 60);
            assert_eq!(s.code(), Some(0), "trial {trial}");
        }
        let j: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        let seed = j["seed"].as_u64().unwrap();
        let txt = std::fs::read_to_string(out.join("summary.txt")).unwrap();
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        let hash = j["trace_hash"].as_str().unwrap();
        assert!(
            txt.contains(&format!("seed       {seed}\n")),
            "trial {trial}"
        );
        assert!(
            txt.contains(hash) && html.contains(hash),
            "trial {trial}: a mix"
        );
    }
    assert_eq!(names(&d), ["report"], "no temporary folder survives");
}

#[test]
fn a_rerun_leaves_no_stale_file() {
    let d = tmp("stale");
    let out = d.join("r");
    let o = run(&[
        "run",
        "scenarios/raft-bug-stale_leader_read.ron",
        "--seed",
        "4",
        "--out",
        out.to_str().unwrap(),
        "--plots",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(out.join("counterexample.svg").is_file());
    let o = run(&[
        "run",
        "scenarios/raft-basic.ron",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        !out.join("counterexample.svg").exists(),
        "stale counterexample.svg"
    );
    assert!(out.join("report.html").is_file());
}

#[test]
fn outputs_never_overwrite_what_the_user_wrote() {
    let d = tmp("nooverwrite");
    let x = d.join("x.ron");
    let original = std::fs::read_to_string(scenario("raft-bug-forget_vote.ron")).unwrap();
    std::fs::write(&x, &original).unwrap();
    let notes = d.join("notes.txt");
    std::fs::write(&notes, "mine").unwrap();
    let xs = x.to_str().unwrap();
    // A folder of the user's whose files happen to have a report's names.
    let mine = d.join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("report.html"), "<html>mine</html>").unwrap();
    std::fs::write(mine.join("summary.json"), "{\"mine\": 1}").unwrap();
    std::fs::write(mine.join("events.svg"), "<svg/>").unwrap();
    let ms = mine.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["run", xs, "--seed", "3", "--out", ms],
        vec!["sweep", xs, "--seeds", "0..2", "--plots", ms],
        vec!["shrink", xs, "--seed", "3", "--out", ms],
        // The scenario being shrunk, as the output.
        vec!["shrink", xs, "--seed", "3", "--out", xs],
        // A file the user wrote, as the output.
        vec![
            "shrink",
            xs,
            "--seed",
            "3",
            "--out",
            notes.to_str().unwrap(),
        ],
        vec!["sweep", xs, "--seeds", "0..2", "--json", xs],
        vec![
            "sweep",
            xs,
            "--seeds",
            "0..2",
            "--json",
            notes.to_str().unwrap(),
        ],
        // A report folder that holds the scenario, or a file of the user's.
        vec!["run", xs, "--seed", "3", "--out", d.to_str().unwrap()],
        vec!["run", xs, "--seed", "3", "--out", xs],
        vec![
            "sweep",
            xs,
            "--seeds",
            "0..2",
            "--plots",
            d.to_str().unwrap(),
        ],
    ];
    for args in &cases {
        let o = run_within(60, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains("refusing") || text(&o).contains("never replaces"),
            "{}",
            text(&o)
        );
    }
    assert_eq!(std::fs::read_to_string(&x).unwrap(), original);
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "mine");
    assert_eq!(
        names(&d),
        ["mine", "notes.txt", "x.ron"],
        "nothing else written"
    );
    assert_eq!(
        std::fs::read_to_string(mine.join("report.html")).unwrap(),
        "<html>mine</html>"
    );
    assert_eq!(names(&mine), ["events.svg", "report.html", "summary.json"]);
}

#[test]
fn shrink_with_no_budget_prints_the_figures_of_the_file_it_wrote() {
    let d = tmp("budget0");
    let out = d.join("b0.ron");
    let o = run_within(
        60,
        &[
            "shrink",
            "scenarios/raft-bug-forget_vote.ron",
            "--seed",
            "9",
            "--budget",
            "0",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    let faults_line = t
        .lines()
        .find(|l| l.trim_start().starts_with("faults"))
        .unwrap();
    let after: usize = faults_line.rsplit(' ').next().unwrap().parse().unwrap();
    // The file written, run: its fault schedule has exactly the printed number of actions.
    let o = run(&[
        "run",
        out.to_str().unwrap(),
        "--seed",
        "9",
        "--no-report",
        "--verbose",
    ]);
    let r = text(&o);
    assert_eq!(o.status.code(), Some(1), "{r}");
    assert!(
        r.contains(&format!("faults drawn for seed 9 ({after} actions)")),
        "printed {faults_line:?} but the file runs:\n{r}"
    );
    assert!(after > 100, "no budget, no shrinking: {faults_line}");
}

// ---- the front door ---------------------------------------------------------------------

const COMMANDS: &[&str] = &[
    "run", "replay", "sweep", "merge", "suite", "list", "check", "shrink", "bench",
];

#[test]
fn every_argument_of_every_command_has_help_and_exit_codes_are_documented() {
    let o = run(&["--help"]);
    let top = text(&o);
    for code in ["0 ", "1 ", "2 ", "3 ", "4 ", "130 "] {
        assert!(
            top.contains(&format!("\n  {code}")),
            "exit code {code}in:\n{top}"
        );
    }
    for c in COMMANDS {
        let o = run(&[c, "--help"]);
        assert_eq!(o.status.code(), Some(0), "{c}");
        let t = String::from_utf8_lossy(&o.stdout).to_string();
        let mut section = "";
        let lines: Vec<&str> = t.lines().collect();
        for (k, l) in lines.iter().enumerate() {
            let l = *l;
            if l.ends_with(':') && !l.starts_with(' ') {
                section = l;
                continue;
            }
            let body = l.trim_start();
            let is_arg = (section == "Arguments:" || section == "Options:")
                && l.len() - body.len() <= 6
                && (body.starts_with('-') || body.starts_with('<') || body.starts_with('['));
            if is_arg {
                // `  -j, --jobs <JOBS>  Worker threads...`: a name, two spaces, a description,
                // or (clap's long form) the description indented on the next line.
                let inline = body
                    .split_once("  ")
                    .is_some_and(|(_, d)| !d.trim().is_empty());
                let below = lines
                    .get(k + 1)
                    .is_some_and(|n| n.starts_with("          ") && !n.trim().is_empty());
                assert!(
                    inline || below,
                    "`faultline {c}`: argument without help: {l:?}"
                );
            }
        }
        // (`check --help` belongs to the checker's module; `faultline --help` lists its codes.)
        if *c != "check" {
            assert!(
                t.contains("Exit codes:"),
                "`faultline {c} --help` names no exit codes"
            );
        }
    }
}

#[test]
fn shrink_help_tells_the_truth() {
    let o = run(&["shrink", "--help"]);
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    // Its example seed fails (so the example works) ...
    let ex = t
        .lines()
        .find(|l| l.trim_start().starts_with("faultline shrink "))
        .expect("an example");
    let words: Vec<&str> = ex.split_whitespace().collect();
    let file = words[2];
    let seed = words[words.iter().position(|w| *w == "--seed").unwrap() + 1];
    let o = run_within(60, &["sweep", file, "--seeds", seed]);
    assert_eq!(o.status.code(), Some(1), "the example seed must fail: {ex}");
    // ... and the default output is where the help says.
    assert!(t.contains("reports/<name>-shrunk-seed-<N>.ron"), "{t}");
    let d = tmp("shrink-default");
    let o = run_cmd_within(
        120,
        bin()
            .current_dir(&d)
            .args(["shrink"])
            .arg(scenario("raft-bug-no_log_check.ron"))
            .args(["--seed", "0"]),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        d.join("reports/raft-bug-no_log_check-shrunk-seed-0.ron")
            .is_file()
    );
    assert!(
        d.join("reports/raft-bug-no_log_check-shrunk-seed-0.report/report.html")
            .is_file()
    );
    // A second shrink may replace its own earlier output.
    let o = run_cmd_within(
        120,
        bin()
            .current_dir(&d)
            .args(["shrink"])
            .arg(scenario("raft-bug-no_log_check.ron"))
            .args(["--seed", "0"]),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn the_readme_installs_and_its_examples_write_only_under_reports() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(readme.contains("cargo install --path ."), "install line");
    let ci =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run")).unwrap();
    let test_cmd = ci
        .lines()
        .find(|l| l.starts_with("cargo test") && !l.contains("--test it"))
        .expect("CI runs the test suite");
    assert!(
        readme.contains(test_cmd.trim_end_matches(" --locked")),
        "README and .ci/run name the same test command: {test_cmd}"
    );
    // Every output an example names lands in reports/ (git-ignored) or outside the repo.
    let tour = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/tour.md"))
        .unwrap();
    for l in readme
        .lines()
        .chain(tour.lines())
        .filter(|l| l.contains("faultline "))
    {
        let w: Vec<&str> = l.split_whitespace().collect();
        for (i, flag) in w.iter().enumerate() {
            if ["--out", "--json", "--junit", "--plots", "--svg"].contains(flag)
                && let Some(p) = w.get(i + 1)
                && !p.starts_with('[')
                && !p.chars().all(|c| c.is_ascii_uppercase())
            {
                assert!(
                    p.starts_with("reports/") || p.starts_with('/'),
                    "README example writes outside reports/: {l}"
                );
            }
        }
    }
}
