//! Ansible Vault: what `ansible-vault` writes, `deploy` reads, and the reverse; a wrong
//! password or a damaged file is one error line that names the file, before any host is
//! touched; and on lab hosts a repository whose secrets are in vault files and inline `!vault`
//! values plans and applies, the secrets reaching the hosts and no output.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PASSWORD: &str = "correct horse battery";
const DB_PASSWORD: &str = "S3cret-db-pa55";
const TOKEN: &str = "tok-INLINE-4242";
const KEY_LINE: &str = "KEYLINE-very-secret-material";

fn ansible_vault() -> PathBuf {
    common::oracle("ansible-vault")
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn ok(output: Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        common::stdout(&output),
        common::stderr(&output)
    );
    common::stdout(&output)
}

fn oracle(dir: &Path, args: &[&str]) -> Output {
    Command::new(ansible_vault())
        .args(args)
        .current_dir(dir)
        .env("ANSIBLE_HOME", dir.join(".ansible"))
        .env("ANSIBLE_CONFIG", dir.join("none.cfg"))
        .output()
        .expect("ansible-vault runs")
}

fn deploy_in(dir: &Path, args: &[&str]) -> Output {
    common::deploy()
        .args(args)
        .current_dir(dir)
        .env("ANSIBLE_CONFIG", dir.join("none.cfg"))
        .output()
        .expect("deploy runs")
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("pass"), &format!("{PASSWORD}\n"));
    write(&dir.path().join("prod-pass"), "another one\n");
    dir
}

