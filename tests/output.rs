//! What `plan`, `check` and `apply` print, on a fixture project whose four hosts are this
//! machine (`ansible_connection=local`, no SSH): golden human and Markdown plans, `check`'s
//! silence, drift lines and exit codes, its Prometheus metrics file, and every JSON document
//! validated against docs/schema/deploy-output-v1.json.
//!
//! The fixture only touches files under a temporary directory (`-e base=...`), shown as
//! `$BASE` in the golden files. `UPDATE_GOLDEN=1 cargo test --test output` rewrites them.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

fn fixture() -> PathBuf {
    common::project_root().join("tests/fixtures/output")
}

/// A temporary directory whose path always has the same length, so that the plan's columns,
/// aligned on the real paths, line up the same way on every machine.
struct Base {
    dir: tempfile::TempDir,
}

impl Base {
    fn new() -> Base {
        let dir = tempfile::Builder::new()
            .prefix("deploy-output-")
            .rand_bytes(6)
            .tempdir_in("/tmp")
            .expect("a temporary directory in /tmp");
        Base { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn text(&self) -> String {
        self.path().display().to_string()
    }

    fn write(&self, relative: &str, content: &str, mode: u32) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// The state `site.yml` plans against: in `one/` (local1) and `shared/` (local2..local4),
    /// a configuration to change, a secret whose mode is too open, a file to remove, and no
    /// welcome page yet.
    fn prepare_site(&self) {
        for site in ["one", "shared"] {
            let conf = format!(
                "# managed by deploy\nLISTEN = 80\nworkers = 4\nlog = {}/{site}/app.log\n",
                self.text()
            );
            self.write(&format!("{site}/app.conf"), &conf, 0o644);
            self.write(&format!("{site}/secret"), "s3cret\n", 0o644);
            self.write(&format!("{site}/obsolete"), "old\n", 0o644);
        }
    }

    /// What `converged.yml` wants, on every host.
    fn prepare_converged(&self) {
        for site in ["one", "shared"] {
            self.write(&format!("{site}/motd"), "hello\n", 0o644);
            self.write(&format!("{site}/key"), "key\n", 0o600);
        }
    }

    /// Runs `deploy ARGS -e base=BASE` from the fixture project.
    fn deploy(&self, args: &[&str]) -> Output {
        common::deploy()
            .current_dir(fixture())
            .args(args)
            .arg("-e")
            .arg(format!("base={}", self.text()))
            .env_remove("NO_COLOR")
            .output()
            .expect("deploy runs")
    }

    fn filter(&self, text: &str) -> String {
        text.replace(&self.text(), "$BASE")
    }
}

/// Compares `actual` with a golden file, or rewrites it under `UPDATE_GOLDEN=1`.
fn assert_golden(name: &str, actual: &str) {
    let path = fixture().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    assert!(
        expected == actual,
        "{name} differs (UPDATE_GOLDEN=1 rewrites it)\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

#[test]
fn plan_shows_each_change_once_per_group_of_identical_hosts() {
    let base = Base::new();
    base.prepare_site();
    let output = base.deploy(&["plan", "-i", "hosts", "site.yml", "--no-color"]);
    assert_eq!(code(&output), 2, "changes pending: {}", common::stderr(&output));
    let plan = base.filter(&common::stdout(&output));
    assert!(!plan.contains('\x1b'), "no colour when not a terminal");
    assert_golden("plan.txt", &plan);
}

#[test]
fn plan_renders_markdown_for_a_merge_request() {
    let base = Base::new();
    base.prepare_site();
    let output = base.deploy(&["plan", "-i", "hosts", "site.yml", "--format", "markdown"]);
    assert_eq!(code(&output), 2, "changes pending: {}", common::stderr(&output));
    assert_golden("plan.md", &base.filter(&common::stdout(&output)));
}

#[test]
fn check_is_silent_when_converged_and_reports_drift_line_by_line() {
    let base = Base::new();
    base.prepare_converged();
    let metrics = base.path().join("metrics/deploy.prom");
    std::fs::create_dir_all(metrics.parent().unwrap()).unwrap();
    let metrics_arg = metrics.display().to_string();
    let check = [
        "check",
        "-i",
        "hosts",
        "converged.yml",
        "--metrics-file",
        &metrics_arg,
    ];

    let output = base.deploy(&check);
    assert_eq!(code(&output), 0, "converged: {}", common::stderr(&output));
    assert_eq!(common::stdout(&output), "", "silent for cron when converged");
    let samples = parse_metrics(&std::fs::read_to_string(&metrics).unwrap());
    for host in ["local1", "local2", "local3", "local4"] {
        assert_eq!(samples[&sample("deploy_check_drifted_resources", host)], 0.0);
        assert_eq!(samples[&sample("deploy_check_host_up", host)], 1.0);
        assert_eq!(samples[&sample("deploy_check_host_failed", host)], 0.0);
    }
    let stamp = samples[&("deploy_check_last_run_timestamp_seconds".to_string(), None)];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - stamp).abs() < 600.0, "a current timestamp: {stamp}");
    let duration = samples[&("deploy_check_duration_seconds".to_string(), None)];
    assert!((0.0..600.0).contains(&duration), "a duration: {duration}");

    // Drift by hand: the shared key becomes readable, local1's motd changes.
    std::fs::set_permissions(
        base.path().join("shared/key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::write(base.path().join("one/motd"), "tampered\n").unwrap();
    let output = base.deploy(&check);
    assert_eq!(code(&output), 2, "drift: {}", common::stderr(&output));
    assert_eq!(
        base.filter(&common::stdout(&output)),
        "local1: ~ copy $BASE/one/motd  content  (motd, converged.yml:9)\n\
         local2: ~ file $BASE/shared/key  mode 0644 → 0600  (key, converged.yml:14)\n\
         local3: ~ file $BASE/shared/key  mode 0644 → 0600  (key, converged.yml:14)\n\
         local4: ~ file $BASE/shared/key  mode 0644 → 0600  (key, converged.yml:14)\n"
    );
    let samples = parse_metrics(&std::fs::read_to_string(&metrics).unwrap());
    for host in ["local1", "local2", "local3", "local4"] {
        assert_eq!(samples[&sample("deploy_check_drifted_resources", host)], 1.0);
    }
    let left: Vec<_> = std::fs::read_dir(metrics.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["deploy.prom"], "no temporary file left beside the metrics");
}

#[test]
fn check_fails_with_the_reason_when_a_host_is_unreachable() {
    let base = Base::new();
    base.prepare_converged();
    // Nothing listens on port 1: the connection is refused at once.
    let inventory = base.path().join("hosts-down");
    std::fs::write(
        &inventory,
        "[app]\n\
         local1 ansible_connection=local site=one\n\
         down ansible_host=127.0.0.1 ansible_port=1 site=one\n",
    )
    .unwrap();
    let metrics = base.path().join("deploy.prom");
    let output = base.deploy(&[
        "check",
        "-i",
        &inventory.display().to_string(),
        "converged.yml",
        "--metrics-file",
        &metrics.display().to_string(),
        "--timeout",
        "5",
    ]);
    assert_eq!(
        code(&output),
        1,
        "unreachable is an error: {}",
        common::stderr(&output)
    );
    let stdout = common::stdout(&output);
    assert!(
        stdout.starts_with("down: error: unreachable"),
        "the reason, on the host's line: {stdout}"
    );
    assert_eq!(stdout.lines().count(), 1, "local1 has no drift: {stdout}");
    let samples = parse_metrics(&std::fs::read_to_string(&metrics).unwrap());
    assert_eq!(samples[&sample("deploy_check_host_up", "down")], 0.0);
    assert_eq!(samples[&sample("deploy_check_host_failed", "down")], 1.0);
    assert_eq!(samples[&sample("deploy_check_host_up", "local1")], 1.0);
    assert!(
        !samples.contains_key(&sample("deploy_check_drifted_resources", "down")),
        "no drift count for a host that was not checked"
    );
}

#[test]
fn metrics_are_refused_outside_check() {
    let base = Base::new();
    let output = base.deploy(&[
        "plan",
        "-i",
        "hosts",
        "converged.yml",
        "--metrics-file",
        "/nonexistent/x.prom",
        "--format",
        "json",
    ]);
    assert_eq!(code(&output), 1);
    let document = json_document(&output);
    assert!(document["error"].as_str().unwrap().contains("--metrics-file"));
}

/// One metric sample's key: its name and its `host` label.
fn sample(name: &str, host: &str) -> (String, Option<String>) {
    (name.to_string(), Some(host.to_string()))
}

/// A small reader of the Prometheus text format: every sample must belong to a family
/// declared by `# HELP` and `# TYPE` lines before it; label values are unescaped.
fn parse_metrics(text: &str) -> BTreeMap<(String, Option<String>), f64> {
    let mut helped = Vec::new();
    let mut typed = Vec::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("# HELP name text");
            assert!(!help.is_empty(), "{line}");
            helped.push(name.to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(["gauge", "counter", "untyped"].contains(&kind), "{line}");
            typed.push(name.to_string());
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "unexpected line: {line:?}"
        );
        let (series, value) = line.rsplit_once(' ').expect("a sample: series value");
        let value: f64 = value.parse().unwrap_or_else(|e| panic!("{line}: {e}"));
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels end with }");
                (name.to_string(), parse_labels(body))
            }
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "metric name {name}"
        );
        assert!(
            helped.contains(&name) && typed.contains(&name),
            "{name} lacks HELP/TYPE"
        );
        let host = labels.get("host").cloned();
        assert!(
            samples.insert((name, host), value).is_none(),
            "duplicate sample: {line}"
        );
    }
    samples
}

