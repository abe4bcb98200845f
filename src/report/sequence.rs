//! Message sequence (space-time, Lamport) diagrams of a window of the trace: one lifeline per
//! node, an arrow per message from its send time to its delivery (dropped messages dashed red
//! and ending in a cross), timers as ticks, faults as marks across the lifelines, a legend for
//! every mark. A *causal slice* keeps only the messages in the happens-before past of chosen
//! events (the culprit operations' completions, the two elections) and collapses repeats on a
//! link (heartbeats) into one arrow marked `×N`; its rows follow the order of events, not the
//! clock, so arrows never sit on top of each other.

use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::rc::Rc;

use super::focus::Names;
use super::svg::{Px, esc, push_px, push_text, push_time};
use crate::sim::{EventKind, Labels, Time, TraceRecord, fmt_time};
use crate::workload::OpRecord;

mod ops;
use ops::{OpIndex, op_of, push_op_label};

/// Most events drawn in one diagram.
pub const MAX_EVENTS: usize = 400;

/// What to draw besides the records.
pub struct Options<'a> {
    pub names: Names,
    /// Servers to highlight, with why.
    pub highlight: &'a [(u32, String)],
    /// A line across at this time (the violation).
    pub marker: Option<Time>,
    /// Keep only the happens-before past of these `(node, time)` events.
    pub slice: Option<&'a [(u32, Time)]>,
    /// The clients' operations, to label requests and replies `#i` as everywhere else.
    pub ops: &'a [OpRecord],
    /// The records' labels (only those drawn are formatted).
    pub labels: &'a LabelTexts<'a>,
}

/// The labels of a report's records, each formatted once (and cut short once, [`compact`])
/// however many of its pictures show it: its diagrams and its step-through view show many of
/// the same events. Only the labels asked for are formatted.
pub struct LabelTexts<'r> {
    records: &'r [TraceRecord],
    labels: &'r Labels,
    memo: RefCell<BTreeMap<usize, Rc<LabelText>>>,
}

/// One record's label: in full (tooltips), and short (beside an arrow, in the step-through
/// view).
pub struct LabelText {
    pub full: String,
    short: OnceCell<String>,
}

impl LabelText {
    /// The label as [`compact`] cuts it, made on first use.
    pub fn short(&self) -> &str {
        self.short.get_or_init(|| compact(&self.full))
    }
}

impl<'r> LabelTexts<'r> {
    pub fn new(records: &'r [TraceRecord], labels: &'r Labels) -> Self {
        LabelTexts {
            records,
            labels,
            memo: RefCell::default(),
        }
    }
    /// The label of `records[i]`.
    pub fn get(&self, i: usize) -> Rc<LabelText> {
        let mut memo = self.memo.borrow_mut();
        let text = memo.entry(i).or_insert_with(|| {
            Rc::new(LabelText {
                full: self.labels.get(self.records, i),
                short: OnceCell::new(),
            })
        });
        Rc::clone(text)
    }
}

/// The diagram of records in `[from, to]` for `nodes` nodes (servers first, then clients).
pub fn sequence_svg(
    records: &[TraceRecord],
    labels: &Labels,
    nodes: u32,
    servers: u32,
    from: Time,
    to: Time,
) -> String {
    let opt = Options {
        names: Names::default(),
        highlight: &[],
        marker: None,
        slice: None,
        ops: &[],
        labels: &LabelTexts::new(records, labels),
    };
    diagram(records, nodes, servers, from, to, &opt)
}

/// An event a diagram draws: its record, its label, and how many repeats its arrow stands for.
type Shown<'r> = (&'r TraceRecord, Rc<LabelText>, u32);

