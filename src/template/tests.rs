//! Unit tests of the templar: one per filter, test, lookup and error message.
use super::*;
use crate::vars::{Layer, VarMap, VarStack};
use serde_json::json;
use std::path::Path;

fn vars() -> VarStack {
    let Json::Object(map) = json!({
        "name": "web", "port": 8080, "flag": "yes", "items": ["b", "a", "b"],
        "users": [{"name": "ann", "uid": 1, "admin": true}, {"name": "bob", "uid": 2, "admin": false}],
        "conf": {"b": 1, "a": {"x": 1}}, "path": "/etc/nginx/nginx.conf", "text": "Hello World",
        "ref": "{{ name }}-{{ port }}", "typed": "{{ port + 1 }}", "loop_a": "{{ loop_b }}", "loop_b": "{{ loop_a }}",
        "inner_missing": "{{ nope }}", "result": {"changed": true, "failed": false, "rc": 0},
        "skipped_result": {"skipped": true, "changed": false}
    }) else {
        unreachable!()
    };
    VarStack::new().with(Layer::PlayVars, map.into_iter().collect::<VarMap>())
}

fn origin() -> Origin {
    Origin::new(Pos::new(&Arc::new("site.yml".into()), 12, 7)).task("configure nginx")
}

/// Renders `{{ expr }}` and returns the typed value.
fn eval(expr: &str) -> Json {
    Templar::new()
        .render_str(&format!("{{{{ {expr} }}}}"), &vars(), &origin())
        .unwrap_or_else(|e| panic!("{expr}: {e:#}"))
}

/// Renders a mixed template and returns the string.
fn text(template: &str) -> String {
    match Templar::new()
        .render_str(template, &vars(), &origin())
        .unwrap_or_else(|e| panic!("{template}: {e:#}"))
    {
        Json::String(s) => s,
        other => panic!("{template}: not a string: {other}"),
    }
}

fn error(template: &str) -> String {
    let err = Templar::new()
        .render_str(template, &vars(), &origin())
        .expect_err(template);
    format!("{err:#}")
}

#[test]
fn single_expressions_keep_their_type() {
    assert_eq!(eval("port"), json!(8080));
    assert_eq!(eval("items"), json!(["b", "a", "b"]));
    assert_eq!(eval("typed"), json!(8081));
    assert_eq!(text("{{ port }}/x"), "8080/x");
    assert_eq!(text("plain text"), "plain text");
    assert_eq!(eval("'}}'"), json!("}}"));
}

#[test]
fn python_printing_of_values() {
    assert_eq!(
        text("{{ true }} {{ none }} {{ items }} {{ conf }} {{ 1.0 }}"),
        "True  ['b', 'a', 'b'] {'b': 1, 'a': {'x': 1}} 1.0"
    );
}

#[test]
fn lazy_variables_and_recursion() {
    assert_eq!(eval("ref"), json!("web-8080"));
    assert_eq!(
        error("{{ loop_a }}"),
        "site.yml:12:7: recursive loop detected in template: loop_a -> loop_b -> loop_a in task \"configure nginx\""
    );
    assert_eq!(
        error("{{ inner_missing }}"),
        "site.yml:12:7: undefined variable 'nope' in task \"configure nginx\""
    );
    assert_eq!(eval("inner_missing | default('d')"), json!("d"));
}

#[test]
fn undefined_variables_are_named() {
    assert_eq!(
        error("{{ nginx_port }}"),
        "site.yml:12:7: undefined variable 'nginx_port' in task \"configure nginx\""
    );
    assert_eq!(
        error("x {{ conf.missing.deeper }}"),
        "site.yml:12:7: undefined variable 'conf.missing' in task \"configure nginx\""
    );
    assert_eq!(
        error("{{ port + offset }}"),
        "site.yml:12:7: undefined variable 'offset' in task \"configure nginx\""
    );
    assert_eq!(
        error("{{ conf.a['no-such/key'] }}"),
        "site.yml:12:7: undefined variable or key in `{{ conf.a['no-such/key'] }}` in task \"configure nginx\""
    );
    let err = Templar::new()
        .render_str("{{ portt }}", &vars(), &origin())
        .unwrap_err();
    assert_eq!(
        crate::error::hint_of(&err).as_deref(),
        Some("did you mean 'port'?")
    );
}

