//! The simulated network: per-link latency, loss and duplication, and a topology of who can
//! reach whom, kept as a petgraph directed graph so that partitions can be asymmetric.
//!
//! Reordering falls out of random latency. Partitions are judged at delivery time, so cutting
//! a link also catches messages already in flight.

use petgraph::graphmap::DiGraphMap;
use serde::{Deserialize, Serialize};

use super::node::NodeId;
use super::rng::{ChaCha8Rng, Rng, det_exp, det_ln, unit_f64};
use super::time::Time;

/// How long a message takes on a link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Latency {
    /// Always the same.
    Constant(#[serde(with = "crate::sim::dur")] Time),
    /// Uniform in `[min, max]`.
    Uniform {
        #[serde(with = "crate::sim::dur")]
        min: Time,
        #[serde(with = "crate::sim::dur")]
        max: Time,
    },
    /// Long-tailed (Pareto): `min * U^(-1/alpha)`, capped at `max`. Median `min * 2^(1/alpha)`;
    /// alpha around 1.5–3 gives a realistic tail of slow messages.
    Pareto {
        #[serde(with = "crate::sim::dur")]
        min: Time,
        alpha: f64,
        #[serde(with = "crate::sim::dur")]
        max: Time,
    },
}

impl Latency {
    /// The longest latency this distribution draws.
    pub fn max(&self) -> Time {
        match *self {
            Latency::Constant(t) => t,
            Latency::Uniform { max, .. } | Latency::Pareto { max, .. } => max,
        }
    }

    /// Draws one latency. Always consumes exactly one `u64` from `rng`.
    #[inline]
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> Time {
        match *self {
            Latency::Constant(t) => {
                rng.next_u64();
                t
            }
            Latency::Uniform { min, max } => super::rng::range_u64(rng, min, max),
            Latency::Pareto { min, alpha, max } => {
                let u = 1.0 - unit_f64(rng); // (0, 1]
                let x = min as f64 * det_exp(-det_ln(u) / alpha);
                if x >= max as f64 { max } else { x as Time }
            }
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Latency::Constant(_) => Ok(()),
            Latency::Uniform { min, max } if min > max => Err(format!(
                "uniform latency min ({min}) is greater than max ({max})"
            )),
            Latency::Pareto { alpha, .. } if !(alpha.is_finite() && alpha > 0.0) => Err(format!(
                "pareto alpha must be a positive number, got {alpha}"
            )),
            Latency::Pareto { min, max, .. } if min > max => Err(format!(
                "pareto latency min ({min}) is greater than max ({max})"
            )),
            _ => Ok(()),
        }
    }
}

/// The behaviour of one directed link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    pub latency: Latency,
    /// Probability that a message is lost.
    #[serde(default)]
    pub drop: f64,
    /// Probability that a message is delivered twice (the copy takes its own latency).
    #[serde(default)]
    pub duplicate: f64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency: Latency::Uniform {
                min: 1_000_000,
                max: 5_000_000,
            },
            drop: 0.0,
            duplicate: 0.0,
        }
    }
}

impl LinkConfig {
    pub fn validate(&self) -> Result<(), String> {
        self.latency.validate()?;
        for (name, p) in [("drop", self.drop), ("duplicate", self.duplicate)] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} probability must be within 0..=1, got {p}"));
            }
        }
        Ok(())
    }
}

/// The network of a run: one default link behaviour and per-link overrides.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    #[serde(default)]
    pub default: LinkConfig,
    /// `(from, to, config)`: overrides the default for one directed link.
    #[serde(default)]
    pub links: Vec<(u32, u32, LinkConfig)>,
}

impl NetworkConfig {
    /// The worst behaviour of any link: the highest loss probability and the longest latency.
    pub fn worst(&self) -> (f64, Time) {
        std::iter::once(&self.default)
            .chain(self.links.iter().map(|(_, _, c)| c))
            .fold((0.0, 0), |(p, t), c| {
                (p.max(c.drop), t.max(c.latency.max()))
            })
    }

    /// The link table, `from * n + to`.
    pub(crate) fn table(&self, n: u32) -> Vec<LinkConfig> {
        let mut t = vec![self.default.clone(); (n * n) as usize];
        for (a, b, c) in &self.links {
            if *a < n && *b < n {
                t[(*a * n + *b) as usize] = c.clone();
            }
        }
        t
    }

    pub fn validate(&self, n: u32) -> Result<(), String> {
        self.default.validate()?;
        for (a, b, c) in &self.links {
            if *a >= n || *b >= n {
                return Err(format!("link ({a}, {b}) names a node outside 0..{n}"));
            }
            c.validate().map_err(|e| format!("link ({a}, {b}): {e}"))?;
        }
        Ok(())
    }
}

/// A network partition, expressed over server ids. Nodes a partition does not name (clients)
/// keep reaching everybody.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Partition {
    /// Cut one server off from every other server, both ways.
    Isolate(u32),
    /// Groups of servers; servers in different groups cannot reach each other.
    Split(Vec<Vec<u32>>),
    /// Messages from any of `from` to any of `to` are lost; the other direction works.
    OneWay { from: Vec<u32>, to: Vec<u32> },
    /// Two sides that cannot reach each other, but both reach the bridge node.
    Bridge {
        left: Vec<u32>,
        right: Vec<u32>,
        bridge: u32,
    },
    /// Cut exactly these directed links.
    Links(Vec<(u32, u32)>),
}

