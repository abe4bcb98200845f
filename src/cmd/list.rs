//! `faultline list`: protocols, variants, checks, models, and the bundled scenarios.

use super::{DEFAULT_SCENARIO_PATH, InputError};
use crate::check::parse::ModelName;
use crate::protocols::catalogue;
use crate::scenario::load_file;

pub fn main() -> Result<i32, InputError> {
    println!("PROTOCOLS");
    for p in catalogue() {
        println!("  {:<10} {}", p.name, p.about);
        for (v, about) in p.variants {
            println!("      variant {v:<22} {about}");
        }
        println!("      checks  {}", p.checks.join(", "));
    }
    println!("\nHISTORY MODELS (faultline check --model)");
    for (m, about) in ModelName::ALL {
        println!("  {m:<14} {about}");
    }
    println!(
        "\nSCENARIOS (run with: faultline run <file>; the default is {DEFAULT_SCENARIO_PATH})"
    );
    let dir = std::path::Path::new("scenarios");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "ron"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    if files.is_empty() {
        println!("  (no scenarios/ folder here; `faultline run` uses the embedded default)");
    }
    for f in files {
        match load_file(&f) {
            Ok(s) => {
                println!("  {}\n      {}", f.display(), s.title);
                for line in wrap(&s.description, 88) {
                    println!("      {line}");
                }
            }
            Err(e) => println!("  {} (invalid: {})", f.display(), e.message),
        }
    }
    Ok(0)
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for w in text.split_whitespace() {
        let last = lines.last_mut().expect("never empty");
        if !last.is_empty() && last.len() + 1 + w.len() > width {
            lines.push(w.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(w);
        }
    }
    lines
}
