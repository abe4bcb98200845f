//! Which operation a client's message belongs to, for the message diagram's labels
//! (`request #i`, `reply #i` with the result once): each client's operations indexed by
//! invocation and completion, so that a lookup never walks every operation of the run.

use std::cell::RefCell;
use std::collections::BTreeSet;

use super::Options;
use crate::report::svg::push_text;
use crate::sim::{EventKind, Time, TraceRecord};
use crate::workload::OpRecord;

/// Each client's operations, to find the one a message belongs to without a walk over
/// every operation of the run for each arrow.
pub(super) struct OpIndex {
    /// Per client: its operations' indexes by invocation time (then index), each with the
    /// latest completion among it and those before it (`u64::MAX`: one never completed).
    by_client: Vec<Vec<(usize, Time)>>,
    /// Per client: `(completion time, operation)` of its completed operations, by time: the
    /// reply delivered at an operation's completion is that operation's, whatever the client
    /// invoked at the same instant (a lock client's write follows its acquire at once).
    done: Vec<Vec<(Time, usize)>>,
    /// The operations whose result a reply of this diagram already shows: one reply shows
    /// it, the first delivered at the completion (replicas' replies that arrive at the same
    /// instant, a duplicate, show the operation alone).
    told: RefCell<BTreeSet<usize>>,
}

/// The most operations of one client a lookup looks at before it calls the message's
/// operation unknown (a client with thousands of operations whose outcome is unknown).
const LOOKUP_MAX: usize = 4_096;

impl OpIndex {
    pub(super) fn new(ops: &[OpRecord]) -> Self {
        let mut by_client: Vec<Vec<(usize, Time)>> = Vec::new();
        let mut done: Vec<Vec<(Time, usize)>> = Vec::new();
        for (i, o) in ops.iter().enumerate() {
            let c = o.client as usize;
            if by_client.len() <= c {
                by_client.resize_with(c + 1, Vec::new);
                done.resize_with(c + 1, Vec::new);
            }
            if let Some(t) = o.ret {
                done[c].push((t, i));
            }
            by_client[c].push((i, 0));
        }
        // By invocation (a run's history lists each client's operations so; a load
        // balancer's, by completion), then each with the latest completion up to it.
        for list in &mut by_client {
            list.sort_by_key(|&(k, _)| (ops[k].call, k));
            let mut latest = 0;
            for (k, d) in list.iter_mut() {
                latest = latest.max(ops[*k].ret.unwrap_or(Time::MAX));
                *d = latest;
            }
        }
        for d in &mut done {
            d.sort_unstable();
        }
        OpIndex {
            by_client,
            done,
            told: RefCell::default(),
        }
    }

    /// The operation of `client` that completed at `t`, if one did (the first invoked, if
    /// several).
    fn completed_at(&self, client: u32, t: Time) -> Option<usize> {
        let d = self.done.get(client as usize)?;
        let k = d.partition_point(|&(done, _)| done < t);
        d.get(k).filter(|&&(done, _)| done == t).map(|&(_, i)| i)
    }

    /// The operation of `client` a message it sent or was sent at `t` belongs to: the one
    /// invoked at `t` (a request sent as the operation began), else the only one invoked by
    /// `t` and not completed before it. `None` when several were (an open-loop client with
    /// requests in flight, or operations whose outcome is unknown): the message then shows
    /// its own label rather than a guess.
    fn at(&self, ops: &[OpRecord], client: u32, t: Time) -> Option<usize> {
        let hit = |o: &OpRecord| o.call <= t && o.ret.is_none_or(|done| t <= done);
        let list = self.by_client.get(client as usize)?;
        // Invoked by `t`: a prefix of the client's list.
        let n = list.partition_point(|&(k, _)| ops[k].call <= t);
        if n == 0 || list[n - 1].1 < t {
            return None; // every one of them completed before `t`
        }
        let last = list[n - 1].0;
        if ops[last].call == t {
            return Some(last);
        }
        let mut found = None;
        for (seen, &(k, latest)) in list[..n].iter().rev().enumerate() {
            if latest < t {
                break; // none before it completed at or after `t`
            }
            if seen >= LOOKUP_MAX {
                return None; // too many to tell
            }
            if hit(&ops[k]) {
                if found.is_some() {
                    return None;
                }
                found = Some(k);
            }
        }
        found
    }
}

/// The operation `i` whose interval holds a client's message, if any: the message is drawn
/// `request #i` / `reply #i ...` ([`push_op_label`]).
pub(super) fn op_of(r: &TraceRecord, opt: &Options<'_>, idx: &OpIndex) -> Option<usize> {
    let servers = opt.names.servers();
    let (client, t) = if r.node.0 >= servers && r.peer.0 < servers {
        // A reply: the operation it completed, else the one in progress when it was sent.
        let client = r.node.0 - servers;
        if r.kind == EventKind::Deliver
            && let Some(i) = idx.completed_at(client, r.time)
        {
            return Some(i);
        }
        (client, r.sent)
    } else if r.peer.0 >= servers && r.node.0 < servers {
        (r.peer.0 - servers, r.sent)
    } else {
        return None;
    };
    idx.at(opt.ops, client, t)
}

/// Appends, escaped as element text, `request #i kind key` (a message to a server) or a
/// reply's label for the message `r` within operation `i`: `reply #i desc` (the operation and
/// its result) for the reply that completed it, `reply #i` alone for any other (a server that
/// was not the leader, a late duplicate), whose own text its tooltip gives: the result is not
/// what that reply said.
pub(super) fn push_op_label(
    s: &mut String,
    r: &TraceRecord,
    opt: &Options<'_>,
    idx: &OpIndex,
    i: usize,
) {
    let o = &opt.ops[i];
    if r.node.0 >= opt.names.servers() {
        s.push_str("reply #");
        s.push_str(&i.to_string());
        if r.kind == EventKind::Deliver && o.ret == Some(r.time) && idx.told.borrow_mut().insert(i)
        {
            s.push(' ');
            push_text(s, &o.desc);
        }
    } else {
        s.push_str("request #");
        s.push_str(&i.to_string());
        s.push(' ');
        push_text(s, &o.kind);
        s.push(' ');
        push_text(s, &o.key);
    }
}
