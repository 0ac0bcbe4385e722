//! The command line: one struct per subcommand, from which `--help` is generated.
//!
//! `main.rs` parses these, sets up logging and maps the outcome to an exit code; every
//! subcommand's work lives in its own module.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Exit codes, identical for every subcommand (DESIGN.md §2).
pub mod exit {
    /// Success; for `plan` and `check`: nothing to change.
    pub const OK: u8 = 0;
    /// Bad input, a failed task or an unreachable host.
    pub const ERROR: u8 = 1;
    /// `plan`/`check` only: changes pending on at least one host, and no errors.
    pub const CHANGES: u8 = 2;
}

#[derive(Parser, Debug)]
#[command(
    name = "deploy",
    version,
    about = "Declarative, agentless deployment for Linux fleets",
    long_about = "Declarative, agentless deployment for Linux fleets.\n\n\
        Reads Ansible inventories, playbooks and roles, inspects each host's state over SSH in one \
        round trip, shows exactly what differs, and changes only that.",
    after_help = "Examples:\n  \
        deploy lab up 3                      start three disposable test hosts\n  \
        deploy inventory -i $(deploy lab inventory) --graph\n\n\
        Exit codes: 0 success (nothing to change), 1 error, 2 changes pending (plan/check)."
)]
pub struct Cli {
    /// More logging on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Never colour the output (also: the NO_COLOR environment variable).
    #[arg(long, global = true)]
    pub no_color: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show an inventory: its groups, hosts and variables, as ansible-inventory does.
    #[command(after_help = "Examples:\n  deploy inventory -i inventories/lab --graph\n  \
        deploy inventory -i hosts --host web1\n  deploy inventory -i hosts --list --limit 'web:&prod'")]
    Inventory(InventoryArgs),

    /// Disposable local test hosts: real systemd, sshd and apt, one network namespace each.
    #[command(subcommand)]
    Lab(crate::lab::LabCommand),
}

#[derive(Args, Debug)]
pub struct InventoryArgs {
    /// Inventory file, directory or executable script; repeat to combine several.
    #[arg(short = 'i', long = "inventory", required = true, value_name = "INVENTORY")]
    pub inventories: Vec<PathBuf>,

    /// Print every group and host with their variables, as JSON (the default).
    #[arg(long, conflicts_with_all = ["graph", "host"])]
    pub list: bool,

    /// Print the group tree.
    #[arg(long, conflicts_with = "host")]
    pub graph: bool,

    /// Print one host's variables, as JSON.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,

    /// Only hosts matching this pattern.
    #[arg(short, long, value_name = "PATTERN")]
    pub limit: Option<String>,
}

/// Runs the parsed command line; errors are printed by the caller.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Inventory(args) => crate::inventory::command(&args),
        Command::Lab(command) => crate::lab::run(command),
    }
}
