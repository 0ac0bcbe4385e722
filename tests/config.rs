//! `ansible.cfg` read as Ansible reads it: the same files and environment given to
//! `ansible-config dump` and to deploy's reader give the same values for every setting deploy
//! takes, and a file Ansible refuses deploy refuses too.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as Json;

/// deploy's field name → Ansible's setting name.
const NAMES: &[(&str, &str)] = &[
    ("file", "CONFIG_FILE"),
    ("inventory", "DEFAULT_HOST_LIST"),
    ("roles_path", "DEFAULT_ROLES_PATH"),
    ("remote_user", "DEFAULT_REMOTE_USER"),
    ("private_key_file", "DEFAULT_PRIVATE_KEY_FILE"),
    ("forks", "DEFAULT_FORKS"),
    ("host_key_checking", "HOST_KEY_CHECKING"),
    ("timeout", "DEFAULT_TIMEOUT"),
    ("vault_password_file", "DEFAULT_VAULT_PASSWORD_FILE"),
    ("vault_identity_list", "DEFAULT_VAULT_IDENTITY_LIST"),
    ("become_", "DEFAULT_BECOME"),
    ("become_method", "DEFAULT_BECOME_METHOD"),
    ("become_user", "DEFAULT_BECOME_USER"),
    ("become_ask_pass", "DEFAULT_BECOME_ASK_PASS"),
];

struct Case {
    /// Files to write, relative to the project directory.
    files: &'static [(&'static str, &'static str)],
    /// Environment variables; `{dir}` is replaced by the project directory.
    env: &'static [(&'static str, &'static str)],
}

/// The settings deploy takes that Ansible reports as set (not defaults), by Ansible's names.
fn ansible_settings(dir: &Path, env: &BTreeMap<String, String>) -> Read {
    let output = std::process::Command::new(common::oracle("ansible-config"))
        .current_dir(dir)
        .env_clear()
        .envs(env)
        .args(["dump", "--only-changed", "--format", "json"])
        .output()
        .unwrap();
    if !output.status.success() {
        return Err(common::stderr(&output));
    }
    let dump: Vec<Json> = serde_json::from_slice(&output.stdout).unwrap();
    Ok(dump
        .into_iter()
        .filter(|entry| NAMES.iter().any(|(_, name)| entry["name"] == *name) && !entry["value"].is_null())
        .map(|entry| {
            (
                entry["name"].as_str().unwrap().to_string(),
                entry["value"].clone(),
            )
        })
        .collect())
}

fn deploy_settings(dir: &Path, env: &BTreeMap<String, String>) -> Read {
    let environment = deploy::config::Environment {
        vars: env.clone().into_iter().collect(),
        cwd: dir.to_path_buf(),
    };
    let settings = deploy::config::load(&environment).map_err(|e| format!("{e:#}"))?;
    let Json::Object(fields) = serde_json::to_value(&settings).unwrap() else {
        panic!("settings serialize as a map");
    };
    Ok(fields
        .into_iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(field, value)| {
            let name = NAMES
                .iter()
                .find(|(f, _)| *f == field)
                .expect("every field is named")
                .1;
            (name.to_string(), value)
        })
        .collect())
}

/// Settings by Ansible's names, or the error that refused the file.
type Read = Result<BTreeMap<String, Json>, String>;

/// What Ansible reads, what deploy reads, and the project directory.
fn run(case: &Case) -> (Read, Read, String) {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().canonicalize().unwrap();
    for (path, text) in case.files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let mut env = BTreeMap::new();
    env.insert("PATH".to_string(), std::env::var("PATH").unwrap_or_default());
    env.insert("HOME".to_string(), dir.join("home").display().to_string());
    env.insert(
        "ANSIBLE_HOME".to_string(),
        dir.join(".ansible").display().to_string(),
    );
    for (name, value) in case.env {
        env.insert(
            name.to_string(),
            value.replace("{dir}", &dir.display().to_string()),
        );
    }
    let ansible = ansible_settings(&dir, &env);
    let deploy = deploy_settings(&dir, &env);
    (ansible, deploy, dir.display().to_string())
}

