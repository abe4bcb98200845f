//! A key-value client usable by any replicated key-value protocol (Raft and Multi-Paxos),
//! and the log `Command` both replicate: one operation at a time, drawn from the workload's mix over its keys, with unique
//! written values (so histories are checkable), a timeout per attempt, retries with the same
//! request id (the servers deduplicate), redirects to the leader, and an outcome recorded as
//! unknown when the client gives up.

use serde::Serialize;

use super::{OpRecord, OpStatus, WorkloadSpec};
use crate::check::{History, KvInput, KvOutput};
use crate::sim::{Context, Node, NodeId, Time};

/// A key-value operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum KvOp {
    Get {
        key: String,
    },
    Put {
        key: String,
        value: String,
    },
    Append {
        key: String,
        value: String,
    },
    Cas {
        key: String,
        from: String,
        to: String,
    },
}

impl KvOp {
    pub fn key(&self) -> &str {
        match self {
            KvOp::Get { key }
            | KvOp::Put { key, .. }
            | KvOp::Append { key, .. }
            | KvOp::Cas { key, .. } => key,
        }
    }
    pub fn kind(&self) -> &'static str {
        match self {
            KvOp::Get { .. } => "get",
            KvOp::Put { .. } => "put",
            KvOp::Append { .. } => "append",
            KvOp::Cas { .. } => "cas",
        }
    }
    /// Short text for a log cell or a pending operation: `append k0 "12"`.
    pub fn short(&self) -> String {
        let mut s = String::with_capacity(24);
        self.write_short(&mut s);
        s
    }
    /// [`short`](Self::short), appended to `s`.
    pub fn write_short(&self, s: &mut String) {
        s.push_str(self.kind());
        s.push(' ');
        s.push_str(self.key());
        let mut quoted = |v: &str| {
            s.push_str(" \"");
            s.push_str(v);
            s.push('"');
        };
        match self {
            KvOp::Get { .. } => {}
            KvOp::Put { value, .. } | KvOp::Append { value, .. } => quoted(value),
            KvOp::Cas { from, to, .. } => {
                quoted(from);
                quoted(to);
            }
        }
    }
    /// A key-value map as a view shows it: `k0=…3 4 5` (each value's end), keys in order.
    pub fn map_view(kv: &std::collections::BTreeMap<String, String>) -> String {
        let mut s = String::new();
        for (k, v) in kv {
            if !s.is_empty() {
                s.push(' ');
            }
            let t = crate::sim::view::tail(v, 12);
            s.push_str(k);
            s.push('=');
            if t.len() < v.len() {
                s.push('…');
            }
            s.push_str(t);
        }
        s
    }
    pub fn is_read(&self) -> bool {
        matches!(self, KvOp::Get { .. })
    }
    /// Applies the operation to a map, returning its result.
    pub fn apply(&self, kv: &mut std::collections::BTreeMap<String, String>) -> KvResult {
        match self {
            KvOp::Get { key } => KvResult::Value(kv.get(key).cloned().unwrap_or_default()),
            // A key already in the map is updated in place (no copy of the key made to be
            // dropped): the map ends the same.
            KvOp::Put { key, value } => {
                match kv.get_mut(key) {
                    Some(v) => value.clone_into(v),
                    None => {
                        kv.insert(key.clone(), value.clone());
                    }
                }
                KvResult::Done
            }
            KvOp::Append { key, value } => {
                match kv.get_mut(key) {
                    Some(v) => v.push_str(value),
                    None => {
                        kv.insert(key.clone(), value.clone());
                    }
                }
                KvResult::Done
            }
            KvOp::Cas { key, from, to } => {
                let cur = match kv.get_mut(key) {
                    Some(v) => v,
                    None => kv.entry(key.clone()).or_default(),
                };
                if cur == from {
                    to.clone_into(cur);
                    KvResult::Cas(true)
                } else {
                    KvResult::Cas(false)
                }
            }
        }
    }
}

