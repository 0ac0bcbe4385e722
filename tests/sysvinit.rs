//! A SysV init host: facts, packages, `service` and handlers on light lab hosts, where PID 1 is
//! a plain init, services start from /etc/init.d and there is no running systemd.
//!
//! These tests use lab instance 2, so they never stop or edit the systemd hosts of instance 0
//! that the other lab tests share, and they bring it down when they finish.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const INSTANCE: &str = "2";

/// The tests of this file share lab instance 2: they take turns.
static LAB: std::sync::Mutex<()> = std::sync::Mutex::new(());

const PLAYBOOK: &str = r#"
- hosts: all
  tasks:
    - name: the host runs SysV init
      assert:
        that:
          - ansible_service_mgr == 'sysvinit'
    - name: nginx
      apt: { name: nginx, state: present }
    - name: home page
      copy:
        dest: /var/www/html/index.html
        content: "sysv {{ inventory_hostname }}\n"
    - name: nginx config
      copy:
        dest: /etc/nginx/conf.d/deploy.conf
        content: "server_tokens off;\n"
      notify: reload nginx
    - name: nginx runs at boot
      service: { name: nginx, state: started, enabled: yes }
  handlers:
    - name: reload nginx
      service: { name: nginx, state: reloaded }
"#;

/// `deploy` on lab instance 2.
fn deploy() -> Command {
    let mut command = common::deploy();
    command.env("DEPLOY_LAB_INSTANCE", INSTANCE);
    command
}

fn run(args: &[&str]) -> Output {
    deploy().args(args).output().expect("deploy runs")
}

fn ssh(host: &str, command: &str) -> Output {
    run(&["lab", "ssh", host, "--", command])
}

/// Brings lab instance 2 down when the test ends, passed or not.
struct Lab;

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = run(&["lab", "down"]);
    }
}

fn light_lab(hosts: u32) -> (Lab, PathBuf) {
    let _ = run(&["lab", "down"]);
    let up = run(&["lab", "up", &hosts.to_string(), "--init", "light"]);
    assert!(up.status.success(), "lab up: {}", common::stderr(&up));
    let inventory = run(&["lab", "inventory"]);
    assert!(inventory.status.success(), "{}", common::stderr(&inventory));
    (Lab, PathBuf::from(common::stdout(&inventory).trim()))
}

fn json_run(verb: &str, inventory: &Path, playbook: &Path) -> (i32, Value) {
    let out = deploy()
        .arg(verb)
        .arg("-i")
        .arg(inventory)
        .arg(playbook)
        .args(["--format", "json"])
        .output()
        .expect("deploy runs");
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|err| panic!("{verb}: not JSON ({err}): {}", common::stderr(&out)));
    (out.status.code().unwrap_or(-1), doc)
}

