//! `deploy pull`, run on a host: fetch the repository, check out the newest commit that may be
//! applied, and converge this host alone from it over a local connection. Drift is checked and
//! healed on every run, whether or not the commit changed; a repository that cannot be reached
//! leaves the last good checkout in place, still applied. The outcome goes to `status.json`.

use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _, Result};
use clap::Args;
use serde::Serialize;

use crate::cli::{exit, RunArgs};
use crate::engine::host::Status;
use crate::engine::Mode;

#[derive(Args, Debug)]
pub struct PullArgs {
    /// The repository: an https, ssh or file URL, or a path.
    #[arg(long, value_name = "URL")]
    pub repo: String,

    /// The branch or tag to apply [default: the repository's default branch].
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,

    /// Where the checkout, the lock and status.json live.
    #[arg(long, value_name = "DIR", default_value = "/var/lib/deploy/pull")]
    pub dir: PathBuf,

    /// This host's name in the inventory [default: the one matching its hostname or FQDN].
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,

    /// Wait a random time up to this many seconds first, so that a fleet's timers do not
    /// fetch in the same second.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub splay: u64,

    /// Apply only commits whose signature `git verify-commit` accepts; anything else is
    /// refused and the last good commit stays applied.
    #[arg(long)]
    pub verify_commit: bool,

    /// The allowed-signers file for SSH signatures (git's `gpg.ssh.allowedSignersFile`).
    #[arg(long, value_name = "FILE", requires = "verify_commit")]
    pub allowed_signers: Option<PathBuf>,

    /// The run's flags, as for `deploy apply`; the playbook and `-i` are paths inside the
    /// repository.
    #[command(flatten)]
    pub run: RunArgs,
}

/// What `status.json` records of a run, for `deploy pull status` and for people.
#[derive(Debug, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct PullStatus {
    pub host: String,
    pub repo: String,
    pub branch: Option<String>,
    /// The commit applied (the last good one when the newest could not be fetched or was refused).
    pub commit: Option<String>,
    /// Seconds since the epoch when the run ended.
    pub time: u64,
    /// `ok`, `changed` or `failed`.
    pub result: String,
    pub changes: usize,
    pub failures: usize,
    /// Why the repository could not be fetched, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetch_error: Option<String>,
    /// A fetched commit that was not applied, and why (`--verify-commit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

