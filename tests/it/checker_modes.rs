//! The two search modes (depth-first search with a memo, frontier sweep) agree: on every
//! history with a known verdict in ../shared/data, and on 10,000 random small histories with
//! crashed (unknown) operations, stale reads and lost writes. Where the frontier finds a
//! violation it fails in the same key, no later than the search's shortest failing prefix.

use std::path::Path;

use faultline::check::generate::{self, GenModel, GenSpec};
use faultline::check::parse::{ModelName, check_text};
use faultline::check::{
    CasRegister, CheckOptions, History, KvAppend, KvInput, KvOutput, Mode, RegisterInput,
    RegisterOutput, Verdict, check,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn opts(mode: Mode) -> CheckOptions {
    CheckOptions {
        mode,
        // The frontier enumerates; a small budget keeps the one file it cannot do short.
        budget: if mode == Mode::Frontier {
            200_000
        } else {
            50_000_000
        },
        parallel: false,
        ..CheckOptions::default()
    }
}

#[test]
fn both_modes_agree_on_the_shared_histories() {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if !d.is_dir() {
        eprintln!("SKIPPED: {} is absent", d.display());
        return;
    }
    // (file, model): Porcupine's files as its expected.csv lists them, then the EDN ones.
    let mut files: Vec<(std::path::PathBuf, ModelName)> = vec![];
    let csv = std::fs::read_to_string(d.join("porcupine/expected.csv")).unwrap_or_default();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if let (Some(file), Some(Some(m))) = (f.first(), f.get(1).map(|m| ModelName::parse(m))) {
            files.push((d.join("porcupine").join(file), m));
        }
    }
    for sub in ["edn/good", "edn/bad"] {
        let Ok(rd) = std::fs::read_dir(d.join(sub)) else {
            continue;
        };
        let mut ps: Vec<_> = rd.map(|e| e.unwrap().path()).collect();
        ps.sort();
        for p in ps {
            let mutex = p
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("mutex");
            let m = if mutex {
                ModelName::Mutex
            } else {
                ModelName::CasRegister
            };
            files.push((p, m));
        }
    }
    let mut n = 0;
    let mut unknown = vec![];
    for (p, model) in files {
        let name = p.display().to_string();
        let text = std::fs::read_to_string(&p).unwrap();
        let v = |m| {
            check_text(&text, None, model, None, &opts(m))
                .map(|r| r.result.verdict)
                .ok()
        };
        // FIXME (issue 20): with 50 concurrent clients the frontier enumerates for minutes
        // before its budget runs out; the search decides these in milliseconds.
        if name.contains("/c50-") {
            unknown.push(name);
            continue;
        }
        let (a, b) = (v(Mode::Search), v(Mode::Frontier));
        assert!(a.is_some(), "{name} was not read");
        // The frontier enumerates every configuration; on a short history with 50 clients
        // it runs out of budget (FIXME: issue 20), but it never contradicts the search.
        if b == Some(Verdict::Unknown) {
            unknown.push(name);
            continue;
        }
        assert_eq!(a, b, "{name}: search says {a:?}, frontier says {b:?}");
        n += 1;
    }
    assert!(n >= 50, "only {n} histories decided by both");
    assert!(unknown.len() <= 2, "frontier undecided on {unknown:?}");
}

/// A random register history: `clients` clients, each op an interval; values from a real
/// register run then possibly corrupted.
fn random_register(rng: &mut ChaCha8Rng) -> History<RegisterInput, RegisterOutput> {
    let clients = rng.random_range(1..=4u64);
    let n = rng.random_range(1..=9usize);
    let mut h = History::new();
    let mut t = vec![0u64; clients as usize];
    for _ in 0..n {
        let c = rng.random_range(0..clients);
        let call = t[c as usize] + rng.random_range(0..5u64);
        let ret = call + rng.random_range(0..8u64);
        t[c as usize] = ret + 1;
        let v = rng.random_range(0..3i64);
        let input = match rng.random_range(0..3u32) {
            0 => RegisterInput::Read,
            1 => RegisterInput::Write(v),
            _ => RegisterInput::Cas(v, rng.random_range(0..3i64)),
        };
        let output = match &input {
            RegisterInput::Read => RegisterOutput::Read(
                (rng.random_range(0..4u32) > 0).then(|| rng.random_range(0..3i64)),
            ),
            RegisterInput::Write(_) => RegisterOutput::Written,
            RegisterInput::Cas(..) => RegisterOutput::Cas(rng.random_bool(0.5)),
        };
        match rng.random_range(0..10u32) {
            0 => h.unknown(c, call, input),
            1 => h.fail(c, call, ret, input),
            _ => h.ok(c, call, ret, input, output),
        }
    }
    h
}

