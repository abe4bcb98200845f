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
    /// Per client (its index): (seq, operation) of its invocation not yet completed or given
    /// up, [`NONE`] as the operation when there is none. A closed-loop client has at most one
    /// open: one flat row per client (16 bytes; a thousand clients' rows stay in cache)
    /// rather than a list per client, each a separate allocation to reach on every
    /// invocation and completion.
    open: Vec<(u64, usize)>,
    /// Open invocations beyond a client's first, by (client, seq): none for a closed-loop
    /// client.
    more: std::collections::BTreeMap<(u32, u64), usize>,
}

/// No open operation in a client's row of [`HistoryBuilder::open`].
const NONE: usize = usize::MAX;

impl HistoryBuilder {
    /// Opens (`client`, `seq`) as operation `i`; an invocation again of an open one moves it
    /// to `i` (the latest invocation is the open one).
    fn open(&mut self, client: u32, seq: u64, i: usize) {
        let c = client as usize;
        if self.open.len() <= c {
            self.open.resize(c + 1, (0, NONE));
        }
        let row = &mut self.open[c];
        if row.1 != NONE && row.0 == seq {
            row.1 = i;
        } else if let Some(m) = self.more.get_mut(&(client, seq)) {
            *m = i;
        } else if row.1 == NONE {
            *row = (seq, i);
        } else {
            self.more.insert((client, seq), i);
        }
    }

    /// Removes and returns the open operation (`client`, `seq`).
    fn close(&mut self, client: u32, seq: u64) -> Option<usize> {
        let row = self.open.get_mut(client as usize)?;
        if row.1 != NONE && row.0 == seq {
            return Some(std::mem::replace(&mut row.1, NONE));
        }
        if self.more.is_empty() {
            return None;
        }
        self.more.remove(&(client, seq))
    }
}

