//! Finding a field of a scenario in its RON text, so that a semantic error (found on the
//! parsed value, which carries no positions) can still point at `file:line:column`.
//!
//! A path is written as the error names the field: `faults.schedule[2].fault`,
//! `network.links[0]`, `cluster.servers`. The walker reads just enough RON to step over
//! values (strings, raw strings, chars, comments, nested brackets); it runs only on text that
//! ron has already accepted, and gives up (returns `None`) on anything it does not expect.
//! Every step moves forward, so it ends on any input.

/// One step of a path: a named field, or the n-th element of a list or tuple.
#[derive(Debug, PartialEq, Eq)]
enum Seg<'a> {
    Field(&'a str),
    Index(usize),
}

fn parse_path(path: &str) -> Option<Vec<Seg<'_>>> {
    let mut segs = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => part.split_at(i),
            None => (part, ""),
        };
        if !name.is_empty() {
            segs.push(Seg::Field(name));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']')?;
            segs.push(Seg::Index(r[..close].parse().ok()?));
            rest = &r[close + 1..];
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(segs)
}

/// The 1-based line and column (in characters) where the value at `path` starts.
pub(crate) fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let segs = parse_path(path)?;
    let b = text.as_bytes();
    let mut pos = skip_attributes(b, 0)?;
    for seg in &segs {
        pos = step(b, pos, seg)?;
    }
    Some(line_col(text, pos))
}

/// 1-based line and character column of byte offset `pos`.
pub(crate) fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let before = &text[..floor_char_boundary(text, pos)];
    let line = before.bytes().filter(|&c| c == b'\n').count() + 1;
    let start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[start..].chars().count() + 1)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Skips `#![enable(...)]` attributes at the top of the file.
fn skip_attributes(b: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        pos = skip_ws(b, pos);
        if b.get(pos) == Some(&b'#') {
            let open = skip_ws(b, pos + 1);
            let open = if b.get(open) == Some(&b'!') {
                skip_ws(b, open + 1)
            } else {
                open
            };
            if b.get(open) != Some(&b'[') {
                return None;
            }
            pos = skip_group(b, open)?;
        } else {
            return Some(pos);
        }
    }
}

/// Moves from the start of a value to the start of the value `seg` names inside it. A
/// wrapper with one unnamed element (`Some(x)`, a newtype variant such as `Partition(Split(..))`)
/// is looked through when the step does not apply to the wrapper itself.
fn step(b: &[u8], mut pos: usize, seg: &Seg) -> Option<usize> {
    loop {
        pos = skip_ws(b, pos);
        let open = group_start(b, pos)?;
        let elems = elements(b, open)?;
        match seg {
            Seg::Field(name) => {
                if let Some(e) = elems.iter().find(|e| e.name == Some(name)) {
                    return Some(e.value);
                }
            }
            Seg::Index(i) => {
                let list = b[open] == b'[';
                if list || elems.len() > 1 {
                    return elems.get(*i).map(|e| e.value);
                }
            }
        }
        match elems.as_slice() {
            [only] if only.name.is_none() && only.value > pos => pos = only.value,
            _ => return None,
        }
    }
}

/// The opening bracket of the value at `pos`: `(`/`[`/`{` itself, or after an identifier.
fn group_start(b: &[u8], pos: usize) -> Option<usize> {
    match b.get(pos)? {
        b'(' | b'[' | b'{' => Some(pos),
        c if is_ident(*c) => {
            let mut p = pos;
            while b.get(p).is_some_and(|c| is_ident(*c)) {
                p += 1;
            }
            let p = skip_ws(b, p);
            (b.get(p) == Some(&b'(')).then_some(p)
        }
        _ => None,
    }
}

struct Elem<'a> {
    name: Option<&'a str>,
    value: usize,
}

/// The elements of the group opening at `open`: each one's field name (if `name: value`) and
/// where its value starts.
fn elements(b: &[u8], open: usize) -> Option<Vec<Elem<'_>>> {
    let close = match b[open] {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    };
    let mut out = Vec::new();
    let mut pos = open + 1;
    loop {
        pos = skip_ws(b, pos);
        match b.get(pos)? {
            c if *c == close => return Some(out),
            b',' => pos += 1,
            _ => {
                let mut p = pos;
                while b.get(p).is_some_and(|c| is_ident(*c)) {
                    p += 1;
                }
                let after = skip_ws(b, p);
                let named = p > pos && b.get(after) == Some(&b':');
                let (name, value) = if named {
                    let name = std::str::from_utf8(&b[pos..p]).ok()?;
                    let name = name.strip_prefix("r#").unwrap_or(name);
                    (Some(name), skip_ws(b, after + 1))
                } else {
                    (None, pos)
                };
                out.push(Elem { name, value });
                let end = skip_value(b, value)?;
                if end <= pos {
                    return None;
                }
                pos = end;
            }
        }
    }
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'+' | b'.' | b'#')
}

/// The end of the value starting at `pos`.
fn skip_value(b: &[u8], pos: usize) -> Option<usize> {
    match *b.get(pos)? {
        b'"' | b'\'' => skip_quoted(b, pos),
        b'(' | b'[' | b'{' => skip_group(b, pos),
        b'r' | b'b' if raw_string_at(b, pos).is_some() => raw_string_at(b, pos),
        b'b' if b.get(pos + 1) == Some(&b'"') => skip_quoted(b, pos + 1),
        c if is_ident(c) => {
            let mut p = pos;
            while b.get(p).is_some_and(|c| is_ident(*c)) {
                p += 1;
            }
            let q = skip_ws(b, p);
            if b.get(q) == Some(&b'(') {
                skip_group(b, q)
            } else {
                Some(p)
            }
        }
        _ => None,
    }
}

