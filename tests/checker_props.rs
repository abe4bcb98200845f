//! Property tests: the checker agrees with a brute-force permutation checker on random small
//! concurrent histories, and histories generated from a sequential execution are linearizable.

use faultline::check::{
    CasRegister, CheckOptions, History, Model, Operation, RegisterInput, RegisterOutput, Status,
    Verdict, check,
};
use proptest::prelude::*;

/// Tries every order of every subset of unknown operations (brute force).
fn brute<M: Model>(m: &M, h: &History<M::Input, M::Output>) -> bool {
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
        let want = brute(&CasRegister, &h);
        let got = check(&CasRegister, &h, &CheckOptions::default());
        prop_assert_eq!(got.verdict == Verdict::Linearizable, want, "{:?}", h);
    }

    #[test]
    fn sequential_executions_are_linearizable(ops in proptest::collection::vec((reg_op(), 0..4u64, 0..3u64), 1..60)) {
        // Run the ops one after another on the model, recording the outputs it gives.
        let mut h = History::new();
        let mut state = CasRegister.init();
        let mut t = 0;
        for (c, ((input, _), gap, overlap)) in ops.into_iter().enumerate() {
            let out = match &input {
                RegisterInput::Read => RegisterOutput::Read(state),
                RegisterInput::Write(_) => RegisterOutput::Written,
                RegisterInput::Cas(a, _) => RegisterOutput::Cas(state == Some(*a)),
            };
            state = CasRegister.step(&state, &input, Some(&out)).unwrap();
            // Intervals may overlap the previous op's end: still linearizable in order.
            let call = t + gap;
            h.ok(c as u64 % 5, call.saturating_sub(overlap), call + 1, input, out);
            t = call + 1;
        }
        prop_assert_eq!(check(&CasRegister, &h, &CheckOptions::default()).verdict, Verdict::Linearizable);
    }
}