fn git(dir: Option<&Path>, args: &[&str]) -> Result<String> {
    let mut command = Command::new("git");
    if let Some(dir) = dir {
        command.arg("-C").arg(dir);
    }
    // Never ask a question: a timer has no terminal.
    let output = command
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .context("cannot run git (is it installed?)")?;
    if !output.status.success() {
        // git's first line says what went wrong; the rest is advice for a terminal.
        let err = String::from_utf8_lossy(&output.stderr);
        let first = err
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("failed");
        bail!("git {}: {first}", args.first().unwrap_or(&""));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// An exclusive lock on `DIR/lock`, held while the value lives: a timer run and a manual run
/// never overlap. A second run fails at once rather than queueing behind the first.
struct Lock(#[allow(dead_code)] std::fs::File);

fn lock(dir: &Path) -> Result<Lock> {
    use std::os::fd::AsRawFd as _;
    let path = dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    // SAFETY: flock on a descriptor this function owns; no memory is shared.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        bail!(
            "another `deploy pull` holds {}: not running twice at once",
            path.display()
        );
    }
    Ok(Lock(file))
}

fn splay(seconds: u64) {
    if seconds == 0 {
        return;
    }
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    let wait = u64::from_le_bytes(bytes) % (seconds * 1000 + 1);
    std::thread::sleep(Duration::from_millis(wait));
}

/// Fetches the branch into the checkout (cloning it the first time) and gives the commit
/// fetched. The working tree is not touched: only a verified commit is checked out.
fn fetch(args: &PullArgs, checkout: &Path) -> Result<String> {
    let refspec = args.branch.as_deref().unwrap_or("HEAD");
    if !checkout.join(".git").is_dir() {
        std::fs::create_dir_all(checkout).with_context(|| format!("cannot create {}", checkout.display()))?;
        git(Some(checkout), &["init", "--quiet"])?;
    }
    git(
        Some(checkout),
        &["fetch", "--quiet", "--depth", "1", &args.repo, refspec],
    )?;
    git(Some(checkout), &["rev-parse", "FETCH_HEAD"])
}

fn verify(args: &PullArgs, checkout: &Path, commit: &str) -> Result<()> {
    let mut git_args: Vec<String> = Vec::new();
    if let Some(signers) = &args.allowed_signers {
        let signers = std::path::absolute(signers).unwrap_or_else(|_| signers.clone());
        git_args.push("-c".into());
        git_args.push(format!("gpg.ssh.allowedSignersFile={}", signers.display()));
    }
    git_args.extend(["verify-commit".to_string(), commit.to_string()]);
    let refs: Vec<&str> = git_args.iter().map(String::as_str).collect();
    git(Some(checkout), &refs)
        .map(|_| ())
        .with_context(|| format!("commit {commit} is not signed by an allowed key"))
}

/// This host's name in the inventory: `--host`, else the inventory host whose name is this
/// machine's hostname, FQDN or short name.
fn this_host(args: &PullArgs, inventories: &[PathBuf]) -> Result<String> {
    if let Some(host) = &args.host {
        return Ok(host.clone());
    }
    let inventory = crate::inventory::Inventory::load(inventories)?;
    let hosts = inventory.group_hosts("all");
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_string();
    let fqdn = Command::new("hostname")
        .arg("-f")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let short = hostname.split('.').next().unwrap_or("").to_string();
    let found = [&hostname, &fqdn, &short]
        .into_iter()
        .filter(|n| !n.is_empty())
        .find_map(|name| hosts.iter().find(|h| *h == name).cloned());
    found.with_context(|| {
        format!("this machine ({hostname}) is not in the repository's inventory: name it with --host")
    })
}

fn write_status(dir: &Path, status: &PullStatus) -> Result<()> {
    let text = serde_json::to_string_pretty(status)? + "\n";
    crate::metrics::write_atomically(&dir.join("status.json"), &text)
}

pub fn command(args: &PullArgs, no_color: bool, verbose: u8) -> Result<ExitCode> {
    std::fs::create_dir_all(&args.dir).with_context(|| format!("cannot create {}", args.dir.display()))?;
    let _lock = lock(&args.dir)?;
    splay(args.splay);
    let checkout = args.dir.join("checkout");
    let mut status = PullStatus {
        repo: args.repo.clone(),
        branch: args.branch.clone(),
        ..PullStatus::default()
    };
    // The newest commit, if it can be fetched and may be applied; else the last good one.
    match fetch(args, &checkout) {
        Ok(fetched) => match if args.verify_commit {
            verify(args, &checkout, &fetched)
        } else {
            Ok(())
        } {
            Ok(()) => {
                git(
                    Some(&checkout),
                    &["checkout", "--quiet", "--force", "--detach", &fetched],
                )?;
            }
            Err(err) => status.refused = Some(format!("{err:#}")),
        },
        Err(err) => status.fetch_error = Some(format!("{err:#}")),
    }
    status.commit = git(Some(&checkout), &["rev-parse", "HEAD"]).ok();
    if status.commit.is_none() {
        status.result = "failed".into();
        status.time = now();
        write_status(&args.dir, &status)?;
        let why = status.fetch_error.or(status.refused).unwrap_or_default();
        bail!("nothing to apply: no commit has been checked out yet ({why})");
    }
    for problem in [&status.fetch_error, &status.refused].into_iter().flatten() {
        eprintln!(
            "warning: {problem}; applying the last good commit {}",
            status.commit.as_deref().unwrap_or("")
        );
    }

    let mut run = args.run.clone();
    run.playbook = checkout.join(&args.run.playbook);
    run.inventories = if args.run.inventories.is_empty() {
        vec![checkout.join("hosts")]
    } else {
        args.run.inventories.iter().map(|i| checkout.join(i)).collect()
    };
    let host = this_host(args, &run.inventories)?;
    status.host = host.clone();
    run.limit = Some(host);
    // This host converges itself: no sshd involved.
    run.extra_vars.push("ansible_connection=local".into());
    let outcome = crate::cli::run::execute(Mode::Apply, &run, verbose);
    let code = match &outcome {
        Ok((_, report, elapsed)) => {
            status.changes = report.hosts.iter().map(|h| h.count(&Status::Changed)).sum();
            status.failures = report.hosts.iter().map(|h| h.count(&Status::Failed)).sum();
            let code = crate::cli::run::print_run(Mode::Apply, report, &run, no_color, *elapsed)?;
            status.result = if code == ExitCode::from(exit::OK) {
                if status.changes > 0 {
                    "changed"
                } else {
                    "ok"
                }
            } else {
                "failed"
            }
            .into();
            code
        }
        Err(_) => {
            status.result = "failed".into();
            ExitCode::from(exit::ERROR)
        }
    };
    status.time = now();
    write_status(&args.dir, &status)?;
    outcome.map(|_| code)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
