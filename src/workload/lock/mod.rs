//! The lock client, shared by every lock service: think, acquire the lock, do some work on
//! the protected resource (a few writes, each carrying the fencing token when the service
//! gives one, with think time between them), release, and again. It can be paused like a
//! process in a long GC pause (between checking its lease and writing, the classic place),
//! and its clock can run fast or slow.
//!
//! Acquisition follows the Redis documentation ("Distributed Locks with Redis"): send
//! `SET lock <owner> NX PX <ttl>` to every server with a short timeout; the lock is held if a
//! quorum granted it and time is left: validity = ttl − elapsed − drift margin, measured on
//! the client's own clock from *before* the requests were sent. If not, unlock everywhere and
//! retry after a random delay. One server and a quorum of one is the single-instance lock.
//! With a coordinator (`LeaseRule::session`, the `CoordinatorLock` service) the client opens
//! a session and queues instead, through the leader (`session.rs`); the work is the same.
//!
//! A client writes only while its lease has at least `min_validity` left, so a write sent in
//! time lands in time when the network's delay is below that bound; it stops believing it
//! holds the lock when its lease runs out on its clock, when the resource rejects a write as
//! stale, or when it releases. Those beliefs are reported ([`LockObs::Hold`],
//! [`LockObs::HoldEnd`]) so that the checks can name the two holders of a violation.
//!
//! Engine faults name servers only, so a client's pauses and clock drift are drawn from its
//! own random stream (see [`LockClientSpec`]): deterministic, and the same for every service.

use serde::{Deserialize, Serialize};

use super::kv::{KvReply, KvRequest};
use super::{OpStatus, WorkloadSpec};
use crate::sim::{Context, MILLIS, Node, NodeId, Time, fmt_duration};

mod session;
pub use session::{KeepAliveStatus, SessionOp, SessionResult, SessionRule};

/// What a lock client does while it holds the lock, and what can happen to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockClientSpec {
    /// Writes to the protected resource per hold.
    pub writes: u32,
    /// Work between two writes (local clock), uniform in [min, max].
    #[serde(with = "crate::sim::dur::pair")]
    pub work: (Time, Time),
    /// A write is sent only if the lease has at least this much left (covers its delivery).
    #[serde(with = "crate::sim::dur")]
    pub min_validity: Time,
    /// Chance that the client pauses (a stop-the-world GC) after checking its lease and
    /// before sending a write.
    pub pause_probability: f64,
    /// Length of such a pause, uniform in [min, max].
    #[serde(with = "crate::sim::dur::pair")]
    pub pause: (Time, Time),
    /// Each client's clock drifts by a rate drawn uniformly in ±this (parts per million).
    pub drift_ppm_max: u32,
    /// Delay before retrying a failed acquisition, uniform in [min, max].
    #[serde(with = "crate::sim::dur::pair")]
    pub retry: (Time, Time),
}

impl Default for LockClientSpec {
    fn default() -> Self {
        LockClientSpec {
            writes: 3,
            work: (10 * MILLIS, 40 * MILLIS),
            min_validity: 20 * MILLIS,
            pause_probability: 0.0,
            pause: (200 * MILLIS, 800 * MILLIS),
            drift_ppm_max: 0,
            retry: (10 * MILLIS, 50 * MILLIS),
        }
    }
}

impl LockClientSpec {
    pub fn validate(&self, what: &str) -> Result<(), String> {
        if self.writes == 0 {
            return Err(format!("{what}.client.writes must be at least 1"));
        }
        for (name, (lo, hi)) in [
            ("work", self.work),
            ("pause", self.pause),
            ("retry", self.retry),
        ] {
            if lo > hi {
                return Err(format!("{what}.client.{name}: min is greater than max"));
            }
        }
        if !(0.0..=1.0).contains(&self.pause_probability) {
            return Err(format!(
                "{what}.client.pause_probability must be between 0 and 1"
            ));
        }
        if self.drift_ppm_max >= 500_000 {
            return Err(format!(
                "{what}.client.drift_ppm_max must be below 500000 (50%)"
            ));
        }
        if self.retry.1 == 0 {
            return Err(format!("{what}.client.retry: max must be positive"));
        }
        Ok(())
    }
}

