//! The key-value store's messages written as `{:?}` prints them, without the formatting
//! machinery: a report labels hundreds of messages (its diagrams' tooltips, the step-through
//! view), and `Debug` spent twice as long on each, most of it on the entries a Raft or
//! Multi-Paxos message carries. The text is the same, byte for byte (a test holds every
//! writer here to `format!("{:?}")`).

use std::fmt::Write;

use super::{Command, KvOp, KvReply, KvRequest, KvResult, push_decimal};

/// Appends `s` quoted and escaped as `{:?}` prints a string: plain printable ASCII as it is,
/// anything else through `Debug`.
pub fn push_quoted(out: &mut String, s: &str) {
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        let _ = write!(out, "{s:?}");
    }
}

/// `Name { a: 1, b: 2` for `(field, value)` pairs of numbers, as `Debug` opens a struct
/// (the caller writes any other fields and closes it).
pub fn open_struct(out: &mut String, name: &str, fields: &[(&str, u64)]) {
    out.push_str(name);
    if let Some(((field, v), rest)) = fields.split_first() {
        out.push_str(" { ");
        out.push_str(field);
        out.push_str(": ");
        push_decimal(out, *v);
        more_fields(out, rest);
    }
}

/// `, a: 1, b: 2`: further numeric fields of a struct being written.
pub fn more_fields(out: &mut String, fields: &[(&str, u64)]) {
    for (field, v) in fields {
        out.push_str(", ");
        out.push_str(field);
        out.push_str(": ");
        push_decimal(out, *v);
    }
}

/// `Name(…)` as `Debug` prints a one-field tuple variant, `inner` writing the field.
pub fn write_tuple(out: &mut String, name: &str, inner: impl FnOnce(&mut String)) {
    out.push_str(name);
    out.push('(');
    inner(out);
    out.push(')');
}

impl KvOp {
    /// Appends what `{:?}` prints.
    pub fn write_debug(&self, out: &mut String) {
        let (name, fields): (&str, [(&str, Option<&str>); 3]) = match self {
            KvOp::Get { key } => ("Get", [("key", Some(key.as_str())), ("", None), ("", None)]),
            KvOp::Put { key, value } => (
                "Put",
                [
                    ("key", Some(key.as_str())),
                    ("value", Some(value.as_str())),
                    ("", None),
                ],
            ),
            KvOp::Append { key, value } => (
                "Append",
                [
                    ("key", Some(key.as_str())),
                    ("value", Some(value.as_str())),
                    ("", None),
                ],
            ),
            KvOp::Cas { key, from, to } => (
                "Cas",
                [
                    ("key", Some(key.as_str())),
                    ("from", Some(from.as_str())),
                    ("to", Some(to.as_str())),
                ],
            ),
        };
        out.push_str(name);
        let mut sep = " { ";
        for (field, value) in fields {
            let Some(value) = value else { break };
            out.push_str(sep);
            out.push_str(field);
            out.push_str(": ");
            push_quoted(out, value);
            sep = ", ";
        }
        out.push_str(" }");
    }
}

/// An operation that can write its `Debug` text fast ([`KvOp::write_debug`]); any other
/// through `{:?}`.
pub trait WriteDebug: std::fmt::Debug {
    fn write_debug(&self, out: &mut String) {
        let _ = write!(out, "{self:?}");
    }
}

impl WriteDebug for KvOp {
    fn write_debug(&self, out: &mut String) {
        KvOp::write_debug(self, out)
    }
}

impl<Op: WriteDebug> Command<Op> {
    /// Appends what `{:?}` prints.
    pub fn write_debug(&self, out: &mut String) {
        match self {
            Command::Noop => out.push_str("Noop"),
            Command::Client { client, seq, op } => {
                out.push_str("Client { client: ");
                push_decimal(out, (*client).into());
                out.push_str(", seq: ");
                push_decimal(out, *seq);
                out.push_str(", op: ");
                op.write_debug(out);
                out.push_str(" }");
            }
            Command::Service { op } => {
                out.push_str("Service { op: ");
                op.write_debug(out);
                out.push_str(" }");
            }
        }
    }
}

impl<Op: WriteDebug> KvRequest<Op> {
    /// Appends what `{:?}` prints.
    pub fn write_debug(&self, out: &mut String) {
        out.push_str("KvRequest { client: ");
        push_decimal(out, self.client.into());
        out.push_str(", seq: ");
        push_decimal(out, self.seq);
        out.push_str(", attempt: ");
        push_decimal(out, self.attempt.into());
        out.push_str(", op: ");
        self.op.write_debug(out);
        out.push_str(" }");
    }
}

