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

/// Simulated events per second of one scenario's runs (with their checks) on one thread.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ScenarioFigure {
    pub name: String,
    pub seeds: u64,
    pub events: u64,
    pub secs: f64,
}

impl ScenarioFigure {
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.secs.max(1e-9)
    }
}

/// Runs seeds `0..seeds` of each scenario on one thread, interleaved (a seed of each in
/// turn, `reps` rounds, the best round kept per scenario), so that both see the same machine
/// load: the figures of two protocols are comparable within one call.
pub fn scenarios_events(
    scenarios: &[&crate::scenario::Scenario],
    seeds: u64,
    reps: u32,
) -> Vec<ScenarioFigure> {
    let mut best: Vec<ScenarioFigure> = scenarios
        .iter()
        .map(|s| ScenarioFigure {
            name: s.name.clone(),
            seeds,
            events: 0,
            secs: f64::MAX,
        })
        .collect();
    for _ in 0..reps.max(1) {
        let mut round = vec![(0u64, 0.0f64); scenarios.len()];
        for seed in 0..seeds {
            for (i, s) in scenarios.iter().enumerate() {
                let spec = s.to_run_spec(seed, false);
                let t = Instant::now();
                let o = crate::protocols::run(&spec);
                round[i].1 += t.elapsed().as_secs_f64();
                round[i].0 += o.stats.events;
                std::hint::black_box(&o);
            }
        }
        for (b, (events, secs)) in best.iter_mut().zip(round) {
            if secs < b.secs {
                (b.events, b.secs) = (events, secs);
            }
        }
    }
    best
}
