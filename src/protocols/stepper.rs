//! Runs a simulation to its end and, when it keeps records, asks each node for its
//! [`NodeView`] after every event that touched it, keeping only the changes: what the
//! step-through view of a report replays. Every protocol runs through [`run`], so every
//! protocol gets the view; one that does not implement [`Node::view`] is drawn from its role
//! timeline. A run without records is exactly `Sim::run` (no view is ever built).
//!
//! Views cost more than the run itself (a server formats its log tail and state machine at
//! each change), so a report asks for them over a window of simulated time only
//! ([`with_window`]): the first event in it takes a view of every node (the window's starting
//! state), then only the changes until its end; before it no view is built, after it none (or
//! the run stops there, and records start at the window, for a replay that only wants the
//! window). Without a window (the default) every change of the whole run is kept. A report's
//! run ([`with_forks`]) records its own start that way as it goes, then runs unrecorded.

use std::cell::Cell;
use std::sync::{Arc, Mutex};

use crate::sim::{
    EventKind, Labels, Node, NodeId, Protocol, RunStats, Sim, Time, TraceRecord, ViewChange,
};

/// The stretch of simulated time whose node views a recorded run keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewWindow {
    pub from: Time,
    pub to: Time,
    /// A replay for the window alone: records start at the window (numbered from there: the
    /// events before run unrecorded, exactly as in the full run) and the run stops after the
    /// window's last event.
    pub stop: bool,
}

thread_local! {
    static WINDOW: Cell<Option<ViewWindow>> = const { Cell::new(None) };
    /// Under [`with_forks`]: how much of its start the run records itself.
    static FORKS: Cell<Option<Time>> = const { Cell::new(None) };
}

/// How many stretches a forking run is cut into: it keeps a fork at the end of each but the
/// last, so a replay runs at most a quarter of the time limit before the window it records.
/// (Each fork costs a copy of the run's state, paid by every report, passing or not: eight
/// stretches cost a passing 20 s Raft run's report more than they saved a failing one's.)
const FORK_STRETCHES: u64 = 4;

/// Runs with more nodes keep no forks: each fork copies every node and the link table (a
/// cell per pair of nodes).
const FORK_MAX_NODES: u32 = 256;

/// Runs `f` with every [`run`] it makes on this thread without records keeping forks of
/// itself ([`Replay`]), for a report that will replay a window of it, and recording its own
/// first `start` of simulated time as a replay of the window `0..=start` would (records and
/// node views; [`Replay::window`] hands them out): a report that shows the run's start (a
/// run that passed) then replays nothing. Restores the previous setting after, even if `f`
/// panics.
pub fn with_forks<T>(start: Time, f: impl FnOnce() -> T) -> T {
    forking(Some(start), f)
}

/// Runs `f` with [`FORKS`] set to `start`, restored after, even if `f` panics.
fn forking<T>(start: Option<Time>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Time>);
    impl Drop for Restore {
        fn drop(&mut self) {
            FORKS.set(self.0);
        }
    }
    let _restore = Restore(FORKS.replace(start));
    f()
}

/// Runs `f` with the runs it makes on this thread keeping no forks and recording no start,
/// even under [`with_forks`]: for runs whose trace a report does not keep (a load
/// balancer's strategies after the first). Restores the previous setting after, even if
/// `f` panics.
pub fn without_forks<T>(f: impl FnOnce() -> T) -> T {
    forking(None, f)
}

type ReplayFn = Box<dyn FnOnce(ViewWindow) -> Option<Trace> + Send>;

/// Forks of a run kept at a few moments of it ([`with_forks`], [`Sim::fork`]), to replay a
/// window of the run from the last fork before it rather than from the start: the same
/// events (each fork goes on exactly as the run did), at the cost of the stretch between
/// that fork and the window; and what the run recorded of its own start ([`with_forks`]),
/// for the window that begins there. Usable once; without forks for a protocol whose nodes
/// cannot be copied.
#[derive(Clone, Default)]
pub struct Replay {
    forks: Option<(Time, Arc<Mutex<Option<ReplayFn>>>)>,
    /// The end of the start the run recorded, and what it recorded there.
    start: Option<(Time, Arc<Mutex<Option<Trace>>>)>,
    /// What the report took ([`Replay::window`]) and handed back once drawn
    /// ([`Replay::keep`]): freed with the run's outcome, as late as the rest of the run.
    spent: Option<Arc<Mutex<Vec<Trace>>>>,
}

