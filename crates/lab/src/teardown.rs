//! Tearing the lab down, including after a killed run.
//!
//! Everything to remove is found from what is on disk and in the kernel (recorded PIDs, the
//! lab's cgroups, namespaces and mounts), never from memory, so `down` works after `up` was
//! killed halfway and is harmless when run twice. Processes are signalled only when their
//! recorded PID still has the lab's command line, or when they sit in a lab host's cgroup
//! (where only the lab puts processes).

use std::collections::BTreeSet;
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::host::{
    cgroup_dirs, cgroup_parents, init_of, nspawn_markers, nspawn_pid_file, propagate_dir, supervisor_markers,
    supervisor_pid_file,
};
use super::process::{self, recorded_ours};
use super::{host_name, net, parse_host, proxy, Init, Lab};

/// How long guests get to power off cleanly before what is left is killed.
const GRACE: Duration = Duration::from_secs(10);

/// Stops every host and removes the proxy, bridge and guard route; returns what is left.
pub fn down(lab: &Lab) -> anyhow::Result<Vec<String>> {
    let mut hosts: BTreeSet<u32> = lab.recorded_hosts().into_iter().collect();
    // Hosts of a run killed before it recorded them still have a namespace or a cgroup.
    hosts.extend(net::lab_namespaces(lab).into_iter().map(|(index, _)| index));
    for parent in cgroup_parents(lab) {
        hosts.extend(
            subdirectories(&parent)
                .iter()
                .filter_map(|dir| parse_host(&file_name(dir)).ok()),
        );
    }
    let hosts: Vec<u32> = hosts.into_iter().collect();
    let mut left = stop_hosts(lab, &hosts);
    left.extend(proxy::stop(lab));
    left.extend(net::remove_bridge(lab));
    for parent in cgroup_parents(lab) {
        if parent.exists() && fs::remove_dir(&parent).is_err() {
            left.push(format!("cgroup {}", parent.display()));
        }
    }
    left.extend(
        net::lab_namespaces(lab)
            .into_iter()
            .map(|(_, ns)| format!("network namespace {ns}")),
    );
    if hosts.is_empty() {
        eprintln!("lab down: nothing was running");
    } else {
        let names: Vec<String> = hosts.iter().map(|&index| host_name(index)).collect();
        eprintln!("lab down: stopped {}", names.join(", "));
    }
    Ok(left)
}

/// Stops the given hosts and removes all they had; returns what could not be removed.
pub fn stop_hosts(lab: &Lab, hosts: &[u32]) -> Vec<String> {
    // Supervisors first, so that none boots its guest again.
    for &index in hosts {
        let markers = supervisor_markers(lab, index);
        if let Some(pid) = recorded_ours(
            &supervisor_pid_file(lab, index),
            &markers.each_ref().map(String::as_str),
        ) {
            process::signal(pid, libc::SIGTERM);
        }
    }
    // SIGTERM makes nspawn ask the guest's systemd for a clean poweroff. A light host has
    // nothing to power off cleanly: killing its namespace's parent ends every process in it.
    let mut nspawns = Vec::new();
    for &index in hosts {
        let markers = nspawn_markers(lab, index);
        if let Some(pid) = recorded_ours(
            &nspawn_pid_file(lab, index),
            &markers.each_ref().map(String::as_str),
        ) {
            let signal = match init_of(lab, index) {
                Init::Systemd => libc::SIGTERM,
                Init::Light => libc::SIGKILL,
            };
            process::signal(pid, signal);
            nspawns.push(pid);
        }
    }
    process::wait_until(GRACE, || {
        nspawns.iter().all(|&pid| process::live_cmdline(pid).is_none())
    });
    let mut left = Vec::new();
    for &index in hosts {
        left.extend(remove_host(lab, index));
    }
    left
}

/// Kills the given hosts outright, the way a power cut would, and removes all they had;
/// returns what could not be removed.
pub fn kill_hosts(lab: &Lab, hosts: &[u32]) -> Vec<String> {
    for &index in hosts {
        let markers = supervisor_markers(lab, index);
        if let Some(pid) = recorded_ours(
            &supervisor_pid_file(lab, index),
            &markers.each_ref().map(String::as_str),
        ) {
            process::signal(pid, libc::SIGKILL);
        }
    }
    // What is left in each host's cgroup (nspawn, the guest's init and services) gets
    // SIGKILL from remove_host.
    hosts.iter().flat_map(|&index| remove_host(lab, index)).collect()
}

