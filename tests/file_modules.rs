//! `lineinfile`, `blockinfile`, `replace`, `pam_limits` and `authorized_key` compute new file
//! contents locally, so hosts can move between
//! Ansible and `deploy` only if that computation is Ansible's, byte for byte. Each case here
//! runs the real Ansible module (from the oracle virtualenv) on a file and compares the bytes
//! it leaves, and whether it reported a change, with what `deploy` computes from the same file.

mod common;

use std::path::Path;
use std::process::Command;

use deploy::resource::lifecycle::Args;
use deploy::resource::text_edit::TextEdit;
use deploy::resource::{authorized_key, blockinfile, lineinfile, pam_limits, replace};
use serde_json::{json, Value};

struct Case {
    name: &'static str,
    module: &'static str,
    params: Value,
    before: Option<&'static str>,
}

fn case(name: &'static str, module: &'static str, params: Value, before: Option<&'static str>) -> Case {
    Case {
        name,
        module,
        params,
        before,
    }
}

/// What a module did to a file: its bytes afterwards (`None`: absent) and whether it said
/// it changed something; `Err` when it failed.
type Outcome = Result<(Option<Vec<u8>>, bool), String>;

/// The parameters with the module's file parameter naming `path`.
fn with_path(module: &str, params: &Value, path: &Path) -> Value {
    let mut params = params.clone();
    let name = if module == "pam_limits" { "dest" } else { "path" };
    params[name] = json!(path.to_str().expect("temp paths are UTF-8"));
    params
}

fn run_ansible(ansible: &Path, case: &Case, dir: &Path) -> Outcome {
    let path = dir.join("target");
    if let Some(before) = case.before {
        std::fs::write(&path, before).expect("write the test file");
    }
    std::fs::write(dir.join("ansible.cfg"), "").expect("write an empty ansible.cfg");
    let python = ansible.with_file_name("python");
    let output = Command::new(ansible)
        .args(["localhost", "-c", "local", "-i", "localhost,", "-m", case.module])
        .arg("-e")
        .arg(format!("ansible_python_interpreter={}", python.display()))
        .arg("-a")
        .arg(with_path(case.module, &case.params, &path).to_string())
        .env("ANSIBLE_CONFIG", dir.join("ansible.cfg"))
        .env("ANSIBLE_HOME", dir.join("home"))
        .env("ANSIBLE_NOCOLOR", "1")
        .current_dir(dir)
        .output()
        .expect("ansible runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if stdout.contains("| FAILED") || !output.status.success() {
        return Err(stdout);
    }
    let changed = stdout.contains("| CHANGED");
    assert!(
        changed || stdout.contains("| SUCCESS"),
        "unexpected ansible output: {stdout}"
    );
    Ok((std::fs::read(&path).ok(), changed))
}

fn run_deploy(case: &Case) -> Outcome {
    let params: indexmap::IndexMap<String, Value> =
        match with_path(case.module, &case.params, Path::new("/target")) {
            Value::Object(map) => map.into_iter().collect(),
            _ => unreachable!("parameters are an object"),
        };
    let before = case.before.map(str::as_bytes);
    let edited = match case.module {
        "lineinfile" => lineinfile::LineInFile::from_args(&Args::new(&lineinfile::SPEC, &params))
            .and_then(|edit| edit.edit(before)),
        "blockinfile" => blockinfile::BlockInFile::from_args(&Args::new(&blockinfile::SPEC, &params))
            .and_then(|edit| edit.edit(before)),
        "pam_limits" => pam_limits::LimitEdit::from_args(&Args::new(&pam_limits::SPEC, &params))
            .and_then(|edit| edit.edit(before)),
        "authorized_key" => {
            let args = Args::new(&authorized_key::SPEC, &params);
            let key = case.params["key"].as_str().expect("cases give a key");
            authorized_key::KeysEdit::from_args(&args, key).map(|edit| {
                authorized_key::edit_keys(&edit, case.before.unwrap_or_default()).map(String::into_bytes)
            })
        }
        "replace" => replace::Replace::from_args(&Args::new(&replace::SPEC, &params))
            .and_then(|edit| edit.edit(before)),
        other => panic!("no such module in these tests: {other}"),
    };
    match edited {
        Err(err) => Err(format!("{err:#}")),
        Ok(Some(after)) => Ok((Some(after), true)),
        Ok(None) => Ok((before.map(<[u8]>::to_vec), false)),
    }
}

