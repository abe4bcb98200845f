//! Faults as verbs on the simulation (partition, heal, crash, restart, pause, skew), a
//! schedule of them, and a random nemesis that expands — before the run, from its own random
//! stream — into an explicit schedule that can be printed, replayed and shrunk.

use serde::{Deserialize, Serialize};

use super::network::Partition;
use super::rng::{ChaCha8Rng, Rng, Stream, range_u64, stream};
use super::time::{Time, fmt_duration, fmt_time};

/// One fault action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Fault {
    /// Cut links (adds to cuts already in force).
    Partition(Partition),
    /// Restore every link.
    Heal,
    /// Crash-stop a node: volatile state, timers and in-flight messages to it are lost.
    Crash(u32),
    /// Bring a crashed node back from its durable state.
    Restart(u32),
    /// The node stops handling events for `duration` (a GC pause), then handles its backlog.
    Pause {
        node: u32,
        #[serde(with = "crate::sim::dur")]
        duration: Time,
    },
    /// Sets the node's clock: offset from true time, and drift in parts per million.
    ClockSkew {
        node: u32,
        #[serde(with = "crate::sim::dur::signed")]
        offset: i64,
        drift_ppm: i64,
    },
    /// A grey failure: the node stays up and answers, but its work is `factor` times slower —
    /// every timer it sets fires `factor` times later in true time. `factor: 1` restores it.
    Slow { node: u32, factor: u32 },
}

/// The largest slowdown a `Slow` fault may ask for.
pub const SLOW_FACTOR_MAX: u32 = 1_000;

impl Fault {
    /// The same fault with every server `n` renamed `to[n]` (a permutation).
    pub fn relabel(&self, to: &[u32]) -> Fault {
        let m = |x: &u32| to.get(*x as usize).copied().unwrap_or(*x);
        match self {
            Fault::Partition(p) => Fault::Partition(p.relabel(to)),
            Fault::Heal => Fault::Heal,
            Fault::Crash(n) => Fault::Crash(m(n)),
            Fault::Restart(n) => Fault::Restart(m(n)),
            Fault::Pause { node, duration } => Fault::Pause {
                node: m(node),
                duration: *duration,
            },
            Fault::ClockSkew {
                node,
                offset,
                drift_ppm,
            } => Fault::ClockSkew {
                node: m(node),
                offset: *offset,
                drift_ppm: *drift_ppm,
            },
            Fault::Slow { node, factor } => Fault::Slow {
                node: m(node),
                factor: *factor,
            },
        }
    }

    /// The node ids this fault names.
    pub fn named(&self) -> Vec<u32> {
        match self {
            Fault::Partition(p) => p.named(),
            Fault::Heal => vec![],
            Fault::Crash(n) | Fault::Restart(n) => vec![*n],
            Fault::Pause { node, .. }
            | Fault::ClockSkew { node, .. }
            | Fault::Slow { node, .. } => vec![*node],
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Partition(_) => "partition",
            Fault::Heal => "heal",
            Fault::Crash(_) => "crash",
            Fault::Restart(_) => "restart",
            Fault::Pause { .. } => "pause",
            Fault::ClockSkew { .. } => "clock-skew",
            Fault::Slow { .. } => "slow",
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Partition(p) => write!(f, "partition {p}"),
            Fault::Heal => write!(f, "heal"),
            Fault::Crash(n) => write!(f, "crash n{n}"),
            Fault::Restart(n) => write!(f, "restart n{n}"),
            Fault::Pause { node, duration } => {
                write!(f, "pause n{node} for {}", fmt_duration(*duration))
            }
            Fault::ClockSkew {
                node,
                offset,
                drift_ppm,
            } => {
                write!(f, "clock n{node} offset {offset}ns drift {drift_ppm}ppm")
            }
            Fault::Slow { node, factor } => write!(f, "slow n{node} x{factor}"),
        }
    }
}

/// A fault at a point of simulated time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledFault {
    #[serde(with = "crate::sim::dur")]
    pub at: Time,
    pub fault: Fault,
}

