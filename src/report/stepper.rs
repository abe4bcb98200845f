//! The step-through view of `report.html`, in the manner of RaftScope: a slider (and
//! previous/next buttons) over the run's recorded events; at each step every server's role,
//! term, log (entries with their terms), commit index and state machine as its protocol draws
//! it (`Node::view`, else its role timeline), every client's pending operation, the messages in
//! flight and the faults in force. It opens at the violation (a run without one: at its
//! start). Self-contained: the data is one inline JSON object, the drawing a small inline
//! script; no network.
//!
//! It covers a window of the run ([`Steps::Window`], the default: a second and a half of
//! simulated time around the violation, or a run's first [`START`] when it has none, at most
//! [`MAX_STEPS`] events) or every event ([`Steps::All`]).
//!
//! Cost: one compact tuple per event of the window (no text), text labels only for the
//! events around where it opens, and the views as the changes `protocols::stepper` kept over
//! the window. A report's run records nothing; once its verdict says where to look, a replay
//! records the events up to the window's end and views over the window alone ([`recorded`]).

use std::fmt::Write;

use super::focus::{Focus, Names};
use super::sequence::LabelTexts;
use super::svg::{Window, push_u64};
use super::text::{has_below, has_byte};
use std::borrow::Cow;

use crate::protocols::stepper::{ViewWindow, with_window};
use crate::protocols::{RunOutcome, RunSpec, Verdict};
use crate::sim::{
    EventKind, Labels, MILLIS, NodeView, SECS, Time, TraceRecord, ViewChange, fmt_time,
};

/// Events around the focus whose message text the view carries (the rest show their kind).
const LABELLED: usize = 240;

/// How much simulated time the step-through window shows before the moment it opens at, and
/// in all (it ends later when the run allows: `SPAN - BEFORE` after, at least).
const BEFORE: Time = SECS;
const SPAN: Time = 1_500 * MILLIS;

/// What the views of a run that passed show: its start, as far as its message diagram
/// ([`super::focus::focus`]), so that the two pictures show the same events (a 20 s Raft
/// run's first election and its first few hundred events; `--steps all` shows the rest).
/// Recording 1.5 s ([`SPAN`]) took three times the views and steps: with the plots written
/// once, the report of a 20 s Raft run that passed costs some 40 % of the run this way
/// (`faultline bench --only report`), 53 % with 1.5 s.
pub const START: Time = 500 * MILLIS;

/// The most events the window holds (a busy run: a thousand clients), kept around its start.
const MAX_STEPS: usize = 4_000;

/// The most events `--steps all` records: every event costs about 0.7 KB of memory while the
/// report is written and 0.1 KB of page (a million: some 0.7 GB and a 110 MB page; a 20 s Raft
/// run has some 12,000 events). Without a bound, a week-long run would record until the
/// machine ran out of memory.
pub const MAX_ALL_STEPS: u64 = 1_000_000;

/// What the step-through view covers: a window of the run around where it opens (the
/// default), or every event (`--steps all`: a page of a megabyte or more for a 20 s run).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Steps {
    #[default]
    Window,
    All,
}

/// The window of simulated time around `t` that the view shows: [`BEFORE`] before it, and
/// [`SPAN`] in all when the run allows (from its start otherwise).
pub fn window_around(t: Time) -> ViewWindow {
    let from = t.saturating_sub(BEFORE);
    ViewWindow {
        from,
        to: (from + SPAN).max(t + (SPAN - BEFORE)),
        stop: false,
    }
}

/// The window the view shows for `focus`: [`window_around`] where it opens, or (a run that
/// passed) its first [`START`].
pub fn window_for(focus: &Focus) -> ViewWindow {
    if focus.time.is_none() && focus.open_at.is_none() {
        return start_window();
    }
    window_around(open_time(focus))
}

/// What a report of a run with `focus` asks a replay to record ([`recorded`]): the
/// step-through view's window and the message diagrams' together.
pub fn replay_window(focus: &Focus) -> ViewWindow {
    let w = window_for(focus);
    ViewWindow {
        from: w.from.min(focus.from),
        to: w.to.max(focus.to),
        stop: true,
    }
}

/// The window of a run that passed: its first [`START`].
pub fn start_window() -> ViewWindow {
    ViewWindow {
        from: 0,
        to: START,
        stop: false,
    }
}

