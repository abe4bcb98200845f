//! Numbers and escaped text written straight into a report's strings, without the
//! formatting machinery (a report writes tens of thousands of them): each writer gives
//! exactly what the standard formatting (or the plain reference escape) gives, as its
//! test checks.

use std::fmt::Write;

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

/// The first byte at or after `from` that XML/HTML escapes (`& < > "`).
fn next_special(b: &[u8], from: usize) -> Option<usize> {
    // `<` and `>` differ in one bit, as `"` and `&` do: two tests find the four.
    let word = |w: u64| has_byte(w | (ONES * 0x02), b'>') | has_byte(w | (ONES * 0x04), b'&');
    next_of(b, from, word, |c| matches!(c, b'&' | b'<' | b'>' | b'"'))
}

/// The first byte at or after `from` that `is` accepts, eight bytes at a time while `word`
/// (true where one of a word's eight bytes may be one) says none is there: the texts escaped
/// are a few hundred bytes, most of them plain.
fn next_of(
    b: &[u8],
    from: usize,
    word: impl Fn(u64) -> bool,
    is: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut i = from;
    while let Some(w) = b.get(i..i + 8) {
        if word(u64::from_le_bytes(w.try_into().unwrap_or_default())) {
            break;
        }
        i += 8;
    }
    b.get(i..)?.iter().position(|&c| is(c)).map(|k| i + k)
}

/// Appends `s` escaped as the text between an element's tags: `&` and `<`, and `>` only
/// where it would end `]]>` (the one place XML forbids it). Quotes need no escape outside an
/// attribute, and a tooltip of a key-value message is full of them: a diagram's titles and
/// labels are written this way, each a few bytes shorter.
pub fn push_text(out: &mut String, s: &str) {
    let b = s.as_bytes();
    let mut run = 0;
    let mut at = 0;
    while let Some(i) = next_text_special(b, at) {
        at = i + 1;
        let rep = match b[i] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            _ if i >= 2 && &b[i - 2..i] == b"]]" => "&gt;",
            _ => continue,
        };
        // Every escaped byte is ASCII: `run..i` ends on a character boundary.
        out.push_str(&s[run..i]);
        out.push_str(rep);
        run = i + 1;
    }
    out.push_str(&s[run..]);
}

/// The first `&`, `<` or `>` at or after `from`.
fn next_text_special(b: &[u8], from: usize) -> Option<usize> {
    // `<` and `>` differ in one bit.
    let word = |w: u64| has_byte(w | (ONES * 0x02), b'>') | has_byte(w, b'&');
    next_of(b, from, word, |c| matches!(c, b'&' | b'<' | b'>'))
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

    /// `push_text` escapes `&` and `<` everywhere and `>` only after `]]`, and nothing else.
    #[test]
    fn push_text_escapes_what_element_text_must() {
        let pieces = [
            "a", "&", "<", ">", "]", "]]", "\"", "é", "日本", "🦀", "abcdefgh", " ", "&amp;",
        ];
        let texts = crate::report::random_texts(&pieces, 0x2545_f491_4f6c_dd1d, 500, 40)
            .into_iter()
            .chain(crate::report::random_texts(&pieces[2..6], 11, 300, 60));
        for text in texts {
            let mut reference = String::new();
            for (i, c) in text.char_indices() {
                match c {
                    '&' => reference.push_str("&amp;"),
                    '<' => reference.push_str("&lt;"),
                    '>' if text[..i].ends_with("]]") => reference.push_str("&gt;"),
                    c => reference.push(c),
                }
            }
            let mut out = String::from("x");
            super::push_text(&mut out, &text);
            assert_eq!(out[1..], reference, "{text:?}");
            assert!(!out.contains("]]>") && !out[1..].contains('<'), "{text:?}");
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
