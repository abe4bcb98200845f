//! Histories: operations with a client, invocation and completion times, input, output and
//! status. Times are any totally ordered `u64` (simulated nanoseconds, or the index of an event
//! in a log); only their order matters.

use serde::Serialize;

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Completed: took effect between invocation and completion, with `output`.
    Ok,
    /// Certainly did not take effect (it is left out of the check).
    Fail,
    /// May take effect at any time after invocation, or never; never completes.
    Unknown,
}

/// One operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Operation<I, O> {
    pub client: u64,
    pub call: u64,
    /// `None` when the outcome is unknown (the operation never completed).
    pub ret: Option<u64>,
    pub input: I,
    /// `None` when unknown.
    pub output: Option<O>,
    pub status: Status,
}

/// A history: operations in any order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct History<I, O> {
    pub ops: Vec<Operation<I, O>>,
}

impl<I, O> Default for History<I, O> {
    fn default() -> Self {
        History { ops: Vec::new() }
    }
}

impl<I, O> History<I, O> {
    pub fn new() -> Self {
        History { ops: Vec::new() }
    }
    /// A completed operation.
    pub fn ok(&mut self, client: u64, call: u64, ret: u64, input: I, output: O) {
        self.ops.push(Operation {
            client,
            call,
            ret: Some(ret),
            input,
            output: Some(output),
            status: Status::Ok,
        });
    }
    /// An operation that certainly did not take effect.
    pub fn fail(&mut self, client: u64, call: u64, ret: u64, input: I) {
        self.ops.push(Operation {
            client,
            call,
            ret: Some(ret),
            input,
            output: None,
            status: Status::Fail,
        });
    }
    /// An operation whose outcome is unknown.
    pub fn unknown(&mut self, client: u64, call: u64, input: I) {
        self.ops.push(Operation {
            client,
            call,
            ret: None,
            input,
            output: None,
            status: Status::Unknown,
        });
    }
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}
