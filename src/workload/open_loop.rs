//! Open-loop clients: requests arrive by a Poisson process whatever the answers (a client never
//! waits for one request before sending the next, as real traffic does not), at a configured
//! rate with optional bursts. Each request carries a key and a *work* (its service demand at
//! unit speed), both drawn from a stream keyed by the request's index, never by the order in
//! which servers handle them: two runs that route the same requests differently see exactly
//! the same arrivals, keys and work. A request ends ok, with an error, or timed out.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{OpRecord, OpStatus};
use crate::sim::rng::{ChaCha8Rng, Rng, Stream, det_exp, det_ln, splitmix64, stream, stream_seed};
use crate::sim::{Context, MILLIS, Node, NodeId, SECS, Time, fmt_duration};

/// The most keys a skewed (Zipf) key distribution may span (its table is built up front).
pub const ZIPF_KEYS_MAX: u32 = 10_000_000;
/// The most bursts a spec may list.
pub const BURSTS_MAX: usize = 1_000;

/// Stream indexes under `Stream::User` (arbitrary, fixed: changing them shifts every run).
const ARRIVALS: u64 = 0x4f4c_0000_0000;
const PER_REQUEST: u64 = 0x4f4c_0001_0000;

/// A request's service demand at unit speed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Work {
    Constant(#[serde(with = "crate::sim::dur")] Time),
    /// Uniform in `[min, max]`.
    Uniform {
        #[serde(with = "crate::sim::dur")]
        min: Time,
        #[serde(with = "crate::sim::dur")]
        max: Time,
    },
    /// Exponential with this mean (M/M/c queueing).
    Exponential {
        #[serde(with = "crate::sim::dur")]
        mean: Time,
    },
    /// Heavy-tailed (Pareto): `min * U^(-1/alpha)`, capped at `max`; the same law as the
    /// network's `Latency::Pareto`. alpha below 2 has infinite variance: rare huge requests.
    Pareto {
        #[serde(with = "crate::sim::dur")]
        min: Time,
        alpha: f64,
        #[serde(with = "crate::sim::dur")]
        max: Time,
    },
}

impl Default for Work {
    fn default() -> Self {
        Work::Exponential { mean: 10 * MILLIS }
    }
}

impl Work {
    /// The work for uniform `u` in (0, 1] (from `+ - * /` only, like the engine's latencies).
    pub fn at(&self, u: f64) -> Time {
        match *self {
            Work::Constant(t) => t,
            Work::Uniform { min, max } => min + ((max - min) as f64 * (1.0 - u)) as Time,
            Work::Exponential { mean } => (-(mean as f64) * det_ln(u)) as Time,
            Work::Pareto { min, alpha, max } => {
                let x = min as f64 * det_exp(-det_ln(u) / alpha);
                if x >= max as f64 { max } else { x as Time }
            }
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Work::Uniform { min, max } if min > max => Err(format!(
                "work: uniform min ({}) is greater than max ({})",
                fmt_duration(min),
                fmt_duration(max)
            )),
            Work::Exponential { mean: 0 } => Err("work: exponential mean is 0".into()),
            Work::Pareto { alpha, .. } if !(alpha.is_finite() && alpha > 0.0) => Err(format!(
                "work: pareto alpha must be a positive number, got {alpha}"
            )),
            Work::Pareto { min, max, .. } if min > max || min == 0 => {
                Err("work: pareto min must be positive and not greater than max".into())
            }
            _ => Ok(()),
        }
    }
}

/// A window of different arrival rate (a traffic spike, or a lull).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Burst {
    #[serde(with = "crate::sim::dur")]
    pub at: Time,
    #[serde(with = "crate::sim::dur")]
    pub duration: Time,
    /// Requests per second (all clients together) during the window.
    pub rate: f64,
}

/// The open-loop load: rate, bursts, work and key skew.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpenLoopSpec {
    /// Requests per second, all clients together (each client runs `rate / clients`).
    pub rate: f64,
    /// Windows of another rate; where they overlap, the later-listed one wins.
    pub bursts: Vec<Burst>,
    pub work: Work,
    /// Zipf exponent of the key popularity over `workload.keys` keys: 0 is uniform, 1 is the
    /// classic "a few hot keys" web skew.
    pub key_skew: f64,
}

