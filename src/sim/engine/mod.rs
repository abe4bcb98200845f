//! The discrete-event engine: one queue of events ordered by (time, sequence number), popped
//! one at a time on one thread. Events are message deliveries, timer firings, fault actions,
//! node starts and pause ends. Monomorphized per protocol (`Sim<P>`): no dynamic dispatch and
//! no allocation per event on the hot path (payloads live in a slab reused through a free list;
//! effect buffers are reused).
//!
//! Timers are queued lazily. A timer set again to a later deadline (a follower's election
//! timeout on every AppendEntries, a client's attempt deadline on every request) does not
//! queue a new entry: its node's [`TimerSlot`] keeps the new deadline and sequence number
//! (taken at the reset, as an eager queue would), and when the entry already queued comes
//! due, it goes back into the queue under that key instead of firing. The live timer then
//! pops at exactly the (time, sequence number) it would have had, so every event comes in the
//! same order as with one queue entry per reset, and the queue holds one entry per timer
//! rather than one per reset. A timer set to an earlier deadline is queued at once (its old
//! entry is skipped when it comes due).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::{Hash, Hasher};

pub use super::effect::FaultEffect;
use super::fault::Fault;
use super::links::Links;
use super::node::{Context, Node, NodeId, Outbox, Protocol, TimerCmd};
use super::rng::{ChaCha8Rng, Stream, stream, unit_f64};
pub use super::run::{Counters, Limits, RunStats, SimConfig, StopReason};
use super::time::Time;
use super::topology::Topology;
use super::trace::{EventKind, Label, Labels, StableHasher, TraceRecord};

mod access;
mod faults;

/// No fault: the index of a fault injected by hand (`Sim::inject`), whose effects are not
/// counted.
const NO_FAULT: u32 = u32::MAX;

#[derive(Clone)]
enum Ev<M, T> {
    Start(u32),
    Deliver {
        from: u32,
        to: u32,
        to_inc: u32,
        sent: Time,
        msg: M,
    },
    /// Timer `tag` of `node`, queued under sequence number `seq` (its [`TimerSlot::queued`]).
    Timer {
        node: u32,
        inc: u32,
        tag: T,
        seq: u64,
    },
    Fault(u32),
    Resume {
        node: u32,
        inc: u32,
    },
}

/// Bits of a queue key that hold the payload slot: up to 2^28 events in flight, 2^36 scheduled.
const SLOT_BITS: u32 = 28;
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;

/// The queue key of an event due at `at`, scheduled `seq`-th, whose payload is in `slot`.
#[inline(always)]
fn key(at: Time, seq: u64, slot: u32) -> Reverse<u128> {
    debug_assert!(slot < (1 << SLOT_BITS) && seq < (1 << (64 - SLOT_BITS)));
    Reverse(((at as u128) << 64) | ((seq as u128) << SLOT_BITS) | slot as u128)
}

/// One timer of a node, from when it is set until its queue entry comes due.
#[derive(Clone, Copy, Debug)]
struct TimerSlot<T> {
    tag: T,
    /// (deadline, sequence number) of the timer's entry in the queue (or in a paused node's
    /// backlog): the earliest it can fire.
    queued: (Time, u64),
    /// (deadline, sequence number) it fires at, `None` once cancelled. Later than `queued`
    /// when it was set again after it was queued: the entry is queued again under this key
    /// when it comes due.
    armed: Option<(Time, u64)>,
}

type EvOf<P> = Ev<<<P as Protocol>::Node as Node>::Msg, <<P as Protocol>::Node as Node>::Timer>;

struct NodeSlot<N: Node> {
    node: Option<N>,
    durable: N::Durable,
    rng: ChaCha8Rng,
    incarnation: u32,
    alive: bool,
    paused_until: Time,
    backlog: Vec<u32>,
    /// The node's timers with an entry in the queue (or its backlog), armed or not.
    timers: Vec<TimerSlot<N::Timer>>,
    clock_offset: i64,
    drift_ppm: i64,
    drift_since: Time,
    /// The schedule's faults currently acting on this node (their indexes, or `NO_FAULT`):
    /// the latest crash, pause and clock skew.
    crashed_by: u32,
    paused_by: u32,
    skewed_by: u32,
    /// `Slow` fault: the node's timers take this many times longer (1 = full speed).
    slow: u32,
}

