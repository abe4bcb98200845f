//! Reports of a run: `summary.json` (machine-readable), `summary.txt` (the text the CLI
//! prints), and the visual report (plots, diagrams, `report.html`). Every file is written
//! atomically (a temporary file in the same folder, then a rename), and nothing in a report
//! depends on the wall clock, so two runs of the same seed write identical bytes.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::protocols::{RunOutcome, RunSpec, Table, Verdict};
use crate::sim::{Counters, FaultEffect, fmt_time};
use crate::workload::OpStatus;

pub mod check_page;
pub mod counterexample;
pub mod html;
pub mod png;
pub mod sequence;
pub mod svg;

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// One check in the summary.
#[derive(Clone, Debug, Serialize)]
pub struct CheckSummary {
    pub name: String,
    pub ok: bool,
    pub verdict: Verdict,
    pub detail: String,
}

/// Operation counts.
#[derive(Clone, Debug, Default, Serialize)]
pub struct OpCounts {
    pub invoked: usize,
    pub ok: usize,
    pub fail: usize,
    pub unknown: usize,
}

/// What one action of the fault schedule did.
#[derive(Clone, Debug, Serialize)]
pub struct FaultSummary {
    pub at_ns: u64,
    /// The action, as the schedule prints it (`2.000000000 crash n1`).
    pub fault: String,
    /// One line on what it did.
    pub effect: String,
    /// The action changed nothing: the fault was injected but did not act on the run.
    pub no_effect: bool,
    /// The counts behind `effect`.
    pub counts: FaultEffect,
}

/// `summary.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub protocol: String,
    pub variant: String,
    pub seed: u64,
    pub trace_hash: String,
    pub verdict: Verdict,
    pub stop: String,
    pub sim_time_ns: u64,
    pub events: u64,
    pub ops: OpCounts,
    pub faults: usize,
    /// Per action of the fault schedule, what it did.
    pub fault_effects: Vec<FaultSummary>,
    pub counters: Counters,
    pub checks: Vec<CheckSummary>,
    /// The protocol's own figures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<Table>,
    /// The exact command that reproduces this run.
    pub reproduce: String,
}

impl Summary {
    pub fn new(spec: &RunSpec, outcome: &RunOutcome, reproduce: String) -> Self {
        let mut ops = OpCounts {
            invoked: outcome.ops.len(),
            ..Default::default()
        };
        for o in &outcome.ops {
            match o.status {
                OpStatus::Ok => ops.ok += 1,
                OpStatus::Fail => ops.fail += 1,
                OpStatus::Unknown => ops.unknown += 1,
            }
        }
        Summary {
            scenario: spec.name.clone(),
            protocol: spec.protocol.name().to_string(),
            variant: spec.protocol.variant(),
            seed: spec.seed,
            trace_hash: format!("{:016x}", outcome.stats.trace_hash),
            verdict: outcome.verdict(),
            stop: outcome.stats.stop.to_string(),
            sim_time_ns: outcome.stats.time,
            events: outcome.stats.events,
            ops,
            faults: spec.faults.len(),
            fault_effects: spec
                .faults
                .iter()
                .zip(&outcome.stats.fault_effects)
                .map(|(f, e)| {
                    let (effect, any) = e.describe(&f.fault);
                    FaultSummary {
                        at_ns: f.at,
                        fault: f.to_string(),
                        effect,
                        no_effect: !any,
                        counts: e.clone(),
                    }
                })
                .collect(),
            counters: outcome.stats.counters.clone(),
            checks: outcome
                .checks
                .iter()
                .map(|c| CheckSummary {
                    name: c.name.clone(),
                    ok: c.verdict == Verdict::Pass,
                    verdict: c.verdict,
                    detail: c.detail.clone(),
                })
                .collect(),
            tables: outcome.tables.clone(),
            reproduce,
        }
    }

