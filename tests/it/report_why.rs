//! Reports that show why: the culprit operations of a linearizability violation appear in
//! every place (check detail, counterexample picture, operations table, causal diagram) with
//! one numbering; the diagram of two leaders in one term holds both elections; the
//! step-through view loads in headless Chromium and moving its slider changes what it draws;
//! and the tour's screenshot of each bundled bug scenario (skipped without Chromium).

use std::path::Path;

use faultline::protocols::run;
use faultline::report::focus::{focus, focus_on};
use faultline::scenario::load_file;

use super::report::{chromium, report, tmp};

/// Culprit operation numbers from a linearizability detail (`#N` lines after "because").
fn culprits(detail: &str) -> Vec<String> {
    detail
        .split("because of these completed operations")
        .nth(1)
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.trim().strip_prefix('#'))
        .filter_map(|l| l.split_whitespace().next())
        .map(|n| format!("#{n}"))
        .collect()
}

#[test]
fn the_stale_read_is_shown_in_every_place() {
    let out = tmp("why-stale");
    assert_eq!(
        report("scenarios/raft-bug-stale_leader_read.ron", 4, &out),
        1
    );
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&read("summary.json")).unwrap();
    let detail = summary["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "linearizability")
        .unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_string();
    let named = culprits(&detail);
    assert!(
        !named.is_empty(),
        "the detail names the culprits:\n{detail}"
    );
    // The stale read itself: a completed get among the culprits.
    let stale_get = detail
        .split("because")
        .nth(1)
        .unwrap()
        .lines()
        .any(|l| l.contains(" get ") && !l.contains("-> ?"));
    assert!(stale_get, "a completed get is a culprit:\n{detail}");
    let (html, picture, causal) = (
        read("report.html"),
        read("counterexample.svg"),
        read("causal.svg"),
    );
    for n in &named {
        assert!(
            picture.contains(&format!("{n} ")),
            "{n} in counterexample.svg"
        );
        assert!(
            html.contains(&format!("<td>{n}</td>"))
                && html.contains("culprit: no order explains it"),
            "{n} in the operations table of report.html"
        );
        assert!(
            causal.contains(&format!("reply {n} ")) || causal.contains(&format!("culprit {n}")),
            "{n} in the causal diagram"
        );
    }
    assert!(
        picture.contains("CULPRIT"),
        "the picture marks the culprits"
    );
    assert!(
        causal.contains("answered culprit"),
        "the answering server is highlighted"
    );
    assert!(causal.contains("violation"), "the violation is marked");
    // The scenario's own words open the report.
    assert!(html.contains("Raft bug: a deposed leader answers reads with stale data"));
    assert!(html.contains("When a partition cuts the leader off"));
}

#[test]
fn the_election_safety_window_holds_both_elections() {
    let scenario = load_file(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/raft-bug-forget_vote.ron"
    )))
    .unwrap();
    let spec = scenario.to_run_spec(9, true);
    let outcome = run(&spec);
    let f = focus(&spec, &outcome);
    assert_eq!(f.check, "election-safety");
    assert_eq!(
        f.servers.len(),
        2,
        "two leaders highlighted: {:?}",
        f.servers
    );
    let term: u64 = f.servers[0]
        .1
        .rsplit(' ')
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap();
    let elections: Vec<u64> = outcome
        .roles
        .iter()
        .filter(|r| r.role == "leader" && r.term == term)
        .map(|r| r.time)
        .collect();
    assert!(elections.len() >= 2, "{elections:?}");
    for t in &elections[..2] {
        assert!(
            f.from <= *t && *t <= f.to,
            "election at {t} outside the window [{}, {}]",
            f.from,
            f.to
        );
    }
    // The diagram the report draws is that window, with both leaders marked.
    let out = tmp("why-election");
    assert_eq!(report("scenarios/raft-bug-forget_vote.ron", 9, &out), 1);
    let causal = std::fs::read_to_string(out.join("causal.svg")).unwrap();
    assert!(causal.contains(&format!("leader of term {term}")));
    assert!(causal.contains(&format!("also leader of term {term}")));
}

/// The text of the step-through view's server cards in a dumped DOM.
fn drawn_state(dom: &str) -> String {
    let start = dom
        .find("id=\"st-nodes\"")
        .expect("the step-through view is drawn");
    let end = dom[start..].find("id=\"st-clients\"").unwrap_or(0);
    dom[start..start + end].to_string()
}