/// A simulation of one protocol.
pub struct Sim<P: Protocol> {
    protocol: P,
    cfg: SimConfig,
    n: u32,
    now: Time,
    seq: u64,
    events: u64,
    /// `(time << 64) | (seq << SLOT_BITS) | slot`: one u128 compare orders by (time, seq).
    queue: BinaryHeap<Reverse<u128>>,
    slab: Vec<Option<EvOf<P>>>,
    free: Vec<u32>,
    nodes: Vec<NodeSlot<P::Node>>,
    links: Links,
    topology: Topology,
    out: Outbox<P::Node>,
    hash: StableHasher,
    counters: Counters,
    effects: Vec<FaultEffect>,
    records: Vec<TraceRecord>,
    /// The labels of records that are a message, timer or observation, unformatted:
    /// `(record index, label)` in record order.
    typed_labels: Vec<(u32, Label<P::Node>)>,
    observations: Vec<(Time, NodeId, <P::Node as Node>::Obs)>,
    stopped: Option<StopReason>,
}

impl<P: Protocol> Sim<P> {
    /// Builds the cluster and schedules node starts and the fault schedule. Validate the
    /// configuration first (the scenario loader does): this trusts it.
    pub fn new(protocol: P, cfg: SimConfig) -> Self {
        let n = cfg.servers + cfg.clients;
        let nodes = (0..n)
            .map(|i| {
                let durable = <P::Node as Node>::Durable::default();
                NodeSlot {
                    node: None,
                    durable,
                    rng: stream(cfg.seed, Stream::Node, i as u64),
                    incarnation: 0,
                    alive: false,
                    paused_until: 0,
                    backlog: Vec::new(),
                    timers: Vec::new(),
                    clock_offset: 0,
                    drift_ppm: 0,
                    drift_since: 0,
                    crashed_by: NO_FAULT,
                    paused_by: NO_FAULT,
                    skewed_by: NO_FAULT,
                    slow: 1,
                }
            })
            .collect();
        let links = Links::new(&cfg.network, n, cfg.seed);
        let mut sim = Sim {
            protocol,
            n,
            now: 0,
            seq: 0,
            events: 0,
            queue: BinaryHeap::with_capacity(1024),
            slab: Vec::with_capacity(1024),
            free: Vec::new(),
            nodes,
            links,
            topology: Topology::full(n),
            out: Outbox::default(),
            hash: StableHasher::new(),
            counters: Counters::default(),
            effects: vec![FaultEffect::default(); cfg.faults.len()],
            records: Vec::new(),
            typed_labels: Vec::new(),
            observations: Vec::new(),
            stopped: None,
            cfg,
        };
        sim.hash.write_u64(sim.cfg.seed);
        for i in 0..n {
            sim.push(0, Ev::Start(i));
        }
        let mut order: Vec<u32> = (0..sim.cfg.faults.len() as u32).collect();
        order.sort_by_key(|&i| sim.cfg.faults[i as usize].at);
        for i in order {
            let at = sim.cfg.faults[i as usize].at;
            sim.push(at, Ev::Fault(i));
        }
        sim
    }

    #[inline]
    fn push(&mut self, at: Time, ev: EvOf<P>) {
        self.seq += 1;
        self.push_seq(at, self.seq, ev);
    }

