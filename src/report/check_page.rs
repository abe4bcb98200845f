//! The page `faultline check --html` writes for a history read from a file: one self-contained
//! HTML file (inline SVG and CSS, no script). For a violation, the same counterexample a
//! simulated run's report shows (the partial linearization, the operations that cannot take
//! effect next, the zoomed picture); for a linearizable history, a timeline of every operation
//! with the point where it takes effect in the order found, as Porcupine's visualization does.
//! Times are positions of records in the file, labelled with their line.

use std::fmt::Write;

use super::counterexample::{Bar, counterexample_bars};
use super::svg::esc;
use crate::check::Verdict;
use crate::check::parse::FileReport;

/// Marks a page this module wrote (so a later run may replace it, and nothing else).
pub const GENERATOR: &str = "<meta name=\"generator\" content=\"faultline check\">";

/// The mark of a picture `faultline check --report` wrote, right after its opening tag: a
/// later check replaces a picture only if it carries it (never a drawing of the user's).
pub const PICTURE_MARK: &str = "<!-- faultline check -->";

/// The pictures `--report` may write, one of them per check.
pub const PICTURES: [&str; 2] = ["counterexample.svg", "timeline.svg"];

/// A picture as written to its own file: with [`PICTURE_MARK`].
pub fn marked(svg: &str) -> String {
    svg.replacen('>', &format!(">{PICTURE_MARK}"), 1)
}

/// Most operations listed in the page's table.
const TABLE_MAX: usize = 2_000;

/// The operations as bars, and a labeller for times (record positions, shown as file lines).
fn bars_and_time(rep: &FileReport) -> (Vec<Bar<'_>>, impl Fn(u64) -> String + '_) {
    let bars: Vec<Bar<'_>> = rep
        .view
        .iter()
        .map(|o| Bar {
            client: o.client,
            call: o.call,
            ret: o.ret,
            desc: &o.desc,
        })
        .collect();
    (bars, move |t: u64| rep.line_of(t))
}

/// The page's picture as a standalone SVG file: `counterexample.svg` for a violation,
/// `timeline.svg` for a linearizable history (none for an unknown verdict).
pub fn picture(rep: &FileReport) -> Option<(&'static str, String)> {
    let (bars, time) = bars_and_time(rep);
    let r = &rep.result;
    if let Some(c) = &r.counterexample {
        Some((
            PICTURES[0],
            counterexample_bars(&bars, &c.linearized, &c.unplaced, &c.culprits, &time),
        ))
    } else if r.verdict == Verdict::Linearizable {
        Some((PICTURES[1], timeline_svg(&bars, &r.linearization, &time)))
    } else {
        None
    }
}

/// The whole page.
pub fn check_html(file: &str, model: &str, rep: &FileReport) -> String {
    let (bars, time) = bars_and_time(rep);
    let picture = picture(rep).map(|p| p.1).unwrap_or_default();
    let r = &rep.result;
    let (class, word) = match r.verdict {
        Verdict::Linearizable => ("pass", "LINEARIZABLE"),
        Verdict::NotLinearizable => ("violation", "NOT LINEARIZABLE"),
        Verdict::Unknown => ("unknown", "UNKNOWN (search budget exhausted)"),
    };
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"generator\" content=\"faultline check\"><title>{} — {}</title>\
         <style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}\
         .pass{{color:#1d7a35}}.violation{{color:#b3261e}}.unknown{{color:#9a6b00}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}}\
         pre{{background:#f6f6f6;padding:8px;overflow-x:auto}}.scroll{{overflow:auto;max-height:80vh;border:1px solid #ddd}}</style></head><body>\n",
        esc(file),
        word
    );
    let _ = writeln!(
        h,
        "<h1>{}</h1>\n<p id=\"verdict\" class=\"{class}\"><b>{word}</b> against model <code>{}</code></p>",
        esc(file),
        esc(model)
    );
    let _ = writeln!(
        h,
        "<p>{} operations read as <code>{}</code>{} &middot; {} partition(s) &middot; {} search steps</p>",
        rep.ops,
        rep.format.name(),
        if rep.nemesis > 0 {
            format!(" ({} nemesis records ignored)", rep.nemesis)
        } else {
            String::new()
        },
        r.partitions,
        r.steps
    );
    if let Some(c) = &r.counterexample {
        h.push_str("<h2>Why it is not linearizable</h2>\n<pre>");
        h.push_str(&esc(&rep.explanation().unwrap_or_default()));
        h.push_str("</pre>\n<h3>The operations where no order works</h3>\n");
        h.push_str(
            "<p>Blue bars took effect in the numbered order; the red ones could not take effect next; \
             orange ones (thick outline) are the completed operations that make it impossible. \
             Hover a bar for details.</p>\n",
        );
        h.push_str(&picture);
        h.push_str("<h3>Operations that could not take effect</h3>\n");
        table(&mut h, &bars, &c.unplaced, &time);
        if !c.culprits.is_empty() {
            h.push_str(
                "<h3>Culprits: completed operations without any one of which the history could be linearized</h3>\n",
            );
            table(&mut h, &bars, &c.culprits, &time);
        }
    } else if r.verdict == Verdict::Linearizable {
        h.push_str("<h2>Timeline and linearization points</h2>\n");
        h.push_str(
            "<p>One row per client; each bar runs from the invocation to the completion (dashed: \
             never completed). The black tick is where the operation takes effect in the order \
             the checker found; grey bars never took effect. Hover for details.</p>\n<div class=\"scroll\">",
        );
        h.push_str(&picture);
        h.push_str("</div>\n");
    }
    let all: Vec<usize> = (0..bars.len()).collect();
    let open = if bars.len() <= 30 { " open" } else { "" };
    let _ = writeln!(
        h,
        "<details{open}><summary>All {} operations</summary>",
        bars.len()
    );
    table(&mut h, &bars, &all, &time);
    h.push_str("</details>\n</body></html>\n");
    h
}

