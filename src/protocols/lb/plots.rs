//! The load balancer's own plots, as plain SVG text (fixed precision, no randomness, no
//! fonts): the latency CDF of every strategy on one log-scaled axis, and each strategy's tries
//! per backend over time with the windows where a backend was down or slow shaded.

use std::fmt::Write;

use super::Plan;
use super::results::{BINS, Figures, percentile};
use crate::sim::rng::det_ln;
use crate::sim::{Fault, SECS, ScheduledFault, Time};

const COLORS: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f",
];
const W: f64 = 900.0;
const L: f64 = 70.0;
const R: f64 = 230.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Latency CDF per strategy: x is the latency on a log scale, y the fraction of requests done
/// within it.
pub fn latency_cdf(figs: &[Figures], timeout: Time) -> String {
    let h = 360.0;
    let (top, bottom) = (30.0, h - 40.0);
    let lo = figs
        .iter()
        .filter_map(|f| f.latencies.first().copied())
        .min()
        .unwrap_or(1)
        .max(10_000) as f64; // 10 µs
    let hi = figs
        .iter()
        .filter_map(|f| f.latencies.last().copied())
        .max()
        .unwrap_or(timeout)
        .max(lo as Time * 10) as f64;
    let (llo, lhi) = (det_ln(lo), det_ln(hi));
    let x_of = |t: f64| L + (W - L - R) * ((det_ln(t.max(lo)) - llo) / (lhi - llo));
    let y_of = |q: f64| bottom - (bottom - top) * q;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif"><text x="{L}" y="18" font-size="14">Latency CDF per strategy (log scale; a timeout counts as {}ms)</text>"#,
        timeout / 1_000_000
    );
    let _ = write!(
        s,
        r##"<line x1="{L}" y1="{bottom}" x2="{:.1}" y2="{bottom}" stroke="#333"/><line x1="{L}" y1="{top}" x2="{L}" y2="{bottom}" stroke="#333"/>"##,
        W - R
    );
    for q in [0.0, 0.25, 0.5, 0.75, 0.9, 1.0] {
        let y = y_of(q);
        let _ = write!(
            s,
            r##"<line x1="{L}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{q}</text>"##,
            W - R,
            L - 4.0,
            y + 4.0
        );
    }
    // Decades of latency on the x axis.
    let mut t = 1_000u64; // 1 µs
    while (t as f64) <= hi * 1.0001 {
        for m in [1, 2, 5] {
            let v = (t * m) as f64;
            if v >= lo && v <= hi {
                let x = x_of(v);
                let label = if v >= 1e6 {
                    format!("{}ms", v / 1e6)
                } else {
                    format!("{}us", v / 1e3)
                };
                let _ = write!(
                    s,
                    r##"<line x1="{x:.1}" y1="{bottom}" x2="{x:.1}" y2="{:.1}" stroke="#888"/><text x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle">{label}</text>"##,
                    bottom + 4.0,
                    bottom + 16.0
                );
            }
        }
        t = t.saturating_mul(10);
    }
    for (i, f) in figs.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let mut pts = String::new();
        for k in 0..=200 {
            let q = k as f64 / 200.0;
            let q = if k == 200 { 0.999 } else { q };
            let v = percentile(&f.latencies, q) as f64;
            let _ = write!(pts, "{:.1},{:.1} ", x_of(v.max(lo)), y_of(q));
        }
        let _ = write!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{c}" stroke-width="1.6"><title>{}</title></polyline>"#,
            pts.trim_end(),
            f.strategy.name()
        );
        let ly = top + 14.0 * i as f64 + 6.0;
        let _ = write!(
            s,
            r#"<line x1="{:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{c}" stroke-width="3"/><text x="{:.1}" y="{:.1}" font-size="11">{} (p99 {:.1}ms)</text>"#,
            W - R + 10.0,
            W - R + 28.0,
            W - R + 32.0,
            ly + 4.0,
            esc(f.strategy.name()),
            f.pct(0.99) as f64 / 1e6
        );
    }
    s.push_str("</svg>");
    s
}

