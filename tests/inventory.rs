//! `deploy inventory` on fixture inventories: golden `--list`/`--graph` output, every error
//! with its exact text, and the same inventories compared with `ansible-inventory` itself.
//!
//! Goldens live in `tests/fixtures/inventories/golden/`; run with `UPDATE_GOLDEN=1` to
//! rewrite them after a deliberate change (and check the diff against Ansible's output).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{oracle, project_root, stderr, stdout};
use deploy::inventory::Inventory;
use serde_json::Value;

fn fixtures() -> PathBuf {
    project_root().join("tests/fixtures/inventories")
}

/// The fixture inventories: a name for the goldens, and the `-i` arguments.
const CASES: &[(&str, &[&str])] = &[
    ("esup", &["esup/hosts"]),
    ("ini", &["ini/hosts.ini"]),
    ("yaml", &["yaml/inventory.yml"]),
    ("directory", &["directory"]),
    ("script", &["script/inventory.sh"]),
    ("script-no-meta", &["script/no-meta.sh"]),
    ("multi", &["multi/staging.ini", "multi/production.yml"]),
    ("combined", &["esup/hosts", "script/inventory.sh", "directory"]),
    ("host-list", &["a.example.org,b.example.org:2222,10.0.0.9,"]),
];

/// Runs `deploy inventory` from the fixtures directory, so paths in messages are short.
fn deploy_inventory(args: &[&str]) -> Output {
    common::deploy()
        .arg("inventory")
        .args(args)
        .current_dir(fixtures())
        .env("NO_COLOR", "1")
        .output()
        .expect("the deploy binary runs")
}

fn inventory_args(sources: &[&str]) -> Vec<String> {
    sources
        .iter()
        .flat_map(|s| ["-i".to_string(), s.to_string()])
        .collect()
}

fn run_ok(args: &[String]) -> String {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = deploy_inventory(&args);
    assert!(
        output.status.success(),
        "deploy inventory {args:?} failed:\n{}",
        stderr(&output)
    );
    stdout(&output)
}

