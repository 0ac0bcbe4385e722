//! Unit tests of the inventory model: parsing, reconciliation, precedence and patterns.

use std::fs;
use std::path::Path;

use serde_json::json;

use super::*;

fn ini(text: &str) -> Inventory {
    let mut inventory = Inventory::empty();
    ini::load(&mut inventory, text, Path::new("hosts")).expect("valid INI");
    inventory.reconcile();
    inventory
}

fn ini_error(text: &str) -> String {
    let mut inventory = Inventory::empty();
    let err = ini::load(&mut inventory, text, Path::new("hosts")).expect_err("invalid INI");
    match crate::error::hint_of(&err) {
        Some(hint) => format!("{err}\nhint: {hint}"),
        None => err.to_string(),
    }
}

fn select(inventory: &Inventory, pattern: &str) -> Vec<String> {
    inventory
        .select_with_warnings(pattern, None)
        .expect("valid pattern")
        .hosts
}

const FLEET: &str = "\
lone
[web]
web[1:3]
[db]
db1
web2
[prod:children]
web
db
[staging]
stg1
";

#[test]
fn ini_hosts_groups_and_ungrouped() {
    let inventory = ini(FLEET);
    // `web` and `db` have a parent, so they are not children of `all`.
    assert_eq!(
        inventory.groups["all"].children,
        ["ungrouped", "prod", "staging"].map(String::from)
    );
    assert_eq!(inventory.groups["ungrouped"].hosts, ["lone"]);
    assert_eq!(inventory.group_hosts("prod"), ["web1", "web2", "web3", "db1"]);
    assert_eq!(inventory.group_names("web2"), ["db", "prod", "web"]);
    assert_eq!(inventory.group_names("lone"), ["ungrouped"]);
    assert_eq!(inventory.groups["web"].depth, 2);
    let groups = inventory.groups_map();
    // Breadth first, as Ansible: `all`'s children's hosts before grandchildren's.
    assert_eq!(groups["all"], ["lone", "stg1", "web1", "web2", "web3", "db1"]);
    assert_eq!(groups["ungrouped"], ["lone"]);
}

#[test]
fn the_largest_range_loads_with_each_host_once_in_each_group() {
    // The loader once scanned a group's hosts for every host added to it: a range at the
    // limit (found by the fuzzer) then took minutes. Hosts named twice, and hosts first seen
    // ungrouped, must still end up once per group.
    let inventory = ini("h5\nh7\n[big]\nh[0:99999]\n[big]\nh[0:9]\n[small]\nh5\n");
    assert_eq!(inventory.hosts.len(), 100_000);
    assert_eq!(inventory.groups["big"].hosts.len(), 100_000);
    assert_eq!(
        inventory.groups["big"].hosts[..3],
        ["h0", "h1", "h2"].map(String::from)
    );
    assert_eq!(inventory.groups["small"].hosts, ["h5"]);
    assert!(inventory.groups["ungrouped"].hosts.is_empty());
    assert_eq!(inventory.hosts["h5"].groups, ["big", "small"]);
    assert_eq!(inventory.group_hosts("all").len(), 100_000);
}

#[test]
fn ini_children_may_be_declared_later_and_nested_deeper() {
    let inventory = ini("[top:children]\nmid\n[mid:children]\nleaf\n[leaf]\nh1\n[mid]\n");
    assert_eq!(inventory.groups["top"].children, ["mid"]);
    assert_eq!(inventory.groups["mid"].children, ["leaf"]);
    assert_eq!(inventory.groups["leaf"].depth, 3);
    assert_eq!(inventory.groups["all"].children, ["ungrouped", "top"]);
}

#[test]
fn ini_values_are_python_literals_inline_and_in_vars_sections() {
    let inventory = ini("h1 a=1 b=True c='x y' d=\"[1,'a']\" e=yes f=01 g=1.5 # trailing\n[all:vars]\nn = 2\ns = hello world\nq = \"quoted\"\n");
    assert_eq!(
        inventory.hosts["h1"].vars,
        Vars::from_iter(
            [
                ("a", json!(1)),
                ("b", json!(true)),
                ("c", json!("x y")),
                ("d", json!([1, "a"])),
                ("e", json!("yes")),
                ("f", json!("01")),
                ("g", json!(1.5)),
            ]
            .map(|(k, v)| (k.to_string(), v))
        )
    );
    assert_eq!(inventory.groups["all"].vars["n"], json!(2));
    assert_eq!(inventory.groups["all"].vars["s"], json!("hello world"));
    assert_eq!(inventory.groups["all"].vars["q"], json!("quoted"));
}

