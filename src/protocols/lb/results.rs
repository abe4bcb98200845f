//! Judging the strategies of one run side by side: the figures (latency percentiles, error
//! and timeout rates, throughput, per-backend load and its imbalance, key affinity), the
//! tables and plots every report shows, and the checks.

use super::ring::{self, spread};
use super::{LbSpec, Obs, Plan, Strategy, StrategyRun, plots};
use crate::protocols::common::{fail, pass, roles_with_crashes, skipped};
use crate::protocols::{CheckOutcome, Plot, RoleChange, RunOutcome, RunSpec, Table};
use crate::sim::{
    Fault, NodeId, RunStats, SECS, ScheduledFault, StopReason, Time, Topology, TraceRecord,
    fmt_duration, fmt_time,
};
use crate::workload::OpRecord;
use crate::workload::open_loop::{Outcome, op_record};

/// Keys placed on the rings of the consistent-hashing table.
const STUDY_KEYS: u64 = 100_000;
/// The most keys whose last backend is followed (the `key moves` column).
const KEYS_TRACKED: u32 = 4_000_000;
/// Time bins of the load-over-time plot.
pub const BINS: usize = 100;

/// One strategy's figures.
pub struct Figures {
    pub strategy: Strategy,
    pub issued: u64,
    pub ok: u64,
    pub error: u64,
    pub timeout: u64,
    pub open: u64,
    /// Every ended request's latency, sorted (a timeout counts as the client timeout).
    pub latencies: Vec<Time>,
    /// Tries routed to each backend.
    pub per_backend: Vec<u64>,
    /// Tries routed per backend per time bin.
    pub series: Vec<Vec<u32>>,
    /// The most tries any backend had in flight at once.
    pub peak_load: u32,
    /// The mean over tries of the chosen backend's load (a time-weighted view of queueing).
    pub mean_load: f64,
    pub retries: u64,
    /// Requests whose key was last served by another backend, over requests whose key was
    /// served before.
    pub key_moves: (u64, u64),
    /// Bounded loads: the largest load over its cap (≤ 1 when the cap held), and where not.
    pub cap_ratio: f64,
    pub cap_broken: Option<(Time, u32, u32, u32)>,
    /// Routes to a backend that was down (crashed, paused or cut off from the balancer):
    /// (time, backend, how long after it went down).
    pub down_routes: Vec<(Time, u32, Time)>,
    /// When the health checker marked each backend down/up.
    pub health: Vec<(Time, u32, bool)>,
}

impl Figures {
    pub fn pct(&self, q: f64) -> Time {
        percentile(&self.latencies, q)
    }
    pub fn error_rate(&self) -> f64 {
        (self.error + self.timeout) as f64 / self.issued.max(1) as f64
    }
    pub fn imbalance(&self) -> (f64, f64) {
        spread(&self.per_backend)
    }
}

/// The `q` quantile (nearest rank) of sorted values; 0 when empty.
pub fn percentile(sorted: &[Time], q: f64) -> Time {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64) as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Per backend, the windows in which it could not serve the balancer: crashed, paused, or
/// cut off from it (either way) by a partition.
pub fn down_windows(spec: &RunSpec, backends: u32, end: Time) -> Vec<Vec<(Time, Time)>> {
    let lb = NodeId(backends);
    let n = spec.servers + spec.workload.clients;
    let mut topo = Topology::full(n);
    let mut alive = vec![true; backends as usize];
    let mut since: Vec<Option<Time>> = vec![None; backends as usize];
    let mut out = vec![Vec::new(); backends as usize];
    let mut faults: Vec<&ScheduledFault> = spec.faults.iter().collect();
    faults.sort_by_key(|f| f.at);
    for f in faults {
        match &f.fault {
            Fault::Partition(p) => {
                topo.apply(p, spec.servers, None);
            }
            Fault::Heal => {
                topo.heal();
            }
            Fault::Crash(b) if *b < backends => alive[*b as usize] = false,
            Fault::Restart(b) if *b < backends => alive[*b as usize] = true,
            Fault::Pause { node, duration } if *node < backends => {
                out[*node as usize].push((f.at, f.at.saturating_add(*duration)));
            }
            _ => {}
        }
        for b in 0..backends {
            let bn = NodeId(b);
            let down = !alive[b as usize] || !topo.reaches(lb, bn) || !topo.reaches(bn, lb);
            match (down, since[b as usize]) {
                (true, None) => since[b as usize] = Some(f.at),
                (false, Some(s)) => {
                    out[b as usize].push((s, f.at));
                    since[b as usize] = None;
                }
                _ => {}
            }
        }
    }
    for b in 0..backends as usize {
        if let Some(s) = since[b] {
            out[b].push((s, end));
        }
        out[b].sort_unstable();
    }
    out
}

