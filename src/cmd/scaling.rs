//! `faultline bench --scaling`: how cost grows with the work. Raft on `raft-partitions.ron`
//! stretched in simulated time (100 s .. 3,600 s, 3 and 5 servers) and in clients (1 ..
//! 1,000 on 3 keys over 20 s), each row run twice (engine with election safety only, then
//! every check) in a fresh process of this binary, so that its peak RSS is its own. Prints
//! events, client operations, CPU time (user + system, from `getrusage`), events per
//! CPU-second, peak RSS, the verdict, and the growth exponent of CPU time against events (and
//! against operations) between each pair of rows. Operations are the work as a user counts
//! it: with more clients a leader's AppendEntries carry more entries, so events grow slower
//! than operations and cost per event rises while cost per operation stays flat.
//!
//! An event is one the run handled (`RunStats::events`): a node start, a message delivered or
//! dropped, a timer that fired, a fault action. A timer set again or cancelled before its
//! deadline is none: the engine queues timers lazily and never pops it (before, each such
//! setting was popped and counted, 26–28 % of the count with 1 client and with 1,000 alike).
//!
//! What a row simulates is deterministic (seed 0 of a fixed scenario); only the timings vary.

use std::process::Command;

use super::{DEFAULT_SCENARIO, InputError};
use crate::protocols::{RunSpec, run};
use crate::scenario::{Scenario, load_str};
use crate::sim::SECS;

/// One row of the table: a cluster size, a simulated time and a number of clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    pub servers: u32,
    pub secs: u64,
    pub clients: u32,
}

impl Row {
    /// The row as the hidden `--scaling-row` argument spells it: `servers,secs,clients`.
    fn arg(self) -> String {
        format!("{},{},{}", self.servers, self.secs, self.clients)
    }
    fn parse(s: &str) -> Result<Row, InputError> {
        let v: Vec<u64> = s
            .split(',')
            .map(|x| x.trim().parse::<u64>())
            .collect::<Result<_, _>>()
            .map_err(|e| InputError(format!("--scaling-row `{s}`: {e}")))?;
        match v[..] {
            [servers @ 1..=9, secs @ 20..=36_000, clients @ 1..=10_000] => Ok(Row {
                servers: servers as u32,
                secs,
                clients: clients as u32,
            }),
            _ => Err(InputError(format!(
                "--scaling-row `{s}`: expected servers (1-9),seconds (20-36000),clients (1-10000)"
            ))),
        }
    }
}

/// The rows of the table, in groups: (title, rows). `max_secs` cuts the longest runs.
pub fn groups(max_secs: u64) -> Vec<(String, Vec<Row>)> {
    let mut out = Vec::new();
    for servers in [3, 5] {
        let rows: Vec<Row> = [100, 300, 1_000, 3_600]
            .into_iter()
            .filter(|&s| s <= max_secs)
            .map(|secs| Row {
                servers,
                secs,
                clients: 3,
            })
            .collect();
        out.push((
            format!("simulated time, {servers} servers, 3 clients"),
            rows,
        ));
    }
    let rows = [1, 10, 30, 100, 300, 1_000]
        .into_iter()
        .map(|clients| Row {
            servers: 3,
            secs: 20,
            clients,
        })
        .collect();
    out.push(("clients on 3 keys, 3 servers, 20 s".into(), rows));
    out
}

/// The run of a row: `raft-partitions.ron` (seed 0) with the row's servers and clients on 3
/// keys; partitions until 8 s before the end, clients until 2 s before it, no event limit
/// that the run could reach. `all_checks` false keeps only election safety (the engine's
/// cost plus the cheapest check).
pub fn spec(row: Row, all_checks: bool) -> RunSpec {
    let mut s: Scenario =
        load_str(DEFAULT_SCENARIO, "<embedded default scenario>").expect("the default loads");
    let end = row.secs * SECS;
    s.cluster.servers = row.servers;
    s.workload.clients = row.clients;
    s.workload.keys = 3;
    s.workload.stop = end - 2 * SECS;
    s.limits.time = end;
    s.limits.events = u64::MAX;
    if let Some(n) = &mut s.faults.nemesis {
        n.stop = end - 8 * SECS;
    }
    if !all_checks {
        s.checks = vec!["election-safety".into()];
    }
    s.to_run_spec(0, false)
}

/// What one row measured in its own process.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Measured {
    pub events: u64,
    /// Client operations invoked.
    #[serde(default)]
    pub ops: u64,
    pub cpu_ms: f64,
    pub rss_kb: u64,
    pub verdict: String,
    /// The linearizability check's detail, when it ran.
    pub lin: String,
}

/// CPU time (user + system, ms) and peak RSS (KB) of this process so far.
pub(super) fn usage() -> (f64, u64) {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    (ms(u.ru_utime) + ms(u.ru_stime), u.ru_maxrss as u64)
}

