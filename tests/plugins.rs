//! A project's own filter and test plugins (`filter_plugins/`, `test_plugins/`, beside the
//! playbook and in a role) render what `ansible-playbook` renders, byte for byte, from the
//! fixture `tests/fixtures/plugins`; a plugin that raises fails the task in both; and a run
//! whose templates use no plugin never starts Python.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

/// The fixture, copied so that both tools see the same files and write nowhere shared.
fn project() -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("project");
    copy_tree(&common::project_root().join("tests/fixtures/plugins"), &dir);
    std::fs::write(dir.join("hosts"), "local1 ansible_connection=local\n").unwrap();
    (temp, dir)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn deploy_apply(dir: &Path, playbook: &str, out: &Path, marker: Option<&Path>) -> Output {
    std::fs::create_dir_all(out).unwrap();
    let mut command = common::deploy();
    command
        .current_dir(dir)
        .env("HOME", dir)
        .args(["apply", "-i", "hosts", playbook, "-e"])
        .arg(format!("out={}", out.display()));
    if let Some(marker) = marker {
        command.env("PLUGIN_MARKER", marker);
    }
    command.output().unwrap()
}

fn ansible_playbook(dir: &Path, playbook: &str, out: &Path) -> Output {
    std::fs::create_dir_all(out).unwrap();
    let python = common::oracle_venv().join("bin/python3");
    std::process::Command::new(common::oracle("ansible-playbook"))
        .current_dir(dir)
        .env("HOME", dir)
        .env("ANSIBLE_HOME", dir.join(".ansible"))
        .env("ANSIBLE_NOCOLOR", "1")
        .args(["-i", "hosts", playbook, "-e"])
        .arg(format!(
            "out={} ansible_python_interpreter={}",
            out.display(),
            python.display()
        ))
        .output()
        .unwrap()
}

#[test]
fn plugin_filters_and_tests_render_as_in_ansible() {
    let (_temp, dir) = project();
    let by_ansible = dir.join("by-ansible");
    let ansible = ansible_playbook(&dir, "site.yml", &by_ansible);
    assert!(ansible.status.success(), "{}", common::stdout(&ansible));
    let deployed = dir.join("deployed");
    let apply = deploy_apply(&dir, "site.yml", &deployed, None);
    assert_eq!(apply.status.code(), Some(0), "{}", common::stderr(&apply));
    for file in ["report.txt", "role.txt"] {
        let expected = std::fs::read_to_string(by_ansible.join(file)).unwrap();
        assert_eq!(
            std::fs::read_to_string(deployed.join(file)).unwrap(),
            expected,
            "{file}"
        );
    }
    // What the comparison covers: the plugin took `to_json` over, and a role's plugin ran.
    let report = std::fs::read_to_string(deployed.join("report.txt")).unwrap();
    assert!(report.contains("taken over: plugin to_json(web1)"), "{report}");
    assert_eq!(
        std::fs::read_to_string(deployed.join("role.txt")).unwrap(),
        "HELLO!!\n"
    );
}

#[test]
fn a_plugin_that_raises_fails_the_task_naming_the_plugin_and_the_task() {
    let (_temp, dir) = project();
    let ansible = ansible_playbook(&dir, "fail.yml", &dir.join("by-ansible"));
    assert!(!ansible.status.success(), "{}", common::stdout(&ansible));
    assert!(common::stdout(&ansible).contains("cannot explode 'boom'"));
    let apply = deploy_apply(&dir, "fail.yml", &dir.join("deployed"), None);
    assert_eq!(apply.status.code(), Some(1));
    let output = format!("{}{}", common::stdout(&apply), common::stderr(&apply));
    let plugin = dir.join("filter_plugins/text.py").canonicalize().unwrap();
    let expected = format!(
        "fail.yml:4:7: invalid operation: filter 'explode' failed: {}:20: ValueError: cannot explode 'boom'",
        plugin.display()
    );
    assert!(output.contains(&expected), "expected {expected}\nin: {output}");
    assert!(!dir.join("deployed/never.txt").exists());
}

#[test]
fn python_never_starts_when_no_template_uses_a_plugin() {
    let (_temp, dir) = project();
    let marker = dir.join("imported");
    let apply = deploy_apply(&dir, "plain.yml", &dir.join("deployed"), Some(&marker));
    assert_eq!(apply.status.code(), Some(0), "{}", common::stderr(&apply));
    assert!(
        !marker.exists(),
        "the plugin helper started for a run that uses no plugin"
    );
    // The same run with a plugin filter does start it: the marker tells.
    let apply = deploy_apply(&dir, "site.yml", &dir.join("deployed"), Some(&marker));
    assert_eq!(apply.status.code(), Some(0), "{}", common::stderr(&apply));
    assert!(marker.exists());
}
