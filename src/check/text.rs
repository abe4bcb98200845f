//! [`Text`]: the strings of a key-value operation (a key `k2`, a value `c12.345 `), kept
//! inline when short. An operation is copied into its invocation, every attempt's request and
//! the history, and a log entry's is hashed into the trace each time an AppendEntries carries
//! it: inline, none of that allocates or frees, and hashing reads the operation's own memory
//! instead of chasing a pointer per string. Hashes, compares, prints and serializes exactly as
//! the `String` it stands for, so traces and reports are unchanged. The checker's key-value
//! history ([`super::KvInput`], [`super::KvOutput`]) holds its keys and values as `Text`s too,
//! so that a history of a hundred thousand operations is not as many allocations.

use std::fmt;
use std::hash::{Hash, Hasher};

/// The longest text kept inline (the type is as big as a `String`).
const INLINE: usize = 22;

/// A string, inline up to 22 bytes.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl Text {
    /// The empty text.
    pub const fn new() -> Self {
        Text(Repr::Inline {
            len: 0,
            bytes: [0; INLINE],
        })
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            // SAFETY: the inline bytes are only ever written by `push_str`, which appends a
            // whole `&str` after the ones before it: `bytes[..len]` is valid UTF-8. (Checking
            // it again on every look-up cost more than the rest of a key's comparison.)
            Repr::Inline { len, bytes } => unsafe {
                std::str::from_utf8_unchecked(&bytes[..*len as usize])
            },
            Repr::Heap(s) => s,
        }
    }

    fn bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..*len as usize],
            Repr::Heap(s) => s.as_bytes(),
        }
    }

    /// Appends `s` (moving to the heap only past 22 bytes).
    pub fn push_str(&mut self, s: &str) {
        match &mut self.0 {
            Repr::Inline { len, bytes } if *len as usize + s.len() <= INLINE => {
                let at = *len as usize;
                bytes[at..at + s.len()].copy_from_slice(s.as_bytes());
                *len += s.len() as u8;
            }
            _ => {
                let mut all = String::with_capacity(self.bytes().len() + s.len());
                all.push_str(self.as_str());
                all.push_str(s);
                self.0 = Repr::Heap(all.into_boxed_str());
            }
        }
    }

    /// Appends `n` in decimal: its digits written in place when they fit inline (a client
    /// names a key and a value per operation: through a `&str` of them this cost a copy call
    /// and a UTF-8 check per number).
    pub fn push_decimal(&mut self, n: u64) {
        let digits = decimal_len(n);
        if let Repr::Inline { len, bytes } = &mut self.0
            && *len as usize + digits <= INLINE
        {
            let at = *len as usize;
            write_decimal(n, &mut bytes[at..at + digits]);
            *len += digits as u8;
            return;
        }
        let mut b = [0u8; 20];
        self.push_str(decimal(n, &mut b));
    }

    /// Appends one ASCII byte (`.`, a space).
    pub fn push_ascii(&mut self, c: u8) {
        debug_assert!(c.is_ascii());
        match &mut self.0 {
            Repr::Inline { len, bytes } if (*len as usize) < INLINE => {
                bytes[*len as usize] = c;
                *len += 1;
            }
            _ => self.push_str(char::from(c).encode_utf8(&mut [0; 4])),
        }
    }

    pub fn len(&self) -> usize {
        self.bytes().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How many decimal digits `n` has.
#[inline]
pub fn decimal_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// Writes `n` in decimal into `out`, which is exactly [`decimal_len`] bytes long.
#[inline]
pub fn write_decimal(mut n: u64, out: &mut [u8]) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// `n` in decimal, written at the end of `b`.
pub fn decimal(mut n: u64, b: &mut [u8; 20]) -> &str {
    let mut i = b.len();
    loop {
        i -= 1;
        b[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&b[i..]).expect("ASCII digits")
}

impl Default for Text {
    fn default() -> Self {
        Text::new()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        let mut t = Text::new();
        t.push_str(s);
        t
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        if s.len() <= INLINE {
            Text::from(s.as_str())
        } else {
            Text(Repr::Heap(s.into_boxed_str()))
        }
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        match t.0 {
            Repr::Heap(s) => s.into_string(),
            Repr::Inline { .. } => t.as_str().to_owned(),
        }
    }
}

impl From<&Text> for String {
    fn from(t: &Text) -> Self {
        t.as_str().to_owned()
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.bytes() == other.as_bytes()
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.bytes() == other.as_bytes()
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_bytes() == other.bytes()
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bytes().cmp(other.bytes())
    }
}

/// As `str` hashes (its bytes, then `0xff`): the same words reach the hasher as for the
/// `String` this stands for.
impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.bytes());
        state.write_u8(0xff);
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Text::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `Hash` feeds a hasher, as one number (the same hasher for both sides).
    fn stable_hash<T: Hash + ?Sized>(t: &T) -> u64 {
        let mut h = std::hash::DefaultHasher::new();
        t.hash(&mut h);
        h.finish()
    }

    /// A text is its string to every observer: hash, equality, order, `Debug`, `Display`,
    /// JSON, whether inline or on the heap, built whole or piece by piece.
    #[test]
    fn text_is_its_string() {
        let samples = [
            "",
            "k0",
            "c12.345 ",
            "exactly twenty-two b..",
            "twenty-three bytes long",
            "a much longer value that lives on the heap",
            "quote \" and \\ and é",
        ];
        for s in samples {
            let whole = Text::from(s);
            let mut pieces = Text::new();
            for (i, c) in s.char_indices() {
                pieces.push_str(&s[i..i + c.len_utf8()]);
            }
            for t in [&whole, &pieces, &Text::from(s.to_string())] {
                assert_eq!(t.as_str(), s);
                assert_eq!(stable_hash(t), stable_hash(&s.to_string()), "{s:?}");
                assert_eq!(format!("{t:?}"), format!("{:?}", s.to_string()));
                assert_eq!(format!("{t}"), s);
                assert_eq!(
                    serde_json::to_string(t).unwrap(),
                    serde_json::to_string(s).unwrap()
                );
                assert_eq!(String::from(t.clone()), s);
                assert_eq!(t.len(), s.len());
            }
            for o in samples {
                let other = Text::from(o);
                assert_eq!(whole == other, s == o);
                assert_eq!(whole.cmp(&other), s.cmp(o));
            }
        }
        let mut n = Text::from("c");
        n.push_decimal(12);
        n.push_str(".");
        n.push_decimal(u64::MAX);
        assert_eq!(n, format!("c12.{}", u64::MAX));
    }

    /// As small as a `String`, so that an operation is no bigger than before.
    /// Numbers and ASCII bytes appended in place write what `format!` writes, across the
    /// end of the inline bytes.
    #[test]
    fn decimals_and_bytes_append_as_format_does() {
        let numbers = [0, 7, 9, 10, 99, 100, 12_345, u32::MAX as u64, u64::MAX];
        for prefix in ["", "c", "twenty bytes of text"] {
            for n in numbers {
                let mut t = Text::from(prefix);
                t.push_decimal(n);
                t.push_ascii(b'.');
                t.push_decimal(n);
                t.push_ascii(b' ');
                let want = format!("{prefix}{n}.{n} ");
                assert_eq!(t.as_str(), want);
                assert_eq!(t, Text::from(want.as_str()));
                assert_eq!(decimal_len(n), n.to_string().len());
            }
        }
    }

    #[test]
    fn text_is_as_small_as_a_string() {
        assert_eq!(std::mem::size_of::<Text>(), std::mem::size_of::<String>());
    }
}
