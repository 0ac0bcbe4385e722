//! The lab's network: one bridge in the root namespace, one network namespace per host.
//!
//! Hosts get an address on the bridge's /24 and no default route, so they reach only the
//! machine (the apt proxy) and the hosts of their own lab. While instance 0 is up, an
//! `unreachable` guard route for the whole 10.213.0.0/16 makes sure traffic to a lab address
//! with no host behind it never leaves through the machine's real default route; instance N
//! adds its own `unreachable 10.213.N.0/24` behind its bridge's route (a higher metric), so it
//! is guarded even alone and its guard outlives nothing of another instance. IPv6 is off on
//! every lab link.

use std::fs;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::process::{command, run};
use super::{host_name, Lab, MAX_INSTANCE};

/// The whole range lab instances take their /24s from.
const LAB_RANGE: &str = "10.213.0.0/16";
/// The metric of instance N's own guard route: above the bridge's on-link route (metric 0), so
/// both coexist and the guard only answers once the bridge is gone.
const GUARD_METRIC: &str = "4000";
/// Measured ~135 ms per new connection instead of ~200 ms with OpenSSH 9.2's default order.
pub const FAST_KEX: &str = "curve25519-sha256";

/// The lab's bridge in the root namespace: `labbr0` for instance 0, `labbrN` for instance N.
pub fn bridge(lab: &Lab) -> String {
    format!("labbr{}", lab.instance())
}

/// 10.213.N.0/24.
fn subnet(lab: &Lab) -> String {
    subnet_of(lab.instance())
}

fn subnet_of(instance: u8) -> String {
    format!("10.213.{instance}.0/24")
}

/// The unreachable route that guards the lab's addresses, as `ip route` arguments after the type.
fn guard(lab: &Lab) -> Vec<String> {
    match lab.instance() {
        0 => vec![LAB_RANGE.to_string()],
        _ => vec![subnet(lab), "metric".into(), GUARD_METRIC.into()],
    }
}

/// The network namespace of host N, also its file under /run/netns.
pub fn netns(lab: &Lab, index: u32) -> String {
    format!("{}-{}", namespace_prefix(lab), host_name(index))
}

/// `lab` for instance 0, `labN` for instance N: every namespace of this lab starts with it and `-h`.
fn namespace_prefix(lab: &Lab) -> String {
    match lab.instance() {
        0 => "lab".to_string(),
        instance => format!("lab{instance}"),
    }
}

pub fn netns_path(lab: &Lab, index: u32) -> PathBuf {
    PathBuf::from("/run/netns").join(netns(lab, index))
}

/// The root-namespace end of host N's veth pair: `vlhN`, or `vlIhN` in instance I (at most
/// 7 characters, well within the kernel's 15).
fn veth(lab: &Lab, index: u32) -> String {
    match lab.instance() {
        0 => format!("vl{}", host_name(index)),
        instance => format!("vl{instance}{}", host_name(index)),
    }
}

/// The marker that says the bridge and guard route were made by this lab directory.
fn marker(lab: &Lab) -> PathBuf {
    lab.dir().join("network")
}

/// What the marker holds: it names the instance, so a state directory is never driven as
/// another instance's.
fn marker_text(lab: &Lab) -> String {
    format!(
        "bridge {} {}/24, guard route unreachable {}\n",
        bridge(lab),
        lab.gateway(),
        guard(lab).join(" ")
    )
}

/// Refuses a state directory whose network belongs to another lab instance: driving it with
/// this instance's names would unmount that instance's disks from under it.
pub fn check_dir_instance(lab: &Lab) -> Result<()> {
    let Ok(recorded) = fs::read_to_string(marker(lab)) else {
        return Ok(());
    };
    if recorded != marker_text(lab) {
        let owner = (0..=MAX_INSTANCE)
            .find(|&instance| recorded.starts_with(&format!("bridge labbr{instance} ")))
            .map_or_else(
                || "another lab instance".to_string(),
                |n| format!("lab instance {n}"),
            );
        bail!(
            "{} holds the state of {owner}, not of instance {}; pass the matching --instance \
             or another --lab-dir",
            lab.dir().display(),
            lab.instance()
        );
    }
    Ok(())
}

