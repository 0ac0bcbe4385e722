//! The engine against real hosts: converge, re-run (nothing to do, one exec per host), check,
//! drift by hand, check again, heal. Runs on lab hosts over real SSH (root needed).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

/// The lab is one machine-wide resource: tests in this file take turns.
static LAB: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn lab_up(hosts: u32) -> PathBuf {
    let up = common::run_deploy(["lab", "up", &hosts.to_string()]);
    assert!(up.status.success(), "lab up: {}", common::stderr(&up));
    let inventory = common::run_deploy(["lab", "inventory"]);
    assert!(inventory.status.success(), "lab inventory: {}", common::stderr(&inventory));
    PathBuf::from(common::stdout(&inventory).trim())
}

fn lab_ssh(host: &str, command: &str) -> Output {
    common::run_deploy(["lab", "ssh", host, "--", command])
}

fn fixture() -> PathBuf {
    common::project_root().join("tests/fixtures/engine")
}

/// Runs `deploy COMMAND -i inventory playbook --format json` from the fixture directory.
fn run_json(command: &str, inventory: &Path, playbook: &str) -> (i32, Value, String) {
    let output = common::deploy()
        .current_dir(fixture())
        .args([command, "-i"])
        .arg(inventory)
        .args([playbook, "--format", "json"])
        .output()
        .expect("deploy runs");
    let stdout = common::stdout(&output);
    let json: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{command}: stdout is not JSON ({e}): {stdout}\nstderr: {}", common::stderr(&output)));
    (output.status.code().unwrap_or(-1), json, common::stderr(&output))
}

fn changed_steps(host: &Value) -> Vec<String> {
    host["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "changed")
        .map(|r| r["step"]["task"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn converge_rerun_check_drift_heal() {
    if !common::lab_possible() {
        return;
    }
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    // The lab's group is `lab`; the fixture's group_vars sit beside the playbook.
    let inventory = lab_up(3);

    let (code, first, stderr) = run_json("apply", &inventory, "converge.yml");
    assert_eq!(code, 0, "first apply failed: {first:#}\n{stderr}");
    for host in first["hosts"].as_array().unwrap() {
        assert!(!changed_steps(host).is_empty(), "a fresh host changes");
    }

    // Nothing left to do: 0 changed, and exactly one remote exec per host.
    let (code, second, stderr) = run_json("apply", &inventory, "converge.yml");
    assert_eq!(code, 0, "second apply failed: {second:#}\n{stderr}");
    for host in second["hosts"].as_array().unwrap() {
        assert_eq!(changed_steps(host), Vec::<String>::new(), "re-run changed something on {}", host["plan"]["host"]);
        assert_eq!(host["execs"], 1, "a no-op run is one exec on {}", host["plan"]["host"]);
    }
    let check = common::deploy()
        .current_dir(fixture())
        .args(["check", "-i"])
        .arg(&inventory)
        .arg("converge.yml")
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", common::stderr(&check));
    assert_eq!(common::stdout(&check), "", "check is silent when converged");

    // Drift by hand on three hosts.
    for (host, command) in [
        ("h1", "echo tampered >> /srv/demo/conf/demo.conf"),
        ("h1", "chmod 0666 /srv/demo/README"),
        ("h2", "systemctl stop demo"),
        ("h2", "userdel bob"),
        ("h3", "apt-get remove -y -q jq >/dev/null 2>&1"),
    ] {
        let out = lab_ssh(host, command);
        assert!(out.status.success(), "{host}: {command}: {}", common::stderr(&out));
    }
    let check = common::deploy()
        .current_dir(fixture())
        .args(["check", "-i"])
        .arg(&inventory)
        .arg("converge.yml")
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(2), "{}", common::stderr(&check));
    let drift = common::stdout(&check);
    let lines: Vec<&str> = drift.lines().collect();
    assert_eq!(lines.len(), 5, "one line per drifted resource:\n{drift}");
    assert!(lines.iter().any(|l| l.starts_with("h1: ~ template /srv/demo/conf/demo.conf")), "{drift}");
    assert!(lines.iter().any(|l| l.starts_with("h1: ~ copy /srv/demo/README") && l.contains("mode 0666 → 0644")), "{drift}");
    assert!(lines.iter().any(|l| l.starts_with("h2: ~ systemd demo")), "{drift}");
    assert!(lines.iter().any(|l| l.starts_with("h2: + user bob")), "{drift}");
    assert!(lines.iter().any(|l| l.starts_with("h3: ~ apt") && l.contains("jq")), "{drift}");

    // Heal: exactly the drifted resources change, and the template's handlers run on h1 only.
    let (code, heal, stderr) = run_json("apply", &inventory, "converge.yml");
    assert_eq!(code, 0, "{heal:#}\n{stderr}");
    let hosts = heal["hosts"].as_array().unwrap();
    let by_name = |name: &str| hosts.iter().find(|h| h["plan"]["host"] == name).unwrap();
    let h1 = changed_steps(by_name("h1"));
    assert!(h1.contains(&"demo configuration".to_string()), "{h1:?}");
    assert!(h1.contains(&"readme".to_string()), "{h1:?}");
    assert!(h1.contains(&"restart demo".to_string()) && h1.contains(&"demo config changed".to_string()), "{h1:?}");
    let h2 = changed_steps(by_name("h2"));
    assert!(h2.contains(&"demo running".to_string()) && h2.contains(&"people".to_string()), "{h2:?}");
    assert!(!h2.contains(&"restart demo".to_string()), "no handler on h2: {h2:?}");
    let h3 = changed_steps(by_name("h3"));
    assert_eq!(h3, ["tools"], "{h3:?}");
    let check = common::deploy()
        .current_dir(fixture())
        .args(["check", "-i"])
        .arg(&inventory)
        .arg("converge.yml")
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", common::stdout(&check));

    // The service really answers.
    let page = lab_ssh("h3", "python3 -c \"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:8090/index.html').read().decode())\"");
    assert_eq!(common::stdout(&page).trim(), "<p>h3</p>");
}
