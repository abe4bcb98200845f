//! A key-value client usable by any replicated key-value protocol (Raft and Multi-Paxos),
//! and the log `Command` both replicate: one operation at a time, drawn from the workload's mix over its keys, with unique
//! written values (so histories are checkable), a timeout per attempt, retries with the same
//! request id (the servers deduplicate), redirects to the leader, and an outcome recorded as
//! unknown when the client gives up.

use serde::Serialize;

use super::{OpRecord, OpStatus, WorkloadSpec};
use crate::check::{History, KvInput, KvOutput};
use crate::sim::rng::{ChaCha8Rng, Stream, range_u64, stream};
use crate::sim::{Context, Node, NodeId, Time};

mod history;
mod label;
#[cfg(test)]
pub(crate) use label::tests as label_tests;
mod requester;

pub use crate::check::text::Text;
use crate::check::text::decimal;
pub use history::{HistoryBuilder, history, witness_order};
pub use label::{WriteDebug, more_fields, open_struct, push_quoted, write_tuple};
pub use requester::{AttemptEnd, Requester, Wire};

/// A key-value operation. Its strings are [`Text`]s: short ones (every key and value a client
/// makes) inline, so that copying an operation into requests and hashing it allocate and
/// chase nothing; it hashes and prints as it did with `String`s.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum KvOp {
    Get { key: Text },
    Put { key: Text, value: Text },
    Append { key: Text, value: Text },
    Cas { key: Text, from: Text, to: Text },
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
        // Each key and the end of its value (`…` and 12 characters of at most 4 bytes).
        let mut s = String::with_capacity(kv.keys().map(|k| k.len() + 54).sum());
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
        // A key already in the map is updated in place (no copy of the key made to be
        // dropped, the value's buffer reused): the map ends the same.
        let set = |v: &mut String, to: &str| {
            v.clear();
            v.push_str(to);
        };
        match self {
            KvOp::Get { key } => KvResult::Value(
                kv.get(key.as_str())
                    .map_or_else(Text::new, |v| Text::from(v.as_str())),
            ),
            KvOp::Put { key, value } => {
                match kv.get_mut(key.as_str()) {
                    Some(v) => set(v, value),
                    None => {
                        kv.insert(key.into(), value.into());
                    }
                }
                KvResult::Done
            }
            KvOp::Append { key, value } => {
                match kv.get_mut(key.as_str()) {
                    Some(v) => v.push_str(value),
                    None => {
                        kv.insert(key.into(), value.into());
                    }
                }
                KvResult::Done
            }
            KvOp::Cas { key, from, to } => {
                let cur = match kv.get_mut(key.as_str()) {
                    Some(v) => v,
                    None => kv.entry(key.into()).or_default(),
                };
                if cur.as_str() == from.as_str() {
                    set(cur, to);
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
pub fn push_decimal(s: &mut String, n: u64) {
    let mut b = [0u8; 20];
    s.push_str(decimal(n, &mut b));
}

/// The result of an operation. A value read is a [`Text`]: the state machine of each server
/// keeps it for a retry and the leader copies it into its reply, none of which allocates for
/// a short value (it hashes and prints as the `String` it was).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum KvResult {
    Value(Text),
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
        self.run_once(client, seq, apply)
            .then(|| self.answered(client, seq))
            .flatten()
    }
    /// [`apply_once`](Self::apply_once) without the copy of the result, for the replicas that
    /// answer nobody (the result stays for [`answered`](Self::answered)): whether (`client`,
    /// `seq`) is now the client's last applied request (applied now, or a retry of it).
    pub fn run_once(&mut self, client: u32, seq: u64, apply: impl FnOnce() -> R) -> bool {
        let c = client as usize;
        if self.0.len() <= c {
            self.0.resize_with(c + 1, || None);
        }
        match &mut self.0[c] {
            Some((last, _)) if *last >= seq => *last == seq,
            slot => {
                *slot = Some((seq, apply()));
                true
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

/// One key-value client: closed loop, one operation at a time through a [`Requester`].
#[derive(Clone, Debug)]
pub struct KvClient {
    pub index: u32,
    spec: WorkloadSpec,
    seq: u64,
    issued: u32,
    requests: Requester<KvOp>,
    /// The workload's own draws (think times, operations, keys), from the run's
    /// `Stream::Workload` for this client: the `k`-th operation is the same whatever the
    /// protocol, so `faultline compare` runs one workload against both.
    draws: ChaCha8Rng,
}

impl KvClient {
    pub fn new(index: u32, spec: &WorkloadSpec, servers: u32, seed: u64) -> Self {
        KvClient {
            index,
            draws: stream(seed, Stream::Workload, index.into()),
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
        let d = range_u64(&mut self.draws, self.spec.think.0, self.spec.think.1);
        ctx.set_timer(N::client_timer(ClientTimer::Think), d);
    }

    fn next_op(&mut self) -> KvOp {
        let m = &self.spec.mix;
        let total = (m.get + m.put + m.append + m.cas) as u64;
        let pick = range_u64(&mut self.draws, 0, total - 1);
        let mut key = Text::from("k");
        key.push_decimal(range_u64(&mut self.draws, 0, self.spec.keys as u64 - 1));
        let (g, p, a) = (m.get as u64, m.put as u64, m.append as u64);
        if pick < g {
            return KvOp::Get { key };
        }
        // `c{index}.{seq} `: unique, so that histories are checkable.
        let mut value = Text::from("c");
        value.push_decimal(self.index.into());
        value.push_ascii(b'.');
        value.push_decimal(self.seq);
        value.push_ascii(b' ');
        if pick < g + p {
            KvOp::Put { key, value }
        } else if pick < g + p + a {
            KvOp::Append { key, value }
        } else {
            KvOp::Cas {
                key,
                from: Text::new(),
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
                let op = self.next_op();
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
}
