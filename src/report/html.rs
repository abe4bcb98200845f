//! `report.html`: one self-contained page (inline SVG, inline CSS, no script) with the
//! summary, the checks, the plots and, for a violation, the operations involved.

use std::fmt::Write;
use std::io;
use std::path::{Path, PathBuf};

use super::svg::{esc, fault_windows, latency_svg, roles_svg, throughput_svg};
use super::{Summary, verdict_word, write_atomic};
use crate::protocols::{RunOutcome, RunSpec, Verdict};
use crate::sim::fmt_time;

/// Writes the plots and `report.html` into `dir`.
pub fn write_visuals(
    dir: &Path,
    spec: &RunSpec,
    outcome: &RunOutcome,
    summary: &Summary,
) -> io::Result<Vec<PathBuf>> {
    let end = outcome.stats.time.max(1);
    let windows = fault_windows(spec, end);
    let mut files = Vec::new();
    let mut plots: Vec<(&str, String)> = Vec::new();
    if !outcome.ops.is_empty() {
        plots.push((
            "latency.svg",
            latency_svg(
                &outcome.ops,
                &windows,
                end,
                "Latency of each operation (hover for details)",
            ),
        ));
        plots.push((
            "throughput.svg",
            throughput_svg(&outcome.ops, &windows, end),
        ));
    }
    if !outcome.roles.is_empty() {
        plots.push((
            "roles.svg",
            roles_svg(&outcome.roles, spec.servers, &windows, end),
        ));
    }
    // A message sequence diagram: around the first violation's operations, else the start.
    if !outcome.records.is_empty() {
        let nodes = outcome
            .records
            .iter()
            .map(|r| r.node.0.max(r.peer.0))
            .max()
            .unwrap_or(0)
            + 1;
        let focus = outcome
            .checks
            .iter()
            .filter(|c| c.verdict == Verdict::Violation)
            .flat_map(|c| c.unplaced.iter().chain(&c.ops))
            .filter_map(|&i| outcome.ops.get(i))
            .map(|o| o.call)
            .next();
        let (from, to) = match focus {
            Some(t) => (t.saturating_sub(100_000_000), t + 200_000_000),
            None => (0, 500_000_000),
        };
        plots.push((
            "sequence.svg",
            super::sequence::sequence_svg(&outcome.records, nodes, spec.servers, from, to),
        ));
    }
    if let Some(c) = outcome
        .checks
        .iter()
        .find(|c| !c.linearized.is_empty() || !c.unplaced.is_empty())
    {
        plots.push((
            "counterexample.svg",
            super::counterexample::counterexample_svg(&outcome.ops, &c.linearized, &c.unplaced),
        ));
    }
    // The protocol's own plots, as it drew them.
    for (name, svg) in &outcome.plots {
        plots.push((name.as_str(), svg.clone()));
    }
    for (name, svg) in &plots {
        let p = dir.join(name);
        write_atomic(&p, svg.as_bytes())?;
        files.push(p);
    }
    if !outcome.ops.is_empty()
        && let Some(png) = super::png::latency_png(&outcome.ops, &windows, end)
    {
        let p = dir.join("latency.png");
        write_atomic(&p, &png)?;
        files.push(p);
    }
    let mut h = String::new();
    let title = format!("{} seed {}", summary.scenario, summary.seed);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>body{{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}}\
         .pass{{color:#1d7a35}}.violation{{color:#b3261e}}.unknown{{color:#9a6b00}}.inconclusive{{color:#9a6b00}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}}\
         pre{{background:#f6f6f6;padding:8px;overflow-x:auto}}</style></head><body>\n",
        esc(&title)
    );
    let class = summary.verdict.name();
    let _ = writeln!(
        h,
        "<h1>{}</h1>\n<p id=\"verdict\" class=\"{class}\"><b>{}</b></p>",
        esc(&title),
        esc(verdict_word(summary.verdict))
    );
    let _ = writeln!(
        h,
        "<p>{} / {} &middot; simulated {}s &middot; {} events &middot; trace hash <code>{}</code></p>\n<p>Reproduce: <code>{}</code></p>",
        esc(&summary.protocol),
        esc(&summary.variant),
        fmt_time(summary.sim_time_ns),
        summary.events,
        summary.trace_hash,
        esc(&summary.reproduce)
    );
    h.push_str("<h2>Checks</h2><table><tr><th>check</th><th>verdict</th><th>detail</th></tr>\n");
    for c in &outcome.checks {
        let cl = c.verdict.name();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"{cl}\">{cl}</td><td><pre>{}</pre></td></tr>",
            esc(&c.name),
            esc(&c.detail)
        );
    }
    h.push_str("</table>\n");
    if !summary.fault_effects.is_empty() {
        h.push_str("<h2>Fault effects</h2><table><tr><th>fault</th><th>what it did</th></tr>\n");
        for f in &summary.fault_effects {
            let (cl, mark) = if f.no_effect {
                (" class=\"unknown\"", "no effect: ")
            } else {
                ("", "")
            };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td{cl}>{mark}{}</td></tr>",
                esc(&f.fault),
                esc(&f.effect)
            );
        }
        h.push_str("</table>\n");
    }
    for c in outcome
        .checks
        .iter()
        .filter(|c| c.verdict == Verdict::Violation && !c.ops.is_empty())
    {
        let table = |h: &mut String, ids: &[usize]| {
            h.push_str("<table><tr><th>#</th><th>client</th><th>invoked</th><th>completed</th><th>operation</th></tr>\n");
            for &i in ids.iter().take(200) {
                if let Some(o) = outcome.ops.get(i) {
                    let ret = o.ret.map_or("?".to_string(), fmt_time);
                    let _ = writeln!(
                        h,
                        "<tr><td>{i}</td><td>c{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        o.client,
                        fmt_time(o.call),
                        ret,
                        esc(&o.desc)
                    );
                }
            }
            if ids.len() > 200 {
                let _ = writeln!(
                    h,
                    "<tr><td colspan=\"5\">... {} more</td></tr>",
                    ids.len() - 200
                );
            }
            h.push_str("</table>\n");
        };
        if !c.unplaced.is_empty() {
            let _ = writeln!(
                h,
                "<h3>{}: operations that could not take effect</h3>",
                esc(&c.name)
            );
            table(&mut h, &c.unplaced);
        }
        // Long lists fold away: the story is in the few lines above and in the pictures.
        let open = if c.ops.len() <= 20 { " open" } else { "" };
        let _ = writeln!(
            h,
            "<details{open}><summary>All {} operations involved in {}</summary>",
            c.ops.len(),
            esc(&c.name)
        );
        table(&mut h, &c.ops);
        h.push_str("</details>\n");
    }
    for t in &summary.tables {
        let _ = write!(h, "<h2>{}</h2><table><tr>", esc(&t.title));
        for c in &t.columns {
            let _ = write!(h, "<th>{}</th>", esc(c));
        }
        h.push_str("</tr>\n");
        for r in &t.rows {
            h.push_str("<tr>");
            for c in r {
                let _ = write!(h, "<td>{}</td>", esc(c));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
    }
    h.push_str("<h2>What happened</h2>\n");
    for (name, svg) in &plots {
        let caption = match *name {
            "latency.svg" => "Latency of each operation over time; shaded: fault windows",
            "throughput.svg" => "Completed operations over time",
            "roles.svg" => "Who led when",
            "sequence.svg" => "Messages around the first violation (or the start of the run)",
            "counterexample.svg" => "Why the history is not linearizable",
            _ => "",
        };
        let _ = writeln!(h, "<h3>{}</h3><p><small>{name}</small></p>", esc(caption));
        h.push_str(svg);
    }
    h.push_str("<h2>Faults</h2><pre>");
    if spec.faults.is_empty() {
        h.push_str("none");
    }
    for f in &spec.faults {
        let _ = writeln!(h, "{}", esc(&f.to_string()));
    }
    h.push_str("</pre>\n<h2>Counters</h2><pre>");
    let _ = write!(
        h,
        "{}",
        esc(&serde_json::to_string_pretty(&summary.counters).unwrap_or_default())
    );
    h.push_str("</pre>\n</body></html>\n");
    let p = dir.join("report.html");
    write_atomic(&p, h.as_bytes())?;
    files.push(p);
    Ok(files)
}
