//! A key-value client usable by any replicated key-value protocol (Raft now, Multi-Paxos
//! later): one operation at a time, drawn from the workload's mix over its keys, with unique
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
            KvOp::Put { key, value } => {
                kv.insert(key.clone(), value.clone());
                KvResult::Done
            }
            KvOp::Append { key, value } => {
                kv.entry(key.clone()).or_default().push_str(value);
                KvResult::Done
            }
            KvOp::Cas { key, from, to } => {
                let cur = kv.entry(key.clone()).or_default();
                if cur == from {
                    *cur = to.clone();
                    KvResult::Cas(true)
                } else {
                    KvResult::Cas(false)
                }
            }
        }
    }
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
pub struct KvRequest {
    pub client: u32,
    pub seq: u64,
    pub attempt: u32,
    pub op: KvOp,
}

/// A server's answer, echoing the request's `seq` and `attempt` ([`KvReply::done`],
/// [`KvReply::not_leader`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvReply {
    Done {
        seq: u64,
        attempt: u32,
        result: KvResult,
    },
    /// Not the leader; try `hint` if known.
    NotLeader {
        seq: u64,
        attempt: u32,
        hint: Option<u32>,
    },
}

impl KvReply {
    /// The result of request `r`.
    pub fn done(r: &KvRequest, result: KvResult) -> Self {
        KvReply::Done {
            seq: r.seq,
            attempt: r.attempt,
            result,
        }
    }
    /// "Not the leader" in answer to request `r`.
    pub fn not_leader(r: &KvRequest, hint: Option<u32>) -> Self {
        KvReply::NotLeader {
            seq: r.seq,
            attempt: r.attempt,
            hint,
        }
    }
}

