//! The picture of a linearizability violation, in the style Porcupine made popular: one row
//! per client, each operation a bar from invocation to completion, the partial linearization
//! found numbered in order, and the operations that could not be placed in red.

use std::fmt::Write;

use super::svg::esc;
use crate::sim::{Time, fmt_time};
use crate::workload::OpRecord;

/// Draws `ops[i]` for every index in `linearized` and `unplaced` plus the other operations of
/// the same clients that overlap them in time.
pub fn counterexample_svg(ops: &[OpRecord], linearized: &[usize], unplaced: &[usize]) -> String {
    let mut shown: Vec<usize> = linearized
        .iter()
        .chain(unplaced)
        .copied()
        .filter(|&i| i < ops.len())
        .collect();
    shown.sort_unstable();
    shown.dedup();
    let shown: Vec<usize> = shown
        .into_iter()
        .rev()
        .take(60)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let Some(&first) = shown.first() else {
        return r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>"#
            .to_string()
            + "\n";
    };
    let from: Time = shown
        .iter()
        .map(|&i| ops[i].call)
        .min()
        .unwrap_or(ops[first].call);
    let to: Time = shown
        .iter()
        .map(|&i| ops[i].ret.unwrap_or(ops[i].call))
        .max()
        .unwrap_or(from)
        .max(from + 1);
    let to = to + (to - from) / 10 + 1;
    let mut clients: Vec<u32> = shown.iter().map(|&i| ops[i].client).collect();
    clients.sort_unstable();
    clients.dedup();
    let (left, top, row, width) = (70.0, 40.0, 44.0, 980.0);
    let height = top + row * clients.len() as f64 + 50.0;
    let x = |t: Time| left + (width - left - 20.0) * ((t - from) as f64 / (to - from) as f64);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0}" viewBox="0 0 {width} {height:.0}" font-family="sans-serif">"#
    );
    let _ = write!(
        s,
        r#"<text x="8" y="18" font-size="13">Not linearizable: blue bars took effect in the numbered order; red bars could not take effect next.</text>"#
    );
    for (k, c) in clients.iter().enumerate() {
        let _ = write!(
            s,
            r#"<text x="8" y="{:.1}" font-size="12">client {c}</text>"#,
            top + row * k as f64 + 24.0
        );
    }
    for &i in &shown {
        let o = &ops[i];
        let k = clients.iter().position(|&c| c == o.client).unwrap_or(0);
        let y = top + row * k as f64 + 8.0;
        let (x1, x2) = (x(o.call), x(o.ret.unwrap_or(to)));
        let order = linearized.iter().position(|&j| j == i);
        let bad = unplaced.contains(&i);
        let fill = if bad {
            "#e06060"
        } else if order.is_some() {
            "#7fb2e5"
        } else {
            "#cccccc"
        };
        let dash = if o.ret.is_none() {
            r#" stroke-dasharray="4,2""#
        } else {
            ""
        };
        let _ = write!(
            s,
            r##"<rect x="{x1:.1}" y="{y:.1}" width="{:.1}" height="26" fill="{fill}" stroke="#333"{dash}><title>#{i} {} [{}s, {}]</title></rect>"##,
            (x2 - x1).max(2.0),
            esc(&o.desc),
            fmt_time(o.call),
            o.ret.map_or("never completed".to_string(), |r| format!(
                "{}s",
                fmt_time(r)
            ))
        );
        let text: String = o
            .desc
            .chars()
            .take(((x2 - x1) / 5.5).max(6.0) as usize)
            .collect();
        let tag = match order {
            Some(n) => format!("{}. ", n + 1),
            None => String::new(),
        };
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="9">{}{}</text>"#,
            x1 + 2.0,
            y + 16.0,
            tag,
            esc(&text)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{left}" y="{:.1}" font-size="10">{}s</text>"#,
        height - 12.0,
        fmt_time(from)
    );
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end">{}s</text>"#,
        width - 20.0,
        height - 12.0,
        fmt_time(to)
    );
    s.push_str("</svg>\n");
    s
}
