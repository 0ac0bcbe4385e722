//! Interfaces and addresses: `/sys/class/net` read with builtins, the addresses from two
//! `ip addr show` (primary, secondary) for all interfaces at once where Ansible runs them
//! per interface, and the default routes from `ip route get`, as Ansible's
//! `network/linux.py`. Like Ansible, a host without `ip` gets no network facts.

use std::net::Ipv4Addr;

use serde_json::{json, Map, Value};

use super::{Facts, Raw};

pub(super) const SCRIPT: &str = r#"if command -v ip >/dev/null 2>&1; then
  echo "net.ip=yes"
  ip -4 route get 8.8.8.8 2>/dev/null | { read -r l && echo "net.route4=$l"; }
  ip -6 route get 2404:6800:400a:800::1012 2>/dev/null | { read -r l && echo "net.route6=$l"; }
  # Directory order (`ls -U`), as Ansible lists interfaces.
  for d in $(ls -U /sys/class/net 2>/dev/null); do
    p=/sys/class/net/$d
    [ -d "$p" ] || continue
    echo "net.dev=$d"
    for f in address mtu operstate type speed flags; do
      if [ -e "$p/$f" ]; then v=; if read -r v 2>/dev/null < "$p/$f"; then echo "net.$f=$v"; fi; fi
    done
    if [ -e "$p/device/driver/module" ]; then echo "net.module=$(readlink -f "$p/device/driver/module")"; fi
    if [ -e "$p/device" ]; then echo "net.pciid=$(readlink "$p/device")"; fi
    if [ -e "$p/bridge" ]; then
      echo "net.bridge=yes"
      for b in $(ls -U "$p/brif" 2>/dev/null); do echo "net.brif=$b"; done
      for f in bridge_id stp_state; do
        if [ -e "$p/bridge/$f" ]; then v=; read -r v 2>/dev/null < "$p/bridge/$f"; echo "net.$f=$v"; fi
      done
    fi
    if [ -e "$p/bonding" ]; then
      echo "net.bonding=yes"
      for f in slaves mode miimon lacp_rate primary all_slaves_active; do
        if [ -e "$p/bonding/$f" ]; then v=; read -r v 2>/dev/null < "$p/bonding/$f"; echo "net.bonding_$f=$v"; fi
      done
    fi
    if [ -e "$p/bonding_slave" ]; then v=; read -r v 2>/dev/null < "$p/bonding_slave/perm_hwaddr"; echo "net.perm_macaddress=$v"; fi
  done
  { ip addr show primary 2>/dev/null || ip addr show 2>/dev/null; } | while IFS= read -r l; do echo "net.primary=$l"; done
  ip addr show secondary 2>/dev/null | while IFS= read -r l; do echo "net.secondary=$l"; done
fi
"#;

const INTERFACE_TYPES: &[(&str, &str)] = &[
    ("1", "ether"),
    ("32", "infiniband"),
    ("512", "ppp"),
    ("772", "loopback"),
    ("65534", "tunnel"),
];

/// What the shell read under `/sys/class/net/<device>`.
#[derive(Default)]
struct Device<'a> {
    name: &'a str,
    attributes: Vec<(&'a str, &'a str)>,
}

impl<'a> Device<'a> {
    fn get(&self, key: &str) -> Option<&'a str> {
        self.attributes.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

pub(super) fn facts(raw: &Raw, facts: &mut Facts) {
    if raw.get("net.ip").is_none() {
        return;
    }
    let mut devices: Vec<Device> = Vec::new();
    for (key, value) in raw.under("net.") {
        match key {
            "dev" => devices.push(Device {
                name: value,
                ..Device::default()
            }),
            "ip" | "route4" | "route6" | "primary" | "secondary" => {}
            _ => {
                if let Some(device) = devices.last_mut() {
                    device.attributes.push((key, value));
                }
            }
        }
    }
    let mut network = Network {
        interfaces: Vec::new(),
        default_ipv4: default_route(raw.get("net.route4"), "8.8.8.8"),
        default_ipv6: default_route(raw.get("net.route6"), "2404:6800:400a:800::1012"),
        all_ipv4: Vec::new(),
        all_ipv6: Vec::new(),
        macaddress: String::new(),
    };
    let primary = by_device(raw.all("net.primary"));
    let secondary = by_device(raw.all("net.secondary"));
    for device in &devices {
        network.read_device(device);
        network.read_addresses(device.name, &lines_of(&primary, device.name), false);
        network.read_addresses(device.name, &lines_of(&secondary, device.name), true);
    }
    let names: Vec<String> = network
        .interfaces
        .iter()
        .map(|(name, _)| name.replace(':', "_"))
        .collect();
    facts.put("interfaces", json!(names));
    for (name, interface) in network.interfaces {
        facts.put(&name.replace(':', "_"), Value::Object(interface));
    }
    facts.put("default_ipv4", Value::Object(network.default_ipv4));
    facts.put("default_ipv6", Value::Object(network.default_ipv6));
    facts.put("all_ipv4_addresses", json!(network.all_ipv4));
    facts.put("all_ipv6_addresses", json!(network.all_ipv6));
}

/// `ip route get <target>`'s first line: the outgoing interface, source and gateway.
fn default_route(line: Option<&str>, target: &str) -> Map<String, Value> {
    let mut route = Map::new();
    let words: Vec<&str> = line.unwrap_or("").split_whitespace().collect();
    if words.first() != Some(&target) {
        return route;
    }
    for pair in words.windows(2) {
        match pair[0] {
            "dev" => route.insert("interface".into(), json!(pair[1])),
            "src" => route.insert("address".into(), json!(pair[1])),
            "via" if pair[1] != target => route.insert("gateway".into(), json!(pair[1])),
            _ => None,
        };
    }
    route
}

/// `ip addr show` output for all devices, split by device (the `2: eth0@if3: <...>` lines).
fn by_device<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in lines {
        if !line.starts_with(char::is_whitespace) {
            if let Some((_, rest)) = line.split_once(": ") {
                let name = rest.split(':').next().unwrap_or("");
                let name = name.split('@').next().unwrap_or(name);
                groups.push((name, Vec::new()));
                continue;
            }
        }
        if let Some((_, lines)) = groups.last_mut() {
            lines.push(line);
        }
    }
    groups
}

