//! Load balancing's stories: the known results pinned on the same arrivals (smooth WRR's
//! interleaving, consistent hashing's 1/n moves against modulo's 1 − 1/n, the power of two
//! choices, least-connections under a grey failure), checks that fail when they should, a
//! strategy's result independent of the others in the scenario, and the CLI end to end.

use std::process::Command;

use faultline::protocols::lb::ring;
use faultline::protocols::lb::strategies::{Picker, Strategy, View};
use faultline::protocols::{RunOutcome, Verdict, run};
use faultline::scenario::load_str;
use faultline::sim::rng::{Stream, stream};

/// A small pool under a grey failure: `{strategies}`, `{extra}` and `{faults}` are filled in.
const BASE: &str = r#"Scenario(
    name: "lb-test",
    protocol: LoadBalancer(strategies: [{strategies}], backend: (capacity: 4, queue: 64),
        load: (rate: 1800.0, work: Exponential(mean: "10ms")), try_timeout: "300ms"{extra}),
    cluster: (servers: 7),
    network: (default: (latency: Uniform(min: "100us", max: "500us"))),
    workload: (clients: 2, keys: 1000, stop: "6s", timeout: "1s"),
    faults: (schedule: [{faults}]),
    limits: (time: "{limit}"),
)"#;

const SLOW_N1: &str =
    r#"(at: "1s", fault: Slow(node: 1, factor: 10)), (at: "5s", fault: Slow(node: 1, factor: 1))"#;

fn scenario(strategies: &str, extra: &str, faults: &str, limit: &str) -> String {
    BASE.replace("{strategies}", strategies)
        .replace("{extra}", extra)
        .replace("{faults}", faults)
        .replace("{limit}", limit)
}

fn run_src(src: &str, seed: u64) -> RunOutcome {
    let s = load_str(src, "<test>").unwrap_or_else(|e| panic!("{e}\n{src}"));
    run(&s.to_run_spec(seed, false))
}

/// A cell of the strategies table.
fn cell(o: &RunOutcome, strategy: &str, column: &str) -> String {
    let t = o
        .tables
        .iter()
        .find(|t| t.title.starts_with("Strategies"))
        .expect("the strategies table");
    let c = t.columns.iter().position(|c| c == column).expect(column);
    let r = t.rows.iter().find(|r| r[0] == strategy).expect(strategy);
    r[c].clone()
}

fn millis(s: &str) -> f64 {
    s.trim_end_matches("ms").parse().expect(s)
}

fn check(o: &RunOutcome, name: &str) -> (Verdict, String) {
    let c = o.checks.iter().find(|c| c.name == name).expect(name);
    (c.verdict, c.detail.clone())
}

#[test]
fn smooth_weighted_round_robin_interleaves_in_proportion() {
    // nginx's example: weights {5, 1, 1} give a a b a c a a, not a a a a a b c.
    let mut p = Picker::new(Strategy::WeightedRoundRobin, vec![5, 1, 1], 1, 0.0);
    let mut rng = stream(0, Stream::User, 0);
    let view = View {
        cands: &[0, 1, 2],
        inflight: &[0, 0, 0],
        key: 0,
    };
    let seq: String = (0..14)
        .map(|_| (b'a' + p.pick(&view, &mut rng).0 as u8) as char)
        .collect();
    assert_eq!(seq, "aabacaaaabacaa");
}

#[test]
fn consistent_hashing_moves_one_nth_of_keys_and_modulo_moves_most() {
    for n in [4u32, 10, 20] {
        let s = ring::study(n, 200, 50_000);
        let (join, leave) = (1.0 / (n as f64 + 1.0), 1.0 / n as f64);
        assert!(
            (s.moved_join / join - 1.0).abs() < 0.25,
            "n={n}: {} moved on a join, ideal {join}",
            s.moved_join
        );
        assert!(
            (s.moved_leave / leave - 1.0).abs() < 0.25,
            "n={n}: {} moved on a leave, ideal {leave}",
            s.moved_leave
        );
        let (mj, ml) = ring::modulo_moves(n, 50_000);
        assert!(
            mj > 0.9 * (1.0 - join) && ml > 0.9 * (1.0 - leave),
            "{mj} {ml}"
        );
    }
    // More virtual nodes even out the keys per node (spread falls roughly as 1/sqrt(v)).
    let cv = |v| ring::study(10, v, 50_000).cv;
    assert!(
        cv(1) > 3.0 * cv(10) / 1.5 && cv(10) > 2.0 * cv(100),
        "{} {} {}",
        cv(1),
        cv(10),
        cv(100)
    );
}

