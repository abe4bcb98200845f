//! Counterexamples: the shortest failing prefix of a partition (a binary search over
//! completion times, each prefix searched again), its longest partial linearization, and the
//! text that tells it.

use std::fmt::Write as _;

use super::certify::Certificate;
use super::history::{History, Operation, Status};
use super::linearizability::{CheckOptions, Counterexample, Verdict};
use super::model::Model;
use super::search::{Outcome, search};

/// Builds the counterexample of a failing partition: the shortest failing prefix (binary search
/// over completion times; linearizability is prefix-closed), searched again for its longest
/// partial linearization.
#[allow(clippy::type_complexity)]
pub(super) fn explain<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    key: &str,
    idx: &[usize],
    full: &Outcome,
    opts: &CheckOptions,
) -> Counterexample {
    let ops: Vec<&Operation<M::Input, M::Output>> = idx.iter().map(|&i| &history.ops[i]).collect();
    let mut cuts: Vec<u64> = ops
        .iter()
        .filter(|o| o.status == Status::Ok)
        .filter_map(|o| o.ret)
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    // prefix(t): operations invoked by t; those completing after t are pending (unknown).
    let prefix = |t: u64| -> (Vec<usize>, Vec<Operation<&M::Input, &M::Output>>) {
        let mut pos = Vec::new();
        let mut v = Vec::new();
        for (p, o) in ops.iter().enumerate() {
            if o.call <= t {
                pos.push(p);
                let done = o.status == Status::Ok && o.ret.is_some_and(|r| r <= t);
                v.push(Operation {
                    client: o.client,
                    call: o.call,
                    ret: if done { o.ret } else { None },
                    input: &o.input,
                    output: if done { o.output.as_ref() } else { None },
                    status: if done { Status::Ok } else { Status::Unknown },
                });
            }
        }
        (pos, v)
    };
    let by_ref = RefModel(model);
    let fails = |t: u64| -> Option<(Vec<usize>, Outcome)> {
        let (pos, v) = prefix(t);
        let refs: Vec<&Operation<&M::Input, &M::Output>> = v.iter().collect();
        let out = search(&by_ref, &refs, opts.budget);
        (out.verdict == Verdict::NotLinearizable).then_some((pos, out))
    };
    let mut chosen: Option<(u64, Vec<usize>, Outcome)> = None;
    if opts.minimize && !cuts.is_empty() {
        let (mut lo, mut hi) = (0usize, cuts.len() - 1);
        if let Some((pos, out)) = fails(cuts[hi]) {
            chosen = Some((cuts[hi], pos, out));
            while lo < hi {
                let mid = (lo + hi) / 2;
                match fails(cuts[mid]) {
                    Some((pos, out)) => {
                        chosen = Some((cuts[mid], pos, out));
                        hi = mid;
                    }
                    None => lo = mid + 1,
                }
            }
        }
    }
    // The culprits: completed operations of the failing prefix without which it could be
    // linearized (a read whose value no order explains, a write it contradicts). Removing an
    // operation from a linearizable history leaves it linearizable, so each one found is
    // necessary to the violation. The latest completions among those the search could not
    // place and the end of its partial order are tried first (the one that closes the shortest
    // failing prefix is always among them), at most `CULPRIT_TRIES` of them, until two are found.
    const CULPRIT_TRIES: usize = 6;
    const CULPRITS_ENOUGH: usize = 2;
    const CULPRIT_BUDGET: u64 = 1_000_000;
    let mut culprits: Vec<usize> = Vec::new();
    if let Some((t, _, out)) = &chosen {
        // Positions in the prefix, as the search of the prefix gave them.
        let (pos, v) = prefix(*t);
        // Candidates: completed operations the search could not place, then the end of the
        // partial order it found, latest completion first.
        let mut done: Vec<usize> = out
            .unplaced
            .iter()
            .chain(out.best.iter().rev().take(CULPRIT_TRIES))
            .map(|&q| q as usize)
            .filter(|&p| p < v.len() && v[p].ret.is_some())
            .collect();
        done.sort_by_key(|&p| (std::cmp::Reverse(v[p].ret), p));
        done.dedup();
        for &p in done.iter().take(CULPRIT_TRIES) {
            let refs: Vec<&Operation<&M::Input, &M::Output>> = v
                .iter()
                .enumerate()
                .filter(|&(q, _)| q != p)
                .map(|(_, o)| o)
                .collect();
            let budget = opts.budget.min(CULPRIT_BUDGET);
            if search(&by_ref, &refs, budget).verdict == Verdict::Linearizable {
                culprits.push(idx[pos[p]]);
                // A read and the write it contradicts tell the story; more costs more searches.
                if culprits.len() == CULPRITS_ENOUGH {
                    break;
                }
            }
        }
        culprits.sort_unstable();
    }
    let (end, pos, best, unplaced) = match chosen {
        Some((t, pos, out)) => {
            let b = out
                .best
                .iter()
                .map(|&p| pos[p as usize])
                .collect::<Vec<_>>();
            let u = out
                .unplaced
                .iter()
                .map(|&p| pos[p as usize])
                .collect::<Vec<_>>();
            (t, pos, b, u)
        }
        None => (
            cuts.last().copied().unwrap_or(0),
            (0..ops.len()).collect(),
            full.best.iter().map(|&p| p as usize).collect(),
            full.unplaced.iter().map(|&p| p as usize).collect(),
        ),
    };
    let to_hist = |p: &usize| idx[*p];
    let ops_h: Vec<usize> = pos.iter().map(to_hist).collect();
    let lin_h: Vec<usize> = best.iter().map(to_hist).collect();
    let un_h: Vec<usize> = unplaced.iter().map(to_hist).collect();
    let mut c = counterexample(model, history, key, end, ops_h, lin_h, un_h);
    if !culprits.is_empty() {
        c.text
            .push_str("without any one of these completed operations it could be linearized:\n");
        for &i in &culprits {
            let o = &history.ops[i];
            let _ = writeln!(
                c.text,
                "  #{i} client {} [{}, {}] {}",
                o.client,
                o.call,
                o.ret.unwrap_or(0),
                model.describe(&o.input, o.output.as_ref())
            );
        }
    }
    c.culprits = culprits;
    c
}

