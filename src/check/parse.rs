//! Reading histories from files: Porcupine's etcd logs (`porcupine-etcd`), Porcupine's
//! key-value logs (`porcupine-kv`, one EDN map a line), Jepsen EDN histories (`edn`, a vector
//! of maps as Knossos and Elle read them) and JSON (`json`: an array of objects with the same
//! fields as the EDN maps: `process`, `type`, `f`, `value`, optionally `key`).
//!
//! Each format becomes a list of events (process, type, f, key, value), paired per process
//! (an invocation with the next completion of the same process) into operations. Times are
//! event positions. Semantics:
//! - `ok`: completed with its value; `fail`: did not take effect (dropped); `info`: unknown,
//!   and an invocation with no completion is unknown too.
//! - `etcd-register` follows Porcupine: `:fail :cas` is a completed CAS whose compare failed,
//!   and `:fail :read` (a timed-out read) is unknown.
//!
//! A malformed line is an error naming the line; nothing is guessed.

use std::path::Path;

use super::history::History;
use super::model::{KvInput, KvOutput, MutexInput, MutexOutput, RegisterInput, RegisterOutput};

/// A value in a log.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Nil,
    Int(i64),
    Str(String),
    Kw(String),
    Bool(bool),
    Vec(Vec<Val>),
    Map(Vec<(Val, Val)>),
}

impl Val {
    fn get(&self, k: &str) -> Option<&Val> {
        match self {
            Val::Map(m) => m
                .iter()
                .find(|(key, _)| {
                    matches!(key, Val::Kw(s) if s == k) || matches!(key, Val::Str(s) if s == k)
                })
                .map(|(_, v)| v),
            _ => None,
        }
    }
    fn name(&self) -> Option<&str> {
        match self {
            Val::Kw(s) | Val::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Kind of event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// One line of a log.
#[derive(Clone, Debug)]
pub struct Event {
    pub line: usize,
    pub process: i64,
    pub kind: Kind,
    pub f: String,
    pub key: Option<String>,
    pub value: Val,
}

/// A located input error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        line,
        message: message.into(),
    })
}

/// The file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    PorcupineEtcd,
    PorcupineKv,
    Edn,
    Json,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "porcupine-etcd" => Format::PorcupineEtcd,
            "porcupine-kv" => Format::PorcupineKv,
            "edn" => Format::Edn,
            "json" => Format::Json,
            _ => return None,
        })
    }
    /// Guesses the format from the content.
    pub fn sniff(text: &str) -> Format {
        let t = text.trim_start();
        if t.starts_with('[') && t[1..].trim_start().starts_with('{') && t.contains("\"type\"") {
            Format::Json
        } else if t.starts_with('[') {
            Format::Edn
        } else if t.starts_with('{') {
            if t.starts_with("{\"") {
                Format::Json
            } else {
                Format::PorcupineKv
            }
        } else {
            Format::PorcupineEtcd
        }
    }
}

/// Reads the events of a file in `format`.
pub fn events(text: &str, format: Format) -> Result<Vec<Event>, ParseError> {
    match format {
        Format::PorcupineEtcd => etcd_events(text),
        Format::PorcupineKv | Format::Edn => {
            let vals = Edn::new(text).all()?;
            let mut out = Vec::new();
            for (line, v) in vals {
                match v {
                    Val::Vec(items) => {
                        // A vector of maps: each item's own line is not tracked; use the vector's.
                        for it in items {
                            out.push(event_of(line, &it)?);
                        }
                    }
                    Val::Map(_) => out.push(event_of(line, &v)?),
                    _ => {
                        return err(
                            line,
                            "expected a map like {:process 0, :type :invoke, :f :read, :value nil}",
                        );
                    }
                }
            }
            Ok(out)
        }
        Format::Json => {
            let v: serde_json::Value = serde_json::from_str(text).map_err(|e| ParseError {
                line: e.line(),
                message: e.to_string(),
            })?;
            let Some(arr) = v.as_array() else {
                return err(1, "expected a JSON array of events");
            };
            arr.iter()
                .enumerate()
                .map(|(i, x)| event_of(i + 1, &from_json(x)))
                .collect()
        }
    }
}

