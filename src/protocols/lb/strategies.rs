//! The balancing strategies: each picks one backend among the candidates (in the pool, marked
//! up by the health checker, not excluded by a retry) from what the balancer knows: its own
//! count of requests in flight per backend, the request's key, its random stream.

use serde::{Deserialize, Serialize};

use super::ring::{Ring, key_hash};
use crate::sim::rng::{ChaCha8Rng, range_u64};

/// A strategy, as a scenario names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Uniformly at random.
    Random,
    /// Each backend in turn.
    RoundRobin,
    /// nginx's smooth weighted round-robin: weights {5,1,1} give a a b a c a a.
    WeightedRoundRobin,
    /// The fewest requests in flight (per unit of weight); ties go round-robin.
    LeastConnections,
    /// Power of two choices (Mitzenmacher): two distinct backends at random, the less loaded.
    PowerOfTwo,
    /// Consistent hashing of the request key with virtual nodes (Karger et al.).
    ConsistentHash,
    /// Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam): a backend takes
    /// a request only while its load stays within ⌈(1+ε)·average⌉, else the ring walks on.
    BoundedLoad,
    /// `hash(key) mod n` over the candidates: the naive baseline that remaps most keys.
    ModuloHash,
}

impl Strategy {
    pub const ALL: [Strategy; 8] = [
        Strategy::Random,
        Strategy::RoundRobin,
        Strategy::WeightedRoundRobin,
        Strategy::LeastConnections,
        Strategy::PowerOfTwo,
        Strategy::ConsistentHash,
        Strategy::BoundedLoad,
        Strategy::ModuloHash,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Random => "random",
            Strategy::RoundRobin => "round_robin",
            Strategy::WeightedRoundRobin => "weighted_round_robin",
            Strategy::LeastConnections => "least_connections",
            Strategy::PowerOfTwo => "power_of_two",
            Strategy::ConsistentHash => "consistent_hash",
            Strategy::BoundedLoad => "bounded_load",
            Strategy::ModuloHash => "modulo_hash",
        }
    }

    /// Whether the choice depends on the key (and so keeps a key on one backend).
    pub fn hashes(self) -> bool {
        matches!(
            self,
            Strategy::ConsistentHash | Strategy::BoundedLoad | Strategy::ModuloHash
        )
    }
}

/// The cap of bounded-load consistent hashing: ⌈(1+ε)·m/n⌉ for `m` requests in flight
/// (counting the one being placed) over `n` candidates.
pub fn bounded_cap(epsilon: f64, m: u64, n: u64) -> u64 {
    let c = (1.0 + epsilon) * m as f64 / n.max(1) as f64;
    let f = c as u64;
    if (f as f64) < c { f + 1 } else { f.max(1) }
}

/// A strategy with its state.
#[derive(Clone, Debug)]
pub struct Picker {
    pub strategy: Strategy,
    weights: Vec<u64>,
    /// Round-robin position (also the tie-break rotation of least-connections).
    cursor: usize,
    /// Smooth WRR's current weights.
    current: Vec<i64>,
    ring: Ring,
    vnodes: u32,
    pub epsilon: f64,
}

/// What one pick needs to know.
pub struct View<'a> {
    /// Candidates, in id order.
    pub cands: &'a [u32],
    /// Requests in flight per backend.
    pub inflight: &'a [u32],
    pub key: u32,
}

impl Picker {
    pub fn new(strategy: Strategy, weights: Vec<u64>, vnodes: u32, epsilon: f64) -> Self {
        let n = weights.len();
        Picker {
            strategy,
            weights,
            cursor: 0,
            current: vec![0; n],
            ring: Ring::default(),
            vnodes,
            epsilon,
        }
    }

    /// Rebuilds the ring for a new pool (hash strategies only).
    pub fn set_members(&mut self, members: &[bool]) {
        if self.strategy.hashes() {
            let ids = (0..members.len() as u32).filter(|&b| members[b as usize]);
            self.ring = Ring::new(ids, self.vnodes);
        }
    }

