//! What a scalar means: the YAML 1.1 types PyYAML gives it, as Ansible loads it.
//!
//! A plain scalar goes through PyYAML's implicit resolvers (`yaml/resolver.py`: the same
//! patterns, tried in the same order) and then its constructors (`yaml/constructor.py`:
//! `construct_yaml_int` and friends), whose quirks users' files rely on without knowing
//! (`0644` is 420, `1:20` is 80, `1_000` is 1000, `-.5` stays a string). An explicit tag
//! (`!!int '0x1f'`) runs the constructor on any text, so the constructors accept more than
//! the patterns do, exactly as PyYAML's do. `tests/yaml_compat.rs` compares all of this with
//! Ansible itself.

use std::sync::OnceLock;

use regex::Regex;

use super::Data;

/// The tag prefix `!!` stands for.
const YAML_TAG: &str = "tag:yaml.org,2002:";

/// How a scalar was written, as far as its meaning goes.
pub(super) struct Scalar<'a> {
    pub text: String,
    /// Plain (unquoted, not a block scalar): only plain scalars are resolved implicitly.
    pub plain: bool,
    /// The full tag (`tag:yaml.org,2002:int`, `!unsafe`, `!`), if any.
    pub tag: Option<&'a str>,
    /// A mapping key: a plain `=` is a string there and an error elsewhere, as in PyYAML.
    pub key: bool,
}

/// The value of a scalar, or why Ansible would refuse it.
pub(super) fn resolve_scalar(scalar: Scalar) -> Result<Data, String> {
    let Scalar {
        text,
        plain,
        tag,
        key,
    } = scalar;
    let Some(tag) = tag else {
        return if plain {
            resolve_implicit(text, key)
        } else {
            Ok(quoted(text))
        };
    };
    match tag {
        // The non-specific tag and `!unsafe` resolve as if the scalar were plain, even when it
        // is quoted (PyYAML's `implicit = (True, False)`; Ansible's `_resolve_and_construct_object`).
        "!" | "!unsafe" => resolve_implicit(text, key),
        // Decrypted with the run's vault passwords; without a keyring (the library used on its
        // own) the ciphertext stays text.
        "!vault" | "!vault-encrypted" if crate::vault::configured() => {
            crate::vault::decrypt_inline(&text).map(quoted)
        }
        "!vault" | "!vault-encrypted" => Ok(quoted(text)),
        _ => match tag.strip_prefix(YAML_TAG) {
            Some("str") => Ok(quoted(text)),
            // Base64 text is kept as written: there is no bytes type here.
            Some("binary") => Ok(quoted(text)),
            Some("null") => Ok(Data::Null),
            Some("bool") => construct_bool(&text)
                .map(Data::Bool)
                .ok_or_else(|| format!("`{text}` is not a boolean (yes/no, true/false, on/off)")),
            Some("int") => construct_int(&text)
                .ok_or_else(|| format!("`{text}` is not an integer"))
                .map(|int| int.into_data(text)),
            Some("float") => construct_float(&text)
                .map(Data::Float)
                .ok_or_else(|| format!("`{text}` is not a number")),
            Some("timestamp") => construct_timestamp(&text).map(|text| Data::Str {
                value: text,
                quoted: true,
            }),
            Some("map" | "seq" | "set" | "omap" | "pairs") => {
                Err(format!("the tag `{tag}` cannot be given to a scalar"))
            }
            _ => Err(unknown_tag(tag)),
        },
    }
}

/// Checks the tag of a mapping or sequence (`mapping` says which).
pub(super) fn check_collection_tag(tag: &str, mapping: bool) -> Result<(), String> {
    match (tag.strip_prefix(YAML_TAG), mapping) {
        _ if tag == "!" || tag == "!unsafe" => Ok(()),
        (Some("map"), true) | (Some("seq"), false) => Ok(()),
        (Some("map" | "set" | "omap" | "pairs"), false) | (Some("seq"), true) => Err(format!(
            "the tag `{tag}` cannot be given to a {}",
            if mapping { "mapping" } else { "list" }
        )),
        _ if tag.starts_with("!vault") => Err(format!("the tag `{tag}` takes a string, not a collection")),
        _ => Err(unknown_tag(tag)),
    }
}

