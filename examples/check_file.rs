//! Checks one file: `cargo run --release --example check_file -- FILE MODEL`.
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&a[1]).unwrap();
    let model = faultline::check::parse::ModelName::parse(&a[2]).unwrap();
    let fmt = None;
    let opts = faultline::check::CheckOptions {
        parallel: false,
        minimize: false,
        ..Default::default()
    };
    let r = faultline::check::parse::check_text(&text, fmt, model, None, &opts).unwrap();
    println!(
        "{:?} steps {} partitions {}",
        r.result.verdict, r.result.steps, r.result.partitions
    );
}