/// Windows to shade: backends down (crashed, paused, cut off) and slow.
fn windows(
    faults: &[ScheduledFault],
    down: &[Vec<(Time, Time)>],
    end: Time,
) -> Vec<(Time, Time, String, &'static str)> {
    let mut out = Vec::new();
    for (b, ws) in down.iter().enumerate() {
        for &(s, e) in ws {
            out.push((s, e, format!("n{b} down"), "#f08c8c"));
        }
    }
    for (i, f) in faults.iter().enumerate() {
        if let Fault::Slow { node, factor } = f.fault
            && factor > 1
        {
            let e = faults[i + 1..]
                .iter()
                .find(|x| matches!(x.fault, Fault::Slow { node: m, .. } if m == node))
                .map_or(end, |x| x.at);
            out.push((f.at, e, format!("n{node} slow x{factor}"), "#c9c9c9"));
        }
    }
    out
}

/// Each strategy's tries per backend per second over time, one panel per strategy.
pub fn backend_load(
    figs: &[Figures],
    plan: &Plan,
    faults: &[ScheduledFault],
    down: &[Vec<(Time, Time)>],
    end: Time,
) -> String {
    let panel = 130.0;
    let h = 40.0 + panel * figs.len() as f64 + 20.0;
    let bin_secs = (end / BINS as Time).max(1) as f64 / SECS as f64;
    let ws = windows(faults, down, end);
    let x_of = |t: f64| L + (W - L - R) * (t / end as f64);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif"><text x="{L}" y="18" font-size="14">Tries per second to each backend, per strategy; shaded: a backend down (red) or slow (grey)</text>"#
    );
    let peak = figs
        .iter()
        .flat_map(|f| f.series.iter().flatten())
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    for (p, f) in figs.iter().enumerate() {
        let top = 34.0 + panel * p as f64;
        let bottom = top + panel - 22.0;
        for (i, (a, b, label, color)) in ws.iter().enumerate() {
            let (x1, x2) = (x_of(*a as f64), x_of((*b).min(end) as f64));
            let _ = write!(
                s,
                r#"<rect x="{x1:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{color}" opacity="0.35"><title>{}</title></rect>"#,
                (x2 - x1).max(1.0),
                bottom - top,
                esc(label)
            );
            if p == 0 {
                let _ = write!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" font-size="9" fill="#555">{}</text>"##,
                    x1 + 2.0,
                    top + 10.0 + (i % 3) as f64 * 10.0,
                    esc(label)
                );
            }
        }
        let _ = write!(
            s,
            r##"<line x1="{L}" y1="{bottom:.1}" x2="{:.1}" y2="{bottom:.1}" stroke="#333"/><line x1="{L}" y1="{top:.1}" x2="{L}" y2="{bottom:.1}" stroke="#333"/><text x="{:.1}" y="{:.1}" font-size="12" font-weight="bold">{}</text><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end">{:.0}/s</text>"##,
            W - R,
            W - R + 10.0,
            top + 12.0,
            esc(f.strategy.name()),
            L - 4.0,
            top + 8.0,
            peak / bin_secs
        );
        for b in 0..plan.backend_count as usize {
            let c = COLORS[b % COLORS.len()];
            let mut pts = String::new();
            for (k, row) in f.series.iter().enumerate() {
                let t = (k as f64 + 0.5) * end as f64 / BINS as f64;
                let y = bottom - (bottom - top - 4.0) * row[b] as f64 / peak;
                let _ = write!(pts, "{:.1},{y:.1} ", x_of(t));
            }
            let _ = write!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{c}" stroke-width="1.2"><title>n{b}</title></polyline>"#,
                pts.trim_end()
            );
        }
        let _ = write!(
            s,
            r##"<text x="{L}" y="{:.1}" font-size="10" fill="#555">0s</text><text x="{:.1}" y="{:.1}" font-size="10" fill="#555" text-anchor="end">{:.1}s</text>"##,
            bottom + 12.0,
            W - R,
            bottom + 12.0,
            end as f64 / SECS as f64
        );
    }
    for b in 0..plan.backend_count as usize {
        let y = 40.0 + 14.0 * b as f64;
        let _ = write!(
            s,
            r#"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="3"/><text x="{:.1}" y="{:.1}" font-size="11">n{b}</text>"#,
            W - R + 90.0,
            W - R + 108.0,
            COLORS[b % COLORS.len()],
            W - R + 112.0,
            y + 4.0
        );
    }
    s.push_str("</svg>");
    s
}
