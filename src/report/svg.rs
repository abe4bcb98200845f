//! Plain SVG drawing (text written directly, fixed-precision numbers, no randomness), so a
//! report is byte-identical across runs and machines and needs no font at build time.

use std::fmt::Write;

use super::focus::Names;
use crate::protocols::{RoleChange, RunSpec};
use crate::sim::{Fault, SECS, Time, fmt_time};
use crate::workload::{OpRecord, OpStatus};

// The text writers every picture uses, where the pictures and their callers find them.
pub use super::text::{
    Dec1, Px, esc, push_dec1, push_esc, push_px, push_text, push_time, push_u64,
};

/// A fault window for shading: (start, end, label, colour).
pub struct Window {
    pub start: Time,
    pub end: Time,
    pub label: String,
    pub color: &'static str,
    /// The fault action that opened it (index into the schedule): tagged `F<index + 1>`,
    /// as the report's fault table numbers it.
    pub fault: usize,
}

/// Fault windows of a run: partition..heal, crash..restart, pause..+duration.
pub fn fault_windows(spec: &RunSpec, end: Time) -> Vec<Window> {
    let mut out = Vec::new();
    let f = &spec.faults;
    for (i, sf) in f.iter().enumerate() {
        match &sf.fault {
            Fault::Partition(p) => {
                let stop = f[i + 1..]
                    .iter()
                    .find(|x| matches!(x.fault, Fault::Heal))
                    .map_or(end, |x| x.at);
                out.push(Window {
                    start: sf.at,
                    end: stop,
                    label: format!("{p}"),
                    color: "#f4c27a",
                    fault: i,
                });
            }
            Fault::Crash(n) => {
                let stop = f[i + 1..]
                    .iter()
                    .find(|x| x.fault == Fault::Restart(*n))
                    .map_or(end, |x| x.at);
                out.push(Window {
                    start: sf.at,
                    end: stop,
                    label: format!("crash n{n}"),
                    color: "#f08c8c",
                    fault: i,
                });
            }
            Fault::Pause { node, duration } => out.push(Window {
                start: sf.at,
                end: sf.at + duration,
                label: format!("pause n{node}"),
                color: "#b9a4e8",
                fault: i,
            }),
            Fault::ClockSkew {
                node,
                offset,
                drift_ppm,
            } if *offset != 0 || *drift_ppm != 0 => {
                let stop = f[i + 1..]
                    .iter()
                    .find(|x| matches!(x.fault, Fault::ClockSkew { node: m, .. } if m == *node))
                    .map_or(end, |x| x.at);
                out.push(Window {
                    start: sf.at,
                    end: stop,
                    label: format!("skew n{node}"),
                    color: "#9ed3e6",
                    fault: i,
                });
            }
            Fault::Slow { node, factor } if *factor > 1 => {
                let stop = f[i + 1..]
                    .iter()
                    .find(|x| matches!(x.fault, Fault::Slow { node: m, .. } if m == *node))
                    .map_or(end, |x| x.at);
                out.push(Window {
                    start: sf.at,
                    end: stop,
                    label: format!("slow n{node} x{factor}"),
                    color: "#c9c9c9",
                    fault: i,
                });
            }
            _ => {}
        }
    }
    out
}

const W: f64 = 900.0;
const L: f64 = 60.0;
const R: f64 = 20.0;

fn x_of(t: Time, end: Time) -> f64 {
    L + (W - L - R) * (t as f64 / end.max(1) as f64)
}