impl std::fmt::Display for ScheduledFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", fmt_time(self.at), self.fault)
    }
}

/// Checks a schedule against the cluster before anything runs.
pub fn validate_schedule(
    faults: &[ScheduledFault],
    servers: u32,
    nodes: u32,
) -> Result<(), String> {
    let mut crashed = vec![false; nodes as usize];
    let mut sorted: Vec<&ScheduledFault> = faults.iter().collect();
    sorted.sort_by_key(|f| f.at);
    for f in sorted {
        for n in f.fault.named() {
            if n >= servers {
                return Err(format!(
                    "fault `{}` at {} names node {n}, but the cluster has {servers} servers (0..{servers})",
                    f.fault,
                    fmt_time(f.at)
                ));
            }
        }
        match &f.fault {
            Fault::Crash(n) => crashed[*n as usize] = true,
            Fault::Restart(n) => {
                if !crashed[*n as usize] {
                    return Err(format!(
                        "restart of n{n} at {} comes before any crash of n{n}",
                        fmt_time(f.at)
                    ));
                }
                crashed[*n as usize] = false;
            }
            Fault::Slow { node, factor } if *factor == 0 || *factor > SLOW_FACTOR_MAX => {
                return Err(format!(
                    "slow n{node} at {}: factor must be within 1..={SLOW_FACTOR_MAX} (1 restores full speed), got {factor}",
                    fmt_time(f.at)
                ));
            }
            Fault::Partition(Partition::Split(g)) if g.len() < 2 => {
                return Err("a split partition needs at least two groups".into());
            }
            _ => {}
        }
    }
    Ok(())
}

/// A random nemesis: one fault window after another, each drawn from the weights, with a quiet
/// gap between windows. Everything heals at `stop`, so liveness can be checked afterwards.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Nemesis {
    /// First fault no earlier than this.
    #[serde(with = "crate::sim::dur")]
    pub start: Time,
    /// No fault window extends past this; everything is healed and restarted by then.
    #[serde(with = "crate::sim::dur")]
    pub stop: Time,
    /// Quiet time between two fault windows, uniform in `[min, max]`.
    #[serde(with = "crate::sim::dur::pair")]
    pub gap: (Time, Time),
    /// How long a window lasts, uniform in `[min, max]`.
    #[serde(with = "crate::sim::dur::pair")]
    pub duration: (Time, Time),
    /// Relative weights of the window kinds.
    pub partition: u32,
    pub crash: u32,
    pub pause: u32,
    pub skew: u32,
    /// Largest clock offset (±) and drift (± ppm) drawn for a skew window.
    #[serde(with = "crate::sim::dur")]
    pub skew_offset_max: Time,
    pub skew_drift_ppm_max: u32,
    /// Independent fault sequences running at once (1 = one window at a time). Sequence k
    /// picks its victims among servers `s` with `s % concurrency == k`, so overlapping
    /// crashes hit different servers.
    pub concurrency: u32,
}

impl Default for Nemesis {
    fn default() -> Self {
        Nemesis {
            start: 1_000_000_000,
            stop: 20_000_000_000,
            gap: (500_000_000, 2_000_000_000),
            duration: (500_000_000, 3_000_000_000),
            partition: 1,
            crash: 1,
            pause: 1,
            skew: 0,
            skew_offset_max: 500_000_000,
            skew_drift_ppm_max: 100_000,
            concurrency: 1,
        }
    }
}

impl Nemesis {
    pub fn validate(&self) -> Result<(), String> {
        if self.gap.0 > self.gap.1 {
            return Err("nemesis gap: min is greater than max".into());
        }
        if self.duration.0 > self.duration.1 || self.duration.1 == 0 {
            return Err("nemesis duration: min is greater than max, or max is 0".into());
        }
        if self.partition + self.crash + self.pause + self.skew == 0 {
            return Err("nemesis: every fault weight is 0".into());
        }
        if self.stop <= self.start {
            return Err("nemesis: stop must be after start".into());
        }
        if self.concurrency == 0 {
            return Err("nemesis: concurrency must be at least 1".into());
        }
        Ok(())
    }

