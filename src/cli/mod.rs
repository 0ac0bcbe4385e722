//! The command line: one struct per subcommand, from which `--help` is generated, and the
//! only layer that knows of terminals, stdout and stderr, exit codes and Ctrl-C.
//!
//! `main.rs` parses these, sets up logging and maps the outcome to an exit code; each
//! subcommand's command-line work lives in its own module here, over the library below
//! (docs/architecture.md).

pub mod inventory;
pub mod log_file;
pub mod progress;
pub mod pull;
pub mod run;
pub mod vault;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Exit codes, identical for every subcommand (README, "Exit codes").
pub mod exit {
    use crate::engine::Verdict;

    /// Success; for `plan` and `check`: nothing to change.
    pub const OK: u8 = 0;
    /// Bad input, a failed task or an unreachable host.
    pub const ERROR: u8 = 1;
    /// `plan`/`check` only: changes pending on at least one host, and no errors.
    pub const CHANGES: u8 = 2;
    /// Stopped at once by a second Ctrl-C (128 + SIGINT, as shells report it).
    pub const INTERRUPTED: u8 = 130;

    /// The exit code of a run's outcome.
    pub fn of(verdict: Verdict) -> u8 {
        match verdict {
            Verdict::Done => OK,
            Verdict::Changes => CHANGES,
            Verdict::Failed => ERROR,
        }
    }
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

    /// Show what a playbook would change on each host, with diffs; change nothing.
    #[command(
        after_help = "Examples:\n  deploy plan -i inventories/lab playbooks/site.yml\n  \
        deploy plan -i hosts site.yml --limit web --tags nginx\n\n\
        Exit codes: 0 nothing to change, 2 changes pending, 1 error."
    )]
    Plan(RunArgs),

    /// Converge hosts: change what differs, run the notified handlers.
    #[command(
        after_help = "Examples:\n  deploy apply -i inventories/lab playbooks/site.yml\n  \
        deploy apply -i hosts site.yml --limit 'web:&prod' -e app_version=2.1\n\n\
        Exit codes: 0 success, 1 a host failed or was unreachable."
    )]
    Apply(RunArgs),

    /// Detect drift from cron: silent when converged, one line per drifted resource otherwise.
    #[command(
        after_help = "Examples:\n  deploy check -i inventories/prod playbooks/site.yml\n\n\
        Exit codes: 0 converged, 2 drift, 1 error (unreachable host, bad input)."
    )]
    Check(RunArgs),

    /// Run on a host: fetch a git repository and converge this host from it, over a local
    /// connection; drift is healed on every run (for a systemd timer or cron).
    #[command(
        after_help = "Examples:\n  deploy pull --repo https://git.example.org/infra.git --branch prod site.yml\n  \
        deploy pull --repo file:///srv/infra.git --host web1 --splay 300 -i inventories/prod site.yml\n\n\
        The outcome is recorded in DIR/status.json. Exit codes: 0 success, 1 a task failed or \
        nothing could be applied."
    )]
    Pull(pull::PullArgs),

    /// Ansible Vault files and values: encrypt, decrypt, view, edit, create, rekey,
    /// encrypt_string, interoperable with ansible-vault.
    #[command(subcommand)]
    Vault(vault::VaultCommand),

    /// Disposable local test hosts: real systemd, sshd and apt, one network namespace each.
    #[command(subcommand)]
    Lab(deploy_lab::LabCommand),
}

#[derive(Args, Debug)]
pub struct InventoryArgs {
    /// Inventory file, directory or executable script; repeat to combine several (default:
    /// `inventory` in ansible.cfg).
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
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

    #[command(flatten)]
    pub vault: vault::VaultArgs,
}

