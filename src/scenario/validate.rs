//! What the schema cannot check: ranges, cross-field consistency and upper bounds, so that a
//! scenario that loads makes a meaningful run that cannot panic, overflow, allocate without
//! bound or loop forever. Every error names the field at fault as a path into the file
//! (`faults.schedule[2].fault`), which the loader turns into `file:line:column`.

use super::{Expect, Scenario};
use crate::sim::time::MAX_TIME;
use crate::sim::{fmt_duration, fmt_time, validate_schedule};

/// Limits of a scenario (README, "Writing a scenario", lists them).
pub const MAX_NAME_LEN: usize = 100;
pub const MAX_TITLE_LEN: usize = 200;
pub const MAX_DESCRIPTION_LEN: usize = 10_000;
pub const MAX_SERVERS: u32 = 1000;
/// Servers and clients together: the network keeps per-link state for every ordered pair
/// (about 400 bytes each, ~600 MB at this bound).
pub const MAX_NODES: u32 = 1200;
pub const MAX_EVENTS: u64 = 1_000_000_000;
/// The most events a run may hold waiting at once (`limits.pending`; about 135 bytes each,
/// some 1.4 GB at this bound): far within the engine's 2^28 queue slots.
pub const MAX_PENDING: u64 = 10_000_000;
/// The most seeds an expectation may span.
pub const MAX_EXPECT_SEEDS: u64 = 1_000_000;

/// A scenario field that is wrong: where (a path into the file) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// `cluster.servers`, `faults.schedule[2].fault[1]`, `network.links[0]`.
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A user-written value, fit to quote in a message: control characters escaped, at most
/// `max` characters (cut in the middle with `…`).
pub fn quote(s: &str, max: usize) -> String {
    let escaped: String = s
        .chars()
        .flat_map(|c| {
            let e: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            e
        })
        .collect();
    clip(&escaped, max)
}

/// At most `max` characters of `s`, the middle replaced by `…` if it was longer.
pub fn clip(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let head = max.saturating_sub(1) * 2 / 3;
    let tail = max.saturating_sub(1 + head);
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(n - tail));
    out
}

/// A sub-validator's error (a path relative to `prefix`), under `prefix`.
fn under(prefix: &'static str) -> impl Fn((String, String)) -> Invalid {
    move |(sub, message)| Invalid {
        field: if sub.is_empty() {
            prefix.to_string()
        } else if sub.starts_with('[') {
            format!("{prefix}{sub}")
        } else {
            format!("{prefix}.{sub}")
        },
        message,
    }
}

