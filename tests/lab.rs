//! `deploy lab` end to end, over real SSH: hosts come up, are independent, install packages
//! through the proxy and the local repository, survive a reboot, and leave nothing behind.
//!
//! A lab instance is one machine-wide resource (bridge, subnet, namespace names), so every test
//! that touches one holds `LAB`, and the lifecycle is one sequential test. Only the lifecycle
//! test uses instance 0; the side-by-side test uses instances 7 and 8, so it never disturbs
//! someone using instance 0 on the same machine.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{deploy, is_root, stderr, stdout};

static LAB: Mutex<()> = Mutex::new(());

const PASSWORD: &str = "lab-sudo-password";

/// Instance 0's state directory: `DEPLOY_LAB_DIR` if set, as for the tool itself.
fn lab_dir() -> PathBuf {
    instance_dir(0)
}

/// Other instances always use their default directories, so one `DEPLOY_LAB_DIR` never
/// ends up shared by two instances.
fn instance_dir(instance: u8) -> PathBuf {
    match instance {
        0 => std::env::var_os("DEPLOY_LAB_DIR")
            .map_or_else(|| PathBuf::from("/var/tmp/deploy-lab"), PathBuf::from),
        n => PathBuf::from(format!("/var/tmp/deploy-lab-{n}")),
    }
}

/// `deploy lab` for one instance, named by `DEPLOY_LAB_INSTANCE` (and `DEPLOY_LAB_DIR` for
/// instance 0).
fn lab_command(instance: u8) -> Command {
    let mut command = deploy();
    command
        .arg("lab")
        .env("DEPLOY_LAB_INSTANCE", instance.to_string());
    if instance == 0 {
        command.env("DEPLOY_LAB_DIR", lab_dir());
    } else {
        command.env_remove("DEPLOY_LAB_DIR");
    }
    command
}

fn lab(args: &[&str]) -> Output {
    lab_in(0, args)
}

fn lab_in(instance: u8, args: &[&str]) -> Output {
    lab_command(instance).args(args).output().expect("deploy runs")
}

/// Runs a lab subcommand that must succeed; returns its stdout.
fn lab_ok(args: &[&str]) -> String {
    lab_ok_in(0, args)
}

fn lab_ok_in(instance: u8, args: &[&str]) -> String {
    let output = lab_in(instance, args);
    assert!(
        output.status.success(),
        "deploy lab {args:?} (instance {instance}) failed:\n{}",
        stderr(&output)
    );
    stdout(&output)
}

