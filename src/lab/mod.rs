//! Disposable Debian test hosts on this machine, without Docker (DESIGN.md §8).
//!
//! The project's integration tests, benchmarks and first README example need real hosts: real
//! systemd, sshd, sudo and apt. `deploy lab up N` starts them cheaply on one Linux machine, each
//! in its own network namespace with its own copy-on-write root over one cached debootstrap
//! base, booted by `systemd-nspawn`. Everything the lab creates is recorded on disk under the
//! state directory, so `deploy lab down` can clean up after a killed run too, and it only ever
//! signals processes it started itself (checked by PID, command line and cgroup).
//! `shared/lab/FINDINGS.md` records why each step is done the way it is.

mod base;
mod host;
mod inventory;
mod net;
mod process;
mod proxy;
mod repo;
mod teardown;

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Result};

pub use inventory::LabUser;

/// Where the lab keeps its state when neither `--lab-dir` nor `DEPLOY_LAB_DIR` says otherwise.
pub const DEFAULT_LAB_DIR: &str = "/var/tmp/deploy-lab";
/// More hosts than this would not fit the /24 bridge subnet and are surely a typo.
pub const MAX_HOSTS: u32 = 200;
/// The sudo password of the `deploypw` user on every lab host (also in `deploypw.password`).
pub const DEPLOYPW_PASSWORD: &str = "lab-sudo-password";

#[derive(clap::Args, Debug, Clone)]
pub struct LabDir {
    /// The lab's state directory: keys, hosts' disks, proxy cache, local apt repository.
    #[arg(long, env = "DEPLOY_LAB_DIR", default_value = DEFAULT_LAB_DIR, value_name = "DIR")]
    pub lab_dir: PathBuf,
}

#[derive(clap::Subcommand, Debug)]
pub enum LabCommand {
    /// Build the cached Debian bookworm base image, or reuse it if present.
    Base {
        /// Build it again even if it is cached (the lab must be down).
        #[arg(long)]
        rebuild: bool,
        #[command(flatten)]
        dir: LabDir,
    },
    /// Start hosts h1..hN (running ones are kept) and wait until each answers `ssh true`.
    #[command(after_help = "Examples:\n  deploy lab up 3\n  deploy lab up 5      # adds h4 and h5")]
    Up {
        /// How many hosts, 1 to 200.
        #[arg(allow_negative_numbers = true)]
        count: i64,
        #[command(flatten)]
        dir: LabDir,
    },
    /// Stop every host, the proxy, the bridge and the guard route; report anything left over.
    Down {
        #[command(flatten)]
        dir: LabDir,
    },
    /// Show the hosts, their addresses and whether they are up.
    Status {
        #[command(flatten)]
        dir: LabDir,
    },
    /// Open an SSH session to a lab host, or run a command there.
    #[command(
        after_help = "Examples:\n  deploy lab ssh h1\n  deploy lab ssh h2 --user deploy -- sudo -n true"
    )]
    Ssh {
        /// The host: h1, h2, ...
        host: String,
        /// Log in as this user.
        #[arg(long, value_enum, default_value_t = LabUser::Root)]
        user: LabUser,
        /// The command to run; an interactive shell without one.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
        #[command(flatten)]
        dir: LabDir,
    },
    /// Write an Ansible YAML inventory of the running hosts and print its path.
    Inventory {
        /// The user the inventory logs in as.
        #[arg(long, value_enum, default_value_t = LabUser::Root)]
        user: LabUser,
        /// Write it here instead of the state directory.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        dir: LabDir,
    },
    /// The local apt repository every host sees at /srv/lab-repo.
    #[command(subcommand)]
    Repo(RepoCommand),
}

#[derive(clap::Subcommand, Debug)]
pub enum RepoCommand {
    /// Copy .deb packages into the repository and regenerate its index.
    Add {
        #[arg(required = true, value_name = "FILE.deb")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        dir: LabDir,
    },
}