fn parse_labels(body: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "label values are quoted");
        let mut value = String::new();
        loop {
            match chars.next().expect("an unterminated label value") {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c @ ('\\' | '"')) => value.push(c),
                    other => panic!("bad escape {other:?} in {body}"),
                },
                c => value.push(c),
            }
        }
        labels.insert(name, value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    labels
}

#[test]
fn the_metrics_reader_unescapes_labels() {
    let labels = parse_labels(r#"host="a\"b\\c\nd",x="y""#);
    assert_eq!(labels["host"], "a\"b\\c\nd");
    assert_eq!(labels["x"], "y");
}

/// The schema of `--format json`, compiled.
fn schema() -> jsonschema::Validator {
    let path = common::project_root().join("docs/schema/deploy-output-v1.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::draft202012::new(&schema).expect("the schema compiles")
}

/// Stdout as exactly one JSON document, valid against the schema.
fn json_document(output: &Output) -> Value {
    let stdout = common::stdout(output);
    let document: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{stdout}\nstderr: {}",
            common::stderr(output)
        )
    });
    let validator = schema();
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{document:#}");
    assert_eq!(document["exit_code"], code(output), "exit_code is the process's");
    document
}

#[test]
fn json_plans_check_and_apply_match_the_schema() {
    let base = Base::new();
    base.prepare_site();
    let plan = json_document(&base.deploy(&["plan", "-i", "hosts", "site.yml", "--format", "json"]));
    assert_eq!(plan["command"], "plan");
    assert_eq!(plan["summary"]["hosts"], 4);
    let actions: Vec<&str> = plan["hosts"][0]["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["diff"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["change", "change", "create", "remove", "run", "unknown"]
    );

    base.prepare_converged();
    let check = json_document(&base.deploy(&["check", "-i", "hosts", "converged.yml", "--format", "json"]));
    assert_eq!(check["exit_code"], 0);

    let apply = json_document(&base.deploy(&[
        "apply", "-i", "hosts", "site.yml", "--limit", "local1", "--format", "json",
    ]));
    assert_eq!(apply["exit_code"], 0, "{apply:#}");
    let statuses: Vec<&str> = apply["hosts"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"changed"), "{statuses:?}");
    assert!(!base.path().join("one/obsolete").exists(), "apply removed it");
}