/// `r"..."`, `r#"..."#`, `br"..."`: the end, or `None` if no raw string starts here.
fn raw_string_at(b: &[u8], pos: usize) -> Option<usize> {
    let mut p = pos;
    if b.get(p) == Some(&b'b') {
        p += 1;
    }
    if b.get(p) != Some(&b'r') {
        return None;
    }
    p += 1;
    let hashes = b[p..].iter().take_while(|&&c| c == b'#').count();
    p += hashes;
    if b.get(p) != Some(&b'"') {
        return None;
    }
    p += 1;
    loop {
        let q = p + b.get(p..)?.iter().position(|&c| c == b'"')?;
        if b.get(q + 1..q + 1 + hashes)?.iter().all(|&c| c == b'#') {
            return Some(q + 1 + hashes);
        }
        p = q + 1;
    }
}

/// The end of the string or char literal opening with `quote` at `pos`.
fn skip_quoted(b: &[u8], pos: usize) -> Option<usize> {
    let quote = b[pos];
    let mut p = pos + 1;
    loop {
        match *b.get(p)? {
            b'\\' => p += 2,
            c if c == quote => return Some(p + 1),
            _ => p += 1,
        }
    }
}

/// The end of the bracketed group opening at `pos` (strings and comments inside skipped).
fn skip_group(b: &[u8], pos: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut p = pos;
    loop {
        p = skip_ws(b, p);
        match *b.get(p)? {
            b'(' | b'[' | b'{' => {
                depth += 1;
                p += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                p += 1;
                if depth == 0 {
                    return Some(p);
                }
            }
            b'"' | b'\'' => p = skip_quoted(b, p)?,
            b'r' | b'b' if raw_string_at(b, p).is_some() => p = raw_string_at(b, p)?,
            _ => p += 1,
        }
    }
}

/// Skips whitespace and comments (`// ...`, nested `/* ... */`).
fn skip_ws(b: &[u8], mut p: usize) -> usize {
    loop {
        match (b.get(p), b.get(p + 1)) {
            (Some(c), _) if c.is_ascii_whitespace() => p += 1,
            (Some(b'/'), Some(b'/')) => {
                while b.get(p).is_some_and(|&c| c != b'\n') {
                    p += 1;
                }
            }
            (Some(b'/'), Some(b'*')) => {
                let mut depth = 0usize;
                loop {
                    match (b.get(p), b.get(p + 1)) {
                        (None, _) => return p,
                        (Some(b'/'), Some(b'*')) => {
                            depth += 1;
                            p += 2;
                        }
                        (Some(b'*'), Some(b'/')) => {
                            depth -= 1;
                            p += 2;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => p += 1,
                    }
                }
            }
            _ => return p,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r##"#![enable(implicit_some)]
// a comment (with a bracket
Scenario(
    name: "x", /* block ( */
    protocol: Raft(election_timeout: ("150ms", "300ms")),
    network: (links: [(0, 1, (drop: 0.1)), (2, 2, (latency: Constant("1ms")))]),
    faults: (
        schedule: [(at: "1s", fault: Partition(Split([[0, 1], [1, 2]]))),
                   (at: r#"2s"#, fault: Partition(Bridge(left: [0], right: [0], bridge: 1)))],
        nemesis: Some(stop: "10s"),
    ),
)"##;

    /// The text at the located line and column, to the end of that line.
    fn at(path: &str) -> Option<&'static str> {
        let (l, c) = locate(TEXT, path)?;
        let line = TEXT.lines().nth(l - 1)?;
        let start = line.char_indices().nth(c - 1).map(|(i, _)| i)?;
        Some(&line[start..])
    }

    #[test]
    fn finds_fields_through_wrappers() {
        let starts = |p: &str, want: &str| {
            let got = at(p).unwrap_or_else(|| panic!("{p} not found"));
            assert!(got.starts_with(want), "{p}: {got}");
        };
        starts("name", "\"x\"");
        starts("protocol.election_timeout", "(\"150ms\"");
        starts("protocol.election_timeout[1]", "\"300ms\")");
        starts("network.links[1]", "(2, 2,");
        starts("network.links[1][1]", "2, (lat");
        starts("faults.schedule[0].fault", "Partition(Split");
        starts("faults.schedule[0].fault[1]", "[1, 2]]");
        starts("faults.schedule[0].fault[1][0]", "1, 2]]");
        starts("faults.schedule[1].fault.right", "[0], bridge");
        starts("faults.schedule[1].at", "r#\"2s");
        starts("faults.nemesis.stop", "\"10s\"");
        assert_eq!(at("faults.schedule[5]"), None);
        assert_eq!(at("nothing.here"), None);
    }

    #[test]
    fn never_panics_on_cut_text() {
        for end in 0..TEXT.len() {
            if TEXT.is_char_boundary(end) {
                let _ = locate(&TEXT[..end], "faults.schedule[1].fault.right");
            }
        }
    }
}
