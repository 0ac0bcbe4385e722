//! The engine against real hosts: converge, re-run (nothing to do, one exec per host), check,
//! drift by hand, check again, heal. Runs on lab hosts over real SSH (root needed).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

/// The lab is one machine-wide resource: tests in this file take turns.
static LAB: std::sync::Mutex<()> = std::sync::Mutex::new(());

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
    let json: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{command}: stdout is not JSON ({e}): {stdout}\nstderr: {}",
            common::stderr(&output)
        )
    });
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
#[ignore = "lab test: needs root; scripts/test runs it"]
fn converge_rerun_check_drift_heal() {
    common::require_lab();
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    // The lab's group is `lab`; the fixture's group_vars sit beside the playbook.
    let inventory = common::lab_up(3);

    let (code, first, stderr) = run_json("apply", &inventory, "converge.yml");
    assert_eq!(code, 0, "first apply failed: {first:#}\n{stderr}");
    for host in first["hosts"].as_array().unwrap() {
        assert!(!changed_steps(host).is_empty(), "a fresh host changes");
    }

    // Nothing left to do: 0 changed, and exactly one remote exec per host.
    let (code, second, stderr) = run_json("apply", &inventory, "converge.yml");
    assert_eq!(code, 0, "second apply failed: {second:#}\n{stderr}");
    for host in second["hosts"].as_array().unwrap() {
        assert_eq!(
            changed_steps(host),
            Vec::<String>::new(),
            "re-run changed something on {}",
            host["plan"]["host"]
        );
        assert_eq!(
            host["execs"], 1,
            "a no-op run is one exec on {}",
            host["plan"]["host"]
        );
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
        let out = common::lab_ssh(host, command);
        assert!(
            out.status.success(),
            "{host}: {command}: {}",
            common::stderr(&out)
        );
    }
    // What check must leave alone on the drifted hosts: file times, packages, services.
    let state_of = |host: &str| {
        let out = common::lab_ssh(
            host,
            "stat -c '%n %Y %a' /srv/demo/README /srv/demo/conf/demo.conf /etc/demo.settings; dpkg-query -W -f='${Status}\\n' jq 2>&1; systemctl is-active demo; getent passwd bob || true",
        );
        common::stdout(&out)
    };
    let before: Vec<String> = ["h1", "h2", "h3"].iter().map(|h| state_of(h)).collect();
    let check = common::deploy()
        .current_dir(fixture())
        .args(["check", "-i"])
        .arg(&inventory)
        .arg("converge.yml")
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(2), "{}", common::stderr(&check));
    let after: Vec<String> = ["h1", "h2", "h3"].iter().map(|h| state_of(h)).collect();
    assert_eq!(before, after, "check changed something on a host");
    let drift = common::stdout(&check);
    let lines: Vec<&str> = drift.lines().collect();
    assert_eq!(lines.len(), 5, "one line per drifted resource:\n{drift}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("h1: ~ template /srv/demo/conf/demo.conf")),
        "{drift}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("h1: ~ copy /srv/demo/README") && l.contains("mode 0666 → 0644")),
        "{drift}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("h2: ~ systemd demo")),
        "{drift}"
    );
    assert!(lines.iter().any(|l| l.starts_with("h2: + user bob")), "{drift}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("h3: + apt") && l.contains("jq")),
        "{drift}"
    );

    // Heal: exactly the drifted resources change, and the template's handlers run on h1 only.
    let (code, heal, stderr) = run_json("apply", &inventory, "converge.yml");
    assert_eq!(code, 0, "{heal:#}\n{stderr}");
    let hosts = heal["hosts"].as_array().unwrap();
    let by_name = |name: &str| hosts.iter().find(|h| h["plan"]["host"] == name).unwrap();
    let h1 = changed_steps(by_name("h1"));
    assert!(h1.contains(&"demo configuration".to_string()), "{h1:?}");
    assert!(h1.contains(&"readme".to_string()), "{h1:?}");
    assert!(
        h1.contains(&"restart demo".to_string()) && h1.contains(&"demo config changed".to_string()),
        "{h1:?}"
    );
    let h2 = changed_steps(by_name("h2"));
    assert!(
        h2.contains(&"demo running".to_string()) && h2.contains(&"people".to_string()),
        "{h2:?}"
    );
    assert!(
        !h2.contains(&"restart demo".to_string()),
        "no handler on h2: {h2:?}"
    );
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
    let page = common::lab_ssh("h3", "python3 -c \"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:8090/index.html').read().decode())\"");
    assert_eq!(common::stdout(&page).trim(), "<p>h3</p>");
}

