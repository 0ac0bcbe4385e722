//! The system: kernel and names, distribution, LSB, service and package managers, security
//! modules, virtualization. Each follows the decision order of Ansible's collector
//! (`system/platform.py`, `distribution.py`, `service_mgr.py`, `pkg_mgr.py`,
//! `virtual/linux.py`), with the files read by the shell and the decisions taken here.

use serde_json::{json, Map, Value};

use super::{unquote, Facts, Raw};

pub(super) const SCRIPT: &str = r#"set -- $(uname -n -r -m)
echo "os.nodename=$1"
echo "os.kernel=$2"
echo "os.machine=$3"
# Python's socket.getfqdn(): the node name's first address, then that address's names.
if command -v getent >/dev/null 2>&1; then
  echo "os.fqdn_hosts=$(getent ahosts "$1" 2>/dev/null | { read -r a _ && getent hosts "$a"; })"
fi
for f in /etc/os-release /usr/lib/os-release; do
  if [ -r "$f" ]; then
    echo "os.release_file=$f"
    while IFS= read -r l || [ -n "$l" ]; do case $l in [A-Z]*=*) echo "os.release.$l";; esac; done < "$f"
    break
  fi
done
if [ -r /etc/debian_version ]; then read -r v < /etc/debian_version; echo "os.debian_version=$v"; fi
if command -v lsb_release >/dev/null 2>&1; then echo "os.lsb_release=yes"; fi
if [ -r /etc/lsb-release ]; then while IFS= read -r l || [ -n "$l" ]; do case $l in *=*) echo "os.lsb_file.$l";; esac; done < /etc/lsb-release; fi
c=; read -r c 2>/dev/null < /proc/1/comm; echo "os.init=$c"
case $c in
  ''|init|*sh)
    if command -v systemctl >/dev/null 2>&1; then echo "os.has=systemctl"; fi
    if command -v initctl >/dev/null 2>&1; then echo "os.has=initctl"; fi
    for p in /run/systemd/system /dev/.run/systemd /dev/.systemd /etc/init /sbin/openrc /etc/init.d /etc/dinit.d; do
      if [ -e "$p" ]; then echo "os.has=$p"; fi
    done
    if [ -L /sbin/init ]; then echo "os.sbin_init=$(readlink /sbin/init)"; fi
    if [ -z "$c" ] && [ -L /sbin/init ]; then echo "os.init=$(readlink /sbin/init)"; fi ;;
esac
for p in /usr/bin/rpm-ostree /usr/bin/yum /usr/bin/dnf-3 /usr/bin/dnf5 /usr/bin/apt-get /usr/bin/zypper /usr/sbin/urpmi /usr/bin/pacman /bin/opkg /usr/pkg/bin/pkgin /opt/local/bin/pkgin /opt/tools/bin/pkgin /opt/local/bin/port /usr/local/bin/brew /opt/homebrew/bin/brew /sbin/apk /usr/sbin/pkg /usr/sbin/swlist /usr/bin/emerge /usr/sbin/pkgadd /usr/bin/pkg /usr/bin/xbps-install /usr/local/sbin/pkg /usr/bin/swupd /usr/sbin/sorcery /usr/bin/installp /run/ostree-booted; do
  if [ -e "$p" ]; then echo "os.pkg_path=$p"; fi
done
for p in /usr/bin/dnf /usr/bin/microdnf; do
  if [ -e "$p" ]; then echo "os.dnf=$p $(readlink -f "$p")"; break; fi
done
if [ -e /sys/kernel/security/apparmor ]; then echo "os.apparmor=enabled"; fi
if [ -r /proc/sys/crypto/fips_enabled ]; then read -r v < /proc/sys/crypto/fips_enabled; echo "os.fips=$v"; fi
if [ -r /sys/fs/selinux/enforce ]; then
  read -r v < /sys/fs/selinux/enforce; echo "os.selinux_enforce=$v"
  if [ -r /sys/fs/selinux/policyvers ]; then read -r v < /sys/fs/selinux/policyvers; echo "os.selinux_policyvers=$v"; fi
  if [ -r /etc/selinux/config ]; then
    while IFS= read -r l; do case $l in SELINUX=*|SELINUXTYPE=*) echo "os.selinux_config.$l";; esac; done < /etc/selinux/config
  fi