fn time_axis(s: &mut String, end: Time, y: f64) {
    let step = nice_step(end);
    let mut t = 0;
    while t <= end {
        // `Dec1` writes what `{:.1}` writes, without the float formatting machinery.
        let x = x_of(t, end);
        s.push_str("<line x1=\"");
        push_dec1(s, x);
        s.push_str("\" y1=\"");
        push_dec1(s, y);
        s.push_str("\" x2=\"");
        push_dec1(s, x);
        s.push_str("\" y2=\"");
        push_dec1(s, y + 4.0);
        s.push_str(r##"" stroke="#888"/><text x=""##);
        push_dec1(s, x);
        s.push_str("\" y=\"");
        push_dec1(s, y + 16.0);
        s.push_str("\" font-size=\"11\" text-anchor=\"middle\">");
        s.push_str(&fmt_secs(t));
        s.push_str("s</text>");
        t += step;
    }
}

fn nice_step(end: Time) -> Time {
    let target = end / 8;
    for s in [
        SECS / 10,
        SECS / 4,
        SECS / 2,
        SECS,
        2 * SECS,
        5 * SECS,
        10 * SECS,
        30 * SECS,
        60 * SECS,
    ] {
        if s >= target {
            return s;
        }
    }
    300 * SECS
}

fn fmt_secs(t: Time) -> String {
    let s = format!("{:.2}", t as f64 / SECS as f64);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Shades each fault window (its full text in the tooltip) and tags it `F<n>` (the report's
/// fault table spells each out) in rows placed so that no two tags overlap; a tag with no
/// room in [`TAG_ROWS`] rows is left to its tooltip and the table.
fn shade(s: &mut String, windows: &[Window], end: Time, top: f64, bottom: f64) {
    const TAG_ROWS: usize = 3;
    let mut free_from = [f64::MIN; TAG_ROWS];
    for w in windows {
        let (x1, x2) = (x_of(w.start, end), x_of(w.end.min(end), end));
        let tag = format!("F{}", w.fault + 1);
        let _ = write!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}" opacity="0.35"><title>{tag} {}</title></rect>"#,
            Dec1(x1),
            Dec1(top),
            Dec1((x2 - x1).max(1.0)),
            Dec1(bottom - top),
            w.color,
            esc(&w.label)
        );
        let tag_width = 5.5 * tag.len() as f64 + 3.0;
        if let Some(row) = free_from.iter().position(|&f| f <= x1) {
            free_from[row] = x1 + tag_width;
            let _ = write!(
                s,
                r##"<text x="{}" y="{}" font-size="9" fill="#555">{tag}</text>"##,
                Dec1(x1 + 1.0),
                Dec1(top + 10.0 + row as f64 * 10.0)
            );
        }
    }
}

/// A red line across a timeline plot at `t` (the violation), labelled.
pub fn with_marker(svg: String, t: Option<Time>, end: Time) -> String {
    let Some(t) = t.filter(|&t| t <= end) else {
        return svg;
    };
    let x = x_of(t, end);
    let mark = format!(
        r##"<line x1="{x:.1}" y1="22" x2="{x:.1}" y2="100%" stroke="#b3261e" stroke-width="1.5"/><text x="{:.1}" y="30" font-size="10" fill="#b3261e">violation {}s</text></svg>"##,
        x + 3.0,
        fmt_time(t)
    );
    match svg.rfind("</svg>") {
        Some(i) => format!("{}{mark}{}", &svg[..i], &svg[i + 6..]),
        None => svg,
    }
}

/// The most operations the latency plot draws (beyond, it draws every k-th).
pub const LATENCY_POINTS_MAX: usize = 20_000;

/// Latency of each client operation over time, coloured by outcome; unknown outcomes are
/// drawn as hollow markers on the top edge; fault windows shaded.
pub fn latency_svg(ops: &[OpRecord], windows: &[Window], end: Time, title: &str) -> String {
    let max_lat = max_latency(ops.iter());
    let (mut s, top, bottom, h) = latency_frame(title, windows, end, max_lat);
    s.reserve(ops.len().min(2 * LATENCY_POINTS_MAX) * 128);
    // A large history is thinned to every k-th operation (deterministically), so that the
    // plot stays a few megabytes; the failed and unknown ones are all kept up to the limit too.
    let stride = ops.len().div_ceil(LATENCY_POINTS_MAX).max(1);
    if stride > 1 {
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="18" font-size="11" text-anchor="end" fill="#555">every {stride}th of {} operations shown</text>"##,
            W - R,
            ops.len()
        );
    }
    let mut odd = 0;
    // Consecutive operations of one outcome share a group that sets their colour: each
    // circle then writes only its place (the drawing order, and so the picture, unchanged).
    let mut group = None;
    for (i, o) in ops.iter().enumerate() {
        if stride > 1 && i % stride != 0 {
            if o.status == OpStatus::Ok || odd >= LATENCY_POINTS_MAX {
                continue;
            }
            odd += 1;
        }
        let (look, r, y) = match (o.status, o.ret) {
            (OpStatus::Unknown, _) | (_, None) => (Look::Unknown, "3", top + 3.0),
            (st, Some(r)) => {
                let y = bottom - (bottom - top) * ((r - o.call) as f64 / max_lat as f64);
                let look = if st == OpStatus::Ok {
                    Look::Ok
                } else {
                    Look::Failed
                };
                (look, "2.2", y)
            }
        };
        if group != Some(look) {
            if group.is_some() {
                s.push_str("</g>");
            }
            s.push_str(look.group());
            group = Some(look);
        }
        // Written piece by piece (a `write!` per operation costs more than the rest).
        s.push_str("<circle cx=\"");
        push_px(&mut s, x_of(o.call, end));
        s.push_str("\" cy=\"");
        push_px(&mut s, y);
        s.push_str("\" r=\"");
        s.push_str(r);
        s.push_str("\"><title>");
        push_text(&mut s, &o.desc);
        s.push_str("</title></circle>");
    }
    if group.is_some() {
        s.push_str("</g>");
    }
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{h:.1}" font-size="11" text-anchor="end" dy="-6">● ok  <tspan fill="#c0392b">● fail</tspan>  <tspan fill="#d4a017">○ unknown</tspan></text>"##,
        W - R
    );
    s.push_str("</svg>\n");
    s
}

