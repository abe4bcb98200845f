//! Plain SVG drawing (text written directly, fixed-precision numbers, no randomness), so a
//! report is byte-identical across runs and machines and needs no font at build time.

use std::fmt::Write;

use super::focus::Names;
use crate::protocols::{RoleChange, RunSpec};
use crate::sim::{Fault, SECS, Time, fmt_time};
use crate::workload::{OpRecord, OpStatus};

/// Escapes text for XML/HTML.
pub fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    let Some(first) = next_special(s.as_bytes(), 0) else {
        return s.into();
    };
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str(&s[..first]);
    push_esc(&mut out, &s[first..]);
    out.into()
}

/// Appends `s` escaped for XML/HTML (what [`esc`] returns), without a temporary: runs of
/// plain text are copied whole.
pub fn push_esc(out: &mut String, s: &str) {
    let b = s.as_bytes();
    let mut run = 0;
    while let Some(i) = next_special(b, run) {
        let rep = match b[i] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            _ => "&quot;",
        };
        // Every escaped byte is ASCII: `run..i` ends on a character boundary.
        out.push_str(&s[run..i]);
        out.push_str(rep);
        run = i + 1;
    }
    out.push_str(&s[run..]);
}

/// The first byte at or after `from` that XML/HTML escapes (`& < > "`), eight bytes at a
/// time while none is there (the labels escaped are a few hundred bytes, most of them plain).
fn next_special(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(word) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        // `<` and `>` differ in one bit, as `"` and `&` do: two tests find the four.
        if has_byte(w | (ONES * 0x02), b'>') | has_byte(w | (ONES * 0x04), b'&') {
            break;
        }
        i += 8;
    }
    let special = |c: u8| matches!(c, b'&' | b'<' | b'>' | b'"');
    b.get(i..)?.iter().position(|&c| special(c)).map(|k| i + k)
}

/// A byte of value 1 in each of the eight places of a word.
const ONES: u64 = 0x0101_0101_0101_0101;

/// Whether one of the eight bytes of `w` is `c` (a zero byte in `w ^ c...`: the classic test,
/// exact as a yes or no).
pub(super) fn has_byte(w: u64, c: u8) -> bool {
    has_below(w ^ (ONES * u64::from(c)), 1)
}

/// Whether one of the eight bytes of `w` is below `n` (at most 128).
pub(super) fn has_below(w: u64, n: u8) -> bool {
    w.wrapping_sub(ONES * u64::from(n)) & !w & (ONES << 7) != 0
}

/// Appends `v` as [`Px`] writes it, without the formatting machinery.
pub fn push_px(out: &mut String, v: f64) {
    match px_tenths(v) {
        Some(t) => push_tenths(out, t.unsigned_abs(), t < 0),
        None => {
            let _ = write!(out, "{v:.1}");
        }
    }
}

/// `v` in tenths as [`Px`] rounds them (`(v * 10).round()`: halves away from zero), when
/// that is finite and below 1e15 in magnitude; without `f64::round`, a call into the C
/// library on the baseline x86-64 target.
fn px_tenths(v: f64) -> Option<i64> {
    let x = v * 10.0;
    if !x.is_finite() || x.abs() >= 1e15 {
        return None;
    }
    // `x as i64` truncates toward zero; `x - whole` is exact: the fraction of `x` is a
    // multiple of its last place and below 1.
    let whole = x as i64;
    let frac = x - whole as f64;
    let t = if frac >= 0.5 {
        whole + 1
    } else if frac <= -0.5 {
        whole - 1
    } else {
        whole
    };
    (t.unsigned_abs() < 1_000_000_000_000_000).then_some(t)
}

/// Appends `v` as [`Dec1`] (and `{:.1}`) writes it, without the formatting machinery.
pub fn push_dec1(out: &mut String, v: f64) {
    match dec1_tenths(v) {
        Some(t) => push_tenths(out, t, v.is_sign_negative()),
        None => {
            let _ = write!(out, "{v:.1}");
        }
    }
}

/// Appends `tenths` tenths as `{:.1}` writes them (`-` first when `negative`).
fn push_tenths(out: &mut String, tenths: u64, negative: bool) {
    if negative {
        out.push('-');
    }
    push_u64(out, tenths / 10);
    out.push('.');
    push_digit(out, tenths % 10);
}