/// Refuses to start when anything other than this lab already routes part of its subnet.
/// Instance 0 looks at the whole 10.213.0.0/16 (its guard covers it); instance N at its /24.
/// Routes of other lab instances are not in the way.
pub fn check_subnet_free(lab: &Lab) -> Result<()> {
    let checked = match lab.instance() {
        0 => LAB_RANGE.to_string(),
        _ => subnet(lab),
    };
    let routes = run(command("ip")?.args(["-4", "route", "show", "table", "all", "root", &checked]))?;
    let ours = marker(lab).exists();
    let foreign: Vec<&str> = routes
        .lines()
        .map(str::trim)
        .filter(|route| !route.is_empty())
        .filter(|route| match lab_route_instance(route) {
            Some(instance) if instance == lab.instance() => !ours,
            Some(_) => false,
            None => true,
        })
        .collect();
    if let Some(route) = foreign.first() {
        bail!(
            "the lab subnet {checked} is already routed on this machine (`{route}`); \
             if another lab directory owns it, run `deploy lab down --lab-dir` with that directory"
        );
    }
    Ok(())
}

/// The lab instance a route belongs to, if it is one a lab makes: a route through bridge
/// `labbrN` to an address in 10.213.N.0/24, or instance N's guard route.
fn lab_route_instance(route: &str) -> Option<u8> {
    let words: Vec<&str> = route.split_whitespace().collect();
    if route == format!("unreachable {LAB_RANGE}") {
        return Some(0);
    }
    if let ["unreachable", destination, "metric", GUARD_METRIC] = words.as_slice() {
        return (0..=MAX_INSTANCE).find(|&instance| *destination == subnet_of(instance));
    }
    let device = words
        .windows(2)
        .find(|pair| pair[0] == "dev")
        .map(|pair| pair[1])?;
    let instance: u8 = device.strip_prefix("labbr")?.parse().ok()?;
    if instance > MAX_INSTANCE || device != format!("labbr{instance}") {
        return None;
    }
    // `10.213.N.0/24 dev ...`, or `local 10.213.N.1 dev ...` and the like from table local.
    let destination = words
        .iter()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))?;
    let address: Ipv4Addr = destination.split('/').next()?.parse().ok()?;
    (address.octets()[..3] == [10, 213, instance]).then_some(instance)
}

/// Creates the bridge and the guard route if they are missing.
pub fn ensure_bridge(lab: &Lab) -> Result<()> {
    fs::create_dir_all(lab.dir()).with_context(|| format!("could not create {}", lab.dir().display()))?;
    fs::write(marker(lab), marker_text(lab)).context("could not record the lab network")?;
    let bridge = bridge(lab);
    if !link_exists(&bridge) {
        run(command("ip")?.args(["link", "add", &bridge, "type", "bridge"]))?;
    }
    disable_ipv6(&bridge);
    let cidr = format!("{}/24", lab.gateway());
    let addresses = run(command("ip")?.args(["-4", "-o", "addr", "show", "dev", &bridge]))?;
    if !addresses.contains(&format!("inet {cidr} ")) {
        run(command("ip")?.args(["addr", "add", &cidr, "dev", &bridge]))?;
    }
    run(command("ip")?.args(["link", "set", &bridge, "up"]))?;
    run(command("ip")?
        .args(["route", "replace", "unreachable"])
        .args(guard(lab)))?;
    Ok(())
}