/// A command in a replicated log (Raft's log entries, Multi-Paxos's slots): a client's
/// operation, a no-op, or an operation the leader proposed on its own. Shared so that neither
/// protocol depends on the other; generic over the replicated state machine's operation (the
/// key-value store's by default). An operation is shared, not copied, by every log and message
/// that holds the entry (`Arc` hashes and prints as what it holds: traces are unchanged).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Command<Op = KvOp> {
    /// Proposed by a new leader: Raft appends one at the start of its term so that entries of
    /// earlier terms get committed through it; Multi-Paxos fills log holes with it.
    Noop,
    /// A client's operation; `(client, seq)` identifies it across retries.
    Client {
        client: u32,
        seq: u64,
        op: std::sync::Arc<Op>,
    },
    /// An operation the leader proposed on its own (a lock service's session expiry): no
    /// client waits for it.
    Service { op: std::sync::Arc<Op> },
}

/// An operation as a log cell of the step-through view shows it.
pub trait OpText {
    /// Appends the short text to `s`.
    fn write_short(&self, s: &mut String);
}

impl OpText for KvOp {
    fn write_short(&self, s: &mut String) {
        KvOp::write_short(self, s)
    }
}

impl<Op: OpText> Command<Op> {
    /// Short text for a log cell: `noop`, `c1 append k0 "c1.4 "`.
    pub fn short(&self) -> String {
        let mut s = String::with_capacity(24);
        match self {
            Command::Noop => s.push_str("noop"),
            Command::Client { client, op, .. } => {
                s.push('c');
                push_decimal(&mut s, (*client).into());
                s.push(' ');
                op.write_short(&mut s);
            }
            Command::Service { op } => op.write_short(&mut s),
        }
        s
    }
}

/// Appends `n` in decimal, without the formatting machinery (log cells are drawn often, and
/// a client names a key and a value per operation).
fn push_decimal(s: &mut String, mut n: u64) {
    let mut b = [0u8; 20];
    let mut i = b.len();
    loop {
        i -= 1;
        b[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    s.extend(b[i..].iter().map(|&d| d as char));
}

/// The result of an operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum KvResult {
    Value(String),
    Done,
    Cas(bool),
}

/// A client's request; `seq` identifies it across retries, `attempt` this one send of it
/// (servers echo it in their reply, so the client can tell which send a reply answers).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KvRequest<Op = KvOp> {
    pub client: u32,
    pub seq: u64,
    pub attempt: u32,
    pub op: Op,
}

/// A server's answer, echoing the request's `seq` and `attempt` ([`KvReply::done`],
/// [`KvReply::not_leader`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvReply<R = KvResult> {
    Done {
        seq: u64,
        attempt: u32,
        result: R,
    },
    /// Not the leader; try `hint` if known.
    NotLeader {
        seq: u64,
        attempt: u32,
        hint: Option<u32>,
    },
}

impl<R> KvReply<R> {
    /// The result of request `r`.
    pub fn done<Op>(r: &KvRequest<Op>, result: R) -> Self {
        KvReply::Done {
            seq: r.seq,
            attempt: r.attempt,
            result,
        }
    }
    /// "Not the leader" in answer to request `r`.
    pub fn not_leader<Op>(r: &KvRequest<Op>, hint: Option<u32>) -> Self {
        KvReply::NotLeader {
            seq: r.seq,
            attempt: r.attempt,
            hint,
        }
    }
}

/// A replicated key-value store's dedup table: per client, the last sequence number applied
/// and its result, so that a retried request is applied once (Raft §8; Multi-Paxos uses the
/// same, and so does the lock table of `CoordinatorLock`, with its own result type), indexed
/// by client number. Rebuilt from the log on restart by applying it again.
#[derive(Clone, Debug)]
pub struct Sessions<R = KvResult>(Vec<Option<(u64, R)>>);

impl<R> Default for Sessions<R> {
    fn default() -> Self {
        Sessions(Vec::new())
    }
}

