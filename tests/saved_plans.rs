//! Saved plans: what a reviewer approved is what gets applied. Hosts here are this machine
//! (`ansible_connection: local`), each working in its own directory of a temporary tree.

mod common;

use std::path::Path;

fn project(base: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hosts"),
        "local1 ansible_connection=local\nlocal2 ansible_connection=local\n",
    )
    .unwrap();
    let playbook = format!(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: directory\n      file:\n        path: \"{base}/{{{{ inventory_hostname }}}}\"\n        state: directory\n    - name: config\n      copy:\n        content: \"version={{{{ version }}}}\\n\"\n        dest: \"{base}/{{{{ inventory_hostname }}}}/app.conf\"\n",
        base = base.display()
    );
    std::fs::write(dir.path().join("site.yml"), playbook).unwrap();
    dir
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    common::deploy().current_dir(dir).args(args).output().unwrap()
}

#[test]
fn a_saved_plan_applies_exactly_what_was_reviewed() {
    let base = tempfile::tempdir().unwrap();
    let project = project(base.path());
    let dir = project.path();

    let plan = run(
        dir,
        &[
            "plan",
            "-i",
            "hosts",
            "site.yml",
            "-e",
            "version=1",
            "--out",
            "plan.json",
        ],
    );
    assert_eq!(plan.status.code(), Some(2), "{}", common::stderr(&plan));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("plan.json")).unwrap()).unwrap();
    assert_eq!(saved["deploy_saved_plan"], 1);
    assert!(
        !std::fs::read_to_string(dir.join("plan.json"))
            .unwrap()
            .contains("version=1"),
        "extra vars are not stored"
    );

    // Without the same -e, or with -i, the plan is refused before anything is touched.
    let other = run(dir, &["apply", "plan.json", "-e", "version=2"]);
    assert_eq!(other.status.code(), Some(1));
    assert!(
        common::stderr(&other).contains("other -e arguments"),
        "{}",
        common::stderr(&other)
    );
    assert!(!base.path().join("local1").exists());

    // Applied as planned.
    let apply = run(dir, &["apply", "plan.json", "-e", "version=1"]);
    assert_eq!(
        apply.status.code(),
        Some(0),
        "{}{}",
        common::stdout(&apply),
        common::stderr(&apply)
    );
    assert_eq!(
        std::fs::read_to_string(base.path().join("local1/app.conf")).unwrap(),
        "version=1\n"
    );

    // A new plan; then local2 drifts before the apply: local2 is refused, local1 is applied.
    let plan = run(
        dir,
        &[
            "plan",
            "-i",
            "hosts",
            "site.yml",
            "-e",
            "version=3",
            "--out",
            "plan.json",
        ],
    );
    assert_eq!(plan.status.code(), Some(2));
    std::fs::write(base.path().join("local2/app.conf"), "edited by hand\n").unwrap();
    let apply = run(
        dir,
        &["apply", "plan.json", "-e", "version=3", "--format", "json"],
    );
    assert_eq!(apply.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&common::stdout(&apply)).unwrap();
    let error = json["hosts"][1]["plan"]["error"].as_str().unwrap();
    assert!(
        error.contains("changed since the saved plan") && error.contains("config"),
        "{error}"
    );
    assert!(json["hosts"][0]["plan"]["error"].is_null());
    assert_eq!(
        std::fs::read_to_string(base.path().join("local1/app.conf")).unwrap(),
        "version=3\n"
    );
    assert_eq!(
        std::fs::read_to_string(base.path().join("local2/app.conf")).unwrap(),
        "edited by hand\n"
    );

    // Changed input files refuse the whole plan.
    let plan = run(
        dir,
        &[
            "plan",
            "-i",
            "hosts",
            "site.yml",
            "-e",
            "version=4",
            "--out",
            "plan.json",
        ],
    );
    assert_eq!(plan.status.code(), Some(2));
    std::fs::write(dir.join("hosts"), "local1 ansible_connection=local\n").unwrap();
    let apply = run(dir, &["apply", "plan.json", "-e", "version=4"]);
    assert_eq!(apply.status.code(), Some(1));
    assert!(
        common::stderr(&apply).contains("files changed since"),
        "{}",
        common::stderr(&apply)
    );
    assert_eq!(
        std::fs::read_to_string(base.path().join("local1/app.conf")).unwrap(),
        "version=3\n"
    );
}
