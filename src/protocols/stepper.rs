//! Runs a simulation to its end and, when it keeps records, asks each node for its
//! [`NodeView`] after every event that touched it, keeping only the changes: what the
//! step-through view of a report replays. Every protocol runs through [`run`], so every
//! protocol gets the view; one that does not implement [`Node::view`] is drawn from its role
//! timeline. A run without records is exactly `Sim::run` (no view is ever built).

use crate::sim::{
    EventKind, Labels, Node, NodeId, Protocol, RunStats, Sim, TraceRecord, ViewChange,
};

/// What a run recorded for its report: its events (taken, not copied), their labels
/// (formatted on demand) and the changes of its nodes' views. Empty without records.
#[derive(Default)]
pub struct Trace {
    pub records: Vec<TraceRecord>,
    pub labels: Labels,
    pub views: Vec<ViewChange>,
}

/// Runs `sim` to its end; with records on, also returns what it recorded, with every change
/// of a node's view. Read what else the protocol needs (durable state, observations) after.
pub fn run<P: Protocol>(sim: &mut Sim<P>) -> (RunStats, Trace)
where
    P::Node: 'static,
    <P::Node as Node>::Msg: Send + Sync + 'static,
    <P::Node as Node>::Timer: Send + Sync + 'static,
    <P::Node as Node>::Obs: Send + Sync + 'static,
{
    if !sim.config().record {
        return (sim.run(), Trace::default());
    }
    let n = sim.config().servers + sim.config().clients;
    // Per node, its last view (an index into `changes`): `None` until first seen.
    let mut last: Vec<Option<usize>> = vec![None; n as usize];
    let mut stamps: Vec<Option<u64>> = vec![None; n as usize];
    let mut changes: Vec<ViewChange> = Vec::new();
    let mut seen = 0;
    let mut touched: Vec<u32> = Vec::new();
    while sim.step() {
        let records = sim.records();
        touched.clear();
        for r in &records[seen..] {
            match r.kind {
                EventKind::Fault => touched.extend(0..n),
                EventKind::Start | EventKind::Restart | EventKind::Deliver | EventKind::Timer => {
                    touched.push(r.node.0)
                }
                _ => {}
            }
        }
        seen = records.len();
        let Some(step) = seen.checked_sub(1) else {
            continue;
        };
        touched.sort_unstable();
        touched.dedup();
        for &i in &touched {
            let id = NodeId(i);
            let stamp = sim
                .node(id)
                .and_then(|node| node.view_stamp(sim.durable(id)));
            let known = &mut stamps[i as usize];
            let slot = &mut last[i as usize];
            if stamp.is_some() && *known == stamp && slot.is_some() {
                continue;
            }
            *known = stamp;
            let view = sim
                .node(id)
                .map(|node| node.view(sim.durable(id)).unwrap_or_default());
            if slot.is_none_or(|k| changes[k].view != view) {
                *slot = Some(changes.len());
                changes.push(ViewChange {
                    step: step as u32,
                    node: i,
                    view,
                });
            }
        }
    }
    let trace = Trace {
        records: sim.take_records(),
        labels: sim.take_labels(),
        views: changes,
    };
    (sim.stats(), trace)
}
