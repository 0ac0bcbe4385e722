//! The Ansible filters that real roles use, on top of minijinja's Jinja2 builtins.
//!
//! Where a minijinja builtin already behaves like Jinja2 under Ansible it is kept; the filters
//! here are Ansible's own (`combine`, `to_nice_yaml`, `regex_replace`, `password_hash`...) or
//! Jinja2 builtins whose Python behaviour differs from minijinja's in ways a rendered file
//! would show (`string` of a boolean is `True`, `int('abc')` is `0`, `round` returns a float).

use std::sync::LazyLock;

use super::registry::{Register, Registry};
use base64::Engine as _;
use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State, Value};
use regex::Regex;
use serde_json::Value as Json;
use sha1::Digest as _;

use crate::digest::hex;
use crate::python_regex::{Flags, TextRegex};

use super::python::{json_to_python_str, python_json, value_to_json, value_to_python_str};
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
    ("product", filter!(product)),
    ("comment", filter!(comment)),
    ("to_uuid", filter!(to_uuid)),
    ("type_debug", filter!(type_debug)),
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

/// `str(value)` in Python.
fn string(value: &Value) -> Result<String, Error> {
    if value.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    text_of(value)
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

/// Jinja2's `indent(width=4, first=False, blank=False)`.
fn indent(
    value: String,
    width: Option<Value>,
    first: Option<bool>,
    blank: Option<bool>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let width = kwargs.get::<Option<Value>>("width")?.or(width);
    let first = kwargs.get::<Option<bool>>("first")?.or(first).unwrap_or(false);
    let blank = kwargs.get::<Option<bool>>("blank")?.or(blank).unwrap_or(false);
    kwargs.assert_all_used()?;
    let prefix = match width {
        None => "    ".to_string(),
        Some(w) => match w.as_str() {
            Some(s) => s.to_string(),
            None => " ".repeat(usize::try_from(w.as_i64().unwrap_or(4)).unwrap_or(0)),
        },
    };
    let text = format!("{value}\n");
    let lines: Vec<&str> = python_splitlines(&text);
    let mut out = String::new();
    if blank {
        out = lines.join(&format!("\n{prefix}"));
    } else if let Some((head, rest)) = lines.split_first() {
        out.push_str(head);
        for line in rest {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&prefix);
            }
            out.push_str(line);
        }
    }
    if first {
        out = format!("{prefix}{out}");
    }
    Ok(out)
}

fn python_splitlines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    if text.ends_with('\n') {
        lines.pop();
    }
    lines
}

/// Python's `str.center(width)`.
fn center(value: String, width: Option<usize>) -> String {
    let width = width.unwrap_or(80);
    let len = value.chars().count();
    if len >= width {
        return value;
    }
    let margin = width - len;
    let left = margin / 2 + (margin & width & 1);
    format!("{}{value}{}", " ".repeat(left), " ".repeat(margin - left))
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

fn to_json(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?;
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    Ok(python_json(&json_of(value)?, indent, sort_keys))
}

fn to_nice_json(value: &Value, indent: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?.or(indent).unwrap_or(4);
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    Ok(python_json(&json_of(value)?, Some(indent), sort_keys))
}

fn yaml_kwargs(
    kwargs: &Kwargs,
    default_indent: usize,
    default_block: bool,
) -> Result<(usize, YamlStyle), Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(default_indent);
    let block = match kwargs.get::<Option<Value>>("default_flow_style")? {
        None => default_block,
        Some(v) if v.is_none() => false,
        Some(v) if !v.is_true() => true,
        Some(_) => return Err(invalid("default_flow_style=True is not supported")),
    };
    kwargs.assert_all_used()?;
    Ok((indent, if block { YamlStyle::Block } else { YamlStyle::Auto }))
}

fn to_yaml_filter(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let (indent, style) = yaml_kwargs(&kwargs, 2, false)?;
    Ok(to_yaml(&json_of(value)?, style, indent))
}

fn to_nice_yaml(value: &Value, indent: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    let (kw_indent, style) = yaml_kwargs(&kwargs, indent.unwrap_or(4), true)?;
    Ok(to_yaml(&json_of(value)?, style, kw_indent))
}