/// The value a client stores in the lock key: unique per acquisition attempt, like the
/// random value of the Redis recipe (`hold` counts the client's attempts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Owner {
    pub client: u32,
    pub hold: u64,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "c{}.h{}", self.client, self.hold)
    }
}

/// What lock clients, lock servers and the resource say to each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LockMsg {
    /// `SET lock <owner> NX PX <ttl>` (granted again, TTL renewed, if the owner already has it).
    Acquire {
        owner: Owner,
        ttl: Time,
    },
    AcquireReply {
        owner: Owner,
        granted: bool,
        token: Option<u64>,
    },
    /// Delete the lock if its value is `owner` (compare-and-delete).
    Release {
        owner: Owner,
    },
    ReleaseReply {
        owner: Owner,
        deleted: bool,
    },
    /// A write to the protected resource; `seq` is the client's operation id.
    Write {
        owner: Owner,
        token: Option<u64>,
        seq: u64,
    },
    WriteReply {
        seq: u64,
        accepted: bool,
    },
    /// A request to a coordinator's lock table (sessions, ephemeral sequential nodes).
    Session(KvRequest<SessionOp>),
    SessionReply(KvReply<SessionResult>),
    /// A session's heartbeat; `sent` is the client's clock when it left (echoed).
    KeepAlive {
        session: u64,
        sent: Time,
    },
    KeepAliveReply {
        session: u64,
        sent: Time,
        status: KeepAliveStatus,
    },
    /// A watch fired: the node just before `node` in the queue was deleted.
    Notify {
        node: u64,
    },
}

/// The client's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LockTimer {
    Think,
    /// The acquisition attempt `attempt` took too long.
    AcquireTimeout(u64),
    Retry,
    Work,
    WriteTimeout(u64),
    ReleaseTimeout(u64),
    /// The end of a pause.
    Resume,
    /// The coordinator request in flight: its attempt timed out or its back-off is over.
    Request,
    /// Time to send the session's next heartbeat.
    KeepAlive,
}

/// What clients (and, through the same type, servers and the resource) report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockObs {
    /// A client operation began (`kind`: acquire, write, release).
    Invoke {
        client: u32,
        id: u64,
        kind: &'static str,
        desc: String,
    },
    Complete {
        client: u32,
        id: u64,
        status: OpStatus,
        desc: String,
    },
    /// The client began trying to acquire the lock.
    Waiting {
        client: u32,
    },
    /// The client gave up waiting (the workload stopped).
    Idle {
        client: u32,
    },
    /// The client now believes it holds the lock.
    Hold {
        owner: Owner,
        token: Option<u64>,
    },
    /// The client no longer believes it holds the lock.
    HoldEnd {
        owner: Owner,
        why: &'static str,
    },
    Paused {
        client: u32,
        duration: Time,
    },
    Resumed {
        client: u32,
    },
    /// A lock server granted the lock (not a renewal by the same owner).
    Granted {
        owner: Owner,
        token: Option<u64>,
    },
    /// A lock server deleted the lock of `owner` at the request of `by`.
    Deleted {
        owner: Owner,
        by: Owner,
    },
    /// A lock server found the lock of `owner` expired (on its own clock) and dropped it.
    Expired {
        owner: Owner,
    },
    /// The resource accepted a write.
    Accepted {
        owner: Owner,
        token: Option<u64>,
        seq: u64,
    },
    /// The resource rejected a write whose token is older than the newest it accepted.
    Rejected {
        owner: Owner,
        token: Option<u64>,
        newest: u64,
    },
}

/// What a protocol provides so that its node type can host a [`LockClient`].
pub trait LockNode: Node {
    fn lock_msg(m: LockMsg) -> Self::Msg;
    fn lock_timer(t: LockTimer) -> Self::Timer;
    fn lock_obs(o: LockObs) -> Self::Obs;
}

