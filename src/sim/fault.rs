//! Faults as verbs on the simulation (partition, heal, crash, restart, pause, skew), a
//! schedule of them, and a random nemesis that expands — before the run, from its own random
//! stream — into an explicit schedule that can be printed, replayed and shrunk.

use serde::{Deserialize, Serialize};

use super::network::Partition;
use super::rng::{ChaCha8Rng, Rng, Stream, range_u64, stream};
use super::time::{MAX_TIME, Time, fmt_duration, fmt_time};

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
    /// Sets the node's clock: offset from true time, and drift in parts per million (each 0
    /// when left out; both 0 puts the clock right).
    ClockSkew {
        node: u32,
        #[serde(default, with = "crate::sim::dur::signed")]
        offset: i64,
        #[serde(default)]
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
        let mut at = String::with_capacity(22);
        super::time::push_time(&mut at, self.at);
        at.push(' ');
        f.write_str(&at)?;
        self.fault.fmt(f)
    }
}

/// The largest weight of one fault kind (weights are summed; this keeps the sum exact).
pub const MAX_WEIGHT: u32 = 1_000_000;

/// The most fault windows a nemesis may draw (in all its lanes together).
pub const MAX_WINDOWS: u64 = 100_000;

/// Checks the weights of a random choice: each at most [`MAX_WEIGHT`] (so their sum is
/// exact), not all 0. The error names the weight at fault, or none when all are 0.
pub fn check_weights(weights: &[(&str, u32)]) -> Result<(), (String, String)> {
    if let Some((name, w)) = weights.iter().find(|(_, w)| *w > MAX_WEIGHT) {
        return Err((
            name.to_string(),
            format!("weight {w} is more than {MAX_WEIGHT}"),
        ));
    }
    if weights.iter().all(|(_, w)| *w == 0) {
        let names: Vec<&str> = weights.iter().map(|(n, _)| *n).collect();
        return Err((
            String::new(),
            format!("every weight ({}) is 0", names.join(", ")),
        ));
    }
    Ok(())
}

/// The widest clock drift a scenario may set, in parts per million (either way).
pub const MAX_DRIFT_PPM: i64 = 500_000;