impl HistoryBuilder {
    pub fn push(&mut self, t: Time, o: ClientObs) {
        match o {
            ClientObs::Invoke { client, seq, op } => {
                let i = self.ids.len();
                self.open(client, seq, i);
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
    describe_short(client, op, res).unwrap_or_else(|| describe_any(client, op, res))
}

/// [`describe`] of an operation whose texts need no escaping (every operation a key-value
/// client makes: `c12 append k1 "c12.345 " -> ok`): its length counted first, then its
/// pieces copied into a string of exactly that length (one allocation, no growth, no
/// formatting machinery); `None` for any other.
fn describe_short(client: u32, op: &KvInput, res: Option<&KvOutput>) -> Option<String> {
    let (kind, key, a, b): (&[u8], &str, Option<&str>, Option<&str>) = match op {
        KvInput::Get { key } => (b" get ", key, None, None),
        KvInput::Put { key, value } => (b" put ", key, Some(value), None),
        KvInput::Append { key, value } => (b" append ", key, Some(value), None),
        KvInput::Cas { key, from, to } => (b" cas ", key, Some(from), Some(to)),
    };
    let (out, read): (&[u8], Option<&str>) = match res {
        None => (b"?", None),
        Some(KvOutput::Value(v)) => (b"", Some(v)),
        Some(KvOutput::Done) | Some(KvOutput::Cas(true)) => (b"ok", None),
        Some(KvOutput::Cas(false)) => (b"failed", None),
    };
    let texts = [a, b, read];
    if !texts.iter().flatten().all(|t| plain(t)) {
        return None;
    }
    let digits = crate::check::text::decimal_len(client.into());
    let quoted = |t: Option<&str>| t.map_or(0, |t| t.len() + 2);
    let len = 1
        + digits
        + kind.len()
        + key.len()
        + a.map_or(0, |_| 1)
        + quoted(a)
        + b.map_or(0, |_| 2)
        + quoted(b)
        + 4
        + out.len()
        + quoted(read);
    let mut s = Vec::with_capacity(len);
    s.push(b'c');
    s.resize(1 + digits, b'0');
    crate::check::text::write_decimal(client.into(), &mut s[1..]);
    s.extend_from_slice(kind);
    s.extend_from_slice(key.as_bytes());
    let push_quoted = |s: &mut Vec<u8>, t: &str| {
        s.push(b'"');
        s.extend_from_slice(t.as_bytes());
        s.push(b'"');
    };
    if let Some(a) = a {
        s.push(b' ');
        push_quoted(&mut s, a);
    }
    if let Some(b) = b {
        s.extend_from_slice(b"->");
        push_quoted(&mut s, b);
    }
    s.extend_from_slice(b" -> ");
    s.extend_from_slice(out);
    if let Some(r) = read {
        push_quoted(&mut s, r);
    }
    debug_assert_eq!(s.len(), len);
    // SAFETY: whole `&str`s, ASCII digits and ASCII punctuation: valid UTF-8. (Checking it again
    // cost a third as much as writing it.)
    Some(unsafe { String::from_utf8_unchecked(s) })
}

/// [`describe`] of any operation.
fn describe_any(client: u32, op: &KvInput, res: Option<&KvOutput>) -> String {
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
    if plain(v) {
        s.push('"');
        s.push_str(v);
        s.push('"');
    } else {
        use std::fmt::Write;
        let _ = write!(s, "{v:?}");
    }
}

/// Whether `{:?}` shows `v` as it is between quotes: every byte printable ASCII other than a
/// quote or a backslash.
fn plain(v: &str) -> bool {
    v.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Completions find their invocation however a client's invocations overlap: one open
    /// at a time (a closed-loop client), several open, one invoked again (the latest
    /// invocation is the open one), given up, or never invoked.
    #[test]
    fn completions_find_their_open_invocation() {
        let get = || KvOp::Get { key: "k0".into() };
        let inv = |client, seq| ClientObs::Invoke {
            client,
            seq,
            op: get(),
        };
        let done = |client, seq| ClientObs::Complete {
            client,
            seq,
            result: KvResult::Value("v".into()),
        };
        let gave_up = |client, seq| ClientObs::GiveUp { client, seq };
        // Observation k is made at time k; ops are numbered in invocation order.
        let obs = vec![
            inv(0, 1),     // op 0
            inv(3, 1),     // op 1: client 3 before clients 1 and 2 exist
            done(0, 1),    // op 0 returns at 2
            inv(0, 2),     // op 2
            inv(0, 3),     // op 3: two open
            inv(0, 4),     // op 4: three open
            inv(0, 3),     // op 5: seq 3 again; op 3 stays unknown
            done(0, 3),    // op 5 returns at 7
            done(0, 2),    // op 2 returns at 8
            gave_up(0, 4), // op 4 stays unknown
            done(0, 4),    // given up: completes nothing
            done(0, 3),    // completed already: nothing
            done(7, 1),    // never invoked: nothing
            inv(0, 5),     // op 6
            done(3, 1),    // op 1 returns at 14
            done(0, 5),    // op 6 returns at 15
        ];
        let (records, hist) = history(obs.into_iter().enumerate().map(|(t, o)| (t as Time, o)));
        let rets: Vec<Option<Time>> = hist.ops.iter().map(|o| o.ret).collect();
        assert_eq!(
            rets,
            [Some(2), Some(14), Some(8), None, None, Some(7), Some(15)]
        );
        let ok = records.iter().filter(|r| r.status == OpStatus::Ok).count();
        assert_eq!(ok, 5);
    }

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
            "c1234.56789 c1234.56790 c1234.56791 c1234.56792 ",
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
            // Client numbers of 1 and 10 digits: the short form and the general one (past
            // its 64 bytes with the long value) agree with `format!`.
            for client in [7, u32::MAX] {
                for op in &ops {
                    for out in &outs {
                        assert_eq!(
                            describe(client, op, out.as_ref()),
                            old(client, op, out.as_ref())
                        );
                    }
                }
            }
        }
    }
}
