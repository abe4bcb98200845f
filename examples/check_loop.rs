//! Profiles checking one small file many times: `cargo run --release --example check_loop -- FILE`.
use faultline::check::parse::{Format, events, register_history};
use faultline::check::{CasRegister, CheckOptions, check};
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&a[1]).unwrap();
    let h = register_history(&events(&text, Some(Format::PorcupineEtcd)).unwrap(), true).unwrap();
    let opts = CheckOptions {
        minimize: false,
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let mut steps = 0;
    for _ in 0..2000 {
        steps += check(&CasRegister::default(), &h, &opts).steps;
    }
    println!(
        "{:.1} us per check, {} steps",
        t.elapsed().as_secs_f64() * 1e6 / 2000.0,
        steps / 2000
    );
}