/// The two-digit numbers `00` to `99`, one after the other.
const PAIRS: &str = "0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// Appends the last digit of `d`.
fn push_digit(out: &mut String, d: u64) {
    out.push(char::from(b'0' + (d % 10) as u8));
}

/// Appends the last two digits of `p`.
fn push_pair(out: &mut String, p: u64) {
    let k = (p % 100) as usize * 2;
    out.push_str(&PAIRS[k..k + 2]);
}

/// Appends `v` in decimal without the formatting machinery (the page holds five numbers per
/// event, a diagram a few per arrow): two digits at a time, each pair copied from [`PAIRS`].
pub fn push_u64(out: &mut String, v: u64) {
    if v < 10 {
        push_digit(out, v);
        return;
    }
    // The pairs from the last, then the one or two leading digits and the pairs in order.
    let mut pairs = [0u8; 10];
    let (mut n, mut v) = (0, v);
    while v >= 100 {
        pairs[n] = (v % 100) as u8;
        v /= 100;
        n += 1;
    }
    out.reserve(2 * n + 2);
    if v >= 10 {
        push_pair(out, v);
    } else {
        push_digit(out, v);
    }
    for &p in pairs[..n].iter().rev() {
        push_pair(out, p.into());
    }
}

pub use crate::sim::push_time;

/// A coordinate written with one decimal, as `{:.1}` would (halves rounded away from zero),
/// without the float formatting machinery: diagrams write thousands of them.
#[derive(Clone, Copy, Debug)]
pub struct Px(pub f64);

impl std::fmt::Display for Px {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tenths = (self.0 * 10.0).round();
        if !tenths.is_finite() || tenths.abs() >= 1e15 {
            return write!(f, "{:.1}", self.0);
        }
        let t = tenths as i64;
        write_tenths(f, t.unsigned_abs(), t < 0)
    }
}

/// Writes `tenths` tenths as `{:.1}` would (`-` first when `negative`).
fn write_tenths(f: &mut std::fmt::Formatter<'_>, tenths: u64, negative: bool) -> std::fmt::Result {
    let mut buf = [0u8; 24];
    f.write_str(std::str::from_utf8(tenths_bytes(&mut buf, tenths, negative)).unwrap_or("0.0"))
}

/// `tenths` tenths as `{:.1}` writes them (`-` first when `negative`), written at the end of
/// `buf` from the end: the tenth, the point, the whole part, the sign.
fn tenths_bytes(buf: &mut [u8; 24], tenths: u64, negative: bool) -> &[u8] {
    let mut i = buf.len() - 1;
    buf[i] = b'0' + (tenths % 10) as u8;
    i -= 1;
    buf[i] = b'.';
    let mut a = tenths / 10;
    loop {
        i -= 1;
        buf[i] = b'0' + (a % 10) as u8;
        a /= 10;
        if a == 0 {
            break;
        }
    }
    if negative {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// A number written exactly as `{:.1}` writes it (the nearest tenth of its exact binary
/// value, ties to even, `-` for any negative value), without the float formatting machinery:
/// the plots write a few for each of a thousand operations. (Unlike [`Px`], which rounds
/// ties away from zero, it leaves every plot byte for byte as it was.) [`push_dec1`] appends
/// the same text without a formatter.
#[derive(Clone, Copy, Debug)]
pub struct Dec1(pub f64);

impl std::fmt::Display for Dec1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match dec1_tenths(self.0) {
            Some(t) => write_tenths(f, t, self.0.is_sign_negative()),
            None => write!(f, "{:.1}", self.0),
        }
    }
}

/// The magnitude of `v` in tenths, as `{:.1}` rounds it (the nearest tenth of its exact
/// binary value, ties to even), when `v` is finite and below 1e15 in magnitude.
fn dec1_tenths(v: f64) -> Option<u64> {
    if !v.is_finite() || v.abs() >= 1e15 {
        return None;
    }
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1 << 52) - 1);
    let (m, e) = if exp == 0 {
        (frac, -1074)
    } else {
        (frac | 1 << 52, exp - 1075)
    };
    let tm = m as u128 * 10;
    let q = if e >= 0 {
        tm << e
    } else if e <= -120 {
        0
    } else {
        let k = (-e) as u32;
        let (q, r, half) = (tm >> k, tm & ((1u128 << k) - 1), 1u128 << (k - 1));
        q + (r > half || (r == half && q & 1 == 1)) as u128
    };
    // |v| < 1e15: its tenths fit a u64.
    Some(q as u64)
}

