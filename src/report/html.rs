//! `report.html`: one self-contained page (inline SVG, inline CSS, one inline script for the
//! step-through view; no network): the scenario's title and description, the verdict, the
//! checks, for a violation its culprit operations and the servers that answered them, the
//! plots (each timeline marked at the violation), the causal slice of the messages, the
//! step-through view, and the faults and counters as tables. Names from `cluster.names` are
//! used throughout; operations are numbered `#i` (their index in the history) everywhere.

use std::fmt::Write;
use std::io;
use std::path::PathBuf;

use super::Summary;
use super::focus::{Focus, Names, focus, focus_in};
use super::sequence::{LabelTexts, Options, diagram};
use super::stepper::{Steps, recorded, replay_window};
use super::svg::{esc, fault_windows, latency_svg, roles_svg, throughput_svg, with_marker};
use crate::protocols::{CheckOutcome, RunOutcome, RunSpec, Verdict};
use crate::sim::fmt_time;

const STYLE: &str = "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}\
.pass{color:#1d7a35}.violation{color:#b3261e}.unknown{color:#9a6b00}.inconclusive{color:#9a6b00}.skipped{color:#666}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}\
pre{background:#f6f6f6;padding:8px;overflow-x:auto;white-space:pre-wrap}.scroll{overflow:auto;max-height:900px}\
tr.culprit td{background:#fde7c8}tr.unplaced td{background:#f8d7d4}.desc{font-size:1.05em;line-height:1.4}\
#stepper{border:1px solid #ccc;padding:8px}.nodes{display:flex;flex-wrap:wrap;gap:6px;margin:6px 0}\
.node{border:1px solid #bbb;padding:4px;min-width:150px;max-width:260px;font-size:12px}\
.node.hl{border:3px solid #b3261e}.node .name{font-weight:bold}.node .role{padding:1px 4px;margin:2px 0}\
.node .why{color:#b3261e}.log{display:flex;flex-wrap:wrap;gap:2px;margin-top:3px}\
.log .e{border:1px solid #999;padding:1px 3px;font-size:10px;max-width:70px;overflow:hidden}\
#st-event{font-family:monospace;font-size:12px;margin:4px 0}#stepper table{font-size:12px}";

