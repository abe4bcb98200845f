//! Benchmarks shared by `cargo bench` and `faultline bench`: the engine against a bare
//! BinaryHeap loop doing the same work, measured in one run. Wall-clock timing lives here,
//! outside any simulated run.

use std::time::Instant;

use crate::sim::demo::{RelayProtocol, bare_loop};
use crate::sim::{Latency, LinkConfig, MILLIS, SECS, Sim, SimConfig};

/// One measurement.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EngineFigure {
    pub nodes: u32,
    pub in_flight: u32,
    pub events: u64,
    pub engine_events_per_sec: f64,
    pub bare_events_per_sec: f64,
    /// engine / bare.
    pub ratio: f64,
}

/// Runs the relay workload (`nodes` nodes, `in_flight` messages, uniform 1–10 ms latency) for
/// `events` events on the engine and on the bare loop; best of `reps` for each.
pub fn engine_vs_bare(nodes: u32, in_flight: u32, events: u64, reps: u32) -> EngineFigure {
    let fanout = in_flight.div_ceil(nodes);
    let mut best_engine = f64::MAX;
    let mut best_bare = f64::MAX;
    let mut sink = 0u64;
    for _ in 0..reps.max(1) {
        let mut cfg = SimConfig::new(1, nodes, 0);
        cfg.network.default = LinkConfig {
            latency: Latency::Uniform {
                min: MILLIS,
                max: 10 * MILLIS,
            },
            drop: 0.0,
            duplicate: 0.0,
        };
        cfg.limits.time = 1_000_000 * SECS;
        cfg.limits.events = events;
        let t = Instant::now();
        let mut sim = Sim::new(RelayProtocol { fanout }, cfg);
        let stats = sim.run();
        best_engine = best_engine.min(t.elapsed().as_secs_f64());
        sink ^= stats.trace_hash;
        assert_eq!(stats.events, events);

        let t = Instant::now();
        sink ^= bare_loop(1, nodes, fanout * nodes, events, MILLIS, 10 * MILLIS);
        best_bare = best_bare.min(t.elapsed().as_secs_f64());
    }
    std::hint::black_box(sink);
    let e = events as f64 / best_engine;
    let b = events as f64 / best_bare;
    EngineFigure {
        nodes,
        in_flight: fanout * nodes,
        events,
        engine_events_per_sec: e,
        bare_events_per_sec: b,
        ratio: e / b,
    }
}

/// The load balancer's throughput: `lb-strategies.ron` stretched until its strategies together
/// serve at least `requests` requests.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LbFigure {
    pub requests: u64,
    pub events: u64,
    pub secs: f64,
}

pub fn lb_requests(requests: u64) -> LbFigure {
    use crate::protocols::{ProtocolSpec, run};
    let mut s = crate::scenario::load_str(
        include_str!("../scenarios/lb-strategies.ron"),
        "scenarios/lb-strategies.ron",
    )
    .expect("the bundled scenario loads");
    let ProtocolSpec::LoadBalancer(lb) = &s.protocol else {
        unreachable!("lb-strategies is a load-balancer scenario")
    };
    let per_sec = lb.load.rate * lb.strategies.len() as f64;
    let stop = ((requests as f64 / per_sec) * SECS as f64) as u64 + SECS;
    s.workload.stop = stop;
    s.limits.time = stop + 2 * s.workload.timeout;
    s.limits.events = u64::MAX;
    let t = Instant::now();
    let o = run(&s.to_run_spec(0, false));
    let secs = t.elapsed().as_secs_f64();
    LbFigure {
        requests: o.ops.len() as u64,
        events: o.stats.events,
        secs,
    }
}

/// Simulated events per CPU-second of one scenario's runs (with their checks) on one thread,
/// round by round.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ScenarioFigure {
    pub name: String,
    /// Seeds per round (`0..seeds`, the same in every round).
    pub seeds: u64,
    /// Events of one round (every round runs the same seeds: the same events).
    pub events: u64,
    /// CPU seconds of this thread per round, in round order.
    pub secs: Vec<f64>,
    /// Seeds of a round whose run did not pass its checks (a figure of runs that failed, or
    /// stopped short, measures something else than the scenario's work).
    pub not_passed: u64,
}

impl ScenarioFigure {
    /// Events per CPU-second of each round.
    pub fn rates(&self) -> Vec<f64> {
        self.secs
            .iter()
            .map(|s| self.events as f64 / s.max(1e-9))
            .collect()
    }
    /// The median round's events per CPU-second.
    pub fn events_per_sec(&self) -> f64 {
        median(&self.rates())
    }
}

/// The median of `xs` (the mean of the middle two for an even count); 0 for none.
pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// CPU time of the calling thread, in seconds: unlike wall-clock time it does not count the
/// time other processes of a shared machine hold the core.
pub fn thread_cpu_secs() -> f64 {
    // SAFETY: clock_gettime writes into the zeroed struct we own.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Runs seeds `0..seeds` of each scenario on one thread, `rounds` times, interleaved seed by
/// seed (a seed of each in turn, the order of the scenarios reversed every other round), each
/// run timed in this thread's CPU time: the scenarios see the same machine load and the same
/// cache warmth, and a round's ratio of two of them compares like with like. The spread of
/// the rounds says how far one figure can be trusted.
pub fn scenarios_events(
    scenarios: &[&crate::scenario::Scenario],
    seeds: u64,
    rounds: u32,
) -> Vec<ScenarioFigure> {
    let mut figs: Vec<ScenarioFigure> = scenarios
        .iter()
        .map(|s| ScenarioFigure {
            name: s.name.clone(),
            seeds,
            events: 0,
            secs: Vec::new(),
            not_passed: 0,
        })
        .collect();
    let mut order: Vec<usize> = (0..scenarios.len()).collect();
    for round in 0..rounds.max(1) {
        let mut tally = vec![(0u64, 0.0f64, 0u64); scenarios.len()];
        for seed in 0..seeds {
            for &i in &order {
                let spec = scenarios[i].to_run_spec(seed, false);
                let t = thread_cpu_secs();
                let o = crate::protocols::run(&spec);
                tally[i].0 += o.stats.events;
                tally[i].2 += u64::from(o.verdict() != crate::protocols::Verdict::Pass);
                // Freeing what the run returned is part of its cost, as in a sweep.
                drop(std::hint::black_box(o));
                tally[i].1 += thread_cpu_secs() - t;
            }
        }
        for (f, (events, secs, not_passed)) in figs.iter_mut().zip(tally) {
            assert!(
                round == 0 || f.events == events,
                "a seed's run is the same in every round"
            );
            f.events = events;
            f.not_passed = not_passed;
            f.secs.push(secs);
        }
        order.reverse();
    }
    figs
}
