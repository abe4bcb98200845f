//! The protocol author's API: a [`Node`] reacts to start, messages and timers through a
//! [`Context`], which *buffers* effects (sends, timers, observations); the engine applies them
//! after the handler returns. A [`Protocol`] builds nodes, at start and again after a crash.
//!
//! Durable storage (`Node::Durable`) is the only state that survives a crash: the engine keeps
//! it outside the node. Writing it inside a handler is "persisted before the handler's
//! messages leave", as a protocol that fsyncs before replying would have it.

use std::fmt::Debug;
use std::hash::Hash;

use super::rng::{ChaCha8Rng, range_u64, unit_f64};
use super::time::Time;

/// A node's identity: servers are `0..servers`, clients follow.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct NodeId(pub u32);

impl NodeId {
    #[inline]
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// One process of a protocol: a server, a client, or an enum of both.
pub trait Node: Sized {
    /// The protocol's messages: a plain enum. `Hash` feeds the trace hash, `Debug` the text trace.
    type Msg: Clone + Debug + Hash;
    /// Timer tags. Setting a tag that is already set resets it; at most one timer per tag.
    type Timer: Copy + Debug + Eq + Hash;
    /// What survives a crash (term, vote, log...). Everything else in the node is volatile.
    type Durable: Clone + Debug + Default;
    /// Facts a node reports to the outside world (a client's invoke/complete, a leader elected,
    /// an entry applied). The engine stamps each with the true virtual time and the node.
    type Obs: Clone + Debug;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>);
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Self::Msg);
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Self::Timer);
    /// Called instead of `on_start` when a crashed node comes back (built from its durable state).
    fn on_restart(&mut self, ctx: &mut Context<'_, Self>) {
        self.on_start(ctx)
    }
    /// How the step-through view of a report draws this node now (role, term, log, state
    /// machine, pending operation), from the node and its durable storage. Only asked for
    /// when a run keeps records, after each event; `None` (the default) draws the node from
    /// the run's role timeline alone.
    fn view(&self, _durable: &Self::Durable) -> Option<super::view::NodeView> {
        None
    }
    /// Optional: a cheap number that changes whenever [`view`](Node::view) would (a hash of
    /// role, term, log length, commit index...). When it has not changed since the node's last
    /// view, the view is not rebuilt: most events (heartbeats) change nothing drawn.
    fn view_stamp(&self, _durable: &Self::Durable) -> Option<u64> {
        None
    }
    /// Optional: a copy of this node that behaves exactly as it would from now on (its
    /// `Clone`, where it has one), so that a run can be forked ([`Sim::fork`]): a report then
    /// replays its window from the nearest fork instead of from the start. `None` (the
    /// default): the node cannot be copied, and a replay starts from the run's start.
    ///
    /// [`Sim::fork`]: super::Sim::fork
    fn fork(&self) -> Option<Self> {
        None
    }
    /// Appends `msg`'s label, the text a report shows for it: what `{:?}` prints (the
    /// default). Optional: a protocol whose messages fill most of a report's labels (log
    /// entries) may write the same text faster; it must be the same, byte for byte.
    fn write_label(msg: &Self::Msg, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "{msg:?}");
    }
}

/// Builds the nodes of a run.
pub trait Protocol {
    type Node: Node;
    /// Builds node `id` at start and again on restart after a crash, from its durable state.
    fn node(&self, id: NodeId, durable: &<Self::Node as Node>::Durable) -> Self::Node;
    /// Called with each observation as the engine takes it from a handler, with the observing
    /// node's durable state as that handler left it. Returns the observation for the run's
    /// list (the default keeps every one), or `None` when the protocol judged it on the spot:
    /// checks that run as the run goes keep what they need, not every observation.
    fn observed(
        &mut self,
        _time: crate::sim::Time,
        _node: NodeId,
        obs: <Self::Node as Node>::Obs,
        _durable: &<Self::Node as Node>::Durable,
    ) -> Option<<Self::Node as Node>::Obs> {
        Some(obs)
    }
    /// Optional: a copy of this protocol for a fork of its run ([`Sim::fork`]), which builds
    /// the nodes a fork restarts exactly as this one would. It need judge nothing: a fork
    /// only replays events for a report. `None` (the default): runs are not forked.
    ///
    /// [`Sim::fork`]: super::Sim::fork
    fn fork(&self) -> Option<Self>
    where
        Self: Sized,
    {
        None
    }
}

