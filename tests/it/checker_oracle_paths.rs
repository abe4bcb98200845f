//! The oracle of `checker_oracle.rs` against the checker's library paths that a small file
//! never reaches: histories built directly, with operations that share times (a simulation's
//! nanoseconds: a call at the very time another operation returns overlaps it), checked in
//! every mode; the candidate orders (`Model::propose`, trusted once `witness::verify_ops`
//! accepts them) and certificates (`Model::certify`) of every model; and `check`'s own
//! shortcut path for wide histories, reached by a tail that cannot change the verdict (after
//! every operation of the small history, one completed write, then a thousand overlapping
//! reads of it; for key-value, a thousand puts on keys of their own).

use faultline::check::parse::ModelName;
use faultline::check::witness::verify_ops;
use faultline::check::{
    CasRegister, CheckOptions, History, KvAppend, KvInput, KvOutput, MicroOp, Mode, Model,
    MultiRegister, Mutex, MutexInput, MutexOutput, Operation, RegisterInput, RegisterOutput,
    Status, TxnInput, TxnOutput, Verdict, check,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::checker_oracle::{Act, End, MODELS, Op, oracle, run};

/// `op` into a history at times `t`: `status` and `output` as the model's reader gives them.
fn push<I, O>(
    h: &mut History<I, O>,
    op: &Op,
    t: &dyn Fn(usize) -> u64,
    input: I,
    out: Option<O>,
    status: Status,
) {
    h.ops.push(Operation {
        client: op.process,
        call: t(op.call),
        ret: if status == Status::Unknown {
            None
        } else {
            op.ret.map(t)
        },
        input,
        output: if status == Status::Ok { out } else { None },
        status,
    });
}

/// The plain status: `:ok` completed, `:fail` did not happen, else unknown.
fn plain(end: End) -> Status {
    match end {
        End::Ok => Status::Ok,
        End::Fail => Status::Fail,
        End::Info | End::Pending => Status::Unknown,
    }
}

fn registers(
    model: ModelName,
    ops: &[Op],
    t: &dyn Fn(usize) -> u64,
) -> History<RegisterInput, RegisterOutput> {
    use RegisterInput as I;
    use RegisterOutput as O;
    let etcd = model == ModelName::EtcdRegister;
    let mut h = History::new();
    for op in ops {
        let (input, out, status) = match (&op.act, op.end) {
            (Act::Read(_), End::Fail) if etcd => (I::Read, None, Status::Unknown),
            (Act::Cas(a, b), End::Fail) if etcd => {
                (I::Cas(*a, *b), Some(O::Cas(false)), Status::Ok)
            }
            (Act::Read(None), End::Ok) if model == ModelName::KnossosCasRegister => {
                (I::Read, None, Status::Ok)
            }
            (Act::Read(r), e) => (I::Read, Some(O::Read(*r)), plain(e)),
            (Act::Write(w), e) => (I::Write(*w), Some(O::Written), plain(e)),
            (Act::Cas(a, b), e) => (I::Cas(*a, *b), Some(O::Cas(true)), plain(e)),
            (a, _) => panic!("{a:?}"),
        };
        push(&mut h, op, t, input, out, status);
    }
    h
}

fn kv(ops: &[Op], t: &dyn Fn(usize) -> u64) -> History<KvInput, KvOutput> {
    let mut h = History::new();
    for op in ops {
        let (input, out) = match &op.act {
            Act::Get(k, v) => (
                KvInput::Get { key: (*k).into() },
                KvOutput::Value(v.as_str().into()),
            ),
            Act::Put(k, v) => (
                KvInput::Put {
                    key: (*k).into(),
                    value: v.as_str().into(),
                },
                KvOutput::Done,
            ),
            Act::Append(k, v) => (
                KvInput::Append {
                    key: (*k).into(),
                    value: v.as_str().into(),
                },
                KvOutput::Done,
            ),
            a => panic!("{a:?}"),
        };
        push(&mut h, op, t, input, Some(out), plain(op.end));
    }
    h
}

fn txns(ops: &[Op], t: &dyn Fn(usize) -> u64) -> History<TxnInput, TxnOutput> {
    let mut h = History::new();
    for op in ops {
        let Act::Txn(mops) = &op.act else {
            panic!("{op:?}")
        };
        let mk = |seen: bool| {
            mops.iter()
                .map(|&(write, k, v)| MicroOp {
                    write,
                    key: k.to_string(),
                    value: if write || seen { v } else { None },
                })
                .collect::<Vec<_>>()
        };
        push(
            &mut h,
            op,
            t,
            TxnInput(mk(false)),
            Some(TxnOutput(mk(true))),
            plain(op.end),
        );
    }
    h
}

fn locks(ops: &[Op], t: &dyn Fn(usize) -> u64) -> History<MutexInput, MutexOutput> {
    let mut h = History::new();
    for op in ops {
        let (input, out) = match &op.act {
            Act::Acquire(tok) => (MutexInput::Acquire, MutexOutput::Granted(*tok)),
            Act::Release => (MutexInput::Release, MutexOutput::Released),
            a => panic!("{a:?}"),
        };
        push(&mut h, op, t, input, Some(out), plain(op.end));
    }
    h
}

/// Every mode of `check`, then per partition the candidate order and the certificate, must
/// agree with the oracle's `want`.
fn judge<M: Model>(m: &M, h: &History<M::Input, M::Output>, want: bool) -> Result<(), String> {
    for mode in [Mode::Auto, Mode::Search, Mode::Frontier] {
        let opts = CheckOptions {
            mode,
            parallel: false,
            ..CheckOptions::default()
        };
        let got = check(m, h, &opts).verdict;
        if got
            != if want {
                Verdict::Linearizable
            } else {
                Verdict::NotLinearizable
            }
        {
            return Err(format!(
                "{mode:?} says {got:?}, the oracle linearizable={want}"
            ));
        }
    }
    let mut keys: Vec<&str> = h.ops.iter().map(|o| m.key(&o.input)).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut all_verified = true;
    for key in keys {
        let ops: Vec<&Operation<M::Input, M::Output>> = h
            .ops
            .iter()
            .filter(|o| o.status != Status::Fail && m.key(&o.input) == key)
            .collect();
        let verified = m.propose(&ops).is_some_and(|order| {
            let order: Vec<usize> = order.into_iter().map(|p| p as usize).collect();
            verify_ops(m, &ops, &order).is_ok()
        });
        all_verified &= verified;
        if let Some(c) = m.certify(&ops)
            && want
        {
            return Err(format!(
                "key {key:?}: a certificate for a linearizable history: {}",
                c.reason
            ));
        }
    }
    if all_verified && !want {
        return Err(
            "every partition has a verified order, but the history is not linearizable".into(),
        );
    }
    Ok(())
}

/// Times that collide: records 2k and 2k+1 happen at the same instant.
fn tied(k: usize) -> u64 {
    k as u64 / 2
}

#[test]
fn every_model_agrees_with_the_oracle_when_times_tie() {
    let mut rng = ChaCha8Rng::seed_from_u64(
        std::env::var("ORACLE_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0x7ed_2026),
    );
    for model in MODELS {
        let (mut yes, mut no) = (0, 0);
        let rounds: usize = std::env::var("ORACLE_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(400);
        for _ in 0..rounds {
            let initial = match model {
                ModelName::KvAppend | ModelName::Mutex => None,
                _ => rng.random_bool(0.5).then_some(0),
            };
            let (ops, _) = run(&mut rng, model, initial);
            let want = oracle(model, initial, &ops, &tied);
            let r = match model {
                ModelName::KvAppend => judge(&KvAppend, &kv(&ops, &tied), want),
                ModelName::MultiRegister => {
                    judge(&MultiRegister { initial }, &txns(&ops, &tied), want)
                }
                ModelName::Mutex => judge(&Mutex, &locks(&ops, &tied), want),
                _ => judge(
                    &CasRegister { initial },
                    &registers(model, &ops, &tied),
                    want,
                ),
            };
            if let Err(e) = r {
                panic!("{model:?} (initial {initial:?}): {e}\n{ops:#?}");
            }
            if want {
                yes += 1;
            } else {
                no += 1;
            }
        }
        assert!(
            yes > 100 && no > 40,
            "{model:?}: {yes} linearizable, {no} not"
        );
    }
}

/// How many overlapping operations the tail adds: enough for `check`'s shortcuts (at least a
/// thousand operations, at least 64 open at once).
const TAIL: u64 = 1_000;

/// `h` (times below `t0`) with a tail that changes no verdict: `reset` completed alone, then
/// `TAIL` overlapping operations `more(i)` that only a state after `reset` explains.
fn with_tail<I, O>(h: &mut History<I, O>, t0: u64, reset: (I, O), more: &dyn Fn(u64) -> (I, O)) {
    h.ok(1_000, t0, t0 + 1, reset.0, reset.1);
    for i in 0..TAIL {
        let (input, out) = more(i);
        h.ok(1_001 + i, t0 + 2 + i, t0 + 2 + TAIL + i, input, out);
    }
}

#[test]
fn checks_shortcut_path_agrees_with_the_oracle() {
    use RegisterInput as I;
    use RegisterOutput as O;
    let mut rng = ChaCha8Rng::seed_from_u64(
        std::env::var("ORACLE_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0x5407_2026),
    );
    for model in MODELS {
        if model == ModelName::Mutex {
            continue; // no operation of a lock can overlap a thousand others and succeed
        }
        let (mut yes, mut no) = (0, 0);
        let mut searchless = 0;
        let rounds: u32 = std::env::var("ORACLE_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(150);
        for _ in 0..rounds {
            let initial = (model != ModelName::KvAppend && rng.random_bool(0.5)).then_some(0);
            let (ops, recs) = run(&mut rng, model, initial);
            let want = oracle(model, initial, &ops, &tied);
            let t0 = recs.len() as u64;
            let opts = CheckOptions {
                parallel: false,
                ..CheckOptions::default()
            };
            let got = match model {
                ModelName::KvAppend => {
                    let mut h = kv(&ops, &tied);
                    let put = |i: u64| KvInput::Put {
                        key: format!("pad{i}").into(),
                        value: "v".into(),
                    };
                    with_tail(&mut h, t0, (put(TAIL), KvOutput::Done), &|i| {
                        (put(i), KvOutput::Done)
                    });
                    check(&KvAppend, &h, &opts)
                }
                ModelName::MultiRegister => {
                    let mut h = txns(&ops, &tied);
                    let mk = |write: bool, seen: bool| {
                        let m = |k: &str| MicroOp {
                            write,
                            key: k.into(),
                            value: (write || seen).then_some(99),
                        };
                        vec![m("x"), m("y")]
                    };
                    let reset = (TxnInput(mk(true, true)), TxnOutput(mk(true, true)));
                    with_tail(&mut h, t0, reset, &|_| {
                        (TxnInput(mk(false, false)), TxnOutput(mk(false, true)))
                    });
                    check(&MultiRegister { initial }, &h, &opts)
                }
                _ => {
                    let mut h = registers(model, &ops, &tied);
                    with_tail(&mut h, t0, (I::Write(99), O::Written), &|_| {
                        (I::Read, O::Read(Some(99)))
                    });
                    check(&CasRegister { initial }, &h, &opts)
                }
            };
            let expected = if want {
                Verdict::Linearizable
            } else {
                Verdict::NotLinearizable
            };
            assert_eq!(
                got.verdict, expected,
                "{model:?} (initial {initial:?}): {ops:#?}"
            );
            searchless += (got.steps == 0) as u32;
            if want {
                yes += 1;
            } else {
                no += 1;
            }
        }
        eprintln!("{model:?}: {yes} linearizable, {no} not, {searchless} decided without a search");
        assert!(
            yes > 10 && no > 3,
            "{model:?}: {yes} linearizable, {no} not"
        );
        // The shortcuts decided most: the path under test was taken.
        assert!(
            searchless * 2 > rounds,
            "{model:?}: {searchless} of {rounds} decided without a search"
        );
    }
}