fn figures(
    spec: &RunSpec,
    plan: &Plan,
    r: &StrategyRun,
    down: &[Vec<(Time, Time)>],
    end: Time,
) -> Figures {
    let n = plan.backend_count as usize;
    let timeout = spec.workload.timeout;
    let bin = (end / BINS as Time).max(1);
    let bound = plan.health.as_ref().map(|h| h.detection_bound());
    let mut f = Figures {
        strategy: r.strategy,
        issued: r.issued,
        ok: 0,
        error: 0,
        timeout: 0,
        open: r.open,
        latencies: Vec::with_capacity(r.issued as usize),
        per_backend: vec![0; n],
        series: vec![vec![0; n]; BINS],
        peak_load: 0,
        mean_load: 0.0,
        retries: 0,
        key_moves: (0, 0),
        cap_ratio: 0.0,
        cap_broken: None,
        down_routes: vec![],
        health: vec![],
    };
    // Key moves are followed for the first KEYS_TRACKED keys (all of them in any sane scenario).
    let tracked = spec.workload.keys.clamp(1, KEYS_TRACKED);
    let mut last_server: Vec<u32> = vec![u32::MAX; tracked as usize];
    let mut load_sum = 0u64;
    let mut routes = 0u64;
    for (t, _, o) in &r.obs {
        match o {
            Obs::Client(d) => {
                match d.outcome {
                    Outcome::Ok => f.ok += 1,
                    Outcome::Error => f.error += 1,
                    Outcome::Timeout => f.timeout += 1,
                }
                f.latencies.push(match d.outcome {
                    Outcome::Timeout => timeout,
                    _ => t - d.call,
                });
                f.retries += d.tries.saturating_sub(1) as u64;
                if let (Outcome::Ok, Some(s)) = (d.outcome, d.server)
                    && let Some(last) = last_server.get_mut(d.key as usize)
                {
                    if *last != u32::MAX {
                        f.key_moves.1 += 1;
                        f.key_moves.0 += (*last != s) as u64;
                    }
                    *last = s;
                }
            }
            Obs::Route {
                backend,
                load,
                candidates,
                in_flight,
                cap,
            } => {
                let b = *backend as usize;
                f.per_backend[b] += 1;
                f.series[((t / bin) as usize).min(BINS - 1)][b] += 1;
                f.peak_load = f.peak_load.max(*load);
                load_sum += *load as u64;
                routes += 1;
                if r.strategy == Strategy::BoundedLoad {
                    debug_assert!(*candidates > 0 && *in_flight >= *load);
                    let ratio = *load as f64 / (*cap).max(1) as f64;
                    f.cap_ratio = f.cap_ratio.max(ratio);
                    if *load > *cap && f.cap_broken.is_none() {
                        f.cap_broken = Some((*t, *backend, *load, *cap));
                    }
                }
                if let Some(&(s, _)) = down[b].iter().find(|(s, e)| s <= t && t < e) {
                    let late = t - s;
                    if bound.is_none_or(|bound| late > bound) {
                        f.down_routes.push((*t, *backend, late));
                    }
                }
            }
            Obs::Health { backend, up } => f.health.push((*t, *backend, *up)),
            Obs::Member { .. } => {}
        }
    }
    f.latencies.sort_unstable();
    f.mean_load = load_sum as f64 / routes.max(1) as f64;
    f
}

