//! The coordinator lock's stories (ZooKeeper/Chubby style, on the project's Raft): the lock
//! table queues waiters in order and its nodes die with their session; a paused holder loses
//! its session and the sequencer stops its late write, while the same schedule without
//! fencing gives two writers; closing the session right after acquiring (the tutorial's
//! sample) frees the lock at once; the table's history is a mutex history that
//! `faultline check --model mutex` reads. The pinned first failing seed and the shrink are in
//! `locks.rs` with the other lock mistakes; 2,000-seed figures are in the README.

use std::path::PathBuf;
use std::process::Command;

use faultline::protocols::lock::table::{LockTable, TableEvent};
use faultline::protocols::raft::StateMachine;
use faultline::protocols::{ProtocolSpec, RunOutcome, Verdict, lock, run};
use faultline::scenario::Scenario;
use faultline::workload::lock::{Owner, SessionOp, SessionResult};

use super::scenario;

fn set_fencing(s: &mut Scenario, on: bool) {
    match &mut s.protocol {
        ProtocolSpec::CoordinatorLock(c) => c.fencing = on,
        p => panic!("not a coordinator lock: {p:?}"),
    }
}

/// A figure of one of the run's tables, by title and the start of its name.
fn figure(o: &RunOutcome, table: &str, name: &str) -> u64 {
    o.tables
        .iter()
        .find(|t| t.title == table)
        .and_then(|t| t.rows.iter().find(|r| r[0].starts_with(name)))
        .and_then(|r| r[1].parse().ok())
        .unwrap_or_else(|| panic!("no figure {table} / {name}"))
}

fn check<'a>(o: &'a RunOutcome, name: &str) -> &'a faultline::protocols::CheckOutcome {
    o.checks.iter().find(|c| c.name == name).unwrap()
}

fn owner(client: u32) -> Owner {
    Owner { client, hold: 1 }
}

#[test]
fn the_lock_table_queues_in_order_and_nodes_die_with_their_session() {
    use SessionOp::*;
    use SessionResult::*;
    // (log index, client of the request or None for the leader's own, op, answer)
    let steps: &[(u64, Option<u32>, SessionOp, Option<SessionResult>)] = &[
        (
            1,
            Some(0),
            Open { timeout: 500 },
            Some(Opened { session: 1 }),
        ),
        (
            2,
            Some(1),
            Open { timeout: 500 },
            Some(Opened { session: 2 }),
        ),
        (
            3,
            Some(2),
            Open { timeout: 500 },
            Some(Opened { session: 3 }),
        ),
        (
            4,
            Some(0),
            Create {
                session: 1,
                owner: owner(0),
            },
            Some(Queued {
                node: 4,
                ahead: None,
            }),
        ),
        (
            5,
            Some(1),
            Create {
                session: 2,
                owner: owner(1),
            },
            Some(Queued {
                node: 5,
                ahead: Some(4),
            }),
        ),
        (
            6,
            Some(2),
            Create {
                session: 3,
                owner: owner(2),
            },
            Some(Queued {
                node: 6,
                ahead: Some(5),
            }),
        ),
        // c1's session expires while it waits: its node goes, c2 now watches c0's.
        (7, None, Expire { session: 2 }, None),
        (
            8,
            Some(2),
            Check {
                session: 3,
                node: 6,
            },
            Some(Queued {
                node: 6,
                ahead: Some(4),
            }),
        ),
        (
            9,
            Some(1),
            Create {
                session: 2,
                owner: owner(1),
            },
            Some(NoSession),
        ),
        // c0 closes its session: the lock passes to c2, sequencer 6.
        (10, Some(0), Close { session: 1 }, Some(Closed)),
        (
            11,
            Some(2),
            Check {
                session: 3,
                node: 6,
            },
            Some(Queued {
                node: 6,
                ahead: None,
            }),
        ),
        (
            12,
            Some(0),
            Delete {
                session: 1,
                node: 4,
            },
            Some(Deleted { existed: false }),
        ),
        (
            13,
            Some(2),
            Delete {
                session: 3,
                node: 6,
            },
            Some(Deleted { existed: true }),
        ),
        // A client cannot expire a session; only the leader's own entries do.
        (14, Some(2), Expire { session: 3 }, Some(NoSession)),
    ];
    let mut t = LockTable::default();
    for (i, (index, client, op, want)) in steps.iter().enumerate() {
        // The result is kept for the leader to answer with (and a retry of the same request
        // is answered from the dedup table, not applied again).
        let request = client.map(|c| (c, i as u64 + 1));
        t.apply(*index, request, op);
        let got = request.and_then(|(c, seq)| t.answered(c, seq));
        assert_eq!(&got, want, "index {index}: {op:?}");
        if let Some((c, seq)) = request {
            t.apply(*index, request, op);
            assert_eq!(t.answered(c, seq).as_ref(), want.as_ref(), "a retry");
        }
    }
    let events: Vec<&TableEvent> = t.events.iter().map(|(_, e)| e).collect();
    let grants: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            TableEvent::Granted { token, .. } => Some(*token),
            _ => None,
        })
        .collect();
    assert_eq!(grants, [4, 6], "sequencers of successive holders increase");
    // Watches: c2 when c1's node (just before its own) went, and again when c0's did; never
    // a herd.
    let notified: Vec<(u32, u64)> = events
        .iter()
        .filter_map(|e| match e {
            TableEvent::Notify { client, node } => Some((*client, *node)),
            _ => None,
        })
        .collect();
    assert_eq!(notified, [(2, 6), (2, 6)]);
    assert!(t.children.is_empty() && t.sessions.len() == 1);
}

