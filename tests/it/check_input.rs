//! `faultline check` never gives a verdict on input it could not read: one case per way a file
//! can be unreadable, empty or misread (each exits 2 with `file:line`), and one per shape in
//! which Jepsen, Knossos and Porcupine actually write histories (each gets its verdict). The
//! cases drive the real binary. Property tests: random bytes, truncated and mutated histories
//! never panic the reader and never pass as a reading.

use std::path::PathBuf;
use std::process::{Command, Output};

use faultline::check::parse::{ModelName, check_text, read};
use faultline::check::{CheckOptions, Verdict};
use proptest::prelude::*;

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-check-input-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A stale read: write 1 completes, then a read returns nil. Not linearizable.
const STALE_VEC: &str = "[{:process 0, :type :invoke, :f :write, :value 1}
 {:process 0, :type :ok, :f :write, :value 1}
 {:process 1, :type :invoke, :f :read, :value nil}
 {:process 1, :type :ok, :f :read, :value nil}]
";

struct Case {
    name: &'static str,
    file: &'static str,
    content: &'static [u8],
    args: &'static [&'static str],
    code: i32,
    says: &'static [&'static str],
}

const fn case(
    name: &'static str,
    file: &'static str,
    content: &'static str,
    args: &'static [&'static str],
    code: i32,
    says: &'static [&'static str],
) -> Case {
    Case {
        name,
        file,
        content: content.as_bytes(),
        args,
        code,
        says,
    }
}

const CAS: &[&str] = &["--model", "cas-register"];

