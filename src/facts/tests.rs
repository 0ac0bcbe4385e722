//! The parser on canned snippet output, one host shape per test. The differential test
//! against Ansible's `setup` module on a real machine is `tests/facts.rs`.

use serde_json::json;

use super::*;

const DEBIAN12: &str = r#"os.nodename=web1
os.kernel=6.1.0-18-amd64
os.machine=x86_64
os.fqdn_hosts=10.0.0.5      web1.example.org web1
os.release_file=/etc/os-release
os.release.PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
os.release.NAME="Debian GNU/Linux"
os.release.VERSION_ID="12"
os.release.VERSION_CODENAME=bookworm
os.release.ID=debian
os.debian_version=12.7
os.init=systemd
os.pkg_path=/usr/bin/apt-get
os.fips=0
mem.MemTotal=24576000
mem.MemFree=1024000
mem.Buffers=2048
mem.Cached=4096
mem.SwapTotal=0
mem.SwapFree=0
mem.SwapCached=0
cpu.processor=0
cpu.vendor_id=GenuineIntel
cpu.model name=Intel(R) Xeon(R)
cpu.physical id=0
cpu.siblings=2
cpu.core id=0
cpu.cpu cores=2
cpu.processor=1
cpu.vendor_id=GenuineIntel
cpu.model name=Intel(R) Xeon(R)
cpu.physical id=0
cpu.siblings=2
cpu.core id=1
cpu.cpu cores=2
hw.nproc=2
net.ip=yes
net.route4=8.8.8.8 via 10.0.0.1 dev br-lan src 10.0.0.5 uid 0
net.dev=lo
net.address=00:00:00:00:00:00
net.mtu=65536
net.operstate=unknown
net.type=772
net.flags=0x9
net.dev=br-lan
net.address=52:54:00:12:34:56
net.mtu=1500
net.operstate=up
net.type=1
net.flags=0x1003
net.bridge=yes
net.brif=eth0
net.bridge_id=8000.525400123456
net.stp_state=0
net.dev=eth0
net.address=52:54:00:12:34:56
net.mtu=1500
net.operstate=up
net.type=1
net.speed=1000
net.flags=0x1103
net.pciid=0000:00:03.0
net.module=/sys/module/virtio_net
net.primary=1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
net.primary=    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
net.primary=    inet 127.0.0.1/8 scope host lo
net.primary=       valid_lft forever preferred_lft forever
net.primary=    inet6 ::1/128 scope host noprefixroute
net.primary=2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel master br-lan state UP
net.primary=    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff
net.primary=3: br-lan: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP
net.primary=    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff
net.primary=    inet 10.0.0.5/24 brd 10.0.0.255 scope global br-lan
net.primary=       valid_lft forever preferred_lft forever
net.primary=    inet 10.0.0.9/24 brd 10.0.0.255 scope global br-lan:web
net.primary=    inet6 fe80::5054:ff:fe12:3456/64 scope link
net.secondary=3: br-lan: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP
net.secondary=    inet 10.0.0.6/24 brd 10.0.0.255 scope global secondary br-lan
mount.entry=/dev/vda1 / ext4 rw,relatime 0 0
mount.entry=/dev/vdb /srv/my\040data xfs rw 0 2
mount.size=4096 4096 1000 250 500 100 /
mount.uuid=/dev/vda1 2f1c-77
user.Uid=1000 1000
user.Gid=1000 1000
user.name=deploy
user.passwd=deploy:x:1000:1000:Deploy,,,:/home/deploy:/bin/bash
env.HOME=/home/deploy
env.MOTD=two\u{1}lines
py.executable=/usr/bin/python3
py.version=Python 3.11.2
date=2024 02 Thursday 4 08 29 14 05 09 1709211909 +0100 123456789 CET
date=2024 01 Monday 1 00 01 00 00 00 1704063600 +0100 000000000 CET
date=2024 07 Monday 1 26 01 00 00 00 1719784800 +0200 000000000 CEST
local.file=role
local.line.role={"tier": "web"}
local.file=site
local.line.site=[general]
local.line.site=Owner = ops
local.file=broken
local.status.broken=3
local.line.broken=no database
"#;

