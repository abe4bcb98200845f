//! A small, real EDN reader (https://github.com/edn-format/edn), enough for every history
//! Jepsen and Knossos write: `nil`, booleans, integers (`N` suffix, arbitrary size), floats
//! (`M` suffix), ratios, strings with escapes, characters, keywords and symbols (namespaced
//! too), lists, vectors, maps, sets, tagged elements (`#jepsen.history.Op{...}`, `#inst "..."`),
//! `#_` discards, `;` comments, commas as whitespace. Every value knows where it starts (line
//! and column, 1-based), so an error names the exact place.
//!
//! Linear time: each byte is looked at a bounded number of times; nesting is bounded by
//! `MAX_DEPTH`, so no input can exhaust the stack.

use super::ParseError;

/// Deepest nesting read (a history needs about 4).
pub const MAX_DEPTH: usize = 200;

/// A position in the text, 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// An EDN value.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Nil,
    Bool(bool),
    Int(i64),
    /// A number that is not an `i64`: big integers, floats, decimals, ratios (as written).
    Num(String),
    Str(String),
    Char(char),
    /// Without the leading colon: `:jepsen/op` is `Kw("jepsen/op")`.
    Kw(String),
    Sym(String),
    List(Vec<Val>),
    Vec(Vec<Val>),
    Set(Vec<Val>),
    Map(Vec<(Val, Val)>),
    Tagged(String, Box<Val>),
}

impl Val {
    /// The value of `k` in a map (keyword `:k` or string `"k"`), looking through a tag.
    pub fn get(&self, k: &str) -> Option<&Val> {
        match self {
            Val::Map(m) => m
                .iter()
                .find(|(key, _)| matches!(key, Val::Kw(s) | Val::Str(s) if s == k))
                .map(|(_, v)| v),
            Val::Tagged(_, v) => v.get(k),
            _ => None,
        }
    }
    /// A keyword's, string's or symbol's name.
    pub fn name(&self) -> Option<&str> {
        match self {
            Val::Kw(s) | Val::Str(s) | Val::Sym(s) => Some(s),
            _ => None,
        }
    }
    /// Elements of a vector or list.
    pub fn seq(&self) -> Option<&[Val]> {
        match self {
            Val::Vec(v) | Val::List(v) => Some(v),
            _ => None,
        }
    }
    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Val::Nil => "nil",
            Val::Bool(_) => "a boolean",
            Val::Int(_) | Val::Num(_) => "a number",
            Val::Str(_) => "a string",
            Val::Char(_) => "a character",
            Val::Kw(_) => "a keyword",
            Val::Sym(_) => "a symbol",
            Val::List(_) => "a list",
            Val::Vec(_) => "a vector",
            Val::Set(_) => "a set",
            Val::Map(_) => "a map",
            Val::Tagged(..) => "a tagged element",
        }
    }
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seq = |f: &mut std::fmt::Formatter<'_>, open: &str, v: &[Val], close: &str| {
            f.write_str(open)?;
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{x}")?;
            }
            f.write_str(close)
        };
        match self {
            Val::Nil => f.write_str("nil"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Int(i) => write!(f, "{i}"),
            Val::Num(s) | Val::Sym(s) => f.write_str(s),
            Val::Str(s) => write!(f, "{s:?}"),
            Val::Char(c) => write!(f, "\\{c}"),
            Val::Kw(s) => write!(f, ":{s}"),
            Val::List(v) => seq(f, "(", v, ")"),
            Val::Vec(v) => seq(f, "[", v, "]"),
            Val::Set(v) => seq(f, "#{", v, "}"),
            Val::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} {v}")?;
                }
                f.write_str("}")
            }
            Val::Tagged(t, v) => write!(f, "#{t} {v}"),
        }
    }
}

/// Bytes that end a token.
fn delimiter(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\r' | b'\n' | b',' | b'[' | b']' | b'(' | b')' | b'{' | b'}' | b'"' | b';'
    ) || b == 0x0c
}