fn unknown_tag(tag: &str) -> String {
    let shown = match tag.strip_prefix(YAML_TAG) {
        Some(suffix) => format!("!!{suffix}"),
        None => tag.to_string(),
    };
    format!("unknown tag `{shown}`: Ansible reads `!unsafe`, `!vault` and the YAML 1.1 tags (`!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!timestamp`)")
}

fn quoted(text: String) -> Data {
    Data::Str {
        value: text,
        quoted: true,
    }
}

/// A plain scalar of a JSON document, as Python's `json` reads it: in JSON, only `true`,
/// `false`, `null` and numbers are written unquoted.
pub(super) fn resolve_json(text: String) -> Data {
    match text.as_str() {
        "true" => Data::Bool(true),
        "false" => Data::Bool(false),
        "null" => Data::Null,
        number if number.contains(['.', 'e', 'E']) => match number.parse() {
            Ok(float) => Data::Float(float),
            Err(_) => quoted(text),
        },
        number => match number.parse::<i64>() {
            Ok(int) => Data::Int(int),
            // Beyond 64 bits: kept as written, as for YAML.
            Err(_) => quoted(text),
        },
    }
}

/// PyYAML's implicit resolvers for a plain scalar, in the order it tries them.
fn resolve_implicit(text: String, key: bool) -> Result<Data, String> {
    let patterns = patterns();
    if patterns.bool.is_match(&text) {
        return Ok(Data::Bool(
            construct_bool(&text).expect("the pattern admits booleans only"),
        ));
    }
    if patterns.float.is_match(&text) {
        let float = construct_float(&text).expect("the pattern admits numbers only");
        return Ok(Data::Float(float));
    }
    if patterns.int.is_match(&text) {
        return construct_int(&text)
            .map(|int| int.into_data(text.clone()))
            .ok_or_else(|| format!("`{text}` reads as an integer in YAML 1.1 but has no digits"));
    }
    if patterns.null.is_match(&text) {
        return Ok(Data::Null);
    }
    if patterns.timestamp.is_match(&text) {
        return construct_timestamp(&text).map(|value| Data::Str { value, quoted: false });
    }
    if text == "=" && !key {
        return Err(
            "a plain `=` is YAML 1.1's \"value\" key, which Ansible cannot load; quote it: '='".into(),
        );
    }
    Ok(Data::Str {
        value: text,
        quoted: false,
    })
}

struct Patterns {
    bool: Regex,
    float: Regex,
    int: Regex,
    null: Regex,
    timestamp: Regex,
    /// The timestamp constructor's own (looser) pattern, with the parts named.
    timestamp_parts: Regex,
}

/// The patterns of PyYAML's `resolver.py` and `constructor.py`, verbatim.
fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let regex = |pattern: &str| Regex::new(pattern).expect("the pattern is valid");
        Patterns {
            bool: regex("^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$"),
            float: regex(concat!(
                r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?",
                r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
                r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*",
                r"|[-+]?\.(?:inf|Inf|INF)",
                r"|\.(?:nan|NaN|NAN))$",
            )),
            int: regex(concat!(
                r"^(?:[-+]?0b[0-1_]+",
                r"|[-+]?0[0-7_]+",
                r"|[-+]?(?:0|[1-9][0-9_]*)",
                r"|[-+]?0x[0-9a-fA-F_]+",
                r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
            )),
            null: regex(r"^(?:~|null|Null|NULL|)$"),
            timestamp: regex(concat!(
                r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
                r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?",
                r"(?:[Tt]|[ \t]+)[0-9][0-9]?",
                r":[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?",
                r"(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
            )),
            timestamp_parts: regex(concat!(
                r"^(?P<year>[0-9][0-9][0-9][0-9])",
                r"-(?P<month>[0-9][0-9]?)",
                r"-(?P<day>[0-9][0-9]?)",
                r"(?:(?:[Tt]|[ \t]+)",
                r"(?P<hour>[0-9][0-9]?)",
                r":(?P<minute>[0-9][0-9])",
                r":(?P<second>[0-9][0-9])",
                r"(?:\.(?P<fraction>[0-9]*))?",
                r"(?:[ \t]*(?P<tz>Z|(?P<tz_sign>[-+])(?P<tz_hour>[0-9][0-9]?)",
                r"(?::(?P<tz_minute>[0-9][0-9]))?))?)?$",
            )),
        }
    })
}

