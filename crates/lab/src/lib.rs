//! Disposable Debian test hosts on this machine, without Docker (README, "The lab";
//! docs/architecture.md §2).
//!
//! This is its own crate, behind `deploy lab`, and depends on nothing of the `deploy` engine:
//! the hosts the engine is tested against must not share its bugs.
//!
//! The project's integration tests, benchmarks and first README example need real hosts: real
//! systemd, sshd, sudo and apt. `deploy lab up N` starts them cheaply on one Linux machine, each
//! in its own network namespace with its own copy-on-write root over one cached debootstrap
//! base, booted by `systemd-nspawn`. Everything the lab creates is recorded on disk under the
//! state directory, so `deploy lab down` can clean up after a killed run too, and it only ever
//! signals processes it started itself (checked by PID, command line and cgroup). Each step's
//! comment says why it is done the way it is: each was measured on the project's machines.
//!
//! Up to ten labs can run side by side on one machine (a benchmark and the test suite, say):
//! `--instance N` / `DEPLOY_LAB_INSTANCE` picks one, and every machine-wide name it uses (bridge,
//! subnet, namespaces, cgroups, lock, proxy port, state directory) carries N. Instance 0 keeps
//! the names the lab always had, so its inventories stay valid; only the base image is shared.

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

/// Where lab instance 0 keeps its state when neither `--lab-dir` nor `DEPLOY_LAB_DIR` says
/// otherwise; instance N uses this with `-N` appended.
pub const DEFAULT_LAB_DIR: &str = "/var/tmp/deploy-lab";
/// The highest lab instance: instance N owns 10.213.N.0/24, and ten is plenty on one machine.
pub const MAX_INSTANCE: u8 = 9;
/// More hosts than this would not fit the /24 bridge subnet and are surely a typo.
pub const MAX_HOSTS: u32 = 200;
/// The sudo password of the `deploypw` user on every lab host (also in `deploypw.password`).
pub const DEPLOYPW_PASSWORD: &str = "lab-sudo-password";

/// What a lab host runs as PID 1.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// systemd, booted by systemd-nspawn: what the project's roles target.
    Systemd,
    /// A shell script that starts /etc/rc2.d's services and reaps orphans, in plain
    /// namespaces: a SysV init host, and cheap enough for a hundred hosts on one machine.
    Light,
}

impl Init {
    pub fn name(self) -> &'static str {
        match self {
            Init::Systemd => "systemd",
            Init::Light => "light",
        }
    }
}

/// Which lab a subcommand works on.
#[derive(clap::Args, Debug, Clone)]
pub struct LabDir {
    /// The lab's state directory: keys, hosts' disks, proxy cache, local apt repository
    /// [default: /var/tmp/deploy-lab, or /var/tmp/deploy-lab-N for instance N].
    #[arg(long, env = "DEPLOY_LAB_DIR", value_name = "DIR")]
    pub lab_dir: Option<PathBuf>,
    /// Which of the machine's independent labs, 0 to 9: instance N has its own bridge, subnet
    /// 10.213.N.0/24, hosts and state directory.
    #[arg(
        long,
        env = "DEPLOY_LAB_INSTANCE",
        default_value_t = 0,
        value_name = "N",
        value_parser = clap::value_parser!(u8).range(0..=i64::from(MAX_INSTANCE))
    )]
    pub instance: u8,
}

