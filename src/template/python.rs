//! How Python prints values, since Ansible's templates are rendered by Python.
//!
//! A role's `enabled = {{ flag }}` renders `True` under Ansible, `{{ list }}` renders
//! `['a', 'b']`, and `to_json` writes `{"a": 1}` with Python's separators and float format.
//! Files written by `deploy` must be byte-identical to Ansible's, so these formats are
//! reproduced here rather than taken from Rust's or minijinja's defaults.

use std::fmt::Write;

use minijinja::{Error, ErrorKind, Output, State, Value};
use serde_json::Value as Json;

/// The environment's formatter: `{{ value }}` printed as Jinja2 on Python prints it.
pub(crate) fn format_output(out: &mut Output, state: &State, value: &Value) -> Result<(), Error> {
    // minijinja has already refused an undefined variable (strict undefined); what reaches
    // here is the silent undefined of an `x if cond` without `else`, which Jinja2 prints as
    // nothing.
    if value.is_undefined() {
        return Ok(());
    }
    // Kept for Ansible's native result: a template whose whole output is one `{{ }}` gives
    // that value, typed (`super::native_result`).
    state.set_temp(LAST_PRINTED, value.clone());
    let text = printed(value)?;
    out.write_str(&text)
        .map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot write output"))
}

/// The temp under which the last value a template printed is kept.
pub(crate) const LAST_PRINTED: &str = "__deploy_last_printed";

/// `str(value)` in Python, for a template value.
pub(crate) fn value_to_python_str(value: &Value) -> Result<String, Error> {
    if let Some(s) = value.as_str() {
        return Ok(s.to_string());
    }
    // Python's integers have no bound; beyond 64 bits JSON cannot carry them, but printing can.
    if value.is_integer() && value.as_i64().is_none() {
        return Ok(value.to_string());
    }
    Ok(json_to_python_str(&value_to_json(value)?))
}

/// What `{{ value }}` prints: like `str()`, except that Ansible 2.19 prints `none` as nothing.
pub(crate) fn printed(value: &Value) -> Result<String, Error> {
    if value.is_none() {
        return Ok(String::new());
    }
    value_to_python_str(value)
}

/// A template value as JSON (maps keep their order).
pub(crate) fn value_to_json(value: &Value) -> Result<Json, Error> {
    serde_json::to_value(value).map_err(|e| Error::new(ErrorKind::BadSerialization, e.to_string()))
}

/// `str(value)` in Python: strings as they are, everything else as `repr`.
pub fn json_to_python_str(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => python_repr(other),
    }
}

/// `repr(value)` in Python.
pub fn python_repr(value: &Json) -> String {
    let mut out = String::new();
    write_repr(&mut out, value);
    out
}

fn write_repr(out: &mut String, value: &Json) {
    match value {
        Json::Null => out.push_str("None"),
        Json::Bool(true) => out.push_str("True"),
        Json::Bool(false) => out.push_str("False"),
        Json::Number(n) => out.push_str(&number_repr(n)),
        Json::String(s) => out.push_str(&string_repr(s)),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, item);
            }
            out.push(']');
        }
        Json::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&string_repr(key));
                out.push_str(": ");
                write_repr(out, item);
            }
            out.push('}');
        }
    }
}

fn number_repr(n: &serde_json::Number) -> String {
    if n.is_f64() {
        float_repr(n.as_f64().unwrap_or_default())
    } else {
        n.to_string()
    }
}

/// `repr(float)` in Python: shortest round-trip digits, exponent form outside 1e-4..1e16.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let sci = format!("{f:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exponent) {
        let point = exponent + 1;
        let body = if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        };
        format!("{sign}{body}")
    } else {
        let rest = if digits.len() > 1 {
            format!(".{}", &digits[1..])
        } else {
            String::new()
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{}{rest}e{exp_sign}{:02}", &digits[..1], exponent.abs())
    }
}

