//! Where a report looks: the violation's time, the operations and servers to its name (the
//! culprits of a linearizability violation and the server that answered them; the two
//! leaders of one term), and the window of the trace that shows it. Protocol-neutral: it reads
//! only checks, operations, roles and records. Also the names a report gives to nodes.

use crate::protocols::{CheckOutcome, RunOutcome, RunSpec, Verdict};
use crate::sim::{EventKind, Time, TraceRecord};

/// How nodes are named in a report: `cluster.names` for servers (else `n0..`), `c0..` for
/// clients.
#[derive(Clone, Debug, Default)]
pub struct Names {
    servers: u32,
    names: Vec<String>,
    /// Nodes past the servers and clients (a lock's protected resource), named by the role
    /// their first view gives them.
    extra: Vec<(u32, String)>,
}

impl Names {
    pub fn new(spec: &RunSpec) -> Self {
        Names {
            servers: spec.servers,
            names: spec.names.clone(),
            extra: Vec::new(),
        }
    }
    /// These names, with each node past the servers and `clients` named by the role of its
    /// first view (`resource`; `resource1`, `resource2`... when several share one), rather
    /// than as a client.
    pub fn with_extra_nodes(mut self, clients: u32, views: &[crate::sim::ViewChange]) -> Self {
        let first = self.servers.saturating_add(clients);
        let mut roles: Vec<(u32, &'static str)> = Vec::new();
        for v in views {
            if v.node >= first
                && let Some(view) = &v.view
                && !roles.iter().any(|r| r.0 == v.node)
            {
                roles.push((v.node, view.role));
            }
        }
        roles.sort_unstable();
        for &(node, role) in &roles {
            let same = roles.iter().filter(|r| r.1 == role).count();
            let name = if same == 1 {
                role.to_string()
            } else {
                let k = roles.iter().filter(|r| r.1 == role && r.0 < node).count();
                format!("{role}{}", k + 1)
            };
            self.extra.push((node, name));
        }
        self
    }
    /// Plain ids (`n0..`, `c0..`) for a cluster of `servers`.
    pub fn plain(servers: u32) -> Self {
        Names {
            servers,
            names: Vec::new(),
            extra: Vec::new(),
        }
    }
    pub fn servers(&self) -> u32 {
        self.servers
    }
    /// The name of node `i`.
    pub fn node(&self, i: u32) -> String {
        if let Some((_, name)) = self.extra.iter().find(|e| e.0 == i) {
            name.clone()
        } else if i >= self.servers {
            format!("c{}", i - self.servers)
        } else {
            self.names
                .get(i as usize)
                .cloned()
                .unwrap_or_else(|| format!("n{i}"))
        }
    }
    /// `text` with every server id (`n3`, a whole word) replaced by its name.
    pub fn text<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        if self.names.is_empty() {
            return text.into();
        }
        let b = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < b.len() {
            let word_start = i == 0 || !b[i - 1].is_ascii_alphanumeric();
            if word_start && b[i] == b'n' {
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                let word_end = j == b.len() || !b[j].is_ascii_alphanumeric();
                if j > i + 1
                    && word_end
                    && let Ok(n) = text[i + 1..j].parse::<u32>()
                    && n < self.servers
                {
                    out.push_str(&self.node(n));
                    i = j;
                    continue;
                }
            }
            let c = text[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
        out.into()
    }
}

/// What a report centres on.
#[derive(Clone, Debug, Default)]
pub struct Focus {
    /// The first violated check.
    pub check: String,
    /// When the violation shows: the culprit's completion, the second leader's election.
    pub time: Option<Time>,
    /// The window of the trace its diagrams show.
    pub from: Time,
    pub to: Time,
    /// Operations to draw (indexes into `RunOutcome::ops`): culprits, then those that could
    /// not take effect, then the others involved (at most a few).
    pub ops: Vec<usize>,
    /// The servers to highlight, with why (`answered #412`, `leader of term 7`).
    pub servers: Vec<(u32, String)>,
    /// Events the causal slice ends at: `(node, time)`.
    pub targets: Vec<(u32, Time)>,
    /// Where the step-through view opens when `time` is unknown.
    pub open_at: Option<Time>,
}

/// The most operations a focus names.
const FOCUS_OPS: usize = 8;

/// The longest stretch before a violation that its window opens on (for a check whose story
/// began long before it shows).
const LEAD_MAX: Time = 2_000_000_000;

/// Where the report of `outcome` looks: at its first violated check.
pub fn focus(spec: &RunSpec, outcome: &RunOutcome) -> Focus {
    focus_in(spec, outcome, &outcome.records)
}

/// [`focus`], with the servers that answered its operations found in `records` (the run's
/// records, or a replay's: a report's run may keep none).
pub fn focus_in(spec: &RunSpec, outcome: &RunOutcome, records: &[TraceRecord]) -> Focus {
    let end = outcome.stats.time;
    match outcome
        .checks
        .iter()
        .find(|c| c.verdict == Verdict::Violation)
    {
        Some(c) => focus_on_in(spec, outcome, c, records),
        None => Focus {
            from: 0,
            to: end.min(super::stepper::START),
            ..Default::default()
        },
    }
}

/// Where a report looks to show why check `c` failed: its operations (the culprits and the
/// servers that answered them), else the time and nodes the check gave, else two leaders of
/// one term in the roles.
pub fn focus_on(spec: &RunSpec, outcome: &RunOutcome, c: &CheckOutcome) -> Focus {
    focus_on_in(spec, outcome, c, &outcome.records)
}

/// [`focus_on`], with the servers that answered found in `records`.
fn focus_on_in(
    spec: &RunSpec,
    outcome: &RunOutcome,
    c: &CheckOutcome,
    records: &[TraceRecord],
) -> Focus {
    let end = outcome.stats.time;
    let mut f = Focus {
        check: c.name.clone(),
        ..Default::default()
    };
    for &i in c.culprits.iter().chain(&c.unplaced).chain(&c.ops) {
        if f.ops.len() < FOCUS_OPS && !f.ops.contains(&i) && i < outcome.ops.len() {
            f.ops.push(i);
        }
    }
    // The primary operations: culprits and those that could not take effect, else all named.
    let primary: Vec<usize> = if c.culprits.is_empty() && c.unplaced.is_empty() {
        f.ops.clone()
    } else {
        f.ops
            .iter()
            .copied()
            .filter(|i| c.culprits.contains(i) || c.unplaced.contains(i))
            .collect()
    };
    // An operation that never completed (pending since long before) does not set the window.
    let ops = &outcome.ops;
    let completed: Vec<usize> = primary
        .iter()
        .copied()
        .filter(|&i| ops[i].ret.is_some())
        .collect();
    let primary = if completed.is_empty() {
        primary
    } else {
        completed
    };
    if !primary.is_empty() {
        let start = primary.iter().map(|&i| ops[i].call).min().unwrap_or(0);
        let stop = primary
            .iter()
            .map(|&i| ops[i].ret.unwrap_or(ops[i].call))
            .max()
            .unwrap_or(start);
        f.time = Some(
            c.culprits
                .iter()
                .filter_map(|&i| ops[i].ret)
                .max()
                .unwrap_or(stop),
        );
        f.from = start.saturating_sub(200_000_000);
        f.to = stop + 50_000_000;
        for &i in &primary {
            let o = &ops[i];
            let client = spec.servers + o.client;
            f.targets.push((client, o.ret.unwrap_or(o.call)));
            // The server whose reply completed it: the last delivery to its client in its
            // interval.
            if let Some(done) = o.ret
                && let Some(r) = records.iter().rev().find(|r| {
                    r.kind == EventKind::Deliver
                        && r.node.0 == client
                        && r.peer.0 < spec.servers
                        && r.time <= done
                        && r.time >= o.call
                })
            {
                let why = if c.culprits.contains(&i) {
                    format!("answered culprit #{i}")
                } else {
                    format!("answered #{i}")
                };
                f.servers.push((r.peer.0, why));
            }
        }
    } else if let Some(at) = c.at {
        // The check dated itself: the window opens where its story began.
        let since = c
            .since
            .unwrap_or(at)
            .min(at)
            .max(at.saturating_sub(LEAD_MAX));
        f.time = Some(at);
        f.from = since.saturating_sub(150_000_000);
        f.to = at + 100_000_000;
    } else if let Some((a, b)) = two_leaders(outcome) {
        // Two leaders of one term: around the second election, with the first in the window.
        let (ra, rb) = (&outcome.roles[a], &outcome.roles[b]);
        f.time = Some(rb.time);
        f.from = ra.time.min(rb.time).saturating_sub(150_000_000);
        f.to = rb.time + 100_000_000;
        f.servers
            .push((ra.node, format!("leader of term {}", ra.term)));
        f.servers
            .push((rb.node, format!("also leader of term {}", rb.term)));
        f.targets.push((ra.node, ra.time));
        f.targets.push((rb.node, rb.time));
    } else {
        // A check without operations or roles to point at: the last fault before the end.
        let t = spec
            .faults
            .iter()
            .map(|x| x.at)
            .filter(|&t| t < end)
            .max()
            .unwrap_or(0);
        f.from = t.saturating_sub(100_000_000);
        f.to = t + 400_000_000;
        // Not the violation's own time (the check names no operation or role to date it):
        // the step-through view opens there, the timelines are not marked.
        f.open_at = Some(t);
    }
    // The nodes the check names, whatever else located it; dated checks end the causal
    // slice at their time.
    let nodes = spec.servers + spec.workload.clients;
    for (n, why) in &c.nodes {
        if *n < nodes {
            f.servers.push((*n, why.clone()));
            if let Some(at) = c.at {
                f.targets.push((*n, at));
            }
        }
    }
    if let (Some(at), false) = (c.at, f.ops.is_empty()) {
        // Operations located the window: the check's own time marks the violation in it.
        f.time = Some(at);
        f.from = f.from.min(at.saturating_sub(150_000_000));
        f.to = f.to.max(at + 100_000_000);
    }
    f.servers.sort();
    f.servers.dedup_by_key(|s| s.0);
    f.to = f.to.min(end.max(1));
    f
}

/// The first pair of leader role changes of one term on two nodes (indexes into roles).
fn two_leaders(outcome: &RunOutcome) -> Option<(usize, usize)> {
    let roles = &outcome.roles;
    for (j, b) in roles.iter().enumerate() {
        if b.role != "leader" {
            continue;
        }
        if let Some(i) = roles[..j]
            .iter()
            .position(|a| a.role == "leader" && a.term == b.term && a.node != b.node)
        {
            return Some((i, j));
        }
    }
    None
}