impl Default for OpenLoopSpec {
    fn default() -> Self {
        OpenLoopSpec {
            rate: 500.0,
            bursts: vec![],
            work: Work::default(),
            key_skew: 0.0,
        }
    }
}

impl OpenLoopSpec {
    pub fn validate(&self, keys: u32) -> Result<(), String> {
        let ok_rate = |r: f64| r.is_finite() && (0.0..=10_000_000.0).contains(&r);
        if !ok_rate(self.rate) || self.rate == 0.0 {
            return Err(format!(
                "load.rate must be a number of requests per second within (0, 1e7], got {}",
                self.rate
            ));
        }
        if self.bursts.len() > BURSTS_MAX {
            return Err(format!("load.bursts: at most {BURSTS_MAX} bursts"));
        }
        for (i, b) in self.bursts.iter().enumerate() {
            if !ok_rate(b.rate) {
                return Err(format!(
                    "load.bursts[{i}]: rate must be within [0, 1e7] requests per second, got {}",
                    b.rate
                ));
            }
            if b.duration == 0 {
                return Err(format!("load.bursts[{i}]: duration must be positive"));
            }
        }
        if !(self.key_skew.is_finite() && (0.0..=10.0).contains(&self.key_skew)) {
            return Err(format!(
                "load.key_skew must be within [0, 10], got {}",
                self.key_skew
            ));
        }
        if self.key_skew > 0.0 && keys > ZIPF_KEYS_MAX {
            return Err(format!(
                "load.key_skew: a skewed key distribution spans at most {ZIPF_KEYS_MAX} keys (workload.keys is {keys})"
            ));
        }
        self.work.validate()
    }

    /// The arrival rate (all clients) at `t`.
    fn rate_at(&self, t: Time) -> f64 {
        let mut r = self.rate;
        for b in &self.bursts {
            if b.at <= t && t < b.at.saturating_add(b.duration) {
                r = b.rate;
            }
        }
        r
    }

    /// The first rate change strictly after `t`.
    fn next_change(&self, t: Time) -> Time {
        let mut n = Time::MAX;
        for b in &self.bursts {
            for e in [b.at, b.at.saturating_add(b.duration)] {
                if e > t && e < n {
                    n = e;
                }
            }
        }
        n
    }
}

/// What every client of one run shares (built once per run).
#[derive(Debug)]
pub struct Shared {
    pub spec: OpenLoopSpec,
    pub seed: u64,
    pub clients: u32,
    pub keys: u32,
    /// No request arrives at or after this time.
    pub stop: Time,
    /// A request not answered within this is recorded as timed out.
    pub timeout: Time,
    /// The cumulative key popularity (empty: uniform).
    zipf: Vec<f64>,
    per_request: u64,
}

impl Shared {
    pub fn new(
        spec: &OpenLoopSpec,
        seed: u64,
        clients: u32,
        keys: u32,
        stop: Time,
        timeout: Time,
    ) -> Self {
        let keys = keys.max(1);
        let mut zipf = Vec::new();
        if spec.key_skew > 0.0 {
            let mut acc = 0.0;
            for k in 1..=keys {
                acc += det_exp(-spec.key_skew * det_ln(k as f64));
                zipf.push(acc);
            }
            for z in &mut zipf {
                *z /= acc;
            }
        }
        Shared {
            spec: spec.clone(),
            seed,
            clients: clients.max(1),
            keys,
            stop,
            timeout,
            zipf,
            per_request: stream_seed(seed, Stream::User, PER_REQUEST),
        }
    }

    /// The key and work of client `client`'s request number `idx`: a function of the seed and
    /// the request alone.
    pub fn draw(&self, client: u32, idx: u64) -> (u32, Time) {
        let h = splitmix64(self.per_request ^ splitmix64(((client as u64) << 40) ^ idx));
        let work = self.spec.work.at(unit_open(h));
        let h2 = splitmix64(h);
        let key = if self.zipf.is_empty() {
            ((h2 as u128 * self.keys as u128) >> 64) as u32
        } else {
            let u = 1.0 - unit_open(h2);
            (self.zipf.partition_point(|&c| c < u) as u32).min(self.keys - 1)
        };
        (key, work)
    }
}

