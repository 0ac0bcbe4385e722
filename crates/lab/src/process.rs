//! Running the system tools the lab drives, and recognising the processes it started.
//!
//! PIDs are reused and dead children of a vanished parent can linger as zombies on these
//! machines, so a recorded PID only counts as the lab's while `/proc/PID/cmdline` still holds
//! the markers the lab put there; nothing is ever signalled on the PID alone.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The Debian package that ships each tool, for the "not found" error.
const PACKAGES: &[(&str, &str)] = &[
    ("systemd-nspawn", "systemd-container"),
    ("apt-cacher-ng", "apt-cacher-ng"),
    ("debootstrap", "debootstrap"),
    ("dpkg-scanpackages", "dpkg-dev"),
    ("dpkg-deb", "dpkg"),
    ("ip", "iproute2"),
    ("ssh", "openssh-client"),
    ("ssh-keygen", "openssh-client"),
    ("sysctl", "procps"),
    ("chroot", "coreutils"),
];

/// The full path of a tool, searched in `PATH` and then the sbin directories, which a
/// non-login root shell may lack.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Like [`find_tool`], with an error naming the Debian package to install.
pub fn tool(name: &str) -> Result<PathBuf> {
    find_tool(name).ok_or_else(|| {
        let package = PACKAGES
            .iter()
            .find(|(tool, _)| *tool == name)
            .map_or(name, |(_, package)| package);
        anyhow::anyhow!("{name} not found; install the Debian package `{package}`")
    })
}

/// Checks every tool up front, so a missing one is reported before anything is created.
pub fn require_tools(names: &[&str]) -> Result<()> {
    names.iter().try_for_each(|name| tool(name).map(drop))
}

/// A command for a tool found with [`tool`].
pub fn command(name: &str) -> Result<Command> {
    Ok(Command::new(tool(name)?))
}

/// Runs a command to completion and returns its stdout; a failure names the command and
/// carries its stderr.
pub fn run(command: &mut Command) -> Result<String> {
    let shown = describe(command);
    let output = command
        .output()
        .with_context(|| format!("could not run `{shown}`"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!("`{shown}` failed ({}): {}", output.status, stderr.trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn describe(command: &Command) -> String {
    let program = Path::new(command.get_program())
        .file_name()
        .unwrap_or(OsStr::new("?"));
    std::iter::once(program)
        .chain(command.get_args())
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs a command with stdin and stdout closed, killing it after `timeout`; returns whether it
/// succeeded and its stderr.
pub fn run_with_timeout(command: &mut Command, timeout: Duration) -> Result<(bool, String)> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not run `{}`", describe(command)))?;
    let mut status = None;
    wait_until(timeout, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        return Ok((false, format!("no answer within {}s", timeout.as_secs())));
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    Ok((
        status.is_some_and(|status| status.success()),
        stderr.trim().to_string(),
    ))
}

/// The arguments of a live process, or `None` if it is gone or a zombie.
pub fn live_cmdline(pid: i32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The state letter follows the parenthesised command name, which may itself hold spaces.
    let state = stat.rsplit_once(')')?.1.split_whitespace().next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = raw
        .split(|byte| *byte == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    (!args.is_empty()).then_some(args)
}

/// Whether `pid` is alive and its command line holds every marker as a whole argument.
pub fn is_ours(pid: i32, markers: &[&str]) -> bool {
    live_cmdline(pid).is_some_and(|args| markers.iter().all(|marker| args.iter().any(|arg| arg == marker)))
}

/// Like [`is_ours`], for the PID recorded in `file`; returns the PID if it matches.
pub fn recorded_ours(file: &Path, markers: &[&str]) -> Option<i32> {
    let pid: i32 = fs::read_to_string(file).ok()?.trim().parse().ok()?;
    (pid > 1 && is_ours(pid, markers)).then_some(pid)
}

pub fn signal(pid: i32, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions; callers checked the PID is the lab's.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Makes `command` a daemon of the lab: its own session, so it outlives the `deploy lab`
/// command and no terminal signal reaches it, and none of the caller's file descriptors beyond
/// stdin, stdout and stderr. A descriptor inherited from the caller (a `flock` held around
/// `deploy lab up`, a test harness's pipe) would otherwise stay open until `deploy lab down`.
pub fn daemonize(command: &mut Command) {
    // SAFETY: setsid and close_range are async-signal-safe system calls with no memory effects.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            // CLOSE_RANGE_CLOEXEC rather than closing now: std's own pipe, which reports a
            // failed exec, must stay open until the exec.
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC);
            Ok(())
        });
    }
}

/// Polls `done` every 50 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An exclusive lock on a file, held until dropped. Each lab instance has one in /run: its
/// bridge, subnet and namespace names are machine-wide, so two `deploy lab` commands that
/// change them must not interleave, whatever their state dirs. The shared base image has one
/// too, so two instances starting at once build it only once.
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Locks `path`, saying `waiting` on stderr if someone else holds it.
    pub fn acquire(path: &Path, waiting: &str) -> Result<Lock> {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("could not open the lab lock {}", path.display()))?;
        // SAFETY: flock on an open descriptor we own; the lock is released when it is closed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            eprintln!("{waiting}");
            // SAFETY: as above.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                bail!(
                    "could not lock {}: {}",
                    path.display(),
                    std::io::Error::last_os_error()
                );
            }
        }
        Ok(Lock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_names_its_debian_package() {
        let err = tool("systemd-nspawn-surely-missing").unwrap_err().to_string();
        assert_eq!(
            err,
            "systemd-nspawn-surely-missing not found; install the Debian package `systemd-nspawn-surely-missing`"
        );
    }

    #[test]
    fn our_own_process_is_recognised_by_its_arguments() {
        let me = i32::try_from(std::process::id()).unwrap();
        let args = live_cmdline(me).unwrap();
        assert!(is_ours(me, &[args[0].as_str()]));
        assert!(!is_ours(me, &["deploy-lab-supervisor-h1"]));
        assert!(live_cmdline(i32::MAX).is_none());
    }
}
