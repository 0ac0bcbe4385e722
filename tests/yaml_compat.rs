//! Differential test of the YAML loader: every document of a corpus of valid YAML is loaded by
//! `deploy::yaml` and by Ansible (`ansible.parsing.utils.yaml.from_yaml`, which is what
//! Ansible's `DataLoader` calls for playbooks, roles, vars files and inventories), and the two
//! value trees must be equal: same types (an integer is not a float nor a string), same key
//! order, same floats bit for bit. A document Ansible refuses must be refused too, with a
//! `path:line:col` position.
//!
//! The corpus is the cases of `tests/fixtures/yaml/*.yaml` (each starts at a line
//! `=== name`), each also with Windows line endings, plus generated cases (every YAML 1.1
//! scalar spelling as a value, a key and a flow item; tabs; long lines; no final newline).
//! Ansible runs once per test run, over all of them in one batch.
//!
//! Where the trees cannot match, by design, for want of a type in `deploy::yaml::Data`, or
//! because of the parser underneath (each listed in `KNOWN_DIFFERENCES`):
//!
//! - **Duplicate keys** are refused with `path:line:col`, where Ansible warns and keeps the
//!   last value (`DUPLICATE_YAML_DICT_KEY=warn`). A duplicate is nearly always a mistake that
//!   silently drops half of a task's parameters, and the fix is trivial; Ansible itself can be
//!   set to refuse them (`DUPLICATE_YAML_DICT_KEY=error`). Keys are compared as Python
//!   compares them, so `1`, `1.0` and `true` are one key, and `010` and `8` are too.
//! - **Timestamps** (`2024-01-31`, `2001-12-14t21:59:43.10-05:00`) are `datetime.date` and
//!   `datetime.datetime` objects in Ansible. `deploy` has no date type: it keeps the text
//!   Python's `str()` gives (`2001-12-14 21:59:43.100000-05:00`), which is what a template
//!   renders; only `to_json` of a date-time (ISO form, with a `T`) and `is string` differ.
//!   The test compares `str()` of Ansible's value with deploy's string. Invalid dates
//!   (`2023-02-29`) are refused, as by Ansible.
//! - **`!!binary`** is a `bytes` object in Ansible; `deploy` keeps the base64 text.
//! - **`!vault`** is an `EncryptedString` in Ansible; the YAML layer alone (no vault keyring, as
//!   here) keeps the ciphertext as text, and the test compares the ciphertext. The command line
//!   installs the run's vault passwords first, and then the value is decrypted (tests/vault.rs).
//! - **`!unsafe`** values load to the same value as in Ansible, but the tree does not record
//!   that they were marked unsafe.
//! - **Integers beyond 64 bits** are Python integers in Ansible; `deploy` keeps their text as
//!   a string, which renders the same in templates.
//! - **Several merge sources with the same key** (`<<: [*a, *b]` where both define `port`):
//!   PyYAML 6.0.4 decides which one wins by the identity of Python string objects (one-letter
//!   keys are shared objects, so the first source wins; longer keys are not, so the last one
//!   does), a regression reported as yaml/pyyaml#953. `deploy` follows the merge-key
//!   specification and PyYAML up to 6.0.3: the first source wins, always. The order of the
//!   keys is 6.0.4's (sources in list order, then the mapping's own keys).
//! - **Python's JSON extensions**: Ansible reads a file as JSON first, and Python's `json`
//!   also takes `NaN`, `Infinity` and `-Infinity`; `deploy` reads JSON's numbers as JSON does
//!   but reads those three words as YAML strings.
//! - **What yaml-rust2 refuses and PyYAML reads**: a plain `-` inside a flow collection
//!   (`[-, x]`) and a comment right after a quoted scalar (`"x"#c`). Both are refused with a
//!   position, so nothing is read differently.
//! - **What PyYAML refuses and `deploy` reads**: `[true:, x]`, anchor names with `.`, an anchor
//!   defined twice (the later one is used), a document of only `...`, an empty key in a block
//!   mapping (`: x`), and the line breaks U+0085, U+2028 and U+2029 (PyYAML breaks lines
//!   there; `deploy` keeps them as characters). A file Ansible loads loads the same here.

mod common;

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use deploy::yaml::{Data, Node};
use serde_json::{json, Value as Json};

/// One YAML document to load on both sides.
struct Case {
    name: String,
    text: String,
}

