//! The Jinja tests (`x is defined`, `r is changed`, `v is version('1.2', '>=')`) that roles
//! use in `when:`, `select()` and templates, beyond minijinja's Jinja2 builtins.

use std::cmp::Ordering;

use super::registry::{Register, Registry};
use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};

use crate::python_regex::{Anchor, Flags, TextRegex};

const BUILTINS: &[&str] = &[
    "boolean",
    "defined",
    "divisibleby",
    "eq",
    "escaped",
    "even",
    "false",
    "filter",
    "float",
    "ge",
    "gt",
    "in",
    "integer",
    "iterable",
    "le",
    "lower",
    "lt",
    "mapping",
    "ne",
    "none",
    "number",
    "odd",
    "sameas",
    "sequence",
    "startingwith",
    "endingwith",
    "string",
    "test",
    "true",
    "undefined",
    "upper",
];

/// A [`Register`] for the test function `$f`.
macro_rules! test {
    ($f:expr) => {
        |env: &mut Environment<'static>, name: &'static str| env.add_test(name, $f)
    };
}

/// The tests this module adds (Ansible's own): the one list both registration and the hints
/// read, so a test cannot be added to one and forgotten in the other.
const OWN: &[(&str, Register)] = &[
    (
        "match",
        test!(|v: &Value, p: String, k: Kwargs| regex_test(v, &p, k, true)),
    ),
    (
        "search",
        test!(|v: &Value, p: String, k: Kwargs| regex_test(v, &p, k, false)),
    ),
    ("regex", test!(regex_with_type)),
    ("version", test!(version)),
    ("version_compare", test!(version)),
    (
        "succeeded",
        test!(|v: &Value| Ok::<_, Error>(!result_flag(v, "failed", "succeeded")?)),
    ),
    (
        "success",
        test!(|v: &Value| Ok::<_, Error>(!result_flag(v, "failed", "success")?)),
    ),
    ("failed", test!(|v: &Value| result_flag(v, "failed", "failed"))),
    ("failure", test!(|v: &Value| result_flag(v, "failed", "failure"))),
    ("changed", test!(|v: &Value| result_flag(v, "changed", "changed"))),
    ("change", test!(|v: &Value| result_flag(v, "changed", "change"))),
    ("skipped", test!(|v: &Value| result_flag(v, "skipped", "skipped"))),
    ("skip", test!(|v: &Value| result_flag(v, "skipped", "skip"))),
    ("truthy", test!(|v: &Value| v.is_true())),
    ("falsy", test!(|v: &Value| !v.is_true())),
    (
        "contains",
        test!(|seq: &Value, item: &Value| Ok::<_, Error>(seq.try_iter()?.any(|x| &x == item))),
    ),
    ("subset", test!(|a: &Value, b: &Value| subset(a, b))),
    ("superset", test!(|a: &Value, b: &Value| subset(b, a))),
    ("exists", test!(|p: String| std::path::Path::new(&p).exists())),
    ("file", test!(|p: String| std::path::Path::new(&p).is_file())),
    ("directory", test!(|p: String| std::path::Path::new(&p).is_dir())),
    // Jinja2's `sequence` is "has a length and items": strings are sequences too.
    (
        "sequence",
        test!(|v: &Value| matches!(v.kind(), ValueKind::Seq | ValueKind::Map | ValueKind::String)),
    ),
    // Data from a playbook is never callable; macros are.
    ("callable", test!(|v: &Value| v.kind() == ValueKind::Plain)),
];

/// Every test the templar knows: registration and the hints' names.
pub(crate) const TESTS: Registry = Registry {
    builtins: BUILTINS,
    own: OWN,
};

fn regex_test(value: &Value, pattern: &str, kwargs: Kwargs, anchored: bool) -> Result<bool, Error> {
    let flags = regex_flags(&kwargs)?;
    kwargs.assert_all_used()?;
    let anchor = if anchored { Anchor::Match } else { Anchor::Search };
    regex_matches(value, pattern, flags, anchor)
}

