//! Consistent hashing (Karger et al., STOC 1997): every node owns `vnodes` points on a ring of
//! 64-bit hashes; a key belongs to the first point clockwise from its own hash. A join takes
//! over only the arcs of the new node's points (about 1/(n+1) of the keys), a leave hands only
//! the leaving node's keys to their successors (1/n), where modulo hashing remaps almost all
//! (1 − 1/n). More virtual nodes even out the arcs: the spread of keys per node falls roughly
//! as 1/√v. Bounded loads (Mirrokni, Thorup, Zadimoghaddam 2018) walk on past nodes at their
//! cap. [`study`] measures all of that for a given n and v.

use crate::sim::rng::splitmix64;

/// Salt of key hashes (so key k and node k do not land on the same point).
const KEY_SALT: u64 = 0x6b65_795f_7361_6c74;

/// Where key `key` sits on the ring.
#[inline]
pub fn key_hash(key: u64) -> u64 {
    splitmix64(splitmix64(key ^ KEY_SALT))
}

/// Where virtual node `v` of node `node` sits on the ring.
#[inline]
fn point(node: u32, v: u32) -> u64 {
    splitmix64(splitmix64(node as u64 + 1) ^ (v as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// A hash ring over a set of nodes.
#[derive(Clone, Debug, Default)]
pub struct Ring {
    /// (point, node), sorted by point.
    points: Vec<(u64, u32)>,
}

impl Ring {
    /// A ring with `vnodes` points for each node of `nodes`.
    pub fn new(nodes: impl IntoIterator<Item = u32>, vnodes: u32) -> Self {
        let mut points: Vec<(u64, u32)> = nodes
            .into_iter()
            .flat_map(|n| (0..vnodes.max(1)).map(move |v| (point(n, v), n)))
            .collect();
        points.sort_unstable();
        Ring { points }
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The index of the first point at or clockwise after hash `h`.
    #[inline]
    fn start(&self, h: u64) -> usize {
        let i = self.points.partition_point(|&(p, _)| p < h);
        if i == self.points.len() { 0 } else { i }
    }

    /// The owner of hash `h`.
    pub fn owner(&self, h: u64) -> Option<u32> {
        if self.points.is_empty() {
            return None;
        }
        Some(self.points[self.start(h)].1)
    }

    /// The first node clockwise from `h` that `accept`s (each point visited at most once):
    /// with `accept = is up` it skips nodes marked down; with `accept = load < cap` it is
    /// bounded-load consistent hashing.
    pub fn walk(&self, h: u64, mut accept: impl FnMut(u32) -> bool) -> Option<u32> {
        let n = self.points.len();
        if n == 0 {
            return None;
        }
        let s = self.start(h);
        (0..n)
            .map(|i| self.points[(s + i) % n].1)
            .find(|&x| accept(x))
    }
}

/// The spread of keys per node and the keys that move on a join and on a leave.
#[derive(Clone, Debug, PartialEq)]
pub struct Study {
    pub nodes: u32,
    pub vnodes: u32,
    pub keys: u64,
    /// Keys of the fullest node over the mean.
    pub max_over_mean: f64,
    /// Standard deviation of keys per node over the mean.
    pub cv: f64,
    /// Fraction of keys whose owner changes when node `n` joins (ideal: 1/(n+1)).
    pub moved_join: f64,
    /// Fraction of keys whose owner changes when node `n-1` leaves (ideal: 1/n).
    pub moved_leave: f64,
}

/// The same figures for modulo hashing (`hash % n`): (moved on join, moved on leave).
pub fn modulo_moves(nodes: u32, keys: u64) -> (f64, f64) {
    let n = nodes.max(2) as u64;
    let (mut join, mut leave) = (0u64, 0u64);
    for k in 0..keys {
        let h = key_hash(k);
        join += (h % n != h % (n + 1)) as u64;
        leave += (h % n != h % (n - 1)) as u64;
    }
    (join as f64 / keys as f64, leave as f64 / keys as f64)
}

/// Places `keys` keys on a ring of `nodes` nodes with `vnodes` virtual nodes each, then on the
/// ring with one more node and on the ring with one fewer.
pub fn study(nodes: u32, vnodes: u32, keys: u64) -> Study {
    let nodes = nodes.max(2);
    let ring = Ring::new(0..nodes, vnodes);
    let joined = Ring::new(0..=nodes, vnodes);
    let left = Ring::new(0..nodes - 1, vnodes);
    let mut per = vec![0u64; nodes as usize];
    let (mut join, mut leave) = (0u64, 0u64);
    for k in 0..keys {
        let h = key_hash(k);
        let o = ring.owner(h).expect("ring has nodes");
        per[o as usize] += 1;
        join += (joined.owner(h) != Some(o)) as u64;
        leave += (left.owner(h) != Some(o)) as u64;
    }
    let (max_over_mean, cv) = spread(&per);
    Study {
        nodes,
        vnodes,
        keys,
        max_over_mean,
        cv,
        moved_join: join as f64 / keys.max(1) as f64,
        moved_leave: leave as f64 / keys.max(1) as f64,
    }
}

/// (max / mean, standard deviation / mean) of per-node counts; (0, 0) when all are 0.
pub fn spread(counts: &[u64]) -> (f64, f64) {
    let n = counts.len() as f64;
    let total: u64 = counts.iter().sum();
    if n == 0.0 || total == 0 {
        return (0.0, 0.0);
    }
    let mean = total as f64 / n;
    let max = counts.iter().copied().max().unwrap_or(0) as f64;
    let var = counts
        .iter()
        .map(|&c| (c as f64 - mean) * (c as f64 - mean))
        .sum::<f64>()
        / n;
    (max / mean, sqrt(var) / mean)
}

/// Square root by Newton's method (`+ - * /` only: the same bits on every platform).
pub fn sqrt(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 0.0;
    }
    let mut r = if x > 1.0 { x / 2.0 } else { 1.0 };
    for _ in 0..200 {
        let next = 0.5 * (r + x / r);
        if next == r {
            break;
        }
        r = next;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_skips_and_wraps() {
        let r = Ring::new(0..4, 10);
        let h = key_hash(42);
        let o = r.owner(h).unwrap();
        let other = r.walk(h, |n| n != o).unwrap();
        assert_ne!(other, o);
        assert_eq!(r.walk(h, |_| false), None);
        assert_eq!(Ring::new(std::iter::empty(), 10).owner(1), None);
    }

    #[test]
    fn sqrt_is_exact_enough() {
        for x in [1e-9, 0.25, 2.0, 1e6, 12345.678] {
            assert!((sqrt(x) - x.sqrt()).abs() <= 1e-12 * x.sqrt().max(1.0));
        }
    }
}
