//! Jepsen log lines, as in Porcupine's etcd histories:
//! `INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]` (process, type, function, value), and the
//! variant with extra fields (`INFO  jepsen.util - 6 \t:ok :write \t38 \t:hint 2`). The
//! fields after the dash are read as EDN, so values may be nil, integers, vectors, keywords,
//! strings. A line of the `:nemesis` process is not an operation: it is counted. Blank lines
//! are allowed; any other line is an error, and so is a last line without its newline (a log
//! cut while it was written, whose last value may be cut short).

use std::io::Read;

use super::edn::{Pos, Reader, Val};
use super::stream::Feed;
use super::{ParseError, detect};

/// Why a last line without its newline is refused.
const CUT: &str = "the last line has no end of line: the log may have been cut while it was \
written, and a value cut short (12 to 1) would read as another (a complete log ends every line)";

/// Reads the log a line at a time.
pub fn read<R: Read>(
    feed: &mut Feed<R>,
    sink: &mut dyn FnMut(Pos, &Val) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    loop {
        let go_on = feed.run(true, |w, pos, more| {
            let (raw, n) = match w.iter().position(|&b| b == b'\n') {
                Some(k) => (&w[..k], k + 1),
                None if more => return Ok(None),
                None if w.is_empty() => return Ok(Some((false, 0))),
                // A log ends every line: one that ends without its newline may have been cut
                // while it was written, and a value cut short (`12` to `1`) reads as another.
                None if !w.iter().all(u8::is_ascii_whitespace) => {
                    return Err(ParseError::line(pos.line, CUT));
                }
                None => (w, w.len()),
            };
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            // The window is UTF-8, and a line ends at a newline byte.
            let raw = std::str::from_utf8(raw)
                .map_err(|_| ParseError::line(pos.line, super::stream::NOT_TEXT))?;
            line(pos.line, raw, sink)?;
            Ok(Some((true, n)))
        })?;
        if !go_on {
            return Ok(());
        }
    }
}

/// One line of the log.
fn line(
    line: usize,
    raw: &str,
    sink: &mut dyn FnMut(Pos, &Val) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    if raw.trim().is_empty() {
        return Ok(());
    }
    let Some(dash) = raw.find(" - ").filter(|_| detect::is_log_line(raw)) else {
        return Err(ParseError::line(
            line,
            format!(
                "expected {}, found `{}`",
                detect::describe(super::Format::PorcupineEtcd),
                detect::snippet(raw)
            ),
        ));
    };
    let start = dash + 3;
    let pos = Pos {
        line,
        col: start + 1,
    };
    let mut r = Reader::at(&raw[start..], pos);
    let mut fields: Vec<Val> = Vec::with_capacity(4);
    loop {
        r.skip(0)?;
        if r.at_end() {
            break;
        }
        fields.push(r.value(0)?);
    }
    if fields.len() < 4 {
        return Err(ParseError::at(
            pos,
            format!(
                "expected four fields after `jepsen.util -` (process, type, function, value), found {}",
                fields.len()
            ),
        ));
    }
    let extra = &fields[4..];
    if !extra.len().is_multiple_of(2) || extra.chunks(2).any(|kv| !matches!(kv[0], Val::Kw(_))) {
        return Err(ParseError::at(
            pos,
            "after the value, only `:name value` pairs may follow (like `:hint 2`)",
        ));
    }
    // The record as a map, read like any other.
    let mut it = fields.into_iter();
    let mut m = Vec::with_capacity(4);
    for k in ["process", "type", "f", "value"] {
        m.push((Val::Kw(k.to_string()), it.next().unwrap_or(Val::Nil)));
    }
    if !matches!(m[1].1, Val::Kw(_)) || !matches!(m[2].1, Val::Kw(_)) {
        return Err(ParseError::at(
            pos,
            format!(
                "expected a type like :invoke and a function like :read, found `{}` and `{}`",
                m[1].1, m[2].1
            ),
        ));
    }
    sink(pos, &Val::Map(m))
}