/// Cases known to differ (see the list at the top): a case whose name contains one of these
/// is not compared. Each must still match a case that differs, so a fix removes it here.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    ("keys/duplicate ", "duplicate keys are refused"),
    (
        "keys/key with colon inside",
        "a duplicate key: `\"a:b\"` and `a:b`",
    ),
    ("keys/bool keys", "a duplicate key: `yes` and `true`"),
    (
        "keys/mixed key types",
        "a duplicate key: `1` and `true` are one Python key",
    ),
    ("keys/key one and ", "a duplicate key: equal Python numbers"),
    (
        "keys/key zero and false",
        "a duplicate key: `0` and `off` are one Python key",
    ),
    ("\"9223372036854775808\"", "an integer beyond 64 bits"),
    ("\"123456789012345678901234567890\"", "an integer beyond 64 bits"),
    ("tags/binary tag", "`!!binary` is bytes in Ansible"),
    (
        "anchors/merge list with same long key",
        "PyYAML 6.0.4 merge precedence (yaml/pyyaml#953)",
    ),
    (
        "anchors/merge list of three",
        "PyYAML 6.0.4 merge precedence (yaml/pyyaml#953)",
    ),
    ("scalar/document \"NaN\"", "Python's JSON reads `NaN`"),
    (
        "scalar/flow \"-\"",
        "yaml-rust2 refuses a plain `-` in a flow collection",
    ),
    (
        "comments/comment without space is text",
        "yaml-rust2 refuses `\"x\"#c`",
    ),
    ("scalar/flow \"true:\"", "PyYAML refuses `[true:, x]`"),
    (
        "anchors/anchor names with symbols",
        "PyYAML refuses `.` in anchor names",
    ),
    (
        "anchors/anchor redefined",
        "PyYAML refuses an anchor defined twice",
    ),
    (
        "documents/end marker only",
        "PyYAML refuses a document of only `...`",
    ),
    ("keys/empty key", "PyYAML refuses an empty key in a block mapping"),
    ("raw/nel", "PyYAML breaks lines at U+0085"),
    ("raw/line separator", "PyYAML breaks lines at U+2028"),
    ("raw/paragraph separator", "PyYAML breaks lines at U+2029"),
];

fn fixtures_dir() -> std::path::PathBuf {
    common::project_root().join("tests/fixtures/yaml")
}

