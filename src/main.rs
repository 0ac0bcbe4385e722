//! The `deploy` binary: parse arguments, set up logging, run, map the outcome to an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use deploy::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    match cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let label = if color { "\x1b[1;31merror\x1b[0m" } else { "error" };
            eprintln!("{label}: {err:#}");
            if let Some(hint) = deploy::error::hint_of(&err) {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(cli::exit::ERROR)
        }
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
