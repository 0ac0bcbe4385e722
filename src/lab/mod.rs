//! Disposable test hosts (placeholder until the lab lands).
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum LabCommand {
    /// Show the running hosts.
    Status,
}

pub fn run(_command: LabCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the lab is not built yet")
}