fn run_in(dir: &Path, args: &[&str], inventory: &Path, stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut command = common::deploy();
    command
        .current_dir(dir)
        .arg(args[0])
        .arg("-i")
        .arg(inventory)
        .args(&args[1..]);
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn become_with_a_password_never_shows_it() {
    common::require_lab();
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    common::lab_up(2);
    let inventory = common::run_deploy(["lab", "inventory", "--user", "deploypw"]);
    let inventory = PathBuf::from(common::stdout(&inventory).trim());
    let password = std::fs::read_to_string("/var/tmp/deploy-lab/deploypw.password").unwrap();
    let password = password.trim();
    let dir = common::project(
        "- hosts: h1\n  become: true\n  tasks:\n    - name: as root\n      copy:\n        content: \"secret-free\\n\"\n        dest: /root/become-test\n        mode: \"0600\"\n    - name: linger\n      command: sleep 3\n",
    );
    // While the apply runs, look at every process's argv on the host.
    let apply = {
        let dir = dir.path().to_path_buf();
        let inventory = inventory.clone();
        std::thread::spawn(move || run_in(&dir, &["apply", "site.yml"], &inventory, None))
    };
    let mut seen_sudo = false;
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(250));
        let argv = common::lab_ssh(
            "h1",
            "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done",
        );
        let argv = common::stdout(&argv);
        assert!(
            !argv.contains(password),
            "the become password is in a process's argv"
        );
        seen_sudo |= argv.contains("sleep 3");
    }
    let apply = apply.join().unwrap();
    let all = format!("{}{}", common::stdout(&apply), common::stderr(&apply));
    assert_eq!(apply.status.code(), Some(0), "{all}");
    assert!(seen_sudo, "the probe of argv ran while the task did");
    assert!(!all.contains(password), "the password is in deploy's output");
    let owner = common::lab_ssh("h1", "stat -c '%U %a' /root/become-test");
    assert_eq!(common::stdout(&owner).trim(), "root 600");

    // `--ask-become-pass` reads it from stdin when stdin is not a terminal; a wrong one fails
    // clearly and names no password.
    let plain = common::run_deploy([
        "lab",
        "inventory",
        "--user",
        "deploypw",
        "--output",
        "/var/tmp/deploy-lab/inventory-nopw.yml",
    ]);
    assert!(plain.status.success());
    let text = std::fs::read_to_string("/var/tmp/deploy-lab/inventory-nopw.yml").unwrap();
    let stripped: String = text
        .lines()
        .filter(|l| !l.contains("ansible_become_password"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write("/var/tmp/deploy-lab/inventory-nopw.yml", stripped).unwrap();
    let nopw = PathBuf::from("/var/tmp/deploy-lab/inventory-nopw.yml");
    let asked = run_in(
        dir.path(),
        &["plan", "site.yml", "--ask-become-pass"],
        &nopw,
        Some(&format!("{password}\n")),
    );
    assert!(
        asked.status.code() == Some(2) || asked.status.code() == Some(0),
        "{}",
        common::stderr(&asked)
    );
    let wrong = run_in(
        dir.path(),
        &["plan", "site.yml", "--ask-become-pass"],
        &nopw,
        Some("not-the-password\n"),
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        common::stdout(&wrong).contains("incorrect become password"),
        "{}",
        common::stdout(&wrong)
    );
    // And with no password at all, sudo's refusal is reported.
    let none = run_in(dir.path(), &["plan", "site.yml"], &nopw, None);
    assert_eq!(none.status.code(), Some(1));
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn become_method_su_takes_the_target_users_password_on_stdin() {
    common::require_lab();
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    common::lab_up(1);
    // h1's root gets a password for this test, and loses it again at the end.
    let root_password = "su-root-pw-7f3a";
    let set = common::lab_ssh("h1", &format!("echo 'root:{root_password}' | chpasswd"));
    assert!(set.status.success(), "{}", common::stderr(&set));
    struct Relock;
    impl Drop for Relock {
        fn drop(&mut self) {
            let _ = common::lab_ssh("h1", "usermod -p '*' root");
        }
    }
    let _relock = Relock;
    // `deploy` logs in without a password of its own for su to use: only root's will do.
    let inventory = common::run_deploy(["lab", "inventory", "--user", "deploy"]);
    let inventory = PathBuf::from(common::stdout(&inventory).trim());
    let dir = common::project(
        "- hosts: h1\n  become: true\n  become_method: su\n  tasks:\n    - name: as root through su\n      shell: id -un > /root/su-test\n      args: { creates: /root/su-test }\n    - name: linger\n      command: sleep 3\n",
    );
    let _ = common::lab_ssh("h1", "rm -f /root/su-test");
    let apply = {
        let dir = dir.path().to_path_buf();
        let inventory = inventory.clone();
        let stdin = format!("{root_password}\n");
        std::thread::spawn(move || {
            run_in(
                &dir,
                &["apply", "site.yml", "--ask-become-pass"],
                &inventory,
                Some(&stdin),
            )
        })
    };
    let mut seen = false;
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(250));
        let argv = common::lab_ssh(
            "h1",
            "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done",
        );
        let argv = common::stdout(&argv);
        assert!(
            !argv.contains(root_password),
            "the su password is in a process's argv"
        );
        seen |= argv.contains("sleep 3");
    }
    let apply = apply.join().unwrap();
    let all = format!("{}{}", common::stdout(&apply), common::stderr(&apply));
    assert_eq!(apply.status.code(), Some(0), "{all}");
    assert!(seen, "the argv probe ran while the task did");
    assert!(!all.contains(root_password), "the password is in deploy's output");
    let who = common::lab_ssh("h1", "cat /root/su-test");
    assert_eq!(common::stdout(&who), "root\n");

    // A wrong password is su's authentication failure; none at all says how to give one.
    let wrong = run_in(
        dir.path(),
        &["plan", "site.yml", "--ask-become-pass"],
        &inventory,
        Some("not-the-password\n"),
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        common::stdout(&wrong).contains("su: Authentication failure"),
        "{}",
        common::stdout(&wrong)
    );
    let none = run_in(dir.path(), &["plan", "site.yml"], &inventory, None);
    assert_eq!(none.status.code(), Some(1));
    assert!(
        common::stdout(&none).contains("su asks for root's password; give it with --ask-become-pass"),
        "{}",
        common::stdout(&none)
    );
    // Connected as root, su asks nothing and no password is needed.
    let as_root = common::run_deploy(["lab", "inventory"]);
    let as_root = PathBuf::from(common::stdout(&as_root).trim());
    let plan = run_in(dir.path(), &["plan", "site.yml"], &as_root, None);
    assert_eq!(plan.status.code(), Some(2), "{}", common::stdout(&plan));
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn hosts_need_only_sh_and_coreutils() {
    common::require_lab();
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let inventory = common::lab_up(2);
    let removed = common::lab_ssh(
        "h2",
        "apt-get remove -y -q python3 python3-minimal >/dev/null 2>&1; command -v python3 || echo gone",
    );
    assert_eq!(common::stdout(&removed).trim(), "gone");
    let dir = common::project(
        "- hosts: h2\n  tasks:\n    - copy:\n        content: \"{{ ansible_distribution }} {{ ansible_distribution_major_version }} {{ ansible_service_mgr }}\\n\"\n        dest: /etc/facts-without-python\n",
    );
    let apply = run_in(dir.path(), &["apply", "site.yml"], &inventory, None);
    assert_eq!(
        apply.status.code(),
        Some(0),
        "{}{}",
        common::stdout(&apply),
        common::stderr(&apply)
    );
    let facts = common::lab_ssh("h2", "cat /etc/facts-without-python");
    assert_eq!(common::stdout(&facts).trim(), "Debian 12 systemd");
    // The lab's next `up` starts from the base again; put h2 back for the tests after this one.
    let down = common::run_deploy(["lab", "down"]);
    assert!(down.status.success(), "{}", common::stderr(&down));
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn hostile_values_arrive_byte_exact_and_unexecuted() {
    common::require_lab();
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let inventory = common::lab_up(1);
    let values = [
        "it's \"quoted\"",
        "$(touch /tmp/pwned-1)",
        "`touch /tmp/pwned-2`",
        "line one\nline two",
        "*",
        "-rf --no-preserve-root",
        "spaces  and\ttabs",
        "été ∑ 日本語",
        "${HOME} $PATH \\$x",
        "; touch /tmp/pwned-3 #",
        "%s %n %%",
        "'; touch /tmp/pwned-4; '",
    ];
    let mut tasks = String::new();
    for (i, value) in values.iter().enumerate() {
        let json = serde_json::to_string(value).unwrap();
        let path = format!("/tmp/hostile dir/{}", value.replace(['/', '\n'], "_"));
        let path_json = serde_json::to_string(&path).unwrap();
        // A line with a newline in it is never one line of a file: lineinfile (in Ansible too)
        // would add it on every run, so multi-line values only go through files and arguments.
        let lines = if value.contains('\n') {
            String::new()
        } else {
            format!("    - lineinfile:\n        path: /tmp/hostile-lines\n        create: true\n        line: {json}\n")
        };
        tasks.push_str(&format!(
            "    - file:\n        path: \"/tmp/hostile dir\"\n        state: directory\n    - copy:\n        content: {json}\n        dest: {path_json}\n{lines}    - command:\n        argv: [\"sh\", \"-c\", \"printf '%s' \\\"$1\\\" > /tmp/hostile-arg-{i}\", \"sh\", {json}]\n        expand_argument_vars: false\n"
        ));
    }
    let dir = common::project(&format!("- hosts: h1\n  tasks:\n{tasks}"));
    let apply = run_in(dir.path(), &["apply", "site.yml"], &inventory, None);
    assert_eq!(
        apply.status.code(),
        Some(0),
        "{}{}",
        common::stdout(&apply),
        common::stderr(&apply)
    );
    for (i, value) in values.iter().enumerate() {
        let path = format!("/tmp/hostile dir/{}", value.replace(['/', '\n'], "_"));
        let content = common::lab_ssh("h1", &format!("base64 -w0 {}", shell_quote(&path)));
        assert_eq!(
            decode(&common::stdout(&content)),
            value.as_bytes(),
            "content of {path:?}"
        );
        let arg = common::lab_ssh("h1", &format!("base64 -w0 /tmp/hostile-arg-{i}"));
        assert_eq!(
            decode(&common::stdout(&arg)),
            value.as_bytes(),
            "argument {value:?}"
        );
    }
    let lines = common::lab_ssh("h1", "cat /tmp/hostile-lines");
    for value in values.iter().filter(|v| !v.contains('\n')) {
        assert!(
            common::stdout(&lines).lines().any(|l| l == *value),
            "line {value:?}"
        );
    }
    let pwned = common::lab_ssh("h1", "ls /tmp/pwned-* 2>/dev/null | wc -l");
    assert_eq!(common::stdout(&pwned).trim(), "0", "nothing was executed");
    // A second run finds the files and lines converged: only the unguarded commands would run.
    let plan = run_in(
        dir.path(),
        &["plan", "site.yml", "--format", "json"],
        &inventory,
        None,
    );
    let json: Value = serde_json::from_str(&common::stdout(&plan)).unwrap();
    let steps = json["hosts"][0]["plan"]["steps"].as_array().unwrap();
    for step in steps {
        let action = step["diff"]["action"].as_str().unwrap();
        let expected = if step["module"] == "command" {
            "run"
        } else {
            "converged"
        };
        assert_eq!(action, expected, "{step}");
    }
}

fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

fn decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap()
}

/// What the differential test compares on a host: files, packages, services, users, crontab.
fn snapshot(host: &str) -> String {
    let script = r#"cd /srv/diff && for f in $(find . | sort); do
  printf '%s %s ' "$f" "$(stat -c '%F %a %U %G' "$f")"
  if [ -f "$f" ] && [ ! -L "$f" ]; then sha256sum < "$f" | cut -c1-16; elif [ -L "$f" ]; then readlink "$f"; else echo; fi
done
dpkg-query -W -f='${Package} ${Status}\n' tree cron
systemctl is-active diff; systemctl is-enabled diff
getent passwd carol dave | cut -d: -f1,6,7
id -Gn carol; id -Gn dave
crontab -l -u root"#;
    let out = common::lab_ssh(host, script);
    assert!(out.status.success(), "{host}: {}", common::stderr(&out));
    common::stdout(&out)
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn same_playbook_same_result_as_ansible() {
    common::require_lab();
    let ansible_playbook_tool = common::oracle("ansible-playbook");
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    // Fresh hosts: the differential compares what each tool does from the same start.
    let _ = common::run_deploy(["lab", "down"]);
    let inventory = common::lab_up(2);
    let ansible = ansible_playbook(
        &ansible_playbook_tool,
        &inventory,
        &["--limit", "h1", "differential.yml"],
    );
    assert!(
        ansible.status.success(),
        "ansible-playbook failed:\n{}",
        common::stdout(&ansible)
    );
    let deploy = run_in(
        &fixture(),
        &["apply", "differential.yml", "--limit", "h2"],
        &inventory,
        None,
    );
    assert_eq!(
        deploy.status.code(),
        Some(0),
        "{}{}",
        common::stdout(&deploy),
        common::stderr(&deploy)
    );
    let (h1, h2) = (snapshot("h1"), snapshot("h2"));
    assert_eq!(h1, h2, "ansible (h1) and deploy (h2) left different hosts");
    // Hosts move between the tools: deploy sees Ansible's host as converged.
    let plan = run_in(
        &fixture(),
        &["plan", "differential.yml", "--limit", "h1"],
        &inventory,
        None,
    );
    assert_eq!(
        plan.status.code(),
        Some(0),
        "deploy would change Ansible's host:\n{}",
        common::stdout(&plan)
    );
}

/// `ansible-playbook` on lab hosts with the fixture directory as its working directory.
fn ansible_playbook(tool: &Path, inventory: &Path, args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("ansible.cfg");
    std::fs::write(&config, "[defaults]\nhost_key_checking = True\n").unwrap();
    std::process::Command::new(tool)
        .current_dir(fixture())
        .env("ANSIBLE_CONFIG", &config)
        .env("ANSIBLE_HOME", home.path())
        .env("ANSIBLE_NOCOLOR", "1")
        .arg("-i")
        .arg(inventory)
        .args(args)
        .output()
        .unwrap()
}

/// The step of `host` in a JSON plan or apply document whose task is `task`.
fn step<'a>(doc: &'a Value, host: &str, task: &str) -> &'a Value {
    let host = doc["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["plan"]["host"] == host)
        .unwrap_or_else(|| panic!("{host} is in the document: {doc:#}"));
    host["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["task"] == task)
        .unwrap_or_else(|| panic!("{task} is planned on the host: {host:#}"))
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn a_query_after_the_install_it_needs_runs_after_it_as_under_ansible() {
    common::require_lab();
    let tool = common::oracle("ansible-playbook");
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    // Fresh hosts: haproxy is not installed yet.
    let inventory = common::fresh_lab(2);
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["install_then_query.yml", "--limit", "h2", "--format", "json"]);
        let out = run_in(&fixture(), &all, &inventory, None);
        let doc: Value = serde_json::from_str(&common::stdout(&out))
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", common::stderr(&out)));
        (out.status.code(), doc)
    };

    // The plan of a fresh host: the query and what uses its result are known after apply.
    let (code, plan) = run(&["plan"]);
    assert_eq!(code, Some(2), "{plan:#}");
    assert!(plan["hosts"][0]["plan"]["error"].is_null(), "{plan:#}");
    assert_eq!(step(&plan, "h2", "package")["diff"]["action"], "create");
    let query = step(&plan, "h2", "Get HAProxy version.");
    assert_eq!(query["diff"]["action"], "unknown", "{query:#}");
    let reason = query["diff"]["attributes"][0]["name"].as_str().unwrap();
    assert!(
        reason.starts_with("fails before earlier changes: exit code 127"),
        "{reason}"
    );
    // So is what uses its result, and a fact set from it, and what uses that fact.
    for task in [
        "record the version",
        "remember the version line",
        "record it again from the fact",
    ] {
        assert_eq!(step(&plan, "h2", task)["diff"]["action"], "unknown", "{task}");
    }

    // One apply converges it, the query running after the install.
    let (code, applied) = run(&["apply"]);
    assert_eq!(code, Some(0), "{applied:#}");
    assert_eq!(
        changed_steps(&applied["hosts"][0]),
        ["package", "record the version", "record it again from the fact"]
    );
    let files = "cat /etc/haproxy/deployed-version /etc/haproxy/deployed-version-line";
    let version = common::stdout(&common::lab_ssh("h2", files));
    assert!(version.starts_with("HAProxy version 2."), "{version}");
    assert_eq!(version.lines().count(), 2, "{version}");

    // Ansible converges h1 from the same start, to the same file.
    let ansible = ansible_playbook(&tool, &inventory, &["--limit", "h1", "install_then_query.yml"]);
    assert!(ansible.status.success(), "{}", common::stdout(&ansible));
    assert_eq!(common::stdout(&common::lab_ssh("h1", files)), version);

    // Both ways: deploy sees Ansible's host as converged, Ansible sees deploy's.
    let plan_h1 = run_in(
        &fixture(),
        &["plan", "install_then_query.yml", "--limit", "h1"],
        &inventory,
        None,
    );
    assert_eq!(plan_h1.status.code(), Some(0), "{}", common::stdout(&plan_h1));
    // Ansible's apt module needs python3-apt for check mode (a normal run installs it, as
    // on h1): the oracle's own requirement, installed on deploy's host for it.
    let apt = common::lab_ssh(
        "h2",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-apt >/dev/null",
    );
    assert!(apt.status.success(), "{}", common::stderr(&apt));
    let check = ansible_playbook(
        &tool,
        &inventory,
        &["--check", "--limit", "h2", "install_then_query.yml"],
    );
    let recap = common::stdout(&check);
    assert!(
        check.status.success() && recap.contains("changed=0"),
        "ansible-playbook --check would change deploy's host:\n{recap}"
    );

    // The re-run: nothing to do, the query inside the probe, one exec.
    let (code, again) = run(&["apply"]);
    assert_eq!(code, Some(0), "{again:#}");
    assert!(changed_steps(&again["hosts"][0]).is_empty(), "{again:#}");
    assert_eq!(again["hosts"][0]["execs"], 1);
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn saved_plans_on_lab_hosts_refuse_what_drifted() {
    common::require_lab();
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let inventory = common::lab_up(2);
    let dir = common::project(
        "- hosts: lab\n  become: true\n  tasks:\n    - name: motd\n      copy:\n        content: \"release {{ release }}\\n\"\n        dest: /etc/motd\n    - name: tool\n      apt:\n        name: tree\n        state: present\n",
    );
    std::fs::copy(&inventory, dir.path().join("hosts.yml")).unwrap();
    let hosts = dir.path().join("hosts.yml");
    // A release no earlier run has written, so the plan has something to do on both hosts.
    let release = format!(
        "release={}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let plan = run_in(
        dir.path(),
        &["plan", "site.yml", "-e", &release, "--out", "plan.json"],
        &hosts,
        None,
    );
    assert_eq!(plan.status.code(), Some(2), "{}", common::stderr(&plan));
    // Between review and apply, someone edits the file on h2 by hand.
    let by_hand = common::lab_ssh("h2", "echo edited by hand > /etc/motd");
    assert!(by_hand.status.success());
    let mut apply = common::deploy();
    apply
        .current_dir(dir.path())
        .args(["apply", "plan.json", "-e", &release, "--format", "json"]);
    let apply = apply.output().unwrap();
    assert_eq!(apply.status.code(), Some(1), "{}", common::stderr(&apply));
    let json: Value = serde_json::from_str(&common::stdout(&apply)).unwrap();
    let hosts_json = json["hosts"].as_array().unwrap();
    let h2 = hosts_json.iter().find(|h| h["plan"]["host"] == "h2").unwrap();
    let error = h2["plan"]["error"].as_str().unwrap();
    assert!(
        error.contains("changed since the saved plan") && error.contains("motd"),
        "{error}"
    );
    let h1 = hosts_json.iter().find(|h| h["plan"]["host"] == "h1").unwrap();
    assert!(h1["plan"]["error"].is_null(), "{h1}");
    assert_eq!(
        common::stdout(&common::lab_ssh("h1", "cat /etc/motd")).trim(),
        release.replace('=', " ")
    );
    assert_eq!(
        common::stdout(&common::lab_ssh("h2", "cat /etc/motd")).trim(),
        "edited by hand",
        "h2 was refused whole"
    );
}