/// How the latency plot marks an operation: by its outcome.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Look {
    Ok,
    Failed,
    Unknown,
}

impl Look {
    /// The group that gives its circles their colour.
    fn group(self) -> &'static str {
        match self {
            Look::Ok => r##"<g fill="#2a7ab9">"##,
            Look::Failed => r##"<g fill="#c0392b">"##,
            Look::Unknown => r##"<g fill="none" stroke="#d4a017">"##,
        }
    }
}

/// The longest latency among completed operations (at least 1 ns).
fn max_latency<'a>(ops: impl Iterator<Item = &'a OpRecord>) -> Time {
    ops.filter_map(|o| o.ret.map(|r| r - o.call))
        .max()
        .unwrap_or(1)
        .max(1)
}

/// Latencies of several runs' operations on one time axis (one colour each: a comparison of
/// protocols on the same seed and faults), fault windows shaded. Completed operations are
/// dots, failed ones crosses, unknown outcomes hollow markers on the top edge.
pub fn latency_series_svg(
    series: &[(&str, &[OpRecord], &str)],
    windows: &[Window],
    end: Time,
    title: &str,
) -> String {
    let max_lat = max_latency(series.iter().flat_map(|(_, ops, _)| ops.iter()));
    let (mut s, top, bottom, h) = latency_frame(title, windows, end, max_lat);
    let total: usize = series.iter().map(|(_, ops, _)| ops.len()).sum();
    let stride = total.div_ceil(LATENCY_POINTS_MAX).max(1);
    for (k, (_, ops, color)) in series.iter().enumerate() {
        for o in ops.iter().step_by(stride) {
            let x = Dec1(x_of(o.call, end));
            let _ = match (o.status, o.ret) {
                (OpStatus::Unknown, _) | (_, None) => write!(
                    s,
                    r##"<circle cx="{x:.1}" cy="{:.1}" r="3" fill="none" stroke="{color}"><title>{}</title></circle>"##,
                    Dec1(top + 3.0 + 6.0 * k as f64),
                    esc(&o.desc)
                ),
                (st, Some(r)) => {
                    let y = Px(bottom - (bottom - top) * ((r - o.call) as f64 / max_lat as f64));
                    let mark = if st == OpStatus::Ok { "2.2" } else { "3.5" };
                    write!(
                        s,
                        r#"<circle cx="{x:.1}" cy="{y:.1}" r="{mark}" fill="{color}" opacity="0.75"><title>{}</title></circle>"#,
                        esc(&o.desc)
                    )
                }
            };
        }
    }
    let legend: Vec<String> = series
        .iter()
        .map(|(name, _, color)| format!(r#"<tspan fill="{color}">● {}</tspan>"#, esc(name)))
        .collect();
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{h:.1}" font-size="11" text-anchor="end" dy="-6">{}  ○ unknown outcome</text>"##,
        W - R,
        legend.join("  ")
    );
    s.push_str("</svg>\n");
    s
}

/// A latency plot's frame: title, shaded fault windows, axes. Returns the SVG so far and the
/// plot area's top, bottom and the picture's height.
fn latency_frame(
    title: &str,
    windows: &[Window],
    end: Time,
    max_lat: Time,
) -> (String, f64, f64, f64) {
    let h = 320.0;
    let (top, bottom) = (30.0, h - 40.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif">"#
    );
    let _ = write!(
        s,
        r#"<text x="{L}" y="18" font-size="14">{}</text>"#,
        esc(title)
    );
    shade(&mut s, windows, end, top, bottom);
    let _ = write!(
        s,
        r##"<line x1="{L}" y1="{bottom}" x2="{:.1}" y2="{bottom}" stroke="#333"/><line x1="{L}" y1="{top}" x2="{L}" y2="{bottom}" stroke="#333"/>"##,
        W - R
    );
    time_axis(&mut s, end, bottom);
    let _ = write!(
        s,
        r#"<text x="8" y="{:.1}" font-size="11">{}ms</text><text x="8" y="{:.1}" font-size="11">0</text>"#,
        top + 4.0,
        max_lat / 1_000_000,
        bottom
    );
    (s, top, bottom, h)
}

/// Completed operations per bucket of simulated time.
pub fn throughput_svg(ops: &[OpRecord], windows: &[Window], end: Time) -> String {
    let h = 220.0;
    let (top, bottom) = (30.0, h - 40.0);
    let buckets = 60usize;
    let width = end.max(1).div_ceil(buckets as u64);
    let mut counts = vec![0u64; buckets];
    for o in ops.iter().filter(|o| o.status == OpStatus::Ok) {
        if let Some(r) = o.ret {
            counts[((r / width) as usize).min(buckets - 1)] += 1;
        }
    }
    let max = counts.iter().copied().max().unwrap_or(1).max(1);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif">"#
    );
    let _ = write!(
        s,
        r#"<text x="{L}" y="18" font-size="14">Completed operations per {} ms</text>"#,
        width / 1_000_000
    );
    shade(&mut s, windows, end, top, bottom);
    for (i, c) in counts.iter().enumerate() {
        let x1 = x_of(i as u64 * width, end);
        let x2 = x_of((i as u64 + 1) * width, end);
        let y = bottom - (bottom - top) * (*c as f64 / max as f64);
        s.push_str("<rect x=\"");
        push_dec1(&mut s, x1);
        s.push_str("\" y=\"");
        push_dec1(&mut s, y);
        s.push_str("\" width=\"");
        push_dec1(&mut s, (x2 - x1 - 1.0).max(0.5));
        s.push_str("\" height=\"");
        push_dec1(&mut s, bottom - y);
        s.push_str(r##"" fill="#4a9d5b"/>"##);
    }
    let _ = write!(
        s,
        r##"<line x1="{L}" y1="{bottom}" x2="{:.1}" y2="{bottom}" stroke="#333"/>"##,
        W - R
    );
    time_axis(&mut s, end, bottom);
    let _ = write!(
        s,
        r#"<text x="8" y="{:.1}" font-size="11">{max}</text>"#,
        top + 4.0
    );
    s.push_str("</svg>\n");
    s
}

/// One lane per server, and per other node that reported a role (a lock's clients), showing
/// its role over time.
pub fn roles_svg(
    roles: &[RoleChange],
    servers: u32,
    windows: &[Window],
    end: Time,
    names: &Names,
) -> String {
    let servers = roles.iter().map(|r| r.node + 1).fold(servers, u32::max);
    let lane = 24.0;
    let top = 30.0;
    let h = top + lane * servers as f64 + 40.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif">"#
    );
    let _ = write!(
        s,
        r#"<text x="{L}" y="18" font-size="14">Role of each node; a leader's bar names its term (t3) (leader or holder green, candidate or waiting orange, uncertain yellow, blocked or paused purple, down red, others grey)</text>"#
    );
    shade(&mut s, windows, end, top, top + lane * servers as f64);
    let mut last_tag = vec![f64::MIN; servers as usize];
    for n in 0..servers {
        let y = top + lane * n as f64;
        // The lane's name, escaped once for its label and every bar's tooltip.
        let name = esc(&names.node(n)).into_owned();
        s.push_str("<text x=\"8\" y=\"");
        push_dec1(&mut s, y + 16.0);
        s.push_str("\" font-size=\"12\">");
        s.push_str(&name);
        s.push_str("</text>");
        let mine: Vec<&RoleChange> = roles.iter().filter(|r| r.node == n).collect();
        for (i, r) in mine.iter().enumerate() {
            let stop = mine.get(i + 1).map_or(end, |x| x.time).min(end);
            let color = match r.role.as_str() {
                "leader" | "holder" => "#2e9e4f",
                "candidate" | "waiting" => "#f0a030",
                "paused" => "#8a5cc2",
                "down" => "#d04040",
                "uncertain" => "#e8d060",
                "blocked" => "#8e44ad",
                _ => "#c8c8c8",
            };
            let (x1, x2) = (x_of(r.time, end), x_of(stop, end));
            // Written piece by piece, as the other plots' marks are.
            s.push_str("<rect x=\"");
            push_dec1(&mut s, x1);
            s.push_str("\" y=\"");
            push_dec1(&mut s, y + 4.0);
            s.push_str("\" width=\"");
            push_dec1(&mut s, (x2 - x1).max(0.5));
            s.push_str("\" height=\"");
            push_dec1(&mut s, lane - 8.0);
            s.push_str("\" fill=\"");
            s.push_str(color);
            s.push_str("\"><title>");
            s.push_str(&name);
            s.push(' ');
            push_esc(&mut s, &r.role);
            s.push_str(" term ");
            push_u64(&mut s, r.term);
            s.push_str(" from ");
            push_time(&mut s, r.time);
            s.push_str("s</title></rect>");
            // A leader's bar says its term, where there is room (else in the tooltip).
            if !matches!(r.role.as_str(), "leader" | "holder") {
                continue;
            }
            let tag = format!("t{}", r.term);
            let room = x2 - x1;
            if room >= 5.5 * tag.len() as f64 + 2.0 && x1 >= last_tag[n as usize] {
                let _ = write!(
                    s,
                    r##"<text x="{}" y="{}" font-size="9" fill="#fff" font-weight="bold">{tag}</text>"##,
                    Dec1(x1 + 1.5),
                    Dec1(y + 15.0)
                );
                last_tag[n as usize] = x1 + 5.5 * tag.len() as f64 + 2.0;
            }
        }
    }
    time_axis(&mut s, end, top + lane * servers as f64);
    s.push_str("</svg>\n");
    s
}

