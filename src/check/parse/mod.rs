//! Reading histories from files, strictly: a file is read completely in one format or it is an
//! input error that names the line, the column and what was expected. Nothing is skipped
//! silently and nothing is guessed, so no verdict is ever given on input that was not read.
//!
//! - `detect`: which format a file is in, from its first record (after comments and blank
//!   space); content that fits no format is an error, never a fallback.
//! - `edn`: a real EDN reader; `records` turns its values into operation records (Jepsen's
//!   and Knossos's shapes: a vector or list of maps, one map per line, `#jepsen.history.Op`
//!   tagged records, Knossos's `[process type f value]` tuples).
//! - `porcupine`: the Jepsen log lines of Porcupine's etcd histories.
//! - `json`: an array of objects, or one object per line.
//! - `ops`: records to histories for each model (pairing invocations with completions).
//!
//! Records of processes that are not integers (Jepsen's `:nemesis`) are not client operations:
//! they are counted, and the count is reported with the verdict.

use std::io::Read;

use serde::Serialize;

use stream::Feed;

pub mod detect;
pub mod edn;
pub mod json;
pub mod ops;
pub mod porcupine;
pub mod stream;

pub use edn::{Pos, Val};
pub use ops::{
    Builder, Conv, KvConv, MutexConv, Outcome, RegisterConv, RegisterReading, TxnConv, kv_history,
    multi_register_history, mutex_history, register_history, register_history_as,
};

/// A located input error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    /// 1-based; 0 when the error concerns a whole line or the whole file.
    pub col: usize,
    pub message: String,
}

