//! Locks' stories: fenced and correctly configured locks stay safe under pauses, crashes and
//! drifting clocks; each classic mistake is caught by a sweep at a pinned first seed and
//! shrinks; the same scenario without the mistake passes; the lock histories the simulator
//! records are read by `faultline check --model mutex`. (The 2,000-seed figures come from
//! `faultline sweep`, see README.)

use std::path::{Path, PathBuf};
use std::process::Command;

use faultline::protocols::{ProtocolSpec, Verdict, lock, run};
use faultline::scenario::{Scenario, load_file};

fn path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

fn scenario(name: &str) -> Scenario {
    load_file(&path(name)).expect("bundled scenario loads")
}

fn bin(args: &[&str]) -> (Option<i32>, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs");
    let mut t = String::from_utf8_lossy(&o.stdout).to_string();
    t.push_str(&String::from_utf8_lossy(&o.stderr));
    (o.status.code(), t)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-locks-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sweep_passes(s: &Scenario, seeds: std::ops::Range<u64>, what: &str) {
    let seeds: Vec<u64> = seeds.collect();
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    for r in faultline::cmd::sweep::sweep(s, &seeds, jobs, false, false) {
        assert!(
            r.verdict == Verdict::Pass,
            "{what} seed {}: {:?} failed",
            r.seed,
            r.failed
        );
        assert!(
            r.ops > 50,
            "{what} seed {}: only {} operations",
            r.seed,
            r.ops
        );
    }
}

#[test]
fn correct_locks_are_safe_under_pauses_crashes_and_drift() {
    for name in [
        "lock-redis.ron",
        "redis-lock-gc-pause.ron",
        "lock-redlock.ron",
        "lock-optimistic.ron",
        "lock-coordinator.ron",
    ] {
        sweep_passes(&scenario(name), 0..60, name);
    }
}

/// (bug scenario, the check it fails, its first failing seed, shrunk operations at most)
const BUGS: &[(&str, &str, u64, usize)] = &[
    ("lock-bug-no_fencing.ron", "mutual-exclusion", 0, 20),
    (
        "lock-bug-release_without_owner_check.ron",
        "mutual-exclusion",
        0,
        60,
    ),
    (
        "lock-bug-client_clock_lease.ron",
        "mutual-exclusion",
        0,
        200,
    ),
    ("lock-bug-volatile_redis.ron", "lock-linearizability", 0, 60),
    ("lock-bug-no_drift_margin.ron", "mutual-exclusion", 23, 400),
    ("lock-bug-blind_write.ron", "lost-update", 0, 12),
    (
        "lock-bug-session_closed_after_acquire.ron",
        "mutual-exclusion",
        0,
        12,
    ),
    // Correct Redlock, but clocks that jump: Kleppmann's counterexample.
    ("redlock-clock-jump.ron", "mutual-exclusion", 0, 400),
];

#[test]
fn every_lock_mistake_is_caught_by_a_sweep_at_its_pinned_seed() {
    for (name, check, seed, _) in BUGS {
        let file = path(name);
        let (code, out) = bin(&[
            "sweep",
            file.to_str().unwrap(),
            "--seeds",
            &format!("0..{}", seed + 1),
        ]);
        assert_eq!(code, Some(1), "{name}: {out}");
        // The first seed that fails this check (earlier seeds may fail another one).
        let first = out
            .lines()
            .filter(|l| l.starts_with("seed"))
            .find(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                w.len() > 3 && w[3].split(',').any(|c| c == *check)
            })
            .unwrap_or_else(|| panic!("{name}: no seed fails {check} in {out}"));
        let words: Vec<&str> = first.split_whitespace().collect();
        assert_eq!(words[1], seed.to_string(), "{name}: {first}");
    }
}

#[test]
fn the_same_scenarios_without_the_mistake_pass() {
    for (name, _, _, _) in BUGS.iter().filter(|b| b.0.starts_with("lock-bug-")) {
        let mut s = scenario(name);
        match &mut s.protocol {
            ProtocolSpec::RedisLock(r) => r.bug = None,
            ProtocolSpec::Redlock(r) => r.bug = None,
            ProtocolSpec::OptimisticLock(r) => r.bug = None,
            ProtocolSpec::CoordinatorLock(r) => r.bug = None,
            p => panic!("{name}: unexpected protocol {p:?}"),
        }
        sweep_passes(&s, 0..30, &format!("{name} without its bug"));
    }
}

#[test]
fn lock_mistakes_shrink_through_the_binary() {
    for (name, check, seed, ops_max) in BUGS.iter().filter(|b| b.3 <= 60) {
        let out = tmp("shrink").join(format!("{seed}-{name}"));
        let (code, text) = bin(&[
            "shrink",
            path(name).to_str().unwrap(),
            "--seed",
            &seed.to_string(),
            "--check",
            check,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, Some(0), "{name}: {text}");
        assert!(
            text.contains(&format!("still fails `{check}`")),
            "{name}: {text}"
        );
        let ops: usize = text
            .lines()
            .find(|l| l.trim_start().starts_with("operations"))
            .and_then(|l| l.split("->").nth(1))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name}: no operations line in {text}"));
        assert!(
            ops <= *ops_max,
            "{name}: shrunk to {ops} operations\n{text}"
        );
        // The shrunk scenario reproduces on its own.
        let (code, text) = bin(&[
            "run",
            out.to_str().unwrap(),
            "--seed",
            &seed.to_string(),
            "--no-report",
        ]);
        assert_eq!(code, Some(1), "{name}: {text}");
    }
}