#[test]
fn unsupported_filters_tests_and_lookups_are_named() {
    assert_eq!(
        error("{{ name | nosuch }}"),
        "site.yml:12:7: unsupported filter 'nosuch' in task \"configure nginx\""
    );
    let err = Templar::new()
        .render_str("{{ name | to_jsn }}", &vars(), &origin())
        .unwrap_err();
    assert_eq!(
        crate::error::hint_of(&err).as_deref(),
        Some("did you mean 'to_json'?")
    );
    assert_eq!(
        error("{{ name is nosuch }}"),
        "site.yml:12:7: unsupported test 'nosuch' in task \"configure nginx\""
    );
    assert!(error("{{ lookup('pipe', 'ls') }}")
        .contains("unsupported lookup 'pipe' (supported: community.general.flattened, dict, env, "));
}

#[test]
fn syntax_errors_say_where() {
    let message = error("{{ name | }}");
    assert!(
        message.starts_with("site.yml:12:7: template syntax error: "),
        "{message}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.j2");
    std::fs::write(&path, "line1\n{% if %}\n").unwrap();
    let err = Templar::new()
        .render_file(&path, &vars(), &origin(), &FileOptions::default())
        .unwrap_err();
    let message = format!("{err:#}");
    assert!(message.contains(&format!("{}:2:", path.display())), "{message}");
    assert!(message.contains("template syntax error"), "{message}");
}

#[test]
fn render_file_names_file_line_and_variable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nginx.conf.j2");
    std::fs::write(
        &path,
        "server {\n{% if true %}\n  listen {{ port }};\n{% endif %}\n  root {{ docroot }};\n}\n",
    )
    .unwrap();
    let err = Templar::new()
        .render_file(&path, &vars(), &origin(), &FileOptions::default())
        .unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        format!(
            "site.yml:12:7: cannot render template in task \"configure nginx\": {}:5:11: undefined variable 'docroot'",
            path.display()
        )
    );
    std::fs::write(
        &path,
        "server {\n{% if true %}\n  listen {{ port }};\n{% endif %}\n}\n",
    )
    .unwrap();
    // trim_blocks removes the newline after a block tag; the trailing newline is kept.
    assert_eq!(
        Templar::new()
            .render_file(&path, &vars(), &origin(), &FileOptions::default())
            .unwrap(),
        "server {\n  listen 8080;\n}\n"
    );
}

#[test]
fn conditions() {
    let t = Templar::new();
    let v = vars();
    assert!(t.eval_condition(&json!("port == 8080"), &v, &origin()).unwrap());
    assert!(t
        .eval_condition(&json!(["port > 1", "flag | bool"]), &v, &origin())
        .unwrap());
    assert!(!t
        .eval_condition(&json!(["port > 1", "not (flag | bool)"]), &v, &origin())
        .unwrap());
    assert!(t.eval_condition(&json!(true), &v, &origin()).unwrap());
    assert!(t
        .eval_condition(&json!("{{ port == 8080 }}"), &v, &origin())
        .unwrap());
    assert!(t
        .eval_condition(&json!("nope is undefined"), &v, &origin())
        .unwrap());
    let err = t.eval_condition(&json!("nope == 1"), &v, &origin()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "site.yml:12:7: undefined variable 'nope' in task \"configure nginx\""
    );
    let err = t.eval_condition(&json!("name"), &v, &origin()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "site.yml:12:7: condition `name` gave a string `web`, not a boolean in task \"configure nginx\""
    );
}

#[test]
fn omit_drops_parameters() {
    let mut v = vars();
    v.set(Layer::Magic, "omit", json!(crate::vars::OMIT_PLACEHOLDER));
    let params =
        json!({"path": "{{ path }}", "mode": "{{ mode | default(omit) }}", "list": ["a", "{{ omit }}"]});
    let rendered = Templar::new().render_value(&params, &v, &origin()).unwrap();
    assert_eq!(rendered, json!({"path": "/etc/nginx/nginx.conf", "list": ["a"]}));
}

#[test]
fn resolve_var_templates_the_value() {
    assert_eq!(
        Templar::new().resolve_var("ref", &vars(), &origin()).unwrap(),
        json!("web-8080")
    );
    assert!(Templar::new().resolve_var("nope", &vars(), &origin()).is_err());
}

#[test]
fn filter_default() {
    assert_eq!(eval("nope | default('x')"), json!("x"));
    assert_eq!(eval("nope | d(1)"), json!(1));
    assert_eq!(eval("'' | default('x')"), json!(""));
    assert_eq!(eval("'' | default('x', true)"), json!("x"));
    assert_eq!(eval("conf.nope | default(3)"), json!(3));
}

