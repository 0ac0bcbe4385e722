//! Starting lab hosts, checking on them and logging in to them.
//!
//! A host is an overlay over the base (its own /etc, /var and dpkg database), a network
//! namespace with one veth on the bridge, and `systemd-nspawn --boot` running real systemd as
//! PID 1. Each nspawn runs under a small shell supervisor that boots it again when the guest
//! reboots (nspawn exits with 133 then), in a cgroup of its own so that tear-down can find
//! every process the host left behind even if nspawn itself was killed.
//!
//! A light host (`--init light`) has the same disk, network and users, but no systemd: plain
//! mount, PID, UTS and IPC namespaces and a chroot, with a shell script as PID 1 that starts
//! /etc/rc2.d's services. It is what a SysV init host looks like to `deploy`, and it costs a
//! fifth of a systemd host's memory, which is what lets a hundred of them share one machine.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::fs::{self, File};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{chown, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use super::inventory::LabUser;
use super::process::{self, command, recorded_ours, run};
use super::{base, host_name, net, proxy, repo, teardown, Init, Lab, DEPLOYPW_PASSWORD};

/// How long a new host may take to answer `ssh true` (it is about a second when all is well).
const BOOT_TIMEOUT: Duration = Duration::from_secs(120);
/// The cgroup hierarchies nspawn needs a cgroup of its own in (hybrid v1 + v2 machines).
const CGROUP_ROOTS: [&str; 2] = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"];
/// The lab's parent cgroup: this for instance 0, with `-N` appended for instance N.
const CGROUP_NAME: &str = "deploy-lab";

/// Where a light host's PID 1 script lives inside it.
const LIGHT_INIT: &str = "sbin/init";

/// PID 1 of a light host, in place of the base's /sbin/init (a link to systemd), so that
/// `/proc/1/comm` reads `init` and nothing on the host points at systemd as its init, as on a
/// SysV init host: what tools that detect the service manager look at.
/// A shell reaps every child it is waiting for, adopted orphans included, so no zombies
/// pile up under it; SIGTERM ends it, and the kernel then ends the whole host.
const LIGHT_INIT_SCRIPT: &str = r#"#!/bin/sh
# PID 1 of a light lab host: starts the services of runlevel 2, then reaps orphans.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
trap 'exit 0' TERM INT
for script in /etc/rc2.d/S*; do
  [ -x "$script" ] && "$script" start
done
echo "deploy lab: runlevel 2 reached"
while :; do
  sleep 86400 &
  wait $!
done
"#;