fn parsed(text: &str) -> Map<String, Value> {
    parse(text.replace("\\u{1}", "\u{1}").as_bytes()).expect("canned output parses")
}

#[test]
fn a_debian_host_with_a_bridge_named_with_a_dash() {
    let facts = parsed(DEBIAN12);
    assert_eq!(facts["ansible_distribution"], "Debian");
    assert_eq!(facts["ansible_os_family"], "Debian");
    assert_eq!(facts["ansible_distribution_version"], "12.7");
    assert_eq!(facts["ansible_distribution_major_version"], "12");
    assert_eq!(facts["ansible_distribution_minor_version"], "7");
    assert_eq!(facts["ansible_distribution_release"], "bookworm");
    assert_eq!(facts["ansible_fqdn"], "web1.example.org");
    assert_eq!(facts["ansible_domain"], "example.org");
    assert_eq!(facts["ansible_hostname"], "web1");
    assert_eq!(facts["ansible_service_mgr"], "systemd");
    assert_eq!(facts["ansible_pkg_mgr"], "apt");
    assert_eq!(facts["ansible_fips"], false);
    assert_eq!(facts["ansible_selinux"], json!({"status": "disabled"}));
    assert_eq!(facts["ansible_memtotal_mb"], 24000);
    assert_eq!(facts["ansible_memfree_mb"], 1000);
    assert_eq!(
        facts["ansible_memory_mb"]["nocache"],
        json!({"free": 1006, "used": 22994})
    );
    assert_eq!(facts["ansible_processor_count"], 1);
    assert_eq!(facts["ansible_processor_cores"], 2);
    assert_eq!(facts["ansible_processor_threads_per_core"], 1);
    assert_eq!(facts["ansible_processor_vcpus"], 2);
    // Interfaces: the dash becomes `_` in the fact's name, not in the list or `device`.
    assert_eq!(
        facts["ansible_interfaces"],
        json!(["lo", "br-lan", "br-lan_web", "eth0"])
    );
    let bridge = &facts["ansible_br_lan"];
    assert_eq!(bridge["device"], "br-lan");
    assert_eq!(bridge["type"], "bridge");
    assert_eq!(bridge["interfaces"], json!(["eth0"]));
    assert_eq!(bridge["stp"], false);
    assert_eq!(
        bridge["ipv4"],
        json!({"address": "10.0.0.5", "broadcast": "10.0.0.255", "netmask": "255.255.255.0",
               "network": "10.0.0.0", "prefix": "24"})
    );
    assert_eq!(bridge["ipv4_secondaries"][0]["address"], "10.0.0.6");
    assert_eq!(
        bridge["ipv6"],
        json!([{"address": "fe80::5054:ff:fe12:3456", "prefix": "64", "scope": "link"}])
    );
    assert_eq!(facts["ansible_br_lan_web"]["ipv4"]["address"], "10.0.0.9");
    assert!(!facts["ansible_lo"]
        .as_object()
        .unwrap()
        .contains_key("macaddress"));
    assert_eq!(facts["ansible_lo"]["type"], "loopback");
    let eth0 = &facts["ansible_eth0"];
    assert_eq!(eth0["promisc"], true);
    assert_eq!(eth0["speed"], 1000);
    assert_eq!(eth0["module"], "virtio_net");
    assert_eq!(eth0["pciid"], "0000:00:03.0");
    assert_eq!(
        facts["ansible_default_ipv4"],
        json!({"address": "10.0.0.5", "alias": "br-lan", "broadcast": "10.0.0.255",
               "gateway": "10.0.0.1", "interface": "br-lan", "macaddress": "52:54:00:12:34:56",
               "mtu": 1500, "netmask": "255.255.255.0", "network": "10.0.0.0", "prefix": "24",
               "type": "bridge"})
    );
    assert_eq!(facts["ansible_default_ipv6"], json!({}));
    assert_eq!(
        facts["ansible_all_ipv4_addresses"],
        json!(["10.0.0.5", "10.0.0.9", "10.0.0.6"])
    );
    assert_eq!(
        facts["ansible_all_ipv6_addresses"],
        json!(["fe80::5054:ff:fe12:3456"])
    );
    // Mounts: sizes where `stat` answered, the escaped name unescaped.
    let mounts = facts["ansible_mounts"].as_array().unwrap();
    assert_eq!(mounts[0]["size_total"], 4_096_000);
    assert_eq!(mounts[0]["size_available"], 1_024_000);
    assert_eq!(mounts[0]["block_used"], 750);
    assert_eq!(mounts[0]["inode_used"], 400);
    assert_eq!(mounts[0]["uuid"], "2f1c-77");
    assert_eq!(mounts[1]["mount"], "/srv/my data");
    assert_eq!(mounts[1]["passno"], 2);
    assert_eq!(mounts[1]["uuid"], "N/A");
    assert!(!mounts[1].as_object().unwrap().contains_key("size_total"));
    // The session.
    assert_eq!(facts["ansible_user_id"], "deploy");
    assert_eq!(facts["ansible_user_dir"], "/home/deploy");
    assert_eq!(facts["ansible_user_uid"], 1000);
    assert_eq!(facts["ansible_env"]["MOTD"], "two\nlines");
    assert_eq!(facts["ansible_python_version"], "3.11.2");
    assert_eq!(
        facts["ansible_python"]["version_info"],
        json!([3, 11, 2, "final", 0])
    );
    let clock = &facts["ansible_date_time"];
    assert_eq!(clock["iso8601"], "2024-02-29T13:05:09Z");
    assert_eq!(clock["iso8601_micro"], "2024-02-29T13:05:09.123456Z");
    assert_eq!(clock["iso8601_basic_short"], "20240229T140509");
    assert_eq!(clock["tz"], "CET");
    assert_eq!(clock["tz_dst"], "CEST");
    assert_eq!(clock["tz_offset"], "+0100");
    // Local facts: JSON, INI, and a failed script.
    assert_eq!(facts["ansible_local"]["role"], json!({"tier": "web"}));
    assert_eq!(
        facts["ansible_local"]["site"],
        json!({"general": {"owner": "ops"}})
    );
    assert_eq!(
        facts["ansible_local"]["broken"],
        "Failure executing fact script (/etc/ansible/facts.d/broken.fact), rc: 3, err: no database"
    );
}

