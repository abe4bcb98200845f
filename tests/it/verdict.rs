//! A verdict must be earned (issue 13): a run that proved nothing is INCONCLUSIVE (exit 4),
//! never PASS; livelocks advance simulated time and stay bounded; liveness blames neither
//! faults that never heal nor clients that finished their work; every fault says what it did.
//! Each case drives the real binary on a scenario written inline.

use std::path::PathBuf;
use std::process::{Command, Output};

use faultline::protocols::{RUN_CHECK, Verdict, run};
use faultline::scenario::load_str;
use proptest::prelude::*;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-verdict-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes `ron` to a temporary file, runs it with `seed`, returns the output and summary.json.
fn run_ron(name: &str, ron: &str, seed: u64) -> (Output, serde_json::Value) {
    let dir = tmp(name);
    let file = dir.join(format!("{name}.ron"));
    std::fs::write(&file, ron).unwrap();
    let out = dir.join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["run", file.to_str().unwrap(), "--seed", &seed.to_string()])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .expect("the binary runs");
    let json = std::fs::read_to_string(out.join("summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    (o, json)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A Raft scenario: `extra` adds or overrides fields (later fields win is not RON: callers
/// pass whole fields that the template leaves out).
fn raft(
    name: &str,
    servers: u32,
    network: &str,
    workload: &str,
    faults: &str,
    time: &str,
) -> String {
    format!(
        r#"Scenario(
    name: "{name}",
    protocol: Raft(election_timeout: ("150ms", "300ms"), heartbeat: "50ms"),
    cluster: (servers: {servers}),
    network: {network},
    workload: {workload},
    faults: {faults},
    limits: (time: "{time}", events: 2000000),
)"#
    )
}

fn check<'a>(j: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    j["checks"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or(&serde_json::Value::Null)
}