const FULL: &str = "\
# The project's settings
[defaults]
inventory = hosts, ../shared/inventory ; the fleet
roles_path = roles:~/roles:/opt/roles
Remote_User: \"deploy\"
private_key_file = keys/id_ed25519
forks = 8
host_key_checking = False
timeout = 30.0
vault_password_file = ~/.vault_pass
vault_identity_list = prod@~/.prod_pass, dev@prompt
gathering = smart
callbacks_enabled = profile_tasks

[privilege_escalation]
become = yes
become_method = su
become_user = app
become_ask_pass = true

[ssh_connection]
ssh_args = -o ControlMaster=auto -o ControlPersist=60s
pipelining = True
";

const QUIRKS: &str = "\
[DEFAULT]
remote_user = everyone
become_user = 'quoted'

[defaults]
inventory =
    first,

    second , third
private_key_file = %%literal;not a comment # nor this
timeout: 5 ;a comment
forks = 2.0
HOST_KEY_CHECKING = nope

[privilege_escalation]
become = On
";

#[test]
fn settings_match_ansible_config() {
    let cases = [
        Case {
            files: &[("ansible.cfg", FULL)],
            env: &[],
        },
        Case {
            files: &[("ansible.cfg", QUIRKS)],
            env: &[],
        },
        // The environment beats the file; its relative paths are relative to the current
        // directory; an empty number means the default.
        Case {
            files: &[("ansible.cfg", FULL)],
            env: &[
                ("ANSIBLE_INVENTORY", "inv/a,inv/b"),
                ("ANSIBLE_ROLES_PATH", "r1:$HOME/r2"),
                ("ANSIBLE_FORKS", ""),
                ("ANSIBLE_TIMEOUT", "7"),
                ("ANSIBLE_REMOTE_USER", "'ops'"),
                ("ANSIBLE_HOST_KEY_CHECKING", "1"),
                ("ANSIBLE_BECOME", "false"),
                ("ANSIBLE_BECOME_USER", "postgres"),
                ("ANSIBLE_PRIVATE_KEY_FILE", "k"),
                ("ANSIBLE_VAULT_PASSWORD_FILE", "/v"),
            ],
        },
        // ANSIBLE_CONFIG names a file, or a directory holding ansible.cfg, before ./ansible.cfg.
        Case {
            files: &[("ansible.cfg", FULL), ("etc/custom.cfg", QUIRKS)],
            env: &[("ANSIBLE_CONFIG", "{dir}/etc/custom.cfg")],
        },
        Case {
            files: &[("ansible.cfg", FULL), ("etc/ansible.cfg", QUIRKS)],
            env: &[("ANSIBLE_CONFIG", "{dir}/etc")],
        },
        // ~/.ansible.cfg when the project has none.
        Case {
            files: &[("home/.ansible.cfg", QUIRKS)],
            env: &[],
        },
        // No file at all.
        Case {
            files: &[],
            env: &[("ANSIBLE_FORKS", "3"), ("ANSIBLE_BECOME_ASK_PASS", "yes")],
        },
    ];
    for (number, case) in cases.iter().enumerate() {
        let (ansible, deploy, dir) = run(case);
        let ansible = ansible.unwrap_or_else(|err| panic!("case {number}: ansible-config failed: {err}"));
        assert!(
            ansible.len() > 1 || case.files.is_empty(),
            "case {number}: {ansible:?}"
        );
        assert_eq!(deploy, Ok(ansible), "case {number} in {dir}");
    }
}