fi
if [ -r /proc/1/cgroup ]; then while IFS= read -r l; do echo "virt.cgroup=$l"; done < /proc/1/cgroup; fi
if [ -r /proc/1/environ ]; then tr '\0' '\n' < /proc/1/environ 2>/dev/null | while IFS= read -r l; do case $l in *container=*) echo "virt.environ=$l";; esac; done; fi
if [ -r /run/systemd/container ]; then read -r v < /run/systemd/container; echo "virt.systemd_container=$v"; fi
for p in /proc/vz /proc/lve /proc/bc /.dockerenv /.dockerinit /proc/xen /dev/kvm /rhev; do
  if [ -e "$p" ]; then echo "virt.exists=$p"; fi
done
if [ -r /proc/xen/capabilities ]; then while IFS= read -r l; do echo "virt.xen_capabilities=$l"; done < /proc/xen/capabilities; fi
for f in product_name sys_vendor product_family bios_vendor; do
  if [ -r "/sys/devices/virtual/dmi/id/$f" ]; then read -r v < "/sys/devices/virtual/dmi/id/$f"; echo "virt.$f=$v"; fi
done
if [ -r /proc/modules ]; then sed -n 's/^\(kvm\|vboxdrv\|virtio\) .*/virt.module=\1/p' /proc/modules; fi
"#;

pub(super) fn facts(raw: &Raw, facts: &mut Facts) {
    platform(raw, facts);
    distribution(raw, facts);
    lsb(raw, facts);
    service_mgr(raw, facts);
    pkg_mgr(raw, facts);
    security(raw, facts);
    virtualization(raw, facts);
}

fn platform(raw: &Raw, facts: &mut Facts) {
    let nodename = raw.get("os.nodename").unwrap_or("");
    let machine = raw.get("os.machine").unwrap_or("");
    // socket.getfqdn(): the first of the address's names with a dot, else its first name,
    // else (nothing resolves) the node name itself.
    let names: Vec<&str> = raw
        .get("os.fqdn_hosts")
        .map(|line| line.split_whitespace().skip(1).collect())
        .unwrap_or_default();
    let fqdn = names
        .iter()
        .find(|n| n.contains('.'))
        .or(names.first())
        .copied()
        .unwrap_or(nodename);
    let architecture = match machine {
        "i386" | "i486" | "i586" | "i686" | "i86pc" => "i386",
        other => other,
    };
    facts.put("system", json!("Linux"));
    facts.put("kernel", json!(raw.get("os.kernel").unwrap_or("")));
    facts.put("machine", json!(machine));
    facts.put("architecture", json!(architecture));
    facts.put("nodename", json!(nodename));
    facts.put("hostname", json!(nodename.split('.').next().unwrap_or(nodename)));
    facts.put("fqdn", json!(fqdn));
    facts.put(
        "domain",
        json!(fqdn.split_once('.').map_or("", |(_, domain)| domain)),
    );
}

/// The OS family of each distribution name, as Ansible's `OS_FAMILY_MAP`.
const OS_FAMILIES: &[(&str, &[&str])] = &[
    (
        "RedHat",
        &[
            "RedHat",
            "RHEL",
            "Fedora",
            "CentOS",
            "Scientific",
            "SLC",
            "Ascendos",
            "CloudLinux",
            "PSBM",
            "OracleLinux",
            "OVS",
            "OEL",
            "Amazon",
            "Amzn",
            "Virtuozzo",
            "XenServer",
            "Alibaba",
            "EulerOS",
            "openEuler",
            "AlmaLinux",
            "Rocky",
            "TencentOS",
            "EuroLinux",
            "Kylin Linux Advanced Server",
            "MIRACLE",
        ],
    ),
    (
        "Debian",
        &[
            "Debian",
            "Ubuntu",
            "Raspbian",
            "Neon",
            "KDE neon",
            "Linux Mint",
            "SteamOS",
            "Devuan",
            "Kali",
            "Cumulus Linux",
            "Pop!_OS",
            "Parrot",
            "Pardus GNU/Linux",
            "Uos",
            "Deepin",
            "OSMC",
            "Linux Mint Debian Edition",
        ],
    ),
    (
        "Suse",
        &[
            "SuSE",
            "SLES",
            "SLED",
            "openSUSE",
            "openSUSE Tumbleweed",
            "SLES_SAP",
            "SUSE_LINUX",
            "openSUSE Leap",
            "ALP-Dolomite",
            "SL-Micro",
            "openSUSE MicroOS",
        ],
    ),
    ("Archlinux", &["Archlinux", "Antergos", "Manjaro"]),
    ("Gentoo", &["Gentoo", "Funtoo"]),
    ("Alpine", &["Alpine"]),
    ("Slackware", &["Slackware"]),
    ("Altlinux", &["Altlinux"]),
    ("ClearLinux", &["Clear Linux OS", "Clear Linux Mix"]),
];

