//! A hostile user's inputs that once slipped through (issue: the trust promises): a history
//! record that says a field twice or a completion that contradicts its invocation (read as a
//! guess, and judged), a `check` page or picture written over the user's own SVG, a sweep
//! writing over the results of an earlier sweep (the very resume that Ctrl-C suggested), and
//! durations rounded or misread without a word. Each table drives the real binary: the CLI is
//! the contract.

use std::path::Path;

use super::cli::{bin, run, text, tmp};

/// (case, file name, content, model, exit code, what the output must say).
const RECORDS: &[(&str, &str, &str, &str, i32, &str)] = &[
    (
        "a field twice in an EDN map",
        "v.edn",
        "{:process 0 :type :invoke :f :read :value nil}\n{:process 0 :type :ok :f :read :value nil :value 5}\n",
        "cas-register",
        2,
        "v.edn:2:1: this operation gives `value` twice",
    ),
    (
        "a keyword and a string of one field",
        "p.edn",
        "{:process 0 \"process\" 1 :type :invoke :f :read :value nil}\n",
        "cas-register",
        2,
        "p.edn:1:1: this operation gives `process` twice",
    ),
    (
        "a member twice in a JSON object",
        "p.json",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null,\"process\":1}\n",
        "cas-register",
        2,
        "p.json:1:1: this operation gives `process` twice",
    ),
    (
        "a field twice in a Jepsen 0.3 record",
        "r.edn",
        "#jepsen.history.Op{:process 0 :type :invoke :f :write :value 1 :f :read}\n",
        "cas-register",
        2,
        "r.edn:1:1: this operation gives `f` twice",
    ),
    (
        "a write completed with another value",
        "w.edn",
        "{:process 0 :type :invoke :f :write :value 1}\n{:process 0 :type :ok :f :write :value 2}\n",
        "cas-register",
        2,
        "w.edn:2:1: this :ok completion of :write says 2, but its invocation at line 1 says 1",
    ),
    (
        "a CAS failed with other arguments (etcd)",
        "c.edn",
        "[0 :invoke :cas [1 2]]\n[0 :fail :cas [1 3]]\n",
        "etcd-register",
        2,
        "c.edn:2:1: this :fail completion of :cas says [1 3], but its invocation at line 1 says [1 2]",
    ),
    (
        "a put completed on another key",
        "k.json",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"a\",\"value\":\"x\"}\n{\"process\":0,\"type\":\"ok\",\"f\":\"put\",\"key\":\"b\",\"value\":\"x\"}\n",
        "kv-append",
        2,
        "k.json:2:1: this :ok completion of :put says :key \"b\", but its invocation at line 1 says :key \"a\"",
    ),
    (
        "an append completed with another value",
        "a.edn",
        "{:process 0 :type :invoke :f :append :key \"a\" :value \"x\"}\n{:process 0 :type :ok :f :append :key \"a\" :value \"y\"}\n",
        "kv-append",
        2,
        "a.edn:2:1: this :ok completion of :append says \"y\", but its invocation at line 1 says \"x\"",
    ),
    // Keys a model would merge: a register model read every :key as its one register (a
    // read of key b "saw" key a's write: linearizable), and kv-append read 1, "1" and :1
    // as one key.
    (
        "a :key on a single register",
        "r.edn",
        "{:process 0 :type :invoke :f :write :key \"a\" :value 1}\n{:process 0 :type :ok :f :write :key \"a\" :value 1}\n{:process 1 :type :invoke :f :read :key \"b\" :value nil}\n{:process 1 :type :ok :f :read :key \"b\" :value 1}\n",
        "cas-register",
        2,
        "r.edn:1:1: this operation names :key \"a\", but this model has no keys",
    ),
    (
        "a :key on a lock",
        "m.json",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"acquire\",\"key\":\"l1\"}\n",
        "mutex",
        2,
        "m.json:1:1: this operation names :key \"l1\", but this model has no keys",
    ),
    (
        "an integer key, then a string key",
        "k.json",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"put\",\"key\":1,\"value\":\"x\"}\n{\"process\":0,\"type\":\"ok\",\"f\":\"put\",\"key\":1,\"value\":\"x\"}\n{\"process\":1,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"1\"}\n{\"process\":1,\"type\":\"ok\",\"f\":\"get\",\"key\":\"1\",\"value\":\"x\"}\n",
        "kv-append",
        2,
        "k.json:3:1: this :key is a string, but the :key at line 1 is an integer",
    ),
    (
        "a keyword key, then a string key",
        "k.edn",
        "{:process 0 :type :invoke :f :put :key :a :value \"x\"}\n{:process 0 :type :ok :f :put :key :a :value \"x\"}\n{:process 1 :type :invoke :f :get :key \"a\"}\n{:process 1 :type :ok :f :get :key \"a\" :value \"x\"}\n",
        "kv-append",
        2,
        "k.edn:3:1: this :key is a string, but the :key at line 1 is a keyword",
    ),
    (
        "integer keys throughout",
        "i.json",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"put\",\"key\":1,\"value\":\"x\"}\n{\"process\":0,\"type\":\"ok\",\"f\":\"put\",\"key\":1,\"value\":\"x\"}\n{\"process\":1,\"type\":\"invoke\",\"f\":\"get\",\"key\":1}\n{\"process\":1,\"type\":\"ok\",\"f\":\"get\",\"key\":1,\"value\":\"x\"}\n",
        "kv-append",
        0,
        "i.json linearizable 2 ops",
    ),
    (
        "a multi-register named by a keyword, then a string",
        "x.edn",
        "[{:process 0 :type :invoke :f :txn :value [[:write :x 1]]}\n{:process 0 :type :ok :f :txn :value [[:write :x 1]]}\n{:process 1 :type :invoke :f :txn :value [[:read \"x\" nil]]}\n{:process 1 :type :ok :f :txn :value [[:read \"x\" 1]]}]\n",
        "multi-register",
        2,
        "x.edn:3:1: this transaction names a register by a string, but line 1 by a keyword",
    ),
    // An acquire's value is its fencing token: one the model cannot read was dropped, and
    // tokens that went back (7, then 3) passed as a mutex history.
    (
        "a fencing token written as a string",
        "t.edn",
        "{:process 0 :type :invoke :f :acquire}\n{:process 0 :type :ok :f :acquire :value \"7\"}\n{:process 0 :type :invoke :f :release}\n{:process 0 :type :ok :f :release}\n{:process 1 :type :invoke :f :acquire}\n{:process 1 :type :ok :f :acquire :value \"3\"}\n",
        "mutex",
        2,
        "t.edn:2:1: an acquire's :ok value is its fencing token: expected an integer or nil, found \"7\"",
    ),
    (
        "a fencing token written as a float",
        "f.json",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"acquire\"}\n{\"process\":0,\"type\":\"ok\",\"f\":\"acquire\",\"value\":7.0}\n",
        "mutex",
        2,
        "f.json:2:1: an acquire's :ok value is its fencing token: expected an integer or nil, found 7.0",
    ),
    (
        "fencing tokens that go back",
        "b.edn",
        "{:process 0 :type :invoke :f :acquire}\n{:process 0 :type :ok :f :acquire :value 7}\n{:process 0 :type :invoke :f :release}\n{:process 0 :type :ok :f :release}\n{:process 1 :type :invoke :f :acquire}\n{:process 1 :type :ok :f :acquire :value 3}\n",
        "mutex",
        1,
        "b.edn not-linearizable 3 ops",
    ),
    // The model applies a completed transaction's writes: a completion that writes another
    // value than its invocation was read as it said (x = 2), so the read of 1 failed.
    (
        "a transaction completed with another written value",
        "w.edn",
        "{:process 0 :type :invoke :f :txn :value [[:write :x 1]]}\n{:process 0 :type :ok :f :txn :value [[:write :x 2]]}\n{:process 1 :type :invoke :f :txn :value [[:read :x nil]]}\n{:process 1 :type :ok :f :txn :value [[:read :x 1]]}\n",
        "multi-register",
        2,
        "w.edn:2:1: the completed transaction writes x 2, but its invocation at line 1 writes x 1",
    ),
    // A negative process was shown as a client 2^64 - 5.
    (
        "a negative process",
        "n.edn",
        "[-5 :invoke :write 1]\n[-5 :ok :write 1]\n[1 :invoke :read nil]\n[1 :ok :read 2]\n",
        "cas-register",
        2,
        "n.edn:1:1: :process -5 is negative",
    ),
    // What real histories do is still read: an :info's value is a reason, a completion may
    // leave the value out, and a get's completion carries what it read.
    (
        "an :info that says why",
        "i.edn",
        "[0 :invoke :write 1]\n[0 :info :write :timed-out]\n[1 :invoke :cas [1 2]]\n[1 :info :cas :timed-out]\n",
        "etcd-register",
        0,
        "i.edn linearizable 2 ops",
    ),
    (
        "a completion without its value",
        "n.edn",
        "{:process 0 :type :invoke :f :write :value 1}\n{:process 0 :type :ok :f :write}\n{:process 0 :type :invoke :f :read :value nil}\n{:process 0 :type :ok :f :read :value 1}\n",
        "cas-register",
        0,
        "n.edn linearizable 2 ops",
    ),
    (
        "a get and its value",
        "g.edn",
        "{:process 0 :type :invoke :f :append :key \"a\" :value \"x\"}\n{:process 0 :type :ok :f :append :key \"a\" :value \"x\"}\n{:process 0 :type :invoke :f :get :key \"a\" :value nil}\n{:process 0 :type :ok :f :get :key \"a\" :value \"x\"}\n",
        "kv-append",
        0,
        "g.edn linearizable 2 ops",
    ),
];

