//! Broken scenarios get a clear, located error — a table of inputs and the message expected —
//! and no input makes the loader panic.

use faultline::scenario::load_str;
use proptest::prelude::*;

const GOOD: &str = r#"Scenario(
    name: "t",
    protocol: Raft(election_timeout: ("150ms", "300ms")),
    cluster: (servers: 3),
    workload: (clients: 2, keys: 2, stop: "2s"),
    faults: (schedule: [(at: "1s", fault: Crash(1)), (at: "2s", fault: Restart(1))]),
    limits: (time: "3s"),
)"#;

/// (what to replace in GOOD, replacement, expected substring of the error)
const TABLE: &[(&str, &str, &str)] = &[
    (
        "cluster: (servers: 3)",
        "cluster: (servers: 0)",
        "cluster.servers: a cluster needs at least 1 server",
    ),
    (
        "cluster: (servers: 3)",
        "cluster: (servrs: 3)",
        ":4:15: Unexpected field named `servrs`",
    ),
    (
        "cluster: (servers: 3)",
        "cluster: (servers: 3.5)",
        "broken.ron:4:",
    ),
    (
        "limits: (time: \"3s\")",
        "limits: (time: \"3 parsecs\")",
        "unknown unit `parsecs`",
    ),
    (
        "workload: (clients: 2",
        "network: (default: (latency: Constant(\"1ms\"), drop: 1.5)),\n    workload: (clients: 2",
        "drop probability must be within 0..=1, got 1.5",
    ),
    (
        "Crash(1)",
        "Crash(7)",
        "names node 7, but the cluster has 3 servers",
    ),
    (
        "(at: \"1s\", fault: Crash(1)), ",
        "",
        "restart of n1 at 2.000000000 comes before any crash of n1",
    ),
    (
        "Crash(1)), (at: \"2s\"",
        "Crash(1)), (at: \"9s\"",
        "after the time limit",
    ),
    (
        "workload: (clients: 2, keys: 2",
        "workload: (clients: 2, keys: 2, mix: (get: 0, put: 0, append: 0)",
        "empty workload",
    ),
    (
        "workload: (clients: 2",
        "workload: (clients: 0",
        "workload.clients must be at least 1",
    ),
    (
        "limits: (time: \"3s\")",
        "limits: (time: \"3s\"),\n    checks: [\"linearisability\"]",
        "unknown check `linearisability`",
    ),
    (
        "(\"150ms\", \"300ms\")",
        "(\"300ms\", \"150ms\")",
        "election_timeout: min must be positive and not greater than max",
    ),
    (
        "faults: (schedule:",
        "faults: (nemesis: Some(stop: \"10s\"), schedule:",
        "faults.nemesis.stop",
    ),
    ("Raft(", "Zab(", "Unexpected variant named `Zab`"),
    (
        "limits: (time: \"3s\"),\n)",
        "limits: (time: \"3s\"),",
        "Unexpected end of RON",
    ),
    (
        "(at: \"1s\", fault: Crash(1))",
        "(at: \"1s\", fault: Partition(Split([[0, 1]])))",
        "at least two groups",
    ),
];

#[test]
fn the_good_scenario_loads() {
    load_str(GOOD, "good.ron").expect("the base of the table is valid");
}

#[test]
fn broken_scenarios_name_what_is_wrong() {
    for (from, to, want) in TABLE {
        assert!(GOOD.contains(from), "table row does not apply: {from}");
        let text = GOOD.replacen(from, to, 1);
        let err = load_str(&text, "broken.ron")
            .expect_err(&format!("should be rejected: {to}"))
            .to_string();
        assert!(
            err.starts_with("broken.ron:"),
            "error must name the file: {err}"
        );
        assert!(
            err.contains(want),
            "for `{to}` expected `{want}` in:\n{err}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(s in "\\PC{0,200}") {
        let _ = load_str(&s, "random.ron");
    }

    #[test]
    fn mutated_scenarios_never_panic(pos in 0usize..400, len in 0usize..6, insert in "[ -~]{0,6}") {
        let mut t: Vec<char> = GOOD.chars().collect();
        let p = pos.min(t.len());
        let end = (p + len).min(t.len());
        t.splice(p..end, insert.chars());
        let text: String = t.into_iter().collect();
        let _ = load_str(&text, "mutated.ron");
    }
}

#[test]
fn the_readme_scenario_example_is_valid() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("```ron\n").expect("README shows a scenario") + 7;
    let end = start + readme[start..].find("```").unwrap();
    load_str(&readme[start..end], "README.md").expect("the README's scenario loads");
}

#[test]
fn every_bundled_scenario_is_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "ron") {
            faultline::scenario::load_file(&p).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 8);
}