impl Replay {
    /// When the first fork was taken (all events up to then handled): a window that begins
    /// by then is replayed from the start. `None` without forks.
    pub fn first_fork(&self) -> Option<Time> {
        self.forks.as_ref().map(|f| f.0)
    }
    /// The window the run recorded of its start itself, if it did ([`with_forks`]).
    pub fn recorded_start(&self) -> Option<ViewWindow> {
        self.start.as_ref().map(|s| ViewWindow {
            from: 0,
            to: s.0,
            stop: true,
        })
    }
    /// What a replay of `window` records ([`with_window`], as if `stop` were set): the run's
    /// own records of its start when the window is that start
    /// ([`Replay::recorded_start`]), else a replay from the last fork before it; `None` when
    /// neither serves (no fork precedes the window), or they are used.
    pub fn window(&self, window: ViewWindow) -> Option<Trace> {
        if let Some((to, start)) = &self.start
            && window.from == 0
            && window.to == *to
        {
            return start.lock().ok()?.take();
        }
        let (first, forks) = self.forks.as_ref()?;
        if window.from <= *first {
            return None;
        }
        let f = forks.lock().ok()?.take()?;
        f(window)
    }
}

impl Replay {
    /// Keeps `t` (what [`Replay::window`] handed out, drawn) until this replay, and the
    /// run's outcome holding it, is dropped: a report leaves freeing it to whoever frees the
    /// outcome (`faultline run` leaves that to the process's exit). Dropped now by a replay
    /// that kept nothing to hand out.
    pub fn keep(&self, t: Trace) {
        if let Some(spent) = &self.spent
            && let Ok(mut v) = spent.lock()
        {
            v.push(t);
        }
    }
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Replay")
    }
}

/// Runs `f` with node views kept only over `window` by every [`run`] it makes on this thread
/// (`None`: over the whole run). Restores the previous setting after, even if `f` panics.
pub fn with_window<T>(window: Option<ViewWindow>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<ViewWindow>);
    impl Drop for Restore {
        fn drop(&mut self) {
            WINDOW.set(self.0);
        }
    }
    let _restore = Restore(WINDOW.replace(window));
    f()
}

/// What a run recorded for its report: its events (taken, not copied), their labels
/// (formatted on demand) and the changes of its nodes' views. Empty without records.
#[derive(Default)]
pub struct Trace {
    pub records: Vec<TraceRecord>,
    pub labels: Labels,
    pub views: Vec<ViewChange>,
    /// Without records, under [`with_forks`]: forks of the run to replay a window from.
    pub replay: Replay,
}

/// Runs `sim` to its end; with records on, also returns what it recorded, with every change
/// of a node's view. Read what else the protocol needs (durable state, observations) after.
pub fn run<P: Protocol + 'static>(sim: &mut Sim<P>) -> (RunStats, Trace)
where
    Sim<P>: Send,
    P::Node: 'static,
    <P::Node as Node>::Msg: Send + Sync + 'static,
    <P::Node as Node>::Timer: Send + Sync + 'static,
    <P::Node as Node>::Obs: Send + Sync + 'static,
{
    if !sim.config().record {
        if let Some(start) = FORKS.get() {
            let replay = run_forking(sim, start);
            let trace = Trace {
                replay,
                ..Trace::default()
            };
            return (sim.stats(), trace);
        }
        return (sim.run(), Trace::default());
    }
    let views = record(sim, WINDOW.get());
    let trace = Trace {
        records: sim.take_records(),
        labels: sim.take_labels(),
        views,
        replay: Replay::default(),
    };
    (sim.stats(), trace)
}

/// Steps `sim` (recording) with node views kept over `window` (`None`: the whole run), to
/// its end or, for a window that `stop`s, just after the window's last event; returns
/// the changes of its nodes' views (its records and labels stay in `sim`, to take).
fn record<P: Protocol>(sim: &mut Sim<P>, window: Option<ViewWindow>) -> Vec<ViewChange> {
    let n = sim.config().servers + sim.config().clients;
    // Per node, its last view (an index into `changes`): `None` until first seen.
    let mut last: Vec<Option<usize>> = vec![None; n as usize];
    let mut stamps: Vec<Option<u64>> = vec![None; n as usize];
    let mut changes: Vec<ViewChange> = Vec::new();
    let mut seen = 0;
    let mut touched: Vec<u32> = Vec::new();
    // Nodes past the servers and clients (a lock's protected resource) as they appear.
    let mut nodes = n;
    // Whether the window's starting state (a view of every node) is taken: a window from
    // the run's start needs none (its nodes start within it).
    let mut started = window.is_none_or(|w| w.from == 0);
    if let Some(w) = window.filter(|w| w.stop && w.from > 0) {
        // A replay for the window alone: its events before the window are not recorded
        // (the records, and their numbers, start at the window).
        sim.set_record(false);
        sim.run_until(w.from - 1);
        sim.set_record(true);
        // The window's starting state, taken before its first event, as the whole run's
        // view shows it there (a view changes at the last record of the event that made it).
        nodes = nodes.max(sim.node_count());
        last.resize(nodes as usize, None);
        stamps.resize(nodes as usize, None);
        for i in 0..nodes {
            take_view(
                sim,
                i,
                0,
                &mut last[i as usize],
                &mut stamps[i as usize],
                &mut changes,
            );
        }
        started = true;
    }
    while sim.step() {
        let records = sim.records();
        let Some(now) = records.last().map(|r| r.time) else {
            continue;
        };
        if let Some(w) = window {
            if now > w.to && w.stop {
                break;
            }
            if now < w.from || now > w.to {
                nodes = records[seen..]
                    .iter()
                    .fold(nodes, |m, r| m.max(r.node.0 + 1).max(r.peer.0 + 1));
                seen = records.len();
                continue;
            }
        }
        touched.clear();
        for r in &records[seen..] {
            nodes = nodes.max(r.node.0 + 1).max(r.peer.0 + 1);
            match r.kind {
                EventKind::Fault => touched.extend(0..n),
                EventKind::Start | EventKind::Restart | EventKind::Deliver | EventKind::Timer => {
                    touched.push(r.node.0)
                }
                _ => {}
            }
        }
        if !started {
            touched.extend(0..nodes);
            started = true;
        }
        seen = records.len();
        let step = seen - 1;
        if last.len() < nodes as usize {
            last.resize(nodes as usize, None);
            stamps.resize(nodes as usize, None);
        }
        touched.sort_unstable();
        touched.dedup();
        for &i in &touched {
            let (Some(known), Some(slot)) = (stamps.get_mut(i as usize), last.get_mut(i as usize))
            else {
                continue;
            };
            take_view(sim, i, step as u32, slot, known, &mut changes);
        }
    }
    changes
}

