//! Certificates: sound proofs, found in O(n log n) without a search, that one partition of a
//! history cannot be linearized. Each names a small sub-history that no order explains (a
//! stale read and the completed write it missed), so a wide history whose search would explode
//! (a hundred clients) is still refuted, and the proof is as short as the violation.
//!
//! They need written values to be unique, which generators of test histories (and Jepsen's)
//! ensure and the models cannot: every check below first asks whether the value involved has
//! exactly one possible writer in the whole partition, and steps aside (`None`, which proves
//! nothing) when it has not.
//!
//! - Registers ([`register`]): a read (or successful compare-and-set) that observes `v` while
//!   `v` has one possible writer `w`: impossible if some other completed write `w2` follows `w`
//!   in real time (`w` returned before `w2` was invoked) and precedes the read (`w2` returned
//!   before the read was invoked): in every order `w`, `w2`, read come in that order, `w2`
//!   leaves another value, and only `w` could bring `v` back. Also impossible: a read of a value
//!   nobody may write (nor the initial one), and a read that returned before its only writer
//!   was invoked.
//! - Key-value with appends ([`kv`]): a get whose value lacks the token (an append's suffix, a
//!   put's value) of an operation that completed before the get was invoked, when no put or
//!   compare-and-set that may fall between the two wrote a value the get's value starts with
//!   (see [`super::witness::stale_read_kv`], of which this is the partition-wide scan).

use std::collections::BTreeMap;

use super::history::{Operation, Status};
use super::model::{KvInput, KvOutput, RegisterInput, RegisterOutput};

/// A sub-history of a partition that cannot be linearized; positions in the partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    /// The operation that cannot take effect (a read).
    pub read: u32,
    /// Operations that precede it in every order, in that order.
    pub before: Vec<u32>,
    /// The read and the completed write it contradicts.
    pub culprits: Vec<u32>,
    /// Why, for humans (operations named by position, `#p`).
    pub reason: String,
}

/// Of several certificates, the one whose read returned first (the shortest failing prefix).
fn earliest<I, O>(ops: &[&Operation<I, O>], best: &mut Option<Certificate>, c: Certificate) {
    let at = |c: &Certificate| (ops[c.read as usize].ret, c.read);
    if best.as_ref().is_none_or(|b| at(&c) < at(b)) {
        *best = Some(c);
    }
}

/// Who may write a value: the initial state, or operations (positions).
#[derive(Default)]
struct Writers {
    initial: bool,
    ops: Vec<u32>,
}

impl Writers {
    fn count(&self) -> usize {
        self.ops.len() + self.initial as usize
    }
}