/// Host N's namespace, with IPv6 off, loopback up and its veth on the bridge.
pub fn create_host_link(lab: &Lab, index: u32) -> Result<()> {
    let ns = netns(lab, index);
    let veth = veth(lab, index);
    if netns_path(lab, index).exists() {
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
    run(command("ip")?.args(["link", "set", &veth, "master", &bridge(lab), "up"]))?;
    let address = format!("{}/24", lab.host_address(index));
    run(command("ip")?.args(["-n", &ns, "addr", "add", &address, "dev", "eth0"]))?;
    run(command("ip")?.args(["-n", &ns, "link", "set", "eth0", "up"]))?;
    run(command("ip")?.args(["-n", &ns, "link", "set", "lo", "up"]))?;
    Ok(())
}

/// Deletes host N's namespace and veth; returns what could not be removed.
pub fn remove_host_link(lab: &Lab, index: u32) -> Vec<String> {
    let mut left = Vec::new();
    if netns_path(lab, index).exists() {
        let ns = netns(lab, index);
        if let Err(err) = command("ip").and_then(|mut ip| run(ip.args(["netns", "del", &ns]))) {
            left.push(format!("network namespace {ns} ({err:#})"));
        }
    }
    // The veth goes with its namespace, but the kernel removes it asynchronously.
    let veth = veth(lab, index);
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
    let bridge = bridge(lab);
    if link_exists(&bridge) {
        if let Err(err) = command("ip").and_then(|mut ip| run(ip.args(["link", "del", &bridge]))) {
            left.push(format!("bridge {bridge} ({err:#})"));
        }
    }
    if guard_route_present(lab) {
        let deleted =
            command("ip").and_then(|mut ip| run(ip.args(["route", "del", "unreachable"]).args(guard(lab))));
        if let Err(err) = deleted {
            left.push(format!("guard route ({err:#})"));
        }
    }
    let _ = fs::remove_file(marker(lab));
    left
}

pub fn link_exists(name: &str) -> bool {
    PathBuf::from("/sys/class/net").join(name).exists()
}

/// Whether this lab's guard route is there (an exact-prefix match: never another instance's).
pub fn guard_route_present(lab: &Lab) -> bool {
    let prefix = guard(lab)[0].clone();
    command("ip")
        .and_then(|mut ip| run(ip.args(["-4", "route", "show", "type", "unreachable", &prefix])))
        .is_ok_and(|out| !out.trim().is_empty())
}

/// This lab instance's host namespaces present on the machine, whatever state directory made
/// them, with their host indices.
pub fn lab_namespaces(lab: &Lab) -> Vec<(u32, String)> {
    let prefix = format!("{}-", namespace_prefix(lab));
    let mut found: Vec<(u32, String)> = fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter_map(|name| {
            let index = super::parse_host(name.strip_prefix(&prefix)?).ok()?;
            name.starts_with(&format!("{prefix}h")).then_some((index, name))
        })
        .collect();
    found.sort();
    found
}

fn disable_ipv6(link: &str) {
    // Absent when the kernel has no IPv6 at all, which is just as good.
    let _ = fs::write(format!("/proc/sys/net/ipv6/conf/{link}/disable_ipv6"), "1");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_instance_except_for_instance_zero() {
        let zero = Lab::open(0, None).unwrap();
        assert_eq!(
            (bridge(&zero), netns(&zero, 12), veth(&zero, 12)),
            ("labbr0".into(), "lab-h12".into(), "vlh12".into())
        );
        assert_eq!(
            marker_text(&zero),
            "bridge labbr0 10.213.0.1/24, guard route unreachable 10.213.0.0/16\n"
        );
        let three = Lab::open(3, None).unwrap();
        assert_eq!(
            (bridge(&three), netns(&three, 12), veth(&three, 200)),
            ("labbr3".into(), "lab3-h12".into(), "vl3h200".into())
        );
        assert_eq!(
            marker_text(&three),
            "bridge labbr3 10.213.3.1/24, guard route unreachable 10.213.3.0/24 metric 4000\n"
        );
    }

    #[test]
    fn routes_of_lab_instances_are_told_from_foreign_ones() {
        for (route, instance) in [
            ("unreachable 10.213.0.0/16", Some(0)),
            (
                "10.213.0.0/24 dev labbr0 proto kernel scope link src 10.213.0.1",
                Some(0),
            ),
            ("unreachable 10.213.3.0/24 metric 4000", Some(3)),
            (
                "10.213.3.0/24 dev labbr3 proto kernel scope link src 10.213.3.1",
                Some(3),
            ),
            (
                "local 10.213.3.1 dev labbr3 table local proto kernel scope host src 10.213.3.1",
                Some(3),
            ),
            (
                "broadcast 10.213.3.255 dev labbr3 table local proto kernel scope link src 10.213.3.1",
                Some(3),
            ),
            ("blackhole 10.213.7.0/24", None),
            ("unreachable 10.213.3.0/24", None),
            ("10.213.3.0/24 dev eth0 proto static", None),
            ("10.213.4.0/24 dev labbr3 proto static", None),
            ("10.213.3.0/24 via 10.0.0.1 dev labbr03", None),
        ] {
            assert_eq!(lab_route_instance(route), instance, "{route}");
        }
    }
}