/// Flags shared by `plan`, `apply` and `check`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Inventory file, directory or executable script; repeat to combine several (default:
    /// `inventory` in ansible.cfg).
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventories: Vec<PathBuf>,

    /// The playbook (for `apply`: or a plan saved by `deploy plan --out`).
    #[arg(value_name = "PLAYBOOK")]
    pub playbook: PathBuf,

    /// `plan` only: save the plan, with a fingerprint of what was probed, for `deploy apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Only hosts matching this pattern (`web`, `web:&prod`, `@retry-file`).
    #[arg(short, long, value_name = "PATTERN")]
    pub limit: Option<String>,

    /// Only tasks with one of these tags (comma-separated, repeatable).
    #[arg(short, long, value_name = "TAGS", value_delimiter = ',')]
    pub tags: Vec<String>,

    /// Skip tasks with one of these tags.
    #[arg(long, value_name = "TAGS", value_delimiter = ',')]
    pub skip_tags: Vec<String>,

    /// Extra variables: `k=v`, a JSON or YAML mapping, or `@file`; they override everything.
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub extra_vars: Vec<String>,

    /// Hosts worked on in parallel [default: `forks` in ansible.cfg, else 50].
    #[arg(short, long, value_name = "N", value_parser = at_least_one)]
    pub forks: Option<usize>,

    /// Ask for the sudo password (read from the terminal, or the first line of stdin); also
    /// `become_ask_pass` in ansible.cfg.
    #[arg(short = 'K', long)]
    pub ask_become_pass: bool,

    /// Accept and record unknown SSH host keys (a changed key is always refused).
    #[arg(long)]
    pub ssh_accept_new: bool,

    /// Seconds to wait for a host to answer before calling it unreachable [default: `timeout`
    /// in ansible.cfg, else 10].
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,

    /// Seconds to wait for another deploy run's lock on a host before failing that host.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub lock_timeout: u64,

    /// Seconds any one step may run before it is killed (the `timeout:` keyword overrides it).
    #[arg(long, value_name = "SECONDS")]
    pub step_timeout: Option<u64>,

    /// Append a JSON line for every event (each step's outcome, each host's) to this file.
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    /// Run notified handlers even on hosts where a task failed.
    #[arg(long)]
    pub force_handlers: bool,

    /// Output: `human` text, `markdown` for a merge request, or one `json` document on stdout
    /// (schema in docs/json.md).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Print nothing when there is nothing to change (the default for `check` when stdout is
    /// not a terminal, so that cron mails only on drift).
    #[arg(short, long)]
    pub quiet: bool,

    /// `check` only: write Prometheus metrics to this file (for node_exporter's textfile
    /// collector), atomically.
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,

    #[command(flatten)]
    pub vault: vault::VaultArgs,
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("at least one host must be worked on at a time".to_string()),
        Ok(n) => Ok(n),
        Err(err) => Err(err.to_string()),
    }
}

/// How results are printed.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Markdown,
}

/// The settings of the ansible.cfg Ansible would read from here, with `ANSIBLE_*` variables.
pub fn ansible_settings() -> anyhow::Result<crate::config::Settings> {
    crate::config::load(&crate::config::Environment::current()?)
}

/// The inventories given with `-i`, else those of ansible.cfg.
pub fn inventories(given: &[PathBuf], settings: &crate::config::Settings) -> Vec<PathBuf> {
    if given.is_empty() {
        settings.inventory.clone().unwrap_or_default()
    } else {
        given.to_vec()
    }
}

/// Runs the parsed command line; errors are printed by the caller.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    use crate::engine::Mode;
    match cli.command {
        Command::Plan(args) => run::run_playbook(Mode::Plan, &args, cli.no_color, cli.verbose),
        Command::Apply(args) => run::run_playbook(Mode::Apply, &args, cli.no_color, cli.verbose),
        Command::Check(args) => run::run_playbook(Mode::Check, &args, cli.no_color, cli.verbose),
        Command::Inventory(args) => inventory::command(&args),
        Command::Vault(command) => vault::command(command),
        Command::Pull(args) => pull::command(&args, cli.no_color, cli.verbose),
        Command::Lab(command) => deploy_lab::run(command),
    }
}
