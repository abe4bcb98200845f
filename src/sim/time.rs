//! Virtual time: an integer count of nanoseconds since the start of a run.
//!
//! Nothing in a run ever reads the wall clock; `Time` only advances when the engine
//! pops the next event.

/// Virtual time in nanoseconds since the start of the run.
pub type Time = u64;

pub const NANOS: Time = 1;
pub const MICROS: Time = 1_000;
pub const MILLIS: Time = 1_000_000;
pub const SECS: Time = 1_000_000_000;
/// The longest duration a scenario may write (7 days): any time plus a few such durations
/// stays far from `u64::MAX`, so no sum of them can overflow.
pub const MAX_TIME: Time = 7 * 24 * 3600 * SECS;

/// Formats a time as seconds with nanosecond precision, e.g. `12.000345678`.
/// Fixed width of the fraction so traces line up and sort as text.
pub fn fmt_time(t: Time) -> String {
    let mut s = String::with_capacity(21);
    push_time(&mut s, t);
    s
}

/// Appends [`fmt_time`]'s text to `out`, digit by digit: a report writes thousands of
/// times, and the formatting machinery costs several times the digits.
pub fn push_time(out: &mut String, t: Time) {
    let mut digits = [0u8; 20];
    out.push_str(crate::check::text::decimal(t / SECS, &mut digits));
    out.push('.');
    // Nine digits of nanoseconds, leading zeros kept.
    let mut ns = [b'0'; 9];
    let mut n = t % SECS;
    for d in ns.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.push_str(std::str::from_utf8(&ns).unwrap_or_default());
}

/// Formats a duration for humans: `250ms`, `1.5s`, `40us`.
pub fn fmt_duration(d: Time) -> String {
    if d >= SECS && d.is_multiple_of(SECS / 10) {
        format!("{}s", fmt_trim(d as f64 / SECS as f64))
    } else if d >= MILLIS {
        format!("{}ms", fmt_trim(d as f64 / MILLIS as f64))
    } else if d >= MICROS {
        format!("{}us", fmt_trim(d as f64 / MICROS as f64))
    } else {
        format!("{d}ns")
    }
}

