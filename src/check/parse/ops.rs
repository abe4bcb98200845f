//! From operation records to a model's history: each invocation is paired with the next
//! completion of the same process. Times are record positions in the file. Semantics:
//! - `ok`: completed with its value; `fail`: did not take effect (left out); `info`: unknown,
//!   and so is an invocation with no completion.
//! - `etcd-register` follows Porcupine: `:fail :cas` is a completed CAS whose compare failed,
//!   and `:fail :read` (a timed-out read) is unknown.
//!
//! A record that does not fit the model is an error naming its line and column.

use std::collections::BTreeMap;

use super::{Event, Kind, ParseError, Val};
use crate::check::history::{History, Operation, Status};
use crate::check::model::{
    KvInput, KvOutput, MicroOp, MutexInput, MutexOutput, RegisterInput, RegisterOutput, TxnInput,
    TxnOutput,
};

fn err<T>(e: &Event, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError::at(e.pos, message))
}

/// Pairs invocations with completions: (invoke, completion or None), in invocation order.
fn pair(events: &[Event]) -> Result<Vec<(usize, Option<usize>)>, ParseError> {
    let mut open: BTreeMap<i64, usize> = BTreeMap::new();
    let mut out: Vec<(usize, Option<usize>)> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        match e.kind {
            Kind::Invoke => {
                if let Some(&slot) = open.get(&e.process) {
                    let prev = &events[out[slot].0];
                    return err(
                        e,
                        format!(
                            "process {} invokes again before its :{} at line {} completed",
                            e.process, prev.f, prev.pos.line
                        ),
                    );
                }
                open.insert(e.process, out.len());
                out.push((i, None));
            }
            _ => {
                let Some(slot) = open.remove(&e.process) else {
                    return err(
                        e,
                        format!(
                            "a completion (:{}) of process {} with no pending invocation",
                            kind_name(e.kind),
                            e.process
                        ),
                    );
                };
                let inv = &events[out[slot].0];
                if inv.f != e.f {
                    return err(
                        e,
                        format!(
                            "completion :{} does not match the invocation :{} at line {}",
                            e.f, inv.f, inv.pos.line
                        ),
                    );
                }
                out[slot].1 = Some(i);
            }
        }
    }
    Ok(out)
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Invoke => "invoke",
        Kind::Ok => "ok",
        Kind::Fail => "fail",
        Kind::Info => "info",
    }
}

fn int_or_nil(v: &Val, e: &Event) -> Result<Option<i64>, ParseError> {
    match v {
        Val::Nil => Ok(None),
        Val::Int(i) => Ok(Some(*i)),
        _ => err(e, format!("expected an integer or nil, found {v}")),
    }
}

fn pair_of(v: &Val, e: &Event) -> Result<(i64, i64), ParseError> {
    match v.seq() {
        Some([Val::Int(a), Val::Int(b)]) => Ok((*a, *b)),
        _ => err(e, format!("expected [from to] with integers, found {v}")),
    }
}

/// How a register log is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterReading {
    /// `:fail` did not happen; a read of nil saw no value.
    Plain,
    /// Porcupine's etcd logs: `:fail :cas` is a failed compare, `:fail :read` is unknown.
    Etcd,
    /// Knossos's models: a read that returned nil is unconstrained (any value).
    Knossos,
}

/// A register history. `etcd`: Porcupine's reading of `:fail` (see the module docs).
pub fn register_history(
    events: &[Event],
    etcd: bool,
) -> Result<History<RegisterInput, RegisterOutput>, ParseError> {
    let how = if etcd {
        RegisterReading::Etcd
    } else {
        RegisterReading::Plain
    };
    register_history_as(events, how)
}

