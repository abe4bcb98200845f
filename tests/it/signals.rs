//! Stopping a command with Ctrl-C or SIGTERM: a sweep keeps every finished seed and says
//! what finished, a suite or a shrink writes what it has, and a violation or failure found
//! before the signal is never hidden behind 130/143. Each case drives the real binary with a
//! time limit, so a hang fails instead of blocking the suite.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::cli::{bin, run, text, tmp};
use super::cli_robust::{MAX, drain, lines, scenario, wait_within};

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: sending a signal to our own child process.
    let r = unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    assert_eq!(r, 0, "kill({sig})");
}

/// The signals that stop a long command gracefully, with the exit code each gives: Ctrl-C,
/// and SIGTERM (what `timeout`, CI runners, Kubernetes and Slurm send at a deadline).
const STOPS: [(libc::c_int, i32, &str); 2] = [
    (libc::SIGINT, 130, "interrupted"),
    (libc::SIGTERM, 143, "terminated (SIGTERM)"),
];

#[test]
fn a_huge_range_with_intent_runs_lazily_and_stops_on_ctrl_c() {
    let d = tmp("huge");
    let j = d.join("huge.jsonl");
    let r = format!("0..{MAX}");
    let (status, out, err) = stop_sweep(
        &[&r, "--allow-huge-range", "--jobs", "2"],
        &j,
        3,
        libc::SIGINT,
    );
    let t = format!("{out}{err}");
    assert_eq!(status.code(), Some(130), "{t}");
    let l = lines(&j);
    assert!(l.len() >= 3, "{t}");
    let seeds: Vec<u64> = l.iter().map(|x| x["seed"].as_u64().unwrap()).collect();
    assert!(
        seeds.windows(2).all(|w| w[0] < w[1]),
        "seed order: {seeds:?}"
    );
    assert!(
        t.contains(&format!("{} seeds of raft-basic", l.len())),
        "{t}"
    );
    assert!(t.contains("resume with --seeds"), "{t}");
}

/// Sweeps raft-basic with `--seeds` and the `args` after it, streaming to `json`; sends `sig`
/// once `n` lines are written; returns the exit status, stdout and stderr.
fn stop_sweep(
    args: &[&str],
    json: &Path,
    n: usize,
    sig: libc::c_int,
) -> (std::process::ExitStatus, String, String) {
    let mut child = bin()
        .args(["sweep", "scenarios/raft-basic.ron", "--seeds"])
        .args(args)
        .arg("--json")
        .arg(json)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (out, err) = (drain(child.stdout.take()), drain(child.stderr.take()));
    wait_for_lines(json, n, &mut child);
    signal(&child, sig);
    let status = wait_within(&mut child, 30);
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).to_string();
    (status, text(out.join().unwrap()), text(err.join().unwrap()))
}

