//! A run's key-value history, built as the client observations come, and the candidate
//! linearization a replicated state machine's apply order gives.

use super::*;

/// A candidate linearization for [`crate::check::witness`]: the operations (indexes into
/// the history, whose operation `i` is `ids[i]` = (client, seq), in invocation order) in the
/// order a replicated state machine applied them, given as (client, seq) in apply order; a
/// retried request applied twice counts at its first place (the state machine's dedup skips
/// the second). Requests nobody invoked are left out; a request invoked twice is found at its
/// latest invocation.
///
/// A client numbers its requests in increasing order, so the operations are looked up per
/// client by a binary search of its own (short) list rather than in one tree of the whole
/// history (a tree of a hundred thousand operations cost more than the rest of the check).
pub fn witness_order(ids: impl Iterator<Item = (u32, u64)>, applied: &[(u32, u64)]) -> Vec<usize> {
    // Per client (its number): (seq, operation index), seq non-decreasing.
    let mut per: Vec<Vec<(u64, usize)>> = Vec::new();
    let mut sorted = true;
    let ids: Vec<(u32, u64)> = ids.collect();
    let mut taken = vec![false; ids.len()];
    for (i, &(client, seq)) in ids.iter().enumerate() {
        let c = client as usize;
        // Client numbers are small (one per client node); a history naming a huge one is
        // looked up through a tree instead of a table that large.
        if c > ids.len() + 4096 {
            sorted = false;
            break;
        }
        if per.len() <= c {
            per.resize_with(c + 1, Vec::new);
        }
        let list = &mut per[c];
        match list.last_mut() {
            Some(last) if last.0 == seq => last.1 = i, // invoked again: the latest counts
            Some(last) if last.0 > seq => {
                sorted = false;
                break;
            }
            _ => list.push((seq, i)),
        }
    }
    if sorted {
        let find = |&(client, seq): &(u32, u64)| {
            let list = per.get(client as usize)?;
            let k = list.binary_search_by_key(&seq, |x| x.0).ok()?;
            Some(list[k].1)
        };
        return applied
            .iter()
            .filter_map(find)
            .filter(|&i| !std::mem::replace(&mut taken[i], true))
            .collect();
    }
    let index: std::collections::BTreeMap<(u32, u64), usize> =
        ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    applied
        .iter()
        .filter_map(|op| index.get(op).copied())
        .filter(|&i| !std::mem::replace(&mut taken[i], true))
        .collect()
}

/// The history of a run, built as the client observations come (nothing else of them is
/// kept, and the reports' `OpRecord`s are made from it at the end): `OpRecord`s for reports
/// and the checker's history, in the same order (invocation order).
#[derive(Default)]
pub struct HistoryBuilder {
    hist: History<KvInput, KvOutput>,
    /// (client, seq) per operation.
    ids: Vec<(u32, u64)>,
    /// Per client (its index): (seq, operation) of its invocations not yet completed or
    /// given up. A closed-loop client has at most one open, so a short list per client
    /// beats a tree of every open operation of a thousand clients.
    open: Vec<Vec<(u64, usize)>>,
}

impl HistoryBuilder {
    fn open_mut(&mut self, client: u32) -> &mut Vec<(u64, usize)> {
        let c = client as usize;
        if self.open.len() <= c {
            self.open.resize_with(c + 1, Vec::new);
        }
        &mut self.open[c]
    }

    /// Removes and returns the open operation (`client`, `seq`).
    fn close(&mut self, client: u32, seq: u64) -> Option<usize> {
        let open = self.open.get_mut(client as usize)?;
        let k = open.iter().position(|&(s, _)| s == seq)?;
        Some(open.swap_remove(k).1)
    }
}

impl HistoryBuilder {
    pub fn push(&mut self, t: Time, o: ClientObs) {
        match o {
            ClientObs::Invoke { client, seq, op } => {
                let i = self.ids.len();
                let open = self.open_mut(client);
                match open.iter_mut().find(|(s, _)| *s == seq) {
                    Some(o) => o.1 = i, // invoked again: the latest invocation is the open one
                    None => open.push((seq, i)),
                }
                crate::frugal::push(&mut self.ids, (client, seq));
                let input = match op {
                    // The same texts, moved: nothing allocates.
                    KvOp::Get { key } => KvInput::Get { key },
                    KvOp::Put { key, value } => KvInput::Put { key, value },
                    KvOp::Append { key, value } => KvInput::Append { key, value },
                    KvOp::Cas { key, from, to } => KvInput::Cas { key, from, to },
                };
                crate::frugal::push(
                    &mut self.hist.ops,
                    crate::check::Operation {
                        client: client as u64,
                        call: t,
                        ret: None,
                        input,
                        output: None,
                        status: crate::check::Status::Unknown,
                    },
                );
            }
            ClientObs::Complete {
                client,
                seq,
                result,
            } => {
                if let Some(i) = self.close(client, seq) {
                    let op = &mut self.hist.ops[i];
                    op.ret = Some(t);
                    op.status = crate::check::Status::Ok;
                    op.output = Some(match result {
                        KvResult::Value(v) => KvOutput::Value(v),
                        KvResult::Done => KvOutput::Done,
                        KvResult::Cas(b) => KvOutput::Cas(b),
                    });
                }
            }
            ClientObs::GiveUp { client, seq } => {
                self.close(client, seq);
            }
        }
    }