/// The cases of every fixture file: a line `=== name` starts a case, which runs to the next.
fn fixture_cases() -> Vec<Case> {
    let mut files: Vec<_> = std::fs::read_dir(fixtures_dir())
        .expect("tests/fixtures/yaml exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    let mut cases: Vec<Case> = Vec::new();
    for file in files {
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.split_inclusive('\n') {
            if let Some(name) = line.strip_prefix("=== ") {
                cases.push(Case {
                    name: format!("{stem}/{}", name.trim()),
                    text: String::new(),
                });
            } else if let Some(case) = cases.last_mut() {
                case.text.push_str(line);
            } else {
                assert!(
                    line.trim().is_empty() || line.starts_with('#'),
                    "{}: text before the first `=== name` line",
                    file.display()
                );
            }
        }
    }
    cases
}

/// Plain scalars of every YAML 1.1 type and spelling, and near misses that stay strings.
const SCALARS: &[&str] = &[
    // null
    "~",
    "null",
    "Null",
    "NULL",
    "nULL",
    "nil",
    "None",
    // booleans, and words that are not booleans in YAML 1.1 as PyYAML has it
    "yes",
    "Yes",
    "YES",
    "no",
    "No",
    "NO",
    "true",
    "True",
    "TRUE",
    "false",
    "False",
    "FALSE",
    "on",
    "On",
    "ON",
    "off",
    "Off",
    "OFF",
    "y",
    "Y",
    "n",
    "N",
    "yES",
    "tRUE",
    "oN",
    "Of",
    // decimal integers
    "0",
    "-0",
    "+0",
    "1",
    "-1",
    "+1",
    "42",
    "1_000",
    "1__0",
    "-1_000_000",
    "1_",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "123456789012345678901234567890",
    // octal (YAML 1.1 leading zero), and what YAML 1.2 would call octal
    "0644",
    "0755",
    "00",
    "000",
    "0_7",
    "0_",
    "08",
    "0644_",
    "-017",
    "+017",
    "0o17",
    "0O17",
    "019",
    // hex and binary
    "0x1f",
    "0x1F",
    "0xFF_FF",
    "-0x10",
    "+0x10",
    "0X1F",
    "0xg",
    "0b101",
    "0b1_0",
    "-0b11",
    "0b2",
    "0B101",
    // base 60
    "1:20",
    "1:20:30",
    "-1:20",
    "+1:5",
    "0:30",
    "1:60",
    "1:005",
    "190:20:30",
    "1:2:3:4",
    "01:20",
    "1_0:20",
    // floats
    "1.5",
    "-1.5",
    "+1.5",
    "1.",
    "-1.",
    "0.0",
    "-0.0",
    ".5",
    "-.5",
    "+.5",
    "1.5e+3",
    "1.5E-3",
    "1.5e3",
    "1e5",
    "1e+5",
    "1.e+5",
    "1_000.5",
    "1.5_5",
    "6.8523015e+5",
    "685.230_15e+03",
    "190:20:30.15",
    "1:30.5",
    "-1:30.5",
    "0.1",
    "0.30000000000000004",
    "3.141592653589793",
    "1.7976931348623157e+308",
    "1.0e+400",
    "5e-324",
    "123456789.123456789",
    "1.2.3",
    "1..2",
    "._5",
    ".",
    "-.",
    "+.",
    // infinity and NaN
    ".inf",
    ".Inf",
    ".INF",
    "+.inf",
    "-.inf",
    "-.Inf",
    "-.INF",
    ".iNF",
    "inf",
    "-inf",
    ".nan",
    ".NaN",
    ".NAN",
    "nan",
    "NaN",
    "-.nan",
    "+.nan",
    // timestamps
    "2001-12-14",
    "2024-02-29",
    "2001-12-14t21:59:43.10-05:00",
    "2001-12-14T21:59:43.10Z",
    "2001-12-14 21:59:43.10 -5",
    "2001-12-14 21:59:43.10",
    "2001-12-15 2:59:43.10",
    "2002-12-14 21:59:43",
    "2001-1-2 3:04:05",
    "2001-12-14t21:59:43+05:30",
    "2001-12-14t21:59:43.1234567Z",
    "2001-12-14t21:59:43.000Z",
    "2001-12-14t21:59:43-00",
    "2001-12-14\t21:59:43",
    "2001-1-2",
    "20011-12-14",
    "2001-12-14x",
    // merge-looking, value-looking and other strings
    "<",
    "<<<",
    "==",
    "a=b",
    "-",
    "--",
    "---a",
    "-a",
    "a-",
    "1-2",
    "0.1.2",
    "1,000",
    "$100",
    "10%",
    "#not",
    "a #b",
    "a:b",
    "http://x",
    "a b",
    "@",
    "`",
    "1 2",
    "0x",
    "+",
    "12e",
    "e5",
    "1_000e+3",
    "yes please",
    "true:",
    "é",
    "日本",
    "∞",
];

/// Scalars that are only valid in some positions (PyYAML refuses a plain `=` value).
const VALUE_ONLY_ERRORS: &[&str] = &["="];

fn generated_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut case = |name: String, text: String| cases.push(Case { name, text });
    for scalar in SCALARS.iter().chain(VALUE_ONLY_ERRORS) {
        case(format!("scalar/value {scalar:?}"), format!("v: {scalar}\n"));
        case(format!("scalar/key {scalar:?}"), format!("{scalar}: v\n"));
        case(format!("scalar/flow {scalar:?}"), format!("[{scalar}, x]\n"));
        case(format!("scalar/item {scalar:?}"), format!("- {scalar}\n"));
        case(format!("scalar/document {scalar:?}"), format!("{scalar}\n"));
        case(format!("scalar/single {scalar:?}"), format!("v: '{scalar}'\n"));
        case(
            format!("scalar/str tag {scalar:?}"),
            format!("v: !!str {scalar}\n"),
        );
        case(
            format!("scalar/unsafe {scalar:?}"),
            format!("v: !unsafe '{scalar}'\n"),
        );
    }
    for tag in ["int", "float", "bool", "null", "str", "timestamp"] {
        for scalar in SCALARS {
            case(
                format!("tag/{tag} {scalar:?}"),
                format!("v: !!{tag} '{scalar}'\n"),
            );
        }
    }
    // Text that a fixture file cannot hold or would hide.
    case("raw/no final newline".into(), "a: 1\nb: [x, y]".into());
    case("raw/no final newline block".into(), "a: |\n  text".into());
    case("raw/no final newline keep".into(), "a: |+\n  text\n\n".into());
    case("raw/empty".into(), String::new());
    case("raw/only newline".into(), "\n".into());
    case("raw/only spaces".into(), "   \n  \n".into());
    case("raw/byte order mark".into(), "\u{feff}a: 1\n".into());
    case("raw/tab after colon".into(), "a:\tb\nc:\t\t1\n".into());
    case("raw/tab inside plain".into(), "a: x\ty\n".into());
    case("raw/tab before comment".into(), "a: 1\t# note\nb: 2\n".into());
    case("raw/tab in single".into(), "a: 'x\ty'\n".into());
    case("raw/tab in double".into(), "a: \"x\ty\"\n".into());
    case("raw/tab in literal".into(), "a: |\n  x\ty\n  \tz\n".into());
    case("raw/tab in folded".into(), "a: >\n  x\ty\n  z\n".into());
    case("raw/tab trailing".into(), "a: x\t\nb: y \t \n".into());
    case("raw/tab in flow".into(), "a: [x,\ty]\nb: {c:\t1}\n".into());
    case("raw/cr only line ends".into(), "a: 1\rb: 2\r".into());
    case("raw/crlf literal".into(), "a: |\r\n  x\r\n  y\r\n".into());
    case(
        "raw/crlf folded".into(),
        "a: >\r\n  x\r\n  y\r\n\r\n  z\r\n".into(),
    );
    case("raw/crlf double".into(), "a: \"x\r\n  y\\\r\n  z\"\r\n".into());
    case("raw/nel".into(), "a: x\u{85}y\n".into());
    case("raw/line separator".into(), "a: x\u{2028}y\n".into());
    case("raw/paragraph separator".into(), "a: x\u{2029}y\n".into());
    let long = "word ".repeat(4000);
    case("raw/long plain".into(), format!("a: {}\n", long.trim_end()));
    case("raw/long double".into(), format!("a: \"{}\"\n", long.trim_end()));
    case("raw/long key".into(), format!("{}: 1\n", "k".repeat(1000)));
    case(
        "raw/long flow".into(),
        format!("[{}]\n", vec!["1"; 5000].join(", ")),
    );
    case(
        "raw/long literal".into(),
        format!("a: |\n{}", "  line of text\n".repeat(2000)),
    );
    case(
        "raw/many keys".into(),
        (0..2000).map(|i| format!("k{i}: {i}\n")).collect(),
    );
    cases
}