fn lines_of<'a>(groups: &[(&str, Vec<&'a str>)], device: &str) -> Vec<&'a str> {
    groups
        .iter()
        .filter(|(name, _)| *name == device)
        .flat_map(|(_, lines)| lines.iter().copied())
        .collect()
}

struct Network {
    interfaces: Vec<(String, Map<String, Value>)>,
    default_ipv4: Map<String, Value>,
    default_ipv6: Map<String, Value>,
    all_ipv4: Vec<String>,
    all_ipv6: Vec<String>,
    /// The last MAC address read, whichever device it was (Ansible's loop variable, which
    /// the default route's `macaddress` takes).
    macaddress: String,
}

impl Network {
    fn interface(&mut self, name: &str) -> &mut Map<String, Value> {
        let at = match self.interfaces.iter().position(|(n, _)| n == name) {
            Some(at) => at,
            None => {
                self.interfaces.push((name.to_string(), Map::new()));
                self.interfaces.len() - 1
            }
        };
        &mut self.interfaces[at].1
    }

    fn read_device(&mut self, device: &Device) {
        let mut interface = Map::new();
        interface.insert("device".into(), json!(device.name));
        if let Some(mac) = device.get("address") {
            self.macaddress = mac.to_string();
            if !mac.is_empty() && mac != "00:00:00:00:00:00" {
                interface.insert("macaddress".into(), json!(mac));
            }
        }
        if let Some(mtu) = device.get("mtu").and_then(|m| m.parse::<i64>().ok()) {
            interface.insert("mtu".into(), json!(mtu));
        }
        if let Some(state) = device.get("operstate") {
            interface.insert("active".into(), json!(state != "down"));
        }
        if let Some(module) = device.get("module") {
            let module = module.rsplit('/').next().unwrap_or(module);
            interface.insert("module".into(), json!(module));
        }
        if let Some(kind) = device.get("type") {
            let name = INTERFACE_TYPES
                .iter()
                .find(|(code, _)| *code == kind)
                .map_or("unknown", |(_, name)| name);
            interface.insert("type".into(), json!(name));
        }
        if device.get("bridge").is_some() {
            interface.insert("type".into(), json!("bridge"));
            let members: Vec<&str> = device
                .attributes
                .iter()
                .filter(|(k, _)| *k == "brif")
                .map(|(_, v)| *v)
                .collect();
            interface.insert("interfaces".into(), json!(members));
            if let Some(id) = device.get("bridge_id") {
                interface.insert("id".into(), json!(id));
            }
            if let Some(stp) = device.get("stp_state") {
                interface.insert("stp".into(), json!(stp == "1"));
            }
        }
        if device.get("bonding").is_some() {
            let first = |key: &str| {
                device
                    .get(key)
                    .and_then(|v| v.split_whitespace().next())
                    .unwrap_or("")
                    .to_string()
            };
            interface.insert("type".into(), json!("bonding"));
            let slaves: Vec<&str> = device
                .get("bonding_slaves")
                .unwrap_or("")
                .split_whitespace()
                .collect();
            interface.insert("slaves".into(), json!(slaves));
            interface.insert("mode".into(), json!(first("bonding_mode")));
            interface.insert("miimon".into(), json!(first("bonding_miimon")));
            interface.insert("lacp_rate".into(), json!(first("bonding_lacp_rate")));
            if let Some(primary) = device.get("bonding_primary").filter(|p| !p.is_empty()) {
                interface.insert("primary".into(), json!(primary));
                if let Some(all) = device.get("bonding_all_slaves_active") {
                    interface.insert("all_slaves_active".into(), json!(all == "1"));
                }
            }
        }
        if let Some(mac) = device.get("perm_macaddress") {
            interface.insert("perm_macaddress".into(), json!(mac));
        }
        if let Some(pciid) = device.get("pciid") {
            let pciid = pciid.rsplit('/').next().unwrap_or(pciid);
            interface.insert("pciid".into(), json!(pciid));
        }
        if let Some(speed) = device.get("speed").and_then(|s| s.parse::<i64>().ok()) {
            interface.insert("speed".into(), json!(speed));
        }
        if let Some(flags) = device.get("flags") {
            let flags = i64::from_str_radix(flags.trim_start_matches("0x"), 16).unwrap_or(0);
            interface.insert("promisc".into(), json!(flags & 0x100 > 0));
        }
        *self.interface(device.name) = interface;
    }

