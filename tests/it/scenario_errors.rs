//! Broken scenarios get a clear, located error — a table of inputs and the message expected —
//! and no input makes the loader panic.

use std::path::{Path, PathBuf};
use std::process::Command;

use faultline::scenario::load_str;
use faultline::sim::Fault;
use proptest::prelude::*;

const GOOD: &str = r#"Scenario(
    name: "t",
    protocol: Raft(election_timeout: ("150ms", "300ms")),
    cluster: (servers: 3),
    workload: (clients: 2, keys: 2, stop: "2s"),
    faults: (schedule: [(at: "1s", fault: Crash(1)), (at: "2s", fault: Restart(1))]),
    limits: (time: "3s"),
)"#;

/// (what to replace in GOOD, replacement, expected substring of the error). Where the loader
/// can find the field, the expected text starts with its `file:line:column`.
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
        "workload.clients: needs 1 to 1000 clients, got 0",
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
        "a split needs at least two groups, got 1",
    ),
    // Partitions: every group and side non-empty, every server named once, ids in range.
    (
        "Restart(1))",
        "Restart(1)), (at: \"2.5s\", fault: Partition(Split([[0, 1], [1, 2]])))",
        ":6:131: faults.schedule[2].fault[1][0]: partition at 2.500000000: n1 appears twice: in split group 0 and in split group 1",
    ),
    (
        "Restart(1))",
        "Restart(1)), (at: \"2.5s\", fault: Partition(Split([[0, 1], []])))",
        ":6:130: faults.schedule[2].fault[1]: partition at 2.500000000: split group 1 is empty",
    ),
    (
        "Restart(1))",
        "Restart(1)), (at: \"2.5s\", fault: Partition(Isolate(5)))",
        ":6:105: faults.schedule[2].fault: partition at 2.500000000: n5 (isolated) is not a server: the cluster has 3 servers",
    ),
    (
        "Restart(1))",
        "Restart(1)), (at: \"2.5s\", fault: Partition(OneWay(from: [0], to: [1, 9])))",
        ":6:141: faults.schedule[2].fault.to[1]: partition at 2.500000000: n9 (in `to`) is not a server",
    ),
    (
        "Restart(1))",
        "Restart(1)), (at: \"2.5s\", fault: Partition(OneWay(from: [0, 0], to: [1])))",
        ":6:132: faults.schedule[2].fault.from[1]: partition at 2.500000000: n0 appears twice: in `from` and in `from`",
    ),
    (
        "Restart(1))",
        "Restart(1)), (at: \"2.5s\", fault: Partition(OneWay(from: [], to: [1])))",
        ":6:128: faults.schedule[2].fault.from: partition at 2.500000000: one-way `from` is empty",
    ),
    (
        "Restart(1))",
        "Restart(1)), (at: \"2.5s\", fault: Partition(Bridge(left: [0], right: [0], bridge: 1)))",
        ":6:141: faults.schedule[2].fault.right[0]: partition at 2.500000000: n0 appears twice: in `left` and in `right`",
    ),
    (
        "Restart(1))",
        "Restart(1)), (at: \"2.5s\", fault: Partition(Bridge(left: [0], right: [2], bridge: 0)))",
        ":6:129: faults.schedule[2].fault.left[0]: partition at 2.500000000: n0 appears twice: as the bridge and in `left`",
    ),
    (
        "Restart(1))",
        "Restart(1)), (at: \"2.5s\", fault: Partition(Bridge(left: [], right: [2], bridge: 0)))",
        "faults.schedule[2].fault.left: partition at 2.500000000: bridge `left` is empty",
    ),
    (
        "Restart(1))",
        "Restart(1)), (at: \"2.5s\", fault: Partition(Links([(0, 1), (2, 2)])))",
        ":6:130: faults.schedule[2].fault[1]: partition at 2.500000000: link (2, 2) goes from n2 to itself",
    ),
    (
        "Restart(1))",
        "Restart(1)), (at: \"2.5s\", fault: Partition(Links([(0, 1), (0, 1)])))",
        "faults.schedule[2].fault[1]: partition at 2.500000000: link (0, 1) is cut twice",
    ),
    (
        "Restart(1))",
        "Restart(1)), (at: \"2.5s\", fault: Partition(Links([])))",
        "faults.schedule[2].fault: partition at 2.500000000: `Links` is empty",
    ),
    (
        "Restart(1))",
        "Restart(1)), (at: \"2.5s\", fault: Pause(node: 3, duration: \"1s\"))",
        ":6:105: faults.schedule[2].fault: `pause n3 for 1s` at 2.500000000 names node 3, but the cluster has 3 servers",
    ),
    // Network links: ids in range, two different nodes, each link once.
    (
        "workload: (clients: 2",
        "network: (links: [(1, 1, (drop: 0.5))]),\n    workload: (clients: 2",
        ":5:23: network.links[0]: link (1, 1) goes from n1 to itself",
    ),
    (
        "workload: (clients: 2",
        "network: (links: [(0, 9, (drop: 0.5))]),\n    workload: (clients: 2",
        ":5:27: network.links[0][1]: link (0, 9) names node 9, but the run has 5 nodes",
    ),
    (
        "workload: (clients: 2",
        "network: (links: [(0, 4, (drop: 0.5)), (0, 4, (duplicate: 0.1))]),\n    workload: (clients: 2",
        ":5:44: network.links[1]: link (0, 4) is given twice, as links[0] and links[1]",
    ),
    (
        "workload: (clients: 2",
        "network: (links: [(0, 1, (latency: Uniform(min: \"9ms\", max: \"1ms\")))]),\n    workload: (clients: 2",
        ":5:40: network.links[0][2].latency: link (0, 1): latency min (9ms) is greater than max (1ms)",
    ),
    // Names become folders.
    (
        "name: \"t\"",
        "name: \"tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt\"",
        ":2:11: name: `tttttttttttttttttttttttttt…ttttttttttttt` is 300 characters lon",
    ),
    (
        "name: \"t\"",
        "name: \"t\\nrm -rf\"",
        ":2:11: name: `t\\nrm -rf` holds '\\n' (U+000A) at character 2",
    ),
    (
        "name: \"t\"",
        "name: \"../t\"",
        ":2:11: name: `../t` holds `/` at character 3",
    ),
    (
        "name: \"t\"",
        "name: \"t\", title: \"a\\u{1b}[2Jb\"",
        ":2:23: title: holds the control character '\\u{1b}' (U+001B) at character 2",
    ),
    (
        "cluster: (servers: 3)",
        "cluster: (servers: 3, names: [\"a\", \"b\", \"a\"])",
        ":4:45: cluster.names[2]: `a` names both n0 and n2",
    ),
    // Sizes and durations that would allocate without bound or overflow.
    (
        "cluster: (servers: 3)",
        "cluster: (servers: 4000000000)",
        ":4:24: cluster.servers: a cluster needs at least 1 server and at most 1000 (got 4000000000)",
    ),
    (
        "workload: (clients: 2",
        "workload: (clients: 4000000000",
        ":5:25: workload.clients: needs 1 to 1000 clients, got 4000000000",
    ),
    (
        "cluster: (servers: 3),\n    workload: (clients: 2",
        "cluster: (servers: 1000),\n    workload: (clients: 300",
        ":5:25: workload.clients: 1000 servers and 300 clients make 1300 nodes, more than the 1200",
    ),
    (
        "keys: 2",
        "keys: 4000000000",
        ":5:34: workload.keys: needs 1 to 1000000 keys, got 4000000000",
    ),
    (
        "keys: 2",
        "keys: 2, attempts: 4000000000",
        ":5:47: workload.attempts: needs 1 to 1000 attempts",
    ),
    (
        "keys: 2",
        "keys: 2, mix: (get: 4294967295, put: 1)",
        ":5:48: workload.mix.get: weight 4294967295 is more than 1000000",
    ),
    (
        "stop: \"2s\"",
        "stop: \"2s\", timeout: \"18446744073709551615\"",
        ":5:58: workload.timeout: 18446744073709.551ms is longer than 604800",
    ),
    (
        "limits: (time: \"3s\")",
        "limits: (time: \"18446744073709551615\")",
        ":7:20: limits.time: the simulated time limit must be positive and at most 604800s",
    ),
    (
        "limits: (time: \"3s\")",
        "limits: (time: \"3s\", events: 18446744073709551615)",
        ":7:34: limits.events: the event limit must be within 1..=1000000000",
    ),
    (
        "limits: (time: \"3s\")",
        "limits: (time: \"3s\", pending: 0)",
        ":7:35: limits.pending: the pending-event limit must be within 1..=10000000 (got 0)",
    ),
    (
        "limits: (time: \"3s\")",
        "limits: (time: \"3s\", pending: 18446744073709551615)",
        ":7:35: limits.pending: the pending-event limit must be within 1..=10000000",
    ),
    (
        "workload: (clients: 2",
        "network: (default: (latency: Constant(\"18446744073709551615\"))),\n    workload: (clients: 2",
        ":5:34: network.default.latency: latency 18446744073709.551ms is longer than the longest supported duration, 604800",
    ),
    (
        "(at: \"1s\", fault: Crash(1))",
        "(at: \"1s\", fault: Pause(node: 1, duration: \"18446744073709551615\"))",
        ":6:68: faults.schedule[0].fault.duration: a pause lasts more than 0 and at most 604800s",
    ),
    (
        "(at: \"1s\", fault: Crash(1))",
        "(at: \"1s\", fault: Pause(node: 1, duration: 0))",
        "faults.schedule[0].fault.duration: a pause lasts more than 0",
    ),
    (
        "(at: \"1s\", fault: Crash(1))",
        "(at: \"1s\", fault: ClockSkew(node: 1, offset: \"-9223372036854775807\", drift_ppm: 0))",
        ":6:70: faults.schedule[0].fault.offset: clock offset -9223372036854.775ms is beyond ±604",
    ),
    (
        "(at: \"1s\", fault: Crash(1))",
        "(at: \"1s\", fault: ClockSkew(node: 1, offset: 0, drift_ppm: -1000000))",
        ":6:84: faults.schedule[0].fault.drift_ppm: clock drift -1000000 ppm is outside -500000..=500000",
    ),
    (
        "(\"150ms\", \"300ms\")",
        "(\"150ms\", \"18446744073709551615\")",
        ":3:15: protocol: raft.election_timeout: max 18446744073709.551ms is longer than 604800",
    ),
    (
        "Raft(election_timeout: (\"150ms\", \"300ms\"))",
        "Relay(fanout: 4000000000)",
        ":3:15: protocol: relay.fanout: 4000000000 messages from each of 3 nodes",
    ),
    // The nemesis: weights that overflow a sum, drift that divides by zero, empty windows.
    (
        "faults: (schedule:",
        "faults: (nemesis: Some(stop: \"3s\", partition: 4294967295, crash: 1), schedule:",
        ":6:51: faults.nemesis.partition: weight 4294967295 is more than 1000000",
    ),
    (
        "faults: (schedule:",
        "faults: (nemesis: Some(stop: \"3s\", skew: 1, skew_drift_ppm_max: 1000000), schedule:",
        ":6:69: faults.nemesis.skew_drift_ppm_max: 1000000 ppm is more than 500000",
    ),
    (
        "faults: (schedule:",
        "faults: (nemesis: Some(stop: \"3s\", skew_offset_max: \"18446744073709551615\"), schedule:",
        ":6:57: faults.nemesis.skew_offset_max: 18446744073709.551ms is longer than 604800",
    ),
    (
        "faults: (schedule:",
        "faults: (nemesis: Some(stop: \"3s\", duration: (0, \"1s\")), schedule:",
        ":6:50: faults.nemesis.duration: a fault window must last more than 0",
    ),
    (
        "faults: (schedule:",
        "faults: (nemesis: Some(stop: \"3s\", concurrency: 4), schedule:",
        ":6:53: faults.nemesis.concurrency: concurrency must be within 1..=3",
    ),
    (
        "faults: (schedule:",
        "faults: (nemesis: Some(stop: \"3s\", duration: (\"1us\", \"1us\"), gap: (0, 0)), schedule:",
        ":6:50: faults.nemesis.duration: up to 2000001 fault windows fit between start and stop",
    ),
    (
        "faults: (schedule:",
        "faults: (nemesis: Some(stop: \"3s\", gap: (\"2s\", \"1s\")), schedule:",
        ":6:45: faults.nemesis.gap: min (2s) is greater than max (1s)",
    ),
    // Checks and expectations.
    (
        "limits: (time: \"3s\")",
        "limits: (time: \"3s\"),\n    checks: [\"liveness\", \"liveness\"]",
        ":8:26: checks[1]: check `liveness` is listed twice",
    ),
    (
        "limits: (time: \"3s\")",
        "limits: (time: \"3s\"),\n    expect: Pass(seeds: (0, 18446744073709551615))",
        ":8:25: expect.seeds: seed range (0, 18446744073709551615) holds 18446744073709551615 seeds, more than the 1000000",
    ),
    (
        "limits: (time: \"3s\")",
        "limits: (time: \"3s\"),\n    expect: Violation(check: \"liveness\", within_seeds: (5, 5))",
        ":8:56: expect.within_seeds: seed range (5, 5) is empty",
    ),
];