/// A certificate for one register partition (see the module's text), or `None`.
pub fn register(
    initial: Option<i64>,
    ops: &[&Operation<RegisterInput, RegisterOutput>],
) -> Option<Certificate> {
    use RegisterInput as I;
    use RegisterOutput as O;
    let mut writers: BTreeMap<Option<i64>, Writers> = BTreeMap::new();
    writers.entry(initial).or_default().initial = true;
    // Completed writes certain to have taken effect: (call, ret, position).
    let mut certain: Vec<(u64, u64, u32)> = Vec::new();
    for (p, op) in ops.iter().enumerate() {
        if op.status == Status::Fail {
            continue;
        }
        let written = match (&op.input, &op.output) {
            (I::Write(v), _) => Some(*v),
            (I::Cas(_, to), None | Some(O::Cas(true))) => Some(*to),
            _ => None,
        };
        if let Some(v) = written {
            writers.entry(Some(v)).or_default().ops.push(p as u32);
            let sure = matches!(
                (&op.input, &op.output),
                (I::Write(_), Some(O::Written)) | (I::Cas(..), Some(O::Cas(true)))
            );
            if let (true, Status::Ok, Some(ret)) = (sure, op.status, op.ret) {
                certain.push((op.call, ret, p as u32));
            }
        }
    }
    // By call; `after[k]` = the certain write among `certain[k..]` that returned first.
    certain.sort_unstable();
    let mut after: Vec<(u64, u32)> = vec![(u64::MAX, u32::MAX); certain.len() + 1];
    for k in (0..certain.len()).rev() {
        after[k] = after[k + 1].min((certain[k].1, certain[k].2));
    }
    let first_done_after = |t: u64| after[certain.partition_point(|c| c.0 <= t)];
    let show = |v: Option<i64>| v.map_or("nil".to_string(), |v| v.to_string());
    let mut best: Option<Certificate> = None;
    for (p, op) in ops.iter().enumerate() {
        let (Status::Ok, Some(ret)) = (op.status, op.ret) else {
            continue;
        };
        let v = match (&op.input, &op.output) {
            (I::Read, Some(O::Read(v))) => *v,
            (I::Cas(from, _), Some(O::Cas(true))) => Some(*from),
            _ => continue,
        };
        let p = p as u32;
        let Some(w) = writers.get(&v) else {
            let reason = format!("#{p} observes {}, which no operation writes", show(v));
            earliest(ops, &mut best, cert(p, vec![], vec![p], reason));
            continue;
        };
        if w.count() != 1 {
            continue; // the value may be written twice: step aside
        }
        // Other writes that completed after the only writer returned and before `p` began.
        let (w_ret, w_pos) = match w.ops.first() {
            None => (None, None), // the initial value: "returned" before everything
            Some(&wp) => {
                let wo = ops[wp as usize];
                if wp == p {
                    continue;
                }
                if ret < wo.call {
                    let reason = format!(
                        "#{p} observes {} and returned before #{wp}, its only writer, was invoked",
                        show(v)
                    );
                    earliest(ops, &mut best, cert(p, vec![], vec![p], reason));
                    continue;
                }
                match (wo.status, wo.ret) {
                    (Status::Ok, Some(r)) => (Some(r), Some(wp)),
                    _ => continue, // it may take effect late
                }
            }
        };
        let (first_ret, w2) = match w_ret {
            None => certain
                .iter()
                .map(|c| (c.1, c.2))
                .min()
                .unwrap_or((u64::MAX, 0)),
            Some(r) => first_done_after(r),
        };
        if first_ret < op.call && Some(w2) != w_pos {
            let by = w_pos.map_or("the initial value".to_string(), |wp| format!("#{wp}"));
            let reason = format!(
                "#{p} observes {}, written only by {by}, but #{w2} overwrote it in between (it \
                 was invoked after {by} returned and returned before #{p} was invoked)",
                show(v)
            );
            let before = w_pos.into_iter().chain([w2]).collect();
            earliest(ops, &mut best, cert(p, before, vec![w2, p], reason));
        }
    }
    best
}

fn cert(read: u32, before: Vec<u32>, mut culprits: Vec<u32>, reason: String) -> Certificate {
    culprits.sort_unstable();
    Certificate {
        read,
        before,
        culprits,
        reason,
    }
}

/// Completed writes whose token each get is checked against (the latest ones first).
const KV_CANDIDATES: usize = 8;