#[test]
fn ini_port_shorthand_sets_ansible_port_once() {
    let inventory = ini("h1:2222\n[web]\nh1:3333\n");
    assert_eq!(inventory.hosts["h1"].vars["ansible_port"], json!(2222));
}

#[test]
fn ini_errors_point_at_the_line() {
    assert_eq!(
        ini_error("[web\nh1\n"),
        "hosts:1:1: invalid section header `[web`\nhint: write `[group]`, `[group:children]` or `[group:vars]`, with a closing `]` and no spaces inside"
    );
    assert_eq!(
        ini_error("[web:child]\n"),
        "hosts:1:1: section `[web:child]` has unknown type `child`\nhint: a section is `[group]`, `[group:children]` or `[group:vars]`"
    );
    assert!(ini_error("[web]\n  h1 port 22\n")
        .starts_with("hosts:2:6: expected `key=value` host variable, found `port`"));
    assert!(ini_error("[a:children]\nb\n")
        .starts_with("hosts:2:1: section `[a:children]` includes undefined group `b`"));
    assert!(ini_error("[a:vars]\nx=1\n")
        .starts_with("hosts:1:1: section `[a:vars]` is for an undefined group `a`"));
    assert!(ini_error("[a:children]\nb\n[b:children]\na\n[b]\n").contains("creates a loop"));
}

#[test]
fn patterns_follow_ansible_set_operations_and_order() {
    let inventory = ini(FLEET);
    assert_eq!(
        select(&inventory, "all"),
        ["lone", "stg1", "web1", "web2", "web3", "db1"]
    );
    assert_eq!(select(&inventory, "*"), select(&inventory, "all"));
    assert_eq!(select(&inventory, "db:web"), ["db1", "web2", "web1", "web3"]);
    assert_eq!(select(&inventory, "web,db"), ["web1", "web2", "web3", "db1"]);
    assert_eq!(select(&inventory, "web:&db"), ["web2"]);
    assert_eq!(select(&inventory, "prod:!db"), ["web1", "web3"]);
    assert_eq!(select(&inventory, "!db"), ["lone", "stg1", "web1", "web3"]);
    assert_eq!(select(&inventory, "web[0:0]"), ["web1"]);
    assert_eq!(select(&inventory, "web[0]"), ["web1"]);
    assert_eq!(select(&inventory, "web[-1]"), ["web3"]);
    assert_eq!(select(&inventory, "web[1:]"), ["web2", "web3"]);
    assert_eq!(select(&inventory, "web[0:1]"), ["web1", "web2"]);
    assert_eq!(select(&inventory, "web?"), ["web1", "web2", "web3"]);
    assert_eq!(select(&inventory, "~(web|db)[13]"), ["web1", "web3", "db1"]);
    assert_eq!(select(&inventory, "stg1"), ["stg1"]);
    assert_eq!(select(&inventory, "ungrouped"), ["lone"]);
}

#[test]
fn patterns_warn_on_no_match_and_refuse_bad_syntax() {
    let inventory = ini(FLEET);
    let selection = inventory.select_with_warnings("web:nope", None).unwrap();
    assert_eq!(selection.hosts, ["web1", "web2", "web3"]);
    assert_eq!(
        selection.warnings,
        ["could not match supplied host pattern, ignoring: nope"]
    );
    let bad = |p: &str| inventory.select_with_warnings(p, None).unwrap_err().to_string();
    assert_eq!(
        bad("web:!"),
        "invalid host pattern `web:!`: `!` must be followed by a group or host name"
    );
    assert_eq!(
        bad("web[0"),
        "invalid host pattern `web[0`: unbalanced `[` and `]`"
    );
    assert_eq!(bad("web[7]"), "no hosts matched the subscripted pattern `web[7]`");
    assert_eq!(
        bad("~("),
        "invalid host pattern `~(`: bad regular expression: unclosed group"
    );
    assert_eq!(
        bad(""),
        "empty host pattern ``: expected a group, a host, `all` or a glob"
    );
}

