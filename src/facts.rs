//! Host facts, gathered inside the probe with nothing but `sh` and coreutils.
//!
//! Ansible gathers facts with Python on the host; `deploy` asks the same questions in a few
//! lines of shell as one section of the probe, so facts cost no extra round trip and hosts
//! need no Python. Names and shapes follow Ansible's (`ansible_distribution`, `ansible_default_ipv4.address`, ...)
//! so that roles read them unchanged.

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};

use crate::shell::Script;

/// The snippet printing `key=value` lines that [`parse`] reads.
pub fn script() -> Script {
    let mut script = Script::new();
    script.raw(
        // Builtins where they do (`read`, one `uname` for three fields): every exec counts
        // in the probe's cost, paid on every host at every run.
        r#"set -- $(uname -n -r -m)
echo "hostname=$1"
echo "fqdn=$(hostname -f 2>/dev/null || echo "$1")"
echo "machine=$3"
echo "kernel=$2"
if [ -r /etc/os-release ]; then sed -n 's/^\(ID\|ID_LIKE\|NAME\|VERSION_ID\|VERSION_CODENAME\)=/os_\1=/p' /etc/os-release; fi
if [ -r /etc/debian_version ]; then read -r v < /etc/debian_version; echo "debian_version=$v"; fi
while read -r k v _; do if [ "$k" = MemTotal: ]; then echo "memtotal_kb=$v"; break; fi; done < /proc/meminfo
echo "vcpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)"
c=; read -r c 2>/dev/null < /proc/1/comm; echo "init=$c"
for m in apt-get dnf yum apk; do if command -v "$m" >/dev/null 2>&1; then echo "pkg=$m"; break; fi; done
if command -v ip >/dev/null 2>&1; then
  dev=$(ip -4 route show default 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n 1)
  if [ -n "$dev" ]; then echo "default_dev=$dev"; echo "default_ip=$(ip -4 -o addr show dev "$dev" | sed -n 's/.* inet \([0-9.]*\).*/\1/p' | head -n 1)"; fi
  ip -4 -o addr show scope global 2>/dev/null | sed -n 's/.* inet \([0-9.]*\).*/ipv4=\1/p'
fi
echo "user_id=$(id -un)"
echo "python=$(command -v python3 || true)""#,
    );
    script
}