impl LabDir {
    pub fn lab(&self) -> Result<Lab> {
        Lab::open(self.instance, self.lab_dir.as_deref())
    }
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
    #[command(
        after_help = "Examples:\n  deploy lab up 3\n  deploy lab up 5      # adds h4 and h5\n  deploy lab up 50 --init light"
    )]
    Up {
        /// How many hosts, 1 to 200.
        #[arg(allow_negative_numbers = true)]
        count: i64,
        /// What new hosts run as PID 1: real systemd, or a small SysV-style init (services
        /// from /etc/rc2.d, `service` but no `systemctl`, a fifth of the memory). Hosts
        /// already running keep theirs.
        #[arg(long, value_enum, default_value_t = Init::Systemd)]
        init: Init,
        #[command(flatten)]
        dir: LabDir,
    },
    /// Stop every host, the proxy, the bridge and the guard route; report anything left over.
    Down {
        #[command(flatten)]
        dir: LabDir,
    },
    /// Stop some hosts at once, as a power cut would: no clean shutdown, their disks are
    /// discarded, the rest of the lab keeps running. `deploy lab up N` starts them afresh.
    #[command(after_help = "Examples:\n  deploy lab stop h2\n  deploy lab stop h2 h3")]
    Stop {
        /// The hosts: h1, h2, ...
        #[arg(required = true)]
        hosts: Vec<String>,
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
            let lab = dir.lab()?;
            require_root("deploy lab base")?;
            process::require_tools(&["debootstrap", "chroot"])?;
            let _lock = lab.lock()?;
            let started = Instant::now();
            let built = base::ensure(&lab, rebuild)?;
            let verb = if built { "built" } else { "reused" };
            eprintln!("{verb} base image in {:.1}s", started.elapsed().as_secs_f64());
            println!("{}", lab.base_dir().display());
        }
        LabCommand::Up { count, init, dir } => {
            let count = validate_count(count)?;
            let lab = dir.lab()?;
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
            let _lock = lab.lock()?;
            net::check_dir_instance(&lab)?;
            net::check_subnet_free(&lab)?;
            host::up(&lab, count, init)?;
        }
        LabCommand::Down { dir } => {
            let lab = dir.lab()?;
            require_root("deploy lab down")?;
            let _lock = lab.lock()?;
            net::check_dir_instance(&lab)?;
            let leftovers = teardown::down(&lab)?;
            if !leftovers.is_empty() {
                bail!("the lab could not remove: {}", leftovers.join("; "));
            }
        }
        LabCommand::Stop { hosts, dir } => {
            let lab = dir.lab()?;
            require_root("deploy lab stop")?;
            let indices = hosts
                .iter()
                .map(|name| parse_host(name))
                .collect::<Result<Vec<_>>>()?;
            let _lock = lab.lock()?;
            net::check_dir_instance(&lab)?;
            let leftovers = teardown::kill_hosts(&lab, &indices);
            if !leftovers.is_empty() {
                bail!("the lab could not remove: {}", leftovers.join("; "));
            }
            let names: Vec<String> = indices.iter().map(|&index| host_name(index)).collect();
            eprintln!("lab stop: stopped {}", names.join(", "));
        }
        LabCommand::Status { dir } => host::status(&dir.lab()?)?,
        LabCommand::Ssh {
            host,
            user,
            command,
            dir,
        } => {
            let lab = dir.lab()?;
            let index = parse_host(&host)?;
            return Err(host::exec_ssh(&lab, index, user, &command));
        }
        LabCommand::Inventory { user, output, dir } => {
            let lab = dir.lab()?;
            let path = inventory::write(&lab, user, output.as_deref())?;
            println!("{}", path.display());
        }
        LabCommand::Repo(RepoCommand::Add { files, dir }) => {
            let lab = dir.lab()?;
            require_root("deploy lab repo add")?;
            process::require_tools(&["dpkg-scanpackages", "dpkg-deb"])?;
            let _lock = lab.lock()?;
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
    instance: u8,
}

impl Lab {
    /// Lab instance 0 in `dir`; the base image is cached in `$DEPLOY_LAB_CACHE` or `dir/cache`.
    pub fn new(dir: &Path) -> Lab {
        let cache = std::env::var_os("DEPLOY_LAB_CACHE").map_or_else(|| dir.join("cache"), PathBuf::from);
        Lab {
            dir: dir.to_path_buf(),
            cache,
            instance: 0,
        }
    }

    /// Lab instance `instance` in `dir`, or in its default state directory. Instances other
    /// than 0 share one base image: `$DEPLOY_LAB_CACHE`, or instance 0's default cache.
    pub fn open(instance: u8, dir: Option<&Path>) -> Result<Lab> {
        if instance > MAX_INSTANCE {
            bail!("lab instances are numbered 0 to {MAX_INSTANCE}, not {instance}");
        }
        let dir = dir.map_or_else(|| default_lab_dir(instance), Path::to_path_buf);
        if instance == 0 {
            return Ok(Lab::new(&dir));
        }
        let cache = std::env::var_os("DEPLOY_LAB_CACHE")
            .map_or_else(|| Path::new(DEFAULT_LAB_DIR).join("cache"), PathBuf::from);
        Ok(Lab { dir, cache, instance })
    }