/// The tasks whose steps changed something on `host`, in order.
fn changed(host: &Value) -> Vec<String> {
    host["results"]
        .as_array()
        .expect("apply has results")
        .iter()
        .filter(|r| r["status"] == "changed")
        .map(|r| r["step"]["task"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn services_converge_and_heal_on_sysv_init_hosts() {
    common::require_lab();
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let (_lab, inventory) = light_lab(2);
    let dir = common::project(PLAYBOOK);
    let playbook = dir.path().join("site.yml");

    // The hosts are what the test says they are: PID 1 is not systemd.
    let init = ssh(
        "h1",
        "cat /proc/1/comm; test -d /run/systemd/system && echo systemd-running",
    );
    assert_eq!(common::stdout(&init), "init\n", "{}", common::stderr(&init));

    let (code, first) = json_run("apply", &inventory, &playbook);
    assert_eq!(code, 0, "first apply: {first:#}");
    for host in first["hosts"].as_array().unwrap() {
        assert_eq!(
            changed(host),
            ["nginx", "home page", "nginx config", "reload nginx"],
            "{}",
            host["plan"]["host"]
        );
    }
    for host in ["h1", "h2"] {
        let page = ssh(host, "curl -s http://localhost/");
        assert_eq!(common::stdout(&page), format!("sysv {host}\n"));
        let links = ssh(host, "ls /etc/rc2.d");
        assert!(
            common::stdout(&links).contains("S01nginx"),
            "{}",
            common::stdout(&links)
        );
    }

    // Converged: nothing changes, one exec per host, and check is clean.
    let (code, second) = json_run("apply", &inventory, &playbook);
    assert_eq!(code, 0, "second apply: {second:#}");
    for host in second["hosts"].as_array().unwrap() {
        assert_eq!(changed(host), Vec::<String>::new());
        assert_eq!(host["execs"], 1, "a no-op run is one exec");
    }

    // Drift through the init scripts: h1's nginx stopped and taken out of its runlevels.
    let drift = ssh("h1", "service nginx stop && update-rc.d nginx disable");
    assert!(drift.status.success(), "{}", common::stderr(&drift));
    let check = deploy()
        .arg("check")
        .arg("-i")
        .arg(&inventory)
        .arg(&playbook)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(2), "{}", common::stderr(&check));
    let report = common::stdout(&check);
    assert!(
        report.contains("h1: ~ service nginx  enabled no → yes, state stopped → started"),
        "{report}"
    );
    assert!(!report.contains("h2"), "h2 did not drift: {report}");

    let (code, healed) = json_run("apply", &inventory, &playbook);
    assert_eq!(code, 0, "{healed:#}");
    let h1 = &healed["hosts"][0];
    assert_eq!(h1["plan"]["host"], "h1");
    assert_eq!(changed(h1), ["nginx runs at boot"]);
    let status = ssh("h1", "service nginx status && ls /etc/rc2.d | grep -c S01nginx");
    assert!(status.status.success(), "{}", common::stderr(&status));
    let (code, _) = json_run("check", &inventory, &playbook);
    assert_eq!(code, 0, "check after the heal");

    // What only systemd can do is refused for the host, before anything runs.
    let reload = dir.path().join("reload.yml");
    std::fs::write(
        &reload,
        "- hosts: h1\n  tasks:\n    - systemd: { name: nginx, state: restarted, daemon_reload: true }\n",
    )
    .unwrap();
    let plan = deploy()
        .arg("plan")
        .arg("-i")
        .arg(&inventory)
        .arg(&reload)
        .output()
        .unwrap();
    let text = common::stdout(&plan) + &common::stderr(&plan);
    assert_eq!(plan.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "`masked`, `daemon_reload` and `daemon_reexec` need systemd, and the host runs SysV init"
        ),
        "{text}"
    );
}

/// The site's inventory (`inventories/lab`: its groups and variables) for this lab instance:
/// the instance's addresses (10.213.2.x) and its own key and known_hosts.
fn site_inventory() -> tempfile::TempDir {
    let source = common::project_root().join("inventories/lab");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("group_vars")).unwrap();
    let rewrite = |name: &str, from: &str, to: &str| {
        let text = std::fs::read_to_string(source.join(name)).unwrap();
        assert!(from.is_empty() || text.contains(from), "{name} holds {from}");
        std::fs::write(dir.path().join(name), text.replace(from, to)).unwrap();
    };
    rewrite("hosts.yml", "10.213.0.", &format!("10.213.{INSTANCE}."));
    rewrite(
        "group_vars/all.yml",
        "/var/tmp/deploy-lab/",
        &format!("/var/tmp/deploy-lab-{INSTANCE}/"),
    );
    rewrite("group_vars/lab.yml", "", "");
    dir
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn the_site_plans_and_converges_on_sysv_init_hosts() {
    common::require_lab();
    let _turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let (_lab, _) = light_lab(4);
    let package = common::build_elasticsearch_standin();
    let added = run(&["lab", "repo", "add", package.to_str().unwrap()]);
    assert!(added.status.success(), "{}", common::stderr(&added));
    let inventory = site_inventory();
    let playbook = common::project_root().join("playbooks/site.yml");

    // Fresh hosts: every host planned, none failed.
    let (code, plan) = json_run("plan", inventory.path(), &playbook);
    assert_eq!(code, 2, "{plan:#}");
    common::assert_every_host_planned(&plan, 4);

    let (code, applied) = json_run("apply", inventory.path(), &playbook);
    assert_eq!(code, 0, "{applied:#}");
    let (code, after) = json_run("plan", inventory.path(), &playbook);
    assert_eq!(code, 0, "{after:#}");

    // nginx on h1 proxies to the application on h2, started by its init script.
    let page = ssh("h1", "curl -fsS http://localhost/");
    assert!(
        common::stdout(&page).contains("app on h2"),
        "{}{}",
        common::stdout(&page),
        common::stderr(&page)
    );
    let health = ssh("h4", "curl -fsS http://10.213.2.14:9200/_cluster/health");
    assert!(common::stdout(&health).contains("\"cluster_name\": \"lab\""));
    let database = ssh(
        "h3",
        "runuser -u postgres -- psql -tAc 'select count(*) from pg_roles where rolname = $$app$$'",
    );
    assert_eq!(common::stdout(&database).trim(), "1");
}