fn remove_host(lab: &Lab, index: u32) -> Vec<String> {
    let name = host_name(index);
    let mut left = Vec::new();
    let cgroups = cgroup_dirs(lab, index);
    // A killed nspawn leaves the guest's systemd and services running: they are all here.
    let emptied = process::wait_until(Duration::from_secs(5), || {
        let pids: Vec<i32> = cgroups.iter().flat_map(|cgroup| cgroup_pids(cgroup)).collect();
        pids.iter().for_each(|&pid| process::signal(pid, libc::SIGKILL));
        pids.is_empty()
    });
    if !emptied {
        left.push(format!("processes of {name} in its cgroup"));
    }
    let host_dir = lab.host_dir(index);
    let propagate = propagate_dir(lab, index);
    for mount_point in mounts_under(&[&host_dir, &propagate]) {
        if let Err(err) = unmount(&mount_point) {
            left.push(format!("mount {} ({err})", mount_point.display()));
        }
    }
    left.extend(net::remove_host_link(lab, index));
    for cgroup in &cgroups {
        if let Err(err) = remove_cgroup(cgroup) {
            left.push(format!("cgroup {} ({err})", cgroup.display()));
        }
    }
    for path in [
        propagate,
        Path::new("/run/systemd/nspawn/unix-export").join(lab.machine_name(index)),
    ] {
        if path.exists() && fs::remove_dir_all(&path).is_err() {
            left.push(format!("{}", path.display()));
        }
    }
    // Never delete through a mount that is still there: it would write into the host's disk.
    if host_dir.exists() && mounts_under(&[&host_dir]).is_empty() {
        if let Err(err) = fs::remove_dir_all(&host_dir) {
            left.push(format!("{} ({err})", host_dir.display()));
        }
    }
    left
}

/// Every PID in a cgroup and its descendants.
fn cgroup_pids(cgroup: &Path) -> Vec<i32> {
    let own = fs::read_to_string(cgroup.join("cgroup.procs")).unwrap_or_default();
    let mut pids: Vec<i32> = own.lines().filter_map(|line| line.trim().parse().ok()).collect();
    for child in subdirectories(cgroup) {
        pids.extend(cgroup_pids(&child));
    }
    pids
}

/// Removes a cgroup and its descendants, deepest first (cgroups are removed with rmdir).
fn remove_cgroup(cgroup: &Path) -> std::io::Result<()> {
    if !cgroup.exists() {
        return Ok(());
    }
    for child in subdirectories(cgroup) {
        remove_cgroup(&child)?;
    }
    fs::remove_dir(cgroup)
}

fn subdirectories(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .map(|entry| entry.path())
        .collect()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Mount points at or below any of `dirs`, deepest first.
pub fn mounts_under(dirs: &[&Path]) -> Vec<PathBuf> {
    let table = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut found: Vec<PathBuf> = table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape_mount_path(field)))
        .filter(|mount_point| dirs.iter().any(|dir| mount_point.starts_with(dir)))
        .collect();
    found.sort_by_key(|path| std::cmp::Reverse(path.as_os_str().len()));
    found.dedup();
    found
}

/// mountinfo writes space, tab, newline and backslash in paths as `\ooo` octal escapes.
fn unescape_mount_path(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b))
        {
            out.push((bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn unmount(path: &Path) -> std::io::Result<()> {
    let path_c = CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: a valid NUL-terminated path that outlives the calls.
    if unsafe { libc::umount2(path_c.as_ptr(), 0) } == 0 {
        return Ok(());
    }
    // Busy only if something still holds it open; a lazy unmount frees it when they let go.
    // SAFETY: as above.
    if unsafe { libc::umount2(path_c.as_ptr(), libc::MNT_DETACH) } == 0 {
        return Ok(());
    }
    Err(std::io::Error::last_os_error())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_paths_are_unescaped() {
        assert_eq!(
            unescape_mount_path(r"/var/tmp/my\040lab/root"),
            "/var/tmp/my lab/root"
        );
        assert_eq!(unescape_mount_path(r"/plain"), "/plain");
        assert_eq!(unescape_mount_path(r"/end\04"), r"/end\04");
    }
}