    /// Ansible's `parse_ip_output`, quirks included: an address labelled with another name
    /// (`eth0:1`) makes an interface of its own, started afresh at each such address.
    fn read_addresses(&mut self, device: &str, lines: &[&str], secondary: bool) {
        for line in lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.first() {
                Some(&"inet") if words.len() > 1 => self.read_ipv4(device, &words, secondary),
                Some(&"inet6") if words.len() > 3 => self.read_ipv6(device, &words),
                _ => {}
            }
        }
    }

    fn read_ipv4(&mut self, device: &str, words: &[&str], secondary: bool) {
        let (address, prefix, broadcast) = match words[1].split_once('/') {
            Some((address, prefix)) => {
                let broadcast = if words.len() > 3 && words[2] == "brd" {
                    words[3]
                } else {
                    ""
                };
                (address, prefix, broadcast)
            }
            // Point-to-point addresses have no prefix.
            None => (words[1], "32", ""),
        };
        let (Ok(parsed), Ok(length)) = (address.parse::<Ipv4Addr>(), prefix.parse::<u32>()) else {
            return;
        };
        let mask = if length == 0 {
            0
        } else {
            u32::MAX << (32 - length.min(32))
        };
        let netmask = Ipv4Addr::from(mask).to_string();
        let network = Ipv4Addr::from(u32::from(parsed) & mask).to_string();
        let record = json!({
            "address": address,
            "broadcast": broadcast,
            "netmask": netmask,
            "network": network,
            "prefix": prefix,
        });
        let label = *words.last().expect("at least two words");
        if label != device {
            *self.interface(label) = Map::new();
        }
        let labelled = self.interface(label);
        if !secondary && !labelled.contains_key("ipv4") {
            labelled.insert("ipv4".into(), record.clone());
        } else {
            push(labelled, "ipv4_secondaries", record.clone());
        }
        if secondary {
            let main = self.interface(device);
            if !main.contains_key("ipv4_secondaries") {
                main.insert("ipv4_secondaries".into(), json!([]));
            }
            if device != label {
                push(main, "ipv4_secondaries", record);
            }
        }
        if self.default_ipv4.get("address").and_then(Value::as_str) == Some(address) {
            let (mtu, kind) = self.mtu_and_type(device);
            let default = &mut self.default_ipv4;
            default.insert("broadcast".into(), json!(broadcast));
            default.insert("netmask".into(), json!(netmask));
            default.insert("network".into(), json!(network));
            default.insert("prefix".into(), json!(prefix));
            default.insert("macaddress".into(), json!(self.macaddress));
            default.insert("mtu".into(), mtu);
            default.insert("type".into(), kind);
            default.insert("alias".into(), json!(label));
        }
        if !address.starts_with("127.") {
            self.all_ipv4.push(address.to_string());
        }
    }

    fn read_ipv6(&mut self, device: &str, words: &[&str]) {
        let (address, prefix, scope) = if words[2] == "peer" {
            let prefix = words[3].split_once('/').map_or("", |(_, p)| p);
            (words[1], prefix, words.get(5).copied().unwrap_or(""))
        } else {
            let Some((address, prefix)) = words[1].split_once('/') else {
                return;
            };
            (address, prefix, words[3])
        };
        push(
            self.interface(device),
            "ipv6",
            json!({"address": address, "prefix": prefix, "scope": scope}),
        );
        if self.default_ipv6.get("address").and_then(Value::as_str) == Some(address) {
            let (mtu, kind) = self.mtu_and_type(device);
            let default = &mut self.default_ipv6;
            default.insert("prefix".into(), json!(prefix));
            default.insert("scope".into(), json!(scope));
            default.insert("macaddress".into(), json!(self.macaddress));
            default.insert("mtu".into(), mtu);
            default.insert("type".into(), kind);
        }
        if address != "::1" {
            self.all_ipv6.push(address.to_string());
        }
    }

    fn mtu_and_type(&mut self, device: &str) -> (Value, Value) {
        let interface = self.interface(device);
        (
            interface.get("mtu").cloned().unwrap_or(Value::Null),
            interface.get("type").cloned().unwrap_or(json!("unknown")),
        )
    }
}

fn push(map: &mut Map<String, Value>, key: &str, value: Value) {
    match map.entry(key).or_insert_with(|| json!([])) {
        Value::Array(list) => list.push(value),
        other => *other = json!([value]),
    }
}