/// The reader: a cursor over the text that keeps its line and column.
///
/// Over a window of a longer input (`streaming`), reaching the window's end where the input
/// may go on is not an error of the text: the reader stops, marks itself `starved`, and the
/// caller reads more and tries again from the same place (see `stream.rs`).
#[derive(Clone)]
pub struct Reader<'a> {
    s: &'a [u8],
    i: usize,
    line: usize,
    line_start: usize,
    /// Added to columns on the first line (for a reader over part of a line).
    col0: usize,
    /// Whether `s` starts the file (a byte-order mark is skipped only there).
    file_start: bool,
    /// Whether more input may follow `s`.
    more: bool,
    /// Set when the reader needed bytes past the end of `s` while `more` holds.
    starved: bool,
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Self {
        Reader {
            s: text.as_bytes(),
            i: 0,
            line: 1,
            line_start: 0,
            col0: 0,
            file_start: true,
            more: false,
            starved: false,
        }
    }
    /// A reader over `text` that starts at `pos` of a larger text.
    pub fn at(text: &'a str, pos: Pos) -> Self {
        Self::window(text.as_bytes(), pos, false)
    }
    /// A reader over `s`, a window of the input starting at `pos`, after which more input
    /// follows when `more` (then running out of bytes starves the reader instead of failing).
    /// `s` must be valid UTF-8 (it may end inside a character only when `more`).
    pub fn window(s: &'a [u8], pos: Pos, more: bool) -> Self {
        Reader {
            s,
            i: 0,
            line: pos.line,
            line_start: 0,
            col0: pos.col - 1,
            file_start: pos.line == 1 && pos.col == 1,
            more,
            starved: false,
        }
    }
    /// Whether the reader stopped for want of input (see `window`).
    pub fn starved(&self) -> bool {
        self.starved
    }
    /// Bytes read so far.
    pub fn offset(&self) -> usize {
        self.i
    }
    /// Marks the reader starved (only when more input may come) and returns the error
    /// `message` otherwise: the end of the window is the end of the input.
    fn end<T>(&mut self, pos: Pos, message: impl Into<String>) -> Result<T, ParseError> {
        if self.more {
            self.starved = true;
        }
        self.err(pos, message)
    }
    /// The next byte, or `None` at the end of the input; starves at the end of a window.
    pub fn peek_more(&mut self) -> Result<Option<u8>, ParseError> {
        match self.peek() {
            None if self.more => self.end(self.pos(), "more input needed"),
            b => Ok(b),
        }
    }
    pub fn pos(&self) -> Pos {
        let col = self.i - self.line_start + 1;
        Pos {
            line: self.line,
            col: if self.line_start == 0 && self.col0 > 0 {
                col + self.col0
            } else {
                col
            },
        }
    }
    fn err<T>(&self, pos: Pos, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError::at(pos, message))
    }
    pub fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn peek_at(&self, k: usize) -> Option<u8> {
        self.s.get(self.i + k).copied()
    }
    fn bump(&mut self) {
        if self.s[self.i] == b'\n' {
            self.line += 1;
            self.line_start = self.i + 1;
            self.col0 = 0;
        }
        self.i += 1;
    }
    /// Skips whitespace, commas and comments (not `#_` discards: see `skip`).
    pub fn ws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' | b',' | 0x0c => self.bump(),
                b';' => {
                    while self.peek().is_some_and(|b| b != b'\n') {
                        self.i += 1;
                    }
                    if self.at_end() && self.more {
                        // The comment may go on in the next window.
                        self.starved = true;
                        return;
                    }
                }
                // A byte-order mark at the very start.
                0xef if self.i == 0
                    && self.file_start
                    && self.s.starts_with(&[0xef, 0xbb, 0xbf]) =>
                {
                    self.i += 3
                }
                _ => break,
            }
        }
    }
    /// Skips whitespace, comments and `#_` discarded forms.
    pub fn skip(&mut self, depth: usize) -> Result<(), ParseError> {
        loop {
            self.ws();
            if self.starved {
                return self.err(self.pos(), "more input needed");
            }
            if self.peek() == Some(b'#') && self.peek_at(1).is_none() && self.more {
                return self.end(self.pos(), "more input needed");
            }
            if self.peek() == Some(b'#') && self.peek_at(1) == Some(b'_') {
                // A discard nests its form (`#_ #_ a b`): bounded like any nesting, before
                // the recursion, or a long run of `#_` exhausts the stack.
                if depth >= MAX_DEPTH {
                    let pos = self.pos();
                    return self.err(pos, format!("nesting deeper than {MAX_DEPTH} levels"));
                }
                self.i += 2;
                self.value(depth + 1)?;
            } else {
                return Ok(());
            }
        }
    }
    pub fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }
    /// Consumes the byte `b` if it is next.
    pub fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.bump();
            true
        } else {
            false
        }
    }
    /// The next value, after whitespace, comments and discards.
    pub fn value(&mut self, depth: usize) -> Result<Val, ParseError> {
        self.skip(depth)?;
        let pos = self.pos();
        if depth > MAX_DEPTH {
            return self.err(pos, format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        let Some(c) = self.peek() else {
            return self.end(pos, "unexpected end of input, expected a value");
        };
        match c {
            b'[' => {
                self.bump();
                Ok(Val::Vec(self.seq(b']', pos, depth)?))
            }
            b'(' => {
                self.bump();
                Ok(Val::List(self.seq(b')', pos, depth)?))
            }
            b'{' => {
                self.bump();
                self.map(pos, depth)
            }
            b'"' => {
                self.bump();
                self.string(pos)
            }
            b'\\' => {
                self.bump();
                self.character(pos)
            }
            b'#' => {
                self.bump();
                match self.peek_more()? {
                    Some(b'{') => {
                        self.bump();
                        Ok(Val::Set(self.seq(b'}', pos, depth)?))
                    }
                    Some(b'#') => {
                        self.bump();
                        let t = self.token()?;
                        match t {
                            "Inf" | "-Inf" | "NaN" => Ok(Val::Num(format!("##{t}"))),
                            _ => self.err(pos, format!("unknown symbolic value `##{t}`")),
                        }
                    }
                    Some(b) if b.is_ascii_alphabetic() => {
                        let tag = self.token()?.to_string();
                        let v = self.value(depth + 1)?;
                        Ok(Val::Tagged(tag, Box::new(v)))
                    }
                    _ => self.err(
                        pos,
                        "`#` must start a set `#{`, a discard `#_` or a tag like `#inst`",
                    ),
                }
            }
            b']' | b')' | b'}' => self.err(pos, format!("unexpected `{}`", c as char)),
            _ => self.atom(pos),
        }
    }
    /// The bytes up to the next delimiter (starves when the window ends first: the token may
    /// go on).
    fn token(&mut self) -> Result<&'a str, ParseError> {
        let start = self.i;
        while self.peek().is_some_and(|b| !delimiter(b)) {
            self.i += 1;
        }
        if self.at_end() && self.more {
            return self.end(self.pos(), "more input needed");
        }
        Ok(std::str::from_utf8(&self.s[start..self.i]).unwrap_or("\u{fffd}"))
    }
    fn atom(&mut self, pos: Pos) -> Result<Val, ParseError> {
        let t = self.token()?;
        if t.is_empty() {
            let c = self.peek().unwrap_or(b'?');
            return self.err(pos, format!("unexpected character `{}`", c as char));
        }
        if !std::str::from_utf8(t.as_bytes()).is_ok_and(|_| !t.contains('\u{fffd}')) {
            return self.err(pos, "invalid UTF-8");
        }
        let b = t.as_bytes();
        let numeric = b[0].is_ascii_digit()
            || (matches!(b[0], b'+' | b'-') && b.len() > 1 && b[1].is_ascii_digit());
        if numeric {
            return number(t).ok_or_else(|| ParseError::at(pos, format!("`{t}` is not a number")));
        }
        Ok(match t {
            "nil" => Val::Nil,
            "true" => Val::Bool(true),
            "false" => Val::Bool(false),
            _ if b[0] == b':' => {
                let name = &t[1..];
                if name.is_empty() || name.starts_with(':') || name.ends_with('/') {
                    return self.err(pos, format!("`{t}` is not a valid keyword"));
                }
                Val::Kw(name.to_string())
            }
            _ if symbol_ok(t) => Val::Sym(t.to_string()),
            _ => return self.err(pos, format!("`{t}` is not a valid EDN symbol or value")),
        })
    }
    fn seq(&mut self, close: u8, open: Pos, depth: usize) -> Result<Vec<Val>, ParseError> {
        let mut v = Vec::new();
        loop {
            self.skip(depth)?;
            match self.peek() {
                None => {
                    return self.end(
                        self.pos(),
                        format!(
                            "unexpected end of input: `{}` opened at line {}, column {} is not closed",
                            opening(close),
                            open.line,
                            open.col
                        ),
                    );
                }
                Some(c) if c == close => {
                    self.bump();
                    return Ok(v);
                }
                Some(_) => v.push(self.value(depth + 1)?),
            }
        }
    }
    fn map(&mut self, pos: Pos, depth: usize) -> Result<Val, ParseError> {
        let items = self.seq(b'}', pos, depth)?;
        if !items.len().is_multiple_of(2) {
            return self.err(
                pos,
                format!(
                    "a map needs an even number of forms (keys and values), this one has {}",
                    items.len()
                ),
            );
        }
        let mut m = Vec::with_capacity(items.len() / 2);
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            m.push((k, v));
        }
        Ok(Val::Map(m))
    }
    fn string(&mut self, pos: Pos) -> Result<Val, ParseError> {
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return self.end(pos, "unterminated string");
            };
            match b {
                b'"' => {
                    self.bump();
                    break;
                }
                b'\\' => {
                    let epos = self.pos();
                    self.bump();
                    let Some(e) = self.peek() else {
                        return self.end(pos, "unterminated string");
                    };
                    self.bump();
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'"' | b'\\' | b'\'' => out.push(e),
                        b'u' => {
                            if self.more && self.s.len() < self.i + 4 {
                                return self.end(epos, "more input needed");
                            }
                            let c = self.hex4().and_then(char::from_u32).ok_or_else(|| {
                                ParseError::at(epos, "`\\u` needs four hex digits")
                            })?;
                            let mut buf = [0; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => {
                            return self.err(
                                epos,
                                format!("unknown escape `\\{}` in a string", e as char),
                            );
                        }
                    }
                }
                _ => {
                    out.push(b);
                    self.bump();
                }
            }
        }
        String::from_utf8(out)
            .map(Val::Str)
            .map_err(|_| ParseError::at(pos, "invalid UTF-8 in a string"))
    }
    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.i..self.i + 4)?;
        let v = u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
        self.i += 4;
        Some(v)
    }
    fn character(&mut self, pos: Pos) -> Result<Val, ParseError> {
        // One character, then a name if more token bytes follow (`\newline`, `\u0041`).
        // Decode only the first character (validating the rest of the file here would make
        // a file of characters quadratic).
        let n = match self.peek_more()? {
            Some(0..=0x7f) => 1,
            Some(0xc0..=0xdf) => 2,
            Some(0xe0..=0xef) => 3,
            _ => 4,
        };
        if self.more && self.i + n > self.s.len() {
            return self.end(pos, "more input needed");
        }
        let head = &self.s[self.i..(self.i + n).min(self.s.len())];
        let Some(first) = std::str::from_utf8(head)
            .ok()
            .and_then(|h| h.chars().next())
        else {
            return self.err(pos, "a character needs a character after `\\`");
        };
        let start = self.i;
        self.i += first.len_utf8();
        while self.peek().is_some_and(|b| !delimiter(b)) {
            self.i += 1;
        }
        if self.at_end() && self.more {
            return self.end(self.pos(), "more input needed");
        }
        let t = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
        let c = match t {
            "newline" => '\n',
            "space" => ' ',
            "tab" => '\t',
            "return" => '\r',
            "backspace" => '\u{8}',
            "formfeed" => '\u{c}',
            _ if t.len() == first.len_utf8() => first,
            _ if t.len() == 5 && t.starts_with('u') => u32::from_str_radix(&t[1..], 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| ParseError::at(pos, format!("`\\{t}` is not a character")))?,
            _ => return self.err(pos, format!("`\\{t}` is not a character")),
        };
        Ok(Val::Char(c))
    }
}