    /// (client, seq) of each operation so far, in invocation order.
    pub fn ids(&self) -> &[(u32, u64)] {
        &self.ids
    }

    pub fn finish(self) -> (Vec<OpRecord>, History<KvInput, KvOutput>) {
        let records = self
            .hist
            .ops
            .iter()
            .map(|op| {
                let (kind, key) = match &op.input {
                    KvInput::Get { key } => ("get", key),
                    KvInput::Put { key, .. } => ("put", key),
                    KvInput::Append { key, .. } => ("append", key),
                    KvInput::Cas { key, .. } => ("cas", key),
                };
                let client = op.client as u32;
                OpRecord {
                    client,
                    call: op.call,
                    ret: op.ret,
                    status: match op.status {
                        crate::check::Status::Ok => OpStatus::Ok,
                        _ => OpStatus::Unknown,
                    },
                    kind: kind.into(),
                    key: key.clone(),
                    desc: describe(client, &op.input, op.output.as_ref()),
                }
            })
            .collect();
        (records, self.hist)
    }
}

/// The history of a run, rebuilt from client observations (see [`HistoryBuilder`]).
pub fn history(
    obs: impl Iterator<Item = (Time, ClientObs)>,
) -> (Vec<OpRecord>, History<KvInput, KvOutput>) {
    let mut b = HistoryBuilder::default();
    for (t, o) in obs {
        b.push(t, o);
    }
    b.finish()
}

/// `c3 put k1 "c3.7 " -> ok`: one operation as reports list it. Written into one string
/// (a run of a thousand clients describes a hundred thousand operations), byte for byte what
/// `format!` with `{:?}` of the values gives.
fn describe(client: u32, op: &KvInput, res: Option<&KvOutput>) -> String {
    let mut s = String::with_capacity(48);
    s.push('c');
    push_decimal(&mut s, client.into());
    s.push(' ');
    match op {
        KvInput::Get { key } => {
            s.push_str("get ");
            s.push_str(key);
        }
        KvInput::Put { key, value } | KvInput::Append { key, value } => {
            s.push_str(if matches!(op, KvInput::Put { .. }) {
                "put "
            } else {
                "append "
            });
            s.push_str(key);
            s.push(' ');
            push_debug(&mut s, value);
        }
        KvInput::Cas { key, from, to } => {
            s.push_str("cas ");
            s.push_str(key);
            s.push(' ');
            push_debug(&mut s, from);
            s.push_str("->");
            push_debug(&mut s, to);
        }
    }
    s.push_str(" -> ");
    match res {
        None => s.push('?'),
        Some(KvOutput::Value(v)) => push_debug(&mut s, v),
        Some(KvOutput::Done) => s.push_str("ok"),
        Some(KvOutput::Cas(b)) => s.push_str(if *b { "ok" } else { "failed" }),
    }
    s
}

/// Appends `v` as `{:?}` shows it: quoted as it is when every byte is printable ASCII other
/// than a quote or a backslash (what `Debug` leaves alone), else through `Debug`.
fn push_debug(s: &mut String, v: &str) {
    if v.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        s.push('"');
        s.push_str(v);
        s.push('"');
    } else {
        use std::fmt::Write;
        let _ = write!(s, "{v:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `describe` writes what `format!` with `{:?}` wrote, escapes and all.
    #[test]
    fn describe_matches_debug_formatting() {
        let old = |client: u32, op: &KvInput, res: Option<&KvOutput>| {
            let out = match res {
                None => "?".to_string(),
                Some(KvOutput::Value(v)) => format!("{v:?}"),
                Some(KvOutput::Done) => "ok".into(),
                Some(KvOutput::Cas(b)) => if *b { "ok" } else { "failed" }.into(),
            };
            match op {
                KvInput::Get { key } => format!("c{client} get {key} -> {out}"),
                KvInput::Put { key, value } => format!("c{client} put {key} {value:?} -> {out}"),
                KvInput::Append { key, value } => {
                    format!("c{client} append {key} {value:?} -> {out}")
                }
                KvInput::Cas { key, from, to } => {
                    format!("c{client} cas {key} {from:?}->{to:?} -> {out}")
                }
            }
        };
        let values = [
            "",
            "c3.7 ",
            "a\"b",
            "back\\slash",
            "tab\there",
            "nl\n",
            "é",
            "\u{301}x",
            "\u{7f}",
            "~ok~",
            "zero\0",
        ];
        for v in values {
            let s = || Text::from(v);
            let ops = [
                KvInput::Get { key: "k0".into() },
                KvInput::Put {
                    key: "k1".into(),
                    value: s(),
                },
                KvInput::Append {
                    key: "k2".into(),
                    value: s(),
                },
                KvInput::Cas {
                    key: "k0".into(),
                    from: s(),
                    to: "x".into(),
                },
                KvInput::Cas {
                    key: "k0".into(),
                    from: "".into(),
                    to: s(),
                },
            ];
            let outs = [
                None,
                Some(KvOutput::Value(s())),
                Some(KvOutput::Done),
                Some(KvOutput::Cas(true)),
                Some(KvOutput::Cas(false)),
            ];
            for op in &ops {
                for out in &outs {
                    assert_eq!(describe(7, op, out.as_ref()), old(7, op, out.as_ref()));
                }
            }
        }
    }
}
