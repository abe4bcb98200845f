//! Every model `faultline check` offers, end to end, against an oracle that shares no code
//! with the checker: random small histories (at most 7 operations, up to 4 processes) made as
//! a real system would make them (each operation takes effect at some point while it is in
//! flight, or never), then maybe one result corrupted; written out as a file (EDN maps, EDN
//! tuples, JSON, Porcupine's etcd log lines) and read back by the real reader; then checked in
//! every search mode. The oracle reads the same records with the semantics the help and the
//! data guide give each model (`:fail` did not happen, or for `etcd-register` a failed compare;
//! `:info` and a missing completion may take effect at any point after the invocation, or
//! never; a nil read is unconstrained for Knossos's models) and tries every order that
//! respects real time. A definite verdict that disagrees with it fails the test.

use std::collections::{BTreeMap, BTreeSet};

use faultline::check::parse::{ModelName, check_text};
use faultline::check::{CheckOptions, Mode, Verdict};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How a record ended its operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Ok,
    Fail,
    Info,
    /// No completion record.
    Pending,
}

/// What an operation did, as its records say it (an `:ok` read's value, a grant's token).
#[derive(Clone, Debug)]
pub enum Act {
    Read(Option<i64>),
    Write(i64),
    Cas(i64, i64),
    Get(&'static str, String),
    Put(&'static str, String),
    Append(&'static str, String),
    /// (write, register, value): a read's value is what it saw (nil: unconstrained).
    Txn(Vec<(bool, &'static str, Option<i64>)>),
    Acquire(Option<i64>),
    Release,
}

/// One operation of a generated history: its process, the positions (record indexes) of its
/// invocation and completion.
#[derive(Clone, Debug)]
pub struct Op {
    pub process: u64,
    pub call: usize,
    pub ret: Option<usize>,
    pub end: End,
    pub act: Act,
}

/// The oracle's state: one value per model, written here without the crate's models.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum State {
    Reg(Option<i64>),
    Kv(BTreeMap<&'static str, String>),
    Multi(BTreeMap<&'static str, i64>),
    Lock(bool, Option<i64>),
}

/// Whether an operation must, may or cannot have taken effect, under `model`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Must {
    Yes,
    Maybe,
    Never,
}

fn must(model: ModelName, op: &Op) -> Must {
    match (op.end, &op.act) {
        (End::Ok, _) => Must::Yes,
        (End::Fail, Act::Cas(..)) if model == ModelName::EtcdRegister => Must::Yes,
        (End::Fail, Act::Read(_)) if model == ModelName::EtcdRegister => Must::Maybe,
        (End::Fail, _) => Must::Never,
        (End::Info | End::Pending, _) => Must::Maybe,
    }
}

/// The state after `op` takes effect in `s`, or `None` when what it returned is impossible
/// there. `known`: the operation completed and its result is constrained.
fn apply(model: ModelName, initial: Option<i64>, s: &State, op: &Op) -> Option<State> {
    let known = op.end == End::Ok;
    let knossos = matches!(
        model,
        ModelName::KnossosCasRegister | ModelName::MultiRegister
    );
    match (s, &op.act) {
        (State::Reg(v), Act::Read(r)) => {
            let free = !known || (knossos && r.is_none());
            (free || r == v).then(|| s.clone())
        }
        (State::Reg(_), Act::Write(w)) => Some(State::Reg(Some(*w))),
        (State::Reg(v), Act::Cas(a, b)) => {
            let hit = *v == Some(*a);
            match op.end {
                // etcd: a `:fail` cas completed with a failed compare.
                End::Fail => (!hit).then(|| s.clone()),
                End::Ok => hit.then_some(State::Reg(Some(*b))),
                _ => Some(if hit { State::Reg(Some(*b)) } else { s.clone() }),
            }
        }
        (State::Kv(m), Act::Get(k, v)) => {
            let cur = m.get(k).map_or("", String::as_str);
            (!known || cur == v).then(|| s.clone())
        }
        (State::Kv(m), Act::Put(k, v)) => {
            let mut m = m.clone();
            m.insert(k, v.clone());
            Some(State::Kv(m))
        }
        (State::Kv(m), Act::Append(k, v)) => {
            let mut m = m.clone();
            m.entry(k).or_default().push_str(v);
            Some(State::Kv(m))
        }
        (State::Multi(m), Act::Txn(mops)) => {
            let mut m = m.clone();
            for &(write, k, v) in mops {
                if write {
                    m.insert(k, v.expect("a write has a value"));
                } else if known && v.is_some() && v != m.get(k).copied().or(initial) {
                    return None;
                }
            }
            Some(State::Multi(m))
        }
        (State::Lock(held, last), Act::Acquire(tok)) => {
            if *held {
                return None;
            }
            match (known, tok, last) {
                (true, Some(t), Some(l)) if t <= l => None,
                (true, Some(t), _) => Some(State::Lock(true, Some(*t))),
                _ => Some(State::Lock(true, *last)),
            }
        }
        (State::Lock(held, last), Act::Release) => held.then_some(State::Lock(false, *last)),
        _ => panic!("{op:?} is not an operation of {s:?}"),
    }
}

fn init(model: ModelName, initial: Option<i64>) -> State {
    match model {
        ModelName::KvAppend => State::Kv(BTreeMap::new()),
        ModelName::MultiRegister => State::Multi(BTreeMap::new()),
        ModelName::Mutex => State::Lock(false, None),
        _ => State::Reg(initial),
    }
}

/// The brute-force search: positions are bits over `live`, the operations that may or must
/// take effect.
struct Oracle<'a> {
    model: ModelName,
    initial: Option<i64>,
    ops: &'a [Op],
    live: Vec<usize>,
    /// `before[k]`: the operations that must precede `live[k]`.
    before: Vec<u32>,
    all_must: u32,
    /// Configurations already found to be dead ends.
    seen: BTreeSet<(u32, State)>,
}

impl Oracle<'_> {
    fn search(mut self, done: u32, s: State) -> bool {
        self.go(done, s)
    }
    fn go(&mut self, done: u32, s: State) -> bool {
        if done & self.all_must == self.all_must {
            return true;
        }
        if !self.seen.insert((done, s.clone())) {
            return false;
        }
        for k in 0..self.live.len() {
            // Unplaced, and every operation that must precede it placed (an optional one
            // left out never took effect, so it constrains nothing).
            if done >> k & 1 == 1 || self.before[k] & self.all_must & !done != 0 {
                continue;
            }
            if let Some(t) = apply(self.model, self.initial, &s, &self.ops[self.live[k]])
                && self.go(done | 1 << k, t)
            {
                return true;
            }
        }
        false
    }
}

/// Whether some order of the operations that must take effect, and of any of those that may,
/// respects real time (an operation that returned before another was invoked comes first) and
/// gives every constrained result. Times are compared as given: equal times overlap.
pub fn oracle(
    model: ModelName,
    initial: Option<i64>,
    ops: &[Op],
    times: &dyn Fn(usize) -> u64,
) -> bool {
    let kinds: Vec<Must> = ops.iter().map(|o| must(model, o)).collect();
    let live: Vec<usize> = (0..ops.len())
        .filter(|&i| kinds[i] != Must::Never)
        .collect();
    let all_must: u32 = live
        .iter()
        .enumerate()
        .filter(|(_, i)| kinds[**i] == Must::Yes)
        .fold(0, |m, (k, _)| m | 1 << k);
    let before: Vec<u32> = live
        .iter()
        .map(|&i| {
            live.iter().enumerate().fold(0, |m, (k, &j)| {
                let r = ops[j].ret.filter(|_| kinds[j] == Must::Yes);
                if r.is_some_and(|r| times(r) < times(ops[i].call)) {
                    m | 1 << k
                } else {
                    m
                }
            })
        })
        .collect();
    let o = Oracle {
        model,
        initial,
        ops,
        live,
        before,
        all_must,
        seen: BTreeSet::new(),
    };
    o.search(0, init(model, initial))
}

/// The operations of one model a client may invoke, with what its invocation says.
fn invocation(rng: &mut ChaCha8Rng, model: ModelName) -> Act {
    let v = rng.random_range(0..3i64);
    let keys = ["k0", "k1"];
    let strs = ["a", "b", "ab"];
    match model {
        ModelName::Register => match rng.random_range(0..2u32) {
            0 => Act::Read(None),
            _ => Act::Write(v),
        },
        ModelName::KvAppend => {
            let k = keys[rng.random_range(0..2usize)];
            let s = strs[rng.random_range(0..3usize)].to_string();
            match rng.random_range(0..3u32) {
                0 => Act::Get(k, String::new()),
                1 => Act::Put(k, s),
                _ => Act::Append(k, s),
            }
        }
        ModelName::MultiRegister => Act::Txn(
            (0..rng.random_range(1..=3usize))
                .map(|_| {
                    let w = rng.random_bool(0.5);
                    let k = ["x", "y"][rng.random_range(0..2usize)];
                    (w, k, w.then(|| rng.random_range(0..3i64)))
                })
                .collect(),
        ),
        ModelName::Mutex => match rng.random_range(0..2u32) {
            0 => Act::Acquire(None),
            _ => Act::Release,
        },
        _ => match rng.random_range(0..3u32) {
            0 => Act::Read(None),
            1 => Act::Write(v),
            _ => Act::Cas(rng.random_range(0..3i64), v),
        },
    }
}

/// A history as a system run makes it: `(ops, records)`, a record being (operation, end) in
/// file order (`None`: the invocation).
pub type Records = Vec<(usize, Option<End>)>;

/// Runs a system: each operation takes effect (on a true state) at some step while in flight,
/// or never; its results are what it saw. Then maybe one result is corrupted.
pub fn run(rng: &mut ChaCha8Rng, model: ModelName, initial: Option<i64>) -> (Vec<Op>, Records) {
    let n = rng.random_range(1..=7usize);
    let procs = rng.random_range(1..=4usize);
    let tokens = rng.random_bool(0.5);
    let mut counter = rng.random_range(0..3i64);
    let mut truth = init(model, initial);
    let mut ops: Vec<Op> = Vec::new();
    let mut recs: Records = Vec::new();
    // Per process: the operation in flight and whether it took effect (Some(false): tried
    // and could not, as a cas whose compare failed or a release of a free lock).
    let mut flight: Vec<Option<(usize, Option<bool>)>> = vec![None; procs];
    // A crashed process does not come back: Jepsen gives its successor a new number.
    let mut next_proc = procs as u64;
    let mut names: Vec<u64> = (0..procs as u64).collect();
    loop {
        let idle: Vec<usize> = (0..procs).filter(|&p| flight[p].is_none()).collect();
        let busy: Vec<usize> = (0..procs).filter(|&p| flight[p].is_some()).collect();
        if ops.len() == n && (busy.is_empty() || rng.random_range(0..8u32) == 0) {
            break; // what is still in flight stays pending
        }
        let r = rng.random_range(0..10u32);
        if ops.len() < n && !idle.is_empty() && (r < 4 || busy.is_empty()) {
            let p = idle[rng.random_range(0..idle.len())];
            ops.push(Op {
                process: names[p],
                call: recs.len(),
                ret: None,
                end: End::Pending,
                act: invocation(rng, model),
            });
            flight[p] = Some((ops.len() - 1, None));
            recs.push((ops.len() - 1, None));
            continue;
        }
        let p = busy[rng.random_range(0..busy.len())];
        let (i, took) = flight[p].expect("busy");
        if r < 7 && took.is_none() {
            // It takes effect now, seeing the true state.
            let ok = effect(&mut truth, initial, &mut ops[i].act, &mut counter, tokens);
            flight[p] = Some((i, Some(ok)));
            continue;
        }
        let end = match took {
            Some(true) if rng.random_range(0..8u32) > 0 => End::Ok,
            Some(false) => End::Fail,
            None if rng.random_bool(0.5) => End::Fail,
            _ => End::Info,
        };
        ops[i].end = end;
        ops[i].ret = Some(recs.len());
        recs.push((i, Some(end)));
        flight[p] = None;
        if end == End::Info {
            names[p] = next_proc;
            next_proc += 1;
        }
    }
    if rng.random_bool(0.5) {
        corrupt(rng, &mut ops);
    }
    (ops, recs)
}

/// Applies `act` to the true state, filling in what it saw; false when it could not take
/// effect (a compare that failed, a lock held or free).
fn effect(
    s: &mut State,
    initial: Option<i64>,
    act: &mut Act,
    counter: &mut i64,
    tokens: bool,
) -> bool {
    match (s, act) {
        (State::Reg(v), Act::Read(r)) => *r = *v,
        (State::Reg(v), Act::Write(w)) => *v = Some(*w),
        (State::Reg(v), Act::Cas(a, b)) => {
            if *v != Some(*a) {
                return false;
            }
            *v = Some(*b);
        }
        (State::Kv(m), Act::Get(k, v)) => *v = m.get(k).cloned().unwrap_or_default(),
        (State::Kv(m), Act::Put(k, v)) => {
            m.insert(k, v.clone());
        }
        (State::Kv(m), Act::Append(k, v)) => m.entry(k).or_default().push_str(v),
        (State::Multi(m), Act::Txn(mops)) => {
            for (w, k, v) in mops.iter_mut() {
                if *w {
                    m.insert(k, v.expect("a write's value"));
                } else {
                    *v = m.get(k).copied().or(initial);
                }
            }
        }
        (State::Lock(held, _), Act::Acquire(tok)) => {
            if *held {
                return false;
            }
            *held = true;
            *counter += 1;
            *tok = tokens.then_some(*counter);
        }
        (State::Lock(held, _), Act::Release) => {
            if !*held {
                return false;
            }
            *held = false;
        }
        (s, a) => panic!("{a:?} on {s:?}"),
    }
    true
}

/// Changes one completed result (or claims a completed operation failed).
fn corrupt(rng: &mut ChaCha8Rng, ops: &mut [Op]) {
    let done: Vec<usize> = (0..ops.len())
        .filter(|&i| matches!(ops[i].end, End::Ok | End::Fail))
        .collect();
    if done.is_empty() {
        return;
    }
    let op = &mut ops[done[rng.random_range(0..done.len())]];
    let v = rng.random_range(0..4i64);
    match &mut op.act {
        Act::Read(r) => *r = rng.random_bool(0.8).then_some(v),
        Act::Get(_, s) => {
            *s = ["", "a", "b", "ab", "ba", "abab"][rng.random_range(0..6usize)].into()
        }
        Act::Txn(mops) => {
            for (w, _, x) in mops.iter_mut() {
                if !*w {
                    *x = rng.random_bool(0.8).then_some(v);
                }
            }
        }
        Act::Acquire(t) => *t = Some(v),
        Act::Write(_) | Act::Cas(..) | Act::Put(..) | Act::Append(..) | Act::Release => {
            op.end = if op.end == End::Ok {
                End::Fail
            } else {
                End::Ok
            };
        }
    }
}

/// The file layouts a history is written in.
#[derive(Clone, Copy, Debug)]
pub enum Layout {
    EdnLines,
    EdnVector,
    EdnTuples,
    JsonLines,
    JsonArray,
    EtcdLog,
}

fn edn_int(v: Option<i64>) -> String {
    v.map_or("nil".into(), |v| v.to_string())
}

/// A record's `:f` and `:value` in EDN (or JSON), and its `:key`.
fn fields(op: &Op, end: Option<End>, json: bool) -> (&'static str, String, Option<&'static str>) {
    let done = end == Some(End::Ok);
    let int = |v: Option<i64>| {
        if json {
            v.map_or("null".into(), |v| v.to_string())
        } else {
            edn_int(v)
        }
    };
    let s = |v: &str| format!("{v:?}");
    match &op.act {
        Act::Read(r) => ("read", int(r.filter(|_| done))),
        Act::Write(w) => ("write", int(Some(*w))),
        Act::Cas(a, b) => (
            "cas",
            if json {
                format!("[{a}, {b}]")
            } else {
                format!("[{a} {b}]")
            },
        ),
        Act::Get(_, v) => ("get", if done { s(v) } else { int(None) }),
        Act::Put(_, v) => ("put", s(v)),
        Act::Append(_, v) => ("append", s(v)),
        Act::Txn(mops) => {
            let items: Vec<String> = mops
                .iter()
                .map(|&(w, k, v)| {
                    let v = if w || done { v } else { None };
                    let f = if w { "write" } else { "read" };
                    if json {
                        format!("[\"{f}\", \"{k}\", {}]", int(v))
                    } else {
                        format!("[:{f} :{k} {}]", int(v))
                    }
                })
                .collect();
            (
                "txn",
                format!("[{}]", items.join(if json { ", " } else { " " })),
            )
        }
        Act::Acquire(t) => ("acquire", int(t.filter(|_| done))),
        Act::Release => ("release", int(None)),
    }
    .into_key(op)
}

trait IntoKey {
    fn into_key(self, op: &Op) -> (&'static str, String, Option<&'static str>);
}

impl IntoKey for (&'static str, String) {
    fn into_key(self, op: &Op) -> (&'static str, String, Option<&'static str>) {
        let key = match &op.act {
            Act::Get(k, _) | Act::Put(k, _) | Act::Append(k, _) => Some(*k),
            _ => None,
        };
        (self.0, self.1, key)
    }
}

/// The history's file in `layout`.
pub fn render(ops: &[Op], recs: &Records, layout: Layout) -> String {
    let mut out = String::new();
    if matches!(layout, Layout::EdnVector) {
        out.push('[');
    }
    if matches!(layout, Layout::JsonArray) {
        out.push_str("[\n");
    }
    for (n, &(i, end)) in recs.iter().enumerate() {
        let op = &ops[i];
        // A completion says what the operation's end is now (after any corruption).
        let end = end.map(|_| op.end);
        let ty = match end {
            None => "invoke",
            Some(End::Ok) => "ok",
            Some(End::Fail) => "fail",
            Some(End::Info) | Some(End::Pending) => "info",
        };
        let json = matches!(layout, Layout::JsonLines | Layout::JsonArray);
        let (f, value, key) = fields(op, end, json);
        let p = op.process;
        let line = match layout {
            Layout::EdnLines | Layout::EdnVector => {
                let key = key.map_or(String::new(), |k| format!(", :key {k:?}"));
                format!("{{:process {p}, :type :{ty}, :f :{f}, :value {value}{key}}}")
            }
            Layout::EdnTuples => format!("[{p} :{ty} :{f} {value}]"),
            Layout::JsonLines | Layout::JsonArray => {
                let key = key.map_or(String::new(), |k| format!(", \"key\": {k:?}"));
                let comma = if matches!(layout, Layout::JsonArray) && n + 1 < recs.len() {
                    ","
                } else {
                    ""
                };
                format!(
                    "{{\"process\": {p}, \"type\": \"{ty}\", \"f\": \"{f}\", \"value\": {value}{key}}}{comma}"
                )
            }
            Layout::EtcdLog => format!("INFO  jepsen.util - {p}\t:{ty}\t:{f}\t{value}"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    match layout {
        Layout::EdnVector => out.push_str("]\n"),
        Layout::JsonArray => out.push_str("]\n"),
        _ => {}
    }
    out
}

/// The layouts that can hold `model`'s records.
fn layouts(model: ModelName) -> &'static [Layout] {
    use Layout::*;
    match model {
        ModelName::KvAppend => &[EdnLines, EdnVector, JsonLines, JsonArray],
        ModelName::EtcdRegister | ModelName::CasRegister | ModelName::Register => &[
            EdnLines, EdnVector, EdnTuples, JsonLines, JsonArray, EtcdLog,
        ],
        _ => &[EdnLines, EdnVector, EdnTuples, JsonLines, JsonArray],
    }
}

pub const MODELS: [ModelName; 7] = [
    ModelName::EtcdRegister,
    ModelName::CasRegister,
    ModelName::KnossosCasRegister,
    ModelName::Register,
    ModelName::KvAppend,
    ModelName::MultiRegister,
    ModelName::Mutex,
];

/// Checks `text` in every mode (and with a budget small enough to send the default mode
/// down its fallbacks); a definite verdict must be the oracle's.
fn agree(text: &str, model: ModelName, initial: Option<i64>, want: bool) -> Result<(), String> {
    let modes = [
        (Mode::Auto, 50_000_000),
        (Mode::Search, 50_000_000),
        (Mode::Frontier, 1_000_000),
        (Mode::Auto, 20),
        (Mode::Frontier, 0),
    ];
    for (mode, budget) in modes {
        let opts = CheckOptions {
            mode,
            budget,
            parallel: false,
            ..CheckOptions::default()
        };
        let r = check_text(text, None, model, initial, &opts)
            .map_err(|e| format!("{model:?}: not read: {e}\n{text}"))?;
        let got = r.result.verdict;
        let ok = match got {
            Verdict::Linearizable => want,
            Verdict::NotLinearizable => !want,
            // Only a cut budget may leave it undecided.
            Verdict::Unknown => budget < 1_000,
        };
        if !ok {
            return Err(format!(
                "{model:?} (initial {initial:?}) in {mode:?} with budget {budget}: checker says {got:?}, oracle says linearizable={want}\n{text}"
            ));
        }
    }
    Ok(())
}

#[test]
fn every_model_agrees_with_an_independent_oracle_on_random_files() {
    let mut rng = ChaCha8Rng::seed_from_u64(
        std::env::var("ORACLE_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0x0c1e_2026),
    );
    let mut tally = Vec::new();
    for model in MODELS {
        let (mut yes, mut no) = (0, 0);
        let rounds: usize = std::env::var("ORACLE_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(600);
        for _ in 0..rounds {
            let initial = match model {
                ModelName::KvAppend | ModelName::Mutex => None,
                _ => rng.random_bool(0.5).then_some(0),
            };
            let (ops, recs) = run(&mut rng, model, initial);
            let want = oracle(model, initial, &ops, &|t| t as u64);
            let ls = layouts(model);
            let text = render(&ops, &recs, ls[rng.random_range(0..ls.len())]);
            if let Err(e) = agree(&text, model, initial, want) {
                panic!("{e}\n{ops:?}");
            }
            if want {
                yes += 1;
            } else {
                no += 1;
            }
        }
        eprintln!("{model:?}: {yes} linearizable, {no} not");
        tally.push((model, yes, no));
    }
    for (model, yes, no) in tally {
        assert!(
            yes > 150 && no > 60,
            "{model:?}: {yes} linearizable, {no} not"
        );
    }
}