#[test]
fn two_choices_keep_the_fullest_bin_much_lower_than_random() {
    // Mitzenmacher: n balls into n bins, max load ~ ln n / ln ln n (random) against
    // ln ln n / ln 2 + O(1) (two choices).
    let n = 10_000usize;
    let max_load = |s| {
        let mut p = Picker::new(s, vec![1; n], 1, 0.0);
        let mut rng = stream(7, Stream::User, 1);
        let cands: Vec<u32> = (0..n as u32).collect();
        let mut load = vec![0u32; n];
        for _ in 0..n {
            let b = p.pick(
                &View {
                    cands: &cands,
                    inflight: &load,
                    key: 0,
                },
                &mut rng,
            );
            load[b.0 as usize] += 1;
        }
        load.into_iter().max().unwrap()
    };
    let (random, two) = (max_load(Strategy::Random), max_load(Strategy::PowerOfTwo));
    assert!(
        random >= 6 && two <= 4,
        "random {random}, two choices {two}"
    );

    // And in a run: the most requests any backend held at once.
    let o = run_src(&scenario("random, power_of_two", "", "", "8s"), 3);
    let (r, t): (u32, u32) = (
        cell(&o, "random", "peak load").parse().unwrap(),
        cell(&o, "power_of_two", "peak load").parse().unwrap(),
    );
    assert!(2 * t < r, "peak load: random {r}, power of two {t}");
}

#[test]
fn load_aware_strategies_keep_the_tail_low_under_a_grey_failure() {
    let o = run_src(
        &scenario(
            "round_robin, random, least_connections, power_of_two",
            "",
            SLOW_N1,
            "8s",
        ),
        0,
    );
    assert_eq!(o.verdict(), Verdict::Pass, "{:?}", o.checks);
    let p99 = |s| millis(&cell(&o, s, "p99"));
    let (rr, rnd, lc, p2c) = (
        p99("round_robin"),
        p99("random"),
        p99("least_connections"),
        p99("power_of_two"),
    );
    assert!(
        3.0 * lc < rr && 3.0 * lc < rnd,
        "p99: lc {lc}, rr {rr}, random {rnd}"
    );
    assert!(
        2.0 * p2c < rr && 2.0 * p2c < rnd,
        "p99: p2c {p2c}, rr {rr}, random {rnd}"
    );
    // The slow backend's share falls only for the load-aware strategies.
    let share = |s: &str| -> f64 {
        let t = o
            .tables
            .iter()
            .find(|t| t.title.starts_with("Share"))
            .unwrap();
        let r = t.rows.iter().find(|r| r[0] == s).unwrap();
        r[2].trim_end_matches('%').parse().unwrap()
    };
    assert!(share("least_connections") < 0.6 * share("round_robin"));
}

#[test]
fn same_seed_same_tables_and_a_strategy_does_not_depend_on_the_others() {
    let src = scenario(
        "least_connections, consistent_hash, random",
        "",
        SLOW_N1,
        "8s",
    );
    let (a, b) = (run_src(&src, 5), run_src(&src, 5));
    assert_eq!(a.tables, b.tables);
    assert_eq!(a.stats.trace_hash, b.stats.trace_hash);
    // Arrivals, keys and work are drawn per request: least_connections alone gives the same row.
    let alone = run_src(&scenario("least_connections", "", SLOW_N1, "8s"), 5);
    let row = |o: &RunOutcome| {
        o.tables[0]
            .rows
            .iter()
            .find(|r| r[0] == "least_connections")
            .cloned()
            .unwrap()
    };
    assert_eq!(row(&a), row(&alone));
    assert_ne!(a.tables, run_src(&src, 6).tables);
}

#[test]
fn health_checks_take_a_crashed_backend_out_within_the_bound() {
    let crash = r#"(at: "1s", fault: Crash(2)), (at: "4s", fault: Restart(2)), (at: "4.5s", fault: Partition(Isolate(3))), (at: "5.5s", fault: Heal)"#;
    let o = run_src(&scenario("round_robin, power_of_two", "", crash, "8s"), 1);
    let (v, d) = check(&o, "health-detection");
    assert_eq!(v, Verdict::Pass, "{d}");
    assert!(d.contains("2 down windows"), "{d}");
    assert_eq!(check(&o, "accounting").0, Verdict::Pass);
    // Marked down and up again, as roles.
    assert!(
        o.roles
            .iter()
            .any(|r| r.node == 2 && r.role == "marked down")
    );
    assert!(o.roles.iter().any(|r| r.node == 2 && r.role == "up"));

    // Without health checks the balancer keeps sending to the dead backend: caught.
    let o = run_src(&scenario("round_robin", ", health: None", crash, "8s"), 1);
    let (v, d) = check(&o, "health-detection");
    assert_eq!(v, Verdict::Violation, "{d}");
    assert!(
        d.contains("round_robin") && d.contains("health checks are off"),
        "{d}"
    );
}

#[test]
fn checks_fail_when_they_should() {
    // A run cut short leaves requests open: not accounted for.
    let o = run_src(&scenario("random", "", "", "5.5s"), 0);
    let (v, d) = check(&o, "accounting");
    assert_eq!(v, Verdict::Violation, "{d}");
    assert!(d.contains("still open"), "{d}");
    // A declared bound names the strategy and the figure.
    let bounds = r#", bounds: [(strategies: [round_robin], p99_max: Some("50ms"))]"#;
    let o = run_src(
        &scenario("round_robin, least_connections", bounds, SLOW_N1, "8s"),
        0,
    );
    let (v, d) = check(&o, "bounds");
    assert_eq!(v, Verdict::Violation, "{d}");
    assert!(
        d.contains("round_robin: p99") && !d.contains("least_connections"),
        "{d}"
    );
    // Bounded loads hold their cap.
    let o = run_src(
        &scenario("bounded_load", ", epsilon: 0.1", SLOW_N1, "8s"),
        0,
    );
    assert_eq!(check(&o, "bounded-load-cap").0, Verdict::Pass);
}

