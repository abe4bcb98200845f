//! Input read a window at a time, so that a history file is never held whole as text: the
//! readers take one record from the window, and when a record runs past the window's end they
//! ask for more and read it again from its start. Only the unread part of the input is kept
//! (a chunk, or one record if a record is longer), whatever the file's size.
//!
//! The window is checked as UTF-8 as it is read: a file that is not text is refused at the
//! line and column of its first bad byte.

use std::io::Read;

use super::ParseError;
use super::edn::{Pos, Reader};

/// Bytes read at a time.
pub const CHUNK: usize = 64 * 1024;

/// The message for bytes that are not UTF-8.
pub const NOT_TEXT: &str = "not UTF-8 text (a history is text: EDN, JSON or a log)";

/// A source read in windows.
pub struct Feed<R> {
    src: R,
    buf: Vec<u8>,
    /// Start of the unread bytes in `buf`.
    start: usize,
    /// The position of `buf[start]` in the input.
    pos: Pos,
    /// End of the bytes of `buf` known to be UTF-8 (a character cut by a read waits for the
    /// next one).
    valid: usize,
    eof: bool,
}

/// The position after `bytes`, read from `pos` (columns count bytes, as the readers do).
pub fn advance(pos: Pos, bytes: &[u8]) -> Pos {
    match bytes.iter().rposition(|&b| b == b'\n') {
        Some(last) => Pos {
            line: pos.line + bytes.iter().filter(|&&b| b == b'\n').count(),
            col: bytes.len() - last,
        },
        None => Pos {
            line: pos.line,
            col: pos.col + bytes.len(),
        },
    }
}

impl<R: Read> Feed<R> {
    pub fn new(src: R) -> Self {
        Feed {
            src,
            buf: Vec::new(),
            start: 0,
            pos: Pos { line: 1, col: 1 },
            valid: 0,
            eof: false,
        }
    }

    /// The position of the next unread byte.
    pub fn pos(&self) -> Pos {
        self.pos
    }

    /// Reads more input into the window (at least one byte, unless the input has ended).
    fn fill(&mut self) -> Result<(), ParseError> {
        if self.eof {
            return Ok(());
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.valid -= self.start;
            self.start = 0;
        }
        // Grow by the window's size at least, so that a long record costs linear time.
        let old = self.buf.len();
        self.buf.resize(old + CHUNK.max(old), 0);
        let n = loop {
            match self.src.read(&mut self.buf[old..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(ParseError::at(
                        advance(self.pos, &self.buf[self.start..]),
                        format!("cannot read the file: {e}"),
                    ));
                }
            }
        };
        self.buf.truncate(old + n);
        if n == 0 {
            self.eof = true;
        }
        match std::str::from_utf8(&self.buf[self.valid..]) {
            Ok(_) => self.valid = self.buf.len(),
            Err(e) => {
                let upto = self.valid + e.valid_up_to();
                if e.error_len().is_none() && !self.eof {
                    self.valid = upto;
                } else {
                    let at = advance(self.pos, &self.buf[self.start..upto]);
                    return Err(ParseError::at(at, NOT_TEXT));
                }
            }
        }
        Ok(())
    }

    /// Runs `f` on the unread window (`f(window, its position, more input may follow)`), which
    /// returns what it read and how many bytes, or `None` when it needs more input: then the
    /// window grows and `f` runs again from the same place. With `consume`, the bytes `f` read
    /// are gone from the window; without, the next step sees them again.
    pub fn run<T>(
        &mut self,
        consume: bool,
        mut f: impl FnMut(&[u8], Pos, bool) -> Result<Option<(T, usize)>, ParseError>,
    ) -> Result<T, ParseError> {
        loop {
            let more = !self.eof;
            match f(&self.buf[self.start..self.valid], self.pos, more)? {
                Some((v, n)) => {
                    if consume {
                        let n = n.min(self.valid - self.start);
                        self.pos = advance(self.pos, &self.buf[self.start..self.start + n]);
                        self.start += n;
                    }
                    return Ok(v);
                }
                // With no more input the window is the whole rest: a step that still asks for
                // more is a bug; stop rather than loop.
                None if !more => {
                    return Err(ParseError::at(self.pos, "unexpected end of input"));
                }
                None => self.fill()?,
            }
        }
    }

    /// `run` with an EDN reader over the window.
    pub fn edn<T>(
        &mut self,
        consume: bool,
        mut f: impl FnMut(&mut Reader) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        self.run(consume, |w, pos, more| {
            let mut r = Reader::window(w, pos, more);
            match f(&mut r) {
                Ok(v) => Ok(Some((v, r.offset()))),
                Err(_) if r.starved() => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    /// The number of lines of the input, once it has all been read (as `str::lines` counts
    /// them: a last line without a newline counts, an empty one after the last newline not).
    pub fn lines_read(&self) -> usize {
        if self.pos.col == 1 {
            self.pos.line - 1
        } else {
            self.pos.line
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that returns at most `k` bytes a read, to cut records everywhere.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(self.0.len()).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn values_cut_by_the_window_are_read_whole() {
        let text = "{:a \"x\\u0041y\" :b [1 2 300] :c \\newline :d #{:k} :e é} ; note\n  nil";
        for k in 1..8 {
            let mut f = Feed::new(Trickle(text.as_bytes(), k));
            let v = f.edn(true, |r| r.value(0)).unwrap();
            assert_eq!(v.get("b").unwrap().to_string(), "[1 2 300]", "k={k}");
            assert_eq!(v.get("e"), Some(&super::super::Val::Sym("é".into())));
            let end = f.edn(true, |r| r.value(0)).unwrap();
            assert_eq!(end, super::super::Val::Nil, "k={k}");
            assert_eq!(f.pos(), Pos { line: 2, col: 6 });
        }
    }

    #[test]
    fn bad_utf8_is_located_even_across_reads() {
        let mut bytes = b"[1\n 2 ".to_vec();
        bytes.extend_from_slice(&[0xc3, 0x28]);
        for k in 1..4 {
            let mut f = Feed::new(Trickle(&bytes, k));
            let e = f.edn(true, |r| r.value(0)).unwrap_err();
            assert_eq!(
                (e.line, e.col, e.message.as_str()),
                (2, 4, NOT_TEXT),
                "k={k}"
            );
        }
    }
}
