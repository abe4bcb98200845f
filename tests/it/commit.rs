//! Atomic commit's stories: correct 2PC and 3PC pass every check under the faults they are
//! built for; on one coordinator-crash schedule 2PC blocks for the whole outage and 3PC does
//! not; 3PC splits under partitions; each 2PC bug is caught at its pinned first failing seed
//! and shrinks. (The full figures, 2,000 seeds per scenario, come from `faultline sweep`; see
//! README.)

use std::process::Command;

use faultline::protocols::{RunOutcome, Table, Verdict, run};
use faultline::scenario::{load_str, ron_options};
use faultline::shrink::{Options, shrink};
use faultline::sim::{MILLIS, SECS, Time};

use super::scenario;

fn verdict(o: &RunOutcome, check: &str) -> Verdict {
    o.checks
        .iter()
        .find(|c| c.name == check)
        .unwrap_or_else(|| panic!("check {check} ran"))
        .verdict
}

/// A cell of a run's table, by table title prefix, row name and column name.
fn cell<'a>(o: &'a RunOutcome, table: &str, row: &str, column: &str) -> &'a str {
    let t: &Table = o
        .tables
        .iter()
        .find(|t| t.title.starts_with(table))
        .expect("table present");
    let c = t.columns.iter().position(|c| c == column).expect("column");
    let r = t
        .rows
        .iter()
        .find(|r| r[0] == row || t.rows.len() == 1)
        .expect("row");
    &r[c]
}

/// `2.345s` / `12.3ms` / `0s` back to nanoseconds.
fn duration(s: &str) -> Time {
    if let Some(ms) = s.strip_suffix("ms") {
        (ms.parse::<f64>().unwrap() * MILLIS as f64) as Time
    } else {
        (s.strip_suffix('s').unwrap().parse::<f64>().unwrap() * SECS as f64) as Time
    }
}

#[test]
fn correct_commit_protocols_pass_every_check_under_their_faults() {
    for name in [
        "2pc-basic.ron",
        "2pc-faults.ron",
        "2pc-coordinator-crash.ron",
        "2pc-cooperative-termination.ron",
        "3pc-coordinator-crash.ron",
        "3pc-crashes.ron",
    ] {
        let s = scenario(name);
        let seeds: Vec<u64> = (0..20).collect();
        let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
        for r in faultline::cmd::sweep::sweep(&s, &seeds, jobs, false, false) {
            assert!(
                r.verdict == Verdict::Pass,
                "{name} seed {}: {:?} failed; see faultline run scenarios/{name} --seed {}",
                r.seed,
                r.failed,
                r.seed
            );
            assert!(r.ops > 200, "{name} seed {}: only {} txns", r.seed, r.ops);
        }
    }
}

#[test]
fn twopc_blocks_for_the_whole_outage_and_threepc_does_not() {
    // Both scenarios crash the coordinator from 3 s to 7 s; seed 1 catches a transaction
    // between the votes and the decision.
    let two = run(&scenario("2pc-coordinator-crash.ron").to_run_spec(1, false));
    let three = run(&scenario("3pc-coordinator-crash.ron").to_run_spec(1, false));
    assert_eq!(two.stats.counters.crashes, 1);
    assert_eq!(three.stats.counters.crashes, 1);
    for o in [&two, &three] {
        assert_eq!(o.verdict(), Verdict::Pass, "{:?}", o.checks);
    }
    let outage = 4 * SECS;
    let blocked = |o: &RunOutcome| duration(cell(o, "blocking", "all", "blocked longest"));
    let uncertain = |o: &RunOutcome| duration(cell(o, "blocking", "all", "uncertain longest"));
    assert!(
        blocked(&two) > outage - 300 * MILLIS && uncertain(&two) > outage,
        "2PC's participants wait for the coordinator: {:?}",
        two.tables
    );
    assert!(
        blocked(&three) < 200 * MILLIS && uncertain(&three) < 500 * MILLIS,
        "3PC's participants terminate without it: {:?}",
        three.tables
    );
    // The role timeline shows the blocked participants through the outage.
    assert!(
        two.roles
            .iter()
            .any(|r| r.role == "blocked" && r.time < 4 * SECS && r.node != 0)
    );
    assert!(two.roles.iter().any(|r| r.role == "down" && r.node == 0));
    // Nothing is left undecided once the coordinator is back.
    for o in [&two, &three] {
        assert_eq!(cell(o, "transactions", "", "undecided at end"), "0");
    }
}

#[test]
fn cooperative_termination_unblocks_some_participants() {
    // Same schedule and seed as 2pc-coordinator-crash: a participant that had not voted
    // when the coordinator crashed aborts when its peer asks, and the peer is released.
    let alone = run(&scenario("2pc-coordinator-crash.ron").to_run_spec(1, false));
    let coop = run(&scenario("2pc-cooperative-termination.ron").to_run_spec(1, false));
    let total = |o: &RunOutcome| duration(cell(o, "blocking", "all", "blocked total"));
    assert!(
        total(&coop) < total(&alone),
        "{:?} vs {:?}",
        coop.tables,
        alone.tables
    );
    assert_eq!(coop.verdict(), Verdict::Pass);
}

/// (scenario, first failing seed found by `faultline sweep --seeds 0..2000`, check)
const CAUGHT: &[(&str, u64, &str)] = &[
    ("3pc-partition.ron", FIRST_SPLIT, "atomicity"),
    ("2pc-bug-unilateral_abort.ron", 1, "atomicity"),
    ("2pc-bug-decide_before_log.ron", 2, "atomicity"),
    ("2pc-bug-vote_before_log.ron", 0, "atomicity"),
    ("2pc-bug-commit_without_all_votes.ron", 0, "validity"),
];
const FIRST_SPLIT: u64 = 0;