fn from_json(value: &Value) -> Result<Value, Error> {
    let Some(text) = value.as_str() else {
        return Ok(value.clone());
    };
    let parsed: Json =
        serde_json::from_str(text).map_err(|e| invalid(format!("from_json: invalid JSON: {e}")))?;
    Ok(from_json_value(&parsed))
}

fn from_yaml(value: &Value) -> Result<Value, Error> {
    let Some(text) = value.as_str() else {
        return Ok(value.clone());
    };
    let node = crate::yaml::parse_str(text, std::path::Path::new("<from_yaml>"))
        .map_err(|e| invalid(format!("from_yaml: invalid YAML: {e:#}")))?;
    Ok(from_json_value(&node.to_value()))
}

/// `map('extract', container, morekeys)`: `container[item]`, then deeper keys.
fn extract(state: &State, item: &Value, container: &Value, morekeys: Option<Value>) -> Result<Value, Error> {
    let mut keys = vec![item.clone()];
    match morekeys {
        None => {}
        Some(more) if more.kind() == ValueKind::Seq => keys.extend(more.try_iter()?),
        Some(more) => keys.push(more),
    }
    let mut value = container.clone();
    for key in keys {
        value = value.get_item(&key)?;
        if value.is_undefined() {
            let _ = state;
            return Ok(Value::UNDEFINED);
        }
    }
    Ok(value)
}

/// The pattern of a regex filter, translated as every Python pattern in a playbook is, with
/// the flags Ansible's filters take.
fn python_regex(pattern: &str, kwargs: &Kwargs) -> Result<TextRegex, Error> {
    let flags = Flags {
        ignorecase: kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false),
        multiline: kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false),
    };
    TextRegex::new(pattern, flags).map_err(|e| invalid(format!("{e:#}")))
}

fn regex_replace(
    value: &Value,
    pattern: Option<String>,
    replacement: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let re = python_regex(&pattern.unwrap_or_default(), &kwargs)?;
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let text = text_of(value)?;
    re.sub(&text, &replacement.unwrap_or_default(), count)
        .map_err(|e| invalid(format!("regex_replace: {e:#}")))
}

fn regex_search(
    value: &Value,
    pattern: String,
    groups: Rest<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let re = python_regex(&pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    let text = text_of(value)?;
    let Some(captures) = re.search(&text) else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(captures.get(0).map_or("", |m| m.as_str())));
    }
    let mut out = Vec::new();
    for group in groups.iter() {
        let found = if let Some(name) = group.strip_prefix("\\g<").and_then(|g| g.strip_suffix('>')) {
            captures.name(name)
        } else if let Some(index) = group.strip_prefix('\\').and_then(|g| g.parse::<usize>().ok()) {
            captures.get(index)
        } else {
            return Err(invalid(format!("regex_search: unknown argument '{group}'")));
        };
        out.push(found.map_or(Value::from(()), |m| Value::from(m.as_str())));
    }
    Ok(Value::from(out))
}