/// A uniform float in (0, 1] from 53 bits of `h`.
fn unit_open(h: u64) -> f64 {
    ((h >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A request on its way to the front end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Request {
    pub client: u32,
    pub idx: u64,
    pub key: u32,
    pub work: Time,
}

/// The front end's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reply {
    pub idx: u64,
    pub ok: bool,
    /// The server that served it (or last tried it), if any.
    pub server: Option<u32>,
    /// Servers tried.
    pub tries: u32,
}

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Ok,
    Error,
    Timeout,
}

/// The client's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientTimer {
    /// The next request arrives.
    Arrive,
    /// The oldest pending request's deadline.
    Deadline,
}

/// One request's end, as the client saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Done {
    pub client: u32,
    pub idx: u64,
    pub key: u32,
    pub call: Time,
    pub outcome: Outcome,
    pub server: Option<u32>,
    pub tries: u32,
}

/// What a protocol provides so that its node type can host an [`OpenLoopClient`].
pub trait OpenLoopNode: Node {
    fn request(r: Request) -> Self::Msg;
    fn client_timer(t: ClientTimer) -> Self::Timer;
    fn client_obs(d: Done) -> Self::Obs;
}

#[derive(Clone, Debug)]
struct Pending {
    call: Time,
    key: u32,
    done: bool,
}

/// One open-loop client: sends to `target` (a front end) whatever happens to earlier requests.
#[derive(Clone, Debug)]
pub struct OpenLoopClient {
    pub index: u32,
    shared: Arc<Shared>,
    target: NodeId,
    arrivals: ChaCha8Rng,
    next_at: Option<Time>,
    /// Requests issued so far (the next request's index).
    pub issued: u64,
    /// Pending requests in index order, `pending[0]` is request `base`.
    pending: VecDeque<Pending>,
    base: u64,
    deadline_armed: bool,
}

impl OpenLoopClient {
    pub fn new(index: u32, shared: Arc<Shared>, target: NodeId) -> Self {
        let arrivals = stream(shared.seed, Stream::User, ARRIVALS + index as u64);
        OpenLoopClient {
            index,
            shared,
            target,
            arrivals,
            next_at: None,
            issued: 0,
            pending: VecDeque::new(),
            base: 0,
            deadline_armed: false,
        }
    }

    /// Requests issued and not yet ended.
    pub fn open(&self) -> usize {
        self.pending.iter().filter(|p| !p.done).count()
    }

    /// The next arrival strictly after `t` (Poisson with the piecewise-constant rate; by
    /// memorylessness, a draw that crosses a rate change restarts at the change).
    fn next_arrival(&mut self, t: Time) -> Option<Time> {
        let s = &self.shared;
        let mut t = t;
        // Bounded: each pass either returns or moves to the next rate change.
        for _ in 0..=(2 * s.spec.bursts.len() + 1) {
            if t >= s.stop {
                return None;
            }
            let rate = s.spec.rate_at(t) / s.clients as f64;
            let change = s.spec.next_change(t).min(s.stop);
            let u = unit_open(self.arrivals.next_u64());
            if rate > 0.0 {
                let gap = -det_ln(u) / rate * SECS as f64;
                let at = t as f64 + gap.max(1.0);
                if at < change as f64 {
                    return Some(at as Time);
                }
            }
            t = change;
        }
        None
    }

    pub fn on_start<N: OpenLoopNode>(&mut self, ctx: &mut Context<'_, N>) {
        self.next_at = self.next_arrival(0);
        if let Some(at) = self.next_at {
            ctx.set_timer(N::client_timer(ClientTimer::Arrive), at);
        }
    }

    pub fn on_timer<N: OpenLoopNode>(&mut self, ctx: &mut Context<'_, N>, t: ClientTimer) {
        let now = ctx.now();
        match t {
            ClientTimer::Arrive => {
                let idx = self.issued;
                self.issued += 1;
                let (key, work) = self.shared.draw(self.index, idx);
                self.pending.push_back(Pending {
                    call: now,
                    key,
                    done: false,
                });
                ctx.send(
                    self.target,
                    N::request(Request {
                        client: self.index,
                        idx,
                        key,
                        work,
                    }),
                );
                if !self.deadline_armed {
                    self.deadline_armed = true;
                    ctx.set_timer(N::client_timer(ClientTimer::Deadline), self.shared.timeout);
                }
                let from = self.next_at.unwrap_or(now).max(now);
                self.next_at = self.next_arrival(from);
                if let Some(at) = self.next_at {
                    ctx.set_timer(N::client_timer(ClientTimer::Arrive), at - now);
                }
            }
            ClientTimer::Deadline => {
                self.deadline_armed = false;
                let timeout = self.shared.timeout;
                while let Some(p) = self.pending.front() {
                    if !p.done && p.call + timeout > now {
                        break;
                    }
                    let p = self.pending.pop_front().expect("front exists");
                    if !p.done {
                        ctx.observe(N::client_obs(Done {
                            client: self.index,
                            idx: self.base,
                            key: p.key,
                            call: p.call,
                            outcome: Outcome::Timeout,
                            server: None,
                            tries: 0,
                        }));
                    }
                    self.base += 1;
                }
                if let Some(p) = self.pending.front() {
                    self.deadline_armed = true;
                    ctx.set_timer(
                        N::client_timer(ClientTimer::Deadline),
                        (p.call + timeout).saturating_sub(now),
                    );
                }
            }
        }
    }