/// Where the view opens: the violation, else where the check dated nothing to see, else (a
/// run that passed) the start of the run: its first election and first faults, the stretch
/// its message diagrams show too.
pub fn open_time(focus: &Focus) -> Time {
    focus.time.or(focus.open_at).unwrap_or(0)
}

/// What a report draws from a run's records: the events, their labels and the node views.
pub struct Recorded<'o> {
    pub records: Cow<'o, [TraceRecord]>,
    pub labels: Labels,
    pub views: Cow<'o, [ViewChange]>,
    /// Whether these come from a replay (the run kept no records): they then begin at the
    /// window, numbered from there.
    pub replayed: bool,
}

impl Recorded<'_> {
    /// Hands what a replay recorded (nothing when it borrows the run's own records) back
    /// to the run's outcome ([`crate::protocols::stepper::Replay::keep`]), to be freed
    /// with it rather than now.
    pub fn keep_in(self, outcome: &RunOutcome) {
        if let (Cow::Owned(records), Cow::Owned(views)) = (self.records, self.views) {
            outcome.replay.keep(crate::protocols::stepper::Trace {
                records,
                labels: self.labels,
                views,
                replay: Default::default(),
            });
        }
    }
}

/// The records, labels and views a report needs: the run's own when it kept them, else
/// those of a replay of the run (deterministic: the same events) that records only
/// `until` (from its start, numbered from there; `None`: the whole run, with every view)
/// and stops after it. A report's run keeps no records ([`super::run_for_report`]):
/// recording every event costs more than the run, and the report shows a window of it.
pub fn recorded<'o>(
    spec: &RunSpec,
    outcome: &'o RunOutcome,
    until: Option<ViewWindow>,
) -> Recorded<'o> {
    if !outcome.records.is_empty() || outcome.stats.events == 0 {
        return Recorded {
            records: outcome.records.as_slice().into(),
            labels: outcome.labels.clone(),
            views: outcome.views.as_slice().into(),
            replayed: false,
        };
    }
    let window = until.map(|w| ViewWindow { stop: true, ..w });
    // What the run recorded of its start, when the window is that start; else from the last
    // fork the run kept before the window (the same events); else from the start.
    if let Some(t) = window.and_then(|w| outcome.replay.window(w)) {
        return Recorded {
            records: t.records.into(),
            labels: t.labels,
            views: t.views.into(),
            replayed: true,
        };
    }
    let mut again = spec.clone();
    again.record = true;
    let o = with_window(window, || crate::protocols::run(&again));
    Recorded {
        records: o.records.into(),
        labels: o.labels,
        views: o.views.into(),
        replayed: true,
    }
}