fn from_json(v: &serde_json::Value) -> Val {
    match v {
        serde_json::Value::Null => Val::Nil,
        serde_json::Value::Bool(b) => Val::Bool(*b),
        serde_json::Value::Number(n) => n.as_i64().map(Val::Int).unwrap_or(Val::Str(n.to_string())),
        serde_json::Value::String(s) => Val::Str(s.clone()),
        serde_json::Value::Array(a) => Val::Vec(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => Val::Map(
            o.iter()
                .map(|(k, v)| (Val::Str(k.clone()), from_json(v)))
                .collect(),
        ),
    }
}

fn event_of(line: usize, v: &Val) -> Result<Event, ParseError> {
    let process = match v.get("process") {
        Some(Val::Int(p)) => *p,
        Some(Val::Kw(s)) if s == "nemesis" => -1,
        _ => return err(line, "missing or non-integer :process"),
    };
    let kind = match v.get("type").and_then(Val::name) {
        Some("invoke") => Kind::Invoke,
        Some("ok") => Kind::Ok,
        Some("fail") => Kind::Fail,
        Some("info") => Kind::Info,
        _ => {
            return err(
                line,
                "missing :type (expected :invoke, :ok, :fail or :info)",
            );
        }
    };
    let Some(f) = v.get("f").and_then(Val::name) else {
        return err(line, "missing :f");
    };
    let key = match v.get("key") {
        None | Some(Val::Nil) => None,
        Some(Val::Str(s)) | Some(Val::Kw(s)) => Some(s.clone()),
        Some(Val::Int(i)) => Some(i.to_string()),
        Some(_) => return err(line, ":key must be a string or an integer"),
    };
    Ok(Event {
        line,
        process,
        kind,
        f: f.to_string(),
        key,
        value: v.get("value").cloned().unwrap_or(Val::Nil),
    })
}

/// `INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]`; other lines are ignored.
fn etcd_events(text: &str) -> Result<Vec<Event>, ParseError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let Some(pos) = raw.find("jepsen.util - ") else {
            continue;
        };
        let rest = &raw[pos + "jepsen.util - ".len()..];
        let fields: Vec<&str> = rest.split('\t').collect();
        if fields.len() < 4 {
            continue; // e.g. ":nemesis :info :start ..." lines are not operations
        }
        let Ok(process) = fields[0].trim().parse::<i64>() else {
            continue;
        };
        let kind = match fields[1].trim() {
            ":invoke" => Kind::Invoke,
            ":ok" => Kind::Ok,
            ":fail" => Kind::Fail,
            ":info" => Kind::Info,
            _ => continue,
        };
        let f = fields[2].trim().trim_start_matches(':').to_string();
        let vtext = fields[3..].join("\t");
        let vals = Edn::new(&vtext).all().map_err(|e| ParseError {
            line,
            message: e.message,
        })?;
        let value = vals.into_iter().next().map(|(_, v)| v).unwrap_or(Val::Nil);
        out.push(Event {
            line,
            process,
            kind,
            f,
            key: None,
            value,
        });
    }
    Ok(out)
}

/// Pairs invocations with completions: (invoke, completion or None).
fn pair(events: &[Event]) -> Result<Vec<(usize, Option<usize>)>, ParseError> {
    let mut open: std::collections::BTreeMap<i64, usize> = std::collections::BTreeMap::new();
    let mut out: Vec<(usize, Option<usize>)> = Vec::new();
    let mut slot_of_invoke: std::collections::BTreeMap<usize, usize> =
        std::collections::BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        if e.process < 0 {
            continue;
        }
        match e.kind {
            Kind::Invoke => {
                if let Some(prev) = open.insert(e.process, i) {
                    return err(
                        e.line,
                        format!(
                            "process {} invokes again before its operation at line {} completed",
                            e.process, events[prev].line
                        ),
                    );
                }
                slot_of_invoke.insert(i, out.len());
                out.push((i, None));
            }
            _ => {
                let Some(inv) = open.remove(&e.process) else {
                    return err(
                        e.line,
                        format!(
                            "completion for process {} with no pending invocation",
                            e.process
                        ),
                    );
                };
                if events[inv].f != e.f {
                    return err(
                        e.line,
                        format!(
                            "completion :{} does not match the invocation :{} at line {}",
                            e.f, events[inv].f, events[inv].line
                        ),
                    );
                }
                out[slot_of_invoke[&inv]].1 = Some(i);
            }
        }
    }
    Ok(out)
}