fn regex_findall(value: &Value, pattern: String, kwargs: Kwargs) -> Result<Value, Error> {
    let re = python_regex(&pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    let text = text_of(value)?;
    let groups = re.group_count();
    let found: Vec<Value> = re
        .captures_iter(&text)
        .map(|c| {
            let group = |i: usize| Value::from(c.get(i).map_or("", |m| m.as_str()));
            match groups {
                0 => group(0),
                1 => group(1),
                n => Value::from((1..=n).map(group).collect::<Vec<_>>()),
            }
        })
        .collect();
    Ok(Value::from(found))
}

fn regex_escape(value: String) -> String {
    regex::escape(&value)
}

/// Ansible's `merge_hash`: `high` wins; with `recursive`, nested dicts merge too.
fn merge_hash(low: &Json, high: &Json, recursive: bool, list_merge: &str) -> Json {
    let (Json::Object(low_map), Json::Object(high_map)) = (low, high) else {
        return high.clone();
    };
    let mut out = low_map.clone();
    for (key, high_value) in high_map {
        let merged = match (out.get(key), high_value) {
            (Some(low_value @ Json::Object(_)), Json::Object(_)) if recursive => {
                merge_hash(low_value, high_value, recursive, list_merge)
            }
            (Some(Json::Array(low_items)), Json::Array(high_items)) => match list_merge {
                "keep" => Json::Array(low_items.clone()),
                "append" => Json::Array(low_items.iter().chain(high_items).cloned().collect()),
                "prepend" => Json::Array(high_items.iter().chain(low_items).cloned().collect()),
                "append_rp" => Json::Array(
                    low_items
                        .iter()
                        .filter(|x| !high_items.contains(x))
                        .chain(high_items)
                        .cloned()
                        .collect(),
                ),
                "prepend_rp" => Json::Array(
                    high_items
                        .iter()
                        .chain(low_items.iter().filter(|x| !high_items.contains(x)))
                        .cloned()
                        .collect(),
                ),
                _ => high_value.clone(),
            },
            _ => high_value.clone(),
        };
        out.insert(key.clone(), merged);
    }
    Json::Object(out)
}

fn combine(value: &Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let list_merge = kwargs
        .get::<Option<String>>("list_merge")?
        .unwrap_or_else(|| "replace".to_string());
    kwargs.assert_all_used()?;
    if !["replace", "keep", "append", "prepend", "append_rp", "prepend_rp"].contains(&list_merge.as_str()) {
        return Err(invalid(format!("combine: unknown list_merge '{list_merge}'")));
    }
    let mut dicts = Vec::new();
    for term in std::iter::once(value).chain(others.iter()) {
        match json_of(term)? {
            Json::Array(items) => dicts.extend(items),
            other => dicts.push(other),
        }
    }
    let mut result = Json::Object(serde_json::Map::new());
    for dict in dicts {
        if !dict.is_object() {
            return Err(invalid(format!(
                "combine: expected dicts, got {}",
                super::python::json_type_name(&dict)
            )));
        }
        result = merge_hash(&result, &dict, recursive, &list_merge);
    }
    Ok(from_json_value(&result))
}

fn dict2items(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".to_string());
    let value_name = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".to_string());
    kwargs.assert_all_used()?;
    let Json::Object(map) = json_of(value)? else {
        return Err(invalid(format!(
            "dict2items requires a dictionary, got {} instead",
            value.kind()
        )));
    };
    let items: Vec<Json> = map
        .into_iter()
        .map(|(k, v)| {
            let mut item = serde_json::Map::new();
            item.insert(key_name.clone(), Json::String(k));
            item.insert(value_name.clone(), v);
            Json::Object(item)
        })
        .collect();
    Ok(from_json_value(&Json::Array(items)))
}

fn items2dict(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".to_string());
    let value_name = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".to_string());
    kwargs.assert_all_used()?;
    let Json::Array(items) = json_of(value)? else {
        return Err(invalid(format!(
            "items2dict requires a list, got {} instead",
            value.kind()
        )));
    };
    let mut out = serde_json::Map::new();
    for item in items {
        let (Some(key), Some(v)) = (item.get(&key_name), item.get(&value_name)) else {
            return Err(invalid(format!(
                "items2dict requires each dictionary in the list to contain the keys '{key_name}' and '{value_name}'"
            )));
        };
        out.insert(json_to_python_str(key), v.clone());
    }
    Ok(from_json_value(&Json::Object(out)))
}

fn ternary(value: &Value, true_value: Value, false_value: Value, none_value: Option<Value>) -> Value {
    match none_value {
        Some(none_value) if value.is_none() => none_value,
        _ if value.is_true() => true_value,
        _ => false_value,
    }
}

fn items_of(value: &Value) -> Result<Vec<Value>, Error> {
    Ok(value.try_iter()?.collect())
}

fn unique(items: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn union(a: &Value, b: &Value) -> Result<Value, Error> {
    Ok(Value::from(unique(items_of(a)?.into_iter().chain(items_of(b)?))))
}

fn intersect(a: &Value, b: &Value) -> Result<Value, Error> {
    let b = items_of(b)?;
    Ok(Value::from(unique(
        items_of(a)?.into_iter().filter(|x| b.contains(x)),
    )))
}

fn difference(a: &Value, b: &Value) -> Result<Value, Error> {
    let b = items_of(b)?;
    Ok(Value::from(unique(
        items_of(a)?.into_iter().filter(|x| !b.contains(x)),
    )))
}

fn symmetric_difference(a: &Value, b: &Value) -> Result<Value, Error> {
    let (a, b) = (items_of(a)?, items_of(b)?);
    let only_a = a.iter().filter(|x| !b.contains(x)).cloned();
    let only_b = b.iter().filter(|x| !a.contains(x)).cloned();
    Ok(Value::from(unique(only_a.chain(only_b))))
}

fn b64encode(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let urlsafe = kwargs.get::<Option<bool>>("urlsafe")?.unwrap_or(false);
    let _encoding = kwargs.get::<Option<String>>("encoding")?;
    kwargs.assert_all_used()?;
    let text = text_of(value)?;
    Ok(if urlsafe {
        base64::engine::general_purpose::URL_SAFE.encode(text)
    } else {
        base64::engine::general_purpose::STANDARD.encode(text)
    })
}

fn b64decode(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let urlsafe = kwargs.get::<Option<bool>>("urlsafe")?.unwrap_or(false);
    let _encoding = kwargs.get::<Option<String>>("encoding")?;
    kwargs.assert_all_used()?;
    let text = text_of(value)?;
    let bytes = if urlsafe {
        base64::engine::general_purpose::URL_SAFE.decode(text.trim())
    } else {
        base64::engine::general_purpose::STANDARD.decode(text.trim())
    }
    .map_err(|e| invalid(format!("b64decode: {e}")))?;
    String::from_utf8(bytes).map_err(|_| invalid("b64decode: the decoded data is not UTF-8 text"))
}

fn hash(value: &Value, kind: Option<&str>) -> Result<String, Error> {
    let data = text_of(value)?;
    let data = data.as_bytes();
    Ok(match kind.unwrap_or("sha1") {
        "sha1" => hex(&sha1::Sha1::digest(data)),
        "md5" => hex(&md5::Md5::digest(data)),
        "sha224" => hex(&sha2::Sha224::digest(data)),
        "sha256" => hex(&sha2::Sha256::digest(data)),
        "sha384" => hex(&sha2::Sha384::digest(data)),
        "sha512" => hex(&sha2::Sha512::digest(data)),
        other => {
            return Err(invalid(format!(
                "hash: unsupported hash type '{other}' (supported: md5, sha1, sha224, sha256, sha384, sha512)"
            )))
        }
    })
}

fn random_salt() -> Result<String, Error> {
    const ALPHABET: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut bytes = [0u8; 16];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| invalid(format!("password_hash: cannot read random salt: {e}")))?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b % 64)]))
        .collect())
}