fn table(h: &mut String, bars: &[Bar<'_>], ids: &[usize], time: &dyn Fn(u64) -> String) {
    h.push_str("<table><tr><th>#</th><th>client</th><th>invoked</th><th>completed</th><th>operation</th></tr>\n");
    for &i in ids.iter().take(TABLE_MAX) {
        if let Some(o) = bars.get(i) {
            let _ = writeln!(
                h,
                "<tr><td>{i}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                o.client,
                time(o.call),
                o.ret.map_or("never".to_string(), time),
                esc(o.desc)
            );
        }
    }
    if ids.len() > TABLE_MAX {
        let _ = writeln!(
            h,
            "<tr><td colspan=\"5\">… {} more</td></tr>",
            ids.len() - TABLE_MAX
        );
    }
    h.push_str("</table>\n");
}

/// Every operation on one row per client, with its linearization point: the order of each
/// partition is laid on the time axis (each point no earlier than the previous one in the
/// order and inside the operation's own interval).
pub fn timeline_svg(
    bars: &[Bar<'_>],
    linearization: &[Vec<usize>],
    time: &dyn Fn(u64) -> String,
) -> String {
    let end = bars
        .iter()
        .map(|b| b.ret.unwrap_or(b.call) + 1)
        .max()
        .unwrap_or(1);
    let mut clients: Vec<u64> = bars.iter().map(|b| b.client).collect();
    clients.sort_unstable();
    clients.dedup();
    // Points: per partition, t = max(previous point, call), nudged to stay ordered.
    let mut point: Vec<Option<(f64, usize)>> = vec![None; bars.len()];
    for order in linearization {
        let mut prev = 0.0f64;
        for (n, &i) in order.iter().enumerate() {
            let Some(b) = bars.get(i) else { continue };
            let hi = b.ret.map_or(end as f64, |r| r as f64);
            let t = (prev.max(b.call as f64) + 0.25).min(hi);
            point[i] = Some((t, n + 1));
            prev = t;
        }
    }
    let (left, top, row) = (80.0, 30.0, 30.0);
    let unit = (2400.0 / end as f64).clamp(1.0, 100.0);
    let width = (left + unit * end as f64 + 50.0).min(200_000.0);
    let unit = (width - left - 50.0) / end as f64;
    let height = top + row * clients.len() as f64 + 30.0;
    let x = |t: f64| left + unit * t;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif">"#
    );
    for (k, c) in clients.iter().enumerate() {
        let y = top + row * k as f64;
        let _ = write!(
            s,
            r##"<text x="6" y="{:.1}" font-size="11">client {c}</text><line x1="{left}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#eee"/>"##,
            y + 17.0,
            y + 24.0,
            width - 20.0,
            y + 24.0
        );
    }
    let few = bars.len() <= 300;
    for (i, b) in bars.iter().enumerate() {
        let k = clients.binary_search(&b.client).unwrap_or(0);
        let y = top + row * k as f64 + 4.0;
        let (x1, x2) = (x(b.call as f64), x(b.ret.unwrap_or(end) as f64));
        let fill = if point[i].is_some() {
            "#7fb2e5"
        } else {
            "#d0d0d0"
        };
        let dash = if b.ret.is_none() {
            r#" stroke-dasharray="4,2""#
        } else {
            ""
        };
        let when = match point[i] {
            Some((_, n)) => format!("takes effect #{n} in its partition's order"),
            None => "never took effect".to_string(),
        };
        let _ = write!(
            s,
            r##"<rect x="{x1:.1}" y="{y:.1}" width="{:.1}" height="18" fill="{fill}" stroke="#555"{dash}><title>#{i} client {} [{}, {}] {} — {}</title></rect>"##,
            (x2 - x1).max(2.0),
            b.client,
            esc(&time(b.call)),
            esc(&b.ret.map_or("never completed".to_string(), time)),
            esc(b.desc),
            when
        );
        let tick = point[i].map(|(t, _)| x(t));
        if let Some(px) = tick {
            let _ = write!(
                s,
                r##"<line x1="{px:.1}" y1="{:.1}" x2="{px:.1}" y2="{:.1}" stroke="#12305a" stroke-width="2"/>"##,
                y - 2.0,
                y + 20.0
            );
        }
        // The description where the bar has room, right of the tick when the tick is early.
        let start = match tick {
            Some(px) if px < x1 + 30.0 => px + 3.0,
            _ => x1 + 3.0,
        };
        let end_x = match tick {
            Some(px) if px > start => px - 2.0,
            _ => x2 - 2.0,
        };
        let room = ((end_x - start) / 5.0).max(0.0) as usize;
        if few && room >= 6 {
            let d: String = b.desc.chars().take(room).collect();
            let _ = write!(
                s,
                r#"<text x="{start:.1}" y="{:.1}" font-size="9">{}</text>"#,
                y + 12.0,
                esc(&d)
            );
        }
    }
    let _ = write!(
        s,
        r#"<text x="{left}" y="{:.1}" font-size="10">{}</text><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end">{}</text>"#,
        height - 8.0,
        esc(&time(0)),
        width - 10.0,
        height - 8.0,
        esc(&time(end - 1))
    );
    s.push_str("</svg>\n");
    s
}