fn int_or_nil(v: &Val, line: usize) -> Result<Option<i64>, ParseError> {
    match v {
        Val::Nil => Ok(None),
        Val::Int(i) => Ok(Some(*i)),
        _ => err(line, format!("expected an integer or nil, found {v:?}")),
    }
}

fn pair_of(v: &Val, line: usize) -> Result<(i64, i64), ParseError> {
    match v {
        Val::Vec(x) if x.len() == 2 => match (&x[0], &x[1]) {
            (Val::Int(a), Val::Int(b)) => Ok((*a, *b)),
            _ => err(line, "expected [from to] with integers"),
        },
        _ => err(line, format!("expected [from to], found {v:?}")),
    }
}

/// A register history. `etcd`: Porcupine's reading of `:fail` (see the module docs).
pub fn register_history(
    events: &[Event],
    etcd: bool,
) -> Result<History<RegisterInput, RegisterOutput>, ParseError> {
    let mut h = History::new();
    for (inv, done) in pair(events)? {
        let e = &events[inv];
        let input = match e.f.as_str() {
            "read" => RegisterInput::Read,
            "write" => RegisterInput::Write(int_or_nil(&e.value, e.line)?.ok_or(ParseError {
                line: e.line,
                message: "write of nil".into(),
            })?),
            "cas" => {
                let (a, b) = pair_of(&e.value, e.line)?;
                RegisterInput::Cas(a, b)
            }
            f => {
                return err(
                    e.line,
                    format!(
                        "unknown operation :{f} for a register (expected :read, :write or :cas)"
                    ),
                );
            }
        };
        let client = e.process as u64;
        let call = inv as u64;
        match done.map(|d| (d, &events[d])) {
            None => h.unknown(client, call, input),
            Some((d, c)) => match (c.kind, &input) {
                (Kind::Ok, RegisterInput::Read) => h.ok(
                    client,
                    call,
                    d as u64,
                    input,
                    RegisterOutput::Read(int_or_nil(&c.value, c.line)?),
                ),
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
                (Kind::Info, _) => h.unknown(client, call, input),
                (Kind::Invoke, _) => unreachable!("pair() never completes with an invoke"),
            },
        }
    }
    Ok(h)
}

