//! The checks of a lock run, judged from outside (see the module above): which hold may
//! write (`mutual-exclusion`), the order of fencing tokens (`fencing-monotonicity`), and
//! the acquire/release history the checker's `mutex` model judges (`lock-linearizability`).

use std::collections::BTreeMap;

use crate::check::{CheckOptions, History, Mutex, MutexInput, MutexOutput, Verdict as LinVerdict};
use crate::protocols::CheckOutcome;
use crate::protocols::common::{fail, pass, skipped};
use crate::sim::{NodeId, Time, fmt_time};
use crate::workload::lock::{LockObs, Owner};

use super::{Gathered, HoldSpan, LockView};
/// The order of holds: by fencing token when the service gives them, else by when the holder
/// began to believe it held the lock.
fn hold_rank(h: &HoldSpan) -> (u64, Time) {
    (h.token.unwrap_or(0), h.start)
}

pub(super) fn mutual_exclusion(
    obs: &[(Time, NodeId, LockObs)],
    g: &Gathered,
    servers: u32,
) -> CheckOutcome {
    const NAME: &str = "mutual-exclusion";
    // The newest hold that has written: (hold, time and op id of its latest write).
    let mut newest: Option<(&HoldSpan, Time, u64)> = None;
    // Accepted writes, and those of a known hold (the ones judged).
    let (mut accepted, mut judged) = (0, 0);
    for (t, at, o) in obs {
        let LockObs::Accepted { owner, seq, .. } = o else {
            continue;
        };
        accepted += 1;
        let Some(h) = g.holds.get(owner) else {
            continue;
        };
        judged += 1;
        match newest {
            Some((n, nt, nseq)) if n.owner != h.owner && hold_rank(h) < hold_rank(n) => {
                let ops: Vec<usize> = [(h.owner.client, *seq), (n.owner.client, nseq)]
                    .iter()
                    .filter_map(|k| g.op_index.get(k).copied())
                    .collect();
                return fail(
                    NAME,
                    format!(
                        "stale write accepted: c{} wrote at {}s as {}, after the newer holder c{} had written at {}s as {}. {}; {}. Their beliefs {}.",
                        h.owner.client,
                        fmt_time(*t),
                        h.owner,
                        n.owner.client,
                        fmt_time(nt),
                        n.owner,
                        n.describe(),
                        h.describe(),
                        if n.end.is_none_or(|(e, _)| h.start < e)
                            && h.end.is_none_or(|(e, _)| n.start < e)
                        {
                            "overlapped"
                        } else {
                            "did not overlap: the stale write was delayed"
                        }
                    ),
                    ops,
                )
                .dated(
                    *t,
                    [
                        (servers + h.owner.client, format!("stale write as {}", h.owner)),
                        (servers + n.owner.client, format!("newer holder {}", n.owner)),
                        (at.0, "accepted the stale write".into()),
                    ],
                )
                .since(nt.min(*t));
            }
            _ => newest = Some((h, *t, *seq)),
        }
    }
    if judged == 0 {
        // Judged at the storage: with no write of a hold there, nothing was judged.
        return skipped(
            NAME,
            format!(
                "not judged: the storage accepted no write from a hold ({accepted} writes accepted, {} holds)",
                g.holds.len()
            ),
        );
    }
    pass(
        NAME,
        format!(
            "{accepted} accepted writes from {} holds, never an older holder's after a newer one's",
            g.holds.len()
        ),
    )
}

pub(super) fn fencing_monotonicity(obs: &[(Time, NodeId, LockObs)], servers: u32) -> CheckOutcome {
    const NAME: &str = "fencing-monotonicity";
    type Tok = (Time, u64, Owner);
    let (mut grants, mut writes): (Vec<Tok>, Vec<Tok>) = (vec![], vec![]);
    for (t, _, o) in obs {
        match o {
            LockObs::Granted {
                owner,
                token: Some(tok),
            } => grants.push((*t, *tok, *owner)),
            LockObs::Accepted {
                owner,
                token: Some(tok),
                ..
            } => writes.push((*t, *tok, *owner)),
            _ => {}
        }
    }
    // Grants must increase strictly; accepted writes must not go back.
    for (seq, strict, verb) in [
        (&grants, true, "the service granted"),
        (&writes, false, "the resource accepted"),
    ] {
        let bad = seq
            .windows(2)
            .find(|w| w[1].1 < w[0].1 || (strict && w[1].1 == w[0].1));
        if let Some(w) = bad {
            let d = |x: &Tok| format!("token {} ({}) at {}s", x.1, x.2, fmt_time(x.0));
            return fail(
                NAME,
                format!("{verb} {} after {}", d(&w[1]), d(&w[0])),
                vec![],
            )
            .dated(
                w[1].0,
                [
                    (servers + w[1].2.client, format!("token {}", w[1].1)),
                    (servers + w[0].2.client, format!("token {} before", w[0].1)),
                ],
            );
        }
    }
    pass(
        NAME,
        format!(
            "{} grants with increasing tokens; {} fenced writes accepted in token order",
            grants.len(),
            writes.len()
        ),
    )
}