fn distribution(raw: &Raw, facts: &mut Facts) {
    let release: Map<String, Value> = raw
        .under("os.release.")
        .map(|(k, v)| (k.to_string(), json!(unquote(v))))
        .collect();
    let field = |key: &str| release.get(key).and_then(Value::as_str).unwrap_or("");
    let id = field("ID");
    let (mut name, mut version, mut codename) = if release.is_empty() {
        // No os-release: Ansible's guess finds nothing either.
        ("NA".to_string(), "NA".to_string(), "NA".to_string())
    } else {
        // Ansible capitalizes the `distro` id, with two exceptions.
        let name = match id {
            "amzn" => "Amazon".to_string(),
            "rhel" => "RedHat".to_string(),
            "" => "OtherLinux".to_string(),
            other => capitalize(other),
        };
        let version = match (id, raw.get("os.debian_version")) {
            // `distro`'s best version on Debian is the point release of /etc/debian_version.
            ("debian", Some(v)) if v.starts_with(|c: char| c.is_ascii_digit()) => v.to_string(),
            _ => field("VERSION_ID").to_string(),
        };
        (name, version, field("VERSION_CODENAME").to_string())
    };
    // The names Ansible's distribution-file parsers give, where they differ from the id.
    let known = match id {
        "centos" => Some("CentOS"),
        "almalinux" => Some("AlmaLinux"),
        "opensuse-leap" => Some("openSUSE Leap"),
        "opensuse-tumbleweed" => Some("openSUSE Tumbleweed"),
        "sles" => Some("SLES"),
        "arch" | "archarm" => Some("Archlinux"),
        _ => None,
    };
    if let Some(known) = known {
        name = known.to_string();
    }
    let debian_like = matches!(id, "debian" | "ubuntu" | "raspbian");
    let mut minor = None;
    if debian_like {
        let pretty = field("PRETTY_NAME");
        if pretty.contains("Debian") || pretty.contains("Raspbian") || field("NAME").contains("Debian") {
            name = "Debian".to_string();
            // `PRETTY_NAME=[^(]+ \(?([^)]+?)\)`: the release in brackets.
            if let Some(inner) = pretty.split_once(" (").and_then(|(_, rest)| rest.split_once(')')) {
                codename = inner.0.to_string();
            }
            minor = raw.get("os.debian_version").and_then(|v| {
                let (_, rest) = v.split_once('.')?;
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                (!digits.is_empty() && v.starts_with(|c: char| c.is_ascii_digit())).then_some(digits)
            });
        }
        facts.put("distribution_file_path", json!("/etc/os-release"));
        facts.put("distribution_file_variety", json!("Debian"));
        facts.put("distribution_file_parsed", json!(true));
    }
    if version.is_empty() {
        version = "NA".to_string();
    }
    let major = version
        .split('.')
        .next()
        .filter(|m| !m.is_empty())
        .unwrap_or("NA");
    let family = OS_FAMILIES
        .iter()
        .find(|(_, names)| names.contains(&name.as_str()))
        .map_or(name.as_str(), |(family, _)| family);
    facts.put("os_family", json!(family));
    facts.put("distribution", json!(name));
    facts.put("distribution_version", json!(version));
    facts.put("distribution_major_version", json!(major));
    facts.put("distribution_release", json!(codename));
    if let Some(minor) = minor {
        facts.put("distribution_minor_version", json!(minor));
    }
}

