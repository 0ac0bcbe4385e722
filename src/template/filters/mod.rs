//! The Ansible filters that real roles use, on top of minijinja's Jinja2 builtins.
//!
//! Where a minijinja builtin already behaves like Jinja2 under Ansible it is kept; the filters
//! here are Ansible's own (`combine`, `to_nice_yaml`, `regex_replace`, `password_hash`...) or
//! Jinja2 builtins whose Python behaviour differs from minijinja's in ways a rendered file
//! would show (`string` of a boolean is `True`, `int('abc')` is `0`, `round` returns a float).

use std::sync::LazyLock;

mod crypto;
mod data;
mod math;
mod patterns;
mod random;
mod text;

use super::registry::{Register, Registry};
use base64::Engine as _;
use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State, Value};
use regex::Regex;
use serde_json::Value as Json;
use sha1::Digest as _;

use crate::digest::hex;
use crate::python_regex::{Flags, TextRegex};

use self::{crypto::*, data::*, math::*, patterns::*, random::*, text::*};
use super::python::{json_to_python_str, python_json_text, python_repr, value_to_json, value_to_python_str};
use super::yaml_dump::{to_yaml, YamlStyle};

const BUILTINS: &[&str] = &[
    "abs",
    "attr",
    "batch",
    "capitalize",
    "chain",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "format",
    "groupby",
    "items",
    "join",
    "last",
    "length",
    "lines",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "pprint",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "safe",
    "select",
    "selectattr",
    "slice",
    "sort",
    "split",
    "sum",
    "title",
    "tojson",
    "trim",
    "unique",
    "upper",
    "urlencode",
    "zip",
];

/// A [`Register`] for the filter function `$f`.
macro_rules! filter {
    ($f:expr) => {
        |env: &mut Environment<'static>, name: &'static str| env.add_filter(name, $f)
    };
}

/// The filters this module adds (Ansible's own, and builtins redone as Python does them): the
/// one list both registration and the hints read, so a filter cannot be added to one and
/// forgotten in the other.
const OWN: &[(&str, Register)] = &[
    ("bool", filter!(bool_filter)),
    ("int", filter!(int)),
    ("float", filter!(float)),
    ("string", filter!(string)),
    ("round", filter!(round)),
    ("indent", filter!(indent)),
    ("center", filter!(center)),
    ("mandatory", filter!(mandatory)),
    ("to_json", filter!(to_json)),
    ("to_nice_json", filter!(to_nice_json)),
    ("to_yaml", filter!(to_yaml_filter)),
    ("to_nice_yaml", filter!(to_nice_yaml)),
    ("from_json", filter!(from_json)),
    ("from_yaml", filter!(from_yaml)),
    ("extract", filter!(extract)),
    ("regex_replace", filter!(regex_replace)),
    ("regex_search", filter!(regex_search)),
    ("regex_findall", filter!(regex_findall)),
    ("regex_escape", filter!(regex_escape)),
    ("combine", filter!(combine)),
    ("dict2items", filter!(dict2items)),
    ("items2dict", filter!(items2dict)),
    ("ternary", filter!(ternary)),
    ("union", filter!(union)),
    ("intersect", filter!(intersect)),
    ("difference", filter!(difference)),
    ("symmetric_difference", filter!(symmetric_difference)),
    ("b64encode", filter!(b64encode)),
    ("b64decode", filter!(b64decode)),
    ("hash", filter!(hash)),
    ("checksum", filter!(|v: &Value| hash(v, Some("sha1")))),
    ("password_hash", filter!(password_hash)),
    ("basename", filter!(basename)),
    ("dirname", filter!(dirname)),
    ("quote", filter!(quote)),
    ("flatten", filter!(flatten)),
    ("subelements", filter!(subelements)),
    ("random", filter!(random)),
    ("shuffle", filter!(shuffle)),
    ("product", filter!(product)),
    ("comment", filter!(comment)),
    ("to_uuid", filter!(to_uuid)),
    ("type_debug", filter!(type_debug)),
    ("sum", filter!(sum)),
    ("min", filter!(min)),
    ("max", filter!(max)),
    ("zip_longest", filter!(zip_longest)),
    ("pow", filter!(pow)),
    ("root", filter!(root)),
    ("log", filter!(log)),
    ("human_readable", filter!(human_readable)),
    ("human_to_bytes", filter!(human_to_bytes)),
    ("urlsplit", filter!(urlsplit)),
    ("replace", filter!(replace)),
    ("truncate", filter!(truncate)),
    ("wordcount", filter!(wordcount)),
    ("striptags", filter!(striptags)),
    ("urlencode", filter!(urlencode)),
    ("splitext", filter!(splitext)),
    ("normpath", filter!(normpath)),
    ("path_join", filter!(path_join)),
    ("expanduser", filter!(expanduser)),
];

/// Every filter the templar knows: registration and the hints' names.
pub(crate) const FILTERS: Registry = Registry {
    builtins: BUILTINS,
    own: OWN,
};

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

fn json_of(value: &Value) -> Result<Json, Error> {
    value_to_json(value)
}

fn from_json_value(value: &Json) -> Value {
    Value::from_serialize(value)
}

fn text_of(value: &Value) -> Result<String, Error> {
    value_to_python_str(value)
}

