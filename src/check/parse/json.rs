//! JSON histories: an array of objects, or one object after another (JSON Lines), each with
//! the fields of the EDN maps (`process`, `type`, `f`, `value`, optionally `key`). Read a
//! record at a time from a `Feed`; each record keeps its position, so errors name the line and
//! column.

use std::io::Read;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::ParseError;
use super::edn::{Pos, Val};
use super::stream::Feed;

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// A serde_json error in a value that starts at `base`.
fn json_err(base: Pos, e: &serde_json::Error) -> ParseError {
    // serde_json counts lines and columns from the value's start.
    let mut p = base;
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

/// Skips blank space (and a byte-order mark at the start); true if input remains.
fn blank<R: Read>(feed: &mut Feed<R>) -> Result<bool, ParseError> {
    feed.run(true, |w, pos, more| {
        let from = if pos == (Pos { line: 1, col: 1 }) && w.starts_with(&[0xef, 0xbb, 0xbf]) {
            3
        } else {
            0
        };
        let i = skip_ws(w, from);
        if i == w.len() && more {
            return Ok(None);
        }
        Ok(Some((i < w.len(), i)))
    })
}

/// The next byte, not consumed (`None` at the end of the input).
fn peek<R: Read>(feed: &mut Feed<R>) -> Result<Option<u8>, ParseError> {
    feed.run(false, |w, _, more| match w.first() {
        None if more => Ok(None),
        b => Ok(Some((b.copied(), 0))),
    })
}

/// One JSON value, with its position.
fn one<R: Read>(feed: &mut Feed<R>) -> Result<(Pos, Val), ParseError> {
    feed.run(true, |w, pos, more| {
        let mut de = serde_json::Deserializer::from_slice(w).into_iter::<Json>();
        match de.next() {
            // A value that ends where the window ends may go on (a number) when more follows.
            Some(Ok(_)) if more && de.byte_offset() == w.len() => Ok(None),
            Some(Ok(v)) => Ok(Some(((pos, v.0), de.byte_offset()))),
            Some(Err(e)) if more && e.is_eof() => Ok(None),
            Some(Err(e)) => Err(json_err(pos, &e)),
            None if more => Ok(None),
            None => Err(ParseError::at(pos, "expected a JSON value")),
        }
    })
}

pub fn read<R: Read>(
    feed: &mut Feed<R>,
    sink: &mut dyn FnMut(Pos, &Val) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    blank(feed)?;
    if peek(feed)? == Some(b'[') {
        let open = feed.pos();
        feed.run(true, |_, _, _| Ok(Some(((), 1))))?;
        blank(feed)?;
        if peek(feed)? == Some(b']') {
            feed.run(true, |_, _, _| Ok(Some(((), 1))))?;
        } else {
            loop {
                let (at, v) = one(feed)?;
                sink(at, &v)?;
                blank(feed)?;
                let at = feed.pos();
                match peek(feed)? {
                    Some(b',') => {
                        feed.run(true, |_, _, _| Ok(Some(((), 1))))?;
                        blank(feed)?;
                    }
                    Some(b']') => {
                        feed.run(true, |_, _, _| Ok(Some(((), 1))))?;
                        break;
                    }
                    Some(_) => {
                        return Err(ParseError::at(
                            at,
                            "expected `,` or `]` after an array element",
                        ));
                    }
                    None => {
                        return Err(ParseError::at(
                            at,
                            format!(
                                "unexpected end of input: the `[` at line {}, column {} is not closed",
                                open.line, open.col
                            ),
                        ));
                    }
                }
            }
        }
        if blank(feed)? {
            return Err(ParseError::at(
                feed.pos(),
                "unexpected content after the end of the JSON array",
            ));
        }
        return Ok(());
    }
    while blank(feed)? {
        let (at, v) = one(feed)?;
        sink(at, &v)?;
    }
    Ok(())
}

/// A JSON value read straight into a [`Val`], every member of an object kept in file order
/// (a `serde_json::Value` keeps one of two members with the same name and drops the other,
/// which would let a record say `"value"` twice and be read as saying it once).
struct Json(Val);

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor).map(Json)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Val;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Val, E> {
        Ok(Val::Nil)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Val, E> {
        Ok(Val::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Val, E> {
        Ok(Val::Int(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Val, E> {
        Ok(i64::try_from(u).map_or_else(|_| Val::Num(u.to_string()), Val::Int))
    }
    fn visit_f64<E>(self, x: f64) -> Result<Val, E> {
        // Written as serde_json writes it (it never reads a number that is not finite).
        Ok(Val::Num(
            serde_json::Number::from_f64(x).map_or_else(|| x.to_string(), |n| n.to_string()),
        ))
    }
    fn visit_str<E>(self, s: &str) -> Result<Val, E> {
        Ok(Val::Str(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Val, E> {
        Ok(Val::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Val, A::Error> {
        let mut v = Vec::new();
        while let Some(Json(x)) = a.next_element()? {
            v.push(x);
        }
        Ok(Val::Vec(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Val, A::Error> {
        let mut m = Vec::new();
        while let Some((k, Json(v))) = a.next_entry::<String, Json>()? {
            m.push((Val::Str(k), v));
        }
        Ok(Val::Map(m))
    }
}