fn cases() -> Vec<Case> {
    vec![
        // ---- Unreadable: exit 2, located, never a verdict.
        case(
            "garbage text",
            "x.txt",
            "garbage here\n",
            CAS,
            2,
            &["x.txt:1:1:", "fits no history format"],
        ),
        case(
            "empty file",
            "empty.edn",
            "",
            CAS,
            2,
            &["empty.edn:1:", "empty"],
        ),
        case(
            "only blank lines",
            "blank.edn",
            "\n  \n\t\n",
            CAS,
            2,
            &["empty"],
        ),
        case(
            "only comments",
            "comments.edn",
            "; nothing\n;; here\n",
            CAS,
            2,
            &["only comments"],
        ),
        case(
            "empty vector",
            "v.edn",
            "[]\n",
            CAS,
            2,
            &["v.edn:1:", "no operation"],
        ),
        // A Jepsen log line ends with its newline: without it the log may have been cut
        // while it was written, and a value cut short ("12" to "1") reads as another. Here
        // the read of 12 was read as a read of 1, a stale read: a false violation.
        case(
            "Porcupine etcd log cut inside its last line",
            "cut.log",
            "INFO  jepsen.util - 0\t:invoke\t:write\t1\n\
             INFO  jepsen.util - 0\t:ok\t:write\t1\n\
             INFO  jepsen.util - 0\t:invoke\t:write\t12\n\
             INFO  jepsen.util - 0\t:ok\t:write\t12\n\
             INFO  jepsen.util - 1\t:invoke\t:read\tnil\n\
             INFO  jepsen.util - 1\t:ok\t:read\t1",
            &["--model", "etcd-register"],
            2,
            &["cut.log:6:", "no end of line"],
        ),
        case(
            "truncated vector",
            "t.edn",
            "[{:process 0, :type :invoke, :f :write, :value 1}\n {:process 0, :type :ok",
            CAS,
            2,
            &["t.edn:2:", "not closed"],
        ),
        case(
            "odd map",
            "odd.edn",
            "[{:process 0, :type :invoke, :f :read, :value nil}\n {:process 0 :type}]",
            CAS,
            2,
            &["odd.edn:2:2:", "even number"],
        ),
        case(
            "unknown type",
            "ty.edn",
            "{:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :done, :f :read, :value 1}\n",
            CAS,
            2,
            &["ty.edn:2:1:", ":done"],
        ),
        case(
            "record that is not an op",
            "n.edn",
            "[{:process 0, :type :invoke, :f :read, :value nil}\n 42]",
            CAS,
            2,
            &["n.edn:2:2:", "found a number"],
        ),
        case(
            "garbage in the middle of a log",
            "g.log",
            "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nWARN something else\nINFO  jepsen.util - 0\t:ok\t:read\tnil\n",
            &["--model", "etcd-register"],
            2,
            &["g.log:2:", "expected Jepsen log lines"],
        ),
        case(
            "log line missing its value",
            "m.log",
            "INFO  jepsen.util - 0\t:invoke\t:read\n",
            &["--model", "etcd-register"],
            2,
            &["m.log:1:", "four fields"],
        ),
        case(
            "only nemesis",
            "nem.edn",
            "{:process :nemesis, :type :info, :f :start, :value nil}\n{:process :nemesis, :type :info, :f :start, :value [:isolated {\"n1\" #{\"n2\"}}]}\n",
            CAS,
            2,
            &["nemesis operations"],
        ),
        case(
            "--format contradicted",
            "c.edn",
            STALE_VEC,
            &["--model", "cas-register", "--format", "json"],
            2,
            &["--format json", "is edn"],
        ),
        case(
            "--format on a log",
            "c.log",
            "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n",
            &["--model", "etcd-register", "--format", "edn"],
            2,
            &["--format edn", "porcupine-etcd"],
        ),
        case(
            "broken JSON",
            "b.json",
            "[{\"process\": 0, \"type\": \"invoke\", \"f\": \"read\"},\n {\"process\": 0, \"type\": ]",
            CAS,
            2,
            &["b.json:2:", "invalid JSON"],
        ),
        case(
            "completion with no invocation",
            "ok.edn",
            "{:process 3, :type :ok, :f :read, :value 1}\n",
            CAS,
            2,
            &["ok.edn:1:1:", "no pending invocation"],
        ),
        case(
            "double invocation",
            "dd.edn",
            "{:process 3, :type :invoke, :f :read, :value nil}\n{:process 3, :type :invoke, :f :read, :value nil}\n",
            CAS,
            2,
            &["dd.edn:2:1:", "invokes again"],
        ),
        case(
            "operation the model lacks",
            "kv.edn",
            "{:process 0, :type :invoke, :f :append, :key \"a\", :value \"x\"}\n{:process 0, :type :ok, :f :append, :key \"a\", :value \"x\"}\n",
            CAS,
            2,
            &["kv.edn:1:1:", "unknown operation :append"],
        ),
        case(
            "cas on a plain register",
            "pr.edn",
            "[{:process 0, :type :invoke, :f :cas, :value [1 2]}]",
            &["--model", "register"],
            2,
            &["pr.edn:1:2:", "--model cas-register"],
        ),
        case(
            "txn on a register",
            "tx.edn",
            "[{:process 0, :type :invoke, :f :txn, :value [[:read :x nil]]}]",
            CAS,
            2,
            &["multi-register"],
        ),
        case(
            "bad escape",
            "esc.edn",
            "[{:process 0, :type :invoke, :f :write, :value 1, :error \"a\\qb\"}]",
            CAS,
            2,
            &["esc.edn:1:", "unknown escape"],
        ),
        // ---- Read as the tools write them: the right verdict.
        case(
            "vector of maps",
            "v.edn",
            STALE_VEC,
            CAS,
            1,
            &["2 ops", "cannot be linearized"],
        ),
        case(
            "leading comment",
            "lc.edn",
            ";; A stale read (Knossos writes notes like this)\n[{:process 0, :type :invoke, :f :write, :value 1}\n {:process 0, :type :ok, :f :write, :value 1}\n ; then a late read\n {:process 1, :type :invoke, :f :read, :value nil}\n {:process 1, :type :ok, :f :read, :value nil}]\n",
            CAS,
            1,
            &["not-linearizable"],
        ),
        case(
            "a list",
            "list.edn",
            "({:type :invoke, :f :write, :value 1, :process 0}\n {:type :ok, :f :write, :value 1, :process 0}\n {:type :invoke, :f :read, :value nil, :process 1}\n {:type :ok, :f :read, :value nil, :process 1}\n)\n",
            CAS,
            1,
            &["not-linearizable"],
        ),
        case(
            "Jepsen history.edn, one op a line, nemesis",
            "history.edn",
            "{:index 0, :time 5, :type :invoke, :process 0, :f :write, :value 1}\n\
             {:index 1, :time 9, :type :info, :process :nemesis, :f :start-partition, :value nil}\n\
             {:index 2, :time 12, :type :ok, :process 0, :f :write, :value 1}\n\
             {:index 3, :time 20, :type :info, :process :nemesis, :f :start-partition, :value [:isolated {\"n1\" #{\"n2\" \"n3\"}}]}\n\
             {:index 4, :time 30, :type :invoke, :process 1, :f :read, :value nil}\n\
             {:index 5, :time 40, :type :ok, :process 1, :f :read, :value 1}\n",
            CAS,
            0,
            &["linearizable 2 ops, 2 nemesis ignored"],
        ),
        case(
            "Jepsen 0.3 tagged records",
            "op.edn",
            "#jepsen.history.Op{:index 0, :time 1, :type :invoke, :process 0, :f :write, :value 2}\n\
             #jepsen.history.Op{:index 1, :time 2, :type :ok, :process 0, :f :write, :value 2}\n\
             #jepsen.history.Op{:index 2, :time 3, :type :invoke, :process 1, :f :read, :value nil}\n\
             #jepsen.history.Op{:index 3, :time 4, :type :ok, :process 1, :f :read, :value 3}\n",
            CAS,
            1,
            &["not-linearizable"],
        ),
        case(
            "Knossos tuples",
            "tuples.edn",
            "[0 :invoke :write 1]\n[0 :ok :write 1]\n[1 :invoke :read nil]\n[1 :ok :read 1]\n",
            CAS,
            0,
            &["linearizable 2 ops"],
        ),
        case(
            "extra keys, errors, escapes, N, discards",
            "rich.edn",
            "[{:type :invoke, :process 1N, :f :read, :value 3, :node \"n1\"}\n\
             #_ {:type :invoke, :process 9, :f :read, :value nil}\n\
             {:type :invoke, :process 101, :f :write, :value 3}\n\
             {:type :fail, :process 101, :f :write, :value 3, :error [:temporarily-unavailable nil]}\n\
             {:jepsen.history/tag #{:a :b}, :type :ok, :process 1, :f :read, :value 3, :error \"no \\\"error\\\" \\u00e9\", :ch \\a}]\n",
            CAS,
            1,
            &["not-linearizable"],
        ),
        case(
            "info means unknown",
            "info.edn",
            "[{:process 0, :type :invoke, :f :write, :value 3}\n {:process 0, :type :info, :f :write, :value 3, :error :timeout}\n {:process 1, :type :invoke, :f :read, :value nil}\n {:process 1, :type :ok, :f :read, :value nil}\n {:process 1, :type :invoke, :f :read, :value nil}\n {:process 1, :type :ok, :f :read, :value 3}]\n",
            CAS,
            0,
            &["linearizable"],
        ),
        case(
            "Porcupine etcd log with nemesis",
            "e.log",
            "INFO  jepsen.util - 0\t:invoke\t:write\t1\n\
             INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n\
             INFO  jepsen.util - 0\t:ok\t:write\t1\n\
             INFO  jepsen.util - 1\t:invoke\t:cas\t[1 4]\n\
             INFO  jepsen.util - 1\t:fail\t:cas\t[1 4]\n",
            &["--model", "etcd-register"],
            1,
            &["1 nemesis ignored"],
        ),
        case(
            "Porcupine etcd log, :hint variant",
            "h.log",
            "INFO  jepsen.util - 6 \t:invoke :write \t38 \t:hint 0\n\
             INFO  jepsen.util - 6 \t:ok :write \t38 \t:hint 2\n\
             INFO  jepsen.util - 4 \t:invoke :read \tnil \t:hint 0\n\
             INFO  jepsen.util - 4 \t:ok :read \t38 \t:hint 2\n",
            &["--model", "etcd-register"],
            0,
            &["linearizable 2 ops"],
        ),
        case(
            "Porcupine kv, one map a line",
            "c.txt",
            "{:process 0, :type :invoke, :f :append, :key \"0\", :value \"x 0 0 y\"}\n\
             {:process 0, :type :ok, :f :append, :key \"0\", :value \"x 0 0 y\"}\n\
             {:process 1, :type :invoke, :f :get, :key \"0\", :value nil}\n\
             {:process 1, :type :ok, :f :get, :key \"0\", :value \"x 0 0 y\"}\n",
            &["--model", "kv-append"],
            0,
            &["linearizable 2 ops"],
        ),
        case(
            "JSON array",
            "a.json",
            "[{\"process\": 0, \"type\": \"invoke\", \"f\": \"write\", \"value\": 1},\n {\"process\": 0, \"type\": \"ok\", \"f\": \"write\", \"value\": 1},\n {\"process\": 1, \"type\": \"invoke\", \"f\": \"read\", \"value\": null},\n {\"process\": 1, \"type\": \"ok\", \"f\": \"read\", \"value\": null}]",
            CAS,
            1,
            &["(json,"],
        ),
        case(
            "JSON lines",
            "a.jsonl",
            "{\"process\": 0, \"type\": \"invoke\", \"f\": \"write\", \"value\": 1}\n{\"process\": 0, \"type\": \"ok\", \"f\": \"write\", \"value\": 1}\n",
            CAS,
            0,
            &["linearizable 1 ops"],
        ),
        case(
            "Knossos multi-register",
            "multi.edn",
            "; A multi-register with x=0 and y=0\n[{:type :invoke, :f :txn, :value [[:read :x nil] [:read :y nil]], :process 2, :time 1}\n\
             {:type :invoke, :f :txn, :value [[:write :y 2]], :process 4, :time 2}\n\
             {:type :ok, :f :txn, :value [[:read :x 0] [:read :y 0]], :process 2, :time 3}\n\
             {:type :ok, :f :txn, :value [[:write :y 2]], :process 4, :time 4}\n\
             {:type :invoke, :f :txn, :value [[:read :y nil]], :process 2, :time 5}\n\
             {:type :ok, :f :txn, :value [[:read :y 0]], :process 2, :time 6}]\n",
            &["--model", "multi-register", "--initial", "0"],
            1,
            &["not-linearizable"],
        ),
        case(
            "Knossos register starting at 0",
            "k0.edn",
            "[{:process 0, :type :invoke, :f :read, :value nil}\n {:process 0, :type :ok, :f :read, :value 0}]\n",
            &["--model", "cas-register", "--initial", "0"],
            0,
            &["linearizable"],
        ),
        case(
            "the same without --initial",
            "k0.edn",
            "[{:process 0, :type :invoke, :f :read, :value nil}\n {:process 0, :type :ok, :f :read, :value 0}]\n",
            CAS,
            1,
            &["not-linearizable"],
        ),
    ]
}