/// A fault window for shading: (start, end, label, colour).
pub struct Window {
    pub start: Time,
    pub end: Time,
    pub label: String,
    pub color: &'static str,
    /// The fault action that opened it (index into the schedule): tagged `F<index + 1>`,
    /// as the report's fault table numbers it.
    pub fault: usize,
}

/// Fault windows of a run: partition..heal, crash..restart, pause..+duration.
pub fn fault_windows(spec: &RunSpec, end: Time) -> Vec<Window> {
    let mut out = Vec::new();
    let f = &spec.faults;
    for (i, sf) in f.iter().enumerate() {
        match &sf.fault {
            Fault::Partition(p) => {
                let stop = f[i + 1..]
                    .iter()
                    .find(|x| matches!(x.fault, Fault::Heal))
                    .map_or(end, |x| x.at);
                out.push(Window {
                    start: sf.at,
                    end: stop,
                    label: format!("{p}"),
                    color: "#f4c27a",
                    fault: i,
                });
            }
            Fault::Crash(n) => {
                let stop = f[i + 1..]
                    .iter()
                    .find(|x| x.fault == Fault::Restart(*n))
                    .map_or(end, |x| x.at);
                out.push(Window {
                    start: sf.at,
                    end: stop,
                    label: format!("crash n{n}"),
                    color: "#f08c8c",
                    fault: i,
                });
            }
            Fault::Pause { node, duration } => out.push(Window {
                start: sf.at,
                end: sf.at + duration,
                label: format!("pause n{node}"),
                color: "#b9a4e8",
                fault: i,
            }),
            Fault::ClockSkew {
                node,
                offset,
                drift_ppm,
            } if *offset != 0 || *drift_ppm != 0 => {
                let stop = f[i + 1..]
                    .iter()
                    .find(|x| matches!(x.fault, Fault::ClockSkew { node: m, .. } if m == *node))
                    .map_or(end, |x| x.at);
                out.push(Window {
                    start: sf.at,
                    end: stop,
                    label: format!("skew n{node}"),
                    color: "#9ed3e6",
                    fault: i,
                });
            }
            Fault::Slow { node, factor } if *factor > 1 => {
                let stop = f[i + 1..]
                    .iter()
                    .find(|x| matches!(x.fault, Fault::Slow { node: m, .. } if m == *node))
                    .map_or(end, |x| x.at);
                out.push(Window {
                    start: sf.at,
                    end: stop,
                    label: format!("slow n{node} x{factor}"),
                    color: "#c9c9c9",
                    fault: i,
                });
            }
            _ => {}
        }
    }
    out
}

const W: f64 = 900.0;
const L: f64 = 60.0;
const R: f64 = 20.0;

fn x_of(t: Time, end: Time) -> f64 {
    L + (W - L - R) * (t as f64 / end.max(1) as f64)
}

