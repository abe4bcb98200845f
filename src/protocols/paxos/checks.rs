//! Paxos's safety judged from the outside, over what the nodes reported, for one decree
//! (instance 0) or one per log slot: agreement (no two learners learn different values in one
//! instance), validity (only a proposed value is learned or accepted) and stability (once a
//! majority of acceptors accepted a value at some ballot, every proposal at a higher ballot
//! carries that value: P2b of Paxos Made Simple). Chosen is judged with a true majority of
//! the servers whatever quorum the protocol variant used.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use crate::protocols::common::{fail, pass, skipped, tries_under_loss, unhealed_note};
use crate::protocols::{CheckOutcome, RunSpec};
use crate::sim::{Fault, SECS, Time, fmt_time};

use super::Ballot;
use super::slots::NodeSet;

/// A proposer issued phase 2 for `(instance, ballot)` with `value`.
#[derive(Clone, Copy, Debug)]
pub struct Proposal {
    pub time: Time,
    pub instance: u64,
    pub ballot: Ballot,
    pub value: u64,
}

/// An acceptor accepted `value` at `(instance, ballot)`.
#[derive(Clone, Copy, Debug)]
pub struct Accept {
    pub time: Time,
    pub instance: u64,
    pub acceptor: u32,
    pub ballot: Ballot,
    pub value: u64,
}

/// A learner (replica) learned (applied) `value` in `instance`.
#[derive(Clone, Copy, Debug)]
pub struct Learn {
    pub time: Time,
    pub node: u32,
    pub instance: u64,
    pub value: u64,
}

/// How the checks name an instance ("the decree", "slot 17") and a value.
pub struct Names<'a> {
    pub instance: &'a dyn Fn(u64) -> String,
    pub value: &'a dyn Fn(u64) -> String,
}

/// The first learn of an instance: agreement compares every later one with it.
#[derive(Clone, Copy, Debug)]
struct FirstLearn {
    time: Time,
    node: u32,
    value: u64,
}

/// The acceptors that accepted one `(ballot, value)` in one instance, and when the last of
/// them first did (reports arrive in time order: an acceptor's first is its earliest).
#[derive(Clone, Debug)]
struct Group {
    ballot: Ballot,
    value: u64,
    acceptors: NodeSet,
    when: Time,
}

impl Group {
    fn new(a: &Accept) -> Group {
        let mut g = Group {
            ballot: a.ballot,
            value: a.value,
            acceptors: NodeSet::default(),
            when: 0,
        };
        g.add(a);
        g
    }
    fn add(&mut self, a: &Accept) {
        if self.acceptors.insert(a.acceptor) {
            self.when = self.when.max(a.time);
        }
    }
}

/// The entry of instance `i` in a per-instance vector (instances are dense: slots are handed
/// out in order), grown by half when full (see `frugal`).
#[inline]
fn at<T: Default>(v: &mut Vec<T>, i: u64) -> &mut T {
    let i = usize::try_from(i).expect("an instance number fits in memory");
    if v.len() == i && i < v.capacity() {
        // The usual case: the next instance, with room for it.
        v.push(T::default());
    } else if v.len() <= i {
        grow(v, i);
    }
    &mut v[i]
}

/// Makes room for entry `i` (once per instance).
#[inline(never)]
fn grow<T: Default>(v: &mut Vec<T>, i: usize) {
    if v.capacity() <= i {
        v.reserve_exact((i + 1 - v.len()).max(v.len() / 2 + 16));
    }
    v.resize_with(i + 1, T::default);
}