    /// Expands into an explicit, time-sorted schedule over `servers` servers, drawing only from
    /// the nemesis stream of `seed`.
    pub fn expand(&self, seed: u64, servers: u32) -> Vec<ScheduledFault> {
        let k = self.concurrency.clamp(1, servers.max(1));
        let mut out = Vec::new();
        for lane in 0..k {
            let victims: Vec<u32> = (0..servers).filter(|s| s % k == lane).collect();
            out.extend(self.expand_lane(seed, lane, servers, &victims));
        }
        out.sort_by_key(|f| f.at);
        out
    }

    fn expand_lane(
        &self,
        seed: u64,
        lane: u32,
        servers: u32,
        victims: &[u32],
    ) -> Vec<ScheduledFault> {
        let mut rng = stream(seed, Stream::Nemesis, lane as u64);
        let mut out = Vec::new();
        if victims.is_empty() {
            return out;
        }
        let total = (self.partition + self.crash + self.pause + self.skew) as u64;
        let mut t = self.start;
        loop {
            let dur = range_u64(&mut rng, self.duration.0, self.duration.1);
            let pick = range_u64(&mut rng, 0, total.saturating_sub(1));
            if t + dur > self.stop || out.len() > 100_000 {
                break;
            }
            let victim = victims[range_u64(&mut rng, 0, victims.len() as u64 - 1) as usize];
            let (p, c, q) = (self.partition as u64, self.crash as u64, self.pause as u64);
            if pick < p {
                out.push(ScheduledFault {
                    at: t,
                    fault: Fault::Partition(random_partition(&mut rng, servers, victim)),
                });
                out.push(ScheduledFault {
                    at: t + dur,
                    fault: Fault::Heal,
                });
            } else if pick < p + c {
                out.push(ScheduledFault {
                    at: t,
                    fault: Fault::Crash(victim),
                });
                out.push(ScheduledFault {
                    at: t + dur,
                    fault: Fault::Restart(victim),
                });
            } else if pick < p + c + q {
                out.push(ScheduledFault {
                    at: t,
                    fault: Fault::Pause {
                        node: victim,
                        duration: dur,
                    },
                });
            } else {
                let off = range_u64(&mut rng, 0, 2 * self.skew_offset_max) as i64
                    - self.skew_offset_max as i64;
                let d = self.skew_drift_ppm_max as u64;
                let drift = range_u64(&mut rng, 0, 2 * d) as i64 - d as i64;
                out.push(ScheduledFault {
                    at: t,
                    fault: Fault::ClockSkew {
                        node: victim,
                        offset: off,
                        drift_ppm: drift,
                    },
                });
                out.push(ScheduledFault {
                    at: t + dur,
                    fault: Fault::ClockSkew {
                        node: victim,
                        offset: 0,
                        drift_ppm: 0,
                    },
                });
            }
            t += dur + range_u64(&mut rng, self.gap.0, self.gap.1);
        }
        out
    }
}

/// A random partition: isolate the victim, or split the servers in two random halves, or a
/// one-way cut, or a bridge.
fn random_partition(rng: &mut ChaCha8Rng, servers: u32, victim: u32) -> Partition {
    let kind = rng.next_u64() % 4;
    if servers < 3 || kind == 0 {
        return Partition::Isolate(victim);
    }
    // A random permutation of the servers (Fisher-Yates over u64 draws).
    let mut ids: Vec<u32> = (0..servers).collect();
    for i in (1..ids.len()).rev() {
        let j = range_u64(rng, 0, i as u64) as usize;
        ids.swap(i, j);
    }
    let minority = (servers - 1) / 2;
    let (small, big) = ids.split_at(minority.max(1) as usize);
    let (mut small, mut big) = (small.to_vec(), big.to_vec());
    small.sort_unstable();
    big.sort_unstable();
    match kind {
        1 => Partition::Split(vec![small, big]),
        2 => Partition::OneWay {
            from: big,
            to: small,
        },
        _ => {
            let bridge = big.remove(0);
            Partition::Bridge {
                left: small,
                right: big,
                bridge,
            }
        }
    }
}
