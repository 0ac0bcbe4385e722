//! The compatibility harness on the project's own units (`compat/fixtures/`): each must
//! converge under ansible-playbook and under `deploy`, each tool seeing the other's host as
//! converged, with a no-op re-run of 1 exec. The public corpus is run by hand with the same
//! script (docs/compatibility.md); CI cannot fetch it.

mod common;

use std::process::Command;

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn the_projects_own_units_converge_both_ways_under_both_tools() {
    common::require_lab();
    let ansible = common::oracle("ansible-playbook");
    let venv = ansible.parent().unwrap().parent().unwrap().to_path_buf();
    let root = common::project_root();
    let mut units: Vec<_> = std::fs::read_dir(root.join("compat/fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    units.sort();
    assert!(units.len() >= 2, "compat/fixtures holds the units: {units:?}");
    let out = tempfile::tempdir().unwrap();
    // Two lab instances, each converging half of the units: much of a unit's time is spent
    // waiting on its hosts (apt, ssh), so two at once take little more than one.
    let halves: Vec<Vec<_>> = (0..2)
        .map(|i| units.iter().skip(i).step_by(2).cloned().collect())
        .collect();
    let runs: Vec<_> = halves
        .iter()
        .zip(["9", "6"])
        .enumerate()
        .map(|(i, (half, instance))| {
            let table = out.path().join(format!("compatibility-{i}.md"));
            let child = Command::new(root.join("compat/run"))
                .arg("--deploy")
                .arg(env!("CARGO_BIN_EXE_deploy"))
                .arg("--instance")
                .arg(instance)
                .arg("--out")
                .arg(&table)
                // Ansible's no-op time is for docs/compatibility.md; the checks are the same
                // without it.
                .arg("--no-timing")
                .args(half)
                .env("DEPLOY_ORACLE_VENV", &venv)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("compat/run runs");
            (table, child)
        })
        .collect();
    let mut text = String::new();
    let mut failures = Vec::new();
    for (table, child) in runs {
        let output = child.wait_with_output().expect("compat/run ends");
        let part = std::fs::read_to_string(&table).unwrap_or_default();
        if !output.status.success() {
            failures.push(format!("{part}\n{}", common::stderr(&output)));
        }
        text.push_str(&part);
    }
    assert!(failures.is_empty(), "compat/run failed:\n{}", failures.join("\n"));
    for unit in &units {
        let name = unit.file_name().unwrap().to_str().unwrap();
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_else(|| panic!("no row for {name} in:\n{text}"));
        assert!(row.contains("✅ converges, both ways"), "{row}");
        // deploy's no-op run was timed (and made one exec, or the row would say so).
        assert_eq!(row.matches(" s |").count(), 1, "{row}");
    }
}