fn password_hash(
    value: &Value,
    kind: Option<String>,
    salt: Option<Value>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let salt = kwargs.get::<Option<Value>>("salt")?.or(salt);
    let rounds = kwargs.get::<Option<u32>>("rounds")?;
    kwargs.assert_all_used()?;
    let kind = kind.unwrap_or_else(|| "sha512".to_string());
    if kind != "sha512" && kind != "sha512_crypt" {
        return Err(invalid(format!(
            "password_hash: unsupported hash type '{kind}' (supported: sha512)"
        )));
    }
    let salt = match salt.filter(|s| !s.is_none() && !s.is_undefined()) {
        Some(s) => text_of(&s)?,
        None => random_salt()?,
    };
    if !super::crypt::valid_salt(&salt) {
        return Err(invalid(
            "password_hash: the salt may only hold the characters ./0-9A-Za-z",
        ));
    }
    let password = text_of(value)?;
    Ok(super::crypt::sha512_crypt(
        password.as_bytes(),
        &salt,
        rounds.unwrap_or(super::crypt::DEFAULT_ROUNDS),
    ))
}

/// Python's `os.path.basename`.
fn basename(value: String) -> String {
    value.rsplit('/').next().unwrap_or_default().to_string()
}

/// Python's `os.path.dirname`.
fn dirname(value: String) -> String {
    match value.rfind('/') {
        None => String::new(),
        Some(i) => {
            let head = &value[..=i];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() {
                head.to_string()
            } else {
                trimmed.to_string()
            }
        }
    }
}

/// Python's `shlex.quote`.
pub(crate) fn shell_quote(text: &str) -> String {
    static SAFE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_@%+=:,./-]+$").expect("a valid pattern"));
    if text.is_empty() {
        return "''".to_string();
    }
    if SAFE.is_match(text) {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', "'\"'\"'"))
}

fn quote(value: &Value) -> Result<String, Error> {
    if value.is_none() {
        return Ok(shell_quote(""));
    }
    Ok(shell_quote(&text_of(value)?))
}

