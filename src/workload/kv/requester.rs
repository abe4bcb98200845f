//! Getting one request at a time through a replicated service's leader: [`Requester`].

use super::*;

/// The request a [`Requester`] is waiting on.
#[derive(Clone, Debug)]
struct Pending<Op> {
    seq: u64,
    op: Op,
    /// Id of the latest send; only a "not the leader" answering it is acted on.
    attempt: u32,
    /// Attempts begun (each ends at its deadline); the client gives up after `attempts`.
    tries: u32,
    /// When the current attempt times out (client clock).
    deadline: Time,
    /// Redirects within the current attempt.
    redirects: u32,
    /// Back-offs within this operation (the back-off doubles with each).
    backoffs: u32,
    /// Waiting out a back-off: the next `Attempt` timer resends.
    backing_off: bool,
}

/// How a [`Requester`] reaches the network from its host node: the message that carries a
/// request, and the timer tag of the request in flight.
pub struct Wire<N: Node, Op> {
    pub request: fn(KvRequest<Op>) -> N::Msg,
    pub attempt_timer: N::Timer,
}

/// What a [`Requester`] did with an attempt timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptEnd {
    /// Nothing pending, or the request was resent (after a back-off, or to the next server).
    Continue,
    /// Every attempt timed out: the request `seq` is abandoned, its outcome unknown.
    GaveUp { seq: u64 },
}

/// Finding the leader of a replicated service and getting one request at a time through it:
/// a timeout per attempt, retries with the same request id (the servers deduplicate), the
/// next server after a timeout, redirects to the leader a server names, and a randomized
/// back-off when nobody knows one. The key-value client is built on it, and so is the session
/// lock client of `CoordinatorLock` (`workload::lock`).
#[derive(Clone, Debug)]
pub struct Requester<Op> {
    client: u32,
    timeout: Time,
    attempts: u32,
    pending: Option<Pending<Op>>,
    target: u32,
    servers: u32,
}

impl<Op> Requester<Op> {
    /// Changes whenever [`view`](Self::view) would.
    pub fn view_stamp(&self) -> u64 {
        match &self.pending {
            None => u64::MAX,
            Some(p) => crate::sim::stable_hash(&(p.seq, p.tries, self.target)),
        }
    }
}

impl<Op: OpText> Requester<Op> {
    /// `v` with the pending request and its attempt, as the step-through view shows them.
    pub fn view(&self, v: crate::sim::NodeView) -> crate::sim::NodeView {
        match &self.pending {
            None => v.field("pending", "none"),
            Some(p) => {
                // Written piece by piece: a report asks for a client's view at every change.
                let mut pending = String::with_capacity(40);
                p.op.write_short(&mut pending);
                pending.push_str(" (seq ");
                super::push_decimal(&mut pending, p.seq);
                pending.push(')');
                let mut attempt = String::with_capacity(12);
                super::push_decimal(&mut attempt, p.tries.into());
                attempt.push_str(" to n");
                super::push_decimal(&mut attempt, self.target.into());
                v.field("pending", pending).field("try", attempt)
            }
        }
    }
}

impl<Op: Clone> Requester<Op> {
    /// Client `client` of a service on servers `0..servers`, giving each attempt `timeout`
    /// and each request `attempts` attempts.
    pub fn new(client: u32, timeout: Time, attempts: u32, servers: u32) -> Self {
        Requester {
            client,
            timeout,
            attempts,
            pending: None,
            target: client % servers.max(1),
            servers: servers.max(1),
        }
    }

    /// Whether a request is in flight.
    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    /// The server requests go to (the leader, when the client knows it).
    pub fn target(&self) -> NodeId {
        NodeId(self.target)
    }

    /// Points the requester at `server` (a leader hint learned elsewhere).
    pub fn retarget(&mut self, server: u32) {
        self.target = server % self.servers;
    }

    /// Forgets the request in flight (its timer is left to fire on nothing).
    pub fn abandon(&mut self) {
        self.pending = None;
    }

    /// Begins request `seq`: send `op`, and time the attempt out.
    pub fn start<N: Node>(&mut self, ctx: &mut Context<'_, N>, w: &Wire<N, Op>, seq: u64, op: Op) {
        self.pending = Some(Pending {
            seq,
            op,
            attempt: 0,
            tries: 0,
            deadline: 0,
            redirects: 0,
            backoffs: 0,
            backing_off: false,
        });
        self.begin_attempt(ctx, w);
    }