/// Paxos's safety checks, judged as the run goes: each proposal, acceptance and learn is
/// taken when it is reported, and only what the checks need is kept (per instance, the first
/// learn and the acceptors of each `(ballot, value)`; the proposals, one per instance and
/// ballot). The verdicts and counterexamples are those of judging the whole list of reports
/// at the end: the first violation in report order.
#[derive(Debug, Default)]
pub struct Safety {
    proposals: Vec<Proposal>,
    accepts: u64,
    /// Per instance, its first `(ballot, value)` group; further ones (a later ballot, or a
    /// second value) are in `more`.
    groups: Vec<Option<Group>>,
    more: BTreeMap<(u64, Ballot, u64), Group>,
    learns: u64,
    first: Vec<Option<FirstLearn>>,
    learners: NodeSet,
    /// Agreement: the first learn that differs from its instance's first.
    disagreement: Option<(FirstLearn, Learn)>,
    /// Validity: the reports of values not proposed when they were reported (they are judged
    /// again at the end, against every value proposed by then), in report order.
    unproposed_accepts: Vec<Accept>,
    unproposed_learns: Vec<Learn>,
    /// Values already found proposed: each value is reported by every acceptor and every
    /// learner, interleaved with other instances' reports, so a small direct-mapped cache
    /// saves most lookups (value 0 never enters it: it marks an empty line).
    seen: Seen,
}

/// The lines of `Safety::seen`.
#[derive(Debug)]
struct Seen(Box<[u64; 256]>);

impl Default for Seen {
    fn default() -> Self {
        Seen(Box::new([0; 256]))
    }
}

impl Safety {
    /// Whether `v` is proposed, by `proposed` (asked only on a cache miss).
    #[inline]
    fn known(&mut self, v: u64, proposed: impl Fn(u64) -> bool) -> bool {
        let line = &mut self.seen.0[(v % 256) as usize];
        if *line == v && v != 0 {
            return true;
        }
        let known = proposed(v);
        if known {
            *line = v;
        }
        known
    }

    /// A proposer issued phase 2.
    pub fn propose(&mut self, p: Proposal) {
        crate::frugal::push(&mut self.proposals, p);
    }

    /// An acceptor accepted; `proposed` says which values are proposed so far.
    ///
    /// Validity looks at the first acceptance of each `(instance, ballot, value)` only: a
    /// later one of the same value is valid whenever that first one is (the values proposed
    /// only grow), and when neither is, the first is reported (it came first), so the
    /// verdict and its counterexample are those of judging every acceptance.
    pub fn accept(&mut self, a: Accept, proposed: impl Fn(u64) -> bool) {
        self.accepts += 1;
        let g = at(&mut self.groups, a.instance);
        match g {
            None => *g = Some(Group::new(&a)),
            Some(g) if (g.ballot, g.value) == (a.ballot, a.value) => return g.add(&a),
            Some(_) => match self.more.entry((a.instance, a.ballot, a.value)) {
                Entry::Vacant(e) => {
                    e.insert(Group::new(&a));
                }
                Entry::Occupied(mut e) => return e.get_mut().add(&a),
            },
        }
        if !self.known(a.value, proposed) {
            self.unproposed_accepts.push(a);
        }
    }

    /// A learner learned; `proposed` says which values are proposed so far.
    ///
    /// Validity looks at a learn only when it is its instance's first or differs from it: a
    /// learn of the first's value is valid whenever the first is (as for `accept`).
    pub fn learn(&mut self, l: Learn, proposed: impl Fn(u64) -> bool) {
        self.learns += 1;
        self.learners.insert(l.node);
        let f = at(&mut self.first, l.instance);
        match f {
            None => {
                *f = Some(FirstLearn {
                    time: l.time,
                    node: l.node,
                    value: l.value,
                })
            }
            Some(f) if f.value == l.value => return,
            Some(f) => {
                if self.disagreement.is_none() {
                    self.disagreement = Some((*f, l));
                }
            }
        }
        if !self.known(l.value, proposed) {
            self.unproposed_learns.push(l);
        }
    }

