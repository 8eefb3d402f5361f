//! The `poolwatch` binary: parse arguments, run, print, exit with the run's code.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;

/// mimalloc: a fleet's emit spends about a fifth of its time in malloc and free; with
/// mimalloc it takes 17% less CPU (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match poolwatch::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                poolwatch::app::EXIT_INPUT
            } else {
                0
            });
        }
    };
    let report = poolwatch::app::run(cli);
    let _ = std::io::stdout().write_all(report.stdout.as_bytes());
    let _ = std::io::stderr().write_all(report.stderr.as_bytes());
    ExitCode::from(report.code)
}
