//! The cached Debian bookworm base image every host's overlay sits on.
//!
//! Built once with debootstrap (about a minute) and reused: apt lists are baked in so a fresh
//! host can install at once, apt's daily timers are masked so they never wake up mid-test, the
//! lab users exist, and the base's own SSH host keys are removed so that no two hosts ever
//! share one. It is built in a temporary directory and renamed into place, so a killed build
//! never leaves a half base behind. Lab instances share one base (hosts only ever read it, as
//! their overlay's lower layer), so it is built under a lock of its own in the cache: two
//! instances starting at once build it once, and neither removes the other's build.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;

use anyhow::{bail, Context, Result};

use super::process::{command, run, Lock};
use super::{Lab, DEPLOYPW_PASSWORD};

const SUITE: &str = "bookworm";
const MIRROR: &str = "http://deb.debian.org/debian";
const INCLUDE: &str =
    "openssh-server,sudo,python3,iproute2,procps,systemd,systemd-sysv,dbus,ca-certificates,less,curl";

/// Makes sure the base exists; returns whether it had to be built.
pub fn ensure(lab: &Lab, rebuild: bool) -> Result<bool> {
    let base = lab.base_dir();
    if base.is_dir() && !rebuild {
        return Ok(false);
    }
    let cache = base.parent().expect("the base lives inside the cache directory");
    fs::create_dir_all(cache).with_context(|| format!("could not create {}", cache.display()))?;
    let name = base
        .file_name()
        .expect("the base has a name")
        .to_string_lossy()
        .into_owned();
    let _lock = Lock::acquire(
        &cache.join(format!("{name}.lock")),
        "waiting for another `deploy lab` command to build the base image...",
    )?;
    // Built by whoever held the lock before us.
    if base.is_dir() && !rebuild {
        return Ok(false);
    }
    // Leftovers of killed builds; the base lock makes sure none is still being written.
    for entry in fs::read_dir(cache)?.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(&format!("{name}.tmp-"))
        {
            fs::remove_dir_all(entry.path())
                .with_context(|| format!("could not remove {}", entry.path().display()))?;
        }
    }
    if rebuild && base.is_dir() {
        if !lab.recorded_hosts().is_empty() || !overlays_over(&base).is_empty() {
            bail!(
                "hosts are using the base image (of this lab or another lab instance sharing it); \
                 run `deploy lab down` on every lab using it before `deploy lab base --rebuild`"
            );
        }
        let old = cache.join(format!("{name}.tmp-old-{}", std::process::id()));
        fs::rename(&base, &old)?;
        fs::remove_dir_all(&old).with_context(|| format!("could not remove {}", old.display()))?;
    }
    let temp = cache.join(format!("{name}.tmp-{}", std::process::id()));
    eprintln!(
        "building the Debian {SUITE} base image in {} (about a minute, once)...",
        base.display()
    );
    let mut debootstrap = command("debootstrap")?;
    // SAFETY: prctl is async-signal-safe. A killed `deploy lab base` must not leave debootstrap
    // writing into a directory the next build removes.
    unsafe {
        debootstrap.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let status = debootstrap
        .args(["--variant=minbase", &format!("--include={INCLUDE}"), SUITE])
        .arg(&temp)
        .arg(MIRROR)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .context("could not run debootstrap")?;
    if !status.success() {
        bail!(
            "debootstrap failed ({status}); see {}/debootstrap/debootstrap.log",
            temp.display()
        );
    }
    customize(&temp).with_context(|| format!("could not prepare the base image in {}", temp.display()))?;
    fs::rename(&temp, &base)
        .with_context(|| format!("could not move the base image to {}", base.display()))?;
    Ok(true)
}

/// Mount points of overlays whose lower layer is `base`: hosts of any lab instance on it.
fn overlays_over(base: &Path) -> Vec<String> {
    let table = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    lower_dir_users(&table, &base.display().to_string())
}

fn lower_dir_users(mountinfo: &str, base: &str) -> Vec<String> {
    mountinfo
        .lines()
        .filter(|line| {
            // The super block options come last, after the ` - overlay overlay ` separator.
            line.split_once(" - overlay ").is_some_and(|(_, options)| {
                options
                    .split(',')
                    .filter_map(|option| option.strip_prefix("lowerdir="))
                    .any(|lower| lower.split(':').any(|dir| dir == base))
            })
        })
        .filter_map(|line| line.split(' ').nth(4).map(String::from))
        .collect()
}