/// Appends the `<section>` of the step-through view to the page `h` (nothing when the run
/// kept no records): the events of `steps` (a window around where it opens, or all), with
/// `views` (covering them). Its data is written straight into the page.
#[allow(clippy::too_many_arguments)]
pub fn section(
    h: &mut String,
    spec: &RunSpec,
    outcome: &RunOutcome,
    rec: &Recorded<'_>,
    texts: &LabelTexts<'_>,
    steps: Steps,
    focus: &Focus,
    names: &Names,
    windows: &[Window],
) {
    let recs: &[TraceRecord] = &rec.records;
    let views: &[ViewChange] = &rec.views;
    if recs.is_empty() {
        return;
    }
    let nodes = spec.servers + spec.workload.clients;
    let open = open_time(focus);
    let at = recs.partition_point(|r| r.time <= open).saturating_sub(1);
    // The events shown, `lo..hi`.
    let (lo, hi) = match steps {
        Steps::All => (0, recs.len()),
        Steps::Window => {
            let w = window_for(focus);
            let lo = recs.partition_point(|r| r.time < w.from).min(at);
            let hi = recs.partition_point(|r| r.time <= w.to).max(at + 1);
            let before = (MAX_STEPS * 3 / 4).min(at - lo);
            let lo = at - before;
            (lo, hi.min(lo + MAX_STEPS).max(at + 1))
        }
    };
    let shown = &recs[lo..hi];
    let (t_lo, t_hi) = (shown[0].time, shown[shown.len() - 1].time);
    let start = at - lo;
    // Where the view opens, and the name of the button back there.
    let (opens, back) = if focus.time.is_some() {
        ("It opens at the violation", "violation")
    } else if focus.open_at.is_some() {
        (
            "It opens where the check's story ends (the last fault)",
            "last fault",
        )
    } else {
        (
            if outcome.verdict() == Verdict::Pass {
                "The run passed: it opens at its start, where its message diagram looks too"
            } else {
                "No check found a violation: it opens at the run's start, where its message \
                 diagram looks too"
            },
            "start",
        )
    };
    let span = if steps == Steps::All {
        format!("all {} events of the run", recs.len())
    } else {
        format!(
            "the {} events from {}s to {}s of the {}s run (<code>--steps all</code> shows every \
             event)",
            hi - lo,
            fmt_time(t_lo),
            fmt_time(t_hi),
            fmt_time(outcome.stats.time)
        )
    };
    h.reserve(shown.len() * 28 + SCRIPT.len() + 8_192);
    let _ = write!(
        h,
        "<h2 id=\"step\">Step through the run</h2>\n<p>Every server's role, term, log (index:term, \
         newest last) and state; every client's pending operation; the messages in flight and the \
         faults in force, after each event: {span}. {opens}; drag the slider or use the \
         buttons (keys ← →).</p>\n"
    );
    let _ = writeln!(
        h,
        "<div id=\"stepper\"><div class=\"controls\">\
         <button id=\"st-first\">|&lt;</button><button id=\"st-back10\">&lt;&lt; 10</button>\
         <button id=\"st-prev\">&lt; prev</button><button id=\"st-next\">next &gt;</button>\
         <button id=\"st-fwd10\">10 &gt;&gt;</button><button id=\"st-focus\">{back}</button>\
         <input id=\"st-slider\" type=\"range\" min=\"0\" step=\"1\" style=\"width:100%\">\
         <div id=\"st-event\"></div></div>\
         <div id=\"st-nodes\" class=\"nodes\"></div><div id=\"st-clients\"></div>\
         <div id=\"st-flight\"></div><div id=\"st-faults\"></div></div>",
    );
    h.push_str("<script id=\"st-data\" type=\"application/json\">");
    let d = &mut *h;
    d.push_str("{\"names\":[");
    // Nodes past the clients (a lock's protected resource) are named by their view's role.
    let all = recs
        .iter()
        .map(|r| r.node.0.max(r.peer.0) + 1)
        .max()
        .unwrap_or(0)
        .max(nodes);
    for n in 0..all {
        if n > 0 {
            d.push(',');
        }
        if n < nodes {
            d.push_str(&json(&names.node(n)));
        } else {
            let role = views
                .iter()
                .find(|v| v.node == n)
                .and_then(|v| v.view.as_ref())
                .map_or("", |v| v.role);
            let name = if role.is_empty() {
                format!("x{}", n - nodes)
            } else {
                role.to_string()
            };
            d.push_str(&json(&name));
        }
    }
    let _ = write!(
        d,
        "],\"servers\":{},\"clients\":{},\"start\":{start},\"kinds\":[",
        spec.servers, spec.workload.clients,
    );
    for (k, kind) in KINDS.iter().enumerate() {
        if k > 0 {
            d.push(',');
        }
        d.push_str(&json(kind.as_str()));
    }
    // Events, flat, five numbers each: time since the previous event (the first: since the
    // start), kind, node, peer, and how long before it the message was sent. Labels only near
    // the focus.
    d.push_str("],\"ev\":[");
    // Each kind's place in `kinds`, by the kind's own number.
    let mut code = [0u64; 16];
    for (k, &kind) in KINDS.iter().enumerate() {
        if let Some(c) = code.get_mut(kind as usize) {
            *c = k as u64;
        }
    }
    let mut prev = 0;
    for (i, r) in shown.iter().enumerate() {
        if i > 0 {
            d.push(',');
        }
        push_u64(d, r.time - prev);
        d.push(',');
        push_u64(d, code.get(r.kind as usize).copied().unwrap_or(0));
        d.push(',');
        push_u64(d, r.node.0.into());
        d.push(',');
        push_u64(d, r.peer.0.into());
        d.push(',');
        push_u64(d, r.time.saturating_sub(r.sent));
        prev = r.time;
    }
    d.push_str("],\"labels\":{");
    let first = start.saturating_sub(LABELLED / 2);
    let mut any = false;
    for (i, r) in shown.iter().enumerate().skip(first).take(LABELLED) {
        if matches!(
            r.kind,
            EventKind::Timer | EventKind::Start | EventKind::Restart
        ) {
            continue;
        }
        let label = texts.get(lo + i);
        if label.full.is_empty() {
            continue;
        }
        if any {
            d.push(',');
        }
        any = true;
        d.push('"');
        push_u64(d, i as u64);
        d.push_str("\":");
        push_json(d, &names.text(label.short()));
    }
    d.push_str("},\"views\":[");
    // The state at the window's first event: each node's last view by then; then the
    // changes in the window. Steps count from the window's first event.
    let mut base: Vec<Option<&ViewChange>> = vec![None; all as usize];
    let mut changes: Vec<&ViewChange> = Vec::new();
    for v in views {
        let s = v.step as usize;
        if s <= lo {
            if let Some(b) = base.get_mut(v.node as usize) {
                *b = Some(v);
            }
        } else if s < hi {
            changes.push(v);
        }
    }
    // Each log is written as how many cells it keeps from the end of the node's previous
    // log, then its new cells: a log that grew by one entry costs one cell.
    let mut last_log: Vec<&[crate::sim::LogCell]> = vec![&[]; all as usize];
    // And each field that the node's previous view showed, name and value, as `0`.
    let mut last_view: Vec<Option<&NodeView>> = vec![None; all as usize];
    let listed = base.iter().flatten().copied().chain(changes);
    for (k, v) in listed.enumerate() {
        if k > 0 {
            d.push(',');
        }
        d.push('[');
        push_u64(d, (v.step as usize).saturating_sub(lo) as u64);
        d.push(',');
        push_u64(d, v.node.into());
        d.push(',');
        match &v.view {
            None => d.push_str("null"),
            Some(view) => {
                let keep = last_log.get_mut(v.node as usize).map_or(0, |p| {
                    let keep = kept(p, &view.log);
                    *p = view.log.as_slice();
                    keep
                });
                let prev = last_view
                    .get_mut(v.node as usize)
                    .and_then(|p| p.replace(view));
                view_json(d, view, prev, names, keep)
            }
        }
        d.push(']');
    }
    d.push_str("],\"roles\":[");
    for (k, r) in outcome.roles.iter().enumerate() {
        if k > 0 {
            d.push(',');
        }
        let _ = write!(d, "[{},{},{},{}]", r.time, r.node, json(&r.role), r.term);
    }
    // The operations pending at some moment of the window, with their numbers.
    d.push_str("],\"ops\":[");
    let mut any = false;
    for (k, o) in outcome.ops_traced().iter().enumerate() {
        if o.call > t_hi || o.ret.is_some_and(|r| r < t_lo) {
            continue;
        }
        if any {
            d.push(',');
        }
        any = true;
        let ret = o.ret.map_or("null".to_string(), |t| t.to_string());
        let _ = write!(d, "[{k},{},{},{ret},", o.client, o.call);
        push_json(d, &o.desc);
        d.push(']');
    }
    d.push_str("],\"faults\":[");
    for (k, w) in windows.iter().enumerate() {
        if k > 0 {
            d.push(',');
        }
        let _ = write!(
            d,
            "[{},{},{}]",
            w.start,
            w.end,
            json(&format!("F{} {}", k + 1, names.text(&w.label)))
        );
    }
    let _ = write!(
        d,
        "],\"focusOps\":{},\"highlight\":[",
        serde_json::to_string(&focus.ops).unwrap_or_else(|_| "[]".into())
    );
    for (k, (n, why)) in focus.servers.iter().enumerate() {
        if k > 0 {
            d.push(',');
        }
        let _ = write!(d, "[{n},{}]", json(why));
    }
    d.push_str("]}");
    h.push_str("</script>\n<script>");
    h.push_str(SCRIPT);
    h.push_str("</script>\n");
}

