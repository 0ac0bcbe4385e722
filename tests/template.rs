//! Differential tests: the same expressions rendered by Ansible (the oracle) and by the
//! templar must give the same values, and the variable layers a playbook can express must
//! resolve in the same order.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use deploy::error::Pos;
use deploy::template::{Origin, Templar};
use deploy::vars::{parse_extra_vars, Layer, VarMap, VarStack};
use serde_json::{json, Value as Json};

/// Play vars shared by both sides.
fn play_vars() -> Json {
    json!({
        "name": "web", "port": 8080, "flag": "yes", "items": ["b", "a", "b"],
        "users": [{"name": "ann", "uid": 1, "admin": true}, {"name": "bob", "uid": 2, "admin": false}],
        "conf": {"server": {"listen": 80, "names": ["a.example", "b.example"]}, "debug": false,
                 "motd": "it's a long line of text that PyYAML will fold once it goes past the eighty column mark", "mode": "0644", "empty": ""},
        "path": "/etc/nginx/nginx.conf", "text": "Hello World", "ref": "{{ name }}-{{ port }}",
        "hosts_map": {"h1": {"ip": "10.0.0.1"}, "h2": {"ip": "10.0.0.2"}},
        "yaml_text": "a: yes\nb: [1, 2]\nc: 0644\n", "lines": "a\nb\n\nc",
        "p_play": "play", "p_vf": "play", "p_task": "play", "p_fact": "play", "p_extra": "play"
    })
}

/// Expressions whose values both sides must agree on (sets are sorted: Ansible's order there
/// comes from Python's set hashing).
const EXPRESSIONS: &[&str] = &[
    "nope | default('dflt')",
    "'' | default('x', true)",
    "flag | bool",
    "'On' | bool",
    "'no' | bool",
    "'42' | int + 1",
    "'3.7' | int",
    "'abc' | int",
    "'1.5' | float",
    "true | string",
    "items | string",
    "port | string",
    "conf | to_json",
    "conf | to_nice_json",
    "conf | to_yaml",
    "conf | to_nice_yaml",
    "users | to_nice_yaml(indent=2)",
    "'{\"a\": [1, true, null]}' | from_json",
    "yaml_text | from_yaml",
    "items | join(',')",
    "users | map(attribute='name') | list",
    "['h1', 'h2'] | map('extract', hosts_map, 'ip') | list",
    "[1, 2, 3, 4] | select('even') | list",
    "[1, 2, 3, 4] | reject('even') | list",
    "users | selectattr('admin') | map(attribute='name') | list",
    "users | rejectattr('admin') | map(attribute='uid') | list",
    "'ab12cd34' | regex_replace('[0-9]+', '-')",
    "'Key' | regex_replace('k', 'x', ignorecase=true)",
    "'server12' | regex_search('[0-9]+')",
    "'a1b22c333' | regex_findall('[0-9]+')",
    "{'a': 1, 'n': {'x': 1, 'l': [1]}} | combine({'b': 2, 'n': {'y': 2, 'l': [2]}}, recursive=true)",
    "{'l': [1, 2]} | combine({'l': [2, 3]}, list_merge='append_rp')",
    "conf.server | dict2items",
    "[{'key': 'a', 'value': 1}] | items2dict",
    "port == 8080 | ternary('yes', 'no')",
    "items | unique | list",
    "[3, 1] | union([1, 2]) | sort",
    "[1, 2, 3] | difference([2]) | sort",
    "[1, 2, 3] | intersect([3, 2, 9]) | sort",
    "items | first",
    "items | last",
    "text | length",
    "text | lower",
    "text | upper",
    "text | replace('World', 'There')",
    "'a,b,,c' | split(',')",
    "'hello' | b64encode",
    "'aGVsbG8=' | b64decode",
    "'hello' | hash('sha1')",
    "'hello' | hash('md5')",
    "'hello' | hash('sha256')",
    "path | basename",
    "path | dirname",
    "\"it's here\" | quote",
    "[1, [2, [3, none]]] | flatten",
    "[1, [2, [3]]] | flatten(levels=1)",
    "[1, 2] | zip(['a', 'b']) | list",
    "[1, 2] | product(['a', 'b']) | list",
    "users | sort(attribute='uid', reverse=true) | map(attribute='name') | list",
    "[3, 1, 2] | min",
    "[3, 1, 2] | max",
    "[3, 1, 2] | sum",
    "-3 | abs",
    "2.567 | round(2)",
    "2.5 | round",
    "'  x ' | trim",
    "'hello WORLD' | capitalize",
    "'hello world' | title",
    "'ab' | center(7)",
    "lines | indent(2)",
    "lines | indent(4, true)",
    "[1, 2, 3, 4, 5] | batch(2) | list",
    "{'b': 1, 'a': 2} | dictsort",
    "'a b&c/d' | urlencode",
    "lines | comment",
    "'hi' | comment('cblock')",
    "'example.com' | to_uuid",
    "ref",
    "nope is defined",
    "name is defined",
    "none is none",
    "'server1' is match('serv')",
    "'server1' is search('rver')",
    "'server1' is regex('^S', ignorecase=true)",
    "'1.10' is version('1.9', '>')",
    "'1.2.0' is version('1.2', '>=')",
    "{'changed': true} is changed",
    "{'failed': false} is succeeded",
    "{'skipped': true} is skipped",
    "name is string",
    "port is number",
    "conf is mapping",
    "items is sequence",
    "'a' in items",
    "conf.server.names | length > 1",
    "'%s-%s' | format(name, port)",
    "conf.items() | list | length",
    "conf.get('missing', 'fallback')",
    "name.startswith('we')",
    "'a b c'.split()",
    "p_play",
    "p_vf",
    "p_task",
    "p_fact",
    "p_extra",
    "p_json",
];