#[test]
fn a_paused_holder_loses_its_session_and_its_sequencer_stops_the_late_write() {
    let s = scenario("lock-coordinator.ron");
    let o = run(&s.to_run_spec(0, false));
    assert_eq!(o.verdict(), Verdict::Pass, "{:?}", o.checks);
    for role in ["leader", "follower", "holder", "waiting", "paused", "down"] {
        assert!(o.roles.iter().any(|r| r.role == role), "no {role} role");
    }
    // The lock alone failed (a paused holder's session expired, the next waiter got the
    // lock); the sequencer checked by the storage held.
    assert!(figure(&o, "Coordinator", "sessions expired by the leader") > 0);
    assert!(figure(&o, "Coordinator", "watches fired") > 0);
    assert!(figure(&o, "Lock service", "overlapping believed holds") > 0);
    assert!(figure(&o, "Lock service", "stale writes rejected") > 0);
    // Raft underneath is judged too.
    for c in [
        "election-safety",
        "log-matching",
        "leader-completeness",
        "state-machine-safety",
    ] {
        assert_eq!(check(&o, c).verdict, Verdict::Pass, "{c}");
    }
    assert!(check(&o, "liveness").detail.contains("clients judged"));

    // The same seed, the same pauses, storage that ignores the sequencer: two writers.
    let mut unfenced = s.clone();
    set_fencing(&mut unfenced, false);
    let o = run(&unfenced.to_run_spec(0, false));
    let c = check(&o, "mutual-exclusion");
    assert_eq!(c.verdict, Verdict::Violation);
    assert!(
        c.detail.contains("stale write accepted")
            && c.detail.contains("believed it held the lock from")
            && c.detail.contains("token"),
        "{}",
        c.detail
    );
    assert_eq!(c.ops.len(), 2);
    assert!(c.ops.iter().all(|&i| o.ops[i].kind == "write"));
}

#[test]
fn closing_the_session_after_acquiring_frees_the_lock_while_the_client_works() {
    let s = scenario("lock-bug-session_closed_after_acquire.ron");
    let o = run(&s.to_run_spec(0, false));
    let c = check(&o, "mutual-exclusion");
    assert_eq!(c.verdict, Verdict::Violation);
    // The two holders, their beliefs in true time, and the stale write.
    assert_eq!(
        c.detail.matches("believed it held the lock from").count(),
        2
    );
    assert!(c.detail.contains("stale write accepted"), "{}", c.detail);
    assert!(figure(&o, "Coordinator", "sessions closed by their client") > 0);
    // The service itself did nothing wrong: its grants and releases are a mutex history.
    assert_eq!(check(&o, "lock-linearizability").verdict, Verdict::Pass);
    // With the sequencer checked, the same clients' stale writes are rejected.
    let mut fenced = s.clone();
    set_fencing(&mut fenced, true);
    let o = run(&fenced.to_run_spec(0, false));
    assert_eq!(check(&o, "mutual-exclusion").verdict, Verdict::Pass);
    assert!(figure(&o, "Lock service", "stale writes rejected") > 0);
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-coord-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn the_coordinator_history_is_read_by_check_model_mutex() {
    let d = tmp("mutex");
    for (name, seed) in [
        ("lock-coordinator.ron", 1),
        ("lock-bug-session_closed_after_acquire.ron", 0),
    ] {
        let spec = scenario(name).to_run_spec(seed, false);
        let h = lock::history(&spec).expect("a coordinator lock has a lock history");
        assert!(h.len() > 50, "{name}: {} operations", h.len());
        let f = d.join(format!("{name}-{seed}.json"));
        std::fs::write(&f, lock::mutex_json(&h)).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["check", f.to_str().unwrap(), "--model", "mutex"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{name}: {text}");
        assert!(text.contains("linearizable"), "{text}");
    }
}