    /// Per instance in order, the value learned first, if any.
    pub fn first_learned(&self) -> impl Iterator<Item = Option<u64>> + '_ {
        self.first.iter().map(|f| f.map(|f| f.value))
    }

    /// No two learners learn different values in one instance.
    pub fn agreement(&self, names: &Names, verb: &str) -> CheckOutcome {
        if let Some((f, l)) = &self.disagreement {
            return fail(
                "agreement",
                format!(
                    "{}: n{} {verb} {} at {}s, n{} {verb} {} at {}s",
                    (names.instance)(l.instance),
                    f.node,
                    (names.value)(f.value),
                    fmt_time(f.time),
                    l.node,
                    (names.value)(l.value),
                    fmt_time(l.time)
                ),
                vec![],
            )
            .dated(
                l.time,
                [
                    (f.node, format!("{verb} {}", (names.value)(f.value))),
                    (l.node, format!("{verb} {}", (names.value)(l.value))),
                ],
            )
            .since(f.time);
        }
        if self.learns == 0 {
            return skipped("agreement", format!("not judged: no node {verb} a value"));
        }
        pass(
            "agreement",
            format!(
                "{} instance(s) {verb} by {} node(s), {} times, never two values in one",
                self.first.iter().flatten().count(),
                self.learners.len(),
                self.learns
            ),
        )
    }

    /// Only a proposed value is accepted or learned (`proposed`: every value proposed in the
    /// run).
    pub fn validity(&self, names: &Names, proposed: impl Fn(u64) -> bool) -> CheckOutcome {
        if let Some(a) = self.unproposed_accepts.iter().find(|a| !proposed(a.value)) {
            return fail(
                "validity",
                format!(
                    "{}: n{} accepted {}, which nobody proposed, at {}s",
                    (names.instance)(a.instance),
                    a.acceptor,
                    (names.value)(a.value),
                    fmt_time(a.time)
                ),
                vec![],
            )
            .dated(
                a.time,
                [(a.acceptor, "accepted an unproposed value".into())],
            );
        }
        if let Some(l) = self.unproposed_learns.iter().find(|l| !proposed(l.value)) {
            return fail(
                "validity",
                format!(
                    "{}: n{} learned {}, which nobody proposed, at {}s",
                    (names.instance)(l.instance),
                    l.node,
                    (names.value)(l.value),
                    fmt_time(l.time)
                ),
                vec![],
            )
            .dated(l.time, [(l.node, "learned an unproposed value".into())]);
        }
        if self.accepts == 0 && self.learns == 0 {
            return skipped(
                "validity",
                "not judged: no acceptor accepted and no node learned a value".into(),
            );
        }
        pass(
            "validity",
            format!(
                "{} acceptances and {} learns, all of proposed values",
                self.accepts, self.learns
            ),
        )
    }

    /// A chosen value stays chosen: once `majority` acceptors accepted `(b, v)` in an
    /// instance, every proposal there at a ballot above `b` carries `v`.
    pub fn stability(&self, majority: usize, names: &Names) -> CheckOutcome {
        // Per instance: the lowest (ballot, value) a majority accepted, and by when.
        let mut chosen: Vec<Option<(Ballot, u64, Time)>> = vec![None; self.groups.len()];
        let firsts = self
            .groups
            .iter()
            .enumerate()
            .flat_map(|(i, g)| Some((i, g.as_ref()?)));
        let others = self.more.iter().map(|(k, g)| (k.0 as usize, g));
        for (i, g) in firsts.chain(others) {
            if g.acceptors.len() >= majority
                && chosen[i].is_none_or(|(b, v, _)| (g.ballot, g.value) < (b, v))
            {
                chosen[i] = Some((g.ballot, g.value, g.when));
            }
        }
        let chosen_at = |instance: u64| -> Option<(Ballot, u64, Time)> {
            chosen
                .get(usize::try_from(instance).ok()?)
                .copied()
                .flatten()
        };
        for p in &self.proposals {
            if let Some((b, v, t)) = chosen_at(p.instance)
                && p.ballot > b
                && p.value != v
            {
                return fail(
                    "stability",
                    format!(
                        "{}: {} was chosen at ballot {b} (a majority accepted it by {}s), but ballot {} proposed {} at {}s",
                        (names.instance)(p.instance),
                        (names.value)(v),
                        fmt_time(t),
                        p.ballot,
                        (names.value)(p.value),
                        fmt_time(p.time)
                    ),
                    vec![],
                )
                .dated(
                    p.time,
                    [
                        (b.node, format!("its ballot {b} chose {}", (names.value)(v))),
                        (
                            p.ballot.node,
                            format!("ballot {} proposed {}", p.ballot, (names.value)(p.value)),
                        ),
                    ],
                )
                .since(t);
            }
        }
        let later = self
            .proposals
            .iter()
            .filter(|p| chosen_at(p.instance).is_some_and(|c| p.ballot > c.0))
            .count();
        let n_chosen = chosen.iter().flatten().count();
        if n_chosen == 0 {
            return skipped(
                "stability",
                "not judged: no value was chosen (accepted by a majority at one ballot)".into(),
            );
        }
        pass(
            "stability",
            format!(
                "{n_chosen} instance(s) chosen; {later} proposal(s) at higher ballots all carried the chosen value"
            ),
        )
    }
}