/// Livelocks: zero-latency links and duplicated redirects. Each run must advance simulated
/// time to its time limit (not stop at the event limit), and a run whose clients completed
/// nothing is INCONCLUSIVE (exit 4), never PASS.
#[test]
fn leaderless_runs_on_zero_latency_links_advance_time_and_are_inconclusive() {
    // (case, latency, duplicate): every server cut off from every other from the start, so no
    // leader is ever elected and every request is answered "not the leader" with no hint.
    let cases = [
        ("constant-0", r#"Constant("0ms")"#, 0.0),
        ("uniform-0", r#"Uniform(min: "0ms", max: "0ms")"#, 0.0),
        (
            "pareto-0",
            r#"Pareto(min: "0ms", alpha: 2.0, max: "1ms")"#,
            0.0,
        ),
        ("dup-1", r#"Uniform(min: "1ms", max: "5ms")"#, 1.0),
        ("dup-0-zero-latency", r#"Constant("0ms")"#, 1.0),
    ];
    for (case, latency, dup) in cases {
        let ron = raft(
            case,
            3,
            &format!("(default: (latency: {latency}, duplicate: {dup}))"),
            r#"(clients: 3, stop: "4s")"#,
            r#"(schedule: [(at: "0s", fault: Partition(Split([[0], [1], [2]])))])"#,
            "5s",
        );
        let (o, j) = run_ron(case, &ron, 1);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(4), "{case}: {t}");
        assert!(
            t.contains("INCONCLUSIVE") && t.contains("completed no operation"),
            "{case}: {t}"
        );
        assert_eq!(j["stop"], "time limit reached", "{case}: {t}");
        assert_eq!(j["verdict"], "inconclusive", "{case}");
        assert_eq!(check(&j, RUN_CHECK)["verdict"], "inconclusive", "{case}");
        // Backed-off clients: a few hundred requests per client and second, not millions.
        assert!(
            j["events"].as_u64().unwrap() < 100_000,
            "{case}: {}",
            j["events"]
        );
    }
}

/// With a leader, zero latency and full duplication still make a run that completes its
/// operations and passes.
#[test]
fn zero_latency_and_full_duplication_with_a_leader_pass() {
    for (case, network) in [
        ("zero", r#"(default: (latency: Constant("0ms")))"#),
        (
            "dup",
            r#"(default: (latency: Uniform(min: "1ms", max: "3ms"), duplicate: 1.0))"#,
        ),
    ] {
        let ron = raft(case, 3, network, r#"(clients: 3, stop: "3s")"#, "()", "4s");
        let (o, j) = run_ron(case, &ron, 2);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(0), "{case}: {t}");
        assert_eq!(j["stop"], "time limit reached", "{case}: {t}");
        assert!(j["ops"]["ok"].as_u64().unwrap() > 10, "{case}: {t}");
    }
}

/// Two servers, 5 % duplication, a one-way cut so that no leader is ever elected: redirect
/// chains must not multiply per hop (on main: 2 M events in about 1 s simulated, then PASS).
#[test]
fn duplicated_redirects_do_not_multiply() {
    let ron = raft(
        "dup-chain",
        2,
        r#"(default: (latency: Uniform(min: "1ms", max: "3ms"), duplicate: 0.05))"#,
        r#"(clients: 3, stop: "8s")"#,
        r#"(schedule: [(at: "0s", fault: Partition(OneWay(from: [0], to: [1])))])"#,
        "10s",
    );
    let (o, j) = run_ron("dup-chain", &ron, 0);
    let t = text(&o);
    assert_eq!(j["stop"], "time limit reached", "{t}");
    assert!(j["events"].as_u64().unwrap() < 100_000, "{t}");
    assert_eq!(o.status.code(), Some(4), "{t}");
}

/// A limit stops a run before its time limit: INCONCLUSIVE whatever the checks say, the `run`
/// check naming the limit. The event limit; and the pending-event limit, which a flood of
/// messages reaches (a leader heartbeating every microsecond to peers a few milliseconds
/// away fills the queue faster than the network empties it) long before the event limit:
/// before it existed, a heartbeat of one nanosecond on 255 servers took memory until the
/// allocator failed.
#[test]
fn a_run_cut_short_by_a_limit_is_inconclusive() {
    // (name, servers, edits to the scenario, its `stop`, what the `run` check says)
    type Edits = &'static [(&'static str, &'static str)];
    let cases: [(&str, u32, Edits, &str, &str); 2] = [
        (
            "short",
            3,
            &[("events: 2000000", "events: 1500")],
            "event limit reached",
            "the event limit (",
        ),
        (
            "flood",
            5,
            &[
                (r#"heartbeat: "50ms""#, "heartbeat: 1000"),
                ("events: 2000000", "events: 2000000, pending: 5000"),
            ],
            "pending-event limit reached",
            "the pending-event limit (5000 events waiting at once)",
        ),
    ];
    for (name, servers, edits, stop, says) in cases {
        let mut ron = raft(
            name,
            servers,
            r#"(default: (latency: Uniform(min: "1ms", max: "5ms")))"#,
            r#"(clients: 3, stop: "8s")"#,
            "()",
            "10s",
        );
        for (from, to) in edits {
            ron = ron.replace(from, to);
        }
        let (o, j) = run_ron(name, &ron, 0);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(4), "{name}: {t}");
        assert_eq!(j["stop"], stop, "{name}: {t}");
        let detail = check(&j, RUN_CHECK)["detail"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(detail.contains(says), "{name}: {detail}");
        // Liveness names the real reason it could not judge (on main: "the workload stops
        // less than 5s later").
        let live = check(&j, "liveness")["detail"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(
            live.starts_with("not judged: the run ended at"),
            "{name}: {live}"
        );
    }
}

/// A cluster that never elects a leader (election timeouts longer than the run) completes
/// nothing: INCONCLUSIVE, and liveness does not pretend the workload was too short.
#[test]
fn a_cluster_that_never_elects_a_leader_is_inconclusive() {
    let ron = raft(
        "no-leader",
        5,
        r#"(default: (latency: Uniform(min: "1ms", max: "5ms")))"#,
        r#"(clients: 2, stop: "3s")"#,
        "()",
        "4s",
    )
    .replace(r#"("150ms", "300ms")"#, r#"("30s", "40s")"#)
    .replace(r#""50ms""#, r#""1s""#);
    let (o, j) = run_ron("no-leader", &ron, 0);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert_eq!(j["ops"]["ok"], 0);
}

/// Faults that never heal: liveness is SKIPPED ("not judged: faults never healed"), never a
/// violation and never a pass, and the run passes on the checks that judged it.
#[test]
fn faults_that_never_heal_are_not_blamed_on_the_protocol() {
    let cases = [
        (
            "all-crash",
            r#"(schedule: [(at: "1s", fault: Crash(0)), (at: "1s", fault: Crash(1)), (at: "1s", fault: Crash(2))])"#,
            "n0 crashes and is never restarted",
        ),
        (
            "no-majority",
            r#"(schedule: [(at: "1s", fault: Partition(Split([[0], [1], [2]])))])"#,
            "a partition from 1.000000000s is never healed",
        ),
        (
            "skew-kept",
            r#"(schedule: [(at: "1s", fault: ClockSkew(node: 1, offset: "0ms", drift_ppm: 200000))])"#,
            "n1's clock is never set back",
        ),
    ];
    for (case, faults, why) in cases {
        let ron = raft(
            case,
            3,
            r#"(default: (latency: Uniform(min: "1ms", max: "5ms")))"#,
            r#"(clients: 2, stop: "9s")"#,
            faults,
            "10s",
        );
        let (o, j) = run_ron(case, &ron, 0);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(0), "{case}: {t}");
        let live = check(&j, "liveness");
        assert_eq!(live["verdict"], "skipped", "{case}: {t}");
        assert!(
            t.contains("SKIPPED   liveness") && t.contains("(liveness skipped: not judged)"),
            "{case}: {t}"
        );
        let d = live["detail"].as_str().unwrap_or("");
        assert!(
            d.contains("not judged: faults never healed") && d.contains(why),
            "{case}: {d}"
        );
    }
}

/// A run whose checks were all skipped proved nothing: INCONCLUSIVE (exit 4), neither PASS
/// nor a violation, for Raft's shared liveness check and single-decree Paxos's checks.
#[test]
fn a_run_no_check_could_judge_is_inconclusive() {
    let crash = r#"(schedule: [(at: "1s", fault: Crash(0))])"#;
    let raft_only_liveness = raft(
        "only-liveness",
        3,
        r#"(default: (latency: Uniform(min: "1ms", max: "5ms")))"#,
        r#"(clients: 2, stop: "9s")"#,
        crash,
        "10s",
    )
    .replace("limits:", r#"checks: ["liveness"], limits:"#);
    let paxos_only_liveness = format!(
        r#"Scenario(name: "paxos-only-liveness", protocol: Paxos(), cluster: (servers: 3),
    faults: {crash}, checks: ["liveness"], limits: (time: "5s"))"#
    );
    // A network that loses everything: no value can be learned, which is the network's
    // doing, not a liveness violation, and agreement on nothing proves nothing.
    let paxos_all_lost = r#"Scenario(name: "paxos-all-lost", protocol: Paxos(), cluster: (servers: 3),
    network: (default: (drop: 1.0)), faults: (schedule: [(at: "1s", fault: Partition(Split([[0], [1, 2]]))), (at: "2s", fault: Heal)]),
    limits: (time: "20s"))"#
        .to_string();
    for (case, ron) in [
        ("raft-only-liveness", raft_only_liveness),
        ("paxos-only-liveness", paxos_only_liveness),
        ("paxos-all-lost", paxos_all_lost),
    ] {
        let (o, j) = run_ron(case, &ron, 0);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(4), "{case}: {t}");
        assert_eq!(check(&j, "liveness")["verdict"], "skipped", "{case}: {t}");
        let run = check(&j, "run");
        assert_eq!(run["verdict"], "inconclusive", "{case}: {t}");
        let d = run["detail"].as_str().unwrap_or("");
        assert!(
            d.contains("no check could judge the run (") && d.contains("liveness skipped)"),
            "{case}: {d}"
        );
    }
}

/// The heal time is when the last fault is over, from what the faults do: a crash healed by
/// its restart, a pause by its end — not the time of the last action.
#[test]
fn heal_time_follows_the_faults_meaning() {
    use faultline::sim::{Fault, ScheduledFault, heal_time};
    let f = |at: u64, fault: Fault| ScheduledFault { at, fault };
    let pause = Fault::Pause {
        node: 0,
        duration: 5_000,
    };
    assert_eq!(heal_time(&[]), Some(0));
    assert_eq!(heal_time(&[f(10, pause.clone())]), Some(5_010));
    assert_eq!(
        heal_time(&[f(10, Fault::Crash(1)), f(20, Fault::Restart(1))]),
        Some(20)
    );
    assert_eq!(heal_time(&[f(10, Fault::Crash(1))]), None);
    // Restarting one of two crashed nodes heals nothing.
    let two = [
        f(1, Fault::Crash(1)),
        f(2, Fault::Crash(2)),
        f(3, Fault::Restart(1)),
    ];
    assert_eq!(heal_time(&two), None);
    // A pause that outlasts the last action.
    assert_eq!(
        heal_time(&[f(1, pause), f(2, Fault::Crash(1)), f(3, Fault::Restart(1))]),
        Some(5_001)
    );
}

/// Bounded clients: a client that stops because it reached `ops_per_client` is not stuck
/// (on main every seed of such a scenario failed liveness).
#[test]
fn clients_that_finished_their_operations_are_not_stuck() {
    for (case, ops) in [("ops-1", 1), ("ops-5", 5), ("ops-40", 40)] {
        let ron = raft(
            case,
            3,
            r#"(default: (latency: Uniform(min: "1ms", max: "5ms")))"#,
            &format!(r#"(clients: 4, stop: "14s", ops_per_client: {ops})"#),
            r#"(schedule: [(at: "500ms", fault: Crash(0)), (at: "1s", fault: Restart(0))])"#,
            "15s",
        );
        for seed in 0..3 {
            let (o, j) = run_ron(case, &ron, seed);
            let t = text(&o);
            assert_eq!(o.status.code(), Some(0), "{case} seed {seed}: {t}");
            assert_eq!(j["ops"]["invoked"], 4 * ops, "{case}");
        }
    }
}

/// The liveness bound follows from the network: with 25 % loss on client links it is far
/// longer than on a clean network (on main a fixed 5 s, so correct Raft "failed" liveness
/// on a few percent of seeds), and a scenario can set its own.
#[test]
fn the_liveness_bound_follows_the_network_and_can_be_set() {
    let bound = |network: &str, workload: &str| {
        let ron = raft("b", 3, network, workload, "()", "20s");
        let s = load_str(&ron, "b.ron").unwrap();
        faultline::protocols::common::liveness_bound(&s.to_run_spec(0, false))
    };
    let clean = bound(
        r#"(default: (latency: Uniform(min: "1ms", max: "5ms")))"#,
        "()",
    );
    let lossy = bound(
        r#"(links: [(3, 0, (latency: Uniform(min: "1ms", max: "5ms"), drop: 0.25))])"#,
        "()",
    );
    assert!(
        lossy > 3 * clean && lossy > 10 * faultline::sim::SECS,
        "{clean} {lossy}"
    );
    let set = bound("()", r#"(liveness_bound: Some("7s"))"#);
    assert_eq!(set, 7 * faultline::sim::SECS);
}

/// Every fault says what it did, and a fault that did nothing says so: a clock offset on Raft
/// (which never reads its clock: its timers are durations) has no effect; a drift stretches
/// timers.
#[test]
fn each_fault_reports_its_effect_and_idle_faults_are_flagged() {
    let ron = raft(
        "effects",
        3,
        r#"(default: (latency: Uniform(min: "1ms", max: "5ms")))"#,
        r#"(clients: 2, stop: "5s")"#,
        r#"(schedule: [
            (at: "1s", fault: ClockSkew(node: 1, offset: "300ms", drift_ppm: 0)),
            (at: "2s", fault: ClockSkew(node: 1, offset: "0ms", drift_ppm: 0)),
            (at: "2s", fault: ClockSkew(node: 2, offset: "0ms", drift_ppm: 300000)),
            (at: "3s", fault: ClockSkew(node: 2, offset: "0ms", drift_ppm: 0)),
            (at: "3s", fault: Crash(0)),
            (at: "3500ms", fault: Pause(node: 0, duration: "100ms")),
            (at: "4s", fault: Restart(0)),
            (at: "4100ms", fault: Heal),
        ])"#,
        "6s",
    );
    let (o, j) = run_ron("effects", &ron, 0);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    let fx = j["fault_effects"]
        .as_array()
        .expect("fault_effects in summary.json");
    assert_eq!(fx.len(), 8);
    let idle: Vec<bool> = fx.iter().map(|f| f["no_effect"] == true).collect();
    // offset only: nothing read the clock; its reset then changed the clock back; a drift
    // stretched timers; a pause of a node that is down and a heal of nothing did nothing.
    assert_eq!(
        idle,
        [true, false, false, false, false, true, false, true],
        "{t}"
    );
    assert!(fx[2]["counts"]["timers_stretched"].as_u64().unwrap() > 0);
    assert!(
        fx[4]["counts"]["messages_lost"].as_u64().unwrap() > 0,
        "{t}"
    );
    assert!(t.contains("NO EFFECT: nothing read the clock"), "{t}");
    assert!(t.contains("3 had NO EFFECT"), "{t}");
    let html = std::fs::read_to_string(tmp_report("effects")).unwrap();
    assert!(
        html.contains("<h2>Faults</h2>") && html.contains("NO EFFECT: nothing read the clock"),
        "report.html lists the effects"
    );
}

/// The report.html that `run_ron(name, ..)` wrote.
fn tmp_report(name: &str) -> PathBuf {
    std::env::temp_dir()
        .join(format!("faultline-verdict-{}-{name}", std::process::id()))
        .join("report")
        .join("report.html")
}

/// `suite` counts an INCONCLUSIVE seed as a failed expectation, and `sweep` counts it apart.
#[test]
fn suite_fails_and_sweep_counts_inconclusive_seeds() {
    let dir = tmp("suite");
    let ron = raft(
        "suite-inconclusive",
        3,
        r#"(default: (latency: Constant("0ms")))"#,
        r#"(clients: 2, stop: "2s")"#,
        r#"(schedule: [(at: "0s", fault: Partition(Split([[0], [1], [2]])))])"#,
        "3s",
    )
    .replace("limits:", "expect: Pass(seeds: (0, 2)),\n    limits:");
    let file = dir.join("s.ron");
    std::fs::write(&file, &ron).unwrap();
    let bin = || Command::new(env!("CARGO_BIN_EXE_faultline"));
    let o = bin()
        .args(["suite", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("inconclusive"), "{}", text(&o));
    let o = bin()
        .args(["sweep", file.to_str().unwrap(), "--seeds", "0..3"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(text(&o).contains("3 inconclusive"), "{}", text(&o));
}

fn arb_latency() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..3).prop_map(|ms| format!(r#"Constant("{ms}ms")"#)),
        (0u64..3, 0u64..5)
            .prop_map(|(a, b)| format!(r#"Uniform(min: "{a}ms", max: "{}ms")"#, a + b)),
        (0u64..2).prop_map(|a| format!(r#"Pareto(min: "{a}ms", alpha: 1.5, max: "20ms")"#)),
    ]
}

fn arb_fault() -> impl Strategy<Value = String> {
    let node = 0u32..4; // 4 may name a server that does not exist: an input error
    prop_oneof![
        node.clone().prop_map(|n| format!("Crash({n})")),
        node.clone().prop_map(|n| format!("Restart({n})")),
        Just("Heal".to_string()),
        node.clone()
            .prop_map(|n| format!("Partition(Isolate({n}))")),
        Just("Partition(Split([[0], [1], [2]]))".to_string()),
        (node.clone(), 0u64..2000)
            .prop_map(|(n, d)| format!(r#"Pause(node: {n}, duration: "{d}ms")"#)),
        (node, -500i64..500).prop_map(|(n, o)| format!(
            r#"ClockSkew(node: {n}, offset: "{o}ms", drift_ppm: {})"#,
            o * 100
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Scenario mutations: a run is refused as bad input, or it ends with a verdict, and a
    /// run whose workload completed no operation is never PASS.
    #[test]
    fn no_run_that_completed_nothing_passes(
        servers in 1u32..4,
        clients in 1u32..4,
        latency in arb_latency(),
        drop in prop_oneof![Just(0.0), Just(0.3), Just(1.0)],
        dup in prop_oneof![Just(0.0), Just(0.5), Just(1.0)],
        faults in proptest::collection::vec((0u64..1500, arb_fault()), 0..5),
        ops in 0u32..4,
        seed in 0u64..1000,
    ) {
        let schedule: Vec<String> = faults
            .iter()
            .map(|(at, f)| format!(r#"(at: "{at}ms", fault: {f})"#))
            .collect();
        let ron = raft(
            "prop",
            servers,
            &format!("(default: (latency: {latency}, drop: {drop}, duplicate: {dup}))"),
            &format!(r#"(clients: {clients}, stop: "1500ms", ops_per_client: {ops})"#),
            &format!("(schedule: [{}])", schedule.join(", ")),
            "2s",
        )
        .replace("events: 2000000", "events: 300000");
        // Validation is the exit-2 path of every command.
        let Ok(s) = load_str(&ron, "prop.ron") else { return Ok(()) };
        let o = run(&s.to_run_spec(seed, false));
        let ok = o.ops.iter().filter(|x| x.status == faultline::workload::OpStatus::Ok).count();
        if ok == 0 {
            prop_assert_ne!(o.verdict(), Verdict::Pass, "{}", ron);
        }
        if o.verdict() == Verdict::Pass {
            prop_assert!(o.stats.stop != faultline::sim::StopReason::EventLimit);
        }
    }
}