    /// The short human summary the CLI prints.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let c = &self.counters;
        s.push_str(&format!(
            "scenario   {} ({} / {})\n",
            self.scenario, self.protocol, self.variant
        ));
        s.push_str(&format!("seed       {}\n", self.seed));
        s.push_str(&format!(
            "simulated  {}s, {} events ({})\n",
            fmt_time(self.sim_time_ns),
            self.events,
            self.stop
        ));
        s.push_str(&format!(
            "network    {} sent, {} delivered, {} lost, {} cut by partitions, {} to crashed nodes, {} duplicated\n",
            c.sent, c.delivered, c.dropped_loss, c.dropped_partition, c.dropped_dead, c.duplicated
        ));
        s.push_str(&format!(
            "faults     {} scheduled: {} partitions, {} crashes, {} restarts, {} pauses, {} clock changes\n",
            self.faults, c.partitions, c.crashes, c.restarts, c.pauses, c.clock_changes
        ));
        s.push_str(&self.fault_effects_text());
        if self.ops.invoked > 0 {
            s.push_str(&format!(
                "operations {} invoked: {} ok, {} failed, {} unknown\n",
                self.ops.invoked, self.ops.ok, self.ops.fail, self.ops.unknown
            ));
        }
        s.push_str("checks\n");
        for ch in &self.checks {
            let mark = format!("{:<9}", ch.verdict.word());
            let first = ch.detail.lines().next().unwrap_or("");
            s.push_str(&format!("  {mark} {:<22} {first}\n", ch.name));
        }
        for t in &self.tables {
            s.push_str(&t.text());
        }
        s.push_str(&format!("verdict    {}\n", verdict_word(self.verdict)));
        s.push_str(&format!("trace hash {}\n", self.trace_hash));
        s.push_str(&format!("reproduce  {}\n", self.reproduce));
        s
    }
}

impl Summary {
    /// What each fault action did, at most `SHOWN` lines (the actions without effect first
    /// among those left out are still counted), flagging those that changed nothing.
    fn fault_effects_text(&self) -> String {
        const SHOWN: usize = 8;
        let fx = &self.fault_effects;
        if fx.is_empty() {
            return String::new();
        }
        let idle = fx.iter().filter(|f| f.no_effect).count();
        let mut s = format!(
            "effects    {} of {} fault actions had an effect{}\n",
            fx.len() - idle,
            fx.len(),
            if idle > 0 {
                format!(", {idle} had NO EFFECT")
            } else {
                String::new()
            }
        );
        for f in fx.iter().take(SHOWN) {
            let mark = if f.no_effect { "NO EFFECT: " } else { "" };
            s.push_str(&format!("  {}: {mark}{}\n", f.fault, f.effect));
        }
        if fx.len() > SHOWN {
            s.push_str(&format!(
                "  ... {} more (summary.json and report.html list them all)\n",
                fx.len() - SHOWN
            ));
        }
        s
    }
}

pub fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS: every check passed",
        Verdict::Violation => "VIOLATION: a check failed",
        Verdict::Unknown => "UNKNOWN: a check ran out of budget",
        Verdict::Inconclusive => "INCONCLUSIVE: the run proved nothing (see the `run` check)",
    }
}

/// Writes the whole report of a run into `dir`; returns the files written.
pub fn write_run_report(
    dir: &Path,
    spec: &RunSpec,
    outcome: &RunOutcome,
    reproduce: String,
) -> io::Result<Vec<PathBuf>> {
    let summary = Summary::new(spec, outcome, reproduce);
    let mut written = Vec::new();
    let json = serde_json::to_string_pretty(&summary).map_err(io::Error::other)?;
    let p = dir.join("summary.json");
    write_atomic(&p, json.as_bytes())?;
    written.push(p);
    let p = dir.join("summary.txt");
    write_atomic(&p, summary.text().as_bytes())?;
    written.push(p);
    written.extend(html::write_visuals(dir, spec, outcome, &summary)?);
    Ok(written)
}