/// The shown events of the window, oldest first, each with its label and how many repeats
/// its arrow stands for.
fn select<'r>(
    records: &'r [TraceRecord],
    nodes: u32,
    from: Time,
    to: Time,
    opt: &Options<'_>,
    idx: &OpIndex,
) -> (Vec<Shown<'r>>, bool) {
    let lo = records.partition_point(|r| r.time < from);
    let hi = records.partition_point(|r| r.time <= to);
    let drawn = |r: &TraceRecord| !matches!(r.kind, EventKind::Observe | EventKind::Backlog);
    // Kept events: record index, repeats, and the label when it was already formatted.
    let mut kept: Vec<(usize, u32, Option<Rc<LabelText>>)> = Vec::new();
    match opt.slice {
        None => kept.extend(
            (lo..hi)
                .filter(|&i| drawn(&records[i]))
                .map(|i| (i, 1, None)),
        ),
        Some(targets) => {
            // Walk back from the targets: an event at a node is in their past if it happened
            // there no later than the latest time that node is known to influence them.
            let mut horizon: Vec<Option<Time>> = vec![None; nodes as usize];
            for &(n, t) in targets {
                if let Some(h) = horizon.get_mut(n as usize) {
                    *h = Some(h.map_or(t, |x| x.max(t)));
                }
            }
            let past = |h: &[Option<Time>], n: u32, t: Time| {
                h.get(n as usize).copied().flatten().is_some_and(|x| t <= x)
            };
            for i in (lo..hi).rev().filter(|&i| drawn(&records[i])) {
                let r = &records[i];
                let keep = match r.kind {
                    EventKind::Deliver => {
                        let k = past(&horizon, r.node.0, r.time);
                        if k && let Some(h) = horizon.get_mut(r.peer.0 as usize) {
                            *h = Some(h.map_or(r.sent, |x| x.max(r.sent)));
                        }
                        k
                    }
                    EventKind::Fault => true,
                    _ => past(&horizon, r.node.0, r.time),
                };
                if keep {
                    kept.push((i, 1, None));
                }
            }
            kept.reverse();
            // Repeats on one link (heartbeats, retries) collapse into the first arrow: the
            // same label but for its digits (terms, indexes).
            fn shape(l: &str) -> impl Iterator<Item = char> + '_ {
                l.chars().filter(|c| !c.is_ascii_digit())
            }
            let mut last: std::collections::BTreeMap<(u32, u32), usize> = Default::default();
            let mut out: Vec<(usize, u32, Option<Rc<LabelText>>)> = Vec::with_capacity(kept.len());
            for (i, _, _) in kept {
                let r = &records[i];
                if r.kind == EventKind::Deliver && op_of(r, opt, idx).is_none() {
                    // Formatted once: the shape to compare, and the label if it is drawn.
                    let label = opt.labels.get(i);
                    if let Some(&k) = last.get(&(r.peer.0, r.node.0))
                        && let Some(first) = &out[k].2
                        && shape(&first.full).eq(shape(&label.full))
                    {
                        out[k].1 += 1;
                        continue;
                    }
                    last.insert((r.peer.0, r.node.0), out.len());
                    out.push((i, 1, Some(label)));
                    continue;
                } else if r.kind == EventKind::Deliver {
                    last.remove(&(r.peer.0, r.node.0));
                }
                out.push((i, 1, None));
            }
            kept = out;
        }
    }
    let truncated = kept.len() > MAX_EVENTS;
    if truncated {
        // A slice keeps its end (where the violation is); a window its start.
        if opt.slice.is_some() {
            kept.drain(..kept.len() - MAX_EVENTS);
        } else {
            kept.truncate(MAX_EVENTS);
        }
    }
    let shown = kept
        .into_iter()
        .map(|(i, n, label)| {
            let label = label.unwrap_or_else(|| opt.labels.get(i));
            (&records[i], label, n)
        })
        .collect();
    (shown, truncated)
}