/// Waits until `p` holds at least `n` lines (the child must still be running).
fn wait_for_lines(p: &Path, n: usize, child: &mut Child) {
    let start = Instant::now();
    loop {
        let have = std::fs::read_to_string(p).map_or(0, |t| t.lines().count());
        if have >= n {
            return;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sweep ended before it was interrupted"
        );
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("no streamed line within 60s: --json is not streamed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ctrl_c_or_sigterm_on_a_sweep_keeps_every_finished_seed() {
    for (sig, code, said) in STOPS {
        let d = tmp(&format!("sig{sig}"));
        let j = d.join("part.jsonl");
        let (status, out, err) = stop_sweep(&["0..100000"], &j, 2, sig);
        assert_eq!(status.code(), Some(code), "{out}{err}");
        let l = lines(&j);
        assert!(l.len() >= 2);
        for x in &l {
            assert_eq!(x["scenario"], "raft-basic");
            assert_eq!(x["scenario_hash"].as_str().unwrap().len(), 16);
            assert_eq!(x["faultline"], env!("CARGO_PKG_VERSION"));
        }
        // The summary so far counts exactly the seeds written.
        assert!(
            out.contains(&format!(
                "{} seeds of raft-basic (0..100000): {} passed, 0 failed",
                l.len(),
                l.len()
            )),
            "{out}"
        );
        assert!(err.contains(said), "{err}");
        // The resume hint never sends the rest of the sweep over the seeds already written.
        assert!(
            err.contains("into a new JSON file, then join the two with `faultline merge`"),
            "{err}"
        );
    }
}

/// Waits until `child` has installed its handler for `sig` (Linux: the signal's bit in
/// `SigCgt` of /proc/PID/status), so a signal sent next is the command's to handle, not the
/// default's that kills it; and then until it has spent a tenth of a second of CPU time more
/// (/proc/PID/stat), so that the work after the handler is under way (a sweep's first seed
/// runs, rather than no seed yet).
#[cfg(target_os = "linux")]
fn wait_until_working(child: &mut Child, sig: libc::c_int) {
    let pid = child.id();
    let proc = |f: &str| std::fs::read_to_string(format!("/proc/{pid}/{f}")).ok();
    let caught = |t: String| {
        let mask = t
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))?
            .trim()
            .to_string();
        u64::from_str_radix(&mask, 16).ok()
    };
    // utime + stime, in clock ticks: the fields after the name, which ends at the last `)`.
    let cpu = |t: String| -> Option<u64> {
        let mut f = t.rsplit_once(')')?.1.split_whitespace().skip(11);
        Some(f.next()?.parse::<u64>().ok()? + f.next()?.parse::<u64>().ok()?)
    };
    // SAFETY: sysconf reads a constant of the system.
    let tick_hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100);
    let start = Instant::now();
    let mut since: Option<u64> = None;
    loop {
        match since {
            None => {
                if proc("status")
                    .and_then(caught)
                    .is_some_and(|m| m & (1 << (sig - 1)) != 0)
                {
                    since = proc("stat").and_then(cpu);
                }
            }
            Some(t0) => {
                if proc("stat")
                    .and_then(cpu)
                    .is_some_and(|t| t >= t0 + tick_hz / 10)
                {
                    return;
                }
            }
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the command ended before it could be signalled"
        );
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no handler for signal {sig}, or no work after it, within 30s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// `faultline ARGS`, sent `sig` once it is working ([`wait_until_working`]): how it exited,
/// its stdout and its stderr.
#[cfg(target_os = "linux")]
fn signalled_once_working(
    args: &[&str],
    sig: libc::c_int,
) -> (std::process::ExitStatus, String, String) {
    let mut child = bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (out, err) = (drain(child.stdout.take()), drain(child.stderr.take()));
    wait_until_working(&mut child, sig);
    signal(&child, sig);
    let status = wait_within(&mut child, 60);
    let out = String::from_utf8_lossy(&out.join().unwrap()).to_string();
    let err = String::from_utf8_lossy(&err.join().unwrap()).to_string();
    (status, out, err)
}

/// Sweeps of a scenario whose every seed violates, each run long (about a second), signalled
/// while seed 0 runs (one thread): (case, arguments after the range, what stderr must say).
/// With --fail-fast the violation finished made the answer whole, and the sweep exited 1
/// without its `interrupted: ...` line; without it, the violation found was hidden behind 130.
#[cfg(target_os = "linux")]
const SIGNALLED_VIOLATIONS: &[(&str, &[&str], &str)] = &[
    (
        "--fail-fast",
        &["--fail-fast"],
        "interrupted: 1 of 100 seeds finished; the answer is whole: seed 0 violated and every \
         seed before it had finished (--fail-fast)",
    ),
    (
        "every seed",
        &[],
        "interrupted: 1 of 100 seeds finished; every seed before 1 finished (resume with \
         --seeds 1..100)",
    ),
];

#[cfg(target_os = "linux")]
#[test]
fn a_signalled_sweep_always_says_so_and_never_hides_a_violation() {
    let d = tmp("signalled-violation");
    let long = d.join("long.ron");
    let src = std::fs::read_to_string(scenario("lock-bug-no_fencing.ron")).unwrap();
    let changed = src
        .replace("stop: \"10s\"", "stop: \"10000s\"")
        .replace("time: \"12s\"", "time: \"10002s\"");
    assert_ne!(
        src, changed,
        "the scenario's stop and time limit were found"
    );
    std::fs::write(&long, changed).unwrap();
    let mut failures = Vec::new();
    for (case, args, says) in SIGNALLED_VIOLATIONS {
        for (sig, _, said) in STOPS {
            let mut all = vec![
                "sweep",
                long.to_str().unwrap(),
                "--seeds",
                "0..100",
                "--jobs",
                "1",
            ];
            all.extend_from_slice(args);
            let (status, out, err) = signalled_once_working(&all, sig);
            // The violation is listed and decides the exit code; the line says what finished.
            if status.code() != Some(1)
                || !out.contains("seed      0 violation")
                || !err.contains(said)
                || !err.contains(says)
            {
                failures.push(format!(
                    "{case}, signal {sig}: expected exit 1, seed 0's violation and `{says}`, \
                     got {:?}:\n{out}{err}",
                    status.code()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A suite signalled after a scenario failed its expectation says it was interrupted and
/// exits 1, not 130/143: the failure found is its answer, never hidden. (`a.ron` fails at
/// once: forget_vote expected to pass seed 9, which violates; `b.ron`, a lock run stretched to
/// seconds a seed, is still running when the signal comes.)
#[cfg(target_os = "linux")]
#[test]
fn a_signalled_suite_never_hides_a_failed_scenario() {
    let d = tmp("signalled-suite");
    let forget = std::fs::read_to_string(scenario("raft-bug-forget_vote.ron")).unwrap();
    let a = forget.replace(
        r#"Violation(check: "election-safety", within_seeds: (0, 2000))"#,
        "Pass(seeds: (9, 10))",
    );
    let lock = std::fs::read_to_string(scenario("lock-bug-no_fencing.ron")).unwrap();
    let b = lock
        .replace("stop: \"10s\"", "stop: \"10000s\"")
        .replace("time: \"12s\"", "time: \"10002s\"")
        .replace(
            r#"Violation(check: "mutual-exclusion", within_seeds: (0, 2000))"#,
            "Pass(seeds: (0, 100))",
        );
    assert!(a != forget && b != lock, "the scenarios' fields were found");
    std::fs::write(d.join("a.ron"), a).unwrap();
    std::fs::write(d.join("b.ron"), b).unwrap();
    let mut failures = Vec::new();
    for (sig, _, said) in STOPS {
        let mut child = bin()
            .args(["suite", d.to_str().unwrap(), "--jobs", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = drain(child.stderr.take());
        // Signalled once `a.ron`'s failure is printed (b.ron then runs for seconds).
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        signal(&child, sig);
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        let status = wait_within(&mut child, 60);
        let err = String::from_utf8_lossy(&err.join().unwrap()).to_string();
        if status.code() != Some(1)
            || !first.starts_with("FAIL")
            || !err.contains(said)
            // b.ron counts too when its first seed had started, and then violated: either way
            // the suite says it was interrupted.
            || !(err.contains("interrupted: 1 of 2 scenarios judged")
                || err.contains("interrupted: 2 of 2 scenarios judged"))
        {
            failures.push(format!(
                "signal {sig}: expected exit 1 after a's FAIL and `interrupted: 1 (or 2) of 2`, got \
                 {:?}:\n{first}{rest}{err}",
                status.code()
            ));
        }
    }
    // The scenario in progress when the signal comes: its seed running then finishes and
    // violates, which fails the Pass expectation whatever seeds were left unrun.
    let only = d.join("only");
    std::fs::create_dir_all(&only).unwrap();
    std::fs::copy(d.join("b.ron"), only.join("b.ron")).unwrap();
    for (sig, _, said) in STOPS {
        let args = ["suite", only.to_str().unwrap(), "--jobs", "1"];
        let (status, out, err) = signalled_once_working(&args, sig);
        if status.code() != Some(1)
            || !out.contains("FAIL")
            || !out.contains("(interrupted: not every seed ran)")
            || !err.contains(said)
            || !err.contains("interrupted: 1 of 1 scenarios judged")
        {
            failures.push(format!(
                "signal {sig} within the scenario: expected exit 1, its FAIL and `interrupted: \
                 1 of 1`, got {:?}:\n{out}{err}",
                status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_suite_stopped_midway_never_reports_green() {
    for (sig, code, _) in STOPS {
        let d = tmp(&format!("suite-stop-{sig}"));
        let base = std::fs::read_to_string(scenario("raft-basic.ron")).unwrap();
        let expect = |seeds: &str| base.replace("Pass(seeds: (0, 200))", seeds);
        std::fs::write(d.join("a.ron"), expect("Pass(seeds: (0, 2))")).unwrap();
        // A second scenario a million seeds long: stopped while it runs.
        let long = expect("Pass(seeds: (0, 1000000))").replace("\"raft-basic\"", "\"long\"");
        std::fs::write(d.join("b.ron"), long).unwrap();
        let junit = d.join("junit.xml");
        let mut child = bin()
            .arg("suite")
            .arg(&d)
            .arg("--junit")
            .arg(&junit)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        assert!(first.starts_with("ok"), "{first}");
        signal(&child, sig);
        let status = wait_within(&mut child, 60);
        assert_eq!(status.code(), Some(code));
        let x = std::fs::read_to_string(&junit).unwrap();
        assert!(
            x.contains("tests=\"2\" failures=\"0\" errors=\"1\"")
                && x.contains("b.ron\" time=\"0.000\"><error message=\"not judged"),
            "{x}"
        );
    }
}

#[test]
fn ctrl_c_or_sigterm_on_shrink_writes_the_best_scenario_so_far() {
    for (sig, code, _) in STOPS {
        let d = tmp(&format!("shrink-int-{sig}"));
        let out = d.join("best.ron");
        // Figure 8 takes thousands of runs to shrink: interrupted after the first improvement.
        let mut child = bin()
            .args([
                "shrink",
                "scenarios/raft-bug-commit_previous_term.ron",
                "--seed",
                "259",
                "--out",
            ])
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = drain(child.stdout.take());
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut progress = String::new();
        loop {
            let mut l = String::new();
            assert!(
                err.read_line(&mut l).unwrap() > 0,
                "no progress shown: {progress}"
            );
            progress.push_str(&l);
            if l.starts_with("shrink: ") {
                break;
            }
        }
        signal(&child, sig);
        let rest = drain(Some(err));
        let status = wait_within(&mut child, 60);
        let t = format!(
            "{}{progress}{}",
            String::from_utf8_lossy(&stdout.join().unwrap()),
            String::from_utf8_lossy(&rest.join().unwrap())
        );
        assert_eq!(status.code(), Some(code), "{t}");
        assert!(t.contains("best scenario found so far"), "{t}");
        let written = std::fs::read_to_string(&out).unwrap();
        assert!(
            written.starts_with("// Shrunk by `faultline shrink` (interrupted"),
            "{written}"
        );
        let o = run(&["run", out.to_str().unwrap(), "--seed", "259", "--no-report"]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "the best so far still fails: {}",
            text(&o)
        );
    }
}