#[test]
fn a_light_container_without_ip_python_or_os_release() {
    let facts = parsed(
        "os.nodename=c1\nos.kernel=6.1.0\nos.machine=aarch64\nos.init=sh\nos.has=/etc/init.d\n\
         virt.cgroup=0::/system.slice/docker-0123abcd.scope\nuser.name=root\n\
         user.passwd=root:x:0:0:root:/root:/bin/sh\n",
    );
    assert_eq!(facts["ansible_distribution"], "NA");
    assert_eq!(facts["ansible_distribution_version"], "NA");
    assert_eq!(facts["ansible_os_family"], "NA");
    assert_eq!(facts["ansible_pkg_mgr"], "unknown");
    // A shell as PID 1 says nothing of the init: the init scripts do.
    assert_eq!(facts["ansible_service_mgr"], "sysvinit");
    assert_eq!(facts["ansible_fqdn"], "c1");
    assert_eq!(facts["ansible_virtualization_type"], "docker");
    assert_eq!(facts["ansible_virtualization_role"], "guest");
    assert_eq!(facts["ansible_lsb"], json!({}));
    assert_eq!(facts["ansible_local"], json!({}));
    for absent in [
        "ansible_interfaces",
        "ansible_default_ipv4",
        "ansible_all_ipv4_addresses",
        "ansible_python",
        "ansible_python_version",
        "ansible_mounts",
        "ansible_distribution_file_variety",
    ] {
        assert!(!facts.contains_key(absent), "{absent} given without its source");
    }
}

