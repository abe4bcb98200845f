//! Checking histories: history types, models, and a linearizability checker. This module knows
//! nothing of the simulator: it checks a history from a simulation exactly as it checks one
//! from a real system (a Jepsen log, a Porcupine log, a JSON file).

pub mod certify;
mod explain;
pub mod frontier;
pub mod generate;
mod hash;
pub mod history;
pub mod linearizability;
pub mod model;
pub mod parse;
mod propose;
mod search;
pub mod text;
pub mod witness;

pub(crate) use hash::PreHashed;
pub use history::{History, Operation, Status};
pub use linearizability::{
    AUTO_FRONTIER_OPS, CheckOptions, CheckResult, Counterexample, Mode, Verdict, check,
};
pub use model::{
    CasRegister, KvAppend, KvInput, KvOutput, MicroOp, Model, MultiRegister, Mutex, MutexInput,
    MutexOutput, RegisterInput, RegisterOutput, TxnInput, TxnOutput,
};
pub use text::Text;