impl<R: Clone> Sessions<R> {
    /// Runs `apply` for request (`client`, `seq`) unless it was applied already: its result,
    /// the stored one for a retry of the last request, or `None` for an older one. Clients are
    /// numbered from 0, so the table is indexed by client (a tree of a thousand clients cost a
    /// search per apply on every server).
    pub fn apply_once(&mut self, client: u32, seq: u64, apply: impl FnOnce() -> R) -> Option<R> {
        let c = client as usize;
        if self.0.len() <= c {
            self.0.resize_with(c + 1, || None);
        }
        match &mut self.0[c] {
            Some((last, res)) if *last >= seq => (*last == seq).then(|| res.clone()),
            slot => {
                let r = apply();
                *slot = Some((seq, r.clone()));
                Some(r)
            }
        }
    }
    /// The result of (`client`, `seq`) if it is the client's last applied request.
    pub fn answered(&self, client: u32, seq: u64) -> Option<R> {
        self.0
            .get(client as usize)?
            .as_ref()
            .filter(|(last, _)| *last == seq)
            .map(|(_, r)| r.clone())
    }
}

impl Sessions {
    /// Applies request (`client`, `seq`) with `op` to `kv` unless it was applied already: its
    /// result, the stored one for a retry of the last request, or `None` for an older one.
    pub fn apply(
        &mut self,
        client: u32,
        seq: u64,
        op: &KvOp,
        kv: &mut std::collections::BTreeMap<String, String>,
    ) -> Option<KvResult> {
        self.apply_once(client, seq, || op.apply(kv))
    }
}

/// The client's timers: one for thinking, one for the operation in flight (its attempt's
/// deadline, or the end of a back-off): one timer chain per operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientTimer {
    /// Time to invoke the next operation.
    Think,
    /// The pending operation's next step: resend after a back-off, or its attempt timed out.
    Attempt,
}

/// What a client reports (the engine stamps each with true time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientObs {
    Invoke {
        client: u32,
        seq: u64,
        op: KvOp,
    },
    Complete {
        client: u32,
        seq: u64,
        result: KvResult,
    },
    /// The client gave up: the outcome is unknown.
    GiveUp {
        client: u32,
        seq: u64,
    },
}

/// What a protocol provides so that its node type can host a `KvClient`.
pub trait KvNode: Node {
    fn request(r: KvRequest) -> Self::Msg;
    fn client_timer(t: ClientTimer) -> Self::Timer;
    fn client_obs(o: ClientObs) -> Self::Obs;
}

/// Redirects (following a hint, or backing off after a "not the leader" without one) that
/// one attempt may make before the client just waits for the attempt's timeout.
pub const MAX_REDIRECTS: u32 = 16;

/// The longest one operation can take before the client gives up on it: every attempt runs
/// to its timeout (redirects and back-offs happen within an attempt's time).
pub fn longest_op(w: &WorkloadSpec) -> Time {
    w.timeout.saturating_mul(w.attempts as u64)
}

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
                let mut op = String::new();
                p.op.write_short(&mut op);
                v.field("pending", format!("{op} (seq {})", p.seq))
                    .field("try", format!("{} to n{}", p.tries, self.target))
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

/// One key-value client: closed loop, one operation at a time through a [`Requester`].
#[derive(Clone, Debug)]
pub struct KvClient {
    pub index: u32,
    spec: WorkloadSpec,
    seq: u64,
    issued: u32,
    requests: Requester<KvOp>,
}

impl KvClient {
    pub fn new(index: u32, spec: &WorkloadSpec, servers: u32) -> Self {
        KvClient {
            index,
            spec: spec.clone(),
            seq: 0,
            issued: 0,
            requests: Requester::new(index, spec.timeout, spec.attempts, servers),
        }
    }

    fn wire<N: KvNode>() -> Wire<N, KvOp> {
        Wire {
            request: N::request,
            attempt_timer: N::client_timer(ClientTimer::Attempt),
        }
    }

    /// Changes whenever [`view`](Self::view) would.
    pub fn view_stamp(&self) -> u64 {
        self.requests.view_stamp()
    }

    /// What the step-through view shows of this client: its pending operation and attempt.
    pub fn view(&self) -> crate::sim::NodeView {
        self.requests
            .view(crate::sim::NodeView::new("client", None))
    }

    pub fn on_start<N: KvNode>(&mut self, ctx: &mut Context<'_, N>) {
        self.think(ctx);
    }

