//! The `faultline` command line: parses arguments, calls the library, maps results to exit
//! codes (0 pass, 1 violation, 2 usage or input error, 3 unknown, 4 inconclusive, 130
//! interrupted, 143 terminated; see `faultline --help`).

use clap::{Parser, Subcommand};
use faultline::cmd;

#[derive(Parser, Debug)]
#[command(
    name = "faultline",
    version,
    about = "A deterministic distributed-systems simulator: one seed and one scenario fully determine a run.",
    after_help = "\
Exit codes (every command; `faultline <command> --help` says which it uses):
  0    every check passed (check: every history is linearizable)
  1    a check found a violation
  2    bad input or usage: the message names the file, line and column
  3    a check ran out of its search budget (unknown)
  4    a run was inconclusive (cut short, or nothing to judge)
  130  interrupted by Ctrl-C (sweep, suite, shrink, compare: what finished is written;
       a sweep, suite or compare that found a violation or failure before it exits 1)
  143  stopped by SIGTERM, handled as Ctrl-C is"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario with one seed; print a summary and write a report.
    Run(cmd::run::RunArgs),
    /// Print the full event trace of a run, one line per event.
    Replay(cmd::replay::ReplayArgs),
    /// Run many seeds in parallel and list the failing ones.
    Sweep(cmd::sweep::SweepArgs),
    /// Run two scenarios that differ only in protocol on the same seeds, side by side.
    Compare(cmd::compare::CompareArgs),
    /// Join the JSON Lines outputs of sharded sweeps (refusing mixed or conflicting ones).
    Merge(cmd::merge::MergeArgs),
    /// Run every scenario of a folder against its expectation (for CI).
    Suite(cmd::suite::SuiteArgs),
    /// List protocols, variants, checks, models and the bundled scenarios.
    #[command(after_help = "Exit codes: 0 listed.")]
    List,
    /// Check histories from files for linearizability.
    Check(cmd::check::CheckArgs),
    /// Shrink a failing run to the smallest reproduction.
    Shrink(cmd::shrink::ShrinkArgs),
    /// Measure the engine against a bare event loop.
    Bench(cmd::bench::BenchArgs),
}

fn main() {
    // Die quietly on a closed pipe (`faultline replay ... | head`), like other Unix tools.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(a) => cmd::run::main(a),
        Command::Replay(a) => cmd::replay::main(a),
        Command::Sweep(a) => cmd::sweep::main(a),
        Command::Compare(a) => cmd::compare::main(a),
        Command::Merge(a) => cmd::merge::merge(a),
        Command::Suite(a) => cmd::suite::main(a),
        Command::List => cmd::list::main(),
        Command::Check(a) => cmd::check::main(a),
        Command::Shrink(a) => cmd::shrink::main(a),
        Command::Bench(a) => cmd::bench::main(a),
    };
    std::process::exit(match result {
        Ok(code) => code,
        Err(cmd::InputError(msg)) => {
            eprintln!("error: {msg}");
            2
        }
    });
}
