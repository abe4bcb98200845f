//! The simulated network: per-link latency, loss and duplication, and partitions (who can
//! reach whom is kept in `topology.rs`, each link's state in `links.rs`).
//!
//! Reordering falls out of random latency. Partitions are judged at delivery time, so cutting
//! a link also catches messages already in flight.

use serde::{Deserialize, Serialize};

use super::rng::{ChaCha8Rng, Rng, det_exp, det_ln, unit_f64};
use super::time::{MAX_TIME, Time, fmt_duration};

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

    /// Checks the latency's parameters: ordered, bounded by [`MAX_TIME`], a finite alpha.
    pub fn validate(&self) -> Result<(), String> {
        let (min, max) = match *self {
            Latency::Constant(t) => (t, t),
            Latency::Uniform { min, max } => (min, max),
            Latency::Pareto { min, alpha, max } => {
                if !(alpha.is_finite() && alpha > 0.0) {
                    return Err(format!(
                        "pareto alpha must be a positive number, got {alpha}"
                    ));
                }
                (min, max)
            }
        };
        if min > max {
            return Err(format!(
                "latency min ({}) is greater than max ({})",
                fmt_duration(min),
                fmt_duration(max)
            ));
        }
        if max > MAX_TIME {
            return Err(format!(
                "latency {} is longer than the longest supported duration, {}",
                fmt_duration(max),
                fmt_duration(MAX_TIME)
            ));
        }
        Ok(())
    }
}

fn default_latency() -> Latency {
    Latency::Uniform {
        min: 1_000_000,
        max: 5_000_000,
    }
}

/// The behaviour of one directed link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    /// Default `Uniform(min: "1ms", max: "5ms")`.
    #[serde(default = "default_latency")]
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
            latency: default_latency(),
            drop: 0.0,
            duplicate: 0.0,
        }
    }
}

impl LinkConfig {
    /// Checks the link; the error names the field at fault (`latency`, `drop`, `duplicate`).
    pub fn validate(&self) -> Result<(), (String, String)> {
        self.latency
            .validate()
            .map_err(|m| ("latency".to_string(), m))?;
        check_probabilities(Some(self.drop), Some(self.duplicate))
    }
}

fn check_probabilities(drop: Option<f64>, duplicate: Option<f64>) -> Result<(), (String, String)> {
    for (name, p) in [("drop", drop), ("duplicate", duplicate)] {
        if let Some(p) = p
            && !(0.0..=1.0).contains(&p)
        {
            return Err((
                name.to_string(),
                format!("{name} probability must be within 0..=1, got {p}"),
            ));
        }
    }
    Ok(())
}

/// One link's departures from the network's default: the fields it leaves out are the
/// default link's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkOverride {
    #[serde(default, with = "given", skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    #[serde(default, with = "given", skip_serializing_if = "Option::is_none")]
    pub drop: Option<f64>,
    #[serde(default, with = "given", skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<f64>,
}

impl LinkOverride {
    /// `base` with this override's fields.
    pub fn over(&self, base: &LinkConfig) -> LinkConfig {
        LinkConfig {
            latency: self.latency.clone().unwrap_or_else(|| base.latency.clone()),
            drop: self.drop.unwrap_or(base.drop),
            duplicate: self.duplicate.unwrap_or(base.duplicate),
        }
    }
}

/// An optional field written as its bare value (`drop: 0.2`, not `drop: Some(0.2)`).
mod given {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => v.serialize(s),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        T::deserialize(d).map(Some)
    }
}

/// The network of a run: one default link behaviour and per-link overrides.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    #[serde(default)]
    pub default: LinkConfig,
    /// `(from, to, override)`: one directed link's departures from the default.
    #[serde(default)]
    pub links: Vec<(u32, u32, LinkOverride)>,
}

impl NetworkConfig {
    /// The worst behaviour of any link: the highest loss probability and the longest latency.
    pub fn worst(&self) -> (f64, Time) {
        std::iter::once(self.default.clone())
            .chain(self.links.iter().map(|(_, _, o)| o.over(&self.default)))
            .fold((0.0, 0), |(p, t), c| {
                (p.max(c.drop), t.max(c.latency.max()))
            })
    }

    /// The link from `a` to `b`: the default, or its override (the last one given).
    pub fn link(&self, a: u32, b: u32) -> LinkConfig {
        match self.links.iter().rev().find(|(x, y, _)| (*x, *y) == (a, b)) {
            Some((_, _, o)) => o.over(&self.default),
            None => self.default.clone(),
        }
    }