/// Event kinds in the order the page's `kinds` table lists them.
const KINDS: [EventKind; 11] = [
    EventKind::Start,
    EventKind::Restart,
    EventKind::Deliver,
    EventKind::Timer,
    EventKind::DropLoss,
    EventKind::DropPartition,
    EventKind::DropDead,
    EventKind::Duplicate,
    EventKind::Backlog,
    EventKind::Fault,
    EventKind::Observe,
];

/// The most cells at the start of `new` that are the last cells of `prev`.
fn kept(prev: &[crate::sim::LogCell], new: &[crate::sim::LogCell]) -> usize {
    (1..=prev.len().min(new.len()))
        .rev()
        .find(|&k| new[..k] == prev[prev.len() - k..])
        .unwrap_or(0)
}

/// `[role, term|null, [[name, value]|0 ..], [kept, [index, term, text]..], log_len]`: a field
/// the node's previous view (`prev`) showed at the same place, name and value, as
/// `0`; the log as the number of cells kept from the end of the node's previous log, then the
/// new ones. Most changes of a view change one field or one cell.
fn view_json(d: &mut String, v: &NodeView, prev: Option<&NodeView>, names: &Names, keep: usize) {
    d.push('[');
    push_json(d, v.role);
    d.push(',');
    match v.term {
        Some(t) => push_u64(d, t),
        None => d.push_str("null"),
    }
    d.push_str(",[");
    for (k, (name, value)) in v.fields().enumerate() {
        if k > 0 {
            d.push(',');
        }
        if prev.and_then(|p| p.field_at(k)) == Some((name, value)) {
            d.push('0');
            continue;
        }
        d.push('[');
        push_json(d, name);
        d.push(',');
        push_json(d, &names.text(value));
        d.push(']');
    }
    d.push_str("],[");
    push_u64(d, keep as u64);
    for c in &v.log[keep.min(v.log.len())..] {
        d.push_str(",[");
        push_u64(d, c.index);
        d.push(',');
        push_u64(d, c.term);
        d.push(',');
        push_json(d, &c.text);
        d.push(']');
    }
    d.push_str("],");
    push_u64(d, v.log_len);
    d.push(']');
}