#[test]
fn deploy_and_ansible_vault_read_what_the_other_wrote() {
    let dir = setup();
    let d = dir.path();
    let plain = "db_password: S3cret\nlist:\n  - a\n";

    // ansible-vault → deploy: a file (1.1), a file under a vault id (1.2), a string.
    write(&d.join("a.yml"), plain);
    ok(
        oracle(d, &["encrypt", "--vault-password-file", "pass", "a.yml"]),
        "ansible-vault encrypt",
    );
    let viewed = ok(
        deploy_in(d, &["vault", "view", "--vault-password-file", "pass", "a.yml"]),
        "deploy vault view",
    );
    assert_eq!(viewed, plain);
    write(&d.join("b.yml"), plain);
    ok(
        oracle(d, &["encrypt", "--vault-id", "prod@prod-pass", "b.yml"]),
        "ansible-vault encrypt --vault-id",
    );
    assert!(std::fs::read_to_string(d.join("b.yml"))
        .unwrap()
        .starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"));
    // The labelled one first, then any other password, as Ansible tries them.
    let viewed = ok(
        deploy_in(
            d,
            &[
                "vault",
                "view",
                "--vault-password-file",
                "pass",
                "--vault-id",
                "prod@prod-pass",
                "b.yml",
            ],
        ),
        "deploy vault view 1.2",
    );
    assert_eq!(viewed, plain);
    ok(
        deploy_in(d, &["vault", "decrypt", "--vault-id", "prod@prod-pass", "b.yml"]),
        "deploy vault decrypt",
    );
    assert_eq!(std::fs::read_to_string(d.join("b.yml")).unwrap(), plain);

    // deploy → ansible-vault: encrypt in place and to --output, rekey, encrypt_string.
    write(&d.join("c.yml"), plain);
    ok(
        deploy_in(d, &["vault", "encrypt", "--vault-password-file", "pass", "c.yml"]),
        "deploy vault encrypt",
    );
    let text = std::fs::read_to_string(d.join("c.yml")).unwrap();
    assert!(text.starts_with("$ANSIBLE_VAULT;1.1;AES256\n") && text.lines().skip(1).all(|l| l.len() <= 80));
    assert_eq!(
        ok(
            oracle(d, &["view", "--vault-password-file", "pass", "c.yml"]),
            "ansible-vault view"
        ),
        plain
    );
    ok(
        deploy_in(
            d,
            &[
                "vault",
                "rekey",
                "--vault-password-file",
                "pass",
                "--new-vault-id",
                "prod@prod-pass",
                "c.yml",
            ],
        ),
        "deploy vault rekey",
    );
    assert_eq!(
        ok(
            oracle(d, &["view", "--vault-id", "prod@prod-pass", "c.yml"]),
            "view after rekey"
        ),
        plain
    );
    assert!(!oracle(d, &["view", "--vault-password-file", "pass", "c.yml"])
        .status
        .success());

    write(&d.join("d.txt"), "binary\0ish\n");
    ok(
        deploy_in(
            d,
            &[
                "vault",
                "encrypt",
                "--vault-id",
                "prod@prod-pass",
                "--output",
                "d.vault",
                "d.txt",
            ],
        ),
        "deploy vault encrypt --output",
    );
    ok(
        oracle(
            d,
            &[
                "decrypt",
                "--vault-id",
                "prod@prod-pass",
                "--output",
                "d.back",
                "d.vault",
            ],
        ),
        "oracle decrypt",
    );
    assert_eq!(std::fs::read(d.join("d.back")).unwrap(), b"binary\0ish\n");

    let inline = ok(
        deploy_in(
            d,
            &[
                "vault",
                "encrypt_string",
                "--vault-password-file",
                "pass",
                "--name",
                "token",
                TOKEN,
            ],
        ),
        "deploy vault encrypt_string",
    );
    assert!(
        inline.starts_with("token: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n"),
        "{inline}"
    );
    write(&d.join("inline.yml"), &inline);
    write(&d.join("show.yml"), "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy: { content: \"{{ token }}\", dest: \"{{ out }}\" }\n");
    let playbook = Command::new(common::oracle("ansible-playbook"))
        .args([
            "-i",
            "localhost,",
            "-c",
            "local",
            "show.yml",
            "-e",
            "@inline.yml",
            "--vault-password-file",
            "pass",
        ])
        .arg("-e")
        .arg(format!("out={}", d.join("token.out").display()))
        .arg("-e")
        .arg(format!(
            "ansible_python_interpreter={}",
            ansible_vault().with_file_name("python").display()
        ))
        .current_dir(d)
        .env("ANSIBLE_HOME", d.join(".ansible"))
        .env("ANSIBLE_CONFIG", d.join("none.cfg"))
        .output()
        .unwrap();
    ok(playbook, "ansible-playbook with deploy's inline value");
    assert_eq!(std::fs::read_to_string(d.join("token.out")).unwrap(), TOKEN);

    // And the oracle's inline value, in deploy.
    let theirs = ok(
        oracle(
            d,
            &[
                "encrypt_string",
                "--vault-password-file",
                "pass",
                "--name",
                "token",
                TOKEN,
            ],
        ),
        "ansible-vault encrypt_string",
    );
    write(&d.join("hosts"), "local1 ansible_connection=local\n");
    write(&d.join("group_vars/all.yml"), &theirs);
    write(
        &d.join("site.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - copy: { content: \"{{ token }}\", dest: \"{{ out }}\" }\n",
    );
    let out = d.join("deploy-token.out");
    let apply = deploy_in(
        d,
        &[
            "apply",
            "-i",
            "hosts",
            "site.yml",
            "--vault-password-file",
            "pass",
            "-e",
            &format!("out={}", out.display()),
        ],
    );
    let shown = ok(apply, "deploy apply with ansible-vault's inline value");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), TOKEN);
    assert!(!shown.contains(TOKEN), "{shown}");
}

