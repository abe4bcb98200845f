//! Deterministic generators of big histories, for benchmarks and tests: a real register or
//! key-value map driven by concurrent clients, so every generated history is linearizable by
//! construction, and optionally one stale read injected, so it is not.
//!
//! Each client issues one operation at a time: it is invoked, takes effect at a point inside
//! its interval, and returns; the next is invoked after a short think time. Operations are
//! applied to the real object in the order of those points, which gives every output. Written
//! values are unique, so an injected stale read (a value overwritten by a later write that
//! completed before the read began) cannot be explained by any order.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::history::{History, Operation, Status};
use super::model::{KvInput, KvOutput, RegisterInput, RegisterOutput};

/// Which object the clients drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenModel {
    /// A register as Porcupine's etcd tests drive it: half reads, two fifths writes, one
    /// tenth compare-and-set (`etcd-register`).
    EtcdRegister,
    /// A register as Knossos's cas-register tests drive it: reads, writes and
    /// compare-and-sets in equal parts, each compare-and-set expecting a recently written
    /// value, so that about half of them succeed (`cas-register`).
    CasRegister,
    /// Ten keys with get, put and append (`kv-append`).
    KvAppend,
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenSpec {
    pub model: GenModel,
    pub ops: usize,
    pub clients: u32,
    pub seed: u64,
    /// Replace one read's result, in the middle of the history, by a stale value.
    pub stale_read: bool,
}

/// One planned operation: client, call, effect point, return.
struct Slot {
    client: u32,
    call: u64,
    at: u64,
    ret: u64,
}

/// Intervals for `n` operations over `clients` clients, and the order in which they take
/// effect (by effect point).
fn schedule(n: usize, clients: u32, rng: &mut ChaCha8Rng) -> (Vec<Slot>, Vec<usize>) {
    let clients = clients.max(1);
    let mut free = vec![0u64; clients as usize];
    let mut slots = Vec::with_capacity(n);
    for i in 0..n {
        // Round-robin over clients keeps every client busy; each waits for its previous op.
        let c = (i as u32) % clients;
        let call = free[c as usize] + rng.random_range(1..20u64);
        let at = call + rng.random_range(1..100u64);
        let ret = at + rng.random_range(1..100u64);
        free[c as usize] = ret;
        slots.push(Slot {
            client: c,
            call,
            at,
            ret,
        });
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (slots[i].at, i));
    (slots, order)
}

/// A register history.
pub fn register(spec: &GenSpec) -> History<RegisterInput, RegisterOutput> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let (slots, order) = schedule(spec.ops, spec.clients, &mut rng);
    let cas = spec.model == GenModel::CasRegister;
    // Values are unique: operation i writes i. A cas-register CAS expects the value of the
    // last write or CAS invoked before it (which the register often still holds).
    let mut last = 0i64;
    let inputs: Vec<RegisterInput> = (0..spec.ops)
        .map(|i| {
            let i = i as i64;
            if cas {
                match rng.random_range(0..3u32) {
                    0 => RegisterInput::Read,
                    1 => {
                        last = i;
                        RegisterInput::Write(i)
                    }
                    _ => RegisterInput::Cas(std::mem::replace(&mut last, i), i),
                }
            } else {
                match rng.random_range(0..10u32) {
                    0..5 => RegisterInput::Read,
                    5..9 => RegisterInput::Write(i),
                    _ => RegisterInput::Cas(rng.random_range(0..i + 1), i),
                }
            }
        })
        .collect();
    let mut outputs: Vec<Option<RegisterOutput>> = vec![None; spec.ops];
    let mut state: Option<i64> = None;
    for &i in &order {
        outputs[i] = Some(match inputs[i] {
            RegisterInput::Read => RegisterOutput::Read(state),
            RegisterInput::Write(v) => {
                state = Some(v);
                RegisterOutput::Written
            }
            RegisterInput::Cas(from, to) => {
                let ok = state == Some(from);
                if ok {
                    state = Some(to);
                }
                RegisterOutput::Cas(ok)
            }
        });
    }
    if spec.stale_read {
        inject_register(&slots, &inputs, &mut outputs);
    }
    assemble(&slots, inputs, outputs)
}