#[test]
fn files_ansible_refuses_are_refused_with_their_line() {
    let cases: [(&str, &str); 4] = [
        (
            "[defaults]\nforks = 5\n\nnot a setting\n",
            "ansible.cfg:4:1: expected `key = value`",
        ),
        (
            "remote_user = x\n[defaults]\n",
            "ansible.cfg:1:1: a setting before any [section]",
        ),
        (
            "[defaults]\nforks = 5\nForks = 6\n",
            "ansible.cfg:3:1: `forks` is set twice",
        ),
        (
            "[defaults]\nforks = many\n",
            "ansible.cfg:2:1: forks must be a whole number, found `many`",
        ),
    ];
    for (text, expected) in cases {
        let files: &'static [(&'static str, &'static str)] =
            Box::leak(vec![("ansible.cfg", text)].into_boxed_slice());
        let (ansible, deploy, dir) = run(&Case { files, env: &[] });
        let refused = match ansible {
            Err(_) => true,
            // ansible-config reports a setting it cannot convert in place of its value.
            Ok(settings) => !settings.contains_key("DEFAULT_FORKS"),
        };
        assert!(refused, "ansible-config accepted {text:?}");
        let err = deploy.expect_err(text);
        assert!(
            err.starts_with(&format!("{dir}/{expected}")),
            "for {text:?}: {err}"
        );
    }
}

#[test]
fn an_inventory_from_ansible_cfg_makes_dash_i_optional() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("inventory")).unwrap();
    std::fs::write(
        dir.path().join("inventory/hosts"),
        "[web]\nweb1 ansible_connection=local\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("ansible.cfg"),
        "[defaults]\ninventory = inventory/hosts\nremote_user = deployer\n",
    )
    .unwrap();
    let deploy = common::deploy()
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .args(["inventory", "--list"])
        .output()
        .unwrap();
    assert!(deploy.status.success(), "{}", common::stderr(&deploy));
    let ansible = std::process::Command::new(common::oracle("ansible-inventory"))
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env("ANSIBLE_HOME", dir.path().join(".ansible"))
        .arg("--list")
        .output()
        .unwrap();
    assert!(ansible.status.success(), "{}", common::stderr(&ansible));
    let parse = |bytes: &[u8]| serde_json::from_slice::<Json>(bytes).unwrap();
    assert_eq!(parse(&deploy.stdout), parse(&ansible.stdout));
    assert!(parse(&deploy.stdout)["web"]["hosts"] == serde_json::json!(["web1"]));
}

#[test]
fn roles_path_from_ansible_cfg_finds_roles_as_ansible_does() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "ansible.cfg",
            "[defaults]\ninventory = inventory/hosts\nroles_path = ../elsewhere/roles:shared\n",
        ),
        ("inventory/hosts", "local1 ansible_connection=local\n"),
        (
            "shared/greet/tasks/main.yml",
            "- copy:\n    content: \"{{ greeting }} from {{ role_name }}\\n\"\n    dest: \"{{ out }}\"\n",
        ),
        ("shared/greet/defaults/main.yml", "greeting: hello\n"),
        (
            "project/site.yml",
            "- hosts: all\n  gather_facts: false\n  roles: [greet]\n",
        ),
    ];
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let deployed = dir.path().join("deployed");
    let apply = common::deploy()
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .args(["apply", "project/site.yml", "-e"])
        .arg(format!("out={}", deployed.display()))
        .output()
        .unwrap();
    assert_eq!(apply.status.code(), Some(0), "{}", common::stderr(&apply));
    let by_ansible = dir.path().join("by-ansible");
    let python = common::oracle_venv().join("bin/python3");
    let ansible = std::process::Command::new(common::oracle("ansible-playbook"))
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env("ANSIBLE_HOME", dir.path().join(".ansible"))
        .args(["project/site.yml", "-e"])
        .arg(format!(
            "out={} ansible_python_interpreter={}",
            by_ansible.display(),
            python.display()
        ))
        .output()
        .unwrap();
    assert!(ansible.status.success(), "{}", common::stdout(&ansible));
    let expected = std::fs::read_to_string(&by_ansible).unwrap();
    assert_eq!(expected, "hello from greet\n");
    assert_eq!(std::fs::read_to_string(&deployed).unwrap(), expected);
}