#[test]
fn implicit_localhost_only_when_asked_for() {
    let inventory = ini(FLEET);
    assert_eq!(select(&inventory, "localhost"), ["localhost"]);
    assert!(!select(&inventory, "all").contains(&"localhost".to_string()));
    let vars = inventory.host_vars("localhost", None).unwrap();
    assert_eq!(vars["ansible_connection"], json!("local"));
    let defined = ini("localhost ansible_connection=ssh\n");
    assert_eq!(select(&defined, "all"), ["localhost"]);
}

#[test]
fn limit_restricts_and_reads_host_files() {
    let dir = tempfile::tempdir().unwrap();
    let retry = dir.path().join("site.retry");
    fs::write(&retry, "web3\n\ndb1\n").unwrap();
    let inventory = ini(FLEET);
    let limit = format!("@{}", retry.display());
    let selection = inventory.select_with_warnings("prod", Some(&limit)).unwrap();
    assert_eq!(selection.hosts, ["web3", "db1"]);
    let selection = inventory.select_with_warnings("all", Some("web:!web2")).unwrap();
    assert_eq!(selection.hosts, ["web1", "web3"]);
}

#[test]
fn vars_precedence_matches_ansible() {
    let root = tempfile::tempdir().unwrap();
    let inventory_dir = root.path().join("inventory");
    let playbook_dir = root.path().join("playbooks");
    let write = |path: &Path, text: &str| {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    let layers = [
        "all_inv",
        "parent_inv",
        "child_inv",
        "all_gv_inv",
        "all_gv_play",
        "gv_inv",
        "gv_play",
        "host_inv",
        "hv_inv",
        "hv_play",
    ];
    // Each layer sets every key from its own name onwards, so the winner of key N is the
    // highest layer that sets it: if precedence is right, key N holds layer N.
    let vars_from = |layer: usize, sep: &str| -> String {
        layers[layer..]
            .iter()
            .map(|key| format!("{key}{sep}{}", layers[layer]))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let ini_text = format!(
        "[child]\nh1 {}\n[parent:children]\nchild\n[parent:vars]\n{}\n[child:vars]\n{}\n[all:vars]\n{}\n",
        vars_from(7, "=").replace('\n', " "),
        vars_from(1, "="),
        vars_from(2, "="),
        vars_from(0, "="),
    );
    write(&inventory_dir.join("hosts"), &ini_text);
    write(&inventory_dir.join("group_vars/all.yml"), &vars_from(3, ": "));
    write(&playbook_dir.join("group_vars/all/main.yml"), &vars_from(4, ": "));
    write(&inventory_dir.join("group_vars/parent.yml"), &vars_from(5, ": "));
    write(&playbook_dir.join("group_vars/child"), &vars_from(6, ": "));
    write(&inventory_dir.join("host_vars/h1.yaml"), &vars_from(8, ": "));
    write(
        &playbook_dir.join("host_vars/h1.json"),
        "{\"hv_play\": \"hv_play\"}",
    );

    let inventory = Inventory::load(&[inventory_dir.join("hosts")]).unwrap();
    assert_eq!(
        inventory.hosts["h1"].source.as_deref(),
        Some(inventory_dir.join("hosts").as_path())
    );
    let vars = inventory.host_vars("h1", Some(&playbook_dir)).unwrap();
    for key in layers {
        assert_eq!(vars[key], json!(key), "{key}");
    }
    // Without the playbook, its files do not apply.
    let vars = inventory.host_vars("h1", None).unwrap();
    assert_eq!(vars["hv_play"], json!("hv_inv"));
    assert_eq!(vars["gv_play"], json!("gv_inv"));
}

#[test]
fn sibling_groups_apply_by_name_and_priority() {
    let inventory = ini("[b]\nh1\n[a]\nh1\n[b:vars]\nx=b\n[a:vars]\nx=a\n");
    assert_eq!(inventory.host_vars("h1", None).unwrap()["x"], json!("b"));
    let inventory = ini("[b]\nh1\n[a]\nh1\n[b:vars]\nx=b\n[a:vars]\nx=a\nansible_group_priority=10\n");
    assert_eq!(inventory.host_vars("h1", None).unwrap()["x"], json!("a"));
}
