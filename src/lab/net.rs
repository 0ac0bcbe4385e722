//! The lab's network: one bridge in the root namespace, one network namespace per host.
//!
//! Hosts get an address on the bridge's /24 and no default route, so they reach only the
//! machine (the apt proxy) and each other. While the lab is up, an `unreachable` guard route
//! for the whole 10.213.0.0/16 makes sure traffic to a lab address with no host behind it never
//! leaves through the machine's real default route. IPv6 is off on every lab link.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::process::{command, run};
use super::{host_address, host_name, Lab};

pub const BRIDGE: &str = "labbr0";
pub const BRIDGE_ADDRESS: &str = "10.213.0.1";
const BRIDGE_CIDR: &str = "10.213.0.1/24";
const GUARD: &str = "10.213.0.0/16";
/// Measured ~135 ms per new connection instead of ~200 ms with OpenSSH 9.2's default order.
pub const FAST_KEX: &str = "curve25519-sha256";

/// The network namespace of host N, also its file under /run/netns.
pub fn netns(index: u32) -> String {
    format!("lab-{}", host_name(index))
}

pub fn netns_path(index: u32) -> PathBuf {
    PathBuf::from("/run/netns").join(netns(index))
}

/// The root-namespace end of host N's veth pair.
fn veth(index: u32) -> String {
    format!("vl{}", host_name(index))
}

/// The marker that says the bridge and guard route were made by this lab directory.
fn marker(lab: &Lab) -> PathBuf {
    lab.dir().join("network")
}

/// Refuses to start when anything other than this lab already routes part of the lab subnet.
pub fn check_subnet_free(lab: &Lab) -> Result<()> {
    let routes = run(command("ip")?.args(["-4", "route", "show", "table", "all", "root", GUARD]))?;
    let ours = marker(lab).exists();
    let foreign: Vec<&str> = routes
        .lines()
        .map(str::trim)
        .filter(|route| !route.is_empty())
        .filter(|route| {
            !(ours
                && (route.contains(&format!("dev {BRIDGE}"))
                    || route.starts_with("unreachable 10.213.0.0/16")))
        })
        .collect();
    if let Some(route) = foreign.first() {
        bail!(
            "the lab subnet {GUARD} is already routed on this machine (`{route}`); \
             if another lab directory owns it, run `deploy lab down --lab-dir` with that directory"
        );
    }
    Ok(())
}

/// Creates the bridge and the guard route if they are missing.
pub fn ensure_bridge(lab: &Lab) -> Result<()> {
    fs::create_dir_all(lab.dir()).with_context(|| format!("could not create {}", lab.dir().display()))?;
    fs::write(
        marker(lab),
        "bridge labbr0 10.213.0.1/24, guard route unreachable 10.213.0.0/16\n",
    )
    .context("could not record the lab network")?;
    if !link_exists(BRIDGE) {
        run(command("ip")?.args(["link", "add", BRIDGE, "type", "bridge"]))?;
    }
    disable_ipv6(BRIDGE);
    let addresses = run(command("ip")?.args(["-4", "-o", "addr", "show", "dev", BRIDGE]))?;
    if !addresses.contains(&format!("inet {BRIDGE_CIDR}")) {
        run(command("ip")?.args(["addr", "add", BRIDGE_CIDR, "dev", BRIDGE]))?;
    }
    run(command("ip")?.args(["link", "set", BRIDGE, "up"]))?;
    run(command("ip")?.args(["route", "replace", "unreachable", GUARD]))?;
    Ok(())
}

/// Host N's namespace, with IPv6 off, loopback up and its veth on the bridge.
pub fn create_host_link(index: u32) -> Result<()> {
    let ns = netns(index);
    let veth = veth(index);
    if netns_path(index).exists() {
        run(command("ip")?.args(["netns", "del", &ns]))?;
    }
    if link_exists(&veth) {
        run(command("ip")?.args(["link", "del", &veth]))?;
    }
    run(command("ip")?.args(["netns", "add", &ns]))?;
    // Before the veth moves in, so that it is born without IPv6.
    let sysctl = super::process::tool("sysctl")?;
    run(command("ip")?.args(["netns", "exec", &ns]).arg(sysctl).args([
        "-q",
        "-w",
        "net.ipv6.conf.all.disable_ipv6=1",
        "net.ipv6.conf.default.disable_ipv6=1",
    ]))?;
    run(command("ip")?.args([
        "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
    ]))?;
    disable_ipv6(&veth);
    run(command("ip")?.args(["link", "set", &veth, "master", BRIDGE, "up"]))?;
    let address = format!("{}/24", host_address(index));
    run(command("ip")?.args(["-n", &ns, "addr", "add", &address, "dev", "eth0"]))?;
    run(command("ip")?.args(["-n", &ns, "link", "set", "eth0", "up"]))?;
    run(command("ip")?.args(["-n", &ns, "link", "set", "lo", "up"]))?;
    Ok(())
}

/// Deletes host N's namespace and veth; returns what could not be removed.
pub fn remove_host_link(index: u32) -> Vec<String> {
    let mut left = Vec::new();
    if netns_path(index).exists() {
        let ns = netns(index);
        if let Err(err) = command("ip").and_then(|mut ip| run(ip.args(["netns", "del", &ns]))) {
            left.push(format!("network namespace {ns} ({err:#})"));
        }
    }
    // The veth goes with its namespace, but the kernel removes it asynchronously.
    let veth = veth(index);
    if !super::process::wait_until(Duration::from_secs(2), || !link_exists(&veth)) {
        let deleted = command("ip").and_then(|mut ip| run(ip.args(["link", "del", &veth])));
        if let Err(err) = deleted.as_ref().map_err(|err| format!("{err:#}")) {
            if link_exists(&veth) {
                left.push(format!("link {veth} ({err})"));
            }
        }
    }
    left
}

/// Removes the bridge and the guard route; returns what could not be removed.
pub fn remove_bridge(lab: &Lab) -> Vec<String> {
    let mut left = Vec::new();
    if link_exists(BRIDGE) {
        if let Err(err) = command("ip").and_then(|mut ip| run(ip.args(["link", "del", BRIDGE]))) {
            left.push(format!("bridge {BRIDGE} ({err:#})"));
        }
    }
    if guard_route_present() {
        if let Err(err) =
            command("ip").and_then(|mut ip| run(ip.args(["route", "del", "unreachable", GUARD])))
        {
            left.push(format!("guard route ({err:#})"));
        }
    }
    let _ = fs::remove_file(marker(lab));
    left
}

pub fn link_exists(name: &str) -> bool {
    PathBuf::from("/sys/class/net").join(name).exists()
}

pub fn guard_route_present() -> bool {
    command("ip")
        .and_then(|mut ip| run(ip.args(["-4", "route", "show", "type", "unreachable", GUARD])))
        .is_ok_and(|out| !out.trim().is_empty())
}

/// Lab namespaces present on the machine, whatever state directory made them.
pub fn lab_namespaces() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("lab-h"))
        .collect();
    names.sort();
    names
}

fn disable_ipv6(link: &str) {
    // Absent when the kernel has no IPv6 at all, which is just as good.
    let _ = fs::write(format!("/proc/sys/net/ipv6/conf/{link}/disable_ipv6"), "1");
}