/// A key-value history (get / put / append / cas by key).
pub fn kv_history(events: &[Event]) -> Result<History<KvInput, KvOutput>, ParseError> {
    let mut h = History::new();
    let text = |v: &Val, line: usize| -> Result<String, ParseError> {
        match v {
            Val::Str(s) => Ok(s.clone()),
            Val::Nil => Ok(String::new()),
            Val::Int(i) => Ok(i.to_string()),
            _ => err(line, format!("expected a string value, found {v:?}")),
        }
    };
    for (inv, done) in pair(events)? {
        let e = &events[inv];
        let Some(key) = e.key.clone() else {
            return err(e.line, "a key-value operation needs :key");
        };
        let input = match e.f.as_str() {
            "get" | "read" => KvInput::Get { key },
            "put" | "write" => KvInput::Put {
                key,
                value: text(&e.value, e.line)?,
            },
            "append" => KvInput::Append {
                key,
                value: text(&e.value, e.line)?,
            },
            f => {
                return err(
                    e.line,
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
                        KvInput::Get { .. } => KvOutput::Value(text(&c.value, c.line)?),
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
                    e.line,
                    format!("unknown operation :{f} for a mutex (expected :acquire or :release)"),
                );
            }
        };
        let (client, call) = (e.process as u64, inv as u64);
        match done.map(|d| (d, &events[d])) {
            None => h.unknown(client, call, input),
            Some((d, c)) => match (c.kind, &input) {
                (Kind::Ok, MutexInput::Acquire) => {
                    let tok = int_or_nil(&c.value, c.line).unwrap_or(None);
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

/// Reads a file's text, mapping I/O errors to a message with the path.
pub fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// A small EDN reader: nil, booleans, integers, strings, keywords, symbols, vectors, lists,
/// maps and sets; commas are whitespace. Returns each top-level value with its line.
struct Edn<'a> {
    s: &'a [u8],
    i: usize,
    line: usize,
}

impl<'a> Edn<'a> {
    fn new(text: &'a str) -> Self {
        Edn {
            s: text.as_bytes(),
            i: 0,
            line: 1,
        }
    }
    fn all(mut self) -> Result<Vec<(usize, Val)>, ParseError> {
        let mut out = Vec::new();
        loop {
            self.ws();
            if self.i >= self.s.len() {
                return Ok(out);
            }
            let line = self.line;
            out.push((line, self.value(0)?));
        }
    }
    fn ws(&mut self) {
        while self.i < self.s.len() {
            match self.s[self.i] {
                b'\n' => {
                    self.line += 1;
                    self.i += 1
                }
                b' ' | b'\t' | b'\r' | b',' => self.i += 1,
                b';' => {
                    while self.i < self.s.len() && self.s[self.i] != b'\n' {
                        self.i += 1
                    }
                }
                _ => break,
            }
        }
    }
    fn value(&mut self, depth: usize) -> Result<Val, ParseError> {
        if depth > 200 {
            return err(self.line, "nesting too deep");
        }
        self.ws();
        let Some(&c) = self.s.get(self.i) else {
            return err(self.line, "unexpected end of input, expected a value");
        };
        match c {
            b'[' | b'(' => {
                let close = if c == b'[' { b']' } else { b')' };
                self.i += 1;
                Ok(Val::Vec(self.seq(close, depth)?))
            }
            b'#' if self.s.get(self.i + 1) == Some(&b'{') => {
                self.i += 2;
                Ok(Val::Vec(self.seq(b'}', depth)?))
            }
            b'{' => {
                self.i += 1;
                let items = self.seq(b'}', depth)?;
                if items.len() % 2 != 0 {
                    return err(self.line, "a map needs an even number of forms");
                }
                let mut it = items.into_iter();
                let mut m = Vec::new();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    m.push((k, v));
                }
                Ok(Val::Map(m))
            }
            b'"' => {
                self.i += 1;
                let mut out = Vec::new();
                loop {
                    let Some(&b) = self.s.get(self.i) else {
                        return err(self.line, "unterminated string");
                    };
                    self.i += 1;
                    match b {
                        b'"' => break,
                        b'\\' => {
                            let Some(&e) = self.s.get(self.i) else {
                                return err(self.line, "unterminated string");
                            };
                            self.i += 1;
                            out.push(match e {
                                b'n' => b'\n',
                                b't' => b'\t',
                                other => other,
                            });
                        }
                        b'\n' => {
                            self.line += 1;
                            out.push(b)
                        }
                        _ => out.push(b),
                    }
                }
                String::from_utf8(out)
                    .map(Val::Str)
                    .map_err(|_| ParseError {
                        line: self.line,
                        message: "invalid UTF-8 in string".into(),
                    })
            }
            b']' | b')' | b'}' => err(self.line, format!("unexpected `{}`", c as char)),
            _ => {
                let start = self.i;
                while self.i < self.s.len() && !b" \t\r\n,[](){}\";".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                let tok = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
                if tok.is_empty() {
                    self.i += 1;
                    return err(self.line, format!("unexpected character `{}`", c as char));
                }
                Ok(match tok {
                    "nil" => Val::Nil,
                    "true" => Val::Bool(true),
                    "false" => Val::Bool(false),
                    t if t.starts_with(':') => Val::Kw(t[1..].to_string()),
                    t => match t.parse::<i64>() {
                        Ok(n) => Val::Int(n),
                        Err(_)
                            if t.chars()
                                .next()
                                .is_some_and(|c| c.is_ascii_digit() || c == '-')
                                && t.len() > 1
                                && t[1..].chars().all(|c| c.is_ascii_digit() || c == '.') =>
                        {
                            Val::Str(t.to_string())
                        }
                        Err(_)
                            if t.chars()
                                .all(|c| c.is_ascii_digit() || c == '-' || c == '+') =>
                        {
                            return err(self.line, format!("`{t}` is not a valid integer"));
                        }
                        Err(_) => Val::Kw(t.to_string()),
                    },
                })
            }
        }
    }
    fn seq(&mut self, close: u8, depth: usize) -> Result<Vec<Val>, ParseError> {
        let mut v = Vec::new();
        loop {
            self.ws();
            match self.s.get(self.i) {
                None => {
                    return err(
                        self.line,
                        format!("unexpected end of input, expected `{}`", close as char),
                    );
                }
                Some(&c) if c == close => {
                    self.i += 1;
                    return Ok(v);
                }
                Some(_) => v.push(self.value(depth + 1)?),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    #[test]
    fn edn_reader_reads_jepsen_maps() {
        let v = Edn::new(
            "[{:process 0, :type :invoke, :f :cas, :value [1 2]}\n {:a \"x\\\"y\" :b nil}]",
        )
        .all()
        .unwrap();
        assert_eq!(v.len(), 1);
        let Val::Vec(items) = &v[0].1 else { panic!() };
        assert_eq!(
            items[0].get("value"),
            Some(&Val::Vec(vec![Val::Int(1), Val::Int(2)]))
        );
        assert_eq!(items[1].get("a"), Some(&Val::Str("x\"y".into())));
    }

    #[test]
    fn malformed_input_names_the_line() {
        let e = events(
            "{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n{:process 0 :type :ok",
            Format::PorcupineKv,
        )
        .unwrap_err();
        assert_eq!(e.line, 2);
        let e = events("[{:process x, :type :invoke, :f :read}]", Format::Edn).unwrap_err();
        assert!(e.message.contains(":process"), "{e}");
    }

    #[test]
    fn etcd_fail_cas_is_a_completed_failed_compare() {
        let log = "INFO  jepsen.util - 1\t:invoke\t:cas\t[1 4]\nINFO  jepsen.util - 1\t:fail\t:cas\t[1 4]\nsome other line\n";
        let ev = events(log, Format::PorcupineEtcd).unwrap();
        let h = register_history(&ev, true).unwrap();
        assert_eq!(h.ops[0].output, Some(RegisterOutput::Cas(false)));
        assert_eq!(h.ops[0].status, Status::Ok);
        let h = register_history(&ev, false).unwrap();
        assert_eq!(h.ops[0].status, Status::Fail);
    }
}

/// The models a file can be checked against, by command-line name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelName {
    /// Porcupine's etcd register (integers, nil initially; `:fail :cas` = compare failed).
    EtcdRegister,
    /// Knossos's cas-register (`:fail` = did not happen).
    CasRegister,
    /// A plain read/write register (same reading as cas-register).
    Register,
    /// Porcupine's key-value model: get/put/append by key.
    KvAppend,
    /// acquire/release, with fencing tokens when acquires return integers.
    Mutex,
}

impl ModelName {
    pub const ALL: &'static [(&'static str, &'static str)] = &[
        (
            "etcd-register",
            "register with read/write/cas, Porcupine's reading of etcd logs",
        ),
        (
            "cas-register",
            "register with read/write/cas, Knossos semantics",
        ),
        ("register", "register with read/write"),
        (
            "kv-append",
            "key-value map with get/put/append, checked key by key",
        ),
        ("mutex", "lock with acquire/release (and fencing tokens)"),
    ];
    pub fn parse(s: &str) -> Option<ModelName> {
        Some(match s {
            "etcd-register" | "etcd" => ModelName::EtcdRegister,
            "cas-register" => ModelName::CasRegister,
            "register" => ModelName::Register,
            "kv-append" | "kv" => ModelName::KvAppend,
            "mutex" | "lock" => ModelName::Mutex,
            _ => return None,
        })
    }
}

/// The result of checking one file.
#[derive(Clone, Debug)]
pub struct FileReport {
    pub ops: usize,
    pub result: super::CheckResult,
}

/// Parses `text` in `format` and checks it against `model`.
pub fn check_text(
    text: &str,
    format: Format,
    model: ModelName,
    opts: &super::CheckOptions,
) -> Result<FileReport, ParseError> {
    let ev = events(text, format)?;
    Ok(match model {
        ModelName::EtcdRegister | ModelName::CasRegister | ModelName::Register => {
            let h = register_history(&ev, model == ModelName::EtcdRegister)?;
            FileReport {
                ops: h.len(),
                result: super::check(&super::CasRegister, &h, opts),
            }
        }
        ModelName::KvAppend => {
            let h = kv_history(&ev)?;
            FileReport {
                ops: h.len(),
                result: super::check(&super::KvAppend, &h, opts),
            }
        }
        ModelName::Mutex => {
            let h = mutex_history(&ev)?;
            FileReport {
                ops: h.len(),
                result: super::check(&super::Mutex, &h, opts),
            }
        }
    })
}