    /// The lab named by `DEPLOY_LAB_INSTANCE` and `DEPLOY_LAB_DIR`, or the default one.
    pub fn from_env() -> Result<Lab> {
        let instance = match std::env::var("DEPLOY_LAB_INSTANCE") {
            Ok(text) => text.trim().parse::<u8>().map_err(|_| {
                anyhow::anyhow!(
                    "DEPLOY_LAB_INSTANCE must be a lab instance from 0 to {MAX_INSTANCE}, not `{text}`"
                )
            })?,
            Err(_) => 0,
        };
        let dir = std::env::var_os("DEPLOY_LAB_DIR").map(PathBuf::from);
        Lab::open(instance, dir.as_deref())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Which of the machine's labs this is, 0 to [`MAX_INSTANCE`].
    pub fn instance(&self) -> u8 {
        self.instance
    }

    /// Host N's address on this lab's bridge: 10.213.I.(10+N) for instance I.
    pub fn host_address(&self, index: u32) -> Ipv4Addr {
        host_address(self.instance, index)
    }

    /// The machine's address on this lab's bridge, where the apt proxy listens: 10.213.I.1.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 213, self.instance, 1)
    }

    /// The name nspawn knows host N by, unique on the machine: `h3`, or `lab2-h3` in instance 2.
    fn machine_name(&self, index: u32) -> String {
        self.prefixed(&host_name(index))
    }

    /// `name` for instance 0, `labI-name` for instance I, so instance 0 keeps its old names.
    fn prefixed(&self, name: &str) -> String {
        match self.instance {
            0 => name.to_string(),
            instance => format!("lab{instance}-{name}"),
        }
    }

    /// `name` for instance 0, `name-I` for instance I.
    fn suffixed(&self, name: &str) -> String {
        match self.instance {
            0 => name.to_string(),
            instance => format!("{name}-{instance}"),
        }
    }

    /// The lock that keeps two commands from changing this lab at once.
    fn lock_path(&self) -> PathBuf {
        PathBuf::from(format!("/run/{}.lock", self.suffixed("deploy-lab")))
    }

    fn lock(&self) -> Result<process::Lock> {
        process::Lock::acquire(
            &self.lock_path(),
            "waiting for another `deploy lab` command to finish...",
        )
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

/// The state directory of lab instance N when none is given.
pub fn default_lab_dir(instance: u8) -> PathBuf {
    match instance {
        0 => PathBuf::from(DEFAULT_LAB_DIR),
        instance => PathBuf::from(format!("{DEFAULT_LAB_DIR}-{instance}")),
    }
}

/// Host N's address on lab instance I's bridge: 10.213.I.(10+N).
pub fn host_address(instance: u8, index: u32) -> Ipv4Addr {
    let last = u8::try_from(10 + index).expect("host indices are at most MAX_HOSTS, so 10+N fits a byte");
    Ipv4Addr::new(10, 213, instance, last)
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
        assert_eq!(host_address(0, 1).to_string(), "10.213.0.11");
        assert_eq!(host_address(0, 200).to_string(), "10.213.0.210");
        assert_eq!(host_address(3, 1).to_string(), "10.213.3.11");
    }

    #[test]
    fn instance_zero_keeps_the_names_it_always_had() {
        let zero = Lab::open(0, None).unwrap();
        assert_eq!(zero.dir(), Path::new("/var/tmp/deploy-lab"));
        assert_eq!(zero.lock_path(), Path::new("/run/deploy-lab.lock"));
        assert_eq!(zero.machine_name(4), "h4");
        assert_eq!(zero.gateway().to_string(), "10.213.0.1");
        assert_eq!(zero.host_address(2).to_string(), "10.213.0.12");

        let seven = Lab::open(7, None).unwrap();
        assert_eq!(seven.dir(), Path::new("/var/tmp/deploy-lab-7"));
        assert_eq!(seven.lock_path(), Path::new("/run/deploy-lab-7.lock"));
        assert_eq!(seven.machine_name(4), "lab7-h4");
        assert_eq!(seven.gateway().to_string(), "10.213.7.1");
        assert_eq!(seven.host_address(2).to_string(), "10.213.7.12");
        let elsewhere = Lab::open(7, Some(Path::new("/tmp/lab"))).unwrap();
        assert_eq!(elsewhere.dir(), Path::new("/tmp/lab"));

        let err = Lab::open(10, None).unwrap_err().to_string();
        assert_eq!(err, "lab instances are numbered 0 to 9, not 10");
    }
}
