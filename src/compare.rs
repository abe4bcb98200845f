//! Two protocols on the same runs (`faultline compare A.ron B.ron`): two scenarios that differ
//! only in `protocol` run on the same seeds, and their figures are set side by side.
//!
//! What "the same runs" means, and what this module verifies rather than assumes:
//! - the fault schedule is identical: it is expanded from the seed before the run, and
//!   [`compare`] checks, seed by seed, that both scenarios expand to the same actions;
//! - the network draws come from the same per-link streams (delay, loss, duplication per
//!   message), consumed message by message, so they follow each protocol's own traffic;
//! - each client draws its think times, operations and keys from its own workload stream
//!   (`Stream::Workload`), apart from the back-offs that depend on how the protocol answered,
//!   so its `k`-th operation is the same in both runs. [`Comparison::same_ops`] verifies it
//!   (same operation kind and key, per client, in order), and the text prints it.
//!
//! Anything else that differs between the two scenarios (cluster, network, workload, faults,
//! limits, checks) is refused by [`differences`]: name, title, description and expectation
//! are the files' own and may differ.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::protocols::{RunOutcome, RunSpec, Table, Verdict, run};
use crate::report::svg::{Window, fault_windows, latency_series_svg};
use crate::scenario::Scenario;
use crate::sim::{MICROS, Time, fmt_duration};
use crate::workload::{OpRecord, OpStatus};

/// The fields in which two scenarios differ, besides those a comparison allows to differ
/// (protocol, name, title, description, expect), as `path: a | b`, at most `max` of them.
pub fn differences(a: &Scenario, b: &Scenario, max: usize) -> Vec<String> {
    let strip = |s: &Scenario| {
        let mut s = s.clone();
        s.protocol = a.protocol.clone();
        s.name.clear();
        s.title.clear();
        s.description.clear();
        s.expect = Default::default();
        serde_json::to_value(&s).unwrap_or(serde_json::Value::Null)
    };
    let mut out = Vec::new();
    diff(&strip(a), &strip(b), "", &mut out, max);
    out
}

fn diff(a: &serde_json::Value, b: &serde_json::Value, at: &str, out: &mut Vec<String>, max: usize) {
    use serde_json::Value::{Array, Object};
    if out.len() >= max || a == b {
        return;
    }
    let join = |k: &str| {
        if at.is_empty() {
            k.to_string()
        } else {
            format!("{at}.{k}")
        }
    };
    match (a, b) {
        (Object(x), Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            let null = serde_json::Value::Null;
            for k in keys {
                let (va, vb) = (x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null));
                diff(va, vb, &join(k), out, max);
            }
        }
        (Array(x), Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                diff(va, vb, &format!("{at}[{i}]"), out, max);
            }
        }
        _ => {
            let show = |v: &serde_json::Value| crate::scenario::clip(&v.to_string(), 60);
            out.push(format!("{at}: {} | {}", show(a), show(b)));
        }
    }
}

/// One run's figures.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// Operations that completed (took effect, answered).
    pub completed: u64,
    /// Latencies of completed operations, in microseconds -> how many.
    pub latency_us: BTreeMap<u64, u64>,
    /// The longest stretch of the workload (first invocation to its stop time) in which no
    /// operation completed, and when it began.
    pub unavailable: Time,
    pub unavailable_from: Time,
    /// Times a server became leader.
    pub elections: u64,
    /// Messages sent (clients' included).
    pub messages: u64,
    /// Each check's verdict, and the run's.
    pub checks: Vec<(String, Verdict)>,
    pub verdict: Verdict,
}