fn time_axis(s: &mut String, end: Time, y: f64) {
    let step = nice_step(end);
    let mut t = 0;
    while t <= end {
        // `Dec1` writes what `{:.1}` writes, without the float formatting machinery.
        let x = x_of(t, end);
        s.push_str("<line x1=\"");
        push_dec1(s, x);
        s.push_str("\" y1=\"");
        push_dec1(s, y);
        s.push_str("\" x2=\"");
        push_dec1(s, x);
        s.push_str("\" y2=\"");
        push_dec1(s, y + 4.0);
        s.push_str(r##"" stroke="#888"/><text x=""##);
        push_dec1(s, x);
        s.push_str("\" y=\"");
        push_dec1(s, y + 16.0);
        s.push_str("\" font-size=\"11\" text-anchor=\"middle\">");
        s.push_str(&fmt_secs(t));
        s.push_str("s</text>");
        t += step;
    }
}

fn nice_step(end: Time) -> Time {
    let target = end / 8;
    for s in [
        SECS / 10,
        SECS / 4,
        SECS / 2,
        SECS,
        2 * SECS,
        5 * SECS,
        10 * SECS,
        30 * SECS,
        60 * SECS,
    ] {
        if s >= target {
            return s;
        }
    }
    300 * SECS
}

fn fmt_secs(t: Time) -> String {
    let s = format!("{:.2}", t as f64 / SECS as f64);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Shades each fault window (its full text in the tooltip) and tags it `F<n>` (the report's
/// fault table spells each out) in rows placed so that no two tags overlap; a tag with no
/// room in [`TAG_ROWS`] rows is left to its tooltip and the table.
fn shade(s: &mut String, windows: &[Window], end: Time, top: f64, bottom: f64) {
    const TAG_ROWS: usize = 3;
    let mut free_from = [f64::MIN; TAG_ROWS];
    for w in windows {
        let (x1, x2) = (x_of(w.start, end), x_of(w.end.min(end), end));
        let tag = format!("F{}", w.fault + 1);
        let _ = write!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}" opacity="0.35"><title>{tag} {}</title></rect>"#,
            Dec1(x1),
            Dec1(top),
            Dec1((x2 - x1).max(1.0)),
            Dec1(bottom - top),
            w.color,
            esc(&w.label)
        );
        let tag_width = 5.5 * tag.len() as f64 + 3.0;
        if let Some(row) = free_from.iter().position(|&f| f <= x1) {
            free_from[row] = x1 + tag_width;
            let _ = write!(
                s,
                r##"<text x="{}" y="{}" font-size="9" fill="#555">{tag}</text>"##,
                Dec1(x1 + 1.0),
                Dec1(top + 10.0 + row as f64 * 10.0)
            );
        }
    }
}

/// A red line across a timeline plot at `t` (the violation), labelled.
pub fn with_marker(svg: String, t: Option<Time>, end: Time) -> String {
    let Some(t) = t.filter(|&t| t <= end) else {
        return svg;
    };
    let x = x_of(t, end);
    let mark = format!(
        r##"<line x1="{x:.1}" y1="22" x2="{x:.1}" y2="100%" stroke="#b3261e" stroke-width="1.5"/><text x="{:.1}" y="30" font-size="10" fill="#b3261e">violation {}s</text></svg>"##,
        x + 3.0,
        fmt_time(t)
    );
    match svg.rfind("</svg>") {
        Some(i) => format!("{}{mark}{}", &svg[..i], &svg[i + 6..]),
        None => svg,
    }
}

/// The most operations the latency plot draws (beyond, it draws every k-th).
pub const LATENCY_POINTS_MAX: usize = 20_000;

/// Latency of each client operation over time, coloured by outcome; unknown outcomes are
/// drawn as hollow markers on the top edge; fault windows shaded.
pub fn latency_svg(ops: &[OpRecord], windows: &[Window], end: Time, title: &str) -> String {
    let max_lat = max_latency(ops.iter());
    let (mut s, top, bottom, h) = latency_frame(title, windows, end, max_lat);
    s.reserve(ops.len().min(2 * LATENCY_POINTS_MAX) * 128);
    // A large history is thinned to every k-th operation (deterministically), so that the
    // plot stays a few megabytes; the failed and unknown ones are all kept up to the limit too.
    let stride = ops.len().div_ceil(LATENCY_POINTS_MAX).max(1);
    if stride > 1 {
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="18" font-size="11" text-anchor="end" fill="#555">every {stride}th of {} operations shown</text>"##,
            W - R,
            ops.len()
        );
    }
    let mut odd = 0;
    for (i, o) in ops.iter().enumerate() {
        if stride > 1 && i % stride != 0 {
            if o.status == OpStatus::Ok || odd >= LATENCY_POINTS_MAX {
                continue;
            }
            odd += 1;
        }
        // Written piece by piece (a `write!` per operation costs more than the rest).
        s.push_str("<circle cx=\"");
        push_px(&mut s, x_of(o.call, end));
        s.push_str("\" cy=\"");
        match (o.status, o.ret) {
            (OpStatus::Unknown, _) | (_, None) => {
                push_px(&mut s, top + 3.0);
                s.push_str(r##"" r="3" fill="none" stroke="#d4a017"><title>"##);
            }
            (st, Some(r)) => {
                push_px(
                    &mut s,
                    bottom - (bottom - top) * ((r - o.call) as f64 / max_lat as f64),
                );
                s.push_str(if st == OpStatus::Ok {
                    r##"" r="2.2" fill="#2a7ab9"><title>"##
                } else {
                    r##"" r="2.2" fill="#c0392b"><title>"##
                });
            }
        }
        push_esc(&mut s, &o.desc);
        s.push_str("</title></circle>");
    }
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{h:.1}" font-size="11" text-anchor="end" dy="-6">● ok  <tspan fill="#c0392b">● fail</tspan>  <tspan fill="#d4a017">○ unknown</tspan></text>"##,
        W - R
    );
    s.push_str("</svg>\n");
    s
}