fn string_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// What a value is, in Python's words, for error messages.
pub(crate) fn json_type_name(value: &Json) -> &'static str {
    match value {
        Json::Null => "None",
        Json::Bool(_) => "a boolean",
        Json::Number(n) if n.is_f64() => "a float",
        Json::Number(_) => "an integer",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a dict",
    }
}

/// `json.dumps(value, indent=.., sort_keys=..)` as Python writes it (ASCII-escaped).
pub fn python_json(value: &Json, indent: Option<usize>, sort_keys: bool) -> String {
    python_json_text(value, indent, sort_keys, true)
}

/// [`python_json`] with `ensure_ascii=` (false writes non-ASCII characters as they are).
pub fn python_json_text(value: &Json, indent: Option<usize>, sort_keys: bool, ensure_ascii: bool) -> String {
    let mut out = String::new();
    let options = JsonOptions {
        indent,
        sort_keys,
        ensure_ascii,
    };
    write_json(&mut out, value, &options, 0);
    out
}

struct JsonOptions {
    indent: Option<usize>,
    sort_keys: bool,
    ensure_ascii: bool,
}

fn write_json(out: &mut String, value: &Json, options: &JsonOptions, depth: usize) {
    let (indent, sort_keys) = (options.indent, options.sort_keys);
    let newline = |out: &mut String, depth: usize| {
        if let Some(width) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(width * depth));
        }
    };
    let item_separator = if indent.is_some() { "," } else { ", " };
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or_default();
            out.push_str(&match float_repr(f).as_str() {
                "nan" => "NaN".to_string(),
                "inf" => "Infinity".to_string(),
                "-inf" => "-Infinity".to_string(),
                other => other.to_string(),
            });
        }
        Json::Number(n) => out.push_str(&n.to_string()),
        Json::String(s) => write_json_string(out, s, options.ensure_ascii),
        Json::Array(items) if items.is_empty() => out.push_str("[]"),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_separator);
                }
                newline(out, depth + 1);
                write_json(out, item, options, depth + 1);
            }
            newline(out, depth);
            out.push(']');
        }
        Json::Object(map) if map.is_empty() => out.push_str("{}"),
        Json::Object(map) => {
            let mut entries: Vec<(&String, &Json)> = map.iter().collect();
            if sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(item_separator);
                }
                newline(out, depth + 1);
                write_json_string(out, key, options.ensure_ascii);
                out.push_str(": ");
                write_json(out, item, options, depth + 1);
            }
            newline(out, depth);
            out.push('}');
        }
    }
}

fn write_json_string(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || ((c as u32) > 0x7e && ensure_ascii) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_print_like_python() {
        assert_eq!(float_repr(1.5), "1.5");
        assert_eq!(float_repr(2.0), "2.0");
        assert_eq!(float_repr(1e16), "1e+16");
        assert_eq!(float_repr(1e-5), "1e-05");
        assert_eq!(float_repr(0.0001), "0.0001");
        assert_eq!(float_repr(-123.456), "-123.456");
        assert_eq!(float_repr(1.5e300), "1.5e+300");
    }

    #[test]
    fn repr_matches_python() {
        assert_eq!(
            python_repr(&json!(["a", 1, true, null, {"k": "it's"}])),
            r#"['a', 1, True, None, {'k': "it's"}]"#
        );
        assert_eq!(python_repr(&json!("a\nb")), r"'a\nb'");
    }

    #[test]
    fn json_matches_python_dumps() {
        let value = json!({"b": [1, 2.5], "a": "é\"", "e": {}});
        assert_eq!(
            python_json(&value, None, false),
            r#"{"b": [1, 2.5], "a": "\u00e9\"", "e": {}}"#
        );
        assert_eq!(
            python_json(&value, Some(4), true),
            "{\n    \"a\": \"\\u00e9\\\"\",\n    \"b\": [\n        1,\n        2.5\n    ],\n    \"e\": {}\n}"
        );
    }
}