impl ParseError {
    pub fn at(pos: Pos, message: impl Into<String>) -> Self {
        ParseError {
            line: pos.line,
            col: pos.col,
            message: message.into(),
        }
    }
    pub fn line(line: usize, message: impl Into<String>) -> Self {
        ParseError {
            line,
            col: 0,
            message: message.into(),
        }
    }
    /// `line:col: message` (or `line: message`), to follow a file name.
    pub fn located(&self) -> String {
        if self.col > 0 {
            format!("{}:{}: {}", self.line, self.col, self.message)
        } else {
            format!("{}: {}", self.line, self.message)
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.col > 0 {
            write!(
                f,
                "line {}, column {}: {}",
                self.line, self.col, self.message
            )
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

/// The file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Jepsen log lines as in Porcupine's etcd histories: `INFO  jepsen.util - 3 :invoke :cas [1 4]`
    PorcupineEtcd,
    /// EDN, one map a line, as in Porcupine's key-value histories (read as `edn`)
    PorcupineKv,
    /// Jepsen/Knossos EDN: a vector or list of operations, or one a line; maps, `#jepsen.history.Op{..}` records or [process type f value] tuples
    Edn,
    /// A JSON array of objects with the EDN maps' fields (process, type, f, value, key), or one object a line
    Json,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::PorcupineEtcd => "porcupine-etcd",
            Format::PorcupineKv => "porcupine-kv",
            Format::Edn => "edn",
            Format::Json => "json",
        }
    }
    /// Formats read by the same reader.
    fn same_reader(self, other: Format) -> bool {
        let edn = |f| matches!(f, Format::Edn | Format::PorcupineKv);
        self == other || (edn(self) && edn(other))
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

/// One client operation record (an invocation or a completion).
#[derive(Clone, Debug)]
pub struct Event {
    pub pos: Pos,
    pub process: i64,
    pub kind: Kind,
    pub f: String,
    pub key: Option<String>,
    /// What `key` was written as: "a string", "a keyword" or "an integer" ("" without one).
    pub key_type: &'static str,
    pub value: Val,
}

/// What a file held.
#[derive(Clone, Debug)]
pub struct Reading {
    pub format: Format,
    /// Client operation records, in file order.
    pub events: Vec<Event>,
    /// Records of non-client processes (`:nemesis`), not operations by design.
    pub nemesis: usize,
}

/// What a file held besides its client records.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub format: Format,
    /// Client operation records read.
    pub records: usize,
    /// Records of non-client processes (`:nemesis`), not operations by design.
    pub nemesis: usize,
}

/// Reads a history from `src` a record at a time, in `format` (detected from the first records
/// when `None`; an explicit format that the content contradicts is an error), and hands each
/// client record to `sink` in file order. The text is never held whole: only the unread window
/// (see `stream`). A file with no client operation is an error.
pub fn read_from<R: Read>(
    src: R,
    format: Option<Format>,
    sink: &mut dyn FnMut(Event) -> Result<(), ParseError>,
) -> Result<Summary, ParseError> {
    let mut feed = Feed::new(src);
    let detected = detect::detect_feed(&mut feed)?;
    let format = match (format, detected) {
        (None, Ok((f, _))) => f,
        (None, Err(e)) => return Err(e),
        (Some(f), Ok((d, _))) if f.same_reader(d) => f,
        (Some(f), Ok((d, first))) => {
            return Err(ParseError::line(
                first,
                format!(
                    "--format {} was given, but the content is {} ({})",
                    f.name(),
                    d.name(),
                    detect::describe(d)
                ),
            ));
        }
        (Some(f), Err(e)) => {
            return Err(ParseError {
                message: format!("--format {} was given, but {}", f.name(), e.message),
                ..e
            });
        }
    };
    let (mut records, mut nemesis) = (0, 0);
    let mut each = |pos: Pos, v: &Val| -> Result<(), ParseError> {
        match record(pos, v)? {
            Some(e) => {
                records += 1;
                sink(e)
            }
            None => {
                nemesis += 1;
                Ok(())
            }
        }
    };
    match format {
        Format::PorcupineEtcd => porcupine::read(&mut feed, &mut each)?,
        Format::PorcupineKv | Format::Edn => detect::edn_records(&mut feed, &mut each)?,
        Format::Json => json::read(&mut feed, &mut each)?,
    }
    if records == 0 {
        let end = feed.lines_read().max(1);
        let why = if nemesis > 0 {
            format!("no client operation in the file: all {nemesis} records are nemesis operations")
        } else {
            "no operation in the file: a history needs at least one".to_string()
        };
        return Err(ParseError::line(end, why));
    }
    Ok(Summary {
        format,
        records,
        nemesis,
    })
}

/// Reads `text` in `format` (detected from the content when `None`; an explicit format that
/// the content contradicts is an error), keeping every client record. A file with no client
/// operation is an error.
pub fn read(text: &str, format: Option<Format>) -> Result<Reading, ParseError> {
    let mut events = Vec::new();
    let s = read_from(text.as_bytes(), format, &mut |e| {
        events.push(e);
        Ok(())
    })?;
    Ok(Reading {
        format: s.format,
        events,
        nemesis: s.nemesis,
    })
}

/// Reads the events of `text` in `format` (detected when `None`).
pub fn events(text: &str, format: Option<Format>) -> Result<Vec<Event>, ParseError> {
    read(text, format).map(|r| r.events)
}

const RECORD_SHAPE: &str =
    "an operation like {:process 0, :type :invoke, :f :read, :value nil} or [0 :invoke :read nil]";

/// The fields a record is read by.
const FIELDS: [&str; 5] = ["process", "type", "f", "value", "key"];

/// A field of the record map `v` given more than once (`:value` twice, or `:value` and
/// `"value"`, which [`Val::get`] would both answer to): the record is ambiguous.
fn repeated_field(v: &Val) -> Option<&'static str> {
    let m = match v {
        Val::Map(m) => m,
        Val::Tagged(_, inner) => match &**inner {
            Val::Map(m) => m,
            _ => return None,
        },
        _ => return None,
    };
    FIELDS.into_iter().find(|f| {
        m.iter()
            .filter(|(k, _)| matches!(k, Val::Kw(s) | Val::Str(s) if s == f))
            .nth(1)
            .is_some()
    })
}

/// One record: `Some` client event, `None` for a non-client process (nemesis).
pub fn record(pos: Pos, v: &Val) -> Result<Option<Event>, ParseError> {
    let (process, kind, f, value, key) = match v {
        Val::Map(_) | Val::Tagged(..) => {
            if let Val::Tagged(_, inner) = v
                && !matches!(**inner, Val::Map(_))
            {
                return Err(ParseError::at(
                    pos,
                    format!("expected {RECORD_SHAPE}, found a tagged {}", inner.kind()),
                ));
            }
            if let Some(dup) = repeated_field(v) {
                return Err(ParseError::at(
                    pos,
                    format!("this operation gives `{dup}` twice: which one it means is ambiguous"),
                ));
            }
            let Some(p) = v.get("process") else {
                return Err(ParseError::at(pos, "this operation has no :process"));
            };
            (
                p,
                v.get("type"),
                v.get("f"),
                v.get("value").unwrap_or(&Val::Nil),
                v.get("key"),
            )
        }
        Val::Vec(t) | Val::List(t) if t.len() == 4 => {
            (&t[0], Some(&t[1]), Some(&t[2]), &t[3], None)
        }
        _ => {
            return Err(ParseError::at(
                pos,
                format!("expected {RECORD_SHAPE}, found {}", v.kind()),
            ));
        }
    };
    let process = match process {
        Val::Int(p) if *p >= 0 => *p,
        // A history's clients are numbered from 0 (shown as `client N`, an unsigned number).
        Val::Int(p) => {
            return Err(ParseError::at(
                pos,
                format!(":process {p} is negative: a client is a process numbered 0 or more"),
            ));
        }
        Val::Kw(_) | Val::Str(_) | Val::Sym(_) => return Ok(None),
        other => {
            return Err(ParseError::at(
                pos,
                format!(
                    ":process must be an integer (a client) or a name like :nemesis, found {other}"
                ),
            ));
        }
    };
    let kind = match kind.and_then(Val::name) {
        Some("invoke") => Kind::Invoke,
        Some("ok") => Kind::Ok,
        Some("fail") => Kind::Fail,
        Some("info") => Kind::Info,
        Some(other) => {
            return Err(ParseError::at(
                pos,
                format!(":type :{other} is not one of :invoke, :ok, :fail, :info"),
            ));
        }
        None => {
            return Err(ParseError::at(
                pos,
                "missing :type (expected :invoke, :ok, :fail or :info)",
            ));
        }
    };
    let Some(f) = f.and_then(Val::name) else {
        return Err(ParseError::at(
            pos,
            "missing :f (the operation's name, like :read)",
        ));
    };
    let (key, key_type) = match key {
        None | Some(Val::Nil) => (None, ""),
        Some(Val::Str(s)) => (Some(s.clone()), "a string"),
        Some(Val::Kw(s)) => (Some(s.clone()), "a keyword"),
        Some(Val::Int(i)) => (Some(i.to_string()), "an integer"),
        Some(other) => {
            return Err(ParseError::at(
                pos,
                format!(":key must be a string, a keyword or an integer, found {other}"),
            ));
        }
    };
    Ok(Some(Event {
        pos,
        process,
        kind,
        f: f.to_string(),
        key,
        key_type,
        value: value.clone(),
    }))
}

/// The models a file can be checked against, by command-line name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelName {
    /// Register with read/write/cas, Porcupine's reading of etcd logs (`:fail :cas` = compare failed)
    #[value(alias = "etcd")]
    EtcdRegister,
    /// Register with read/write/cas, `:fail` = did not happen (nil is "no value")
    CasRegister,
    /// Knossos's cas-register: as cas-register, but a read that returned nil is unconstrained (use --initial 0 for Knossos's test data)
    KnossosCasRegister,
    /// Register with read/write
    Register,
    /// Key-value map with get/put/append, checked key by key
    #[value(alias = "kv")]
    KvAppend,
    /// Knossos's multi-register: :txn ops of [:read k v] / [:write k v] (a nil read is unconstrained)
    MultiRegister,
    /// Lock with acquire/release (an acquire's :ok value, an integer or nil, is its fencing token)
    #[value(alias = "lock")]
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
            "register with read/write/cas; :fail did not happen; nil means no value",
        ),
        (
            "knossos-cas-register",
            "Knossos's cas-register: a read that returned nil is unconstrained",
        ),
        ("register", "register with read/write"),
        (
            "kv-append",
            "key-value map with get/put/append, checked key by key",
        ),
        (
            "multi-register",
            "Knossos's multi-register: transactions of reads and writes over named registers",
        ),
        ("mutex", "lock with acquire/release (and fencing tokens)"),
    ];
    /// The command-line name.
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
    pub fn parse(s: &str) -> Option<ModelName> {
        <ModelName as clap::ValueEnum>::from_str(s, false).ok()
    }
}

