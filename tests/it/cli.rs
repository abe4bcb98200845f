//! The command line is the contract: these tests drive the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_faultline"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

pub(crate) fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

pub(crate) fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn run_with_no_argument_runs_the_default_scenario_and_passes() {
    let out = tmp("default");
    let o = run(&["run", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("raft-partitions") && t.contains("trace hash") && t.contains("PASS"),
        "{t}"
    );
    assert!(out.join("report.html").is_file());
}

#[test]
fn summary_json_has_the_fields_ci_reads() {
    let out = tmp("summary");
    let o = run(&[
        "run",
        "scenarios/raft-basic.ron",
        "--seed",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(j["scenario"], "raft-basic");
    assert_eq!(j["seed"], 3);
    assert_eq!(j["verdict"], "pass");
    assert_eq!(j["trace_hash"].as_str().unwrap().len(), 16);
    assert!(j["events"].as_u64().unwrap() > 1000);
    assert!(j["ops"]["ok"].as_u64().unwrap() > 50);
    let checks = j["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 7); // Raft's six and the `run` check
    assert!(
        checks
            .iter()
            .all(|c| c["ok"] == true && c["detail"].is_string())
    );
    assert!(j["reproduce"].as_str().unwrap().contains("--seed 3"));
}

#[test]
fn a_violation_exits_1_and_the_report_shows_the_operations() {
    let out = tmp("violation");
    let o = run(&[
        "run",
        "scenarios/raft-bug-stale_leader_read.ron",
        "--seed",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("VIOLATION linearizability"));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("operations involved in linearizability")
            && html.contains("linearizability: the operations that make it impossible")
            && html.contains("could not take effect")
            && html.contains("culprit: no order explains it")
            && html.contains(" get k"),
        "report lists the violating operations"
    );
}

#[test]
fn bad_input_exits_2_with_a_located_message() {
    let dir = tmp("bad");
    let p = dir.join("bad.ron");
    std::fs::write(
        &p,
        "Scenario(\n  name: \"x\",\n  protocol: Raft(),\n  cluster: (servers: 3, nodez: 2),\n)",
    )
    .unwrap();
    let o = run(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    assert!(t.contains("bad.ron:4:") && t.contains("nodez"), "{t}");
    let o = run(&["run", "does-not-exist.ron"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["sweep", "scenarios/raft-basic.ron", "--seeds", "9..3"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn replay_is_byte_identical_across_processes() {
    let args = [
        "replay",
        "scenarios/raft-crash-restart.ron",
        "--seed",
        "4",
        "--from",
        "1s",
        "--to",
        "3s",
    ];
    let a = run(&args);
    let b = run(&args);
    assert_eq!(a.status.code(), Some(0));
    assert!(a.stdout.len() > 10_000, "a real trace");
    assert_eq!(a.stdout, b.stdout);
    let first = String::from_utf8_lossy(&a.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(first.starts_with("1.0"), "{first}");
}

#[test]
fn sharded_sweeps_add_up_to_the_whole_sweep() {
    let d = tmp("shards");
    let whole = d.join("whole.jsonl");
    let o = run(&[
        "sweep",
        "scenarios/raft-basic.ron",
        "--seeds",
        "0..12",
        "--json",
        whole.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut parts = Vec::new();
    for k in 1..=3 {
        let p = d.join(format!("part{k}.jsonl"));
        let o = run(&[
            "sweep",
            "scenarios/raft-basic.ron",
            "--seeds",
            "0..12",
            "--shard",
            &format!("{k}/3"),
            "--json",
            p.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0));
        parts.push(p);
    }
    let merged = d.join("merged.jsonl");
    let mut args = vec!["merge".to_string()];
    args.extend(parts.iter().map(|p| p.display().to_string()));
    args.extend(["--json".into(), merged.display().to_string()]);
    let o = bin().args(&args).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(&whole).unwrap(),
        std::fs::read_to_string(&merged).unwrap()
    );
    assert_eq!(std::fs::read_to_string(&whole).unwrap().lines().count(), 12);
}

#[test]
fn a_sweep_of_a_bug_exits_1_and_prints_the_reproduction() {
    let o = run(&[
        "sweep",
        "scenarios/raft-bug-no_log_check.ron",
        "--seeds",
        "0..4",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("faultline run scenarios/raft-bug-no_log_check.ron --seed 0"));
}

#[test]
fn fail_fast_reports_the_first_failing_seed_whatever_the_threads_do() {
    // forget_vote first fails at seed 9 (see scenarios/raft-bug-forget_vote.ron); on 2 threads
    // a later seed may fail first in wall-clock time, yet the answer must not change.
    for jobs in ["1", "2"] {
        let o = run(&[
            "sweep",
            "scenarios/raft-bug-forget_vote.ron",
            "--seeds",
            "0..2000",
            "--fail-fast",
            "--jobs",
            jobs,
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let t = String::from_utf8_lossy(&o.stdout).to_string();
        let failing: Vec<&str> = t.lines().filter(|l| l.starts_with("seed")).collect();
        assert_eq!(failing.len(), 1, "{t}");
        assert!(failing[0].contains("--seed 9"), "{t}");
        assert!(t.contains("10 seeds of raft-bug-forget_vote"), "{t}");
    }
}

#[test]
fn suite_checks_expectations_and_writes_junit() {
    let d = tmp("suite");
    for f in ["raft-basic.ron", "raft-bug-no_log_check.ron"] {
        let mut s = std::fs::read_to_string(
            Path::new("scenarios")
                .join(f)
                .canonicalize()
                .unwrap_or_else(|_| {
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("scenarios")
                        .join(f)
                }),
        )
        .unwrap();
        s = s.replace(
            "expect: Pass(seeds: (0, 200))",
            "expect: Pass(seeds: (0, 4))",
        );
        std::fs::write(d.join(f), s).unwrap();
    }
    let junit = d.join("junit.xml");
    let o = run(&[
        "suite",
        d.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let x = std::fs::read_to_string(junit).unwrap();
    assert!(x.contains("tests=\"2\" failures=\"0\""), "{x}");
    // An expectation that is not met fails the suite.
    std::fs::write(
        d.join("raft-basic.ron"),
        std::fs::read_to_string(d.join("raft-basic.ron"))
            .unwrap()
            .replace(
                "Pass(seeds: (0, 4))",
                "Violation(check: \"linearizability\", within_seeds: (0, 3))",
            ),
    )
    .unwrap();
    let o = run(&["suite", d.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // Scenarios in subfolders are not run, and the suite says so rather than pass on fewer.
    let sub = d.join("more").join("deeper");
    std::fs::create_dir_all(&sub).unwrap();
    for f in ["a.ron", "b.ron"] {
        std::fs::copy(d.join("raft-bug-no_log_check.ron"), sub.join(f)).unwrap();
    }
    std::fs::remove_file(d.join("raft-basic.ron")).unwrap();
    let o = run(&["suite", d.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("note: 2 *.ron files in subfolders of"),
        "{}",
        text(&o)
    );
}

#[test]
fn list_shows_protocols_variants_checks_and_scenarios() {
    let o = run(&["list"]);
    assert_eq!(o.status.code(), Some(0));
    let t = text(&o);
    for w in [
        "raft",
        "forget_vote",
        "stale_leader_read",
        "commit_previous_term",
        "no_log_check",
        "linearizability",
        "kv-append",
        "raft-partitions.ron",
    ] {
        assert!(t.contains(w), "list lacks {w}");
    }
}

#[test]
fn check_gives_the_verdict_as_the_exit_code() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if !data.is_dir() {
        eprintln!("SKIPPED: {} is absent", data.display());
        return;
    }
    let good = data.join("edn/good/cas-register-basic.edn");
    let bad = data.join("edn/bad/cas-register-stale-read.edn");
    let o = run(&["check", good.to_str().unwrap(), "--model", "cas-register"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&["check", bad.to_str().unwrap(), "--model", "cas-register"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("cannot be linearized"));
    let o = run(&[
        "check",
        data.join("porcupine/kv").to_str().unwrap(),
        "--model",
        "kv-append",
        "--tsv",
    ]);
    assert_eq!(o.status.code(), Some(1), "the folder holds bad histories");
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(
        t.lines().filter(|l| l.split('\t').count() == 4).count(),
        7,
        "{t}"
    );
    assert!(t.contains("c50-ok.txt\tlinearizable\t"));
    let d = tmp("check");
    let broken = d.join("broken.edn");
    std::fs::write(
        &broken,
        "[{:process 0, :type :invoke, :f :read, :value nil}\n {:process 0 :type}]",
    )
    .unwrap();
    let o = run(&["check", broken.to_str().unwrap(), "--model", "cas-register"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("broken.edn:2:2: a map needs an even number of forms"),
        "{}",
        text(&o)
    );
    let o = run(&["check", good.to_str().unwrap(), "--model", "nope"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn shrink_refuses_a_passing_run_and_shrinks_a_failing_one() {
    let o = run(&["shrink", "scenarios/raft-basic.ron", "--seed", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("passes every check"));
    let d = tmp("shrink");
    let out = d.join("small.ron");
    let o = run(&[
        "shrink",
        "scenarios/raft-bug-no_log_check.ron",
        "--seed",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&["run", out.to_str().unwrap(), "--seed", "0", "--no-report"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the shrunk scenario still fails: {}",
        text(&o)
    );
    assert!(d.join("small.report/report.html").is_file());
}

#[test]
fn a_sweep_writes_histograms_only_when_asked() {
    let d = tmp("hist");
    let o = run(&[
        "sweep",
        "scenarios/raft-basic.ron",
        "--seeds",
        "0..6",
        "--plots",
        d.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for f in ["events.svg", "sim-time.svg", "ops.svg"] {
        let t = std::fs::read_to_string(d.join(f)).unwrap();
        assert!(
            t.starts_with("<svg") && t.contains("(6 seeds)") && t.matches("<rect").count() == 30,
            "{f}"
        );
    }
}