fn flatten_into(out: &mut Vec<Json>, items: Vec<Json>, levels: Option<i64>, skip_nulls: bool) {
    for item in items {
        match item {
            Json::Null if skip_nulls => {}
            Json::String(ref s) if skip_nulls && (s == "None" || s == "null") => {}
            Json::Array(inner) if levels.is_none_or(|l| l >= 1) => {
                flatten_into(out, inner, levels.map(|l| l - 1), skip_nulls)
            }
            other => out.push(other),
        }
    }
}

fn flatten(value: &Value, levels: Option<i64>, kwargs: Kwargs) -> Result<Value, Error> {
    let levels = kwargs.get::<Option<i64>>("levels")?.or(levels);
    let skip_nulls = kwargs.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    let Json::Array(items) = json_of(value)? else {
        return Err(invalid("flatten expects a list"));
    };
    let mut out = Vec::new();
    flatten_into(&mut out, items, levels, skip_nulls);
    Ok(from_json_value(&Json::Array(out)))
}

/// `itertools.product`.
fn product(value: &Value, others: Rest<Value>) -> Result<Value, Error> {
    let mut result: Vec<Vec<Value>> = vec![Vec::new()];
    for list in std::iter::once(value).chain(others.iter()) {
        let items = items_of(list)?;
        result = result
            .into_iter()
            .flat_map(|prefix| {
                items.iter().map(move |item| {
                    let mut next = prefix.clone();
                    next.push(item.clone());
                    next
                })
            })
            .collect();
    }
    Ok(Value::from(
        result.into_iter().map(Value::from).collect::<Vec<_>>(),
    ))
}

/// Ansible's `comment` filter.
fn comment(value: &Value, style: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let text = text_of(value)?;
    let style = style.unwrap_or_else(|| "plain".to_string());
    let (beginning, decoration, end) = match style.as_str() {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        other => {
            return Err(invalid(format!(
                "comment: invalid style '{other}' (plain, erlang, c, cblock, xml)"
            )))
        }
    };
    let prepostfix = kwargs
        .get::<Option<String>>("decoration")?
        .unwrap_or_else(|| decoration.to_string());
    let get = |key: &str, default: String| -> Result<String, Error> {
        Ok(kwargs.get::<Option<String>>(key)?.unwrap_or(default))
    };
    let newline = get("newline", "\n".to_string())?;
    let beginning = get("beginning", beginning.to_string())?;
    let prefix = get("prefix", prepostfix.trim_end().to_string())?;
    let prefix_count = kwargs.get::<Option<usize>>("prefix_count")?.unwrap_or(1);
    let decoration = prepostfix.clone();
    let postfix = get("postfix", prepostfix.trim_end().to_string())?;
    let postfix_count = kwargs.get::<Option<usize>>("postfix_count")?.unwrap_or(1);
    let end = get("end", end.to_string())?;
    kwargs.assert_all_used()?;
    let mut out = String::new();
    if !beginning.is_empty() {
        out.push_str(&beginning);
        out.push_str(&newline);
    }
    if !prefix.is_empty() {
        let one = if prefix != newline {
            format!("{prefix}{newline}")
        } else {
            newline.clone()
        };
        out.push_str(&one.repeat(prefix_count));
    }
    let body = format!(
        "{decoration}{}",
        text.replace(&newline, &format!("{newline}{decoration}"))
    );
    out.push_str(&body.replace(
        &format!("{decoration}{newline}"),
        &format!("{}{newline}", decoration.trim_end()),
    ));
    for _ in 0..postfix_count {
        out.push_str(&newline);
        out.push_str(&postfix);
    }
    if !end.is_empty() {
        out.push_str(&newline);
        out.push_str(&end);
    }
    Ok(out)
}

/// `to_uuid`: a version 5 UUID in Ansible's namespace.
fn to_uuid(value: &Value, namespace: Option<String>) -> Result<String, Error> {
    let namespace = namespace.unwrap_or_else(|| "361E6D51-FAEC-444A-9079-341386DA8E2E".to_string());
    let ns_hex: String = namespace.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    if ns_hex.len() != 32 {
        return Err(invalid(format!("to_uuid: invalid namespace '{namespace}'")));
    }
    let ns_bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&ns_hex[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect();
    let mut hasher = sha1::Sha1::new();
    hasher.update(&ns_bytes);
    hasher.update(text_of(value)?.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex(&bytes);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
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