#[test]
fn json_reports_a_template_error_in_the_host_it_happened_on() {
    // Without `-e base=...`, the tasks' paths cannot be templated.
    let output = common::deploy()
        .current_dir(fixture())
        .args([
            "plan", "-i", "hosts", "site.yml", "--limit", "local1", "--format", "json",
        ])
        .output()
        .unwrap();
    let document = json_document(&output);
    assert_eq!(document["exit_code"], 1);
    let error = document["hosts"][0]["plan"]["error"].as_str().unwrap();
    assert!(error.contains("base"), "names the undefined variable: {error}");
}

#[test]
fn json_is_one_document_even_when_the_playbook_does_not_load() {
    let output = common::deploy()
        .current_dir(fixture())
        .args(["check", "-i", "hosts", "missing.yml", "--format", "json"])
        .output()
        .unwrap();
    let document = json_document(&output);
    assert_eq!(document["command"], "check");
    assert_eq!(document["exit_code"], 1);
    let error = document["error"].as_str().unwrap();
    assert!(error.contains("missing.yml"), "{error}");
    assert!(
        common::stderr(&output).contains("missing.yml"),
        "the error is on stderr too"
    );
}

#[test]
fn the_schema_refuses_what_the_documentation_does_not_describe() {
    let validator = schema();
    let good = serde_json::json!({
        "version": 1, "command": "plan", "exit_code": 0,
        "summary": {"hosts": 0, "changes": 0, "failed": 0, "unreachable": 0},
        "hosts": []
    });
    assert!(validator.is_valid(&good));
    let mut unknown_field = good.clone();
    unknown_field["surprise"] = Value::Bool(true);
    assert!(
        !validator.is_valid(&unknown_field),
        "undocumented fields are refused"
    );
    let mut wrong_version = good.clone();
    wrong_version["version"] = Value::from(2);
    assert!(!validator.is_valid(&wrong_version));
    let error_without_message = serde_json::json!({"version": 1, "command": "plan", "exit_code": 1});
    assert!(!validator.is_valid(&error_without_message));
}