/// What a light host's namespaces get before its PID 1 starts, run as PID 1 of the new PID
/// namespace: the kernel file systems, a small /dev with its own devpts, tmpfs /run and
/// /tmp, the lab's apt repository, a runlevel record (invoke-rc.d asks `runlevel` before
/// starting a service) and the host name; then the chroot. `$0` and `$1` are the markers
/// tear-down recognises the host by.
const LIGHT_BOOT: &str = r#"
set -e
root=${1#--directory=}; name=$2; repo=$3
mount --make-rprivate /
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys"
mount -t tmpfs -o mode=0755,nosuid,size=4m tmpfs "$root/dev"
cd "$root/dev"
mknod -m 666 null c 1 3; mknod -m 666 zero c 1 5; mknod -m 666 full c 1 7
mknod -m 666 random c 1 8; mknod -m 666 urandom c 1 9; mknod -m 666 tty c 5 0
mkdir pts shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs shm
ln -s pts/ptmx ptmx; ln -s /proc/self/fd fd
ln -s /proc/self/fd/0 stdin; ln -s /proc/self/fd/1 stdout; ln -s /proc/self/fd/2 stderr
cd /
mount -t tmpfs -o mode=0755,nosuid,nodev,size=64m tmpfs "$root/run"
mkdir -m 1777 "$root/run/lock"
cp "$root/../runlevel.utmp" "$root/run/utmp"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
mount --bind "$repo" "$root/srv/lab-repo"
mount -o remount,bind,ro "$root/srv/lab-repo"
hostname "$name"
exec chroot "$root" /sbin/init
"#;

/// Keeps hosts already running, starts h1..h`count` that are not, and waits for them.
/// New hosts run `init`; running ones keep whatever they run.
pub fn up(lab: &Lab, count: u32, init: Init) -> Result<()> {
    let started = Instant::now();
    base::ensure(lab, false)?;
    tracing::debug!("base ready after {:?}", started.elapsed());
    prepare_keys(lab)?;
    repo::ensure(lab)?;
    net::ensure_bridge(lab)?;
    proxy::ensure(lab)?;
    tracing::debug!("bridge and proxy ready after {:?}", started.elapsed());

    if init == Init::Systemd {
        raise_inotify_limits();
    }
    let running: Vec<u32> = lab
        .recorded_hosts()
        .into_iter()
        .filter(|&index| is_running(lab, index))
        .collect();
    let new: Vec<u32> = (1..=count).filter(|index| !running.contains(index)).collect();
    let all: BTreeSet<u32> = running.iter().copied().chain(1..=count).collect();
    for &index in &new {
        ensure_host_keys(lab, index)?;
    }
    write_known_hosts(lab)?;
    for &index in &new {
        start(lab, index, &all, init).with_context(|| format!("could not start {}", host_name(index)))?;
    }
    // Running hosts learn the names of the new ones.
    for &index in &running {
        write_file(
            &root_dir(lab, index).join("etc/hosts"),
            &hosts_file(lab, &all),
            0o644,
        )?;
    }
    tracing::debug!("hosts started after {:?}", started.elapsed());
    wait_ready(lab, &new)?;
    let extra: Vec<String> = running
        .iter()
        .filter(|&&index| index > count)
        .map(|&index| host_name(index))
        .collect();
    let range = if count == 1 {
        "h1".to_string()
    } else {
        format!("h1..h{count}")
    };
    let which = match lab.instance() {
        0 => String::new(),
        instance => format!(" (instance {instance}, 10.213.{instance}.0/24)"),
    };
    eprintln!(
        "lab up{which}: {range} ({} started, {} already running) in {:.1}s",
        new.len(),
        running.len(),
        started.elapsed().as_secs_f64()
    );
    if !extra.is_empty() {
        eprintln!("also running: {}", extra.join(", "));
    }
    Ok(())
}

/// Whether host N's supervisor is alive (it keeps the host booted across guest reboots).
pub fn is_running(lab: &Lab, index: u32) -> bool {
    recorded_ours(
        &supervisor_pid_file(lab, index),
        &supervisor_markers(lab, index).each_ref().map(String::as_str),
    )
    .is_some()
}

/// Every guest systemd takes inotify instances from the machine's per-user budget (128 by
/// default), which twenty hosts beside a second lab exhaust: systemd then fails to boot with
/// "Too many open files". The limits are raised, never lowered.
fn raise_inotify_limits() {
    for (name, wanted) in [("max_user_instances", 8192u64), ("max_user_watches", 1_048_576)] {
        let path = format!("/proc/sys/fs/inotify/{name}");
        let current: u64 = fs::read_to_string(&path)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0);
        if current < wanted {
            if let Err(err) = fs::write(&path, wanted.to_string()) {
                tracing::warn!("could not raise fs.inotify.{name} to {wanted}: {err}");
            }
        }
    }
}

/// What host N runs as PID 1 (recorded when it started).
pub fn init_of(lab: &Lab, index: u32) -> Init {
    match fs::read_to_string(init_file(lab, index)) {
        Ok(text) if text.trim() == Init::Light.name() => Init::Light,
        _ => Init::Systemd,
    }
}

fn init_file(lab: &Lab, index: u32) -> PathBuf {
    lab.host_dir(index).join("init")
}

pub fn supervisor_pid_file(lab: &Lab, index: u32) -> PathBuf {
    lab.host_dir(index).join("supervisor.pid")
}

pub fn nspawn_pid_file(lab: &Lab, index: u32) -> PathBuf {
    lab.host_dir(index).join("nspawn.pid")
}

pub fn root_dir(lab: &Lab, index: u32) -> PathBuf {
    lab.host_dir(index).join("root")
}

/// Arguments that only host N's supervisor of this lab has.
pub fn supervisor_markers(lab: &Lab, index: u32) -> [String; 2] {
    [
        format!("deploy-lab-supervisor-{}", lab.machine_name(index)),
        directory_arg(lab, index),
    ]
}

/// Arguments that only host N's nspawn of this lab has.
pub fn nspawn_markers(lab: &Lab, index: u32) -> [String; 2] {
    [
        format!("--machine={}", lab.machine_name(index)),
        directory_arg(lab, index),
    ]
}

