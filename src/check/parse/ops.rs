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

/// What a completion says of its operation.
pub enum Outcome<O> {
    /// Completed, with its output (`None`: completed, but what it returned is unconstrained).
    Ok(Option<O>),
    /// Certainly did not take effect.
    Fail,
    /// May have taken effect, or not.
    Unknown,
}

/// How one model reads operation records.
pub trait Conv {
    type I;
    type O;
    /// Whether the model's operations name a `:key` (a record of another model that names
    /// one is refused: its keys would all be read as one register or lock).
    const KEYED: bool = false;
    /// The operation an invocation asks for.
    fn input(&self, inv: &Event) -> Result<Self::I, ParseError>;
    /// What the completion `c` of the operation `input` (invoked at line `inv_line`) says.
    fn outcome(
        &self,
        inv_line: usize,
        input: &Self::I,
        c: &Event,
    ) -> Result<Outcome<Self::O>, ParseError>;
}

/// A history built a record at a time: each invocation becomes an operation at once (in
/// invocation order), and its completion, whenever it comes, fills it in. Only the pending
/// invocations (one per process at most) are kept besides the operations.
pub struct Builder<C: Conv> {
    conv: C,
    pub history: History<C::I, C::O>,
    /// The file line of each client record: record `t` (a time of the history) is at
    /// `lines[t]`.
    pub lines: Vec<usize>,
    /// Pending invocations by process: the operation, its `:f` and line.
    open: BTreeMap<i64, (usize, String, usize)>,
    /// The type of the first `:key` and its line: `1`, `"1"` and `:1` are different keys
    /// in EDN and JSON but one key here, so a history's keys are all of one type.
    key_type: Option<(&'static str, usize)>,
}

impl<C: Conv> Builder<C> {
    pub fn new(conv: C) -> Self {
        Builder {
            conv,
            history: History::new(),
            lines: Vec::new(),
            open: BTreeMap::new(),
            key_type: None,
        }
    }