/// Makes the first read after the middle return the value of a write that a later write,
/// completed before the read began, overwrote.
fn inject_register(
    slots: &[Slot],
    inputs: &[RegisterInput],
    outputs: &mut [Option<RegisterOutput>],
) {
    let writes: Vec<usize> = (0..slots.len())
        .filter(|&i| matches!(inputs[i], RegisterInput::Write(_)))
        .collect();
    for r in slots.len() / 2..slots.len() {
        if inputs[r] != RegisterInput::Read {
            continue;
        }
        // w2: a write that completed before r began; w1: a write that completed before w2 began.
        let Some(&w2) = writes.iter().rev().find(|&&w| slots[w].ret < slots[r].call) else {
            continue;
        };
        let Some(&w1) = writes
            .iter()
            .rev()
            .find(|&&w| slots[w].ret < slots[w2].call)
        else {
            continue;
        };
        if let RegisterInput::Write(v) = inputs[w1] {
            outputs[r] = Some(RegisterOutput::Read(Some(v)));
            return;
        }
    }
}

/// A key-value history over ten keys.
pub fn kv(spec: &GenSpec) -> History<KvInput, KvOutput> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let (slots, order) = schedule(spec.ops, spec.clients, &mut rng);
    let inputs: Vec<KvInput> = (0..spec.ops)
        .map(|i| {
            let key = format!("k{}", rng.random_range(0..10u32));
            match rng.random_range(0..20u32) {
                0..10 => KvInput::Get { key: key.into() },
                10..13 => KvInput::Put {
                    key: key.into(),
                    value: format!("p{i}").into(),
                },
                _ => KvInput::Append {
                    key: key.into(),
                    value: format!(" a{i}").into(),
                },
            }
        })
        .collect();
    let mut outputs: Vec<Option<KvOutput>> = vec![None; spec.ops];
    let mut state: Vec<String> = vec![String::new(); 10];
    let idx = |k: &str| k[1..].parse::<usize>().unwrap_or(0);
    // Per op: the value its key held just after it took effect (for the stale read).
    let mut after: Vec<Option<String>> = vec![None; spec.ops];
    for &i in &order {
        outputs[i] = Some(match &inputs[i] {
            KvInput::Get { key } => KvOutput::Value(state[idx(key)].as_str().into()),
            KvInput::Put { key, value } => {
                state[idx(key)] = value.to_string();
                after[i] = Some(value.to_string());
                KvOutput::Done
            }
            KvInput::Append { key, value } => {
                state[idx(key)].push_str(value);
                after[i] = Some(state[idx(key)].clone());
                KvOutput::Done
            }
            KvInput::Cas { .. } => KvOutput::Cas(false),
        });
    }
    if spec.stale_read {
        let key_of = |i: usize| match &inputs[i] {
            KvInput::Get { key }
            | KvInput::Put { key, .. }
            | KvInput::Append { key, .. }
            | KvInput::Cas { key, .. } => key.clone(),
        };
        'found: for r in slots.len() / 2..slots.len() {
            if !matches!(inputs[r], KvInput::Get { .. }) {
                continue;
            }
            let k = key_of(r);
            let writes: Vec<usize> = (0..slots.len())
                .filter(|&i| after[i].is_some() && key_of(i) == k)
                .collect();
            let Some(&w2) = writes.iter().rev().find(|&&w| slots[w].ret < slots[r].call) else {
                continue;
            };
            // w1 a put (unique value, never held again once changed) completed before w2.
            if let Some(&w1) = writes.iter().rev().find(|&&w| {
                slots[w].ret < slots[w2].call && matches!(inputs[w], KvInput::Put { .. })
            }) {
                outputs[r] = Some(KvOutput::Value(
                    after[w1].clone().unwrap_or_default().into(),
                ));
                break 'found;
            }
        }
    }
    assemble(&slots, inputs, outputs)
}

fn assemble<I, O>(slots: &[Slot], inputs: Vec<I>, outputs: Vec<Option<O>>) -> History<I, O> {
    let ops = slots
        .iter()
        .zip(inputs)
        .zip(outputs)
        .map(|((s, input), output)| Operation {
            client: s.client as u64,
            call: s.call,
            ret: Some(s.ret),
            input,
            output,
            status: Status::Ok,
        })
        .collect();
    History { ops }
}