#[test]
fn filter_mandatory() {
    assert_eq!(eval("name | mandatory"), json!("web"));
    assert_eq!(
        error("{{ nope | mandatory }}"),
        "site.yml:12:7: undefined variable 'nope' in task \"configure nginx\""
    );
    assert!(error("{{ nope | mandatory('set nope!') }}").contains("set nope!"));
}

#[test]
fn filter_bool() {
    for (input, expected) in [
        ("'yes'", true),
        ("'On'", true),
        ("'1'", true),
        ("'TRUE'", true),
        ("'no'", false),
        ("'off'", false),
        ("1", true),
        ("0", false),
        ("none", false),
        ("'maybe'", false),
        ("true", true),
    ] {
        assert_eq!(eval(&format!("{input} | bool")), json!(expected), "{input}");
    }
}

#[test]
fn filter_int_float_string() {
    assert_eq!(eval("'42' | int"), json!(42));
    assert_eq!(eval("'3.7' | int"), json!(3));
    assert_eq!(eval("'abc' | int"), json!(0));
    assert_eq!(eval("'abc' | int(7)"), json!(7));
    assert_eq!(eval("'ff' | int(base=16)"), json!(255));
    assert_eq!(eval("true | int"), json!(1));
    assert_eq!(eval("'1.5' | float"), json!(1.5));
    assert_eq!(eval("'x' | float"), json!(0.0));
    assert_eq!(eval("true | string"), json!("True"));
    assert_eq!(eval("items | string"), json!("['b', 'a', 'b']"));
    assert_eq!(eval("8 | string"), json!("8"));
}