fn fmt_trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Parses a duration written for humans: `150ms`, `1.5s`, `40us`, `250ns`, or bare nanoseconds.
pub fn parse_duration(s: &str) -> Result<Time, String> {
    let s = s.trim();
    if s.starts_with('-') {
        return Err(format!(
            "`{s}` is negative: a duration is zero or more (e.g. \"0s\", \"150ms\")"
        ));
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: String = num.chars().filter(|&c| c != '_').collect();
    let scale = match unit.trim() {
        "" | "ns" => NANOS,
        "us" | "µs" => MICROS,
        "ms" => MILLIS,
        "s" => SECS,
        "m" | "min" => 60 * SECS,
        u => {
            return Err(format!(
                "unknown unit `{u}` in duration `{s}` (expected ns, us, ms, s or min)"
            ));
        }
    };
    let bad =
        || format!("`{s}` is not a duration (expected e.g. \"150ms\", \"1.5s\" or nanoseconds)");
    if num.is_empty() {
        return Err(bad());
    }
    match num.split_once('.') {
        None => num
            .parse::<u64>()
            .map_err(|_| bad())?
            .checked_mul(scale)
            .ok_or_else(bad),
        Some((int, frac)) => {
            if frac.contains('.') {
                return Err(bad());
            }
            let int: u64 = if int.is_empty() {
                0
            } else {
                int.parse().map_err(|_| bad())?
            };
            let mut f: u64 = 0;
            let mut unit_part = scale;
            for c in frac.chars() {
                let digit = c as u64 - '0' as u64;
                if unit_part < 10 && digit != 0 {
                    // Time is counted in whole nanoseconds: never round a duration silently.
                    return Err(format!(
                        "`{s}` is finer than a nanosecond, the simulation's resolution"
                    ));
                }
                unit_part /= 10;
                f += digit * unit_part;
            }
            int.checked_mul(scale)
                .and_then(|v| v.checked_add(f))
                .ok_or_else(bad)
        }
    }
}

/// Writes a duration exactly, in the largest unit that divides it: `30s`, `150ms`, `7ns`.
pub fn write_duration(t: Time) -> String {
    if t == 0 {
        "0s".into()
    } else if t.is_multiple_of(SECS) {
        format!("{}s", t / SECS)
    } else if t.is_multiple_of(MILLIS) {
        format!("{}ms", t / MILLIS)
    } else if t.is_multiple_of(MICROS) {
        format!("{}us", t / MICROS)
    } else {
        format!("{t}ns")
    }
}

/// Serde for durations: written as `"150ms"`, read from a string or from nanoseconds.
/// Use as `#[serde(with = "crate::sim::dur")]`.
pub mod dur {
    use super::{Time, parse_duration, write_duration};
    use serde::{Deserializer, Serializer, de};

    pub fn serialize<S: Serializer>(t: &Time, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&write_duration(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Time;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a duration such as \"150ms\" or \"2s\", or nanoseconds")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Time, E> {
                Ok(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Time, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format!("a duration cannot be negative ({v})")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Time, E> {
                parse_duration(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }

    /// For `(min, max)` pairs of durations.
    pub mod pair {
        use super::super::Time;
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        #[derive(Serialize, Deserialize)]
        struct P(#[serde(with = "super")] Time, #[serde(with = "super")] Time);

        pub fn serialize<S: Serializer>(t: &(Time, Time), s: S) -> Result<S::Ok, S::Error> {
            P(t.0, t.1).serialize(s)
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<(Time, Time), D::Error> {
            let P(a, b) = P::deserialize(d)?;
            Ok((a, b))
        }
    }

    /// For optional durations: `Some("10s")` or `None`.
    pub mod opt {
        use super::super::Time;
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        #[derive(Serialize, Deserialize)]
        struct W(#[serde(with = "super")] Time);

        pub fn serialize<S: Serializer>(t: &Option<Time>, s: S) -> Result<S::Ok, S::Error> {
            t.map(W).serialize(s)
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Time>, D::Error> {
            Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
        }
    }

    /// For signed offsets (clock skew): `"-200ms"` or nanoseconds.
    pub mod signed {
        use super::super::parse_duration;
        use serde::{Deserializer, Serializer, de};

        pub fn serialize<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
            let mag = super::super::write_duration(t.unsigned_abs());
            s.serialize_str(&if *t < 0 { format!("-{mag}") } else { mag })
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
            struct V;
            impl de::Visitor<'_> for V {
                type Value = i64;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a signed duration such as \"-200ms\", or nanoseconds")
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
                    Ok(v)
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
                    i64::try_from(v).map_err(|_| E::custom("offset too large"))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
                    let (neg, rest) = match v.trim().strip_prefix('-') {
                        Some(r) => (true, r),
                        None => (false, v),
                    };
                    let m = parse_duration(rest).map_err(E::custom)?;
                    let m = i64::try_from(m).map_err(|_| E::custom("offset too large"))?;
                    Ok(if neg { -m } else { m })
                }
            }
            d.deserialize_any(V)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn fmt_time_writes_what_format_wrote() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let edges = [
            0,
            1,
            9,
            10,
            SECS - 1,
            SECS,
            SECS + 1,
            MAX_TIME,
            u64::MAX - 1,
            u64::MAX,
        ];
        let drawn = (0..2_000).map(|k| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Every width of number, from a few nanoseconds to u64::MAX.
            x >> (k % 64)
        });
        for t in edges.into_iter().chain(drawn) {
            assert_eq!(fmt_time(t), format!("{}.{:09}", t / SECS, t % SECS), "{t}");
        }
    }
    #[test]
    fn durations_round_trip() {
        for (s, t) in [
            ("150ms", 150 * MILLIS),
            ("1.5s", 1_500 * MILLIS),
            ("40us", 40 * MICROS),
            ("7", 7),
            ("2min", 120 * SECS),
        ] {
            assert_eq!(parse_duration(s), Ok(t), "{s}");
            assert_eq!(parse_duration(&write_duration(t)), Ok(t));
        }
        assert!(parse_duration("12 parsecs").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("1.2.3s").is_err());
    }
}
