//! Every history with a known verdict in ../shared/data gets that verdict.

use std::path::{Path, PathBuf};

use faultline::check::parse::{ModelName, check_text};
use faultline::check::{CheckOptions, Verdict};

fn data() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: {} is absent; the known-verdict histories cannot be checked",
            p.display()
        );
        None
    }
}

fn verdict(path: &Path, model: ModelName) -> Verdict {
    let text = std::fs::read_to_string(path).unwrap();
    check_text(&text, None, model, None, &CheckOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .result
        .verdict
}

#[test]
fn porcupine_histories_get_their_expected_verdicts() {
    let Some(d) = data() else { return };
    let csv = std::fs::read_to_string(d.join("porcupine/expected.csv")).unwrap();
    let mut n = 0;
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let model = ModelName::parse(f[1]).unwrap();
        let want = if f[2] == "linearizable" {
            Verdict::Linearizable
        } else {
            Verdict::NotLinearizable
        };
        assert_eq!(
            verdict(&d.join("porcupine").join(f[0]), model),
            want,
            "{}",
            f[0]
        );
        n += 1;
    }
    assert!(n >= 50, "only {n} histories listed");
}

#[test]
fn edn_histories_get_their_folder_verdict() {
    let Some(d) = data() else { return };
    let mut n = 0;
    for (folder, want) in [
        ("good", Verdict::Linearizable),
        ("bad", Verdict::NotLinearizable),
    ] {
        for e in std::fs::read_dir(d.join("edn").join(folder)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let model = if name.starts_with("mutex") {
                ModelName::Mutex
            } else {
                ModelName::CasRegister
            };
            assert_eq!(verdict(&p, model), want, "{name}");
            n += 1;
        }
    }
    assert!(n >= 6);
}

/// The same history in every layout Jepsen, Knossos and JSON writers use gets the same verdict:
/// a list instead of a vector, one op a line, a leading comment, tagged records, JSON.
#[test]
fn every_layout_of_a_history_keeps_its_verdict() {
    let Some(d) = data() else { return };
    let mut n = 0;
    for folder in ["good", "bad"] {
        for e in std::fs::read_dir(d.join("edn").join(folder)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let model = if name.starts_with("mutex") {
                ModelName::Mutex
            } else {
                ModelName::CasRegister
            };
            let text = std::fs::read_to_string(&p).unwrap();
            let want = verdict(&p, model);
            let body = text.trim().trim_start_matches('[').trim_end_matches(']');
            let lines: Vec<&str> = body.lines().map(str::trim).collect();
            let json: Vec<String> = lines
                .iter()
                .map(|l| {
                    // {:process 0, :type :invoke, :f :write, :value 3} -> JSON
                    let r = faultline::check::parse::read(l, None).unwrap();
                    let e = &r.events[0];
                    let v = match &e.value {
                        faultline::check::parse::Val::Nil => "null".to_string(),
                        faultline::check::parse::Val::Vec(x) => format!(
                            "[{}]",
                            x.iter()
                                .map(|v| v.to_string())
                                .collect::<Vec<_>>()
                                .join(",")
                        ),
                        v => v.to_string(),
                    };
                    let kind = match e.kind {
                        faultline::check::parse::Kind::Invoke => "invoke",
                        faultline::check::parse::Kind::Ok => "ok",
                        faultline::check::parse::Kind::Fail => "fail",
                        faultline::check::parse::Kind::Info => "info",
                    };
                    format!(
                        "{{\"process\": {}, \"type\": \"{kind}\", \"f\": \"{}\", \"value\": {v}}}",
                        e.process, e.f
                    )
                })
                .collect();
            let layouts = [
                format!("; {name}\n{text}"),
                format!("({body})"),
                lines.join("\n"),
                lines
                    .iter()
                    .map(|l| format!("#jepsen.history.Op{l}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                format!("[{}]", json.join(",\n")),
                json.join("\n"),
            ];
            for (k, t) in layouts.iter().enumerate() {
                let got = check_text(t, None, model, None, &CheckOptions::default())
                    .unwrap_or_else(|e| panic!("{name} layout {k}: {e}\n{t}"))
                    .result
                    .verdict;
                assert_eq!(got, want, "{name} layout {k}:\n{t}");
                n += 1;
            }
        }
    }
    assert!(n >= 36);
}