#[test]
fn filter_json() {
    assert_eq!(eval("conf | to_json"), json!(r#"{"b": 1, "a": {"x": 1}}"#));
    assert_eq!(
        eval("conf | to_nice_json"),
        json!("{\n    \"a\": {\n        \"x\": 1\n    },\n    \"b\": 1\n}")
    );
    assert_eq!(
        eval("conf | to_nice_json(indent=2)"),
        json!("{\n  \"a\": {\n    \"x\": 1\n  },\n  \"b\": 1\n}")
    );
    assert_eq!(eval("'{\"a\": [1, true]}' | from_json"), json!({"a": [1, true]}));
    assert!(error("{{ '{' | from_json }}").contains("from_json: invalid JSON"));
}

#[test]
fn filter_yaml() {
    assert_eq!(eval("conf | to_yaml"), json!("a: {x: 1}\nb: 1\n"));
    assert_eq!(eval("conf | to_nice_yaml"), json!("a:\n    x: 1\nb: 1\n"));
    assert_eq!(eval("conf | to_nice_yaml(indent=2)"), json!("a:\n  x: 1\nb: 1\n"));
    assert_eq!(
        eval("'a: yes\nb: [1, 2]' | from_yaml"),
        json!({"a": true, "b": [1, 2]})
    );
}

#[test]
fn filter_join_list_first_last_length() {
    assert_eq!(eval("items | join(',')"), json!("b,a,b"));
    assert_eq!(eval("[1, 2] | join('-')"), json!("1-2"));
    assert_eq!(eval("conf | list"), json!(["b", "a"]));
    assert_eq!(eval("items | first"), json!("b"));
    assert_eq!(eval("items | last"), json!("b"));
    assert_eq!(eval("items | length"), json!(3));
    assert_eq!(eval("text | length"), json!(11));
}

#[test]
fn filter_map() {
    assert_eq!(
        eval("users | map(attribute='name') | list"),
        json!(["ann", "bob"])
    );
    assert_eq!(
        eval("['a', 'b'] | map('extract', {'a': 1, 'b': 2}) | list"),
        json!([1, 2])
    );
    assert_eq!(
        eval("['a'] | map('extract', {'a': {'x': 5}}, 'x') | list"),
        json!([5])
    );
    assert_eq!(eval("items | map('upper') | list"), json!(["B", "A", "B"]));
}

#[test]
fn filter_select_reject() {
    assert_eq!(eval("[1, 2, 3, 4] | select('even') | list"), json!([2, 4]));
    assert_eq!(eval("[1, 2, 3, 4] | reject('even') | list"), json!([1, 3]));
    assert_eq!(eval("['ab', 'cd'] | select('match', 'a') | list"), json!(["ab"]));
    assert_eq!(
        eval("users | selectattr('admin') | map(attribute='name') | list"),
        json!(["ann"])
    );
    assert_eq!(
        eval("users | rejectattr('admin') | map(attribute='name') | list"),
        json!(["bob"])
    );
    assert_eq!(
        eval("users | selectattr('uid', 'equalto', 2) | map(attribute='name') | first"),
        json!("bob")
    );
}

#[test]
fn filter_regex() {
    assert_eq!(eval("'ab12cd' | regex_replace('[0-9]+', '-')"), json!("ab-cd"));
    assert_eq!(
        // As in a plain YAML scalar: Ansible keeps the backslashes of `{{ }}` literals.
        eval(r"'key=val' | regex_replace('^(\w+)=(\w+)$', '\2=\1')"),
        json!("val=key")
    );
    assert_eq!(
        eval("'ABC' | regex_replace('b', 'x', ignorecase=true)"),
        json!("AxC")
    );
    assert_eq!(eval("'server1' | regex_search('[0-9]+')"), json!("1"));
    assert_eq!(
        eval(r"'server1' | regex_search('(s)erver([0-9])', '\2', '\1')"),
        json!(["1", "s"])
    );
    assert_eq!(eval("'abc' | regex_search('z')"), json!(null));
    assert_eq!(
        eval("'a1b22c333' | regex_findall('[0-9]+')"),
        json!(["1", "22", "333"])
    );
    assert_eq!(
        eval(r"'k1=v1 k2=v2' | regex_findall('(\w)(\d)=')"),
        json!([["k", "1"], ["k", "2"]])
    );
    assert_eq!(eval("'a.b' | regex_escape"), json!("a\\.b"));
}

#[test]
fn filter_combine() {
    assert_eq!(
        eval("{'a': 1, 'n': {'x': 1}} | combine({'b': 2, 'n': {'y': 2}})"),
        json!({"a": 1, "n": {"y": 2}, "b": 2})
    );
    assert_eq!(
        eval("{'a': 1, 'n': {'x': 1}} | combine({'n': {'y': 2}}, recursive=true)"),
        json!({"a": 1, "n": {"x": 1, "y": 2}})
    );
    assert_eq!(
        eval("{'l': [1]} | combine({'l': [2]}, list_merge='append')"),
        json!({"l": [1, 2]})
    );
    assert_eq!(eval("[{'a': 1}, {'a': 2}] | combine"), json!({"a": 2}));
}

#[test]
fn filter_dict2items_items2dict() {
    assert_eq!(eval("{'a': 1} | dict2items"), json!([{"key": "a", "value": 1}]));
    assert_eq!(
        eval("{'a': 1} | dict2items(key_name='k', value_name='v')"),
        json!([{"k": "a", "v": 1}])
    );
    assert_eq!(eval("[{'key': 'a', 'value': 1}] | items2dict"), json!({"a": 1}));
}

#[test]
fn filter_ternary() {
    assert_eq!(eval("true | ternary('y', 'n')"), json!("y"));
    assert_eq!(eval("false | ternary('y', 'n')"), json!("n"));
    assert_eq!(eval("none | ternary('y', 'n', 'null')"), json!("null"));
}

#[test]
fn filter_set_operations() {
    assert_eq!(eval("items | unique | list"), json!(["b", "a"]));
    assert_eq!(eval("[1, 2] | union([2, 3])"), json!([1, 2, 3]));
    assert_eq!(eval("[1, 2, 3] | difference([2])"), json!([1, 3]));
    assert_eq!(eval("[1, 2, 3] | intersect([3, 2, 9])"), json!([2, 3]));
    assert_eq!(eval("[1, 2] | symmetric_difference([2, 3])"), json!([1, 3]));
}

#[test]
fn filter_string_helpers() {
    assert_eq!(eval("text | lower"), json!("hello world"));
    assert_eq!(eval("text | upper"), json!("HELLO WORLD"));
    assert_eq!(eval("text | replace('World', 'There')"), json!("Hello There"));
    assert_eq!(eval("'a b  c' | split"), json!(["a", "b", "c"]));
    assert_eq!(eval("'a,b' | split(',')"), json!(["a", "b"]));
    assert_eq!(eval("'  x ' | trim"), json!("x"));
    assert_eq!(eval("'hello WORLD' | capitalize"), json!("Hello world"));
    assert_eq!(eval("'hello world' | title"), json!("Hello World"));
    assert_eq!(eval("'ab' | center(6)"), json!("  ab  "));
    assert_eq!(eval("'a\nb\n\nc' | indent(2)"), json!("a\n  b\n\n  c"));
    assert_eq!(eval("'a\nb' | indent(2, true)"), json!("  a\n  b"));
}

#[test]
fn filter_encodings_and_hashes() {
    assert_eq!(eval("'hello' | b64encode"), json!("aGVsbG8="));
    assert_eq!(eval("'aGVsbG8=' | b64decode"), json!("hello"));
    assert_eq!(
        eval("'hello' | hash('sha1')"),
        json!("aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d")
    );
    assert_eq!(
        eval("'hello' | hash('md5')"),
        json!("5d41402abc4b2a76b9719d911017c592")
    );
    assert_eq!(
        eval("'hello' | hash('sha256')"),
        json!("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
    );
    assert_eq!(
        eval("'hello' | hash"),
        json!("aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d")
    );
    assert_eq!(
        eval("'hello' | checksum"),
        json!("aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d")
    );
    assert!(error("{{ 'x' | hash('crc') }}").contains("unsupported hash type 'crc'"));
}

#[test]
fn filter_password_hash() {
    assert_eq!(
        eval("'Hello world!' | password_hash('sha512', 'saltstring', rounds=5000)"),
        json!("$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1")
    );
    let random = eval("'pw' | password_hash('sha512')");
    assert!(
        random.as_str().unwrap().starts_with("$6$rounds=656000$"),
        "{random}"
    );
    assert!(error("{{ 'pw' | password_hash('sha512', 'bad salt') }}").contains("salt may only hold"));
}

#[test]
fn filter_paths_and_quote() {
    assert_eq!(eval("path | basename"), json!("nginx.conf"));
    assert_eq!(eval("path | dirname"), json!("/etc/nginx"));
    assert_eq!(eval("\"it's here\" | quote"), json!("'it'\"'\"'s here'"));
    assert_eq!(eval("'simple' | quote"), json!("simple"));
}

#[test]
fn filter_lists() {
    assert_eq!(eval("[1, [2, [3, none]]] | flatten"), json!([1, 2, 3]));
    assert_eq!(eval("[1, [2, [3]]] | flatten(levels=1)"), json!([1, 2, [3]]));
    assert_eq!(
        eval("[1, 2] | zip(['a', 'b']) | list"),
        json!([[1, "a"], [2, "b"]])
    );
    assert_eq!(
        eval("[1, 2] | product(['a']) | list"),
        json!([[1, "a"], [2, "a"]])
    );
    assert_eq!(eval("[3, 1, 2] | sort"), json!([1, 2, 3]));
    assert_eq!(
        eval("users | sort(attribute='uid', reverse=true) | map(attribute='name') | list"),
        json!(["bob", "ann"])
    );
    assert_eq!(eval("[3, 1, 2] | min"), json!(1));
    assert_eq!(eval("[3, 1, 2] | max"), json!(3));
    assert_eq!(eval("[3, 1, 2] | sum"), json!(6));
    assert_eq!(eval("[1, 2, 3] | batch(2) | list"), json!([[1, 2], [3]]));
    assert_eq!(eval("{'b': 1, 'a': 2} | dictsort"), json!([["a", 2], ["b", 1]]));
}

#[test]
fn filter_numbers() {
    assert_eq!(eval("-3 | abs"), json!(3));
    assert_eq!(eval("2.5 | round"), json!(2.0));
    assert_eq!(eval("2.567 | round(2)"), json!(2.57));
    assert_eq!(eval("2.1 | round(0, 'ceil')"), json!(3.0));
}

#[test]
fn filter_urlencode_comment_uuid_type() {
    assert_eq!(eval("'a b&c' | urlencode"), json!("a%20b%26c"));
    assert_eq!(eval("'hello' | comment"), json!("#\n# hello\n#"));
    assert_eq!(eval("'hello' | comment('c')"), json!("//\n// hello\n//"));
    assert_eq!(eval("'hi' | comment('cblock')"), json!("/*\n *\n * hi\n *\n */"));
    assert_eq!(
        eval("'example.com' | to_uuid"),
        json!("ae780c3a-a3ab-53c2-bfb4-098da300b3fe")
    );
    assert_eq!(eval("[1] | type_debug"), json!("list"));
}

#[test]
fn tests_defined_none_types() {
    assert_eq!(eval("name is defined"), json!(true));
    assert_eq!(eval("nope is defined"), json!(false));
    assert_eq!(eval("nope is undefined"), json!(true));
    assert_eq!(eval("none is none"), json!(true));
    assert_eq!(eval("name is string"), json!(true));
    assert_eq!(eval("port is number"), json!(true));
    assert_eq!(eval("conf is mapping"), json!(true));
    assert_eq!(eval("items is sequence"), json!(true));
    assert_eq!(eval("items is iterable"), json!(true));
    assert_eq!(eval("'a' is in items"), json!(true));
    assert_eq!(eval("'a' in items"), json!(true));
    assert_eq!(eval("1 is truthy"), json!(true));
}

#[test]
fn tests_regex() {
    assert_eq!(eval("'server1' is match('serv')"), json!(true));
    assert_eq!(eval("'server1' is match('rver')"), json!(false));
    assert_eq!(eval("'server1' is search('rver')"), json!(true));
    assert_eq!(eval("'server1' is regex('^S', ignorecase=true)"), json!(true));
}

#[test]
fn tests_version() {
    assert_eq!(eval("'1.10' is version('1.9', '>')"), json!(true));
    assert_eq!(eval("'1.2.0' is version('1.2', '>=')"), json!(true));
    assert_eq!(eval("'1.2' is version('1.2', '==')"), json!(true));
    assert_eq!(eval("'2.0' is version('10.0', 'lt')"), json!(true));
}

#[test]
fn tests_results() {
    assert_eq!(eval("result is changed"), json!(true));
    assert_eq!(eval("result is succeeded"), json!(true));
    assert_eq!(eval("result is failed"), json!(false));
    assert_eq!(eval("skipped_result is skipped"), json!(true));
    assert_eq!(
        eval("{'results': [{'changed': false}, {'changed': true}]} is changed"),
        json!(true)
    );
    assert!(error("{{ 'x' is changed }}").contains("the 'changed' test expects a registered result"));
}

#[test]
fn lookups() {
    std::env::set_var("DEPLOY_TEMPLATE_TEST_ENV", "from-env");
    assert_eq!(
        eval("lookup('env', 'DEPLOY_TEMPLATE_TEST_ENV')"),
        json!("from-env")
    );
    assert_eq!(eval("lookup('env', 'DEPLOY_TEMPLATE_TEST_UNSET')"), json!(""));
    assert_eq!(eval("lookup('vars', 'port')"), json!(8080));
    assert_eq!(eval("query('vars', 'port', 'name')"), json!([8080, "web"]));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("files")).unwrap();
    std::fs::create_dir_all(dir.path().join("templates")).unwrap();
    std::fs::write(dir.path().join("files/key.pub"), "ssh-ed25519 AAA\n").unwrap();
    std::fs::write(dir.path().join("templates/t.j2"), "name={{ name }}\n").unwrap();
    let mut v = vars();
    v.set(
        Layer::Magic,
        "playbook_dir",
        json!(dir.path().display().to_string()),
    );
    let t = Templar::new();
    assert_eq!(
        t.render_str("{{ lookup('file', 'key.pub') }}", &v, &origin())
            .unwrap(),
        json!("ssh-ed25519 AAA")
    );
    assert_eq!(
        t.render_str("{{ lookup('template', 't.j2') }}", &v, &origin())
            .unwrap(),
        json!("name=web\n")
    );
    let err = t
        .render_str("{{ lookup('file', 'nope') }}", &v, &origin())
        .unwrap_err();
    assert!(err.to_string().contains("could not find 'nope'"), "{err}");
}

#[test]
fn hostvars_are_lazy_per_host() {
    #[derive(Debug)]
    struct Hosts;
    impl crate::vars::HostVarsSource for Hosts {
        fn host_names(&self) -> Vec<String> {
            vec!["h1".into(), "h2".into()]
        }
        fn vars_of(&self, host: &str) -> Option<VarStack> {
            let mut stack = VarStack::new();
            stack.set(Layer::Inventory, "ip", json!(format!("10.0.0.{}", &host[1..])));
            stack.set(Layer::Inventory, "url", json!("http://{{ ip }}/"));
            Some(stack)
        }
    }
    let mut v = vars();
    v.set_hostvars(Arc::new(Hosts));
    let t = Templar::new();
    assert_eq!(
        t.render_str("{{ hostvars['h2'].url }}", &v, &origin()).unwrap(),
        json!("http://10.0.0.2/")
    );
    assert_eq!(
        t.render_str(
            "{{ ['h1', 'h2'] | map('extract', hostvars, 'ip') | list }}",
            &v,
            &origin()
        )
        .unwrap(),
        json!(["10.0.0.1", "10.0.0.2"])
    );
}

#[test]
fn output_does_not_depend_on_hash_order() {
    let first = text("{% for k, v in conf.items() %}{{ k }}={{ v }};{% endfor %}");
    for _ in 0..5 {
        assert_eq!(
            text("{% for k, v in conf.items() %}{{ k }}={{ v }};{% endfor %}"),
            first
        );
    }
    assert_eq!(first, "b=1;a={'x': 1};");
    let _ = Path::new("");
}

/// The hint lists come from the same tables as registration; the builtins named beside them
/// must be ones minijinja really has, or a hint would point at a filter that does not exist.
#[test]
fn every_hinted_filter_and_test_exists() {
    let env = Templar::new().env;
    for name in filters::FILTERS.names() {
        let source = format!("{{{{ x | {name} }}}}");
        if let Err(err) = env.render_str(&source, minijinja::context! { x => 1 }) {
            assert_ne!(err.kind(), ErrorKind::UnknownFilter, "filter {name}: {err}");
        }
    }
    for name in predicates::TESTS.names() {
        let source = format!("{{{{ x is {name} }}}}");
        if let Err(err) = env.render_str(&source, minijinja::context! { x => 1 }) {
            assert_ne!(err.kind(), ErrorKind::UnknownTest, "test {name}: {err}");
        }
    }
    let names = filters::FILTERS.names();
    for name in ["regex_replace", "to_nice_yaml", "indent", "default", "map"] {
        assert!(names.contains(&name), "{name}");
    }
    let names = predicates::TESTS.names();
    for name in ["match", "version", "defined", "search"] {
        assert!(names.contains(&name), "{name}");
    }
}

/// Renders `{{ expr }}` with `pattern`, `haystack` and `template` as variables, so the
/// pattern reaches the filter exactly as written (no Jinja string escapes in the way).
fn eval_regex(expr: &str, pattern: &str, haystack: &str, template: &str) -> Result<Json, String> {
    let Json::Object(map) = json!({"pattern": pattern, "haystack": haystack, "template": template}) else {
        unreachable!()
    };
    let vars = VarStack::new().with(Layer::PlayVars, map.into_iter().collect::<VarMap>());
    Templar::new()
        .render_str(&format!("{{{{ {expr} }}}}"), &vars, &origin())
        .map_err(|e| format!("{e:#}"))
}

/// A pattern means the same in a module (`lineinfile`'s `regexp:`) as in a filter or test:
/// each result here is Python's `re.search` (checked with CPython 3 on bytes and on text).
#[test]
fn a_pattern_means_the_same_in_modules_and_filters() {
    use crate::python_regex::PythonRegex;
    let cases: &[(&str, &str, Option<&str>)] = &[
        (r"(?P<key>\w+)=(?P<value>\d+)", "port=8080\n", Some("port=8080")),
        (r"end\Z", "the end", Some("end")),
        (r"(?i)^listen", "LISTEN 80", Some("LISTEN")),
        (r"\d{2,}", "a1b22", Some("22")),
        (r"x{,2}y", "xxxy", Some("xxy")),
        ("a{", "xa{", Some("a{")),
        ("[]x]+", "a]x]", Some("]x]")),
        ("[[]a", "[a", Some("[a")),
        ("^PORT=.*$", "PORT=1\n", Some("PORT=1")),
        (r"\s+$", "a  \n", Some("  \n")),
        ("^$", "x\n", None),
    ];
    for &(pattern, haystack, expected) in cases {
        let module = PythonRegex::new(pattern)
            .unwrap()
            .search(haystack.as_bytes())
            .map(|found| haystack[found.start()..found.end()].to_string());
        assert_eq!(module.as_deref(), expected, "module: {pattern:?} in {haystack:?}");
        let filter = eval_regex("haystack | regex_search(pattern)", pattern, haystack, "").unwrap();
        assert_eq!(filter, json!(expected), "filter: {pattern:?} in {haystack:?}");
        let test = eval_regex("haystack is search(pattern)", pattern, haystack, "").unwrap();
        assert_eq!(
            test,
            json!(expected.is_some()),
            "test: {pattern:?} in {haystack:?}"
        );
    }
}

/// Look-arounds and back-references run in filters and tests, as in Python (text patterns
/// run on `fancy_regex`), and in modules' patterns too.
#[test]
fn look_around_runs_in_filters_and_in_modules() {
    use crate::python_regex::PythonRegex;
    for pattern in ["(?<=foo )bar", "(?=x)", r"(a)\1"] {
        assert!(PythonRegex::new(pattern).is_ok(), "{pattern}");
    }
    let search = |pattern: &str, haystack: &str| {
        eval_regex("haystack | regex_search(pattern)", pattern, haystack, "").unwrap()
    };
    assert_eq!(search("(?<=foo )bar", "foo bar"), json!("bar"));
    assert_eq!(search("b(?!a)", "ba bb"), json!("b"));
    assert_eq!(search(r"(a)\1", "xaay"), json!("aa"));
}

/// `regex_replace` expands its template as Python's `re.sub` and `lineinfile`'s `backrefs`
/// do (results from CPython 3).
#[test]
fn regex_replace_expands_templates_as_python() {
    use crate::python_regex::PythonRegex;
    let replace = |pattern: &str, haystack: &str, template: &str| {
        eval_regex(
            "haystack | regex_replace(pattern, template)",
            pattern,
            haystack,
            template,
        )
    };
    assert_eq!(
        replace(r"(?P<k>\w+)=(.*)", "port=80", r"\g<k>: \2"),
        Ok(json!("port: 80"))
    );
    let module = PythonRegex::new(r"(?P<k>\w+)=(.*)").unwrap();
    let found = module.search(b"port=80").unwrap();
    assert_eq!(
        module.expand(br"\g<k>: \2", &found, b"port=80").unwrap(),
        b"port: 80"
    );
    assert_eq!(replace(r"(\w+)", "a b", r"[\1]"), Ok(json!("[a] [b]")));
    assert_eq!(replace("(a)", "abc", r"\101"), Ok(json!("Abc")));
    assert_eq!(replace("(a)", "abc", r"\r"), Ok(json!("\rbc")));
    assert_eq!(replace("(a)", "abc", r"\0"), Ok(json!("\u{0}bc")));
    assert_eq!(replace("(a)", "abc", "$1"), Ok(json!("$1bc")));
    assert_eq!(replace("a{", "a{b", "X"), Ok(json!("Xb")));
    assert_eq!(replace(r"end\Z", "the end", "END"), Ok(json!("the END")));
    // Python: "invalid group reference 2", "bad escape \d".
    assert!(replace("(a)", "abc", r"\2")
        .unwrap_err()
        .contains("invalid group reference 2"));
    assert!(replace("(a)", "abc", r"\d")
        .unwrap_err()
        .contains(r"bad escape \d"));
}

/// Text patterns are Unicode-aware, as Python's `str` patterns are; `fullmatch` must span the
/// whole text, whichever alternative that takes.
#[test]
fn text_patterns_read_as_python_text_patterns() {
    assert_eq!(
        eval_regex(r"haystack is search(pattern)", r"^\w+$", "éa", ""),
        Ok(json!(true))
    );
    assert_eq!(
        eval_regex(
            "haystack is regex(pattern, match_type='fullmatch')",
            "a|ab",
            "ab",
            ""
        ),
        Ok(json!(true))
    );
    assert_eq!(
        eval_regex(
            "haystack is regex(pattern, match_type='fullmatch')",
            "abc$",
            "abc\n",
            ""
        ),
        Ok(json!(false))
    );
    assert_eq!(
        eval_regex("haystack is match(pattern)", "abc$", "abc\n", ""),
        Ok(json!(true))
    );
    assert_eq!(
        eval_regex("haystack | regex_findall(pattern)", "x{,2}y", "x{2}y xxy", ""),
        Ok(json!(["y", "xxy"]))
    );
}

/// A string literal Jinja2 cannot decode, or a bad `#jinja2:` header, is an error at its
/// place in the file.
#[test]
fn bad_literals_and_headers_are_located() {
    let render = |text: &str| {
        let err = Templar::new()
            .render_template_text("t.j2", text, &vars(), &FileOptions::default())
            .unwrap_err();
        format!("{err:#}")
    };
    let message = render("a\nb {{ '\\x4' }}\n");
    assert!(
        message.starts_with("t.j2:2:6: template syntax error: invalid string literal '\\x4': truncated"),
        "{message}"
    );
    let message = render("#jinja2: nope: True\nx\n");
    assert!(
        message.starts_with("t.j2:1:1: template syntax error: unknown key \"nope\" in the `#jinja2:` header"),
        "{message}"
    );
}