/// Runs one `deploy lab` subcommand.
pub fn run(command: LabCommand) -> Result<ExitCode> {
    match command {
        LabCommand::Base { rebuild, dir } => {
            let lab = Lab::new(&dir.lab_dir);
            require_root("deploy lab base")?;
            process::require_tools(&["debootstrap", "chroot"])?;
            let _lock = process::Lock::acquire()?;
            let started = Instant::now();
            let built = base::ensure(&lab, rebuild)?;
            let verb = if built { "built" } else { "reused" };
            eprintln!("{verb} base image in {:.1}s", started.elapsed().as_secs_f64());
            println!("{}", lab.base_dir().display());
        }
        LabCommand::Up { count, dir } => {
            let count = validate_count(count)?;
            let lab = Lab::new(&dir.lab_dir);
            require_root("deploy lab up")?;
            let lab_base_cached = lab.base_dir().is_dir();
            let mut tools = vec![
                "systemd-nspawn",
                "apt-cacher-ng",
                "dpkg-scanpackages",
                "ip",
                "ssh",
                "ssh-keygen",
                "sysctl",
            ];
            if !lab_base_cached {
                tools.extend(["debootstrap", "chroot"]);
            }
            process::require_tools(&tools)?;
            let _lock = process::Lock::acquire()?;
            net::check_subnet_free(&lab)?;
            host::up(&lab, count)?;
        }
        LabCommand::Down { dir } => {
            let lab = Lab::new(&dir.lab_dir);
            require_root("deploy lab down")?;
            let _lock = process::Lock::acquire()?;
            let leftovers = teardown::down(&lab)?;
            if !leftovers.is_empty() {
                bail!("the lab could not remove: {}", leftovers.join("; "));
            }
        }
        LabCommand::Status { dir } => host::status(&Lab::new(&dir.lab_dir))?,
        LabCommand::Ssh {
            host,
            user,
            command,
            dir,
        } => {
            let lab = Lab::new(&dir.lab_dir);
            let index = parse_host(&host)?;
            return Err(host::exec_ssh(&lab, index, user, &command));
        }
        LabCommand::Inventory { user, output, dir } => {
            let lab = Lab::new(&dir.lab_dir);
            let path = inventory::write(&lab, user, output.as_deref())?;
            println!("{}", path.display());
        }
        LabCommand::Repo(RepoCommand::Add { files, dir }) => {
            let lab = Lab::new(&dir.lab_dir);
            require_root("deploy lab repo add")?;
            process::require_tools(&["dpkg-scanpackages", "dpkg-deb"])?;
            let _lock = process::Lock::acquire()?;
            for name in repo::add(&lab, &files)? {
                eprintln!("added {name}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The lab's state directory and the paths inside it. Other modules (and tests) use these to
/// reach the hosts: the SSH key, the known_hosts file and the hosts' addresses.
#[derive(Clone, Debug)]
pub struct Lab {
    dir: PathBuf,
    cache: PathBuf,
}

impl Lab {
    /// The lab in `dir`; the base image is cached in `$DEPLOY_LAB_CACHE` or `dir/cache`.
    pub fn new(dir: &Path) -> Lab {
        let cache = std::env::var_os("DEPLOY_LAB_CACHE").map_or_else(|| dir.join("cache"), PathBuf::from);
        Lab {
            dir: dir.to_path_buf(),
            cache,
        }
    }

    /// The lab named by `DEPLOY_LAB_DIR`, or the default one.
    pub fn from_env() -> Lab {
        let dir =
            std::env::var_os("DEPLOY_LAB_DIR").map_or_else(|| PathBuf::from(DEFAULT_LAB_DIR), PathBuf::from);
        Lab::new(&dir)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The unpacked base root filesystem every host's overlay sits on.
    pub fn base_dir(&self) -> PathBuf {
        self.cache.join("base-bookworm")
    }

    /// The private key that logs in to every host as root, deploy and deploypw.
    pub fn ssh_key(&self) -> PathBuf {
        self.dir.join("ssh/id_ed25519")
    }

    /// Every host's SSH host key, by name and address; use with `StrictHostKeyChecking=yes`.
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("ssh/known_hosts")
    }

    /// The file holding `deploypw`'s sudo password.
    pub fn password_file(&self) -> PathBuf {
        self.dir.join("deploypw.password")
    }

    fn hosts_dir(&self) -> PathBuf {
        self.dir.join("hosts")
    }

    fn host_dir(&self, index: u32) -> PathBuf {
        self.hosts_dir().join(host_name(index))
    }

    fn host_keys_dir(&self, index: u32) -> PathBuf {
        self.dir.join("hostkeys").join(host_name(index))
    }

    fn repo_dir(&self) -> PathBuf {
        self.dir.join("repo")
    }

    fn proxy_dir(&self) -> PathBuf {
        self.dir.join("proxy")
    }

    /// Host indices with a state directory, running or not, in order.
    fn recorded_hosts(&self) -> Vec<u32> {
        let mut found: Vec<u32> = fs::read_dir(self.hosts_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| parse_host(&entry.file_name().to_string_lossy()).ok())
            .collect();
        found.sort_unstable();
        found
    }

    /// The SSH options that reach lab hosts with strict host key checking.
    pub fn ssh_options(&self) -> Vec<String> {
        vec![
            "-i".into(),
            self.ssh_key().display().to_string(),
            "-o".into(),
            "IdentitiesOnly=yes".into(),
            "-o".into(),
            format!("UserKnownHostsFile={}", self.known_hosts().display()),
            "-o".into(),
            "StrictHostKeyChecking=yes".into(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            "ConnectTimeout=5".into(),
            "-o".into(),
            format!("KexAlgorithms={}", net::FAST_KEX),
        ]
    }
}

/// `h3` for host 3.
pub fn host_name(index: u32) -> String {
    format!("h{index}")
}

/// Host N's address on the lab bridge: 10.213.0.(10+N).
pub fn host_address(index: u32) -> Ipv4Addr {
    let last = u8::try_from(10 + index).expect("host indices are at most MAX_HOSTS, so 10+N fits a byte");
    Ipv4Addr::new(10, 213, 0, last)
}

/// `h3` (or `3`) to 3.
pub fn parse_host(name: &str) -> Result<u32> {
    let digits = name.strip_prefix('h').unwrap_or(name);
    match digits.parse::<u32>() {
        Ok(index) if (1..=MAX_HOSTS).contains(&index) && !digits.starts_with('0') => Ok(index),
        _ => bail!("`{name}` is not a lab host; lab hosts are named h1 to h{MAX_HOSTS}"),
    }
}

fn validate_count(count: i64) -> Result<u32> {
    match u32::try_from(count) {
        Ok(n) if (1..=MAX_HOSTS).contains(&n) => Ok(n),
        _ => bail!("the number of lab hosts must be between 1 and {MAX_HOSTS}, not {count}"),
    }
}

fn require_root(what: &str) -> Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        bail!("{what} must run as root: it creates network namespaces, mounts and cgroups");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_outside_one_to_two_hundred_are_refused() {
        assert_eq!(validate_count(3).unwrap(), 3);
        assert_eq!(validate_count(200).unwrap(), 200);
        for bad in [0, -1, 201, 500] {
            let err = validate_count(bad).unwrap_err().to_string();
            assert_eq!(
                err,
                format!("the number of lab hosts must be between 1 and 200, not {bad}")
            );
        }
    }

    #[test]
    fn host_names_and_addresses() {
        assert_eq!(parse_host("h7").unwrap(), 7);
        assert_eq!(parse_host("12").unwrap(), 12);
        assert!(parse_host("h0").is_err());
        assert!(parse_host("h01").is_err());
        assert!(parse_host("web1").is_err());
        assert_eq!(host_address(1).to_string(), "10.213.0.11");
        assert_eq!(host_address(200).to_string(), "10.213.0.210");
    }
}