/// The result of checking one file.
#[derive(Clone, Debug)]
pub struct FileReport {
    pub format: Format,
    pub ops: usize,
    pub nemesis: usize,
    pub result: super::CheckResult,
    /// Each operation, for pictures: client, call, return, description.
    pub view: Vec<OpView>,
    /// The file line of each record (times are record positions).
    pub lines: Vec<usize>,
}

impl FileReport {
    /// The line of the file a time (a record position) stands for.
    pub fn line_of(&self, t: u64) -> String {
        match self.lines.get(t as usize) {
            Some(l) => format!("line {l}"),
            None => "the end".to_string(),
        }
    }
    /// The counterexample in the file's own terms (lines instead of record positions), or
    /// `None` for a linearizable history.
    pub fn explanation(&self) -> Option<String> {
        use std::fmt::Write as _;
        let c = self.result.counterexample.as_ref()?;
        let mut t = String::new();
        if !c.key.is_empty() {
            let _ = write!(t, "key {:?}: ", c.key);
        }
        let _ = writeln!(
            t,
            "the history up to {} ({} operations) cannot be linearized.",
            self.line_of(c.prefix_end),
            c.ops.len()
        );
        let op = |t: &mut String, i: usize| {
            if let Some(o) = self.view.get(i) {
                let ret = o
                    .ret
                    .map_or("never completed".to_string(), |r| self.line_of(r));
                let _ = writeln!(
                    t,
                    "  #{i} client {} [{}, {ret}] {}",
                    o.client,
                    self.line_of(o.call),
                    o.desc
                );
            }
        };
        let _ = writeln!(
            t,
            "longest linearizable order found ({} operations):",
            c.linearized.len()
        );
        for &i in &c.linearized {
            op(&mut t, i);
        }
        t.push_str("then none of these can take effect next:\n");
        for &i in &c.unplaced {
            op(&mut t, i);
        }
        Some(t)
    }
}