/// `ansible_lsb`: from `lsb_release -a` when the command exists (its answers come from
/// os-release, read here rather than paying for a process), else `/etc/lsb-release`.
fn lsb(raw: &Raw, facts: &mut Facts) {
    let mut lsb = Map::new();
    let release: Vec<(&str, String)> = raw.under("os.release.").map(|(k, v)| (k, unquote(v))).collect();
    let field = |key: &str| {
        release
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    if raw.get("os.lsb_release").is_some() {
        let id = field("ID").unwrap_or_default();
        // `lsb_release` upper-cases the id's first letter only.
        let mut chars = id.chars();
        let mut distributor: String = chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or_default();
        if let Some(name) = field("NAME") {
            if name.to_lowercase() == id.to_lowercase() {
                distributor = name;
            }
        }
        let or_na = |v: Option<String>| v.unwrap_or_else(|| "n/a".to_string());
        lsb.insert(
            "id".into(),
            json!(if distributor.is_empty() {
                "n/a".to_string()
            } else {
                distributor
            }),
        );
        lsb.insert("description".into(), json!(or_na(field("PRETTY_NAME"))));
        lsb.insert("release".into(), json!(or_na(field("VERSION_ID"))));
        lsb.insert("codename".into(), json!(or_na(field("VERSION_CODENAME"))));
    } else {
        for (key, value) in raw.under("os.lsb_file.") {
            let name = match key {
                k if k.contains("DISTRIB_ID") => "id",
                k if k.contains("DISTRIB_RELEASE") => "release",
                k if k.contains("DISTRIB_DESCRIPTION") => "description",
                k if k.contains("DISTRIB_CODENAME") => "codename",
                _ => continue,
            };
            lsb.insert(name.into(), json!(value.trim()));
        }
    }
    if let Some(release) = lsb.get("release").and_then(Value::as_str) {
        let major = release.split('.').next().unwrap_or("").to_string();
        lsb.insert("major_release".into(), json!(major));
    }
    for value in lsb.values_mut() {
        if let Some(text) = value.as_str() {
            *value = json!(text.trim_matches(['\'', '"', '\\']));
        }
    }
    facts.put("lsb", Value::Object(lsb));
}

fn service_mgr(raw: &Raw, facts: &mut Facts) {
    let init = raw.get("os.init").unwrap_or("");
    let init = init.rsplit('/').next().unwrap_or(init).trim();
    // PID 1 names its init, except `init` itself and shells (a container's entry point).
    let trusted = !(init.is_empty() || init == "init" || init.ends_with("sh"));
    let has = |what: &str| raw.has("os.has", what);
    let manager = if trusted {
        match init {
            "procd" => "openwrt_init",
            "runit-init" => "runit",
            "svscan" => "svc",
            "openrc-init" => "openrc",
            other => other,
        }
    } else if has("systemctl")
        && ["/run/systemd/system", "/dev/.run/systemd", "/dev/.systemd"]
            .iter()
            .any(|p| has(p))
    {
        "systemd"
    } else if has("initctl") && has("/etc/init") {
        "upstart"
    } else if has("/sbin/openrc") {
        "openrc"
    } else if has("systemctl")
        && raw
            .get("os.sbin_init")
            .is_some_and(|target| target.rsplit('/').next() == Some("systemd"))
    {
        "systemd"
    } else if has("/etc/init.d") {
        "sysvinit"
    } else if has("/etc/dinit.d") {
        "dinit"
    } else {
        "service"
    };
    facts.put("service_mgr", json!(manager));
}

const PKG_MGRS: &[(&str, &str)] = &[
    ("/usr/bin/rpm-ostree", "atomic_container"),
    ("/usr/bin/yum", "dnf"),
    ("/usr/bin/dnf-3", "dnf"),
    ("/usr/bin/dnf5", "dnf5"),
    ("/usr/bin/apt-get", "apt"),
    ("/usr/bin/zypper", "zypper"),
    ("/usr/sbin/urpmi", "urpmi"),
    ("/usr/bin/pacman", "pacman"),
    ("/bin/opkg", "opkg"),
    ("/usr/pkg/bin/pkgin", "pkgin"),
    ("/opt/local/bin/pkgin", "pkgin"),
    ("/opt/tools/bin/pkgin", "pkgin"),
    ("/opt/local/bin/port", "macports"),
    ("/usr/local/bin/brew", "homebrew"),
    ("/opt/homebrew/bin/brew", "homebrew"),
    ("/sbin/apk", "apk"),
    ("/usr/sbin/pkg", "pkgng"),
    ("/usr/sbin/swlist", "swdepot"),
    ("/usr/bin/emerge", "portage"),
    ("/usr/sbin/pkgadd", "svr4pkg"),
    ("/usr/bin/pkg", "pkg5"),
    ("/usr/bin/xbps-install", "xbps"),
    ("/usr/local/sbin/pkg", "pkgng"),
    ("/usr/bin/swupd", "swupd"),
    ("/usr/sbin/sorcery", "sorcery"),
    ("/usr/bin/installp", "installp"),
];

fn pkg_mgr(raw: &Raw, facts: &mut Facts) {
    let family = facts
        .0
        .get("ansible_os_family")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    // The last present wins, as in Ansible's list walk.
    let mut manager = PKG_MGRS
        .iter()
        .filter(|(path, _)| raw.has("os.pkg_path", path))
        .rfind(|(path, _)| !(family == "Altlinux" && *path == "/usr/bin/pkg"))
        .map_or("unknown", |(_, name)| name);
    if family == "RedHat" {
        manager = if raw.has("os.pkg_path", "/run/ostree-booted") {
            "atomic_container"
        } else {
            match raw.get("os.dnf").and_then(|l| l.split_once(' ')) {
                Some((_, "/usr/bin/dnf5")) => "dnf5",
                Some(_) => "dnf",
                None => "unknown",
            }
        };
    } else if family == "Debian" && manager != "apt" {
        manager = "apt";
    } else if family == "Altlinux" && manager == "apt" {
        manager = "apt_rpm";
    }
    facts.put("pkg_mgr", json!(manager));
}

fn security(raw: &Raw, facts: &mut Facts) {
    facts.put(
        "apparmor",
        json!({"status": if raw.get("os.apparmor").is_some() { "enabled" } else { "disabled" }}),
    );
    facts.put("fips", json!(raw.get("os.fips") == Some("1")));
    let mut selinux = Map::new();
    match raw.get("os.selinux_enforce") {
        None => {
            selinux.insert("status".into(), json!("disabled"));
        }
        Some(enforce) => {
            let mode = |v: &str| match v {
                "1" | "enforcing" => "enforcing",
                "0" | "permissive" => "permissive",
                "-1" | "disabled" => "disabled",
                _ => "unknown",
            };
            let config = |key: &str| {
                raw.under("os.selinux_config.")
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| unquote(v))
            };
            selinux.insert("status".into(), json!("enabled"));
            selinux.insert(
                "policyvers".into(),
                raw.get("os.selinux_policyvers")
                    .and_then(|v| v.parse::<u64>().ok())
                    .map_or(json!("unknown"), |v| json!(v)),
            );
            selinux.insert(
                "config_mode".into(),
                json!(config("SELINUX").map_or("unknown", |m| mode(&m))),
            );
            selinux.insert("mode".into(), json!(mode(enforce)));
            selinux.insert(
                "type".into(),
                json!(config("SELINUXTYPE").unwrap_or_else(|| "unknown".to_string())),
            );
        }
    }
    facts.put("selinux", Value::Object(selinux));
}