/// A register history read the way `how` says.
pub fn register_history_as(
    events: &[Event],
    how: RegisterReading,
) -> Result<History<RegisterInput, RegisterOutput>, ParseError> {
    let etcd = how == RegisterReading::Etcd;
    let mut h = History::new();
    for (inv, done) in pair(events)? {
        let e = &events[inv];
        let input = match e.f.as_str() {
            "read" => RegisterInput::Read,
            "write" => match int_or_nil(&e.value, e)? {
                Some(v) => RegisterInput::Write(v),
                None => return err(e, "a write of nil (expected an integer)"),
            },
            "cas" => {
                let (a, b) = pair_of(&e.value, e)?;
                RegisterInput::Cas(a, b)
            }
            f => {
                return err(
                    e,
                    format!(
                        "unknown operation :{f} for a register (expected :read, :write or :cas{})",
                        if f == "txn" {
                            "; for :txn use --model multi-register"
                        } else {
                            ""
                        }
                    ),
                );
            }
        };
        let (client, call) = (e.process as u64, inv as u64);
        match done.map(|d| (d, &events[d])) {
            None => h.unknown(client, call, input),
            Some((d, c)) => match (c.kind, &input) {
                (Kind::Ok, RegisterInput::Read) => match int_or_nil(&c.value, c)? {
                    // Completed, but what it saw is unknown: it must still take effect in time.
                    None if how == RegisterReading::Knossos => h.ops.push(Operation {
                        client,
                        call,
                        ret: Some(d as u64),
                        input,
                        output: None,
                        status: Status::Ok,
                    }),
                    v => h.ok(client, call, d as u64, input, RegisterOutput::Read(v)),
                },
                (Kind::Ok, RegisterInput::Write(_)) => {
                    h.ok(client, call, d as u64, input, RegisterOutput::Written)
                }
                (Kind::Ok, RegisterInput::Cas(..)) => {
                    h.ok(client, call, d as u64, input, RegisterOutput::Cas(true))
                }
                (Kind::Fail, RegisterInput::Cas(..)) if etcd => {
                    h.ok(client, call, d as u64, input, RegisterOutput::Cas(false))
                }
                (Kind::Fail, RegisterInput::Read) if etcd => h.unknown(client, call, input),
                (Kind::Fail, _) => h.fail(client, call, d as u64, input),
                _ => h.unknown(client, call, input),
            },
        }
    }
    Ok(h)
}

/// A key-value history (get / put / append by key).
pub fn kv_history(events: &[Event]) -> Result<History<KvInput, KvOutput>, ParseError> {
    let mut h = History::new();
    let text = |v: &Val, e: &Event| -> Result<String, ParseError> {
        match v {
            Val::Str(s) => Ok(s.clone()),
            Val::Nil => Ok(String::new()),
            Val::Int(i) => Ok(i.to_string()),
            _ => err(e, format!("expected a string value, found {v}")),
        }
    };
    for (inv, done) in pair(events)? {
        let e = &events[inv];
        let Some(key) = e.key.clone() else {
            return err(e, "a key-value operation needs :key");
        };
        let input = match e.f.as_str() {
            "get" | "read" => KvInput::Get { key },
            "put" | "write" => KvInput::Put {
                key,
                value: text(&e.value, e)?,
            },
            "append" => KvInput::Append {
                key,
                value: text(&e.value, e)?,
            },
            f => {
                return err(
                    e,
                    format!(
                        "unknown operation :{f} for kv-append (expected :get, :put or :append)"
                    ),
                );
            }
        };
        let (client, call) = (e.process as u64, inv as u64);
        match done.map(|d| (d, &events[d])) {
            None => h.unknown(client, call, input),
            Some((d, c)) => match c.kind {
                Kind::Ok => {
                    let out = match &input {
                        KvInput::Get { .. } => KvOutput::Value(text(&c.value, c)?),
                        _ => KvOutput::Done,
                    };
                    h.ok(client, call, d as u64, input, out)
                }
                Kind::Fail => h.fail(client, call, d as u64, input),
                _ => h.unknown(client, call, input),
            },
        }
    }
    Ok(h)
}

