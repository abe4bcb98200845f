//! Witness checking: a candidate linearization (an order of operations, from wherever it
//! comes: a replicated state machine's apply order, a log) verified in linear time per key,
//! instead of searched for. A verified order proves the history linearizable; a refuted one
//! proves nothing, and says where it failed so that a search can start from the shortest
//! time prefix that shows the failure ([`prefix`]).
//!
//! [`verify`] checks, per key (the model's partition): every completed operation appears once;
//! no operation known not to have taken effect (`Fail`) appears; an operation whose outcome
//! is unknown appears or not (it took effect, at its place, or never did); each operation's
//! output is what the model gives in that order; and the order respects real time: no
//! operation is placed after one that was invoked after it returned.
//!
//! [`complete`] fills gaps a source of orders may have: completed read-only operations it does
//! not know the place of (a read a leader served from its own state without going through the
//! log) are placed at the first point of their key's order, within their real-time window,
//! where the model allows them. It only proposes: [`verify`] still judges the result.

use std::collections::BTreeMap;

use super::history::{History, Operation, Status};
use super::model::Model;

/// What a verified order covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Operations in the order (completed, and unknown ones that took effect).
    pub ops: usize,
    pub keys: usize,
}

/// Why an order is not a linearization: the key, a message, and the end of the shortest time
/// prefix of the history in which the failure shows (every operation invoked by then).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refuted {
    pub key: String,
    pub at: u64,
    pub reason: String,
}

/// Verifies `order` (indexes into `h.ops`) as a linearization of `h` under `model`.
pub fn verify<M: Model>(
    model: &M,
    h: &History<M::Input, M::Output>,
    order: &[usize],
) -> Result<Verified, Refuted> {
    let ops: Vec<&Operation<M::Input, M::Output>> = h.ops.iter().collect();
    verify_ops(model, &ops, order)
}

/// [`verify`] over operations given by reference (a partition of a history): `order` holds
/// positions in `ops`, and messages name those positions.
pub fn verify_ops<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    order: &[usize],
) -> Result<Verified, Refuted> {
    let n = ops.len();
    let mut seen = vec![false; n];
    // Per key: the state, the latest invocation so far and its operation.
    let mut keys: BTreeMap<&str, (M::State, u64, usize)> = BTreeMap::new();
    let mut worst: Option<Refuted> = None;
    let mut failed: BTreeMap<&str, ()> = BTreeMap::new();
    let refute = |worst: &mut Option<Refuted>, r: Refuted| {
        if worst.as_ref().is_none_or(|w| r.at < w.at) {
            *worst = Some(r);
        }
    };
    for &i in order {
        let Some(&op) = ops.get(i) else {
            return Err(Refuted {
                key: String::new(),
                at: 0,
                reason: format!("the order names operation {i}, the history has {n}"),
            });
        };
        let key = model.key(&op.input);
        let twice = std::mem::replace(&mut seen[i], true);
        if failed.contains_key(key) {
            continue;
        }
        if twice {
            failed.insert(key, ());
            refute(
                &mut worst,
                refuted(key, op.call, format!("#{i} appears twice")),
            );
            continue;
        }
        if op.status == Status::Fail {
            failed.insert(key, ());
            refute(
                &mut worst,
                refuted(
                    key,
                    op.call,
                    format!("#{i} did not take effect but is in the order"),
                ),
            );
            continue;
        }
        let k = keys
            .entry(key)
            .or_insert_with(|| (model.init(), 0, usize::MAX));
        if let Some(ret) = op.ret
            && k.2 != usize::MAX
            && ret < k.1
        {
            failed.insert(key, ());
            let j = k.2;
            refute(
                &mut worst,
                refuted(
                    key,
                    k.1,
                    format!("#{i} returned before #{j} was invoked but is placed after it"),
                ),
            );
            continue;
        }
        if k.2 == usize::MAX || op.call > k.1 {
            (k.1, k.2) = (op.call, i);
        }
        if !model.step_mut(&mut k.0, &op.input, op.output.as_ref()) {
            failed.insert(key, ());
            refute(
                &mut worst,
                refuted(
                    key,
                    op.ret.unwrap_or(op.call),
                    format!("#{i} is not what the model gives at its place in the order"),
                ),
            );
        }
    }
    for (i, op) in ops.iter().enumerate() {
        if op.status == Status::Ok && !seen[i] {
            let key = model.key(&op.input);
            let at = op.ret.unwrap_or(op.call);
            refute(
                &mut worst,
                refuted(key, at, format!("#{i} completed but is not in the order")),
            );
        }
    }
    match worst {
        Some(r) => Err(r),
        None => Ok(Verified {
            ops: order.len(),
            keys: keys.len(),
        }),
    }
}

