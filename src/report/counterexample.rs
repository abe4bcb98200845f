//! The picture of a linearizability violation, in the style Porcupine made popular: one row
//! per client, each operation a bar from invocation to completion, the partial linearization
//! found numbered in order, and the operations that could not be placed in red. It draws any
//! history: a simulated run's (`counterexample_svg`) or one read from a file
//! (`counterexample_bars`, with the file's own time labels).

use std::fmt::Write;

use super::svg::esc;
use crate::sim::fmt_time;
use crate::workload::OpRecord;

type Time = u64;

/// The most linearized operations drawn: the end of the partial order, where it got stuck.
const TAIL: usize = 12;

/// One operation as drawn: who, when, what.
#[derive(Clone, Debug)]
pub struct Bar<'a> {
    pub client: u64,
    pub call: u64,
    /// `None`: never completed.
    pub ret: Option<u64>,
    pub desc: &'a str,
}

/// Simulated time in seconds.
pub fn sim_seconds(t: u64) -> String {
    format!("{}s", fmt_time(t))
}

/// The bars of a simulated run's operations.
pub fn bars_of(ops: &[OpRecord]) -> Vec<Bar<'_>> {
    ops.iter()
        .map(|o| Bar {
            client: o.client as u64,
            call: o.call,
            ret: o.ret,
            desc: &o.desc,
        })
        .collect()
}

/// The counterexample of a simulated run (times in simulated seconds).
pub fn counterexample_svg(
    ops: &[OpRecord],
    linearized: &[usize],
    unplaced: &[usize],
    culprits: &[usize],
) -> String {
    counterexample_bars(&bars_of(ops), linearized, unplaced, culprits, &sim_seconds)
}

/// Draws the last `TAIL` operations of `linearized` (numbered in their order), every
/// operation of `unplaced` (red) and the `culprits` (completed operations without which the
/// history could be linearized: orange, outlined), on a time axis zoomed to them, with a legend below that
/// spells each one out. `time` labels a time.
pub fn counterexample_bars(
    ops: &[Bar<'_>],
    linearized: &[usize],
    unplaced: &[usize],
    culprits: &[usize],
    time: &dyn Fn(u64) -> String,
) -> String {
    let skipped = linearized.len().saturating_sub(TAIL);
    let tail = &linearized[skipped..];
    let mut shown: Vec<usize> = tail
        .iter()
        .chain(unplaced.iter().take(TAIL))
        .chain(culprits.iter().take(TAIL))
        .copied()
        .filter(|&i| i < ops.len())
        .collect();
    // Each once, in first-seen order (linearized, then unplaced, then culprits).
    let mut seen = std::collections::BTreeSet::new();
    shown.retain(|&i| seen.insert(i));
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
    let mut clients: Vec<u64> = shown.iter().map(|&i| ops[i].client).collect();
    clients.sort_unstable();
    clients.dedup();
    let (left, top, row, width) = (70.0, 40.0, 44.0, 980.0);
    let legend_top = top + row * clients.len() as f64 + 44.0;
    let line = 15.0;
    let height = legend_top + line * (shown.len() + 1) as f64 + 10.0;
    let x = |t: Time| left + (width - left - 20.0) * ((t - from) as f64 / (to - from) as f64);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0}" viewBox="0 0 {width} {height:.0}" font-family="sans-serif">"#
    );
    let _ = write!(
        s,
        r#"<text x="8" y="18" font-size="13">Not linearizable: blue bars took effect in the numbered order; red could not take effect next; orange (thick outline): the completed operations that make it impossible.</text>"#
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
        let order = tail.iter().position(|&j| j == i).map(|n| n + skipped);
        let bad = unplaced.contains(&i);
        let culprit = culprits.contains(&i);
        let fill = if culprit {
            "#f0a030"
        } else if bad {
            "#e06060"
        } else if order.is_some() {
            "#7fb2e5"
        } else {
            "#cccccc"
        };
        let dash = match (o.ret.is_none(), culprit) {
            (true, _) => r#" stroke-dasharray="4,2""#,
            (false, true) => r#" stroke-width="3""#,
            _ => "",
        };
        let _ = write!(
            s,
            r##"<rect x="{x1:.1}" y="{y:.1}" width="{:.1}" height="26" fill="{fill}" stroke="#333"{dash}><title>#{i} {} [{}, {}]</title></rect>"##,
            (x2 - x1).max(2.0),
            esc(o.desc),
            time(o.call),
            o.ret.map_or("never completed".to_string(), time)
        );
        // The number always; the description only where the bar has room (the legend
        // below has them all).
        let tag = match order {
            Some(n) if culprit => format!("{}. culprit", n + 1),
            Some(n) => format!("{}.", n + 1),
            None if culprit => "culprit".to_string(),
            None if bad => "!".to_string(),
            None => String::new(),
        };
        let room = ((x2 - x1) / 5.5) as usize;
        let label = if room > tag.len() + 6 {
            let d: String = o.desc.chars().take(room - tag.len() - 1).collect();
            format!("{tag} {d}")
        } else {
            tag
        };
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="9">{}</text>"#,
            x1 + 2.0,
            y + 16.0,
            esc(&label)
        );
    }
    // The legend: each drawn operation in full, in linearization order, then the red ones.
    let head = if skipped > 0 {
        format!("… {skipped} operations took effect before these:")
    } else {
        "In order:".to_string()
    };
    let _ = write!(
        s,
        r#"<text x="8" y="{legend_top:.1}" font-size="11">{}</text>"#,
        esc(&head)
    );
    for (k, &i) in shown.iter().enumerate() {
        let o = &ops[i];
        let bad = unplaced.contains(&i) && !tail.contains(&i);
        let culprit = culprits.contains(&i);
        let pos = tail.iter().position(|&j| j == i);
        let text = format!(
            "{}{} #{i} client {} [{}, {}] {}",
            match pos {
                Some(n) => format!("{}.", skipped + n + 1),
                None if bad => "could not take effect:".to_string(),
                None => String::new(),
            },
            if culprit {
                " CULPRIT (no order explains it):"
            } else {
                ""
            },
            o.client,
            time(o.call),
            o.ret.map_or("never completed".to_string(), time),
            o.desc
        );
        let fill = if culprit {
            "#a05a00"
        } else if bad {
            "#b3261e"
        } else {
            "#222"
        };
        let _ = write!(
            s,
            r#"<text x="16" y="{:.1}" font-size="11" fill="{fill}" font-family="monospace">{}</text>"#,
            legend_top + line * (k + 1) as f64,
            esc(&text)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{left}" y="{:.1}" font-size="10">{}</text>"#,
        legend_top - 24.0,
        esc(&time(from))
    );
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end">{}</text>"#,
        width - 20.0,
        legend_top - 24.0,
        esc(&time(to))
    );
    s.push_str("</svg>\n");
    s
}