/// One operation as a picture shows it. Times are positions of records in the file.
#[derive(Clone, Debug, Serialize)]
pub struct OpView {
    pub client: u64,
    pub call: u64,
    pub ret: Option<u64>,
    pub desc: String,
    /// The record's position (line) in the file.
    pub line: usize,
}

/// Reads `text` (in `format`, or detected) and checks it against `model`, whose registers start
/// at `initial` (nil when `None`).
pub fn check_text(
    text: &str,
    format: Option<Format>,
    model: ModelName,
    initial: Option<i64>,
    opts: &super::CheckOptions,
) -> Result<FileReport, ParseError> {
    check_from(text.as_bytes(), format, model, initial, opts, true)
}

/// Reads a history from `src` a record at a time (see `read_from`) and checks it against
/// `model`, whose registers start at `initial` (nil when `None`). Only the operations are held,
/// never the text. `full_view`: describe every operation for a picture even when the history
/// is linearizable (a counterexample always gets its descriptions).
pub fn check_from<R: Read>(
    src: R,
    format: Option<Format>,
    model: ModelName,
    initial: Option<i64>,
    opts: &super::CheckOptions,
    full_view: bool,
) -> Result<FileReport, ParseError> {
    fn judge<M: super::Model, C: Conv<I = M::Input, O = M::Output>, R: Read>(
        m: &M,
        conv: C,
        src: R,
        format: Option<Format>,
        opts: &super::CheckOptions,
        full_view: bool,
    ) -> Result<FileReport, ParseError> {
        let mut b = Builder::new(conv);
        let s = read_from(src, format, &mut |e| b.push(&e))?;
        let (h, lines) = (b.history, b.lines);
        let result = super::check(m, &h, opts);
        let view = if full_view || result.verdict != super::Verdict::Linearizable {
            h.ops
                .iter()
                .map(|o| OpView {
                    client: o.client,
                    call: o.call,
                    ret: o.ret,
                    desc: m.describe(&o.input, o.output.as_ref()),
                    line: lines.get(o.call as usize).copied().unwrap_or(0),
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(FileReport {
            format: s.format,
            ops: h.len(),
            nemesis: s.nemesis,
            result,
            view,
            lines,
        })
    }
    match model {
        ModelName::EtcdRegister
        | ModelName::CasRegister
        | ModelName::KnossosCasRegister
        | ModelName::Register => {
            let how = match model {
                ModelName::EtcdRegister => RegisterReading::Etcd,
                ModelName::KnossosCasRegister => RegisterReading::Knossos,
                _ => RegisterReading::Plain,
            };
            let conv = RegisterConv {
                how,
                cas: model != ModelName::Register,
            };
            judge(
                &super::CasRegister { initial },
                conv,
                src,
                format,
                opts,
                full_view,
            )
        }
        ModelName::KvAppend => judge(&super::KvAppend, KvConv, src, format, opts, full_view),
        ModelName::MultiRegister => judge(
            &super::MultiRegister { initial },
            TxnConv::default(),
            src,
            format,
            opts,
            full_view,
        ),
        ModelName::Mutex => judge(&super::Mutex, MutexConv, src, format, opts, full_view),
    }
}