/// Writes the plots and `report.html` into the report folder being written, `dir`.
pub fn write_visuals(
    dir: &mut super::DirWriter,
    spec: &RunSpec,
    outcome: &RunOutcome,
    summary: &Summary,
    extras: super::Extras,
) -> io::Result<Vec<PathBuf>> {
    let end = outcome.stats.time.max(1);
    let mut focus = focus(spec, outcome);
    // The step-through view's window and the diagrams' together: what a replay records
    // when the run kept no records.
    let want = match extras.steps {
        Steps::Window => Some(replay_window(&focus)),
        Steps::All => None,
    };
    let rec = recorded(spec, outcome, want);
    if rec.replayed {
        // The servers that answered the culprits, from the replay's records.
        focus = focus_in(spec, outcome, &rec.records);
    }
    let names = Names::new(spec).with_extra_nodes(spec.workload.clients, &rec.views);
    // The diagrams and the step-through view show many of the same events: each label is
    // formatted (and cut short) once.
    let texts = LabelTexts::new(&rec.records, &rec.labels);
    let windows = fault_windows(spec, end);
    // Each plot: its file name (with `--plots`), its heading, its SVG.
    let mut plots: Vec<(&str, &str, String)> = Vec::new();
    if !outcome.ops.is_empty() {
        let title = "Latency of each operation (hover for details)";
        let svg = latency_svg(&outcome.ops, &windows, end, title);
        plots.push((
            "latency.svg",
            "Latency: each operation over time; shaded: fault windows (F<n>: the fault table below)",
            with_marker(svg, focus.time, end),
        ));
        let svg = throughput_svg(&outcome.ops, &windows, end);
        plots.push((
            "throughput.svg",
            "Throughput: completed operations over time",
            with_marker(svg, focus.time, end),
        ));
    }
    if !outcome.roles.is_empty() {
        let svg = roles_svg(&outcome.roles, spec.servers, &windows, end, &names);
        plots.push((
            "roles.svg",
            "Roles: each node's role over time",
            with_marker(svg, focus.time, end),
        ));
    }
    if let Some(c) = outcome
        .checks
        .iter()
        .find(|c| !c.linearized.is_empty() || !c.unplaced.is_empty())
    {
        plots.push((
            "counterexample.svg",
            "Counterexample: why the history is not linearizable",
            super::counterexample::counterexample_svg(
                &outcome.ops,
                &c.linearized,
                &c.unplaced,
                &c.culprits,
            ),
        ));
    }
    // Message diagrams: the causal slice of a violation, and the whole window around it.
    if !rec.records.is_empty() {
        let nodes = spec.servers + spec.workload.clients;
        let mut opt = Options {
            names: names.clone(),
            highlight: &focus.servers,
            marker: focus.time,
            slice: None,
            ops: outcome.ops_traced(),
            labels: &texts,
        };
        let draw = |opt: &Options<'_>| {
            diagram(&rec.records, nodes, spec.servers, focus.from, focus.to, opt)
        };
        if !focus.targets.is_empty() {
            opt.slice = Some(&focus.targets);
            plots.push((
                "causal.svg",
                "Causal slice: the messages the violation depends on (its happens-before past)",
                draw(&opt),
            ));
            opt.slice = None;
        }
        plots.push((
            "sequence.svg",
            "Message diagram: every message in the window",
            draw(&opt),
        ));
    }
    // The protocol's own plots, as it drew them.
    for p in &outcome.plots {
        plots.push((&p.file, &p.caption, p.svg.clone()));
    }
    let mut files = Vec::new();
    if extras.plots {
        for (name, _, svg) in &plots {
            files.push(dir.write(name, svg.as_bytes())?);
        }
    }
    if extras.png
        && !outcome.ops.is_empty()
        && let Some(png) = super::png::latency_png(&outcome.ops, &windows, end)
    {
        files.push(dir.write("latency.png", &png)?);
    }
    // The page's text before its first plot (head, checks, tables): the plots and the
    // step-through view come after, each in its own text.
    let mut h = String::with_capacity(1 << 14);
    head(&mut h, spec, summary, &names);
    checks(&mut h, outcome, &names);
    for c in outcome
        .checks
        .iter()
        .filter(|c| c.verdict == Verdict::Violation && !c.ops.is_empty())
    {
        violation(&mut h, outcome, c, &focus, &names);
    }
    if focus.time.is_some() && !focus.servers.is_empty() {
        h.push_str("<p><b>Servers involved:</b> ");
        for (k, (n, why)) in focus.servers.iter().enumerate() {
            let sep = if k > 0 { "; " } else { "" };
            let _ = write!(h, "{sep}{} ({})", esc(&names.node(*n)), esc(why));
        }
        h.push_str("</p>\n");
    }
    for t in &summary.tables {
        let rows: Vec<Vec<String>> = t.rows.clone();
        let cols: Vec<&str> = t.columns.iter().map(String::as_str).collect();
        table(&mut h, &t.title, &cols, &rows);
    }
    h.push_str("<h2>What happened</h2>\n");
    // The page's text before each plot; `h` then holds the text after the last.
    let mut page: Vec<String> = Vec::with_capacity(plots.len());
    for (name, caption, _) in &plots {
        // Each heading names its plot as the scenarios' descriptions and the tour do ("the
        // roles plot").
        if !caption.is_empty() {
            let _ = writeln!(h, "<h3>{}</h3>", esc(caption));
        }
        if extras.plots {
            let _ = writeln!(h, "<p><small>{name}</small></p>");
        }
        // The plot goes into the file where it stands, from its own text: not copied into
        // the page's.
        if *name == "sequence.svg" && plots.iter().any(|p| p.0 == "causal.svg") {
            h.push_str("<details><summary>show the full window</summary><div class=\"scroll\">");
            page.push(std::mem::take(&mut h));
            h.push_str("</div></details>\n");
        } else {
            h.push_str("<div class=\"scroll\">");
            page.push(std::mem::take(&mut h));
            h.push_str("</div>\n");
        }
    }
    // The rest of the page: the step-through view's data (a few hundred kilobytes over a
    // window, megabytes with `--steps all`) without growing the text step by step.
    h.reserve(1 << 20);
    super::stepper::section(
        &mut h,
        spec,
        outcome,
        &rec,
        &texts,
        extras.steps,
        &focus,
        &names,
        &windows,
    );
    faults(&mut h, spec, summary, &names);
    let counters = serde_json::to_value(&summary.counters).unwrap_or_default();
    let rows: Vec<Vec<String>> = counters
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| vec![k.replace('_', " "), v.to_string()])
                .collect()
        })
        .unwrap_or_default();
    table(&mut h, "Counters", &["counter", "count"], &rows);
    h.push_str("</body></html>\n");
    drop(texts);
    // Freed with the run's outcome, like the rest of the run (`faultline run` leaves that
    // to the process's exit): freeing the replay's views one by one costs a tenth of a report.
    rec.keep_in(outcome);
    let mut parts: Vec<&[u8]> = Vec::with_capacity(2 * plots.len() + 1);
    for (text, (_, _, svg)) in page.iter().zip(&plots) {
        parts.push(text.as_bytes());
        parts.push(svg.as_bytes());
    }
    parts.push(h.as_bytes());
    files.push(dir.write_parts("report.html", &parts)?);
    Ok(files)
}

