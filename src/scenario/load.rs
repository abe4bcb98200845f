//! Loading a scenario: RON syntax errors located at file:line:column with the source line
//! underlined, then semantic validation that names the field at fault (and its line, where
//! the field appears in the file). Nothing here panics on any input.

#![allow(clippy::result_large_err)] // errors are rare and carry the source line for display

use std::path::Path;

use super::{Expect, Scenario, parse};
use crate::sim::{Fault, fmt_time, validate_schedule};

/// A scenario that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// File name (or `<embedded>`).
    pub file: String,
    /// 1-based line and column, where known.
    pub line: Option<usize>,
    pub col: Option<usize>,
    /// The field at fault, for semantic errors (`cluster.servers`).
    pub field: Option<String>,
    pub message: String,
    /// The source line, for display.
    pub source_line: Option<String>,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.col {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let (Some(src), Some(l)) = (&self.source_line, self.line) {
            let gutter = format!("{l} | ");
            write!(f, "\n{gutter}{src}")?;
            if let Some(c) = self.col {
                let pad: String = src
                    .chars()
                    .take(c.saturating_sub(1))
                    .map(|ch| if ch == '\t' { '\t' } else { ' ' })
                    .collect();
                write!(f, "\n{}{}^", " ".repeat(gutter.len()), pad)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// Reads and validates a scenario file.
pub fn load_file(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: file.clone(),
        line: None,
        col: None,
        field: None,
        message: format!("cannot read the scenario: {e}"),
        source_line: None,
    })?;
    load_str(&text, &file)
}

/// Parses and validates scenario text; `file` names it in errors.
pub fn load_str(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let scenario = parse(text).map_err(|e| {
        let (line, col) = (e.span.start.line, e.span.start.col);
        ScenarioError {
            file: file.to_string(),
            line: Some(line),
            col: Some(col),
            field: None,
            message: explain_ron(&e.code.to_string()),
            source_line: text.lines().nth(line.saturating_sub(1)).map(str::to_string),
        }
    })?;
    validate(&scenario).map_err(|(field, message)| {
        let line = locate(text, &field);
        ScenarioError {
            file: file.to_string(),
            line,
            col: None,
            field: Some(field),
            message,
            source_line: line
                .and_then(|l| text.lines().nth(l - 1))
                .map(str::to_string),
        }
    })?;
    Ok(scenario)
}

/// ron's messages, made plainer where they mislead.
fn explain_ron(msg: &str) -> String {
    if msg.contains("Expected comma") || msg.contains("ExpectedComma") {
        format!(
            "{msg} (or a value of the wrong type: durations are strings like \"150ms\", counts are integers)"
        )
    } else {
        msg.to_string()
    }
}

/// The line where the last component of `field` first appears as `name:` in the text.
fn locate(text: &str, field: &str) -> Option<usize> {
    let last = field.rsplit('.').next()?.split('[').next()?;
    if last.is_empty() {
        return None;
    }
    let pat = format!("{last}:");
    text.lines().position(|l| l.contains(&pat)).map(|i| i + 1)
}

/// Checks what the schema cannot: returns the field at fault and what is wrong.
pub fn validate(s: &Scenario) -> Result<(), (String, String)> {
    let e = |field: &str, msg: String| Err((field.to_string(), msg));
    if s.name.trim().is_empty() || s.name.contains(['/', '\\']) || s.name.starts_with('.') {
        return e(
            "name",
            format!(
                "`{}` is not usable as a folder name (no slashes, not empty)",
                s.name
            ),
        );
    }
    let servers = s.cluster.servers;
    if servers == 0 {
        return e(
            "cluster.servers",
            "a cluster needs at least 1 server (got 0)".into(),
        );
    }
    if servers > 1000 {
        return e(
            "cluster.servers",
            format!("{servers} servers is more than the supported 1000"),
        );
    }
    if !s.cluster.names.is_empty() && s.cluster.names.len() != servers as usize {
        return e(
            "cluster.names",
            format!("{} names for {servers} servers", s.cluster.names.len()),
        );
    }
    s.protocol.validate(servers).or_else(|m| e("protocol", m))?;
    let uses_clients = s.protocol.uses_clients();
    if uses_clients {
        s.workload.validate().or_else(|m| e("workload", m))?;
        if s.workload.clients > 1000 {
            return e(
                "workload.clients",
                format!(
                    "{} clients is more than the supported 1000",
                    s.workload.clients
                ),
            );
        }
    }
    let nodes = servers + if uses_clients { s.workload.clients } else { 0 };
    s.network.validate(nodes).or_else(|m| e("network", m))?;
    if s.limits.time == 0 {
        return e(
            "limits.time",
            "the simulated time limit must be positive".into(),
        );
    }
    if s.limits.events == 0 {
        return e("limits.events", "the event limit must be positive".into());
    }
    validate_schedule(&s.faults.schedule, servers, nodes).or_else(|m| e("faults.schedule", m))?;
    for f in &s.faults.schedule {
        if f.at > s.limits.time {
            return e(
                "faults.schedule",
                format!(
                    "fault `{}` at {} is after the time limit {}",
                    f.fault,
                    fmt_time(f.at),
                    fmt_time(s.limits.time)
                ),
            );
        }
        if let Fault::ClockSkew { drift_ppm, .. } = f.fault
            && !(-500_000..=500_000).contains(&drift_ppm)
        {
            return e(
                "faults.schedule",
                format!("clock drift {drift_ppm} ppm is outside -500000..=500000"),
            );
        }
    }
    if let Some(n) = &s.faults.nemesis {
        n.validate().or_else(|m| e("faults.nemesis", m))?;
        if n.stop > s.limits.time {
            return e(
                "faults.nemesis.stop",
                format!(
                    "the nemesis stops at {} but the run ends at {}",
                    fmt_time(n.stop),
                    fmt_time(s.limits.time)
                ),
            );
        }
    }
    let known = s.protocol.checks();
    for c in &s.checks {
        if !known.contains(&c.as_str()) {
            return e(
                "checks",
                format!(
                    "unknown check `{c}` for {} (known: {})",
                    s.protocol.name(),
                    known.join(", ")
                ),
            );
        }
    }
    match &s.expect {
        Expect::Pass { seeds } if seeds.0 >= seeds.1 => e(
            "expect",
            format!("seed range {}..{} is empty", seeds.0, seeds.1),
        ),
        Expect::Violation { within_seeds, .. } if within_seeds.0 >= within_seeds.1 => e(
            "expect",
            format!("seed range {}..{} is empty", within_seeds.0, within_seeds.1),
        ),
        Expect::Violation { check, .. } if !known.contains(&check.as_str()) => e(
            "expect.check",
            format!(
                "unknown check `{check}` for {} (known: {})",
                s.protocol.name(),
                known.join(", ")
            ),
        ),
        _ => Ok(()),
    }
}