/// The longest latency among completed operations (at least 1 ns).
fn max_latency<'a>(ops: impl Iterator<Item = &'a OpRecord>) -> Time {
    ops.filter_map(|o| o.ret.map(|r| r - o.call))
        .max()
        .unwrap_or(1)
        .max(1)
}

/// Latencies of several runs' operations on one time axis (one colour each: a comparison of
/// protocols on the same seed and faults), fault windows shaded. Completed operations are
/// dots, failed ones crosses, unknown outcomes hollow markers on the top edge.
pub fn latency_series_svg(
    series: &[(&str, &[OpRecord], &str)],
    windows: &[Window],
    end: Time,
    title: &str,
) -> String {
    let max_lat = max_latency(series.iter().flat_map(|(_, ops, _)| ops.iter()));
    let (mut s, top, bottom, h) = latency_frame(title, windows, end, max_lat);
    let total: usize = series.iter().map(|(_, ops, _)| ops.len()).sum();
    let stride = total.div_ceil(LATENCY_POINTS_MAX).max(1);
    for (k, (_, ops, color)) in series.iter().enumerate() {
        for o in ops.iter().step_by(stride) {
            let x = Dec1(x_of(o.call, end));
            let _ = match (o.status, o.ret) {
                (OpStatus::Unknown, _) | (_, None) => write!(
                    s,
                    r##"<circle cx="{x:.1}" cy="{:.1}" r="3" fill="none" stroke="{color}"><title>{}</title></circle>"##,
                    Dec1(top + 3.0 + 6.0 * k as f64),
                    esc(&o.desc)
                ),
                (st, Some(r)) => {
                    let y = Px(bottom - (bottom - top) * ((r - o.call) as f64 / max_lat as f64));
                    let mark = if st == OpStatus::Ok { "2.2" } else { "3.5" };
                    write!(
                        s,
                        r#"<circle cx="{x:.1}" cy="{y:.1}" r="{mark}" fill="{color}" opacity="0.75"><title>{}</title></circle>"#,
                        esc(&o.desc)
                    )
                }
            };
        }
    }
    let legend: Vec<String> = series
        .iter()
        .map(|(name, _, color)| format!(r#"<tspan fill="{color}">● {}</tspan>"#, esc(name)))
        .collect();
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{h:.1}" font-size="11" text-anchor="end" dy="-6">{}  ○ unknown outcome</text>"##,
        W - R,
        legend.join("  ")
    );
    s.push_str("</svg>\n");
    s
}

/// A latency plot's frame: title, shaded fault windows, axes. Returns the SVG so far and the
/// plot area's top, bottom and the picture's height.
fn latency_frame(
    title: &str,
    windows: &[Window],
    end: Time,
    max_lat: Time,
) -> (String, f64, f64, f64) {
    let h = 320.0;
    let (top, bottom) = (30.0, h - 40.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif">"#
    );
    let _ = write!(
        s,
        r#"<text x="{L}" y="18" font-size="14">{}</text>"#,
        esc(title)
    );
    shade(&mut s, windows, end, top, bottom);
    let _ = write!(
        s,
        r##"<line x1="{L}" y1="{bottom}" x2="{:.1}" y2="{bottom}" stroke="#333"/><line x1="{L}" y1="{top}" x2="{L}" y2="{bottom}" stroke="#333"/>"##,
        W - R
    );
    time_axis(&mut s, end, bottom);
    let _ = write!(
        s,
        r#"<text x="8" y="{:.1}" font-size="11">{}ms</text><text x="8" y="{:.1}" font-size="11">0</text>"#,
        top + 4.0,
        max_lat / 1_000_000,
        bottom
    );
    (s, top, bottom, h)
}

/// Completed operations per bucket of simulated time.
pub fn throughput_svg(ops: &[OpRecord], windows: &[Window], end: Time) -> String {
    let h = 220.0;
    let (top, bottom) = (30.0, h - 40.0);
    let buckets = 60usize;
    let width = end.max(1).div_ceil(buckets as u64);
    let mut counts = vec![0u64; buckets];
    for o in ops.iter().filter(|o| o.status == OpStatus::Ok) {
        if let Some(r) = o.ret {
            counts[((r / width) as usize).min(buckets - 1)] += 1;
        }
    }
    let max = counts.iter().copied().max().unwrap_or(1).max(1);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif">"#
    );
    let _ = write!(
        s,
        r#"<text x="{L}" y="18" font-size="14">Completed operations per {} ms</text>"#,
        width / 1_000_000
    );
    shade(&mut s, windows, end, top, bottom);
    for (i, c) in counts.iter().enumerate() {
        let x1 = x_of(i as u64 * width, end);
        let x2 = x_of((i as u64 + 1) * width, end);
        let y = bottom - (bottom - top) * (*c as f64 / max as f64);
        s.push_str("<rect x=\"");
        push_dec1(&mut s, x1);
        s.push_str("\" y=\"");
        push_dec1(&mut s, y);
        s.push_str("\" width=\"");
        push_dec1(&mut s, (x2 - x1 - 1.0).max(0.5));
        s.push_str("\" height=\"");
        push_dec1(&mut s, bottom - y);
        s.push_str(r##"" fill="#4a9d5b"/>"##);
    }
    let _ = write!(
        s,
        r##"<line x1="{L}" y1="{bottom}" x2="{:.1}" y2="{bottom}" stroke="#333"/>"##,
        W - R
    );
    time_axis(&mut s, end, bottom);
    let _ = write!(
        s,
        r#"<text x="8" y="{:.1}" font-size="11">{max}</text>"#,
        top + 4.0
    );
    s.push_str("</svg>\n");
    s
}

/// One lane per server, and per other node that reported a role (a lock's clients), showing
/// its role over time.
pub fn roles_svg(
    roles: &[RoleChange],
    servers: u32,
    windows: &[Window],
    end: Time,
    names: &Names,
) -> String {
    let servers = roles.iter().map(|r| r.node + 1).fold(servers, u32::max);
    let lane = 24.0;
    let top = 30.0;
    let h = top + lane * servers as f64 + 40.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif">"#
    );
    let _ = write!(
        s,
        r#"<text x="{L}" y="18" font-size="14">Role of each node; a leader's bar names its term (t3) (leader or holder green, candidate or waiting orange, uncertain yellow, blocked or paused purple, down red, others grey)</text>"#
    );
    shade(&mut s, windows, end, top, top + lane * servers as f64);
    let mut last_tag = vec![f64::MIN; servers as usize];
    for n in 0..servers {
        let y = top + lane * n as f64;
        // The lane's name, escaped once for its label and every bar's tooltip.
        let name = esc(&names.node(n)).into_owned();
        s.push_str("<text x=\"8\" y=\"");
        push_dec1(&mut s, y + 16.0);
        s.push_str("\" font-size=\"12\">");
        s.push_str(&name);
        s.push_str("</text>");
        let mine: Vec<&RoleChange> = roles.iter().filter(|r| r.node == n).collect();
        for (i, r) in mine.iter().enumerate() {
            let stop = mine.get(i + 1).map_or(end, |x| x.time).min(end);
            let color = match r.role.as_str() {
                "leader" | "holder" => "#2e9e4f",
                "candidate" | "waiting" => "#f0a030",
                "paused" => "#8a5cc2",
                "down" => "#d04040",
                "uncertain" => "#e8d060",
                "blocked" => "#8e44ad",
                _ => "#c8c8c8",
            };
            let (x1, x2) = (x_of(r.time, end), x_of(stop, end));
            // Written piece by piece, as the other plots' marks are.
            s.push_str("<rect x=\"");
            push_dec1(&mut s, x1);
            s.push_str("\" y=\"");
            push_dec1(&mut s, y + 4.0);
            s.push_str("\" width=\"");
            push_dec1(&mut s, (x2 - x1).max(0.5));
            s.push_str("\" height=\"");
            push_dec1(&mut s, lane - 8.0);
            s.push_str("\" fill=\"");
            s.push_str(color);
            s.push_str("\"><title>");
            s.push_str(&name);
            s.push(' ');
            push_esc(&mut s, &r.role);
            s.push_str(" term ");
            push_u64(&mut s, r.term);
            s.push_str(" from ");
            push_time(&mut s, r.time);
            s.push_str("s</title></rect>");
            // A leader's bar says its term, where there is room (else in the tooltip).
            if !matches!(r.role.as_str(), "leader" | "holder") {
                continue;
            }
            let tag = format!("t{}", r.term);
            let room = x2 - x1;
            if room >= 5.5 * tag.len() as f64 + 2.0 && x1 >= last_tag[n as usize] {
                let _ = write!(
                    s,
                    r##"<text x="{}" y="{}" font-size="9" fill="#fff" font-weight="bold">{tag}</text>"##,
                    Dec1(x1 + 1.5),
                    Dec1(y + 15.0)
                );
                last_tag[n as usize] = x1 + 5.5 * tag.len() as f64 + 2.0;
            }
        }
    }
    time_axis(&mut s, end, top + lane * servers as f64);
    s.push_str("</svg>\n");
    s
}