    fn think<N: KvNode>(&mut self, ctx: &mut Context<'_, N>) {
        let d = ctx.random_range(self.spec.think.0, self.spec.think.1);
        ctx.set_timer(N::client_timer(ClientTimer::Think), d);
    }

    fn next_op<N: KvNode>(&mut self, ctx: &mut Context<'_, N>) -> KvOp {
        let m = &self.spec.mix;
        let total = (m.get + m.put + m.append + m.cas) as u64;
        let pick = ctx.random_range(0, total - 1);
        let mut key = String::with_capacity(4);
        key.push('k');
        push_decimal(&mut key, ctx.random_range(0, self.spec.keys as u64 - 1));
        let (g, p, a) = (m.get as u64, m.put as u64, m.append as u64);
        if pick < g {
            return KvOp::Get { key };
        }
        // `c{index}.{seq} `: unique, so that histories are checkable.
        let mut value = String::with_capacity(16);
        value.push('c');
        push_decimal(&mut value, self.index.into());
        value.push('.');
        push_decimal(&mut value, self.seq);
        value.push(' ');
        if pick < g + p {
            KvOp::Put { key, value }
        } else if pick < g + p + a {
            KvOp::Append { key, value }
        } else {
            KvOp::Cas {
                key,
                from: String::new(),
                to: value,
            }
        }
    }

    pub fn on_timer<N: KvNode>(
        &mut self,
        ctx: &mut Context<'_, N>,
        t: ClientTimer,
        now_true: Time,
    ) {
        match t {
            ClientTimer::Think => {
                let limit_reached =
                    self.spec.ops_per_client > 0 && self.issued >= self.spec.ops_per_client;
                if self.requests.busy() || limit_reached || now_true >= self.spec.stop {
                    return;
                }
                self.seq += 1;
                self.issued += 1;
                let op = self.next_op(ctx);
                ctx.observe(N::client_obs(ClientObs::Invoke {
                    client: self.index,
                    seq: self.seq,
                    op: op.clone(),
                }));
                self.requests.start(ctx, &Self::wire(), self.seq, op);
            }
            ClientTimer::Attempt => {
                if let AttemptEnd::GaveUp { seq } =
                    self.requests.on_attempt_timer(ctx, &Self::wire())
                {
                    ctx.observe(N::client_obs(ClientObs::GiveUp {
                        client: self.index,
                        seq,
                    }));
                    self.think(ctx);
                }
            }
        }
    }

    /// A reply: a result completes the pending operation (see [`Requester::on_reply`]).
    pub fn on_reply<N: KvNode>(&mut self, ctx: &mut Context<'_, N>, from: NodeId, reply: KvReply) {
        if let Some((seq, result)) = self.requests.on_reply(ctx, &Self::wire(), from, reply) {
            ctx.observe(N::client_obs(ClientObs::Complete {
                client: self.index,
                seq,
                result,
            }));
            self.think(ctx);
        }
    }
}

/// A candidate linearization for [`crate::check::witness`]: the operations (indexes into
/// the history, whose operation `i` is `ids[i]` = (client, seq), in invocation order) in the
/// order a replicated state machine applied them, given as (client, seq) in apply order; a
/// retried request applied twice counts at its first place (the state machine's dedup skips
/// the second). Requests nobody invoked are left out.
pub fn witness_order(ids: impl Iterator<Item = (u32, u64)>, applied: &[(u32, u64)]) -> Vec<usize> {
    let index: std::collections::BTreeMap<(u32, u64), usize> =
        ids.enumerate().map(|(i, id)| (id, i)).collect();
    let mut taken = vec![false; index.values().max().map_or(0, |m| m + 1)];
    applied
        .iter()
        .filter_map(|op| index.get(op).copied())
        .filter(|&i| !std::mem::replace(&mut taken[i], true))
        .collect()
}