/// Checks what the schema cannot; the error names the field at fault and what is wrong.
pub fn validate(s: &Scenario) -> Result<(), Invalid> {
    let e = |field: &str, message: String| {
        Err(Invalid {
            field: field.to_string(),
            message,
        })
    };
    check_name(&s.name).or_else(|m| e("name", m))?;
    check_text(&s.title, MAX_TITLE_LEN, false).or_else(|m| e("title", m))?;
    check_text(&s.description, MAX_DESCRIPTION_LEN, true).or_else(|m| e("description", m))?;

    let servers = s.cluster.servers;
    if !(1..=MAX_SERVERS).contains(&servers) {
        return e(
            "cluster.servers",
            format!("a cluster needs at least 1 server and at most {MAX_SERVERS} (got {servers})"),
        );
    }
    let names = &s.cluster.names;
    if !names.is_empty() && names.len() != servers as usize {
        return e(
            "cluster.names",
            format!(
                "{} names for {servers} servers (give one per server, or none)",
                names.len()
            ),
        );
    }
    for (i, n) in names.iter().enumerate() {
        check_text(n, MAX_NAME_LEN, false).or_else(|m| e(&format!("cluster.names[{i}]"), m))?;
        if n.trim().is_empty() {
            return e(
                &format!("cluster.names[{i}]"),
                "a server name is empty".into(),
            );
        }
        if let Some(j) = names[..i].iter().position(|m| m == n) {
            return e(
                &format!("cluster.names[{i}]"),
                format!("`{}` names both n{j} and n{i}", quote(n, 40)),
            );
        }
    }
    s.protocol.validate(servers).or_else(|m| e("protocol", m))?;

    let uses_clients = s.protocol.uses_clients();
    if uses_clients {
        s.workload.validate().map_err(under("workload"))?;
        let nodes = servers + s.workload.clients;
        if nodes > MAX_NODES {
            return e(
                "workload.clients",
                format!(
                    "{servers} servers and {} clients make {nodes} nodes, more than the {MAX_NODES} supported",
                    s.workload.clients
                ),
            );
        }
    }
    let nodes = servers + if uses_clients { s.workload.clients } else { 0 };
    s.network.validate(nodes).map_err(under("network"))?;

    let time = s.limits.time;
    if !(1..=MAX_TIME).contains(&time) {
        return e(
            "limits.time",
            format!(
                "the simulated time limit must be positive and at most {} (got {})",
                fmt_duration(MAX_TIME),
                fmt_duration(time)
            ),
        );
    }
    if !(1..=MAX_EVENTS).contains(&s.limits.events) {
        return e(
            "limits.events",
            format!(
                "the event limit must be within 1..={MAX_EVENTS} (got {})",
                s.limits.events
            ),
        );
    }
    if !(1..=MAX_PENDING).contains(&s.limits.pending) {
        return e(
            "limits.pending",
            format!(
                "the pending-event limit must be within 1..={MAX_PENDING} (got {})",
                s.limits.pending
            ),
        );
    }

    validate_schedule(&s.faults.schedule, servers).map_err(under("faults.schedule"))?;
    for (i, f) in s.faults.schedule.iter().enumerate() {
        if f.at > time {
            return e(
                &format!("faults.schedule[{i}].at"),
                format!(
                    "fault `{}` at {} is after the time limit {}",
                    f.fault,
                    fmt_time(f.at),
                    fmt_time(time)
                ),
            );
        }
    }
    if let Some(n) = &s.faults.nemesis {
        n.validate(servers).map_err(under("faults.nemesis"))?;
        if n.stop > time {
            return e(
                "faults.nemesis.stop",
                format!(
                    "the nemesis stops at {} but the run ends at {}",
                    fmt_time(n.stop),
                    fmt_time(time)
                ),
            );
        }
    }

    let known = s.protocol.checks();
    for (i, c) in s.checks.iter().enumerate() {
        if !known.contains(&c.as_str()) {
            return e(
                &format!("checks[{i}]"),
                format!(
                    "unknown check `{}` for {} (known: {})",
                    quote(c, 60),
                    s.protocol.name(),
                    known.join(", ")
                ),
            );
        }
        if s.checks[..i].contains(c) {
            return e(
                &format!("checks[{i}]"),
                format!("check `{c}` is listed twice"),
            );
        }
    }
    let (seeds, field) = match &s.expect {
        Expect::Pass { seeds } => (seeds, "expect.seeds"),
        Expect::Violation { within_seeds, .. } => (within_seeds, "expect.within_seeds"),
    };
    if seeds.0 >= seeds.1 {
        return e(
            field,
            format!(
                "seed range ({}, {}) is empty (the end is exclusive)",
                seeds.0, seeds.1
            ),
        );
    }
    if seeds.1 - seeds.0 > MAX_EXPECT_SEEDS {
        return e(
            field,
            format!(
                "seed range ({}, {}) holds {} seeds, more than the {MAX_EXPECT_SEEDS} a suite runs",
                seeds.0,
                seeds.1,
                seeds.1 - seeds.0
            ),
        );
    }
    if let Expect::Violation { check, .. } = &s.expect
        && !known.contains(&check.as_str())
    {
        return e(
            "expect.check",
            format!(
                "unknown check `{}` for {} (known: {})",
                quote(check, 60),
                s.protocol.name(),
                known.join(", ")
            ),
        );
    }
    Ok(())
}

/// A name becomes a folder (`reports/<name>/`): letters, digits, `-`, `_`, `.`, starting with
/// a letter or digit, at most [`MAX_NAME_LEN`] characters.
fn check_name(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    let rule = format!(
        "a name becomes a report folder: 1 to {MAX_NAME_LEN} letters, digits, `-`, `_` or `.`, \
         starting with a letter or digit"
    );
    if n == 0 {
        return Err(format!("the name is empty ({rule})"));
    }
    if n > MAX_NAME_LEN {
        return Err(format!(
            "`{}` is {n} characters long ({rule})",
            quote(name, 40)
        ));
    }
    if let Some((i, c)) = name
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "`{}` holds {} at character {} ({rule})",
            quote(name, 40),
            quote_char(c),
            i + 1
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "`{}` does not start with a letter or digit ({rule})",
            quote(name, 40)
        ));
    }
    Ok(())
}

fn quote_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("{c:?} (U+{:04X})", c as u32)
    } else {
        format!("`{c}`")
    }
}

/// Free text shown in reports and terminals: bounded, and no control characters (which could
/// rewrite a terminal) except, where `lines`, newlines and tabs.
fn check_text(text: &str, max: usize, lines: bool) -> Result<(), String> {
    let n = text.chars().count();
    if n > max {
        return Err(format!("{n} characters is more than the {max} allowed"));
    }
    let allowed = |c: char| lines && matches!(c, '\n' | '\t' | '\r');
    if let Some((i, c)) = text
        .chars()
        .enumerate()
        .find(|&(_, c)| c.is_control() && !allowed(c))
    {
        return Err(format!(
            "holds the control character {} at character {}{}",
            quote_char(c),
            i + 1,
            if lines {
                ""
            } else {
                " (this text is one line)"
            }
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_both_ends() {
        assert_eq!(clip("abcdef", 10), "abcdef");
        let c = clip(&"x".repeat(1000), 20);
        assert_eq!(c.chars().count(), 20);
        assert!(c.contains('…'));
        assert_eq!(quote("a\nb", 10), "a\\nb");
    }

    #[test]
    fn names_are_folder_safe() {
        for ok in ["raft-basic", "a", "x_1.2", "9lives"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(MAX_NAME_LEN + 1);
        for bad in [
            "",
            ".hidden",
            "-x",
            "a/b",
            "a\\b",
            "a b",
            "a\nb",
            "é",
            "..",
            long.as_str(),
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