fn refuted(key: &str, at: u64, reason: String) -> Refuted {
    Refuted {
        key: key.to_string(),
        at,
        reason,
    }
}

/// Most model steps [`complete`] spends placing reads (beyond one pass over the order).
const PLACING_BUDGET: u64 = 20_000_000;

/// `order` with the completed read-only operations it lacks placed where they fit (see the
/// module's text), per key, keys in order. Operations it cannot place are left out, for
/// [`verify`] to report.
pub fn complete<M: Model>(
    model: &M,
    h: &History<M::Input, M::Output>,
    order: &[usize],
) -> Vec<usize> {
    let mut seen = vec![false; h.ops.len()];
    let mut per_key: BTreeMap<&str, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for &i in order {
        if let Some(op) = h.ops.get(i) {
            seen[i] = true;
            per_key.entry(model.key(&op.input)).or_default().0.push(i);
        }
    }
    let mut missing = 0;
    for (i, op) in h.ops.iter().enumerate() {
        if !seen[i] && op.status == Status::Ok && model.read_only(&op.input, op.output.as_ref()) {
            per_key.entry(model.key(&op.input)).or_default().1.push(i);
            missing += 1;
        }
    }
    if missing == 0 {
        return order.to_vec();
    }
    let mut budget = PLACING_BUDGET;
    let mut out = Vec::with_capacity(order.len() + missing);
    let ops: Vec<&Operation<M::Input, M::Output>> = h.ops.iter().collect();
    for (seq, reads) in per_key.values() {
        out.extend(place(model, &ops, seq, reads, &mut budget));
    }
    out
}

/// One key's order `seq` with `reads` placed (see [`complete`]); `seq` and `reads` are
/// positions in `ops`.
pub(crate) fn place<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    seq: &[usize],
    reads: &[usize],
    budget: &mut u64,
) -> Vec<usize> {
    let m = seq.len();
    // lo: one past the last operation of `seq` that returned before the read was invoked.
    let mut by_ret: Vec<(u64, u32)> = seq
        .iter()
        .enumerate()
        .filter_map(|(k, &i)| ops[i].ret.map(|r| (r, k as u32)))
        .collect();
    by_ret.sort_unstable();
    let mut run = 0u32;
    for e in &mut by_ret {
        run = run.max(e.1 + 1);
        e.1 = run;
    }
    // hi: the first operation of `seq` invoked after the read returned.
    let mut by_call: Vec<(u64, u32)> = seq
        .iter()
        .enumerate()
        .map(|(k, &i)| (ops[i].call, k as u32))
        .collect();
    by_call.sort_unstable();
    let mut run = m as u32;
    for e in by_call.iter_mut().rev() {
        run = run.min(e.1);
        e.1 = run;
    }
    // (lo, hi, k: the read's index in `reads`) sorted by lo.
    let mut windows: Vec<(u32, u32, usize)> = reads
        .iter()
        .enumerate()
        .map(|(k, &r)| {
            let (call, ret) = (ops[r].call, ops[r].ret.unwrap_or(u64::MAX));
            let a = by_ret.partition_point(|e| e.0 < call);
            let lo = if a == 0 { 0 } else { by_ret[a - 1].1 };
            let b = by_call.partition_point(|e| e.0 <= ret);
            let hi = if b == by_call.len() {
                m as u32
            } else {
                by_call[b].1
            };
            (lo, hi, k)
        })
        .collect();
    windows.sort_unstable();
    // Reads among themselves: one may go only once every read that returned before it was
    // invoked is placed (in this gap or before). `rank`: place in the order of returns;
    // `need`: how many reads return before this one is invoked.
    let mut read_rets: Vec<(u64, usize)> = reads
        .iter()
        .enumerate()
        .map(|(k, &r)| (ops[r].ret.unwrap_or(u64::MAX), k))
        .collect();
    read_rets.sort_unstable();
    let mut rank = vec![0usize; reads.len()];
    for (j, &(_, k)) in read_rets.iter().enumerate() {
        rank[k] = j;
    }
    let need: Vec<usize> = reads
        .iter()
        .map(|&r| read_rets.partition_point(|e| e.0 < ops[r].call))
        .collect();
    let mut placed = vec![false; reads.len()];
    let mut prefix = 0usize; // the first `prefix` reads by return are all placed
    // Sweep the gaps of `seq` with the state there; reads whose window is open, whose
    // predecessors are placed and that the state allows go in (by invocation time in a gap).
    let mut at_gap: Vec<Vec<usize>> = vec![Vec::new(); m + 1];
    let mut active: Vec<(u32, usize)> = Vec::new();
    let mut next = 0;
    let mut state = model.init();
    for g in 0..=m {
        while next < windows.len() && windows[next].0 as usize <= g {
            active.push((windows[next].1, windows[next].2));
            next += 1;
        }
        loop {
            let before = active.len();
            active.retain(|&(hi, k)| {
                if (hi as usize) < g || *budget == 0 {
                    return false;
                }
                if need[k] > prefix {
                    return true;
                }
                *budget -= 1;
                let op = &ops[reads[k]];
                if model.legal(&state, &op.input, op.output.as_ref()) {
                    at_gap[g].push(reads[k]);
                    placed[rank[k]] = true;
                    false
                } else {
                    true
                }
            });
            while prefix < placed.len() && placed[prefix] {
                prefix += 1;
            }
            if active.len() == before {
                break;
            }
        }
        if g < m {
            let op = &ops[seq[g]];
            if !model.step_mut(&mut state, &op.input, op.output.as_ref()) {
                break; // the order itself fails here: verify will say so
            }
        }
    }
    let mut out = Vec::with_capacity(m + reads.len());
    for g in 0..=m {
        let mut here = std::mem::take(&mut at_gap[g]);
        here.sort_unstable_by_key(|&r| (ops[r].call, r));
        out.extend(here);
        if g < m {
            out.push(seq[g]);
        }
    }
    out
}

