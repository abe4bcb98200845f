//! Which format a file is in, decided from its first record after blank space and comments,
//! never from its name; and the EDN layouts of a history. Content that fits no format is an
//! error that says what was found and what was expected.

use super::edn::{Pos, Reader, Val};
use super::{Format, ParseError};

/// What each format looks like, for messages.
pub fn describe(f: Format) -> &'static str {
    match f {
        Format::PorcupineEtcd => {
            "Jepsen log lines like `INFO  jepsen.util - 0\t:invoke\t:read\tnil`"
        }
        Format::PorcupineKv | Format::Edn => {
            "EDN operations like `{:process 0, :type :invoke, :f :read, :value nil}`"
        }
        Format::Json => r#"JSON objects like `{"process": 0, "type": "invoke", "f": "read"}`"#,
    }
}

/// The line of the first record: the first that is not blank or a comment.
pub fn first_line(text: &str) -> usize {
    let mut r = Reader::new(text);
    r.ws();
    r.pos().line
}

/// The format of `text`, from its first record.
pub fn detect(text: &str) -> Result<Format, ParseError> {
    let mut r = Reader::new(text);
    r.ws();
    let pos = r.pos();
    let rest = &text[offset(text, pos)..];
    if r.at_end() {
        return Err(ParseError::line(
            pos.line,
            if text.trim().is_empty() {
                "the file is empty: no operation to check".to_string()
            } else {
                "the file holds only comments: no operation to check".to_string()
            },
        ));
    }
    let line: &str = rest.lines().next().unwrap_or("");
    if is_log_line(line) {
        return Ok(Format::PorcupineEtcd);
    }
    // JSON: `[` then `{` then a string key, or a `{` then a string key.
    fn after(s: &str, open: char) -> Option<&str> {
        s.strip_prefix(open).map(|t| t.trim_start())
    }
    fn json_obj(s: &str) -> bool {
        after(s, '{').is_some_and(|t| t.starts_with('"') || t.starts_with('}'))
    }
    if json_obj(rest) || after(rest, '[').is_some_and(json_obj) {
        return Ok(Format::Json);
    }
    // EDN: a map, a tagged record, a list or vector (of records, or a tuple record). The
    // reader then reads all of it, and names the place of anything it cannot read.
    if matches!(r.peek(), Some(b'{' | b'[' | b'(' | b'#')) {
        return Ok(Format::Edn);
    }
    let what = if line.contains("jepsen.util") {
        format!(
            "this looks like a Jepsen log line but not one Faultline reads; expected {}",
            describe(Format::PorcupineEtcd)
        )
    } else {
        format!(
            "the content fits no history format: it starts with `{}`; expected {}, {}, or {}",
            snippet(line),
            describe(Format::Edn),
            describe(Format::Json),
            describe(Format::PorcupineEtcd)
        )
    };
    Err(ParseError::at(pos, what))
}

/// A short excerpt of a line for messages.
pub fn snippet(line: &str) -> String {
    let t: String = line.trim().chars().take(40).collect();
    if t.len() < line.trim().len() {
        format!("{t}…")
    } else {
        t
    }
}

/// Whether a line is a Jepsen log line of `jepsen.util`.
pub fn is_log_line(line: &str) -> bool {
    let mut w = line.split_whitespace();
    matches!(
        (w.next(), w.next(), w.next()),
        (Some("INFO"), Some("jepsen.util"), Some("-"))
    )
}

/// The byte offset of `pos` (as the reader counts it) in `text`.
fn offset(text: &str, pos: Pos) -> usize {
    let mut line_start = 0;
    for _ in 1..pos.line {
        match text[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => break,
        }
    }
    (line_start + pos.col - 1).min(text.len())
}

/// Every record of an EDN history, with its position: a vector or list of records (the whole
/// file), or records one after another (one per line, as Jepsen's `history.edn` and
/// Porcupine's key-value logs write them). A record is a map, a tagged map
/// (`#jepsen.history.Op{...}`) or a `[process type f value]` tuple.
pub fn edn_records(
    text: &str,
    sink: &mut dyn FnMut(Pos, &Val) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let mut r = Reader::new(text);
    r.skip(0)?;
    if let Some(open @ (b'[' | b'(')) = r.peek() {
        // A collection of records, unless it is itself a tuple record `[0 :invoke :read nil]`.
        let mut probe = r.clone();
        probe.eat(open);
        probe.skip(1)?;
        let close = if open == b'[' { b']' } else { b')' };
        if matches!(probe.peek(), Some(b'{' | b'#' | b'[' | b'(')) || probe.peek() == Some(close) {
            let opened = r.pos();
            r = probe;
            loop {
                r.skip(1)?;
                if r.eat(close) {
                    break;
                }
                if r.at_end() {
                    return Err(ParseError::at(
                        r.pos(),
                        format!(
                            "unexpected end of input: the history's `{}` at line {}, column {} is not closed",
                            open as char, opened.line, opened.col
                        ),
                    ));
                }
                let pos = r.pos();
                let v = r.value(1)?;
                sink(pos, &v)?;
            }
            r.skip(0)?;
            if !r.at_end() {
                return Err(ParseError::at(
                    r.pos(),
                    "unexpected content after the end of the history (its closing bracket came earlier)",
                ));
            }
            return Ok(());
        }
    }
    loop {
        r.skip(0)?;
        if r.at_end() {
            return Ok(());
        }
        let pos = r.pos();
        let v = r.value(0)?;
        sink(pos, &v)?;
    }
}
