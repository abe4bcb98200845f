//! The trace of a run: a stable 64-bit hash over every event (always on, a few ns an event),
//! and optionally a list of event records that print as one line per event.
//!
//! The hash uses fixed constants (no per-process random keys), so it is the same in every
//! process, build profile and platform.

use std::hash::{Hash, Hasher};

use super::node::NodeId;
use super::time::{Time, fmt_time};

/// A fixed-key 64-bit hasher (multiply-rotate, in the style of FxHash, with a strong finish).
#[derive(Clone, Copy, Default)]
pub struct StableHasher(u64);

const K: u64 = 0xf135_7aea_2e62_a9c5;

impl StableHasher {
    pub fn new() -> Self {
        StableHasher(0x243f_6a88_85a3_08d3)
    }
    #[inline]
    fn mix(&mut self, x: u64) {
        self.0 = (self.0 ^ x).wrapping_mul(K).rotate_left(26);
    }
}

impl Hasher for StableHasher {
    #[inline]
    fn finish(&self) -> u64 {
        super::rng::splitmix64(self.0)
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.mix(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            self.mix(tail_word(rest) ^ ((rest.len() as u64) << 56));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.mix(i as u64)
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.mix(i as u64)
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.mix(i as u64)
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.mix(i)
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        // usize is hashed as u64 so 32- and 64-bit platforms agree.
        self.mix(i as u64)
    }
    #[inline]
    fn write_i64(&mut self, i: i64) {
        self.mix(i as u64)
    }
}

/// `rest` (1 to 7 bytes) as a little-endian word padded with zeros, from two overlapping
/// loads rather than byte by byte (a copy into a buffer costs a `memcpy` call per short
/// string hashed): keys and values are short, and a log entry's are hashed each time an
/// AppendEntries carries it.
#[inline]
fn tail_word(rest: &[u8]) -> u64 {
    let n = rest.len();
    debug_assert!((1..8).contains(&n));
    let u16_at = |k: usize| u16::from_le_bytes([rest[k], rest[k + 1]]) as u64;
    let u32_at =
        |k: usize| u32::from_le_bytes([rest[k], rest[k + 1], rest[k + 2], rest[k + 3]]) as u64;
    // The second load ends at the last byte; where the two overlap they hold the same bytes
    // at the same places, so or-ing them is the word.
    match n {
        4.. => u32_at(0) | u32_at(n - 4) << (8 * (n - 4)),
        2.. => u16_at(0) | u16_at(n - 2) << (8 * (n - 2)),
        _ => rest[0] as u64,
    }
}

/// The stable hash of any `Hash` value.
#[inline]
pub fn stable_hash<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = StableHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// What happened at one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// A node started (or restarted).
    Start,
    Restart,
    /// A message reached its destination and was handled.
    Deliver,
    /// A timer fired and was handled.
    Timer,
    /// The network lost a message at send time.
    DropLoss,
    /// A message could not cross a partition (judged at delivery).
    DropPartition,
    /// The destination was down, or restarted since the message was sent.
    DropDead,
    /// The network sent a second copy.
    Duplicate,
    /// A message or timer arrived while the node was paused: queued in its backlog.
    Backlog,
    /// A fault action.
    Fault,
    /// A node reported an observation.
    Observe,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Start => "start",
            EventKind::Restart => "restart",
            EventKind::Deliver => "deliver",
            EventKind::Timer => "timer",
            EventKind::DropLoss => "drop-loss",
            EventKind::DropPartition => "drop-partition",
            EventKind::DropDead => "drop-dead",
            EventKind::Duplicate => "duplicate",
            EventKind::Backlog => "backlog",
            EventKind::Fault => "fault",
            EventKind::Observe => "observe",
        }
    }
}

/// One recorded event (kept only when records are on).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TraceRecord {
    pub time: Time,
    pub kind: EventKind,
    /// The node the event happened at (the receiver of a message).
    pub node: NodeId,
    /// The sender of a message, else the node itself.
    pub peer: NodeId,
    /// When the message was sent (for deliveries and drops), else `time`.
    pub sent: Time,
    /// The message, timer, fault or observation, as `Debug` prints it.
    pub label: String,
}

/// A record's label as the engine keeps it: text for its own events (faults), else the message,
/// timer or observation itself, formatted with `Debug` only when asked.
pub(crate) enum Label<N: super::node::Node> {
    None,
    Text(String),
    Msg(N::Msg),
    Timer(N::Timer),
    Obs(N::Obs),
}

