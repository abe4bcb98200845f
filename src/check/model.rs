//! Models: the sequential specification a history is checked against, in Porcupine's small
//! shape: an initial state, a step function, an optional partition key, and a description.
//! Adding a model is a few lines.

use std::fmt::Debug;
use std::hash::Hash;

use serde::Serialize;

use super::certify::{self, Certificate};
use super::history::Operation;
use super::propose;
use super::text::Text;

/// A sequential specification.
pub trait Model: Sync {
    type State: Clone + Eq + Hash + Debug + Send + Sync;
    type Input: Debug + Sync + Send;
    type Output: Debug + Sync + Send;

    fn init(&self) -> Self::State;
    /// The state after applying `input` with result `output` to `state`, or `None` if that
    /// result is impossible there. `output` is `None` when the result is unknown: apply the
    /// input and check nothing.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;
    /// `step` in place: applies the operation to `state` and returns true, or returns false
    /// (and leaves `state` as it was) if the result is impossible there. Override when a
    /// step can reuse the state (an append) instead of building a new one.
    fn step_mut(
        &self,
        state: &mut Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> bool {
        if self.read_only(input, output) {
            return self.legal(state, input, output);
        }
        match self.step(state, input, output) {
            Some(s) => {
                *state = s;
                true
            }
            None => false,
        }
    }
    /// Whether `step` would succeed, for read-only operations (override to avoid building a
    /// state that is thrown away).
    fn legal(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> bool {
        self.step(state, input, output).is_some()
    }
    /// True when this operation never changes the state, whatever the state (a read, a CAS
    /// known to have failed). The checker takes such operations greedily. Default: false.
    fn read_only(&self, _input: &Self::Input, _output: Option<&Self::Output>) -> bool {
        false
    }
    /// True when the operation's legality and the state after it do not depend on the state
    /// before it (a register's write, a map's put): `step(s, ..)` is the same `Some` for
    /// every `s`. The frontier sweep then places it lazily. Default: false.
    fn blind(&self, _input: &Self::Input, _output: Option<&Self::Output>) -> bool {
        false
    }
    /// Optional pruning, for models whose state only grows (an append-only log): true when
    /// this operation can only extend the state, in the sense of `reachable`. Default: false.
    fn grows(&self, _input: &Self::Input, _output: Option<&Self::Output>) -> bool {
        false
    }
    /// Optional pruning: false only if no sequence of operations for which `grows` holds can
    /// take `state` to one where the read-only operation `(input, output)` is legal. The
    /// checker then drops the branch. Default: true (no pruning).
    fn reachable(
        &self,
        _state: &Self::State,
        _input: &Self::Input,
        _output: Option<&Self::Output>,
    ) -> bool {
        true
    }
    /// Operations on different keys are independent and are checked separately
    /// (P-compositionality). The default: one partition.
    fn key<'a>(&self, _input: &'a Self::Input) -> &'a str {
        ""
    }
    /// Optional: a candidate linearization of one partition (positions in `ops`), built
    /// without a search, that the checker verifies before trusting (`propose.rs`). Default:
    /// the greedy sweep in time order.
    fn propose(&self, ops: &[&Operation<Self::Input, Self::Output>]) -> Option<Vec<u32>>
    where
        Self: Sized,
    {
        propose::greedy(self, ops)
    }
    /// Optional: a sound certificate that the partition `ops` cannot be linearized, found
    /// without a search (`certify.rs`). Must never be `Some` for a linearizable partition.
    /// Default: none.
    fn certify(&self, _ops: &[&Operation<Self::Input, Self::Output>]) -> Option<Certificate> {
        None
    }
    /// `write 3 -> ok`, for humans.
    fn describe(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        match output {
            Some(o) => format!("{input:?} -> {o:?}"),
            None => format!("{input:?} -> ?"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Registers: plain, CAS (Knossos's cas-register) and etcd (Porcupine's semantics).

/// Register input. Values are integers; `None` is nil (no value).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum RegisterInput {
    Read,
    Write(i64),
    Cas(i64, i64),
}

/// Register output: a read's value (nil = `None`), a write's ack, whether a CAS succeeded.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum RegisterOutput {
    Read(Option<i64>),
    Written,
    Cas(bool),
}

/// A register with read, write and compare-and-set, initially `initial` (nil by default).
/// Serves `register`, `cas-register` and `etcd-register`: they differ in how a log is read (see
/// `parse`), not in the sequential specification.
#[derive(Clone, Copy, Debug, Default)]
pub struct CasRegister {
    pub initial: Option<i64>,
}

impl Model for CasRegister {
    type State = Option<i64>;
    type Input = RegisterInput;
    type Output = RegisterOutput;

    fn init(&self) -> Option<i64> {
        self.initial
    }
    fn step(
        &self,
        s: &Option<i64>,
        i: &RegisterInput,
        o: Option<&RegisterOutput>,
    ) -> Option<Option<i64>> {
        match (i, o) {
            (RegisterInput::Read, None) => Some(*s),
            (RegisterInput::Read, Some(RegisterOutput::Read(v))) => (v == s).then_some(*s),
            (RegisterInput::Write(v), None | Some(RegisterOutput::Written)) => Some(Some(*v)),
            (RegisterInput::Cas(from, to), None) => {
                Some(if *s == Some(*from) { Some(*to) } else { *s })
            }
            (RegisterInput::Cas(from, to), Some(RegisterOutput::Cas(ok))) => {
                let matches = *s == Some(*from);
                (matches == *ok).then_some(if matches { Some(*to) } else { *s })
            }
            _ => None,
        }
    }
    fn blind(&self, i: &RegisterInput, o: Option<&RegisterOutput>) -> bool {
        matches!(
            (i, o),
            (
                RegisterInput::Write(_),
                None | Some(RegisterOutput::Written)
            )
        )
    }
    fn read_only(&self, i: &RegisterInput, o: Option<&RegisterOutput>) -> bool {
        matches!(
            (i, o),
            (RegisterInput::Read, _) | (RegisterInput::Cas(..), Some(RegisterOutput::Cas(false)))
        )
    }
    // Unique written values: zones, else the greedy sweep.
    fn propose(&self, ops: &[&Operation<RegisterInput, RegisterOutput>]) -> Option<Vec<u32>> {
        propose::register_order(self, self.initial, ops).or_else(|| propose::greedy(self, ops))
    }
    fn certify(&self, ops: &[&Operation<RegisterInput, RegisterOutput>]) -> Option<Certificate> {
        certify::register(self.initial, ops)
    }
    fn describe(&self, i: &RegisterInput, o: Option<&RegisterOutput>) -> String {
        let out = match o {
            None => "?".to_string(),
            Some(RegisterOutput::Read(Some(v))) => v.to_string(),
            Some(RegisterOutput::Read(None)) => "nil".into(),
            Some(RegisterOutput::Written) => "ok".into(),
            Some(RegisterOutput::Cas(true)) => "ok".into(),
            Some(RegisterOutput::Cas(false)) => "failed".into(),
        };
        match i {
            RegisterInput::Read => format!("read -> {out}"),
            RegisterInput::Write(v) => format!("write {v} -> {out}"),
            RegisterInput::Cas(a, b) => format!("cas {a}->{b} -> {out}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Key-value map with get / put / append, partitioned by key (Porcupine's kv model).

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum KvInput {
    Get {
        key: Text,
    },
    Put {
        key: Text,
        value: Text,
    },
    Append {
        key: Text,
        value: Text,
    },
    /// Compare-and-set on a key (an extension; the value must equal `from`).
    Cas {
        key: Text,
        from: Text,
        to: Text,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum KvOutput {
    /// A get's value (the empty string for a missing key).
    Value(Text),
    Done,
    Cas(bool),
}

/// One key's value: every key starts as the empty string.
#[derive(Clone, Copy, Debug, Default)]
pub struct KvAppend;

impl Model for KvAppend {
    type State = String;
    type Input = KvInput;
    type Output = KvOutput;

    fn init(&self) -> String {
        String::new()
    }
    fn step(&self, s: &String, i: &KvInput, o: Option<&KvOutput>) -> Option<String> {
        match (i, o) {
            (KvInput::Get { .. }, None) => Some(s.clone()),
            (KvInput::Get { .. }, Some(KvOutput::Value(v))) => (v == s).then(|| s.clone()),
            (KvInput::Put { value, .. }, None | Some(KvOutput::Done)) => Some(value.to_string()),
            (KvInput::Append { value, .. }, None | Some(KvOutput::Done)) => {
                // One exact allocation (format! grows the string in steps).
                let mut v = String::with_capacity(s.len() + value.len());
                v.push_str(s);
                v.push_str(value);
                Some(v)
            }
            (KvInput::Cas { from, to, .. }, None) => {
                Some(if s == from { to.to_string() } else { s.clone() })
            }
            (KvInput::Cas { from, to, .. }, Some(KvOutput::Cas(ok))) => {
                let m = s == from;
                (m == *ok).then(|| if m { to.to_string() } else { s.clone() })
            }
            _ => None,
        }
    }
    fn step_mut(&self, s: &mut String, i: &KvInput, o: Option<&KvOutput>) -> bool {
        match (i, o) {
            (KvInput::Put { value, .. }, None | Some(KvOutput::Done)) => {
                s.clear();
                s.push_str(value);
                true
            }
            (KvInput::Append { value, .. }, None | Some(KvOutput::Done)) => {
                s.push_str(value);
                true
            }
            (KvInput::Get { .. }, None) => true,
            // A read leaves the value as it is: compared, not copied.
            (KvInput::Get { .. }, Some(KvOutput::Value(v))) => v == s,
            _ => match self.step(s, i, o) {
                Some(v) => {
                    *s = v;
                    true
                }
                None => false,
            },
        }
    }
    fn legal(&self, s: &String, i: &KvInput, o: Option<&KvOutput>) -> bool {
        match (i, o) {
            (KvInput::Get { .. }, Some(KvOutput::Value(v))) => v == s,
            (KvInput::Cas { from, .. }, Some(KvOutput::Cas(false))) => s != from,
            _ => self.step(s, i, o).is_some(),
        }
    }
    fn blind(&self, i: &KvInput, o: Option<&KvOutput>) -> bool {
        matches!((i, o), (KvInput::Put { .. }, None | Some(KvOutput::Done)))
    }
    fn read_only(&self, i: &KvInput, o: Option<&KvOutput>) -> bool {
        matches!(
            (i, o),
            (KvInput::Get { .. }, _) | (KvInput::Cas { .. }, Some(KvOutput::Cas(false)))
        )
    }
    // An append only extends the value, so the value stays a prefix of every later value
    // until a put or a successful CAS replaces it: a get of `v` can become legal only if the
    // value is a prefix of `v`.
    fn grows(&self, i: &KvInput, o: Option<&KvOutput>) -> bool {
        matches!(
            (i, o),
            (KvInput::Append { .. } | KvInput::Get { .. }, _)
                | (KvInput::Cas { .. }, Some(KvOutput::Cas(false)))
        )
    }
    fn reachable(&self, s: &String, i: &KvInput, o: Option<&KvOutput>) -> bool {
        match (i, o) {
            (KvInput::Get { .. }, Some(KvOutput::Value(v))) => v.starts_with(s.as_str()),
            _ => true,
        }
    }
    // Unique put values and append tokens: chains in zone order, else the greedy sweep.
    fn propose(&self, ops: &[&Operation<KvInput, KvOutput>]) -> Option<Vec<u32>> {
        propose::kv_order(self, ops).or_else(|| propose::greedy(self, ops))
    }
    fn certify(&self, ops: &[&Operation<KvInput, KvOutput>]) -> Option<Certificate> {
        certify::kv(ops)
    }
    fn key<'a>(&self, i: &'a KvInput) -> &'a str {
        match i {
            KvInput::Get { key }
            | KvInput::Put { key, .. }
            | KvInput::Append { key, .. }
            | KvInput::Cas { key, .. } => key,
        }
    }
    fn describe(&self, i: &KvInput, o: Option<&KvOutput>) -> String {
        let out = match o {
            None => "?".to_string(),
            Some(KvOutput::Value(v)) => format!("{v:?}"),
            Some(KvOutput::Done) | Some(KvOutput::Cas(true)) => "ok".into(),
            Some(KvOutput::Cas(false)) => "failed".into(),
        };
        match i {
            KvInput::Get { key } => format!("get {key} -> {out}"),
            KvInput::Put { key, value } => format!("put {key} {value:?} -> {out}"),
            KvInput::Append { key, value } => format!("append {key} {value:?} -> {out}"),
            KvInput::Cas { key, from, to } => format!("cas {key} {from:?}->{to:?} -> {out}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Knossos's multi-register: transactions of reads and writes over named registers.

/// One micro-operation of a transaction: a read (`value` `None`: unknown, any value is legal)
/// or a write.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct MicroOp {
    pub write: bool,
    pub key: String,
    pub value: Option<i64>,
}

/// A transaction as invoked (reads carry no value).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct TxnInput(pub Vec<MicroOp>);

/// A transaction as completed (reads carry what they saw).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct TxnOutput(pub Vec<MicroOp>);

/// Knossos's multi-register: named integer registers, each `initial` (nil by default) until
/// written; a transaction of reads and writes takes effect atomically. As in Knossos, a read
/// that returned nil is unconstrained.
#[derive(Clone, Debug, Default)]
pub struct MultiRegister {
    pub initial: Option<i64>,
}

impl Model for MultiRegister {
    /// Written registers, sorted by name.
    type State = Vec<(String, i64)>;
    type Input = TxnInput;
    type Output = TxnOutput;

    fn init(&self) -> Self::State {
        Vec::new()
    }
    fn step(&self, s: &Self::State, i: &TxnInput, o: Option<&TxnOutput>) -> Option<Self::State> {
        let mops = o.map_or(&i.0, |o| &o.0);
        let mut next: Option<Self::State> = None;
        for m in mops {
            let cur = next.as_ref().unwrap_or(s);
            let at = cur.binary_search_by(|(k, _)| k.as_str().cmp(&m.key));
            if m.write {
                let v = m.value?;
                let st = next.get_or_insert_with(|| s.clone());
                match at {
                    Ok(p) => st[p].1 = v,
                    Err(p) => st.insert(p, (m.key.clone(), v)),
                }
            } else if o.is_some() {
                let seen = match at {
                    Ok(p) => Some(cur[p].1),
                    Err(_) => self.initial,
                };
                // Knossos: a read that returned nil is unconstrained.
                if m.value.is_some() && m.value != seen {
                    return None;
                }
            }
        }
        Some(next.unwrap_or_else(|| s.clone()))
    }
    fn read_only(&self, i: &TxnInput, _o: Option<&TxnOutput>) -> bool {
        i.0.iter().all(|m| !m.write)
    }
    fn describe(&self, i: &TxnInput, o: Option<&TxnOutput>) -> String {
        let mops = o.map_or(&i.0, |o| &o.0);
        let parts: Vec<String> = mops
            .iter()
            .map(|m| {
                let v = m.value.map_or("nil".to_string(), |v| v.to_string());
                format!("{} {} {v}", if m.write { "w" } else { "r" }, m.key)
            })
            .collect();
        format!(
            "txn [{}] -> {}",
            parts.join(", "),
            if o.is_some() { "ok" } else { "?" }
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Mutex: acquire / release, with fencing tokens as an extension.

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum MutexInput {
    Acquire,
    Release,
}

/// An acquire may return a fencing token; tokens must increase with each grant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum MutexOutput {
    Granted(Option<i64>),
    Released,
}

/// `(held, last fencing token granted)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mutex;

impl Model for Mutex {
    type State = (bool, Option<i64>);
    type Input = MutexInput;
    type Output = MutexOutput;

    fn init(&self) -> (bool, Option<i64>) {
        (false, None)
    }
    fn step(
        &self,
        s: &(bool, Option<i64>),
        i: &MutexInput,
        o: Option<&MutexOutput>,
    ) -> Option<(bool, Option<i64>)> {
        let (held, last) = *s;
        match (i, o) {
            (MutexInput::Acquire, None) => (!held).then_some((true, last)),
            (MutexInput::Acquire, Some(MutexOutput::Granted(tok))) => {
                if held {
                    return None;
                }
                match (tok, last) {
                    (Some(t), Some(l)) if *t <= l => None,
                    (Some(t), _) => Some((true, Some(*t))),
                    (None, _) => Some((true, last)),
                }
            }
            (MutexInput::Release, None | Some(MutexOutput::Released)) => {
                held.then_some((false, last))
            }
            _ => None,
        }
    }
    fn describe(&self, i: &MutexInput, o: Option<&MutexOutput>) -> String {
        match (i, o) {
            (MutexInput::Acquire, Some(MutexOutput::Granted(Some(t)))) => {
                format!("acquire -> token {t}")
            }
            (MutexInput::Acquire, Some(_)) => "acquire -> ok".into(),
            (MutexInput::Acquire, None) => "acquire -> ?".into(),
            (MutexInput::Release, Some(_)) => "release -> ok".into(),
            (MutexInput::Release, None) => "release -> ?".into(),
        }
    }
}