/// A JSON string; `</` is written `<\/` so that no text can close the inline script early.
fn json(s: &str) -> String {
    let mut d = String::with_capacity(s.len() + 2);
    push_json(&mut d, s);
    d
}

/// Appends `s` as a JSON string (quotes, backslashes and control characters escaped, `</`
/// written `<\/`), without a temporary: runs of plain text are copied whole.
fn push_json(d: &mut String, s: &str) {
    d.push('"');
    let b = s.as_bytes();
    // Most text needs no escape: a check eight bytes at a time finds that before the byte walk.
    if plain_json(b) {
        d.push_str(s);
        d.push('"');
        return;
    }
    let mut run = 0;
    for (i, &c) in b.iter().enumerate() {
        let esc: &str = match c {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'/' if i > 0 && b[i - 1] == b'<' => "\\/",
            c if c < 0x20 => "",
            _ => continue,
        };
        // Every escaped byte is ASCII: `run..i` ends on a character boundary.
        d.push_str(&s[run..i]);
        if esc.is_empty() {
            let _ = write!(d, "\\u{:04x}", c);
        } else {
            d.push_str(esc);
        }
        run = i + 1;
    }
    d.push_str(&s[run..]);
    d.push('"');
}

/// Whether `b` holds no byte that [`push_json`] escapes: no control character, quote,
/// backslash or slash.
fn plain_json(b: &[u8]) -> bool {
    let mut words = b.chunks_exact(8);
    for word in words.by_ref() {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        if has_byte(w, b'"') | has_byte(w, b'\\') | has_byte(w, b'/') | has_below(w, 0x20) {
            return false;
        }
    }
    !(words.remainder().iter()).any(|&c| c < 0x20 || matches!(c, b'"' | b'\\' | b'/'))
}

/// The page's script: reads the inline JSON, draws step `i` on every slider move.
const SCRIPT: &str = include_str!("stepper.js");

#[cfg(test)]
mod tests {
    /// What `push_json` wrote when it walked every byte: the reference.
    fn reference(s: &str) -> String {
        let mut d = String::from("\"");
        let b = s.as_bytes();
        for (i, ch) in s.char_indices() {
            match ch {
                '"' => d.push_str("\\\""),
                '\\' => d.push_str("\\\\"),
                '/' if i > 0 && b[i - 1] == b'<' => d.push_str("\\/"),
                c if (c as u32) < 0x20 => d.push_str(&format!("\\u{:04x}", c as u32)),
                c => d.push(c),
            }
        }
        d.push('"');
        d
    }

    #[test]
    fn push_json_escapes_as_the_byte_walk_did() {
        let pieces = [
            "a", "\"", "\\", "/", "</", "<", "\n", "\u{1}", "é", "日本", "🦀", "abcdefgh", " ",
        ];
        for text in crate::report::random_texts(&pieces, 0x9e37_79b9_7f4a_7c15, 500, 40) {
            let mut out = String::new();
            super::push_json(&mut out, &text);
            assert_eq!(out, reference(&text), "{text:?}");
        }
    }
}