/// Checks a schedule against a cluster of `servers` servers before anything runs. The error
/// names the entry at fault (`[3].fault`, `[3].fault.right` ...) and what is wrong with it;
/// entries are checked in time order, so "restart before crash" names the later one.
pub fn validate_schedule(faults: &[ScheduledFault], servers: u32) -> Result<(), (String, String)> {
    let mut crashed: Vec<Option<Time>> = vec![None; servers as usize];
    let mut order: Vec<usize> = (0..faults.len()).collect();
    order.sort_by_key(|&i| faults[i].at);
    for i in order {
        let f = &faults[i];
        let at = fmt_time(f.at);
        let err = |sub: &str, msg: String| {
            let sep = if sub.is_empty() || sub.starts_with('[') {
                ""
            } else {
                "."
            };
            Err((format!("[{i}].fault{sep}{sub}"), msg))
        };
        if f.at > MAX_TIME {
            return Err((
                format!("[{i}].at"),
                format!(
                    "{} is later than the longest supported run, {}",
                    fmt_duration(f.at),
                    fmt_duration(MAX_TIME)
                ),
            ));
        }
        if let Fault::Partition(p) = &f.fault {
            if let Err((sub, msg)) = p.validate(servers) {
                return err(&sub, format!("partition at {at}: {msg}"));
            }
            continue;
        }
        for n in f.fault.named() {
            if n >= servers {
                return err(
                    "",
                    format!(
                        "`{}` at {at} names node {n}, but the cluster has {servers} servers (ids 0..{servers}); faults name servers",
                        f.fault
                    ),
                );
            }
        }
        match &f.fault {
            Fault::Crash(n) => {
                // A crash of a node already down does nothing (the run's fault effects flag
                // it); the shrinker can leave one behind when it drops a restart.
                crashed[*n as usize].get_or_insert(f.at);
            }
            Fault::Restart(n) => {
                if crashed[*n as usize].take().is_none() {
                    return err(
                        "",
                        format!("restart of n{n} at {at} comes before any crash of n{n}"),
                    );
                }
            }
            Fault::Slow { node, factor } if *factor == 0 || *factor > SLOW_FACTOR_MAX => {
                return err(
                    "",
                    format!(
                        "slow n{node} at {at}: factor must be within 1..={SLOW_FACTOR_MAX} (1 restores full speed), got {factor}"
                    ),
                );
            }
            Fault::Pause { duration, .. } => {
                if *duration == 0 || *duration > MAX_TIME {
                    return err(
                        "duration",
                        format!(
                            "a pause lasts more than 0 and at most {}, got {}",
                            fmt_duration(MAX_TIME),
                            fmt_duration(*duration)
                        ),
                    );
                }
            }
            Fault::ClockSkew {
                offset, drift_ppm, ..
            } => {
                if offset.unsigned_abs() > MAX_TIME {
                    return err(
                        "offset",
                        format!(
                            "clock offset {}{} is beyond ±{}",
                            if *offset < 0 { "-" } else { "" },
                            fmt_duration(offset.unsigned_abs()),
                            fmt_duration(MAX_TIME)
                        ),
                    );
                }
                if !(-MAX_DRIFT_PPM..=MAX_DRIFT_PPM).contains(drift_ppm) {
                    return err(
                        "drift_ppm",
                        format!(
                            "clock drift {drift_ppm} ppm is outside -{MAX_DRIFT_PPM}..={MAX_DRIFT_PPM}"
                        ),
                    );
                }
            }
            Fault::Partition(_) | Fault::Heal | Fault::Slow { .. } => {}
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
    /// Checks the nemesis for a cluster of `servers` servers. The error names the field at
    /// fault (`gap`, `stop`, `skew_drift_ppm_max` ...) and what is wrong with it.
    pub fn validate(&self, servers: u32) -> Result<(), (String, String)> {
        let err = |field: &str, msg: String| Err((field.to_string(), msg));
        let d = fmt_duration;
        for (field, (min, max)) in [("gap", self.gap), ("duration", self.duration)] {
            if min > max {
                return err(
                    field,
                    format!("min ({}) is greater than max ({})", d(min), d(max)),
                );
            }
            if max > MAX_TIME {
                return err(
                    field,
                    format!("max {} is longer than {}", d(max), d(MAX_TIME)),
                );
            }
        }
        if self.duration.0 == 0 {
            return err(
                "duration",
                "a fault window must last more than 0 (a crash restarted at the same instant does nothing)".into(),
            );
        }
        for (field, t) in [
            ("start", self.start),
            ("stop", self.stop),
            ("skew_offset_max", self.skew_offset_max),
        ] {
            if t > MAX_TIME {
                return err(field, format!("{} is longer than {}", d(t), d(MAX_TIME)));
            }
        }
        if self.stop <= self.start {
            return err(
                "stop",
                format!(
                    "stop ({}) must be after start ({})",
                    d(self.stop),
                    d(self.start)
                ),
            );
        }
        check_weights(&[
            ("partition", self.partition),
            ("crash", self.crash),
            ("pause", self.pause),
            ("skew", self.skew),
        ])
        .map_err(|(f, m)| (f, format!("{m}: the nemesis would do nothing")))?;
        if i64::from(self.skew_drift_ppm_max) > MAX_DRIFT_PPM {
            return err(
                "skew_drift_ppm_max",
                format!(
                    "{} ppm is more than {MAX_DRIFT_PPM}",
                    self.skew_drift_ppm_max
                ),
            );
        }
        if self.concurrency == 0 || self.concurrency > servers.max(1) {
            return err(
                "concurrency",
                format!(
                    "concurrency must be within 1..={} (one lane per server at most), got {}",
                    servers.max(1),
                    self.concurrency
                ),
            );
        }
        // Each window takes at least `duration.0 + gap.0`: bound what expansion can allocate.
        let lanes = u64::from(self.concurrency);
        let windows = lanes * ((self.stop - self.start) / (self.duration.0 + self.gap.0) + 1);
        if windows > MAX_WINDOWS {
            return err(
                "duration",
                format!(
                    "up to {windows} fault windows fit between start and stop ({} lanes of \
                     windows at least {} long), more than {MAX_WINDOWS}: lengthen the \
                     duration or the gap",
                    lanes,
                    d(self.duration.0 + self.gap.0)
                ),
            );
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

/// When every fault of `faults` is over, from what each action does rather than when the last
/// one happens: every partition healed (a `Heal` after it), every crashed server restarted,
/// every pause ended, every skewed clock set back to true time. `None` when some fault is
/// still in force at the end of the schedule (it never heals); `Some(0)` for no faults.
pub fn heal_time(faults: &[ScheduledFault]) -> Option<Time> {
    let mut sorted: Vec<&ScheduledFault> = faults.iter().collect();
    sorted.sort_by_key(|f| f.at);
    // Nodes are few and named by the schedule itself: sorted vectors, no hashing.
    let mut crashed: Vec<u32> = Vec::new();
    let mut skewed: Vec<u32> = Vec::new();
    let mut slowed: Vec<u32> = Vec::new();
    let mut cut = false;
    let mut clear_since: Time = 0;
    let mut pauses_end: Time = 0;
    for f in sorted {
        let was_clear = !cut && crashed.is_empty() && skewed.is_empty() && slowed.is_empty();
        match &f.fault {
            Fault::Partition(_) => cut = true,
            Fault::Heal => cut = false,
            Fault::Crash(n) => {
                if let Err(i) = crashed.binary_search(n) {
                    crashed.insert(i, *n);
                }
            }
            Fault::Restart(n) => {
                if let Ok(i) = crashed.binary_search(n) {
                    crashed.remove(i);
                }
            }
            Fault::Pause { duration, .. } => {
                pauses_end = pauses_end.max(f.at.saturating_add(*duration));
            }
            Fault::ClockSkew {
                node,
                offset,
                drift_ppm,
            } => match (skewed.binary_search(node), *offset == 0 && *drift_ppm == 0) {
                (Err(i), false) => skewed.insert(i, *node),
                (Ok(i), true) => {
                    skewed.remove(i);
                }
                _ => {}
            },
            Fault::Slow { node, factor } => match (slowed.binary_search(node), *factor <= 1) {
                (Err(i), false) => slowed.insert(i, *node),
                (Ok(i), true) => {
                    slowed.remove(i);
                }
                _ => {}
            },
        }
        let clear = !cut && crashed.is_empty() && skewed.is_empty() && slowed.is_empty();
        if clear && !was_clear {
            clear_since = f.at;
        }
    }
    (!cut && crashed.is_empty() && skewed.is_empty() && slowed.is_empty())
        .then_some(clear_since.max(pauses_end))
}

/// What is still in force at the end of a schedule whose faults never all heal, for messages
/// (`"n1 crashed, a partition"`); empty when everything heals.
pub fn unhealed(faults: &[ScheduledFault]) -> String {
    let mut sorted: Vec<&ScheduledFault> = faults.iter().collect();
    sorted.sort_by_key(|f| f.at);
    let mut crashed: Vec<u32> = Vec::new();
    let mut skewed: Vec<u32> = Vec::new();
    let mut slowed: Vec<u32> = Vec::new();
    let mut cut: Option<Time> = None;
    for f in sorted {
        match &f.fault {
            Fault::Partition(_) => cut = cut.or(Some(f.at)),
            Fault::Heal => cut = None,
            Fault::Crash(n) if !crashed.contains(n) => crashed.push(*n),
            Fault::Restart(n) => crashed.retain(|c| c != n),
            Fault::ClockSkew {
                node,
                offset,
                drift_ppm,
            } => {
                skewed.retain(|c| c != node);
                if *offset != 0 || *drift_ppm != 0 {
                    skewed.push(*node);
                }
            }
            Fault::Slow { node, factor } => {
                slowed.retain(|c| c != node);
                if *factor > 1 {
                    slowed.push(*node);
                }
            }
            _ => {}
        }
    }
    let mut parts = Vec::new();
    if let Some(t) = cut {
        parts.push(format!("a partition from {}s is never healed", fmt_time(t)));
    }
    crashed.sort_unstable();
    for n in crashed {
        parts.push(format!("n{n} crashes and is never restarted"));
    }
    skewed.sort_unstable();
    for n in skewed {
        parts.push(format!("n{n}'s clock is never set back"));
    }
    slowed.sort_unstable();
    for n in slowed {
        parts.push(format!("n{n} is never set back to full speed"));
    }
    parts.join(", ")
}