fn customize(root: &Path) -> Result<()> {
    let chroot = |args: &[&str]| -> Result<String> {
        run(command("chroot")?
            .arg(root)
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive"))
    };
    write(
        root,
        "etc/apt/sources.list",
        "deb http://deb.debian.org/debian bookworm main\n\
         deb http://deb.debian.org/debian bookworm-updates main\n\
         deb http://deb.debian.org/debian-security bookworm-security main\n",
    )?;
    chroot(&["apt-get", "update", "-qq"])?;
    chroot(&["apt-get", "clean"])?;
    // `clean` drops the package caches; rebuild them so the first apt command in a host is fast.
    chroot(&["apt-cache", "gencaches"])?;
    for timer in ["apt-daily.timer", "apt-daily-upgrade.timer"] {
        let link = root.join("etc/systemd/system").join(timer);
        let _ = fs::remove_file(&link);
        symlink("/dev/null", &link).with_context(|| format!("could not mask {timer}"))?;
    }
    for entry in fs::read_dir(root.join("etc/ssh"))?.flatten() {
        if entry.file_name().to_string_lossy().starts_with("ssh_host_") {
            fs::remove_file(entry.path())?;
        }
    }
    // Never shared between hosts: each writes its own random one into its overlay.
    write(root, "etc/machine-id", "")?;
    let _ = fs::remove_file(root.join("var/lib/dbus/machine-id"));
    write(
        root,
        "etc/resolv.conf",
        "# Lab hosts have no DNS and no route out; apt goes through the lab's proxy.\n",
    )?;
    for user in ["deploy", "deploypw"] {
        chroot(&["useradd", "--create-home", "--shell", "/bin/bash", user])?;
    }
    run(command("chroot")?.arg(root).args([
        "sh",
        "-c",
        &format!("echo 'deploypw:{DEPLOYPW_PASSWORD}' | chpasswd"),
    ]))?;
    write(
        root,
        "etc/sudoers.d/lab",
        "# deploy: passwordless sudo; deploypw: sudo asks for the password (see deploypw.password).\n\
         deploy ALL=(ALL:ALL) NOPASSWD: ALL\n\
         deploypw ALL=(ALL:ALL) ALL\n",
    )?;
    fs::set_permissions(root.join("etc/sudoers.d/lab"), fs::Permissions::from_mode(0o440))?;
    write(
        root,
        "etc/ssh/sshd_config.d/lab.conf",
        "# Lab hosts: key login only, one host key per host, many parallel connections.\n\
         HostKey /etc/ssh/ssh_host_ed25519_key\n\
         PasswordAuthentication no\n\
         UseDNS no\n\
         MaxStartups 200:30:400\n\
         MaxSessions 200\n",
    )?;
    Ok(())
}

fn write(root: &Path, relative: &str, content: &str) -> Result<()> {
    let path = root.join(relative);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(&path, content).with_context(|| format!("could not write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlays_on_the_base_are_found_in_mountinfo() {
        let table = "\
36 25 0:32 / /var/tmp/deploy-lab/hosts/h1/root rw,relatime - overlay overlay rw,lowerdir=/var/tmp/deploy-lab/cache/base-bookworm,upperdir=/var/tmp/deploy-lab/hosts/h1/upper,workdir=/var/tmp/deploy-lab/hosts/h1/work
37 25 0:33 / /var/tmp/deploy-lab-3/hosts/h2/root rw,relatime - overlay overlay rw,lowerdir=/var/tmp/deploy-lab/cache/base-bookworm,upperdir=/x,workdir=/y
38 25 0:34 / /other rw,relatime - overlay overlay rw,lowerdir=/var/tmp/deploy-lab/cache/base-bookworm-old,upperdir=/x,workdir=/y
39 25 8:1 / /var/tmp/deploy-lab/cache/base-bookworm rw - ext4 /dev/sda1 rw
";
        assert_eq!(
            lower_dir_users(table, "/var/tmp/deploy-lab/cache/base-bookworm"),
            [
                "/var/tmp/deploy-lab/hosts/h1/root",
                "/var/tmp/deploy-lab-3/hosts/h2/root"
            ]
        );
    }
}
