//! `faultline compare`: two scenarios that differ only in protocol, on the same seeds, side by
//! side, through the real binary: the figures, the refusal of scenarios that differ in more,
//! the plot (and the files it will not overwrite), and a result independent of threads.

use std::path::PathBuf;
use std::process::Command;

fn bin(args: &[&str]) -> (Option<i32>, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-compare-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

const RAFT: &str = "scenarios/raft-partitions.ron";
const MULTI: &str = "scenarios/multipaxos-partitions.ron";

#[test]
fn raft_and_multipaxos_side_by_side_with_a_plot() {
    let plot = temp("cmp.svg");
    let p = plot.to_str().unwrap();
    let (code, out, err) = bin(&["compare", RAFT, MULTI, "--seeds", "0..2", "--plot", p]);
    assert_eq!(code, Some(0), "{out}{err}");
    for row in [
        "operations completed",
        "latency p50",
        "latency p99",
        "longest stretch without a completion",
        "leader elections",
        "messages per completed operation",
        "check linearizability",
        "check election-safety",
        "check stability",
        "fault schedule identical on every seed",
    ] {
        assert!(out.contains(row), "{row} missing:\n{out}");
    }
    assert!(
        out.contains("raft (scenarios/raft-partitions.ron)"),
        "{out}"
    );
    // Summed over two seeds: checks count seeds, and a protocol's own checks show `-` on
    // the other side.
    let lin = out
        .lines()
        .find(|l| l.contains("check linearizability"))
        .unwrap();
    assert_eq!(lin.matches("2 pass").count(), 2, "{lin}");
    let stab = out.lines().find(|l| l.contains("check stability")).unwrap();
    assert!(stab.contains(" - "), "{stab}");
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("seed 0"),
        "{svg:.200}"
    );
    assert!(
        svg.contains("#2a7ab9") && svg.contains("#e67e22"),
        "both series drawn"
    );
    assert!(svg.contains("opacity=\"0.35\""), "fault windows shaded");
    // Its own plot may be replaced; a file the user wrote may not.
    let (code, _, err) = bin(&["compare", RAFT, MULTI, "--plot", p]);
    assert_eq!(code, Some(0), "{err}");
    let mine = temp("notes.svg");
    std::fs::write(&mine, "my notes").unwrap();
    let (code, _, err) = bin(&["compare", RAFT, MULTI, "--plot", mine.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("refusing to overwrite"), "{err}");
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "my notes");
    let (code, _, err) = bin(&["compare", RAFT, MULTI, "--plot", MULTI]);
    assert_eq!(code, Some(2), "{err}");
}

#[test]
fn the_result_does_not_depend_on_threads() {
    let one = bin(&["compare", RAFT, MULTI, "--seeds", "3..6", "--jobs", "1"]);
    let two = bin(&["compare", RAFT, MULTI, "--seeds", "3..6", "--jobs", "3"]);
    assert_eq!(one.0, Some(0), "{}{}", one.1, one.2);
    assert_eq!(one.1, two.1);
}

#[test]
fn scenarios_that_differ_in_more_than_the_protocol_are_refused() {
    let (code, out, err) = bin(&["compare", RAFT, "scenarios/multipaxos-crash-restart.ron"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("differ in more than their protocol"), "{err}");
    assert!(err.contains("faults.nemesis.crash"), "{err}");
    assert!(out.is_empty(), "nothing ran: {out}");
    let (code, _, err) = bin(&["compare", RAFT, MULTI, "--seeds", "5..5"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--seeds"), "{err}");
}

#[test]
fn a_bug_variant_against_its_correct_protocol() {
    // The lease scenarios differ only in the variant: the same seed, the same faults, and
    // the bug side alone fails.
    let (code, out, err) = bin(&[
        "compare",
        "scenarios/multipaxos-leases.ron",
        "scenarios/multipaxos-bug-lease_read_without_margin.ron",
        "--seeds",
        "318",
    ]);
    assert_eq!(code, Some(1), "{out}{err}");
    let lin = out
        .lines()
        .find(|l| l.contains("check linearizability"))
        .unwrap();
    assert!(lin.contains("PASS") && lin.contains("VIOLATION"), "{lin}");
}
