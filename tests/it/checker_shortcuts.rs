//! The checker's shortcuts for long or wide histories (`src/check/propose.rs`: candidate
//! orders, trusted only once verified; `src/check/certify.rs`: stale-read certificates) agree
//! with the brute-force oracle on random small histories: with unique written values, where
//! they apply, and with repeated values, where the certificates must step aside. A certificate
//! on a linearizable history, or a verified order on one that is not, fails the test. Then
//! `check` itself on wide generated histories: decided, with the certificate's culprits named.

use faultline::check::generate::{self, GenModel, GenSpec};
use faultline::check::witness::verify_ops;
use faultline::check::{
    CasRegister, CheckOptions, History, KvAppend, KvInput, KvOutput, Model, Operation,
    RegisterInput as I, RegisterOutput as O, Status, Verdict, check,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::checker_props::brute;

/// What the shortcuts say of one single-partition history, checked against brute force.
#[derive(Default, Debug)]
struct Tally {
    verified: u32,
    certified: u32,
    linearizable: u32,
    not: u32,
}

fn judge<M: Model>(m: &M, h: &History<M::Input, M::Output>, t: &mut Tally)
where
    M::Input: std::fmt::Debug,
{
    let want = brute(m, h);
    let ops: Vec<&Operation<M::Input, M::Output>> = h.ops.iter().collect();
    if let Some(order) = m.propose(&ops) {
        let order: Vec<usize> = order.into_iter().map(|p| p as usize).collect();
        if verify_ops(m, &ops, &order).is_ok() {
            assert!(
                want,
                "a verified order for a history that is not linearizable: {h:?}"
            );
            t.verified += 1;
        }
    }
    if let Some(c) = m.certify(&ops) {
        assert!(
            !want,
            "a certificate ({}) for a linearizable history: {h:?}",
            c.reason
        );
        t.certified += 1;
    }
    if want {
        t.linearizable += 1;
    } else {
        t.not += 1;
    }
}

/// A register run by up to four clients: each operation takes effect at a random point of
/// its interval; values unique (`unique`) or from 0..3; then maybe one result corrupted, some
/// operations unknown (taken effect or not) or failed.
fn register(rng: &mut ChaCha8Rng, unique: bool) -> History<I, O> {
    let n = rng.random_range(1..=8usize);
    let clients = rng.random_range(1..=4usize);
    let mut free = vec![0u64; clients];
    let mut plan: Vec<(u64, u64, u64, usize, I)> = Vec::new();
    for i in 0..n {
        let c = rng.random_range(0..clients);
        let call = free[c] + rng.random_range(0..4u64);
        let ret = call + rng.random_range(0..8u64);
        let at = call + rng.random_range(0..=ret - call);
        free[c] = ret + 1;
        let v = if unique {
            i as i64
        } else {
            rng.random_range(0..3i64)
        };
        let from = rng
            .random_range(0..=i as i64)
            .min(if unique { i64::MAX } else { 2 });
        let input = match rng.random_range(0..3u32) {
            0 => I::Read,
            1 => I::Write(v),
            _ => I::Cas(from, v),
        };
        plan.push((at, call, ret, c, input));
    }
    plan.sort_by_key(|p| p.0);
    let mut state: Option<i64> = None;
    let mut h = History::new();
    let corrupt = rng.random_range(0..3u32) == 0;
    for (k, (_, call, ret, c, input)) in plan.into_iter().enumerate() {
        let status = rng.random_range(0..12u32);
        let applies = status != 0 || rng.random_bool(0.5);
        let mut out = match &input {
            I::Read => O::Read(state),
            I::Write(_) => O::Written,
            I::Cas(f, _) => O::Cas(state == Some(*f)),
        };
        if applies && status != 1 {
            state = CasRegister::default()
                .step(&state, &input, Some(&out))
                .unwrap();
        }
        if corrupt && k == n / 2 {
            out = match out {
                O::Read(_) => {
                    O::Read((rng.random_range(0..4u32) > 0).then(|| rng.random_range(0..n as i64)))
                }
                O::Cas(b) => O::Cas(!b),
                o => o,
            };
        }
        match status {
            0 => h.unknown(c as u64, call, input),
            1 => h.fail(c as u64, call, ret, input),
            _ => h.ok(c as u64, call, ret, input, out),
        }
    }
    h
}

/// One key of a key-value map, as `register` does it: puts and appends of unique tokens or
/// of a few short strings.
fn kv(rng: &mut ChaCha8Rng, unique: bool) -> History<KvInput, KvOutput> {
    let n = rng.random_range(1..=8usize);
    let clients = rng.random_range(1..=4usize);
    let mut free = vec![0u64; clients];
    let mut plan: Vec<(u64, u64, u64, usize, KvInput)> = Vec::new();
    let key = || "k".to_string();
    for i in 0..n {
        let c = rng.random_range(0..clients);
        let call = free[c] + rng.random_range(0..4u64);
        let ret = call + rng.random_range(0..8u64);
        let at = call + rng.random_range(0..=ret - call);
        free[c] = ret + 1;
        let token = |p: &str| {
            if unique {
                format!("{p}{i}.")
            } else {
                ["a", "b", "ab"][i % 3].to_string()
            }
        };
        let input = match rng.random_range(0..6u32) {
            0..=2 => KvInput::Get { key: key().into() },
            3 => KvInput::Put {
                key: key().into(),
                value: token("p").into(),
            },
            _ => KvInput::Append {
                key: key().into(),
                value: token(" a").into(),
            },
        };
        plan.push((at, call, ret, c, input));
    }
    plan.sort_by_key(|p| p.0);
    let mut state = String::new();
    let mut seen: Vec<String> = vec![String::new()];
    let mut h = History::new();
    let corrupt = rng.random_range(0..3u32) == 0;
    for (k, (_, call, ret, c, input)) in plan.into_iter().enumerate() {
        let status = rng.random_range(0..12u32);
        let mut out = match &input {
            KvInput::Get { .. } => KvOutput::Value(state.as_str().into()),
            _ => KvOutput::Done,
        };
        if status != 1 && (status != 0 || rng.random_bool(0.5)) {
            state = KvAppend.step(&state, &input, Some(&out)).unwrap();
            seen.push(state.clone());
        }
        if corrupt && k >= n / 2 && matches!(out, KvOutput::Value(_)) {
            out = KvOutput::Value(seen[rng.random_range(0..seen.len())].as_str().into());
        }
        match status {
            0 => h.unknown(c as u64, call, input),
            1 => h.fail(c as u64, call, ret, input),
            _ => h.ok(c as u64, call, ret, input, out),
        }
    }
    h
}

#[test]
fn shortcuts_agree_with_brute_force_on_10000_random_small_histories() {
    let mut rng = ChaCha8Rng::seed_from_u64(20261203);
    for unique in [true, false] {
        let (mut reg, mut kvs) = (Tally::default(), Tally::default());
        for _ in 0..2_500 {
            judge(
                &CasRegister::default(),
                &register(&mut rng, unique),
                &mut reg,
            );
            judge(&KvAppend, &kv(&mut rng, unique), &mut kvs);
        }
        // The test can fail: both paths fire often where values are unique, and the
        // histories are of both kinds.
        for (name, t) in [("register", &reg), ("kv", &kvs)] {
            eprintln!("{name}, unique values {unique}: {t:?}");
            assert!(
                t.linearizable > 300 && t.not > 100,
                "{name} unique {unique}: {t:?}"
            );
            if unique {
                assert!(t.verified * 2 > t.linearizable, "{name}: {t:?}");
                assert!(t.certified > 30, "{name}: {t:?}");
            }
        }
    }
}

/// `check` with its defaults on a hundred clients: the shortcuts decide, the verdicts are the
/// generator's, a violation names its culprits (the stale read among them).
#[test]
fn wide_generated_histories_are_decided_with_culprits() {
    for model in [
        GenModel::EtcdRegister,
        GenModel::CasRegister,
        GenModel::KvAppend,
    ] {
        for stale_read in [false, true] {
            let spec = GenSpec {
                model,
                ops: 5_000,
                clients: 100,
                seed: 7,
                stale_read,
            };
            let opts = CheckOptions::default();
            let (r, read_only): (_, Box<dyn Fn(usize) -> bool>) = if model == GenModel::KvAppend {
                let h = generate::kv(&spec);
                let r = check(&KvAppend, &h, &opts);
                let gets: Vec<bool> = h
                    .ops
                    .iter()
                    .map(|o| matches!(o.input, KvInput::Get { .. }))
                    .collect();
                (r, Box::new(move |i| gets[i]))
            } else {
                let h = generate::register(&spec);
                let r = check(&CasRegister::default(), &h, &opts);
                let reads: Vec<bool> = h.ops.iter().map(|o| o.input == I::Read).collect();
                (r, Box::new(move |i| reads[i]))
            };
            let want = if stale_read {
                Verdict::NotLinearizable
            } else {
                Verdict::Linearizable
            };
            assert_eq!(r.verdict, want, "{model:?} stale {stale_read}");
            if let Some(c) = &r.counterexample {
                assert!(
                    c.culprits.len() == 2 && c.culprits.iter().any(|&i| read_only(i)),
                    "{c:?}"
                );
                assert!(c.text.contains("certificate"), "{}", c.text);
            } else {
                // A verified order for every partition, drawn as linearization points.
                assert_eq!(r.linearization.len(), r.partitions, "{model:?}");
            }
            assert_eq!(r.steps, 0, "decided without a search");
        }
    }
}

/// Statuses as the generator never makes them: an unknown write of the stale value makes the
/// certificate step aside; the search then decides.
#[test]
fn a_possible_second_writer_turns_the_certificate_off() {
    let spec = GenSpec {
        model: GenModel::EtcdRegister,
        ops: 3_000,
        clients: 100,
        seed: 7,
        stale_read: true,
    };
    let mut h = generate::register(&spec);
    let ops: Vec<&Operation<I, O>> = h.ops.iter().collect();
    let c = CasRegister::default().certify(&ops).expect("certified");
    let stale = match h.ops[c.read as usize].output {
        Some(O::Read(Some(v))) => v,
        _ => panic!("a read"),
    };
    h.unknown(1_000, 0, I::Write(stale));
    let ops: Vec<&Operation<I, O>> = h.ops.iter().collect();
    assert_eq!(CasRegister::default().certify(&ops).map(|c| c.read), None);
    assert!(h.ops.iter().any(|o| o.status == Status::Unknown));
}