    /// Checks the network of `n` nodes (servers, then clients). The error names the field at
    /// fault relative to the network (`default.drop`, `links[2]`, `links[0][2].latency`).
    pub fn validate(&self, n: u32) -> Result<(), (String, String)> {
        self.default
            .validate()
            .map_err(|(f, m)| (format!("default.{f}"), m))?;
        let mut seen = std::collections::BTreeMap::new();
        for (i, (a, b, o)) in self.links.iter().enumerate() {
            for (k, x) in [(0, a), (1, b)] {
                if *x >= n {
                    return Err((
                        format!("links[{i}][{k}]"),
                        format!(
                            "link ({a}, {b}) names node {x}, but the run has {n} nodes \
                             (0..{n}: the servers, then the clients)"
                        ),
                    ));
                }
            }
            if a == b {
                return Err((
                    format!("links[{i}]"),
                    format!(
                        "link ({a}, {b}) goes from n{a} to itself; a link joins two different nodes"
                    ),
                ));
            }
            if let Some(j) = seen.insert((*a, *b), i) {
                return Err((
                    format!("links[{i}]"),
                    format!("link ({a}, {b}) is given twice, as links[{j}] and links[{i}]"),
                ));
            }
            let on_link = |(f, m): (String, String)| {
                (
                    format!("links[{i}][2].{f}"),
                    format!("link ({a}, {b}): {m}"),
                )
            };
            if let Some(l) = &o.latency {
                l.validate().map_err(|m| on_link(("latency".into(), m)))?;
            }
            check_probabilities(o.drop, o.duplicate).map_err(on_link)?;
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

    /// Checks the partition over `servers` servers: every id a server, no empty side or group,
    /// no server on two sides, no link from a server to itself, no link twice. The error names
    /// the part at fault relative to the partition (`[1]` for the second group of a split,
    /// `right`, `bridge`), and what is wrong with it.
    pub fn validate(&self, servers: u32) -> Result<(), (String, String)> {
        // Where each server was first named: (part, its path), to name both places of a clash.
        let mut placed: std::collections::BTreeMap<u32, String> = Default::default();
        let mut place = |n: u32, part: String, path: String| -> Result<(), (String, String)> {
            if n >= servers {
                return Err((
                    path,
                    format!(
                        "n{n} ({part}) is not a server: the cluster has {servers} servers \
                         (ids 0..{servers}), and partitions name servers"
                    ),
                ));
            }
            match placed.get(&n) {
                Some(first) => Err((path, format!("n{n} appears twice: {first} and {part}"))),
                None => {
                    placed.insert(n, part);
                    Ok(())
                }
            }
        };
        let nonempty = |v: &[u32], part: &str, path: &str| -> Result<(), (String, String)> {
            if v.is_empty() {
                Err((
                    path.to_string(),
                    format!("{part} is empty; name at least one server"),
                ))
            } else {
                Ok(())
            }
        };
        match self {
            Partition::Isolate(n) => place(*n, "isolated".into(), String::new()),
            Partition::Split(groups) => {
                if groups.len() < 2 {
                    return Err((
                        String::new(),
                        format!("a split needs at least two groups, got {}", groups.len()),
                    ));
                }
                for (g, grp) in groups.iter().enumerate() {
                    nonempty(grp, &format!("split group {g}"), &format!("[{g}]"))?;
                    for (k, &n) in grp.iter().enumerate() {
                        place(n, format!("in split group {g}"), format!("[{g}][{k}]"))?;
                    }
                }
                Ok(())
            }
            Partition::OneWay { from, to } => {
                nonempty(from, "one-way `from`", "from")?;
                nonempty(to, "one-way `to`", "to")?;
                for (side, v) in [("from", from), ("to", to)] {
                    for (k, &n) in v.iter().enumerate() {
                        place(n, format!("in `{side}`"), format!("{side}[{k}]"))?;
                    }
                }
                Ok(())
            }
            Partition::Bridge {
                left,
                right,
                bridge,
            } => {
                nonempty(left, "bridge `left`", "left")?;
                nonempty(right, "bridge `right`", "right")?;
                place(*bridge, "as the bridge".into(), "bridge".into())?;
                for (side, v) in [("left", left), ("right", right)] {
                    for (k, &n) in v.iter().enumerate() {
                        place(n, format!("in `{side}`"), format!("{side}[{k}]"))?;
                    }
                }
                Ok(())
            }
            Partition::Links(l) => {
                if l.is_empty() {
                    return Err((
                        String::new(),
                        "`Links` is empty; name at least one link".into(),
                    ));
                }
                let mut seen = std::collections::BTreeMap::new();
                for (k, &(a, b)) in l.iter().enumerate() {
                    for (j, x) in [(0, a), (1, b)] {
                        if x >= servers {
                            return Err((
                                format!("[{k}][{j}]"),
                                format!(
                                    "link ({a}, {b}) names n{x}, but the cluster has {servers} servers \
                                     (ids 0..{servers}); partitions name servers"
                                ),
                            ));
                        }
                    }
                    if a == b {
                        return Err((
                            format!("[{k}]"),
                            format!(
                                "link ({a}, {b}) goes from n{a} to itself; a cut joins two different servers"
                            ),
                        ));
                    }
                    if let Some(first) = seen.insert((a, b), k) {
                        return Err((
                            format!("[{k}]"),
                            format!("link ({a}, {b}) is cut twice (entries {first} and {k})"),
                        ));
                    }
                }
                Ok(())
            }
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
