//! Reports: produced for each bundled scenario, valid SVG of non-trivial size, byte-identical
//! across two runs of the same seed; report.html loads in a real headless browser with no
//! console errors and shows the verdict (skipped where no browser is installed).

use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_faultline"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

pub(crate) fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `faultline run scenario --seed seed --out out --plots` (each plot as a file too): its exit
/// code.
pub(crate) fn report(scenario: &str, seed: u64, out: &Path) -> i32 {
    bin()
        .args([
            "run",
            scenario,
            "--seed",
            &seed.to_string(),
            "--out",
            out.to_str().unwrap(),
            "--plots",
        ])
        .output()
        .unwrap()
        .status
        .code()
        .unwrap()
}

/// `latency.png` costs more than every other plot together: written only with `--png`, and
/// then the same bytes every time.
#[test]
fn latency_png_only_when_asked() {
    let mut pngs = Vec::new();
    for k in 0..2 {
        let out = tmp(&format!("png-{k}"));
        let code = bin()
            .args([
                "run",
                "scenarios/raft-basic.ron",
                "--seed",
                "1",
                "--png",
                "--out",
            ])
            .arg(&out)
            .output()
            .unwrap()
            .status
            .code();
        assert_eq!(code, Some(0));
        let png = std::fs::read(out.join("latency.png")).expect("--png writes latency.png");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        pngs.push(png);
    }
    assert_eq!(pngs[0], pngs[1], "latency.png differs between two runs");
}

/// A report's plots live in `report.html`; as files of their own only with `--plots`, and
/// then the same bytes as the page shows: a passing run and a violation (whose report has
/// two plots more), for Raft and a load balancer (whose protocol draws its own). (And the
/// step-through view's button back to where it opens says `start` or `violation`.)
#[test]
fn plots_are_files_only_when_asked_and_the_page_holds_each() {
    let cases = [
        ("scenarios/raft-partitions.ron", 0, 0, 4),
        ("scenarios/raft-bug-stale_leader_read.ron", 4, 1, 6),
        ("scenarios/lb-strategies.ron", 0, 0, 5),
    ];
    for (s, seed, code, least) in cases {
        let (plain, plots) = (tmp(&format!("noplots{seed}")), tmp(&format!("plots{seed}")));
        let run = |out: &Path, extra: &[&str]| {
            bin()
                .args(["run", s, "--seed", &seed.to_string(), "--out"])
                .arg(out)
                .args(extra)
                .output()
                .unwrap()
                .status
                .code()
        };
        assert_eq!(run(&plain, &[]), Some(code), "{s}");
        assert_eq!(run(&plots, &["--plots"]), Some(code), "{s}");
        let svgs = |d: &Path| -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
                .filter(|n| n.ends_with(".svg"))
                .collect();
            v.sort();
            v
        };
        assert_eq!(svgs(&plain), Vec::<String>::new(), "{s}: SVG files unasked");
        let files = svgs(&plots);
        assert!(files.len() >= least, "{s}: {files:?}");
        let page = std::fs::read_to_string(plain.join("report.html")).unwrap();
        // The step-through view's button back to where it opens names what is there.
        let back = if code == 0 { "start" } else { "violation" };
        assert!(page.contains(&format!("\"st-focus\">{back}<")), "{s}");
        for f in &files {
            let svg = std::fs::read_to_string(plots.join(f)).unwrap();
            assert!(page.contains(svg.trim_end()), "{s}: report.html lacks {f}");
        }
        let _ = std::fs::remove_dir_all(&plain);
        let _ = std::fs::remove_dir_all(&plots);
    }
}

#[test]
fn every_bundled_scenario_gets_identical_valid_reports_twice() {
    let scenarios = [
        ("scenarios/raft-basic.ron", 0, 0),
        ("scenarios/raft-partitions.ron", 0, 0),
        ("scenarios/raft-crash-restart.ron", 0, 0),
        ("scenarios/raft-bug-forget_vote.ron", 9, 1),
        ("scenarios/raft-bug-stale_leader_read.ron", 4, 1),
        ("scenarios/raft-bug-commit_previous_term.ron", 259, 1),
        ("scenarios/raft-bug-no_log_check.ron", 0, 1),
        ("scenarios/relay-demo.ron", 0, 0),
    ];
    for (s, seed, code) in scenarios {
        let (a, b) = (
            tmp(&format!("a{seed}{}", s.len())),
            tmp(&format!("b{seed}{}", s.len())),
        );
        assert_eq!(report(s, seed, &a), code, "{s}");
        assert_eq!(report(s, seed, &b), code, "{s}");
        let mut files: Vec<String> = std::fs::read_dir(&a)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        files.sort();
        assert!(
            files.contains(&"report.html".to_string())
                && files.contains(&"sequence.svg".to_string()),
            "{s}: {files:?}"
        );
        if s.contains("raft") {
            for f in ["latency.svg", "throughput.svg", "roles.svg"] {
                assert!(files.contains(&f.to_string()), "{s} lacks {f}");
            }
            assert!(
                !files.contains(&"latency.png".to_string()),
                "{s}: latency.png written unasked"
            );
        }
        if s.contains("stale_leader_read") {
            assert!(files.contains(&"counterexample.svg".to_string()));
        }
        for f in &files {
            let (x, y) = (
                std::fs::read(a.join(f)).unwrap(),
                std::fs::read(b.join(f)).unwrap(),
            );
            assert_eq!(x, y, "{s}: {f} differs between two runs of the same seed");
            if f.ends_with(".png") {
                let p = std::fs::read(a.join(f)).unwrap();
                assert!(
                    p.starts_with(b"\x89PNG\r\n\x1a\n") && p.len() > 1024,
                    "{s}: {f} is not a real PNG"
                );
            }
            if f.ends_with(".svg") {
                let t = String::from_utf8(x).unwrap();
                assert!(
                    t.starts_with("<svg") && t.trim_end().ends_with("</svg>") && t.len() > 1000,
                    "{s}: {f} is not a real SVG"
                );
                assert_eq!(t.matches("<svg").count(), t.matches("</svg>").count());
            }
        }
    }
}

/// Headless Chromium run with `args` then `page`: its output, or `None` (with the reason
/// printed) when no browser is installed or it cannot start here.
pub(crate) fn chromium(args: &[&str], page: &str) -> Option<std::process::Output> {
    let Some(chromium) = [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists()) else {
        eprintln!("SKIPPED: no chromium on this machine (.ci/install-browser.sh installs it)");
        return None;
    };
    // One profile per browser: tests run in parallel and a profile is locked while in use.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let profile = tmp(&format!("profile-{n}"));
    let o = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            &format!("--user-data-dir={}", profile.display()),
        ])
        .args(args)
        .arg(page)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    if o.stdout.is_empty() && !o.status.success() {
        eprintln!(
            "SKIPPED: chromium could not start here: {}",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    Some(o)
}

#[test]
fn report_html_loads_in_a_headless_browser() {
    let out = tmp("browser");
    assert_eq!(
        report("scenarios/raft-bug-stale_leader_read.ron", 4, &out),
        1
    );
    let page = format!("file://{}", out.join("report.html").display());
    let Some(o) = chromium(&["--dump-dom"], &page) else {
        return;
    };
    let dom = String::from_utf8_lossy(&o.stdout);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(
        dom.contains("id=\"verdict\"") && dom.contains("VIOLATION"),
        "the page shows the verdict"
    );
    assert!(dom.contains("<svg"), "the plots are inline");
    let console_errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") && l.contains("ERROR"))
        .collect();
    assert!(console_errors.is_empty(), "{console_errors:?}");
}
