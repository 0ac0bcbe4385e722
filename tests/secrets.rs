//! Secrets never show: variables listed in `deploy_secret_vars`, parameters of `no_log` tasks
//! and passwords are redacted from plans, diffs, errors, debug output and JSON. The host is this
//! machine (`ansible_connection: local`), working in a temporary directory.

mod common;

use std::path::Path;

const DB_PASSWORD: &str = "S3cr3t-pa55word";
const API_TOKEN: &str = "tok-ABCDEF-123456";

fn project(base: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hosts"), "local1 ansible_connection=local\n").unwrap();
    let playbook = format!(
        r#"- hosts: local1
  gather_facts: false
  vars:
    base: "{base}"
    deploy_secret_vars: [db_password]
    db_password: "{DB_PASSWORD}"
    api_token: "{API_TOKEN}"
  tasks:
    - name: config with a secret
      copy:
        content: "user=app\npassword={{{{ db_password }}}}\n"
        dest: "{{{{ base }}}}/app.conf"
    - name: token line
      lineinfile:
        path: "{{{{ base }}}}/token.conf"
        line: "token={{{{ api_token }}}}"
        create: true
      no_log: true
    - name: show it
      debug:
        var: db_password
    - name: echo it
      command: "echo {{{{ db_password }}}}"
    - name: fail with it
      shell: "echo token {{{{ api_token }}}} refused >&2; exit 3"
      no_log: true
"#,
        base = base.display()
    );
    std::fs::write(dir.path().join("site.yml"), playbook).unwrap();
    dir
}

#[test]
fn no_output_format_shows_a_secret() {
    let base = tempfile::tempdir().unwrap();
    // An earlier version of the file holds the secret too: the diff's "before" side.
    std::fs::write(
        base.path().join("app.conf"),
        format!("password={DB_PASSWORD}-old\n"),
    )
    .unwrap();
    let project = project(base.path());
    let mut seen = String::new();
    for args in [
        vec!["plan"],
        vec!["plan", "--format", "json"],
        vec!["plan", "--format", "markdown"],
        vec!["check"],
        vec!["apply"],
        vec!["apply", "--format", "json"],
        vec!["apply", "-v", "--log-file", "events.jsonl"],
        vec!["check", "--format", "json"],
    ] {
        let output = common::deploy()
            .current_dir(project.path())
            .args(&args)
            .args(["-i", "hosts", "site.yml"])
            .output()
            .unwrap();
        let text = format!("{}{}", common::stdout(&output), common::stderr(&output));
        for secret in [DB_PASSWORD, API_TOKEN] {
            assert!(
                !text.contains(secret),
                "`deploy {}` shows a secret:\n{text}",
                args.join(" ")
            );
        }
        seen.push_str(&text);
    }
    let log = std::fs::read_to_string(project.path().join("events.jsonl")).unwrap();
    assert!(
        !log.contains(DB_PASSWORD) && !log.contains(API_TOKEN),
        "the log file shows a secret:\n{log}"
    );
    // The redaction is visible, and the run really happened.
    assert!(seen.contains("********"), "{seen}");
    assert!(seen.contains("fail with it"), "{seen}");
    let written = std::fs::read_to_string(base.path().join("app.conf")).unwrap();
    assert_eq!(written, format!("user=app\npassword={DB_PASSWORD}\n"));
    let retry = project.path().join("site.retry");
    if retry.exists() {
        let text = std::fs::read_to_string(retry).unwrap();
        assert!(!text.contains(DB_PASSWORD) && !text.contains(API_TOKEN));
    }
}