impl<N: super::node::Node> Label<N> {
    pub(crate) fn none() -> Self {
        Label::None
    }
    pub(crate) fn text(&self) -> String {
        use std::fmt::Write;
        // Room for most messages at once: growing the text as `Debug` writes it piece by
        // piece costs more than the formatting.
        let value: &dyn std::fmt::Debug = match self {
            Label::None => return String::new(),
            Label::Text(t) => return t.clone(),
            Label::Msg(m) => {
                let mut s = String::with_capacity(160);
                N::write_label(m, &mut s);
                return s;
            }
            Label::Timer(t) => t,
            Label::Obs(o) => o,
        };
        let mut s = String::with_capacity(160);
        let _ = write!(s, "{value:?}");
        s
    }
}

type LabelFn = dyn Fn(usize) -> Option<String> + Send + Sync;

type Memo = std::sync::Mutex<std::collections::BTreeMap<usize, String>>;

/// The labels of a run's records, formatted on demand ([`Sim::take_labels`]): a record whose
/// `label` is empty may have one here. Cheap to clone.
///
/// [`Sim::take_labels`]: super::Sim::take_labels
#[derive(Clone, Default)]
pub struct Labels {
    format: Option<std::sync::Arc<LabelFn>>,
    /// With [`Labels::memoized`]: each label formatted so far, shared by every clone.
    memo: Option<std::sync::Arc<Memo>>,
}

impl Labels {
    pub(crate) fn new(f: impl Fn(usize) -> Option<String> + Send + Sync + 'static) -> Self {
        Labels {
            format: Some(std::sync::Arc::new(f)),
            memo: None,
        }
    }
    /// These labels, each formatted once however often it is asked for, by this value or
    /// any clone of it: for a report, whose pictures show many of the same events. (Every
    /// label asked for is kept: not for a walk over a whole long run.)
    pub fn memoized(&self) -> Self {
        Labels {
            format: self.format.clone(),
            memo: Some(Default::default()),
        }
    }
    /// The label of `records[i]`: its own text, else the one formatted now.
    pub fn get(&self, records: &[TraceRecord], i: usize) -> String {
        let format = |i| self.format.as_ref().and_then(|f| f(i)).unwrap_or_default();
        match records.get(i) {
            Some(r) if !r.label.is_empty() => r.label.clone(),
            Some(_) => match &self.memo {
                None => format(i),
                Some(memo) => {
                    let mut memo = memo.lock().unwrap_or_else(|e| e.into_inner());
                    memo.entry(i).or_insert_with(|| format(i)).clone()
                }
            },
            None => String::new(),
        }
    }
}

impl std::fmt::Debug for Labels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Labels")
    }
}

impl TraceRecord {
    /// One stable line: `time kind node [<- peer] label`.
    pub fn line(&self) -> String {
        self.line_with(&self.label)
    }
    /// The same line with `label` (from [`Labels`]) in place of the record's own.
    pub fn line_with(&self, label: &str) -> String {
        match self.kind {
            EventKind::Deliver
            | EventKind::DropPartition
            | EventKind::DropDead
            | EventKind::Duplicate => {
                format!(
                    "{} {:<14} {} <- {} {}",
                    fmt_time(self.time),
                    self.kind.as_str(),
                    self.node,
                    self.peer,
                    label
                )
            }
            EventKind::DropLoss => format!(
                "{} {:<14} {} -> {} {}",
                fmt_time(self.time),
                self.kind.as_str(),
                self.peer,
                self.node,
                label
            ),
            EventKind::Fault => format!(
                "{} {:<14} {}",
                fmt_time(self.time),
                self.kind.as_str(),
                label
            ),
            _ => format!(
                "{} {:<14} {} {}",
                fmt_time(self.time),
                self.kind.as_str(),
                self.node,
                label
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tail of a short string is the word the byte-by-byte assembly made (the trace's
    /// hashes depend on it).
    #[test]
    fn tail_word_is_the_padded_little_endian_word() {
        let bytes: Vec<u8> = (0..7u8)
            .map(|k| k.wrapping_mul(37).wrapping_add(0x81))
            .collect();
        for n in 1..8 {
            let rest = &bytes[..n];
            let mut w = 0u64;
            for (k, &b) in rest.iter().enumerate() {
                w |= (b as u64) << (8 * k);
            }
            assert_eq!(tail_word(rest), w, "{n} bytes");
        }
    }
}