/// Templates of whole strings (not single expressions): Python printing of values.
const TEMPLATES: &[&str] = &[
    "{{ name }}:{{ port }}",
    "flag={{ true }} list={{ items }} none={{ none }} float={{ 1.0 }}",
    "{% for u in users %}{{ u.name }}={{ u.uid }};{% endfor %}",
    "{% for k, v in conf.server.items() %}{{ k }}={{ v }} {% endfor %}",
];

fn to_map(value: Json) -> VarMap {
    match value {
        Json::Object(map) => map.into_iter().collect(),
        _ => panic!("not a mapping"),
    }
}

#[test]
fn expressions_render_like_ansible() {
    let playbook_bin = common::oracle("ansible-playbook");
    let dir = tempfile::tempdir().unwrap();
    let fixtures = common::project_root().join("tests/fixtures/templates");
    let out = dir.path().join("out.json");
    let mut results = serde_json::Map::new();
    for (i, expr) in EXPRESSIONS.iter().enumerate() {
        results.insert(format!("e{i:03}"), json!(format!("{{{{ {expr} }}}}")));
    }
    for (i, template) in TEMPLATES.iter().enumerate() {
        results.insert(format!("t{i:03}"), json!(template));
    }
    // JSON is YAML: the playbook is written as JSON so no expression needs YAML quoting.
    let playbook = json!([{
        "hosts": "localhost", "connection": "local", "gather_facts": false,
        "vars": play_vars(),
        "vars_files": [fixtures.join("vars_file.yml").display().to_string()],
        "tasks": [
            {"set_fact": {"p_fact": "fact", "p_extra": "fact"}},
            {"copy": {"content": "{{ results | to_json }}", "dest": out.display().to_string()},
             "vars": {"results": results, "p_task": "task", "p_fact": "task", "p_extra": "task"}}
        ]
    }]);
    let playbook_path = dir.path().join("site.yml");
    std::fs::write(&playbook_path, serde_json::to_string_pretty(&playbook).unwrap()).unwrap();
    // An empty config file: the user's and the system's settings must not leak in.
    let config = dir.path().join("ansible.cfg");
    std::fs::write(&config, "").unwrap();
    let output = Command::new(&playbook_bin)
        .arg(&playbook_path)
        .args([
            "-i",
            "localhost,",
            "-e",
            "p_extra=extra",
            "-e",
            r#"{"p_json": 5}"#,
        ])
        .arg("-e")
        .arg(format!(
            "ansible_python_interpreter={}",
            common::oracle_venv().join("bin/python3").display()
        ))
        .env("ANSIBLE_CONFIG", &config)
        .env("ANSIBLE_HOME", dir.path().join("ansible-home"))
        .env("ANSIBLE_LOCALHOST_WARNING", "False")
        .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "False")
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "ansible-playbook failed:\n{}\n{}",
        common::stdout(&output),
        common::stderr(&output)
    );
    let ansible: Json = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();

    let mut vars = VarStack::new()
        .with(Layer::PlayVars, to_map(play_vars()))
        .with(
            Layer::PlayVarsFiles,
            to_map(
                deploy::yaml::load_file(&fixtures.join("vars_file.yml"))
                    .unwrap()
                    .to_value(),
            ),
        )
        .with(
            Layer::TaskVars,
            to_map(json!({"p_task": "task", "p_fact": "task", "p_extra": "task"})),
        );
    vars.set(Layer::Facts, "p_fact", json!("fact"));
    vars.set(Layer::Facts, "p_extra", json!("fact"));
    vars.push(
        Layer::ExtraVars,
        parse_extra_vars("p_extra=extra", Path::new(".")).unwrap(),
    );
    vars.push(
        Layer::ExtraVars,
        parse_extra_vars(r#"{"p_json": 5}"#, Path::new(".")).unwrap(),
    );
    let templar = Templar::new();
    let origin = Origin::new(Pos::new(&Arc::new(playbook_path.clone()), 1, 1));
    let mut mismatches = Vec::new();
    for (key, template) in &results {
        let ours = templar.render_str(template.as_str().unwrap(), &vars, &origin);
        let theirs = &ansible[key];
        match ours {
            Ok(ours) if &ours == theirs => {}
            Ok(ours) => mismatches.push(format!("{template}\n  ansible: {theirs}\n  deploy:  {ours}")),
            Err(err) => mismatches.push(format!(
                "{template}\n  ansible: {theirs}\n  deploy error: {err:#}"
            )),
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        results.len(),
        mismatches.join("\n")
    );
}

#[test]
fn password_hash_matches_crypt() {
    let python = common::oracle("python3");
    let output = Command::new(python)
        .args([
            "-W",
            "ignore",
            "-c",
            "import crypt; print(crypt.crypt('s3cret pass', '$6$rounds=656000$fixedsalt'))",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", common::stderr(&output));
    let expected = common::stdout(&output).trim().to_string();
    let vars = VarStack::new();
    let origin = Origin::new(Pos::file_start(Path::new("site.yml")));
    let ours = Templar::new()
        .render_str(
            "{{ 's3cret pass' | password_hash('sha512', 'fixedsalt') }}",
            &vars,
            &origin,
        )
        .unwrap();
    assert_eq!(ours, json!(expected));
}