fn cases() -> Vec<Case> {
    vec![
        case(
            "regexp replaces the last match",
            "lineinfile",
            json!({"regexp": "^PORT=", "line": "PORT=9"}),
            Some("PORT=1\nx\nPORT=2\n"),
        ),
        case(
            "firstmatch replaces the first",
            "lineinfile",
            json!({"regexp": "^PORT=", "line": "PORT=9", "firstmatch": true}),
            Some("PORT=1\nx\nPORT=2\n"),
        ),
        case(
            "backrefs on a last line without newline",
            "lineinfile",
            json!({"regexp": "^PORT=(\\d+)$", "line": "P=\\1 \\g<1>", "backrefs": true}),
            Some("a\nPORT=1"),
        ),
        case(
            "backrefs without a match leave the file",
            "lineinfile",
            json!({"regexp": "^NOPE=(.*)$", "line": "x=\\1", "backrefs": true}),
            Some("a\n"),
        ),
        case(
            "insertafter EOF after a missing newline",
            "lineinfile",
            json!({"line": "c", "insertafter": "EOF"}),
            Some("a\nb"),
        ),
        case(
            "insertafter the last line without newline",
            "lineinfile",
            json!({"line": "b", "insertafter": "^a"}),
            Some("x\na"),
        ),
        case(
            "insertafter the last match",
            "lineinfile",
            json!({"line": "z", "insertafter": "^\\["}),
            Some("[a]\nx\n[b]\ny\n"),
        ),
        case(
            "insertbefore with firstmatch",
            "lineinfile",
            json!({"line": "z", "insertbefore": "^\\[", "firstmatch": true}),
            Some("[a]\n[b]\n"),
        ),
        case(
            "insertbefore BOF",
            "lineinfile",
            json!({"line": "first", "insertbefore": "BOF"}),
            Some("a\n"),
        ),
        case(
            "insertafter a line already followed by it",
            "lineinfile",
            json!({"line": "x", "insertafter": "^\\[a\\]"}),
            Some("[a]\nx\n"),
        ),
        case(
            "an unmatched regexp finds the exact line",
            "lineinfile",
            json!({"regexp": "^nothing", "line": "b"}),
            Some("a\nb\nc\n"),
        ),
        case(
            "exact line with CRLF is rewritten",
            "lineinfile",
            json!({"line": "b"}),
            Some("a\r\nb\r\n"),
        ),
        case(
            "search_string replaces",
            "lineinfile",
            json!({"search_string": "listen 80", "line": "    listen 8080;"}),
            Some("server {\n    listen 80;\n}\n"),
        ),
        case(
            "absent by regexp removes every match",
            "lineinfile",
            json!({"regexp": "^#", "state": "absent"}),
            Some("#a\nb\n#c"),
        ),
        case(
            "absent by line, CRLF",
            "lineinfile",
            json!({"line": "b", "state": "absent"}),
            Some("a\r\nb\r\nc\n"),
        ),
        case(
            "absent on a missing file",
            "lineinfile",
            json!({"line": "b", "state": "absent"}),
            None,
        ),
        case(
            "create a missing file",
            "lineinfile",
            json!({"line": "hello", "create": true}),
            None,
        ),
        case(
            "missing file without create fails",
            "lineinfile",
            json!({"line": "hello"}),
            None,
        ),
        case(
            "dollar before the final newline, UTF-8 content",
            "lineinfile",
            json!({"regexp": "^name\\s*=\\s*(.*?)\\s*$", "line": "name = \\1!", "backrefs": true}),
            Some("x\nname = été  \ny\n"),
        ),
        case(
            "block appended after a missing newline",
            "blockinfile",
            json!({"block": "a\nb"}),
            Some("x"),
        ),
        case(
            "block replaced in place",
            "blockinfile",
            json!({"block": "new\n"}),
            Some("x\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n# END ANSIBLE MANAGED BLOCK\ny\n"),
        ),
        case(
            "block already there",
            "blockinfile",
            json!({"block": "same"}),
            Some("x\n# BEGIN ANSIBLE MANAGED BLOCK\nsame\n# END ANSIBLE MANAGED BLOCK\n"),
        ),
        case(
            "block removed",
            "blockinfile",
            json!({"state": "absent"}),
            Some("x\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n# END ANSIBLE MANAGED BLOCK\ny\n"),
        ),
        case(
            "absent with no block touches a missing newline",
            "blockinfile",
            json!({"state": "absent"}),
            Some("x"),
        ),
        case(
            "markers in reverse order",
            "blockinfile",
            json!({"block": "k"}),
            Some("a\n# END ANSIBLE MANAGED BLOCK\nb\n# BEGIN ANSIBLE MANAGED BLOCK\nc\n"),
        ),
        case(
            "custom markers before the last match",
            "blockinfile",
            json!({"block": "k", "marker": "// {mark} managed", "marker_begin": "start", "marker_end": "stop", "insertbefore": "^b"}),
            Some("a\nb\nb\n"),
        ),
        case(
            "multiline insertafter",
            "blockinfile",
            json!({"block": "k", "insertafter": "(?m)^a\\nb"}),
            Some("a\nb\nc\n"),
        ),
        case(
            "create with a block",
            "blockinfile",
            json!({"block": "k", "create": true}),
            None,
        ),
        case(
            "blank lines around a new block",
            "blockinfile",
            json!({"block": "k", "insertafter": "^a", "prepend_newline": true, "append_newline": true}),
            Some("a\nb\n"),
        ),
        case(
            "CRLF file with an anchor",
            "blockinfile",
            json!({"block": "k", "insertbefore": "^b"}),
            Some("a\r\nb\r\n"),
        ),
        case(
            "a limit appended to a missing file",
            "pam_limits",
            json!({"domain": "app", "limit_type": "-", "limit_item": "nofile", "value": "65536"}),
            None,
        ),
        case(
            "a limit changed in place, an earlier comment carried over",
            "pam_limits",
            json!({"domain": "app", "limit_type": "soft", "limit_item": "nproc", "value": "2048"}),
            Some("# limits\n*  hard  core  0  # no cores\napp soft nproc 1024\n"),
        ),
        case(
            "a limit with its comment",
            "pam_limits",
            json!({"domain": "@staff", "limit_type": "hard", "limit_item": "maxlogins", "value": "4", "comment": "staff"}),
            Some("@staff hard maxlogins 10\n"),
        ),
        case(
            "use_max keeps the larger limit",
            "pam_limits",
            json!({"domain": "*", "limit_type": "soft", "limit_item": "nofile", "value": "1024", "use_max": true}),
            Some("*\tsoft\tnofile\t4096\n"),
        ),
        case(
            "use_min against unlimited",
            "pam_limits",
            json!({"domain": "*", "limit_type": "soft", "limit_item": "nofile", "value": "1024", "use_min": true}),
            Some("* soft nofile unlimited\n"),
        ),
        case(
            "a limit already there",
            "pam_limits",
            json!({"domain": "app", "limit_type": "-", "limit_item": "nofile", "value": "65536"}),
            Some("app  -  nofile  65536\n"),
        ),
        case(
            "an invalid value",
            "pam_limits",
            json!({"domain": "app", "limit_type": "-", "limit_item": "nice", "value": "40"}),
            Some(""),
        ),
        case(
            "keys added, with options, to a file with comments",
            "authorized_key",
            json!({"user": "root", "manage_dir": false,
                "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 a@x\nssh-rsa AAAAB3NzaC1yc2EAAAA2 b@y\n",
                "key_options": "no-pty,command=\"echo a,b\""}),
            Some("# keys\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 a@x\n"),
        ),
        case(
            "a key whose comment differs moves to the end",
            "authorized_key",
            json!({"user": "root", "manage_dir": false, "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1"}),
            Some("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 a@x\nssh-rsa AAAAB3NzaC1yc2EAAAA2 b@y\n"),
        ),
        case(
            "exclusive drops other keys and comments",
            "authorized_key",
            json!({"user": "root", "manage_dir": false, "exclusive": true, "comment": "deploy",
                "key": "ssh-rsa AAAAB3NzaC1yc2EAAAA2"}),
            Some("# keys\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 a@x\nssh-rsa AAAAB3NzaC1yc2EAAAA2 deploy\n"),
        ),
        case(
            "a key removed, duplicates collapsed",
            "authorized_key",
            json!({"user": "root", "manage_dir": false, "state": "absent", "key": "ssh-rsa AAAAB3NzaC1yc2EAAAA2"}),
            Some("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 a@x\nssh-rsa AAAAB3NzaC1yc2EAAAA2 b\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 a@x\n"),
        ),
        case(
            "a key already there",
            "authorized_key",
            json!({"user": "root", "manage_dir": false, "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 a@x"}),
            Some("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 a@x\n"),
        ),
        case(
            "replace every match, multiline anchors",
            "replace",
            json!({"regexp": "^\\s*gpgcheck.*", "replace": "gpgcheck=1"}),
            Some("[main]\n  gpgcheck=0\nx\ngpgcheck = 0\n"),
        ),
        case(
            "replace with groups and a final line without newline",
            "replace",
            json!({"regexp": "^(\\w+)=(?P<v>\\d+)$", "replace": "\\g<v>=\\1"}),
            Some("a=1\nb=2"),
        ),
        case(
            "replace with nothing to change",
            "replace",
            json!({"regexp": "^nope", "replace": "x"}),
            Some("a\n"),
        ),
        case(
            "replace only between after and before",
            "replace",
            json!({"regexp": "on", "replace": "off", "after": "<start>", "before": "</start>"}),
            Some("on\n<start>\non\non\n</start>\non\n"),
        ),
        case(
            "replace after a marker",
            "replace",
            json!({"regexp": "^#(.*)$", "replace": "\\1", "after": "# enable below"}),
            Some("#a\n# enable below\n#b\n#c\n"),
        ),
        case(
            "replace with look-around and an empty match",
            "replace",
            json!({"regexp": "(?<=key=)\\w*(?=;)", "replace": "v"}),
            Some("key=;\nkey=old;\nkey=x\n"),
        ),
        case(
            "replace in a missing file fails",
            "replace",
            json!({"regexp": "a", "replace": "b"}),
            None,
        ),
        case(
            "lineinfile with a look-ahead",
            "lineinfile",
            json!({"regexp": "^PermitRootLogin(?!\\s+no)", "line": "PermitRootLogin no"}),
            Some("PermitRootLogin yes\nX\n"),
        ),
        case(
            "lineinfile with a look-behind and backrefs",
            "lineinfile",
            json!({"regexp": "(?<=^GRUB_CMDLINE=\")(.*)\"$", "line": "audit=1 \\1\"", "backrefs": true}),
            Some("GRUB_CMDLINE=\"quiet\"\n"),
        ),
    ]
}

#[test]
fn file_edits_write_what_ansible_writes() {
    let ansible = common::oracle("ansible");
    let mut mismatches = Vec::new();
    for case in cases() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let theirs = run_ansible(&ansible, &case, dir.path());
        let ours = run_deploy(&case);
        let agree = match (&theirs, &ours) {
            (Ok(theirs), Ok(ours)) => theirs == ours,
            (Err(_), Err(_)) => true,
            _ => false,
        };
        if !agree {
            let show = |o: &Outcome| match o {
                Ok((bytes, changed)) => format!(
                    "changed={changed} {:?}",
                    bytes.as_ref().map(|b| String::from_utf8_lossy(b).into_owned())
                ),
                Err(e) => format!("failed: {e}"),
            };
            mismatches.push(format!(
                "{} ({}):\n  ansible: {}\n  deploy:  {}",
                case.name,
                case.module,
                show(&theirs),
                show(&ours)
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