impl Figures {
    pub fn of(spec: &RunSpec, o: &RunOutcome) -> Figures {
        let mut f = Figures {
            messages: o.stats.counters.sent,
            elections: o.roles.iter().filter(|r| r.role == "leader").count() as u64,
            checks: o
                .checks
                .iter()
                .map(|c| (c.name.clone(), c.verdict))
                .collect(),
            verdict: o.verdict(),
            ..Figures::default()
        };
        let mut done: Vec<Time> = Vec::new();
        for op in &o.ops {
            if let (OpStatus::Ok, Some(ret)) = (op.status, op.ret) {
                f.completed += 1;
                *f.latency_us.entry((ret - op.call) / MICROS).or_default() += 1;
                done.push(ret);
            }
        }
        done.sort_unstable();
        let start = o.ops.iter().map(|op| op.call).min().unwrap_or(0);
        let stop = spec.workload.stop.min(o.stats.time).max(start);
        let mut last = start;
        for t in done.into_iter().filter(|t| *t > start).chain([stop]) {
            let t = t.min(stop);
            if t > last && t - last > f.unavailable {
                (f.unavailable, f.unavailable_from) = (t - last, last);
            }
            last = last.max(t);
        }
        f
    }
}

/// Figures of one side summed over seeds.
#[derive(Clone, Debug, Default)]
pub struct Side {
    pub runs: u64,
    pub completed: u64,
    pub latency_us: BTreeMap<u64, u64>,
    /// The longest stretch without a completion over all seeds: (length, seed, from).
    pub unavailable_max: (Time, u64, Time),
    pub unavailable_sum: Time,
    pub elections: u64,
    pub messages: u64,
    /// Per check, seeds per verdict.
    pub checks: BTreeMap<String, BTreeMap<Verdict, u64>>,
    /// Failing seeds (the first few) and the worst verdict.
    pub failing: Vec<u64>,
    pub verdict: Verdict,
}

/// How many failing seeds a side lists.
const FAILING_SHOWN: usize = 10;

impl Side {
    /// Adds one seed's figures. The sum does not depend on the order seeds are added in
    /// (ties go to the lower seed), so threads finishing in any order give the same result.
    fn add(&mut self, seed: u64, f: &Figures) {
        self.runs += 1;
        self.completed += f.completed;
        for (l, n) in &f.latency_us {
            *self.latency_us.entry(*l).or_default() += n;
        }
        let (len, at) = (self.unavailable_max.0, self.unavailable_max.1);
        if self.runs == 1 || f.unavailable > len || (f.unavailable == len && seed < at) {
            self.unavailable_max = (f.unavailable, seed, f.unavailable_from);
        }
        self.unavailable_sum += f.unavailable;
        self.elections += f.elections;
        self.messages += f.messages;
        for (name, v) in &f.checks {
            *self
                .checks
                .entry(name.clone())
                .or_default()
                .entry(*v)
                .or_default() += 1;
        }
        if f.verdict != Verdict::Pass {
            let i = self.failing.partition_point(|s| *s < seed);
            self.failing.insert(i, seed);
            self.failing.truncate(FAILING_SHOWN);
        }
        self.verdict = self.verdict.max(f.verdict);
    }

    /// The `q`-quantile (0..=1) of the completed operations' latencies, in microseconds.
    pub fn latency_quantile(&self, q: f64) -> Option<u64> {
        let total: u64 = self.latency_us.values().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (l, n) in &self.latency_us {
            seen += n;
            if seen >= rank {
                return Some(*l);
            }
        }
        self.latency_us.keys().next_back().copied()
    }
}

/// One seed of both sides, for the plot: the operations and the fault windows.
pub struct Shown {
    pub seed: u64,
    pub ops: [Vec<OpRecord>; 2],
    pub windows: Vec<Window>,
    pub end: Time,
}

/// A whole comparison.
pub struct Comparison {
    pub labels: [String; 2],
    /// The seed range as the user wrote it (`0..20`).
    pub seeds: String,
    pub sides: [Side; 2],
    /// Fault actions over all seeds (the same for both sides, verified per seed).
    pub fault_actions: u64,
    /// Invocations with the same operation kind and key on both sides (per client, in
    /// order, until the first that differs), the invocations both sides made (per client,
    /// the shorter side's count), and all invocations of the side with more.
    pub same_ops: (u64, u64, u64),
    /// The first seed of the range, kept for the plot.
    pub shown: Option<Shown>,
}

/// Why a comparison could not run.
#[derive(Debug)]
pub enum CompareError {
    /// The scenarios differ in more than their protocol.
    Differ(Vec<String>),
    /// A seed's fault schedules differ (cannot happen when the scenarios agree: a bug).
    Schedule(u64),
}

