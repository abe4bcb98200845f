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

/// Formats a time as seconds with nanosecond precision, e.g. `12.000345678`.
/// Fixed width of the fraction so traces line up and sort as text.
pub fn fmt_time(t: Time) -> String {
    format!("{}.{:09}", t / SECS, t % SECS)
}

/// Formats a duration for humans: `250ms`, `1.5s`, `40us`.
pub fn fmt_duration(d: Time) -> String {
    if d >= SECS && d % (SECS / 10) == 0 {
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
