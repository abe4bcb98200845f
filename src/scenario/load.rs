//! Loading a scenario: RON syntax errors located at file:line:column with the source line
//! underlined, then semantic validation (`validate.rs`) whose errors name the field at fault,
//! located in the file by `locate.rs`. What is echoed back is cut to a readable width, so a
//! one-line 5 MB file gives a one-screen error. Nothing here panics on any input, and no input
//! is read past [`MAX_FILE_BYTES`].

#![allow(clippy::result_large_err)] // errors are rare and carry the source line for display

use std::io::Read;
use std::path::Path;

use super::locate::{line_col, locate};
use super::validate::{clip, quote, validate};
use super::{Scenario, parse};

/// The largest scenario file read (scenarios are a few KB; this stops `/dev/zero`).
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
const BINARY: &str = "a binary file (it holds a NUL byte); a scenario is a RON text file";
/// How much of the offending line an error shows, around the column at fault.
pub const EXCERPT_WIDTH: usize = 120;
/// The longest message text an error shows (messages can quote what the user wrote).
const MAX_MESSAGE: usize = 400;

/// A scenario that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// File name (or `<embedded>`).
    pub file: String,
    /// 1-based line and column (in characters), where known.
    pub line: Option<usize>,
    pub col: Option<usize>,
    /// The field at fault, for semantic errors (`cluster.servers`).
    pub field: Option<String>,
    pub message: String,
    /// The source line, for display (cut to [`EXCERPT_WIDTH`] on display).
    pub source_line: Option<String>,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.col {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{}", clip(&self.message, MAX_MESSAGE))?;
        if let (Some(src), Some(l)) = (&self.source_line, self.line) {
            let (shown, caret) = excerpt(src, self.col, EXCERPT_WIDTH);
            let gutter = format!("{l} | ");
            write!(f, "\n{gutter}{shown}")?;
            if let Some(c) = caret {
                write!(f, "\n{}{}^", " ".repeat(gutter.len()), " ".repeat(c))?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// At most `width` characters of `line` around column `col` (1-based), with `…` where it was
/// cut, control characters and tabs shown as single spaces or `�`; and the caret's offset.
fn excerpt(line: &str, col: Option<usize>, width: usize) -> (String, Option<usize>) {
    let chars: Vec<char> = line
        .chars()
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect();
    let at = col.map(|c| c.saturating_sub(1).min(chars.len()));
    if chars.len() <= width {
        return (chars.into_iter().collect(), at);
    }
    let centre = at.unwrap_or(0);
    let start = centre
        .saturating_sub(width / 2)
        .min(chars.len().saturating_sub(width));
    let end = (start + width).min(chars.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(&chars[start..end]);
    if end < chars.len() {
        out.push('…');
    }
    (out, at.map(|a| a - start + usize::from(start > 0)))
}

/// Reads and validates a scenario file.
pub fn load_file(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let plain = |message: String| ScenarioError {
        file: file.clone(),
        line: None,
        col: None,
        field: None,
        message,
        source_line: None,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| plain(format!("cannot read the scenario: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(plain(format!(
            "the file is larger than {} MB; a scenario is a small RON text file",
            MAX_FILE_BYTES / (1024 * 1024)
        )));
    }
    if let Some(nul) = bytes.iter().position(|&b| b == 0) {
        let prefix = String::from_utf8_lossy(&bytes[..nul]);
        let (line, col) = line_col(&prefix, prefix.len());
        return Err(ScenarioError {
            line: Some(line),
            col: Some(col),
            source_line: prefix.lines().nth(line - 1).map(str::to_string),
            ..plain(BINARY.into())
        });
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            let text = String::from_utf8_lossy(&bytes[..valid]);
            let (line, col) = line_col(&text, valid);
            return Err(ScenarioError {
                line: Some(line),
                col: Some(col),
                source_line: text.lines().nth(line - 1).map(str::to_string),
                ..plain(format!(
                    "not UTF-8 text (byte 0x{:02x} is not UTF-8); a scenario is a RON text file in UTF-8",
                    bytes[valid]
                ))
            });
        }
    };
    // A byte-order mark (which some editors write) is not part of the text.
    load_str(text.strip_prefix('\u{feff}').unwrap_or(&text), &file)
}

/// Parses and validates scenario text; `file` names it in errors.
pub fn load_str(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let source_line = |line: usize| text.lines().nth(line.saturating_sub(1)).map(str::to_string);
    if let Some(pos) = text.find('\0') {
        let (line, col) = line_col(text, pos);
        return Err(ScenarioError {
            file: file.to_string(),
            line: Some(line),
            col: Some(col),
            field: None,
            message: BINARY.into(),
            source_line: source_line(line),
        });
    }
    let scenario = parse(text).map_err(|e| {
        let (line, col) = (e.span.start.line, e.span.start.col);
        ScenarioError {
            file: file.to_string(),
            line: Some(line),
            col: Some(col),
            field: None,
            message: explain_ron(&e.code.to_string()),
            source_line: source_line(line),
        }
    })?;
    validate(&scenario).map_err(|inv| {
        let at = locate(text, &inv.field).or_else(|| locate_by_name(text, &inv.field));
        ScenarioError {
            file: file.to_string(),
            line: at.map(|a| a.0),
            col: at.map(|a| a.1),
            field: Some(inv.field),
            message: inv.message,
            source_line: at.and_then(|(l, _)| source_line(l)),
        }
    })?;
    Ok(scenario)
}

/// ron's messages, made plainer where they mislead, with what they quote made printable.
fn explain_ron(msg: &str) -> String {
    let msg = quote(msg, MAX_MESSAGE);
    if msg.contains("Expected comma") || msg.contains("ExpectedComma") {
        format!(
            "{msg} (or a value of the wrong type: durations are strings like \"150ms\", counts are integers)"
        )
    } else {
        msg
    }
}

/// Fallback when the walker cannot follow the path: the first `name:` of its last field.
fn locate_by_name(text: &str, field: &str) -> Option<(usize, usize)> {
    let last = field
        .rsplit('.')
        .find(|p| !p.starts_with('['))?
        .split('[')
        .next()?;
    if last.is_empty() {
        return None;
    }
    let pos = text.find(&format!("{last}:"))?;
    Some(line_col(text, pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_cut_around_the_column() {
        let line = format!("{}X{}", "a".repeat(5000), "b".repeat(5000));
        let (shown, caret) = excerpt(&line, Some(5001), 120);
        assert!(shown.chars().count() <= 122);
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(shown.chars().nth(caret.unwrap()), Some('X'));
        let (short, c) = excerpt("ab\tc", Some(4), 120);
        assert_eq!((short.as_str(), c), ("ab c", Some(3)));
        let (end, c) = excerpt(&"z".repeat(300), Some(301), 120);
        assert!(end.starts_with('…') && !end.ends_with('…'));
        assert_eq!(c, Some(121));
    }
}
