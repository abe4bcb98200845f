//! How a lock client uses a coordinator (ZooKeeper's lock recipe, Chubby's sessions): it opens
//! a session and keeps it alive with heartbeats; to acquire, it creates an ephemeral
//! sequential node under the lock; the lowest node holds the lock, and every other client
//! watches only the node just before its own and checks again when that one is deleted (no
//! herd effect). The node's sequence number is the sequencer, the fencing token. The node
//! disappears when its owner deletes it (release) or when its session ends (closed, or
//! expired by the service after missing heartbeats).
//!
//! Requests go to the leader through a [`Requester`] (the key-value client's leader finding
//! and retries). The client's own view of its session is a lease on its clock: the send time
//! of the last acknowledged heartbeat plus the session timeout, less a drift margin; it stops
//! believing it holds the lock when that runs out. A lost watch notification (a leader
//! change) is made up by checking the queue again every few heartbeats while waiting.

use serde::Serialize;

use super::{LockClient, LockMsg, LockNode, LockObs, LockTimer, Phase};
use crate::sim::{Context, NodeId, Time, fmt_duration};
use crate::workload::OpStatus;
use crate::workload::kv::{AttemptEnd, KvReply, Requester, Wire};

/// A request to the lock table. The table is replicated, so each is applied once, in log
/// order, whatever retries the client makes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum SessionOp {
    /// Open a session that the service expires after `timeout` without heartbeats.
    Open { timeout: Time },
    /// Create an ephemeral sequential node under the lock, owned by `session`.
    Create { session: u64, owner: super::Owner },
    /// Where is `node` in the queue?
    Check { session: u64, node: u64 },
    /// Delete `node` (release), if `session` owns it.
    Delete { session: u64, node: u64 },
    /// Close `session`: its ephemeral nodes go with it.
    Close { session: u64 },
    /// The leader expires `session`, which missed its heartbeats (never sent by clients).
    Expire { session: u64 },
}

impl crate::workload::kv::OpText for SessionOp {
    fn write_short(&self, s: &mut String) {
        let text = match self {
            SessionOp::Open { timeout } => {
                format!("open {}", crate::sim::fmt_duration(*timeout))
            }
            SessionOp::Create { session, owner } => {
                format!("create s{session} c{}", owner.client)
            }
            SessionOp::Check { session, node } => format!("check s{session} {node}"),
            SessionOp::Delete { session, node } => format!("delete s{session} {node}"),
            SessionOp::Close { session } => format!("close s{session}"),
            SessionOp::Expire { session } => format!("expire s{session}"),
        };
        s.push_str(&text);
    }
}

/// The lock table's answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum SessionResult {
    /// The new session's id (the log index of its opening).
    Opened {
        session: u64,
    },
    /// `node` is in the queue; `ahead` is the node just before it (to watch), or `None`: it is
    /// the lowest, and its owner holds the lock with sequencer `node`.
    Queued {
        node: u64,
        ahead: Option<u64>,
    },
    /// Whether the deleted node existed.
    Deleted {
        existed: bool,
    },
    Closed,
    /// The session is closed or expired.
    NoSession,
    /// The node no longer exists.
    NoNode,
}

/// The answer to a heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeepAliveStatus {
    /// The leader renewed the session.
    Alive,
    /// The session is closed or expired.
    Gone,
    /// Not the leader; try `hint` if known.
    NotLeader { hint: Option<u32> },
}

/// How a client keeps its session (the service's parameters and the client's bug).
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRule {
    /// The service expires a session this long after its last heartbeat (leader's clock).
    pub timeout: Time,
    /// Heartbeat interval (client's clock).
    pub keepalive: Time,
    /// Subtracted from the client's session lease for clock drift.
    pub drift_margin: Time,
    /// Requests: the attempt timeout and attempts, as the workload's.
    pub request_timeout: Time,
    pub request_attempts: u32,
    /// BUG (session_closed_after_acquire): the client closes its session right after
    /// acquiring, and goes on working as the holder.
    pub close_after_acquire: bool,
}

/// Heartbeats between two checks of the queue while waiting (in case a watch was lost).
const RECHECK_TICKS: u32 = 5;

/// What the request in flight is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Idle,
    Open,
    Create,
    Check,
    Delete,
    Close,
}

/// A client's session with the coordinator.
#[derive(Clone, Debug)]
pub struct SessionClient {
    rule: SessionRule,
    requests: Requester<SessionOp>,
    seq: u64,
    /// The open session, and when its lease ends on the client's clock.
    id: Option<u64>,
    lease_until: Time,
    step: Step,
    /// Client clock when the request in flight was first sent.
    step_sent: Time,
    /// The node this client queued: (session, sequence number).
    node: Option<(u64, u64)>,
    ticks_waiting: u32,
}

impl SessionClient {
    pub fn new(client: u32, servers: u32, rule: SessionRule) -> Self {
        SessionClient {
            requests: Requester::new(client, rule.request_timeout, rule.request_attempts, servers),
            rule,
            seq: 0,
            id: None,
            lease_until: 0,
            step: Step::Idle,
            step_sent: 0,
            node: None,
            ticks_waiting: 0,
        }
    }