fn directory_arg(lab: &Lab, index: u32) -> String {
    format!("--directory={}", root_dir(lab, index).display())
}

/// Where nspawn keeps host N's mount propagation directory (named after the machine).
pub fn propagate_dir(lab: &Lab, index: u32) -> PathBuf {
    Path::new("/run/systemd/nspawn/propagate").join(lab.machine_name(index))
}

/// Host N's cgroups, one per hierarchy.
pub fn cgroup_dirs(lab: &Lab, index: u32) -> Vec<PathBuf> {
    cgroup_parents(lab)
        .into_iter()
        .map(|parent| parent.join(host_name(index)))
        .collect()
}

/// The lab's parent cgroups, one per hierarchy.
pub fn cgroup_parents(lab: &Lab) -> Vec<PathBuf> {
    let name = lab.suffixed(CGROUP_NAME);
    CGROUP_ROOTS
        .iter()
        .map(|root| Path::new(root).join(&name))
        .collect()
}

/// The client key, and the password file documenting `deploypw`'s sudo password.
fn prepare_keys(lab: &Lab) -> Result<()> {
    let key = lab.ssh_key();
    if !key.exists() {
        let dir = key.parent().expect("the key lives in the ssh directory");
        fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
        run(command("ssh-keygen")?
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "deploy-lab"])
            .arg("-f")
            .arg(&key))?;
    }
    write_file(&lab.password_file(), &format!("{DEPLOYPW_PASSWORD}\n"), 0o600)
}

/// Host N's SSH host key, made once and kept across down/up so known_hosts stays valid.
fn ensure_host_keys(lab: &Lab, index: u32) -> Result<()> {
    let dir = lab.host_keys_dir(index);
    let key = dir.join("ssh_host_ed25519_key");
    if key.exists() && key.with_extension("pub").exists() {
        return Ok(());
    }
    fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    let _ = fs::remove_file(&key);
    let _ = fs::remove_file(key.with_extension("pub"));
    run(command("ssh-keygen")?
        .args(["-q", "-t", "ed25519", "-N", "", "-C"])
        .arg(format!("root@{}", host_name(index)))
        .arg("-f")
        .arg(&key))?;
    Ok(())
}

/// known_hosts for every host index that has a key, by name and by address.
fn write_known_hosts(lab: &Lab) -> Result<()> {
    let mut indices: Vec<u32> = fs::read_dir(lab.dir().join("hostkeys"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| super::parse_host(&entry.file_name().to_string_lossy()).ok())
        .collect();
    indices.sort_unstable();
    let mut text = String::new();
    for index in indices {
        let public = lab.host_keys_dir(index).join("ssh_host_ed25519_key.pub");
        let line =
            fs::read_to_string(&public).with_context(|| format!("could not read {}", public.display()))?;
        let mut fields = line.split_whitespace();
        let (Some(kind), Some(key)) = (fields.next(), fields.next()) else {
            bail!("{}: not an SSH public key", public.display());
        };
        text.push_str(&format!(
            "{},{} {kind} {key}\n",
            host_name(index),
            lab.host_address(index)
        ));
    }
    write_file(&lab.known_hosts(), &text, 0o644)
}

fn start(lab: &Lab, index: u32, all: &BTreeSet<u32>, init: Init) -> Result<()> {
    let dir = lab.host_dir(index);
    if dir.exists()
        || net::netns_path(lab, index).exists()
        || cgroup_dirs(lab, index).iter().any(|cg| cg.exists())
    {
        // Left by a host that died or a killed run: start from a clean slate.
        let left = teardown::stop_hosts(lab, &[index]);
        if !left.is_empty() {
            bail!("could not clear what an earlier run left: {}", left.join("; "));
        }
    }
    let (upper, work, root) = (dir.join("upper"), dir.join("work"), root_dir(lab, index));
    for path in [&upper, &work, &root] {
        fs::create_dir_all(path).with_context(|| format!("could not create {}", path.display()))?;
    }
    mount_overlay(&lab.base_dir(), &upper, &work, &root)?;
    populate(lab, index, &root, all)?;
    if init == Init::Light {
        write_file(&root.join(LIGHT_INIT), LIGHT_INIT_SCRIPT, 0o755)?;
        fs::write(dir.join("runlevel.utmp"), runlevel_record())
            .context("could not write the host's runlevel record")?;
    }
    write_file(&init_file(lab, index), &format!("{}\n", init.name()), 0o644)?;
    net::create_host_link(lab, index)?;
    for cgroup in cgroup_dirs(lab, index) {
        fs::create_dir_all(&cgroup)
            .with_context(|| format!("could not create the cgroup {}", cgroup.display()))?;
    }
    // nspawn cannot remove it where /run is not a tmpfs; the supervisor does between boots.
    let _ = fs::remove_dir_all(propagate_dir(lab, index));
    spawn_supervisor(lab, index, init)
}

/// The utmp record of runlevel 2 (previous runlevel `N`), as sysvinit writes it at boot.
fn runlevel_record() -> Vec<u8> {
    // SAFETY: utmpx is plain old data; all zero bytes is a valid, empty record.
    let mut record: libc::utmpx = unsafe { std::mem::zeroed() };
    record.ut_type = libc::RUN_LVL;
    record.ut_pid = i32::from(b'2') + 256 * i32::from(b'N');
    for (field, text) in [
        (&mut record.ut_line[..], "~"),
        (&mut record.ut_id[..], "~~"),
        (&mut record.ut_user[..], "runlevel"),
    ] {
        for (slot, byte) in field.iter_mut().zip(text.bytes()) {
            *slot = byte as libc::c_char;
        }
    }
    // SAFETY: the record is initialised and lives for the whole borrow.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            std::ptr::addr_of!(record).cast::<u8>(),
            std::mem::size_of::<libc::utmpx>(),
        )
    };
    bytes.to_vec()
}