/// How many processes of a lock history are clients (the expiries are numbered after them).
fn client_processes(obs: &[(Time, NodeId, LockObs)]) -> u64 {
    obs.iter()
        .filter_map(|(_, _, o)| match o {
            LockObs::Invoke { client, .. } => Some(*client as u64 + 1),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// The acquire/release history of the lock (see [`LockView`]), as the checker reads it:
/// times are positions, so that the service's own order is kept exactly.
pub fn lock_history(
    obs: &[(Time, NodeId, LockObs)],
    view: LockView,
) -> History<MutexInput, MutexOutput> {
    let mut h = History::new();
    // Expiries get processes of their own, numbered after every client.
    let clients = client_processes(obs);
    let mut extra = clients;
    match view {
        LockView::Service => {
            for (i, (_, _, o)) in obs.iter().enumerate() {
                let (call, ret) = (2 * i as u64, 2 * i as u64 + 1);
                match o {
                    LockObs::Granted { owner, token } => h.ok(
                        owner.client as u64,
                        call,
                        ret,
                        MutexInput::Acquire,
                        MutexOutput::Granted(token.map(|t| t as i64)),
                    ),
                    LockObs::Deleted { by, .. } => h.ok(
                        by.client as u64,
                        call,
                        ret,
                        MutexInput::Release,
                        MutexOutput::Released,
                    ),
                    LockObs::Expired { .. } => {
                        h.ok(extra, call, ret, MutexInput::Release, MutexOutput::Released);
                        extra += 1;
                    }
                    _ => {}
                }
            }
        }
        LockView::Beliefs => {
            let mut invoked: BTreeMap<u32, Time> = BTreeMap::new();
            let mut starts: BTreeMap<Owner, (Time, Time, Option<u64>)> = BTreeMap::new();
            let acquire =
                |h: &mut History<MutexInput, MutexOutput>,
                 owner: &Owner,
                 (call, ret, token): (Time, Time, Option<u64>)| {
                    h.ok(
                        owner.client as u64,
                        2 * call,
                        2 * ret,
                        MutexInput::Acquire,
                        MutexOutput::Granted(token.map(|t| t as i64)),
                    )
                };
            for (t, _, o) in obs {
                match o {
                    LockObs::Invoke {
                        client,
                        kind: "acquire",
                        ..
                    } => {
                        invoked.insert(*client, *t);
                    }
                    LockObs::Hold { owner, token } => {
                        let call = invoked.get(&owner.client).copied().unwrap_or(*t);
                        starts.insert(*owner, (call, *t, *token));
                    }
                    LockObs::HoldEnd { owner, .. } => {
                        if let Some(start) = starts.remove(owner) {
                            acquire(&mut h, owner, start);
                            h.ok(
                                owner.client as u64,
                                2 * t,
                                2 * t + 1,
                                MutexInput::Release,
                                MutexOutput::Released,
                            );
                        }
                    }
                    _ => {}
                }
            }
            for (owner, start) in starts {
                acquire(&mut h, &owner, start);
            }
        }
    }
    h
}

pub(super) fn lock_linearizability(
    h: &History<MutexInput, MutexOutput>,
    view: LockView,
    obs: &[(Time, NodeId, LockObs)],
    servers: u32,
) -> CheckOutcome {
    const NAME: &str = "lock-linearizability";
    let what = match view {
        LockView::Service => "the service's grants, releases and expiries",
        LockView::Beliefs => "the clients' believed holds",
    };
    let r = crate::check::check(
        &Mutex,
        h,
        &CheckOptions {
            budget: 5_000_000,
            parallel: false,
            ..CheckOptions::default()
        },
    );
    match r.verdict {
        LinVerdict::Linearizable => pass(
            NAME,
            format!("{} operations of {what} form a mutex history", h.len()),
        ),
        LinVerdict::Unknown => CheckOutcome {
            verdict: crate::protocols::Verdict::Unknown,
            ..pass(
                NAME,
                format!("search budget exhausted after {} steps", r.steps),
            )
        },
        LinVerdict::NotLinearizable => {
            let c = r.counterexample.expect("a violation has a counterexample");
            let mut d = format!("{what} are not a mutex history: ");
            let show = |i: usize| {
                let o = &h.ops[i];
                format!("p{} {:?} {:?}", o.client, o.input, o.output)
            };
            let last: Vec<String> = c
                .linearized
                .iter()
                .rev()
                .take(3)
                .rev()
                .map(|&i| show(i))
                .collect();
            d.push_str(&format!("after [{}] none of [", last.join(", ")));
            let un: Vec<String> = c.unplaced.iter().take(4).map(|&i| show(i)).collect();
            d.push_str(&un.join(", "));
            d.push_str("] can take effect (a second grant while the lock is held, a release of a free lock, or a token that does not increase)");
            // Positions back to times (`lock_history`): the service's history numbers its
            // observations, the beliefs' doubles their times.
            let time = |pos: u64| match view {
                LockView::Service => obs.get((pos / 2) as usize).map_or(0, |o| o.0),
                LockView::Beliefs => pos / 2,
            };
            let clients = client_processes(obs);
            let at = c.unplaced.iter().map(|&i| time(h.ops[i].call)).min();
            let nodes = c.unplaced.iter().filter_map(|&i| {
                let o = &h.ops[i];
                // Expiries are processes of their own, numbered after the clients.
                (o.client < clients).then(|| {
                    (
                        servers + o.client as u32,
                        format!("{:?} could not take effect", o.input),
                    )
                })
            });
            let nodes: Vec<(u32, String)> = nodes.collect();
            match at {
                Some(at) => fail(NAME, d, vec![]).dated(at, nodes),
                None => fail(NAME, d, vec![]),
            }
        }
    }
}