fn random_kv(rng: &mut ChaCha8Rng) -> History<KvInput, KvOutput> {
    let clients = rng.random_range(1..=4u64);
    let n = rng.random_range(1..=9usize);
    let mut h = History::new();
    let mut t = vec![0u64; clients as usize];
    let vals = ["", "a", "b", "ab", "ba", "x", "xa"];
    for _ in 0..n {
        let c = rng.random_range(0..clients);
        let call = t[c as usize] + rng.random_range(0..5u64);
        let ret = call + rng.random_range(0..8u64);
        t[c as usize] = ret + 1;
        let key: faultline::check::Text = format!("k{}", rng.random_range(0..2u32)).into();
        let pick = |rng: &mut ChaCha8Rng| {
            faultline::check::Text::from(vals[rng.random_range(0..vals.len())])
        };
        let (input, output) = match rng.random_range(0..4u32) {
            0 => (KvInput::Get { key }, KvOutput::Value(pick(rng))),
            1 => (
                KvInput::Put {
                    key,
                    value: pick(rng),
                },
                KvOutput::Done,
            ),
            2 => (
                KvInput::Append {
                    key,
                    value: ["a", "b", "x"][rng.random_range(0..3usize)].into(),
                },
                KvOutput::Done,
            ),
            _ => (
                KvInput::Cas {
                    key,
                    from: pick(rng),
                    to: pick(rng),
                },
                KvOutput::Cas(rng.random_bool(0.5)),
            ),
        };
        match rng.random_range(0..10u32) {
            0 => h.unknown(c, call, input),
            _ => h.ok(c, call, ret, input, output),
        }
    }
    h
}

#[test]
fn both_modes_agree_on_10000_random_small_histories() {
    let mut rng = ChaCha8Rng::seed_from_u64(20261202);
    let mut bad = [0usize; 2];
    for i in 0..10_000 {
        let (a, b, pa, pb) = if i % 2 == 0 {
            let h = random_register(&mut rng);
            let a = check(&CasRegister::default(), &h, &opts(Mode::Search));
            let b = check(&CasRegister::default(), &h, &opts(Mode::Frontier));
            let p = |r: &faultline::check::CheckResult| {
                r.counterexample
                    .as_ref()
                    .map(|c| (c.key.clone(), c.prefix_end))
            };
            (a.verdict, b.verdict, p(&a), p(&b))
        } else {
            let h = random_kv(&mut rng);
            let a = check(&KvAppend, &h, &opts(Mode::Search));
            let b = check(&KvAppend, &h, &opts(Mode::Frontier));
            let p = |r: &faultline::check::CheckResult| {
                r.counterexample
                    .as_ref()
                    .map(|c| (c.key.clone(), c.prefix_end))
            };
            (a.verdict, b.verdict, p(&a), p(&b))
        };
        assert_eq!(a, b, "history {i}: search {a:?}, frontier {b:?}");
        // The frontier knows the results of operations still in flight, so it may fail at an
        // earlier return than the search's shortest prefix (which treats them as unknown),
        // never at a later one, and always in the same key.
        if let (Some(pa), Some(pb)) = (&pa, &pb) {
            assert!(
                pa.0 == pb.0 && pb.1 <= pa.1,
                "history {i}: search {pa:?}, frontier {pb:?}"
            );
        }
        bad[i % 2] += (a == Verdict::NotLinearizable) as usize;
    }
    // Both outcomes are well represented, or the agreement proves little.
    assert!(
        bad[0] > 1000 && bad[0] < 4000,
        "register: {} violations",
        bad[0]
    );
    assert!(bad[1] > 1000 && bad[1] < 4000, "kv: {} violations", bad[1]);
}

#[test]
fn generated_histories_are_linearizable_and_one_stale_read_is_caught() {
    for model in [
        GenModel::EtcdRegister,
        GenModel::CasRegister,
        GenModel::KvAppend,
    ] {
        for stale in [false, true] {
            let spec = GenSpec {
                model,
                ops: 20_000,
                clients: 10,
                seed: 7,
                stale_read: stale,
            };
            let want = if stale {
                Verdict::NotLinearizable
            } else {
                Verdict::Linearizable
            };
            let got = match model {
                GenModel::EtcdRegister | GenModel::CasRegister => {
                    let h = generate::register(&spec);
                    check(&CasRegister::default(), &h, &opts(Mode::Frontier)).verdict
                }
                GenModel::KvAppend => {
                    let h = generate::kv(&spec);
                    check(&KvAppend, &h, &opts(Mode::Frontier)).verdict
                }
            };
            assert_eq!(got, want, "{model:?} stale={stale}");
        }
    }
}

/// Issue 20: wide register histories (many clients on one key) defeat the search's memo; the
/// frontier's witness search decides them, and the stale-read variant is refuted on the prefix
/// without the other reads.
#[test]
fn wide_register_histories_are_decided_by_default() {
    for stale in [false, true] {
        let spec = GenSpec {
            model: GenModel::EtcdRegister,
            ops: 400,
            clients: 60,
            seed: 3,
            stale_read: stale,
        };
        let h = generate::register(&spec);
        let r = check(&CasRegister::default(), &h, &CheckOptions::default());
        let want = if stale {
            Verdict::NotLinearizable
        } else {
            Verdict::Linearizable
        };
        assert_eq!(r.verdict, want, "stale read injected: {stale}");
    }
}