/// A histogram of one metric across seeds (for sweeps): `values` are (seed, value).
pub fn histogram_svg(values: &[(u64, f64)], title: &str, unit: &str) -> String {
    let (w, h, top, bottom) = (W, 260.0, 30.0, 220.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif">"#
    );
    let _ = write!(
        s,
        r#"<text x="{L}" y="18" font-size="14">{} ({} seeds)</text>"#,
        esc(title),
        values.len()
    );
    if values.is_empty() {
        s.push_str("</svg>\n");
        return s;
    }
    let lo = values.iter().map(|v| v.1).fold(f64::INFINITY, f64::min);
    let hi = values.iter().map(|v| v.1).fold(f64::NEG_INFINITY, f64::max);
    let bins = 30usize;
    let width = ((hi - lo) / bins as f64).max(f64::MIN_POSITIVE);
    let mut counts = vec![0u64; bins];
    for (_, v) in values {
        counts[(((v - lo) / width) as usize).min(bins - 1)] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(1).max(1);
    let bw = (w - L - R) / bins as f64;
    for (i, c) in counts.iter().enumerate() {
        let bh = (bottom - top) * (*c as f64 / max as f64);
        let _ = write!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="#6a8fc7"><title>{:.3}..{:.3} {unit}: {c} seeds</title></rect>"##,
            L + bw * i as f64,
            bottom - bh,
            (bw - 1.0).max(0.5),
            lo + width * i as f64,
            lo + width * (i + 1) as f64
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{L}" y1="{bottom}" x2="{:.1}" y2="{bottom}" stroke="#333"/>"##,
        w - R
    );
    let _ = write!(
        s,
        r#"<text x="{L}" y="{:.1}" font-size="11">{lo:.3} {unit}</text>"#,
        bottom + 16.0
    );
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{hi:.3} {unit}</text>"#,
        w - R,
        bottom + 16.0
    );
    let _ = write!(
        s,
        r#"<text x="8" y="{:.1}" font-size="11">{max}</text>"#,
        top + 4.0
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::Dec1;

    #[test]
    fn esc_and_push_esc_escape_the_four_characters() {
        let pieces = [
            "a", "&", "<", ">", "\"", "é", "日本", "🦀", "abcdefgh", " ", "&amp;",
        ];
        let texts = crate::report::random_texts(&pieces, 0x2545_f491_4f6c_dd1d, 500, 40)
            .into_iter()
            .chain(crate::report::random_texts(&pieces[4..], 7, 200, 150));
        for text in texts {
            let reference = (text.replace('&', "&amp;").replace('<', "&lt;"))
                .replace('>', "&gt;")
                .replace('"', "&quot;");
            let mut out = String::new();
            super::push_esc(&mut out, &text);
            assert_eq!(out, reference, "{text:?}");
            assert_eq!(super::esc(&text), reference, "{text:?}");
        }
    }

    /// The word tests say what a walk over the eight bytes says.
    #[test]
    fn word_tests_are_the_byte_tests() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for k in 0..100_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Bytes near the ones tested, often: 0x00-0x7f and the top bit.
            let w = if k % 2 == 0 {
                x & 0x7f7f_7f7f_7f7f_7f7f
            } else {
                x
            };
            let bytes = w.to_le_bytes();
            for c in [0u8, 1, b'"', b'&', b'<', b'>', b'/', b'\\', 0x80, 0xff] {
                assert_eq!(super::has_byte(w, c), bytes.contains(&c), "{w:x} {c}");
            }
            for n in [1u8, 0x20, 0x3d, 0x80] {
                let below = bytes.iter().any(|&b| b < n);
                assert_eq!(super::has_below(w, n), below, "{w:x} {n}");
            }
        }
    }

    #[test]
    fn push_u64_writes_decimal() {
        for v in (0..2_000).chain([9_999, 10_000, 123_456_789, u64::MAX]) {
            let mut s = String::new();
            super::push_u64(&mut s, v);
            assert_eq!(s, v.to_string());
            s.clear();
            super::push_u64(&mut s, v.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (v % 64));
            assert_eq!(
                s,
                (v.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (v % 64)).to_string()
            );
        }
    }

    #[test]
    fn push_time_writes_fmt_time() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for t in [0, 1, 999_999_999, 1_000_000_000, 12_000_345_000, u64::MAX]
            .into_iter()
            .chain((0..10_000).map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x >> (x % 64)
            }))
        {
            let mut s = String::new();
            super::push_time(&mut s, t);
            assert_eq!(s, crate::sim::fmt_time(t));
        }
    }

    /// `Dec1` writes what `{:.1}` writes: ties to even, negative zero, tiny and huge values,
    /// and a spread of others.
    #[test]
    fn dec1_is_exactly_the_standard_format() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut values = vec![
            0.0,
            -0.0,
            0.25,
            0.75,
            0.15,
            -0.25,
            0.05,
            0.95,
            9.95,
            99.95,
            -0.04,
            5e-324,
            1e-300,
            999_999_999_999_999.9,
            1e15,
            2.5e20,
            f64::NAN,
            f64::INFINITY,
        ];
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(match x % 3 {
                0 => ((x >> 20) % 1_000_000) as f64 / 40.0 - 1000.0,
                1 => (x >> 11) as f64 / (1u64 << 53) as f64 * 2000.0 - 500.0,
                _ => f64::from_bits(x >> 2),
            });
        }
        for v in values {
            assert_eq!(format!("{}", Dec1(v)), format!("{v:.1}"), "{v:e}");
            let mut s = String::new();
            super::push_dec1(&mut s, v);
            assert_eq!(s, format!("{v:.1}"), "{v:e}");
        }
    }

    /// `push_px` writes what `Px` writes (`(v * 10).round()`, halves away from zero), with
    /// its own rounding: halves, values just below a half, negative ones, the edge of 1e15.
    #[test]
    fn push_px_is_px() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut values = vec![
            0.0,
            -0.0,
            0.05,
            -0.05,
            0.25,
            -0.25,
            // Just below a half tenth: rounds down.
            f64::from_bits(0.05f64.to_bits() - 1),
            f64::from_bits(0.45f64.to_bits() - 1),
            -0.04,
            -0.06,
            1e-300,
            5e-324,
            // Tenths at 1e15, just below and just above.
            f64::from_bits(1e14f64.to_bits() - 1),
            -f64::from_bits(1e14f64.to_bits() - 1),
            f64::from_bits(1e14f64.to_bits() - 3),
            1e14,
            1e15,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(match x % 4 {
                0 => ((x >> 20) % 1_000_000) as f64 / 20.0 - 1000.0,
                1 => (x >> 11) as f64 / (1u64 << 53) as f64 * 2000.0 - 500.0,
                2 => ((x >> 20) % 100_000) as f64 * 0.05 - 2000.0,
                _ => f64::from_bits(x >> 2),
            });
        }
        for v in values {
            let mut s = String::new();
            super::push_px(&mut s, v);
            assert_eq!(s, format!("{}", super::Px(v)), "{v:e}");
        }
    }
}
