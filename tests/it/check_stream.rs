//! Reading a history a window at a time (issue 20) is the same as reading it whole: the same
//! records at the same lines and columns, the same located errors, whatever the window's
//! size and wherever it cuts a record. And Knossos's own histories, in the shapes Knossos writes
//! them (issue 12), get Knossos's verdicts: the cases below are written here, so the test needs
//! no fetched file.

use std::io::Read;
use std::process::Command;

use faultline::check::parse::{Format, ModelName, check_from, read_from};
use faultline::check::{CheckOptions, Verdict};
use proptest::prelude::*;

/// A source that gives at most `k` bytes a read, so windows end everywhere.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.1.min(self.0.len()).min(out.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// Everything a reading says, as text: each record (position, process, type, f, key, value),
/// the format and the nemesis count, or the located error.
fn outcome(src: impl Read, format: Option<Format>) -> String {
    let mut out = String::new();
    let r = read_from(src, format, &mut |e| {
        out.push_str(&format!(
            "{}:{} {} {:?} {} {:?} {}\n",
            e.pos.line, e.pos.col, e.process, e.kind, e.f, e.key, e.value
        ));
        Ok(())
    });
    match r {
        Ok(s) => format!("{out}{} {} nemesis", s.format.name(), s.nemesis),
        Err(e) => format!("{out}error {}", e.located()),
    }
}

/// Histories in every layout the readers take.
const LAYOUTS: &[&str] = &[
    // A vector of maps, with comments, discards, extra keys, a nemesis op.
    "; a comment first\n[{:process 0, :type :invoke, :f :write, :value 1, :time 5}\n \
     #_ {:ignored true}\n {:process :nemesis, :type :info, :f :start}\n \
     {:process 0 :type :ok :f :write :value 1 :error [:x \"s\\\"q\"]}\n]\n",
    // A list, closed on its own line, with comments between records.
    "({:type :invoke, :f :read, :value nil, :process 1}\n ; between\n \
     {:type :ok, :f :read, :value 3, :process 1}\n)\n",
    // One op a line, tagged records, tuples.
    "#jepsen.history.Op{:index 0, :time 1, :type :invoke, :process 2, :f :cas, :value [1 2]}\n\
     [2 :fail :cas [1 2]]\n",
    // Maps over several lines (Knossos's multi-register file).
    "[{:type :invoke,\n :f :txn,\n :value [[:read :x nil] [:write :y 2]],\n :process 3,\n \
     :time 7686455705}\n{:type :ok,\n :f :txn,\n :value [[:read :x 0] [:write :y 2]],\n \
     :process 3,\n :time 7717922112}]\n",
    // JSON, an array and one object a line.
    "[{\"process\": 0, \"type\": \"invoke\", \"f\": \"read\", \"value\": null},\n \
     {\"process\": 0, \"type\": \"ok\", \"f\": \"read\", \"value\": 12345}]\n",
    "{\"process\": 0, \"type\": \"invoke\", \"f\": \"get\", \"key\": \"k\", \"value\": null}\n\
     {\"process\": 0, \"type\": \"ok\", \"f\": \"get\", \"key\": \"k\", \"value\": \"x y\"}\n",
    // Porcupine's etcd log, with the variant with extra fields.
    "INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]\nINFO  jepsen.util - 3\t:fail\t:cas\t[1 4]\n\
     INFO  jepsen.util - 6 \t:ok :write \t38 \t:hint 2\n",
];