#[test]
fn every_case_gets_its_exit_code_and_a_located_message() {
    let d = dir();
    let mut failures = Vec::new();
    for (i, c) in cases().iter().enumerate() {
        let sub = d.join(format!("case{i}"));
        std::fs::create_dir_all(&sub).unwrap();
        let p = sub.join(c.file);
        std::fs::write(&p, c.content).unwrap();
        let mut args = vec!["check", p.to_str().unwrap()];
        args.extend_from_slice(c.args);
        let o = run(&args);
        let t = text(&o);
        let code = o.status.code();
        if code != Some(c.code) || !c.says.iter().all(|s| t.contains(s)) {
            failures.push(format!(
                "{}: exit {code:?} (want {}), output:\n{t}",
                c.name, c.code
            ));
        }
        if c.code == 2 {
            // No verdict word anywhere on stdout.
            let out = String::from_utf8_lossy(&o.stdout);
            assert!(
                !out.contains("linearizable"),
                "{}: a verdict on unreadable input: {out}",
                c.name
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn bytes_that_are_not_text_are_refused() {
    let p = dir().join("bin.edn");
    std::fs::write(&p, b"[{:process 0 \xff\xfe}]").unwrap();
    let o = run(&["check", p.to_str().unwrap(), "--model", "cas-register"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("bin.edn:1:14: not UTF-8"), "{}", text(&o));
}

#[test]
fn help_lists_models_formats_and_exit_codes() {
    let o = run(&["check", "--help"]);
    let t = text(&o);
    for w in [
        "etcd-register",
        "cas-register",
        "multi-register",
        "kv-append",
        "mutex",
        "porcupine-etcd",
        "edn",
        "json",
        "Exit codes: 0 linearizable, 1 not linearizable, 2 input error, 3 unknown",
    ] {
        assert!(t.contains(w), "check --help lacks {w}:\n{t}");
    }
    let o = run(&["check", "x.edn", "--model", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("possible values"), "{}", text(&o));
}

fn chromium() -> Option<&'static str> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
}

/// Loads `page` headless and returns its DOM, or None (with a message) where no browser runs.
fn load(page: &std::path::Path) -> Option<String> {
    let Some(c) = chromium() else {
        eprintln!(
            "SKIPPED: no chromium on this machine: the check page is not loaded in a browser"
        );
        return None;
    };
    let profile = dir().join("profile");
    let o = Command::new(c)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--enable-logging=stderr",
            &format!("--user-data-dir={}", profile.display()),
            "--dump-dom",
            &format!("file://{}", page.display()),
        ])
        .output()
        .ok()?;
    let dom = String::from_utf8_lossy(&o.stdout).to_string();
    if dom.trim().is_empty() {
        eprintln!("SKIPPED: chromium could not start here");
        return None;
    }
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(
        !log.lines()
            .any(|l| l.contains("CONSOLE") && l.contains("ERROR")),
        "{log}"
    );
    Some(dom)
}

#[test]
fn the_page_shows_a_violation_and_a_linearizable_timeline() {
    let d = dir().join("page");
    std::fs::create_dir_all(&d).unwrap();
    let bad = d.join("bad.edn");
    std::fs::write(&bad, STALE_VEC).unwrap();
    let page = d.join("bad.html");
    let o = run(&[
        "check",
        bad.to_str().unwrap(),
        "--model",
        "cas-register",
        "--html",
        page.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let h = std::fs::read_to_string(&page).unwrap();
    for w in [
        "id=\"verdict\"",
        "NOT LINEARIZABLE",
        "could not take effect",
        "<svg",
        "write 1 -&gt; ok",
        "read -&gt; nil",
        "line 3",
    ] {
        assert!(h.contains(w), "the violation page lacks {w}");
    }
    assert!(!h.contains("<script"), "self-contained, no script");
    assert_eq!(h.matches("<svg").count(), h.matches("</svg>").count());
    if let Some(dom) = load(&page) {
        assert!(dom.contains("NOT LINEARIZABLE") && dom.contains("<svg"));
    }

    let good = d.join("good.edn");
    std::fs::write(
        &good,
        "[{:process 0, :type :invoke, :f :write, :value 1}\n {:process 1, :type :invoke, :f :read, :value nil}\n {:process 1, :type :ok, :f :read, :value 1}\n {:process 0, :type :ok, :f :write, :value 1}\n {:process 2, :type :invoke, :f :write, :value 7}\n {:process 2, :type :info, :f :write, :value 7}]\n",
    )
    .unwrap();
    let rep = d.join("good.report");
    let o = run(&[
        "check",
        good.to_str().unwrap(),
        "--model",
        "cas-register",
        "--report",
        rep.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let h = std::fs::read_to_string(rep.join("check.html")).unwrap();
    let svg = std::fs::read_to_string(rep.join("timeline.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for w in [
        "LINEARIZABLE",
        "linearization points",
        "takes effect #1",
        "takes effect #2",
        "stroke-dasharray",
    ] {
        assert!(h.contains(w), "the timeline page lacks {w}");
    }
    if let Some(dom) = load(&rep.join("check.html")) {
        assert!(dom.contains("Timeline") && dom.contains("<svg"));
    }
}

#[test]
fn the_page_never_overwrites_an_input() {
    let d = dir().join("nooverwrite");
    std::fs::create_dir_all(&d).unwrap();
    let f = d.join("h.edn");
    std::fs::write(&f, STALE_VEC).unwrap();
    let o = run(&[
        "check",
        f.to_str().unwrap(),
        "--model",
        "cas-register",
        "--html",
        f.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("refusing"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&f).unwrap(), STALE_VEC);
    let o = run(&[
        "check",
        f.to_str().unwrap(),
        f.to_str().unwrap(),
        "--model",
        "cas-register",
        "--html",
        d.join("x.html").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "one page, one history");
    // A file the user wrote is not replaced; a page an earlier check wrote is.
    let notes = d.join("notes.html");
    std::fs::write(&notes, "<p>my notes</p>").unwrap();
    let args = |out: &str| {
        run(&[
            "check",
            f.to_str().unwrap(),
            "--model",
            "cas-register",
            "--html",
            out,
        ])
    };
    let o = args(notes.to_str().unwrap());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "<p>my notes</p>");
    let page = d.join("page.html");
    assert_eq!(args(page.to_str().unwrap()).status.code(), Some(1));
    assert_eq!(
        args(page.to_str().unwrap()).status.code(),
        Some(1),
        "rewrites its own page"
    );
}

// ---- Properties.

fn ops_text(n: usize, vector: bool) -> (String, usize) {
    let mut lines = Vec::new();
    for i in 0..n {
        let p = i % 3;
        lines.push(format!(
            "{{:process {p}, :type :invoke, :f :write, :value {i}, :time {}}}",
            i * 2
        ));
        lines.push(format!(
            "{{:process {p}, :type :ok, :f :write, :value {i}, :time {}}}",
            i * 2 + 1
        ));
    }
    let body = lines.join("\n");
    if vector {
        (format!("[{body}]\n"), 2 * n)
    } else {
        (format!("{body}\n"), 2 * n)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        for m in [ModelName::CasRegister, ModelName::KvAppend, ModelName::MultiRegister, ModelName::Mutex] {
            let _ = check_text(&text, None, m, None, &CheckOptions::default());
        }
    }

    #[test]
    fn text_with_no_record_is_never_read(s in "[a-zA-Z0-9 .,;:!?\\-\n]{0,200}") {
        prop_assert!(read(&s, None).is_err(), "{s:?}");
    }

    #[test]
    fn truncated_histories_are_refused(n in 1usize..12, vector in any::<bool>(), cut in 0.0f64..1.0) {
        let (full, records) = ops_text(n, vector);
        prop_assert_eq!(read(&full, None).unwrap().events.len(), records);
        let k = ((full.trim_end().len() - 1) as f64 * cut) as usize;
        let part = &full[..k];
        let r = read(part, None);
        // A cut at the end of a line of a one-op-a-line file leaves whole records: they are read,
        // all of them. Any other cut leaves a record (or the vector) open: refused.
        let whole_lines = !vector && (part.ends_with('}') || part.ends_with("}\n"));
        if whole_lines {
            let want = part.lines().count();
            prop_assert_eq!(r.map(|x| x.events.len()).ok(), Some(want));
        } else {
            prop_assert!(r.is_err(), "a truncated history was read: {:?}", part);
        }
    }

    #[test]
    fn mutated_histories_never_panic_and_broken_structure_is_refused(
        n in 1usize..8, vector in any::<bool>(), at in 0.0f64..1.0, b in any::<u8>()
    ) {
        let (full, _) = ops_text(n, vector);
        let mut bytes = full.into_bytes();
        let i = ((bytes.len() - 1) as f64 * at) as usize;
        let old = bytes[i];
        bytes[i] = b;
        let text = String::from_utf8_lossy(&bytes).to_string();
        let r = check_text(&text, None, ModelName::CasRegister, None, &CheckOptions::default());
        // A bracket replaced by a letter or a digit unbalances the text: no verdict.
        if b"{}[]".contains(&old) && b.is_ascii_alphanumeric() {
            prop_assert!(r.is_err(), "{text}");
        }
        if let Ok(rep) = r {
            prop_assert!(rep.result.verdict != Verdict::Unknown || rep.ops > 0);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Real histories (../shared/data), one byte changed: never a panic; a bracket turned into
    /// a letter is never read.
    #[test]
    fn mutated_real_histories(which in 0usize..3, at in 0.0f64..1.0, b in any::<u8>()) {
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
        let files = [
            ("edn/good/cas-register-basic.edn", ModelName::CasRegister),
            ("porcupine/etcd/etcd_000.log", ModelName::EtcdRegister),
            ("porcupine/kv/c01-ok.txt", ModelName::KvAppend),
        ];
        let (f, m) = files[which];
        let Ok(text) = std::fs::read_to_string(data.join(f)) else {
            eprintln!("SKIPPED: {} is absent", data.display());
            return Ok(());
        };
        let mut bytes = text.into_bytes();
        let i = ((bytes.len() - 1) as f64 * at) as usize;
        let old = bytes[i];
        bytes[i] = b;
        let t = String::from_utf8_lossy(&bytes).to_string();
        let r = check_text(&t, None, m, None, &CheckOptions::default());
        if b"{}[]".contains(&old) && b.is_ascii_alphabetic() {
            prop_assert!(r.is_err(), "{f}: byte {i} `{}` -> `{}` was read", old as char, b as char);
        }
    }
}