/// The diagram of `[from, to]` drawn with `opt`.
pub fn diagram(
    records: &[TraceRecord],
    nodes: u32,
    servers: u32,
    from: Time,
    to: Time,
    opt: &Options<'_>,
) -> String {
    let names = if opt.names.servers() == servers {
        opt.names.clone()
    } else {
        Names::plain(servers)
    };
    let opt = &Options {
        names,
        highlight: opt.highlight,
        marker: opt.marker,
        slice: opt.slice,
        ops: opt.ops,
        labels: opt.labels,
    };
    let idx = OpIndex::new(opt.ops);
    let (shown, truncated) = select(records, nodes, from, to, opt, &idx);
    let by_order = opt.slice.is_some();
    // Rows: by the order of distinct times in a slice, else proportional to time.
    let mut times: Vec<Time> = shown
        .iter()
        .flat_map(|(r, _, _)| [r.time, r.sent.max(from)])
        .collect();
    times.sort_unstable();
    times.dedup();
    let (left, top, lane) = (70.0, 120.0, 120.0);
    let row = 13.0;
    let height = if by_order {
        top + 30.0 + row * times.len().max(1) as f64
    } else {
        900.0
    };
    let span = to.saturating_sub(from).max(1);
    let width = left + 20.0 + lane * nodes.max(1) as f64;
    let x = |n: u32| left + lane * n.min(nodes.saturating_sub(1)) as f64 + lane / 2.0;
    let y = |t: Time| {
        if by_order {
            top + row * times.partition_point(|&u| u < t) as f64
        } else {
            top + (height - top - 20.0) * (t.saturating_sub(from) as f64 / span as f64)
        }
    };
    let mut s = String::with_capacity(4_096 + shown.len() * 300);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif">"#
    );
    let _ = write!(
        s,
        r##"<defs><marker id="ah" markerWidth="8" markerHeight="6" refX="8" refY="3" orient="auto"><path d="M0,0 L8,3 L0,6 z" fill="#333"/></marker></defs>"##
    );
    s.push_str(STYLE);
    let what = if by_order {
        "Causal slice: only messages in the happens-before past of the violation"
    } else {
        "Messages"
    };
    let note = if truncated {
        format!(" ({MAX_EVENTS} events shown)")
    } else {
        String::new()
    };
    let _ = write!(
        s,
        r#"<text x="8" y="16" font-size="13">{what}, {}s to {}s{note}</text>"#,
        fmt_time(from),
        fmt_time(to),
    );
    legend(&mut s, by_order);
    let highlighted = |n: u32| opt.highlight.iter().find(|h| h.0 == n);
    for n in 0..nodes {
        let (stroke, weight) = if highlighted(n).is_some() {
            ("#b3261e", 3.0)
        } else {
            ("#bbb", 1.0)
        };
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle" font-weight="{}">{}</text><line x1="{:.1}" y1="{top}" x2="{:.1}" y2="{:.1}" stroke="{stroke}" stroke-width="{weight}"/>"##,
            x(n),
            top - 18.0,
            if weight > 1.0 { "bold" } else { "normal" },
            esc(&opt.names.node(n)),
            x(n),
            x(n),
            height - 20.0
        );
        if let Some((_, why)) = highlighted(n) {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" font-size="9" text-anchor="middle" fill="#b3261e">{}</text>"##,
                x(n),
                top - 6.0,
                esc(why)
            );
        }
    }
    if let Some(t) = opt.marker.filter(|&t| t >= from && t <= to) {
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#b3261e" stroke-width="2"/><text x="{1:.1}" y="{2:.1}" font-size="10" fill="#b3261e" text-anchor="end">violation {3}s</text>"##,
            y(t),
            width - 10.0,
            y(t) - 3.0,
            fmt_time(t)
        );
    }
    // Each node's name, escaped once.
    let named: Vec<String> = (0..nodes.max(servers) + 1)
        .map(|n| esc(&opt.names.node(n)).into_owned())
        .collect();
    for (r, label, repeats) in &shown {
        draw(
            &mut s, r, label, *repeats, opt, &idx, &named, &x, &y, from, left, width,
        );
    }
    s.push_str("</svg>\n");
    s
}

/// How the diagram draws its many marks, named once rather than spelled out on each: a
/// message (`qm`; `qo` for an operation's request or reply), its line and its text; a
/// dropped message (`qd`); a timer (`qt`). Each class is set with its element (the page that
/// shows the diagram inline has classes of its own), in pixels, which are the diagram's own
/// units.
const STYLE: &str = "<style>line.qm{stroke:#333;stroke-width:0.8px;marker-end:url(#ah)}\
line.qo{stroke:#1f5fa8;stroke-width:1.4px;marker-end:url(#ah)}\
text.qm,text.qo{font-size:8px;text-anchor:middle}text.qm{fill:#333}text.qo{fill:#1f5fa8}\
line.qd{stroke:#c0392b;stroke-dasharray:4px,3px}path.qd{stroke:#c0392b}line.qt{stroke:#2a7ab9}</style>";