/// Invocations that match (kind and key, per client, in order, until the first that
/// differs), the number both sides made, and the larger count.
fn same_ops(a: &[OpRecord], b: &[OpRecord]) -> (u64, u64, u64) {
    fn per_client(ops: &[OpRecord]) -> BTreeMap<u32, Vec<(&str, &str)>> {
        let mut m: BTreeMap<u32, Vec<(&str, &str)>> = BTreeMap::new();
        for o in ops {
            m.entry(o.client).or_default().push((&o.kind, &o.key));
        }
        m
    }
    let (x, y) = (per_client(a), per_client(b));
    let (mut same, mut common, mut total) = (0, 0, 0);
    for c in x
        .keys()
        .chain(y.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (p, q) = (
            x.get(c).map_or(&[][..], |v| v),
            y.get(c).map_or(&[][..], |v| v),
        );
        same += p.iter().zip(q).take_while(|(u, v)| u == v).count() as u64;
        common += p.len().min(q.len()) as u64;
        total += p.len().max(q.len()) as u64;
    }
    (same, common, total)
}

/// The seeds of a comparison: the `i`-th seed, `None` past the last (a lazy range).
pub type SeedAt<'a> = &'a (dyn Fn(u64) -> Option<u64> + Sync);

/// Runs both scenarios on every seed of `seeds` with `jobs` threads and sums the figures as
/// seeds finish (memory does not grow with the range). The result is the same whatever
/// `jobs` is; `stop` is polled between seeds (Ctrl-C): what finished is summed.
pub fn compare(
    a: &Scenario,
    b: &Scenario,
    labels: [String; 2],
    (seeds, label): (SeedAt<'_>, String),
    jobs: usize,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Comparison, CompareError> {
    let d = differences(a, b, 5);
    if !d.is_empty() {
        return Err(CompareError::Differ(d));
    }
    let sum = Mutex::new(Comparison {
        labels,
        seeds: label,
        sides: Default::default(),
        fault_actions: 0,
        same_ops: (0, 0, 0),
        shown: None,
    });
    let bad_schedule: Mutex<Option<u64>> = Mutex::new(None);
    let next = AtomicU64::new(0);
    let one = |i: u64, seed: u64| {
        let (sa, sb) = (a.to_run_spec(seed, false), b.to_run_spec(seed, false));
        if sa.faults != sb.faults {
            *bad_schedule.lock().unwrap_or_else(|e| e.into_inner()) = Some(seed);
            return;
        }
        let (oa, ob) = (run(&sa), run(&sb));
        let (fa, fb) = (Figures::of(&sa, &oa), Figures::of(&sb, &ob));
        let same = same_ops(&oa.ops, &ob.ops);
        let end = oa.stats.time.max(ob.stats.time);
        let shown = (i == 0).then(|| Shown {
            seed,
            windows: fault_windows(&sa, end),
            ops: [oa.ops, ob.ops],
            end,
        });
        let mut c = sum.lock().unwrap_or_else(|e| e.into_inner());
        c.sides[0].add(seed, &fa);
        c.sides[1].add(seed, &fb);
        c.fault_actions += sa.faults.len() as u64;
        c.same_ops.0 += same.0;
        c.same_ops.1 += same.1;
        c.same_ops.2 += same.2;
        if shown.is_some() {
            c.shown = shown;
        }
    };
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                while !stop() {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(seed) = seeds(i) else { break };
                    one(i, seed);
                }
            });
        }
    });
    if let Some(seed) = bad_schedule.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(CompareError::Schedule(seed));
    }
    Ok(sum.into_inner().unwrap_or_else(|e| e.into_inner()))
}

fn ms(us: Option<u64>) -> String {
    us.map_or("-".into(), |u| fmt_duration(u * MICROS))
}

impl Comparison {
    /// The worst verdict of any run on either side.
    pub fn verdict(&self) -> Verdict {
        self.sides[0].verdict.max(self.sides[1].verdict)
    }