impl Partition {
    /// The same partition with every server `n` renamed `to[n]` (a permutation).
    pub fn relabel(&self, to: &[u32]) -> Partition {
        let m = |x: &u32| to.get(*x as usize).copied().unwrap_or(*x);
        let v = |xs: &Vec<u32>| xs.iter().map(m).collect::<Vec<_>>();
        match self {
            Partition::Isolate(n) => Partition::Isolate(m(n)),
            Partition::Split(g) => Partition::Split(g.iter().map(v).collect()),
            Partition::OneWay { from, to } => Partition::OneWay {
                from: v(from),
                to: v(to),
            },
            Partition::Bridge {
                left,
                right,
                bridge,
            } => Partition::Bridge {
                left: v(left),
                right: v(right),
                bridge: m(bridge),
            },
            Partition::Links(l) => Partition::Links(l.iter().map(|(a, b)| (m(a), m(b))).collect()),
        }
    }

    /// Every node id the partition names.
    pub fn named(&self) -> Vec<u32> {
        match self {
            Partition::Isolate(n) => vec![*n],
            Partition::Split(g) => g.iter().flatten().copied().collect(),
            Partition::OneWay { from, to } => from.iter().chain(to).copied().collect(),
            Partition::Bridge {
                left,
                right,
                bridge,
            } => left
                .iter()
                .chain(right)
                .chain(std::iter::once(bridge))
                .copied()
                .collect(),
            Partition::Links(l) => l.iter().flat_map(|(a, b)| [*a, *b]).collect(),
        }
    }

    /// The directed links this partition cuts, among `servers` servers.
    pub fn cuts(&self, servers: u32) -> Vec<(u32, u32)> {
        let mut cuts = Vec::new();
        match self {
            Partition::Isolate(x) => {
                for o in (0..servers).filter(|o| o != x) {
                    cuts.push((*x, o));
                    cuts.push((o, *x));
                }
            }
            Partition::Split(groups) => {
                for (i, g) in groups.iter().enumerate() {
                    for h in groups.iter().skip(i + 1) {
                        for &a in g {
                            for &b in h {
                                cuts.push((a, b));
                                cuts.push((b, a));
                            }
                        }
                    }
                }
            }
            Partition::OneWay { from, to } => {
                for &a in from {
                    for &b in to {
                        cuts.push((a, b));
                    }
                }
            }
            Partition::Bridge { left, right, .. } => {
                for &a in left {
                    for &b in right {
                        cuts.push((a, b));
                        cuts.push((b, a));
                    }
                }
            }
            Partition::Links(l) => cuts.extend(l.iter().copied()),
        }
        cuts.retain(|(a, b)| a != b);
        cuts
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |v: &[u32]| {
            v.iter()
                .map(|n| format!("n{n}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            Partition::Isolate(n) => write!(f, "isolate n{n}"),
            Partition::Split(g) => {
                let parts: Vec<String> = g.iter().map(|x| format!("{{{}}}", list(x))).collect();
                write!(f, "split {}", parts.join(" | "))
            }
            Partition::OneWay { from, to } => {
                write!(f, "one-way {{{}}} -/-> {{{}}}", list(from), list(to))
            }
            Partition::Bridge {
                left,
                right,
                bridge,
            } => {
                write!(
                    f,
                    "bridge {{{}}} <- n{bridge} -> {{{}}}",
                    list(left),
                    list(right)
                )
            }
            Partition::Links(l) => {
                let s: Vec<String> = l.iter().map(|(a, b)| format!("n{a}-/->n{b}")).collect();
                write!(f, "cut {}", s.join(","))
            }
        }
    }
}

/// Who can reach whom: a directed graph over all nodes (an edge a→b means a's messages reach
/// b), mirrored into a flat matrix for the per-delivery check.
pub struct Topology {
    n: u32,
    graph: DiGraphMap<u32, (), std::hash::BuildHasherDefault<super::trace::StableHasher>>,
    reach: Vec<bool>,
}

impl Topology {
    /// Everybody reaches everybody.
    pub fn full(n: u32) -> Self {
        let mut graph =
            DiGraphMap::with_capacity_and_hasher(n as usize, (n * n) as usize, Default::default());
        for a in 0..n {
            graph.add_node(a);
        }
        for a in 0..n {
            for b in 0..n {
                graph.add_edge(a, b, ());
            }
        }
        Topology {
            n,
            graph,
            reach: vec![true; (n * n) as usize],
        }
    }

    /// Whether a message from `a` is delivered to `b` right now.
    #[inline]
    pub fn reaches(&self, a: NodeId, b: NodeId) -> bool {
        self.reach[(a.0 * self.n + b.0) as usize]
    }

    /// Cuts the links of `p` (on top of cuts already in force).
    pub fn apply(&mut self, p: &Partition, servers: u32) {
        for (a, b) in p.cuts(servers) {
            if a < self.n && b < self.n {
                self.graph.remove_edge(a, b);
            }
        }
        self.sync();
    }

    /// Restores every link.
    pub fn heal(&mut self) {
        *self = Topology::full(self.n);
    }

    /// Whether any link is cut.
    pub fn is_partitioned(&self) -> bool {
        self.reach.iter().any(|r| !r)
    }

    /// The servers that can reach each other both ways, as groups (strongly connected
    /// components of the server subgraph), sorted. Useful to explain a partition to a human.
    pub fn server_groups(&self, servers: u32) -> Vec<Vec<u32>> {
        let sub = petgraph::visit::NodeFiltered::from_fn(&self.graph, |n| n < servers);
        let mut groups: Vec<Vec<u32>> = petgraph::algo::tarjan_scc(&sub)
            .into_iter()
            .map(|mut g| {
                g.sort_unstable();
                g
            })
            .collect();
        groups.sort();
        groups
    }

    fn sync(&mut self) {
        for a in 0..self.n {
            for b in 0..self.n {
                self.reach[(a * self.n + b) as usize] = self.graph.contains_edge(a, b);
            }
        }
    }
}