#[test]
fn every_window_size_reads_every_layout_alike() {
    for text in LAYOUTS {
        let whole = outcome(text.as_bytes(), None);
        assert!(!whole.contains("error"), "{text}\n{whole}");
        for k in 1..12 {
            assert_eq!(
                outcome(Trickle(text.as_bytes(), k), None),
                whole,
                "k={k}\n{text}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any layout, one byte changed or the text cut anywhere, read through windows of any size:
    /// the same records and the same located error as one read of the whole.
    #[test]
    fn windows_never_change_a_reading(
        which in 0..LAYOUTS.len(), at in 0.0f64..1.0, b in any::<u8>(), cut in any::<bool>(),
        k in 1usize..9,
    ) {
        let mut bytes = LAYOUTS[which].as_bytes().to_vec();
        let i = ((bytes.len() - 1) as f64 * at) as usize;
        if cut {
            bytes.truncate(i);
        } else {
            bytes[i] = b;
        }
        prop_assert_eq!(outcome(Trickle(&bytes, k), None), outcome(&bytes[..], None));
    }
}

/// A file far larger than the window, read by the binary: every record read, one verdict.
#[test]
fn a_file_larger_than_the_window_is_read_whole() {
    let d = std::env::temp_dir().join(format!("faultline-check-stream-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let mut text = String::from("[");
    let n = 6_000;
    for i in 0..n {
        let p = i % 7;
        text.push_str(&format!(
            "{{:process {p}, :type :invoke, :f :write, :value {i}, :time {}}}\n \
             {{:process {p}, :type :ok, :f :write, :value {i}, :time {}}}\n ",
            2 * i,
            2 * i + 1
        ));
    }
    text.push_str("{:process 0, :type :invoke, :f :read, :value nil}\n {:process 0, :type :ok, :f :read, :value 5999}]\n");
    assert!(text.len() > 4 * 64 * 1024);
    let f = d.join("big.edn");
    std::fs::write(&f, &text).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["check", f.to_str().unwrap(), "--model", "cas-register"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains(&format!("linearizable {} ops", n + 1)),
        "{out}"
    );
    // The same file cut inside its last record: refused at the end, with no verdict.
    std::fs::write(&f, &text[..text.len() - 10]).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["check", f.to_str().unwrap(), "--model", "cas-register"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not closed"));
    let _ = std::fs::remove_dir_all(&d);
}

/// Histories as Knossos's data folder writes them (vectors and lists, leading and inner
/// comments, a missing comma, `:error` values, nemesis ops, maps over several lines), checked
/// with the models and initial values Knossos's tests use: `(cas-register 0)` (a read of nil
/// is unconstrained: `knossos-cas-register --initial 0`), `(multi-register {:x 0 :y 0})`,
/// `(mutex)`.
#[test]
fn knossos_shaped_histories_get_knossos_verdicts() {
    use Verdict::{Linearizable as Lin, NotLinearizable as Not};
    let cas = ModelName::KnossosCasRegister;
    let cases: &[(&str, ModelName, Verdict, &str)] = &[
        (
            "rethink-fail-minimal: a list; a read of 3 nobody wrote",
            cas,
            Not,
            "({:type :invoke, :f :write, :value 0, :process 0}\n {:type :ok, :f :write, :value 0, :process 0}\n \
             ; Value is 0, then we concurrently write 4, read 3.\n {:type :invoke, :f :read, :value nil, :process 1}\n \
             {:type :invoke, :f :write, :value 4, :process 2}\n {:type :ok, :f :read, :value 3, :process 1}\n \
             {:type :ok, :f :write, :value 4, :process 2}\n)\n",
        ),
        (
            "bad-analysis: a missing comma, comments, crashed ops, spurious reads",
            cas,
            Not,
            "[{:process 9, :type :invoke, :f :write, :value 0}\n {:process 9, :type :ok, :f :write, :value 0}\n \
             ; Value is 0\n {:process 19, :type :invoke, :f :read, :value 0}\n \
             {:process 20, :type :invoke, :f :write, :value 1}\n {:process 19, :type :ok, :f :read, :value 0}\n \
             {:process 22  :type :invoke, :f :read, :value 3}\n {:process 21, :type :invoke, :f :read, :value 2}\n \
             {:process 21, :type :ok, :f :read, :value 2}\n {:process 22, :type :ok, :f :read, :value 3}]\n",
        ),
        (
            "immediate-failure: a failed write is never seen",
            cas,
            Not,
            "[{:type :invoke, :process 1, :f :read, :value nil}\n{:type :invoke, :process 101, :f :write, :value 3}\n\
             {:type :fail, :process 101, :f :write, :value 3, :error [:temporarily-unavailable nil]}\n\
             {:type :ok, :process 1, :f :read, :value 3}]\n",
        ),
        (
            "cas-register-bug: a leading comment, a pending read",
            cas,
            Lin,
            "; This used to expose a bug in Knossos\n[{:process 4, :type :invoke, :f :write, :value 2}\n \
             {:process 4, :type :ok, :f :write, :value 2}\n {:process 6, :type :invoke, :f :read, :value nil}\n \
             {:process 9, :type :invoke, :f :write, :value 0}\n {:process 9, :type :ok, :f :write, :value 0}\n \
             {:process 19, :type :invoke, :f :read, :value 0}\n {:process 19, :type :ok, :f :read, :value 0}]\n",
        ),
        (
            "mongodb-style: failed reads, reads of nil (unconstrained), an :info cas",
            cas,
            Lin,
            "; A subset\n[{:process 4, :type :invoke, :f :read, :value nil}\n {:process 4, :type :fail, :f :read, :value nil}\n \
             {:process 0, :type :invoke, :f :read, :value nil}\n {:process 0, :type :ok, :f :read, :value nil}\n \
             {:process 95, :type :invoke, :f :cas, :value [0 2]}\n {:process 95, :type :info, :f :cas, :value [0 2]}\n \
             {:process 3, :type :invoke, :f :read, :value nil}\n {:process 3, :type :ok, :f :read, :value 2}]\n",
        ),
        (
            "rethink-fail-smaller: maps over lines, :error strings with escaped quotes and brackets",
            cas,
            Not,
            "({:type :invoke, :f :write, :value 0, :process 68, :time 104585569479}\n              {:type :ok, :f :write, :value 0, :process 68, :time 104591832548}\n              ; Value is 0 here, pending\n ; - 62 cas 3->4\n\n              {:type :invoke, :f :cas, :value [3 4], :process 62, :time 1}\n              {:type :info,\n  :f :cas,\n  :value [3 4],\n  :process 62,\n  :time 105332696664,\n  :error\n               \"clojure.lang.ExceptionInfo: lost contact {:t 18, :r [\\\"Cannot perform write\\\"], :n []}\"}\n              {:type :invoke, :f :read, :value nil, :process 17, :time 2}\n              {:type :fail,\n  :f :read,\n  :value nil,\n  :process 17,\n  :time 105332677577,\n  :error nil}\n              {:type :invoke, :f :read, :value nil, :process 12, :time 3}\n              {:type :ok, :f :read, :value 3, :process 12, :index 217 :time 106334571856})\n",
        ),
        (
            "multi-register: maps over several lines, a leading comment",
            ModelName::MultiRegister,
            Lin,
            "; A multi-register with x=0 and y=0\n[{:type :invoke,\n :f :txn,\n :value [[:read :x nil] [:read :y nil]],\n \
             :process 2,\n :time 1}\n{:type :invoke,\n :f :txn,\n :value [[:write :y 2]],\n :process 4,\n :time 2}\n\
             {:type :ok,\n :f :txn,\n :value [[:read :x 0] [:read :y 0]],\n :process 2,\n :time 3}\n\
             {:type :ok,\n :f :txn,\n :value [[:write :y 2]],\n :process 4,\n :time 4}\n\
             {:type :invoke,\n :f :txn,\n :value [[:read :y nil]],\n :process 2,\n :time 5}\n\
             {:type :ok,\n :f :txn,\n :value [[:read :y 2]],\n :process 2,\n :time 6}]\n",
        ),
        (
            "multi-register: a read of a value never written",
            ModelName::MultiRegister,
            Not,
            "[{:type :invoke, :f :txn, :value [[:write :x 1]], :process 0}\n\
             {:type :ok, :f :txn, :value [[:write :x 1]], :process 0}\n\
             {:type :invoke, :f :txn, :value [[:read :x nil] [:read :y nil]], :process 1}\n\
             {:type :ok, :f :txn, :value [[:read :x 1] [:read :y 3]], :process 1}]\n",
        ),
        (
            "mutex (etcd.edn's shape): :error keywords, nemesis ops, two holders",
            ModelName::Mutex,
            Not,
            "[{:type :invoke, :f :release, :process 1, :time 341187643, :index 0}\n\
             {:type :fail, :f :release, :process 1, :time 342667129, :error :not-held, :index 1}\n\
             {:type :invoke, :f :acquire, :process 3, :time 371408519, :index 2}\n\
             {:type :ok, :f :acquire, :process 3, :time 381408519, :index 3}\n\
             {:type :info, :f :start, :process :nemesis, :time 5326396898, :index 4}\n\
             {:type :invoke, :f :acquire, :process 4, :time 881957714, :index 5}\n\
             {:type :ok, :f :acquire, :process 4, :time 1162920916, :index 6}]\n",
        ),
    ];
    for (name, model, want, text) in cases {
        for k in [1, 3, 64 * 1024] {
            let rep = check_from(
                Trickle(text.as_bytes(), k),
                None,
                *model,
                Some(0).filter(|_| *model != ModelName::Mutex),
                &CheckOptions::default(),
                false,
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(rep.result.verdict, *want, "{name} (window {k})");
        }
    }
}
