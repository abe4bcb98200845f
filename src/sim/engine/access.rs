//! The simulation's read side and its copies: time, nodes, records, counters, forks.

use super::*;

impl<P: Protocol> Sim<P> {
    /// Current simulated (true) time.
    pub fn now(&self) -> Time {
        self.now
    }
    /// The configuration of this run.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }
    /// Turns recording on or off from now on (a replay that records only a window of the
    /// run); records already kept stay, and the run itself does not change.
    pub fn set_record(&mut self, on: bool) {
        self.cfg.record = on;
    }
    /// The protocol.
    pub fn protocol(&self) -> &P {
        &self.protocol
    }
    /// The protocol, to take out what its [`Protocol::observed`] kept.
    pub fn protocol_mut(&mut self) -> &mut P {
        &mut self.protocol
    }
    /// Node `id`'s state, or `None` while it is crashed.
    pub fn node(&self, id: NodeId) -> Option<&P::Node> {
        self.nodes.get(id.idx()).and_then(|s| s.node.as_ref())
    }
    /// How many nodes the run has (servers, clients and any node past them).
    pub fn node_count(&self) -> u32 {
        self.nodes.len() as u32
    }
    /// Node `id`'s durable storage.
    pub fn durable(&self, id: NodeId) -> &<P::Node as Node>::Durable {
        &self.nodes[id.idx()].durable
    }
    /// Whether node `id` is paused now.
    pub fn is_paused(&self, id: NodeId) -> bool {
        self.nodes[id.idx()].paused_until > self.now
    }
    /// Node `id`'s clock reading now.
    pub fn clock_of(&self, id: NodeId) -> Time {
        self.local_time(id.0)
    }
    /// Every observation so far, stamped with true time and node.
    pub fn observations(&self) -> &[(Time, NodeId, <P::Node as Node>::Obs)] {
        &self.observations
    }
    /// Takes the observations out (leaves the run's list empty).
    pub fn take_observations(&mut self) -> Vec<(Time, NodeId, <P::Node as Node>::Obs)> {
        std::mem::take(&mut self.observations)
    }
    /// Recorded events (empty unless `record` is on).
    pub fn records(&self) -> &[TraceRecord] {
        &self.records
    }
    /// Takes the recorded events out (leaves the run's list empty): a report keeps them
    /// without a copy.
    pub fn take_records(&mut self) -> Vec<TraceRecord> {
        std::mem::take(&mut self.records)
    }
    /// The text trace: one line per recorded event.
    pub fn trace_text(&self) -> String {
        let mut s = String::with_capacity(self.records.len() * 64);
        let mut typed = self.typed_labels.iter().peekable();
        for (i, r) in self.records.iter().enumerate() {
            match typed.next_if(|(k, _)| *k as usize == i) {
                Some((_, l)) => s.push_str(&r.line_with(&l.text())),
                None => s.push_str(&r.line()),
            }
            s.push('\n');
        }
        s
    }
    /// Takes the unformatted labels out: a [`Labels`] formats the label of a record taken by
    /// [`take_records`](Sim::take_records) when asked, so that a report formats only the
    /// labels it shows.
    pub fn take_labels(&mut self) -> Labels
    where
        P::Node: 'static,
        <P::Node as Node>::Msg: Send + Sync + 'static,
        <P::Node as Node>::Timer: Send + Sync + 'static,
        <P::Node as Node>::Obs: Send + Sync + 'static,
    {
        let typed = std::mem::take(&mut self.typed_labels);
        if typed.is_empty() {
            return Labels::default();
        }
        Labels::new(move |i| {
            let k = typed.binary_search_by_key(&(i as u32), |x| x.0).ok()?;
            Some(typed[k].1.text())
        })
    }
    /// The stable hash of every event so far.
    pub fn trace_hash(&self) -> u64 {
        self.hash.finish()
    }
    /// Counts of what happened.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
    /// Events handled so far.
    pub fn events(&self) -> u64 {
        self.events
    }
    /// The result so far.
    pub fn stats(&self) -> RunStats {
        RunStats {
            stop: self.stopped.unwrap_or(StopReason::TimeLimit),
            time: self.now,
            events: self.events,
            trace_hash: self.trace_hash(),
            counters: self.counters.clone(),
            fault_effects: self.effects.clone(),
        }
    }
    /// Whether the topology currently cuts any link.
    pub fn is_partitioned(&self) -> bool {
        self.topology.is_partitioned()
    }
    /// A copy of the run as it stands that goes on exactly as this one will (the same events,
    /// draws and hash: every node, queue, stream and link is copied), with `protocol` in
    /// place of this run's (a copy that judges nothing: [`Protocol::fork`]). Its records,
    /// labels and observations start empty. `None` when a node cannot be copied
    /// ([`Node::fork`]). A report's run keeps a few forks, so that the report replays its
    /// window from the nearest one rather than from the start.
    pub fn fork(&self, protocol: P) -> Option<Self> {
        let mut nodes = Vec::with_capacity(self.nodes.len());
        for s in &self.nodes {
            let node = match &s.node {
                Some(n) => Some(n.fork()?),
                None => None,
            };
            nodes.push(NodeSlot {
                node,
                durable: s.durable.clone(),
                rng: s.rng.clone(),
                incarnation: s.incarnation,
                alive: s.alive,
                paused_until: s.paused_until,
                backlog: s.backlog.clone(),
                timers: s.timers.clone(),
                clock_offset: s.clock_offset,
                drift_ppm: s.drift_ppm,
                drift_since: s.drift_since,
                crashed_by: s.crashed_by,
                paused_by: s.paused_by,
                skewed_by: s.skewed_by,
                slow: s.slow,
            });
        }
        Some(Sim {
            protocol,
            cfg: self.cfg.clone(),
            n: self.n,
            now: self.now,
            seq: self.seq,
            events: self.events,
            queue: self.queue.clone(),
            slab: self.slab.clone(),
            free: self.free.clone(),
            nodes,
            links: self.links.clone(),
            topology: self.topology.clone(),
            out: Outbox::default(),
            hash: self.hash,
            counters: self.counters.clone(),
            effects: self.effects.clone(),
            records: Vec::new(),
            typed_labels: Vec::new(),
            observations: Vec::new(),
            stopped: self.stopped,
        })
    }
    /// Whether the run is over (a limit reached, or nothing left to do).
    pub fn is_stopped(&self) -> bool {
        self.stopped.is_some()
    }
    /// The time of the next event, if any is left.
    pub fn next_time(&self) -> Option<Time> {
        self.queue.peek().map(|&Reverse(key)| (key >> 64) as Time)
    }
    /// Applies a fault now (for tests and interactive use); scheduled faults need not use this.
    pub fn inject(&mut self, fault: Fault) {
        self.apply_fault(NO_FAULT, &fault);
    }
}
