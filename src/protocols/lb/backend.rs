//! A backend: `capacity` workers serve requests in parallel, up to `queue` more wait in FIFO
//! order, and anything beyond is rejected at once (the balancer may retry elsewhere). A
//! request's service time is its work divided by the backend's speed; under a `Slow` fault
//! the engine stretches every timer, so each service takes that many times longer while the
//! backend keeps answering health probes at once: a grey failure.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::{LbNode, Msg, Timer};
use crate::sim::{Context, NodeId, Time};

/// One backend's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackendSpec {
    /// Work per unit of time: 2.0 serves twice as fast as 1.0.
    pub speed: f64,
    /// Weight for the weighted strategies.
    pub weight: u32,
    /// Requests served at once.
    pub capacity: u32,
    /// Requests waiting beyond those; more are rejected.
    pub queue: u32,
}

impl Default for BackendSpec {
    fn default() -> Self {
        BackendSpec {
            speed: 1.0,
            weight: 1,
            capacity: 4,
            queue: 64,
        }
    }
}

/// The most workers and queue slots one backend may have.
pub const CAPACITY_MAX: u32 = 10_000;
pub const QUEUE_MAX: u32 = 1_000_000;

impl BackendSpec {
    pub fn validate(&self, i: usize) -> Result<(), String> {
        if !(self.speed.is_finite() && self.speed >= 0.001 && self.speed <= 1000.0) {
            return Err(format!(
                "backends[{i}].speed must be within [0.001, 1000], got {}",
                self.speed
            ));
        }
        if self.weight == 0 || self.weight > 1_000_000 {
            return Err(format!(
                "backends[{i}].weight must be within 1..=1000000, got {}",
                self.weight
            ));
        }
        if self.capacity == 0 || self.capacity > CAPACITY_MAX {
            return Err(format!(
                "backends[{i}].capacity must be within 1..={CAPACITY_MAX}, got {}",
                self.capacity
            ));
        }
        if self.queue > QUEUE_MAX {
            return Err(format!(
                "backends[{i}].queue must be at most {QUEUE_MAX}, got {}",
                self.queue
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug)]
pub struct Backend {
    speed: f64,
    queue_max: usize,
    /// Per worker: the ticket it serves and who asked.
    workers: Vec<Option<(NodeId, u64)>>,
    waiting: VecDeque<(NodeId, u64, Time)>,
}

impl Backend {
    /// What the step-through view shows: workers busy and requests waiting.
    pub fn view(&self) -> crate::sim::NodeView {
        let busy = self.workers.iter().filter(|w| w.is_some()).count();
        crate::sim::NodeView::new("backend", None)
            .field("busy", format!("{busy} of {}", self.workers.len()))
            .field("queued", self.waiting.len().to_string())
    }

    pub fn new(spec: &BackendSpec) -> Self {
        Backend {
            speed: spec.speed,
            queue_max: spec.queue as usize,
            workers: vec![None; spec.capacity as usize],
            waiting: VecDeque::new(),
        }
    }

    fn start(
        &mut self,
        ctx: &mut Context<'_, LbNode>,
        w: usize,
        from: NodeId,
        ticket: u64,
        work: Time,
    ) {
        self.workers[w] = Some((from, ticket));
        let service = (work as f64 / self.speed) as Time;
        ctx.set_timer(Timer::Worker(w as u32), service);
    }

    pub fn on_message(&mut self, ctx: &mut Context<'_, LbNode>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Serve { ticket, work } => {
                if let Some(w) = self.workers.iter().position(Option::is_none) {
                    self.start(ctx, w, from, ticket, work);
                } else if self.waiting.len() < self.queue_max {
                    self.waiting.push_back((from, ticket, work));
                } else {
                    ctx.send(from, Msg::Served { ticket, ok: false });
                }
                debug_assert!(self.waiting.len() <= self.queue_max);
            }
            Msg::Probe { round } => ctx.send(from, Msg::ProbeAck { round }),
            _ => {}
        }
    }

    pub fn on_worker(&mut self, ctx: &mut Context<'_, LbNode>, w: u32) {
        let w = w as usize;
        let Some((from, ticket)) = self.workers.get_mut(w).and_then(Option::take) else {
            return;
        };
        ctx.send(from, Msg::Served { ticket, ok: true });
        if let Some((f, t, work)) = self.waiting.pop_front() {
            self.start(ctx, w, f, t, work);
        }
    }
}