/// Title, description, verdict, the run's numbers and the command that reproduces it.
fn head(h: &mut String, spec: &RunSpec, summary: &Summary, names: &Names) {
    let title = if spec.title.is_empty() {
        summary.scenario.clone()
    } else {
        spec.title.clone()
    };
    let _ = writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} seed {}</title><style>{STYLE}</style></head><body>",
        esc(&title),
        summary.seed
    );
    let _ = writeln!(
        h,
        "<h1>{}</h1>\n<p><code>{}</code> seed {}</p>",
        esc(&title),
        esc(&summary.scenario),
        summary.seed
    );
    if !spec.description.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"desc\">{}</p>",
            esc(&names.text(&spec.description))
        );
    }
    let _ = writeln!(
        h,
        "<p id=\"verdict\" class=\"{}\"><b>{}</b></p>",
        summary.verdict.name(),
        esc(&summary.verdict_line())
    );
    let _ = writeln!(
        h,
        "<p>{} / {} &middot; {} servers ({}) &middot; simulated {}s &middot; {} events &middot; trace hash <code>{}</code></p>\n<p>Reproduce: <code>{}</code></p>",
        esc(&summary.protocol),
        esc(&summary.variant),
        spec.servers,
        esc(&(0..spec.servers)
            .map(|n| names.node(n))
            .collect::<Vec<_>>()
            .join(", ")),
        fmt_time(summary.sim_time_ns),
        summary.events,
        summary.trace_hash,
        esc(&summary.reproduce)
    );
    if spec.record {
        h.push_str("<p><a href=\"#step\">Step through the run</a></p>\n");
    }
}

fn checks(h: &mut String, outcome: &RunOutcome, names: &Names) {
    h.push_str("<h2>Checks</h2><table><tr><th>check</th><th>verdict</th><th>detail</th></tr>\n");
    for c in &outcome.checks {
        let cl = c.verdict.name();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"{cl}\">{cl}</td><td><pre>{}</pre></td></tr>",
            esc(&c.name),
            esc(&names.text(&c.detail))
        );
    }
    h.push_str("</table>\n");
}

