//! Which format a file is in, decided from its first record after blank space and comments,
//! never from its name; and the EDN layouts of a history. Content that fits no format is an
//! error that says what was found and what was expected.

use std::io::Read;

use super::edn::{Pos, Reader, Val};
use super::stream::Feed;
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

/// The format of the input in `feed`, from its first record: the window grows until it holds
/// the first record's line and some of what follows (or the whole input), then `detect`
/// decides on it. Nothing is consumed.
/// The outer error is a failure to read (not UTF-8, I/O); the inner one, content that fits
/// no format.
pub fn detect_feed<R: Read>(
    feed: &mut Feed<R>,
) -> Result<Result<(Format, usize), ParseError>, ParseError> {
    /// Bytes after the first record's start that detection may look at.
    const LOOK: usize = 4096;
    feed.run(false, |w, pos, more| {
        // The window is UTF-8 up to a character cut by its end.
        let text = match std::str::from_utf8(w) {
            Ok(t) => t,
            Err(e) => std::str::from_utf8(&w[..e.valid_up_to()]).unwrap_or(""),
        };
        let mut r = Reader::window(text.as_bytes(), pos, more);
        r.ws();
        if more && (r.starved() || text.len() - r.offset() < LOOK) {
            return Ok(None);
        }
        Ok(Some((detect(text).map(|f| (f, first_line(text))), 0)))
    })
}

/// Every record of an EDN history, with its position: a vector or list of records (the whole
/// file), or records one after another (one per line, as Jepsen's `history.edn` and
/// Porcupine's key-value logs write them). A record is a map, a tagged map
/// (`#jepsen.history.Op{...}`) or a `[process type f value]` tuple. Read a record at a time.
pub fn edn_records<R: Read>(
    feed: &mut Feed<R>,
    sink: &mut dyn FnMut(Pos, &Val) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    feed.edn(true, |r| r.skip(0))?;
    let head = feed.edn(false, |r| r.peek_more())?;
    if let Some(open @ (b'[' | b'(')) = head {
        // A collection of records, unless it is itself a tuple record `[0 :invoke :read nil]`.
        let close = if open == b'[' { b']' } else { b')' };
        let collection = feed.edn(false, |r| {
            r.eat(open);
            r.skip(1)?;
            let next = r.peek_more()?;
            Ok(matches!(next, Some(b'{' | b'#' | b'[' | b'(')) || next == Some(close))
        })?;
        if collection {
            let opened = feed.pos();
            feed.edn(true, |r| Ok(r.eat(open)))?;
            loop {
                feed.edn(true, |r| r.skip(1))?;
                match feed.edn(false, |r| r.peek_more())? {
                    Some(c) if c == close => {
                        feed.edn(true, |r| Ok(r.eat(close)))?;
                        break;
                    }
                    None => {
                        return Err(ParseError::at(
                            feed.pos(),
                            format!(
                                "unexpected end of input: the history's `{}` at line {}, column {} is not closed",
                                open as char, opened.line, opened.col
                            ),
                        ));
                    }
                    Some(_) => {}
                }
                let (pos, v) = feed.edn(true, |r| Ok((r.pos(), r.value(1)?)))?;
                sink(pos, &v)?;
            }
            feed.edn(true, |r| r.skip(0))?;
            if feed.edn(false, |r| r.peek_more())?.is_some() {
                return Err(ParseError::at(
                    feed.pos(),
                    "unexpected content after the end of the history (its closing bracket came earlier)",
                ));
            }
            return Ok(());
        }
    }
    loop {
        feed.edn(true, |r| r.skip(0))?;
        if feed.edn(false, |r| r.peek_more())?.is_none() {
            return Ok(());
        }
        let (pos, v) = feed.edn(true, |r| Ok((r.pos(), r.value(0)?)))?;
        sink(pos, &v)?;
    }
}