/// A counterexample with its text, from history indexes.
pub(crate) fn counterexample<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    key: &str,
    end: u64,
    ops_h: Vec<usize>,
    lin_h: Vec<usize>,
    un_h: Vec<usize>,
) -> Counterexample {
    // One growing string, no temporary per line (this text is a good part of a small check).
    let mut text = String::with_capacity(64 * (lin_h.len() + un_h.len() + 2));
    let line = |text: &mut String, i: usize| op_line(model, history, text, i);
    if !key.is_empty() {
        let _ = write!(text, "key {key:?}: ");
    }
    let _ = writeln!(
        text,
        "the history up to time {end} ({} operations) cannot be linearized.",
        ops_h.len()
    );
    let _ = writeln!(
        text,
        "longest linearizable order found ({} operations):",
        lin_h.len()
    );
    for &i in &lin_h {
        line(&mut text, i);
    }
    text.push_str("then none of these can take effect next:\n");
    for &i in &un_h {
        line(&mut text, i);
    }
    Counterexample {
        key: key.to_string(),
        ops: ops_h,
        prefix_end: end,
        linearized: lin_h,
        unplaced: un_h,
        culprits: Vec::new(),
        text,
    }
}

/// One operation as a line of a counterexample's text.
fn op_line<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    text: &mut String,
    i: usize,
) {
    let o = &history.ops[i];
    let _ = write!(text, "  #{i} client {} [{}, ", o.client, o.call);
    match o.ret {
        Some(r) => {
            let _ = write!(text, "{r}] ");
        }
        None => text.push_str("?) "),
    }
    text.push_str(&model.describe(&o.input, o.output.as_ref()));
    text.push('\n');
}

/// The counterexample a certificate gives (`certify.rs`): its few operations, a sub-history
/// that no order explains (so `ops` is that sub-history, not a time prefix, and `prefix_end`
/// the read's completion), the ones that precede the read in every order, the read, and the
/// culprits: the read and the completed write it contradicts. `idx` maps the partition's
/// positions to history indexes.
pub(super) fn certified<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    key: &str,
    idx: &[usize],
    c: &Certificate,
) -> Counterexample {
    let h = |p: &u32| idx[*p as usize];
    let read = h(&c.read);
    let linearized: Vec<usize> = c.before.iter().map(h).collect();
    let culprits: Vec<usize> = c.culprits.iter().map(h).collect();
    let mut ops: Vec<usize> = linearized
        .iter()
        .chain(&culprits)
        .copied()
        .chain([read])
        .collect();
    ops.sort_unstable();
    ops.dedup();
    // Positions in the reason become history indexes.
    let mut reason = String::with_capacity(c.reason.len() + 16);
    let mut rest = c.reason.as_str();
    while let Some(at) = rest.find('#') {
        reason.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest
            .find(|ch: char| !ch.is_ascii_digit())
            .unwrap_or(rest.len());
        match rest[..digits]
            .parse::<usize>()
            .ok()
            .and_then(|p| idx.get(p))
        {
            Some(&i) => {
                let _ = write!(reason, "{i}");
            }
            None => reason.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    reason.push_str(rest);
    let end = history.ops[read].ret.unwrap_or(history.ops[read].call);
    let mut text = String::new();
    if !key.is_empty() {
        let _ = write!(text, "key {key:?}: ");
    }
    let _ = writeln!(
        text,
        "these {} operations cannot be linearized, whatever the others did (a certificate, no \
         search needed): {reason}.",
        ops.len()
    );
    for &i in &ops {
        op_line(model, history, &mut text, i);
    }
    text.push_str("the culprits, the read and the completed write it contradicts:\n");
    for &i in &culprits {
        op_line(model, history, &mut text, i);
    }
    Counterexample {
        key: key.to_string(),
        ops,
        prefix_end: end,
        linearized,
        unplaced: vec![read],
        culprits,
        text,
    }
}

/// A model over borrowed inputs and outputs (for searching prefixes without copying).
struct RefModel<'m, M>(&'m M);

impl<'m, M: Model> Model for RefModel<'m, M> {
    type State = M::State;
    type Input = &'m M::Input;
    type Output = &'m M::Output;
    fn init(&self) -> M::State {
        self.0.init()
    }
    fn step(&self, s: &M::State, i: &&'m M::Input, o: Option<&&'m M::Output>) -> Option<M::State> {
        self.0.step(s, i, o.copied())
    }
    fn legal(&self, s: &M::State, i: &&'m M::Input, o: Option<&&'m M::Output>) -> bool {
        self.0.legal(s, i, o.copied())
    }
    fn read_only(&self, i: &&'m M::Input, o: Option<&&'m M::Output>) -> bool {
        self.0.read_only(i, o.copied())
    }
    fn grows(&self, i: &&'m M::Input, o: Option<&&'m M::Output>) -> bool {
        self.0.grows(i, o.copied())
    }
    fn reachable(&self, s: &M::State, i: &&'m M::Input, o: Option<&&'m M::Output>) -> bool {
        self.0.reachable(s, i, o.copied())
    }
}