#[test]
fn edit_re_encrypts_only_a_changed_text_and_leaves_no_plaintext_behind() {
    let dir = setup();
    let d = dir.path();
    write(&d.join("v.yml"), "a: 1\n");
    ok(
        oracle(d, &["encrypt", "--vault-password-file", "pass", "v.yml"]),
        "ansible-vault encrypt",
    );
    let before = std::fs::read(d.join("v.yml")).unwrap();
    let scratch_before = scratch_dirs();

    let unchanged = common::deploy()
        .args(["vault", "edit", "--vault-password-file", "pass", "v.yml"])
        .current_dir(d)
        .env("EDITOR", "true")
        .env("ANSIBLE_CONFIG", d.join("none.cfg"))
        .output()
        .unwrap();
    ok(unchanged, "deploy vault edit (no change)");
    assert_eq!(
        std::fs::read(d.join("v.yml")).unwrap(),
        before,
        "an unchanged text is not re-encrypted"
    );

    let edited = common::deploy()
        .args(["vault", "edit", "--vault-password-file", "pass", "v.yml"])
        .current_dir(d)
        .env("EDITOR", "sed -i s/1/2/")
        .env("ANSIBLE_CONFIG", d.join("none.cfg"))
        .output()
        .unwrap();
    ok(edited, "deploy vault edit");
    assert_eq!(
        ok(
            oracle(d, &["view", "--vault-password-file", "pass", "v.yml"]),
            "view"
        ),
        "a: 2\n"
    );

    // A failing editor changes nothing.
    let after = std::fs::read(d.join("v.yml")).unwrap();
    let failed = common::deploy()
        .args(["vault", "edit", "--vault-password-file", "pass", "v.yml"])
        .current_dir(d)
        .env("EDITOR", "false")
        .env("ANSIBLE_CONFIG", d.join("none.cfg"))
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(std::fs::read(d.join("v.yml")).unwrap(), after);

    write(&d.join("new-content"), "b: 3\n");
    let created = common::deploy()
        .args(["vault", "create", "--vault-password-file", "pass", "new.yml"])
        .current_dir(d)
        .env("EDITOR", format!("cp {}", d.join("new-content").display()))
        .env("ANSIBLE_CONFIG", d.join("none.cfg"))
        .output()
        .unwrap();
    ok(created, "deploy vault create");
    assert_eq!(
        ok(
            oracle(d, &["view", "--vault-password-file", "pass", "new.yml"]),
            "view new"
        ),
        "b: 3\n"
    );
    assert_eq!(scratch_dirs(), scratch_before, "the editing directory is removed");
}

fn scratch_dirs() -> Vec<String> {
    let mut found = Vec::new();
    for base in [
        std::env::var("XDG_RUNTIME_DIR").unwrap_or_default(),
        "/dev/shm".to_string(),
    ] {
        for entry in std::fs::read_dir(&base).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("deploy-vault-") {
                found.push(name);
            }
        }
    }
    found.sort();
    found
}