#[test]
fn the_good_scenario_loads() {
    load_str(GOOD, "good.ron").expect("the base of the table is valid");
}

/// A fresh scratch folder for this test process.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-scenario-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `faultline run FILE` on `bytes`: (exit code, stderr).
fn run_file(dir: &Path, bytes: &[u8]) -> (Option<i32>, String) {
    let file = dir.join("broken.ron");
    std::fs::write(&file, bytes).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(dir.join("report"))
        .output()
        .expect("the binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every row, through the real binary: exit 2, the file named, the located message. All rows
/// run; the failure lists every row that did not hold.
#[test]
fn broken_scenarios_exit_2_with_a_located_message() {
    let dir = scratch("table");
    let mut wrong = Vec::new();
    for (from, to, want) in TABLE {
        assert!(GOOD.contains(from), "table row does not apply: {from}");
        let text = GOOD.replacen(from, to, 1);
        let (code, err) = run_file(&dir, text.as_bytes());
        let named = err.starts_with(&format!("error: {}:", dir.join("broken.ron").display()));
        if code != Some(2) || !named || !err.contains(want) {
            wrong.push(format!(
                "for `{to}` (exit {code:?}) expected `{want}` in:\n{err}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} rows wrong:\n{}",
        wrong.len(),
        TABLE.len(),
        wrong.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every field of the schema, each with a non-default value: the base the property tests
/// mutate, so every field's bounds get tried.
const RICH: &str = r#"Scenario(
    name: "rich",
    title: "every field",
    description: "Each field set.\nTwo lines.",
    protocol: Raft(election_timeout: ("150ms", "300ms"), heartbeat: "50ms", max_batch: 64),
    cluster: (servers: 3, names: ["a", "b", "c"]),
    network: (
        default: (latency: Pareto(min: "1ms", alpha: 1.5, max: "50ms"), drop: 0.01, duplicate: 0.01),
        links: [(0, 1, (latency: Uniform(min: "1ms", max: "9ms"), drop: 0.2)), (3, 0, (duplicate: 0.1))],
    ),
    workload: (clients: 2, keys: 2, mix: (get: 2, put: 1, append: 1, cas: 1), think: ("1ms", "5ms"),
               ops_per_client: 50, stop: "2s", timeout: "200ms", attempts: 3),
    faults: (
        schedule: [
            (at: "100ms", fault: Partition(Split([[0], [1, 2]]))),
            (at: "200ms", fault: Partition(OneWay(from: [0], to: [1]))),
            (at: "300ms", fault: Partition(Bridge(left: [0], right: [2], bridge: 1))),
            (at: "400ms", fault: Partition(Links([(0, 1), (1, 2)]))),
            (at: "500ms", fault: Heal),
            (at: "600ms", fault: Crash(1)),
            (at: "700ms", fault: Restart(1)),
            (at: "800ms", fault: Pause(node: 2, duration: "100ms")),
            (at: "900ms", fault: ClockSkew(node: 0, offset: "-20ms", drift_ppm: 1000)),
        ],
        nemesis: Some(start: "1s", stop: "2s", gap: ("10ms", "50ms"), duration: ("10ms", "100ms"),
                      partition: 1, crash: 1, pause: 1, skew: 1, skew_offset_max: "10ms",
                      skew_drift_ppm_max: 1000, concurrency: 2),
    ),
    limits: (time: "3s", events: 200000),
    checks: [],
    expect: Pass(seeds: (0, 10)),
)"#;

/// Values that have broken loaders: zero, the edges of u32/u64/i64, negatives, huge durations,
/// empty and repeated lists, non-numbers.
const EDGES: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "-1",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "9223372036854775807",
    "-9223372036854775808",
    "1e308",
    "0.0",
    "1.0",
    "\"0ms\"",
    "\"1ns\"",
    "\"18446744073709551615\"",
    "\"604800s\"",
    "\"604801s\"",
    "\"-9223372036854775807\"",
    "[]",
    "[[]]",
    "[0, 0]",
    "[[0], [0]]",
    "\"\"",
    "\"a\\nb\"",
    "\"..\"",
];

/// The spans of RICH's scalar tokens (numbers and strings), in order.
fn tokens(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push((start, i.min(b.len())));
        } else if b[i].is_ascii_digit()
            || (b[i] == b'-' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            out.push((start, i));
        } else {
            i += 1;
        }
    }
    out
}

/// RICH with its `k`-th scalar replaced by `v`.
fn with_token(k: usize, v: &str) -> String {
    let spans = tokens(RICH);
    let (a, b) = spans[k % spans.len()];
    format!("{}{v}{}", &RICH[..a], &RICH[b..])
}

/// What a loaded scenario promises: every bound held, so a run cannot overflow or allocate
/// without bound; an error is short and located.
fn assert_bounded(text: &str) -> Option<faultline::scenario::Scenario> {
    use faultline::scenario::*;
    match load_str(text, "mutated.ron") {
        Err(e) => {
            let shown = e.to_string();
            assert!(shown.chars().count() < 1200, "error too long: {shown}");
            assert!(shown.lines().count() <= 3, "error too long: {shown}");
            assert!(
                e.field.is_none() || e.line.is_some(),
                "not located: {shown}"
            );
            None
        }
        Ok(s) => {
            let clients = if s.protocol.uses_clients() {
                s.workload.clients
            } else {
                0
            };
            assert!(s.cluster.servers <= MAX_SERVERS && s.cluster.servers + clients <= MAX_NODES);
            assert!(s.limits.time <= faultline::sim::time::MAX_TIME);
            assert!(s.limits.events <= MAX_EVENTS);
            assert!((1..=MAX_PENDING).contains(&s.limits.pending));
            assert!(s.name.len() <= MAX_NAME_LEN && !s.name.contains(['/', '\n', '\\']));
            let faults = s.faults_for(7);
            assert!(faults.len() <= s.faults.schedule.len() + 400_000);
            assert!(faults.iter().all(|f| f.at <= s.limits.time));
            Some(s)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(s in "\\PC{0,200}") {
        let _ = load_str(&s, "random.ron");
    }

    #[test]
    fn mutated_scenarios_never_panic(pos in 0usize..2000, len in 0usize..6, insert in "[ -~]{0,6}", rich in any::<bool>()) {
        let base = if rich { RICH } else { GOOD };
        let mut t: Vec<char> = base.chars().collect();
        let p = pos.min(t.len());
        let end = (p + len).min(t.len());
        t.splice(p..end, insert.chars());
        let text: String = t.into_iter().collect();
        assert_bounded(&text);
    }

    #[test]
    fn edge_values_in_every_field_are_bounded(k in 0usize..1000, v in 0usize..EDGES.len(), w in 0usize..EDGES.len(), k2 in 0usize..1000) {
        // Two fields at once: bounds that hold alone can break together (servers and clients).
        let once = with_token(k, EDGES[v]);
        assert_bounded(&once);
        let spans = tokens(&once);
        let (a, b) = spans[k2 % spans.len()];
        assert_bounded(&format!("{}{}{}", &once[..a], EDGES[w], &once[b..]));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, failure_persistence: None, ..ProptestConfig::default() })]

    /// A scenario that loads runs without panicking (debug builds check every addition for
    /// overflow): extreme but valid values included.
    #[test]
    fn loaded_edge_scenarios_run(k in 0usize..1000, v in 0usize..EDGES.len(), seed in 0u64..1000) {
        if let Some(mut s) = assert_bounded(&with_token(k, EDGES[v]))
            && s.cluster.servers + s.workload.clients <= 12
        {
            s.limits.events = s.limits.events.min(3000);
            let _ = faultline::protocols::run(&s.to_run_spec(seed, false));
        }
    }
}

#[test]
fn the_rich_scenario_loads_and_every_field_is_mutated() {
    load_str(RICH, "rich.ron").expect("the property tests' base is valid");
    assert!(tokens(RICH).len() > 80);
}

/// The longest durations a scenario may write, everywhere at once: the run must not overflow.
#[test]
fn the_longest_durations_run_without_overflow() {
    let text = RICH
        .replace("\"3s\", events: 200000", "\"604800s\", events: 20000")
        .replace("max: \"50ms\"", "max: \"604800s\"")
        .replace("duration: \"100ms\"", "duration: \"604800s\"")
        .replace(
            "offset: \"-20ms\", drift_ppm: 1000",
            "offset: \"-604800s\", drift_ppm: -500000",
        )
        .replace("timeout: \"200ms\"", "timeout: \"604800s\"")
        .replace("think: (\"1ms\", \"5ms\")", "think: (\"1ms\", \"604800s\")")
        .replace("stop: \"2s\", timeout", "stop: \"604800s\", timeout")
        .replace("skew_offset_max: \"10ms\"", "skew_offset_max: \"604800s\"")
        .replace("skew_drift_ppm_max: 1000", "skew_drift_ppm_max: 500000")
        .replace(
            "stop: \"2s\", gap: (\"10ms\", \"50ms\")",
            "stop: \"604800s\", gap: (\"20s\", \"604800s\")",
        )
        .replace(
            "duration: (\"10ms\", \"100ms\")",
            "duration: (\"10ms\", \"604800s\")",
        );
    let s = load_str(&text, "longest.ron").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.limits.time, faultline::sim::time::MAX_TIME);
    for seed in 0..3 {
        let out = faultline::protocols::run(&s.to_run_spec(seed, false));
        assert!(out.stats.events <= 20_000 + 1);
    }
}

#[test]
fn left_out_fields_take_their_defaults() {
    let text = GOOD.replace(
        "workload:",
        "network: (default: (drop: 0.25), links: [(0, 1, (duplicate: 0.5))]),\n    workload:",
    );
    let s = load_str(&text, "defaults.ron").unwrap_or_else(|e| panic!("{e}"));
    let d = faultline::sim::LinkConfig::default();
    assert_eq!(s.network.default.latency, d.latency);
    assert_eq!(s.network.default.drop, 0.25);
    let link = s.network.links[0].2.over(&s.network.default);
    assert_eq!((link.drop, link.duplicate), (0.25, 0.5));
    assert_eq!(link.latency, d.latency);
    // A clock skew needs only what it changes.
    let skew = GOOD.replace("Crash(1)", "ClockSkew(node: 1, drift_ppm: 200)");
    let skew = skew.replace("Restart(1)", "ClockSkew(node: 1, offset: \"-5ms\")");
    let s2 = load_str(&skew, "skew.ron").unwrap_or_else(|e| panic!("{e}"));
    let fault = |i: usize| s2.faults.schedule[i].fault.clone();
    assert_eq!(
        (fault(0), fault(1)),
        (
            Fault::ClockSkew {
                node: 1,
                offset: 0,
                drift_ppm: 200
            },
            Fault::ClockSkew {
                node: 1,
                offset: -5_000_000,
                drift_ppm: 0
            }
        )
    );
    // Written back, it reads the same.
    let back = faultline::scenario::ron_options()
        .to_string_pretty(&s, Default::default())
        .unwrap();
    assert_eq!(load_str(&back, "back.ron").unwrap(), s);
}

/// Input that is not a scenario at all: exit 2 with a short, clear message, never a panic or
/// a screenful.
#[test]
fn unreadable_files_exit_2_with_a_short_message() {
    let dir = scratch("unreadable");
    let huge_line = format!(
        "Scenario(name: \"x\", protocol: Raft(), checks: [\"{}\"])",
        "y".repeat(2_000_000)
    );
    let huge_field = format!(
        "Scenario(name: \"x\", protocol: Raft(), cluster: (servrs{}: 3))",
        "y".repeat(2_000_000)
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "2 MB line",
            huge_line.into_bytes(),
            ":1:48: checks[0]: unknown check `yyyy",
        ),
        (
            "2 MB field name",
            huge_field.into_bytes(),
            ":1:49: Unexpected field named `servrsyyy",
        ),
        (
            "latin-1",
            b"Scenario(name: \"caf\xe9\", protocol: Raft())".to_vec(),
            ":1:20: not UTF-8 text (byte 0xe9 is not UTF-8)",
        ),
        (
            "binary",
            b"\x7fELF\x02\x01\x01\x00\x00\x00\xff\xfe".to_vec(),
            ":1:8: a binary file (it holds a NUL byte)",
        ),
        (
            "NUL in text",
            b"Scenario(name: \"x\0\", protocol: Raft())".to_vec(),
            ":1:18: a binary file (it holds a NUL byte)",
        ),
        (
            "too large",
            vec![b' '; 11 * 1024 * 1024],
            "the file is larger than 10 MB",
        ),
    ];
    for (what, bytes, want) in cases {
        let (code, err) = run_file(&dir, &bytes);
        assert_eq!(code, Some(2), "{what}: {err}");
        assert!(err.contains(want), "{what}: expected `{want}` in:\n{err}");
        assert!(err.len() < 1500, "{what}: {} bytes of error", err.len());
        assert!(!err.contains("panicked"), "{what}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `replay` checks its window and node against the scenario instead of printing nothing.
#[test]
fn replay_arguments_must_name_something_in_the_run() {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/raft-basic.ron");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--from", "2s", "--to", "1s"],
            "--from 2s is after --to 1s",
        ),
        (
            &["--node", "99"],
            "--node 99: the run has no node 99 (servers n0..n4, clients n5..n7)",
        ),
        (&["--node", "8"], "the run has no node 8"),
        (
            &["--from", "11s"],
            "--from 11s is after the end of the run (10s",
        ),
        (&["--to", "1 fortnight"], "--to: unknown unit `fortnight`"),
    ];
    for (args, want) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["replay", scenario, "--seed", "1"])
            .args(*args)
            .output()
            .expect("the binary runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(err.contains(want), "{args:?}: expected `{want}` in:\n{err}");
    }
    // The last node and the whole run still replay.
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args([
            "replay", scenario, "--seed", "1", "--node", "7", "--from", "0.1s", "--to", "0.3s",
        ])
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(0));
    assert!(!out.stdout.is_empty());
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