/// The history of a run, built as the client observations come (nothing else of them is
/// kept, and the reports' `OpRecord`s are made from it at the end): `OpRecord`s for reports
/// and the checker's history, in the same order (invocation order).
#[derive(Default)]
pub struct HistoryBuilder {
    hist: History<KvInput, KvOutput>,
    /// (client, seq) per operation.
    ids: Vec<(u32, u64)>,
    /// Per client (its index): (seq, operation) of its invocations not yet completed or
    /// given up. A closed-loop client has at most one open, so a short list per client
    /// beats a tree of every open operation of a thousand clients.
    open: Vec<Vec<(u64, usize)>>,
}

impl HistoryBuilder {
    fn open_mut(&mut self, client: u32) -> &mut Vec<(u64, usize)> {
        let c = client as usize;
        if self.open.len() <= c {
            self.open.resize_with(c + 1, Vec::new);
        }
        &mut self.open[c]
    }

    /// Removes and returns the open operation (`client`, `seq`).
    fn close(&mut self, client: u32, seq: u64) -> Option<usize> {
        let open = self.open.get_mut(client as usize)?;
        let k = open.iter().position(|&(s, _)| s == seq)?;
        Some(open.swap_remove(k).1)
    }
}

impl HistoryBuilder {
    pub fn push(&mut self, t: Time, o: ClientObs) {
        match o {
            ClientObs::Invoke { client, seq, op } => {
                let i = self.ids.len();
                let open = self.open_mut(client);
                match open.iter_mut().find(|(s, _)| *s == seq) {
                    Some(o) => o.1 = i, // invoked again: the latest invocation is the open one
                    None => open.push((seq, i)),
                }
                crate::frugal::push(&mut self.ids, (client, seq));
                let input = match op {
                    KvOp::Get { key } => KvInput::Get { key },
                    KvOp::Put { key, value } => KvInput::Put { key, value },
                    KvOp::Append { key, value } => KvInput::Append { key, value },
                    KvOp::Cas { key, from, to } => KvInput::Cas { key, from, to },
                };
                crate::frugal::push(
                    &mut self.hist.ops,
                    crate::check::Operation {
                        client: client as u64,
                        call: t,
                        ret: None,
                        input,
                        output: None,
                        status: crate::check::Status::Unknown,
                    },
                );
            }
            ClientObs::Complete {
                client,
                seq,
                result,
            } => {
                if let Some(i) = self.close(client, seq) {
                    let op = &mut self.hist.ops[i];
                    op.ret = Some(t);
                    op.status = crate::check::Status::Ok;
                    op.output = Some(match result {
                        KvResult::Value(v) => KvOutput::Value(v),
                        KvResult::Done => KvOutput::Done,
                        KvResult::Cas(b) => KvOutput::Cas(b),
                    });
                }
            }
            ClientObs::GiveUp { client, seq } => {
                self.close(client, seq);
            }
        }
    }

    /// (client, seq) of each operation so far, in invocation order.
    pub fn ids(&self) -> &[(u32, u64)] {
        &self.ids
    }

    pub fn finish(self) -> (Vec<OpRecord>, History<KvInput, KvOutput>) {
        let records = self
            .hist
            .ops
            .iter()
            .map(|op| {
                let (kind, key) = match &op.input {
                    KvInput::Get { key } => ("get", key),
                    KvInput::Put { key, .. } => ("put", key),
                    KvInput::Append { key, .. } => ("append", key),
                    KvInput::Cas { key, .. } => ("cas", key),
                };
                let client = op.client as u32;
                OpRecord {
                    client,
                    call: op.call,
                    ret: op.ret,
                    status: match op.status {
                        crate::check::Status::Ok => OpStatus::Ok,
                        _ => OpStatus::Unknown,
                    },
                    kind: kind.into(),
                    key: key.clone(),
                    desc: describe(client, &op.input, op.output.as_ref()),
                }
            })
            .collect();
        (records, self.hist)
    }
}

/// The history of a run, rebuilt from client observations (see [`HistoryBuilder`]).
pub fn history(
    obs: impl Iterator<Item = (Time, ClientObs)>,
) -> (Vec<OpRecord>, History<KvInput, KvOutput>) {
    let mut b = HistoryBuilder::default();
    for (t, o) in obs {
        b.push(t, o);
    }
    b.finish()
}

