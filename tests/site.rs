//! The site playbook on four lab hosts, end to end: nginx in front of the application server,
//! PostgreSQL reachable from the application only, Redis with a password, and Elasticsearch —
//! the lab's stand-in package, built by `tests/packages/elasticsearch/build`, which exercises the
//! role's install, configuration and service steps, not Elasticsearch itself.

mod common;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

fn deploy_in_project(args: &[&str]) -> Output {
    common::deploy()
        .current_dir(common::project_root())
        .args(args)
        .output()
        .expect("deploy runs")
}

fn lab_ssh(host: &str, command: &str) -> Output {
    common::run_deploy(["lab", "ssh", host, "--", command])
}

fn apply_json(extra: &[&str]) -> (i32, Value) {
    run_json("apply", extra)
}

fn run_json(verb: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        verb,
        "-i",
        "inventories/lab",
        "playbooks/site.yml",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = deploy_in_project(&args);
    let json: Value = serde_json::from_str(&common::stdout(&out)).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            common::stdout(&out),
            common::stderr(&out)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

fn changed(json: &Value, host: &str) -> Vec<String> {
    json["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["plan"]["host"] == host)
        .flat_map(|h| h["results"].as_array().unwrap().iter())
        .filter(|r| r["status"] == "changed")
        .map(|r| r["step"]["task"].as_str().unwrap().to_string())
        .collect()
}

fn http_get(address: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connects");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: app.lab\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// A page that contains `needle`, retried for a few seconds: nginx reloads gracefully, so its
/// old workers may answer the first requests after a reload.
fn page_with(address: &str, path: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let page = http_get(address, path);
        if page.contains(needle) || std::time::Instant::now() > deadline {
            return page;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
#[ignore = "lab test: needs root; scripts/test runs it"]
fn the_site_converges_and_serves() {
    common::require_lab();
    let _ = common::run_deploy(["lab", "down"]);
    let up = common::run_deploy(["lab", "up", "4"]);
    assert!(up.status.success(), "{}", common::stderr(&up));
    let package = common::build_elasticsearch_standin();
    let added = common::run_deploy([
        Path::new("lab").as_os_str(),
        "repo".as_ref(),
        "add".as_ref(),
        package.as_os_str(),
    ]);
    assert!(added.status.success(), "{}", common::stderr(&added));

    // The first thing a user runs: the plan of never-deployed hosts. Every host is planned,
    // none fails; what depends on earlier changes is known after apply.
    let (code, plan) = run_json("plan", &[]);
    assert_eq!(code, 2, "{plan:#}");
    common::assert_every_host_planned(&plan, 4);

    let (code, first) = apply_json(&[]);
    assert_eq!(code, 0, "{first:#}");
    // The plan after apply has nothing to do.
    let (code, after) = run_json("plan", &[]);
    assert_eq!(code, 0, "{after:#}");

    // nginx on h1 proxies to the application on h2.
    let page = page_with("10.213.0.11:80", "/", "app on h2");
    assert!(page.contains("app on h2"), "{page}");
    // PostgreSQL: the application's user logs in from h2, and is refused from h1.
    let from_app = lab_ssh(
        "h2",
        "PGPASSWORD=lab-app-secret psql -h h3 -U app -d appdb -tAc 'select current_user'",
    );
    assert_eq!(
        common::stdout(&from_app).trim(),
        "app",
        "{}",
        common::stderr(&from_app)
    );
    let install = lab_ssh(
        "h1",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-client >/dev/null 2>&1",
    );
    assert!(install.status.success());
    let from_web = lab_ssh(
        "h1",
        "PGPASSWORD=lab-app-secret psql -h h3 -U app -d appdb -tAc 'select 1'",
    );
    assert!(!from_web.status.success());
    assert!(
        common::stderr(&from_web).contains("no pg_hba.conf entry"),
        "{}",
        common::stderr(&from_web)
    );
    // Elasticsearch (the stand-in) answers on h4.
    let health = http_get("10.213.0.14:9200", "/_cluster/health");
    assert!(
        health.contains("\"cluster_name\": \"lab\"") || health.contains("\"cluster_name\":\"lab\""),
        "{health}"
    );
    // Redis answers PING with the password, from the application host.
    let ping = lab_ssh(
        "h2",
        "REDISCLI_AUTH=lab-redis-secret redis-cli -h 10.213.0.13 ping",
    );
    assert_eq!(common::stdout(&ping).trim(), "PONG", "{}", common::stderr(&ping));

    // A second apply changes nothing, in one exec per host.
    let (code, second) = apply_json(&[]);
    assert_eq!(code, 0, "{second:#}");
    for host in second["hosts"].as_array().unwrap() {
        let name = host["plan"]["host"].as_str().unwrap();
        assert_eq!(
            changed(&second, name),
            Vec::<String>::new(),
            "{name} changed on a re-run"
        );
        assert_eq!(host["execs"], 1, "{name}: a no-op run is one exec");
    }

    // One setting that needs a reload: the plan shows the file diff and the reload handler only.
    let plan = deploy_in_project(&[
        "plan",
        "-i",
        "inventories/lab",
        "playbooks/site.yml",
        "--limit",
        "db",
        "-e",
        r#"{"postgresql_settings": {"log_min_duration_statement": 500, "work_mem": "4MB"}}"#,
    ]);
    assert_eq!(plan.status.code(), Some(2), "{}", common::stdout(&plan));
    let text = common::stdout(&plan);
    assert!(
        text.contains("-log_min_duration_statement = 1000")
            && text.contains("+log_min_duration_statement = 500"),
        "{text}"
    );
    assert!(text.contains("handler  reload postgresql"), "{text}");
    assert!(!text.contains("restart postgresql"), "{text}");
    // One that needs a restart.
    let (code, restart) = apply_json(&["--limit", "db", "-e", "postgresql_max_connections=120"]);
    assert_eq!(code, 0, "{restart:#}");
    let h3 = changed(&restart, "h3");
    assert!(
        h3.contains(&"settings that need a restart".to_string())
            && h3.contains(&"restart postgresql".to_string()),
        "{h3:?}"
    );
    assert!(!h3.contains(&"reload postgresql".to_string()), "{h3:?}");
    let max = lab_ssh("h3", "runuser -u postgres -- psql -tAc 'show max_connections'");
    assert_eq!(common::stdout(&max).trim(), "120");
    // Back to the inventory's value (a restart again), services still answering.
    let (code, _) = apply_json(&["--limit", "db"]);
    assert_eq!(code, 0);

    // A broken nginx directive is caught by validation: the live file is untouched, nginx
    // keeps serving, and the failure carries nginx's own message.
    let before = lab_ssh("h1", "sha256sum /etc/nginx/sites-available/app");
    let broken = deploy_in_project(&[
        "apply",
        "-i",
        "inventories/lab",
        "playbooks/site.yml",
        "--limit",
        "web",
        "-e",
        r#"{"nginx_vhosts": [{"name": "app", "extra": "bogus_directive on;", "locations": [{"path": "/", "proxy_pass": "http://app_backend"}]}]}"#,
    ]);
    assert_eq!(broken.status.code(), Some(1));
    let report = format!("{}{}", common::stdout(&broken), common::stderr(&broken));
    assert!(
        report.contains("unknown directive \"bogus_directive\""),
        "{report}"
    );
    let after = lab_ssh("h1", "sha256sum /etc/nginx/sites-available/app");
    assert_eq!(
        common::stdout(&before),
        common::stdout(&after),
        "the live file is untouched"
    );
    assert!(
        page_with("10.213.0.11:80", "/", "app on h2").contains("app on h2"),
        "nginx still serves"
    );

    let down = common::run_deploy(["lab", "down"]);
    assert!(down.status.success(), "{}", common::stderr(&down));
}
