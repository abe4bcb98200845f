//! What a report's step-through view shows of a Raft server, formatted once per change and
//! reusing the texts of the last view that did not change.

use std::sync::Arc;

use super::{Persistent, RaftBug, Server, StateMachine};
use crate::check::text::decimal;
use crate::sim::stable_hash;
use crate::workload::kv::Command;

/// The texts of a server's last view: its state machine's line at an applied index, and its
/// log cells with the entries they show. The state machine changes only by `apply`, which
/// advances `last_applied`; an entry is its term and command (compared whole, not by
/// digest), so a text reused is the text that formatting would write.
#[derive(Clone, Debug)]
pub(super) struct ViewCache<Op> {
    sm: Option<(u64, String)>,
    cells: Vec<(u64, u64, Command<Op>, Arc<str>)>,
}

impl<Op> Default for ViewCache<Op> {
    fn default() -> Self {
        ViewCache {
            sm: None,
            cells: Vec::new(),
        }
    }
}

impl<M: StateMachine> Server<M> {
    /// Changes whenever [`view`](Self::view) would.
    pub fn view_stamp(&self, p: &Persistent<M::Op>) -> u64 {
        let vote = self
            .volatile_vote
            .or(p.voted_for)
            .map_or(u64::MAX, u64::from);
        let last_term = p.log.last().map_or(0, |e| e.term);
        stable_hash(&(
            self.role.name(),
            p.current_term,
            vote,
            self.commit_index,
            self.last_applied,
            p.log.len(),
            last_term,
        ))
    }

    /// What the step-through view shows: role, term, vote, commit index, the end of the log
    /// and the state machine.
    pub fn view(&self, p: &Persistent<M::Op>) -> crate::sim::NodeView {
        let vote = if self.bug(RaftBug::ForgetVote) {
            self.volatile_vote
        } else {
            p.voted_for
        };
        let mut cache = self.view_cache.borrow_mut();
        let cache = &mut *cache;
        // What a view formats is most of what a report's replay costs: the state machine's
        // line is formatted again only when an entry was applied, a log cell only for an
        // entry it did not show last time.
        if !matches!(&cache.sm, Some((at, _)) if *at == self.last_applied) {
            cache.sm = Some((self.last_applied, crate::sim::view::short(self.sm.view())));
        }
        let sm = cache.sm.as_ref().map_or("", |(_, text)| text.as_str());
        let mut v = crate::sim::NodeView::new(self.role.name(), Some(p.current_term));
        let mut digits = [0u8; 20];
        v.push_field("commit", decimal(self.commit_index, &mut digits));
        let mut voted = [0u8; 21];
        let voted = vote.map_or("-", |n| node_text(n.into(), &mut voted));
        v.push_field("voted for", voted);
        v.push_field(M::VIEW_NAME, sm);
        // The end of the log: the last view's cells when they still show the same entries
        // (most views: only the commit index, the vote or the state machine moved), else
        // new cells, each keeping its text when the last view showed its entry.
        let len = p.log.len();
        let first = len.saturating_sub(crate::sim::view::LOG_TAIL);
        let tail = &p.log[first..];
        let same = cache.cells.len() == tail.len()
            && cache
                .cells
                .iter()
                .zip(first..)
                .zip(tail)
                .all(|((c, i), e)| c.0 == i as u64 + 1 && c.1 == e.term && c.2 == e.command);
        if !same {
            let mut old = std::mem::take(&mut cache.cells).into_iter().peekable();
            cache
                .cells
                .extend(tail.iter().zip(first as u64 + 1..).map(|(e, i)| {
                    // The cells of the last view that precede this one's are gone; the next
                    // one, if it shows the same entry, keeps its text.
                    while old.next_if(|c| c.0 < i).is_some() {}
                    // (A kept cell keeps its copy of the command too: equal to the entry's.)
                    match old.next_if(|c| c.0 == i) {
                        Some((_, term, command, text))
                            if term == e.term && command == e.command =>
                        {
                            (i, term, command, text)
                        }
                        _ => {
                            let text = crate::sim::view::short(e.command.short()).into();
                            (i, e.term, e.command.clone(), text)
                        }
                    }
                }));
        }
        v.log_len = len as u64;
        v.log = cache
            .cells
            .iter()
            .map(|(index, term, _, text)| crate::sim::LogCell {
                index: *index,
                term: *term,
                text: text.clone(),
            })
            .collect();
        v
    }
}

/// `n<id>`, written into `buf` (a view's text without an allocation of its own).
fn node_text(id: u64, buf: &mut [u8; 21]) -> &str {
    let mut digits = [0u8; 20];
    let d = decimal(id, &mut digits);
    buf[0] = b'n';
    buf[1..=d.len()].copy_from_slice(d.as_bytes());
    std::str::from_utf8(&buf[..=d.len()]).unwrap_or("n?")
}