/// The time prefix of `h` up to `at` on one key: every operation of that key invoked by
/// `at`, those that returned later turned into operations of unknown outcome. If `h` is
/// linearizable, so is this prefix: a search that finds the prefix not linearizable has
/// found `h` not linearizable. Returns the prefix and, per its operation, the index in `h`.
pub fn prefix<M: Model>(
    model: &M,
    h: &History<M::Input, M::Output>,
    key: &str,
    at: u64,
) -> (History<M::Input, M::Output>, Vec<usize>)
where
    M::Input: Clone,
    M::Output: Clone,
{
    let mut out = History::new();
    let mut map = Vec::new();
    for (i, op) in h.ops.iter().enumerate() {
        if op.call > at || model.key(&op.input) != key {
            continue;
        }
        let mut op = op.clone();
        if op.ret.is_none_or(|r| r > at) {
            if op.status == Status::Fail {
                continue; // it certainly did not take effect: as if never invoked
            }
            op.ret = None;
            op.output = None;
            op.status = Status::Unknown;
        }
        out.ops.push(op);
        map.push(i);
    }
    (out, map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{KvAppend, KvInput, KvOutput};

    fn put(k: &str, v: &str) -> KvInput {
        KvInput::Put {
            key: k.into(),
            value: v.into(),
        }
    }
    fn get(k: &str) -> KvInput {
        KvInput::Get { key: k.into() }
    }
    fn val(v: &str) -> KvOutput {
        KvOutput::Value(v.into())
    }

    #[test]
    fn verifies_refutes_and_places_reads() {
        let mut h = History::new();
        h.ok(0, 0, 10, put("x", "1"), KvOutput::Done); // #0
        h.ok(1, 20, 30, get("x"), val("1")); // #1
        h.unknown(2, 5, put("x", "2")); // #2 never took effect
        h.ok(3, 40, 50, get("y"), val("")); // #3
        assert_eq!(
            verify(&KvAppend, &h, &[0, 1, 3]),
            Ok(Verified { ops: 3, keys: 2 })
        );
        // #1 read the put's value before it: shown when #1 returned.
        let r = verify(&KvAppend, &h, &[1, 0, 3]).unwrap_err();
        assert_eq!((r.key.as_str(), r.at), ("x", 30));
        // Real time: #4 returned before #1 was invoked, but is placed after it.
        let mut h2 = h.clone();
        h2.ok(4, 11, 15, get("x"), val("1")); // #4
        let r = verify(&KvAppend, &h2, &[0, 1, 4, 3]).unwrap_err();
        assert_eq!((r.key.as_str(), r.at), ("x", 20));
        // The unknown put took effect before the read: the read's value is wrong there.
        assert!(verify(&KvAppend, &h, &[0, 2, 1, 3]).is_err());
        // A completed operation left out.
        let r = verify(&KvAppend, &h, &[0, 1]).unwrap_err();
        assert_eq!((r.key.as_str(), r.at), ("y", 50));
        // Reads the order lacks are placed where they fit, then verified.
        let c = complete(&KvAppend, &h, &[0]);
        assert_eq!(verify(&KvAppend, &h, &c), Ok(Verified { ops: 3, keys: 2 }));
        // A stale read cannot be placed: the order stays refuted.
        h.ok(0, 60, 70, put("x", "3"), KvOutput::Done); // #4
        h.ok(1, 80, 90, get("x"), val("1")); // #5
        let c = complete(&KvAppend, &h, &[0, 1, 3, 4]);
        let r = verify(&KvAppend, &h, &c).unwrap_err();
        assert_eq!((r.key.as_str(), r.at), ("x", 90));
        let (p, map) = prefix(&KvAppend, &h, "x", 90);
        assert_eq!(map, vec![0, 1, 2, 4, 5]);
        assert_eq!(p.ops[2].status, Status::Unknown);
    }
}

/// A certificate that a completed key-value read is stale: `write` completed before `read`
/// was invoked, and left its value in the key (an append's suffix, a put's or CAS's value)
/// that `read` does not contain, and no put or CAS that could take effect between the two
/// wrote a value that `read`'s value starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaleRead {
    pub read: usize,
    pub write: usize,
}

