//! Judging a Raft run from the outside: Raft's safety properties (Figure 3 of the paper)
//! over what the servers reported and their durable logs. Linearizability of the clients'
//! history and liveness after the faults heal come from [`common`], shared by every protocol
//! with clients.
//!
//! The judge runs as the run goes ([`Judge::observe`], called by the engine with each
//! observation) and keeps O(live state), never a snapshot of a log per election:
//! - the logs the properties speak of (every leader's log at its election, every final log)
//!   are kept once, as a prefix tree of distinct entries. A server keeps a digest of its log
//!   up to each entry (`Persistent::hashes`), so marking a leader's log walks back only
//!   to the first entry some earlier log already shared: the whole run costs one step per
//!   distinct entry, not one per entry per election;
//! - log matching is judged per (index, term): two logs that share an entry's index and term
//!   share the prefix up to it exactly when one node of the tree holds that index and term;
//! - state machine safety and the term each index was committed in are kept per index;
//! - leader completeness is judged once at the end, per node of the tree (the smallest term
//!   an entry that differs from the committed one was committed in, inherited down the tree)
//!   and per election (the last index committed before its term).

use std::collections::{BTreeMap, BTreeSet};

use super::server::Persistent;
use super::{CHECKS, Obs};
use crate::protocols::common::{self, fail, pass};
use crate::protocols::{CheckOutcome, RoleChange, RunOutcome, RunSpec};
use crate::sim::{NodeId, RunStats, Time, TraceRecord, fmt_time};
use crate::workload::kv::{HistoryBuilder, witness_order};

const NONE: u32 = u32::MAX;

/// A distinct log entry in the prefix tree: index, term, command hash, the digest of the
/// prefix it ends, its parent (the entry before it), the next node at the same index, and the
/// log that first held it.
struct Node {
    index: u64,
    term: u64,
    cmd: u64,
    digest: u64,
    parent: u32,
    next: u32,
    label: Label,
}

#[derive(Clone, Copy)]
enum Label {
    Election(u32),
    Final(u32),
}

/// A violation found as the run went: its text, when it showed and the servers involved.
struct Found {
    detail: String,
    at: Time,
    nodes: Vec<(u32, String)>,
    /// When what led to it began.
    since: Time,
}

impl Found {
    fn check(self, name: &str) -> CheckOutcome {
        fail(name, self.detail, vec![])
            .dated(self.at, self.nodes)
            .since(self.since)
    }
}

struct Election {
    time: Time,
    node: u32,
    term: u64,
    len: u64,
    /// The tree node of the leader's last entry (NONE for an empty log).
    tip: u32,
}

/// What the first server to apply an index applied there, and the earliest term the entry is
/// known committed in.
#[derive(Clone, Copy)]
struct Applied {
    term: u64,
    cmd: u64,
    node: u32,
    committed_in: u64,
}

/// The incremental judge of one run.
#[derive(Default)]
pub struct Judge {
    /// Whether log matching or leader completeness is judged (else no log is kept).
    logs: bool,
    clients: HistoryBuilder,
    roles: Vec<RoleChange>,
    leaders: BTreeMap<u64, BTreeSet<u32>>,
    elections: Vec<Election>,
    tree: Vec<Node>,
    /// Per index - 1: the first tree node at that index (the rest follow `next`).
    at_index: Vec<u32>,
    log_matching: Option<Found>,
    /// Per index - 1.
    applied: Vec<Option<Applied>>,
    state_machine: Option<Found>,
    /// The time of the latest observation (a final log is dated by it).
    now: Time,
    /// Client operations (client, seq) in the order the first server applied their entries.
    apply_order: Vec<(u32, u64)>,
}

impl Judge {
    /// A judge for `spec`'s checks: logs are kept only when a check reads them.
    pub fn new(spec: &RunSpec) -> Judge {
        let wanted = |name: &str| spec.checks.is_empty() || spec.checks.iter().any(|c| c == name);
        Judge {
            logs: wanted("log-matching") || wanted("leader-completeness"),
            ..Judge::default()
        }
    }