    /// The side-by-side table.
    pub fn table(&self) -> Table {
        let [x, y] = &self.labels;
        let mut t = Table::new("", &["", x, y]);
        let n = self.sides[0].runs;
        let per_seed = |v: u64| {
            if n > 1 {
                format!("{v} ({:.1} per seed)", v as f64 / n as f64)
            } else {
                v.to_string()
            }
        };
        let row = |t: &mut Table, name: &str, f: &dyn Fn(&Side) -> String| {
            t.row(vec![name.into(), f(&self.sides[0]), f(&self.sides[1])]);
        };
        row(&mut t, "operations completed", &|s| per_seed(s.completed));
        row(&mut t, "latency p50", &|s| ms(s.latency_quantile(0.5)));
        row(&mut t, "latency p99", &|s| ms(s.latency_quantile(0.99)));
        row(&mut t, "longest stretch without a completion", &|s| {
            let (len, seed, from) = s.unavailable_max;
            let at = format!("from {}s", crate::sim::fmt_time(from));
            match n {
                1 => format!("{} {at}", fmt_duration(len)),
                _ => format!("{} (seed {seed}, {at})", fmt_duration(len)),
            }
        });
        if n > 1 {
            row(&mut t, "  mean over seeds", &|s| {
                fmt_duration(s.unavailable_sum / s.runs.max(1))
            });
        }
        row(&mut t, "leader elections", &|s| per_seed(s.elections));
        row(&mut t, "messages per completed operation", &|s| {
            if s.completed == 0 {
                "-".into()
            } else {
                format!("{:.1}", s.messages as f64 / s.completed as f64)
            }
        });
        let names: std::collections::BTreeSet<&String> =
            self.sides.iter().flat_map(|s| s.checks.keys()).collect();
        for name in names {
            row(
                &mut t,
                &format!("check {name}"),
                &|s| match s.checks.get(name) {
                    None => "-".into(),
                    Some(v) => v
                        .iter()
                        .rev()
                        .map(|(verdict, k)| match n {
                            1 => verdict.word().to_string(),
                            _ => format!("{k} {}", verdict.name()),
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                },
            );
        }
        row(&mut t, "verdict", &|s| {
            let mut w = s.verdict.word().to_string();
            if n > 1 && !s.failing.is_empty() {
                let seeds: Vec<String> = s.failing.iter().map(u64::to_string).collect();
                let s = if seeds.len() == 1 { "" } else { "s" };
                w.push_str(&format!(" (seed{s} {})", seeds.join(" ")));
            }
            w
        });
        t
    }

    /// The whole text: what was verified to be the same, then the table.
    pub fn text(&self) -> String {
        let n = self.sides[0].runs;
        let (same, common, total) = self.same_ops;
        let mut s = format!(
            "compare {} vs {} on seed{} {}\n",
            self.labels[0],
            self.labels[1],
            if n > 1 { "s" } else { "" },
            self.seeds
        );
        s.push_str(&format!(
            "same inputs: cluster, network, workload, faults and limits; fault schedule identical on \
             every seed ({} actions in all)\n",
            self.fault_actions
        ));
        s.push_str(&if same == common {
            format!(
                "workload:    every client invoked the same operations on the same keys in the same \
                 order ({common} invocations on both sides; {} more where one side got further)\n",
                total - common
            )
        } else {
            // Each client's workload stream is independent of the protocol: a difference is a bug.
            format!(
                "workload:    DIFFERS: only {same} of the {common} invocations both sides made are \
                 the same operation on the same key (per client, in order)\n"
            )
        });
        s.push_str(
            "network:     the same per-link streams (delay and loss drawn per message, so they \
             follow each protocol's own traffic)\n\n",
        );
        let t = self.table();
        // The table without its empty title line.
        s.push_str(t.text().split_once('\n').map_or("", |(_, rest)| rest));
        s
    }

    /// The plot: both latency series of the first seed on one time axis, faults shaded.
    pub fn plot(&self) -> Option<String> {
        let sh = self.shown.as_ref()?;
        let title = format!(
            "latency, {} (blue) vs {} (orange), seed {}",
            self.labels[0], self.labels[1], sh.seed
        );
        Some(latency_series_svg(
            &[
                (self.labels[0].as_str(), &sh.ops[0], "#2a7ab9"),
                (self.labels[1].as_str(), &sh.ops[1], "#e67e22"),
            ],
            &sh.windows,
            sh.end,
            &title,
        ))
    }
}