    pub fn on_reply<N: OpenLoopNode>(&mut self, ctx: &mut Context<'_, N>, r: Reply) {
        let Some(pos) = r.idx.checked_sub(self.base) else {
            return; // ended already (timed out)
        };
        let Some(p) = self.pending.get_mut(pos as usize) else {
            return;
        };
        if p.done {
            return; // a duplicate answer
        }
        p.done = true;
        ctx.observe(N::client_obs(Done {
            client: self.index,
            idx: r.idx,
            key: p.key,
            call: p.call,
            outcome: if r.ok { Outcome::Ok } else { Outcome::Error },
            server: r.server,
            tries: r.tries,
        }));
    }
}

/// The protocol-neutral record of one request. `kind` names the run's variant (for the load
/// balancer: the strategy), so that histories of several variants sit side by side.
pub fn op_record(d: &Done, ret: Time, kind: &str) -> OpRecord {
    let (status, ret, end) = match d.outcome {
        Outcome::Ok => (OpStatus::Ok, Some(ret), "ok"),
        Outcome::Error => (OpStatus::Fail, Some(ret), "error"),
        Outcome::Timeout => (OpStatus::Unknown, None, "timeout"),
    };
    let via = d.server.map_or(String::new(), |s| format!(" via n{s}"));
    OpRecord {
        client: d.client,
        call: d.call,
        ret,
        status,
        kind: kind.to_string().into(),
        key: format!("k{}", d.key).into(),
        desc: format!(
            "{kind} #{} k{}{via} ({} tries) -> {end}",
            d.idx, d.key, d.tries
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_depend_on_the_request_only() {
        let s = Shared::new(&OpenLoopSpec::default(), 7, 3, 100, 10 * SECS, SECS);
        assert_eq!(s.draw(1, 5), s.draw(1, 5));
        assert_ne!(s.draw(1, 5), s.draw(2, 5));
        let mean: f64 = (0..20_000).map(|i| s.draw(0, i).1 as f64).sum::<f64>() / 20_000.0;
        assert!((mean / (10.0 * MILLIS as f64) - 1.0).abs() < 0.05, "{mean}");
    }

    #[test]
    fn zipf_keys_are_skewed() {
        let spec = OpenLoopSpec {
            key_skew: 1.0,
            ..OpenLoopSpec::default()
        };
        let s = Shared::new(&spec, 7, 1, 1000, 10 * SECS, SECS);
        let hot = (0..10_000).filter(|&i| s.draw(0, i).0 == 0).count();
        // H(1000) ~ 7.49: key 0 takes ~13% of requests.
        assert!((1000..1700).contains(&hot), "{hot}");
    }

    #[test]
    fn poisson_arrivals_follow_the_rate_and_bursts() {
        let spec = OpenLoopSpec {
            rate: 1000.0,
            bursts: vec![Burst {
                at: 2 * SECS,
                duration: SECS,
                rate: 5000.0,
            }],
            ..OpenLoopSpec::default()
        };
        let s = Arc::new(Shared::new(&spec, 3, 1, 10, 4 * SECS, SECS));
        let mut c = OpenLoopClient::new(0, s, NodeId(0));
        let (mut t, mut n, mut burst) = (0, 0, 0);
        while let Some(a) = c.next_arrival(t) {
            assert!(a > t);
            n += 1;
            burst += (2 * SECS..3 * SECS).contains(&a) as u32;
            t = a;
        }
        assert!((7_600..8_400).contains(&n), "{n}");
        assert!((4_700..5_300).contains(&burst), "{burst}");
    }
}
