//! The `deploy` binary: parse arguments, set up logging, run, map the outcome to an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use deploy::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    init_tracing(cli.verbose);
    match cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // An error can quote a value; one that came from a vault is never shown.
            let secrets = deploy::vault::tainted();
            let shown = deploy::engine::redact(&format!("{err:#}"), &secrets);
            eprintln!("{}: {shown}", error_label());
            if let Some(hint) = deploy::error::hint_of(&err) {
                eprintln!("hint: {}", deploy::engine::redact(&hint, &secrets));
            }
            ExitCode::from(cli::exit::ERROR)
        }
    }
}

fn error_label() -> &'static str {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    if color {
        "\x1b[1;31merror\x1b[0m"
    } else {
        "error"
    }
}

/// Reports a bad command line as one `error:` line and one `hint:` line, exit code 1.
///
/// Clap's own report spans several lines and exits with 2, which `plan` and `check` use for
/// "changes pending": a mistyped flag in a cron job must never look like drift.
fn usage_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    let text = err.render().to_string();
    let usage = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("Usage: "))
        .map(|usage| format!("usage: {usage}"));
    let (message, tip) = if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        ("a command is required".to_string(), None)
    } else {
        let mut lines = text.lines();
        let mut message = lines
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string();
        let mut tip = None;
        for line in lines.take_while(|line| !line.starts_with("Usage: ")) {
            let line = line.trim();
            if let Some(found) = line.strip_prefix("tip: ") {
                tip = Some(found.to_string());
            } else if !line.is_empty() && !line.starts_with("For more information") && tip.is_none() {
                message.push(' ');
                message.push_str(line);
            }
        }
        (message.trim_end_matches(':').to_string(), tip)
    };
    eprintln!("{}: {message}", error_label());
    let hint = tip.or(usage).unwrap_or_else(|| "see `deploy --help`".to_string());
    eprintln!("hint: {hint}");
    ExitCode::from(cli::exit::ERROR)
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
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .init();
}