fn check_golden(name: &str, actual: &str) {
    let path = fixtures().join("golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("golden file is writable");
        return;
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

#[test]
fn list_and_graph_match_the_goldens() {
    for (name, sources) in CASES {
        let mut args = inventory_args(sources);
        args.push("--list".to_string());
        check_golden(&format!("{name}.list.json"), &run_ok(&args));
        args.pop();
        args.push("--graph".to_string());
        check_golden(&format!("{name}.graph.txt"), &run_ok(&args));
    }
}

#[test]
fn host_and_limit_match_the_goldens() {
    let args = |extra: &[&str]| -> Vec<String> {
        let mut args = inventory_args(&["esup/hosts"]);
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    check_golden("esup.host-esup-exp.json", &run_ok(&args(&["--host", "esup-exp"])));
    check_golden("esup.host-esup-db1.json", &run_ok(&args(&["--host", "esup-db1"])));
    check_golden(
        "esup.limit-db-and-esup.json",
        &run_ok(&args(&["--list", "--limit", "db:&esup"])),
    );
    check_golden(
        "ini.host-typed.json",
        &run_ok(&[
            "-i".to_string(),
            "ini/hosts.ini".to_string(),
            "--host".to_string(),
            "typed".to_string(),
        ]),
    );
}

/// Each error case: the arguments, then the exact stderr.
const ERRORS: &[(&[&str], &str)] = &[
    (
        &["-i", "errors/bad-section.ini"],
        "error: errors/bad-section.ini:1:1: invalid section header `[web`\n\
         hint: write `[group]`, `[group:children]` or `[group:vars]`, with a closing `]` and no spaces inside\n",
    ),
    (
        &["-i", "errors/bad-host-var.ini"],
        "error: errors/bad-host-var.ini:2:6: expected `key=value` host variable, found `ansible_port`\n\
         hint: host variables follow the host name as `name=value`; quote values that contain spaces\n",
    ),
    (
        &["-i", "errors/bad-vars-line.ini"],
        "error: errors/bad-vars-line.ini:5:1: expected `key=value` in `[web:vars]`, found `http_port`\n\
         hint: group variables are written one per line as `name=value`\n",
    ),
    (
        &["-i", "errors/vars-undefined-group.ini"],
        "error: errors/vars-undefined-group.ini:4:1: section `[webs:vars]` is for an undefined group `webs`\n\
         hint: did you mean `web`?\n",
    ),
    (
        // Ansible 2.19 refuses this too ("includes undefined group").
        &["-i", "errors/children-undefined-group.ini"],
        "error: errors/children-undefined-group.ini:6:1: section `[prod:children]` includes undefined group `database`\n\
         hint: declare it with a `[database]` section (it may be empty)\n",
    ),
    (
        &["-i", "errors/bad-range.ini"],
        "error: errors/bad-range.ini:2:1: invalid host range in `web[01:3].example.org`: host range must specify equal-length begin and end formats\n\
         hint: ranges are written `[1:9]`, `[01:20]`, `[a:f]` or with a step `[1:9:2]`\n",
    ),
    (
        &["-i", "errors/hosts-as-list.yml"],
        "error: errors/hosts-as-list.yml:5:9: `hosts` of group `web` must be a mapping, found a list\n\
         hint: write each host as a key: `hosts: {web1: {}, web2: {}}` or one `web1:` per line\n",
    ),
    (
        &["-i", "errors/unknown-key.yml"],
        "error: errors/unknown-key.yml:4:7: unexpected key `hots` in group `web`: expected `hosts`, `children` or `vars`\n\
         hint: did you mean `hosts`?\n",
    ),
    (
        &["-i", "errors/not-executable.sh"],
        "error: errors/not-executable.sh:2:7: expected `key=value` host variable, found `{\"web\": {\"hosts\": [\"web1\"]}}`\n\
         hint: errors/not-executable.sh starts with `#!` but is not executable; to use it as a dynamic inventory script: chmod +x errors/not-executable.sh\n",
    ),
    (
        &["-i", "errors/failing-script.sh"],
        "error: inventory script `errors/failing-script.sh --list` exited with code 3\n\
         stderr:\n\
         cannot reach the CMDB at cmdb.example.org\n",
    ),
    (
        &["-i", "errors/invalid-json.sh"],
        "error: inventory script `errors/invalid-json.sh --list` printed invalid JSON: trailing comma at line 1 column 17\n",
    ),
    (
        &["-i", "missing/hosts"],
        "error: inventory source `missing/hosts` does not exist (a file, a directory, a script, or a comma-separated host list like `web1,web2,`)\n",
    ),
    (
        &["-i", "esup/hosts", "--list", "--limit", "web:!"],
        "error: invalid --limit `web:!`: invalid host pattern `web:!`: `!` must be followed by a group or host name\n",
    ),
    (
        &["-i", "esup/hosts", "--list", "--limit", "web[0"],
        "error: invalid --limit `web[0`: invalid host pattern `web[0`: unbalanced `[` and `]`\n",
    ),
    (
        &["-i", "esup/hosts", "--list", "--limit", "web[9]"],
        "error: invalid --limit `web[9]`: no hosts matched the subscripted pattern `web[9]`\n",
    ),
    (
        &["-i", "esup/hosts", "--host", "esup-web"],
        "error: --host `esup-web` does not name a single host of the inventory (did you mean `esup-web1`?)\n",
    ),
];

#[test]
fn errors_have_exact_text_and_exit_code_1() {
    // Git keeps the executable bit, but a checkout through some tools may not: make sure the
    // scripts are what the cases expect.
    for (path, executable) in [
        ("errors/failing-script.sh", true),
        ("errors/invalid-json.sh", true),
        ("errors/not-executable.sh", false),
        ("script/inventory.sh", true),
        ("script/no-meta.sh", true),
    ] {
        set_executable(&fixtures().join(path), executable);
    }
    for (args, expected) in ERRORS {
        let output = deploy_inventory(args);
        assert_eq!(stderr(&output), *expected, "stderr of deploy inventory {args:?}");
        assert_eq!(
            output.status.code(),
            Some(1),
            "exit code of deploy inventory {args:?}"
        );
        assert_eq!(stdout(&output), "", "stdout of deploy inventory {args:?}");
    }
}

#[test]
fn unmatched_limit_warns_and_lists_no_hosts() {
    let output = deploy_inventory(&["-i", "esup/hosts", "--list", "--limit", "nosuchgroup"]);
    assert!(output.status.success());
    assert_eq!(
        stderr(&output),
        "warning: could not match supplied host pattern, ignoring: nosuchgroup\n"
    );
    let listed: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(listed["_meta"]["hostvars"], serde_json::json!({}));
}

fn set_executable(path: &Path, executable: bool) {
    use std::os::unix::fs::PermissionsExt;
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("fixture is writable");
}

// Differential tests: Ansible itself is the oracle.

/// Runs an Ansible tool with a clean configuration: no user config, no collections cache.
/// (`ANSIBLE_CONFIG=/dev/null` is refused by ansible-core 2.19, so an empty file is used.)
fn ansible(tool: &Path, args: &[String]) -> Output {
    let home = tempfile::tempdir().expect("temp dir");
    let config = home.path().join("ansible.cfg");
    std::fs::write(&config, "").expect("temp config");
    Command::new(tool)
        .args(args)
        .current_dir(fixtures())
        .env("ANSIBLE_CONFIG", &config)
        .env("ANSIBLE_HOME", home.path())
        .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "False")
        .env("ANSIBLE_NOCOLOR", "1")
        // The legacy script shapes are tested on purpose; their deprecation notes are noise.
        .env("ANSIBLE_DEPRECATION_WARNINGS", "False")
        .output()
        .expect("the oracle runs")
}

fn ansible_json(tool: &Path, args: &[String]) -> Value {
    let output = ansible(tool, args);
    assert!(
        output.status.success(),
        "ansible-inventory {args:?} failed:\n{}",
        stderr(&output)
    );
    assert!(
        !stderr(&output).contains("WARNING"),
        "ansible-inventory {args:?} warned, so it did not read the fixture as deploy does:\n{}",
        stderr(&output)
    );
    serde_json::from_str(&stdout(&output)).expect("ansible-inventory prints JSON")
}

#[test]
fn list_host_and_graph_agree_with_ansible_inventory() {
    let tool = oracle("ansible-inventory");
    for (name, sources) in CASES {
        let mut args = inventory_args(sources);
        args.push("--list".to_string());
        let ours: Value = serde_json::from_str(&run_ok(&args)).expect("deploy prints JSON");
        // serde_json maps compare without regard to key order; lists (hosts, children) keep
        // Ansible's meaningful order.
        assert_eq!(ours, ansible_json(&tool, &args), "--list of {name}");

        args.pop();
        args.push("--graph".to_string());
        let theirs = stdout(&ansible(&tool, &args));
        assert_eq!(run_ok(&args), theirs, "--graph of {name}");
    }
    for host in ["esup-exp", "esup-db1", "esup-search-b", "esup-db2"] {
        let args = inventory_args(&["esup/hosts"])
            .into_iter()
            .chain(["--host".to_string(), host.to_string()]);
        let args: Vec<String> = args.collect();
        let ours: Value = serde_json::from_str(&run_ok(&args)).expect("deploy prints JSON");
        assert_eq!(ours, ansible_json(&tool, &args), "--host {host}");
    }
}

#[test]
fn limits_agree_with_ansible_inventory() {
    let tool = oracle("ansible-inventory");
    for limit in [
        "db:&esup",
        "web:!experimental",
        "esup-search-[a:b]",
        "search[1:]",
        "~esup-(web|app)1",
        "*cache*,db[0]",
    ] {
        let args: Vec<String> = inventory_args(&["esup/hosts"])
            .into_iter()
            .chain(["--list".to_string(), "--limit".to_string(), limit.to_string()])
            .collect();
        let ours: Value = serde_json::from_str(&run_ok(&args)).expect("deploy prints JSON");
        assert_eq!(ours, ansible_json(&tool, &args), "--limit {limit}");
    }
}

/// `hosts:` patterns: the selected hosts and their order, against `ansible --list-hosts`.
#[test]
fn patterns_select_the_hosts_ansible_selects_in_its_order() {
    let tool = oracle("ansible");
    let sources = ["esup/hosts", "ini/hosts.ini"];
    let inventory = Inventory::load(&sources.map(|s| fixtures().join(s))).expect("fixtures load");
    let patterns = [
        "all",
        "*",
        "web",
        "web:db",
        "db,web",
        "web:&esup",
        "web:!experimental",
        "esup:!db:!web",
        "&db",
        "!web",
        "esup-web*",
        "*.example.org",
        "~esup-(db|cache)",
        "web[0]",
        "web[-1]",
        "web[1:2]",
        "search[1:]",
        "prod:&db:!db-b.example.org",
        "ungrouped",
        "esup-db2",
        "types:web01.example.org",
        "localhost",
    ];
    // Ansible orders the hosts of grandchild groups by walking a Python set of groups hashed
    // by object id, so their order changes from run to run; only the hosts are compared.
    const UNORDERED: [&str; 5] = ["all", "*", "&db", "!web", "prod:&db:!db-b.example.org"];
    for pattern in patterns {
        let mut args = inventory_args(&sources);
        args.extend([pattern.to_string(), "--list-hosts".to_string()]);
        let output = ansible(&tool, &args);
        assert!(output.status.success(), "ansible {pattern}: {}", stderr(&output));
        let mut theirs: Vec<String> = stdout(&output)
            .lines()
            .skip(1)
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        let mut ours = inventory
            .select_with_warnings(pattern, None)
            .expect("valid pattern")
            .hosts;
        if UNORDERED.contains(&pattern) {
            theirs.sort();
            ours.sort();
        }
        assert_eq!(ours, theirs, "hosts of pattern {pattern}");
    }
}