    /// Sends the pending request to the current target as a new attempt.
    fn send<N: Node>(&mut self, ctx: &mut Context<'_, N>, w: &Wire<N, Op>) {
        if let Some(p) = &mut self.pending {
            p.attempt += 1;
            p.backing_off = false;
            let r = KvRequest {
                client: self.client,
                seq: p.seq,
                attempt: p.attempt,
                op: p.op.clone(),
            };
            ctx.send(NodeId(self.target), (w.request)(r));
        }
    }

    /// Begins a new attempt of the pending request: send, and time it out.
    fn begin_attempt<N: Node>(&mut self, ctx: &mut Context<'_, N>, w: &Wire<N, Op>) {
        let now = ctx.now();
        if let Some(p) = &mut self.pending {
            p.tries += 1;
            p.redirects = 0;
            p.deadline = now.saturating_add(self.timeout);
        }
        self.send(ctx, w);
        ctx.set_timer(w.attempt_timer, self.timeout);
    }

    /// A randomized exponential back-off: the `k`-th of a request waits uniformly in
    /// `[b, 2b]` with `b` = timeout/32 doubled `k` times (at least 1 ns: simulated time always
    /// advances), and never more than half the timeout.
    fn backoff<N: Node>(&self, ctx: &mut Context<'_, N>, k: u32) -> Time {
        let base = (self.timeout / 32).max(1);
        let b = base
            .saturating_mul(1 << k.min(20))
            .min(self.timeout / 2)
            .max(1);
        ctx.random_range(b, b.saturating_mul(2).min(self.timeout.max(2)).max(b))
    }

    /// The attempt timer fired: resend after a back-off, try the next server, or give up.
    pub fn on_attempt_timer<N: Node>(
        &mut self,
        ctx: &mut Context<'_, N>,
        w: &Wire<N, Op>,
    ) -> AttemptEnd {
        let now = ctx.now();
        let Some(p) = &self.pending else {
            return AttemptEnd::Continue;
        };
        if p.backing_off && now < p.deadline {
            // The back-off is over: resend within the same attempt.
            let left = p.deadline - now;
            self.send(ctx, w);
            ctx.set_timer(w.attempt_timer, left);
            return AttemptEnd::Continue;
        }
        if p.tries >= self.attempts {
            let seq = p.seq;
            self.pending = None;
            return AttemptEnd::GaveUp { seq };
        }
        self.target = (self.target + 1) % self.servers;
        self.begin_attempt(ctx, w);
        AttemptEnd::Continue
    }

    /// A reply. A result for any attempt of the pending request completes it (servers
    /// deduplicate, so it is the request's one result): `(seq, result)`; any other copy is
    /// ignored. A "not the leader" is acted on only when it answers the latest attempt, once,
    /// within [`MAX_REDIRECTS`] per attempt: duplicated or late replies never multiply work.
    pub fn on_reply<N: Node, R>(
        &mut self,
        ctx: &mut Context<'_, N>,
        w: &Wire<N, Op>,
        from: NodeId,
        reply: KvReply<R>,
    ) -> Option<(u64, R)> {
        match reply {
            KvReply::Done { seq, result, .. } => {
                if self.pending.as_ref().is_none_or(|p| p.seq != seq) {
                    return None; // a late copy
                }
                self.target = from.0 % self.servers;
                self.pending = None;
                ctx.cancel_timer(w.attempt_timer);
                Some((seq, result))
            }
            KvReply::NotLeader { seq, attempt, hint } => {
                let now = ctx.now();
                let Some(p) = &mut self.pending else {
                    return None;
                };
                if p.seq != seq
                    || p.attempt != attempt
                    || p.backing_off
                    || p.redirects >= MAX_REDIRECTS
                {
                    return None; // stale, a copy, or this attempt redirected enough
                }
                p.redirects += 1;
                match hint {
                    Some(h) if h != from.0 && h < self.servers => {
                        self.target = h;
                        self.send(ctx, w);
                    }
                    _ => {
                        // Nobody knows a leader (an election is on, or this server is cut
                        // off): try the next server after a randomized back-off.
                        self.target = (from.0 + 1) % self.servers;
                        p.backing_off = true;
                        let (k, left) = (p.backoffs, p.deadline.saturating_sub(now));
                        p.backoffs += 1;
                        let wait = self.backoff(ctx, k).min(left.max(1));
                        ctx.set_timer(w.attempt_timer, wait);
                    }
                }
                None
            }
        }
    }
}
