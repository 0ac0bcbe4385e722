//! Variable precedence across every level, against Ansible as the oracle: the same playbook
//! (a role with defaults and vars, group_vars for a parent and a child group, host_vars, inline
//! host vars, play vars, vars_files, block and task vars, set_fact, extra vars) is run by
//! `ansible-playbook` and by `deploy` on this machine (`ansible_connection: local`), each writing
//! the values it resolved to a file; the two files must be identical.

mod common;

#[test]
fn every_level_resolves_as_in_ansible() {
    let ansible_playbook = common::oracle("ansible-playbook");
    let fixture = common::project_root().join("tests/fixtures/precedence");
    let out = tempfile::tempdir().unwrap();
    let ansible_out = out.path().join("ansible.json");
    let deploy_out = out.path().join("deploy.json");
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("ansible.cfg");
    std::fs::write(&config, "[defaults]\n").unwrap();
    let ansible = std::process::Command::new(ansible_playbook)
        .current_dir(&fixture)
        .env("ANSIBLE_CONFIG", &config)
        .env("ANSIBLE_HOME", home.path())
        .env(
            "ANSIBLE_PYTHON_INTERPRETER",
            common::oracle_venv().join("bin/python"),
        )
        .args(["-i", "hosts", "site.yml", "-e"])
        .arg(format!("v_extra=extra_vars out={}", ansible_out.display()))
        .output()
        .unwrap();
    assert!(ansible.status.success(), "{}", common::stdout(&ansible));
    let deploy = common::deploy()
        .current_dir(&fixture)
        .args(["apply", "-i", "hosts", "site.yml", "-e"])
        .arg(format!("v_extra=extra_vars out={}", deploy_out.display()))
        .output()
        .unwrap();
    assert!(
        deploy.status.success(),
        "{}{}",
        common::stdout(&deploy),
        common::stderr(&deploy)
    );
    let parse = |path: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let (expected, got) = (parse(&ansible_out), parse(&deploy_out));
    assert_eq!(got, expected, "deploy and Ansible resolved different values");
    // The fixture means something: every level wins somewhere.
    for level in [
        "role_defaults",
        "group_vars_parents",
        "group_vars_children",
        "host_vars_local1",
        "play_vars",
        "vars_files",
        "role_vars",
        "block_vars",
        "task_vars",
        "set_fact",
        "extra_vars",
    ] {
        assert!(
            expected.as_object().unwrap().values().any(|v| v == level),
            "no name shows {level}: {expected}"
        );
    }
}