/// Turns the snippet's output into Ansible-named facts.
pub fn parse(output: &[u8]) -> Result<Map<String, Value>> {
    let text = std::str::from_utf8(output).context("facts are not UTF-8")?;
    let mut raw: Vec<(&str, &str)> = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (key, value) = line
            .split_once('=')
            .with_context(|| format!("unexpected fact line {line:?}"))?;
        raw.push((key, value.trim_matches('"')));
    }
    let get = |key: &str| raw.iter().find(|(k, _)| *k == key).map(|(_, v)| *v).unwrap_or("");
    let os_id = get("os_ID");
    let like = get("os_ID_LIKE");
    let distribution = match os_id {
        "debian" => "Debian".to_string(),
        "ubuntu" => "Ubuntu".to_string(),
        "rhel" => "RedHat".to_string(),
        "centos" => "CentOS".to_string(),
        "rocky" => "Rocky".to_string(),
        "almalinux" => "AlmaLinux".to_string(),
        "fedora" => "Fedora".to_string(),
        "alpine" => "Alpine".to_string(),
        other => capitalize(other),
    };
    let os_family = if os_id == "debian" || like.split(' ').any(|l| l == "debian") {
        "Debian"
    } else if ["rhel", "centos", "fedora", "rocky", "almalinux"].contains(&os_id) || like.contains("rhel") {
        "RedHat"
    } else if os_id == "alpine" {
        "Alpine"
    } else {
        "Linux"
    };
    // Ansible reports Debian's point release from /etc/debian_version ("12.7").
    let version = match (os_id, get("debian_version")) {
        ("debian", v) if v.chars().next().is_some_and(|c| c.is_ascii_digit()) => v.to_string(),
        _ => get("os_VERSION_ID").to_string(),
    };
    let major = version.split('.').next().unwrap_or("").to_string();
    let memtotal_mb = get("memtotal_kb").parse::<u64>().map_or(0, |kb| kb / 1024);
    let vcpus = get("vcpus").parse::<u64>().unwrap_or(1);
    let service_mgr = match get("init") {
        "systemd" => "systemd",
        "init" => "sysvinit",
        "" => "service",
        other => other,
    };
    let pkg_mgr = match get("pkg") {
        "apt-get" => "apt",
        "" => "unknown",
        other => other,
    };
    let default_ipv4 = if get("default_ip").is_empty() {
        json!({})
    } else {
        json!({"address": get("default_ip"), "interface": get("default_dev")})
    };
    let all_ipv4: Vec<&str> = raw
        .iter()
        .filter(|(k, _)| *k == "ipv4")
        .map(|(_, v)| *v)
        .collect();
    let hostname = get("hostname");
    let fqdn = get("fqdn");
    let mut facts = Map::new();
    let mut put = |k: &str, v: Value| {
        facts.insert(k.to_string(), v);
    };
    put(
        "ansible_hostname",
        json!(hostname.split('.').next().unwrap_or(hostname)),
    );
    put("ansible_nodename", json!(hostname));
    put(
        "ansible_fqdn",
        json!(if fqdn.is_empty() { hostname } else { fqdn }),
    );
    put("ansible_architecture", json!(get("machine")));
    put("ansible_machine", json!(get("machine")));
    put("ansible_kernel", json!(get("kernel")));
    put("ansible_system", json!("Linux"));
    put("ansible_os_family", json!(os_family));
    put("ansible_distribution", json!(distribution));
    put("ansible_distribution_version", json!(version));
    put("ansible_distribution_major_version", json!(major));
    put("ansible_distribution_release", json!(get("os_VERSION_CODENAME")));
    put("ansible_memtotal_mb", json!(memtotal_mb));
    put("ansible_processor_vcpus", json!(vcpus));
    put("ansible_processor_nproc", json!(vcpus));
    put("ansible_service_mgr", json!(service_mgr));
    put("ansible_pkg_mgr", json!(pkg_mgr));
    put("ansible_default_ipv4", default_ipv4);
    put("ansible_all_ipv4_addresses", json!(all_ipv4));
    put("ansible_user_id", json!(get("user_id")));
    if !get("python").is_empty() {
        put("ansible_python", json!({"executable": get("python")}));
    }
    Ok(facts)
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN12: &str = "hostname=h1\nfqdn=h1\nmachine=x86_64\nkernel=6.1.0-18-amd64\n\
os_NAME=\"Debian GNU/Linux\"\nos_VERSION_ID=\"12\"\nos_VERSION_CODENAME=bookworm\nos_ID=debian\n\
debian_version=12.7\nmemtotal_kb=24576000\nvcpus=2\ninit=systemd\npkg=apt-get\n\
ipv4=10.213.0.11\nuser_id=root\n";

    #[test]
    fn parses_a_debian_12_host() {
        let facts = parse(DEBIAN12.as_bytes()).unwrap();
        assert_eq!(facts["ansible_distribution"], "Debian");
        assert_eq!(facts["ansible_os_family"], "Debian");
        assert_eq!(facts["ansible_distribution_version"], "12.7");
        assert_eq!(facts["ansible_distribution_major_version"], "12");
        assert_eq!(facts["ansible_distribution_release"], "bookworm");
        assert_eq!(facts["ansible_memtotal_mb"], 24000);
        assert_eq!(facts["ansible_service_mgr"], "systemd");
        assert_eq!(facts["ansible_pkg_mgr"], "apt");
        assert_eq!(facts["ansible_default_ipv4"], json!({}));
        assert_eq!(facts["ansible_all_ipv4_addresses"], json!(["10.213.0.11"]));
        assert!(!facts.contains_key("ansible_python"));
    }

    #[test]
    fn the_script_runs_here_and_parses() {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script().as_str())
            .output()
            .unwrap();
        let facts = parse(&out.stdout).unwrap();
        assert!(!facts["ansible_hostname"].as_str().unwrap().is_empty());
        assert_eq!(facts["ansible_system"], "Linux");
    }

    #[test]
    fn refuses_garbage() {
        assert!(parse(b"no equals sign here\n").is_err());
    }
}