/// Single-decree liveness: within the bound after the faults heal, every server that is up
/// at the end has learned a value since it last (re)started. The bound is the scenario's
/// `workload.liveness_bound`, or else 5 s, longer on a network so lossy that a ballot may need
/// more tries than fit in 5 s: a ballot takes 4 hops per acceptor (prepare, promise, accept,
/// accepted), `round` at most (two phase timeouts and the longest backoff).
pub fn every_server_learns(
    spec: &RunSpec,
    round: Time,
    learns: &[Learn],
    end: Time,
) -> CheckOutcome {
    const LIVENESS_BOUND: Time = 5 * SECS;
    let Some(heal_at) = spec.heal_at else {
        return skipped("liveness", unhealed_note(spec));
    };
    let lossy = round.saturating_mul(tries_under_loss(spec, 4));
    let bound = (spec.workload.liveness_bound).unwrap_or(LIVENESS_BOUND.max(lossy));
    let deadline = heal_at.saturating_add(bound);
    let mut since = vec![0; spec.servers as usize];
    let mut up = vec![true; spec.servers as usize];
    for f in &spec.faults {
        match f.fault {
            Fault::Crash(n) if (n as usize) < up.len() => up[n as usize] = false,
            Fault::Restart(n) if (n as usize) < up.len() => {
                up[n as usize] = true;
                since[n as usize] = f.at;
            }
            _ => {}
        }
    }
    let mut missing = Vec::new();
    let mut last = 0;
    for n in 0..spec.servers {
        if !up[n as usize] {
            continue;
        }
        let l = learns
            .iter()
            .find(|l| l.node == n && l.time >= since[n as usize]);
        match l {
            Some(l) if l.time <= deadline => last = last.max(l.time),
            _ => missing.push(n),
        }
    }
    if missing.is_empty() {
        return pass(
            "liveness",
            format!(
                "every live server learned a value, the last at {}s (faults healed at {}s)",
                fmt_time(last),
                fmt_time(heal_at)
            ),
        );
    }
    let names: Vec<String> = missing.iter().map(|n| format!("n{n}")).collect();
    if end < deadline {
        return skipped(
            "liveness",
            format!(
                "not judged: {} had learned nothing when the run stopped at {}s, before the faults healed ({}s) plus {}s",
                names.join(", "),
                fmt_time(end),
                fmt_time(heal_at),
                fmt_time(bound)
            ),
        );
    }
    fail(
        "liveness",
        format!(
            "{} learned nothing within {}s after the faults healed at {}s",
            names.join(", "),
            fmt_time(bound),
            fmt_time(heal_at)
        ),
        vec![],
    )
    .dated(
        deadline,
        missing
            .iter()
            .map(|&n| (n, "learned nothing after the faults healed".into())),
    )
}

#[cfg(test)]
mod tests {
    use super::{Accept, Learn, Names, Safety};
    use crate::protocols::Verdict;
    use crate::protocols::paxos::Ballot;

    /// A report: an acceptance `(slot, acceptor, ballot round, value)` or a learn
    /// `(slot, node, value)`.
    #[derive(Clone, Copy)]
    enum R {
        A(u64, u32, u64, u64),
        L(u64, u32, u64),
    }