/// How a service's clients judge their lease (the parameters and bugs of the service).
#[derive(Clone, Debug, PartialEq)]
pub struct LeaseRule {
    /// Lock servers are nodes `0..servers`; the lock needs `quorum` grants.
    pub servers: u32,
    pub quorum: u32,
    pub ttl: Time,
    /// Subtracted from the validity for clock drift (Redlock: ttl × factor + 2 ms).
    pub drift_margin: Time,
    /// BUG (client_clock_lease): the lease is measured from when the grant *arrived*, on the
    /// client's clock, with no margin.
    pub from_receipt: bool,
    /// Writes carry the fencing token.
    pub fencing: bool,
    /// The protected resource.
    pub resource: NodeId,
    /// A coordinator's sessions instead of `SET NX` on every server (`CoordinatorLock`):
    /// requests go to the leader of `servers`, `quorum` is unused.
    pub session: Option<SessionRule>,
}

#[derive(Clone, Debug)]
enum Phase {
    Thinking,
    Acquiring {
        /// Local time before the requests left.
        start: Time,
        op: u64,
        grants: u32,
        replies: u32,
        token: Option<u64>,
    },
    Holding {
        valid_until: Time,
        token: Option<u64>,
        writes: u32,
        /// The write waiting for its reply.
        pending: Option<u64>,
    },
    Releasing {
        op: u64,
        replies: u32,
        deleted: bool,
    },
    Done,
}

/// An event that arrived during a pause, handled when the pause ends.
#[derive(Clone, Debug)]
enum Deferred {
    Msg(NodeId, LockMsg),
    Timer(LockTimer),
}

/// One lock client.
#[derive(Clone, Debug)]
pub struct LockClient {
    pub index: u32,
    spec: LockClientSpec,
    workload: WorkloadSpec,
    rule: LeaseRule,
    /// Clock drift in ppm (drawn at start).
    drift_ppm: i64,
    hold: u64,
    holds: u32,
    next_op: u64,
    phase: Phase,
    /// Paused: events wait in the backlog; `resume_write` is the write the pause delayed.
    paused: bool,
    resume_write: bool,
    backlog: Vec<Deferred>,
    /// With a coordinator: the client's session and its queued node.
    session: Option<session::SessionClient>,
}

type Ctx<'a, 'b, N> = &'a mut Context<'b, N>;

impl LockClient {
    pub fn new(
        index: u32,
        spec: &LockClientSpec,
        workload: &WorkloadSpec,
        rule: LeaseRule,
    ) -> Self {
        debug_assert!(rule.quorum >= 1 && rule.quorum <= rule.servers);
        let session = rule
            .session
            .clone()
            .map(|r| session::SessionClient::new(index, rule.servers, r));
        LockClient {
            index,
            spec: spec.clone(),
            workload: workload.clone(),
            rule,
            drift_ppm: 0,
            hold: 0,
            holds: 0,
            next_op: 0,
            phase: Phase::Thinking,
            paused: false,
            resume_write: false,
            backlog: Vec::new(),
            session,
        }
    }

    fn owner(&self) -> Owner {
        Owner {
            client: self.index,
            hold: self.hold,
        }
    }

    /// The client's own clock: its engine clock scaled by its drift.
    fn local<N: LockNode>(&self, ctx: &Context<'_, N>) -> Time {
        let t = ctx.now() as i128;
        (t + t * self.drift_ppm as i128 / 1_000_000).max(0) as Time
    }

    /// Sets a timer of `local` length on the client's drifting clock.
    fn set_local<N: LockNode>(&self, ctx: Ctx<'_, '_, N>, t: LockTimer, local: Time) {
        let d = (local as i128 * 1_000_000 / (1_000_000 + self.drift_ppm as i128)).max(0);
        ctx.set_timer(N::lock_timer(t), d as Time);
    }

    fn invoke<N: LockNode>(
        &mut self,
        ctx: Ctx<'_, '_, N>,
        kind: &'static str,
        desc: String,
    ) -> u64 {
        self.next_op += 1;
        ctx.observe(N::lock_obs(LockObs::Invoke {
            client: self.index,
            id: self.next_op,
            kind,
            desc,
        }));
        self.next_op
    }