fn opening(close: u8) -> char {
    match close {
        b']' => '[',
        b')' => '(',
        _ => '{',
    }
}

fn symbol_ok(t: &str) -> bool {
    let b = t.as_bytes();
    !b[0].is_ascii_digit()
        && !matches!(b[0], b'#' | b'\'' | b'\\' | b'~' | b'@' | b'^' | b'`')
        && t.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b".*+!-_?$%&=<>/:#'".contains(&c) || c >= 0x80)
}

/// An EDN number: integers (`N` suffix allowed), floats (`M` suffix allowed), ratios.
fn number(t: &str) -> Option<Val> {
    let (sign, digits) = match t.as_bytes()[0] {
        b'+' | b'-' => (&t[..1], &t[1..]),
        _ => ("", t),
    };
    let body = digits.strip_suffix('N').unwrap_or(digits);
    if !body.is_empty() && body.bytes().all(|c| c.is_ascii_digit()) {
        if body.len() > 1 && body.starts_with('0') {
            return None; // EDN has no octal
        }
        return Some(match format!("{sign}{body}").parse::<i64>() {
            Ok(n) => Val::Int(n),
            Err(_) => Val::Num(t.to_string()),
        });
    }
    if let Some((a, b)) = digits.split_once('/') {
        let ok = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
        return (ok(a) && ok(b) && b.bytes().any(|c| c != b'0')).then(|| Val::Num(t.to_string()));
    }
    let f = digits.strip_suffix('M').unwrap_or(digits);
    let valid = f.bytes().next().is_some_and(|c| c.is_ascii_digit())
        && f.bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        && f.parse::<f64>().is_ok();
    valid.then(|| Val::Num(t.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Val {
        Reader::new(s).value(0).unwrap()
    }

    #[test]
    fn reads_every_kind_of_value() {
        let v = read(
            r#"{:a/b 1N, :c [1.5 2M 3/4 -7 +8], "s" "x\"y\n\u0041", :ch [\a \newline \u0041],
               :set #{1 2}, :l (nil true false), :sym foo.bar/baz, #_ :gone #_ 1 :t #inst "2020"}"#,
        );
        assert_eq!(v.get("a/b"), Some(&Val::Int(1)));
        assert_eq!(v.get("s"), Some(&Val::Str("x\"y\nA".into())));
        assert_eq!(
            v.get("ch"),
            Some(&Val::Vec(vec![
                Val::Char('a'),
                Val::Char('\n'),
                Val::Char('A')
            ]))
        );
        assert_eq!(v.get("sym"), Some(&Val::Sym("foo.bar/baz".into())));
        assert_eq!(
            v.get("t"),
            Some(&Val::Tagged(
                "inst".into(),
                Box::new(Val::Str("2020".into()))
            ))
        );
        assert!(v.get("gone").is_none());
        assert_eq!(
            v.get("c"),
            Some(&Val::Vec(vec![
                Val::Num("1.5".into()),
                Val::Num("2M".into()),
                Val::Num("3/4".into()),
                Val::Int(-7),
                Val::Int(8)
            ]))
        );
    }

    #[test]
    fn errors_are_located() {
        let e = Reader::new("[1 2\n  {:a}]").value(0).unwrap_err();
        assert_eq!((e.line, e.col), (2, 3), "{e}");
        let e = Reader::new("\n\n  \"abc").value(0).unwrap_err();
        assert_eq!((e.line, e.col), (3, 3), "{e}");
        let e = Reader::new("[1 2").value(0).unwrap_err();
        assert!(e.message.contains("not closed"), "{e}");
        let e = Reader::new("{:a 08}").value(0).unwrap_err();
        assert!(e.message.contains("`08`"), "{e}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let s = "[".repeat(100_000);
        assert!(Reader::new(&s).value(0).is_err());
    }
}