fn construct_bool(text: &str) -> Option<bool> {
    match text.to_lowercase().as_str() {
        "yes" | "true" | "on" => Some(true),
        "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// An integer as PyYAML builds it; Python's are unbounded, ours are 64-bit.
enum Int {
    Small(i64),
    /// Too large for 64 bits: kept as the text it was written as.
    Big,
}

impl Int {
    fn into_data(self, text: String) -> Data {
        match self {
            Int::Small(i) => Data::Int(i),
            Int::Big => Data::Str {
                value: text,
                quoted: false,
            },
        }
    }
}

/// PyYAML's `construct_yaml_int`: `_` dropped, a sign, then `0b`, `0x`, a leading `0`
/// (octal), `:` (base 60) or decimal. `None` where Python raises.
fn construct_int(text: &str) -> Option<Int> {
    let value = text.replace('_', "");
    let (negative, value) = match value.chars().next()? {
        '-' => (true, &value[1..]),
        '+' => (false, &value[1..]),
        _ => (false, value.as_str()),
    };
    let magnitude = if value == "0" {
        Some(0)
    } else if let Some(digits) = value.strip_prefix("0b") {
        python_int(digits, 2)?
    } else if let Some(digits) = value.strip_prefix("0x") {
        python_int(digits, 16)?
    } else if value.starts_with('0') {
        python_int(value, 8)?
    } else if value.contains(':') {
        let mut total: Option<i128> = Some(0);
        let mut base: Option<i128> = Some(1);
        for part in value.split(':').rev() {
            let digit = python_int(part, 10)?;
            total = match (total, digit, base) {
                (Some(total), Some(digit), Some(base)) => {
                    digit.checked_mul(base).and_then(|d| total.checked_add(d))
                }
                _ => None,
            };
            base = base.and_then(|b| b.checked_mul(60));
        }
        total
    } else {
        python_int(value, 10)?
    };
    let signed = magnitude.map(|m| if negative { -m } else { m });
    Some(match signed.and_then(|i| i64::try_from(i).ok()) {
        Some(i) => Int::Small(i),
        None => Int::Big,
    })
}

/// Python's `int(text, base)`: surrounding whitespace, a sign, the base's prefix, digits.
/// The outer `None` is Python's `ValueError`; the inner one a value beyond 128 bits.
fn python_int(text: &str, base: u32) -> Option<Option<i128>> {
    let text = text.trim();
    let (negative, rest) = match text.chars().next()? {
        '-' => (true, &text[1..]),
        '+' => (false, &text[1..]),
        _ => (false, text),
    };
    let prefix = match base {
        2 => Some("0b"),
        8 => Some("0o"),
        16 => Some("0x"),
        _ => None,
    };
    let digits = match prefix {
        Some(prefix) if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case(prefix) => &rest[2..],
        _ => rest,
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(base)) {
        return None;
    }
    let magnitude = digits.chars().try_fold(0i128, |total, c| {
        total
            .checked_mul(i128::from(base))?
            .checked_add(i128::from(c.to_digit(base)?))
    });
    Some(magnitude.map(|m| if negative { -m } else { m }))
}

/// PyYAML's `construct_yaml_float`: `_` dropped, lowercased, a sign, `.inf`, `.nan`, `:`
/// (base 60) or Python's `float()`.
fn construct_float(text: &str) -> Option<f64> {
    let value = text.replace('_', "").to_lowercase();
    let sign = if value.starts_with('-') { -1.0 } else { 1.0 };
    let value = match value.chars().next()? {
        '-' | '+' => &value[1..],
        _ => value.as_str(),
    };
    if value == ".inf" {
        Some(sign * f64::INFINITY)
    } else if value == ".nan" {
        Some(f64::NAN)
    } else if value.contains(':') {
        let mut total = 0.0;
        let mut base = 1.0;
        for part in value.split(':').rev() {
            total += python_float(part)? * base;
            base *= 60.0;
        }
        Some(sign * total)
    } else {
        Some(sign * python_float(value)?)
    }
}

/// Python's `float(text)` for the texts that reach it.
fn python_float(text: &str) -> Option<f64> {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        Regex::new(r"(?i)^[-+]?(?:inf|infinity|nan|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[-+]?[0-9]+)?)$")
            .expect("the pattern is valid")
    });
    let text = text.trim();
    if pattern.is_match(text) {
        text.parse().ok()
    } else {
        None
    }
}

