//! The caching apt proxy the hosts install packages through.
//!
//! Hosts have no route out, so apt reaches Debian through an `apt-cacher-ng` that the lab runs
//! itself: in the foreground as a detached child with a recorded PID, with its own config,
//! listening only on the bridge address, on its own port (the packaged daemon may hold 3142;
//! instance N of the lab uses 3143+N, so no two labs ever want the same socket),
//! with fixed deb.debian.org backends (the packaged mirror list answered 503 here) and
//! `ForceManaged` so it proxies nothing but those.

use std::fs::{self, File};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::process::{self, recorded_ours};
use super::Lab;

/// The proxy's port in lab instance 0.
pub const PORT: u16 = 3143;

/// The proxy's port in this lab: 3143 + the instance.
pub fn port(lab: &Lab) -> u16 {
    PORT + u16::from(lab.instance())
}

/// The line hosts put in `/etc/apt/apt.conf.d`.
pub fn apt_config(lab: &Lab) -> String {
    format!(
        "Acquire::http::Proxy \"http://{}:{}\";\n",
        lab.gateway(),
        port(lab)
    )
}

fn pid_file(lab: &Lab) -> PathBuf {
    lab.proxy_dir().join("pid")
}

fn config_dir(lab: &Lab) -> PathBuf {
    lab.proxy_dir().join("conf")
}

/// The command-line arguments that identify our proxy process.
fn markers(lab: &Lab) -> [String; 2] {
    ["-c".into(), config_dir(lab).display().to_string()]
}

/// The PID of this lab's running proxy, if any.
pub fn running(lab: &Lab) -> Option<i32> {
    let markers = markers(lab);
    let markers: Vec<&str> = markers.iter().map(String::as_str).collect();
    recorded_ours(&pid_file(lab), &markers)
}

/// Starts the proxy unless it is running, and waits until it accepts connections.
pub fn ensure(lab: &Lab) -> Result<()> {
    if running(lab).is_some() {
        return Ok(());
    }
    let dir = lab.proxy_dir();
    let (cache, log) = (dir.join("cache"), dir.join("log"));
    for path in [&cache, &log, &config_dir(lab)] {
        fs::create_dir_all(path).with_context(|| format!("could not create {}", path.display()))?;
    }
    let config = format!(
        "# Written by `deploy lab`: the lab's own apt proxy, not the packaged daemon.\n\
         CacheDir: {cache}\n\
         LogDir: {log}\n\
         SupportDir: /usr/lib/apt-cacher-ng\n\
         Port: {port}\n\
         BindAddress: {address}\n\
         ForeGround: 1\n\
         ForceManaged: 1\n\
         ExThreshold: 4\n\
         Remap-debrep: deb.debian.org/debian ftp.debian.org/debian /debian ; http://deb.debian.org/debian/\n\
         Remap-secdeb: security.debian.org security.debian.org/debian-security deb.debian.org/debian-security /debian-security ; http://deb.debian.org/debian-security/\n",
        cache = cache.display(),
        log = log.display(),
        port = port(lab),
        address = lab.gateway(),
    );
    let config_path = config_dir(lab).join("acng.conf");
    fs::write(&config_path, config).with_context(|| format!("could not write {}", config_path.display()))?;
    let output = File::create(log.join("foreground.log")).context("could not create the proxy's log")?;
    let mut command = process::command("apt-cacher-ng")?;
    command
        .arg("-c")
        .arg(config_dir(lab))
        .stdin(Stdio::null())
        .stdout(output.try_clone().context("could not share the proxy's log")?)
        .stderr(output);
    process::daemonize(&mut command);
    let child = command.spawn().context("could not start apt-cacher-ng")?;
    fs::write(pid_file(lab), format!("{}\n", child.id())).context("could not record the proxy's PID")?;
    let address = SocketAddr::from((lab.gateway(), port(lab)));
    let listening = process::wait_until(Duration::from_secs(10), || {
        TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
    });
    if !listening {
        stop(lab);
        bail!(
            "the apt proxy did not start listening on {address}; see {}",
            log.join("foreground.log").display()
        );
    }
    Ok(())
}

/// Stops this lab's proxy; returns a description if it is still running afterwards.
pub fn stop(lab: &Lab) -> Option<String> {
    let pid = running(lab)?;
    process::signal(pid, libc::SIGTERM);
    if !process::wait_until(Duration::from_secs(5), || running(lab).is_none()) {
        process::signal(pid, libc::SIGKILL);
        if !process::wait_until(Duration::from_secs(2), || running(lab).is_none()) {
            return Some(format!("apt proxy (PID {pid})"));
        }
    }
    let _ = fs::remove_file(pid_file(lab));
    None
}