fn ms(t: Time) -> String {
    let v = t as f64 / 1e6;
    if v >= 100.0 {
        format!("{v:.0}ms")
    } else if v >= 10.0 {
        format!("{v:.1}ms")
    } else {
        format!("{v:.2}ms")
    }
}

fn pctf(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

/// Judges the runs of every strategy of one scenario together.
pub(crate) fn judge(
    spec: &RunSpec,
    lb: &LbSpec,
    plan: &Plan,
    runs: Vec<StrategyRun>,
    stats: RunStats,
    records: Vec<TraceRecord>,
) -> RunOutcome {
    let end = stats.time.max(1);
    let down = down_windows(spec, plan.backend_count, end);
    let figs: Vec<Figures> = runs
        .iter()
        .map(|r| figures(spec, plan, r, &down, end))
        .collect();
    let wanted = |name: &str| spec.checks.is_empty() || spec.checks.iter().any(|c| c == name);
    let explicit = |name: &str| spec.checks.iter().any(|c| c == name);
    let mut checks = Vec::new();
    if wanted("accounting") {
        checks.push(accounting(spec, &runs, &figs));
    }
    if wanted("health-detection") {
        checks.push(health_detection(plan, &figs, &down));
    }
    let has_bl = lb.strategies.contains(&Strategy::BoundedLoad);
    if (wanted("bounded-load-cap") && has_bl) || explicit("bounded-load-cap") {
        checks.push(bounded_cap(lb, &figs));
    }
    if (wanted("bounds") && !lb.bounds.is_empty()) || explicit("bounds") {
        checks.push(bounds(lb, &figs, spec));
    }
    let mut ops: Vec<OpRecord> = Vec::new();
    // The first strategy's run is the one traced (its records, its roles): its operations
    // come first.
    let mut traced = 0;
    for (k, r) in runs.iter().enumerate() {
        for (t, _, o) in &r.obs {
            if let Obs::Client(d) = o {
                ops.push(op_record(d, *t, r.strategy.name()));
            }
        }
        if k == 0 {
            traced = ops.len();
        }
    }
    let tables = tables(spec, lb, plan, &figs);
    let plots = vec![
        Plot {
            file: "lb-latency-cdf.svg".into(),
            caption: "Latency CDF: the share of requests answered within each latency, per \
                      strategy"
                .into(),
            svg: plots::latency_cdf(&figs, spec.workload.timeout),
        },
        Plot {
            file: "lb-backend-load.svg".into(),
            caption: "Backend load: tries per second to each backend, per strategy".into(),
            svg: plots::backend_load(&figs, plan, &spec.faults, &down, end),
        },
    ];
    RunOutcome {
        stats,
        checks,
        ops,
        roles: roles(spec, &runs),
        tables,
        plots,
        records,
        views: Vec::new(),
        labels: Default::default(),
        replay: Default::default(),
        traced_ops: Some(traced),
    }
}

/// The first strategy's health view as roles ("up", "down", "out" of the pool), with crashes.
fn roles(spec: &RunSpec, runs: &[StrategyRun]) -> Vec<RoleChange> {
    let r = &runs[0];
    let reported = r.obs.iter().filter_map(|(t, _, o)| match o {
        Obs::Health { backend, up } => Some(RoleChange {
            time: *t,
            node: *backend,
            role: if *up { "up" } else { "marked down" }.into(),
            term: 0,
        }),
        Obs::Member { backend, join } => Some(RoleChange {
            time: *t,
            node: *backend,
            role: if *join { "joined" } else { "left pool" }.into(),
            term: 0,
        }),
        _ => None,
    });
    roles_with_crashes(spec, reported)
}

fn accounting(spec: &RunSpec, runs: &[StrategyRun], figs: &[Figures]) -> CheckOutcome {
    let name = "accounting";
    // A strategy's run the event limit (or the pending-event limit) stopped cut its last
    // requests off before their timeout (and the strategies off at different arrivals): that
    // says nothing of the balancer, and the `run` check already calls the run inconclusive.
    // (A time limit that leaves no timeout after workload.stop is the scenario's choice, and
    // still fails.)
    let cut_short =
        |s: &RunStats| matches!(s.stop, StopReason::EventLimit | StopReason::PendingLimit);
    let mut cut = None;
    for (r, f) in runs.iter().zip(figs) {
        let ended = f.ok + f.error + f.timeout;
        if ended + f.open == f.issued && cut_short(&r.stats) {
            if f.open > 0 && cut.is_none() {
                cut = Some(skipped(
                    name,
                    format!(
                        "not judged: {}: {} of {} requests still open when the run stopped at {}s ({}), before their timeout",
                        r.strategy.name(),
                        f.open,
                        f.issued,
                        fmt_time(r.stats.time),
                        r.stats.stop,
                    ),
                ));
            }
            continue;
        }
        if ended + f.open != f.issued || f.open > 0 {
            return fail(
                name,
                format!(
                    "{}: {} requests issued but {} ended (ok {}, error {}, timeout {}) and {} still open when the run stopped at {}s ({}); limits.time must leave workload.timeout after workload.stop",
                    r.strategy.name(),
                    f.issued,
                    ended,
                    f.ok,
                    f.error,
                    f.timeout,
                    f.open,
                    fmt_time(r.stats.time),
                    r.stats.stop
                ),
                vec![],
            )
            .dated(r.stats.time, balancer(spec, "had requests still open"));
        }
    }
    if let Some(c) = cut {
        return c;
    }
    let first = &figs[0];
    if let Some(f) = figs.iter().find(|f| f.issued != first.issued) {
        if let Some(r) = runs.iter().find(|r| cut_short(&r.stats)) {
            return skipped(
                name,
                format!(
                    "not judged: {} stopped at {}s ({}), so the strategies saw different arrivals ({} saw {}, {} saw {})",
                    r.strategy.name(),
                    fmt_time(r.stats.time),
                    r.stats.stop,
                    first.strategy.name(),
                    first.issued,
                    f.strategy.name(),
                    f.issued
                ),
            );
        }
        return fail(
            name,
            format!(
                "not a fair comparison: {} saw {} arrivals, {} saw {}",
                first.strategy.name(),
                first.issued,
                f.strategy.name(),
                f.issued
            ),
            vec![],
        )
        .dated(
            spec.workload.stop,
            balancer(spec, "saw other arrivals per strategy"),
        );
    }
    if first.issued == 0 {
        return skipped(
            name,
            format!(
                "not judged: no request arrived before workload.stop ({}s)",
                fmt_time(spec.workload.stop)
            ),
        );
    }
    pass(
        name,
        format!(
            "{} strategies x {} requests (the same arrivals): each ended ok, with an error or timed out",
            figs.len(),
            first.issued
        ),
    )
}

fn health_detection(plan: &Plan, figs: &[Figures], down: &[Vec<(Time, Time)>]) -> CheckOutcome {
    let name = "health-detection";
    let windows: usize = down.iter().map(Vec::len).sum();
    let bound = plan.health.as_ref().map(|h| h.detection_bound());
    for f in figs {
        if let Some(&(t, b, late)) = f.down_routes.first() {
            let why = match bound {
                Some(bound) => format!(
                    "beyond the detection bound {} (fall x interval + timeout)",
                    fmt_duration(bound)
                ),
                None => "and health checks are off".into(),
            };
            return fail(
                name,
                format!(
                    "{}: {} tries went to a backend that was down; the first to n{b} at {}s, {} after it went down, {why}",
                    f.strategy.name(),
                    f.down_routes.len(),
                    fmt_time(t),
                    fmt_duration(late),
                ),
                vec![],
            )
            .dated(t, [(b, "down, still sent a try".to_string())]);
        }
    }
    match bound {
        _ if windows == 0 => skipped(
            name,
            "not judged: no backend was down (crashed, paused or cut off from the balancer): nothing to detect"
                .into(),
        ),
        Some(bound) => {
            // The slowest detection of each down window, over the strategies.
            let mut worst: Option<Time> = None;
            for f in figs {
                for (b, ws) in down.iter().enumerate() {
                    for &(s, e) in ws {
                        if let Some(&(t, _, _)) = f
                            .health
                            .iter()
                            .find(|(t, hb, up)| *hb as usize == b && !up && *t >= s && *t < e)
                        {
                            worst = Some(worst.map_or(t - s, |w: Time| w.max(t - s)));
                        }
                    }
                }
            }
            let seen = worst.map_or(
                "no window lasted long enough to be marked down".into(),
                |w| format!("slowest detection {}", fmt_duration(w)),
            );
            pass(
                name,
                format!(
                    "{windows} down windows: no try went to a down backend later than {} after it went down ({seen})",
                    fmt_duration(bound)
                ),
            )
        }
        None => pass(
            name,
            format!("{windows} down windows, health checks off, and no try went to a down backend"),
        ),
    }
}

fn bounded_cap(lb: &LbSpec, figs: &[Figures]) -> CheckOutcome {
    let name = "bounded-load-cap";
    // Not applicable is SKIPPED, as `bounds` says it: UNKNOWN means a search budget ran out.
    let Some(f) = figs.iter().find(|f| f.strategy == Strategy::BoundedLoad) else {
        return skipped(
            name,
            "not judged: bounded_load is not among the strategies".into(),
        );
    };
    match f.cap_broken {
        Some((t, b, load, cap)) => fail(
            name,
            format!(
                "bounded_load: n{b} took a request at {}s with {load} in flight, over its cap {cap} (epsilon {})",
                fmt_time(t),
                lb.epsilon
            ),
            vec![],
        )
        .dated(t, [(b, format!("{load} in flight, over its cap {cap}"))]),
        None => pass(
            name,
            format!(
                "bounded_load: no backend ever went over ⌈(1+{})·average⌉ in flight (at most {:.0}% of the cap)",
                lb.epsilon,
                100.0 * f.cap_ratio
            ),
        ),
    }
}

fn bounds(lb: &LbSpec, figs: &[Figures], spec: &RunSpec) -> CheckOutcome {
    let name = "bounds";
    let mut broken = Vec::new();
    let mut judged = 0;
    for b in &lb.bounds {
        for f in figs {
            if !b.strategies.is_empty() && !b.strategies.contains(&f.strategy) {
                continue;
            }
            let s = f.strategy.name();
            if let Some(max) = b.p99_max {
                judged += 1;
                if f.pct(0.99) > max {
                    broken.push(format!("{s}: p99 {} > {}", ms(f.pct(0.99)), ms(max)));
                }
            }
            if let Some(max) = b.error_rate_max {
                judged += 1;
                if f.error_rate() > max {
                    broken.push(format!(
                        "{s}: error rate {} > {}",
                        pctf(f.error_rate()),
                        pctf(max)
                    ));
                }
            }
            if let Some(max) = b.imbalance_max {
                judged += 1;
                if f.imbalance().0 > max {
                    broken.push(format!(
                        "{s}: imbalance (max/mean) {:.2} > {max:.2}",
                        f.imbalance().0
                    ));
                }
            }
        }
    }
    // Nothing to judge is SKIPPED, as every other check says it: UNKNOWN means a search
    // budget ran out, and made such a run exit 3.
    if judged == 0 {
        let why = if lb.bounds.is_empty() {
            "the scenario declares no bounds".to_string()
        } else {
            let run: Vec<&str> = figs.iter().map(|f| f.strategy.name()).collect();
            format!(
                "the declared bounds set no limit (p99_max, error_rate_max or imbalance_max) \
                 on a strategy this run uses ({})",
                run.join(", ")
            )
        };
        return skipped(name, format!("not judged: {why}"));
    }
    if broken.is_empty() {
        pass(name, format!("{judged} declared bounds met"))
    } else {
        fail(
            name,
            format!(
                "{} of {judged} bounds broken: {}",
                broken.len(),
                broken.join("; ")
            ),
            vec![],
        )
        // Figures over the whole workload: they are known broken when it stops.
        .dated(
            spec.workload.stop.min(spec.limits.time),
            balancer(spec, "routed the requests"),
        )
    }
}

/// The balancer (the last server), with why, for a check's focus.
fn balancer(spec: &RunSpec, why: &str) -> [(u32, String); 1] {
    [(spec.servers.saturating_sub(1), why.to_string())]
}

fn tables(spec: &RunSpec, lb: &LbSpec, plan: &Plan, figs: &[Figures]) -> Vec<Table> {
    let mut out = Vec::new();
    let secs = spec.workload.stop.min(spec.limits.time) as f64 / SECS as f64;
    let mut t = Table::new(
        &format!(
            "Strategies on the same {} requests (seed {}; latency of every request, a timeout counted as {})",
            figs[0].issued,
            spec.seed,
            fmt_duration(spec.workload.timeout)
        ),
        &[
            "strategy",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "errors",
            "timeouts",
            "ok/s",
            "peak load",
            "max/mean",
            "CV",
            "retries",
            "key moves",
        ],
    );
    for f in figs {
        let (mm, cv) = f.imbalance();
        t.row(vec![
            f.strategy.name().into(),
            ms(f.pct(0.5)),
            ms(f.pct(0.9)),
            ms(f.pct(0.99)),
            ms(f.pct(0.999)),
            pctf(f.error as f64 / f.issued.max(1) as f64),
            pctf(f.timeout as f64 / f.issued.max(1) as f64),
            format!("{:.0}", f.ok as f64 / secs.max(1e-9)),
            f.peak_load.to_string(),
            format!("{mm:.2}"),
            format!("{cv:.3}"),
            f.retries.to_string(),
            if f.key_moves.1 == 0 {
                "-".into()
            } else {
                pctf(f.key_moves.0 as f64 / f.key_moves.1 as f64)
            },
        ]);
    }
    out.push(t);

    let mut cols: Vec<String> = vec!["strategy".into()];
    for (i, b) in plan.backends.iter().enumerate() {
        let mut c = format!("n{i}");
        if b.speed != 1.0 {
            c.push_str(&format!(" x{}", b.speed));
        }
        if b.weight != 1 {
            c.push_str(&format!(" w{}", b.weight));
        }
        cols.push(c);
    }
    let colrefs: Vec<&str> = cols.iter().map(String::as_str).collect();
    let mut t = Table::new("Share of tries per backend", &colrefs);
    for f in figs {
        let total: u64 = f.per_backend.iter().sum();
        let mut row = vec![f.strategy.name().to_string()];
        row.extend(
            f.per_backend
                .iter()
                .map(|&c| format!("{:.1}%", 100.0 * c as f64 / total.max(1) as f64)),
        );
        t.row(row);
    }
    out.push(t);

    if lb.strategies.iter().any(|s| s.hashes()) {
        let n = plan.backend_count.max(2);
        let mut t = Table::new(
            &format!(
                "Consistent hashing on its own: {n} nodes, {STUDY_KEYS} keys (ideal moves: {} on a join, {} on a leave)",
                pctf(1.0 / (n as f64 + 1.0)),
                pctf(1.0 / n as f64)
            ),
            &[
                "placement",
                "keys max/mean",
                "keys CV",
                "moved on a join",
                "moved on a leave",
            ],
        );
        let mut vs = vec![1, 10, 100, 1000];
        if !vs.contains(&lb.vnodes) {
            vs.push(lb.vnodes);
            vs.sort_unstable();
        }
        for v in vs {
            let s = ring::study(n, v, STUDY_KEYS);
            t.row(vec![
                format!("ring, {v} vnodes"),
                format!("{:.2}", s.max_over_mean),
                format!("{:.3}", s.cv),
                pctf(s.moved_join),
                pctf(s.moved_leave),
            ]);
        }
        let (j, l) = ring::modulo_moves(n, STUDY_KEYS);
        t.row(vec![
            "modulo (hash % n)".into(),
            "-".into(),
            "-".into(),
            pctf(j),
            pctf(l),
        ]);
        out.push(t);
    }
    out
}