#[test]
fn ambiguous_or_contradictory_records_get_no_verdict() {
    let d = tmp("hostile-records");
    let mut failures = Vec::new();
    for (case, name, content, model, code, says) in RECORDS {
        let f = d.join(name);
        std::fs::write(&f, content).unwrap();
        let o = bin()
            .current_dir(&d)
            .args(["check", name, "--model", model])
            .output()
            .unwrap();
        let t = text(&o);
        if o.status.code() != Some(*code) || !t.contains(says) {
            failures.push(format!(
                "{case}: expected exit {code} and `{says}`, got {:?}:\n{t}",
                o.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn data(rel: &str) -> Option<std::path::PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: {} is absent", p.display());
        None
    }
}

const USERS_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\"><!-- my drawing --></svg>\n";

/// (case, the user's file (relative to a scratch folder), its content, the arguments after
/// the history and model, what the error must say).
const PAGES: &[(&str, &str, &str, &[&str], &str)] = &[
    (
        "--html over the user's SVG",
        "mine.svg",
        USERS_SVG,
        &["--html", "mine.svg"],
        "--html mine.svg exists and was not written by this command",
    ),
    (
        "--report over a folder holding the user's timeline.svg",
        "rep/timeline.svg",
        USERS_SVG,
        &["--report", "rep"],
        "--report rep/timeline.svg exists and was not written by this command",
    ),
    (
        "--report over a folder holding the user's counterexample.svg",
        "rep2/counterexample.svg",
        USERS_SVG,
        &["--report", "rep2"],
        "--report rep2/counterexample.svg exists and was not written by this command",
    ),
    (
        "--report naming a file",
        "notes.txt",
        "my notes\n",
        &["--report", "notes.txt"],
        "--report notes.txt is a file, not a folder",
    ),
    (
        "--html naming a folder",
        "dir/keep.txt",
        "kept\n",
        &["--html", "dir"],
        "--html dir exists and was not written by this command",
    ),
    (
        "--html over the history itself",
        "h.edn",
        "",
        &["--html", "h.edn"],
        "--html h.edn is the input h.edn",
    ),
];

#[test]
fn check_pages_never_replace_the_users_files() {
    let Some(history) = data("edn/good/cas-register-basic.edn") else {
        return;
    };
    let d = tmp("hostile-pages");
    let h = d.join("h.edn");
    std::fs::copy(&history, &h).unwrap();
    let check = |extra: &[&str]| {
        bin()
            .current_dir(&d)
            .args(["check", "h.edn", "--model", "cas-register"])
            .args(extra)
            .output()
            .unwrap()
    };
    let mut failures = Vec::new();
    for (case, file, content, args, says) in PAGES {
        let f = d.join(file);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        if !content.is_empty() {
            std::fs::write(&f, content).unwrap();
        }
        let before = std::fs::read(&f).unwrap();
        let o = check(args);
        let t = text(&o);
        if o.status.code() != Some(2) || !t.contains(says) || t.contains("linearizable") {
            failures.push(format!(
                "{case}: expected exit 2 and `{says}` before any verdict, got {:?}:\n{t}",
                o.status.code()
            ));
        }
        if std::fs::read(&f).unwrap() != before {
            failures.push(format!("{case}: {file} was changed"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // What check wrote itself, it may replace: a second report over the first.
    for _ in 0..2 {
        let o = check(&["--report", "ours"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    let svg = std::fs::read_to_string(d.join("ours/timeline.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<!-- faultline check -->"));
}

#[test]
fn finished_sweep_results_are_never_replaced() {
    let d = tmp("hostile-results");
    let (a, b, m) = (d.join("a.jsonl"), d.join("b.jsonl"), d.join("all.jsonl"));
    let sweep = |seeds: &str, out: &Path| {
        let o = run(&[
            "sweep",
            "scenarios/raft-basic.ron",
            "--seeds",
            seeds,
            "--json",
            out.to_str().unwrap(),
        ]);
        (o.status.code(), text(&o))
    };
    assert_eq!(sweep("0..2", &a).0, Some(0));
    let first = std::fs::read(&a).unwrap();
    // Resuming into the same file would have lost seeds 0 and 1.
    let (code, t) = sweep("2..4", &a);
    assert_eq!(code, Some(2), "{t}");
    assert!(
        t.contains("holds the results of an earlier sweep or merge: refusing to replace them"),
        "{t}"
    );
    assert_eq!(
        std::fs::read(&a).unwrap(),
        first,
        "the earlier results are intact"
    );
    // Another file, then merge: the way the message points to.
    assert_eq!(sweep("2..4", &b).0, Some(0));
    let merge = |out: &Path| {
        run(&[
            "merge",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--json",
            out.to_str().unwrap(),
        ])
    };
    let o = merge(&m);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&m).unwrap().lines().count(), 4);
    let merged = std::fs::read(&m).unwrap();
    // A merge's output is results too.
    let o = merge(&m);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(std::fs::read(&m).unwrap(), merged);
    // An empty file holds nothing to lose.
    let e = d.join("empty.jsonl");
    std::fs::write(&e, "").unwrap();
    assert_eq!(sweep("0..1", &e).0, Some(0));
}

/// The text of `scenarios/raft-basic.ron` (10 s, clients stop at 8 s), to edit.
fn raft_basic() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/raft-basic.ron"))
        .unwrap()
}

/// Commands that record every event of a run before they write anything: (arguments after
/// the scenario, what the refusal must say).
const RECORDERS: &[(&[&str], &str)] = &[
    (
        &["run", "--steps", "all", "--out"],
        "--steps all: this run handles more than 1000000 events",
    ),
    (
        &["replay", "--to", "0.1s"],
        "this run handles more than 2000000 events, the most replay records",
    ),
];

#[test]
fn runs_too_long_to_record_are_refused_before_recording() {
    let d = tmp("hostile-recorders");
    // 3,000 s of a healthy cluster: some 2.6 million events (about 1.6 GB recorded); the
    // refusal runs at most the bound's events, unrecorded.
    let f = d.join("long.ron");
    std::fs::write(
        &f,
        raft_basic()
            .replace("\"10s\"", "\"3000s\"")
            .replace("stop: \"8s\"", "stop: \"3000s\""),
    )
    .unwrap();
    let out = d.join("report");
    for (args, says) in RECORDERS {
        let mut cmd = bin();
        cmd.arg(args[0]).arg(&f).args(&args[1..]);
        if args.ends_with(&["--out"]) {
            cmd.arg(&out);
        }
        let o = cmd.output().unwrap();
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
        assert!(t.contains(says), "{args:?}: {t}");
    }
    assert!(!out.exists(), "nothing written");
}

/// (duration written in a scenario, what the error must say).
const DURATIONS: &[(&str, &str)] = &[
    ("-1ms", "`-1ms` is negative: a duration is zero or more"),
    ("- 5s", "`- 5s` is negative"),
    ("1.9ns", "`1.9ns` is finer than a nanosecond"),
    (
        "0.0000000001s",
        "`0.0000000001s` is finer than a nanosecond",
    ),
    ("1.0000000005s", "is finer than a nanosecond"),
];

#[test]
fn durations_are_never_rounded_or_misread() {
    let d = tmp("hostile-durations");
    let base = raft_basic();
    let mut failures = Vec::new();
    for (dur, says) in DURATIONS {
        let f = d.join("s.ron");
        std::fs::write(&f, base.replace("\"10s\"", &format!("{dur:?}"))).unwrap();
        let o = run(&["run", f.to_str().unwrap(), "--no-report"]);
        let t = text(&o);
        if o.status.code() != Some(2) || !t.contains(says) || !t.contains("s.ron:") {
            failures.push(format!(
                "{dur}: expected exit 2 and `{says}`, got {:?}:\n{t}",
                o.status.code()
            ));
        }
    }
    // Zeros past the nanosecond are no rounding.
    std::fs::write(
        d.join("s.ron"),
        base.replace("\"10s\"", "\"0.5000000000s\""),
    )
    .unwrap();
    let o = run(&["run", d.join("s.ron").to_str().unwrap(), "--no-report"]);
    assert!(text(&o).contains("simulated  0.500000000s"), "{}", text(&o));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Input nested past the readers' bound, built as (case, file name, head, a piece repeated
/// 100,000 times, tail, what the error must say). A chain of `#_` discards nests as deeply
/// as brackets do (`#_ #_ a b` drops both), and once overflowed the stack.
const DEEP: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "discards before the first record",
        "d.edn",
        "",
        "#_",
        "[]\n",
        "d.edn:1:401: nesting deeper than 200 levels",
    ),
    (
        "discards inside a record",
        "r.edn",
        "{:process 0 :type :invoke :f :write :value ",
        "#_ ",
        "1}\n",
        "r.edn:1:",
    ),
    (
        "discards in a file named .json",
        "j.json",
        "",
        "#_",
        "[]\n",
        "j.json:1:401: nesting deeper than 200 levels",
    ),
    (
        "brackets",
        "b.edn",
        "",
        "[",
        "",
        "b.edn:1:202: nesting deeper than 200 levels",
    ),
];

#[test]
fn deep_nesting_is_refused_without_exhausting_the_stack() {
    let d = tmp("hostile-deep");
    let mut failures = Vec::new();
    for (case, name, head, piece, tail, says) in DEEP {
        std::fs::write(
            d.join(name),
            format!("{head}{}{tail}", piece.repeat(100_000)),
        )
        .unwrap();
        let o = bin()
            .current_dir(&d)
            .args(["check", name, "--model", "cas-register"])
            .output()
            .unwrap();
        let t = text(&o);
        if o.status.code() != Some(2) || !t.contains(says) || !t.contains("nesting deeper") {
            failures.push(format!(
                "{case}: expected exit 2 and `{says}`, got {:?}:\n{t}",
                o.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Bundled scenarios run with `events: N` added to their limits: (scenario, N). A
/// load-balancer run the event limit stops leaves requests open before their timeout; its
/// `accounting` check called that a VIOLATION (exit 1) of the balancer.
const EVENT_LIMITED: &[(&str, u64)] = &[
    ("lb-strategies.ron", 300),
    ("lb-heavy-tail.ron", 3000),
    ("consistent-hashing-rebalance.ron", 30_000),
];

#[test]
fn a_run_stopped_by_the_event_limit_blames_no_protocol() {
    let d = tmp("hostile-event-limit");
    let mut failures = Vec::new();
    for (name, events) in EVENT_LIMITED {
        let src = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("scenarios")
                .join(name),
        )
        .unwrap();
        assert!(src.contains("limits: ("), "{name}");
        let f = d.join(name);
        std::fs::write(
            &f,
            src.replace("limits: (", &format!("limits: (events: {events}, ")),
        )
        .unwrap();
        let o = run(&["run", f.to_str().unwrap(), "--no-report"]);
        let t = text(&o);
        if o.status.code() != Some(4)
            || t.contains("VIOLATION")
            || !t.contains("event limit reached")
        {
            failures.push(format!(
                "{name} with {events} events: expected exit 4 and no VIOLATION, got {:?}:\n{t}",
                o.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A folder of histories with one entry that cannot be read as a history: (case, how the
/// entry is made, what the error must say). The listing kept regular files only, so the
/// entry was left out unseen and the folder judged on the rest: exit 0, `linearizable`.
const UNREADABLE_ENTRIES: &[(&str, &str, &str)] = &[
    (
        "a link to a file that is gone",
        "link",
        "b.edn: No such file or directory",
    ),
    (
        "a named pipe",
        "fifo",
        "b.edn: not a regular file (a pipe, socket or device)",
    ),
];

#[test]
fn a_folder_entry_that_cannot_be_read_is_refused_not_skipped() {
    let mut failures = Vec::new();
    for (case, how, says) in UNREADABLE_ENTRIES {
        let d = tmp(&format!("hostile-folder-{how}"));
        let h = d.join("h");
        std::fs::create_dir_all(h.join("sub")).unwrap();
        std::fs::write(h.join("a.edn"), "[0 :invoke :write 1]\n[0 :ok :write 1]\n").unwrap();
        let b = h.join("b.edn");
        if *how == "link" {
            std::os::unix::fs::symlink(d.join("gone.edn"), &b).unwrap();
        } else {
            let c = std::ffi::CString::new(b.to_str().unwrap()).unwrap();
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        }
        let o = check_folder_h(&d);
        let t = text(&o);
        if o.status.code() != Some(2) || !t.contains(says) {
            failures.push(format!(
                "{case}: expected exit 2 and `{says}`, got {:?}:\n{t}",
                o.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `faultline check h --model cas-register`, run in `d`.
fn check_folder_h(d: &std::path::Path) -> std::process::Output {
    bin()
        .current_dir(d)
        .args(["check", "h", "--model", "cas-register"])
        .output()
        .unwrap()
}

/// A folder inside a checked folder is not searched, and a note names it: a history kept
/// in a subfolder is never left out unseen.
#[test]
fn folders_inside_a_checked_folder_are_named_not_skipped_unseen() {
    let d = tmp("hostile-folder-inside");
    let h = d.join("h");
    std::fs::create_dir_all(h.join("more")).unwrap();
    std::fs::write(h.join("a.edn"), "[0 :invoke :write 1]\n[0 :ok :write 1]\n").unwrap();
    std::fs::write(h.join("more").join("b.edn"), "[0 :invoke :read nil]\n").unwrap();
    let o = check_folder_h(&d);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("1 folder inside h not searched") && t.contains("more"),
        "{t}"
    );
}

#[test]
fn shrink_never_calls_an_inconclusive_run_a_pass() {
    // raft-basic stopped by the event limit: INCONCLUSIVE, which shrink reported as
    // "passes every check".
    let d = tmp("hostile-shrink-verdict");
    let f = d.join("short.ron");
    std::fs::write(
        &f,
        raft_basic().replace("limits: (", "limits: (events: 500, "),
    )
    .unwrap();
    let o = run(&["run", f.to_str().unwrap(), "--no-report"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let o = run(&["shrink", f.to_str().unwrap(), "--seed", "0"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("seed 0 of `raft-basic` has no violation: its verdict is INCONCLUSIVE"),
        "{t}"
    );
    assert!(!t.contains("passes"), "{t}");
}

#[test]
fn a_scenario_saved_with_a_byte_order_mark_loads() {
    // Some editors start a UTF-8 file with U+FEFF, which no one sees; the loader stopped at
    // it with "1:1: Expected opening `(` for struct `Scenario`".
    let d = tmp("hostile-bom");
    let f = d.join("bom.ron");
    std::fs::write(&f, format!("\u{feff}{}", raft_basic())).unwrap();
    let o = run(&["run", f.to_str().unwrap(), "--no-report"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}