#[test]
fn converged_hosts_are_one_line_and_quiet_prints_nothing() {
    let base = Base::new();
    base.prepare_converged();
    let output = base.deploy(&["plan", "-i", "hosts", "converged.yml"]);
    assert_eq!(code(&output), 0, "{}", common::stderr(&output));
    assert_eq!(
        common::stdout(&output),
        "local1..local4 (4 hosts)  converged, 2 resources each\n\n\
         Plan: 0 changes on 0 of 4 hosts; 4 hosts converged.\n"
    );
    let output = base.deploy(&["plan", "-i", "hosts", "converged.yml", "--quiet"]);
    assert_eq!(code(&output), 0, "{}", common::stderr(&output));
    assert_eq!(common::stdout(&output), "");
}

/// Runs `deploy` under a pseudo-terminal (util-linux `script`), as a user at a terminal would.
fn on_terminal(base: &Base, args: &str, env: &[(&str, &str)]) -> String {
    let command = format!(
        "cd '{}' && '{}' {args} -e base='{}'",
        fixture().display(),
        env!("CARGO_BIN_EXE_deploy"),
        base.text()
    );
    let mut script = std::process::Command::new("script");
    script
        .args(["-qec", &command, "/dev/null"])
        .env_remove("NO_COLOR");
    for (name, value) in env {
        script.env(name, value);
    }
    let output = script.output().expect("util-linux `script` runs");
    common::stdout(&output)
}

#[test]
fn plans_are_coloured_only_on_a_terminal_and_without_no_color() {
    common::require("util-linux `script`", common::which("script").is_some());
    let base = Base::new();
    base.prepare_site();
    let plan = "plan -i hosts site.yml --limit local1";
    let coloured = on_terminal(&base, plan, &[]);
    assert!(coloured.contains("\x1b[32m+welcome\x1b[0m"), "{coloured}");
    let flag = on_terminal(&base, &format!("{plan} --no-color"), &[]);
    assert!(flag.contains("+welcome") && !flag.contains('\x1b'), "{flag}");
    let env = on_terminal(&base, plan, &[("NO_COLOR", "1")]);
    assert!(env.contains("+welcome") && !env.contains('\x1b'), "{env}");

    // `check` on a terminal says that it checked; cron (no terminal) gets silence.
    base.prepare_converged();
    let check = on_terminal(&base, "check -i hosts converged.yml", &[]);
    assert!(
        check.contains("No drift: 4 hosts match the playbook (8 resources)."),
        "{check}"
    );
    let quiet = on_terminal(&base, "check -i hosts converged.yml --quiet", &[]);
    assert_eq!(quiet, "");
}