/// The operations of a violation: culprits first, then those that could not take effect,
/// then every operation involved (folded when long).
fn violation(h: &mut String, outcome: &RunOutcome, c: &CheckOutcome, focus: &Focus, names: &Names) {
    let ops_table = |h: &mut String, ids: &[usize]| {
        h.push_str("<table><tr><th>#</th><th>client</th><th>invoked</th><th>completed</th><th>operation</th><th>role in the violation</th></tr>\n");
        for &i in ids.iter().take(200) {
            if let Some(o) = outcome.ops.get(i) {
                let (class, role) = if c.culprits.contains(&i) {
                    (" class=\"culprit\"", "culprit: no order explains it")
                } else if c.unplaced.contains(&i) {
                    (" class=\"unplaced\"", "could not take effect")
                } else {
                    ("", "")
                };
                let ret = o.ret.map_or("?".to_string(), fmt_time);
                let _ = writeln!(
                    h,
                    "<tr{class}><td>#{i}</td><td>c{}</td><td>{}s</td><td>{}s</td><td>{}</td><td>{role}</td></tr>",
                    o.client,
                    fmt_time(o.call),
                    ret,
                    esc(&names.text(&o.desc))
                );
            }
        }
        if ids.len() > 200 {
            let _ = writeln!(
                h,
                "<tr><td colspan=\"6\">... {} more</td></tr>",
                ids.len() - 200
            );
        }
        h.push_str("</table>\n");
    };
    let mut key: Vec<usize> = c.culprits.iter().chain(&c.unplaced).copied().collect();
    key.dedup();
    if !key.is_empty() {
        let _ = writeln!(
            h,
            "<h3 id=\"culprits\">{}: the operations that make it impossible</h3>",
            esc(&c.name)
        );
        if let Some(t) = focus.time {
            let _ = writeln!(h, "<p>The violation shows at {}s.</p>", fmt_time(t));
        }
        ops_table(h, &key);
    }
    // Long lists fold away; the involved list always includes the culprits.
    let mut all = c.ops.clone();
    all.extend(&c.culprits);
    all.sort_unstable();
    all.dedup();
    let open = if all.len() <= 20 { " open" } else { "" };
    let _ = writeln!(
        h,
        "<details{open}><summary>All {} operations involved in {}</summary>",
        all.len(),
        esc(&c.name)
    );
    ops_table(h, &all);
    h.push_str("</details>\n");
}

/// The fault schedule, one row per action (`F<n>` as the plots tag them), with what it did.
fn faults(h: &mut String, spec: &RunSpec, summary: &Summary, names: &Names) {
    let rows: Vec<Vec<String>> = if summary.fault_effects.is_empty() {
        spec.faults
            .iter()
            .enumerate()
            .map(|(i, f)| {
                vec![
                    format!("F{}", i + 1),
                    format!("{}s", fmt_time(f.at)),
                    names.text(&f.fault.to_string()).into_owned(),
                    String::new(),
                ]
            })
            .collect()
    } else {
        summary
            .fault_effects
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let mark = if f.no_effect { "NO EFFECT: " } else { "" };
                vec![
                    format!("F{}", i + 1),
                    format!("{}s", fmt_time(f.at_ns)),
                    names
                        .text(f.fault.split_once(' ').map_or(&f.fault[..], |x| x.1))
                        .into_owned(),
                    format!("{mark}{}", names.text(&f.effect)),
                ]
            })
            .collect()
    };
    if rows.is_empty() {
        h.push_str("<h2>Faults</h2><p>none</p>\n");
        return;
    }
    table(h, "Faults", &["", "at", "fault", "what it did"], &rows);
}

fn table(h: &mut String, title: &str, cols: &[&str], rows: &[Vec<String>]) {
    let _ = write!(h, "<h2>{}</h2><table><tr>", esc(title));
    for c in cols {
        let _ = write!(h, "<th>{}</th>", esc(c));
    }
    h.push_str("</tr>\n");
    for r in rows {
        h.push_str("<tr>");
        for c in r {
            let _ = write!(h, "<td>{}</td>", esc(c));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}