    /// Validity judged the way `Safety` does (each report as it comes, a value proposed once
    /// `proposed_by` reports were made), against every report judged on its own at the end.
    fn both(reports: &[R], proposed: &[(u64, usize)]) -> (String, String) {
        let known = |v: u64, by: usize| proposed.iter().any(|&(p, at)| p == v && at <= by);
        let mut s = Safety::default();
        for (i, r) in reports.iter().enumerate() {
            let time = i as u64;
            match *r {
                R::A(instance, acceptor, round, value) => s.accept(
                    Accept {
                        time,
                        instance,
                        acceptor,
                        ballot: Ballot { round, node: 0 },
                        value,
                    },
                    |v| known(v, i),
                ),
                R::L(instance, node, value) => s.learn(
                    Learn {
                        time,
                        node,
                        instance,
                        value,
                    },
                    |v| known(v, i),
                ),
            }
        }
        let names = Names {
            instance: &|i| format!("slot {i}"),
            value: &|v| format!("v{v}"),
        };
        let end = |v: u64| known(v, usize::MAX);
        let got = s.validity(&names, end);
        // Every report judged at the end, the first invalid one in report order (acceptances
        // before learns, as the check reports them).
        let bad_accept = reports.iter().enumerate().find_map(|(i, r)| match *r {
            R::A(slot, n, _, v) if !end(v) => Some(format!(
                "slot {slot}: n{n} accepted v{v}, which nobody proposed, at {}s",
                crate::sim::fmt_time(i as u64)
            )),
            _ => None,
        });
        let bad_learn = reports.iter().enumerate().find_map(|(i, r)| match *r {
            R::L(slot, n, v) if !end(v) => Some(format!(
                "slot {slot}: n{n} learned v{v}, which nobody proposed, at {}s",
                crate::sim::fmt_time(i as u64)
            )),
            _ => None,
        });
        let want = bad_accept.or(bad_learn).unwrap_or_else(|| "pass".into());
        let got = match got.verdict {
            Verdict::Pass => "pass".into(),
            _ => got.detail,
        };
        (got, want)
    }

    /// Reports, the values proposed (each with the index of the report from which it counts),
    /// and whether the run is valid.
    type Case<'a> = (&'a [R], &'a [(u64, usize)], bool);

    #[test]
    fn validity_judged_once_per_value_is_validity_judged_per_report() {
        use R::{A, L};
        // (reports, values proposed with the report index from which they count)
        let cases: &[Case] = &[
            // Every value proposed before it is reported.
            (
                &[A(1, 0, 1, 7), A(1, 1, 1, 7), L(1, 0, 7), L(1, 1, 7)],
                &[(7, 0)],
                true,
            ),
            // Never proposed: the first acceptance is the counterexample, though every
            // later one of the same group skips the lookup.
            (&[A(1, 0, 1, 7), A(1, 1, 1, 7), A(1, 2, 1, 7)], &[], false),
            // A second ballot's value in the same slot, never proposed.
            (
                &[A(1, 0, 1, 7), A(1, 1, 1, 7), A(1, 2, 2, 8), A(1, 0, 2, 8)],
                &[(7, 0)],
                false,
            ),
            // Learned only (no acceptance): the first learner is named.
            (&[L(2, 3, 9), L(2, 1, 9), L(2, 0, 9)], &[], false),
            // Two learners disagree; the second value was never proposed.
            (&[L(2, 3, 9), L(2, 1, 5), L(2, 0, 5)], &[(9, 0)], false),
            // Proposed only after it was first reported (judged again at the end): valid.
            (&[A(1, 0, 1, 7), A(1, 1, 1, 7), L(1, 0, 7)], &[(7, 2)], true),
            // A value seen valid in one slot, an invalid one in another slot.
            (
                &[
                    A(1, 0, 1, 7),
                    L(1, 0, 7),
                    A(2, 0, 1, 6),
                    L(2, 0, 6),
                    L(2, 1, 6),
                ],
                &[(7, 0)],
                false,
            ),
        ];
        for (k, (reports, proposed, valid)) in cases.iter().enumerate() {
            let (got, want) = both(reports, proposed);
            assert_eq!(got, want, "case {k}");
            assert_eq!(got == "pass", *valid, "case {k}: {got}");
        }
    }
}