fn mount_overlay(lower: &Path, upper: &Path, work: &Path, target: &Path) -> Result<()> {
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    );
    let source = CString::new("overlay").expect("no NUL in a literal");
    let target_c =
        CString::new(target.as_os_str().as_bytes()).context("the lab directory's path holds a NUL byte")?;
    let options_c = CString::new(options.clone()).context("the lab directory's path holds a NUL byte")?;
    // SAFETY: all pointers are valid NUL-terminated strings that outlive the call.
    let result = unsafe {
        libc::mount(
            source.as_ptr(),
            target_c.as_ptr(),
            source.as_ptr(),
            0,
            options_c.as_ptr().cast(),
        )
    };
    if result != 0 {
        bail!(
            "could not mount overlay ({options}) on {}: {}",
            target.display(),
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// Writes what makes this host itself into its overlay's upper layer.
fn populate(lab: &Lab, index: u32, root: &Path, all: &BTreeSet<u32>) -> Result<()> {
    let name = host_name(index);
    write_file(&root.join("etc/hostname"), &format!("{name}\n"), 0o644)?;
    write_file(&root.join("etc/hosts"), &hosts_file(lab, all), 0o644)?;
    write_file(
        &root.join("etc/machine-id"),
        &format!("{}\n", random_hex(16)?),
        0o444,
    )?;
    let keys = lab.host_keys_dir(index);
    for (file, mode) in [
        ("ssh_host_ed25519_key", 0o600),
        ("ssh_host_ed25519_key.pub", 0o644),
    ] {
        let text = fs::read_to_string(keys.join(file))
            .with_context(|| format!("could not read {}", keys.join(file).display()))?;
        write_file(&root.join("etc/ssh").join(file), &text, mode)?;
    }
    let public_key = fs::read_to_string(lab.ssh_key().with_extension("pub"))
        .context("could not read the lab's public key")?;
    let passwd =
        fs::read_to_string(root.join("etc/passwd")).context("could not read the base's /etc/passwd")?;
    for user in [LabUser::Root, LabUser::Deploy, LabUser::Deploypw] {
        let (uid, gid, home) = passwd_entry(&passwd, user.name()).ok_or_else(|| {
            anyhow!(
                "the base image has no user `{}`; rebuild it with `deploy lab base --rebuild`",
                user.name()
            )
        })?;
        let ssh_dir = root.join(home.trim_start_matches('/')).join(".ssh");
        fs::create_dir_all(&ssh_dir).with_context(|| format!("could not create {}", ssh_dir.display()))?;
        fs::set_permissions(&ssh_dir, fs::Permissions::from_mode(0o700))?;
        let authorized = ssh_dir.join("authorized_keys");
        write_file(&authorized, &public_key, 0o600)?;
        chown(&ssh_dir, Some(uid), Some(gid))?;
        chown(&authorized, Some(uid), Some(gid))?;
    }
    write_file(
        &root.join("etc/apt/apt.conf.d/01lab-proxy"),
        &proxy::apt_config(lab),
        0o644,
    )?;
    write_file(
        &root.join("etc/apt/sources.list.d/lab-repo.list"),
        &repo::apt_source(),
        0o644,
    )?;
    fs::create_dir_all(root.join(repo::MOUNT_POINT.trim_start_matches('/')))?;
    Ok(())
}

/// `/etc/hosts` naming every host of the lab, so `sudo` and `psql -h h2` resolve names.
fn hosts_file(lab: &Lab, all: &BTreeSet<u32>) -> String {
    let mut text = format!("127.0.0.1\tlocalhost\n{}\tlab-gateway\n", lab.gateway());
    for &index in all {
        text.push_str(&format!("{}\t{}\n", lab.host_address(index), host_name(index)));
    }
    text
}

fn passwd_entry(passwd: &str, user: &str) -> Option<(u32, u32, String)> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 6 && fields[0] == user)
            .then(|| {
                Some((
                    fields[2].parse().ok()?,
                    fields[3].parse().ok()?,
                    fields[5].to_string(),
                ))
            })
            .flatten()
    })
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).context("could not get random bytes from the kernel")?;
    Ok(buffer.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Starts the detached supervisor: it joins the host's cgroups, then boots nspawn again and
/// again for as long as the guest reboots, recording each nspawn's PID.
fn spawn_supervisor(lab: &Lab, index: u32, init: Init) -> Result<()> {
    const SCRIPT: &str = r#"
for cg in "$LAB_CGROUP_V1" "$LAB_CGROUP_V2"; do echo $$ > "$cg/cgroup.procs" || exit 1; done
while :; do
  "$@" &
  echo $! > "$LAB_NSPAWN_PID"
  wait $!
  rc=$?
  [ "$rc" -eq 133 ] || exit "$rc"
  echo "deploy lab: the guest rebooted; booting it again"
  rm -rf "$LAB_PROPAGATE"
done
"#;
    let machine = lab.machine_name(index);
    let dir = lab.host_dir(index);
    let cgroups = cgroup_dirs(lab, index);
    let console = File::create(dir.join("console.log")).context("could not create the host's console log")?;
    let mut supervisor = Command::new("/bin/sh");
    supervisor
        .args(["-c", SCRIPT])
        .arg(format!("deploy-lab-supervisor-{machine}"))
        .args(guest_command(lab, index, init)?)
        .env("LAB_CGROUP_V1", &cgroups[0])
        .env("LAB_CGROUP_V2", &cgroups[1])
        .env("LAB_NSPAWN_PID", nspawn_pid_file(lab, index))
        .env("LAB_PROPAGATE", propagate_dir(lab, index))
        .stdin(Stdio::null())
        .stdout(console.try_clone().context("could not share the console log")?)
        .stderr(console);
    process::daemonize(&mut supervisor);
    let child = supervisor
        .spawn()
        .context("could not start systemd-nspawn's supervisor")?;
    write_file(
        &supervisor_pid_file(lab, index),
        &format!("{}\n", child.id()),
        0o644,
    )
}

/// systemd-nspawn's arguments for host N (after the program itself).
fn nspawn_args(lab: &Lab, index: u32) -> Vec<String> {
    vec![
        "--quiet".to_string(),
        "--boot".into(),
        "--keep-unit".into(),
        "--register=no".into(),
        format!("--machine={}", lab.machine_name(index)),
        // Inside, the host is plain hN whatever instance it belongs to.
        format!("--hostname={}", host_name(index)),
        directory_arg(lab, index),
        format!(
            "--network-namespace-path={}",
            net::netns_path(lab, index).display()
        ),
        // Firewall modules (`ufw`, iptables scripts) need it. The guest is in its own network
        // namespace, so it reaches that namespace's interfaces and tables only, never the
        // machine's (a light host, root in its own namespaces, has it already).
        "--capability=CAP_NET_ADMIN".into(),
        "--console=passive".into(),
        "--link-journal=no".into(),
        "--resolv-conf=off".into(),
        "--timezone=off".into(),
        format!("--bind-ro={}:{}", lab.repo_dir().display(), repo::MOUNT_POINT),
    ]
}

/// The command that runs host N's guest: nspawn booting systemd, or a light host's namespaces
/// around its PID 1 script. Either one carries [`nspawn_markers`].
fn guest_command(lab: &Lab, index: u32, init: Init) -> Result<Vec<std::ffi::OsString>> {
    let name = host_name(index);
    let machine = lab.machine_name(index);
    let mut argv: Vec<std::ffi::OsString> = Vec::new();
    match init {
        Init::Systemd => {
            argv.push(process::tool("systemd-nspawn")?.into());
            argv.extend(nspawn_args(lab, index).into_iter().map(Into::into));
        }
        Init::Light => {
            argv.push(process::tool("ip")?.into());
            argv.extend(["netns".into(), "exec".into(), net::netns(lab, index).into()]);
            argv.push(process::tool("unshare")?.into());
            argv.extend(
                [
                    "--mount",
                    "--uts",
                    "--ipc",
                    "--pid",
                    "--fork",
                    "--kill-child",
                    "/bin/sh",
                    "-c",
                    LIGHT_BOOT,
                ]
                .map(Into::into),
            );
            argv.extend(
                [
                    format!("--machine={machine}"),
                    directory_arg(lab, index),
                    name,
                    lab.repo_dir().display().to_string(),
                ]
                .map(Into::into),
            );
        }
    }
    Ok(argv)
}

/// Waits, for all hosts at once, until each answers `ssh true`.
fn wait_ready(lab: &Lab, hosts: &[u32]) -> Result<()> {
    let failures: Vec<String> = std::thread::scope(|scope| {
        let waits: Vec<_> = hosts
            .iter()
            .map(|&index| scope.spawn(move || wait_one(lab, index)))
            .collect();
        waits
            .into_iter()
            .filter_map(|wait| match wait.join() {
                Ok(Ok(())) => None,
                Ok(Err(err)) => Some(format!("{err:#}")),
                Err(_) => Some("a readiness check panicked".to_string()),
            })
            .collect()
    });
    if !failures.is_empty() {
        bail!(
            "{} (`deploy lab down` removes what was started)",
            failures.join("; ")
        );
    }
    Ok(())
}

fn wait_one(lab: &Lab, index: u32) -> Result<()> {
    let name = host_name(index);
    let address = SocketAddr::from((lab.host_address(index), 22));
    let console = lab.host_dir(index).join("console.log");
    let deadline = Instant::now() + BOOT_TIMEOUT;
    let mut last_error = String::from("sshd never accepted a connection");
    loop {
        if !is_running(lab, index) {
            bail!(
                "{name} stopped while booting; last lines of {}:\n{}",
                console.display(),
                tail(&console, 10)
            );
        }
        if TcpStream::connect_timeout(&address, Duration::from_millis(300)).is_ok() {
            let mut ssh = ssh_command(lab, index, LabUser::Root, &["true".to_string()])?;
            let (answered, stderr) = process::run_with_timeout(&mut ssh, Duration::from_secs(10))?;
            if answered {
                tracing::debug!("{name} answered ssh");
                return Ok(());
            }
            tracing::debug!("{name}: ssh true failed: {stderr}");
            last_error = stderr;
        }
        if Instant::now() >= deadline {
            bail!(
                "{name} did not answer `ssh true` within {}s ({last_error}); its console log is {}",
                BOOT_TIMEOUT.as_secs(),
                console.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `ssh` with the lab's key and known_hosts, for `user@hN`, running `command` if not empty.
pub fn ssh_command(lab: &Lab, index: u32, user: LabUser, command: &[String]) -> Result<Command> {
    let mut ssh = process::command("ssh")?;
    ssh.args(lab.ssh_options())
        .arg(format!("{}@{}", user.name(), lab.host_address(index)))
        .args(command);
    Ok(ssh)
}

/// Replaces this process with an SSH session to host N; returns only on failure.
pub fn exec_ssh(lab: &Lab, index: u32, user: LabUser, command: &[String]) -> anyhow::Error {
    if !lab.ssh_key().exists() {
        return anyhow!(
            "the lab has no SSH key at {}; run `deploy lab up N` first",
            lab.ssh_key().display()
        );
    }
    if !is_running(lab, index) {
        return anyhow!(
            "{} is not running; `deploy lab status` lists the hosts",
            host_name(index)
        );
    }
    match ssh_command(lab, index, user, command) {
        Ok(mut ssh) => anyhow!(ssh.exec()).context("could not run ssh"),
        Err(err) => err,
    }
}

/// Prints every recorded host with its address and state.
pub fn status(lab: &Lab) -> Result<()> {
    let hosts = lab.recorded_hosts();
    if hosts.is_empty() {
        eprintln!(
            "no lab hosts in {} (`deploy lab up N` starts some)",
            lab.dir().display()
        );
    } else {
        println!("HOST  ADDRESS       STATE INIT");
        for index in hosts {
            let state = if is_running(lab, index) { "up" } else { "down" };
            println!(
                "{:<5} {:<13} {state:<5} {}",
                host_name(index),
                lab.host_address(index).to_string(),
                init_of(lab, index).name()
            );
        }
    }
    let proxy = match proxy::running(lab) {
        Some(pid) => format!("up (PID {pid}) on {}:{}", lab.gateway(), proxy::port(lab)),
        None => "down".to_string(),
    };
    eprintln!("apt proxy: {proxy}; base image: {}", lab.base_dir().display());
    Ok(())
}

/// Writes `content` to `path` (via a temporary file and a rename) with `mode`.
fn write_file(path: &Path, content: &str, mode: u32) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("could not create {}", parent.display()))?;
    }
    let partial = path.with_file_name(format!(
        ".{}.partial",
        path.file_name()
            .expect("written files have names")
            .to_string_lossy()
    ));
    fs::write(&partial, content).with_context(|| format!("could not write {}", partial.display()))?;
    fs::set_permissions(&partial, fs::Permissions::from_mode(mode))?;
    fs::rename(&partial, path).with_context(|| format!("could not write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_file_names_every_host() {
        let all: BTreeSet<u32> = [1, 2, 3].into();
        assert_eq!(
            hosts_file(&Lab::new(Path::new("/var/tmp/lab")), &all),
            "127.0.0.1\tlocalhost\n10.213.0.1\tlab-gateway\n10.213.0.11\th1\n10.213.0.12\th2\n10.213.0.13\th3\n"
        );
        let four = Lab::open(4, None).unwrap();
        assert_eq!(
            hosts_file(&four, &[1].into()),
            "127.0.0.1\tlocalhost\n10.213.4.1\tlab-gateway\n10.213.4.11\th1\n"
        );
        assert_eq!(
            cgroup_dirs(&four, 2),
            [
                Path::new("/sys/fs/cgroup/systemd/deploy-lab-4/h2"),
                Path::new("/sys/fs/cgroup/unified/deploy-lab-4/h2")
            ]
        );
        assert_eq!(supervisor_markers(&four, 2)[0], "deploy-lab-supervisor-lab4-h2");
        assert_eq!(
            propagate_dir(&four, 2),
            Path::new("/run/systemd/nspawn/propagate/lab4-h2")
        );
        let zero = Lab::new(Path::new("/var/tmp/lab"));
        assert_eq!(
            cgroup_dirs(&zero, 2)[0],
            Path::new("/sys/fs/cgroup/systemd/deploy-lab/h2")
        );
        assert_eq!(supervisor_markers(&zero, 2)[0], "deploy-lab-supervisor-h2");
    }

    #[test]
    fn a_guest_may_administer_only_its_own_network_namespace() {
        let four = Lab::open(4, None).unwrap();
        let args = nspawn_args(&four, 2);
        assert!(args.contains(&"--capability=CAP_NET_ADMIN".to_string()));
        assert!(args.contains(&format!(
            "--network-namespace-path={}",
            net::netns_path(&four, 2).display()
        )));
        assert!(!args
            .iter()
            .any(|a| a == "--private-network" || a.starts_with("--network-veth")));
    }

    #[test]
    fn passwd_entries_are_found_by_name() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\ndeploy:x:1000:1000::/home/deploy:/bin/bash\n";
        assert_eq!(
            passwd_entry(passwd, "deploy"),
            Some((1000, 1000, "/home/deploy".to_string()))
        );
        assert_eq!(passwd_entry(passwd, "root"), Some((0, 0, "/root".to_string())));
        assert_eq!(passwd_entry(passwd, "nobody"), None);
    }

    #[test]
    fn machine_ids_are_random_lowercase_hex() {
        let (one, two) = (random_hex(16).unwrap(), random_hex(16).unwrap());
        assert_eq!(one.len(), 32);
        assert!(
            one.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{one}"
        );
        assert_ne!(one, two);
    }
}