/// Every fixture case also with Windows line endings.
fn all_cases() -> Vec<Case> {
    let mut cases = fixture_cases();
    let crlf: Vec<Case> = cases
        .iter()
        .map(|case| Case {
            name: format!("{} (crlf)", case.name),
            text: case.text.replace('\n', "\r\n"),
        })
        .collect();
    cases.extend(crlf);
    cases.extend(generated_cases());
    let mut seen = std::collections::HashSet::new();
    for case in &cases {
        assert!(seen.insert(case.name.clone()), "two cases named {}", case.name);
    }
    cases
}

/// Loads every case with Ansible in one Python process. Each answer is `{"value": tree}` or
/// `{"error": message}`, the tree in the form of [`canonical`].
const ORACLE: &str = r#"
import base64, datetime, json, sys, warnings
warnings.simplefilter("ignore")
from ansible.parsing.utils.yaml import from_yaml

def canonical(v):
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, int):
        return {"int": str(int(v))}
    if isinstance(v, float):
        return {"float": repr(float(v))}
    if type(v).__name__ == "EncryptedString":
        # deploy keeps the ciphertext for the loader to decrypt; comparing it is enough here.
        return v._ciphertext
    if isinstance(v, str):
        return str(v)
    if isinstance(v, bytes):
        return {"binary": base64.b64encode(v).decode()}
    if isinstance(v, datetime.date):
        return {"timestamp": str(v)}
    if isinstance(v, list):
        return [canonical(x) for x in v]
    if isinstance(v, dict):
        return {"map": [[canonical(k), canonical(x)] for k, x in v.items()]}
    return {"unsupported": type(v).__name__, "repr": repr(v)}

answers = {}
for name, text in json.load(sys.stdin):
    try:
        answers[name] = {"value": canonical(from_yaml(text, file_name="/case.yml"))}
    except Exception as e:
        answers[name] = {"error": str(e).splitlines()[0] if str(e) else type(e).__name__}
json.dump(answers, sys.stdout)
"#;

fn oracle_answers(cases: &[Case]) -> HashMap<String, Json> {
    let python = common::oracle("python3");
    let input = serde_json::to_vec(
        &cases
            .iter()
            .map(|case| json!([case.name, case.text]))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(python)
        .args(["-c", ORACLE])
        // Only Ansible's defaults: no user or system configuration leaks in.
        .env("ANSIBLE_CONFIG", home.path().join("ansible.cfg"))
        .env("ANSIBLE_HOME", home.path())
        .env("ANSIBLE_NOCOLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the oracle's python runs");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        output.status.success(),
        "the oracle failed:\n{}",
        common::stderr(&output)
    );
    serde_json::from_slice(&output.stdout).expect("the oracle prints JSON")
}