/// Runs whose `bounds` or `bounded-load-cap` check has nothing to judge: (case, the check,
/// strategies, the protocol's extra fields, what the check must say). They said UNKNOWN, the
/// verdict of a search budget that ran out, where every other check says SKIPPED, and the run
/// exited 3. (A bound naming a strategy the run does not use is refused as input.)
const NOTHING_TO_BOUND: &[(&str, &str, &str, &str, &str)] = &[
    (
        "the check asked for, no bound declared",
        "bounds",
        "round_robin",
        "",
        "not judged: the scenario declares no bounds",
    ),
    (
        "a bound that sets no limit",
        "bounds",
        "random, round_robin",
        ", bounds: [()]",
        "not judged: the declared bounds set no limit (p99_max, error_rate_max or \
         imbalance_max) on a strategy this run uses (random, round_robin)",
    ),
    (
        "a bound for one strategy that sets no limit",
        "bounds",
        "random, round_robin",
        ", bounds: [(strategies: [random])]",
        "on a strategy this run uses (random, round_robin)",
    ),
    (
        "the bounded-load cap asked for, bounded_load not run",
        "bounded-load-cap",
        "random, consistent_hash",
        "",
        "not judged: bounded_load is not among the strategies",
    ),
];

#[test]
fn bounds_with_nothing_to_judge_are_skipped_not_unknown() {
    let d = std::env::temp_dir().join(format!("faultline-lb-bounds-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let mut failures = Vec::new();
    for (i, (case, name, strategies, extra, says)) in NOTHING_TO_BOUND.iter().enumerate() {
        let src = scenario(strategies, extra, "", "8s").replace(
            "    limits:",
            &format!("    checks: [\"{name}\", \"accounting\"],\n    limits:"),
        );
        let f = d.join(format!("s{i}.ron"));
        std::fs::write(&f, &src).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["run", f.to_str().unwrap(), "--no-report"])
            .output()
            .unwrap();
        let t = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let line = t
            .lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or("");
        if o.status.code() != Some(0) || !line.contains("SKIPPED") || !line.contains(says) {
            failures.push(format!(
                "{case}: expected exit 0 and `SKIPPED {name} {says}`, got {:?}:\n{t}",
                o.status.code()
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&d);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bad_load_balancer_input_is_refused_with_a_reason() {
    for (extra, servers, want) in [
        (", attempts: 0", 7, "attempts"),
        (", backends: [(speed: 1.0)]", 7, "backends lists 1"),
        (
            ", health: Some(interval: \"50ms\", timeout: \"80ms\")",
            7,
            "timeout shorter",
        ),
        (
            ", membership: [(at: \"1s\", change: Join(9))]",
            7,
            "names backend 9",
        ),
        ("", 1, "2..="),
    ] {
        let src = scenario("random", extra, "", "8s")
            .replace("servers: 7", &format!("servers: {servers}"));
        let e = load_str(&src, "<test>").expect_err(extra);
        assert!(e.to_string().contains(want), "{extra}: {e}");
    }
    let e = load_str(&scenario("", "", "", "8s"), "<test>").expect_err("no strategies");
    assert!(e.to_string().contains("strategies"), "{e}");
    let slow0 = r#"(at: "1s", fault: Slow(node: 1, factor: 0))"#;
    let e = load_str(&scenario("random", "", slow0, "8s"), "<test>").expect_err("factor 0");
    assert!(e.to_string().contains("factor must be within"), "{e}");
}

#[test]
fn bundled_scenarios_run_and_report_through_the_binary() {
    let out = std::env::temp_dir().join(format!("faultline-lb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let o = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "scenarios/consistent-hashing-rebalance.ron",
            "--seed",
            "0",
        ])
        .args(["--out", out.to_str().unwrap(), "--plots"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains("Consistent hashing on its own"), "{text}");
    let json = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(json.contains("\"tables\"") && json.contains("key moves"));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("lb-latency-cdf.svg") && html.contains("lb-backend-load.svg"));
    assert!(out.join("lb-latency-cdf.svg").exists());
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn ring_keeps_keys_in_place_when_the_pool_changes_and_modulo_does_not() {
    let s = faultline::scenario::load_file(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/consistent-hashing-rebalance.ron"),
    )
    .unwrap();
    let o = run(&s.to_run_spec(0, false));
    assert_eq!(o.verdict(), Verdict::Pass, "{:?}", o.checks);
    let moves = |st| -> f64 {
        cell(&o, st, "key moves")
            .trim_end_matches('%')
            .parse()
            .unwrap()
    };
    let (ch, modulo, random) = (
        moves("consistent_hash"),
        moves("modulo_hash"),
        moves("random"),
    );
    assert!(
        3.0 * ch < modulo && modulo < random,
        "ch {ch}%, modulo {modulo}%, random {random}%"
    );
}
