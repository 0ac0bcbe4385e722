//! A bad day on lab hosts: unreachable hosts, a changed host key, two runs at once, a run killed
//! at random points, Ctrl-C, and handlers owed by a failed run. Real SSH, real hosts.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

static LAB: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn deploy_in(dir: &Path, inventory: &Path, args: &[&str]) -> Command {
    let mut command = common::deploy();
    command
        .current_dir(dir)
        .arg(args[0])
        .arg("-i")
        .arg(inventory)
        .args(&args[1..]);
    command
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn failures_are_isolated_and_reported() {
    common::require_lab();
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let inventory = common::fresh_lab(3);
    let dir = common::project(
        "- hosts: lab\n  tasks:\n    - copy:\n        content: \"ok\\n\"\n        dest: /tmp/isolated\n",
    );

    // h2 refuses connections: h1 and h3 are done, h2 is reported, well within the timeout.
    // Stopping sshd from inside may end this very session: its exit status says nothing.
    let _ = common::lab_ssh("h2", "systemctl stop ssh.socket ssh.service");
    let started = Instant::now();
    let out = deploy_in(
        dir.path(),
        &inventory,
        &["apply", "site.yml", "--timeout", "5", "--format", "json"],
    )
    .output()
    .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    let hosts = json["hosts"].as_array().unwrap();
    let h2 = hosts.iter().find(|h| h["plan"]["host"] == "h2").unwrap();
    assert_eq!(h2["unreachable"], true, "{h2}");
    for name in ["h1", "h3"] {
        let host = hosts.iter().find(|h| h["plan"]["host"] == name).unwrap();
        assert!(host["plan"]["error"].is_null(), "{host}");
    }
    assert!(elapsed < Duration::from_secs(15), "took {elapsed:?}");
    let retry = std::fs::read_to_string(dir.path().join("site.retry")).unwrap();
    assert_eq!(retry, "h2\n");

    // A changed host key is refused, and said to be a security matter.
    let tampered = dir.path().join("known_hosts");
    let real = std::fs::read_to_string("/var/tmp/deploy-lab/ssh/known_hosts").unwrap();
    let other_key = real
        .lines()
        .find(|l| l.starts_with("h3,"))
        .unwrap()
        .split_once(' ')
        .unwrap()
        .1
        .to_string();
    let forged: String = real
        .lines()
        .map(|l| {
            if l.starts_with("h1,") {
                format!("h1,10.213.0.11 {other_key}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&tampered, forged).unwrap();
    let text = std::fs::read_to_string(&inventory)
        .unwrap()
        .replace("/var/tmp/deploy-lab/ssh/known_hosts", tampered.to_str().unwrap());
    let forged_inventory = dir.path().join("forged.yml");
    std::fs::write(&forged_inventory, text).unwrap();
    let out = deploy_in(
        dir.path(),
        &forged_inventory,
        &["plan", "site.yml", "--limit", "h1"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stdout(&out).contains("host key verification failed (security)"),
        "{}",
        common::stdout(&out)
    );
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn two_runs_never_interleave() {
    common::require_lab();
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let inventory = common::fresh_lab(1);
    let dir = common::project("- hosts: h1\n  tasks:\n    - command: sleep 5\n");
    let mut first = deploy_in(dir.path(), &inventory, &["apply", "site.yml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let second = deploy_in(
        dir.path(),
        &inventory,
        &["apply", "site.yml", "--lock-timeout", "1"],
    )
    .output()
    .unwrap();
    assert_eq!(second.status.code(), Some(1));
    let text = common::stdout(&second);
    assert!(text.contains("the host is locked by deploy apply by"), "{text}");
    assert!(first.wait().unwrap().success());
    // Once the first is done, the lock is free again.
    let third = deploy_in(
        dir.path(),
        &inventory,
        &["plan", "site.yml", "--lock-timeout", "1"],
    )
    .output()
    .unwrap();
    assert_eq!(third.status.code(), Some(2), "{}", common::stdout(&third));
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn killed_runs_leave_every_file_old_or_new() {
    common::require_lab();
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let inventory = common::fresh_lab(1);
    let dir = common::project(
        "- hosts: h1\n  tasks:\n    - file:\n        path: /srv/many\n        state: directory\n    - copy:\n        content: \"{{ version }} {{ item }} {{ filler }}\\n\"\n        dest: \"/srv/many/f{{ item }}\"\n      loop: \"{{ range(50) | list }}\"\n",
    );
    let filler = "x".repeat(20_000);
    let apply = |version: &str| {
        deploy_in(dir.path(), &inventory, &["apply", "site.yml", "-e"])
            .arg(format!(
                "{{\"version\": \"{version}\", \"filler\": \"{filler}\"}}"
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    assert!(apply("v0").wait().unwrap().success());
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 1..=100u32 {
        let version = format!("v{round}");
        let mut child = apply(&version);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(50 + seed % 900));
        let _ = child.kill();
        let _ = child.wait();
        // Every file is a whole old or a whole new version: never empty, never cut.
        let out = common::lab_ssh(
            "h1",
            "for f in /srv/many/f*; do head -c 12 \"$f\" | cut -d' ' -f1; wc -c < \"$f\"; done",
        );
        let text = common::stdout(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 100, "round {round}: {text}");
        for pair in lines.chunks(2) {
            let size: usize = pair[1].trim().parse().unwrap();
            assert!(
                pair[0].starts_with('v'),
                "round {round}: a file without a version: {pair:?}"
            );
            let expected = format!("{} 0 {filler}\n", pair[0]).len();
            assert!(
                size >= expected && size <= expected + 1,
                "round {round}: a cut file ({size} bytes): {pair:?}"
            );
        }
    }
    // The next successful run leaves no temporary file behind.
    assert!(apply("final").wait().unwrap().success());
    let leftovers = common::lab_ssh("h1", "ls -a /srv/many | grep -c deploy-tmp || true");
    assert_eq!(common::stdout(&leftovers).trim(), "0");
}

/// The ssh processes whose command line names `dir` (a run's ControlMasters keep their
/// control sockets under `$XDG_STATE_HOME`, which the test points into `dir`).
fn ssh_processes_of(dir: &Path) -> Vec<String> {
    let needle = dir.display().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
        if line.starts_with("ssh ") && line.contains(&needle) {
            found.push(format!("{}: {line}", entry.file_name().to_string_lossy()));
        }
    }
    found
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn a_second_ctrl_c_leaves_no_ssh_process_behind() {
    common::require_lab();
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let inventory = common::fresh_lab(2);
    let dir = common::project("- hosts: h1:h2\n  gather_facts: false\n  tasks:\n    - command: sleep 10\n");
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let child = deploy_in(dir.path(), &inventory, &["apply", "site.yml"])
        .env("XDG_STATE_HOME", &state)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Both hosts connected (a ControlMaster each) and their step running.
    let deadline = Instant::now() + Duration::from_secs(20);
    while ssh_processes_of(dir.path()).len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(ssh_processes_of(dir.path()).len(), 2, "one master per host");
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..2 {
        // SAFETY: signalling our own child process by its PID.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        std::thread::sleep(Duration::from_millis(300));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", common::stderr(&out));
    // The masters were shut down on the way out, not left to run on their own.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ssh_processes_of(dir.path()).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(ssh_processes_of(dir.path()), Vec::<String>::new());
    // The step cut off goes on on the hosts until it ends, holding their lock: the next
    // test waits for that here, not inside its own timing.
    for host in ["h1", "h2"] {
        let free = common::lab_ssh(host, "flock -w 30 /run/lock/deploy.lock true");
        assert!(free.status.success(), "{}", common::stderr(&free));
    }
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn interrupt_stops_new_steps_and_handlers_are_not_lost() {
    common::require_lab();
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let inventory = common::fresh_lab(1);
    // Ctrl-C once during a long step: the step finishes, the next one never starts.
    let dir = common::project(
        "- hosts: h1\n  tasks:\n    - command: sleep 3\n    - command: sleep 3\n    - copy:\n        content: \"late\\n\"\n        dest: /tmp/after-interrupt\n",
    );
    let child = deploy_in(dir.path(), &inventory, &["apply", "site.yml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: signalling our own child process by its PID.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert!(
        common::stdout(&out).contains("interrupted"),
        "{}",
        common::stdout(&out)
    );
    assert!(
        !common::lab_ssh("h1", "test -e /tmp/after-interrupt")
            .status
            .success(),
        "no step started after Ctrl-C"
    );

    // A run fails after a change notified a handler: the handler runs on the next apply.
    let dir = common::project(
        "- hosts: h1\n  tasks:\n    - copy:\n        content: \"{{ v }}\\n\"\n        dest: /tmp/notifying\n      notify: mark\n    - command: \"{{ 'false' if broken | bool else 'true' }}\"\n  handlers:\n    - name: mark\n      command: touch /tmp/handler-ran\n",
    );
    let failed = deploy_in(
        dir.path(),
        &inventory,
        &["apply", "site.yml", "-e", "v=1 broken=yes"],
    )
    .output()
    .unwrap();
    assert_eq!(failed.status.code(), Some(1));
    assert!(!common::lab_ssh("h1", "test -e /tmp/handler-ran").status.success());
    let plan = deploy_in(
        dir.path(),
        &inventory,
        &["plan", "site.yml", "-e", "v=1 broken=no"],
    )
    .output()
    .unwrap();
    assert!(
        common::stdout(&plan).contains("(notified by a failed earlier run)"),
        "{}",
        common::stdout(&plan)
    );
    let healed = deploy_in(
        dir.path(),
        &inventory,
        &["apply", "site.yml", "-e", "v=1 broken=no"],
    )
    .output()
    .unwrap();
    assert_eq!(healed.status.code(), Some(0), "{}", common::stdout(&healed));
    assert!(
        common::lab_ssh("h1", "test -e /tmp/handler-ran").status.success(),
        "the owed handler ran"
    );
    let after = deploy_in(
        dir.path(),
        &inventory,
        &["plan", "site.yml", "-e", "v=1 broken=no"],
    )
    .output()
    .unwrap();
    assert!(
        !common::stdout(&after).contains("failed earlier run"),
        "{}",
        common::stdout(&after)
    );
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn a_host_killed_mid_run_fails_alone_and_the_retry_file_finishes_it() {
    common::require_lab();
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let inventory = common::lab_up(3);
    for host in ["h1", "h2", "h3"] {
        let _ = common::lab_ssh(
            host,
            "rm -f /tmp/killed-before /tmp/killed-slept /tmp/killed-after",
        );
    }
    let dir = common::project(
        "- hosts: lab\n  tasks:\n    - copy: { dest: /tmp/killed-before, content: \"before\\n\" }\n    \
         - command: sleep 4\n      args: { creates: /tmp/killed-slept }\n    \
         - file: { path: /tmp/killed-slept, state: touch }\n    \
         - copy: { dest: /tmp/killed-after, content: \"after\\n\" }\n",
    );
    let started = Instant::now();
    let run = deploy_in(dir.path(), &inventory, &["apply", "site.yml", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Every host is in the middle of `sleep 4` when h2 loses its power.
    std::thread::sleep(Duration::from_millis(2000));
    let stop = common::run_deploy(["lab", "stop", "h2"]);
    assert!(stop.status.success(), "{}", common::stderr(&stop));
    let out = run.wait_with_output().unwrap();
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hosts = json["hosts"].as_array().unwrap();
    for name in ["h1", "h3"] {
        let host = hosts.iter().find(|h| h["plan"]["host"] == name).unwrap();
        let statuses: Vec<&str> = host["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["changed"; 4], "{name}: {host:#}");
        let after = common::lab_ssh(name, "cat /tmp/killed-after");
        assert_eq!(common::stdout(&after), "after\n");
    }
    let h2 = hosts.iter().find(|h| h["plan"]["host"] == "h2").unwrap();
    let text = h2.to_string();
    assert!(
        h2["unreachable"] == true || text.contains("\"failed\""),
        "h2 is reported as lost: {h2:#}"
    );
    assert!(
        !h2["results"].as_array().unwrap().iter().any(|r| r["step"]["task"]
            .as_str()
            .unwrap_or("")
            .contains("killed-after")
            && r["status"] == "changed"),
        "h2 never got past the sleep: {h2:#}"
    );
    // The connection's end is noticed at once, not after the keepalive gives up.
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    let retry = std::fs::read_to_string(dir.path().join("site.retry")).unwrap();
    assert_eq!(retry, "h2\n");

    // h2 comes back as a fresh host; the retry file reruns only it.
    let _ = common::lab_up(3);
    let rerun = deploy_in(
        dir.path(),
        &inventory,
        &["apply", "site.yml", "--limit", "@site.retry", "--format", "json"],
    )
    .output()
    .unwrap();
    assert_eq!(rerun.status.code(), Some(0), "{}", common::stderr(&rerun));
    let json: serde_json::Value = serde_json::from_slice(&rerun.stdout).unwrap();
    let names: Vec<&str> = json["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["plan"]["host"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["h2"]);
    let after = common::lab_ssh("h2", "cat /tmp/killed-after");
    assert_eq!(common::stdout(&after), "after\n");
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn backups_keep_every_previous_version() {
    common::require_lab();
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let inventory = common::lab_up(1);
    let setup = common::lab_ssh(
        "h1",
        "rm -rf /srv/backup && mkdir -p /srv/backup && printf 'v0\\n' > /srv/backup/app.conf && chmod 0640 /srv/backup/app.conf",
    );
    assert!(setup.status.success(), "{}", common::stderr(&setup));
    // Three changes to one file within the same second: each keeps the version before it.
    let dir = common::project(
        "- hosts: h1\n  tasks:\n    \
         - copy: { dest: /srv/backup/app.conf, content: \"v1\\n\", mode: \"0644\", backup: yes }\n    \
         - copy: { dest: /srv/backup/app.conf, content: \"v2\\n\", backup: yes }\n    \
         - lineinfile: { path: /srv/backup/app.conf, line: v3, backup: yes }\n",
    );
    // Then a rerun of the last task alone, converged: no change, no backup.
    let converged = dir.path().join("again.yml");
    std::fs::write(
        &converged,
        "- hosts: h1\n  tasks:\n    - lineinfile: { path: /srv/backup/app.conf, line: v3, backup: yes }\n",
    )
    .unwrap();
    for (round, playbook) in ["site.yml", "again.yml"].into_iter().enumerate() {
        let out = deploy_in(dir.path(), &inventory, &["apply", playbook])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        let listing = common::lab_ssh(
            "h1",
            "cd /srv/backup && for f in app.conf*; do printf '%s %s ' \"$(stat -c %a \"$f\")\" \"$(tr '\\n' ' ' < \"$f\")\"; echo; done | sort",
        );
        let listing = common::stdout(&listing);
        // The live file, and one backup per change, in order: v0 with its mode, v1, v2.
        assert_eq!(
            listing, "640 v0  \n644 v1  \n644 v2  \n644 v2 v3  \n",
            "round {round}"
        );
        let names = common::stdout(&common::lab_ssh("h1", "ls /srv/backup"));
        assert_eq!(names.lines().count(), 4, "{names}");
        assert!(
            names
                .lines()
                .filter(|n| *n != "app.conf")
                .all(|n| n.starts_with("app.conf.") && n.ends_with('~') && n.contains('@')),
            "{names}"
        );
    }
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn rolling_batches_on_lab_hosts_stop_at_the_failure_threshold() {
    common::require_lab();
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let inventory = common::lab_up(4);
    for host in ["h1", "h2", "h3", "h4"] {
        let _ = common::lab_ssh(host, "rm -rf /srv/rolling");
    }
    // Batches h1 | h2 h3 | h4; h3 breaks, and no failure is tolerated.
    let dir = common::project(
        "- hosts: lab\n  serial: [1, 2, \"100%\"]\n  max_fail_percentage: 0\n  tasks:\n    \
         - file: { path: /srv/rolling, state: directory }\n    \
         - shell: date +%s%N > /srv/rolling/started\n      args: { creates: /srv/rolling/started }\n    \
         - command: \"{{ 'false' if inventory_hostname == 'h3' else 'true' }}\"\n      changed_when: false\n    \
         - copy: { dest: /srv/rolling/release, content: \"2\\n\" }\n      notify: restart app\n  \
         handlers:\n    - name: restart app\n      shell: date +%s%N > /srv/rolling/restarted\n",
    );
    let out = deploy_in(dir.path(), &inventory, &["apply", "site.yml", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json["aborted"]
            .as_str()
            .unwrap_or("")
            .contains("max_fail_percentage"),
        "{json:#}"
    );
    assert_eq!(json["untouched"], serde_json::json!(["h4"]));

    let read = |host: &str, file: &str| {
        common::stdout(&common::lab_ssh(
            host,
            &format!("cat /srv/rolling/{file} 2>/dev/null"),
        ))
    };
    // h1 and h2 are done, handler included; h3 stopped at its failure; h4 never saw a change.
    for host in ["h1", "h2"] {
        assert_eq!(read(host, "release"), "2\n", "{host}");
        assert!(!read(host, "restarted").is_empty(), "{host}'s handler ran");
    }
    assert_eq!(read("h3", "release"), "");
    assert_eq!(read("h3", "restarted"), "");
    let h4 = common::lab_ssh("h4", "test -e /srv/rolling && echo touched || echo untouched");
    assert_eq!(common::stdout(&h4), "untouched\n");
    // The second batch started only once the first had finished, handlers included.
    let time = |host: &str, file: &str| -> u128 { read(host, file).trim().parse().unwrap() };
    assert!(time("h1", "restarted") < time("h2", "started"));
    assert!(time("h1", "restarted") < time("h3", "started"));
    let retry = std::fs::read_to_string(dir.path().join("site.retry")).unwrap();
    assert_eq!(retry, "h3\nh4\n");
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn every_kind_of_unreachable_host_is_named_with_its_reason_within_the_timeout() {
    common::require_lab();
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    common::lab_up(4);
    let dir = common::project(
        "- hosts: all\n  tasks:\n    - copy: { dest: /tmp/unreachable-ok, content: \"ok\\n\" }\n",
    );
    let other_key = dir.path().join("other_key");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other_key)
        .status()
        .unwrap();
    assert!(keygen.success());
    // h2 on a port nothing listens on, h3 with a key it does not know, h4 with no link at all.
    let inventory = dir.path().join("hosts.yml");
    std::fs::write(
        &inventory,
        format!(
            "all:\n  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: /var/tmp/deploy-lab/ssh/id_ed25519\n    \
             ansible_ssh_common_args: \"-o UserKnownHostsFile=/var/tmp/deploy-lab/ssh/known_hosts -o StrictHostKeyChecking=yes\"\n  \
             hosts:\n    h1: {{ansible_host: 10.213.0.11}}\n    wrongport: {{ansible_host: 10.213.0.12, ansible_port: 2222}}\n    \
             badkey: {{ansible_host: 10.213.0.13, ansible_ssh_private_key_file: {}}}\n    down: {{ansible_host: 10.213.0.14}}\n",
            other_key.display()
        ),
    )
    .unwrap();
    let link = |state: &str| {
        Command::new("ip")
            .args(["netns", "exec", "lab-h4", "ip", "link", "set", "eth0", state])
            .status()
            .unwrap()
    };
    let _ = common::lab_ssh("h1", "rm -f /tmp/unreachable-ok");
    assert!(link("down").success());
    let started = Instant::now();
    let out = deploy_in(
        dir.path(),
        &inventory,
        &["apply", "site.yml", "--timeout", "3", "--format", "json"],
    )
    .output()
    .unwrap();
    let elapsed = started.elapsed();
    assert!(link("up").success());
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let host = |name: &str| {
        json["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["plan"]["host"] == name)
            .unwrap()
            .clone()
    };
    assert!(host("h1")["plan"]["error"].is_null());
    assert_eq!(host("h1")["results"][0]["status"], "changed");
    for (name, reason) in [
        ("wrongport", "port 2222: Connection refused"),
        ("badkey", "Permission denied (publickey)"),
        ("down", "Connection timed out"),
    ] {
        let report = host(name);
        assert_eq!(report["unreachable"], true, "{name}: {report:#}");
        let error = report["plan"]["error"].as_str().unwrap();
        assert!(error.contains(reason), "{name}: {error}");
    }
    // The silent host costs its connect timeout, and nobody waits longer than that for it.
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    let retry = std::fs::read_to_string(dir.path().join("site.retry")).unwrap();
    assert_eq!(retry, "wrongport\nbadkey\ndown\n", "in inventory order");
}