/// The legend: one sample of every mark.
fn legend(s: &mut String, slice: bool) {
    let y0 = 34.0;
    let items: [(&str, &str); 7] = [
        (
            r##"<line x1="0" y1="0" x2="28" y2="0" stroke="#333" marker-end="url(#ah)"/>"##,
            "message delivered",
        ),
        (
            r##"<line x1="0" y1="0" x2="24" y2="0" stroke="#c0392b" stroke-dasharray="4,3"/><path d="M21,-3 l6,6 m0,-6 l-6,6" stroke="#c0392b"/>"##,
            "dropped: lost, cut by a partition, or to a crashed node (hover)",
        ),
        (
            r##"<line x1="8" y1="0" x2="18" y2="0" stroke="#2a7ab9"/>"##,
            "timer fired",
        ),
        (
            r##"<line x1="0" y1="0" x2="28" y2="0" stroke="#e08a00" stroke-dasharray="2,2"/>"##,
            "fault: partition, heal, pause, clock",
        ),
        (
            r##"<line x1="0" y1="0" x2="28" y2="0" stroke="#d04040" stroke-dasharray="2,2"/>"##,
            "crash",
        ),
        (
            r##"<line x1="0" y1="0" x2="28" y2="0" stroke="#2e9e4f" stroke-dasharray="2,2"/>"##,
            "start or restart",
        ),
        (
            r##"<line x1="14" y1="-6" x2="14" y2="6" stroke="#b3261e" stroke-width="3"/>"##,
            "highlighted server; red line across: the violation",
        ),
    ];
    for (k, (mark, text)) in items.iter().enumerate() {
        let (col, rowi) = (k % 3, k / 3);
        let (gx, gy) = (8.0 + 330.0 * col as f64, y0 + 16.0 * rowi as f64);
        let _ = write!(
            s,
            r#"<g transform="translate({gx},{gy})">{mark}<text x="34" y="4" font-size="10">{}</text></g>"#,
            esc(text)
        );
    }
    if slice {
        let _ = write!(
            s,
            r#"<text x="{:.0}" y="{:.0}" font-size="10">×N: N similar messages on that link (heartbeats, retries) drawn as one</text>"#,
            8.0 + 330.0,
            y0 + 32.0
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn draw(
    s: &mut String,
    r: &TraceRecord,
    label: &LabelText,
    repeats: u32,
    opt: &Options<'_>,
    idx: &OpIndex,
    named: &[String],
    x: &dyn Fn(u32) -> f64,
    y: &dyn Fn(Time) -> f64,
    from: Time,
    left: f64,
    width: f64,
) {
    let (n, p) = (r.node.0, r.peer.0);
    let full = label.full.as_str();
    let name = |k: u32| named.get(k as usize).map_or("?", String::as_str);
    // Written piece by piece: a `write!` per arrow costs more than the rest of the arrow.
    match r.kind {
        EventKind::Deliver => {
            let op = op_of(r, opt, idx);
            // An operation's message, or another ([`STYLE`]: colour, weight, arrowhead).
            let class = if op.is_some() { "qo" } else { "qm" };
            let (x1, y1, x2, y2) = (x(p), y(r.sent.max(from)), x(n), y(r.time));
            s.push_str("<line x1=\"");
            push_px(s, x1);
            s.push_str("\" y1=\"");
            push_px(s, y1);
            s.push_str("\" x2=\"");
            push_px(s, x2);
            s.push_str("\" y2=\"");
            push_px(s, y2);
            s.push_str("\" class=\"");
            s.push_str(class);
            s.push_str("\"><title>");
            push_time(s, r.time);
            s.push_str("s ");
            s.push_str(name(p));
            s.push_str(" → ");
            s.push_str(name(n));
            s.push_str(": ");
            push_text(s, full);
            s.push_str("</title></line><text x=\"");
            push_px(s, (x1 + x2) / 2.0);
            s.push_str("\" y=\"");
            push_px(s, (y1 + y2) / 2.0 - 2.0);
            s.push_str("\" class=\"");
            s.push_str(class);
            s.push_str("\">");
            if repeats > 1 {
                s.push('×');
                s.push_str(&repeats.to_string());
                s.push(' ');
            }
            match op {
                Some(i) => push_op_label(s, r, opt, idx, i),
                None => push_text(s, label.short()),
            }
            s.push_str("</text>");
        }
        EventKind::DropLoss | EventKind::DropPartition | EventKind::DropDead => {
            let (x1, y1, x2, y2) = (x(p), y(r.sent.max(from)), x(n), y(r.time));
            let (xe, ye) = if r.kind == EventKind::DropLoss {
                ((x1 + x2) / 2.0, y1 + 8.0)
            } else {
                (x2, y2)
            };
            let why = match r.kind {
                EventKind::DropLoss => "lost by the network",
                EventKind::DropPartition => "cut by a partition",
                _ => "to a crashed node",
            };
            s.push_str("<line x1=\"");
            push_px(s, x1);
            s.push_str("\" y1=\"");
            push_px(s, y1);
            s.push_str("\" x2=\"");
            push_px(s, xe);
            s.push_str("\" y2=\"");
            push_px(s, ye);
            s.push_str("\" class=\"qd\"><title>");
            s.push_str(why);
            s.push_str(": ");
            push_text(s, full);
            s.push_str("</title></line><path d=\"M");
            push_px(s, xe - 3.0);
            s.push(',');
            push_px(s, ye - 3.0);
            s.push_str(" l6,6 m0,-6 l-6,6\" class=\"qd\"/>");
        }
        EventKind::Timer => {
            let yt = y(r.time);
            s.push_str("<line x1=\"");
            push_px(s, x(n) - 5.0);
            s.push_str("\" y1=\"");
            push_px(s, yt);
            s.push_str("\" x2=\"");
            push_px(s, x(n) + 5.0);
            s.push_str("\" y2=\"");
            push_px(s, yt);
            s.push_str("\" class=\"qt\"><title>timer ");
            push_text(s, full);
            s.push_str("</title></line>");
        }
        EventKind::Fault | EventKind::Start | EventKind::Restart => {
            let color = if full.starts_with("crash") {
                "#d04040"
            } else if r.kind == EventKind::Fault {
                "#e08a00"
            } else {
                "#2e9e4f"
            };
            let text = if full.is_empty() {
                format!("{} {}", r.kind.as_str(), opt.names.node(n))
            } else {
                opt.names.text(full).into_owned()
            };
            let _ = write!(
                s,
                r##"<line x1="{left}" y1="{0}" x2="{1}" y2="{0}" stroke="{color}" stroke-dasharray="2,2"/><text x="{2}" y="{3}" font-size="9" fill="{color}">{4}</text>"##,
                Px(y(r.time)),
                Px(width - 10.0),
                Px(left + 2.0),
                Px(y(r.time) - 2.0),
                esc(&text)
            );
        }
        _ => {}
    }
}

/// A message's `Debug` text made short enough to read beside its arrow (`name=value`, no
/// braces), at most 48 characters; the full text is in the tooltip.
pub fn compact(label: &str) -> String {
    const MAX: usize = 48;
    let b = label.as_bytes();
    let mut out = String::with_capacity(label.len().min(MAX + 4));
    // Byte by byte (every pattern is ASCII), copying runs of text whole; `n` counts the
    // characters written, `i` is always at a character's first byte.
    let (mut i, mut run, mut n) = (0, 0, 0);
    while i < b.len() {
        if n == MAX - 1 {
            out.push_str(&label[run..i]);
            out.push('…');
            return out;
        }
        let (rep, skip) = match (b[i], b.get(i + 1)) {
            (b' ', Some(b'{')) => ("(", if b.get(i + 2) == Some(&b' ') { 3 } else { 2 }),
            (b' ', Some(b'}')) => (")", 2),
            (b':', Some(b' ')) => ("=", 2),
            (b',', Some(b' ')) => (" ", 2),
            (c, _) => {
                i += match c {
                    0..0x80 => 1,
                    0x80..0xe0 => 2,
                    0xe0..0xf0 => 3,
                    _ => 4,
                };
                n += 1;
                continue;
            }
        };
        out.push_str(&label[run..i]);
        out.push_str(rep);
        i += skip;
        run = i;
        n += 1;
    }
    out.push_str(&label[run..]);
    out
}

#[cfg(test)]
mod tests {
    use super::compact;

    /// What `compact` wrote when it went character by character: the reference.
    fn reference(label: &str) -> String {
        const MAX: usize = 48;
        let mut out = String::new();
        let mut chars = label.chars().peekable();
        let mut n = 0;
        while let Some(c) = chars.next() {
            if n == MAX - 1 {
                out.push('…');
                break;
            }
            match (c, chars.peek().copied()) {
                (' ', Some('{')) => {
                    out.push('(');
                    chars.next();
                    if chars.peek() == Some(&' ') {
                        chars.next();
                    }
                }
                (' ', Some('}')) => {
                    out.push(')');
                    chars.next();
                }
                (':', Some(' ')) => {
                    out.push('=');
                    chars.next();
                }
                (',', Some(' ')) => {
                    out.push(' ');
                    chars.next();
                }
                _ => out.push(c),
            }
            n += 1;
        }
        out
    }

    /// Every mark the diagram draws with a class has its style ([`super::STYLE`]), and a
    /// tooltip keeps its quotes as they are (element text, not an attribute).
    #[test]
    fn every_class_a_diagram_draws_has_its_style() {
        use crate::sim::{EventKind, Labels, NodeId, TraceRecord};
        let rec = |time, kind, node, peer, sent, label: &str| TraceRecord {
            time,
            kind,
            node: NodeId(node),
            peer: NodeId(peer),
            sent,
            label: label.to_string(),
        };
        let records = [
            rec(1, EventKind::Start, 0, 0, 1, ""),
            rec(5, EventKind::Deliver, 1, 0, 2, "Ping { key: \"k<1>\" }"),
            rec(6, EventKind::DropLoss, 0, 1, 3, "Pong"),
            rec(7, EventKind::DropPartition, 2, 1, 4, "Pong"),
            rec(8, EventKind::DropDead, 2, 0, 5, "Pong"),
            rec(9, EventKind::Timer, 2, 2, 9, "Election"),
            rec(10, EventKind::Fault, 0, 0, 10, "isolate n0"),
        ];
        let svg = super::sequence_svg(&records, &Labels::default(), 3, 3, 0, 20);
        let classes: std::collections::BTreeSet<&str> = svg
            .split("class=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert_eq!(classes.into_iter().collect::<Vec<_>>(), ["qd", "qm", "qt"]);
        for (element, class) in [
            ("line", "qm"),
            ("text", "qm"),
            ("line", "qd"),
            ("path", "qd"),
        ] {
            assert!(
                super::STYLE.contains(&format!("{element}.{class}{{"))
                    || super::STYLE.contains(&format!("{element}.{class},")),
                "{element}.{class}"
            );
        }
        for class in ["qo", "qt"] {
            assert!(super::STYLE.contains(&format!(".{class}{{")), "{class}");
        }
        assert!(svg.contains("Ping { key: \"k&lt;1>\" }</title>"), "{svg}");
    }

    #[test]
    fn compact_writes_what_the_character_walk_wrote() {
        let pieces = [
            " { ", " {", " }", ": ", ", ", "é", "…", "日本", "🦀", "a", "Append", "{", "}", ":",
            ",", " ", "x: 1", "\"k0\"", "\n",
        ];
        for label in crate::report::random_texts(&pieces, 0x2545_f491_4f6c_dd1d, 400, 60) {
            assert_eq!(compact(&label), reference(&label), "{label:?}");
        }
        let real =
            "AppendEntries { term: 3, leader: 0, prev_index: 12, entries: [Entry { term: 3 }] }";
        assert_eq!(compact(real), reference(real));
    }
}
