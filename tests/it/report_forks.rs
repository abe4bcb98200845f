//! A report's run keeps forks of itself (`protocols::stepper::with_forks`), and the report
//! replays its window from the last fork before it: the window must hold exactly what a
//! replay from the run's start records there (the same events, labels and node views), for a
//! passing run and for a violation whatever its seed. A passing run's window, its start, is
//! recorded by the run itself as it goes: the same again.

use faultline::protocols::stepper::{ViewWindow, with_window};
use faultline::protocols::{Verdict, run};
use faultline::report::run_for_report;
use faultline::report::stepper::{Steps, replay_window};

/// The window a report of `outcome` shows, as `report::html` asks for it.
fn window_of(
    spec: &faultline::protocols::RunSpec,
    outcome: &faultline::protocols::RunOutcome,
) -> ViewWindow {
    replay_window(&faultline::report::focus::focus(spec, outcome))
}

#[test]
fn a_window_replayed_from_a_fork_is_the_window_replayed_from_the_start() {
    // A violation at whichever seed first shows one (no seed pinned: the protocol may
    // change), and a run that passes.
    let stale = super::scenario("raft-bug-stale_leader_read.ron");
    let failing = (0..60)
        .find(|&s| run(&stale.to_run_spec(s, false)).verdict() == Verdict::Violation)
        .expect("the stale read fails on some seed below 60");
    let gap = super::scenario("multipaxos-bug-no_gap_fill.ron");
    let gap_seed = (400..460)
        .find(|&s| run(&gap.to_run_spec(s, false)).verdict() == Verdict::Violation)
        .expect("no_gap_fill fails on some seed in 400..460");
    let cases = [
        (stale, failing),
        (gap, gap_seed),
        (super::scenario("raft-partitions.ron"), 0),
        (super::scenario("raft-crash-restart.ron"), 1),
    ];
    let mut replayed_from_a_fork = 0;
    let mut recorded_by_the_run = 0;
    for (scenario, seed) in cases {
        let spec = scenario.to_run_spec(seed, true);
        let outcome = run_for_report(&spec, Steps::Window);
        assert!(
            outcome.records.is_empty(),
            "{}: the run records nothing",
            scenario.name
        );
        let w = window_of(&spec, &outcome);
        let from_start = with_window(Some(w), || run(&spec));
        // The window a passing run shows, its start, the run recorded itself as it went.
        // Another window that begins by the first fork is replayed from the start (a
        // diagram may reach back to where the violation's story began). Any later window
        // must come from a fork.
        let first = outcome.replay.first_fork().expect("the run kept forks");
        let own = outcome.replay.recorded_start() == Some(w);
        if outcome.verdict() == Verdict::Pass {
            assert!(
                own,
                "{}: a passing run shows its recorded start",
                scenario.name
            );
        }
        let Some(forked) = outcome.replay.window(w) else {
            assert!(!own, "{}: the recorded start is handed out", scenario.name);
            assert!(
                w.from <= first,
                "{} seed {seed}: no fork before {w:?}",
                scenario.name
            );
            continue;
        };
        if own {
            recorded_by_the_run += 1;
        } else {
            assert!(w.from > first, "{}", scenario.name);
            replayed_from_a_fork += 1;
        }
        assert!(
            !forked.records.is_empty(),
            "{}: the window has events",
            scenario.name
        );
        assert_eq!(
            forked.records, from_start.records,
            "{}: the same events",
            scenario.name
        );
        for i in 0..forked.records.len() {
            assert_eq!(
                forked.labels.get(&forked.records, i),
                from_start.labels.get(&from_start.records, i),
                "{}: the label of event {i}",
                scenario.name
            );
        }
        assert_eq!(
            forked.views, from_start.views,
            "{}: the same node views",
            scenario.name
        );
        assert!(
            outcome.replay.window(w).is_none(),
            "{}: the forks and the recorded start are used once",
            scenario.name
        );
    }
    // The stale read's window lies well after the first fork; the two passing runs show
    // their start.
    assert!(replayed_from_a_fork >= 1, "no window came from a fork");
    assert_eq!(
        recorded_by_the_run, 2,
        "the passing runs recorded their start"
    );
}