#[test]
fn moving_the_step_through_slider_changes_the_drawn_state() {
    let out = tmp("why-slider");
    assert_eq!(
        report("scenarios/raft-bug-stale_leader_read.ron", 4, &out),
        1
    );
    let page = format!("file://{}", out.join("report.html").display());
    let mut states = Vec::new();
    // `#step=N` sets the slider and sends it an input event, as dragging it does.
    for step in ["", "#step=10", "#step=3000"] {
        let Some(o) = chromium(&["--dump-dom"], &format!("{page}{step}")) else {
            return;
        };
        let dom = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(dom.contains("data-ready="), "the script ran");
        let errors: Vec<String> = String::from_utf8_lossy(&o.stderr)
            .lines()
            .filter(|l| l.contains("CONSOLE") && l.contains("ERROR"))
            .map(str::to_string)
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        states.push(drawn_state(&dom));
    }
    assert!(states[0].contains("leader"), "opens with a leader drawn");
    assert!(
        states[0].contains("answered culprit"),
        "opens at the violation"
    );
    assert_ne!(states[0], states[1], "the slider changed the drawing");
    assert_ne!(states[1], states[2], "the slider changed the drawing");
    assert!(states[1].contains("term"), "servers show their term");
}

/// Every bundled bug scenario, at its first failing seed, and whether the tour also shows its
/// step-through view (one per protocol family).
const BUGS: &[(&str, u64, bool)] = &[
    ("2pc-bug-commit_without_all_votes", 0, false),
    ("2pc-bug-decide_before_log", 2, true),
    ("2pc-bug-unilateral_abort", 1, false),
    ("2pc-bug-vote_before_log", 0, false),
    ("lock-bug-blind_write", 0, false),
    ("lock-bug-client_clock_lease", 0, false),
    ("lock-bug-no_drift_margin", 0, false),
    ("lock-bug-no_fencing", 0, true),
    ("lock-bug-release_without_owner_check", 0, false),
    ("lock-bug-session_closed_after_acquire", 0, true),
    ("lock-bug-volatile_redis", 0, false),
    ("multipaxos-bug-acceptor_forgets", 1, false),
    ("multipaxos-bug-lease_read_without_margin", 318, false),
    ("multipaxos-bug-no_gap_fill", 440, true),
    ("multipaxos-bug-skip_phase1_recovery", 0, false),
    ("paxos-bug-acceptor_forgets", 0, true),
    ("paxos-bug-half_quorum", 13, false),
    ("paxos-bug-no_value_adoption", 17, false),
    ("raft-bug-commit_previous_term", 259, false),
    ("raft-bug-forget_vote", 9, true),
    ("raft-bug-no_log_check", 0, false),
    ("raft-bug-stale_leader_read", 4, true),
];