impl KvReply<KvResult> {
    /// Appends what `{:?}` prints.
    pub fn write_debug(&self, out: &mut String) {
        let (seq, attempt) = match self {
            KvReply::Done { seq, attempt, .. } => {
                out.push_str("Done { seq: ");
                (seq, attempt)
            }
            KvReply::NotLeader { seq, attempt, .. } => {
                out.push_str("NotLeader { seq: ");
                (seq, attempt)
            }
        };
        push_decimal(out, *seq);
        out.push_str(", attempt: ");
        push_decimal(out, (*attempt).into());
        match self {
            KvReply::Done { result, .. } => {
                out.push_str(", result: ");
                match result {
                    KvResult::Value(v) => {
                        out.push_str("Value(");
                        push_quoted(out, v.as_str());
                        out.push(')');
                    }
                    KvResult::Done => out.push_str("Done"),
                    KvResult::Cas(ok) => out.push_str(if *ok { "Cas(true)" } else { "Cas(false)" }),
                }
            }
            KvReply::NotLeader { hint, .. } => {
                out.push_str(", hint: ");
                match hint {
                    None => out.push_str("None"),
                    Some(h) => {
                        out.push_str("Some(");
                        push_decimal(out, (*h).into());
                        out.push(')');
                    }
                }
            }
        }
        out.push_str(" }");
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;

    /// Texts with everything `Debug` escapes: quotes, backslashes, control characters,
    /// non-ASCII, the empty string.
    pub(crate) const TEXTS: [&str; 9] = [
        "k1",
        "c0.6 ",
        "",
        "a\"b",
        "back\\slash",
        "tab\there",
        "é日本",
        "\u{1}\u{7f}",
        "it's",
    ];

    /// Every operation shape over [`TEXTS`].
    pub(crate) fn ops() -> Vec<KvOp> {
        let t = |i: usize| TEXTS[i % TEXTS.len()].into();
        (0..TEXTS.len())
            .flat_map(|i| {
                [
                    KvOp::Get { key: t(i) },
                    KvOp::Put {
                        key: t(i),
                        value: t(i + 1),
                    },
                    KvOp::Append {
                        key: t(i + 2),
                        value: t(i),
                    },
                    KvOp::Cas {
                        key: t(i),
                        from: t(i + 3),
                        to: t(i + 4),
                    },
                ]
            })
            .collect()
    }

    /// Every command shape over [`ops`], with extreme numbers.
    pub(crate) fn commands() -> Vec<Command<KvOp>> {
        let mut v = vec![Command::Noop];
        for (k, op) in ops().into_iter().enumerate() {
            let op = Arc::new(op);
            v.push(Command::Client {
                client: [0, 7, u32::MAX][k % 3],
                seq: [0, 42, u64::MAX][k % 3],
                op: op.clone(),
            });
            v.push(Command::Service { op });
        }
        v
    }

    /// Holds `write` to `{:?}` on every item.
    pub(crate) fn assert_writes_debug<T: std::fmt::Debug>(
        items: impl IntoIterator<Item = T>,
        write: impl Fn(&T, &mut String),
    ) {
        for x in items {
            let mut s = String::new();
            write(&x, &mut s);
            assert_eq!(s, format!("{x:?}"));
        }
    }

    fn debug_of(write: impl Fn(&mut String)) -> String {
        let mut s = String::new();
        write(&mut s);
        s
    }

    #[test]
    fn writers_print_what_debug_prints() {
        for c in commands() {
            assert_eq!(debug_of(|s| c.write_debug(s)), format!("{c:?}"));
        }
        for (k, op) in ops().into_iter().enumerate() {
            let r = KvRequest {
                client: k as u32,
                seq: u64::MAX - k as u64,
                attempt: [0, 3, u32::MAX][k % 3],
                op,
            };
            assert_eq!(debug_of(|s| r.write_debug(s)), format!("{r:?}"));
        }
        let results = TEXTS.iter().map(|t| KvResult::Value((*t).into())).chain([
            KvResult::Done,
            KvResult::Cas(true),
            KvResult::Cas(false),
        ]);
        for (k, result) in results.enumerate() {
            let done = KvReply::Done {
                seq: k as u64,
                attempt: k as u32,
                result,
            };
            assert_eq!(debug_of(|s| done.write_debug(s)), format!("{done:?}"));
        }
        for hint in [None, Some(0), Some(u32::MAX)] {
            let not = KvReply::<KvResult>::NotLeader {
                seq: u64::MAX,
                attempt: 1,
                hint,
            };
            assert_eq!(debug_of(|s| not.write_debug(s)), format!("{not:?}"));
        }
    }
}