    fn complete<N: LockNode>(&self, ctx: Ctx<'_, '_, N>, id: u64, status: OpStatus, desc: String) {
        ctx.observe(N::lock_obs(LockObs::Complete {
            client: self.index,
            id,
            status,
            desc,
        }));
    }

    fn servers(&self) -> impl Iterator<Item = NodeId> + use<> {
        (0..self.rule.servers).map(NodeId)
    }

    pub fn on_start<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>) {
        let m = self.spec.drift_ppm_max as u64;
        self.drift_ppm = ctx.random_range(0, 2 * m) as i64 - m as i64;
        self.think(ctx);
    }

    fn think<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>) {
        self.phase = Phase::Thinking;
        let d = ctx.random_range(self.workload.think.0, self.workload.think.1);
        self.set_local(ctx, LockTimer::Think, d);
    }

    pub fn on_message<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>, from: NodeId, msg: LockMsg) {
        if self.paused {
            self.backlog.push(Deferred::Msg(from, msg));
            return;
        }
        match msg {
            LockMsg::AcquireReply {
                owner,
                granted,
                token,
            } if owner == self.owner() => self.on_acquire_reply(ctx, granted, token),
            LockMsg::ReleaseReply { owner, deleted } if owner == self.owner() => {
                if let Phase::Releasing {
                    op,
                    replies,
                    deleted: d,
                } = &mut self.phase
                {
                    *replies += 1;
                    *d |= deleted;
                    if *replies >= self.rule.servers {
                        let (op, d) = (*op, *d);
                        let status = if d { OpStatus::Ok } else { OpStatus::Fail };
                        let what = if d { "deleted" } else { "not ours any more" };
                        self.complete(
                            ctx,
                            op,
                            status,
                            format!("release {} -> {what}", self.owner()),
                        );
                        self.think(ctx);
                    }
                }
            }
            LockMsg::WriteReply { seq, accepted } => self.on_write_reply(ctx, seq, accepted),
            LockMsg::SessionReply(_) | LockMsg::KeepAliveReply { .. } | LockMsg::Notify { .. } => {
                self.on_session_msg(ctx, from, msg)
            }
            _ => {}
        }
    }

    pub fn on_timer<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>, t: LockTimer) {
        if t == LockTimer::Resume {
            return self.resume(ctx);
        }
        if self.paused {
            self.backlog.push(Deferred::Timer(t));
            return;
        }
        match t {
            LockTimer::Think => {
                let limit =
                    self.workload.ops_per_client > 0 && self.holds >= self.workload.ops_per_client;
                if !matches!(self.phase, Phase::Thinking) {
                    return;
                }
                if limit || ctx.now() >= self.workload.stop {
                    return self.finish(ctx);
                }
                self.holds += 1;
                ctx.observe(N::lock_obs(LockObs::Waiting { client: self.index }));
                self.attempt(ctx);
            }
            LockTimer::Retry => {
                if !matches!(self.phase, Phase::Thinking) {
                    return;
                }
                if ctx.now() >= self.workload.stop {
                    ctx.observe(N::lock_obs(LockObs::Idle { client: self.index }));
                    return self.finish(ctx);
                }
                self.attempt(ctx);
            }
            LockTimer::AcquireTimeout(op) => {
                if let Phase::Acquiring { op: o, replies, .. } = self.phase
                    && o == op
                {
                    // Some servers did not answer: they may have granted the lock.
                    let status = if replies >= self.rule.servers {
                        OpStatus::Fail
                    } else {
                        OpStatus::Unknown
                    };
                    self.give_up_attempt(ctx, op, status, "timed out", true);
                }
            }
            LockTimer::Work => {
                if matches!(self.phase, Phase::Holding { pending: None, .. }) {
                    self.step_work(ctx);
                }
            }
            LockTimer::WriteTimeout(seq) => {
                if let Phase::Holding {
                    pending, writes, ..
                } = &mut self.phase
                    && *pending == Some(seq)
                {
                    *pending = None;
                    *writes += 1;
                    self.complete(ctx, seq, OpStatus::Unknown, "write -> ?".into());
                    self.step_work(ctx);
                }
            }
            LockTimer::ReleaseTimeout(op) => {
                if let Phase::Releasing { op: o, deleted, .. } = self.phase
                    && o == op
                {
                    let status = if deleted {
                        OpStatus::Ok
                    } else {
                        OpStatus::Unknown
                    };
                    self.complete(ctx, op, status, format!("release {} -> ?", self.owner()));
                    self.think(ctx);
                }
            }
            LockTimer::Request | LockTimer::KeepAlive => self.on_session_timer(ctx, t),
            LockTimer::Resume => {}
        }
    }

    /// One acquisition attempt: `SET NX PX` on every server, with a value of its own (a late
    /// unlock of an earlier attempt must not delete this one's lock).
    fn attempt<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>) {
        self.hold += 1;
        let owner = self.owner();
        let op = self.invoke(ctx, "acquire", format!("acquire {owner}"));
        self.phase = Phase::Acquiring {
            start: self.local(ctx),
            op,
            grants: 0,
            replies: 0,
            token: None,
        };
        if self.session.is_some() {
            // A coordinator queues the client: no timeout on the wait (each request has its
            // own), the lock comes when the nodes ahead are gone.
            return self.session_acquire(ctx);
        }
        for s in self.servers() {
            ctx.send(
                s,
                N::lock_msg(LockMsg::Acquire {
                    owner,
                    ttl: self.rule.ttl,
                }),
            );
        }
        self.set_local(ctx, LockTimer::AcquireTimeout(op), self.workload.timeout);
    }

    fn on_acquire_reply<N: LockNode>(
        &mut self,
        ctx: Ctx<'_, '_, N>,
        granted: bool,
        tok: Option<u64>,
    ) {
        let Phase::Acquiring {
            start,
            op,
            grants,
            replies,
            token,
        } = &mut self.phase
        else {
            return;
        };
        *replies += 1;
        if granted {
            *grants += 1;
            *token = (*token).max(tok);
        }
        let (start, op, grants, replies, token) = (*start, *op, *grants, *replies, *token);
        if grants >= self.rule.quorum {
            let now = self.local(ctx);
            let valid_until = if self.rule.from_receipt {
                now.saturating_add(self.rule.ttl)
            } else {
                start
                    .saturating_add(self.rule.ttl)
                    .saturating_sub(self.rule.drift_margin)
            };
            if valid_until <= now.saturating_add(self.spec.min_validity) {
                return self.give_up_attempt(ctx, op, OpStatus::Fail, "no validity left", true);
            }
            let owner = self.owner();
            let t = token.map_or(String::new(), |t| format!(" token {t}"));
            self.complete(
                ctx,
                op,
                OpStatus::Ok,
                format!(
                    "acquire {owner} -> held{t}, valid {}",
                    fmt_duration(valid_until - now)
                ),
            );
            ctx.observe(N::lock_obs(LockObs::Hold { owner, token }));
            self.phase = Phase::Holding {
                valid_until,
                token,
                writes: 0,
                pending: None,
            };
            self.step_work(ctx);
        } else if replies >= self.rule.servers {
            // Redlock unlocks every instance after a failed attempt; a plain denial by the
            // single instance left nothing to unlock.
            let unlock = grants > 0 || self.rule.servers > 1;
            self.give_up_attempt(ctx, op, OpStatus::Fail, "lock busy", unlock);
        }
    }

    /// The attempt failed: unlock every server (even those that did not grant) and retry.
    fn give_up_attempt<N: LockNode>(
        &mut self,
        ctx: Ctx<'_, '_, N>,
        op: u64,
        status: OpStatus,
        why: &str,
        unlock: bool,
    ) {
        let owner = self.owner();
        self.complete(ctx, op, status, format!("acquire {owner} -> {why}"));
        if unlock {
            for s in self.servers() {
                ctx.send(s, N::lock_msg(LockMsg::Release { owner }));
            }
        }
        self.phase = Phase::Thinking;
        let d = ctx.random_range(self.spec.retry.0, self.spec.retry.1);
        self.set_local(ctx, LockTimer::Retry, d);
    }

    /// Next step of the work: write if the lease allows it, else stop and release.
    fn step_work<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>) {
        let now = self.local(ctx);
        let Phase::Holding {
            valid_until,
            writes,
            ..
        } = self.phase
        else {
            return;
        };
        if writes >= self.spec.writes {
            return self.release(ctx, "released");
        }
        if now.saturating_add(self.spec.min_validity) >= valid_until {
            return self.release(ctx, "lease ran out");
        }
        // The lease was just checked; a stop-the-world pause here outlives it unnoticed.
        if self.spec.pause_probability > 0.0 && ctx.random_bool(self.spec.pause_probability) {
            let d = ctx.random_range(self.spec.pause.0, self.spec.pause.1);
            self.paused = true;
            self.resume_write = true;
            ctx.observe(N::lock_obs(LockObs::Paused {
                client: self.index,
                duration: d,
            }));
            // A pause lasts in real time, whatever the client's clock says.
            ctx.set_timer(N::lock_timer(LockTimer::Resume), d);
            return;
        }
        self.send_write(ctx);
    }

    fn send_write<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>) {
        let owner = self.owner();
        let Phase::Holding { token, .. } = self.phase else {
            return;
        };
        let token = if self.rule.fencing { token } else { None };
        let t = token.map_or(String::new(), |t| format!(" token {t}"));
        let seq = self.invoke(ctx, "write", format!("write {owner}{t}"));
        if let Phase::Holding { pending, .. } = &mut self.phase {
            *pending = Some(seq);
        }
        ctx.send(
            self.rule.resource,
            N::lock_msg(LockMsg::Write { owner, token, seq }),
        );
        self.set_local(ctx, LockTimer::WriteTimeout(seq), self.workload.timeout);
    }

    fn on_write_reply<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>, seq: u64, accepted: bool) {
        let Phase::Holding {
            pending, writes, ..
        } = &mut self.phase
        else {
            return;
        };
        if *pending != Some(seq) {
            return;
        }
        *pending = None;
        *writes += 1;
        let owner = self.owner();
        if accepted {
            self.complete(ctx, seq, OpStatus::Ok, format!("write {owner} -> accepted"));
            let d = ctx.random_range(self.spec.work.0, self.spec.work.1);
            self.set_local(ctx, LockTimer::Work, d);
        } else {
            self.complete(
                ctx,
                seq,
                OpStatus::Fail,
                format!("write {owner} -> rejected (stale token)"),
            );
            self.release(ctx, "write rejected as stale");
        }
    }

    fn release<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>, why: &'static str) {
        let owner = self.owner();
        ctx.observe(N::lock_obs(LockObs::HoldEnd { owner, why }));
        let op = self.invoke(ctx, "release", format!("release {owner}"));
        self.phase = Phase::Releasing {
            op,
            replies: 0,
            deleted: false,
        };
        if self.session.is_some() {
            return self.session_release(ctx);
        }
        for s in self.servers() {
            ctx.send(s, N::lock_msg(LockMsg::Release { owner }));
        }
        self.set_local(ctx, LockTimer::ReleaseTimeout(op), self.workload.timeout);
    }

    /// The pause is over: the delayed write goes out as if nothing happened, then the backlog.
    fn resume<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>) {
        if !self.paused {
            return;
        }
        self.paused = false;
        ctx.observe(N::lock_obs(LockObs::Resumed { client: self.index }));
        if std::mem::take(&mut self.resume_write) {
            self.send_write(ctx);
        }
        for d in std::mem::take(&mut self.backlog) {
            match d {
                Deferred::Msg(from, m) => self.on_message(ctx, from, m),
                Deferred::Timer(t) => self.on_timer(ctx, t),
            }
        }
    }

    /// The workload is over for this client: it stops for good (closing its coordinator
    /// session, if it has one).
    fn finish<N: LockNode>(&mut self, ctx: Ctx<'_, '_, N>) {
        self.phase = Phase::Done;
        self.session_close(ctx);
    }

    /// Whether the client stopped for good.
    pub fn done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }
}