/// `deploy lab ssh HOST --user USER -- COMMAND`, with `input` on stdin.
fn ssh_with_input(host: &str, user: &str, command: &str, input: &str) -> Output {
    let mut child = lab_command(0)
        .args(["ssh", host, "--user", user, "--", command])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("deploy runs");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn ssh(host: &str, user: &str, command: &str) -> Output {
    ssh_with_input(host, user, command, "")
}

/// Runs `command` as root on `host`; it must succeed; returns its trimmed stdout.
fn ssh_ok(host: &str, command: &str) -> String {
    let output = ssh(host, "root", command);
    assert!(
        output.status.success(),
        "`{command}` on {host} failed:\n{}{}",
        stdout(&output),
        stderr(&output)
    );
    stdout(&output).trim().to_string()
}

fn poll(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn timed<T>(what: &str, step: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let result = step();
    eprintln!("{what}: {:.1}s", started.elapsed().as_secs_f64());
    result
}

fn http_get(address: &str) -> String {
    let mut stream = TcpStream::connect_timeout(&address.parse().unwrap(), Duration::from_secs(5)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(b"GET / HTTP/1.0\r\nHost: h1\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// A minimal package, built the way the project's own test packages are.
fn build_package(dir: &Path) -> PathBuf {
    let root = dir.join("lab-hello");
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(root.join("usr/share/lab-hello")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        "Package: lab-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: deploy <deploy@example.org>\n\
         Description: a package from the lab's local repository\n",
    )
    .unwrap();
    std::fs::write(
        root.join("usr/share/lab-hello/greeting"),
        "hello from the lab repo\n",
    )
    .unwrap();
    let deb = dir.join("lab-hello_1.0_all.deb");
    let status = Command::new("dpkg-deb")
        .arg("--build")
        .arg(&root)
        .arg(&deb)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    deb
}

fn ip_routes(args: &[&str]) -> Vec<String> {
    let routes = Command::new("ip")
        .args(["-4", "route", "show"])
        .args(args)
        .output()
        .unwrap();
    stdout(&routes)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| format!("route {}", line.trim()))
        .collect()
}

/// Everything of one lab instance still on the machine; empty when it is down. Other
/// instances' namespaces, mounts, cgroups, bridges, routes and processes are not counted.
fn leftovers(instance: u8) -> Vec<String> {
    let (machine_prefix, netns_prefix, cgroup, bridge) = match instance {
        0 => (
            "h".to_string(),
            "lab-h".to_string(),
            "deploy-lab".to_string(),
            "labbr0".to_string(),
        ),
        n => (
            format!("lab{n}-h"),
            format!("lab{n}-h"),
            format!("deploy-lab-{n}"),
            format!("labbr{n}"),
        ),
    };
    let is_machine = |name: &str| {
        name.strip_prefix(&machine_prefix)
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/run/netns").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&netns_prefix) {
            found.push(format!("netns {name}"));
        }
    }
    let dir = format!("{}/", instance_dir(instance).display());
    let propagate = format!("nspawn/propagate/{machine_prefix}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    found.extend(
        mounts
            .lines()
            // The mount point only: every instance's hosts name instance 0's base image
            // cache as their overlay's lower directory.
            .filter(|line| {
                let point = line.split(' ').nth(4).unwrap_or("");
                point.starts_with(&dir) || point.contains(&propagate)
            })
            .map(String::from),
    );
    for root in ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"] {
        if Path::new(root).join(&cgroup).exists() {
            found.push(format!("cgroup {root}/{cgroup}"));
        }
    }
    if Path::new("/sys/class/net").join(&bridge).exists() {
        found.push(format!("bridge {bridge}"));
    }
    let subnet = format!("10.213.{instance}.0/24");
    found.extend(ip_routes(&["table", "all", "root", &subnet]));
    if instance == 0 {
        found.extend(ip_routes(&["table", "all", "10.213.0.0/16"]));
    }
    let supervisor = format!("deploy-lab-supervisor-{machine_prefix}");
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        // Zombies have an empty command line; only live processes count.
        if cmdline.contains(&dir) || cmdline.contains(&supervisor) {
            found.push(format!(
                "process {}: {cmdline}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    for entry in std::fs::read_dir("/run/systemd/nspawn/propagate")
        .into_iter()
        .flatten()
        .flatten()
    {
        if is_machine(&entry.file_name().to_string_lossy()) {
            found.push(format!("{}", entry.path().display()));
        }
    }
    found
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn lab_lifecycle_over_ssh() {
    common::require_lab();
    let _lab = LAB.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    lab_ok(&["down"]);
    timed("base (built or cached)", || lab_ok(&["base"]));

    // Someone else routing part of the subnet: the lab refuses to start and creates nothing.
    // (10.213.200.0/24 is inside instance 0's guarded /16 but no lab instance's own /24.)
    let add = Command::new("ip")
        .args(["route", "add", "blackhole", "10.213.200.0/24"])
        .status()
        .unwrap();
    assert!(add.success());
    let refused = lab(&["up", "1"]);
    Command::new("ip")
        .args(["route", "del", "blackhole", "10.213.200.0/24"])
        .status()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("already routed"),
        "{}",
        stderr(&refused)
    );
    assert!(leftovers(0).is_empty(), "{:?}", leftovers(0));

    timed("up 3", || lab_ok(&["up", "3"]));
    let hosts = ["h1", "h2", "h3"];
    for host in hosts {
        assert_eq!(ssh_ok(host, "whoami"), "root");
        let deploy = ssh(host, "deploy", "sudo -n whoami");
        assert!(deploy.status.success(), "{}", stderr(&deploy));
        assert_eq!(stdout(&deploy).trim(), "root");
        let refused = ssh(host, "deploypw", "sudo -n true");
        assert!(
            !refused.status.success(),
            "deploypw's sudo must need a password on {host}"
        );
        let with_password = ssh_with_input(host, "deploypw", "sudo -S whoami", &format!("{PASSWORD}\n"));
        assert!(with_password.status.success(), "{}", stderr(&with_password));
        assert_eq!(stdout(&with_password).trim(), "root");
    }
    let password_file = std::fs::read_to_string(lab_dir().join("deploypw.password")).unwrap();
    assert_eq!(password_file.trim(), PASSWORD);
    let status = lab_ok(&["status"]);
    assert!(status.contains("h3    10.213.0.13   up"), "{status}");

    // Independent hosts: own name, own machine-id, own disk; every name resolves everywhere.
    assert_eq!(ssh_ok("h2", "hostname"), "h2");
    let ids: Vec<String> = hosts
        .iter()
        .map(|host| ssh_ok(host, "cat /etc/machine-id"))
        .collect();
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{ids:?}"
    );
    ssh_ok("h1", "echo mine > /root/only-on-h1");
    assert!(!ssh("h2", "root", "test -e /root/only-on-h1").status.success());
    assert!(ssh_ok("h3", "getent hosts h1").starts_with("10.213.0.11 "));

    // apt through the proxy, a service, reachable from the machine, and back after a reboot.
    timed("nginx install on h1", || {
        ssh_ok("h1", "DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >/dev/null 2>&1 || apt-get install -y nginx")
    });
    assert_eq!(ssh_ok("h1", "systemctl is-active nginx"), "active");
    assert!(http_get("10.213.0.11:80").contains("Welcome to nginx"));
    let boot_id = ssh_ok("h1", "cat /proc/sys/kernel/random/boot_id");
    let _ = ssh("h1", "root", "systemctl reboot");
    timed("reboot of h1", || {
        poll("h1 to come back after a reboot", Duration::from_secs(60), || {
            let output = ssh("h1", "root", "cat /proc/sys/kernel/random/boot_id");
            output.status.success() && stdout(&output).trim() != boot_id
        });
        poll("nginx on h1 after the reboot", Duration::from_secs(30), || {
            stdout(&ssh("h1", "root", "systemctl is-active nginx")).trim() == "active"
        });
    });
    assert_eq!(
        ssh_ok("h1", "cat /root/only-on-h1"),
        "mine",
        "a reboot keeps the disk"
    );
    assert!(http_get("10.213.0.11:80").contains("Welcome to nginx"));

    // The local repository.
    let temp = tempfile::tempdir().unwrap();
    let deb = build_package(temp.path());
    lab_ok(&["repo", "add", deb.to_str().unwrap()]);
    ssh_ok("h2", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q lab-hello >/dev/null 2>&1");
    assert_eq!(
        ssh_ok("h2", "cat /usr/share/lab-hello/greeting"),
        "hello from the lab repo"
    );

    // The inventory.
    let path = lab_ok(&["inventory", "--user", "deploypw"]);
    let path = Path::new(path.trim());
    let text = std::fs::read_to_string(path).unwrap();
    let inventory = deploy::yaml::parse_str(&text, path).unwrap().to_value();
    let lab_hosts = &inventory["all"]["children"]["lab"]["hosts"];
    assert_eq!(
        lab_hosts.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["h1", "h2", "h3"]
    );
    let h2 = &lab_hosts["h2"];
    assert_eq!(h2["ansible_host"], "10.213.0.12");
    assert_eq!(h2["ansible_user"], "deploypw");
    assert_eq!(h2["ansible_become_password"], PASSWORD);
    assert_eq!(
        h2["ansible_ssh_private_key_file"],
        lab_dir().join("ssh/id_ed25519").display().to_string()
    );
    let common_args = h2["ansible_ssh_common_args"].as_str().unwrap();
    assert!(common_args.contains(&format!(
        "UserKnownHostsFile={}",
        lab_dir().join("ssh/known_hosts").display()
    )));
    assert!(common_args.contains("-o StrictHostKeyChecking=yes"));
    let root_inventory = lab_ok(&["inventory"]);
    let root_text = std::fs::read_to_string(root_inventory.trim()).unwrap();
    assert!(root_text.contains("ansible_user: \"root\"") && !root_text.contains("ansible_become_password"));
    {
        let playbook = common::oracle("ansible-playbook");
        std::fs::write(
            temp.path().join("become.yml"),
            "- hosts: lab\n  gather_facts: false\n  tasks:\n    - command: whoami\n      become: true\n      register: who\n    \
             - assert:\n        that: who.stdout == 'root'\n",
        )
        .unwrap();
        let output = Command::new(playbook)
            .arg("-i")
            .arg(path)
            .arg(temp.path().join("become.yml"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "ansible-playbook with the lab inventory failed:\n{}",
            stdout(&output)
        );
    }

    // Down removes everything, twice is fine, and known_hosts stays valid for the next up.
    timed("down", || lab_ok(&["down"]));
    assert_eq!(leftovers(0), Vec::<String>::new());
    lab_ok(&["down"]);
    timed("up 3 (base cached)", || lab_ok(&["up", "3"]));
    assert!(
        !ssh("h1", "root", "test -e /root/only-on-h1").status.success(),
        "a new up starts from the base"
    );
    lab_ok(&["down"]);
    assert_eq!(leftovers(0), Vec::<String>::new());
}

/// `deploy lab ssh --instance N HOST -- COMMAND` as root. The flag, not the environment
/// (which names instance 0 here), picks the instance.
fn ssh_in(instance: u8, host: &str, command: &str) -> Output {
    deploy()
        .env("DEPLOY_LAB_INSTANCE", "0")
        .env_remove("DEPLOY_LAB_DIR")
        .args([
            "lab",
            "ssh",
            "--instance",
            &instance.to_string(),
            host,
            "--",
            command,
        ])
        .stdin(Stdio::null())
        .output()
        .expect("deploy runs")
}

fn ssh_ok_in(instance: u8, host: &str, command: &str) -> String {
    let output = ssh_in(instance, host, command);
    assert!(
        output.status.success(),
        "`{command}` on {host} of instance {instance} failed:\n{}{}",
        stdout(&output),
        stderr(&output)
    );
    stdout(&output).trim().to_string()
}

/// Two lab instances side by side: both answer, each has its own subnet, neither reaches the
/// other, and taking one down leaves the other as it was.
#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn lab_instances_run_side_by_side() {
    common::require_lab();
    let _lab = LAB.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (first, second) = (7, 8);
    lab_ok_in(first, &["down"]);
    lab_ok_in(second, &["down"]);

    // Started at the same moment: each takes its own lock; the base is built at most once.
    timed("up 1 and up 2 at once", || {
        std::thread::scope(|scope| {
            let one = scope.spawn(|| lab_ok_in(first, &["up", "1"]));
            let two = scope.spawn(|| lab_ok_in(second, &["up", "2"]));
            one.join().unwrap();
            two.join().unwrap();
        })
    });
    assert_eq!(ssh_ok_in(first, "h1", "whoami"), "root");
    for host in ["h1", "h2"] {
        assert_eq!(ssh_ok_in(second, host, "hostname"), host);
    }
    assert_eq!(ssh_ok_in(first, "h1", "hostname"), "h1");
    assert_eq!(
        ssh_ok_in(second, "h1", "ip -4 -o addr show dev eth0 | awk '{print $4}'"),
        "10.213.8.11/24"
    );
    assert!(ssh_ok_in(second, "h1", "getent hosts h2").starts_with("10.213.8.12 "));
    let status = lab_ok_in(second, &["status"]);
    assert!(status.contains("h1    10.213.8.11   up"), "{status}");
    assert!(status.contains("h2    10.213.8.12   up"), "{status}");
    let inventory = lab_ok_in(second, &["inventory"]);
    assert_eq!(inventory.trim(), "/var/tmp/deploy-lab-8/inventory.yml");
    let text = std::fs::read_to_string(inventory.trim()).unwrap();
    assert!(text.contains("ansible_host: \"10.213.8.11\""), "{text}");
    assert!(text.contains("/var/tmp/deploy-lab-8/ssh/known_hosts"), "{text}");

    // ping comes through the second instance's own proxy (port 3143+8 on 10.213.8.1); the
    // gateway answers it, the first instance's host is not reachable at all.
    timed("iputils-ping install", || {
        ssh_ok_in(
            second,
            "h1",
            "DEBIAN_FRONTEND=noninteractive apt-get install -y -q iputils-ping >/dev/null 2>&1 \
             || apt-get install -y iputils-ping",
        )
    });
    ssh_ok_in(second, "h1", "ping -c1 -W1 10.213.8.1");
    ssh_ok_in(second, "h1", "ping -c1 -W1 10.213.8.12");
    let crossing = ssh_in(second, "h1", "ping -c1 -W1 10.213.7.11");
    assert!(
        !crossing.status.success(),
        "instance 8's h1 reached instance 7's h1:\n{}",
        stdout(&crossing)
    );

    // Down of the second leaves the first running, the same boot, its disk and network intact.
    let boot_id = ssh_ok_in(first, "h1", "cat /proc/sys/kernel/random/boot_id");
    ssh_ok_in(first, "h1", "echo kept > /root/still-here");
    timed("down of instance 8", || lab_ok_in(second, &["down"]));
    assert_eq!(leftovers(second), Vec::<String>::new());
    assert_eq!(
        ssh_ok_in(first, "h1", "cat /proc/sys/kernel/random/boot_id"),
        boot_id
    );
    assert_eq!(ssh_ok_in(first, "h1", "cat /root/still-here"), "kept");
    let first_status = lab_ok_in(first, &["status"]);
    assert!(first_status.contains("h1    10.213.7.11   up"), "{first_status}");
    let first_left = leftovers(first);
    for expected in [
        "netns lab7-h1",
        "bridge labbr7",
        "cgroup /sys/fs/cgroup/unified/deploy-lab-7",
        "route unreachable 10.213.7.0/24 metric 4000",
    ] {
        assert!(
            first_left.iter().any(|item| item == expected),
            "instance 7 lost {expected}: {first_left:?}"
        );
    }

    lab_ok_in(first, &["down"]);
    assert_eq!(leftovers(first), Vec::<String>::new());
}

/// Runs `deploy lab ARGS` against a fresh lab directory and checks the one-line error.
fn assert_refused(mut command: Command, expected: &str, dir: &Path) {
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stderr(&output), format!("error: {expected}\n"));
    assert!(!dir.exists(), "a refused command must create nothing");
}

#[test]
fn bad_input_is_refused_before_anything_is_created() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("lab");
    let up = |count: &str| {
        let mut command = deploy();
        command.args(["lab", "up", count, "--lab-dir"]).arg(&dir);
        command
    };
    assert_refused(
        up("0"),
        "the number of lab hosts must be between 1 and 200, not 0",
        &dir,
    );
    assert_refused(
        up("500"),
        "the number of lab hosts must be between 1 and 200, not 500",
        &dir,
    );
    if !is_root() {
        return;
    }
    let mut not_root = Command::new("setpriv");
    not_root.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
    not_root
        .arg(env!("CARGO_BIN_EXE_deploy"))
        .args(["lab", "up", "1", "--lab-dir"])
        .arg(&dir);
    assert_refused(
        not_root,
        "deploy lab up must run as root: it creates network namespaces, mounts and cgroups",
        &dir,
    );

    // A PATH holding every tool but systemd-nspawn.
    let bin = temp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for tool in [
        "apt-cacher-ng",
        "dpkg-scanpackages",
        "ip",
        "ssh",
        "ssh-keygen",
        "sysctl",
        "debootstrap",
        "chroot",
    ] {
        if let Some(found) = common::which(tool) {
            std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
        }
    }
    let mut missing = up("1");
    missing.env("PATH", &bin);
    assert_refused(
        missing,
        "systemd-nspawn not found; install the Debian package `systemd-container`",
        &dir,
    );
}