/// A replicated key-value store's dedup table: per client, the last sequence number applied
/// and its result, so that a retried request is applied once (Raft §8; Multi-Paxos uses the
/// same). Rebuilt from the log on restart by applying it again.
#[derive(Clone, Debug, Default)]
pub struct Sessions(std::collections::BTreeMap<u32, (u64, KvResult)>);

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
        match self.0.get(&client) {
            Some((last, res)) if *last >= seq => (*last == seq).then(|| res.clone()),
            _ => {
                let r = op.apply(kv);
                self.0.insert(client, (seq, r.clone()));
                Some(r)
            }
        }
    }
    /// The result of (`client`, `seq`) if it is the client's last applied request.
    pub fn answered(&self, client: u32, seq: u64) -> Option<KvResult> {
        self.0
            .get(&client)
            .filter(|(last, _)| *last == seq)
            .map(|(_, r)| r.clone())
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

/// The operation a client is waiting on.
#[derive(Clone, Debug)]
struct Pending {
    seq: u64,
    op: KvOp,
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

/// One client.
#[derive(Clone, Debug)]
pub struct KvClient {
    pub index: u32,
    spec: WorkloadSpec,
    seq: u64,
    issued: u32,
    pending: Option<Pending>,
    target: u32,
    servers: u32,
}

impl KvClient {
    pub fn new(index: u32, spec: &WorkloadSpec, servers: u32) -> Self {
        KvClient {
            index,
            spec: spec.clone(),
            seq: 0,
            issued: 0,
            pending: None,
            target: index % servers.max(1),
            servers: servers.max(1),
        }
    }

    /// Changes whenever [`view`](Self::view) would.
    pub fn view_stamp(&self) -> u64 {
        match &self.pending {
            None => u64::MAX,
            Some(p) => crate::sim::stable_hash(&(p.seq, p.tries, self.target)),
        }
    }

    /// What the step-through view shows of this client: its pending operation and attempt.
    pub fn view(&self) -> crate::sim::NodeView {
        let v = crate::sim::NodeView::new("client", None);
        match &self.pending {
            None => v.field("pending", "none"),
            Some(p) => v
                .field("pending", format!("{} (seq {})", p.op.short(), p.seq))
                .field("try", format!("{} to n{}", p.tries, self.target)),
        }
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
        let key = format!("k{}", ctx.random_range(0, self.spec.keys as u64 - 1));
        let value = format!("c{}.{} ", self.index, self.seq);
        let (g, p, a) = (m.get as u64, m.put as u64, m.append as u64);
        if pick < g {
            KvOp::Get { key }
        } else if pick < g + p {
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

    /// Sends the pending operation to the current target as a new attempt.
    fn send<N: KvNode>(&mut self, ctx: &mut Context<'_, N>) {
        if let Some(p) = &mut self.pending {
            p.attempt += 1;
            p.backing_off = false;
            let r = KvRequest {
                client: self.index,
                seq: p.seq,
                attempt: p.attempt,
                op: p.op.clone(),
            };
            ctx.send(NodeId(self.target), N::request(r));
        }
    }

    /// Begins a new attempt of the pending operation: send, and time it out.
    fn begin_attempt<N: KvNode>(&mut self, ctx: &mut Context<'_, N>) {
        let now = ctx.now();
        if let Some(p) = &mut self.pending {
            p.tries += 1;
            p.redirects = 0;
            p.deadline = now.saturating_add(self.spec.timeout);
        }
        self.send(ctx);
        ctx.set_timer(N::client_timer(ClientTimer::Attempt), self.spec.timeout);
    }

    /// A randomized exponential back-off: the `k`-th of an operation waits uniformly in
    /// `[b, 2b]` with `b` = timeout/32 doubled `k` times (at least 1 ns: simulated time always
    /// advances), and never more than half the timeout.
    fn backoff<N: KvNode>(&self, ctx: &mut Context<'_, N>, k: u32) -> Time {
        let base = (self.spec.timeout / 32).max(1);
        let b = base
            .saturating_mul(1 << k.min(20))
            .min(self.spec.timeout / 2)
            .max(1);
        ctx.random_range(b, b.saturating_mul(2).min(self.spec.timeout.max(2)).max(b))
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
                if self.pending.is_some() || limit_reached || now_true >= self.spec.stop {
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
                self.pending = Some(Pending {
                    seq: self.seq,
                    op,
                    attempt: 0,
                    tries: 0,
                    deadline: 0,
                    redirects: 0,
                    backoffs: 0,
                    backing_off: false,
                });
                self.begin_attempt(ctx);
            }
            ClientTimer::Attempt => {
                let now = ctx.now();
                let Some(p) = &self.pending else { return };
                if p.backing_off && now < p.deadline {
                    // The back-off is over: resend within the same attempt.
                    let left = p.deadline - now;
                    self.send(ctx);
                    ctx.set_timer(N::client_timer(ClientTimer::Attempt), left);
                    return;
                }
                if p.tries >= self.spec.attempts {
                    ctx.observe(N::client_obs(ClientObs::GiveUp {
                        client: self.index,
                        seq: p.seq,
                    }));
                    self.pending = None;
                    self.think(ctx);
                    return;
                }
                self.target = (self.target + 1) % self.servers;
                self.begin_attempt(ctx);
            }
        }
    }

    /// A reply. A result for any attempt of the pending operation completes it (servers
    /// deduplicate, so it is the operation's one result); any other copy is ignored. A "not
    /// the leader" is acted on only when it answers the latest attempt, once, within
    /// [`MAX_REDIRECTS`] per attempt: duplicated or late replies never multiply work.
    pub fn on_reply<N: KvNode>(&mut self, ctx: &mut Context<'_, N>, from: NodeId, reply: KvReply) {
        match reply {
            KvReply::Done { seq, result, .. } => {
                if self.pending.as_ref().is_none_or(|p| p.seq != seq) {
                    return; // a late copy
                }
                self.target = from.0 % self.servers;
                ctx.observe(N::client_obs(ClientObs::Complete {
                    client: self.index,
                    seq,
                    result,
                }));
                self.pending = None;
                ctx.cancel_timer(N::client_timer(ClientTimer::Attempt));
                self.think(ctx);
            }
            KvReply::NotLeader { seq, attempt, hint } => {
                let now = ctx.now();
                let Some(p) = &mut self.pending else { return };
                if p.seq != seq
                    || p.attempt != attempt
                    || p.backing_off
                    || p.redirects >= MAX_REDIRECTS
                {
                    return; // stale, a copy, or this attempt redirected enough
                }
                p.redirects += 1;
                match hint {
                    Some(h) if h != from.0 && h < self.servers => {
                        self.target = h;
                        self.send(ctx);
                    }
                    _ => {
                        // Nobody knows a leader (an election is on, or this server is cut
                        // off): try the next server after a randomized back-off.
                        self.target = (from.0 + 1) % self.servers;
                        p.backing_off = true;
                        let (k, left) = (p.backoffs, p.deadline.saturating_sub(now));
                        p.backoffs += 1;
                        let wait = self.backoff(ctx, k).min(left.max(1));
                        ctx.set_timer(N::client_timer(ClientTimer::Attempt), wait);
                    }
                }
            }
        }
    }
}

/// The history of a run, rebuilt from client observations: `OpRecord`s for reports and the
/// checker's history, in the same order (invocation order).
pub fn history(
    obs: impl Iterator<Item = (Time, ClientObs)>,
) -> (Vec<OpRecord>, History<KvInput, KvOutput>) {
    let mut records: Vec<OpRecord> = Vec::new();
    let mut inputs: Vec<(KvOp, Option<KvResult>)> = Vec::new();
    let mut open: std::collections::BTreeMap<(u32, u64), usize> = std::collections::BTreeMap::new();
    for (t, o) in obs {
        match o {
            ClientObs::Invoke { client, seq, op } => {
                open.insert((client, seq), records.len());
                records.push(OpRecord {
                    client,
                    call: t,
                    ret: None,
                    status: OpStatus::Unknown,
                    kind: op.kind().into(),
                    key: op.key().into(),
                    desc: String::new(),
                });
                inputs.push((op, None));
            }
            ClientObs::Complete {
                client,
                seq,
                result,
            } => {
                if let Some(i) = open.remove(&(client, seq)) {
                    records[i].ret = Some(t);
                    records[i].status = OpStatus::Ok;
                    inputs[i].1 = Some(result);
                }
            }
            ClientObs::GiveUp { client, seq } => {
                open.remove(&(client, seq));
            }
        }
    }
    let mut h = History::new();
    for (r, (op, res)) in records.iter_mut().zip(&inputs) {
        let input = match op {
            KvOp::Get { key } => KvInput::Get { key: key.clone() },
            KvOp::Put { key, value } => KvInput::Put {
                key: key.clone(),
                value: value.clone(),
            },
            KvOp::Append { key, value } => KvInput::Append {
                key: key.clone(),
                value: value.clone(),
            },
            KvOp::Cas { key, from, to } => KvInput::Cas {
                key: key.clone(),
                from: from.clone(),
                to: to.clone(),
            },
        };
        let output = res.as_ref().map(|r| match r {
            KvResult::Value(v) => KvOutput::Value(v.clone()),
            KvResult::Done => KvOutput::Done,
            KvResult::Cas(b) => KvOutput::Cas(*b),
        });
        r.desc = describe(r.client, op, res.as_ref());
        match (r.ret, output) {
            (Some(ret), Some(out)) => h.ok(r.client as u64, r.call, ret, input, out),
            _ => h.unknown(r.client as u64, r.call, input),
        }
    }
    (records, h)
}

fn describe(client: u32, op: &KvOp, res: Option<&KvResult>) -> String {
    let out = match res {
        None => "?".to_string(),
        Some(KvResult::Value(v)) => format!("{v:?}"),
        Some(KvResult::Done) => "ok".into(),
        Some(KvResult::Cas(b)) => if *b { "ok" } else { "failed" }.into(),
    };
    match op {
        KvOp::Get { key } => format!("c{client} get {key} -> {out}"),
        KvOp::Put { key, value } => format!("c{client} put {key} {value:?} -> {out}"),
        KvOp::Append { key, value } => format!("c{client} append {key} {value:?} -> {out}"),
        KvOp::Cas { key, from, to } => format!("c{client} cas {key} {from:?}->{to:?} -> {out}"),
    }
}
