//! What the step-through view of a report draws of one node at one moment: a small,
//! protocol-neutral snapshot ([`NodeView`]) that each protocol builds from its node through
//! [`Node::view`](super::Node::view) (role, term or ballot, a few named values, the end of its
//! log). The engine never calls it; `protocols::stepper` asks for it after each recorded event
//! and keeps only the changes.

use std::sync::Arc;

/// The most log entries a view shows: the end of the log, where the action is.
pub const LOG_TAIL: usize = 6;

/// The widest value a view shows; longer ones keep their end (`…` + the last characters).
pub const VALUE_CHARS: usize = 28;

/// One log entry as drawn: its index, its term (ballot, epoch) and what it holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogCell {
    pub index: u64,
    pub term: u64,
    /// Shared, so that the views of a node whose log grew by one share the other cells.
    pub text: Arc<str>,
}

/// A node's state at one moment, as the step-through view draws it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeView {
    /// Its role now: `leader`, `follower`, `candidate`, `client`, `coordinator`, ...
    pub role: &'static str,
    /// Its term, ballot or epoch, where the protocol has one.
    pub term: Option<u64>,
    /// Named values in the protocol's words (`commit`, `kv`, `pending`, `voted for`...):
    /// each name with where its value ends in `values`, the values one after the other (a
    /// report takes hundreds of views, each of a few short values: one text, not one each).
    fields: Vec<(&'static str, u32)>,
    values: String,
    /// The end of its log (at most [`LOG_TAIL`] entries), oldest first.
    pub log: Vec<LogCell>,
    /// How many entries the log holds in all.
    pub log_len: u64,
}

impl NodeView {
    pub fn new(role: &'static str, term: Option<u64>) -> Self {
        NodeView {
            role,
            term,
            // Room for the few fields a view names, without regrowing.
            fields: Vec::with_capacity(4),
            values: String::with_capacity(64),
            ..Default::default()
        }
    }
    /// Adds a named value, cut to its last [`VALUE_CHARS`] characters.
    pub fn field(mut self, name: &'static str, value: impl AsRef<str>) -> Self {
        self.push_field(name, value.as_ref());
        self
    }
    /// Adds a named value, cut as [`field`](Self::field) cuts it.
    pub fn push_field(&mut self, name: &'static str, value: &str) {
        let value = if value.len() <= VALUE_CHARS {
            value
        } else {
            let t = tail(value, VALUE_CHARS - 1);
            if t.len() < value.len() {
                self.values.push('…');
            }
            t
        };
        self.values.push_str(value);
        self.fields.push((name, self.values.len() as u32));
    }
    /// The named values, in the order they were added.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        (0..self.fields.len()).filter_map(|k| self.field_at(k))
    }
    /// The `k`-th named value.
    pub fn field_at(&self, k: usize) -> Option<(&'static str, &str)> {
        let (name, end) = *self.fields.get(k)?;
        let start = k.checked_sub(1).map_or(0, |j| self.fields[j].1);
        Some((name, self.values.get(start as usize..end as usize)?))
    }
    /// Shows the end of a log of `len` entries: `cell(i)` gives the entry at 1-based index `i`
    /// as `(term, text)`; only the last [`LOG_TAIL`] are asked for.
    pub fn log_tail(self, len: u64, cell: impl Fn(u64) -> (u64, String)) -> Self {
        self.log_tail_short(len, |i| {
            let (term, text) = cell(i);
            (term, short(text).into())
        })
    }
    /// [`log_tail`](Self::log_tail) for texts already cut by [`short`] (and shared), asked
    /// for in order.
    pub fn log_tail_short(
        mut self,
        len: u64,
        mut cell: impl FnMut(u64) -> (u64, Arc<str>),
    ) -> Self {
        self.log_len = len;
        let first = len.saturating_sub(LOG_TAIL as u64) + 1;
        self.log = (first..=len)
            .map(|index| {
                let (term, text) = cell(index);
                LogCell { index, term, text }
            })
            .collect();
        self
    }
}

/// `s` cut to its last [`VALUE_CHARS`] characters (a growing appended value keeps its news).
pub fn short(s: String) -> String {
    if s.len() <= VALUE_CHARS {
        return s;
    }
    let t = tail(&s, VALUE_CHARS - 1);
    if t.len() == s.len() {
        return s;
    }
    let mut cut = String::with_capacity(t.len() + 3);
    cut.push('…');
    cut.push_str(t);
    cut
}

/// The last `chars` characters of `s`, without copying.
pub fn tail(s: &str, chars: usize) -> &str {
    match s.char_indices().rev().nth(chars.saturating_sub(1)) {
        Some((i, _)) if chars > 0 => &s[i..],
        _ if chars == 0 => "",
        _ => s,
    }
}

/// A node's view changed after record `step` of the trace; `view` is `None` while it is down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewChange {
    pub step: u32,
    pub node: u32,
    pub view: Option<NodeView>,
}

#[cfg(test)]
mod tests {
    use super::{NodeView, VALUE_CHARS, short};

    /// A view's fields read back as added, each cut as [`short`] cuts it.
    #[test]
    fn fields_read_back_cut_as_short_cuts() {
        let long = "x".repeat(VALUE_CHARS + 5);
        let wide = "é".repeat(VALUE_CHARS - 2); // few characters, many bytes
        let values = ["", "7", "n3", &long, &wide, "…ends", &"日本".repeat(40)];
        let mut v = NodeView::new("leader", Some(3));
        for (k, value) in values.iter().enumerate() {
            v = v.field(["a", "b", "c", "d", "e", "f", "g"][k], value);
        }
        let read: Vec<(&str, String)> = v.fields().map(|(n, x)| (n, x.to_string())).collect();
        let want: Vec<(&str, String)> = ["a", "b", "c", "d", "e", "f", "g"]
            .into_iter()
            .zip(values.iter().map(|x| short(x.to_string())))
            .collect();
        assert_eq!(read, want);
        assert_eq!(v.field_at(values.len()), None);
        // Views are equal exactly when their fields are.
        let w = NodeView::new("leader", Some(3))
            .field("a", "")
            .field("b", "7n3");
        let u = NodeView::new("leader", Some(3))
            .field("a", "7")
            .field("b", "n3");
        assert_ne!(w, u);
    }
}
