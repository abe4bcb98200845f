//! Message sequence (space-time, Lamport) diagrams of a window of the trace: one lifeline per
//! node, an arrow per message from its send time to its delivery (dropped messages dashed red
//! and ending in a cross), timers as ticks, faults as marks across the lifelines.

use std::fmt::Write;

use super::svg::esc;
use crate::sim::{EventKind, Time, TraceRecord, fmt_time};

/// Most events drawn in one diagram.
pub const MAX_EVENTS: usize = 400;

/// The diagram of records in `[from, to]` for `nodes` nodes (servers first, then clients).
pub fn sequence_svg(
    records: &[TraceRecord],
    nodes: u32,
    servers: u32,
    from: Time,
    to: Time,
) -> String {
    let window: Vec<&TraceRecord> = records
        .iter()
        .filter(|r| {
            r.time >= from
                && r.time <= to
                && r.kind != EventKind::Observe
                && r.kind != EventKind::Backlog
        })
        .collect();
    let truncated = window.len() > MAX_EVENTS;
    let window = &window[..window.len().min(MAX_EVENTS)];
    let to = if truncated {
        window.last().map_or(to, |r| r.time)
    } else {
        to
    };
    let span = to.saturating_sub(from).max(1);
    let (left, top, lane) = (40.0, 50.0, 90.0);
    let height = 900.0;
    let width = left * 2.0 + lane * nodes.max(1) as f64;
    let x = |n: u32| left + lane * n as f64 + lane / 2.0;
    let y = |t: Time| top + (height - top - 20.0) * (t.saturating_sub(from) as f64 / span as f64);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif">"#
    );
    let _ = write!(
        s,
        r##"<defs><marker id="ah" markerWidth="8" markerHeight="6" refX="8" refY="3" orient="auto"><path d="M0,0 L8,3 L0,6 z" fill="#333"/></marker></defs>"##
    );
    let note = if truncated {
        format!(" (first {MAX_EVENTS} events)")
    } else {
        String::new()
    };
    let _ = write!(
        s,
        r#"<text x="8" y="16" font-size="13">Messages from {}s to {}s{}</text>"#,
        fmt_time(from),
        fmt_time(to),
        note
    );
    for n in 0..nodes {
        let label = if n < servers {
            format!("n{n}")
        } else {
            format!("c{}", n - servers)
        };
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="38" font-size="12" text-anchor="middle">{label}</text><line x1="{:.1}" y1="{top}" x2="{:.1}" y2="{:.1}" stroke="#bbb"/>"##,
            x(n),
            x(n),
            x(n),
            height - 20.0
        );
    }
    for r in window {
        let (n, p) = (
            r.node.0.min(nodes.saturating_sub(1)),
            r.peer.0.min(nodes.saturating_sub(1)),
        );
        let label: String = r.label.chars().take(28).collect();
        match r.kind {
            EventKind::Deliver => {
                let _ = write!(
                    s,
                    r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#333" stroke-width="0.8" marker-end="url(#ah)"><title>{}</title></line>"##,
                    x(p),
                    y(r.sent.max(from)),
                    x(n),
                    y(r.time),
                    esc(&r.label)
                );
                let _ = write!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" font-size="7" fill="#555">{}</text>"##,
                    (x(p) + x(n)) / 2.0,
                    (y(r.sent.max(from)) + y(r.time)) / 2.0 - 2.0,
                    esc(&label)
                );
            }
            EventKind::DropLoss | EventKind::DropPartition | EventKind::DropDead => {
                let (x1, y1, x2, y2) = (x(p), y(r.sent.max(from)), x(n), y(r.time));
                let (xe, ye) = if r.kind == EventKind::DropLoss {
                    ((x1 + x2) / 2.0, y1 + 8.0)
                } else {
                    (x2, y2)
                };
                let _ = write!(
                    s,
                    r##"<line x1="{x1:.1}" y1="{y1:.1}" x2="{xe:.1}" y2="{ye:.1}" stroke="#c0392b" stroke-dasharray="4,3"><title>{} {}</title></line>"##,
                    r.kind.as_str(),
                    esc(&r.label)
                );
                let _ = write!(
                    s,
                    r##"<path d="M{:.1},{:.1} l6,6 m0,-6 l-6,6" stroke="#c0392b"/>"##,
                    xe - 3.0,
                    ye - 3.0
                );
            }
            EventKind::Timer => {
                let _ = write!(
                    s,
                    r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#2a7ab9"><title>timer {}</title></line>"##,
                    x(n) - 5.0,
                    y(r.time),
                    x(n) + 5.0,
                    y(r.time),
                    esc(&r.label)
                );
            }
            EventKind::Fault | EventKind::Start | EventKind::Restart => {
                let color = if r.label.starts_with("crash") {
                    "#d04040"
                } else if r.kind == EventKind::Fault {
                    "#e08a00"
                } else {
                    "#2e9e4f"
                };
                let _ = write!(
                    s,
                    r##"<line x1="{left}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{color}" stroke-dasharray="2,2"/><text x="{:.1}" y="{:.1}" font-size="9" fill="{color}">{}</text>"##,
                    y(r.time),
                    width - left,
                    y(r.time),
                    left + 2.0,
                    y(r.time) - 2.0,
                    esc(&format!(
                        "{} {}",
                        r.kind.as_str(),
                        if r.label.is_empty() {
                            format!("n{}", r.node.0)
                        } else {
                            r.label.clone()
                        }
                    ))
                );
            }
            _ => {}
        }
    }
    s.push_str("</svg>\n");
    s
}