fn regex_with_type(value: &Value, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    let flags = regex_flags(&kwargs)?;
    let match_type = kwargs
        .get::<Option<String>>("match_type")?
        .unwrap_or_else(|| "search".to_string());
    kwargs.assert_all_used()?;
    let anchor = match match_type.as_str() {
        "match" => Anchor::Match,
        "fullmatch" => Anchor::FullMatch,
        "search" => Anchor::Search,
        other => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("regex: unknown match_type '{other}'"),
            ))
        }
    };
    regex_matches(value, &pattern, flags, anchor)
}

/// The flags Ansible's regex tests take.
fn regex_flags(kwargs: &Kwargs) -> Result<Flags, Error> {
    Ok(Flags {
        ignorecase: kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false),
        multiline: kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false),
    })
}

/// Whether `pattern`, translated as every Python pattern in a playbook is, matches `value`.
fn regex_matches(value: &Value, pattern: &str, flags: Flags, anchor: Anchor) -> Result<bool, Error> {
    let text = super::python::value_to_python_str(value)?;
    let re = TextRegex::anchored(pattern, flags, anchor)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("{e:#}")))?;
    let found = re
        .search(&text)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("{e:#}")))?;
    Ok(found.is_some())
}

/// A part of a loose version: numbers compare as numbers, words as text.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Number(u64),
    Word(String),
}

/// Python's `LooseVersion` split: runs of digits and runs of letters.
fn loose_version(text: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, parts: &mut Vec<Part>| {
        if current.is_empty() {
            return;
        }
        let part = match current.parse::<u64>() {
            Ok(n) => Part::Number(n),
            Err(_) => Part::Word(current.clone()),
        };
        parts.push(part);
        current.clear();
    };
    for c in text.chars() {
        let same_kind = current
            .chars()
            .last()
            .is_none_or(|p| p.is_ascii_digit() == c.is_ascii_digit());
        if c == '.' {
            flush(&mut current, &mut parts);
        } else if c.is_alphanumeric() {
            if !same_kind {
                flush(&mut current, &mut parts);
            }
            current.push(c);
        } else {
            flush(&mut current, &mut parts);
            parts.push(Part::Word(c.to_string()));
        }
    }
    flush(&mut current, &mut parts);
    parts
}

/// `version(other, operator='eq')` with loose version comparison.
fn version(value: &Value, other: &Value, operator: Option<String>, kwargs: Kwargs) -> Result<bool, Error> {
    let operator = kwargs
        .get::<Option<String>>("operator")?
        .or(operator)
        .unwrap_or_else(|| "eq".to_string());
    let _strict = kwargs.get::<Option<bool>>("strict")?;
    let version_type = kwargs.get::<Option<String>>("version_type")?;
    kwargs.assert_all_used()?;
    if let Some(kind) = version_type.filter(|k| k != "loose") {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("version: version_type '{kind}' is not supported (loose)"),
        ));
    }
    let a = loose_version(&super::python::value_to_python_str(value)?);
    let b = loose_version(&super::python::value_to_python_str(other)?);
    let ordering = a.cmp(&b);
    Ok(match operator.as_str() {
        "==" | "=" | "eq" => ordering == Ordering::Equal,
        "!=" | "<>" | "ne" => ordering != Ordering::Equal,
        "<" | "lt" => ordering == Ordering::Less,
        "<=" | "le" => ordering != Ordering::Greater,
        ">" | "gt" => ordering == Ordering::Greater,
        ">=" | "ge" => ordering != Ordering::Less,
        other => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("version: invalid operator '{other}'"),
            ))
        }
    })
}

/// Ansible's result tests: a registered result's flag, or any loop item's for `changed`.
fn result_flag(value: &Value, flag: &str, test: &str) -> Result<bool, Error> {
    if value.kind() != ValueKind::Map {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "the '{test}' test expects a registered result (a dict), got {}",
                value.kind()
            ),
        ));
    }
    let direct = value.get_attr(flag)?;
    if direct.is_true() {
        return Ok(true);
    }
    if flag == "changed" || flag == "failed" {
        let results = value.get_attr("results")?;
        if results.kind() == ValueKind::Seq {
            for item in results.try_iter()? {
                if item.kind() == ValueKind::Map && item.get_attr(flag)?.is_true() {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

fn subset(a: &Value, b: &Value) -> Result<bool, Error> {
    let b: Vec<Value> = b.try_iter()?.collect();
    Ok(a.try_iter()?.all(|x| b.contains(&x)))
}