    /// Picks a backend among `v.cands` (non-empty). Returns the backend and, for bounded
    /// loads, the cap it was held to.
    pub fn pick(&mut self, v: &View<'_>, rng: &mut ChaCha8Rng) -> (u32, Option<u64>) {
        let c = v.cands;
        debug_assert!(!c.is_empty());
        let is_cand = |b: u32| c.binary_search(&b).is_ok();
        let n_all = self.weights.len();
        match self.strategy {
            Strategy::Random => (c[range_u64(rng, 0, c.len() as u64 - 1) as usize], None),
            Strategy::RoundRobin => {
                let b = (0..n_all)
                    .map(|i| ((self.cursor + i) % n_all) as u32)
                    .find(|&b| is_cand(b))
                    .unwrap_or(c[0]);
                self.cursor = (b as usize + 1) % n_all;
                (b, None)
            }
            Strategy::WeightedRoundRobin => {
                // nginx ngx_http_upstream_get_peer: every candidate gains its weight, the
                // largest current weight wins and pays back the total.
                let mut total = 0i64;
                let mut best = c[0];
                for &b in c {
                    let w = self.weights[b as usize] as i64;
                    self.current[b as usize] += w;
                    total += w;
                    if self.current[b as usize] > self.current[best as usize] {
                        best = b;
                    }
                }
                self.current[best as usize] -= total;
                (best, None)
            }
            Strategy::LeastConnections => {
                // Fewest in flight per unit of weight (compared by cross-multiplying), ties
                // broken round-robin so that an idle pool is still spread.
                let mut best: Option<u32> = None;
                for i in 0..c.len() {
                    let b = c[(self.cursor + i) % c.len()];
                    let better = match best {
                        None => true,
                        Some(a) => {
                            (v.inflight[b as usize] as u64) * self.weights[a as usize]
                                < (v.inflight[a as usize] as u64) * self.weights[b as usize]
                        }
                    };
                    if better {
                        best = Some(b);
                    }
                }
                self.cursor = (self.cursor + 1) % c.len().max(1);
                (best.unwrap_or(c[0]), None)
            }
            Strategy::PowerOfTwo => {
                if c.len() == 1 {
                    rng_skip(rng);
                    return (c[0], None);
                }
                let i = range_u64(rng, 0, c.len() as u64 - 1) as usize;
                let j = (i + 1 + range_u64(rng, 0, c.len() as u64 - 2) as usize) % c.len();
                let (a, b) = (c[i], c[j]);
                if v.inflight[b as usize] < v.inflight[a as usize] {
                    (b, None)
                } else {
                    (a, None)
                }
            }
            Strategy::ConsistentHash => {
                let h = key_hash(v.key as u64);
                (self.ring.walk(h, is_cand).unwrap_or(c[0]), None)
            }
            Strategy::BoundedLoad => {
                let m: u64 = c
                    .iter()
                    .map(|&b| v.inflight[b as usize] as u64)
                    .sum::<u64>()
                    + 1;
                let cap = bounded_cap(self.epsilon, m, c.len() as u64);
                let h = key_hash(v.key as u64);
                let b = self
                    .ring
                    .walk(h, |b| is_cand(b) && (v.inflight[b as usize] as u64) < cap)
                    .unwrap_or(c[0]);
                // Some candidate is below the cap: the m-1 placed requests cannot fill n caps.
                debug_assert!((v.inflight[b as usize] as u64) < cap);
                (b, Some(cap))
            }
            Strategy::ModuloHash => {
                let h = key_hash(v.key as u64);
                (c[(h % c.len() as u64) as usize], None)
            }
        }
    }
}

/// Keeps the stream's position independent of the candidate count.
fn rng_skip(rng: &mut ChaCha8Rng) {
    use crate::sim::rng::Rng;
    rng.next_u64();
    rng.next_u64();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::{Stream, stream};

    #[test]
    fn smooth_wrr_interleaves() {
        let mut p = Picker::new(Strategy::WeightedRoundRobin, vec![5, 1, 1], 1, 0.0);
        let mut rng = stream(0, Stream::User, 0);
        let seq: String = (0..7)
            .map(|_| {
                let v = View {
                    cands: &[0, 1, 2],
                    inflight: &[0, 0, 0],
                    key: 0,
                };
                (b'a' + p.pick(&v, &mut rng).0 as u8) as char
            })
            .collect();
        assert_eq!(seq, "aabacaa");
    }

    #[test]
    fn bounded_cap_rounds_up() {
        assert_eq!(bounded_cap(0.25, 8, 4), 3);
        assert_eq!(bounded_cap(0.0, 8, 4), 2);
        assert_eq!(bounded_cap(0.25, 1, 4), 1);
    }
}