    /// Refuses a `:key` the model does not read, or of another type than the first.
    fn key(&mut self, e: &Event) -> Result<(), ParseError> {
        if let Some(k) = &e.key {
            if !C::KEYED {
                return err(
                    e,
                    format!(
                        "this operation names :key {k:?}, but this model has no keys: every key would be read as one register or lock (for a key-value history use --model kv-append)"
                    ),
                );
            }
            match self.key_type {
                None => self.key_type = Some((e.key_type, e.pos.line)),
                Some((t, line)) if t != e.key_type => {
                    return err(
                        e,
                        format!(
                            "this :key is {}, but the :key at line {line} is {t}: a string, a keyword and an integer of the same text are different keys, which would be read as one (give every :key one type)",
                            e.key_type
                        ),
                    );
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The next client record.
    pub fn push(&mut self, e: &Event) -> Result<(), ParseError> {
        let t = self.lines.len() as u64;
        self.lines.push(e.pos.line);
        if e.kind == Kind::Invoke {
            if let Some((_, f, line)) = self.open.get(&e.process) {
                return err(
                    e,
                    format!(
                        "process {} invokes again before its :{f} at line {line} completed",
                        e.process
                    ),
                );
            }
            let input = self.conv.input(e)?;
            self.key(e)?;
            self.open
                .insert(e.process, (self.history.ops.len(), e.f.clone(), e.pos.line));
            self.history.ops.push(Operation {
                client: e.process as u64,
                call: t,
                ret: None,
                input,
                output: None,
                status: Status::Unknown,
            });
            return Ok(());
        }
        self.key(e)?;
        let Some((slot, f, line)) = self.open.remove(&e.process) else {
            return err(
                e,
                format!(
                    "a completion (:{}) of process {} with no pending invocation",
                    kind_name(e.kind),
                    e.process
                ),
            );
        };
        if f != e.f {
            return err(
                e,
                format!(
                    "completion :{} does not match the invocation :{f} at line {line}",
                    e.f
                ),
            );
        }
        let op = &mut self.history.ops[slot];
        match self.conv.outcome(line, &op.input, e)? {
            Outcome::Ok(out) => {
                op.ret = Some(t);
                op.output = out;
                op.status = Status::Ok;
            }
            Outcome::Fail => {
                op.ret = Some(t);
                op.status = Status::Fail;
            }
            Outcome::Unknown => {}
        }
        Ok(())
    }
}

/// The history of `events` read by `conv`.
fn build<C: Conv>(conv: C, events: &[Event]) -> Result<History<C::I, C::O>, ParseError> {
    let mut b = Builder::new(conv);
    for e in events {
        b.push(e)?;
    }
    Ok(b.history)
}

/// The error for a completion whose arguments are not its invocation's.
fn contradicts<T>(
    c: &Event,
    inv_line: usize,
    got: &dyn std::fmt::Display,
    invoked: &dyn std::fmt::Display,
) -> Result<T, ParseError> {
    err(
        c,
        format!(
            "this :{} completion of :{} says {got}, but its invocation at line {inv_line} says {invoked}",
            kind_name(c.kind),
            c.f
        ),
    )
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
    build(RegisterConv { how, cas: true }, events)
}

/// Register records, read the way `how` says; `cas: false` refuses compare-and-set (a plain
/// register).
pub struct RegisterConv {
    pub how: RegisterReading,
    pub cas: bool,
}

impl Conv for RegisterConv {
    type I = RegisterInput;
    type O = RegisterOutput;
    fn input(&self, e: &Event) -> Result<RegisterInput, ParseError> {
        Ok(match e.f.as_str() {
            "read" => RegisterInput::Read,
            "write" => match int_or_nil(&e.value, e)? {
                Some(v) => RegisterInput::Write(v),
                None => return err(e, "a write of nil (expected an integer)"),
            },
            "cas" if !self.cas => {
                return err(
                    e,
                    ":cas is not an operation of a plain register (use --model cas-register)",
                );
            }
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
        })
    }
    fn outcome(
        &self,
        inv_line: usize,
        input: &RegisterInput,
        c: &Event,
    ) -> Result<Outcome<RegisterOutput>, ParseError> {
        let etcd = self.how == RegisterReading::Etcd;
        // A completion that says what happened (`:ok`, `:fail`) speaks of the operation invoked:
        // a write or CAS completed with other arguments is a broken history, not a guess to
        // make. (`:info` values are often a reason, like `:timed-out`, and are not read.)
        if c.kind != Kind::Info && c.value != Val::Nil {
            match input {
                RegisterInput::Write(v) if int_or_nil(&c.value, c)? != Some(*v) => {
                    return contradicts(c, inv_line, &c.value, &Val::Int(*v));
                }
                RegisterInput::Cas(a, b) if pair_of(&c.value, c)? != (*a, *b) => {
                    return contradicts(c, inv_line, &c.value, &format!("[{a} {b}]"));
                }
                _ => {}
            }
        }
        Ok(match (c.kind, input) {
            (Kind::Ok, RegisterInput::Read) => match int_or_nil(&c.value, c)? {
                // Completed, but what it saw is unknown: it must still take effect in time.
                None if self.how == RegisterReading::Knossos => Outcome::Ok(None),
                v => Outcome::Ok(Some(RegisterOutput::Read(v))),
            },
            (Kind::Ok, RegisterInput::Write(_)) => Outcome::Ok(Some(RegisterOutput::Written)),
            (Kind::Ok, RegisterInput::Cas(..)) => Outcome::Ok(Some(RegisterOutput::Cas(true))),
            (Kind::Fail, RegisterInput::Cas(..)) if etcd => {
                Outcome::Ok(Some(RegisterOutput::Cas(false)))
            }
            (Kind::Fail, RegisterInput::Read) if etcd => Outcome::Unknown,
            (Kind::Fail, _) => Outcome::Fail,
            _ => Outcome::Unknown,
        })
    }
}

/// A key-value history (get / put / append by key).
pub fn kv_history(events: &[Event]) -> Result<History<KvInput, KvOutput>, ParseError> {
    build(KvConv, events)
}

fn kv_text(v: &Val, e: &Event) -> Result<String, ParseError> {
    match v {
        Val::Str(s) => Ok(s.clone()),
        Val::Nil => Ok(String::new()),
        Val::Int(i) => Ok(i.to_string()),
        _ => err(e, format!("expected a string value, found {v}")),
    }
}

/// Key-value records.
pub struct KvConv;

impl Conv for KvConv {
    type I = KvInput;
    type O = KvOutput;
    const KEYED: bool = true;
    fn input(&self, e: &Event) -> Result<KvInput, ParseError> {
        let Some(key) = e.key.clone() else {
            return err(e, "a key-value operation needs :key");
        };
        Ok(match e.f.as_str() {
            "get" | "read" => KvInput::Get { key: key.into() },
            "put" | "write" => KvInput::Put {
                key: key.into(),
                value: kv_text(&e.value, e)?.into(),
            },
            "append" => KvInput::Append {
                key: key.into(),
                value: kv_text(&e.value, e)?.into(),
            },
            f => {
                return err(
                    e,
                    format!(
                        "unknown operation :{f} for kv-append (expected :get, :put or :append)"
                    ),
                );
            }
        })
    }
    fn outcome(
        &self,
        inv_line: usize,
        input: &KvInput,
        c: &Event,
    ) -> Result<Outcome<KvOutput>, ParseError> {
        // As for registers: an `:ok` or `:fail` of another key, or a put or append completed
        // with another value, is a broken history.
        if c.kind != Kind::Info {
            let (key, value) = match input {
                KvInput::Get { key } => (key, None),
                KvInput::Put { key, value } | KvInput::Append { key, value } => (key, Some(value)),
                KvInput::Cas { key, .. } => (key, None),
            };
            if let Some(k) = &c.key
                && **k != **key
            {
                return contradicts(
                    c,
                    inv_line,
                    &format!(":key {k:?}"),
                    &format!(":key {key:?}"),
                );
            }
            if let Some(v) = value
                && c.value != Val::Nil
                && *kv_text(&c.value, c)? != **v
            {
                return contradicts(c, inv_line, &c.value, &format!("{v:?}"));
            }
        }
        Ok(match c.kind {
            Kind::Ok => Outcome::Ok(Some(match input {
                KvInput::Get { .. } => KvOutput::Value(kv_text(&c.value, c)?.into()),
                _ => KvOutput::Done,
            })),
            Kind::Fail => Outcome::Fail,
            _ => Outcome::Unknown,
        })
    }
}

/// A mutex history (acquire / release; an acquire's `:ok` value, an integer or nil, is its
/// fencing token).
pub fn mutex_history(events: &[Event]) -> Result<History<MutexInput, MutexOutput>, ParseError> {
    build(MutexConv, events)
}

/// Lock records.
pub struct MutexConv;

impl Conv for MutexConv {
    type I = MutexInput;
    type O = MutexOutput;
    fn input(&self, e: &Event) -> Result<MutexInput, ParseError> {
        match e.f.as_str() {
            "acquire" | "lock" => Ok(MutexInput::Acquire),
            "release" | "unlock" => Ok(MutexInput::Release),
            f => err(
                e,
                format!("unknown operation :{f} for a mutex (expected :acquire or :release)"),
            ),
        }
    }
    fn outcome(
        &self,
        _: usize,
        input: &MutexInput,
        c: &Event,
    ) -> Result<Outcome<MutexOutput>, ParseError> {
        Ok(match (c.kind, input) {
            (Kind::Ok, MutexInput::Acquire) => {
                // The model reads a grant's value as its fencing token: one it cannot read
                // (a string, a float, a map) is refused rather than dropped, or tokens that
                // go back would pass unseen.
                let tok = match &c.value {
                    Val::Int(t) => Some(*t),
                    Val::Nil => None,
                    other => {
                        return err(
                            c,
                            format!(
                                "an acquire's :ok value is its fencing token: expected an integer or nil, found {other}"
                            ),
                        );
                    }
                };
                Outcome::Ok(Some(MutexOutput::Granted(tok)))
            }
            (Kind::Ok, MutexInput::Release) => Outcome::Ok(Some(MutexOutput::Released)),
            (Kind::Fail, _) => Outcome::Fail,
            _ => Outcome::Unknown,
        })
    }
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
    build(TxnConv::default(), events)
}

/// Transaction records of a multi-register. `:x`, `"x"` and `x` would name one register, so
/// the registers of a history are named with one type: the first one's and its line.
#[derive(Default)]
pub struct TxnConv(std::cell::Cell<Option<(&'static str, usize)>>);

impl Conv for TxnConv {
    type I = TxnInput;
    type O = TxnOutput;
    fn input(&self, e: &Event) -> Result<TxnInput, ParseError> {
        if e.f != "txn" {
            return err(
                e,
                format!(
                    "unknown operation :{} for multi-register (expected :txn)",
                    e.f
                ),
            );
        }
        let ops = txn(&e.value, e)?;
        for m in e.value.seq().unwrap_or_default() {
            let kind = match m.seq() {
                Some([_, Val::Kw(_), _]) => "a keyword",
                Some([_, Val::Str(_), _]) => "a string",
                Some([_, Val::Sym(_), _]) => "a symbol",
                _ => "an integer",
            };
            match self.0.get() {
                None => self.0.set(Some((kind, e.pos.line))),
                Some((first, line)) if first != kind => {
                    return err(
                        e,
                        format!(
                            "this transaction names a register by {kind}, but line {line} by {first}: `:x`, `\"x\"` and `x` are different in EDN, but would be read as one register (name every register one way)"
                        ),
                    );
                }
                Some(_) => {}
            }
        }
        Ok(TxnInput(ops))
    }
    fn outcome(
        &self,
        inv_line: usize,
        input: &TxnInput,
        c: &Event,
    ) -> Result<Outcome<TxnOutput>, ParseError> {
        Ok(match c.kind {
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
                            "the completed transaction does not match its invocation at line {inv_line}"
                        ),
                    );
                }
                // As for registers: a write completed with another value than it was invoked
                // with is a broken history, not a guess to make.
                if let Some((done, asked)) = out
                    .iter()
                    .zip(&input.0)
                    .find(|(a, b)| a.write && a.value != b.value)
                {
                    let show = |m: &MicroOp| {
                        format!(
                            "{} {}",
                            m.key,
                            m.value.map_or("nil".into(), |v| v.to_string())
                        )
                    };
                    return err(
                        c,
                        format!(
                            "the completed transaction writes {}, but its invocation at line {inv_line} writes {}",
                            show(done),
                            show(asked)
                        ),
                    );
                }
                Outcome::Ok(Some(TxnOutput(out)))
            }
            Kind::Fail => Outcome::Fail,
            _ => Outcome::Unknown,
        })
    }
}