/// `c3 put k1 "c3.7 " -> ok`: one operation as reports list it. Written into one string
/// (a run of a thousand clients describes a hundred thousand operations), byte for byte what
/// `format!` with `{:?}` of the values gives.
fn describe(client: u32, op: &KvInput, res: Option<&KvOutput>) -> String {
    let mut s = String::with_capacity(48);
    s.push('c');
    push_decimal(&mut s, client.into());
    s.push(' ');
    match op {
        KvInput::Get { key } => {
            s.push_str("get ");
            s.push_str(key);
        }
        KvInput::Put { key, value } | KvInput::Append { key, value } => {
            s.push_str(if matches!(op, KvInput::Put { .. }) {
                "put "
            } else {
                "append "
            });
            s.push_str(key);
            s.push(' ');
            push_debug(&mut s, value);
        }
        KvInput::Cas { key, from, to } => {
            s.push_str("cas ");
            s.push_str(key);
            s.push(' ');
            push_debug(&mut s, from);
            s.push_str("->");
            push_debug(&mut s, to);
        }
    }
    s.push_str(" -> ");
    match res {
        None => s.push('?'),
        Some(KvOutput::Value(v)) => push_debug(&mut s, v),
        Some(KvOutput::Done) => s.push_str("ok"),
        Some(KvOutput::Cas(b)) => s.push_str(if *b { "ok" } else { "failed" }),
    }
    s
}

/// Appends `v` as `{:?}` shows it: quoted as it is when every byte is printable ASCII other
/// than a quote or a backslash (what `Debug` leaves alone), else through `Debug`.
fn push_debug(s: &mut String, v: &str) {
    if v.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        s.push('"');
        s.push_str(v);
        s.push('"');
    } else {
        use std::fmt::Write;
        let _ = write!(s, "{v:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_decimal_writes_decimal() {
        for n in [0, 7, 10, 99, 1000, 123_456_789, u64::MAX] {
            let mut s = String::from("x");
            push_decimal(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
    }

    /// `describe` writes what `format!` with `{:?}` wrote, escapes and all.
    #[test]
    fn describe_matches_debug_formatting() {
        let old = |client: u32, op: &KvInput, res: Option<&KvOutput>| {
            let out = match res {
                None => "?".to_string(),
                Some(KvOutput::Value(v)) => format!("{v:?}"),
                Some(KvOutput::Done) => "ok".into(),
                Some(KvOutput::Cas(b)) => if *b { "ok" } else { "failed" }.into(),
            };
            match op {
                KvInput::Get { key } => format!("c{client} get {key} -> {out}"),
                KvInput::Put { key, value } => format!("c{client} put {key} {value:?} -> {out}"),
                KvInput::Append { key, value } => {
                    format!("c{client} append {key} {value:?} -> {out}")
                }
                KvInput::Cas { key, from, to } => {
                    format!("c{client} cas {key} {from:?}->{to:?} -> {out}")
                }
            }
        };
        let values = [
            "",
            "c3.7 ",
            "a\"b",
            "back\\slash",
            "tab\there",
            "nl\n",
            "é",
            "\u{301}x",
            "\u{7f}",
            "~ok~",
            "zero\0",
        ];
        for v in values {
            let s = || v.to_string();
            let ops = [
                KvInput::Get { key: "k0".into() },
                KvInput::Put {
                    key: "k1".into(),
                    value: s(),
                },
                KvInput::Append {
                    key: "k2".into(),
                    value: s(),
                },
                KvInput::Cas {
                    key: "k0".into(),
                    from: s(),
                    to: "x".into(),
                },
                KvInput::Cas {
                    key: "k0".into(),
                    from: "".into(),
                    to: s(),
                },
            ];
            let outs = [
                None,
                Some(KvOutput::Value(s())),
                Some(KvOutput::Done),
                Some(KvOutput::Cas(true)),
                Some(KvOutput::Cas(false)),
            ];
            for op in &ops {
                for out in &outs {
                    assert_eq!(describe(7, op, out.as_ref()), old(7, op, out.as_ref()));
                }
            }
        }
    }
}