/// Ansible's `bool`: `yes`/`on`/`1`/`true` (any case) are true, anything else false.
fn bool_filter(value: &Value) -> Result<bool, Error> {
    if value.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    if let Some(s) = value.as_str() {
        return Ok(matches!(s.to_lowercase().as_str(), "yes" | "on" | "1" | "true"));
    }
    Ok(match value.kind() {
        ValueKind::Bool => value.is_true(),
        ValueKind::Number => {
            value.as_i64() == Some(1) || f64::try_from(value.clone()).is_ok_and(|f| f == 1.0)
        }
        _ => false,
    })
}

/// Jinja2's `int(default=0, base=10)`: strings that are not numbers give the default.
fn int(value: &Value, default: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let default = kwargs
        .get::<Option<Value>>("default")?
        .or(default)
        .unwrap_or(Value::from(0));
    let base: u32 = kwargs.get::<Option<u32>>("base")?.unwrap_or(10);
    kwargs.assert_all_used()?;
    if value.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    if let Some(s) = value.as_str() {
        let t = s.trim().replace('_', "");
        let digits = match base {
            16 => t.trim_start_matches("0x").trim_start_matches("0X").to_string(),
            8 => t.trim_start_matches("0o").trim_start_matches("0O").to_string(),
            2 => t.trim_start_matches("0b").trim_start_matches("0B").to_string(),
            _ => t.clone(),
        };
        if let Ok(i) = i64::from_str_radix(&digits, base) {
            return Ok(Value::from(i));
        }
        if let Ok(f) = t.parse::<f64>() {
            if f.is_finite() {
                return Ok(Value::from(f.trunc() as i64));
            }
        }
        return Ok(default);
    }
    match value.kind() {
        ValueKind::Bool => Ok(Value::from(i64::from(value.is_true()))),
        ValueKind::Number => match value.as_i64() {
            Some(i) => Ok(Value::from(i)),
            None => Ok(Value::from(f64::try_from(value.clone())?.trunc() as i64)),
        },
        _ => Ok(default),
    }
}

/// Jinja2's `float(default=0.0)`.
fn float(value: &Value, default: Option<Value>) -> Result<Value, Error> {
    let default = default.unwrap_or(Value::from(0.0));
    if value.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    if let Some(s) = value.as_str() {
        return Ok(s.trim().parse::<f64>().map(Value::from).unwrap_or(default));
    }
    match value.kind() {
        ValueKind::Bool => Ok(Value::from(if value.is_true() { 1.0 } else { 0.0 })),
        ValueKind::Number => Ok(Value::from(f64::try_from(value.clone())?)),
        _ => Ok(default),
    }
}

/// Jinja2's `round(precision=0, method='common')`, always a float.
fn round(value: &Value, precision: Option<i32>, method: Option<String>) -> Result<f64, Error> {
    let x = f64::try_from(value.clone())?;
    let precision = precision.unwrap_or(0);
    let factor = 10f64.powi(precision);
    Ok(match method.as_deref().unwrap_or("common") {
        "common" => {
            if precision >= 0 {
                format!("{x:.prec$}", prec = precision as usize)
                    .parse()
                    .unwrap_or(x)
            } else {
                (x * factor).round_ties_even() / factor
            }
        }
        "ceil" => (x * factor).ceil() / factor,
        "floor" => (x * factor).floor() / factor,
        other => {
            return Err(invalid(format!(
                "round: method must be 'common', 'ceil' or 'floor', not '{other}'"
            )))
        }
    })
}

fn mandatory(value: &Value, msg: Option<String>) -> Result<Value, Error> {
    if value.is_undefined() {
        return Err(match msg {
            Some(msg) => invalid(msg),
            None => Error::new(ErrorKind::UndefinedError, "mandatory variable not defined"),
        });
    }
    Ok(value.clone())
}

fn ternary(value: &Value, true_value: Value, false_value: Value, none_value: Option<Value>) -> Value {
    match none_value {
        Some(none_value) if value.is_none() => none_value,
        _ if value.is_true() => true_value,
        _ => false_value,
    }
}

fn type_debug(value: &Value) -> &'static str {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if value.as_i64().is_some() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacement_syntax_is_translated() {
        // The helper that rewrote `\1-\g<name>$` into the regex crate's `${1}-${name}$$` is
        // gone: Python's template is now expanded directly, with the same meaning.
        let re = TextRegex::new("(?P<name>a)", Flags::default()).unwrap();
        assert_eq!(re.sub("a", r"\1-\g<name>$", 0).unwrap(), "a-a$");
    }

    #[test]
    fn shell_quote_matches_shlex() {
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("abc/d.e"), "abc/d.e");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\"'\"'s'");
    }

    #[test]
    fn paths_split_like_os_path() {
        assert_eq!(basename("/etc/nginx/nginx.conf".into()), "nginx.conf");
        assert_eq!(basename("/etc/nginx/".into()), "");
        assert_eq!(dirname("/etc/nginx/nginx.conf".into()), "/etc/nginx");
        assert_eq!(dirname("/etc".into()), "/");
        assert_eq!(dirname("file".into()), "");
    }

    #[test]
    fn center_pads_like_python() {
        assert_eq!(center("ab".into(), Some(7)), "   ab  ");
        assert_eq!(center("abc".into(), Some(6)), " abc  ");
    }
}