#[test]
fn no_default_route_and_several_interfaces() {
    let facts = parsed(
        "net.ip=yes\nnet.dev=eth1\nnet.address=52:54:00:00:00:02\nnet.mtu=9000\nnet.operstate=down\n\
         net.type=1\nnet.dev=eth0\nnet.address=52:54:00:00:00:01\nnet.mtu=1500\nnet.operstate=up\n\
         net.type=1\nnet.primary=2: eth0: <UP>\nnet.primary=    inet 192.168.1.4/24 brd 192.168.1.255 scope global eth0\n\
         net.primary=3: eth1: <>\nnet.primary=    inet6 fd00::5/64 scope global\n",
    );
    assert_eq!(facts["ansible_default_ipv4"], json!({}));
    assert_eq!(facts["ansible_default_ipv6"], json!({}));
    assert_eq!(facts["ansible_interfaces"], json!(["eth1", "eth0"]));
    assert_eq!(facts["ansible_eth1"]["active"], false);
    assert_eq!(facts["ansible_eth1"]["mtu"], 9000);
    assert_eq!(facts["ansible_eth1"]["ipv6"][0]["address"], "fd00::5");
    assert_eq!(facts["ansible_eth0"]["ipv4"]["network"], "192.168.1.0");
    // Addresses follow the interfaces' order.
    assert_eq!(facts["ansible_all_ipv4_addresses"], json!(["192.168.1.4"]));
    assert_eq!(facts["ansible_all_ipv6_addresses"], json!(["fd00::5"]));
}

#[test]
fn ubuntu_and_rocky_name_their_family_and_package_manager() {
    let ubuntu = parsed(
        "os.release.NAME=\"Ubuntu\"\nos.release.ID=ubuntu\nos.release.ID_LIKE=debian\n\
         os.release.VERSION_ID=\"22.04\"\nos.release.VERSION_CODENAME=jammy\n\
         os.release.PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\nos.debian_version=bookworm/sid\n\
         os.pkg_path=/usr/bin/apt-get\nos.lsb_release=yes\n",
    );
    assert_eq!(ubuntu["ansible_distribution"], "Ubuntu");
    assert_eq!(ubuntu["ansible_os_family"], "Debian");
    assert_eq!(ubuntu["ansible_distribution_version"], "22.04");
    assert_eq!(ubuntu["ansible_distribution_release"], "jammy");
    assert_eq!(ubuntu["ansible_lsb"]["id"], "Ubuntu");
    assert_eq!(ubuntu["ansible_lsb"]["major_release"], "22");
    let rocky = parsed(
        "os.release.ID=\"rocky\"\nos.release.VERSION_ID=\"9.3\"\nos.pkg_path=/usr/bin/yum\n\
         os.dnf=/usr/bin/dnf /usr/bin/dnf-3\n",
    );
    assert_eq!(rocky["ansible_distribution"], "Rocky");
    assert_eq!(rocky["ansible_os_family"], "RedHat");
    assert_eq!(rocky["ansible_distribution_major_version"], "9");
    assert_eq!(rocky["ansible_pkg_mgr"], "dnf");
}

#[test]
fn the_snippet_runs_here_and_parses() {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(script().as_str())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let facts = parse(&out.stdout).unwrap();
    assert!(!facts["ansible_hostname"].as_str().unwrap().is_empty());
    assert_eq!(facts["ansible_system"], "Linux");
}

#[test]
fn refuses_a_line_without_a_value() {
    let error = parse(b"no equals sign here\n").unwrap_err();
    assert_eq!(error.to_string(), "unexpected fact line \"no equals sign here\"");
}