#[test]
fn split_brain_and_each_bug_are_caught_at_their_first_failing_seed() {
    for (name, first, check) in CAUGHT {
        let s = scenario(name);
        for seed in 0..=*first {
            let o = run(&s.to_run_spec(seed, false));
            let v = verdict(&o, check);
            if seed < *first {
                assert_eq!(v, Verdict::Pass, "{name} seed {seed} is not the first");
            } else {
                assert_eq!(v, Verdict::Violation, "{name} seed {seed}: {check}");
            }
        }
    }
}

#[test]
fn threepc_split_brain_commits_on_one_side_and_aborts_on_the_other() {
    let o = run(&scenario("3pc-partition.ron").to_run_spec(FIRST_SPLIT, false));
    let c = o.checks.iter().find(|c| c.name == "atomicity").unwrap();
    assert!(
        c.detail.contains("committed by") && c.detail.contains("aborted by"),
        "{}",
        c.detail
    );
    assert!(
        !c.ops.is_empty(),
        "the transaction's client operation is named"
    );
    assert!(o.stats.counters.partitions > 0 && o.stats.counters.crashes == 0);
    assert_eq!(verdict(&o, "validity"), Verdict::Pass, "everyone voted yes");
}

#[test]
fn failing_seeds_shrink_and_still_fail() {
    for (name, seed, check) in CAUGHT {
        let s = scenario(name);
        // A small budget keeps the test short (the faults go first); `faultline shrink`
        // converges in 58-473 runs to 0-2 faults and 3-120 operations (README).
        let opts = Options {
            budget: 150,
            check: Some(check.to_string()),
        };
        let r = shrink(&s, *seed, &opts).expect("a failing seed shrinks");
        assert!(
            r.after.faults * 4 <= r.before.faults.max(1) && r.after.ops < r.before.ops,
            "{name}: faults {} -> {}, ops {} -> {}",
            r.before.faults,
            r.after.faults,
            r.before.ops,
            r.after.ops
        );
        let text = ron_options()
            .to_string_pretty(&r.scenario, Default::default())
            .unwrap();
        let back = load_str(&text, "shrunk.ron").expect("the shrunk scenario is valid");
        assert_eq!(
            verdict(&run(&back.to_run_spec(*seed, false)), check),
            Verdict::Violation
        );
    }
}

#[test]
fn odd_shapes_run_safely_under_every_fault() {
    // What a shrinker or a user may ask for: one participant, one account (a transfer to
    // itself), more participants than accounts, one client. Correct protocols stay safe
    // (3PC only without partitions) and nothing panics.
    let shapes: &[(u32, u32, u32)] = &[(2, 1, 1), (2, 3, 2), (3, 1, 2), (5, 2, 3), (6, 9, 2)];
    for proto in ["TwoPhaseCommit(cooperative: true)", "ThreePhaseCommit()"] {
        let partition = u32::from(proto.starts_with("Two"));
        for (servers, keys, clients) in shapes {
            let text = format!(
                r#"Scenario(name: "shape", protocol: {proto}, cluster: (servers: {servers}),
                   network: (default: (latency: Uniform(min: "1ms", max: "10ms"), drop: {drop})),
                   workload: (clients: {clients}, keys: {keys}, stop: "6s"),
                   faults: (nemesis: Some(start: "500ms", stop: "4s", partition: {partition}, crash: 2, pause: {partition},
                            gap: ("100ms", "400ms"), duration: ("50ms", "800ms"))),
                   limits: (time: "8s"))"#,
                drop = 0.02 * partition as f64
            );
            let s = load_str(&text, "shape.ron").unwrap();
            for seed in 0..3 {
                let o = run(&s.to_run_spec(seed, false));
                for c in ["atomicity", "validity", "conservation"] {
                    assert_eq!(
                        verdict(&o, c),
                        Verdict::Pass,
                        "{proto} {servers} servers {keys} keys seed {seed}: {:?}",
                        o.checks
                    );
                }
                assert!(
                    o.ops.len() > 10,
                    "{proto} {servers}/{keys}: {}",
                    o.ops.len()
                );
            }
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_run() {
    for name in ["2pc-faults.ron", "3pc-crashes.ron"] {
        let s = scenario(name);
        let a = run(&s.to_run_spec(5, true));
        let b = run(&s.to_run_spec(5, false));
        assert_eq!(a.stats.trace_hash, b.stats.trace_hash);
        assert_eq!(a.ops, b.ops);
        assert_eq!(a.tables, b.tables);
    }
}

#[test]
fn the_cli_runs_lists_and_rejects_commit_scenarios() {
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["run", "scenarios/2pc-coordinator-crash.ron", "--seed", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("blocking: participants uncertain"), "{text}");
    assert!(text.contains("(2pc / correct)"), "{text}");

    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .arg("list")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for want in ["2pc", "3pc", "unilateral_abort", "decide_before_log"] {
        assert!(text.contains(want), "list shows {want}");
    }

    // One server cannot run atomic commit: a located error, exit 2.
    let bad =
        r#"Scenario(name: "x", protocol: TwoPhaseCommit(vote_no: 2.0), cluster: (servers: 3))"#;
    let e = load_str(bad, "bad.ron").unwrap_err();
    assert!(e.to_string().contains("vote_no"), "{e}");
    let bad = r#"Scenario(name: "x", protocol: ThreePhaseCommit(), cluster: (servers: 1))"#;
    let e = load_str(bad, "bad.ron").unwrap_err();
    assert!(e.to_string().contains("at least 2 servers"), "{e}");
}