/// Runs `sim` (without records) to its end, recording its first `start` of simulated time
/// (as [`record`] does for the window `0..=start`; nothing for 0) and keeping a fork of it
/// at the end of each of [`FORK_STRETCHES`] equal stretches of its time limit but the last
/// (those that end after the recorded start). The run itself is exactly `Sim::run`: the
/// same events in the same order.
fn run_forking<P: Protocol + 'static>(sim: &mut Sim<P>, start: Time) -> Replay
where
    Sim<P>: Send,
    P::Node: 'static,
    <P::Node as Node>::Msg: Send + Sync + 'static,
    <P::Node as Node>::Timer: Send + Sync + 'static,
    <P::Node as Node>::Obs: Send + Sync + 'static,
{
    let recorded = (start > 0).then(|| {
        let window = ViewWindow {
            from: 0,
            to: start,
            stop: true,
        };
        sim.set_record(true);
        let views = record(sim, Some(window));
        sim.set_record(false);
        let trace = Trace {
            records: sim.take_records(),
            labels: sim.take_labels(),
            views,
            replay: Replay::default(),
        };
        (start, Arc::new(Mutex::new(Some(trace))))
    });
    let every = sim.config().limits.time / FORK_STRETCHES;
    let mut forks: Vec<(Time, Sim<P>)> = Vec::new();
    if every > 0 && sim.node_count() <= FORK_MAX_NODES {
        for k in 1..FORK_STRETCHES {
            let t = every * k;
            if sim.now() > t {
                // Within the recorded start: events after `t` are handled already.
                continue;
            }
            // Every event up to `t`, one at a time (as `Sim::run` takes them).
            while sim.next_time().is_some_and(|u| u <= t) && sim.step() {}
            let fork = sim.protocol().fork().and_then(|p| sim.fork(p));
            match fork {
                Some(f) if !sim.is_stopped() => forks.push((t, f)),
                _ => break,
            }
        }
    }
    sim.run();
    let Some(&(first, _)) = forks.first() else {
        let spent = recorded.is_some().then(Arc::default);
        return Replay {
            forks: None,
            start: recorded,
            spent,
        };
    };
    let replay: ReplayFn = Box::new(move |w: ViewWindow| {
        // The last fork whose events all precede the window.
        let (_, mut sim) = forks.into_iter().rev().find(|(t, _)| *t < w.from)?;
        sim.set_record(true);
        let window = Some(ViewWindow { stop: true, ..w });
        Some(with_window(window, || run(&mut sim)).1)
    });
    Replay {
        forks: Some((first, Arc::new(Mutex::new(Some(replay))))),
        start: recorded,
        spent: Some(Arc::default()),
    }
}

/// Records node `i`'s view at `step` if it changed since its last (`slot`, an index into
/// `changes`; `known`, the stamp it had then).
fn take_view<P: Protocol>(
    sim: &Sim<P>,
    i: u32,
    step: u32,
    slot: &mut Option<usize>,
    known: &mut Option<u64>,
    changes: &mut Vec<ViewChange>,
) {
    let id = NodeId(i);
    let stamp = sim
        .node(id)
        .and_then(|node| node.view_stamp(sim.durable(id)));
    if stamp.is_some() && *known == stamp && slot.is_some() {
        return;
    }
    *known = stamp;
    let view = sim
        .node(id)
        .map(|node| node.view(sim.durable(id)).unwrap_or_default());
    if slot.is_none_or(|k| changes[k].view != view) {
        *slot = Some(changes.len());
        changes.push(ViewChange {
            step,
            node: i,
            view,
        });
    }
}