/// The child's side: runs one row and prints what it measured as one JSON line.
pub fn child(row: &str, all_checks: bool) -> Result<i32, InputError> {
    let row = Row::parse(row)?;
    let spec = spec(row, all_checks);
    let (cpu0, _) = usage();
    let o = run(&spec);
    let (cpu1, rss) = usage();
    let lin = o
        .checks
        .iter()
        .find(|c| c.name == "linearizability")
        .map(|c| {
            format!(
                "{}: {}",
                c.verdict.name(),
                c.detail.lines().next().unwrap_or("")
            )
        })
        .unwrap_or_default();
    let m = Measured {
        events: o.stats.events,
        ops: o.ops.len() as u64,
        cpu_ms: cpu1 - cpu0,
        rss_kb: rss,
        verdict: o.verdict().name().to_string(),
        lin,
    };
    println!("{}", serde_json::to_string(&m).expect("plain data"));
    Ok(0)
}

/// Runs a row `reps` times, each in a fresh process; the median by CPU time.
fn measure(row: Row, all_checks: bool, reps: u32) -> Result<Measured, InputError> {
    let exe = std::env::current_exe()
        .map_err(|e| InputError(format!("cannot find this binary to re-run it: {e}")))?;
    let mut got = Vec::new();
    for _ in 0..reps.max(1) {
        let mut c = Command::new(&exe);
        c.args(["bench", "--scaling-row", &row.arg()]);
        if !all_checks {
            c.arg("--scaling-engine-only");
        }
        let out = c
            .output()
            .map_err(|e| InputError(format!("cannot run {}: {e}", exe.display())))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let m: Measured = serde_json::from_str(text.trim()).map_err(|e| {
            InputError(format!(
                "row {}: the child printed no measurement ({e}); its stderr: {}",
                row.arg(),
                String::from_utf8_lossy(&out.stderr)
            ))
        })?;
        got.push(m);
    }
    got.sort_by(|a, b| a.cpu_ms.total_cmp(&b.cpu_ms));
    Ok(got.swap_remove(got.len() / 2))
}

/// The growth exponent of `cpu` against `events` between two rows: d ln cpu / d ln events.
pub fn exponent(e0: u64, c0: f64, e1: u64, c1: f64) -> f64 {
    if e1 == e0 || c0 <= 0.0 || c1 <= 0.0 {
        return f64::NAN;
    }
    (c1 / c0).ln() / (e1 as f64 / e0 as f64).ln()
}

/// The parent's side: every group's table, then the must-hold figures.
pub fn table(reps: u32, max_secs: u64) -> Result<(), InputError> {
    println!(
        "scaling: raft-partitions.ron, seed 0, median CPU time of {reps} fresh process(es) per cell"
    );
    println!(
        "events: what a run handled (node starts, messages delivered or dropped, timers that \
         fired, fault actions; a timer set again or cancelled is none)"
    );
    for (title, rows) in groups(max_secs) {
        if rows.is_empty() {
            continue; // every row longer than --max-secs
        }
        println!("\n{title}");
        println!(
            "{:>7} {:>7} {:>7} {:>10} {:>8} {:>11} {:>11} {:>9} {:>8} {:>9} {:>6} {:>7}  linearizability",
            "servers",
            "sim s",
            "clients",
            "events",
            "ops",
            "CPU engine",
            "CPU all",
            "M ev/s",
            "RSS MB",
            "verdict",
            "exp",
            "exp ops"
        );
        let mut prev: Option<(u64, u64, f64)> = None;
        let mut first: Option<(u64, u64, f64)> = None;
        for row in rows {
            let e = measure(row, false, reps)?;
            let a = measure(row, true, reps)?;
            let exp = |f: fn(&(u64, u64, f64)) -> u64, now: u64| {
                prev.map_or(String::from("-"), |p| {
                    format!("{:.2}", exponent(f(&p), p.2, now, a.cpu_ms))
                })
            };
            println!(
                "{:>7} {:>7} {:>7} {:>10} {:>8} {:>8.0} ms {:>8.0} ms {:>9.2} {:>8.1} {:>9} {:>6} {:>7}  {}",
                row.servers,
                row.secs,
                row.clients,
                a.events,
                a.ops,
                e.cpu_ms,
                a.cpu_ms,
                a.events as f64 / a.cpu_ms / 1e3,
                a.rss_kb as f64 / 1024.0,
                a.verdict,
                exp(|p| p.0, a.events),
                exp(|p| p.1, a.ops),
                a.lin
            );
            first.get_or_insert((a.events, a.ops, a.cpu_ms));
            prev = Some((a.events, a.ops, a.cpu_ms));
        }
        if let (Some((e0, o0, c0)), Some((e1, o1, c1))) = (first, prev)
            && e1 != e0
        {
            println!(
                "growth over the group: CPU ~ events^{:.2}, ~ operations^{:.2}",
                exponent(e0, c0, e1, c1),
                exponent(o0, c0, o1, c1)
            );
        }
    }
    Ok(())
}