/// A buffered effect of a handler.
pub(crate) enum TimerCmd<T> {
    Set(T, Time),
    Cancel(T),
}

/// Effects buffered during one handler call; reused across events (no allocation per event).
pub(crate) struct Outbox<N: Node> {
    /// A queue: the engine takes the sends from the front, in order, leaving the buffer in
    /// place (no iterator over a taken vector to drop, which the compiler may or may not
    /// inline into every protocol's engine).
    pub sends: std::collections::VecDeque<(NodeId, N::Msg)>,
    pub timers: Vec<TimerCmd<N::Timer>>,
    pub obs: Vec<N::Obs>,
}

impl<N: Node> Default for Outbox<N> {
    fn default() -> Self {
        Outbox {
            sends: std::collections::VecDeque::new(),
            timers: Vec::new(),
            obs: Vec::new(),
        }
    }
}

/// What a handler may do: read its identity and local clock, send, set timers, draw random
/// numbers from its own stream, touch durable storage, and report observations.
pub struct Context<'a, N: Node> {
    pub(crate) id: NodeId,
    pub(crate) now_local: Time,
    /// Reads of `now` during this handler (the engine counts the reads a skewed clock changed).
    pub(crate) clock_reads: std::cell::Cell<u32>,
    pub(crate) servers: u32,
    pub(crate) nodes: u32,
    pub(crate) rng: &'a mut ChaCha8Rng,
    pub(crate) durable: &'a mut N::Durable,
    pub(crate) out: &'a mut Outbox<N>,
}

impl<'a, N: Node> Context<'a, N> {
    /// This node.
    #[inline]
    pub fn id(&self) -> NodeId {
        self.id
    }
    /// The node's own clock: true time shifted by its skew and scaled by its drift.
    #[inline]
    pub fn now(&self) -> Time {
        self.clock_reads.set(self.clock_reads.get().wrapping_add(1));
        self.now_local
    }
    /// Number of servers (ids `0..servers`).
    #[inline]
    pub fn servers(&self) -> u32 {
        self.servers
    }
    /// All server ids.
    pub fn server_ids(&self) -> impl Iterator<Item = NodeId> + use<N> {
        (0..self.servers).map(NodeId)
    }
    /// Every other server.
    pub fn peers(&self) -> impl Iterator<Item = NodeId> + use<N> {
        let me = self.id.0;
        (0..self.servers).filter(move |&i| i != me).map(NodeId)
    }
    /// Total number of nodes (servers and clients).
    #[inline]
    pub fn nodes(&self) -> u32 {
        self.nodes
    }
    /// Sends `msg` to `to` over the simulated network (it may be delayed, lost, duplicated).
    #[inline]
    pub fn send(&mut self, to: NodeId, msg: N::Msg) {
        self.out.sends.push_back((to, msg));
    }
    /// Sends `msg` to every other server.
    pub fn broadcast(&mut self, msg: N::Msg) {
        for p in 0..self.servers {
            if p != self.id.0 {
                self.out.sends.push_back((NodeId(p), msg.clone()));
            }
        }
    }
    /// Fires `timer` after `delay` of this node's local time; resets it if already set.
    #[inline]
    pub fn set_timer(&mut self, timer: N::Timer, delay: Time) {
        self.out.timers.push(TimerCmd::Set(timer, delay));
    }
    /// Cancels `timer` if set.
    #[inline]
    pub fn cancel_timer(&mut self, timer: N::Timer) {
        self.out.timers.push(TimerCmd::Cancel(timer));
    }
    /// This node's durable storage: survives crashes and restarts.
    #[inline]
    pub fn durable(&mut self) -> &mut N::Durable {
        self.durable
    }
    /// Reads durable storage.
    #[inline]
    pub fn durable_ref(&self) -> &N::Durable {
        self.durable
    }
    /// Reports a fact to the outside (history, invariant checkers), stamped with true time.
    #[inline]
    pub fn observe(&mut self, obs: N::Obs) {
        self.out.obs.push(obs);
    }
    /// This node's random stream (seeded from the run's seed and the node id).
    #[inline]
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        self.rng
    }
    /// A uniform integer in `[lo, hi]`.
    #[inline]
    pub fn random_range(&mut self, lo: u64, hi: u64) -> u64 {
        range_u64(self.rng, lo, hi)
    }
    /// True with probability `p`.
    #[inline]
    pub fn random_bool(&mut self, p: f64) -> bool {
        unit_f64(self.rng) < p
    }
}
