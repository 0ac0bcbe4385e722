//! Differential test of host facts: Ansible's own `setup` module and `deploy`'s facts
//! snippet run on this machine, with the same environment, and every fact `deploy` gives
//! compared with Ansible's value.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::{Map, Value};

/// The environment both sides run with, so that `ansible_env` can be compared and the
/// python found on `PATH` is the oracle's interpreter (the one Ansible reports).
fn controlled(command: &mut Command, home: &Path) {
    let venv = common::oracle_venv();
    command
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                venv.join("bin").display()
            ),
        )
        .env("HOME", std::env::var_os("HOME").unwrap_or_else(|| "/".into()))
        .env("LANG", "C.UTF-8")
        .env("DEPLOY_FACTS_TEST", "a value\nover two lines")
        .env("ANSIBLE_HOME", home.join("ansible-home"))
        .env("ANSIBLE_LOCALHOST_WARNING", "False")
        .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "False")
        .env("ANSIBLE_NOCOLOR", "1")
        .current_dir(home);
}

fn ansible_facts(home: &Path) -> Map<String, Value> {
    let venv = common::oracle_venv();
    let mut command = Command::new(common::oracle("ansible"));
    controlled(&mut command, home);
    let output = command
        .args(["localhost", "-c", "local", "-m", "setup", "-e"])
        .arg(format!(
            "ansible_python_interpreter={}",
            venv.join("bin/python3").display()
        ))
        .output()
        .expect("ansible runs");
    let stdout = common::stdout(&output);
    assert!(
        output.status.success(),
        "ansible setup failed:\n{stdout}\n{}",
        common::stderr(&output)
    );
    // `localhost | SUCCESS => {...}`
    let json = stdout
        .split_once("=> ")
        .map(|(_, json)| json)
        .expect("ansible prints `host | SUCCESS => {json}`");
    let mut result: Value = serde_json::from_str(json).expect("ansible's result is JSON");
    match result["ansible_facts"].take() {
        Value::Object(facts) => facts,
        other => panic!("no ansible_facts in Ansible's result: {other}"),
    }
}

fn deploy_facts(home: &Path) -> Map<String, Value> {
    let mut command = Command::new("sh");
    controlled(&mut command, home);
    let output = command
        .arg("-c")
        .arg(deploy::facts::script().as_str())
        .output()
        .expect("sh runs");
    assert!(
        output.status.success(),
        "the facts snippet failed: {}",
        common::stderr(&output)
    );
    deploy::facts::parse(&output.stdout).expect("the facts snippet's output parses")
}

/// Facts that move between two runs a second apart, compared by shape (the keys of an
/// object, the type of a value) rather than by value.
fn volatile(path: &str) -> bool {
    const VOLATILE: &[&str] = &[
        // Free memory and the derived used figures change as processes come and go.
        "ansible_memfree_mb",
        "ansible_swapfree_mb",
        "ansible_memory_mb.real.free",
        "ansible_memory_mb.real.used",
        "ansible_memory_mb.nocache.free",
        "ansible_memory_mb.nocache.used",
        "ansible_memory_mb.swap.free",
        "ansible_memory_mb.swap.used",
        "ansible_memory_mb.swap.cached",
        // The clock moves between the two runs.
        "ansible_date_time",
    ];
    // Free space and inodes change as anything on the machine writes files.
    const MOUNT_USAGE: &[&str] = &[
        "size_available",
        "block_available",
        "block_used",
        "inode_available",
        "inode_used",
    ];
    VOLATILE
        .iter()
        .any(|v| path == *v || path.starts_with(&format!("{v}.")))
        || (path.starts_with("ansible_mounts[")
            && MOUNT_USAGE.iter().any(|f| path.ends_with(&format!(".{f}"))))
}

/// What differs between `ours` and Ansible's value at `path`, one line per difference.
fn compare(path: &str, ours: &Value, theirs: Option<&Value>, differences: &mut Vec<String>) {
    let Some(theirs) = theirs else {
        differences.push(format!("{path}: deploy gives {ours}, Ansible has no such fact"));
        return;
    };
    match (ours, theirs) {
        (Value::Object(ours), Value::Object(theirs)) => {
            for (key, value) in ours {
                compare(&format!("{path}.{key}"), value, theirs.get(key), differences);
            }
            for key in theirs.keys().filter(|k| !ours.contains_key(*k)) {
                if !volatile(path) {
                    differences.push(format!("{path}.{key}: Ansible has it, deploy does not"));
                }
            }
        }
        (Value::Array(ours), Value::Array(theirs)) if ours.len() == theirs.len() => {
            for (index, (a, b)) in ours.iter().zip(theirs).enumerate() {
                compare(&format!("{path}[{index}]"), a, Some(b), differences);
            }
        }
        _ if volatile(path) => {
            if std::mem::discriminant(ours) != std::mem::discriminant(theirs) {
                differences.push(format!(
                    "{path}: deploy gives {ours}, Ansible {theirs} (types differ)"
                ));
            }
        }
        _ => {
            if ours != theirs {
                differences.push(format!("{path}: deploy gives {ours}, Ansible {theirs}"));
            }
        }
    }
}

fn compare_facts(ours: &Map<String, Value>, theirs: &Map<String, Value>) -> Vec<String> {
    let mut differences = Vec::new();
    for (key, value) in ours {
        compare(key, value, theirs.get(key), &mut differences);
    }
    differences
}

/// Orders that are not the host's to give, compared sorted: Ansible lists mounts in the
/// order its worker threads finish, and interfaces (so addresses and bridge members) in
/// directory order, which some kernels (gVisor's sysfs) shuffle from one listing to the next.
fn sort_unordered(facts: &mut Map<String, Value>) {
    if let Some(Value::Array(mounts)) = facts.get_mut("ansible_mounts") {
        mounts.sort_by(|a, b| a["mount"].as_str().cmp(&b["mount"].as_str()));
    }
    let sort = |list: &mut Value| {
        if let Value::Array(items) = list {
            items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        }
    };
    for key in [
        "ansible_interfaces",
        "ansible_all_ipv4_addresses",
        "ansible_all_ipv6_addresses",
    ] {
        if let Some(list) = facts.get_mut(key) {
            sort(list);
        }
    }
    for value in facts.values_mut() {
        if let Some(members) = value.get_mut("interfaces") {
            sort(members);
        }
    }
}

/// Keys a shell adds to its children's environment on its own (`_`, the last command run)
/// differ by the process that starts the module, not by the host: the same for both sides
/// once removed.
fn without_shell_keys(facts: &mut Map<String, Value>) {
    if let Some(Value::Object(env)) = facts.get_mut("ansible_env") {
        env.remove("_");
    }
}

#[test]
fn every_fact_deploy_gives_is_ansibles() {
    let home = tempfile::tempdir().expect("a temporary directory");
    let mut differences = Vec::new();
    // Interfaces come and go on a shared machine (test hosts start and stop): an attempt
    // counts only if the host looked the same to deploy before and after Ansible ran.
    for _attempt in 0..3 {
        let mut before = deploy_facts(home.path());
        let mut theirs = ansible_facts(home.path());
        let mut after = deploy_facts(home.path());
        for facts in [&mut before, &mut theirs, &mut after] {
            sort_unordered(facts);
            without_shell_keys(facts);
        }
        differences = compare_facts(&before, &theirs);
        if compare_facts(&before, &after).is_empty() {
            break;
        }
    }
    assert!(
        differences.is_empty(),
        "deploy's facts differ from Ansible's setup module:\n{}",
        differences.join("\n")
    );
}
