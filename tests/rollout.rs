//! Rolling updates and time limits, on hosts that are this machine (`ansible_connection:
//! local`), each working in its own temporary directory: `serial` with
//! `max_fail_percentage`, `any_errors_fatal`, step timeouts, `--force-handlers`.

mod common;

use std::path::Path;

fn project(hosts: usize, playbook: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let inventory: String = (1..=hosts)
        .map(|i| format!("local{i} ansible_connection=local\n"))
        .collect();
    std::fs::write(dir.path().join("hosts"), inventory).unwrap();
    std::fs::write(dir.path().join("site.yml"), playbook).unwrap();
    dir
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    common::deploy().current_dir(dir).args(args).output().unwrap()
}

#[test]
fn a_failing_batch_stops_the_rollout_and_names_untouched_hosts() {
    let base = tempfile::tempdir().unwrap();
    let playbook = format!(
        "- hosts: all\n  gather_facts: false\n  serial: 2\n  max_fail_percentage: 49\n  tasks:\n    - fail:\n        msg: broken\n      when: inventory_hostname == 'local2'\n    - copy:\n        content: \"done\\n\"\n        dest: \"{}/{{{{ inventory_hostname }}}}\"\n",
        base.path().display()
    );
    let dir = project(5, &playbook);
    let out = run(
        dir.path(),
        &["apply", "-i", "hosts", "site.yml", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    assert!(
        json["aborted"].as_str().unwrap().contains("max_fail_percentage"),
        "{json}"
    );
    assert_eq!(
        json["untouched"],
        serde_json::json!(["local3", "local4", "local5"])
    );
    // The first batch ran: local1 finished, local2 failed; nothing after it was touched.
    assert!(base.path().join("local1").exists());
    for host in ["local2", "local3", "local4", "local5"] {
        assert!(!base.path().join(host).exists(), "{host} was touched");
    }
    let retry = std::fs::read_to_string(dir.path().join("site.retry")).unwrap();
    assert_eq!(retry, "local2\nlocal3\nlocal4\nlocal5\n");
}

#[test]
fn any_errors_fatal_stops_at_the_first_failure() {
    let base = tempfile::tempdir().unwrap();
    let playbook = format!(
        "- hosts: all\n  gather_facts: false\n  serial: 1\n  any_errors_fatal: true\n  tasks:\n    - command: \"{{{{ 'false' if inventory_hostname == 'local1' else 'true' }}}}\"\n    - copy:\n        content: \"x\\n\"\n        dest: \"{}/{{{{ inventory_hostname }}}}\"\n",
        base.path().display()
    );
    let dir = project(3, &playbook);
    let out = run(dir.path(), &["apply", "-i", "hosts", "site.yml"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = common::stderr(&out);
    assert!(
        stderr.contains("any_errors_fatal") && stderr.contains("hosts never touched: local2, local3"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(base.path()).unwrap().count(), 0);
}

#[test]
fn steps_that_run_too_long_are_killed() {
    let dir = project(
        1,
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: sleep 30\n      timeout: 1\n",
    );
    let started = std::time::Instant::now();
    let out = run(dir.path(), &["apply", "-i", "hosts", "site.yml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    assert!(
        common::stdout(&out).contains("timed out after 1 s"),
        "{}",
        common::stdout(&out)
    );
    // The same through --step-timeout, for every step.
    let dir = project(
        1,
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: sleep 30\n",
    );
    let out = run(
        dir.path(),
        &["apply", "-i", "hosts", "site.yml", "--step-timeout", "1"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stdout(&out).contains("timed out after 1 s"),
        "{}",
        common::stdout(&out)
    );
}

#[test]
fn force_handlers_runs_them_despite_a_failure() {
    let base = tempfile::tempdir().unwrap();
    let marker = base.path().join("handler-ran");
    let playbook = format!(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - copy:\n        content: \"x\\n\"\n        dest: \"{}/file\"\n      notify: mark\n    - command: \"false\"\n  handlers:\n    - name: mark\n      command: \"touch {}\"\n",
        base.path().display(),
        marker.display()
    );
    let dir = project(1, &playbook);
    let out = run(
        dir.path(),
        &["apply", "-i", "hosts", "site.yml", "--force-handlers"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(marker.exists(), "the handler ran although a task failed");
}

#[test]
fn run_once_runs_on_the_first_host_only() {
    let base = tempfile::tempdir().unwrap();
    let playbook = format!(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - copy:\n        content: \"{{{{ inventory_hostname }}}}\\n\"\n        dest: \"{}/once\"\n      run_once: true\n",
        base.path().display()
    );
    let dir = project(3, &playbook);
    let out = run(dir.path(), &["apply", "-i", "hosts", "site.yml"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stdout(&out));
    assert_eq!(
        std::fs::read_to_string(base.path().join("once")).unwrap(),
        "local1\n"
    );
}

#[test]
fn a_second_ctrl_c_stops_at_once_with_130() {
    let dir = project(
        1,
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: sleep 20\n",
    );
    let child = common::deploy()
        .current_dir(dir.path())
        .args(["apply", "-i", "hosts", "site.yml"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    for _ in 0..2 {
        // SAFETY: signalling our own child process by its PID.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", common::stderr(&out));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "it did not wait for the step"
    );
    assert!(
        common::stderr(&out).contains("press Ctrl-C again"),
        "{}",
        common::stderr(&out)
    );
}

#[test]
fn every_event_goes_to_the_log_file_and_progress_suits_the_output() {
    let base = tempfile::tempdir().unwrap();
    let playbook = format!(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - copy:\n        content: \"a\\n\"\n        dest: \"{0}/{{{{ inventory_hostname }}}}-a\"\n    - copy:\n        content: \"b\\n\"\n        dest: \"{0}/{{{{ inventory_hostname }}}}-b\"\n",
        base.path().display()
    );
    let dir = project(2, &playbook);
    let log = dir.path().join("events.jsonl");
    let out = run(
        dir.path(),
        &[
            "apply",
            "-i",
            "hosts",
            "site.yml",
            "--log-file",
            log.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let events: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let steps: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "step").collect();
    assert_eq!(steps.len(), 4, "{events:?}");
    assert!(steps
        .iter()
        .all(|e| e["status"] == "changed" && e["time"].is_f64()));
    let hosts: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "host").collect();
    assert_eq!(hosts.len(), 2);
    assert!(hosts.iter().all(|h| h["changed"] == 2 && h["execs"] == 1));

    // Not a terminal: one plain line per event, fit for a log.
    assert!(
        common::stderr(&out).contains("local1: changed  copy"),
        "{}",
        common::stderr(&out)
    );

    // `-v`: tracing events per step, inside a span per host.
    let out = run(dir.path(), &["apply", "-i", "hosts", "site.yml", "-v"]);
    let stderr = common::stderr(&out);
    assert!(
        stderr.contains("host{host=local1}") && stderr.contains("step"),
        "{stderr}"
    );

    // On a terminal (a pseudo-terminal from util-linux `script`): progress lines per host.
    if common::which("script").is_some() {
        std::fs::remove_dir_all(base.path()).unwrap();
        std::fs::create_dir(base.path()).unwrap();
        let command = format!(
            "{} apply -i hosts site.yml --no-color",
            env!("CARGO_BIN_EXE_deploy")
        );
        let out = std::process::Command::new("script")
            .current_dir(dir.path())
            .args(["-qec", &command, "/dev/null"])
            .output()
            .unwrap();
        let text = common::stdout(&out);
        assert!(out.status.success(), "{text}");
        assert!(
            !text.contains("local1: changed  copy"),
            "no plain lines on a terminal: {text}"
        );
        assert!(text.contains("steps"), "progress lines: {text}");
        assert!(text.contains("Recap"), "{text}");
    }
}