/// A project on this machine (`ansible_connection: local`) whose vars hold vault values.
fn local_project(d: &Path, vars_file: &str) -> PathBuf {
    write(&d.join("hosts"), "local1 ansible_connection=local\n");
    write(&d.join("group_vars/all/vault.yml"), vars_file);
    let out = d.join("out");
    write(
        &d.join("site.yml"),
        &format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - copy: {{ content: \"{{{{ db_password }}}}\", dest: \"{}\" }}\n",
            out.join("conf").display()
        ),
    );
    out
}

#[test]
fn a_bad_vault_is_one_error_line_naming_the_file_and_no_host_is_touched() {
    let dir = setup();
    let d = dir.path();
    write(&d.join("plain.yml"), &format!("db_password: {DB_PASSWORD}\n"));
    ok(
        oracle(
            d,
            &[
                "encrypt",
                "--vault-password-file",
                "pass",
                "--output",
                "good.yml",
                "plain.yml",
            ],
        ),
        "encrypt",
    );
    let good = std::fs::read_to_string(d.join("good.yml")).unwrap();
    let truncated: String = good.lines().take(3).map(|l| format!("{l}\n")).collect();
    let mut tampered = good.clone().into_bytes();
    let at = tampered.len() - 10;
    tampered[at] = if tampered[at] == b'3' { b'6' } else { b'3' };
    let tampered = String::from_utf8(tampered).unwrap();
    let version = good.replacen("1.1", "1.7", 1);
    write(&d.join("wrong"), "not the password\n");

    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "wrong password",
            &good,
            "wrong",
            "no vault password given opens it",
        ),
        ("truncated", &truncated, "pass", "truncated"),
        ("bad HMAC", &tampered, "pass", "no vault password given opens it"),
        (
            "unknown version",
            &version,
            "pass",
            "unsupported vault format: version 1.7",
        ),
    ];
    for (what, text, password, expected) in cases {
        let project = tempfile::tempdir().unwrap();
        let p = project.path();
        let out = local_project(p, text);
        let run = common::deploy()
            .args(["apply", "-i", "hosts", "site.yml", "--vault-password-file"])
            .arg(d.join(password))
            .current_dir(p)
            .env("ANSIBLE_CONFIG", p.join("none.cfg"))
            .output()
            .unwrap();
        let err = common::stderr(&run);
        assert_eq!(run.status.code(), Some(1), "{what}: {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{what}: one line: {err}");
        assert!(
            err.contains("group_vars/all/vault.yml") && err.contains(expected),
            "{what}: {err}"
        );
        assert!(!out.exists(), "{what}: nothing is changed");
    }

    // An inline value: the error has the line and column; no password at all says how to give one.
    let project = tempfile::tempdir().unwrap();
    let p = project.path();
    let inline = ok(
        oracle(
            d,
            &[
                "encrypt_string",
                "--vault-password-file",
                "pass",
                "--name",
                "db_password",
                DB_PASSWORD,
            ],
        ),
        "encrypt_string",
    );
    let out = local_project(p, &format!("other: 1\n{inline}\n"));
    for (password, expected) in [
        (Some("wrong"), "no vault password given opens it"),
        (None, "no vault password was given (--vault-password-file"),
    ] {
        let mut command = common::deploy();
        command
            .args(["plan", "-i", "hosts", "site.yml"])
            .current_dir(p)
            .env("ANSIBLE_CONFIG", p.join("none.cfg"));
        if let Some(password) = password {
            command.arg("--vault-password-file").arg(d.join(password));
        }
        let run = command.output().unwrap();
        let err = common::stderr(&run);
        assert_eq!(run.status.code(), Some(1), "{err}");
        // The position of the ciphertext, under its key.
        assert!(err.contains("group_vars/all/vault.yml:3:11:"), "{err}");
        assert!(err.contains(expected), "{err}");
        assert!(!out.exists());
    }
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn a_vault_repository_converges_lab_hosts_and_no_output_shows_a_secret() {
    common::require_lab();
    let inventory = common::lab_up(2);
    let dir = setup();
    let d = dir.path();
    // The repository: a vault file and inline values in group_vars, a vault-encrypted key in
    // files/, a template using them, a fact derived from a secret, a registered result.
    write(
        &d.join("group_vars/all/vault.yml"),
        &format!("vault_db_password: {DB_PASSWORD}\n"),
    );
    ok(
        oracle(
            d,
            &[
                "encrypt",
                "--vault-password-file",
                "pass",
                "group_vars/all/vault.yml",
            ],
        ),
        "encrypt vars",
    );
    let inline = ok(
        oracle(
            d,
            &[
                "encrypt_string",
                "--vault-password-file",
                "pass",
                "--name",
                "api_token",
                TOKEN,
            ],
        ),
        "encrypt_string",
    );
    write(
        &d.join("group_vars/all/vars.yml"),
        &format!("db_password: \"{{{{ vault_db_password }}}}\"\n{inline}\n"),
    );
    write(
        &d.join("files/tls.key"),
        &format!("-----BEGIN KEY-----\n{KEY_LINE}\n-----END KEY-----\n"),
    );
    ok(
        oracle(d, &["encrypt", "--vault-password-file", "pass", "files/tls.key"]),
        "encrypt key",
    );
    write(
        &d.join("templates/app.conf.j2"),
        "password={{ db_password }}\ntoken={{ api_token }}\nshout={{ shout }}\n",
    );
    write(
        &d.join("site.yml"),
        r#"- hosts: all
  become: true
  tasks:
    - set_fact:
        shout: "{{ db_password | upper }}"
    - file: { path: /etc/vaulted, state: directory, mode: "0700" }
    - template: { src: app.conf.j2, dest: /etc/vaulted/app.conf, mode: "0600" }
    - copy: { src: tls.key, dest: /etc/vaulted/tls.key, mode: "0600" }
    - command: cat /etc/vaulted/app.conf
      register: conf
      changed_when: false
      check_mode: false
    - debug: { msg: "{{ conf.stdout }}" }
    - command: echo {{ api_token | b64encode }}
      register: encoded
      changed_when: false
      check_mode: false
    - debug: { var: encoded.stdout }
"#,
    );
    let _ = common::lab_ssh("h1", "rm -rf /etc/vaulted");
    let _ = common::lab_ssh("h2", "rm -rf /etc/vaulted");
    let inv = inventory.to_str().unwrap();
    let pass = d.join("pass");
    let pass = pass.to_str().unwrap();
    let saved = d.join("saved.json");
    let log = d.join("log.jsonl");
    let metrics = d.join("metrics.prom");
    let mut shown = String::new();
    let mut run = |args: &[&str], expect: i32| {
        let output = deploy_in(d, args);
        assert_eq!(
            output.status.code(),
            Some(expect),
            "{args:?}:\n{}\n{}",
            common::stdout(&output),
            common::stderr(&output)
        );
        shown.push_str(&common::stdout(&output));
        shown.push_str(&common::stderr(&output));
    };
    run(&["plan", "-i", inv, "site.yml", "--vault-password-file", pass], 2);
    run(
        &[
            "plan",
            "-i",
            inv,
            "site.yml",
            "--vault-password-file",
            pass,
            "--format",
            "json",
        ],
        2,
    );
    run(
        &[
            "plan",
            "-i",
            inv,
            "site.yml",
            "--vault-password-file",
            pass,
            "--format",
            "markdown",
            "--out",
            saved.to_str().unwrap(),
        ],
        2,
    );
    run(
        &[
            "apply",
            "-vv",
            "-i",
            inv,
            "site.yml",
            "--vault-password-file",
            pass,
            "--log-file",
            log.to_str().unwrap(),
        ],
        0,
    );
    run(
        &[
            "apply",
            "-i",
            inv,
            "site.yml",
            "--vault-password-file",
            pass,
            "--format",
            "json",
        ],
        0,
    );
    run(
        &[
            "check",
            "-i",
            inv,
            "site.yml",
            "--vault-password-file",
            pass,
            "--metrics-file",
            metrics.to_str().unwrap(),
        ],
        0,
    );
    run(
        &["inventory", "-i", inv, "--list", "--vault-password-file", pass],
        0,
    );
    for file in [&saved, &log, &metrics] {
        shown.push_str(&std::fs::read_to_string(file).unwrap_or_default());
    }
    assert!(shown.contains("********"), "secrets are shown masked:\n{shown}");
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(TOKEN);
    for secret in [
        DB_PASSWORD,
        &DB_PASSWORD.to_uppercase(),
        TOKEN,
        KEY_LINE,
        &encoded,
    ] {
        assert!(!shown.contains(secret), "`{secret}` was shown:\n{shown}");
    }
    // The secrets did reach the hosts.
    for host in ["h1", "h2"] {
        let conf = common::stdout(&common::lab_ssh(
            host,
            "cat /etc/vaulted/app.conf /etc/vaulted/tls.key",
        ));
        assert_eq!(
            conf,
            format!(
                "password={DB_PASSWORD}\ntoken={TOKEN}\nshout={}\n-----BEGIN KEY-----\n{KEY_LINE}\n-----END KEY-----\n",
                DB_PASSWORD.to_uppercase()
            )
        );
    }
}