    /// Takes one observation of server or client `n` at `t`; `d` is n's durable state.
    pub fn observe<Op>(&mut self, t: Time, n: NodeId, o: Obs, d: &Persistent<Op>) {
        self.now = self.now.max(t);
        match o {
            Obs::Client(c) => self.clients.push(t, c),
            Obs::Role { role, term } => self.roles.push(RoleChange {
                time: t,
                node: n.0,
                role: role.to_string(),
                term,
            }),
            Obs::Leader { term, len } => {
                self.leaders.entry(term).or_default().insert(n.0);
                let label = Label::Election(self.elections.len() as u32);
                self.elections.push(Election {
                    time: t,
                    node: n.0,
                    term,
                    len,
                    tip: NONE,
                });
                if self.logs {
                    let tip = self.mark(d, len.min(d.log.len() as u64) as usize, label);
                    if let Some(e) = self.elections.last_mut() {
                        e.tip = tip;
                    }
                }
            }
            Obs::Applied {
                index,
                term,
                command,
                server_term,
                op,
            } => self.applied(t, n.0, index, term, command, server_term, op),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn applied(
        &mut self,
        t: Time,
        n: u32,
        index: u64,
        term: u64,
        cmd: u64,
        server_term: u64,
        op: Option<(u32, u64)>,
    ) {
        let i = index as usize - 1;
        while self.applied.len() <= i {
            crate::frugal::push(&mut self.applied, None);
        }
        match &mut self.applied[i] {
            Some(a) if (a.term, a.cmd) == (term, cmd) => {
                a.committed_in = a.committed_in.min(server_term);
            }
            Some(a) => {
                let (t0, n0) = (a.term, a.node);
                self.state_machine.get_or_insert_with(|| Found {
                    detail: format!(
                        "index {index}: n{n0} applied an entry of term {t0}, n{n} applied a different entry of term {term} at {}s",
                        fmt_time(t)
                    ),
                    at: t,
                    since: t,
                    nodes: vec![
                        (n0, format!("applied index {index} (term {t0}) first")),
                        (n, format!("applied another entry at index {index} (term {term})")),
                    ],
                });
            }
            slot @ None => {
                *slot = Some(Applied {
                    term,
                    cmd,
                    node: n,
                    committed_in: server_term,
                });
                if let Some(op) = op {
                    crate::frugal::push(&mut self.apply_order, op);
                }
            }
        }
    }

    /// The tree node at `index` (1-based) whose prefix has this digest and entry.
    fn find(&self, index: usize, digest: u64, term: u64, cmd: u64) -> u32 {
        let mut m = self.at_index.get(index - 1).copied().unwrap_or(NONE);
        while m != NONE {
            let x = &self.tree[m as usize];
            if (x.digest, x.term, x.cmd) == (digest, term, cmd) {
                return m;
            }
            m = x.next;
        }
        NONE
    }

    /// Adds the first `len` entries of `d`'s log to the tree (walking back only to the first
    /// entry already there), judging log matching at each new node; returns the last node.
    fn mark<Op>(&mut self, d: &Persistent<Op>, len: usize, label: Label) -> u32 {
        let mut i = len;
        let mut parent = NONE;
        while i > 0 {
            let (cmd, digest) = d.hashes[i - 1];
            parent = self.find(i, digest, d.log[i - 1].term, cmd);
            if parent != NONE {
                break;
            }
            i -= 1;
        }
        for j in i + 1..=len {
            let (term, (cmd, digest)) = (d.log[j - 1].term, d.hashes[j - 1]);
            while self.at_index.len() < j {
                crate::frugal::push(&mut self.at_index, NONE);
            }
            let mut m = self.at_index[j - 1];
            while m != NONE && self.log_matching.is_none() {
                let x = &self.tree[m as usize];
                if x.term == term {
                    let (a, b) = (self.label_node(x.label), self.label_node(label));
                    let why = format!("holds index {j} term {term}, differs before");
                    self.log_matching = Some(Found {
                        detail: format!(
                            "index {j}: {} and {} both have term {term} there but differ at or before it",
                            self.label(x.label),
                            self.label(label)
                        ),
                        at: self.label_time(x.label).max(self.label_time(label)),
                        since: self.label_time(x.label).min(self.label_time(label)),
                        nodes: vec![(a, why.clone()), (b, why)],
                    });
                }
                m = x.next;
            }
            crate::frugal::push(
                &mut self.tree,
                Node {
                    index: j as u64,
                    term,
                    cmd,
                    digest,
                    parent,
                    next: self.at_index[j - 1],
                    label,
                },
            );
            parent = (self.tree.len() - 1) as u32;
            self.at_index[j - 1] = parent;
        }
        parent
    }

    /// The server whose log a label names.
    fn label_node(&self, l: Label) -> u32 {
        match l {
            Label::Final(n) => n,
            Label::Election(e) => self.elections[e as usize].node,
        }
    }

    /// When the log a label names was taken: its election, or the end for a final log.
    fn label_time(&self, l: Label) -> Time {
        match l {
            Label::Final(_) => self.now,
            Label::Election(e) => self.elections[e as usize].time,
        }
    }

    fn label(&self, l: Label) -> String {
        match l {
            Label::Final(n) => format!("final log of n{n}"),
            Label::Election(e) => {
                let e = &self.elections[e as usize];
                format!(
                    "log of n{} elected in term {} at {}s",
                    e.node,
                    e.term,
                    fmt_time(e.time)
                )
            }
        }
    }

    /// Leader completeness: an entry committed in a term is in the log of every leader of a
    /// later term. A server applying an entry in term T shows it was committed in T or
    /// earlier; judging by the time of the apply instead would blame a leader whose election
    /// (votes granted before the commit) completed after it. The first election (in order)
    /// that misses such an entry, at the smallest such index.
    fn leader_completeness(&self) -> Option<Found> {
        // Per tree node: the smallest term in which an entry was committed that this node's
        // prefix holds differently.
        let mut worst = vec![u64::MAX; self.tree.len()];
        for (k, x) in self.tree.iter().enumerate() {
            let own = match self.applied.get(x.index as usize - 1) {
                Some(Some(a)) if (a.term, a.cmd) != (x.term, x.cmd) => a.committed_in,
                _ => u64::MAX,
            };
            let inherited = if x.parent == NONE {
                u64::MAX
            } else {
                worst[x.parent as usize]
            };
            worst[k] = own.min(inherited);
        }
        // The last index committed before each term: (committed_in, index) sorted, running
        // max of the index.
        let mut by_term: Vec<(u64, u64)> = self
            .applied
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.map(|a| (a.committed_in, i as u64 + 1)))
            .collect();
        by_term.sort_unstable();
        let mut last = 0;
        for e in &mut by_term {
            last = last.max(e.1);
            e.1 = last;
        }
        let last_before = |term: u64| {
            let k = by_term.partition_point(|e| e.0 < term);
            if k == 0 { 0 } else { by_term[k - 1].1 }
        };
        let e = self.elections.iter().find(|e| {
            (e.tip != NONE && worst[e.tip as usize] < e.term) || last_before(e.term) > e.len
        })?;
        // The leader's log, for the message (once).
        let mut log = vec![(0, 0); e.len as usize];
        let mut m = e.tip;
        while m != NONE {
            let x = &self.tree[m as usize];
            log[x.index as usize - 1] = (x.term, x.cmd);
            m = x.parent;
        }
        self.applied.iter().enumerate().find_map(|(i, a)| {
            let a = (*a)?;
            (a.committed_in < e.term && log.get(i) != Some(&(a.term, a.cmd))).then(|| Found {
                detail: format!(
                    "n{} became leader of term {} at {}s without index {} (an entry of term {}), committed in term {}",
                    e.node,
                    e.term,
                    fmt_time(e.time),
                    i + 1,
                    a.term,
                    a.committed_in
                ),
                at: e.time,
                since: e.time,
                nodes: vec![
                    (e.node, format!("leader of term {} without index {}", e.term, i + 1)),
                    (a.node, format!("applied index {} first", i + 1)),
                ],
            })
        })
    }

    /// Takes server `n`'s final durable state (for log matching).
    pub fn final_log<Op>(&mut self, n: u32, d: &Persistent<Op>) {
        if self.logs {
            self.mark(d, d.log.len(), Label::Final(n));
        }
    }

    /// Raft's safety properties (election safety, state machine safety, log matching, leader
    /// completeness) that the spec asks for (all when it names none), whatever state machine
    /// the servers replicate; once every server's [`Judge::final_log`] is in.
    pub fn consensus_checks(&mut self, spec: &RunSpec, servers: u32) -> Vec<CheckOutcome> {
        let wanted = |name: &str| spec.checks.is_empty() || spec.checks.iter().any(|c| c == name);
        let mut checks = Vec::new();
        // Election safety: at most one leader can be elected in a given term.
        if wanted("election-safety") {
            let two = self.leaders.iter().find(|(_, s)| s.len() > 1);
            checks.push(match two {
                Some((term, s)) => {
                    // Dated by the election that made a second leader of the term.
                    let mine: Vec<&Election> =
                        self.elections.iter().filter(|e| e.term == *term).collect();
                    let at = mine.get(1).map_or(self.now, |e| e.time);
                    let nodes = mine.iter().enumerate().map(|(k, e)| {
                        let also = if k > 0 { "also " } else { "" };
                        (e.node, format!("{also}leader of term {term}"))
                    });
                    fail(
                        "election-safety",
                        format!("term {term} had {} leaders: {:?}", s.len(), s),
                        vec![],
                    )
                    .dated(at, nodes)
                    .since(mine.first().map_or(at, |e| e.time))
                }
                None => pass(
                    "election-safety",
                    format!("{} elections, one leader per term", self.elections.len()),
                ),
            });
        }

        // State machine safety: no two servers apply different commands at the same index.
        if wanted("state-machine-safety") {
            checks.push(match self.state_machine.take() {
                Some(f) => f.check("state-machine-safety"),
                None => pass(
                    "state-machine-safety",
                    format!(
                        "{} indexes applied, all servers agree",
                        self.applied.iter().flatten().count()
                    ),
                ),
            });
        }

        // Log matching: if two logs have an entry with the same index and term, the logs are
        // identical up to that index. Over the final logs and every leader's log at election.
        if wanted("log-matching") {
            checks.push(match self.log_matching.take() {
                Some(f) => f.check("log-matching"),
                None => pass(
                    "log-matching",
                    format!(
                        "{} logs ({} final, {} at elections; {} distinct entries): one prefix per index and term",
                        servers as usize + self.elections.len(),
                        servers,
                        self.elections.len(),
                        self.tree.len()
                    ),
                ),
            });
        }

        if wanted("leader-completeness") {
            checks.push(match self.leader_completeness() {
                Some(f) => f.check("leader-completeness"),
                None => pass(
                    "leader-completeness",
                    format!(
                        "{} leaders held every entry committed in an earlier term",
                        self.elections.len()
                    ),
                ),
            });
        }

        checks
    }

    /// The servers' roles over time (before crashes are added as "down").
    pub fn take_roles(&mut self) -> Vec<RoleChange> {
        std::mem::take(&mut self.roles)
    }

    /// Judges a key-value run: Raft's properties and the clients' history, once every
    /// server's [`Judge::final_log`] is in.
    pub fn finish(
        mut self,
        spec: &RunSpec,
        stats: RunStats,
        servers: u32,
        records: Vec<TraceRecord>,
    ) -> RunOutcome {
        let wanted = |name: &str| spec.checks.is_empty() || spec.checks.iter().any(|c| c == name);
        let end = stats.time;
        let mut checks = self.consensus_checks(spec, servers);
        let order = witness_order(self.clients.ids().iter().copied(), &self.apply_order);
        let (ops, hist) = self.clients.finish();
        if wanted("linearizability") {
            checks.push(common::linearizability(&ops, &hist, Some(&order)));
        }
        if wanted("liveness") {
            checks.push(common::liveness(spec, &ops, end));
        }
        debug_assert!(checks.iter().all(|c| CHECKS.contains(&c.name.as_str())));

        // Roles over time, with crashes as "down".
        let roles = common::roles_with_crashes(spec, self.roles.into_iter());
        RunOutcome {
            stats,
            checks,
            ops,
            roles,
            tables: vec![],
            plots: vec![],
            records,
            views: Vec::new(),
            labels: Default::default(),
            replay: Default::default(),
            traced_ops: None,
        }
    }
}