/// A certificate for one key-value partition (see the module's text), or `None`.
pub fn kv(ops: &[&Operation<KvInput, KvOutput>]) -> Option<Certificate> {
    // Completed writes with their token, by return: (ret, call, position, token).
    let mut writes: Vec<(u64, u64, u32, &str)> = Vec::new();
    // Operations that may replace the value: (call, ret or MAX, value), by call.
    let mut replacing: Vec<(u64, u64, &str)> = Vec::new();
    let mut longest = 0u64;
    for (p, op) in ops.iter().enumerate() {
        if op.status == Status::Fail {
            continue;
        }
        let token = match (&op.input, &op.output) {
            (KvInput::Put { value, .. } | KvInput::Append { value, .. }, Some(KvOutput::Done)) => {
                Some(value.as_str())
            }
            (KvInput::Cas { to, .. }, Some(KvOutput::Cas(true))) => Some(to.as_str()),
            _ => None,
        };
        if let (Some(t), Status::Ok, Some(ret)) = (token, op.status, op.ret)
            && !t.is_empty()
        {
            writes.push((ret, op.call, p as u32, t));
        }
        let value = match (&op.input, &op.output) {
            (KvInput::Put { value, .. }, _) => Some(value.as_str()),
            (KvInput::Cas { to, .. }, None | Some(KvOutput::Cas(true))) => Some(to.as_str()),
            _ => None,
        };
        if let Some(v) = value {
            let ret = op
                .ret
                .filter(|_| op.status == Status::Ok)
                .unwrap_or(u64::MAX);
            if ret != u64::MAX {
                longest = longest.max(ret - op.call.min(ret));
            }
            replacing.push((op.call, ret, v));
        }
    }
    writes.sort_unstable();
    replacing.sort_unstable();
    let unbounded: Vec<&(u64, u64, &str)> = replacing.iter().filter(|r| r.1 == u64::MAX).collect();
    let mut best: Option<Certificate> = None;
    for (p, op) in ops.iter().enumerate() {
        let (KvInput::Get { .. }, Some(KvOutput::Value(v)), Status::Ok, Some(ret)) =
            (&op.input, &op.output, op.status, op.ret)
        else {
            continue;
        };
        let done = writes.partition_point(|w| w.0 < op.call);
        let candidates = writes[..done]
            .iter()
            .rev()
            .filter(|w| !v.contains(w.3))
            .take(KV_CANDIDATES);
        for &(_, w_call, w, token) in candidates {
            // A replacing operation that may fall between the write and the get (it did not
            // return before the write began nor begin after the get returned) and whose value
            // starts the get's.
            let hi = replacing.partition_point(|r| r.0 <= ret);
            let lo = replacing.partition_point(|r| r.0 < w_call.saturating_sub(longest));
            let between = |r: &&(u64, u64, &str)| r.1 >= w_call && r.0 <= ret;
            let explains = replacing[lo..hi]
                .iter()
                .chain(unbounded.iter().copied())
                .filter(between)
                .any(|r| v.starts_with(r.2));
            if !explains {
                let p = p as u32;
                let reason = format!(
                    "#{p} reads {v:?}, which lacks {token:?} written by #{w} (completed before \
                     #{p} was invoked), and no put or compare-and-set that may fall between them \
                     wrote a value it starts with"
                );
                earliest(ops, &mut best, cert(p, vec![w], vec![w, p], reason));
                break;
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::History;
    use crate::check::model::{
        KvInput as K, KvOutput as V, RegisterInput as I, RegisterOutput as O,
    };

    fn refs<A, B>(h: &History<A, B>) -> Vec<&Operation<A, B>> {
        h.ops.iter().collect()
    }

    #[test]
    fn a_register_read_of_an_overwritten_unique_value_is_certified() {
        let mut h = History::new();
        h.ok(0, 0, 10, I::Write(1), O::Written); // #0
        h.ok(1, 20, 30, I::Write(2), O::Written); // #1
        h.ok(2, 40, 50, I::Read, O::Read(Some(1))); // #2: stale
        let c = register(None, &refs(&h)).expect("certified");
        assert_eq!(
            (c.read, c.before.clone(), c.culprits.clone()),
            (2, vec![0, 1], vec![1, 2])
        );
        // Overlapping the second write: it may take effect after the read. No certificate.
        h.ops[2].call = 25;
        assert_eq!(register(None, &refs(&h)), None);
        // The value written twice: the certificate steps aside.
        let mut h2 = History::new();
        h2.ok(0, 0, 10, I::Write(1), O::Written);
        h2.ok(1, 20, 30, I::Write(2), O::Written);
        h2.unknown(3, 31, I::Write(1));
        h2.ok(2, 40, 50, I::Read, O::Read(Some(1)));
        assert_eq!(register(None, &refs(&h2)), None);
    }

    #[test]
    fn register_certificates_for_nil_unwritten_values_and_cas() {
        // nil after a completed write.
        let mut h = History::new();
        h.ok(0, 0, 10, I::Write(1), O::Written);
        h.ok(1, 20, 30, I::Read, O::Read(None));
        assert_eq!(
            register(None, &refs(&h)).map(|c| c.culprits),
            Some(vec![0, 1])
        );
        // A value no one writes.
        let mut h = History::new();
        h.ok(0, 0, 10, I::Read, O::Read(Some(7)));
        assert_eq!(register(None, &refs(&h)).map(|c| c.culprits), Some(vec![0]));
        // Read before its only writer began.
        let mut h = History::new();
        h.ok(0, 0, 10, I::Read, O::Read(Some(3)));
        h.ok(1, 20, 30, I::Write(3), O::Written);
        assert!(register(None, &refs(&h)).is_some());
        // A successful CAS from an overwritten value; a failed one observes nothing.
        let mut h = History::new();
        h.ok(0, 0, 10, I::Write(1), O::Written);
        h.ok(1, 20, 30, I::Cas(1, 2), O::Cas(true));
        h.ok(2, 40, 50, I::Cas(1, 3), O::Cas(true));
        assert_eq!(
            register(None, &refs(&h)).map(|c| c.culprits),
            Some(vec![1, 2])
        );
        h.ops[2].output = Some(O::Cas(false));
        assert_eq!(register(None, &refs(&h)), None);
        // Linearizable: the read is concurrent with the CAS.
        let mut h = History::new();
        h.ok(0, 0, 10, I::Write(1), O::Written);
        h.ok(1, 20, 30, I::Cas(1, 2), O::Cas(true));
        h.ok(2, 25, 50, I::Read, O::Read(Some(1)));
        assert_eq!(register(None, &refs(&h)), None);
    }

    fn append(v: &str) -> K {
        K::Append {
            key: "k".into(),
            value: v.into(),
        }
    }
    fn put(v: &str) -> K {
        K::Put {
            key: "k".into(),
            value: v.into(),
        }
    }
    fn get() -> K {
        K::Get { key: "k".into() }
    }

    #[test]
    fn a_get_that_misses_a_completed_append_is_certified_unless_a_put_explains_it() {
        let mut h = History::new();
        h.ok(0, 0, 10, append(" a"), V::Done); // #0
        h.ok(1, 20, 30, append(" b"), V::Done); // #1
        h.ok(2, 40, 50, get(), V::Value(" a".into())); // #2 misses " b"
        let c = kv(&refs(&h)).expect("certified");
        assert_eq!((c.read, c.culprits.clone()), (2, vec![1, 2]));
        // A put concurrent with the get whose value starts the get's explains it.
        h.ok(3, 35, 45, put(" a"), V::Done);
        assert_eq!(kv(&refs(&h)), None);
        // A put that may take effect (unknown) explains it too; one that returned before the
        // missed append began does not.
        h.ops[3] = Operation {
            status: Status::Unknown,
            ret: None,
            output: None,
            ..h.ops[3].clone()
        };
        assert_eq!(kv(&refs(&h)), None);
        h.ops[3] = Operation {
            client: 3,
            call: 12,
            ret: Some(15),
            input: put(" a"),
            output: Some(V::Done),
            status: Status::Ok,
        };
        assert!(kv(&refs(&h)).is_some());
        // Linearizable: the get sees both.
        let mut h = History::new();
        h.ok(0, 0, 10, append(" a"), V::Done);
        h.ok(1, 20, 30, append(" b"), V::Done);
        h.ok(2, 40, 50, get(), V::Value(" a b".into()));
        assert_eq!(kv(&refs(&h)), None);
    }
}