/// PyYAML's `construct_yaml_timestamp`, as the text Python's `str()` gives the `date` or
/// `datetime` it builds: what a template renders.
fn construct_timestamp(text: &str) -> Result<String, String> {
    let invalid = || format!("`{text}` is not a valid date or time");
    let parts = patterns().timestamp_parts.captures(text).ok_or_else(invalid)?;
    let number = |name: &str| -> u32 {
        parts
            .name(name)
            .map_or(0, |m| m.as_str().parse().expect("the pattern admits digits only"))
    };
    let (year, month, day) = (number("year"), number("month"), number("day"));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(invalid()),
    };
    if year == 0 || day == 0 || day > days_in_month {
        return Err(invalid());
    }
    let date = format!("{year:04}-{month:02}-{day:02}");
    if parts.name("hour").is_none() {
        return Ok(date);
    }
    let (hour, minute, second) = (number("hour"), number("minute"), number("second"));
    if hour > 23 || minute > 59 || second > 59 {
        return Err(invalid());
    }
    let mut time = format!("{date} {hour:02}:{minute:02}:{second:02}");
    if let Some(fraction) = parts.name("fraction").filter(|f| !f.as_str().is_empty()) {
        let micros: String = fraction
            .as_str()
            .chars()
            .chain("000000".chars())
            .take(6)
            .collect();
        if micros != "000000" {
            time.push('.');
            time.push_str(&micros);
        }
    }
    if let Some(sign) = parts.name("tz_sign") {
        let minutes = number("tz_hour") * 60 + number("tz_minute");
        // Python's `timezone` takes offsets strictly within a day.
        if minutes >= 24 * 60 {
            return Err(invalid());
        }
        let sign = if sign.as_str() == "-" && minutes > 0 {
            '-'
        } else {
            '+'
        };
        time.push_str(&format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60));
    } else if parts.name("tz").is_some() {
        time.push_str("+00:00");
    }
    Ok(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> Result<Data, String> {
        resolve_scalar(Scalar {
            text: text.into(),
            plain: true,
            tag: None,
            key: false,
        })
    }

    #[test]
    fn resolves_like_pyyaml() {
        assert_eq!(plain("0644"), Ok(Data::Int(420)));
        assert_eq!(plain("1:20"), Ok(Data::Int(80)));
        assert!(matches!(plain("0:20"), Ok(Data::Str { .. })));
        assert!(matches!(plain("-.5"), Ok(Data::Str { .. })));
        assert_eq!(plain(".5"), Ok(Data::Float(0.5)));
        assert_eq!(
            plain("2001-12-14t21:59:43.10-05:00"),
            Ok(Data::Str {
                value: "2001-12-14 21:59:43.100000-05:00".into(),
                quoted: false
            })
        );
        assert!(plain("2001-02-29").is_err());
        assert!(plain("0b_").is_err());
        assert!(plain("=").is_err());
    }
}