/// The tour's screenshots: each bug scenario's report (its top: title, verdict, checks,
/// culprits, servers) and its step-through view at the violation. Written to docs/tour/ when
/// `FAULTLINE_UPDATE_TOUR=1`, else to a temporary folder (the run still proves they render).
#[test]
fn tour_screenshots_of_every_bug_report() {
    let update = std::env::var("FAULTLINE_UPDATE_TOUR").is_ok_and(|v| v == "1");
    let shots = if update {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/tour")
    } else {
        tmp("why-tour")
    };
    std::fs::create_dir_all(&shots).unwrap();
    for &(name, seed, step) in BUGS {
        let out = tmp(&format!("why-tour-{name}"));
        let code = report(&format!("scenarios/{name}.ron"), seed, &out);
        assert_eq!(code, 1, "{name} seed {seed} still fails");
        let page = format!("file://{}", out.join("report.html").display());
        let views: &[(&str, &str, &str)] = if step {
            &[("", "", "1000,1000"), ("-step", "#only", "1000,900")]
        } else {
            &[("", "", "1000,1000")]
        };
        for &(suffix, hash, size) in views {
            let file = shots.join(format!("{name}{suffix}.png"));
            let arg = format!("--screenshot={}", file.display());
            // Three quarters scale: readable, and small files for the repository.
            let Some(_) = chromium(
                &[
                    &arg,
                    &format!("--window-size={size}"),
                    "--force-device-scale-factor=0.75",
                ],
                &format!("{page}{hash}"),
            ) else {
                return;
            };
            let png = std::fs::read(&file).unwrap();
            assert!(png.starts_with(b"\x89PNG"), "{name}: a PNG");
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}

/// One failing run per protocol family, and what it breaks: `(scenario, seed, text
/// replaced in it, checks expected to fail)`. A replacement turns a passing scenario into a
/// failing one where no bundled bug breaks that check.
/// `(scenario, seed, (text, replacement), checks that fail)`.
type Dated = (
    &'static str,
    u64,
    (&'static str, &'static str),
    &'static [&'static str],
);

const DATED: &[Dated] = &[
    ("raft-bug-forget_vote", 9, ("", ""), &["election-safety"]),
    (
        "raft-bug-commit_previous_term",
        259,
        ("", ""),
        &["leader-completeness"],
    ),
    ("raft-bug-no_log_check", 0, ("", ""), &["log-matching"]),
    (
        "raft-bug-stale_leader_read",
        4,
        ("", ""),
        &["linearizability"],
    ),
    (
        "paxos-bug-acceptor_forgets",
        0,
        ("", ""),
        &["agreement", "stability"],
    ),
    ("paxos-bug-half_quorum", 13, ("", ""), &["agreement"]),
    (
        "multipaxos-bug-skip_phase1_recovery",
        0,
        ("", ""),
        &["agreement", "stability"],
    ),
    ("multipaxos-bug-no_gap_fill", 440, ("", ""), &["liveness"]),
    ("3pc-partition", 0, ("", ""), &["atomicity", "conservation"]),
    (
        "2pc-bug-commit_without_all_votes",
        0,
        ("", ""),
        &["validity"],
    ),
    ("lock-bug-no_fencing", 0, ("", ""), &["mutual-exclusion"]),
    (
        "lock-bug-session_closed_after_acquire",
        0,
        ("", ""),
        &["mutual-exclusion"],
    ),
    ("lock-bug-blind_write", 0, ("", ""), &["lost-update"]),
    (
        "lb-backend-crash",
        0,
        ("error_rate_max: Some(0.01)", "p99_max: Some(\"1us\")"),
        &["bounds"],
    ),
];

/// Every failing check of every protocol family dates its violation and names what it
/// involves, so that the report centres on it: the focus of each violated check has a time
/// inside the run and operations or nodes to show.
#[test]
fn every_failing_check_gives_the_report_a_time_and_what_it_involves() {
    for &(name, seed, (from, to), expected) in DATED {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.ron"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{name}: `{from}` not in the scenario");
        let text = text.replacen(from, to, 1);
        let s = faultline::scenario::load_str(&text, name).unwrap();
        let spec = s.to_run_spec(seed, true);
        let o = run(&spec);
        let failed: Vec<&str> = o
            .checks
            .iter()
            .filter(|c| c.verdict == faultline::protocols::Verdict::Violation)
            .map(|c| c.name.as_str())
            .collect();
        for e in expected {
            assert!(
                failed.contains(e),
                "{name} seed {seed}: {e} does not fail: {failed:?}"
            );
        }
        for c in o
            .checks
            .iter()
            .filter(|c| c.verdict == faultline::protocols::Verdict::Violation)
        {
            let f = focus_on(&spec, &o, c);
            let at = f
                .time
                .unwrap_or_else(|| panic!("{name}: {} is not dated", c.name));
            assert!(at <= o.stats.time, "{name}: {} dated after the run", c.name);
            assert!(
                f.from <= at && at <= f.to,
                "{name}: {}'s window {}..{} misses its time {at}",
                c.name,
                f.from,
                f.to
            );
            assert!(
                !f.ops.is_empty() || !f.servers.is_empty(),
                "{name}: {} names no operation and no node",
                c.name
            );
            assert!(
                !f.targets.is_empty(),
                "{name}: {} has no causal slice",
                c.name
            );
        }
    }
}

/// The step-through data of a report: its events (time, kind, node, peer, sent) and its
/// node views by step, as the page unpacks them.
struct StepData {
    json: serde_json::Value,
    events: Vec<[u64; 5]>,
}