/// `virtualization_type` and `_role`, in the order of Ansible's checks: the first match
/// names the type (the OpenVZ check alone overrides, as there).
fn virtualization(raw: &Raw, facts: &mut Facts) {
    let mut found: Option<(String, String)> = None;
    let set = |found: &mut Option<(String, String)>, kind: &str, role: &str| {
        if found.is_none() {
            *found = Some((kind.to_string(), role.to_string()));
        }
    };
    for line in raw.all("virt.cgroup") {
        if line.contains("/docker/") || docker_scope(line) {
            set(&mut found, "docker", "guest");
        }
        if line.contains("/lxc/") || line.contains("/machine.slice/machine-lxc") {
            set(&mut found, "lxc", "guest");
        }
        if line.contains("/system.slice/containerd.service") {
            set(&mut found, "containerd", "guest");
        }
    }
    for line in raw.all("virt.environ") {
        if line.contains("container=lxc") {
            set(&mut found, "lxc", "guest");
        }
        if line.contains("container=podman") {
            set(&mut found, "podman", "guest");
        }
        if line.strip_prefix("container=").is_some_and(|v| !v.is_empty()) {
            set(&mut found, "container", "guest");
        }
    }
    let exists = |path: &str| raw.has("virt.exists", path);
    if exists("/proc/vz") && !exists("/proc/lve") {
        let role = if exists("/proc/bc") { "host" } else { "guest" };
        let role = found.as_ref().map_or(role.to_string(), |(_, r)| r.clone());
        found = Some(("openvz".to_string(), role));
    }
    if let Some(container) = raw.get("virt.systemd_container").filter(|c| !c.is_empty()) {
        set(&mut found, container, "guest");
    }
    if exists("/.dockerenv") || exists("/.dockerinit") {
        set(&mut found, "docker", "guest");
    }
    if exists("/proc/xen") {
        let host = raw.all("virt.xen_capabilities").any(|l| l.contains("control_d"));
        set(&mut found, "xen", if host { "host" } else { "guest" });
    }
    let dmi = |key: &str| raw.get(&format!("virt.{key}")).unwrap_or("");
    let (product, vendor, family, bios) = (
        dmi("product_name"),
        dmi("sys_vendor"),
        dmi("product_family"),
        dmi("bios_vendor"),
    );
    let guest = [
        (
            ["KVM", "KVM Server", "Bochs", "AHV", "CloudStack KVM Hypervisor"].contains(&product),
            "kvm",
        ),
        (vendor == "oVirt", "oVirt"),
        (vendor == "Red Hat" && family == "RHV", "RHV"),
        (
            vendor == "Red Hat" && family != "RHV" && product == "RHEV Hypervisor",
            "RHEV",
        ),
        (product.starts_with("VMware"), "VMware"),
        (
            ["OpenStack Compute", "OpenStack Nova"].contains(&product),
            "openstack",
        ),
        (bios == "Xen", "xen"),
        (bios == "innotek GmbH", "virtualbox"),
        (
            ["Amazon EC2", "DigitalOcean", "Hetzner", "Linode"].contains(&bios),
            "kvm",
        ),
        (
            [
                "QEMU",
                "Amazon EC2",
                "DigitalOcean",
                "Google",
                "Scaleway",
                "Nutanix",
            ]
            .contains(&vendor),
            "kvm",
        ),
        (vendor == "KubeVirt", "KubeVirt"),
        (vendor == "Microsoft Corporation", "VirtualPC"),
        (vendor == "Parallels Software International Inc.", "parallels"),
        (vendor == "OpenStack Foundation", "openstack"),
    ];
    for (matches, kind) in guest {
        if matches {
            set(&mut found, kind, "guest");
        }
    }
    for (key, value) in raw.under("cpu.") {
        let kind = match (key, value) {
            ("model name", v) if v.contains("QEMU Virtual CPU") => "kvm",
            ("vendor_id", v) if v.contains("User Mode Linux") => "uml",
            ("model name", v) if v.contains("UML") => "uml",
            ("vendor_id", v) if v.contains("PowerVM Lx86") => "powervm_lx86",
            _ => continue,
        };
        set(&mut found, kind, "guest");
    }
    let module = |name: &str| raw.has("virt.module", name);
    if module("kvm") {
        set(&mut found, "kvm", "host");
    }
    if module("vboxdrv") {
        set(&mut found, "virtualbox", "host");
    }
    if module("virtio") {
        set(&mut found, "kvm", "guest");
    }
    if exists("/dev/kvm") {
        set(&mut found, "kvm", "host");
    }
    let (kind, role) = found.unwrap_or(("NA".to_string(), "NA".to_string()));
    facts.put("virtualization_type", json!(kind));
    facts.put("virtualization_role", json!(role));
}

/// `/docker-<hex>.scope`, as in Ansible's `/docker(/|-[0-9a-f]+\.scope)`.
fn docker_scope(line: &str) -> bool {
    line.match_indices("/docker-").any(|(at, found)| {
        let rest = &line[at + found.len()..];
        let hex = rest.chars().take_while(char::is_ascii_hexdigit).count();
        hex > 0 && rest[hex..].starts_with(".scope")
    })
}

/// Python's `str.capitalize`.
fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| {
            first
                .to_uppercase()
                .chain(chars.flat_map(char::to_lowercase))
                .collect()
        })
        .unwrap_or_default()
}
