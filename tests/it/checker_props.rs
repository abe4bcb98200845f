//! Property tests: the checker agrees with a brute-force permutation checker on random small
//! concurrent histories, and histories generated from a sequential execution are linearizable.

use faultline::check::{
    CasRegister, CheckOptions, History, Model, Operation, RegisterInput, RegisterOutput, Status,
    Verdict, check,
};
use proptest::prelude::*;

/// Tries every order of every subset of unknown operations (brute force).
pub(crate) fn brute<M: Model>(m: &M, h: &History<M::Input, M::Output>) -> bool {
    let ops: Vec<&Operation<M::Input, M::Output>> =
        h.ops.iter().filter(|o| o.status != Status::Fail).collect();
    fn go<M: Model>(
        m: &M,
        ops: &[&Operation<M::Input, M::Output>],
        used: &mut Vec<bool>,
        state: M::State,
    ) -> bool {
        // Done when every completed op is placed.
        if ops
            .iter()
            .zip(used.iter())
            .all(|(o, u)| *u || o.status == Status::Unknown)
        {
            return true;
        }
        for i in 0..ops.len() {
            if used[i] {
                continue;
            }
            // i may go next only if no unplaced op returned before i was called.
            let blocked = ops.iter().enumerate().any(|(j, o)| {
                !used[j]
                    && j != i
                    && o.status == Status::Ok
                    && o.ret.is_some_and(|r| r < ops[i].call)
            });
            if blocked {
                continue;
            }
            if let Some(s) = m.step(&state, &ops[i].input, ops[i].output.as_ref()) {
                used[i] = true;
                if go(m, ops, used, s) {
                    return true;
                }
                used[i] = false;
            }
        }
        false
    }
    go(m, &ops, &mut vec![false; ops.len()], m.init())
}

fn reg_op() -> impl Strategy<Value = (RegisterInput, RegisterOutput)> {
    prop_oneof![
        (0..3i64).prop_map(|v| (RegisterInput::Write(v), RegisterOutput::Written)),
        proptest::option::of(0..3i64).prop_map(|v| (RegisterInput::Read, RegisterOutput::Read(v))),
        (0..3i64, 0..3i64, any::<bool>())
            .prop_map(|(a, b, ok)| (RegisterInput::Cas(a, b), RegisterOutput::Cas(ok))),
    ]
}

fn history() -> impl Strategy<Value = History<RegisterInput, RegisterOutput>> {
    proptest::collection::vec((reg_op(), 0..20u64, 1..8u64, 0..10u8), 1..8).prop_map(|ops| {
        let mut h = History::new();
        for (c, ((i, o), call, len, st)) in ops.into_iter().enumerate() {
            match st {
                0 => h.unknown(c as u64, call, i),
                1 => h.fail(c as u64, call, call + len, i),
                _ => h.ok(c as u64, call, call + len, i, o),
            }
        }
        h
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_brute_force(h in history()) {
        let want = brute(&CasRegister::default(), &h);
        let got = check(&CasRegister::default(), &h, &CheckOptions::default());
        prop_assert_eq!(got.verdict == Verdict::Linearizable, want, "{:?}", h);
    }

    #[test]
    fn sequential_executions_are_linearizable(ops in proptest::collection::vec((reg_op(), 0..4u64, 0..3u64), 1..60)) {
        // Run the ops one after another on the model, recording the outputs it gives.
        let mut h = History::new();
        let mut state = CasRegister::default().init();
        let mut t = 0;
        for (c, ((input, _), gap, overlap)) in ops.into_iter().enumerate() {
            let out = match &input {
                RegisterInput::Read => RegisterOutput::Read(state),
                RegisterInput::Write(_) => RegisterOutput::Written,
                RegisterInput::Cas(a, _) => RegisterOutput::Cas(state == Some(*a)),
            };
            state = CasRegister::default().step(&state, &input, Some(&out)).unwrap();
            // Intervals may overlap the previous op's end: still linearizable in order.
            let call = t + gap;
            h.ok(c as u64 % 5, call.saturating_sub(overlap), call + 1, input, out);
            t = call + 1;
        }
        prop_assert_eq!(check(&CasRegister::default(), &h, &CheckOptions::default()).verdict, Verdict::Linearizable);
    }
}

/// Random one-key key-value histories (a sequential execution, then a few outputs corrupted).
#[test]
fn kv_append_pruning_agrees_with_brute_force() {
    // The checker prunes append-only values (Model::grows/reachable): it must still agree
    // with brute force, on linearizable and non-linearizable histories alike.
    use faultline::check::{KvAppend, KvInput as K, KvOutput as V};
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let (mut yes, mut no) = (0, 0);
    for _ in 0..3000 {
        // A sequential execution on one key (each op takes effect at a random point of its
        // interval), then a few outputs corrupted.
        let n = 1 + rnd(8) as usize;
        let mut ops: Vec<(u64, u64, u64, K)> = (0..n)
            .map(|_| {
                let call = rnd(20);
                let ret = call + 1 + rnd(8);
                let at = call + rnd(ret - call + 1);
                let key = faultline::check::Text::from("k");
                let v = faultline::check::Text::from(["a", "b", "ab", ""][rnd(4) as usize]);
                let input = match rnd(8) {
                    0..=2 => K::Get { key },
                    3..=5 => K::Append { key, value: v },
                    6 => K::Put { key, value: v },
                    _ => K::Cas {
                        key,
                        from: ["", "a", "b", "ab"][rnd(4) as usize].into(),
                        to: v,
                    },
                };
                (at, call, ret, input)
            })
            .collect();
        ops.sort_by_key(|o| o.0);
        let mut state = String::new();
        let mut h = History::new();
        for (c, (_, call, ret, input)) in ops.into_iter().enumerate() {
            let mut out = match &input {
                K::Get { .. } => V::Value(state.as_str().into()),
                K::Cas { from, .. } => V::Cas(*from == state),
                _ => V::Done,
            };
            state = KvAppend.step(&state, &input, Some(&out)).unwrap();
            if rnd(6) == 0 {
                out = match out {
                    V::Value(_) => V::Value(["", "a", "b", "ab", "ba"][rnd(5) as usize].into()),
                    V::Cas(b) => V::Cas(!b),
                    o => o,
                };
            }
            match rnd(10) {
                0 => h.unknown(c as u64, call, input),
                1 => h.fail(c as u64, call, ret, input),
                _ => h.ok(c as u64, call, ret, input, out),
            }
        }
        let want = brute(&KvAppend, &h);
        let got = check(&KvAppend, &h, &CheckOptions::default()).verdict;
        assert_eq!(got == Verdict::Linearizable, want, "{h:?}");
        if want {
            yes += 1;
        } else {
            no += 1;
        }
    }
    assert!(yes > 300 && no > 300, "{yes} linearizable, {no} not");
}