#[test]
fn recorded_lock_histories_are_read_by_check_model_mutex() {
    let d = tmp("mutex");
    // Correct, with server crashes: the service's history is a mutex history.
    let spec = scenario("lock-redis.ron").to_run_spec(1, false);
    let h = lock::history(&spec).expect("a Redis lock has a lock history");
    assert!(h.len() > 100, "{} operations", h.len());
    let good = d.join("lock-redis-1.json");
    std::fs::write(&good, lock::mutex_json(&h)).unwrap();
    let (code, text) = bin(&["check", good.to_str().unwrap(), "--model", "mutex"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("linearizable"), "{text}");
    // Redlock's history of beliefs, too.
    let spec = scenario("lock-redlock.ron").to_run_spec(0, false);
    let f = d.join("redlock-0.json");
    std::fs::write(&f, lock::mutex_json(&lock::history(&spec).unwrap())).unwrap();
    assert_eq!(
        bin(&["check", f.to_str().unwrap(), "--model", "mutex"]).0,
        Some(0)
    );
    // A server that forgets its lock on restart: the checker says not linearizable.
    let spec = scenario("lock-bug-volatile_redis.ron").to_run_spec(0, false);
    let bad = d.join("volatile-0.json");
    std::fs::write(&bad, lock::mutex_json(&lock::history(&spec).unwrap())).unwrap();
    let (code, text) = bin(&["check", bad.to_str().unwrap(), "--model", "mutex"]);
    assert_eq!(code, Some(1), "{text}");
}

#[test]
fn a_gc_pause_shows_in_roles_and_figures_and_fencing_rejects_the_stale_write() {
    let o = run(&scenario("redis-lock-gc-pause.ron").to_run_spec(0, false));
    assert_eq!(o.verdict(), Verdict::Pass);
    for role in ["holder", "waiting", "paused"] {
        assert!(o.roles.iter().any(|r| r.role == role), "no {role} role");
    }
    let svc = o.tables.iter().find(|t| t.title == "Lock service").unwrap();
    let figure = |name: &str| -> u64 {
        svc.rows
            .iter()
            .find(|r| r[0].starts_with(name))
            .and_then(|r| r[1].parse().ok())
            .unwrap()
    };
    // The lock alone failed (two clients believed at once); the storage held.
    assert!(figure("overlapping believed holds") > 0);
    assert!(figure("expiries while the holder") > 0);
    assert!(figure("stale writes rejected") > 0);
    let kinds: std::collections::BTreeSet<&str> = o.ops.iter().map(|r| &*r.kind).collect();
    assert_eq!(kinds, ["acquire", "release", "write"].into_iter().collect());
    // The same seed without fencing: the report names both holders and the stale write.
    let o = run(&scenario("lock-bug-no_fencing.ron").to_run_spec(0, false));
    let c = o
        .checks
        .iter()
        .find(|c| c.name == "mutual-exclusion")
        .unwrap();
    assert_eq!(c.verdict, Verdict::Violation);
    assert!(
        c.detail.contains("stale write accepted")
            && c.detail.contains("believed it held the lock from")
    );
    assert_eq!(c.ops.len(), 2);
    assert!(o.ops[c.ops[0]].kind == "write" && o.ops[c.ops[1]].kind == "write");
}

#[test]
fn lock_runs_are_deterministic() {
    for name in [
        "lock-redis.ron",
        "redlock-clock-jump.ron",
        "lock-optimistic.ron",
        "lock-coordinator.ron",
    ] {
        let s = scenario(name);
        let a = run(&s.to_run_spec(5, true));
        let b = run(&s.to_run_spec(5, true));
        assert_eq!(a.stats.trace_hash, b.stats.trace_hash, "{name}");
        assert_eq!(a.ops, b.ops, "{name}");
    }
}

/// Mutual exclusion is judged at the storage: a run whose writes never reach it (every link to
/// it loses everything) gives that check nothing to judge, and it says so. It said PASS ("0
/// accepted writes") even for the variant whose storage does not fence.
#[test]
fn mutual_exclusion_is_not_judged_when_no_write_reaches_the_storage() {
    let link = r#"(latency: Uniform(min: "1ms", max: "10ms"), drop: 0.0)"#;
    let links: Vec<String> = (1..=3)
        .flat_map(|c| [format!("(0, {c}, {link})"), format!("({c}, 0, {link})")])
        .collect();
    let net = format!(
        r#"network: (default: (latency: Uniform(min: "1ms", max: "10ms"), drop: 1.0), links: [{}]),"#,
        links.join(", ")
    );
    let text = std::fs::read_to_string(path("lock-bug-no_fencing.ron"))
        .unwrap()
        .replace(
            r#"network: (default: (latency: Uniform(min: "1ms", max: "10ms"))),"#,
            &net,
        );
    assert!(text.contains("drop: 1.0"), "the scenario's network changed");
    let s = faultline::scenario::load_str(&text, "storage-cut-off.ron").unwrap();
    let o = run(&s.to_run_spec(0, false));
    let c = o
        .checks
        .iter()
        .find(|c| c.name == "mutual-exclusion")
        .unwrap();
    assert_eq!(c.verdict, Verdict::Skipped, "{}", c.detail);
    assert!(c.detail.starts_with("not judged"), "{}", c.detail);
    // The clients did hold the lock: only the storage saw nothing.
    assert!(
        o.ops
            .iter()
            .any(|r| r.kind == "acquire" && r.status == faultline::workload::OpStatus::Ok)
    );
}
