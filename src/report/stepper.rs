//! The step-through view of `report.html`, in the manner of RaftScope: a slider (and
//! previous/next buttons) over the run's recorded events; at each step every server's role,
//! term, log (entries with their terms), commit index and state machine as its protocol draws
//! it (`Node::view`, else its role timeline), every client's pending operation, the messages in
//! flight and the faults in force. It opens at the violation. Self-contained: the data is one
//! inline JSON object, the drawing a small inline script; no network.
//!
//! Cost: one compact tuple per event (no text), text labels only for the events of the focus
//! window, and the views as the changes `protocols::stepper` kept.

use std::fmt::Write;

use super::focus::{Focus, Names};
use super::sequence::compact;
use super::svg::Window;
use crate::protocols::{RunOutcome, RunSpec};
use crate::sim::{EventKind, NodeView};

/// Events around the focus whose message text the view carries (the rest show their kind).
const LABELLED: usize = 600;

/// The `<section>` of the step-through view (empty when the run kept no records).
pub fn section(
    spec: &RunSpec,
    outcome: &RunOutcome,
    focus: &Focus,
    names: &Names,
    windows: &[Window],
) -> String {
    let recs = &outcome.records;
    if recs.is_empty() {
        return String::new();
    }
    let nodes = spec.servers + spec.workload.clients;
    let start = focus.time.or(focus.open_at).map_or(0, |t| {
        recs.partition_point(|r| r.time <= t).saturating_sub(1)
    });
    let mut d = String::with_capacity(recs.len() * 28 + outcome.views.len() * 120);
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
            let role = outcome
                .views
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
        spec.servers, spec.workload.clients
    );
    for (k, kind) in KINDS.iter().enumerate() {
        if k > 0 {
            d.push(',');
        }
        d.push_str(&json(kind.as_str()));
    }
    // Events, flat, five numbers each: time since the previous event, kind, node, peer, and
    // how long before it the message was sent. Labels only near the focus.
    d.push_str("],\"ev\":[");
    let mut prev = 0;
    for (i, r) in recs.iter().enumerate() {
        if i > 0 {
            d.push(',');
        }
        let k = KINDS.iter().position(|&x| x == r.kind).unwrap_or(0) as u64;
        for (j, v) in [
            r.time - prev,
            k,
            r.node.0 as u64,
            r.peer.0 as u64,
            r.time.saturating_sub(r.sent),
        ]
        .into_iter()
        .enumerate()
        {
            if j > 0 {
                d.push(',');
            }
            push_u64(&mut d, v);
        }
        prev = r.time;
    }
    d.push_str("],\"labels\":{");
    let lo = start.saturating_sub(LABELLED / 2);
    let hi = (lo + LABELLED).min(recs.len());
    let mut first = true;
    for (i, r) in recs.iter().enumerate().take(hi).skip(lo) {
        if matches!(
            r.kind,
            EventKind::Timer | EventKind::Start | EventKind::Restart
        ) {
            continue;
        }
        let label = outcome.labels.get(recs, i);
        if label.is_empty() {
            continue;
        }
        if !first {
            d.push(',');
        }
        first = false;
        let _ = write!(d, "\"{i}\":");
        push_json(&mut d, &names.text(&compact(&label)));
    }
    d.push_str("},\"views\":[");
    // Each log is written as how many cells it keeps from the end of the node's previous
    // log, then its new cells: a log that grew by one entry costs one cell.
    let mut last_log: Vec<&[crate::sim::LogCell]> = vec![&[]; nodes as usize];
    for (k, v) in outcome.views.iter().enumerate() {
        if k > 0 {
            d.push(',');
        }
        let _ = write!(d, "[{},{},", v.step, v.node);
        match &v.view {
            None => d.push_str("null"),
            Some(view) => {
                let keep = last_log.get_mut(v.node as usize).map_or(0, |p| {
                    let keep = kept(p, &view.log);
                    *p = view.log.as_slice();
                    keep
                });
                view_json(&mut d, view, names, keep)
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
    d.push_str("],\"ops\":[");
    for (k, o) in outcome.ops.iter().enumerate() {
        if k > 0 {
            d.push(',');
        }
        let ret = o.ret.map_or("null".to_string(), |t| t.to_string());
        let _ = write!(d, "[{},{},{ret},", o.client, o.call);
        push_json(&mut d, &o.desc);
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
    let mut h = String::with_capacity(d.len() + SCRIPT.len() + 2_000);
    h.push_str(
        "<h2 id=\"step\">Step through the run</h2>\n<p>Every server's role, term, log (index:term, \
         newest last) and state; every client's pending operation; the messages in flight and the \
         faults in force, after each event. It opens at the violation; drag the slider or use the \
         buttons (keys ← →).</p>\n<div id=\"stepper\"><div class=\"controls\">\
         <button id=\"st-first\">|&lt;</button><button id=\"st-back10\">&lt;&lt; 10</button>\
         <button id=\"st-prev\">&lt; prev</button><button id=\"st-next\">next &gt;</button>\
         <button id=\"st-fwd10\">10 &gt;&gt;</button><button id=\"st-focus\">violation</button>\
         <input id=\"st-slider\" type=\"range\" min=\"0\" step=\"1\" style=\"width:100%\">\
         <div id=\"st-event\"></div></div>\
         <div id=\"st-nodes\" class=\"nodes\"></div><div id=\"st-clients\"></div>\
         <div id=\"st-flight\"></div><div id=\"st-faults\"></div></div>\n",
    );
    h.push_str("<script id=\"st-data\" type=\"application/json\">");
    h.push_str(&d);
    h.push_str("</script>\n<script>");
    h.push_str(SCRIPT);
    h.push_str("</script>\n");
    h
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

/// `[role, term|null, [[name, value]..], [kept, [index, term, text]..], log_len]`: the log as
/// the number of cells kept from the end of the node's previous log, then the new ones.
fn view_json(d: &mut String, v: &NodeView, names: &Names, keep: usize) {
    d.push('[');
    push_json(d, v.role);
    d.push(',');
    match v.term {
        Some(t) => push_u64(d, t),
        None => d.push_str("null"),
    }
    d.push_str(",[");
    for (k, (name, value)) in v.fields.iter().enumerate() {
        if k > 0 {
            d.push(',');
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

/// Writes `v` in decimal (the page holds five numbers per event: `write!` costs too much).
fn push_u64(d: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        d.push(b as char);
    }
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

/// The page's script: reads the inline JSON, draws step `i` on every slider move.
const SCRIPT: &str = include_str!("stepper.js");