/// A node in the oracle's form: types kept apart, mappings as ordered pairs.
fn canonical(node: &Node) -> Json {
    match &node.data {
        Data::Null => Json::Null,
        Data::Bool(b) => Json::Bool(*b),
        Data::Int(i) => json!({"int": i.to_string()}),
        Data::Float(f) => json!({"float": float_key(*f)}),
        Data::Str { value, .. } => Json::String(value.clone()),
        Data::Seq(items) => Json::Array(items.iter().map(canonical).collect()),
        Data::Map(entries) => json!({"map": entries
            .iter()
            .map(|(k, v)| json!([canonical(k), canonical(v)]))
            .collect::<Vec<_>>()}),
    }
}

/// A float as text that is equal exactly when the bits are (all NaNs are one).
fn float_key(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else {
        format!("{:#x}", f.to_bits())
    }
}

/// The oracle's tree with its floats in [`float_key`] form and its timestamps as the strings
/// deploy keeps (see the list at the top).
fn normalize(value: &Json) -> Json {
    match value {
        Json::Array(items) => Json::Array(items.iter().map(normalize).collect()),
        Json::Object(object) => {
            if let Some(Json::String(text)) = object.get("float") {
                let f: f64 = text.parse().expect("Python's repr of a float parses");
                json!({"float": float_key(f)})
            } else if let Some(Json::String(text)) = object.get("timestamp") {
                Json::String(text.clone())
            } else {
                Json::Object(object.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
            }
        }
        other => other.clone(),
    }
}

/// Long texts (the long-line cases) cut to what a reader can compare.
fn shorten(text: &str) -> String {
    const LIMIT: usize = 400;
    match text.char_indices().nth(LIMIT) {
        Some((at, _)) => format!("{}… ({} characters)", &text[..at], text.chars().count()),
        None => text.to_string(),
    }
}

#[test]
fn loads_like_ansible() {
    let cases = all_cases();
    assert!(cases.len() > 500, "the corpus has {} cases", cases.len());
    let answers = oracle_answers(&cases);
    let mut mismatches = Vec::new();
    let mut still_known = std::collections::HashSet::new();
    for case in &cases {
        let answer = &answers[&case.name];
        let theirs = match (answer.get("value"), answer.get("error")) {
            (Some(value), _) => Ok(normalize(value)),
            (None, Some(error)) => Err(error.as_str().unwrap_or_default().to_string()),
            (None, None) => panic!("no answer for {}", case.name),
        };
        let ours = deploy::yaml::parse_str(&case.text, Path::new("case.yml"));
        let same = match (&ours, &theirs) {
            (Ok(node), Ok(value)) => &canonical(node) == value,
            (Err(err), Err(_)) => {
                let text = format!("{err:#}");
                assert!(
                    text.starts_with("case.yml:"),
                    "{}: the error has no position: {text}",
                    case.name
                );
                true
            }
            _ => false,
        };
        let known = KNOWN_DIFFERENCES
            .iter()
            .find(|(pattern, _)| case.name.contains(pattern));
        if let Some((pattern, _)) = known {
            if !same {
                still_known.insert(*pattern);
            }
            continue;
        }
        if !same {
            let ours = match &ours {
                Ok(node) => canonical(node).to_string(),
                Err(err) => format!("error: {err:#}"),
            };
            let theirs = match &theirs {
                Ok(value) => value.to_string(),
                Err(err) => format!("error: {err}"),
            };
            mismatches.push(format!(
                "{}\n  text:    {}\n  ansible: {}\n  deploy:  {}",
                case.name,
                shorten(&format!("{:?}", case.text)),
                shorten(&theirs),
                shorten(&ours)
            ));
        }
    }
    let fixed: Vec<_> = KNOWN_DIFFERENCES
        .iter()
        .filter(|(pattern, _)| !still_known.contains(pattern))
        .map(|(name, why)| format!("{name} ({why})"))
        .collect();
    assert!(
        mismatches.is_empty() && fixed.is_empty(),
        "{} of {} cases differ from Ansible:\n{}\n\nknown differences that no longer differ \
         (remove them from KNOWN_DIFFERENCES): {fixed:?}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
}