/// A mutex history (acquire / release; an acquire's value, if an integer, is its fencing token).
pub fn mutex_history(events: &[Event]) -> Result<History<MutexInput, MutexOutput>, ParseError> {
    let mut h = History::new();
    for (inv, done) in pair(events)? {
        let e = &events[inv];
        let input = match e.f.as_str() {
            "acquire" | "lock" => MutexInput::Acquire,
            "release" | "unlock" => MutexInput::Release,
            f => {
                return err(
                    e,
                    format!("unknown operation :{f} for a mutex (expected :acquire or :release)"),
                );
            }
        };
        let (client, call) = (e.process as u64, inv as u64);
        match done.map(|d| (d, &events[d])) {
            None => h.unknown(client, call, input),
            Some((d, c)) => match (c.kind, &input) {
                (Kind::Ok, MutexInput::Acquire) => {
                    let tok = match &c.value {
                        Val::Int(t) => Some(*t),
                        _ => None,
                    };
                    h.ok(client, call, d as u64, input, MutexOutput::Granted(tok))
                }
                (Kind::Ok, MutexInput::Release) => {
                    h.ok(client, call, d as u64, input, MutexOutput::Released)
                }
                (Kind::Fail, _) => h.fail(client, call, d as u64, input),
                _ => h.unknown(client, call, input),
            },
        }
    }
    Ok(h)
}

/// A transaction `[[:read :x nil] [:write :y 2]]` (`:r`/`:w` too).
fn txn(v: &Val, e: &Event) -> Result<Vec<MicroOp>, ParseError> {
    let shape = "expected a transaction like [[:read :x nil] [:write :y 2]]";
    let Some(items) = v.seq() else {
        return err(e, format!("{shape}, found {v}"));
    };
    items
        .iter()
        .map(|m| match m.seq() {
            Some([f, k, val]) => {
                let write = match f.name() {
                    Some("read" | "r") => false,
                    Some("write" | "w") => true,
                    _ => return err(e, format!("{shape}: `{f}` is neither :read nor :write")),
                };
                let key = match k {
                    Val::Kw(s) | Val::Str(s) | Val::Sym(s) => s.clone(),
                    Val::Int(i) => i.to_string(),
                    _ => return err(e, format!("{shape}: `{k}` is not a register name")),
                };
                let value = int_or_nil(val, e)?;
                if write && value.is_none() {
                    return err(e, "a write of nil (expected an integer)");
                }
                Ok(MicroOp { write, key, value })
            }
            _ => err(e, format!("{shape}, found `{m}`")),
        })
        .collect()
}

/// A multi-register history: `:txn` operations (Knossos's `multi-register`).
pub fn multi_register_history(
    events: &[Event],
) -> Result<History<TxnInput, TxnOutput>, ParseError> {
    let mut h = History::new();
    for (inv, done) in pair(events)? {
        let e = &events[inv];
        if e.f != "txn" {
            return err(
                e,
                format!(
                    "unknown operation :{} for multi-register (expected :txn)",
                    e.f
                ),
            );
        }
        let input = TxnInput(txn(&e.value, e)?);
        let (client, call) = (e.process as u64, inv as u64);
        match done.map(|d| (d, &events[d])) {
            None => h.unknown(client, call, input),
            Some((d, c)) => match c.kind {
                Kind::Ok => {
                    let out = txn(&c.value, c)?;
                    let same = out.len() == input.0.len()
                        && out
                            .iter()
                            .zip(&input.0)
                            .all(|(a, b)| a.write == b.write && a.key == b.key);
                    if !same {
                        return err(
                            c,
                            format!(
                                "the completed transaction does not match its invocation at line {}",
                                e.pos.line
                            ),
                        );
                    }
                    h.ok(client, call, d as u64, input, TxnOutput(out))
                }
                Kind::Fail => h.fail(client, call, d as u64, input),
                _ => h.unknown(client, call, input),
            },
        }
    }
    Ok(h)
}
