//! JSON histories: an array of objects, or one object after another (JSON Lines), each with
//! the fields of the EDN maps (`process`, `type`, `f`, `value`, optionally `key`). Each record
//! keeps its position, so errors name the line and column.

use serde_json::Value;

use super::ParseError;
use super::edn::{Pos, Val};

/// Line and column of byte `at`.
fn pos_of(text: &str, at: usize) -> Pos {
    let at = at.min(text.len());
    let before = &text.as_bytes()[..at];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    Pos {
        line,
        col: at - start + 1,
    }
}

/// Positions of increasing byte offsets, found in one pass over the text.
struct Cursor<'a> {
    text: &'a [u8],
    at: usize,
    pos: Pos,
}

impl Cursor<'_> {
    fn to(&mut self, at: usize) -> Pos {
        let at = at.min(self.text.len());
        for &b in &self.text[self.at..at] {
            if b == b'\n' {
                self.pos.line += 1;
                self.pos.col = 1;
            } else {
                self.pos.col += 1;
            }
        }
        self.at = self.at.max(at);
        self.pos
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// A serde_json error at `base` in `text`, located in the whole text.
fn json_err(text: &str, base: usize, e: &serde_json::Error) -> ParseError {
    // serde_json counts lines and columns from `base`.
    let mut p = pos_of(text, base);
    if e.line() > 1 {
        p.line += e.line() - 1;
        p.col = e.column();
    } else {
        p.col += e.column().saturating_sub(1);
    }
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    ParseError::at(p, format!("invalid JSON: {msg}"))
}

/// One value starting at byte `i`: the value and the byte after it.
fn one(text: &str, i: usize) -> Result<(Value, usize), ParseError> {
    let mut de = serde_json::Deserializer::from_str(&text[i..]).into_iter::<Value>();
    match de.next() {
        Some(Ok(v)) => Ok((v, i + de.byte_offset())),
        Some(Err(e)) => Err(json_err(text, i, &e)),
        None => Err(ParseError::at(pos_of(text, i), "expected a JSON value")),
    }
}

pub fn read(
    text: &str,
    sink: &mut dyn FnMut(Pos, &Val) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let b = text.as_bytes();
    let mut cur = Cursor {
        text: b,
        at: 0,
        pos: Pos { line: 1, col: 1 },
    };
    let mut i = skip_ws(b, if text.starts_with('\u{feff}') { 3 } else { 0 });
    if b.get(i) == Some(&b'[') {
        let open = pos_of(text, i);
        i = skip_ws(b, i + 1);
        if b.get(i) == Some(&b']') {
            i += 1;
        } else {
            loop {
                let at = cur.to(i);
                let (v, next) = one(text, i)?;
                sink(at, &from_json(&v))?;
                i = skip_ws(b, next);
                match b.get(i) {
                    Some(b',') => i = skip_ws(b, i + 1),
                    Some(b']') => {
                        i += 1;
                        break;
                    }
                    Some(_) => {
                        return Err(ParseError::at(
                            pos_of(text, i),
                            "expected `,` or `]` after an array element",
                        ));
                    }
                    None => {
                        return Err(ParseError::at(
                            pos_of(text, i),
                            format!(
                                "unexpected end of input: the `[` at line {}, column {} is not closed",
                                open.line, open.col
                            ),
                        ));
                    }
                }
            }
        }
        i = skip_ws(b, i);
        if i < b.len() {
            return Err(ParseError::at(
                pos_of(text, i),
                "unexpected content after the end of the JSON array",
            ));
        }
        return Ok(());
    }
    while i < b.len() {
        let at = cur.to(i);
        let (v, next) = one(text, i)?;
        sink(at, &from_json(&v))?;
        i = skip_ws(b, next);
    }
    Ok(())
}

fn from_json(v: &Value) -> Val {
    match v {
        Value::Null => Val::Nil,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => n
            .as_i64()
            .map(Val::Int)
            .unwrap_or_else(|| Val::Num(n.to_string())),
        Value::String(s) => Val::Str(s.clone()),
        Value::Array(a) => Val::Vec(a.iter().map(from_json).collect()),
        Value::Object(o) => Val::Map(
            o.iter()
                .map(|(k, v)| (Val::Str(k.clone()), from_json(v)))
                .collect(),
        ),
    }
}