    /// Queues `ev` under a sequence number already taken.
    #[inline]
    fn push_seq(&mut self, at: Time, seq: u64, ev: EvOf<P>) {
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some(ev);
                s
            }
            None => {
                // Every slot in use holds a pending event: the queue is at its limit. The
                // run stops before its next event (this one is kept, as are the few more
                // the event being handled schedules).
                if self.slab.len() as u64 >= self.cfg.limits.pending && self.stopped.is_none() {
                    self.stopped = Some(StopReason::PendingLimit);
                }
                self.slab.push(Some(ev));
                (self.slab.len() - 1) as u32
            }
        };
        self.queue.push(key(at, seq, slot));
    }

    /// Runs until a limit is reached or nothing is left to do.
    pub fn run(&mut self) -> RunStats {
        while self.step() {}
        self.stats()
    }

    /// Runs events up to and including simulated time `t` (or a limit).
    pub fn run_until(&mut self, t: Time) {
        while let Some(&Reverse(key)) = self.queue.peek() {
            if (key >> 64) as Time > t || self.stopped.is_some() {
                break;
            }
            self.step();
        }
        if self.stopped.is_none() {
            self.now = self.now.max(t.min(self.cfg.limits.time));
        }
    }

    /// Handles one event; false when the run is over.
    pub fn step(&mut self) -> bool {
        if self.stopped.is_some() {
            return false;
        }
        let Some(&Reverse(key)) = self.queue.peek() else {
            self.stopped = Some(StopReason::Quiescent);
            return false;
        };
        let (at, slot) = ((key >> 64) as Time, (key as u64 & SLOT_MASK) as u32);
        if at > self.cfg.limits.time {
            self.now = self.cfg.limits.time;
            self.stopped = Some(StopReason::TimeLimit);
            return false;
        }
        // Only a run with work left before its time limit is cut short by the event limit.
        if self.events >= self.cfg.limits.events {
            self.stopped = Some(StopReason::EventLimit);
            return false;
        }
        self.queue.pop();
        if !self.timer_due(slot) {
            return true; // a timer set again or cancelled: no event
        }
        debug_assert!(at >= self.now, "time went backwards");
        self.now = at;
        self.events += 1;
        self.dispatch(slot, false);
        true
    }

    /// Whether the event in `slot`, just taken from the queue or a backlog, is to be handled:
    /// always, unless it is a timer that no longer fires there. A timer set again to a later
    /// deadline since it was queued goes back into the queue under the key of that setting
    /// (its slot kept); a cancelled timer, one set again to an earlier deadline (queued anew
    /// then) or one of a crashed incarnation is dropped.
    #[inline]
    fn timer_due(&mut self, slot: u32) -> bool {
        let Some(Ev::Timer {
            node,
            inc,
            tag,
            seq,
        }) = &mut self.slab[slot as usize]
        else {
            return true;
        };
        let s = &mut self.nodes[*node as usize];
        let pos = if s.alive && s.incarnation == *inc {
            s.timers
                .iter()
                .position(|t| t.tag == *tag && t.queued.1 == *seq)
        } else {
            None
        };
        if let Some(p) = pos {
            match s.timers[p].armed {
                Some((_, armed)) if armed == *seq => return true,
                Some((at, armed)) => {
                    s.timers[p].queued = (at, armed);
                    *seq = armed;
                    self.queue.push(key(at, armed, slot));
                    return false;
                }
                None => {
                    s.timers.swap_remove(p);
                }
            }
        }
        self.slab[slot as usize] = None;
        self.free.push(slot);
        false
    }

    /// Handles the event in `slot`. `from_backlog`: a paused node is now handling it late.
    fn dispatch(&mut self, slot: u32, from_backlog: bool) {
        let now = self.now;
        let ev = match &self.slab[slot as usize] {
            Some(Ev::Deliver { to, .. }) | Some(Ev::Timer { node: to, .. }) => {
                let to = *to as usize;
                let paused = self.nodes[to].alive && self.nodes[to].paused_until > now;
                if paused && !from_backlog && self.deliverable(slot) {
                    self.nodes[to].backlog.push(slot);
                    let by = self.nodes[to].paused_by;
                    if let Some(e) = self.effects.get_mut(by as usize) {
                        e.events_delayed += 1;
                    }
                    self.note(EventKind::Backlog, to as u32, to as u32, now, 0, || {
                        Label::Text(String::from("queued while paused"))
                    });
                    return;
                }
                self.slab[slot as usize].take()
            }
            _ => self.slab[slot as usize].take(),
        };
        self.free.push(slot);
        let Some(ev) = ev else { return };
        match ev {
            Ev::Start(i) => {
                let s = &mut self.nodes[i as usize];
                s.node = Some(self.protocol.node(NodeId(i), &s.durable));
                s.alive = true;
                self.note(EventKind::Start, i, i, now, 0, Label::none);
                self.call(i, |node, ctx| node.on_start(ctx));
            }
            Ev::Deliver {
                from,
                to,
                to_inc,
                sent,
                msg,
            } => {
                let ts = &self.nodes[to as usize];
                if !ts.alive || ts.incarnation != to_inc {
                    self.counters.dropped_dead += 1;
                    if let Some(e) = self.effects.get_mut(ts.crashed_by as usize) {
                        e.messages_lost += 1;
                    }
                    self.note(EventKind::DropDead, to, from, sent, 0, || {
                        Label::Msg(msg.clone())
                    });
                } else if !self.topology.reaches(NodeId(from), NodeId(to)) {
                    self.counters.dropped_partition += 1;
                    if let Some(b) = self.topology.cut_by(NodeId(from), NodeId(to))
                        && let Some(e) = self.effects.get_mut(b as usize)
                    {
                        e.messages_cut += 1;
                    }
                    self.note(EventKind::DropPartition, to, from, sent, 0, || {
                        Label::Msg(msg.clone())
                    });
                } else {
                    self.counters.delivered += 1;
                    if from_backlog {
                        self.counters.backlog_handled += 1;
                    }
                    msg.hash(&mut self.hash);
                    let h = 0;
                    self.note(EventKind::Deliver, to, from, sent, h, || {
                        Label::Msg(msg.clone())
                    });
                    self.call(to, |node, ctx| node.on_message(ctx, NodeId(from), msg));
                }
            }
            Ev::Timer { node, tag, seq, .. } => {
                // Due and armed (`timer_due`): it fires now.
                let s = &mut self.nodes[node as usize];
                if let Some(pos) = s.timers.iter().position(|t| t.queued.1 == seq) {
                    s.timers.swap_remove(pos);
                }
                self.counters.timers_fired += 1;
                if from_backlog {
                    self.counters.backlog_handled += 1;
                }
                tag.hash(&mut self.hash);
                let h = 0;
                self.note(EventKind::Timer, node, node, now, h, || Label::Timer(tag));
                self.call(node, |n, ctx| n.on_timer(ctx, tag));
            }
            Ev::Fault(i) => {
                let fault = self.cfg.faults[i as usize].fault.clone();
                self.apply_fault(i, &fault);
            }
            Ev::Resume { node, inc } => {
                let s = &mut self.nodes[node as usize];
                if !s.alive || s.incarnation != inc || s.paused_until > now {
                    return;
                }
                let backlog = std::mem::take(&mut s.backlog);
                self.note(EventKind::Fault, node, node, now, 1, || {
                    Label::Text(format!("resume n{node} ({} queued)", backlog.len()))
                });
                for &b in &backlog {
                    if self.timer_due(b) {
                        self.events += 1;
                        self.dispatch(b, true);
                    }
                }
                let mut backlog = backlog;
                backlog.clear();
                let s = &mut self.nodes[node as usize];
                if s.backlog.is_empty() {
                    s.backlog = backlog; // keep the allocation
                }
            }
        }
    }

    /// Whether a backlogged event would still be handled (a message not cut off; a timer
    /// here is due and armed: `timer_due` passed it): only those are worth queueing.
    fn deliverable(&self, slot: u32) -> bool {
        match &self.slab[slot as usize] {
            Some(Ev::Deliver {
                from, to, to_inc, ..
            }) => {
                let s = &self.nodes[*to as usize];
                s.incarnation == *to_inc && self.topology.reaches(NodeId(*from), NodeId(*to))
            }
            Some(Ev::Timer { .. }) => true,
            _ => false,
        }
    }

    /// Calls a handler on node `i` and applies its buffered effects.
    #[inline]
    fn call(&mut self, i: u32, f: impl FnOnce(&mut P::Node, &mut Context<'_, P::Node>)) {
        let local = self.local_time(i);
        let s = &mut self.nodes[i as usize];
        let Some(node) = s.node.as_mut() else { return };
        let mut ctx = Context {
            id: NodeId(i),
            now_local: local,
            clock_reads: std::cell::Cell::new(0),
            servers: self.cfg.servers,
            nodes: self.n,
            rng: &mut s.rng,
            durable: &mut s.durable,
            out: &mut self.out,
        };
        f(node, &mut ctx);
        if local != self.now {
            let reads = ctx.clock_reads.get() as u64;
            if let Some(e) = self.effects.get_mut(s.skewed_by as usize) {
                e.clock_reads_changed += reads;
            }
        }
        self.apply_effects(i);
    }

    fn apply_effects(&mut self, i: u32) {
        let now = self.now;
        while let Some((to, msg)) = self.out.sends.pop_front() {
            self.send(i, to.0, msg);
        }
        // Empty again: back to the start of its buffer, so that every handler's sends reuse
        // the same few cache lines.
        self.out.sends.clear();
        if !self.out.timers.is_empty() {
            let mut timers = std::mem::take(&mut self.out.timers);
            for cmd in timers.drain(..) {
                match cmd {
                    TimerCmd::Set(tag, delay) => {
                        // The sequence number an eager queue would give it, taken whether or
                        // not it is queued now: ties break as they always did.
                        self.seq += 1;
                        let seq = self.seq;
                        let s = &mut self.nodes[i as usize];
                        let inc = s.incarnation;
                        if s.drift_ppm != 0
                            && let Some(e) = self.effects.get_mut(s.skewed_by as usize)
                        {
                            e.timers_stretched += 1;
                        }
                        let at = now.saturating_add(
                            true_delay(delay, s.drift_ppm).saturating_mul(s.slow as Time),
                        );
                        let armed = Some((at, seq));
                        match s.timers.iter_mut().find(|t| t.tag == tag) {
                            // Its queued entry comes due first: it is queued again then.
                            Some(t) if at >= t.queued.0 => t.armed = armed,
                            found => {
                                let slot = TimerSlot {
                                    tag,
                                    queued: (at, seq),
                                    armed,
                                };
                                match found {
                                    Some(t) => *t = slot,
                                    None => s.timers.push(slot),
                                }
                                let ev = Ev::Timer {
                                    node: i,
                                    inc,
                                    tag,
                                    seq,
                                };
                                self.push_seq(at, seq, ev);
                            }
                        }
                    }
                    TimerCmd::Cancel(tag) => {
                        let s = &mut self.nodes[i as usize];
                        if let Some(t) = s.timers.iter_mut().find(|t| t.tag == tag) {
                            t.armed = None; // its queued entry is dropped when it comes due
                        }
                    }
                }
            }
            self.out.timers = timers;
        }
        if !self.out.obs.is_empty() {
            let mut obs = std::mem::take(&mut self.out.obs);
            for o in obs.drain(..) {
                self.counters.observations += 1;
                self.note(EventKind::Observe, i, i, now, 0, || Label::Obs(o.clone()));
                let durable = &self.nodes[i as usize].durable;
                if let Some(o) = self.protocol.observed(now, NodeId(i), o, durable) {
                    self.observations.push((now, NodeId(i), o));
                }
            }
            self.out.obs = obs;
        }
    }

    #[inline]
    fn send(&mut self, from: u32, to: u32, msg: <P::Node as Node>::Msg) {
        if to >= self.n {
            debug_assert!(false, "n{from} sent to n{to}, which does not exist");
            return;
        }
        self.counters.sent += 1;
        let now = self.now;
        let link = self.links.get(from, to);
        let (cfg, rng) = (&link.cfg, &mut link.rng);
        let lost = cfg.drop > 0.0 && unit_f64(rng) < cfg.drop;
        let dup = cfg.duplicate > 0.0 && unit_f64(rng) < cfg.duplicate;
        // A message takes at least 1 ns: simulated time advances with every hop.
        let latency = cfg.latency.sample(rng).max(1);
        let to_inc = self.nodes[to as usize].incarnation;
        if lost {
            self.counters.dropped_loss += 1;
            self.note(EventKind::DropLoss, to, from, now, 0, || {
                Label::Msg(msg.clone())
            });
            return;
        }
        if dup {
            let link = self.links.get(from, to);
            let latency2 = link.cfg.latency.sample(&mut link.rng).max(1);
            self.counters.duplicated += 1;
            self.note(EventKind::Duplicate, to, from, now, 0, || {
                Label::Msg(msg.clone())
            });
            self.push(
                now + latency2,
                Ev::Deliver {
                    from,
                    to,
                    to_inc,
                    sent: now,
                    msg: msg.clone(),
                },
            );
        }
        self.push(
            now + latency,
            Ev::Deliver {
                from,
                to,
                to_inc,
                sent: now,
                msg,
            },
        );
    }

    /// Hashes one event and, when recording, keeps it. `label` is only called when recording:
    /// a message, timer or observation is kept as it is and formatted only when a report
    /// asks for its text ([`Sim::take_labels`]).
    #[inline(always)]
    fn note(
        &mut self,
        kind: EventKind,
        node: u32,
        peer: u32,
        sent: Time,
        h: u64,
        label: impl FnOnce() -> Label<P::Node>,
    ) {
        let hs = &mut self.hash;
        hs.write_u64(
            self.now ^ ((kind as u64) << 48 | (node as u64) << 24 | peer as u64).rotate_left(17),
        );
        hs.write_u64(h ^ sent);
        if self.cfg.record {
            let text = match label() {
                Label::Text(t) => t,
                Label::None => String::new(),
                typed => {
                    self.typed_labels.push((self.records.len() as u32, typed));
                    String::new()
                }
            };
            self.records.push(TraceRecord {
                time: self.now,
                kind,
                node: NodeId(node),
                peer: NodeId(peer),
                sent,
                label: text,
            });
        }
    }

    /// Node `i`'s local clock now.
    fn local_time(&self, i: u32) -> Time {
        let s = &self.nodes[i as usize];
        if s.clock_offset == 0 && s.drift_ppm == 0 {
            return self.now;
        }
        let elapsed = (self.now - s.drift_since) as i128;
        let t =
            self.now as i128 + s.clock_offset as i128 + elapsed * s.drift_ppm as i128 / 1_000_000;
        t.clamp(0, u64::MAX as i128) as Time
    }
}

/// True-time length of a timer of `local` length on a clock drifting by `drift_ppm`.
#[inline]
fn true_delay(local: Time, drift_ppm: i64) -> Time {
    if drift_ppm == 0 {
        return local;
    }
    (local as u128 * 1_000_000 / (1_000_000 + drift_ppm) as u128) as Time
}

fn fault_code(f: &Fault) -> u64 {
    let mut h = StableHasher::new();
    h.write(f.to_string().as_bytes());
    h.finish()
}
