//! Paxos's stories: single-decree Paxos and Multi-Paxos pass every check under faults; each
//! known bug is caught at its pinned seed (the first failing one of `faultline sweep
//! --seeds 0..2000 --fail-fast`) and shrinks through the real binary; runs are deterministic.
//! (The full figures, 2,000 seeds per correct scenario, are in docs/tour.md.)

use std::path::Path;
use std::process::Command;

use faultline::protocols::{Verdict, run};
use faultline::scenario::load_str;

use super::scenario;

fn bin(args: &[&str]) -> (Option<i32>, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("the binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code(), text)
}

/// (scenario, seeds swept here, least operations a seed must complete)
const CORRECT: &[(&str, u64, usize)] = &[
    ("paxos-basic.ron", 200, 0),
    ("paxos-dueling-proposers.ron", 200, 0),
    ("multipaxos-basic.ron", 20, 200),
    ("multipaxos-partitions.ron", 30, 200),
    ("multipaxos-crash-restart.ron", 30, 200),
    ("multipaxos-leases.ron", 30, 200),
];

#[test]
fn correct_paxos_passes_every_check_under_faults() {
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    for &(name, n, min_ops) in CORRECT {
        let s = scenario(name);
        let seeds: Vec<u64> = (0..n).collect();
        for r in faultline::cmd::sweep::sweep(&s, &seeds, jobs, false, false) {
            assert!(
                r.verdict == Verdict::Pass,
                "{name} seed {}: {:?} failed; see faultline run scenarios/{name} --seed {}",
                r.seed,
                r.failed,
                r.seed
            );
            assert!(
                r.ops >= min_ops,
                "{name} seed {}: only {} operations",
                r.seed,
                r.ops
            );
        }
    }
}

#[test]
fn every_server_learns_and_dueling_proposers_need_several_ballots() {
    let o = run(&scenario("paxos-dueling-proposers.ron").to_run_spec(0, false));
    assert_eq!(o.verdict(), Verdict::Pass);
    let t = &o.tables[0];
    let ballots: u64 = t.rows.iter().map(|r| r[2].parse::<u64>().unwrap()).sum();
    assert!(ballots > 5, "five proposers at once should duel: {t:?}");
    // Every server ends in the "learned" role, all with one value.
    let learned: std::collections::BTreeSet<&str> = t.rows.iter().map(|r| r[5].as_str()).collect();
    assert_eq!(learned.len(), 1, "{t:?}");
    assert!(o.roles.iter().any(|r| r.role == "phase2"));
}

#[test]
fn multipaxos_changes_leaders_under_partitions_and_recovers_the_log() {
    let o = run(&scenario("multipaxos-partitions.ron").to_run_spec(1, false));
    assert_eq!(o.verdict(), Verdict::Pass);
    let leaders: std::collections::BTreeSet<u64> = o
        .roles
        .iter()
        .filter(|r| r.role == "leader")
        .map(|r| r.term)
        .collect();
    assert!(leaders.len() > 2, "{leaders:?}");
    // New leaders re-proposed what phase 1 reported.
    let leaders_table = o.tables.iter().find(|t| t.title == "Multi-Paxos leaders");
    let again: u64 = leaders_table
        .unwrap()
        .rows
        .iter()
        .map(|r| r[3].parse::<u64>().unwrap())
        .sum();
    assert!(again > 0);
}

/// (scenario, first failing seed in 0..2000, a check it fails)
const BUGS: &[(&str, u64, &str)] = &[
    ("paxos-bug-acceptor_forgets.ron", 0, "agreement"),
    ("paxos-bug-no_value_adoption.ron", 17, "agreement"),
    ("paxos-bug-half_quorum.ron", 13, "agreement"),
    ("multipaxos-bug-skip_phase1_recovery.ron", 0, "agreement"),
    ("multipaxos-bug-no_gap_fill.ron", 440, "liveness"),
    (
        "multipaxos-bug-lease_read_without_margin.ron",
        318,
        "linearizability",
    ),
    ("multipaxos-bug-acceptor_forgets.ron", 1, "agreement"),
];

#[test]
fn each_bug_is_caught_at_its_pinned_seed_and_not_before() {
    for &(name, seed, check) in BUGS {
        let s = scenario(name);
        for earlier in 0..seed.min(20) {
            assert_eq!(
                run(&s.to_run_spec(earlier, false)).verdict(),
                Verdict::Pass,
                "{name}: seed {earlier} fails before the pinned {seed}"
            );
        }
        let o = run(&s.to_run_spec(seed, false));
        let c = o.checks.iter().find(|c| c.name == check).expect("ran");
        assert_eq!(c.verdict, Verdict::Violation, "{name} seed {seed}: {c:?}");
    }
}

#[test]
fn the_correct_protocols_pass_the_bug_scenarios_seeds() {
    // The same scenarios without their bug pass at the seeds the bug fails: the bug, not
    // the faults, breaks them.
    for &(name, seed, _) in BUGS {
        let mut s = scenario(name);
        match &mut s.protocol {
            faultline::protocols::ProtocolSpec::Paxos(p) => p.bug = None,
            faultline::protocols::ProtocolSpec::MultiPaxos(p) => p.bug = None,
            _ => unreachable!(),
        }
        let o = run(&s.to_run_spec(seed, false));
        assert_eq!(
            o.verdict(),
            Verdict::Pass,
            "{name} seed {seed}: {:?}",
            o.checks
        );
    }
}

#[test]
fn a_bug_is_swept_run_and_shrunk_through_the_binary() {
    let name = "scenarios/paxos-bug-half_quorum.ron";
    let (code, t) = bin(&["sweep", name, "--seeds", "0..2000", "--fail-fast"]);
    assert_eq!(code, Some(1), "{t}");
    assert!(t.contains("seed     13 violation agreement"), "{t}");
    let dir = std::env::temp_dir().join(format!("faultline-paxos-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("half.ron");
    let (code, t) = bin(&[
        "shrink",
        name,
        "--seed",
        "13",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{t}");
    assert!(t.contains("faults                4 -> 1"), "{t}");
    let (code, t) = bin(&[
        "run",
        out.to_str().unwrap(),
        "--seed",
        "13",
        "--out",
        dir.join("report").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{t}");
    assert!(t.contains("VIOLATION agreement"), "{t}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_same_seed_gives_the_same_run() {
    for name in [
        "multipaxos-crash-restart.ron",
        "paxos-dueling-proposers.ron",
    ] {
        let s = scenario(name);
        let a = run(&s.to_run_spec(5, true));
        let b = run(&s.to_run_spec(5, false));
        assert_eq!(a.stats.trace_hash, b.stats.trace_hash, "{name}");
        assert_eq!(a.ops, b.ops);
        let c = run(&s.to_run_spec(6, false));
        assert_ne!(a.stats.trace_hash, c.stats.trace_hash, "{name}");
    }
}

/// The figure a Multi-Paxos run reports for reads answered under a lease, if leases are on.
fn lease_reads(o: &faultline::protocols::RunOutcome) -> Option<u64> {
    o.tables[0]
        .rows
        .iter()
        .find(|r| r[0] == "reads answered under a lease")
        .map(|r| r[1].parse().unwrap())
}

#[test]
fn with_leases_the_leader_reads_locally_and_a_new_leader_waits_for_the_grants() {
    let leases = run(&scenario("multipaxos-leases.ron").to_run_spec(7, false));
    assert_eq!(leases.verdict(), Verdict::Pass, "{:?}", leases.checks);
    let gets = leases.ops.iter().filter(|o| o.kind == "get").count() as u64;
    let local = lease_reads(&leases).expect("leases are on");
    assert!(local * 2 > gets, "{local} of {gets} gets answered locally");
    // Without leases every read goes through the log, and nothing is reported.
    let off = run(&scenario("multipaxos-partitions.ron").to_run_spec(7, false));
    assert_eq!(lease_reads(&off), None);
    // Seed 7 cuts the slow leader n1 off from the fast majority at 1.6 s: with the margin,
    // the new leader comes only after every grant ran out, and the old one stopped reading
    // before (the same seed without the margin reads stale values: the bug table above).
    let leaders: Vec<_> = leases
        .roles
        .iter()
        .filter(|r| r.role == "leader")
        .map(|r| (r.time, r.node))
        .collect();
    assert!(leaders.len() >= 2 && leaders[0].1 == 1, "{leaders:?}");
    // n1 is isolated at 1 s; the fast acceptors' grants (2 s on a clock 25% fast) last until
    // 2.6 s at least, and no one is elected before.
    let sec = faultline::sim::SECS;
    assert!(leaders[1].0 > 2 * sec + 6 * sec / 10, "{leaders:?}");
}

#[test]
fn bad_parameters_are_refused_with_the_field_named() {
    let base = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/paxos-basic.ron"),
    )
    .unwrap();
    let cases = [
        (
            "Paxos(proposers: 3)",
            "Paxos(proposers: 6)",
            "paxos.proposers",
        ),
        (
            "Paxos(proposers: 3)",
            "Paxos(proposers: 0)",
            "paxos.proposers",
        ),
        (
            "Paxos(proposers: 3)",
            "Paxos(backoff: (\"50ms\", \"10ms\"))",
            "paxos.backoff",
        ),
        (
            "Paxos(proposers: 3)",
            "MultiPaxos(heartbeat: \"1s\")",
            "multipaxos.heartbeat",
        ),
        (
            "Paxos(proposers: 3)",
            "MultiPaxos(lease: Some(duration: \"1s\", max_drift: \"1s\"))",
            "multipaxos.lease.max_drift",
        ),
        (
            "Paxos(proposers: 3)",
            "MultiPaxos(lease: Some(duration: \"100ms\", max_drift: \"60ms\"))",
            "multipaxos.lease",
        ),
        (
            "Paxos(proposers: 3)",
            "MultiPaxos(bug: Some(lease_read_without_margin))",
            "multipaxos.lease",
        ),
    ];
    for (from, to, field) in cases {
        let text = base.replace(from, to);
        let e = load_str(&text, "bad.ron").expect_err(to).to_string();
        assert!(e.contains(field), "{to}: {e}");
    }
}

#[test]
fn list_shows_both_protocols_their_variants_and_checks() {
    let (code, t) = bin(&["list"]);
    assert_eq!(code, Some(0));
    for word in [
        "paxos",
        "multipaxos",
        "acceptor_forgets",
        "no_value_adoption",
        "half_quorum",
        "skip_phase1_recovery",
        "no_gap_fill",
        "lease_read_without_margin",
        "stability",
        "paxos-dueling-proposers",
    ] {
        assert!(t.contains(word), "{word} missing from list:\n{t}");
    }
}