/// A histogram of one metric across seeds (for sweeps): `values` are (seed, value).
pub fn histogram_svg(values: &[(u64, f64)], title: &str, unit: &str) -> String {
    let (w, h, top, bottom) = (W, 260.0, 30.0, 220.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif">"#
    );
    let _ = write!(
        s,
        r#"<text x="{L}" y="18" font-size="14">{} ({} seeds)</text>"#,
        esc(title),
        values.len()
    );
    if values.is_empty() {
        s.push_str("</svg>\n");
        return s;
    }
    let lo = values.iter().map(|v| v.1).fold(f64::INFINITY, f64::min);
    let hi = values.iter().map(|v| v.1).fold(f64::NEG_INFINITY, f64::max);
    let bins = 30usize;
    let width = ((hi - lo) / bins as f64).max(f64::MIN_POSITIVE);
    let mut counts = vec![0u64; bins];
    for (_, v) in values {
        counts[(((v - lo) / width) as usize).min(bins - 1)] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(1).max(1);
    let bw = (w - L - R) / bins as f64;
    for (i, c) in counts.iter().enumerate() {
        let bh = (bottom - top) * (*c as f64 / max as f64);
        let _ = write!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="#6a8fc7"><title>{:.3}..{:.3} {unit}: {c} seeds</title></rect>"##,
            L + bw * i as f64,
            bottom - bh,
            (bw - 1.0).max(0.5),
            lo + width * i as f64,
            lo + width * (i + 1) as f64
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{L}" y1="{bottom}" x2="{:.1}" y2="{bottom}" stroke="#333"/>"##,
        w - R
    );
    let _ = write!(
        s,
        r#"<text x="{L}" y="{:.1}" font-size="11">{lo:.3} {unit}</text>"#,
        bottom + 16.0
    );
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{hi:.3} {unit}</text>"#,
        w - R,
        bottom + 16.0
    );
    let _ = write!(
        s,
        r#"<text x="8" y="{:.1}" font-size="11">{max}</text>"#,
        top + 4.0
    );
    s.push_str("</svg>\n");
    s
}