    fn lease_from(&self, sent: Time) -> Time {
        sent.saturating_add(self.rule.timeout)
            .saturating_sub(self.rule.drift_margin)
    }
}

type Ctx<'a, 'b, N> = &'a mut Context<'b, N>;

fn wire<N: LockNode>() -> Wire<N, SessionOp> {
    Wire {
        request: |r| N::lock_msg(LockMsg::Session(r)),
        attempt_timer: N::lock_timer(LockTimer::Request),
    }
}

impl LockClient {
    fn send_request<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>, step: Step, op: SessionOp) {
        let now = self.local(ctx);
        let Some(s) = self.session.as_mut() else {
            return;
        };
        s.seq += 1;
        s.step = step;
        s.step_sent = now;
        s.requests.start(ctx, &wire(), s.seq, op);
    }

    /// Begins an acquisition (the phase is `Acquiring`): open a session if there is none,
    /// then queue a node.
    pub(super) fn session_acquire<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>) {
        let owner = self.owner();
        let Some(s) = &self.session else { return };
        match s.id {
            None => {
                let timeout = s.rule.timeout;
                self.send_request(ctx, Step::Open, SessionOp::Open { timeout })
            }
            Some(session) => {
                self.send_request(ctx, Step::Create, SessionOp::Create { session, owner })
            }
        }
    }

    /// Closes the session, if one is open (the client is done): its heartbeats stop.
    pub(super) fn session_close<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>) {
        if let Some(session) = self.session.as_mut().and_then(|s| s.id.take()) {
            self.send_request(ctx, Step::Close, SessionOp::Close { session });
        }
    }

    /// Releases by deleting the held node (the phase is `Releasing`).
    pub(super) fn session_release<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>) {
        match self.session.as_mut().and_then(|s| s.node.take()) {
            Some((session, node)) => {
                self.send_request(ctx, Step::Delete, SessionOp::Delete { session, node })
            }
            None => self.release_done(ctx, Some(false)),
        }
    }

    /// The release's outcome (`None`: unknown); then think.
    fn release_done<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>, deleted: Option<bool>) {
        if let Phase::Releasing { op, .. } = self.phase {
            let owner = self.owner();
            let (status, what) = match deleted {
                Some(true) => (OpStatus::Ok, "deleted"),
                Some(false) => (OpStatus::Fail, "not ours any more"),
                None => (OpStatus::Unknown, "?"),
            };
            self.complete(ctx, op, status, format!("release {owner} -> {what}"));
            self.think(ctx);
        }
    }

    pub(super) fn on_session_reply<N: LockNode>(
        &mut self,
        ctx: Ctx<'_, '_, N>,
        from: NodeId,
        reply: KvReply<SessionResult>,
    ) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let Some((_, result)) = s.requests.on_reply(ctx, &wire(), from, reply) else {
            return;
        };
        let step = std::mem::replace(&mut s.step, Step::Idle);
        let acquiring = matches!(self.phase, Phase::Acquiring { .. });
        match (step, result) {
            (Step::Open, SessionResult::Opened { session }) => {
                s.id = Some(session);
                s.lease_until = s.lease_from(s.step_sent);
                let every = s.rule.keepalive;
                self.set_local(ctx, LockTimer::KeepAlive, every);
                if acquiring {
                    self.session_acquire(ctx);
                }
            }
            (Step::Create | Step::Check, SessionResult::Queued { node, ahead }) if acquiring => {
                if let Some(session) = s.id {
                    s.node = Some((session, node));
                }
                s.ticks_waiting = 0;
                if ahead.is_none() {
                    self.session_granted(ctx, node);
                }
            }
            (Step::Create | Step::Check, _) if acquiring => {
                self.session_lost(ctx, "session expired")
            }
            (Step::Delete, SessionResult::Deleted { existed }) => {
                self.release_done(ctx, Some(existed))
            }
            (Step::Delete, _) => self.release_done(ctx, Some(false)),
            _ => {}
        }
    }

    /// The client's node is the lowest: it holds the lock, with its sequence number as the
    /// fencing token, while its session lease lasts.
    fn session_granted<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>, node: u64) {
        let Phase::Acquiring { op, .. } = self.phase else {
            return;
        };
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let valid_until = s.lease_until;
        let close = s.rule.close_after_acquire;
        let now = self.local(ctx);
        let owner = self.owner();
        self.complete(
            ctx,
            op,
            OpStatus::Ok,
            format!(
                "acquire {owner} -> held, sequencer {node}, session lease {}",
                fmt_duration(valid_until.saturating_sub(now))
            ),
        );
        ctx.observe(N::lock_obs(LockObs::Hold {
            owner,
            token: Some(node),
        }));
        self.phase = Phase::Holding {
            valid_until,
            token: Some(node),
            writes: 0,
            pending: None,
        };
        if close && let Some(session) = self.session.as_mut().and_then(|s| s.id.take()) {
            // BUG (session_closed_after_acquire): the tutorial's sample closes the session as
            // soon as the lock is acquired (its connection is scoped to the acquire call).
            // The ephemeral node goes with the session, so the lock is free again at once,
            // while this client goes on working as if it held it.
            self.send_request(ctx, Step::Close, SessionOp::Close { session });
        }
        self.step_work(ctx);
    }

    /// The session is gone (expired at the service, or its lease ran out here): the lock
    /// with it. An acquisition starts over with a new session; a holder stops.
    fn session_lost<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>, why: &'static str) {
        if let Some(s) = self.session.as_mut() {
            s.id = None;
            if !matches!(self.phase, Phase::Holding { .. }) {
                s.node = None;
            }
        }
        match self.phase {
            Phase::Acquiring { op, .. } => {
                if let Some(s) = self.session.as_mut() {
                    s.requests.abandon();
                    s.step = Step::Idle;
                }
                self.give_up_attempt(ctx, op, OpStatus::Fail, why, false)
            }
            Phase::Holding { pending: None, .. } => self.release(ctx, why),
            Phase::Holding { .. } => {
                // A write is in flight: stop believing once it is answered.
                if let Phase::Holding { valid_until, .. } = &mut self.phase {
                    *valid_until = 0;
                }
            }
            _ => {}
        }
    }

    pub(super) fn on_session_timer<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>, t: LockTimer) {
        match t {
            LockTimer::Request => {
                let Some(s) = self.session.as_mut() else {
                    return;
                };
                if let AttemptEnd::GaveUp { .. } = s.requests.on_attempt_timer(ctx, &wire()) {
                    // No answer: a node may have been queued, or a session opened, unseen.
                    // Dropping the session lets the service expire it, and whatever it owns.
                    let step = std::mem::replace(&mut s.step, Step::Idle);
                    s.id = None;
                    s.node = None;
                    match (step, &self.phase) {
                        (_, Phase::Acquiring { op, .. }) => {
                            let op = *op;
                            self.give_up_attempt(ctx, op, OpStatus::Unknown, "no answer", false)
                        }
                        (Step::Delete, Phase::Releasing { .. }) => self.release_done(ctx, None),
                        _ => {}
                    }
                }
            }
            LockTimer::KeepAlive => self.heartbeat(ctx),
            _ => {}
        }
    }

    /// Sends the session's heartbeat to the leader it knows, and while waiting checks the
    /// queue again now and then.
    fn heartbeat<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>) {
        let now = self.local(ctx);
        let acquiring = matches!(self.phase, Phase::Acquiring { .. });
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let Some(session) = s.id else { return };
        if now >= s.lease_until {
            return self.session_lost(ctx, "session lease ran out");
        }
        ctx.send(
            s.requests.target(),
            N::lock_msg(LockMsg::KeepAlive { session, sent: now }),
        );
        let every = s.rule.keepalive;
        let recheck = match s.node {
            Some((_, node)) if acquiring && !s.requests.busy() => {
                s.ticks_waiting += 1;
                (s.ticks_waiting % RECHECK_TICKS == 0).then_some(node)
            }
            _ => None,
        };
        self.set_local(ctx, LockTimer::KeepAlive, every);
        if let Some(node) = recheck {
            self.send_request(ctx, Step::Check, SessionOp::Check { session, node });
        }
    }

    pub(super) fn on_session_msg<N: LockNode>(
        &mut self,
        ctx: Ctx<'_, '_, N>,
        from: NodeId,
        msg: LockMsg,
    ) {
        let acquiring = matches!(self.phase, Phase::Acquiring { .. });
        let Some(s) = self.session.as_mut() else {
            return;
        };
        match msg {
            LockMsg::SessionReply(r) => self.on_session_reply(ctx, from, r),
            LockMsg::KeepAliveReply {
                session,
                sent,
                status,
            } if s.id == Some(session) => match status {
                KeepAliveStatus::Alive => {
                    s.lease_until = s.lease_until.max(s.lease_from(sent));
                    let lease = s.lease_until;
                    let ours = s.node.is_some_and(|(n, _)| n == session);
                    if let Phase::Holding { valid_until, .. } = &mut self.phase
                        && ours
                        && *valid_until > 0
                    {
                        *valid_until = (*valid_until).max(lease);
                    }
                }
                KeepAliveStatus::Gone => self.session_lost(ctx, "session expired"),
                KeepAliveStatus::NotLeader { hint } => {
                    s.requests.retarget(hint.unwrap_or(from.0 + 1));
                }
            },
            LockMsg::Notify { node } => {
                let watching = s.node.is_some_and(|(_, n)| n == node);
                if acquiring
                    && watching
                    && !s.requests.busy()
                    && let Some(session) = s.id
                {
                    self.send_request(ctx, Step::Check, SessionOp::Check { session, node });
                }
            }
            _ => {}
        }
    }
}