fn step_data(report_html: &Path) -> StepData {
    let html = std::fs::read_to_string(report_html).unwrap();
    let open = "<script id=\"st-data\" type=\"application/json\">";
    let from = html.find(open).expect("a step-through view") + open.len();
    let to = from + html[from..].find("</script>").unwrap();
    let json: serde_json::Value = serde_json::from_str(&html[from..to]).unwrap();
    let flat: Vec<u64> = json["ev"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let mut t = 0;
    let events = flat
        .chunks(5)
        .map(|e| {
            t += e[0];
            [t, e[1], e[2], e[3], t - e[4]]
        })
        .collect();
    StepData { json, events }
}

/// Each node's role, term and fields after step `k` (its last view at or before it). A
/// field written `0` is the one at its place in the node's previous view, as the page reads it.
fn views_at(d: &StepData, k: u64) -> Vec<(u64, serde_json::Value)> {
    let mut last: std::collections::BTreeMap<u64, serde_json::Value> = Default::default();
    let mut fields: std::collections::BTreeMap<u64, Vec<serde_json::Value>> = Default::default();
    for v in d.json["views"].as_array().unwrap() {
        let node = v[1].as_u64().unwrap();
        let view = if v[2].is_null() {
            serde_json::Value::Null
        } else {
            let prev = fields.remove(&node).unwrap_or_default();
            let now: Vec<serde_json::Value> = (v[2][2].as_array().unwrap().iter().enumerate())
                .map(|(i, f)| if f == 0 { prev[i].clone() } else { f.clone() })
                .collect();
            fields.insert(node, now.clone());
            serde_json::json!([v[2][0], v[2][1], now, v[2][4]])
        };
        if v[0].as_u64().unwrap() <= k {
            last.insert(node, view);
        }
    }
    last.into_iter().collect()
}

/// The default step-through view is a window of the run (around the violation; a run that
/// passed: its start), recorded by a replay of the window alone: it shows exactly the events
/// and node states of the same stretch of the whole run's view (`--steps all`), and opens at
/// the same event.
#[test]
fn the_step_through_window_is_the_same_stretch_of_the_whole_run() {
    for (scenario, seed, code) in [
        ("scenarios/raft-bug-stale_leader_read.ron", 4, 1),
        ("scenarios/raft-partitions.ron", 0, 0),
        ("scenarios/multipaxos-bug-no_gap_fill.ron", 440, 1),
    ] {
        let (win, all) = (tmp("why-window"), tmp("why-all"));
        assert_eq!(report(scenario, seed, &win), code, "{scenario}");
        let st = super::report::bin()
            .args([
                "run",
                scenario,
                "--seed",
                &seed.to_string(),
                "--steps",
                "all",
            ])
            .args(["--out", all.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(st.status.code(), Some(code), "{scenario}");
        let (w, a) = (
            step_data(&win.join("report.html")),
            step_data(&all.join("report.html")),
        );
        assert!(
            w.events.len() * 4 < a.events.len(),
            "{scenario}: a window, {} of {} events",
            w.events.len(),
            a.events.len()
        );
        let off = a
            .events
            .iter()
            .position(|e| *e == w.events[0])
            .expect("the window's first event is in the whole run");
        assert_eq!(
            &a.events[off..off + w.events.len()],
            &w.events[..],
            "{scenario}: the same events"
        );
        let start = |d: &StepData| d.json["start"].as_u64().unwrap();
        assert_eq!(start(&w) + off as u64, start(&a), "{scenario}: opens there");
        let last = w.events.len() as u64 - 1;
        for k in [0, 1, start(&w), last / 2, last] {
            assert_eq!(
                views_at(&w, k),
                views_at(&a, k + off as u64),
                "{scenario}: the nodes after step {k} of the window"
            );
        }
        let html = std::fs::read_to_string(win.join("report.html")).unwrap();
        assert!(html.contains("--steps all</code> shows every event"));
    }
}

/// The message diagram labels a client's messages with the operation they belong to, and a
/// reply with that operation's result only where it gave it. Per case, `(scenario, seed,
/// change to the scenario, picture, text in a message's tooltip, what its label must be)`:
/// - Raft: a server that was not the leader answered `NotLeader` and the client retried
///   elsewhere; that arrow reads `reply #N` alone, never the `-> ok` another reply brought.
/// - A lock client writes the instant its acquire is granted: the grant is the acquire's
///   reply (`acquire ... -> held`), not the write's.
/// - A load balancer runs every strategy on the same arrivals and traces the first: its
///   replies name the first strategy's operations, not another's with the same timing; its
///   open-loop clients have several requests in flight, listed by completion: each request
///   is the operation it asked for (the same key), each reply the one it completed.
/// - With a constant latency, Redlock's five replicas answer at the same instant: one of
///   those replies shows the result, the others the operation alone.
///
/// In every case, no two replies show one operation's result.
#[test]
fn a_reply_is_labelled_with_its_operation_and_the_result_it_carried() {
    #[derive(Clone, Copy)]
    enum Want {
        Bare,
        Has(&'static str),
        /// The label names the key the tooltip's `key: N` asks for (`kN`).
        SameKey,
    }
    let constant = ("Uniform(min: \"1ms\", max: \"10ms\")", "Constant(\"2ms\")");
    let same = ("", "");
    let cases = [
        (
            "raft-partitions",
            0,
            same,
            "sequence.svg",
            "NotLeader",
            Want::Bare,
        ),
        (
            "raft-partitions",
            0,
            same,
            "sequence.svg",
            "Reply(Done",
            Want::Has(" -> "),
        ),
        (
            "lock-bug-no_fencing",
            1,
            same,
            "causal.svg",
            "granted: true",
            Want::Has(" acquire "),
        ),
        (
            "lock-bug-no_fencing",
            1,
            same,
            "causal.svg",
            "ReleaseReply",
            Want::Has(" release "),
        ),
        (
            "lb-strategies",
            0,
            same,
            "sequence.svg",
            "Reply(Reply {",
            Want::Has(" random #"),
        ),
        (
            "lb-strategies",
            0,
            same,
            "sequence.svg",
            "Request(Request",
            Want::SameKey,
        ),
        (
            "lock-redlock",
            0,
            constant,
            "sequence.svg",
            "granted: true",
            Want::Has("reply #"),
        ),
    ];
    for (k, (name, seed, (from, to), file, said, want)) in cases.into_iter().enumerate() {
        let out = tmp(&format!("reply-labels-{k}"));
        let mut scenario = format!("scenarios/{name}.ron");
        if !from.is_empty() {
            let text = std::fs::read_to_string(&scenario).unwrap();
            assert!(text.contains(from), "{name}: no {from}");
            let changed = out.join("changed.ron");
            std::fs::write(&changed, text.replace(from, to)).unwrap();
            scenario = changed.to_string_lossy().to_string();
        }
        let code = report(&scenario, seed, &out.join("report"));
        assert!(code == 0 || code == 1, "{name}: exit {code}");
        let svg = std::fs::read_to_string(out.join("report").join(file)).unwrap();
        // Each arrow: `<line ...><title>what it said</title></line><text ...>its label</text>`.
        let (mut seen, mut results) = (0, Vec::new());
        for arrow in svg.split("<line").skip(1) {
            let title = arrow
                .split_once("<title>")
                .and_then(|(_, t)| t.split_once("</title>"))
                .map_or("", |(t, _)| t);
            let label = arrow
                .split_once("</line><text")
                .and_then(|(_, t)| t.split_once('>'))
                .and_then(|(_, t)| t.split_once("</text>"))
                .map_or("", |(t, _)| t);
            let rest = label.strip_prefix("reply #").unwrap_or("");
            if let Some((n, _)) = rest.split_once(' ') {
                results.push(n.to_string());
            }
            if !title.contains(said) {
                continue;
            }
            seen += 1;
            let ok = match want {
                Want::Bare => !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()),
                Want::Has(t) => label.contains(t),
                Want::SameKey => title
                    .split_once("key: ")
                    .and_then(|(_, k)| k.split(|c: char| !c.is_ascii_digit()).next())
                    .is_some_and(|key| {
                        label.starts_with("request #")
                            && label.split(' ').any(|w| w == format!("k{key}"))
                    }),
            };
            assert!(ok, "{name}: {title} labelled {label}");
        }
        assert!(
            seen > 0,
            "{name} seed {seed}: nothing saying {said:?} in {file}"
        );
        let mut once = results.clone();
        once.sort();
        once.dedup();
        assert_eq!(
            once.len(),
            results.len(),
            "{name}: one reply gives each result"
        );
        let _ = std::fs::remove_dir_all(&out);
    }
}
