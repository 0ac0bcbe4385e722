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
    let table = out.path().join("compatibility.md");
    let output = Command::new(root.join("compat/run"))
        .arg("--deploy")
        .arg(env!("CARGO_BIN_EXE_deploy"))
        .arg("--instance")
        .arg("9")
        .arg("--out")
        .arg(&table)
        // Ansible's no-op time is for docs/compatibility.md; the checks are the same without it.
        .arg("--no-timing")
        .args(&units)
        .env("DEPLOY_ORACLE_VENV", &venv)
        .output()
        .expect("compat/run runs");
    let text = std::fs::read_to_string(&table).unwrap_or_default();
    assert!(
        output.status.success(),
        "compat/run failed:\n{text}\n{}",
        common::stderr(&output)
    );
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