/// Looks for a [`StaleRead`] certificate for the completed get `r` of `h` (key-value with
/// append, the [`KvAppend`](super::model::KvAppend) model). Sound whatever the values: in
/// any linearization `write` precedes `read`; after `write` the value contains its token
/// until a put or successful CAS replaces it; only appends and non-replacing operations
/// otherwise follow, which keep it. So the last replacing operation before the read must
/// come after `write`, and the read's value must start with what it wrote: if no operation
/// can be that one, no linearization exists. `None` when no certificate is found (which
/// proves nothing).
pub fn stale_read_kv(
    h: &History<super::model::KvInput, super::model::KvOutput>,
    r: usize,
) -> Option<StaleRead> {
    use super::model::{KvInput, KvOutput};
    let read = h.ops.get(r)?;
    let (KvInput::Get { key }, Some(KvOutput::Value(v)), Some(r_ret)) =
        (&read.input, &read.output, read.ret)
    else {
        return None;
    };
    let key_of = |i: &KvInput| match i {
        KvInput::Get { key: k }
        | KvInput::Put { key: k, .. }
        | KvInput::Append { key: k, .. }
        | KvInput::Cas { key: k, .. } => k == key,
    };
    // The write that completed last before the read was invoked whose token the value lacks.
    fn token(op: &Operation<KvInput, KvOutput>) -> Option<&str> {
        match (&op.input, &op.output) {
            (KvInput::Put { value, .. } | KvInput::Append { value, .. }, Some(KvOutput::Done)) => {
                Some(value)
            }
            (KvInput::Cas { to, .. }, Some(KvOutput::Cas(true))) => Some(to),
            _ => None,
        }
    }
    let (w, w_call) = h
        .ops
        .iter()
        .enumerate()
        .filter(|(_, op)| op.status == Status::Ok && op.ret.is_some_and(|t| t < read.call))
        .filter(|(_, op)| key_of(&op.input))
        .filter_map(|(i, op)| token(op).map(|x| (i, op.call, x)))
        .filter(|(_, _, x)| !x.is_empty() && !v.contains(x))
        .max_by_key(|&(i, call, _)| (call, std::cmp::Reverse(i)))
        .map(|(i, call, _)| (i, call))?;
    // A replacing operation that could fall between them and whose value starts the read's.
    let could_replace = h.ops.iter().any(|op| {
        if op.status == Status::Fail
            || !key_of(&op.input)
            || op.ret.is_some_and(|t| t < w_call)
            || op.call > r_ret
        {
            return false;
        }
        match (&op.input, &op.output) {
            (KvInput::Put { value, .. }, _) => v.starts_with(value.as_str()),
            (KvInput::Cas { to, .. }, None | Some(KvOutput::Cas(true))) => {
                v.starts_with(to.as_str())
            }
            _ => false,
        }
    });
    (!could_replace).then_some(StaleRead { read: r, write: w })
}
